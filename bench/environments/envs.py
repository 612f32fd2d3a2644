"""One virtual environment per TF version (like asv's), outside the repository.

``<home>/envs/tf<minor>/`` holds a venv made with a Python the catalog lists for that minor
(the official image's first), with ``tensorflow-cpu`` at the newest patch pip can install
there and the catalog's pins; ``env.json``, written last, marks it complete and records what
was installed, how long it took and how much disk it uses.
"""

import datetime

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench.backends import local, worker_source
from bench.environments import cache, pythons
from bench.environments.catalog import Version
from bench.errors import UsageError, UserError
from bench.trial.jsonfile import read_json, write_json_atomic

MARKER = "env.json"
# Old Pythons' own pip may predate the wheel tags TF uses (pip 18.1 on 3.6 knows no
# manylinux2010): upgrade it, to the last release that supports that Python.
PIP_FOR_OLD_PYTHON = {"3.6": "pip<22", "3.7": "pip<24.1", "3.8": "pip<25.1"}


def root(explicit: str | None = None) -> Path:
    """``--envs-dir``, else ``$REPRO_BENCH_ENVS``, else ``<cache home>/envs``."""
    return Path(explicit or os.environ.get("REPRO_BENCH_ENVS") or cache.home() / "envs").expanduser()


@dataclass(frozen=True)
class Environment:
    minor: str
    path: Path
    record: dict

    @property
    def python(self) -> str:
        return str(self.path / "bin" / "python")


def folder(envs_root: Path, minor: str) -> Path:
    """tf<minor> for a TF version, the stack's own name (keras3) otherwise."""
    return envs_root / (f"tf{minor}" if minor[:1].isdigit() else minor)


def load(envs_root: Path, minor: str) -> Environment | None:
    marker = folder(envs_root, minor) / MARKER
    if not marker.exists():
        return None
    return Environment(minor, marker.parent, read_json(str(marker)))


def existing(envs_root: Path) -> list[Environment]:
    if not envs_root.is_dir():
        return []
    names = [child.name[2:] if child.name[2:3].isdigit() else child.name for child in envs_root.iterdir()]
    found = [load(envs_root, name) for name in names]
    return sorted((env for env in found if env),
                  key=lambda env: (0, *map(int, env.minor.split("."))) if env.minor[:1].isdigit() else (1, env.minor))


def require(envs_root: Path, version: Version) -> Environment:
    environment = load(envs_root, version.minor)
    if environment is None:
        raise UserError(f"no environment for TF {version.minor} in {envs_root}; create it with "
                        f"`bench envs create {version.minor}`")
    return environment


def choose_python(version: Version, explicit: str | None) -> str:
    """The interpreter to build the environment with: --python, else one the catalog lists."""
    if explicit:
        minor = pythons.version_of(explicit)
        if minor is None:
            raise UsageError(f"--python {explicit}: cannot run it")
        if minor not in version.pythons:
            raise UsageError(f"--python {explicit} is Python {minor}; {_label(version)} needs one of "
                             f"{', '.join(version.pythons)}")
        return explicit
    available = pythons.found()
    for minor in (version.python, *version.pythons):
        if minor in available:
            return available[minor]
    raise UserError(f"no Python for {_label(version)} on this machine: it needs one of "
                    f"{', '.join(version.pythons)} (found: {', '.join(available) or 'none'}); "
                    "install one (pyenv, python3.X on PATH) or pass --python PATH")


def create(envs_root: Path, version: Version, python: str, say=print) -> Environment:
    target = folder(envs_root, version.minor)
    if target.exists():
        shutil.rmtree(target)  # incomplete (no marker) or being replaced
    started = time.perf_counter()
    say(f"{_label(version)}: creating {target} with {python} ...")
    _run([python, "-m", "venv", str(target)], version)
    environment_python = str(target / "bin" / "python")
    python_minor = pythons.version_of(environment_python)
    if python_minor in PIP_FOR_OLD_PYTHON:
        _run([environment_python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
              "--upgrade", PIP_FOR_OLD_PYTHON[python_minor]], version)
    _run([environment_python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
          *version.pip], version)
    installed = _run([environment_python, "-m", "pip", "freeze", "--disable-pip-version-check"], version)
    freeze = sorted(line for line in installed.splitlines() if line and not line.startswith("#"))
    probed = local.probe(environment_python, worker_source.in_cache())  # reads TF's metadata
    tensorflow = probed["tensorflow"]
    record = {
        "minor": version.minor,
        "tensorflow": tensorflow,
        "python": python,
        "python_version": probed["python"],
        "requirements": list(version.pip),
        "pip_freeze": freeze,
        "created_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "create_seconds": round(time.perf_counter() - started, 1),
        "disk_bytes": _disk_bytes(target),
    }
    write_json_atomic(str(target / MARKER), record)
    say(f"{_label(version)}: tensorflow-cpu {tensorflow} on Python {record['python_version']} "
        f"in {record['create_seconds']:.0f} s, {record['disk_bytes'] / 2**30:.2f} GiB")
    return Environment(version.minor, target, record)


def remove(envs_root: Path, minor: str) -> bool:
    target = folder(envs_root, minor)
    if not target.exists():
        return False
    shutil.rmtree(target)
    return True


def _run(command: list[str], version: Version) -> str:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if not line.startswith("WARNING: Location")]
        raise UserError(f"{_label(version)}: `{' '.join(command[-3:])}` failed: {(lines or ['no output'])[-1]}")
    return done.stdout


def _label(version) -> str:
    return f"TF {version.minor}" if version.minor[:1].isdigit() else version.minor


def _disk_bytes(path: Path) -> int:
    total = 0
    for folder_path, _, names in os.walk(path):
        for name in names:
            file = os.path.join(folder_path, name)
            if not os.path.islink(file):
                total += os.path.getsize(file)
    return total


def describe(environment: Environment) -> str:
    record = environment.record
    return (f"{environment.minor:<6} tensorflow-cpu {str(record['tensorflow']):<8} Python {record['python_version']:<8} "
            f"{record['disk_bytes'] / 2**30:5.2f} GiB  {environment.path}")


