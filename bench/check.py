"""Validate result trees before anything is published (like MLPerf's checkers).

Every problem is listed, not only the first: unreadable or malformed trial files, planned
trials without a result, a missing or incomplete machine.json, cells with fewer repeats
than required, and trials whose recorded controls contradict their config: each framework's
own seed call and determinism switches (bench.evidence), none recording none.
"""

from pathlib import Path

from bench import cells, evidence, machine, results
from bench.worker.jsonfile import read_json

MACHINE_FIELDS = ("name", "cpu_model", "logical_cpus", "memory_bytes", "os", "kernel", "gpus")


def problems(paths: list[Path], min_repeats: int) -> list[str]:
    loaded, found = results.scan(paths)
    found += _tree_problems(paths, loaded)
    found += _repeat_problems(loaded, min_repeats)
    for result in loaded:
        found += [f"{result['_source']}: {problem}" for problem in evidence.problems(result)]
    return found


def _tree_problems(paths: list[Path], loaded: list[dict]) -> list[str]:
    found = []
    present = {result["spec"]["trial_id"] for result in loaded}
    for tree in {results.tree_of(result) for result in loaded}:
        plan = tree / "plan.json"
        if plan.exists():
            missing = [trial for trial in read_json(str(plan))["trials"] if trial not in present]
            if missing:
                found.append(f"{tree}: {len(missing)} planned trials have no result: {', '.join(missing[:5])}"
                             + (" ..." if len(missing) > 5 else ""))
        described = machine.load(tree)
        if described is None:
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
