"""From a RunPlan to what the runner needs: the trials' settings, protocols and workloads,
how many trials share a machine, how they start early. Shared by ``bench run`` (host) and
``python -m bench.runner.batch`` (inside a container), so both read a plan the same way."""

import os
from typing import Any, Container, Dict, List, Optional, Tuple

from bench.runner import plan, work_queue
from bench.runner.run_plan import RunPlan
from bench.trial import user_experiment

OVERLAP_CHOICES = ("auto", work_queue.BESIDE, work_queue.BETWEEN, "off")
MAX_PREPARED = 4


def with_experiment(run_plan: RunPlan, explicit: Container[str] = ()) -> RunPlan:
    """The plan with its experiment file's say: the file names the plan's one model, and its
    FIT gives epochs and batch size unless the command line did (``explicit``). ValueError
    where the file cannot be used, or where --model names the model too."""
    if not run_plan.experiment:
        return run_plan
    if "model" in explicit:
        raise ValueError("--model and --experiment both name the model: give one")
    experiment = user_experiment.describe(run_plan.experiment)
    changes = dict((key, value) for key, value in experiment["fit"].items()
                   if key in ("epochs", "batch_size") and key not in explicit)
    return run_plan.replace(model=[experiment["name"]], **changes)


def plan_from(run_plan: RunPlan) -> Tuple[List[str], Dict[str, int], Dict[str, Any], List[Tuple[str, str]]]:
    """(configs, {protocol: repeats}, settings, workloads) of a RunPlan; ValueError if its
    experiment file cannot be used. Settings hold the first framework and model; each trial
    names its own. An experiment file is the plan's one model (named by its file)."""
    experiment = user_experiment.describe(run_plan.experiment) if run_plan.experiment else None
    models = [experiment["name"]] if experiment else run_plan.model
    repeats = {"process": run_plan.repeats, "in-process": run_plan.in_process_repeats}
    protocols = dict((name, repeats[name]) for name in plan.PROTOCOLS if name in run_plan.protocol)
    chosen = plan.settings(epochs=run_plan.epochs, samples=run_plan.samples, batch_size=run_plan.batch_size,
                           seed=run_plan.seed, model=models[0], framework=run_plan.framework[0],
                           experiment=experiment, jit_compile=run_plan.jit_compile,
                           validation_split=(experiment or {}).get("fit", {}).get("validation_split"),
                           timed=not run_plan.no_timing)
    return run_plan.configs, protocols, chosen, plan.workloads(run_plan.framework, models)


def jobs_per_machine(run_plan: RunPlan, jobs: Optional[int] = None) -> int:
    """Trials side by side on each machine's CPU: ``jobs`` (--jobs), by default one per core
    with --no-timing (where times are not reported), else one."""
    if not run_plan.no_timing:
        return 1
    return jobs or os.cpu_count() or 1


def overlap(run_plan: RunPlan, on_gpus: bool) -> Optional[str]:
    """How trials start early (bench.runner.work_queue): as --overlap WHEN or --no-overlap say;
    by default (auto) BESIDE for GPU trials (the next one's import takes a CPU core, not the
    GPU the current one trains on) and for verdicts only (no times to disturb), BETWEEN for
    timed CPU trials, whose training an import beside it slows (measured: docs/performance.md, Throughput)."""
    chosen = run_plan.overlap
    if chosen == "off":
        return None
    if chosen != "auto":
        return chosen
    return work_queue.BESIDE if on_gpus or run_plan.no_timing else work_queue.BETWEEN


def prepare_at_once() -> int:
    """Trials that start together while none trains (BETWEEN): one import per core, at most
    MAX_PREPARED (each waiting trial holds its framework in memory)."""
    return max(1, min(os.cpu_count() or 1, MAX_PREPARED))
