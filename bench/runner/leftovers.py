"""Processes a trial left behind: found by the mark every trial process carries, and stopped.

Every trial starts in a session (and process group) of its own, with ``REPRO_BENCH_TRIAL``
in its environment naming its scratch folder; whatever it starts (a data loader, a helper
the user's code runs) inherits both. When the trial ends, or its runner is gone, the whole
group is killed; a process that left the group (``setsid``) still carries the mark, so it is
found by it here: when a trial ends, and when a later run of the folder begins (Linux
``/proc``; elsewhere only the group is killed).
"""

import os
import signal
from typing import List

MARK = "REPRO_BENCH_TRIAL"


def marked(prefix: str) -> List[int]:
    """Pids of this user's processes whose mark names a scratch folder under ``prefix``."""
    found = []
    wanted = ("%s=%s" % (MARK, os.path.abspath(prefix))).encode()
    try:
        pids = [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return found
    for pid in pids:
        if pid == os.getpid():
            continue
        try:
            with open("/proc/%d/environ" % pid, "rb") as stream:
                variables = stream.read().split(b"\0")
        except OSError:  # gone, or another user's
            continue
        if any(variable == wanted or variable.startswith(wanted + b"/") for variable in variables):
            found.append(pid)
    return found


def stop(prefix: str) -> List[int]:
    """Kill every process marked with a scratch folder under ``prefix``; returns their pids."""
    stopped = []
    for pid in marked(prefix):
        try:
            os.kill(pid, signal.SIGKILL)
            stopped.append(pid)
        except OSError:
            pass
    return stopped


def kill_group(pid: int) -> bool:
    """Kill the process group that ``pid`` leads (its members too, once it has ended)."""
    try:
        os.killpg(pid, signal.SIGKILL)
        return True
    except (ProcessLookupError, PermissionError):
        return False
