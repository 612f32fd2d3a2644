"""Local backend: every trial is a fresh process of a chosen Python interpreter."""

import json
import shutil
import subprocess
from pathlib import Path

from bench import worker_source
from bench.errors import UsageError, UserError
from bench.worker import fingerprint, process


class LocalBackend:
    name = "local"

    def __init__(self, python: str, timeout: float, work_dir: Path):
        resolved = shutil.which(python)
        if resolved is None:
            raise UsageError(f"--python {python}: no such executable; give the path of a Python with TensorFlow")
        self.python = resolved
        self.timeout = timeout
        self.worker_path = worker_source.copy_to(Path(work_dir) / "worker")
        self.probe = probe(self.python, self.worker_path)
        self.info = {"backend": self.name, "python": self.python, "python_version": self.probe["python"],
                     "tensorflow": self.probe["tensorflow"], "worker_sha256": worker_source.digest(),
                     "device": {"kind": "cpu", "name": fingerprint.cpu_model()}}

    def execute(self, spec: dict, staging: str) -> dict:
        return process.run(self.python, self.worker_path, spec, staging, self.timeout, self.info)


def probe(python: str, worker_path: Path) -> dict:
    """Python and TensorFlow versions of an interpreter, without importing TensorFlow."""
    environment = process.trial_environment("none", worker_path)
    done = subprocess.run([python, "-m", "bench.worker", "--probe"], env=environment,
                          capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise UserError(f"{python} cannot run the worker ({last}); it needs Python >= 3.6")
    found = json.loads(done.stdout)
    if not found.get("tensorflow"):
        raise UserError(f"TensorFlow is not installed for {python}: install it there "
                        "(pip install tensorflow-cpu) or pass --python PATH to one that has it")
    return found
