"""The overhead's interval and its claim: a ratio of medians with a bootstrap interval only
where each side has enough runs, and then a claim of a difference about as often as 95 % says."""

import numpy
import pytest

from bench.report import stats

pytestmark = pytest.mark.unit


def false_claims(n: int, minimum: int, monkeypatch, draws: int = 300) -> float:
    """How often two samples of n runs from one distribution are called different."""
    monkeypatch.setattr(stats, "MIN_RUNS_FOR_INTERVAL", minimum)
    generator = numpy.random.default_rng(1)
    claims = sum(bool(stats.ratio_of_medians(list(generator.lognormal(0, 0.1, n)),
                                             list(generator.lognormal(0, 0.1, n))).significant) for _ in range(draws))
    return claims / draws


def test_too_few_runs_give_a_ratio_without_interval_or_claim():
    ratio = stats.ratio_of_medians([1.0, 1.2], [0.8, 0.81])
    assert ratio.value == pytest.approx(1.1 / 0.805) and ratio.low is None and ratio.significant is None
    five = stats.ratio_of_medians([2.0, 2.1, 1.9, 2.05, 1.95], [1.0, 1.1, 0.9, 1.05, 0.95])
    assert five.low <= five.value <= five.high and five.significant is True


def test_a_claim_is_as_rare_as_its_level_says_where_one_is_made(monkeypatch):
    """Why the minimum: with 2 runs a side the percentile bootstrap calls equal timings
    different about 30 % of the time; from 5 runs, within its 5 %."""
    minimum = stats.MIN_RUNS_FOR_INTERVAL
    assert false_claims(2, minimum=1, monkeypatch=monkeypatch) > 0.2
    assert false_claims(5, minimum=minimum, monkeypatch=monkeypatch) <= 0.07
    assert false_claims(2, minimum=minimum, monkeypatch=monkeypatch) == 0
