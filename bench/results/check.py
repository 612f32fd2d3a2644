"""Validate result trees before anything is published (like MLPerf's checkers).

Every problem is listed, not only the first: unreadable or malformed trial files, planned
trials without a result, a missing or incomplete machine.json, cells with fewer repeats
than required, trials that failed (unless allowed), duplicates and trials outside their
folder's plan, and trials whose recorded controls contradict their config: each framework's
own seed call and determinism switches (bench.evidence), none recording none.
"""

from pathlib import Path

from bench import results
from bench.environments import machine
from bench.report import cells
from bench.results import evidence, folder_plan
from bench.trial.result import FAILED

MACHINE_FIELDS = ("name", "cpu_model", "logical_cpus", "memory_bytes", "os", "kernel", "gpus")


def problems(paths: list[Path], min_repeats: int, allow_failed: bool = False) -> list[str]:
    scanned, found = results.scan(paths)
    loaded, left_out = results.select(scanned)
    found += left_out + results.misnamed(loaded)
    found += _tree_problems(paths, loaded)
    found += _repeat_problems(loaded, min_repeats)
    for result in loaded:
        found += [f"{result['_source']}: {problem}" for problem in evidence.problems(result)]
        if not allow_failed and result["status"] in FAILED:
            error = result["error"]
            found.append(f"{result['_source']}: the trial failed ({result['status']}, {error['type'].rsplit('.', 1)[-1]}: "
                         f"{first_line(error['message'])}); rerun it with `bench run --retry-failed`, or "
                         "pass --allow-failed to publish failures as results")
    return found


def _tree_problems(paths: list[Path], loaded: list[dict]) -> list[str]:
    found = []
    for tree in sorted({results.tree_of(result) for result in loaded}):
        present = {result["spec"]["trial_id"] for result in loaded if results.tree_of(result) == tree}
        found += [f"{file}: not a readable plan" for file in folder_plan.unreadable(tree)]
        planned = [trial for plan in folder_plan.plans_of(tree) for trial in plan.get("trials", [])]
        if planned:
            missing = [trial for trial in planned if trial not in present]
            if missing:
                found.append(f"{tree}: {len(missing)} planned trials have no result: {', '.join(missing[:5])}"
                             + (" ..." if len(missing) > 5 else ""))
        try:
            described = machine.load(tree)
        except (OSError, ValueError):
            found.append(f"{tree}/machine.json: not readable JSON")
            continue
        if not isinstance(described, (dict, type(None))):
            found.append(f"{tree}/machine.json: not a JSON object")
        elif described is None:
            found.append(f"{tree}: no machine.json (run with `bench run` to record one)")
        else:
            lacking = [name for name in MACHINE_FIELDS if name not in described]
            if lacking:
                found.append(f"{tree}/machine.json lacks {', '.join(lacking)}")
    return found


def _repeat_problems(loaded: list[dict], min_repeats: int) -> list[str]:
    found = []
    for cell in cells.build_cells(loaded):
        needed = min_repeats if cell.protocol == "process" else 1
        if cell.trials < needed:
            found.append(f"{cell.label()}: {cell.trials} trials, {needed} required")
    return found


def first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0][:200]
