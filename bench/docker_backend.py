"""Docker backend: every trial is a fresh container of its TF version's worker image.

The container gets the config's environment, no network, the trial's folder and the data
through bind mounts, one GPU by id (device_requests) when asked, and a timeout after which
it is killed. Exit codes, OOM kills, start failures and timeouts become result rows.
"""

import json
import os
import stat
import time
from datetime import datetime
from pathlib import Path

import docker
import requests

from bench import images
from bench.datasets import Dataset
from bench.errors import UserError
from bench.worker import outcomes
from bench.worker.configurations import ENVIRONMENT

TRIAL_DIR = "/trial"


def connect(docker_host: str | None) -> docker.DockerClient:
    """A client for the engine at ``docker_host`` (default: DOCKER_HOST or the local socket)."""
    where = docker_host or os.environ.get("DOCKER_HOST") or "the default socket"
    try:
        client = docker.DockerClient(base_url=docker_host) if docker_host else docker.from_env()
        client.ping()
    except docker.errors.DockerException as error:
        reason = (str(error).strip().splitlines() or ["no answer"])[0][:200]
        raise UserError(f"cannot reach a Docker engine at {where} ({reason}); start one or set "
                        "--docker-host / DOCKER_HOST, or run without Docker: --backend local") from None
    return client


def probe(client: docker.DockerClient, image: images.WorkerImage) -> dict:
    """Python, TensorFlow and CPU of an image, without importing TensorFlow."""
    output = client.containers.run(image.name, ["--probe"], network_mode="none", remove=True)
    return json.loads(output)


class DockerBackend:
    name = "docker"

    def __init__(self, client: docker.DockerClient, image: images.WorkerImage, dataset: Dataset,
                 timeout: float, memory: str | None = None, gpus: dict[str, dict] | None = None):
        self.client, self.image, self.timeout, self.memory = client, image, timeout, memory
        self.gpus = gpus or {}  # slot (GPU index or UUID) -> what nvidia-smi says of it
        self.dataset_mount, self.dataset_spec = container_dataset(dataset)
        found = probe(client, image)
        engine = client.info()
        self.info = {"backend": self.name, "engine": engine.get("Name"),
                     "engine_version": engine.get("ServerVersion"), "python_version": found["python"],
                     "tensorflow": found["tensorflow"], **image.describe(),
                     "device": {"kind": "cpu", "name": found.get("cpu_model") or "?"}}

    def execute(self, spec: dict, staging: str, slot: str | None = None) -> dict:
        """One trial in a fresh container; on a GPU slot it gets that GPU alone (device_ids)."""
        spec = dict(spec, dataset=self.dataset_spec)
        staging = os.path.abspath(staging)  # a relative bind source would name a volume
        os.chmod(staging, 0o777)  # the container runs as the image's unprivileged user
        Path(staging, "spec.json").write_text(json.dumps(spec))
        gpu = slot
        info = dict(self.info, gpu_request=gpu)
        if gpu is not None:
            described = self.gpus.get(gpu, {})
            info["device"] = {"kind": "gpu", "name": described.get("name", f"GPU {gpu}"),
                              "uuid": described.get("uuid")}
        started = time.perf_counter()
        try:
            container = self.client.containers.create(
                self.image.name, [f"{TRIAL_DIR}/spec.json", f"{TRIAL_DIR}/result.json"],
                environment=ENVIRONMENT[spec["config"]], network_mode="none",
                volumes={staging: {"bind": TRIAL_DIR, "mode": "rw"}, **self.dataset_mount},
                device_requests=[docker.types.DeviceRequest(device_ids=[gpu], capabilities=[["gpu"]])]
                if gpu is not None else None,
                mem_limit=self.memory, labels={"io.repro-bench.trial": spec["trial_id"]})
        except docker.errors.APIError as error:
            return _not_started(spec, "ContainerCreateError", error, info, started)
        try:
            return self._run(container, spec, staging, started, info)
        finally:
            container.remove(force=True)

    def _run(self, container, spec: dict, staging: str, started: float, info: dict) -> dict:
        try:
            container.start()
        except docker.errors.APIError as error:
            return _not_started(spec, "ContainerStartError", error, info, started)
        timed_out, exit_code = False, None
        try:
            exit_code = container.wait(timeout=self.timeout)["StatusCode"]
        except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
            timed_out = True
            container.kill()
        wall_seconds = time.perf_counter() - started
        container.reload()
        state = container.attrs["State"]
        oom_killed = bool(state.get("OOMKilled"))
        # What Docker itself adds (create, start, wait, remove): wall time minus the process's life.
        lifetime = _seconds_between(state.get("StartedAt"), state.get("FinishedAt"))
        if lifetime is not None:
            info = dict(info, container_seconds=lifetime, docker_overhead_seconds=wall_seconds - lifetime)
        log = container.logs(stdout=True, stderr=True).decode("utf-8", "replace")
        return outcomes.finish(spec, Path(staging, "result.json"), exit_code, timed_out, wall_seconds,
                               log, info, self.timeout, oom_killed=oom_killed)


def container_dataset(dataset: Dataset) -> tuple[dict, dict]:
    """Bind mount of the dataset file into Keras' cache folder, and the spec the worker sees."""
    if not dataset.mount.stat().st_mode & stat.S_IROTH:
        raise UserError(f"{dataset.mount} is not readable by other users, so the container's "
                        f"unprivileged user cannot read it: chmod a+r {dataset.mount}")
    target = f"{images.CONTAINER_DATA_DIR}/{dataset.mount.name}"
    spec = dict(dataset.spec)
    if "path" in spec:
        spec["path"] = target
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
