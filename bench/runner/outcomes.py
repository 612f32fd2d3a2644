"""Turn what a finished trial process left behind into its final result document.

Shared by every way of running trials (local process, container, in-container batch): a
worker result file is taken as it is; a process that died, was killed or ran out of time
without one becomes an error, timeout or unsupported row that keeps the tail of its log.
No trial is ever dropped.
"""

import os
import signal
from typing import Optional, Union

from bench.trial import result as result_document, result_file
from bench.trial.exits import EXIT_TRIAL_FAILED, log_findings, unsupported_reason

LOG_TAIL_CHARS = 4000


def finish(spec: dict, result_path: Union[str, os.PathLike], exit_code: Optional[int], timed_out: bool,
           wall_seconds: float, log: str, runner_info: dict, timeout_seconds: float, oom_killed: bool = False) -> dict:
    worker_result = _read(result_path) if exit_code in (0, EXIT_TRIAL_FAILED) or timed_out else None
    unsupported = None if worker_result is not None or timed_out else unsupported_reason(log)
    if worker_result is not None:
        result = worker_result
    elif timed_out:
        result = failure(spec, "timeout", "Timeout",
                         "no result within %g s; the trial was killed" % timeout_seconds)
    elif unsupported:
        result = failure(spec, "unsupported", "UnsupportedGPU", unsupported)
    else:
        result = failure(spec, "error", "OutOfMemory" if oom_killed else "WorkerExit",
                         describe_exit(exit_code, oom_killed))
    result["runner"] = dict(runner_info, exit_code=exit_code, timed_out=timed_out,
                            wall_seconds=wall_seconds, oom_killed=oom_killed, log_findings=log_findings(log))
    if result["status"] != "ok":
        result["runner"]["log_tail"] = log[-LOG_TAIL_CHARS:]
    return result


def failure(spec: dict, status: str, error_type: str, message: str) -> dict:
    """A result for a trial whose worker left none."""
    return result_document.failure(spec, status, error_type, message)


def describe_exit(exit_code: Optional[int], oom_killed: bool = False) -> str:
    if oom_killed:
        return "the worker was killed for exceeding its memory limit (out of memory) and wrote no result"
    if exit_code is None:
        return "the worker did not finish"
    if exit_code < 0 or exit_code > 128:  # killed by a signal (negative locally, 128+N in containers)
        number = -exit_code if exit_code < 0 else exit_code - 128
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = "signal %d" % number
        hint = " (out of memory?)" if number == signal.SIGKILL else ""
        return "the worker was killed by %s%s and wrote no result" % (name, hint)
    return "the worker exited with status %d and wrote no result" % exit_code


def _read(path: Union[str, os.PathLike]) -> Optional[dict]:
    try:
        return result_file.read(str(path))
    except (OSError, ValueError):
        return None
