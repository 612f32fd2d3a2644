"""--until RATE: runs that stop when they know.

Each cell (target, workload, protocol, config) gets the plan's repeats first, then one more
trial per round while it is undecided: it stops at its first difference (mismatch), once the
95 % upper bound on how often a run differs falls to RATE (match: 59 identical runs for 5 %;
bench.runner.confidence), at ``repeats_max`` trials, or when it cannot tell (a trial failed,
or op determinism refused it). Every round's trials are built as a plan's are (repeat r of
every undecided cell before repeat r+1 of any, configs interleaved), so cells stop
independently and configs still share the machine's drift. The folder's plan.json lists
every trial a round adds; ``--resume`` continues from the folder's results.
"""

from dataclasses import dataclass

from bench import results
from bench.report.cells import build_cells
from bench.runner import confidence, plan
from bench.runner.run_plan import RunPlan
from bench.runner.tree import ResultTree

Group = tuple  # (target, framework, model, protocol, config): the trials of one cell


@dataclass
class Decision:
    trials: int            # trials it has
    done: bool
    why: str


def group_of(trial) -> Group:
    return (trial.target, trial.framework, trial.model, trial.protocol, trial.config)


def cap(chosen: RunPlan) -> int:
    """The most trials a cell gets: --repeats-max, or as many as RATE needs."""
    return chosen.repeats_max or max(confidence.runs_needed(chosen.until), chosen.repeats, chosen.in_process_repeats)


def decide(chosen: RunPlan, tree: ResultTree, trials: list) -> dict[Group, Decision]:
    """Whether each cell of ``trials`` knows enough, from the results in ``tree``."""
    by_group: dict[Group, list] = {}
    for trial in trials:
        by_group.setdefault(group_of(trial), []).append(trial)
    decisions = {}
    for group, members in by_group.items():
        finished = [trial for trial in members if tree.done(trial.trial_id)]
        loaded = results.load([tree.path_for(trial.trial_id) for trial in finished]) if finished else []
        cells = build_cells(loaded)
        decisions[group] = _decision(chosen, cells[0] if len(cells) == 1 else None, len(finished), len(members))
    return decisions


def _decision(chosen: RunPlan, cell, finished: int, planned: int) -> Decision:
    if finished < planned:  # the round's trials are not all there (a budget, a failed slot)
        return Decision(finished, True, "not all of its trials ran")
    if cell is None:
        return Decision(finished, True, "its trials are not one cell")
    if cell.verdict == "mismatch":
        return Decision(finished, True, f"a difference at run {cell.first_difference_at}")
    if cell.verdict == "match" and cell.divergence_bound is not None and cell.divergence_bound <= chosen.until:
        return Decision(finished, True, f"bound {cell.divergence_bound:.1%} after {cell.runs_compared} runs")
    if cell.verdict not in ("match", "incomplete"):
        return Decision(finished, True, f"{cell.verdict}: no evidence either way")
    if finished >= cap(chosen):
        return Decision(finished, True, f"at --repeats-max {cap(chosen)}")
    return Decision(finished, False, "undecided")


def next_round(targets: list[str], configs: list[str], protocols: dict[str, int], workloads: list,
               decisions: dict[Group, Decision]) -> list:
    """One more trial for every undecided cell, ordered as a plan orders them."""
    wanted = {group: decision.trials + 1 for group, decision in decisions.items() if not decision.done}
    if not wanted:
        return []
    deepest = {protocol: max([n for group, n in wanted.items() if group[3] == protocol], default=0)
               for protocol in protocols}
    candidates = plan.build(targets, configs, {p: n for p, n in deepest.items() if n}, workloads)
    return [trial for trial in candidates if wanted.get(group_of(trial)) == trial.repeat]
