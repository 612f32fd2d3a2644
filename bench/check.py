"""Validate result trees before anything is published (like MLPerf's checkers).

Every problem is listed, not only the first: unreadable or malformed trial files, planned
trials without a result, a missing or incomplete machine.json, cells with fewer repeats
than required, and trials whose seed evidence contradicts their config (seeds/full must
record their seed, PYTHONHASHSEED=0 and the calls applied; none must record none).
"""

from pathlib import Path

from bench import cells, machine, results
from bench.worker.jsonfile import read_json

MACHINE_FIELDS = ("name", "cpu_model", "logical_cpus", "memory_bytes", "os", "kernel", "gpus")


def problems(paths: list[Path], min_repeats: int) -> list[str]:
    loaded, found = results.scan(paths)
    found += _tree_problems(paths, loaded)
    found += _repeat_problems(loaded, min_repeats)
    for result in loaded:
        found += [f"{result['_source']}: {problem}" for problem in seed_evidence(result)]
    return found


def seed_evidence(result: dict) -> list[str]:
    if result["status"] != "ok":
        return []
    spec, mechanism = result["spec"], result.get("mechanism", [])
    hash_seed = result.get("environment", {}).get("PYTHONHASHSEED")
    if spec["config"] == "none":
        wrong = []
        if spec.get("seed") is not None:
            wrong.append(f"config none records seed {spec['seed']}")
        if mechanism:
            wrong.append(f"config none records mechanism {mechanism}")
        if hash_seed is not None:
            wrong.append(f"config none ran with PYTHONHASHSEED={hash_seed}")
        return wrong
    wrong = []
    seed = spec.get("seed")
    if not isinstance(seed, int):
        wrong.append(f"config {spec['config']} records no seed")
    elif not any(f"({seed})" in line for line in mechanism):
        wrong.append(f"config {spec['config']} records no seed call with {seed}")
    if hash_seed != "0":
        wrong.append(f"config {spec['config']} ran with PYTHONHASHSEED={hash_seed!r}, not '0'")
    if spec["config"] == "full" and not any("DETERMINISTIC" in line or "determinism" in line.lower()
                                            for line in mechanism):
        wrong.append("config full records no determinism switch")
    return wrong


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
