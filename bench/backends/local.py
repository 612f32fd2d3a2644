"""Local backend: every trial is a fresh process of a chosen Python interpreter."""

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

from bench.backends import worker_source
from bench.backends.base import Backend
from bench.environments import cache
from bench.errors import UsageError, UserError
from bench.runner import process
from bench.trial import cuda_cache, fingerprint, gpus


class LocalBackend(Backend):
    name = "local"

    def __init__(self, python: str, gpus: dict[str, dict] | None = None,
                 pythonpath: str | None = None, inherit: list[str] = ()):
        resolved = shutil.which(python)
        if resolved is None:
            raise UsageError(f"--python {python}: no such executable; give the path of a Python with TensorFlow")
        self.python = resolved
        # The worker side as this run found it, outside the results folder (by its digest).
        self.worker_path = worker_source.in_cache()
        # Packages beside the interpreter's own (pip install --target), after the worker.
        self.environment = {"PYTHONPATH": os.pathsep.join([str(self.worker_path), pythonpath])} if pythonpath else {}
        self.probe = probe(self.python, self.worker_path, self.environment)
        self.info = {"backend": self.name, "python": self.python, "python_version": self.probe["python"],
                     "tensorflow": self.probe["tensorflow"], "worker_sha256": worker_source.digest(),
                     **{name: self.probe.get(name) for name in ("keras", "jax", "torch")},
                     "device": {"kind": "cpu", "name": fingerprint.cpu_model()}}
        if pythonpath:
            self.info["pythonpath"] = pythonpath
        self.gpus = gpus or {}  # slot (GPU index or UUID) -> what nvidia-smi says of it
        self.inherit = tuple(inherit)  # variables the user passes on purpose

    def start(self, spec: dict, staging: str, slot: str | None, held: bool) -> process.WorkerProcess:
        """One trial's process; on a GPU slot it sees that GPU alone (CUDA_VISIBLE_DEVICES) and
        keeps the kernels the driver compiles in a persistent CUDA cache (see cuda_cache_folder)."""
        if slot is None:
            return process.WorkerProcess(self.python, self.worker_path, spec, staging, self.info, self.environment,
                                         self.inherit, held)
        described = self.gpus.get(slot, {})
        info = dict(self.info, gpu_request=slot, device=gpus.device(described, slot))
        environment = dict(self.environment, CUDA_VISIBLE_DEVICES=slot)
        if not os.environ.get("CUDA_CACHE_PATH"):  # the user's own cache wins
            environment.update(cuda_cache.settings(self.cuda_cache_folder(described)))
        return process.WorkerProcess(self.python, self.worker_path, dict(spec, gpu=slot), staging, info, environment,
                                     self.inherit, held)

    def probe_data(self, spec: dict, staging: str) -> dict:
        spec_path = os.path.join(staging, "spec.json")
        with open(spec_path, "w") as stream:
            json.dump(spec, stream)
        environment = dict(process.trial_environment("none", self.worker_path), **self.environment,
                           **process.scratch_environment(staging))
        done = subprocess.run([self.python, "-m", "bench.trial", "--probe-data", spec_path], env=environment,
                              capture_output=True, text=True, timeout=process.PROBE_SECONDS)
        return process.probed(done.returncode, done.stdout, done.stderr)

    def cuda_cache_folder(self, described: dict) -> Path:
        """One cache per interpreter, GPU model and driver: what the driver compiled for one
        is no use to another, and a shared folder would hide which trial paid for it."""
        interpreter = hashlib.sha256(self.python.encode()).hexdigest()[:12]
        key = "-".join(part for part in (interpreter, described.get("name"), described.get("driver")) if part)
        return cache.home() / "cuda-cache" / "".join(c if c.isalnum() or c in "-." else "_" for c in key)


def probe(python: str, worker_path: Path, environment: dict | None = None) -> dict:
    """Python and TensorFlow versions of an interpreter, without importing TensorFlow."""
    trial_environment = dict(process.trial_environment("none", worker_path), **(environment or {}))
    done = subprocess.run([python, "-m", "bench.trial", "--probe"], env=trial_environment,
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
