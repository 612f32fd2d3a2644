"""Docker engines: where one answers (a URL, a Docker context, or the default), and what it
says it is. Used by the docker backend, the image builds and the benchmark of several hosts."""

import os
import shutil
import subprocess
from dataclasses import dataclass

import docker
import requests

from bench.errors import UsageError, UserError, first_line


@dataclass
class Host:
    """One Docker engine: as the user named it, where it answers, and what it says it is."""

    given: str | None          # --host as typed (URL or context name); None: the default
    base_url: str
    client: docker.DockerClient
    name: str                  # the engine's host name
    engine_id: str
    engine_version: str | None
    memory_bytes: int | None = None  # the engine's machine, as it says

    def environment(self) -> dict[str, str]:
        """For Docker CLI calls (builds, image copies) aimed at this engine."""
        return {"DOCKER_HOST": self.base_url}


def connect(given: str | None) -> Host:
    """The engine at a URL (unix://, tcp://, ssh://) or Docker context name; default:
    DOCKER_HOST or the local socket."""
    base_url = resolve(given)
    # ssh:// goes through the ssh program where there is one (the user's keys, agents and
    # config apply), else through paramiko (the Docker SDK's ssh extra, a dependency here).
    use_ssh_program = base_url.startswith("ssh://") and shutil.which("ssh") is not None
    try:
        client = docker.DockerClient(base_url=base_url, use_ssh_client=use_ssh_program)
        client.ping()
        engine, version = client.info(), client.version().get("Version")
    except ImportError:
        raise UserError(f"--host {given or base_url}: ssh:// hosts need the Docker SDK's ssh support: "
                        "pip install 'docker[ssh]'") from None
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as error:
        raise UserError(f"cannot reach a Docker engine at {given or base_url} "
                        f"({first_line(error, 'no answer', 200)}); start one or "
                        "set --host / DOCKER_HOST, or run without Docker: --backend local") from None
    return Host(given, base_url, client, engine.get("Name", "?"), engine.get("ID", "?"), version,
                engine.get("MemTotal"))


def resolve(given: str | None) -> str:
    """The engine URL for --host as given; None: DOCKER_HOST or the local socket."""
    if given is None:
        return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    if "://" in given:
        return given
    done = subprocess.run(["docker", "context", "inspect", given, "--format", "{{.Endpoints.docker.Host}}"],
                          capture_output=True, text=True)
    if done.returncode != 0 or not done.stdout.strip():
        raise UsageError(f"--host {given}: neither a URL (unix://, tcp://, ssh://) nor a Docker context "
                         "(docker context ls)")
    return done.stdout.strip()
