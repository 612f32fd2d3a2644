"""Run a plan of trials and keep every result.

Finished trials are skipped, so running the same plan into the same folder again resumes
it. ``execute(spec, staging, slot)`` runs one trial (a local process, a container) on one
slot (a GPU id, or None) and returns its final result. With several slots, trials run
concurrently, one per slot: right for determinism, wrong for timing, so each result
records how many ran at once and the report computes no overhead from them. Progress goes
to ``say``: trial i/n, wall time, ETA, outcome.
"""

import os
import queue
import threading
import time

from bench.worker.jsonfile import read_json
from bench.worker.weights import WeightStore



class Progress(object):
    def __init__(self, total):
        self.total, self.done, self.seconds, self.started = total, 0, 0.0, time.perf_counter()

    def eta(self, concurrent):
        if not self.done:
            return "?"
        elapsed = time.perf_counter() - self.started if concurrent > 1 else self.seconds
        remaining = int(round(elapsed / self.done * (self.total - self.done)))
        return "%d:%02d:%02d" % (remaining // 3600, remaining // 60 % 60, remaining % 60)


def run(trials, chosen_settings, dataset_spec, execute, tree, say=print, slots=(None,), parallel=False):
    """Execute every trial not yet in ``tree``; returns the results written now.

    Slots are handed out in turn; with ``parallel`` one trial runs on each slot at a time,
    else one trial at a time in all."""
    workers = len(slots) if parallel else 1
    pending = [trial for trial in trials if not tree.done(trial.trial_id)]
    if len(pending) < len(trials):
        say("resuming: %d of %d trials already done in %s" % (len(trials) - len(pending), len(trials), tree.root))
    progress = Progress(len(pending))
    written = []
    store = WeightStore(tree.root)
    outcomes = _earlier_outcomes(tree, trials)
    lock = threading.Lock()
    free = queue.Queue()
    for slot in slots:
        free.put(slot)

    def one(trial):
        slot = free.get()
        try:
            started = time.perf_counter()
            staging = tree.staging_for(trial.trial_id)
            result = execute(trial.spec(chosen_settings, dataset_spec), staging, slot)
            result["runner"]["concurrent_trials"] = workers
            with lock:  # weights store, result tree and progress are shared by the slots
                if result["status"] == "ok":
                    _keep_weights(result, staging, store, outcomes.setdefault(_cell_of(trial), []))
                tree.write(result)
                tree.clean_staging(trial.trial_id)
                written.append(result)
                progress.done += 1
                progress.seconds += time.perf_counter() - started
                say("[%*d/%d] %s %-10s %-5s r%d  %6.1f s  ETA %s  %s%s" % (
                    len(str(progress.total)), progress.done, progress.total, trial.target, trial.protocol,
                    trial.config, trial.repeat, result["runner"]["wall_seconds"], progress.eta(workers),
                    outcome(result), "" if slot is None else "  (GPU %s)" % slot))
        finally:
            free.put(slot)

    if workers == 1:
        for trial in pending:
            one(trial)
    else:
        _in_parallel(one, pending, workers)
    tree.clean_staging()
    return written


def _in_parallel(function, items, workers):
    """Run ``function`` over ``items`` on ``workers`` threads; the first error stops new work."""
    remaining = list(reversed(items))
    lock, errors = threading.Lock(), []

    def worker():
        while True:
            with lock:
                if errors or not remaining:
                    return
                item = remaining.pop()
            try:
                function(item)
            except BaseException as error:  # reported to the caller below
                with lock:
                    errors.append(error)
                return

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except KeyboardInterrupt:
        with lock:  # no new trials; the running ones finish and are kept
            del remaining[:]
        for thread in threads:
            thread.join()
        raise
    if errors:
        raise errors[0]


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
