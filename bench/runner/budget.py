"""A run's wall-clock budget: which trials may still start, and how long each may take.

A lent machine is held for minutes, a CI job has a time limit: a run with a budget starts a
trial only where it can end inside what is left, judged by the longest trial of the same
kind (target, framework, model, protocol) measured so far, or by the longest of any kind
where none of its own has run yet, with a margin (MARGIN) for the spread between trials. The first trial of all has nothing to go by: it starts,
and is stopped at the end of the budget if it gets there (and then not recorded).
"""

import time
from typing import Callable, Dict, Optional, Tuple

from bench.runner.plan import Trial

MARGIN = 1.1


class Budget(object):
    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self.deadline = clock() + seconds
        self.longest: Dict[Tuple[Optional[str], ...], float] = {}  # kind -> the longest wall time measured

    def remaining(self) -> float:
        return self.deadline - self.clock()

    def measured(self, kind: Tuple[Optional[str], ...], seconds: float) -> None:
        self.longest[kind] = max(self.longest.get(kind, 0.0), seconds)

    def estimate(self, kind: Tuple[Optional[str], ...]) -> Optional[float]:
        """Seconds a trial of this kind is expected to take at most, or None (nothing measured)."""
        if kind in self.longest:
            return self.longest[kind] * MARGIN
        return max(self.longest.values()) * MARGIN if self.longest else None

    def allows(self, kind: Tuple[Optional[str], ...]) -> bool:
        left = self.remaining()
        estimate = self.estimate(kind)
        return left > 0 and (estimate is None or estimate <= left)


def kind_of(trial: Trial) -> Tuple[Optional[str], ...]:
    """What makes two trials take about as long: where and what they train, and how."""
    return (trial.target, trial.framework, trial.model, trial.protocol)
