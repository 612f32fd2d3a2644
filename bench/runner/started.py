"""A trial that a backend has started: what the work queue holds between start and result.

An overlapped start (``--overlap``) starts a trial *held*: its process or container starts,
imports its framework and loads its data (while the trial before it trains, or beside other
held trials while none trains), says it is ``ready`` and waits at its barrier
(bench.trial.lifeline) until ``release``, which the queue calls once the trial before it has
ended. Its timeout counts from the release. A backend that cannot start early runs the trial
when its result is asked for (``Deferred``): the same interface, no overlap.
"""

from abc import ABC, abstractmethod
from typing import Any, Callable, Optional


class StartedTrial(ABC):
    @abstractmethod
    def release(self, timeout: float) -> None:
        """Let the trial go on past its barrier now; it may run ``timeout`` seconds from here."""

    @abstractmethod
    def ready(self) -> bool:
        """Whether the trial waits at its barrier (or has ended: it never will)."""

    @abstractmethod
    def result(self) -> dict:
        """Wait for the released trial to end; its final result document. A failure of the
        machinery around it raises bench.runner.work_queue.InfrastructureError."""

    @abstractmethod
    def cancel(self) -> None:
        """Stop a trial that will not be released (its slot failed, the run stops, the budget
        no longer allows it) and let go of what it holds; it leaves no result."""


class Deferred(StartedTrial):
    """For a backend with no early start: the whole trial runs in ``result``."""

    def __init__(self, execute: Callable[[dict, str, Any, float], dict], spec: dict, staging: str,
                 slot: Any) -> None:
        self._run = lambda timeout: execute(spec, staging, slot, timeout)
        self._timeout: Optional[float] = None

    def release(self, timeout: float) -> None:
        self._timeout = timeout

    def ready(self) -> bool:
        return True

    def result(self) -> dict:
        return self._run(self._timeout)

    def cancel(self) -> None:
        pass
