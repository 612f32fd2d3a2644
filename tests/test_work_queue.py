"""The work queue on a stand-in backend: requeue, give-up, no slots left, lanes side by side
and resume, without training anything (each test runs in milliseconds)."""

import threading

import pytest

from bench.backends.base import Backend
from bench.backends.fleet import Fleet, lanes
from bench.runner import outcomes, plan, work_queue
from bench.runner.tree import ResultTree
from bench.trial.result import FAILED

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

    def execute(self, spec, staging, gpu, timeout):
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


def _run(spec):
    digest = format(hash(spec["trial_id"]) & (2**256 - 1), "064x")
    return {"history": {"loss": [0.5]}, "weights_sha256": digest, "epoch_seconds": [0.001], "fit_seconds": 0.001}


def queue(tmp_path, backend, slots, parallel=False, trials=None, **options):
    gpu_info = {slot: {} for slot in slots if slot is not None}
    fleet = Fleet({"local": {0: backend}}, *lanes(1, gpu_info, parallel))
    trials = trials or plan.build(["local"], ["none", "seeds"], {"process": 2})
    lines = []
    written = work_queue.run(trials, SETTINGS, DATASET, fleet.execute, ResultTree(tmp_path), say=lines.append,
                             lanes=fleet.lanes, concurrency=fleet.concurrency, timeout=60, **options)
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
