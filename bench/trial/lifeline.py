"""The trial's stdin: a pipe whose other end only the runner holds.

It is the trial's lifeline: when it closes, however the runner ended (SIGKILL too), the trial
stops at once, with every process it started (its process group, which it leads: the runner
starts it in a session of its own), so that nothing of a trial outlives its runner. It is also the barrier of an
overlapped start: a trial started early imports its framework and loads its data while the
trial before it trains (or while the trials before it import theirs), says that it is ready
and waits until the runner writes to the pipe, which it does once the trial before it has
ended. Nothing seeds, touches a device or builds a model before then.
"""

import os
import signal
import threading
import time

from bench.trial.exits import EXIT_RUNNER_GONE

READY_FILE = "ready"  # beside the result: the trial waits at its barrier


class Lifeline(object):
    def __init__(self) -> None:
        self._released = threading.Event()
        threading.Thread(target=self._watch, name="runner-watch", daemon=True).start()

    def _watch(self) -> None:
        try:
            while os.read(0, 4096):
                self._released.set()  # any byte from the runner: go
        except OSError:
            pass
        if os.getpgrp() == os.getpid():  # never the group of a shell that started it by hand
            os.killpg(0, signal.SIGKILL)  # what the trial started (a data loader, a user's helper), and itself
        os._exit(EXIT_RUNNER_GONE)  # now: no cleanup that could block, nothing half-written is kept

    def wait_for_release(self, ready_path: str) -> float:
        """Say that this trial has come to its barrier (an empty file at ``ready_path``, which
        the runner looks for), then block until the runner lets it go on; returns the seconds
        waited."""
        started = time.perf_counter()
        open(ready_path, "w").close()
        self._released.wait()
        return time.perf_counter() - started
