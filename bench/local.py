"""Local backend: every trial is a fresh process of a chosen Python interpreter."""

import json
import shutil
import subprocess
from pathlib import Path

from bench import worker_source
from bench.errors import UsageError, UserError
from bench.worker import fingerprint, gpus, process


class LocalBackend:
    name = "local"

    def __init__(self, python: str, timeout: float, work_dir: Path, gpus: dict[str, dict] | None = None):
        resolved = shutil.which(python)
        if resolved is None:
            raise UsageError(f"--python {python}: no such executable; give the path of a Python with TensorFlow")
        self.python = resolved
        self.timeout = timeout
        self.worker_path = worker_source.copy_to(Path(work_dir) / "worker")
        self.probe = probe(self.python, self.worker_path)
        self.info = {"backend": self.name, "python": self.python, "python_version": self.probe["python"],
                     "tensorflow": self.probe["tensorflow"], "worker_sha256": worker_source.digest(),
                     **{name: self.probe.get(name) for name in ("keras", "jax", "torch")},
                     "device": {"kind": "cpu", "name": fingerprint.cpu_model()}}
        self.gpus = gpus or {}  # slot (GPU index or UUID) -> what nvidia-smi says of it

    def execute(self, spec: dict, staging: str, slot: str | None = None) -> dict:
        """One trial; on a GPU slot it sees that GPU alone (CUDA_VISIBLE_DEVICES)."""
        if slot is None:
            return process.run(self.python, self.worker_path, spec, staging, self.timeout, self.info)
        info = dict(self.info, gpu_request=slot, device=gpus.device(self.gpus.get(slot, {}), slot))
        return process.run(self.python, self.worker_path, spec, staging, self.timeout, info,
                           {"CUDA_VISIBLE_DEVICES": slot})


def probe(python: str, worker_path: Path) -> dict:
    """Python and TensorFlow versions of an interpreter, without importing TensorFlow."""
    environment = process.trial_environment("none", worker_path)
    done = subprocess.run([python, "-m", "bench.worker", "--probe"], env=environment,
                          capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise UserError(f"{python} cannot run the worker ({last}); it needs Python >= 3.6")
    found = json.loads(done.stdout)
    if not any(found.get(name) for name in ("tensorflow", "keras")):
        raise UserError(f"TensorFlow is not installed for {python}: install it there "
                        "(pip install tensorflow-cpu) or pass --python PATH to one that has it "
                        "(or Keras 3: bench envs create keras3)")
    return found
