"""bench slurm: run a plan on a Slurm cluster as job arrays, merged by a dependent job."""

import json
from pathlib import Path

from bench.commands.run import until
from bench.launchers import slurm
from bench.commands import option_groups
from bench.console import say
from bench.errors import UsageError
from bench.report import tables
from bench.runner import options
from bench.results import folder_plan
from bench.runner.tree import ResultTree
from bench.trial.jsonfile import write_json_atomic

NAME = "slurm"
HELP = "run the plan on a Slurm cluster (job arrays), or show how far it is"
DESCRIPTION = ("Submit the plan as Slurm job arrays, one per GPU type, one task per shard (TF version "
               "x GPU type, and x config where a shard would outrun --time-limit): each task is an "
               "ordinary `bench run` into ROOT/shards/<shard>; a merge job after them checks the "
               "shards and writes ROOT/table.md, table.json and report.html. Submitting again runs "
               "only the shards not complete. `bench slurm status ROOT` shows where each shard is.")


def add_arguments(parser) -> None:
    parser.add_argument("action", nargs="?", default="submit", choices=("submit", "status"),
                        help="submit (default) or status")
    parser.add_argument("root", nargs="?", type=Path, metavar="ROOT", help="status: the results tree")
    option_groups.plan_settings(parser)
    parser.add_argument("--plan", type=Path, metavar="FILE",
                        help="submit this plan document (from `bench run ... --write-plan FILE`) instead of plan options")
    parser.add_argument("--out", type=Path, metavar="ROOT",
                        help="submit: the results tree on the shared file system (shards go to ROOT/shards/)")
    cluster = parser.add_argument_group("the cluster")
    cluster.add_argument("--gpu-types", type=option_groups.name_list, default=None, metavar="LIST",
                         help="GPU types, e.g. h100,a100: one job array each (default: no GPU)")
    cluster.add_argument("--gpu-types-as", default="gres", choices=slurm.GPU_TYPES_AS,
                         help="how a GPU type is asked for: --gres=gpu:<type>:1 (default), or a partition or "
                              "a constraint of that name with --gres=gpu:1")
    cluster.add_argument("--partition", help="partition for the tasks (and the merge job)")
    cluster.add_argument("--merge-partition", help="partition for the merge job (default: --partition)")
    cluster.add_argument("--account", help="account to charge")
    cluster.add_argument("--time-limit", default="1:00:00", metavar="TIME",
                         help="time limit per task, as Slurm takes it (default 1:00:00)")
    cluster.add_argument("--trial-seconds", type=option_groups.positive_float, default=120, metavar="SECONDS",
                         help="how long one trial takes, at most, on the cluster (default 120): shards are "
                              "cut so that each fits the time limit")
    cluster.add_argument("--cpus-per-task", type=option_groups.positive_int, default=2, metavar="N", help="default 2")
    cluster.add_argument("--create-envs", action="store_true",
                         help="submit a job that makes the per-version environments first (bench envs create)")
    cluster.add_argument("--dry-run", action="store_true", help="print the scripts instead of submitting them")
    cluster.add_argument("--wait", action="store_true", help="wait for the merge job and print the merged table")
    cluster.add_argument("--wait-timeout", type=option_groups.positive_float, default=6 * 3600, metavar="SECONDS",
                         help="how long --wait waits (default 6 h)")


def main(arguments) -> int:
    if arguments.action == "status":
        return _status(arguments)
    if not arguments.out:
        raise UsageError("bench slurm needs --out ROOT, a results tree on the cluster's shared file system")
    slurm.check_gpu_type_names(arguments.gpu_types)
    chosen, cluster = option_groups.plan_of(arguments), slurm.Cluster.of(arguments)
    try:
        configs, protocols, settings, workloads = options.plan_from(chosen)
    except ValueError as problem:
        raise UsageError(str(problem)) from None
    root = arguments.out.resolve()
    if settings.get("experiment"):  # the shards run the code as it is now: ROOT's copy (made unless a dry run)
        chosen = chosen.replace(experiment=str(folder_plan.frozen_experiment(root, settings["experiment"])))
        try:
            if not arguments.dry_run:
                ResultTree(root).freeze_experiment(settings["experiment"])
        except (ValueError, OSError) as problem:
            raise UsageError(f"--experiment: {problem}") from None
    if chosen.until:  # a shard is cut for the most trials --until may run
        protocols = {name: max(repeats, until.cap(chosen)) for name, repeats in protocols.items()}
    found = slurm.shards(cluster, chosen, configs, protocols, workloads)
    plans = {shard.name: slurm.shard_plan(chosen, shard) for shard in found}
    to_run = {index: shard for index, shard in enumerate(found) if not shard.complete(root)}
    if not arguments.dry_run:
        slurm.require_client()
        slurm.check_gpu_types(cluster)
    if not to_run:
        say(f"all {len(found)} shards are complete in {root}; nothing to submit")
        return 0
    say(f"{len(to_run)} of {len(found)} shards to run" +
        (f" (complete: {', '.join(s.name for i, s in enumerate(found) if i not in to_run)})"
         if len(to_run) < len(found) else ""))
    by_type: dict = {}
    for index, shard in to_run.items():
        by_type.setdefault(shard.gpu_type, {})[index] = shard
    scripts = {f"array-{gpu_type or 'cpu'}.sbatch": slurm.array_script(cluster, root, gpu_type, tasks)
               for gpu_type, tasks in by_type.items()}
    versions = sorted({shard.version for shard in found if shard.version})
    if arguments.dry_run:
        if arguments.create_envs:
            print(f"# {root}/slurm/envs.sbatch\n{slurm.setup_script(cluster, chosen, versions)}")
        for shard in to_run.values():
            print(f"# {slurm.plan_file(root, shard)}\n{json.dumps(plans[shard.name].to_json(), indent=2)}\n")
        for name, script in scripts.items():
            print(f"# {root}/slurm/{name}\n{script}")
        print(f"# {root}/slurm/merge.sbatch (--dependency=afterany:<the arrays>)\n"
              f"{slurm.merge_script(cluster, root, chosen.repeats)}", end="")
        return 0
    for shard in to_run.values():
        write_json_atomic(str(_made(slurm.plan_file(root, shard))), plans[shard.name].to_json())
    return _submit(arguments, cluster, chosen, root, found, by_type, scripts, versions)


def _made(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _submit(arguments, cluster: slurm.Cluster, chosen, root: Path, found, by_type, scripts, versions) -> int:
    folder = root / "slurm"
    (folder / "logs").mkdir(parents=True, exist_ok=True)
    setup = None
    if arguments.create_envs and chosen.backend == "local" and versions:
        setup, _ = slurm.submit(slurm.setup_script(cluster, chosen, versions), folder / "envs.sbatch")
        say(f"environments: job {setup}")
    arrays = []
    for (gpu_type, tasks), (name, script) in zip(by_type.items(), scripts.items()):
        job, _ = slurm.submit(script, folder / name, dependency=f"afterok:{setup}" if setup else None)
        arrays.append({"gpu_type": gpu_type, "job": job, "tasks": {str(i): s.name for i, s in tasks.items()}})
        say(f"{gpu_type or 'no GPU'}: array job {job}, tasks {', '.join(map(str, sorted(tasks)))}")
    slurm.record(root, {"shards": [shard.name for shard in found], "arrays": arrays, "setup_job": setup,
                        "merge_job": None})
    dependency = "afterany:" + ":".join(array["job"] for array in arrays)
    merge, status = slurm.submit(slurm.merge_script(cluster, root, chosen.repeats), folder / "merge.sbatch", dependency,
                                 wait_seconds=arguments.wait_timeout if arguments.wait else None)
    slurm.record_merge(root, merge)
    say(f"merge: job {merge} (after the arrays): {root}/table.md, table.json, report.html; "
        f"`bench slurm status {root}` shows the shards")
    if not arguments.wait:
        return 0
    table = root / "table.md"
    if table.exists():
        print(table.read_text(), end="")
    if status != 0:
        say(f"the merged tree has problems (exit {status}): {root}/check.txt")
    return 0 if status == 0 else 1


def _status(arguments) -> int:
    root = arguments.root or arguments.out
    if root is None:
        raise UsageError("bench slurm status ROOT: give the results tree of a submission")
    rows = slurm.status(root)
    table = tables.Table(headers=["shard", "GPU type", "trials", "job", "state"],
                         rows=[[row["shard"], row["gpu_type"] or "-", row["trials"], row["job"], row["state"]]
                               for row in rows], records=rows)
    print(tables.render(table, "plain"), end="")
    return 0
