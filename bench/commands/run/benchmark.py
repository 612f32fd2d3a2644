"""One ``bench run`` from the host, start to end: the plan, what it needs checked before any
trial, the folder (its plan, its lock, what an earlier run left), the fleet, the work queue,
and the exit status. The command parses and prints; this does the rest.

Exit statuses: 0 every trial ok (``unsupported`` on a GPU counts as expected); 1 some trial
failed (error or timeout); 2 (usage) is raised before any trial; 3 the time budget ran out
with trials not run and none failed.
"""

import datetime
from dataclasses import dataclass, field
from pathlib import Path

from bench import results
from bench.backends import fleet as fleets
from bench.console import say
from bench.environments import datasets, machine, preconditions
from bench.errors import UsageError, UserError
from bench.results import archive, folder_plan
from bench.commands.run import until
from bench.runner import confidence, manifest, options, plan, run_plan, work_queue
from bench.runner.budget import Budget
from bench.runner.tree import FolderBusy, ResultTree
from bench.trial.result import FAILED

EXIT_OK, EXIT_TRIALS_FAILED, EXIT_BUDGET_SPENT = 0, 1, 3


@dataclass
class Session:
    """What this invocation adds to its plan: the folder, and where and how fast to run
    (GPUs, Docker engines, side by side, a budget); none of it defines the plan."""
    out: Path | None = None
    resume: Path | None = None
    gpus: list[str] | None = None
    parallel: bool = False
    jobs: int | None = None
    budget: float | None = None
    memory: str | None = None
    hosts: list[str] | None = None
    rebuild: bool = False
    ca_bundle: str | None = None
    retry_failed: bool = False
    archive: Path | None = None
    given: dict = field(default_factory=dict)   # the plan settings given on the command line

    @classmethod
    def of(cls, arguments) -> "Session":
        explicit = getattr(arguments, "explicit", set())
        given = {setting.name: getattr(arguments, setting.name) for setting in run_plan.SETTINGS
                 if setting.name in explicit and hasattr(arguments, setting.name)}
        return cls(**{name: getattr(arguments, name, default) for name, default in
                      (("out", None), ("resume", None), ("gpus", None), ("parallel", False), ("jobs", None),
                       ("budget", None), ("memory", None), ("hosts", None), ("rebuild", False),
                       ("ca_bundle", None), ("retry_failed", False), ("archive", None))}, given=given)


@dataclass
class Finished:
    """What a run leaves: its folder, its trials, the results there, its exit status and what
    to say of it after the table (trials failed or not run, and what to do)."""
    tree: ResultTree
    trials: list
    loaded: list[dict]
    exit_status: int
    outcome: str = ""


def run(chosen: run_plan.RunPlan | None, session: Session) -> Finished:
    """Run a plan (None: --resume's, the folder's own) into its folder."""
    if session.resume:
        chosen = folder_plan.restore(session.resume, session.out, session.given)
    try:
        configs, protocols, settings, workloads = options.plan_from(chosen)
    except ValueError as problem:
        raise UsageError(str(problem)) from None
    preconditions.static(chosen, session)
    out = Path(session.resume or session.out or
               Path("runs") / datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ"))
    gpu_info = fleets.gpu_slots(session.gpus, chosen.backend)
    if session.jobs and not chosen.no_timing:
        raise UsageError("--jobs N needs --no-timing: trials side by side slow each other, so their times "
                         "would not mean anything")
    if session.parallel and len(gpu_info) < 2:
        raise UsageError("--parallel needs at least two GPUs (--gpus 0,1 or --gpus all)")
    folder_plan.require_same(out, chosen, None, settings.get("experiment"))
    fleets.check(chosen, session)
    dataset = datasets.for_plan(settings, chosen.dataset, chosen.data, say=say)
    preconditions.fits_dataset(chosen, dataset)
    folder_plan.require_same(out, chosen, dataset.spec, settings.get("experiment"))
    fleet = fleets.build(chosen, session, gpu_info, dataset, out)
    try:
        tree = _take(out, fleet)
        if dataset.notice:
            say(f"note: {dataset.notice}")
        preconditions.fits_data(chosen, dataset, lambda: fleet.probe_data(settings, dataset.spec, tree))
        if settings.get("experiment"):  # every trial executes the folder's copy, whatever becomes of the file
            settings["experiment"] = _frozen(tree, settings["experiment"])
        trials = plan.build(list(fleet.backends), configs, protocols, workloads)
        if session.retry_failed:
            again = tree.retire_failed([trial.trial_id for trial in trials])
            say(f"--retry-failed: {len(again)} failed trial(s) run again; the earlier results are kept in "
                f"{tree.failed}")
        earlier = _planned_before(tree) if chosen.until else []  # trials earlier rounds added

        def write_plan(listed: list) -> None:
            ids = list(dict.fromkeys([*[t.trial_id for t in listed], *earlier]))
            preconditions.writable(out, lambda: tree.write_plan(folder_plan.document(
                chosen, settings=settings, workloads=workloads, dataset=dataset.spec, trials=ids,
                manifest=manifest.FILE,
                backends={target: [b.info for b in by_host.values()] for target, by_host in fleet.backends.items()})))
        write_plan(trials)
        machine.tag(fleet.all(), machine.record(out, chosen.machine, fleet.all()))
        tree.record(machine.FILE)
        _announce(fleet, chosen, trials, tree, session.budget)
        on_result = archive.packer(out, session.archive) if session.archive else None
        if on_result:
            on_result()  # the plan and machine.json, before any trial
        budget = Budget(session.budget) if session.budget else None

        def run_trials(batch: list) -> None:
            try:
                work_queue.run(batch, settings, dataset.spec, fleet, tree, say=say, timeout=chosen.timeout,
                               budget=budget, on_result=on_result, overlap=options.overlap(chosen, bool(gpu_info)),
                               prepare_at_once=options.prepare_at_once())
            except (work_queue.NoSlotsLeft, work_queue.DiskFull) as error:
                raise UserError(str(error)) from None
        run_trials(trials)
        while chosen.until:  # one more trial for each cell that does not know yet (bench.commands.run.until)
            more = until.next_round(list(fleet.backends), configs, protocols, workloads,
                                    until.decide(chosen, tree, trials))
            if not more:
                break
            trials = trials + more
            write_plan(trials)
            run_trials(more)
        if chosen.until:
            _say_decisions(until.decide(chosen, tree, trials), chosen)
    finally:
        fleet.close()
    loaded = results.load([out]) if any(tree.done(trial.trial_id) for trial in trials) else []
    return Finished(tree, trials, loaded, *_exit_status(trials, loaded, tree, session.budget))


def _planned_before(tree: ResultTree) -> list[str]:
    """The trial ids the folder's plan.json lists already (--until's earlier rounds)."""
    plans = folder_plan.plans_of(Path(tree.root))
    return list(plans[0].get("trials", [])) if plans and (Path(tree.root) / folder_plan.FILE).exists() else []


def _say_decisions(decisions: dict, chosen: run_plan.RunPlan) -> None:
    """Where each cell stopped, and why."""
    for group, decision in sorted(decisions.items(), key=lambda item: [str(part) for part in item[0]]):
        say(f"--until {confidence.shown(chosen.until)}: {'/'.join(str(part) for part in group if part)}: {decision.trials} trials, "
            f"{decision.why}")


def _take(out: Path, fleet) -> ResultTree:
    """The results folder, held by this run alone, cleared of what an earlier run left running."""
    tree = ResultTree(out)
    try:  # nothing is written into the folder before this
        preconditions.writable(out, tree.lock)
    except FolderBusy as busy:
        raise UserError(str(busy)) from None
    stopped = tree.stop_leftover_workers()
    if stopped:
        say(f"stopped {len(stopped)} worker(s) left training by an earlier run of {out} "
            f"(pid {', '.join(map(str, stopped))})")
    removed = sum(backend.remove_leftovers() for backend in fleet.all())
    if removed:
        say(f"removed {removed} trial container(s) left by an earlier run of {out}")
    for file, why in tree.set_aside_damaged():
        say(f"set aside {out / file} ({why}): kept in {tree.damaged}" +
            (", and its trial runs again" if file.startswith("trials/") else ""))
    return tree


def _frozen(tree: ResultTree, experiment: dict) -> dict:
    try:
        return tree.freeze_experiment(experiment)
    except ValueError as changed:
        raise UsageError(str(changed)) from None


def _announce(fleet, chosen: run_plan.RunPlan, trials, tree: ResultTree, budget: float | None) -> None:
    for target, by_host in fleet.backends.items():
        info = next(iter(by_host.values())).info
        say(f"{target}: {stack(info, chosen.framework)} (Python {info['python_version']}, "
            f"{info.get('image') or info.get('python')})" + (f" on {len(by_host)} hosts" if len(by_host) > 1 else ""))
    say(f"{len(trials)} trials into {tree.root}" +
        (f", within a budget of {budget:g} s" if budget else ""))


def _exit_status(trials, loaded: list[dict], tree: ResultTree, budget: float | None) -> tuple[int, str]:
    """The exit status, and what to tell the user of it (said after the table)."""
    planned = {trial.trial_id for trial in trials}
    failed = [r["spec"]["trial_id"] for r in loaded if r["spec"]["trial_id"] in planned and r["status"] in FAILED]
    left = [trial for trial in trials if not tree.done(trial.trial_id)]
    if failed:
        return EXIT_TRIALS_FAILED, (f"{len(failed)} of {len(trials)} trials failed (error or timeout, listed under "
                                    f"the table); `bench run --retry-failed --resume {tree.root}` runs them again")
    if left and budget:
        if len(left) == len(trials):
            return EXIT_BUDGET_SPENT, (f"time budget spent before any trial finished: none of the {len(trials)} "
                                       f"trials ran; give a larger --budget, or run again with the same --out (or "
                                       f"--resume {tree.root}) to continue")
        return EXIT_BUDGET_SPENT, (f"time budget spent: {len(left)} of {len(trials)} trials not run; run again with "
                                   f"the same --out (or --resume {tree.root}) to continue")
    return EXIT_OK, ""


def stack(info: dict, frameworks: list[str]) -> str:
    """What the planned frameworks find in a backend's interpreter or image (for the banner)."""
    parts = [f"TensorFlow {info.get('tensorflow') or 'not installed'}"] if "tf.keras" in frameworks else []
    backends = [framework.split("-", 1)[1] for framework in frameworks if framework.startswith("keras3-")]
    if backends:
        found = ", ".join(f"{name} {info.get(name) or 'not installed'}" for name in backends)
        parts.append(f"Keras {info.get('keras') or 'not installed'} ({found})")
    return "; ".join(parts)
