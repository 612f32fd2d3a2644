"""The work queue on a stand-in backend: requeue, give-up, no slots left, lanes side by side,
resume and the overlapped start, without training anything (each test runs in milliseconds)."""

import threading

import pytest

from bench.backends.base import Backend
from bench.backends.fleet import Fleet, lanes
from bench.runner import outcomes, plan, work_queue
from bench.runner.budget import Budget
from bench.runner.started import StartedTrial
from bench.runner.tree import ResultTree
from bench.trial.result import FAILED

pytestmark = pytest.mark.unit

SETTINGS = plan.settings(epochs=1)
DATASET = {"kind": "npz", "name": "stand-in"}


class StandIn(Backend):
    """Runs nothing: each trial's outcome is what ``behaviour(spec, gpu)`` says (``ok``,
    ``error``, or ``broken``: the machinery fails, as a dead engine would)."""

    name = "stand-in"

    def __init__(self, behaviour=lambda spec, gpu: "ok", hold=None):
        super().__init__()
        self.info = {"backend": self.name, "python_version": "3.x", "tensorflow": None}
        self.behaviour, self.hold = behaviour, hold
        self.calls, self.lock, self.running, self.most_at_once = [], threading.Lock(), 0, 0
        self.events = []  # (what, trial id): start / start held / release / end / cancel

    def start(self, spec, staging, gpu, held):
        return StandInTrial(self, spec, staging, gpu, held)

    def run_trial(self, spec, staging, gpu, timeout):
        with self.lock:
            self.calls.append((spec["trial_id"], gpu))
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            if self.hold is not None:
                self.hold.wait(timeout=5)  # until every lane has a trial in hand
            outcome = self.behaviour(spec, gpu)
            if outcome == "broken":
                raise work_queue.InfrastructureError(f"engine behind slot {gpu} stopped answering")
            if outcome == "ok":
                result = outcomes.failure(spec, "ok", "", "")
                result.update(error=None, runs=[_run(spec)])
            else:
                result = outcomes.failure(spec, "error", "StandIn", "it failed")
            result["runner"] = dict(self.info, wall_seconds=0.001, timed_out=False, exit_code=0)
            return result
        finally:
            with self.lock:
                self.running -= 1


class StandInTrial(StartedTrial):
    """A stand-in trial started early: it records what the queue does with it."""

    def __init__(self, backend, spec, staging, gpu, held):
        self.backend, self.spec, self.staging, self.gpu = backend, spec, staging, gpu
        backend.events.append(("start held" if held else "start", spec["trial_id"]))

    def ready(self):
        return True

    def release(self, timeout):
        self.timeout = timeout
        self.backend.events.append(("release", self.spec["trial_id"]))

    def result(self):
        try:
            return self.backend.run_trial(self.spec, self.staging, self.gpu, self.timeout)
        finally:
            self.backend.events.append(("end", self.spec["trial_id"]))

    def cancel(self):
        self.backend.events.append(("cancel", self.spec["trial_id"]))


def _run(spec):
    digest = format(hash(spec["trial_id"]) & (2**256 - 1), "064x")
    return {"history": {"loss": [0.5]}, "weights_sha256": digest, "epoch_seconds": [0.001], "fit_seconds": 0.001}


def queue(tmp_path, backend, slots, parallel=False, trials=None, **options):
    gpu_info = {slot: {} for slot in slots if slot is not None}
    fleet = Fleet({"local": {0: backend}}, *lanes(1, gpu_info, parallel))
    trials = trials or plan.build(["local"], ["none", "seeds"], {"process": 2})
    lines = []
    written = work_queue.run(trials, SETTINGS, DATASET, fleet, ResultTree(tmp_path), say=lines.append,
                             timeout=60, **options)
    return written, lines


def test_a_broken_slot_is_retired_and_its_trial_runs_on_another(tmp_path):
    backend = StandIn(lambda spec, gpu: "broken" if gpu == "1" else "ok")
    written, lines = queue(tmp_path, backend, ["0", "1"])
    assert len(written) == 4 and {r["status"] for r in written} == {"ok"}
    [retried] = [r for r in written if r["runner"].get("failed_attempts")]
    assert retried["runner"]["failed_attempts"] == [{"slot": "0/1", "error": "engine behind slot 1 stopped answering"}]
    assert [gpu for _, gpu in backend.calls].count("1") == 1  # never used again
    assert "slot 0/1 failed (engine behind slot 1 stopped answering); trial requeued" in lines


def test_a_trial_that_breaks_every_slot_is_given_up_as_an_error_row(tmp_path):
    backend = StandIn(lambda spec, gpu: "broken" if spec["config"] == "seeds" and spec["repeat"] == 1 else "ok")
    written, lines = queue(tmp_path, backend, ["0", "1", "2", "3"], max_attempts=3)
    [given_up] = [r for r in written if r["status"] != "ok"]
    assert given_up["status"] in FAILED and given_up["error"]["type"] == "InfrastructureError"
    assert given_up["error"]["message"].startswith("3 attempts failed: ")
    assert len(given_up["runner"]["failed_attempts"]) == 3
    assert any(line.endswith("trial given up") for line in lines)


def test_when_every_slot_fails_the_rest_is_kept_to_resume(tmp_path):
    backend = StandIn(lambda spec, gpu: "broken")
    with pytest.raises(work_queue.NoSlotsLeft, match=r"every slot failed with 4 trials left; they are not lost"):
        queue(tmp_path, backend, ["0", "1"])
    assert not ResultTree(tmp_path).done("local--process--none--r01")
    # The hosts are mended: the same plan into the same tree runs them all.
    written, _ = queue(tmp_path, StandIn(), ["0", "1"])
    assert len(written) == 4


def test_lanes_run_side_by_side_and_say_so(tmp_path):
    hold = threading.Barrier(2)
    backend = StandIn(hold=hold)
    written, _ = queue(tmp_path, backend, ["0", "1"], parallel=True)
    assert backend.most_at_once == 2 and len(written) == 4
    assert {r["runner"]["concurrent_trials"] for r in written} == {2}


def test_one_lane_runs_one_trial_at_a_time_handing_its_gpus_out_in_turn(tmp_path):
    backend = StandIn()
    written, _ = queue(tmp_path, backend, ["0", "1"])
    assert backend.most_at_once == 1 and {r["runner"]["concurrent_trials"] for r in written} == {1}
    assert [gpu for _, gpu in backend.calls] == ["0", "1", "0", "1"]


def test_resume_runs_only_what_is_missing_and_a_failure_is_a_result(tmp_path):
    failing = StandIn(lambda spec, gpu: "error" if spec["trial_id"].endswith("none--r02") else "ok")
    first, _ = queue(tmp_path, failing, [None])
    assert sorted(r["status"] for r in first) == ["error", "ok", "ok", "ok"]
    again = StandIn()
    written, lines = queue(tmp_path, again, [None])
    assert written == [] and again.calls == []  # an error row is a result: not run again
    assert lines[0].startswith("resuming: 4 of 4 trials already done")


def test_overlap_starts_the_next_trial_held_and_releases_it_once_the_current_one_has_ended(tmp_path):
    backend = StandIn()
    written, _ = queue(tmp_path, backend, [None], overlap=work_queue.BESIDE)
    ids = [r["spec"]["trial_id"] for r in written]
    assert len(ids) == 4 == len(set(ids))
    expected = [("start", ids[0]), ("release", ids[0])]
    for current, following in zip(ids, ids[1:]):
        expected += [("start held", following), ("end", current), ("release", following)]
    assert backend.events == expected + [("end", ids[-1])]
    assert [bool(r["runner"].get("next_started_early")) for r in written] == [True, True, True, False]


def test_overlap_between_starts_a_few_held_while_none_trains_and_releases_them_one_by_one(tmp_path):
    backend = StandIn()
    written, _ = queue(tmp_path, backend, [None], overlap=work_queue.BETWEEN, prepare_at_once=3)
    ids = [r["spec"]["trial_id"] for r in written]
    assert len(ids) == 4 == len(set(ids))
    expected = [("start held", trial) for trial in ids[:3]]
    expected += [event for trial in ids[:3] for event in (("release", trial), ("end", trial))]
    expected += [("start held", ids[3]), ("release", ids[3]), ("end", ids[3])]
    assert backend.events == expected
    assert not any(r["runner"].get("next_started_early") for r in written)  # none started beside a training


def test_overlap_on_several_slots_hands_them_out_in_turn(tmp_path):
    backend = StandIn()
    written, _ = queue(tmp_path, backend, ["0", "1"], overlap=work_queue.BESIDE)
    assert len(written) == 4 and backend.most_at_once == 1
    assert [gpu for _, gpu in backend.calls] == ["0", "1", "0", "1"]


def test_a_trial_started_early_on_a_slot_that_fails_is_cancelled_and_runs_once_elsewhere(tmp_path):
    backend = StandIn(lambda spec, gpu: "broken" if gpu == "1" else "ok")
    written, lines = queue(tmp_path, backend, ["0", "1"], overlap=work_queue.BESIDE)
    ids = [r["spec"]["trial_id"] for r in written]
    assert len(ids) == 4 == len(set(ids)) and {r["status"] for r in written} == {"ok"}
    cancelled = [trial for what, trial in backend.events if what == "cancel"]
    assert len(cancelled) == 1 and cancelled[0] in ids  # put back, and run later: once
    assert [gpu for _, gpu in backend.calls].count("1") == 1
    assert any("trial requeued" in line for line in lines)


def test_a_trial_started_early_that_the_budget_no_longer_allows_is_cancelled_not_recorded(tmp_path):
    now = [0.0]
    budget = Budget(10, clock=lambda: now[0])

    def four_seconds(spec, gpu):
        now[0] += 4  # each trial takes 4 s of the budget
        return "ok"

    backend = StandIn(four_seconds)
    original = backend.run_trial

    def timed(spec, staging, gpu, timeout):
        result = original(spec, staging, gpu, timeout)
        result["runner"]["wall_seconds"] = 4.0
        return result

    backend.run_trial = timed
    written, _ = queue(tmp_path, backend, [None], overlap=work_queue.BESIDE, budget=budget)
    assert len(written) == 2  # 4 + 4 s; a third (4.4 s with the margin) no longer fits in the 2 s left
    [cancelled] = [trial for what, trial in backend.events if what == "cancel"]
    assert not ResultTree(tmp_path).done(cancelled)
    assert ("release", cancelled) not in backend.events


def test_a_run_that_stops_cancels_the_trial_it_started_early(tmp_path):
    def disk_full(spec, gpu):
        return "ok" if spec["repeat"] == 1 and spec["config"] == "none" else "full"

    backend = StandIn(disk_full)
    original = backend.run_trial

    def filling(spec, staging, gpu, timeout):
        result = original(spec, staging, gpu, timeout)
        if result["status"] != "ok":
            result["error"]["message"] = "OSError: [Errno 28] No space left on device"
        return result

    backend.run_trial = filling
    with pytest.raises(work_queue.DiskFull):
        queue(tmp_path, backend, [None], overlap=work_queue.BESIDE)
    [cancelled] = [trial for what, trial in backend.events if what == "cancel"]
    assert ("release", cancelled) not in backend.events and not ResultTree(tmp_path).done(cancelled)
    assert len([what for what, _ in backend.events if what == "end"]) == 2
