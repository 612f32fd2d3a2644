"""Run a plan of trials and keep every result: a work queue over lanes of slots.

Finished trials are skipped, so running the same plan into the same folder again resumes
it. The trials run on ``backends`` (see ``Backends``): its ``start(spec, staging, slot, held)``
starts one trial on one slot (a GPU id, a (host, GPU) pair, or None), whose result the queue
waits for. Slots are grouped in lanes: each lane runs one trial at a time, handing its slots out in
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

With ``overlap``, trials start early: their processes (or containers) import the framework
and load the data, then wait at a barrier until the trial before them has ended
(bench.runner.started). BESIDE starts the next trial while the current one trains (for GPU
trials, and runs without times); BETWEEN starts a few at once while none trains, so that no
import competes with a training whose time is measured on the same CPU. A trial started
early that is never released (the run stops, its slot fails, the budget no longer allows
it) is cancelled and stays to run: it leaves no result.
"""

import collections
import errno
import itertools
import os
import threading
import time
from typing import Any, Callable, Dict, Iterable, Iterator, List, NamedTuple, Optional, Sequence, Tuple

from bench.runner import outcomes as trial_outcomes
from bench.runner.budget import Budget, kind_of
from bench.runner.plan import Trial
from bench.runner.started import StartedTrial
from bench.trial import result_file
from bench.runner.tree import ResultTree
from bench.runner.weight_store import WeightStore

MAX_ATTEMPTS = 3
DEFAULT_TIMEOUT = 1800
# Overlapped starts: the next trial starts while the current one trains (BESIDE), or several
# start at once while none trains and are released one by one (BETWEEN).
BESIDE, BETWEEN = "beside", "between"
READY_POLL_SECONDS = 0.02


class InfrastructureError(Exception):
    """The machinery around a trial failed (not the trial itself): retry it elsewhere."""


class NoSlotsLeft(RuntimeError):
    """Every slot failed while trials remained; they are not lost: resume the run."""


class DiskFull(RuntimeError):
    """The result tree's file system is full: the run stops; finished trials are kept."""


NO_SPACE = "No space left on device"


class Progress(object):
    def __init__(self, total: int) -> None:
        self.total, self.done, self.started = total, 0, time.perf_counter()

    def eta(self) -> str:
        if not self.done:
            return "?"
        elapsed = time.perf_counter() - self.started
        remaining = int(round(elapsed / self.done * (self.total - self.done)))
        return "%d:%02d:%02d" % (remaining // 3600, remaining // 60 % 60, remaining % 60)


class Backends(object):
    """What the queue runs trials on: lanes of slots, and a way to start a trial on a slot.
    bench.backends.fleet.Fleet is one (a backend per target and host); ``OneSlot`` makes one
    of a single backend (bench.backends.base.Backend: start(spec, staging, gpu, held))."""

    #: ``lanes``: lanes of slots; each lane runs one trial at a time, handing its slots out in turn
    lanes: List[List[Any]]

    def start(self, spec: dict, staging: str, slot: Any, held: bool) -> StartedTrial:
        """The trial ``spec`` started on ``slot``: a bench.runner.started.StartedTrial."""
        raise NotImplementedError

    def concurrency(self, slot: Any) -> int:
        """How many trials share that slot's machine at a time."""
        return len(self.lanes)


class OneSlot(Backends):
    """A single backend, one trial at a time, no GPU of the suite's choosing."""

    def __init__(self, backend: Any) -> None:
        self.backend, self.lanes = backend, [[None]]

    def start(self, spec: dict, staging: str, slot: Any, held: bool) -> StartedTrial:
        return self.backend.start(spec, staging, slot, held)


def run(trials: Sequence[Trial], chosen_settings: dict, dataset_spec: dict, backends: Backends, tree: ResultTree,
        say: Callable[[str], Any] = print, max_attempts: int = MAX_ATTEMPTS, timeout: float = DEFAULT_TIMEOUT,
        budget: Optional[Budget] = None, on_result: Optional[Callable[[dict], Any]] = None,
        overlap: Optional[str] = None, prepare_at_once: int = 2) -> List[dict]:
    """Run every trial not yet in ``tree`` on ``backends`` (a ``Backends``); returns the
    results written now.

    ``timeout``: seconds a trial may take; ``budget``: a bench.runner.budget.Budget for the
    whole run (None: no limit). ``overlap``: None (one trial after the other),
    BESIDE (each lane starts its next trial, held, while the current one trains) or BETWEEN
    (each lane starts ``prepare_at_once`` trials, held, while none trains, waits until all
    are ready, then releases them one by one); a held trial is released once the one before
    it has ended."""
    start, concurrency = backends.start, backends.concurrency
    pending = collections.deque(trial for trial in trials if not tree.done(trial.trial_id))
    if len(pending) < len(trials):
        say("resuming: %d of %d trials already done in %s" % (len(trials) - len(pending), len(trials), tree.root))
    lanes = [list(lane) for lane in backends.lanes]
    state = _State(len(pending), WeightStore(tree.root), _earlier_outcomes(tree, trials, budget))

    def finish(trial: Trial, result: dict, staging: str) -> None:
        with state.lock:  # weights store, result tree and progress are shared by the lanes
            if budget is not None:
                budget.measured(kind_of(trial), result["runner"]["wall_seconds"])
            try:
                if result["status"] == "ok":
                    _keep_weights(result, staging, state.store, state.outcomes.setdefault(_cell_of(trial), []))
                tree.keep_trace(staging, trial.trial_id)
                tree.write(result)
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

    def take() -> Optional[Trial]:
        """The next trial to run, off the queue; None when none is left (or the run stops)."""
        with state.lock:
            return None if state.stop else _next_trial(pending, budget)

    def put_back(trial: Trial) -> None:
        with state.lock:
            tree.clean_staging(trial.trial_id)
            pending.appendleft(trial)

    def begin(trial: Trial, slot: Any, held: bool) -> Begun:
        spec = trial.spec(chosen_settings, dataset_spec)
        staging = tree.staging_for(trial.trial_id)
        return Begun(trial, slot, staging, start(spec, staging, slot, held))

    def slot_failed(slots: List[Any], slot: Any, trial: Trial, error: Exception) -> Optional[dict]:
        """Retire ``slot``; the trial goes back to the queue, or after ``max_attempts`` failures
        becomes an error result (returned)."""
        if slot in slots:
            slots.remove(slot)  # this slot's machine is not to be trusted any more
        with state.lock:
            failures = state.failures.setdefault(trial.trial_id, [])
            failures.append({"slot": _label(slot), "error": str(error)[:500]})
            say("slot %s failed (%s); %s" % (_label(slot), str(error)[:200],
                "trial requeued" if len(failures) < max_attempts else "trial given up"))
            if len(failures) < max_attempts:
                pending.appendleft(trial)
                return None
        result = trial_outcomes.failure(trial.spec(chosen_settings, dataset_spec), "error", "InfrastructureError",
                                        "%d attempts failed: %s" % (len(failures), failures[-1]["error"]))
        result["runner"] = {"wall_seconds": 0.0, "exit_code": None, "timed_out": False}
        return result

    def start_next(slots: List[Any], turns: Iterator[int], held: bool) -> Optional[Begun]:
        """Take the next trial and start it on the lane's next slot; None when no trial is left
        (or no slot). A slot that fails to start it is retired, the trial requeued or given up."""
        while slots:
            trial = take()
            if trial is None:
                return None
            slot = slots[next(turns) % len(slots)]
            try:
                return begin(trial, slot, held)
            except InfrastructureError as error:
                result = slot_failed(slots, slot, trial, error)
                if result is not None:
                    finish(trial, result, os.path.join(tree.staging, trial.trial_id))
        return None

    def put_all_back(ahead: collections.deque) -> None:
        while ahead:  # never released: they leave no result and run another time
            begun = ahead.pop()
            begun.started.cancel()
            put_back(begun.trial)

    def lane_worker(slots: List[Any]) -> None:
        turns = itertools.count()
        ahead: collections.deque = collections.deque()  # trials started early, in the order they are to run
        try:
            while True:
                if not ahead:
                    if overlap == BETWEEN:  # several prepare at once while none trains
                        for _ in range(prepare_at_once):
                            begun = start_next(slots, turns, held=True)
                            if begun is None:
                                break
                            ahead.append(begun)
                        _wait_until_ready(ahead, timeout if budget is None else budget.remaining())
                    else:
                        begun = start_next(slots, turns, held=False)
                        if begun is not None:
                            ahead.append(begun)
                    if not ahead:
                        break
                current = ahead.popleft()
                trial, slot = current.trial, current.slot
                with state.lock:
                    allowed = budget is None or budget.allows(kind_of(trial))
                    limit = timeout if budget is None else min(timeout, budget.remaining())
                if not allowed:  # started early, but the budget has run down since: not now
                    current.started.cancel()
                    put_back(trial)
                    continue
                current.started.release(limit)
                if overlap == BESIDE and not ahead:  # the next one prepares while this one trains
                    begun = start_next(slots, turns, held=True)
                    if begun is not None:
                        ahead.append(begun)
                try:
                    result = current.started.result()
                except InfrastructureError as error:
                    put_all_back(ahead)  # they may share the failed machine: they run again elsewhere
                    result = slot_failed(slots, slot, trial, error)
                    if result is None:
                        continue
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
                if overlap == BESIDE and ahead:  # it trained while the next one started beside it
                    result["runner"]["next_started_early"] = True
                if trial.trial_id in state.failures:
                    result["runner"]["failed_attempts"] = state.failures[trial.trial_id]
                finish(trial, result, current.staging)
            if not slots:
                with state.lock:
                    state.lanes_without_slots += 1
        finally:
            put_all_back(ahead)

    if len(lanes) == 1:
        lane_worker(lanes[0])  # in this thread, so that Ctrl-C stops the trial at once
    else:
        _side_by_side(lane_worker, lanes, state)
    tree.clean_staging()
    if pending and state.lanes_without_slots == len(lanes):
        raise NoSlotsLeft("every slot failed with %d trials left; they are not lost: fix the hosts and "
                          "run `bench run --resume %s`" % (len(pending), tree.root))
    return state.written


class Begun(NamedTuple):
    """A trial started on a slot (held at its barrier until released, with overlap)."""
    trial: object
    slot: object
    staging: str
    started: StartedTrial


def _wait_until_ready(ahead: Iterable[Begun], limit: float) -> None:
    """Until every trial of ``ahead`` waits at its barrier (or has ended), or ``limit`` seconds
    have passed (one that hangs before its barrier then meets its own timeout)."""
    deadline = time.monotonic() + max(0.0, limit)
    while not all(begun.started.ready() for begun in ahead) and time.monotonic() < deadline:
        time.sleep(READY_POLL_SECONDS)


class _State(object):
    def __init__(self, total: int, store: WeightStore, outcomes: Dict[tuple, List[Tuple[str, str]]]) -> None:
        self.lock = threading.Lock()
        self.progress = Progress(total)
        self.store, self.outcomes = store, outcomes
        self.written, self.failures, self.stop = [], {}, False
        self.lanes_without_slots = 0


def _side_by_side(lane_worker: Callable[[List[Any]], None], lanes: List[List[Any]], state: _State) -> None:
    """One thread per lane. An interruption (Ctrl-C, SIGTERM) stops at once, as with one
    lane: the lanes' workers end with this process (their stdin closes), finished trials stay."""
    errors = []

    def guarded(slots: List[Any]) -> None:
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


def _what(trial: Trial) -> str:
    """Where and, when the plan has several workloads, what a trial trains."""
    several = trial.trial_id.count("--") > 3  # its id names framework and model
    return "%s %s %s" % (trial.target, trial.framework, trial.model) if several else trial.target


def _label(slot: Any) -> str:
    """(1, None) -> '1/-': host 1, no GPU."""
    parts = slot if isinstance(slot, tuple) else (slot,)
    return "/".join("-" if part is None else str(part) for part in parts)


def _where(result: dict) -> str:
    runner = result["runner"]
    parts = [runner[key] for key in ("engine", "gpu_request") if runner.get(key)]
    return "  (%s)" % ", ".join(str(part) for part in parts) if parts else ""


def _cell_of(trial: Trial) -> Tuple[Optional[str], ...]:
    return (trial.target, trial.framework, trial.model, trial.protocol, trial.config)


def _failed_for_lack_of_space(result: dict) -> bool:
    if result["status"] == "ok":
        return False
    text = "%s %s" % ((result.get("error") or {}).get("message", ""), result.get("runner", {}).get("log_tail", ""))
    return NO_SPACE in text


def _disk_full_message(tree: ResultTree, state: _State) -> str:
    kept = len([name for name in os.listdir(tree.trials) if name.endswith(".json")]) if os.path.isdir(tree.trials) else 0
    return ("no space left on the device of %s: the %d trials finished there are kept; free some space, then run "
            "again with the same --out to continue" % (tree.root, kept))


def _next_trial(pending: collections.deque, budget: Optional[Budget]) -> Optional[Trial]:
    """The first pending trial that the budget lets start (taken off the queue), or None."""
    for trial in pending:
        if budget is None or budget.allows(kind_of(trial)):
            pending.remove(trial)
            return trial
    return None


def _earlier_outcomes(tree: ResultTree, trials: Iterable[Trial],
                      budget: Optional[Budget] = None) -> Dict[tuple, List[Tuple[str, str]]]:
    """cell -> [(trial id, weights digest)] of the finished ok trials; the budget learns
    how long each finished trial took."""
    found = {}
    for trial in trials:
        if tree.done(trial.trial_id):
            result = result_file.read(tree.path_for(trial.trial_id))  # damaged ones were set aside
            if budget is not None and (result.get("runner") or {}).get("wall_seconds") is not None:
                budget.measured(kind_of(trial), result["runner"]["wall_seconds"])
            if result["status"] == "ok":
                found.setdefault(_cell_of(trial), []).append(
                    (trial.trial_id, result["runs"][0]["weights_sha256"]))
    return found


def _keep_weights(result: dict, staging: str, store: WeightStore, earlier: List[Tuple[str, str]]) -> None:
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


def outcome(result: dict) -> str:
    if result["status"] == "ok":
        return "ok"
    return "%s (%s)" % (result["status"], result["error"]["type"].rsplit(".", 1)[-1])
