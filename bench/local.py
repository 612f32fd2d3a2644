"""Local backend: every trial is a fresh process of a chosen Python interpreter."""

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from bench import outcomes, worker_source
from bench.errors import UsageError, UserError
from bench.worker.configurations import ENVIRONMENT

# Set by us per trial; a value inherited from the user's shell must not leak in.
CONTROLLED_VARIABLES = ("PYTHONHASHSEED", "TF_DETERMINISTIC_OPS", "TF_CUDNN_DETERMINISTIC",
                        "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONNOUSERSITE")


def trial_environment(config: str, worker_path: Path, base: dict | None = None) -> dict:
    environment = {key: value for key, value in (os.environ if base is None else base).items()
                   if key not in CONTROLLED_VARIABLES}
    environment.update(ENVIRONMENT[config])
    environment["PYTHONPATH"] = str(worker_path)
    environment["PYTHONNOUSERSITE"] = "1"  # ~/.local packages would make trials depend on the user
    return environment


class LocalBackend:
    name = "local"

    def __init__(self, python: str, timeout: float, work_dir: Path):
        resolved = shutil.which(python)
        if resolved is None:
            raise UsageError(f"--python {python}: no such executable; give the path of a Python with TensorFlow")
        self.python = resolved
        self.timeout = timeout
        self.worker_path = worker_source.copy_to(work_dir / "worker")
        self.worker_digest = worker_source.digest()
        self.probe = self._probe()

    def _probe(self) -> dict:
        environment = trial_environment("none", self.worker_path)
        done = subprocess.run([self.python, "-m", "bench.worker", "--probe"], env=environment,
                              capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise UserError(f"{self.python} cannot run the worker ({last}); it needs Python >= 3.6 with numpy")
        probe = json.loads(done.stdout)
        if not probe.get("tensorflow"):
            raise UserError(f"TensorFlow is not installed for {self.python}: install it there "
                            "(pip install tensorflow-cpu) or pass --python PATH to one that has it")
        return probe

    def describe(self) -> dict:
        return {"backend": self.name, "python": self.python, "python_version": self.probe["python"],
                "tensorflow": self.probe["tensorflow"], "worker_sha256": self.worker_digest}

    def execute(self, spec: dict, staging: Path) -> dict:
        staging.mkdir(parents=True, exist_ok=True)
        spec_path, result_path, log_path = staging / "spec.json", staging / "result.json", staging / "log.txt"
        spec_path.write_text(json.dumps(spec))
        environment = trial_environment(spec["config"], self.worker_path)
        command = [self.python, "-m", "bench.worker", str(spec_path), str(result_path)]
        started = time.perf_counter()
        with open(log_path, "wb") as log:
            # A session of its own, so a timeout kills the worker and anything it started.
            process = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
            timed_out = False
            try:
                process.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:  # also on Ctrl-C: the worker is in its own session and would live on
                _kill_session(process)
        wall_seconds = time.perf_counter() - started
        return outcomes.finish(spec, result_path, exit_code=process.returncode, timed_out=timed_out,
                               wall_seconds=wall_seconds, log=log_path.read_text(errors="replace"),
                               runner=self.describe(), timeout_seconds=self.timeout)


def _kill_session(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:  # the worker and everything it started are gone already
        pass
    process.wait()
