"""Turn what a finished trial process left behind into its final result document.

Shared by every backend: a worker result file is taken as it is; a process that died,
was killed or ran out of time without one becomes an error or timeout row that keeps the
tail of its log. No trial is ever dropped.
"""

import signal
from pathlib import Path

from bench.results import STATUSES
from bench.worker import SCHEMA_VERSION
from bench.worker.jsonfile import read_json

LOG_TAIL_CHARS = 4000
EXIT_TRIAL_FAILED = 3


def finish(spec: dict, result_path: Path, *, exit_code: int | None, timed_out: bool,
           wall_seconds: float, log: str, runner: dict, timeout_seconds: float) -> dict:
    worker_result = _read(result_path) if exit_code in (0, EXIT_TRIAL_FAILED) or timed_out else None
    if worker_result is not None:
        result = worker_result
    elif timed_out:
        result = failure(spec, "timeout", "Timeout",
                         f"no result within {timeout_seconds:g} s; the trial was killed")
    else:
        result = failure(spec, "error", "WorkerExit", describe_exit(exit_code))
    result["runner"] = dict(runner, exit_code=exit_code, timed_out=timed_out, wall_seconds=wall_seconds)
    if result["status"] != "ok":
        result["runner"]["log_tail"] = log[-LOG_TAIL_CHARS:]
    return result


def failure(spec: dict, status: str, error_type: str, message: str) -> dict:
    """A result for a trial whose worker left none."""
    return {"schema_version": SCHEMA_VERSION, "spec": spec, "status": status,
            "error": {"type": error_type, "message": message}, "mechanism": [], "runs": [],
            "dataset": None, "timing": {}, "software": {}, "machine": {}, "device": None,
            "environment": {}}


def describe_exit(exit_code: int | None) -> str:
    if exit_code is None:
        return "the worker did not finish"
    if exit_code < 0 or exit_code > 128:  # killed by a signal (negative locally, 128+N in containers)
        number = -exit_code if exit_code < 0 else exit_code - 128
        name = signal.Signals(number).name if number in signal.Signals._value2member_map_ else f"signal {number}"
        hint = " (out of memory?)" if number == signal.SIGKILL else ""
        return f"the worker was killed by {name}{hint} and wrote no result"
    return f"the worker exited with status {exit_code} and wrote no result"


def _read(path: Path) -> dict | None:
    try:
        result = read_json(str(path))
    except (OSError, ValueError):
        return None
    return result if isinstance(result, dict) and result.get("status") in STATUSES else None
