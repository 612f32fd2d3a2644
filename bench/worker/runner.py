"""Run a plan of trials, one at a time, and keep every result.

Finished trials are skipped, so running the same plan into the same folder again resumes
it. ``execute(spec, staging)`` runs one trial (a local process, a container) and returns its
final result. Progress goes to ``say``: trial i/n, wall time, ETA, outcome.
"""

import os
import time

from bench.worker.jsonfile import read_json
from bench.worker.weights import WeightStore


class Progress(object):
    def __init__(self, total):
        self.total, self.done, self.seconds = total, 0, 0.0

    def eta(self):
        if not self.done:
            return "?"
        remaining = int(round(self.seconds / self.done * (self.total - self.done)))
        return "%d:%02d:%02d" % (remaining // 3600, remaining // 60 % 60, remaining % 60)


def run(trials, chosen_settings, dataset_spec, execute, tree, say=print):
    """Execute every trial not yet in ``tree``; returns the results written now."""
    pending = [trial for trial in trials if not tree.done(trial.trial_id)]
    if len(pending) < len(trials):
        say("resuming: %d of %d trials already done in %s" % (len(trials) - len(pending), len(trials), tree.root))
    progress = Progress(len(pending))
    written = []
    width = len(str(progress.total))
    store = WeightStore(tree.root)
    outcomes = _earlier_outcomes(tree, trials)
    for trial in pending:
        started = time.perf_counter()
        staging = tree.staging_for(trial.trial_id)
        result = execute(trial.spec(chosen_settings, dataset_spec), staging)
        if result["status"] == "ok":
            _keep_weights(result, staging, store, outcomes.setdefault(_cell_of(trial), []))
        tree.write(result)
        tree.clean_staging(trial.trial_id)
        written.append(result)
        progress.done += 1
        progress.seconds += time.perf_counter() - started
        say("[%*d/%d] %s %-10s %-5s r%d  %6.1f s  ETA %s  %s" % (
            width, progress.done, progress.total, trial.target, trial.protocol, trial.config,
            trial.repeat, result["runner"]["wall_seconds"], progress.eta(), outcome(result)))
    tree.clean_staging()
    return written


def _cell_of(trial):
    return (trial.target, trial.protocol, trial.config)


def _earlier_outcomes(tree, trials):
    """(target, protocol, config) -> [(trial id, weights digest)] of the finished ok trials."""
    found = {}
    for trial in trials:
        if tree.done(trial.trial_id):
            result = read_json(tree.path_for(trial.trial_id))
            if result["status"] == "ok":
                found.setdefault(_cell_of(trial), []).append(
                    (trial.trial_id, result["runs"][0]["weights_sha256"]))
    return found


def _keep_weights(result, staging, store, earlier):
    """Move the runs' weights into the store; record how far this trial's first run is from
    every earlier trial of its cell whose weights differ (identical ones differ by 0)."""
    for run in result["runs"]:
        if run.get("weights_file"):
            adopted = store.adopt(os.path.join(staging, run["weights_file"]), run["weights_sha256"])
            run["weights_file"] = os.path.relpath(adopted, store.root) if adopted else None
    digest = result["runs"][0]["weights_sha256"]
    differences = {}
    for trial_id, other in earlier:
        if other != digest:
            difference = store.difference(digest, other)
            if difference is not None:
                differences[trial_id] = difference
    result["weights_max_abs_diff"] = differences
    earlier.append((result["spec"]["trial_id"], digest))


def outcome(result):
    if result["status"] == "ok":
        return "ok"
    return "%s (%s)" % (result["status"], result["error"]["type"].rsplit(".", 1)[-1])
