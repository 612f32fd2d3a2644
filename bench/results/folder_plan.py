"""A results folder's plan: fixed by its first run, so a table never mixes two plans.

``bench run`` writes ``DIR/plan.json`` (its RunPlan, bench.runner.run_plan, and what it
made of it: the trials' settings, workloads, dataset, trial ids); the in-container batch
writes ``DIR/plans/<target>.json`` for each target it runs. plan.json carries a
``schema_version``; older ones (their plan as ``arguments``) are upgraded as they are read. Running into a folder with other plan-defining settings is refused, naming
each difference; ``--resume DIR`` takes the folder's own plan and refuses flags that
contradict it. Reading results back, a trial that does not belong to its folder's plan is
named by ``bench check`` and left out of reports.
"""

import hashlib
from pathlib import Path

from bench.console import say
from bench.errors import UsageError
from bench.runner import run_plan
from bench.runner.run_plan import RunPlan
from bench.runner.tree import EXPERIMENT
from bench.trial import upgrade
from bench.trial.jsonfile import read_json

FILE = "plan.json"
BATCH_PLANS = "plans"
# plan.json's own version: 0 (no schema_version) held the plan as "arguments", or only as
# settings and trial ids; 1 holds it as "plan" (a RunPlan document).
SCHEMA_VERSION = 1
# Spec fields that every trial of a plan shares with the plan's settings.
SHARED_SETTINGS = ("epochs", "samples", "batch_size", "validation_split")


def document(chosen: RunPlan, **parts) -> dict:
    """plan.json's content: the plan, and what the run made of it (``parts``)."""
    return upgrade.versioned("plan.json", {"plan": chosen.to_json(), **parts})


def stored(folder: Path, option: str) -> RunPlan:
    """The RunPlan a folder's plan.json records (upgraded where older); one line where it
    has none or it cannot be read."""
    plan_file = Path(folder) / FILE
    if not plan_file.exists():
        raise UsageError(f"{option} {folder}: no {FILE} there; give a folder made by `bench run`")
    found = read(plan_file, option).get("plan")
    if not isinstance(found, dict):
        raise UsageError(f"{option} {folder}: its {FILE} records no plan (made by an older version); "
                         "choose a new --out")
    try:
        return RunPlan.from_json(found)
    except ValueError as problem:
        raise UsageError(f"{option} {folder}: its {FILE} cannot be read as a plan ({problem}); "
                         "choose a new --out") from None


def _from_0(recorded: dict) -> dict:
    """plan.json 0 -> 1: its plan from "arguments", or from its settings and trial ids."""
    upgraded = {key: value for key, value in recorded.items() if key != "arguments"}
    upgraded.update(schema_version=1, plan=recorded.get("arguments") or _from_trials(recorded))
    return upgraded


def _from_trials(recorded: dict) -> dict | None:
    """The plan of the oldest plan.json files (settings and trial ids, no arguments): its
    training settings, and configs, protocols and repeats read from the trial ids
    (target--protocol--config--rNN); where it ran, from its backends."""
    settings, trials = recorded.get("settings") or {}, recorded.get("trials") or []
    parts = [trial.split("--") for trial in trials if isinstance(trial, str)]
    if not parts or any(len(part) != 4 for part in parts):
        return None
    repeats: dict[str, int] = {}
    for _, protocol, _, repeat in parts:
        repeats[protocol] = max(repeats.get(protocol, 0), int(repeat.lstrip("r") or 0))
    backends = [info for infos in (recorded.get("backends") or {}).values()
                for info in (infos if isinstance(infos, list) else [infos]) if isinstance(info, dict)]
    found = {name: settings[name] for name in ("epochs", "samples", "batch_size", "seed", "model", "framework")
             if name in settings}
    found.update(configs=list(dict.fromkeys(part[2] for part in parts)), protocol=list(repeats),
                 repeats=repeats.get("process", 2), in_process_repeats=repeats.get("in-process", 2),
                 backend="docker" if any(info.get("backend") == "docker" for info in backends) else "local")
    return found


def restore(folder: Path, out: Path | None, given: dict) -> RunPlan:
    """--resume DIR: the folder's plan; a plan setting given (``given``) that contradicts it
    is refused, one of where and how fast replaces it. An experiment file is the folder's by
    content: the original where it is unchanged, the folder's own copy where the original is
    gone or where that copy is named; an edited original is refused, with what to do."""
    folder = Path(folder)
    if out is not None and Path(out).resolve() != folder.resolve():
        raise UsageError(f"--resume {folder} continues that folder, and --out {out} names another: "
                         "give one of them")
    there = stored(folder, "--resume")
    try:
        asked = there.replace(**{name: value for name, value in given.items() if name != "experiment"})
    except ValueError as problem:
        raise UsageError(str(problem)) from None
    conflicts = [_difference(name, mine, theirs) for name, mine, theirs in there.differences(asked)
                 if name in given]
    if conflicts:
        raise UsageError(f"--resume {folder} runs the plan recorded there, and {'; '.join(conflicts)}: "
                         f"leave those flags out, or choose a new --out for another plan")
    changes = {name: value for name, value in given.items() if not run_plan.BY_NAME[name].defines}
    ran = (read(folder / FILE, "--resume").get("settings") or {}).get("experiment")
    if ran or given.get("experiment"):
        changes["experiment"] = _experiment_to_resume(folder, ran, given.get("experiment"))
    return there.replace(**changes)


def _experiment_to_resume(folder: Path, ran: dict | None, given: str | None) -> str:
    """The file a resumed run takes for the folder's experiment (see ``restore``)."""
    if ran is None:
        raise UsageError(f"--resume {folder} runs the plan recorded there, which has no experiment file, and "
                         f"--experiment {given} was given: leave it out, or choose a new --out for another plan")
    frozen = frozen_experiment(folder, ran)
    if given is not None:
        if _sha256(given) != ran["sha256"]:
            raise UsageError(f"--resume {folder} runs {experiment_identity(ran)}, and --experiment {given} is other "
                             f"code: leave it out, or choose a new --out for another plan")
        return given
    original = Path(ran.get("source") or ran["path"])
    if not original.is_file():
        if not frozen.is_file():  # a folder made before the suite kept a copy
            raise UsageError(f"--resume {folder}: its experiment file {original} is not there, and the folder "
                             "holds no copy of it; put it back, or choose a new --out")
        say(f"note: {original} is not there; the run continues with the folder's own copy ({frozen})")
        return str(frozen)
    if _sha256(original) != ran["sha256"]:
        raise UsageError(f"--resume {folder}: {original} has changed since the folder's plan was made (sha256 "
                         f"{ran['sha256'][:12]} there, {_sha256(original)[:12]} now); restore it, continue with the "
                         f"folder's own copy (--resume {folder} --experiment {frozen}), or run the edited file "
                         "into a new --out")
    return str(original)


def frozen_experiment(folder: Path, experiment: dict) -> Path:
    """Where a folder keeps its copy of the experiment file it ran (bench.runner.tree)."""
    return Path(folder) / EXPERIMENT / experiment["sha256"] / experiment["name"]


def _sha256(path) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def require_same(folder: Path, chosen: RunPlan, dataset_spec: dict | None, experiment: dict | None = None) -> None:
    """Refuse to run plan ``chosen`` into a folder that holds another plan (or trials without
    one); the dataset is compared once it is resolved (``dataset_spec``), an experiment file
    by its content (``experiment``: its description), wherever it lies now."""
    folder = Path(folder)
    if not (folder / FILE).exists():
        if any((folder / "trials").glob("*.json")):
            raise UsageError(f"{folder} holds trials but no {FILE} (made by compose or an older version); "
                             "choose a new --out")
        return
    there = stored(folder, "--out")
    differences = [_difference(name, mine, theirs) for name, mine, theirs in there.differences(chosen)
                   if name != "experiment"]
    stored_plan = read(folder / FILE, "--out")
    stored_experiment = (stored_plan.get("settings") or {}).get("experiment") or {}
    advice = f"Continue it as it is with --resume {folder}, or choose a new --out"
    if experiment_identity(stored_experiment) != experiment_identity(experiment):
        differences.append(_difference("experiment file", experiment_identity(stored_experiment), experiment_identity(experiment)))
        if stored_experiment:  # the file the folder ran may be the one just edited: name its copy
            advice = (f"Continue it as it is with --resume {folder} --experiment "
                      f"{frozen_experiment(folder, stored_experiment)} (the folder's own copy), or choose a new --out")
    stored_dataset = stored_plan.get("dataset") or {}
    if dataset_spec is not None and stored_dataset.get("name") != dataset_spec.get("name"):
        differences.append(_difference("dataset (resolved)", stored_dataset.get("name"), dataset_spec.get("name")))
    if differences:
        raise UsageError(f"{folder} holds another plan: {'; '.join(differences)}. {advice}")


def experiment_identity(experiment: dict | None) -> str | None:
    """An experiment file as a plan knows it: its name and content, not where it lies."""
    return f"{experiment['name']} (sha256 {experiment['sha256'][:12]})" if experiment else None


def plans_of(tree: Path) -> list[dict]:
    """The readable plans recorded in a result tree (none where it records none)."""
    return [plan for plan in map(_read_plan, _plan_files(tree)) if plan is not None]


def unreadable(tree: Path) -> list[Path]:
    """Plan files of a tree that cannot be read as plans (bench check names them)."""
    return [file for file in _plan_files(tree) if _read_plan(file) is None]


def _plan_files(tree: Path) -> list[Path]:
    return [file for file in [Path(tree) / FILE, *sorted((Path(tree) / BATCH_PLANS).glob("*.json"))] if file.exists()]


def upgraded(document: dict) -> dict:
    """A plan.json document in the current schema (its plan as "plan"); ValueError if it
    cannot be."""
    return upgrade.to_current(document, "plan.json")


def _read_plan(file: Path) -> dict | None:
    try:
        plan = upgrade.to_current(read_json(str(file)), "plan.json")
    except (OSError, ValueError):
        return None
    ok = isinstance(plan, dict) and isinstance(plan.get("trials", []), list) and \
        isinstance(plan.get("settings", {}), dict) and isinstance(plan.get("dataset") or {}, dict) and \
        isinstance(plan.get("plan") or {}, dict) and isinstance(plan.get("workloads") or [], list)
    return plan if ok else None


def foreign(result: dict, plans: list[dict]) -> str | None:
    """Why a trial does not belong to its folder's plans, or None (it does, or there is none)."""
    if not plans:
        return None
    spec = result["spec"]
    matching = [plan for plan in plans if spec["trial_id"] in plan.get("trials", [])]
    if not matching:
        return f"trial {spec['trial_id']} is not in its folder's plan"
    plan = matching[0]
    settings = plan.get("settings", {})
    for name in SHARED_SETTINGS:
        if name in settings and spec.get(name) != settings[name]:
            return f"{name} {spec.get(name)!r} differs from its folder's plan ({settings[name]!r})"
    if spec.get("seed") is not None and settings.get("seed") is not None and spec["seed"] != settings["seed"]:
        return f"seed {spec['seed']!r} differs from its folder's plan ({settings['seed']!r})"
    if experiment_identity(settings.get("experiment")) != experiment_identity(spec.get("experiment")):
        return (f"experiment file {experiment_identity(spec.get('experiment'))} differs from its folder's plan "
                f"({experiment_identity(settings.get('experiment'))})")
    if (plan.get("dataset") or {}).get("name") not in (None, spec["dataset"].get("name")):
        return f"dataset {spec['dataset'].get('name')!r} differs from its folder's plan ({plan['dataset']['name']!r})"
    workloads = [tuple(pair) for pair in plan.get("workloads") or [(settings.get("framework"), settings.get("model"))]]
    if (spec.get("framework", "tf.keras"), spec.get("model", "mlp")) not in workloads:
        return (f"framework {spec.get('framework')!r} and model {spec.get('model')!r} are not in its folder's plan")
    return None


def read(plan_file: Path, option: str) -> dict:
    """A folder's plan.json, for a command given the folder by ``option``; one line where it
    cannot be read as a plan."""
    plan = _read_plan(Path(plan_file))
    if plan is None:
        raise UsageError(f"{option} {Path(plan_file).parent}: its {FILE} cannot be read as a plan (damaged or "
                         "edited); choose a new --out") from None
    return plan


def _difference(name: str, there, asked) -> str:
    return f"{name}: {shown(there)} in the folder, {shown(asked)} asked"


def shown(value) -> str:
    if value is None:
        return "unset"
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


upgrade.register("plan.json", SCHEMA_VERSION, {0: _from_0})
