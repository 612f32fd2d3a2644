"""Validate result trees before anything is published (like MLPerf's checkers).

Every problem is listed, not only the first: unreadable or malformed trial files (histories
and timings included), planned trials without a result, a missing plan or a missing or
incomplete machine.json, cells with fewer repeats than required, trials that failed (unless
allowed), duplicates and trials outside their folder's plan, trials whose recorded controls
contradict their config (each framework's own seed call and determinism switches,
bench.results.evidence; none recording none), GPU trials that contradict the catalog's GPU facts
(bench.results.gpu_facts), final weights that are missing or do not hash to the
digest their trials record, and any recorded file changed, removed or added after the run
wrote it (the folder's manifest, bench.runner.manifest).
"""

from pathlib import Path

from bench import results
from bench.commands.check import expectations
from bench.environments import machine
from bench.errors import UserError
from bench.report import cells
from bench.results import evidence, folder_plan, gpu_facts
from bench.runner import manifest
from bench.runner.weight_store import WeightStore
from bench.trial.result import FAILED

def problems(paths: list[Path], min_repeats: int, allow_failed: bool = False, require: tuple = ()) -> list[str]:
    """Every problem of the trees; ``require``: expectations of their cells
    (bench.commands.check.expectations) that must hold too."""
    scanned, found = results.scan(paths)
    loaded, left_out = results.select(scanned)
    found += left_out + results.misnamed(loaded)
    found += _tree_problems(paths, loaded)
    found += _repeat_problems(loaded, min_repeats)
    if require:
        found += expectations.unmet(cells.build_cells(loaded), list(require))
    try:
        results.diagnoses(paths)
    except UserError as damaged:
        found.append(str(damaged))
    for result in loaded:
        found += [f"{result.source}: {problem}" for problem in evidence.problems(result)]
        contradicted = gpu_facts.contradiction(result)
        if contradicted:
            found.append(f"{result.source}: {contradicted}")
        if not allow_failed and result["status"] in FAILED:
            error = result["error"]
            found.append(f"{result.source}: the trial failed ({result['status']}, {error['type'].rsplit('.', 1)[-1]}: "
                         f"{first_line(error['message'])}); rerun it with `bench run --retry-failed`, or "
                         "pass --allow-failed to publish failures as results")
    return found


def _tree_problems(paths: list[Path], loaded: list[dict]) -> list[str]:
    found = []
    for tree in sorted({results.tree_of(result) for result in loaded}):
        present = {result["spec"]["trial_id"] for result in loaded if results.tree_of(result) == tree}
        found += [f"{file}: not a readable plan" for file in folder_plan.unreadable(tree)]
        plans = folder_plan.plans_of(tree)
        if not plans and not folder_plan.unreadable(tree):
            found.append(f"{tree}: no {folder_plan.FILE} (nor plans/ of a container batch): the trials cannot be "
                         "checked against what was planned")
        found += _manifest_problems(tree, plans)
        found += _weights_problems(tree, [result for result in loaded if results.tree_of(result) == tree])
        planned = [trial for plan in plans for trial in plan.get("trials", [])]
        if planned:
            missing = [trial for trial in planned if trial not in present]
            if missing:
                found.append(f"{tree}: {len(missing)} planned trials have no result: {', '.join(missing[:5])}"
                             + (" ..." if len(missing) > 5 else ""))
        try:
            if machine.load(tree) is None:
                found.append(f"{tree}: no machine.json (run with `bench run` to record one)")
        except (OSError, ValueError) as damage:
            found.append(f"{tree}/machine.json: not a machine description ({first_line(str(damage))})")
    return found


def _manifest_problems(tree: Path, plans: list[dict]) -> list[str]:
    """Recorded files changed, removed or added after the run (its manifest; also of the
    diagnoses beside it); a manifest missing where the plan says the run wrote one."""
    found = []
    for root in (tree, tree / "diagnoses", tree / "diagnoses" / "untraced"):
        try:
            recorded = manifest.load(root)
        except (OSError, ValueError) as error:
            found.append(f"{root / manifest.FILE}: not readable ({first_line(str(error))})")
            continue
        if recorded is None:
            if root == tree and any(plan.get("manifest") for plan in plans):
                found.append(f"{tree}: its {manifest.FILE} is missing (the run wrote one): its files cannot be verified")
            continue
        found += [f"{root}: {line}" for line in manifest.differences(root, recorded)]
    return found


def _weights_problems(tree: Path, loaded: list[dict]) -> list[str]:
    """Every stored weights file holds the arrays its name says, and the trials name the file
    of their own digest. A tree without weights/ left them out on purpose (archives, published
    trees): nothing to check then."""
    store = WeightStore(tree)
    if not Path(store.root).is_dir():
        return []
    found, digests = [], set()
    for result in loaded:
        for index, run in enumerate(result["runs"]):
            if run.get("weights_file") is None:
                continue
            digest = run["weights_sha256"]
            if run["weights_file"] != f"{digest}.npz":
                found.append(f"{result.source}: runs[{index}] names weights/{run['weights_file']}, not the file of "
                             f"its digest {digest[:12]}")
            else:
                digests.add(digest)
    for file in sorted(Path(store.root).glob("*.npz")):
        if store.read(file.stem) is None:
            found.append(f"{file}: its arrays do not hash to its name (changed, or not readable)")
        digests.discard(file.stem)
    found += [f"{store.root}/{digest}.npz: named by a trial, and missing" for digest in sorted(digests)]
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
