"""Run a plan of trials and keep every result: a work queue over lanes of slots.

Finished trials are skipped, so running the same plan into the same folder again resumes
it. ``execute(spec, staging, slot, timeout)`` runs one trial on one slot (a GPU id, a
(host, GPU) pair, or None) for at most ``timeout`` seconds and returns its final result.
Slots are grouped in lanes: each lane runs one trial at a time, handing its slots out in
turn; lanes run side by side (one per Docker host, or one per GPU with --parallel). Each
result records how many trials shared its machine (``concurrent_trials``); the report
computes no overhead where that is more than one.

A slot whose infrastructure fails (``InfrastructureError``: an engine that stops answering, a
container killed from outside) is retired, and its trial goes back to the queue, at most
``max_attempts`` times in all; a trial's own failure is a result and is never retried.
With a ``Budget``, a trial starts only where it can end inside the time left, and a trial
stopped by the end of the budget (not by its own timeout) is not recorded: it stays to run.
Progress goes to ``say``: trial i/n, wall time, ETA, outcome; ``on_result(result)`` is
called after each result is written.
"""

import collections
import errno
import os
import threading
import time

from bench.runner import outcomes as trial_outcomes
from bench.runner.budget import kind_of
from bench.trial.jsonfile import read_json
from bench.runner.weight_store import WeightStore

MAX_ATTEMPTS = 3
DEFAULT_TIMEOUT = 1800


class InfrastructureError(Exception):
    """The machinery around a trial failed (not the trial itself): retry it elsewhere."""


class NoSlotsLeft(RuntimeError):
    """Every slot failed while trials remained; they are not lost: resume the run."""


class DiskFull(RuntimeError):
    """The result tree's file system is full: the run stops; finished trials are kept."""


NO_SPACE = "No space left on device"


class Progress(object):
    def __init__(self, total):
        self.total, self.done, self.started = total, 0, time.perf_counter()

    def eta(self):
        if not self.done:
            return "?"
        elapsed = time.perf_counter() - self.started
        remaining = int(round(elapsed / self.done * (self.total - self.done)))
        return "%d:%02d:%02d" % (remaining // 3600, remaining // 60 % 60, remaining % 60)


def run(trials, chosen_settings, dataset_spec, execute, tree, say=print, lanes=((None,),),
        concurrency=None, max_attempts=MAX_ATTEMPTS, timeout=DEFAULT_TIMEOUT, budget=None, on_result=None):
    """Execute every trial not yet in ``tree``; returns the results written now.

    ``concurrency(slot)``: how many trials share that slot's machine at a time (default: 1
    for a single lane, else the number of lanes). ``timeout``: seconds a trial may take;
    ``budget``: a bench.runner.budget.Budget for the whole run (None: no limit)."""
    pending = collections.deque(trial for trial in trials if not tree.done(trial.trial_id))
    if len(pending) < len(trials):
        say("resuming: %d of %d trials already done in %s" % (len(trials) - len(pending), len(trials), tree.root))
    lanes = [list(lane) for lane in lanes]
    if concurrency is None:
        concurrency = (lambda slot, shared=len(lanes): shared)
    state = _State(len(pending), WeightStore(tree.root), _earlier_outcomes(tree, trials, budget))

    def finish(trial, result, staging):
        with state.lock:  # weights store, result tree and progress are shared by the lanes
            if budget is not None:
                budget.measured(kind_of(trial), result["runner"]["wall_seconds"])
            try:
                if result["status"] == "ok":
                    _keep_weights(result, staging, state.store, state.outcomes.setdefault(_cell_of(trial), []))
                tree.write(result)
                tree.keep_trace(staging, trial.trial_id)
            except OSError as error:
                if error.errno == errno.ENOSPC:
                    raise DiskFull(_disk_full_message(tree, state))
                raise
            tree.clean_staging(trial.trial_id)
            state.written.append(result)
            if on_result is not None:
                on_result(result)
            state.progress.done += 1
            say("[%*d/%d] %s %-10s %-5s r%d  %6.1f s  ETA %s  %s%s" % (
                len(str(state.progress.total)), state.progress.done, state.progress.total, _what(trial),
                trial.protocol, trial.config, trial.repeat, result["runner"]["wall_seconds"],
                state.progress.eta(), outcome(result), _where(result)))

    def lane_worker(slots):
        turn = 0
        while slots:
            with state.lock:
                trial = None if state.stop else _next_trial(pending, budget)
                if trial is None:
                    return
                limit = timeout if budget is None else min(timeout, budget.remaining())
            slot = slots[turn % len(slots)]
            turn += 1
            spec = trial.spec(chosen_settings, dataset_spec)
            staging = tree.staging_for(trial.trial_id)
            try:
                result = execute(spec, staging, slot, limit)
            except InfrastructureError as error:
                slots.remove(slot)  # this slot's machine is not to be trusted any more
                with state.lock:
                    failures = state.failures.setdefault(trial.trial_id, [])
                    failures.append({"slot": _label(slot), "error": str(error)[:500]})
                    say("slot %s failed (%s); %s" % (_label(slot), str(error)[:200],
                        "trial requeued" if len(failures) < max_attempts else "trial given up"))
                    if len(failures) < max_attempts:
                        pending.appendleft(trial)
                        continue
                result = trial_outcomes.failure(spec, "error", "InfrastructureError",
                                                "%d attempts failed: %s" % (len(failures), failures[-1]["error"]))
                result["runner"] = {"wall_seconds": 0.0, "exit_code": None, "timed_out": False}
            if _failed_for_lack_of_space(result):  # the disk's failure, not the trial's: not a result
                with state.lock:
                    state.stop = True
                raise DiskFull(_disk_full_message(tree, state))
            if limit < timeout and result["runner"].get("timed_out"):
                with state.lock:  # the budget ran out, not the trial's own time: not a result
                    tree.clean_staging(trial.trial_id)
                    pending.append(trial)
                    say("%s stopped at the end of the time budget; not recorded" % trial.trial_id)
                continue
            result["runner"]["concurrent_trials"] = concurrency(slot)
            if trial.trial_id in state.failures:
                result["runner"]["failed_attempts"] = state.failures[trial.trial_id]
            finish(trial, result, staging)
        with state.lock:
            state.lanes_without_slots += 1

    if len(lanes) == 1:
        lane_worker(lanes[0])  # in this thread, so that Ctrl-C stops the trial at once
    else:
        _side_by_side(lane_worker, lanes, state)
    tree.clean_staging()
    if pending and state.lanes_without_slots == len(lanes):
        raise NoSlotsLeft("every slot failed with %d trials left; they are not lost: fix the hosts and "
                          "run `bench run --resume %s`" % (len(pending), tree.root))
    return state.written


class _State(object):
    def __init__(self, total, store, outcomes):
        self.lock = threading.Lock()
        self.progress = Progress(total)
        self.store, self.outcomes = store, outcomes
        self.written, self.failures, self.stop = [], {}, False
        self.lanes_without_slots = 0


def _side_by_side(lane_worker, lanes, state):
    """One thread per lane. An interruption (Ctrl-C, SIGTERM) stops at once, as with one
    lane: the lanes' workers end with this process (their stdin closes), finished trials stay."""
    errors = []

    def guarded(slots):
        try:
            lane_worker(slots)
        except BaseException as error:  # reported to the caller below
            errors.append(error)
            with state.lock:
                state.stop = True

    threads = [threading.Thread(target=guarded, args=(lane,), daemon=True) for lane in lanes]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():  # a join with a timeout lets signals through at once
            thread.join(0.5)
    if errors:
        raise errors[0]


def _what(trial):
    """Where and, when the plan has several workloads, what a trial trains."""
    several = trial.trial_id.count("--") > 3  # its id names framework and model
    return "%s %s %s" % (trial.target, trial.framework, trial.model) if several else trial.target


def _label(slot):
    """(1, None) -> '1/-': host 1, no GPU."""
    parts = slot if isinstance(slot, tuple) else (slot,)
    return "/".join("-" if part is None else str(part) for part in parts)


def _where(result):
    runner = result["runner"]
    parts = [runner[key] for key in ("engine", "gpu_request") if runner.get(key)]
    return "  (%s)" % ", ".join(str(part) for part in parts) if parts else ""


def _cell_of(trial):
    return (trial.target, trial.framework, trial.model, trial.protocol, trial.config)


def _failed_for_lack_of_space(result):
    if result["status"] == "ok":
        return False
    text = "%s %s" % ((result.get("error") or {}).get("message", ""), result.get("runner", {}).get("log_tail", ""))
    return NO_SPACE in text


def _disk_full_message(tree, state):
    kept = len([name for name in os.listdir(tree.trials) if name.endswith(".json")]) if os.path.isdir(tree.trials) else 0
    return ("no space left on the device of %s: the %d trials finished there are kept; free some space, then run "
            "again with the same --out to continue" % (tree.root, kept))


def _next_trial(pending, budget):
    """The first pending trial that the budget lets start (taken off the queue), or None."""
    for trial in pending:
        if budget is None or budget.allows(kind_of(trial)):
            pending.remove(trial)
            return trial
    return None


def _earlier_outcomes(tree, trials, budget=None):
    """cell -> [(trial id, weights digest)] of the finished ok trials; the budget learns
    how long each finished trial took."""
    found = {}
    for trial in trials:
        if tree.done(trial.trial_id):
            result = read_json(tree.path_for(trial.trial_id))
            if budget is not None and (result.get("runner") or {}).get("wall_seconds") is not None:
                budget.measured(kind_of(trial), result["runner"]["wall_seconds"])
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
    by_digest = store.differences(digest, [other for _, other in earlier])
    result["weights_max_abs_diff"] = {trial_id: by_digest[other] for trial_id, other in earlier
                                      if other in by_digest}
    earlier.append((result["spec"]["trial_id"], digest))


def outcome(result):
    if result["status"] == "ok":
        return "ok"
    return "%s (%s)" % (result["status"], result["error"]["type"].rsplit(".", 1)[-1])
