"""Run a plan of trials through a backend, one at a time, and keep every result.

Finished trials are skipped, so running the same plan into the same folder again resumes
it. Progress goes to the ``say`` callable: trial i/n, outcome, wall time, ETA.
"""

import shutil
import time
from dataclasses import dataclass

from bench.plan import Settings, Trial
from bench.results import ResultTree


@dataclass
class Progress:
    total: int
    done: int = 0
    seconds: float = 0.0

    def eta(self) -> str:
        if not self.done:
            return "?"
        remaining = round(self.seconds / self.done * (self.total - self.done))
        return f"{remaining // 3600}:{remaining // 60 % 60:02d}:{remaining % 60:02d}"


def run(trials: list[Trial], settings: Settings, dataset_spec: dict, backend, tree: ResultTree,
        say=print) -> list[dict]:
    """Execute every trial not yet in ``tree``; returns the results written now."""
    pending = [trial for trial in trials if not tree.done(trial.trial_id)]
    if len(pending) < len(trials):
        say(f"resuming: {len(trials) - len(pending)} of {len(trials)} trials already done in {tree.root}")
    progress = Progress(total=len(pending))
    written = []
    for trial in pending:
        staging = tree.staging / trial.trial_id
        started = time.perf_counter()
        result = backend.execute(trial.spec(settings, dataset_spec), staging)
        tree.write(result)
        shutil.rmtree(staging, ignore_errors=True)
        written.append(result)
        progress.done += 1
        progress.seconds += time.perf_counter() - started
        say(f"[{progress.done:>{len(str(progress.total))}}/{progress.total}] {trial.target} "
            f"{trial.protocol:<10} {trial.config:<5} r{trial.repeat}  "
            f"{result['runner']['wall_seconds']:6.1f} s  ETA {progress.eta()}  {_outcome(result)}")
    shutil.rmtree(tree.staging, ignore_errors=True)
    return written


def _outcome(result: dict) -> str:
    if result["status"] == "ok":
        return "ok"
    return f"{result['status']} ({result['error']['type'].rsplit('.', 1)[-1]})"
