"""How sure a verdict is: exact binomial (Clopper-Pearson) bounds on how often a run differs.

Worker side (Python 3.6, stdlib only): ``--until`` decides in the runner, which may run in
a container, when a cell knows enough.

* ``match`` with n identical runs (none different): the one-sided 95 % upper bound on the
  chance that a further run differs, 1 - 0.05^(1/n) (Clopper-Pearson with no event; about
  3/n, "the rule of three"): 45 % for n = 5, 26 % for 10, 5 % for 59.
* ``mismatch``: the share of runs in the largest group of identical outcomes, with its
  two-sided 95 % Clopper-Pearson interval.

The bounds assume runs independent and alike (the same machine, trials interleaved by
config); they say nothing of another machine or version. Computed by bisection on the
binomial distribution itself (math.comb is 3.8+: the coefficients are built up by products),
exact to 1e-12.
"""

import math
from typing import Optional, Tuple

CONFIDENCE = 0.95
TOLERANCE = 1e-12


def _binomial_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p), summed in log space (n in the thousands is fine)."""
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 1.0 if k >= n else 0.0
    total, log_p, log_q = 0.0, math.log(p), math.log1p(-p)
    for i in range(0, k + 1):
        log_term = math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q
        total += math.exp(log_term)
    return min(1.0, total)


def _solve(function, target: float) -> float:
    """The p in [0, 1] where the decreasing ``function`` of p equals ``target`` (bisection)."""
    low, high = 0.0, 1.0
    while high - low > TOLERANCE:
        middle = (low + high) / 2
        if function(middle) > target:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def upper_bound_none_seen(n: int, confidence: float = CONFIDENCE) -> Optional[float]:
    """The one-sided upper bound on the rate of an event never seen in ``n`` tries (None for n = 0)."""
    if n < 1:
        return None
    return 1.0 - (1.0 - confidence) ** (1.0 / n)


def interval(k: int, n: int, confidence: float = CONFIDENCE) -> Optional[Tuple[float, float]]:
    """The two-sided Clopper-Pearson interval of a rate seen k times in n tries."""
    if n < 1 or not 0 <= k <= n:
        return None
    tail = (1.0 - confidence) / 2
    # The lower end for k is one minus the upper end for the n - k runs outside.
    low = 0.0 if k == 0 else 1.0 - _solve(lambda q: _binomial_cdf(n - k, n, q), tail)
    high = 1.0 if k == n else _solve(lambda p: _binomial_cdf(k, n, p), tail)
    return low, high


def shown(rate: float) -> str:
    """A rate as people read it: 45 %, 5 %, 0.5 %."""
    value = rate * 100
    return ("%.0f %%" if value >= 10 or value == 0 else "%.1f %%" if value >= 0.1 else "%.2g %%") % value


def runs_needed(rate: float, confidence: float = CONFIDENCE) -> int:
    """How many identical runs bring the bound of ``upper_bound_none_seen`` to ``rate`` or below."""
    return max(1, int(math.ceil(math.log(1.0 - confidence) / math.log(1.0 - rate) - 1e-9)))
