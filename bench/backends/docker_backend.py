"""Docker backend: every trial is a fresh container of its TF version's worker image.

The container gets the config's environment, no network, the trial's folder and the data
through bind mounts, one GPU by id (device_requests) and a persistent CUDA JIT cache (a
named volume per image, GPU model and driver) when asked, and a timeout after which it is
killed. Its root file system is read-only (scratch space in memory: /tmp and Keras' folder)
and its memory is limited (--memory, by default DEFAULT_MEMORY_SHARE of the engine's), so a
runaway trial is an OutOfMemory row, not a host in trouble. Exit codes, OOM kills, start
failures and timeouts become result rows.
"""

import contextlib
import hashlib
import json
import os
import stat
import time
from datetime import datetime
from pathlib import Path

import docker
import requests

from bench.engines import images
from bench.backends.base import Backend
from bench.engines.hosts import Host
from bench.environments.datasets import Dataset
from bench.errors import UserError, first_line
from bench.runner import outcomes
from bench.runner.process import PROBE_SECONDS, probed
from bench.runner.started import StartedTrial
from bench.runner.work_queue import InfrastructureError
from bench.trial import cuda_cache, gpus
from bench.trial.configurations import ENVIRONMENT
from bench.trial.lifeline import READY_FILE

TRIAL_DIR = "/trial"
EXPERIMENT_DIR = "/experiment"  # an experiment file, mounted read-only
# SIGTERM and SIGKILL from outside the trial (e.g. an engine stopping its containers).
KILLED_FROM_OUTSIDE = (128 + 15, 128 + 9)
# The image's unprivileged user (Dockerfile), and what a trial container may never do.
IMAGE_USER = (1000, 1000)
SEALED = {"cap_drop": ["ALL"], "security_opt": ["no-new-privileges"], "pids_limit": images.TRIAL_PIDS_LIMIT,
          "read_only": True, "tmpfs": images.TRIAL_TMPFS}
# Without --memory a trial may take this share of the engine's memory (the rest stays for the
# engine, the runner and the system).
DEFAULT_MEMORY_SHARE = 0.9
TRIAL_LABEL, FOLDER_LABEL = "io.repro-bench.trial", "io.repro-bench.folder"


def probe(client: docker.DockerClient, image: images.WorkerImage) -> dict:
    """Python, TensorFlow and CPU of an image, without importing TensorFlow."""
    output = client.containers.run(image.name, ["--probe"], network_mode="none", remove=True, **SEALED)
    return json.loads(output)


class DockerBackend(Backend):
    name = "docker"

    def __init__(self, host: Host, image: images.WorkerImage, dataset: Dataset,
                 memory: str | None = None, gpus: dict[str, dict] | None = None, inherit: list[str] = (),
                 folder: Path | None = None):
        self.host, self.client, self.image = host, host.client, image
        self.memory = memory or (f"{int(host.memory_bytes * DEFAULT_MEMORY_SHARE) // 2**20}m"
                                 if host.memory_bytes else None)
        self.gpus = gpus or {}  # slot (GPU index or UUID) -> what nvidia-smi says of it
        self.inherit = {name: os.environ[name] for name in inherit if name in os.environ}
        self.folder = str(Path(folder).resolve()) if folder else None
        self.dataset_mount, self.dataset_spec = container_dataset(dataset)
        found = probe(self.client, image)
        self.info = {"backend": self.name, "engine": host.given or host.name, "engine_host": host.base_url,
                     "engine_name": host.name, "engine_id": host.engine_id,
                     "engine_version": host.engine_version, "python_version": found["python"],
                     "tensorflow": found["tensorflow"], **image.describe(),
                     "device": {"kind": "cpu", "name": found.get("cpu_model") or "?"},
                     "memory_limit": self.memory, "memory_limit_from": "--memory" if memory else
                     f"default: {DEFAULT_MEMORY_SHARE:.0%} of the engine's memory", "read_only_root": True}

    def start(self, spec: dict, staging: str, slot: str | None, held: bool) -> "ContainerTrial":
        """One trial in a fresh container, created and started now; on a GPU slot it gets that
        GPU alone (device_ids). See ContainerTrial."""
        return ContainerTrial(self, spec, staging, slot, held)

    def container_options(self, spec: dict, staging: str, slot: str | None, experiment_mount: dict = None,
                          held: bool = False) -> dict:
        """What a trial's container is created with (docker-py's containers.create keywords).

        On a GPU slot: that GPU alone, and a persistent CUDA JIT cache for this image, GPU
        model and driver (a named volume), so the PTX that builds without kernels for this
        GPU compile at start-up is compiled by the first trial only."""
        environment = dict(self.inherit, **ENVIRONMENT[spec["config"]], **images.TRIAL_ENVIRONMENT)
        volumes = {staging: {"bind": TRIAL_DIR, "mode": "rw"}, **self.dataset_mount, **(experiment_mount or {})}
        device_requests = None
        if slot is not None:
            device_requests = [docker.types.DeviceRequest(device_ids=[slot], capabilities=[["gpu"]])]
            volumes[self.cuda_cache_volume(self.gpus.get(slot, {}))] = {"bind": images.CONTAINER_CUDA_CACHE_DIR,
                                                                       "mode": "rw"}
            environment.update(cuda_cache.settings(images.CONTAINER_CUDA_CACHE_DIR))
        labels = {TRIAL_LABEL: spec["trial_id"], **({FOLDER_LABEL: self.folder} if self.folder else {})}
        return {"image": self.image.name,
                "command": ["--until-stdin-closes", *(["--held"] if held else []), f"{TRIAL_DIR}/spec.json",
                            f"{TRIAL_DIR}/result.json"],
                "stdin_open": True,  # the runner holds it: when the runner ends, so does the trial
                "user": _container_user(), "environment": environment, "network_mode": "none", "volumes": volumes,
                "device_requests": device_requests, "mem_limit": self.memory, "labels": labels, **SEALED}

    def probe_data(self, spec: dict, staging: str) -> dict:
        experiment_mount, spec = container_experiment(dict(spec, dataset=self.dataset_spec))
        staging = os.path.abspath(staging)
        Path(staging, "spec.json").write_text(json.dumps(spec))
        _hand_over(staging)
        options = self.container_options(spec, staging, None, experiment_mount)
        options.update(command=["--probe-data", f"{TRIAL_DIR}/spec.json"], stdin_open=False)
        container = self.client.containers.create(**options)
        try:
            container.start()
            exit_code = container.wait(timeout=PROBE_SECONDS)["StatusCode"]
            output, errors = (container.logs(stdout=out, stderr=not out).decode("utf-8", "replace") for out in (True, False))
        finally:
            container.remove(force=True)
        return probed(exit_code, output, errors)

    def remove_leftovers(self) -> int:
        """Remove this folder's trial containers that an earlier runner left (it was killed
        before it could); returns how many."""
        if not self.folder:
            return 0
        found = self.client.containers.list(all=True, filters={"label": f"{FOLDER_LABEL}={self.folder}"})
        for container in found:
            container.remove(force=True)
        return len(found)

    def cuda_cache_volume(self, described: dict) -> str:
        """The named volume holding the CUDA cache of this image on this GPU model and driver
        (created on first use, kept between trials and runs)."""
        key = "\0".join([self.image.id, described.get("name") or "?", described.get("driver") or "?"])
        name = f"repro-bench-cuda-cache-{hashlib.sha256(key.encode()).hexdigest()[:16]}"
        labels = {"io.repro-bench.cuda-cache": "1", "io.repro-bench.image": self.image.id,
                  "io.repro-bench.gpu": described.get("name") or "?", "io.repro-bench.driver": described.get("driver") or "?"}
        try:
            self.client.volumes.get(name)
        except docker.errors.NotFound:
            self.client.volumes.create(name, labels=labels)
        return name


class ContainerTrial(StartedTrial):
    """A trial's container, created and started at once; ``held``: the trial waits at its
    barrier, past its import and data, until ``release`` (an overlapped start).

    Raises InfrastructureError where the engine fails rather than the trial: it stops
    answering, or the container is killed by a signal that neither the timeout nor a memory
    limit explains (an engine shutting down stops its containers that way)."""

    def __init__(self, backend: DockerBackend, spec: dict, staging: str, slot: str | None, held: bool):
        self.backend, self.held = backend, held
        self.container = self.lifeline = self.not_started = None
        self.experiment_mount, self.spec = container_experiment(dict(spec, dataset=backend.dataset_spec))
        self.staging = os.path.abspath(staging)  # a relative bind source would name a volume
        Path(self.staging, "spec.json").write_text(json.dumps(self.spec))
        _hand_over(self.staging)
        self.info = dict(backend.info, gpu_request=slot)
        self.started = self.released = self._asked = time.perf_counter()
        try:
            with self._engine_answers():
                self._create_and_start(slot)
        except BaseException:
            self.cancel()  # whatever was created goes with it
            raise

    def _create_and_start(self, slot: str | None) -> None:
        try:
            options = self.backend.container_options(self.spec, self.staging, slot, self.experiment_mount, self.held)
            if slot is not None:
                self.info["device"] = gpus.device(self.backend.gpus.get(slot, {}), slot)
                self.info["cuda_cache_volume"] = next(name for name, mount in options["volumes"].items()
                                                      if mount["bind"] == images.CONTAINER_CUDA_CACHE_DIR)
            self.container = self.backend.client.containers.create(**options)
        except docker.errors.APIError as error:
            self.not_started = ("ContainerCreateError", error)
            return
        # The trial's stdin, held open for as long as this process lives (the worker stops
        # when it closes: no container outlives its runner, even one killed with SIGKILL).
        self.lifeline = self.container.attach_socket(params={"stdin": 1, "stream": 1})
        try:
            self.container.start()
        except docker.errors.APIError as error:
            self.not_started = ("ContainerStartError", error)

    def release(self, timeout: float) -> None:
        self.timeout, self.released = timeout, time.perf_counter()
        if self.held and self.lifeline is not None and not self.not_started:
            try:  # one byte down the lifeline: go
                getattr(self.lifeline, "_sock", self.lifeline).sendall(b"\n")
            except OSError:  # it ended already (it failed to start): its result says why
                pass

    def ready(self) -> bool:
        if self.not_started or Path(self.staging, READY_FILE).exists():
            return True
        now = time.perf_counter()
        if now - self._asked < 1:  # the file says it; the engine is asked at most once a second
            return False
        self._asked = now
        with self._engine_answers():
            self.container.reload()
        return self.container.status != "running"  # it ended before its barrier

    def result(self) -> dict:
        try:
            with self._engine_answers():
                if self.not_started:
                    return _not_started(self.spec, *self.not_started, self.info, self.released)
                return self._wait()
        finally:
            self.cancel()

    def cancel(self) -> None:
        if self.lifeline is not None:
            self.lifeline.close()  # the trial stops at once, whatever becomes of the removal
            self.lifeline = None
        if self.container is not None:
            container, self.container = self.container, None
            try:
                container.remove(force=True)
            except (docker.errors.APIError, requests.exceptions.RequestException):
                pass  # an engine gone: the next run of the folder removes it (remove_leftovers)

    def _wait(self) -> dict:
        container, backend = self.container, self.backend
        timed_out, exit_code = False, None
        try:
            exit_code = container.wait(timeout=max(1, self.timeout - (time.perf_counter() - self.released)))["StatusCode"]
        except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
            # Over a Unix socket a read timeout arrives as a ConnectionError: ask the engine
            # whether it is alive to tell the trial's timeout from a dead host.
            backend.client.ping()  # raises ConnectionError where the engine is gone
            timed_out = True
            container.kill()
        finally:
            self.lifeline.close()
            self.lifeline = None
        ended = time.perf_counter()
        wall_seconds = ended - self.released
        container.reload()
        state = container.attrs["State"]
        oom_killed = bool(state.get("OOMKilled"))
        info = self.info
        # What Docker itself adds (create, start, wait, remove): its handling time minus the process's life.
        lifetime = _seconds_between(state.get("StartedAt"), state.get("FinishedAt"))
        if lifetime is not None:
            info = dict(info, container_seconds=lifetime, docker_overhead_seconds=ended - self.started - lifetime)
        if self.held:
            info = dict(info, overlapped=True, started_early_seconds=self.released - self.started)
        log = container.logs(stdout=True, stderr=True).decode("utf-8", "replace")
        result = outcomes.finish(self.spec, Path(self.staging, "result.json"), exit_code, timed_out, wall_seconds,
                                 log, info, self.timeout, oom_killed=oom_killed)
        if result["status"] == "error" and exit_code in KILLED_FROM_OUTSIDE and not oom_killed:
            raise InfrastructureError(f"the container on {backend.info['engine']} was killed from outside "
                                      f"(exit status {exit_code}) without a result")
        return result

    @contextlib.contextmanager
    def _engine_answers(self):
        try:
            yield
        except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError) as error:
            raise InfrastructureError(f"engine {self.backend.info['engine']} stopped answering "
                                      f"({first_line(error, 'no detail', 200)})") from None


def _container_user() -> str:
    """Run as the image's unprivileged user where this process is root, else as this user
    (who then owns the trial's folder): never root in the container."""
    return "%d:%d" % (IMAGE_USER if os.getuid() == 0 else (os.getuid(), os.getgid()))


def _hand_over(staging: str) -> None:
    """The trial's folder, writable by the container's user and nobody else."""
    if os.getuid() == 0:
        for folder, _, names in os.walk(staging):
            for path in [folder, *(os.path.join(folder, name) for name in names)]:
                os.chown(path, *IMAGE_USER)
    os.chmod(staging, 0o700)


def container_experiment(spec: dict) -> tuple[dict, dict]:
    """Bind mount (read-only) of the trial's experiment file where it has one, and the spec
    the worker sees (the file's path inside the container)."""
    experiment = spec.get("experiment")
    if not experiment:
        return {}, spec
    target = f"{EXPERIMENT_DIR}/{experiment['name']}"
    return ({experiment["path"]: {"bind": target, "mode": "ro"}},
            dict(spec, experiment=dict(experiment, path=target)))


def container_dataset(dataset: Dataset) -> tuple[dict, dict]:
    """Bind mount of the dataset file into Keras' cache folder, and the spec the worker sees
    (nothing to mount for an experiment file's own load_data)."""
    if dataset.mount is None:
        return {}, dataset.spec
    if not dataset.mount.stat().st_mode & stat.S_IROTH:
        raise UserError(f"{dataset.mount} is not readable by other users, so the container's "
                        f"unprivileged user cannot read it: chmod a+r {dataset.mount}")
    target, spec = images.dataset_in_container(dataset)
    return {str(dataset.mount): {"bind": target, "mode": "ro"}}, spec


def _seconds_between(start: str | None, end: str | None) -> float | None:
    """Seconds between two Docker timestamps (RFC 3339 with nanoseconds)."""
    def parse(stamp: str) -> datetime:
        main, _, fraction = stamp.rstrip("Z").partition(".")
        return datetime.fromisoformat(f"{main}.{(fraction or '0')[:6]:0<6}+00:00")
    if not start or not end or end.startswith("0001"):
        return None
    return (parse(end) - parse(start)).total_seconds()


def _not_started(spec: dict, error_type: str, error: Exception, info: dict, started: float) -> dict:
    result = outcomes.failure(spec, "error", error_type, _explain(error))
    result["runner"] = dict(info, exit_code=None, timed_out=False, wall_seconds=time.perf_counter() - started)
    return result


def _explain(error: docker.errors.APIError) -> str:
    text = str(getattr(error, "explanation", None) or error)
    if "capabilities: [[gpu]]" in text:
        return f"{text} (this engine has no NVIDIA runtime: install the NVIDIA Container Toolkit)"
    return text
