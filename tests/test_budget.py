"""A run within a time budget: trials by value, none started that cannot end in time, none
stopped by the budget recorded. The runner is driven by a stand-in backend (no training)
and a clock the test moves, so these run in milliseconds."""

import pytest

from bench.runner import outcomes, plan, work_queue
from bench.runner.started import Deferred
from bench.runner.budget import Budget
from bench.runner.tree import ResultTree

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class ClockBackend(object):
    """A backend whose trials run when released (nothing starts early), on the test's clock."""

    def __init__(self, execute):
        self.execute = execute

    def start(self, spec, staging, slot, held):
        return Deferred(self.execute, spec, staging, slot)


def stand_in(clock, seconds_of, log):
    """A backend whose trial 'takes' seconds_of(spec) on the clock, or is stopped at its timeout."""
    def execute(spec, staging, slot, timeout):
        wanted = seconds_of(spec)
        took = min(wanted, timeout)
        clock.now += took
        log.append((spec["trial_id"], round(timeout, 3)))
        result = outcomes.failure(spec, "timeout" if wanted > timeout else "error", "StandIn", "no training here")
        result["runner"] = {"wall_seconds": took, "timed_out": wanted > timeout, "exit_code": None}
        return result
    return work_queue.OneSlot(ClockBackend(execute))


def test_trials_go_by_value_every_cell_once_more_before_any_further_repeat():
    trials = plan.build(["local"], ["none", "seeds", "full"], {"process": 3},
                        plan.workloads(["keras3-jax", "keras3-torch"], ["mlp", "cnn"]))
    first_round = trials[:12]
    assert {t.repeat for t in first_round} == {1}
    assert {(t.framework, t.model, t.config) for t in first_round} == {
        (f, m, c) for f in ("keras3-jax", "keras3-torch") for m in ("mlp", "cnn") for c in ("none", "seeds", "full")}
    assert [t.repeat for t in trials] == sorted(t.repeat for t in trials)
    assert trials[0].trial_id == "local--keras3-jax--mlp--process--none--r01"
    # Configs still rotate from one repeat to the next.
    assert [t.config for t in trials if t.framework == "keras3-jax" and t.model == "mlp"][3:6] == ["seeds", "full", "none"]


def test_no_trial_starts_that_cannot_end_within_the_budget(tmp_path):
    clock, log = Clock(), []
    trials = plan.build(["local"], ["none", "seeds"], {"process": 3},
                        plan.workloads(["keras3-jax"], ["mlp", "cnn"]))
    seconds = {"mlp": 10.0, "cnn": 30.0}
    budget = Budget(100, clock=clock)
    written = work_queue.run(trials, plan.settings(), {"name": "x"}, stand_in(clock, lambda s: seconds[s["model"]], log),
                         ResultTree(tmp_path), say=lambda line: None, timeout=1000, budget=budget)
    ran = [trial_id for trial_id, _ in log]
    # Round 1: 10 + 10 + 30 + 30 = 80 s; then 20 s left: the mlp trials of round 2 fit
    # (10 s each, 11 with the margin), the cnn ones (33 s) never start.
    assert ran == ["local--keras3-jax--mlp--process--none--r01", "local--keras3-jax--mlp--process--seeds--r01",
                   "local--keras3-jax--cnn--process--none--r01", "local--keras3-jax--cnn--process--seeds--r01",
                   "local--keras3-jax--mlp--process--seeds--r02"]
    assert len(written) == 5 and clock.now == 90
    # Each trial may run at most until the budget ends.
    assert [limit for _, limit in log] == [100, 90, 80, 50, 20]


def test_a_trial_stopped_by_the_end_of_the_budget_is_not_recorded(tmp_path):
    clock, log, lines = Clock(), [], []
    trials = plan.build(["local"], ["none"], {"process": 2})
    tree = ResultTree(tmp_path)
    # Nothing measured yet: the first trial starts, and takes longer than the whole budget.
    work_queue.run(trials, plan.settings(), {"name": "x"}, stand_in(clock, lambda spec: 50.0, log), tree,
               say=lines.append, timeout=1000, budget=Budget(30, clock=clock))
    assert log == [("local--process--none--r01", 30)]
    assert not tree.done("local--process--none--r01")
    assert "local--process--none--r01 stopped at the end of the time budget; not recorded" in lines
    # Its own timeout (not the budget's end) is a result, as always.
    work_queue.run(trials, plan.settings(), {"name": "x"}, stand_in(clock, lambda spec: 50.0, []), tree,
               say=lines.append, timeout=5, budget=Budget(30, clock=clock))
    assert tree.done("local--process--none--r01")


def test_a_resumed_run_judges_by_the_trials_already_in_the_folder(tmp_path):
    clock, tree = Clock(), ResultTree(tmp_path)
    trials = plan.build(["local"], ["none"], {"process": 3})
    work_queue.run(trials[:1], plan.settings(), {"name": "x"}, stand_in(clock, lambda spec: 40.0, []), tree,
               say=lambda line: None, timeout=1000)
    log = []
    work_queue.run(trials, plan.settings(), {"name": "x"}, stand_in(clock, lambda spec: 40.0, log), tree,
               say=lambda line: None, timeout=1000, budget=Budget(60, clock=clock))
    assert [trial_id for trial_id, _ in log] == ["local--process--none--r02"]  # 44 s fits in 60, not twice
