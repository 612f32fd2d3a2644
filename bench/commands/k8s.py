"""bench k8s: run a plan on Kubernetes as Indexed Jobs (one per TF version and GPU type)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

from bench.commands import option_groups
from bench.console import say
from bench.errors import UsageError, UserError
from bench.launchers import k8s, k8s_state, slurm
from bench.report import tables
from bench.runner import options, run_plan
from bench.trial.jsonfile import write_json_atomic

NAME = "k8s"
HELP = "run the plan on Kubernetes (Indexed Jobs, Kueue), or show how far it is"
DESCRIPTION = ("Cut the plan into shards as bench slurm does and write, per TF version and GPU type, an "
               "Indexed Job whose index picks its shard's plan document from a ConfigMap; --dry-run DIR "
               "writes the manifests, --apply submits them with kubectl. `bench k8s status RUN` shows each "
               "shard from the API; `bench k8s resubmit RUN` runs again the shards that failed (from the "
               "API alone); `bench k8s merge ROOT` checks the shards on the results volume and writes the "
               "merged tables (the merge Job, merge/ beside the manifests, does the same on the cluster).")


def add_arguments(parser) -> None:
    parser.add_argument("action", nargs="?", default="submit", choices=("submit", "status", "resubmit", "merge"),
                        help="submit (default), status RUN, resubmit RUN, or merge ROOT")
    parser.add_argument("target", nargs="?", metavar="RUN|ROOT",
                        help="status, resubmit: the run's name; merge: the run's folder on the volume "
                             "(VOLUME/runs/RUN), or the volume with --run RUN")
    # A Pod runs the version's GPU image: the stack's other settings (backend, interpreter) are the image's.
    option_groups.plan_settings(parser, [setting.name for setting in run_plan.SETTINGS
                                         if setting.part != "stack" or setting.name == "tf"])
    parser.add_argument("--plan", type=Path, metavar="FILE", help="submit this plan document instead of plan options")
    cluster = parser.add_argument_group("the cluster")
    cluster.add_argument("--run", metavar="NAME", help="the run's name: Jobs, ConfigMaps and labels carry it")
    cluster.add_argument("--gpu-types", metavar="MAP",
                         help="GPU types, short name to the node label nvidia.com/gpu.product: "
                              "h100=NVIDIA-H100-80GB-HBM3,a100=NVIDIA-A100-SXM4-80GB (one Job each)")
    cluster.add_argument("--claim", metavar="PVC",
                         help="the results volume: a ReadWriteMany PersistentVolumeClaim holding dataset/ "
                              "(bench data --out <volume>/dataset) and receiving shards/")
    cluster.add_argument("--registry", metavar="PREFIX",
                         help="where the nodes pull the worker images from (bench images build, then docker "
                              "tag and push them there), e.g. registry.lab.example/ml")
    cluster.add_argument("--namespace", help="the namespace (default: kubectl's)")
    cluster.add_argument("--queue", metavar="NAME",
                         help="a Kueue LocalQueue: the Jobs get its label and are created suspended, for Kueue "
                              "to admit by quota and GPU flavor")
    cluster.add_argument("--parallelism", type=option_groups.positive_int, metavar="N",
                         help="Pods of one Job at once (default: all its shards); Kueue admits a Job when its "
                              "quota holds this many GPUs")
    cluster.add_argument("--cpus", default="4", help="CPUs each Pod requests and is limited to (default 4)")
    cluster.add_argument("--pod-memory", default="16Gi", metavar="QUANTITY",
                         help="memory each Pod requests and is limited to (default 16Gi)")
    cluster.add_argument("--time-limit", default="1:00:00", metavar="TIME",
                         help="how long one Pod may run (its activeDeadlineSeconds; shards are cut to fit), as "
                              "Slurm writes it: 90 is 90 minutes, 1:30:00 the same (default 1:00:00)")
    cluster.add_argument("--trial-seconds", type=option_groups.positive_float, default=120, metavar="SECONDS",
                         help="how long one trial takes, at most, on the cluster (default 120)")
    cluster.add_argument("--out", type=Path, metavar="VOLUME",
                         help="the results volume as mounted here, where it is: the run's complete shards are "
                              "left out (and --apply writes its manifests under VOLUME/k8s/)")
    output = cluster.add_mutually_exclusive_group()
    output.add_argument("--dry-run", type=Path, metavar="DIR", help="write the manifests into DIR, submit nothing")
    output.add_argument("--apply", action="store_true",
                        help="submit the manifests with kubectl apply (written first into ./k8s/RUN, or "
                             "VOLUME/k8s/RUN with --out)")


def main(arguments) -> int:
    if arguments.action == "status":
        return _status(arguments)
    if arguments.action == "merge":
        return _merge(arguments)
    if arguments.action == "resubmit":
        return _resubmit(arguments)
    missing = [flag for flag, value in (("--run", arguments.run), ("--gpu-types", arguments.gpu_types),
                                        ("--claim", arguments.claim), ("--registry", arguments.registry)) if not value]
    if missing:
        raise UsageError(f"bench k8s needs {', '.join(missing)} (see bench k8s --help)")
    if not arguments.dry_run and not arguments.apply:
        raise UsageError("give --dry-run DIR (write the manifests) or --apply (submit them with kubectl)")
    cluster = k8s.Cluster(gpu_types=k8s.parse_gpu_types(arguments.gpu_types), claim=arguments.claim,
                          registry=arguments.registry, run=arguments.run, namespace=arguments.namespace,
                          queue=arguments.queue, time_limit=arguments.time_limit,
                          trial_seconds=arguments.trial_seconds, cpus=arguments.cpus, memory=arguments.pod_memory,
                          parallelism=arguments.parallelism)
    chosen = option_groups.plan_of(arguments)
    if chosen.until:
        raise UsageError("--until needs bench run (or bench slurm): a Pod runs the in-container batch, which runs "
                         "a fixed number of repeats")
    if chosen.data:
        raise UsageError("--data: put the file on the results volume with bench data --out <volume>/dataset --data "
                         "FILE; the Pods read the dataset from there")
    try:
        configs, protocols, _, workloads = options.plan_from(chosen)
    except ValueError as problem:
        raise UsageError(str(problem)) from None
    found = k8s.shards(chosen, cluster, configs, protocols, workloads)
    if arguments.out:
        found = _incomplete(found, k8s.run_folder(arguments.out, cluster.run))
        if not found:
            say(f"every shard is complete in {k8s.run_folder(arguments.out, cluster.run)}; nothing to submit")
            return 0
    documents = k8s.manifests(chosen, cluster, found)
    folder = _write(documents, arguments.dry_run or Path(arguments.out or ".") / "k8s" / cluster.run, arguments.apply)
    indexed = sum(name.endswith(".job.json") and "/" not in name for name in documents)
    say(f"{len(found)} shards in {indexed} Indexed Jobs: {folder}")
    if arguments.apply:
        _apply(folder, documents)
    if cluster.queue:
        say(f"the Jobs wait, suspended, for Kueue's LocalQueue {cluster.queue}; where it has none, {folder / 'kueue'} "
            "holds a ResourceFlavor per GPU type, a ClusterQueue and the LocalQueue (kubectl apply -f, by an admin)")
    say(f"when every shard has succeeded (bench k8s status {cluster.run}): kubectl apply -f "
        f"{folder / k8s.MERGE_FOLDER} merges them on the cluster")
    return 0


def _incomplete(found: list[slurm.Shard], root: Path) -> list[slurm.Shard]:
    """The shards not complete in the run's folder; refused where the folder holds shards cut
    otherwise, whose trials the new cut would run a second time."""
    other = sorted({path.name for path in (root / "shards").glob("*") if path.is_dir()} - {shard.name for shard in found})
    if other:
        raise UsageError(f"{root}/shards holds shards this plan does not cut ({', '.join(other[:3])}"
                         f"{', ...' if len(other) > 3 else ''}): submit with the first submission's options (--time-limit, "
                         "--trial-seconds, the plan), or give another --run")
    return [shard for shard in found if not shard.complete(root)]


def _write(documents: dict[str, dict], folder: Path, apply: bool) -> Path:
    """The manifests into a folder of their own: a new or empty DIR, or --apply's, rewritten
    (an earlier submission's files there are removed: they are applied file by file, never as a folder)."""
    if apply and not shutil.which("kubectl"):
        raise UserError("kubectl is not on PATH: install it (or use --dry-run DIR and apply the manifests yourself)")
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} is a file: give a folder for the manifests")
    if folder.is_dir() and any(folder.iterdir()):
        if not apply:
            raise UsageError(f"{folder} is not empty: give a new or empty folder for the manifests")
        for old in folder.rglob("*.json"):
            old.unlink()
    for name, document in documents.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(str(folder / name), document)
    return folder


def _apply(folder: Path, documents: dict[str, dict]) -> None:
    """kubectl apply, file by file: what this submission wrote, but kueue/ (an admin's) and
    merge/ (applied when the shards are done)."""
    files = [arg for name in documents if "/" not in name for arg in ("-f", str(folder / name))]
    done = subprocess.run(["kubectl", "apply", *files], capture_output=True, text=True)
    if done.returncode != 0:
        raise UserError(f"kubectl apply failed: {_last_line(done.stderr) or _last_line(done.stdout)}")
    say(done.stdout.strip())


def _last_line(text: str) -> str:
    """kubectl's own message is its last line (klog's lines before it say where it failed)."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _from_api(arguments, action: str) -> tuple[str, dict, dict]:
    """The run's name, and its Jobs and ConfigMaps as the API lists them (kubectl get -o json)."""
    run = arguments.target or arguments.run
    if not run:
        raise UsageError(f"bench k8s {action} RUN: give the run's name")
    k8s.check_run(run, arguments.namespace)
    if not shutil.which("kubectl"):
        raise UserError(f"kubectl is not on PATH: bench k8s {action} asks the API through it")
    namespace = ["--namespace", arguments.namespace] if arguments.namespace else []
    found = {}
    for kind in ("jobs", "configmaps"):
        done = subprocess.run(["kubectl", "get", kind, "-l", f"{k8s.RUN_LABEL}={run}", "-o", "json", *namespace],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise UserError(f"kubectl get {kind} failed: {_last_line(done.stderr) or _last_line(done.stdout)}")
        try:
            found[kind] = json.loads(done.stdout)
        except ValueError:
            raise UserError(f"kubectl get {kind} -o json gave no JSON: {slurm.first_line(done.stdout)}") from None
    if not found["jobs"].get("items"):
        raise UserError(f"no Jobs labelled {k8s.RUN_LABEL}={run}" + (f" in namespace {arguments.namespace}"
                        if arguments.namespace else "") + ": check the run's name and --namespace")
    return run, found["jobs"], found["configmaps"]


def _status(arguments) -> int:
    run, jobs, config_maps = _from_api(arguments, "status")
    rows = k8s_state.status(jobs, config_maps)
    table = tables.Table(headers=["job", "index", "shard", "state"],
                         rows=[[row["job"], str(row["index"]), row["shard"], row["state"]] for row in rows],
                         records=rows)
    print(tables.render(table, "plain"), end="")
    states = k8s_state.shards(rows)
    failed = sorted(shard for shard, state in states.items() if state == "failed")
    waiting = sorted(shard for shard, state in states.items() if state in k8s_state.WAITING)
    succeeded = len(states) - len(failed) - len(waiting)
    print(f"{succeeded} of {len(states)} shards succeeded" + (f"; {len(waiting)} waiting" if waiting else "")
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    merge = k8s_state.merge_state(jobs)
    why = sorted({row["why"] for row in rows if row["state"] == "failed" and row["shard"] in failed})
    if failed:
        print(f"failed because: {'; '.join(why)}")
        print(f"next: bench k8s resubmit {run} --apply (runs the failed shards again; a retried Pod resumes its shard)")
    elif not waiting:
        if merge is None:
            print(f"next: kubectl apply -f DIR/merge (DIR: the manifests' folder), or bench k8s merge "
                  f"VOLUME/runs/{run} where the volume is mounted")
        else:
            print(f"merge Job: {merge}" + (f" (VOLUME/runs/{run}/check.txt says why; kubectl delete job {run}-merge, "
                                           "then apply it again)" if merge == "failed" else ""))
    return 0


def _resubmit(arguments) -> int:
    if not arguments.dry_run and not arguments.apply:
        raise UsageError("give --dry-run DIR (write the manifests) or --apply (submit them with kubectl)")
    run, jobs, config_maps = _from_api(arguments, "resubmit")
    documents = k8s_state.resubmission(jobs, config_maps)
    if not documents:
        say(f"no shard of {run} has failed for good: nothing to resubmit (bench k8s status {run})")
        return 0
    folder = _write(documents, arguments.dry_run or Path(arguments.out or ".") / "k8s" / f"{run}-resubmitted",
                    arguments.apply)
    shards = [value for name, document in documents.items() if name.endswith(".configmap.json")
              for key, value in document["data"].items() if k8s_state.SHARD_FILE.match(key) and key.endswith(".name")]
    say(f"resubmitting {len(shards)} failed shards ({', '.join(shards)}) in "
        f"{sum(name.endswith('.job.json') for name in documents)} Jobs: {folder}")
    if arguments.apply:
        _apply(folder, documents)
    return 0


def _merge(arguments) -> int:
    if not (arguments.target or arguments.out):
        raise UsageError("bench k8s merge ROOT: give the run's folder on the volume (VOLUME/runs/RUN), or the volume "
                         "with --run RUN")
    root = Path(arguments.target or arguments.out)
    if arguments.run:
        root = k8s.run_folder(root, arguments.run)
    if not (root / "shards").is_dir():
        raise UsageError(f"bench k8s merge: {root} has no shards/; give the run's folder on the volume "
                         "(VOLUME/runs/RUN), or the volume with --run RUN")
    python = [sys.executable, "-m", "bench"]
    checked = subprocess.run([*python, "check", str(root / "shards"), "--min-repeats", "2"], capture_output=True,
                             text=True)
    (root / "check.txt").write_text(checked.stdout + checked.stderr)
    for extra, name in (([], "table.md"), (["--format", "json"], "table.json"), (["--format", "html"], "report.html")):
        done = subprocess.run([*python, "report", str(root / "shards"), *extra, "--output", str(root / name)],
                              capture_output=True, text=True)
        if done.returncode != 0:  # no results there, or one that cannot be read: its own line says which
            raise UserError(f"bench k8s merge {root}: {slurm.first_line(done.stderr).removeprefix('error: ')}")
    say(f"merged {root / 'shards'} into {root}/table.md, table.json, report.html")
    if checked.returncode != 0:
        raise UserError(f"bench check found problems in {root / 'shards'}: {root / 'check.txt'} lists them "
                        "(bench k8s status RUN, then resubmit, for shards that did not finish)")
    return 0
