"""bench check --require: what a team expects of its cells, the regression gate CI runs when
it upgrades TF ("full must match, a run differing at most 5 % of the time, at 95 %").

An expectation is ``CONFIG=VERDICT`` or ``CONFIG=match<=RATE`` (RATE as 5% or 0.05),
optionally ``in-process:CONFIG=...`` (default: the process protocol); several are
comma-separated or given once each. A cell contradicts one when its verdict differs; it lacks
the evidence when it matches with a bound above RATE (bench.runner.confidence; ``bench run
--until RATE`` adds the runs); a config with no cell at all is named too.
"""

import re
from dataclasses import dataclass

from bench.errors import UsageError
from bench.runner import confidence
from bench.runner.run_plan import BY_NAME, FINEST_RATE
from bench.trial.configurations import CONFIGS

VERDICTS = ("match", "mismatch", "error", "refused", "unsupported")
FORM = re.compile(r"^(?:(?P<protocol>process|in-process):)?(?P<config>[\w-]+)=(?P<verdict>[a-z]+)"
                  r"(?:<=(?P<rate>[0-9.]+%?))?$")


@dataclass(frozen=True)
class Expectation:
    text: str
    protocol: str
    config: str
    verdict: str
    rate: float | None


def parse(given: list[str]) -> list[Expectation]:
    """The expectations of --require options (each may hold several, comma-separated)."""
    if given and not any(part.strip() for option in given for part in option.split(",")):
        raise UsageError("--require needs an expectation, e.g. full=match<=5% or none=mismatch")
    found = []
    for text in (part.strip() for option in given for part in option.split(",") if part.strip()):
        match = FORM.match(text)
        if not match:
            raise UsageError(f"--require {text!r}: give CONFIG=VERDICT or CONFIG=match<=RATE, "
                             "e.g. full=match<=5% or none=mismatch")
        if match["config"] not in CONFIGS:
            raise UsageError(f"--require {text}: no config {match['config']!r}; choose from {', '.join(CONFIGS)}")
        if match["verdict"] not in VERDICTS:
            raise UsageError(f"--require {text}: no verdict {match['verdict']!r}; choose from {', '.join(VERDICTS)}")
        rate = None
        if match["rate"]:
            if match["verdict"] != "match":
                raise UsageError(f"--require {text}: a rate bounds how often a match differs; give it to match only")
            try:
                rate = BY_NAME["until"].parse(match["rate"])
            except ValueError:
                raise UsageError(f"--require {text}: give the rate from {FINEST_RATE * 100:g} % up to (not "
                                 "including) 100 %, as 5% or 0.05") from None
        found.append(Expectation(text, match["protocol"] or "process", match["config"], match["verdict"], rate))
    return found


def unmet(cells: list, expectations: list[Expectation]) -> list[str]:
    """A line for each cell that contradicts an expectation or lacks its evidence, and for
    each expectation no cell answers."""
    found = []
    for expected in expectations:
        mine = [cell for cell in cells if (cell.protocol, cell.config) == (expected.protocol, expected.config)]
        if not mine:
            found.append(f"--require {expected.text}: no {expected.protocol} cell of config {expected.config}")
        for cell in mine:
            if cell.verdict != expected.verdict:
                found.append(f"{cell.label()}: {cell.verdict} ({cell.identical}/{cell.trials} identical), and "
                             f"--require {expected.text} expects {expected.verdict}")
            elif expected.rate is not None and (cell.divergence_bound or 1.0) > expected.rate:
                needed = confidence.runs_needed(expected.rate)
                found.append(f"{cell.label()}: match, but {cell.runs_compared} identical runs bound how often a run "
                             f"differs only to {cell.divergence_bound:.1%}, and --require {expected.text} needs "
                             f"{needed} (bench run --resume DIR --until {expected.rate * 100:g}% adds them)")
    return found
