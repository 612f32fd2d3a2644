"""Run one trial as a fresh process of a Python interpreter, with its config's environment.

Used by the host's local backend and by the in-container batch: the same rules either way.

* The environment is built, not inherited: an allowlist of the parent's variables (paths,
  locale, time zone, where libraries and caches are, the GPUs this job may use), the
  variables the user names on purpose, then the configuration's own. A stray ``XLA_FLAGS``
  or ``OMP_NUM_THREADS`` in the user's shell never changes a result unseen.
* The worker never outlives its runner: it reads its stdin, a pipe whose other end only the
  runner holds, and stops as soon as that closes, however the runner ended (SIGKILL too),
  with everything it started. Started early (held), it waits at a barrier until the runner
  writes to that pipe.
* Nothing outlives the trial: it leads a session of its own, which is killed when it ends or
  times out, and its processes carry a mark naming its scratch folder (bench.runner.leftovers),
  by which one that left the session is found; its pid is kept in the scratch folder so that
  a later run can stop a leftover. Its temporary files go to the scratch folder too (TMPDIR),
  deleted with it, and no bytecode is written beside the user's code.
"""

import json
import os
import re
import subprocess
import time
from typing import Dict, Mapping, Optional, Sequence, Union

from bench.runner import leftovers, outcomes
from bench.runner.started import StartedTrial
from bench.trial.configurations import ENVIRONMENT
from bench.runner.tree import WORKER_PID_FILE
from bench.trial.lifeline import READY_FILE

# Passed from the parent's environment as they are; everything else only when named.
ALLOWED = ("PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TEMP", "TMP",
           "LD_LIBRARY_PATH", "KERAS_HOME", "TF_CPP_MIN_LOG_LEVEL", "CUDA_VISIBLE_DEVICES",
           "CUDA_CACHE_PATH", "CUDA_CACHE_MAXSIZE", "CUDA_CACHE_DISABLE")
ALLOWED_PREFIXES = ("LC_", "SLURM_")  # locale; the Slurm job a trial runs in (recorded, changes nothing)
# Never passed from the parent, even when named: the trial's own switches and paths.
CONTROLLED = ("PYTHONHASHSEED", "TF_DETERMINISTIC_OPS", "TF_CUDNN_DETERMINISTIC", "TF_CUDNN_USE_FRONTEND",
              "CUBLAS_WORKSPACE_CONFIG", "KERAS_BACKEND", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP",
              "PYTHONNOUSERSITE", "PYTHONDONTWRITEBYTECODE", leftovers.MARK)

def inherit_problem(names: Sequence[str]) -> Optional[str]:
    """Why variables named to be passed to trials (--inherit-env) cannot be, or None."""
    controlled = [name for name in names if name in CONTROLLED]
    if controlled:
        return "--inherit-env %s: the configurations set %s themselves" % (
            ", ".join(controlled), "it" if len(controlled) == 1 else "them")
    for name in names:
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
            return "--inherit-env %r: not a variable name" % name
    return None


def trial_environment(config: str, worker_path: Union[str, os.PathLike], base: Optional[Mapping[str, str]] = None,
                      inherit: Sequence[str] = ()) -> Dict[str, str]:
    """The environment a trial starts with: the allowed and the named (``inherit``) variables of
    ``base`` (default: this process's), then the configuration's."""
    base = os.environ if base is None else base
    problem = inherit_problem(inherit)
    if problem:
        raise ValueError(problem)
    environment = dict((name, value) for name, value in base.items()
                       if name in ALLOWED or name.startswith(ALLOWED_PREFIXES) or name in inherit)
    # An XLA determinism flag passed on purpose would still make none and seeds deterministic
    # on jax: it is full's own switch (frameworks.Keras3), so it never reaches the others.
    flags = [flag for flag in environment.get("XLA_FLAGS", "").split()
             if not flag.startswith("--xla_gpu_deterministic_ops")]
    if flags:
        environment["XLA_FLAGS"] = " ".join(flags)
    else:
        environment.pop("XLA_FLAGS", None)
    environment.update(ENVIRONMENT[config])
    environment["PYTHONPATH"] = str(worker_path)
    environment["PYTHONNOUSERSITE"] = "1"  # ~/.local packages would make trials depend on the user
    environment["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__/ beside the user's modules
    return environment


# How long loading a spec's data may take (bench.trial --probe-data: an import and load_data).
PROBE_SECONDS = 600


class ProbeFailed(RuntimeError):
    """bench.trial --probe-data failed; the message is its one line."""


def probed(exit_code: int, stdout: str, stderr: str) -> dict:
    """What bench.trial --probe-data printed, or ProbeFailed with its last line of stderr."""
    if exit_code == 0 and stdout.strip():
        return json.loads(stdout.strip().splitlines()[-1])
    lines = stderr.strip().splitlines()
    raise ProbeFailed(lines[-1] if lines else "exit status %s, no output" % exit_code)


class WorkerProcess(StartedTrial):
    """One trial's process, started now; ``held``: it waits at its barrier until ``release``
    (an overlapped start). Its wall time counts from the release, or from the start where
    the release came first (bench.runner.started)."""

    def __init__(self, python: str, worker_path: Union[str, os.PathLike], spec: dict, staging: str, runner_info: dict,
                 extra_environment: Optional[Dict[str, str]] = None, inherit: Sequence[str] = (),
                 held: bool = False) -> None:
        self.spec, self.staging, self.held = spec, staging, held
        self.info = dict(runner_info, environment_inherited=sorted(inherit)) if inherit else runner_info
        spec_path = os.path.join(staging, "spec.json")
        with open(spec_path, "w") as stream:
            json.dump(spec, stream)
        command = [python, "-m", "bench.trial", "--until-stdin-closes"] + (["--held"] if held else []) + \
            [spec_path, os.path.join(staging, "result.json")]
        environment = trial_environment(spec["config"], worker_path, inherit=inherit)
        environment.update(extra_environment or {})
        environment.update(scratch_environment(staging))
        self.started = time.perf_counter()
        self.deadline: Optional[float] = None
        with open(os.path.join(staging, "log.txt"), "wb") as log:
            self.process = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.PIPE, start_new_session=True)
        try:
            with open(os.path.join(staging, WORKER_PID_FILE), "w") as stream:
                stream.write(str(self.process.pid))
        except BaseException:
            self.cancel()
            raise

    def release(self, timeout: float) -> None:
        self.timeout = timeout
        self.released = time.perf_counter()
        self.deadline = self.released + timeout
        if self.held:
            try:  # one byte down the lifeline, unbuffered (nothing left to flush into a closed pipe): go
                os.write(self.process.stdin.fileno(), b"\n")
            except BrokenPipeError:  # it ended before its barrier (it failed): its result says why
                pass

    def ready(self) -> bool:
        return os.path.exists(os.path.join(self.staging, READY_FILE)) or self.process.poll() is not None

    def result(self) -> dict:
        timed_out = False
        try:
            self.process.wait(timeout=max(0.0, self.deadline - time.perf_counter()))
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:  # also on Ctrl-C or SIGTERM: the worker is in its own session and would live on
            self.cancel()
        wall_seconds = time.perf_counter() - max(self.started, self.released)
        with open(os.path.join(self.staging, "log.txt"), "rb") as log:
            text = log.read().decode("utf-8", "replace")
        info = dict(self.info, overlapped=True, started_early_seconds=self.released - self.started) \
            if self.held else self.info
        return outcomes.finish(self.spec, os.path.join(self.staging, "result.json"), self.process.returncode,
                               timed_out, wall_seconds, text, info, self.timeout)

    def cancel(self) -> None:
        leftovers.kill_group(self.process.pid)  # the worker leads it; with everything it started
        self.process.wait()
        if not self.process.stdin.closed:
            self.process.stdin.close()
        leftovers.stop(self.staging)  # what left the group


def scratch_environment(staging: str) -> Dict[str, str]:
    """The trial's mark (its scratch folder) and its temporary folder, inside that folder."""
    temporary = os.path.join(os.path.abspath(staging), "tmp")
    os.makedirs(temporary, exist_ok=True)
    return {leftovers.MARK: os.path.abspath(staging), "TMPDIR": temporary}
