"""Run one trial as a fresh process of a Python interpreter, with its config's environment.

Used by the host's local backend and by the in-container batch: the same rules either way.
"""

import json
import os
import signal
import subprocess
import time

from bench.worker import outcomes
from bench.worker.configurations import ENVIRONMENT

# Set here per trial; a value inherited from the user's shell must not leak in.
CONTROLLED_VARIABLES = ("PYTHONHASHSEED", "TF_DETERMINISTIC_OPS", "TF_CUDNN_DETERMINISTIC",
                        "TF_CUDNN_USE_FRONTEND", "CUBLAS_WORKSPACE_CONFIG", "KERAS_BACKEND",
                        "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONNOUSERSITE")


def trial_environment(config, worker_path, base=None):
    base = os.environ if base is None else base
    environment = dict((key, value) for key, value in base.items() if key not in CONTROLLED_VARIABLES)
    # An inherited XLA determinism flag would make none and seeds deterministic on jax; full
    # sets it itself (frameworks.Keras3).
    flags = [flag for flag in environment.get("XLA_FLAGS", "").split()
             if not flag.startswith("--xla_gpu_deterministic_ops")]
    if flags:
        environment["XLA_FLAGS"] = " ".join(flags)
    else:
        environment.pop("XLA_FLAGS", None)
    environment.update(ENVIRONMENT[config])
    environment["PYTHONPATH"] = str(worker_path)
    environment["PYTHONNOUSERSITE"] = "1"  # ~/.local packages would make trials depend on the user
    return environment


def run(python, worker_path, spec, staging, timeout, runner_info, extra_environment=None):
    """Run ``spec`` in a fresh ``python`` process; returns the final result document."""
    spec_path = os.path.join(staging, "spec.json")
    result_path = os.path.join(staging, "result.json")
    log_path = os.path.join(staging, "log.txt")
    with open(spec_path, "w") as stream:
        json.dump(spec, stream)
    command = [python, "-m", "bench.worker", spec_path, result_path]
    started = time.perf_counter()
    timed_out = False
    with open(log_path, "wb") as log:
        # A session of its own, so a timeout kills the worker and anything it started.
        environment = trial_environment(spec["config"], worker_path)
        environment.update(extra_environment or {})
        process = subprocess.Popen(command, env=environment,
                                   stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:  # also on Ctrl-C: the worker is in its own session and would live on
            _kill_session(process)
    wall_seconds = time.perf_counter() - started
    with open(log_path, "rb") as log:
        text = log.read().decode("utf-8", "replace")
    return outcomes.finish(spec, result_path, process.returncode, timed_out, wall_seconds, text,
                           runner_info, timeout)


def _kill_session(process):
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):  # gone already, with everything it started
        pass
    process.wait()

