"""Worker images: one per TF version and variant, built from the repository's Dockerfile.

Variants: ``gpu`` and ``cpu`` start FROM the official ``tensorflow/tensorflow`` image of
that version; ``cpu-pip`` starts FROM ``python:<X.Y>-slim`` and pip-installs the CPU build
with the catalog's pins. An image is reused while it is current (a label holds the digest
of the worker sources and the Dockerfile) and rebuilt otherwise.

(docker-py is imported where it is used: the naming functions serve compose.yaml too.)
Builds go through the Docker CLI with BuildKit, not docker-py: docker-py speaks only the
classic builder, which has no build secrets (the optional CA bundle needs one). Everything
else (inspecting, running, logs) is docker-py.
"""

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.backends import worker_source
from bench.environments.catalog import VARIANTS, Version
from bench.errors import UsageError, UserError, first_line

if TYPE_CHECKING:  # only for annotations: docker-py is imported where it is used
    import docker

    from bench.environments.datasets import Dataset
    from bench.engines.hosts import Host

REPOSITORY = Path(__file__).resolve().parent.parent.parent
DOCKERFILE = REPOSITORY / "Dockerfile"
WORKER_REPOSITORY = "repro-bench/worker"
HOST_IMAGE = "repro-bench/host"       # the Dockerfile's host target: prepare data, merge, report
DIGEST_LABEL = "io.repro-bench.worker-sha256"
# Inside the image: Keras' cache folder, where datasets are mounted (HOME is /home/bench).
CONTAINER_DATA_DIR = "/home/bench/.keras/datasets"
# Inside the image: where a persistent CUDA JIT cache is mounted (Dockerfile: mode 1777, so a
# new named volume takes that mode and any user the container runs as can fill it).
CONTAINER_CUDA_CACHE_DIR = "/home/bench/.nv/ComputeCache"
# Processes and threads a trial container may hold: TF, jax and torch start hundreds of
# threads on a large machine; a runaway one stops here.
TRIAL_PIDS_LIMIT = 4096
# A trial container's root file system is read-only; these are its scratch space, in memory
# (counted in its memory limit). Keras writes its config and finds MNIST under KERAS_HOME,
# which must be writable or Keras falls back to /tmp/.keras, where MNIST is not mounted.
TRIAL_TMPFS = {"/tmp": "rw,nosuid,nodev,mode=1777,size=1g", "/home/bench/.keras": "rw,nosuid,nodev,mode=1777,size=64m"}
TRIAL_ENVIRONMENT = {"KERAS_HOME": "/home/bench/.keras", "TMPDIR": "/tmp"}
BUILD_LOG_LINES = 25


@dataclass(frozen=True)
class WorkerImage:
    name: str
    id: str
    base_image: str
    base_image_id: str | None
    base_repo_digests: tuple[str, ...]

    def describe(self) -> dict:
        return {"image": self.name, "image_id": self.id, "base_image": self.base_image,
                "base_image_id": self.base_image_id, "base_repo_digests": list(self.base_repo_digests)}


def dataset_in_container(dataset: "Dataset") -> tuple[str, dict]:
    """Where the dataset file is mounted inside a container, and the spec its worker reads."""
    target = f"{CONTAINER_DATA_DIR}/{dataset.mount.name}"
    spec = dict(dataset.spec)
    if "path" in spec:
        spec["path"] = target
    return target, spec


def image_name(version: Version, variant: str) -> str:
    return f"{WORKER_REPOSITORY}:tf{version.minor}-{variant}"


def base_image(version: Version, variant: str) -> str:
    return f"python:{version.python}-slim" if variant == "cpu-pip" else version.official_image(variant)


def build_arguments(version: Version, variant: str) -> dict[str, str]:
    return {"BASE_IMAGE": base_image(version, variant),
            "TF_PIP": " ".join(version.pip) if variant == "cpu-pip" else "",
            "TF_MINOR": version.minor, "VARIANT": variant}


def ensure(host: "Host", version: Version, variant: str, *, rebuild: bool = False,
           ca_bundle: str | None = None, say=print) -> WorkerImage:
    """The worker image for this version and variant on one engine, built if missing or stale."""
    if variant not in VARIANTS:
        raise UsageError(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")
    name = image_name(version, variant)
    if rebuild or not current(host, name):
        base = base_image(version, variant)
        check_base_exists(host.client, base, version)
        say(f"building {name} from {base} on {host.given or host.base_url} ...")
        build(name, build_arguments(version, variant), {DIGEST_LABEL: content_digest()}, ca_bundle,
              host.environment())
    return describe(host, name, version, variant)


def ensure_everywhere(hosts: list["Host"], version: Version, variant: str, *, rebuild: bool = False,
                      ca_bundle: str | None = None, say=print) -> list[WorkerImage]:
    """The image on every host: built on the first, copied to the others where missing or
    stale (docker save | docker load: no registry needed), built there if the copy fails."""
    first = ensure(hosts[0], version, variant, rebuild=rebuild, ca_bundle=ca_bundle, say=say)
    found = [first]
    for host in hosts[1:]:
        if rebuild or not current(host, first.name):
            say(f"copying {first.name} to {host.given or host.base_url} ...")
            if not copy(first.name, hosts[0], host):
                found.append(ensure(host, version, variant, rebuild=True, ca_bundle=ca_bundle, say=say))
                continue
        found.append(describe(host, first.name, version, variant))
    return found


def current(host: "Host", name: str) -> bool:
    """The image exists on that engine and holds the current worker code."""
    image = _get(host.client, name)
    return image is not None and image.labels.get(DIGEST_LABEL) == content_digest()


def content_digest() -> str:
    """What an image is built from that the suite controls: the worker side and the Dockerfile."""
    return hashlib.sha256(worker_source.digest().encode() + DOCKERFILE.read_bytes()).hexdigest()


def copy(name: str, source: "Host", target: "Host") -> bool:
    """Stream an image from one engine to another through the Docker CLI."""
    save = subprocess.Popen(["docker", "save", name], stdout=subprocess.PIPE,
                            env=dict(os.environ, **source.environment()))
    load = subprocess.run(["docker", "load", "--quiet"], stdin=save.stdout, capture_output=True,
                          env=dict(os.environ, **target.environment()))
    save.stdout.close()
    return save.wait() == 0 and load.returncode == 0


def describe(host: "Host", name: str, version: Version, variant: str) -> WorkerImage:
    image = host.client.images.get(name)
    base = image.labels.get("io.repro-bench.base-image") or base_image(version, variant)
    base_found = _get(host.client, base)
    return WorkerImage(name=name, id=image.id, base_image=base,
                       base_image_id=base_found.id if base_found else None,
                       base_repo_digests=tuple(base_found.attrs.get("RepoDigests") or []) if base_found else ())


def check_base_exists(client: "docker.DockerClient", base: str, version: Version) -> None:
    """A base image must be local or in its registry; a missing tag is a clear error."""
    import docker
    if _get(client, base) is not None:
        return
    try:
        client.images.get_registry_data(base)
    except docker.errors.NotFound:
        raise UserError(f"image {base} (catalog entry for TF {version.minor}) does not exist in its "
                        "registry; fix bench/data/catalog.json or choose another variant") from None
    except docker.errors.APIError as error:
        raise UserError(f"cannot check image {base} in its registry ({first_line(error, 'unknown error')}); the host "
                        "may be offline: pull or load it first, or build the cpu-pip variant") from None


def build(name: str, arguments: dict[str, str], labels: dict[str, str], ca_bundle: str | None,
          engine: dict[str, str], target: str = "worker") -> None:
    if not DOCKERFILE.exists():
        raise UserError(f"building images needs the repository's Dockerfile ({DOCKERFILE} is missing); "
                        "run from a clone of the repository")
    command, environment = buildkit_cli()
    command += ["--tag", name, "--target", target, "--file", str(DOCKERFILE)]
    for key, value in arguments.items():
        command += ["--build-arg", f"{key}={value}"]
    for key, value in labels.items():
        command += ["--label", f"{key}={value}"]
    if ca_bundle:
        if not Path(ca_bundle).is_file():
            raise UsageError(f"--ca-bundle {ca_bundle}: no such file")
        command += ["--secret", f"id=pip_ca,src={ca_bundle}"]
    environment = dict(os.environ, **environment, **engine)
    done = subprocess.run(command + [str(REPOSITORY)], env=environment, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-BUILD_LOG_LINES:])
        raise UserError(f"building {name} failed (last lines of the build log below)\n{tail}")


def buildkit_cli() -> tuple[list[str], dict[str, str]]:
    """A Docker CLI that builds with BuildKit: buildx if installed, else a client older than 23
    with DOCKER_BUILDKIT=1. REPRO_BENCH_DOCKER_CLI names one explicitly."""
    explicit = os.environ.get("REPRO_BENCH_DOCKER_CLI")
    for cli in [explicit] if explicit else _all_on_path("docker"):
        if subprocess.run([cli, "buildx", "version"], capture_output=True).returncode == 0:
            return [cli, "buildx", "build", "--load"], {}
        version = subprocess.run([cli, "version", "--format", "{{.Client.Version}}"],
                                 capture_output=True, text=True).stdout.strip()
        major = version.split(".")[0]
        if major.isdigit() and int(major) < 23:
            return [cli, "build"], {"DOCKER_BUILDKIT": "1"}
    raise UserError("building images needs BuildKit: install the Docker buildx plugin (or set "
                    "REPRO_BENCH_DOCKER_CLI to a docker client that has it)")


def _all_on_path(program: str) -> list[str]:
    found = []
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        candidate = shutil.which(program, path=folder)
        if candidate and os.path.realpath(candidate) not in map(os.path.realpath, found):
            found.append(candidate)
    return found


def _get(client: "docker.DockerClient", name: str):
    import docker
    try:
        return client.images.get(name)
    except docker.errors.ImageNotFound:
        return None
