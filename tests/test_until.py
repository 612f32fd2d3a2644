"""How sure a verdict is, and runs that stop when they know (--until, check --require)."""

import json
import os
import random
from types import SimpleNamespace

import pytest

from bench import results
from bench.commands.run import until
from bench.runner import confidence
from bench.runner.run_plan import RunPlan
from tests.conftest import REPO, bench, bench_here

RARE = REPO / "tests" / "fixtures" / "experiments" / "rare_divergence.py"


@pytest.mark.unit
def test_the_bounds_are_the_exact_binomial_ones():
    assert [round(confidence.upper_bound_none_seen(n), 3) for n in (5, 10, 59)] == [0.451, 0.259, 0.050]
    assert confidence.runs_needed(0.05) == 59 and confidence.upper_bound_none_seen(58) > 0.05
    low, high = confidence.interval(2, 5)  # Clopper-Pearson, as published tables give it
    assert (round(low, 4), round(high, 4)) == (0.0527, 0.8534)
    assert confidence.interval(0, 5)[1] == pytest.approx(1 - 0.025 ** (1 / 5))
    assert confidence.interval(5, 5)[0] == pytest.approx(0.025 ** (1 / 5))


def simulate(rate, chance, trials, seed):
    """One cell under --until RATE whose runs differ from the usual outcome with ``chance``
    (each odd run unlike any other): the product's stopping rule, run by run, no training."""
    generator, chosen = random.Random(seed), RunPlan(until=rate)
    outcomes = []
    while True:
        outcomes.append("usual" if generator.random() >= chance else f"odd{len(outcomes)}")
        differs = [outcome != outcomes[0] for outcome in outcomes]
        cell = SimpleNamespace(verdict="mismatch" if any(differs) else "match", runs_compared=len(outcomes),
                               first_difference_at=differs.index(True) + 1 if any(differs) else None,
                               divergence_bound=None if any(differs) else confidence.upper_bound_none_seen(len(outcomes)))
        decision = until._decision(chosen, cell, len(outcomes), len(outcomes))
        if decision.done:
            return cell.verdict, len(outcomes)
        assert len(outcomes) < trials


@pytest.mark.unit
@pytest.mark.parametrize("chance", [0.05, 0.02, 0.2])
def test_until_finds_a_rare_divergence_as_often_as_the_bound_promises(chance):
    """Over many seeded simulations: a cell stops after 59 identical runs (5 %), so a divergence
    of chance p is found with probability 1 - (1 - p)^59; a cell that truly differs 5 % of
    the time passes as a match at most 5 % of the time (the bound's promise)."""
    simulations = 3000
    found = [simulate(0.05, chance, 100, seed) for seed in range(simulations)]
    caught = sum(verdict == "mismatch" for verdict, _ in found) / simulations
    expected = 1 - (1 - chance) ** 59
    assert abs(caught - expected) < 4 * (expected * (1 - expected) / simulations) ** 0.5 + 1e-3
    assert max(runs for _, runs in found) <= 59  # never past what the rate needs
    assert all(runs == 59 for verdict, runs in found if verdict == "match")
    if chance >= 0.05:
        assert 1 - caught <= 0.05 + 4 * (0.05 * 0.95 / simulations) ** 0.5


@pytest.mark.trial
def test_until_stops_each_cell_when_it_knows_and_check_requires_the_evidence(tmp_path, subset):
    environment = dict(os.environ, DIVERGENCE_COUNTER=str(tmp_path / "count"), DIVERGE_AT="4")
    plan = ["--experiment", RARE, "--configs", "seeds", "--until", "50%", "--no-overlap",
            "--inherit-env", "DIVERGENCE_COUNTER", "--inherit-env", "DIVERGE_AT"]
    done = bench("run", *plan, "--out", tmp_path / "rare", env=environment)
    assert "seeds: 4 trials, a difference at run 4" in done.stderr  # stopped at the injected divergence
    [cell] = json.loads(bench("report", tmp_path / "rare", "--format", "json").stdout)
    assert (cell["verdict"], cell["trials"], cell["first_difference_at"]) == ("mismatch", 4, 4)
    environment = dict(environment, DIVERGENCE_COUNTER=str(tmp_path / "count2"), DIVERGE_AT="")
    done = bench("run", *plan, "--out", tmp_path / "steady", env=environment)
    assert "seeds: 5 trials, bound 45.1% after 5 runs" in done.stderr  # 1 - 0.05^(1/5) <= 50 %
    [cell] = json.loads(bench("report", tmp_path / "steady", "--format", "json").stdout)
    assert cell["verdict"] == "match" and cell["divergence_bound"] == pytest.approx(0.4507, abs=1e-4)
    assert "match (≤45 %)" in bench("report", tmp_path / "steady").stdout
    assert bench_here("check", tmp_path / "steady", "--require", "seeds=match<=50%").returncode == 0
    strict = bench_here("check", tmp_path / "steady", "--require", "seeds=match<=5%")
    assert strict.returncode == 1 and "needs 59" in strict.stdout
    assert bench_here("check", tmp_path / "rare", "--require", "seeds=match").returncode == 1
    plan_file = json.loads((tmp_path / "steady" / "plan.json").read_text())
    assert len(plan_file["trials"]) == 5 and len(results.load([tmp_path / "steady"])) == 5  # none foreign


@pytest.mark.unit
@pytest.mark.parametrize("given, phrase", [
    ("full=matchy", "no verdict 'matchy'"), ("fast=match", "no config 'fast'"),
    ("none=mismatch<=5%", "give it to match only"), ("full", "give CONFIG=VERDICT"),
    ("full=match<=150%", "up to (not including) 100 %"), ("full=match<=0.00001", "from 0.1 %"),
    (",", "--require needs an expectation"),
])
def test_a_bad_expectation_is_one_line(given, phrase, tmp_path):
    done = bench_here("check", REPO / "results" / "local-cpu-tf2.21", "--require", given)
    assert done.returncode == 2 and phrase in done.stderr and done.stderr.count("\n") == 1


@pytest.mark.unit
def test_published_cells_state_their_evidence():
    cells = json.loads(bench_here("report", REPO / "results" / "cpu-matrix", "--format", "json").stdout)
    seeds = [cell for cell in cells if cell["config"] == "seeds" and cell["protocol"] == "process"]
    assert seeds and all(cell["divergence_bound"] == pytest.approx(1 - 0.05 ** (1 / cell["runs_compared"]))
                         for cell in seeds if cell["verdict"] == "match")
    none = [cell for cell in cells if cell["config"] == "none" and cell["verdict"] == "mismatch"
            and cell["protocol"] == "process"]
    assert none and all(cell["first_difference_at"] >= 2 and cell["largest_share_low"] < cell["largest_share"]
                        for cell in none)
