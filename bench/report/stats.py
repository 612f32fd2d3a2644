"""Small, explicit statistics for timings: median, IQR, and a bootstrap interval for a ratio.

The bootstrap uses a fixed seed, so a table regenerated from the same files is the same.
"""

from dataclasses import dataclass

import numpy

BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 0
# Fewer runs on a side than this: no interval, and no claim of a difference. A percentile
# bootstrap of a median from 2-4 values spans little more than the values themselves (of 2,
# exactly them), so its "95 %" covers far less, and a spread-out pair reads as significant.
MIN_RUNS_FOR_INTERVAL = 5


@dataclass(frozen=True)
class Summary:
    median: float
    q1: float
    q3: float
    n: int

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1


@dataclass(frozen=True)
class Ratio:
    value: float
    low: float | None          # None: too few runs for an interval (MIN_RUNS_FOR_INTERVAL)
    high: float | None

    @property
    def significant(self) -> bool | None:
        """The 95 % interval excludes 1 (no difference); None without an interval."""
        return None if self.low is None else not self.low <= 1.0 <= self.high


def summarize(values: list[float]) -> Summary | None:
    if not values:
        return None
    q1, median, q3 = numpy.percentile(numpy.asarray(values, dtype=float), [25, 50, 75])
    return Summary(float(median), float(q1), float(q3), len(values))


def median_interval(values: list[float]) -> tuple[float, float] | None:
    """A 95 % percentile-bootstrap interval of the median of ``values``."""
    if not values:
        return None
    values = numpy.asarray(values, dtype=float)
    generator = numpy.random.RandomState(BOOTSTRAP_SEED)
    medians = numpy.median(generator.choice(values, (BOOTSTRAP_SAMPLES, len(values))), axis=1)
    low, high = numpy.percentile(medians, [2.5, 97.5])
    return float(low), float(high)


def ratio_of_medians(values: list[float], baseline: list[float]) -> Ratio | None:
    """median(values) / median(baseline) with a 95 % percentile-bootstrap interval
    (both samples resampled with replacement, independently), where each holds at least
    MIN_RUNS_FOR_INTERVAL values."""
    if not values or not baseline:
        return None
    if min(len(values), len(baseline)) < MIN_RUNS_FOR_INTERVAL:
        return Ratio(float(numpy.median(values) / numpy.median(baseline)), None, None)
    values, baseline = numpy.asarray(values, dtype=float), numpy.asarray(baseline, dtype=float)
    generator = numpy.random.RandomState(BOOTSTRAP_SEED)
    top = numpy.median(generator.choice(values, (BOOTSTRAP_SAMPLES, len(values))), axis=1)
    bottom = numpy.median(generator.choice(baseline, (BOOTSTRAP_SAMPLES, len(baseline))), axis=1)
    low, high = numpy.percentile(top / bottom, [2.5, 97.5])
    return Ratio(float(numpy.median(values) / numpy.median(baseline)), float(low), float(high))
