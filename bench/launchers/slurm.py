"""A plan on a Slurm cluster: the cluster's own scheduler runs it, a job array per GPU type.

The plan is cut into shards (TF version x GPU type, and x config where a shard would outrun
the time limit), each a plan document of its own (ROOT/slurm/plans/<shard>.json); each array
task is an ordinary ``bench run --plan`` of its shard into its own
folder under one results tree (``ROOT/shards/<shard>``), so no two tasks share a folder and a
requeued task resumes as ``bench run`` does. A merge job that depends on the arrays
(``afterany``) checks the shards and writes the merged tables (Markdown, JSON, HTML) into
ROOT. Running the same submission again submits only the shards that are not complete.
GPUs come from Slurm (``--gres=gpu:<type>:1``, a partition or a constraint per type): the
task's ``CUDA_VISIBLE_DEVICES`` is the scheduler's, never the suite's.

Every submission is recorded in ``ROOT/slurm/submissions.json``; ``status`` reads it back
with the trees and, where they answer, ``squeue`` and ``sacct``.
"""

import datetime
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.environments import catalog
from bench.errors import UsageError, UserError
from bench.runner import plan
from bench.runner.run_plan import RunPlan
from bench.results import folder_plan
from bench.runner.tree import ResultTree
from bench.trial import result_file
from bench.trial.jsonfile import read_json, write_json_atomic

GPU_TYPES_AS = ("gres", "partition", "constraint")
# A shard starts an interpreter, resolves its data and writes its plan before any trial.
SHARD_START_SECONDS = 60
SUBMISSIONS = "submissions.json"


@dataclass
class Cluster:
    """What a submission asks of the cluster (bench slurm's cluster options): none of it is the plan."""
    time_limit: str = "1:00:00"
    trial_seconds: float = 120.0
    cpus_per_task: int = 2
    gpu_types: list[str] | None = None
    gpu_types_as: str = "gres"
    partition: str | None = None
    merge_partition: str | None = None
    account: str | None = None

    @classmethod
    def of(cls, arguments) -> "Cluster":
        return cls(**{name: getattr(arguments, name) for name in cls.__dataclass_fields__})


@dataclass
class Shard:
    name: str
    version: str | None           # TF minor version (None: the --python interpreter)
    gpu_type: str | None
    configs: list[str]
    trials: int                   # how many it plans

    def folder(self, root: Path) -> Path:
        return Path(root) / "shards" / self.name

    def complete(self, root: Path) -> bool:
        """Every trial its folder's plan lists has a valid result (None planned yet, or a
        damaged plan: not complete)."""
        planned, done, _ = progress(self.folder(root))
        return bool(planned) and done == len(planned)


def progress(folder: Path) -> tuple[list[str], int, int]:
    """A shard folder's planned trials, how many have a valid result, and how many a damaged
    one (which its next run sets aside and runs again)."""
    # bench run's plan.json (Slurm), or the batch's plans/<target>.json (Kubernetes Pods).
    planned = list(dict.fromkeys(trial for plan in folder_plan.plans_of(folder) for trial in plan.get("trials", [])))
    tree, done, damaged = ResultTree(folder), 0, 0
    for trial in planned:
        if tree.done(trial):
            try:
                result_file.read(tree.path_for(trial))
                done += 1
            except (ValueError, OSError):
                damaged += 1
    return planned, done, damaged


def shards(cluster: Cluster, chosen: RunPlan, configs: list[str], protocols: dict[str, int], workloads: list) -> list[Shard]:
    """The shards of a plan: TF version x GPU type, split by config where one would outrun
    the time limit (``cluster.trial_seconds`` per trial, as the user estimates it)."""
    limit = parse_time(cluster.time_limit)
    if cluster.trial_seconds + SHARD_START_SECONDS > limit:
        raise UsageError(f"--time-limit {cluster.time_limit} is too short for one trial "
                         f"(--trial-seconds {cluster.trial_seconds:g} plus {SHARD_START_SECONDS} s to start)")
    versions = [version.minor for version in catalog.parse_list(chosen.tf)] if chosen.tf else [None]
    found = []
    for version in versions:
        for gpu_type in cluster.gpu_types or [None]:
            groups = [configs]
            if _seconds(configs, protocols, workloads, cluster) > limit:
                groups = [[config] for config in configs]
            for group in groups:
                if _seconds(group, protocols, workloads, cluster) > limit:
                    raise UsageError(
                        f"--time-limit {cluster.time_limit} is too short for one shard (TF {version or 'local'}, "
                        f"{gpu_type or 'no GPU'}, config {group[0]}: about "
                        f"{_seconds(group, protocols, workloads, cluster) / 60:.0f} min); raise it, or lower --repeats")
                parts = [f"tf{version}" if version else "local", gpu_type or "cpu"] + (group if len(groups) > 1 else [])
                trials = len(plan.build(["x"], group, protocols, workloads))
                found.append(Shard("-".join(parts), version, gpu_type, group, trials))
    return found


def _seconds(configs, protocols, workloads, cluster: Cluster) -> float:
    return SHARD_START_SECONDS + len(plan.build(["x"], configs, protocols, workloads)) * cluster.trial_seconds


def parse_time(text: str) -> float:
    """Slurm's time formats (minutes, MM:SS, HH:MM:SS, D-HH[:MM[:SS]]) in seconds."""
    match = re.fullmatch(r"(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?", text.strip())
    if not match:
        raise UsageError(f"--time-limit {text!r}: give it as Slurm does, e.g. 90, 1:30:00 or 1-00:00:00")
    days, first, second, third = (int(part) if part else None for part in match.groups())
    if days is not None:
        hours, minutes, seconds = first, second or 0, third or 0
    elif third is not None:
        hours, minutes, seconds = first, second, third
    elif second is not None:
        hours, minutes, seconds = 0, first, second
    else:
        hours, minutes, seconds = 0, first, 0
    return (days or 0) * 86400 + hours * 3600 + minutes * 60 + seconds


def shard_plan(chosen: RunPlan, shard: Shard) -> RunPlan:
    """The shard's plan: the run's, narrowed to its version and configs, its files as absolute
    paths (a task runs elsewhere), one machine name per GPU type, and on a GPU an overlap
    that bench run's auto would not see (Slurm hands the task its GPUs)."""
    absolute = {name: str(Path(getattr(chosen, name)).resolve())
                for name in ("experiment", "data", "envs_dir") if getattr(chosen, name)}
    overlap = "beside" if chosen.overlap == "auto" and shard.gpu_type else chosen.overlap
    return chosen.replace(configs=shard.configs, tf=shard.version, overlap=overlap,
                          machine=f"slurm-{shard.gpu_type or 'cpu'}", **absolute)


def plan_file(root: Path, shard: Shard) -> Path:
    """Where a shard's plan document lies (written at submission)."""
    return Path(root) / "slurm" / "plans" / f"{shard.name}.json"


def array_script(cluster: Cluster, root: Path, gpu_type: str | None, tasks: dict[int, Shard]) -> str:
    """One job array: task i runs shard tasks[i] (only the shards still to run are listed)."""
    python = shlex.quote(sys.executable)
    lines = ["#!/bin/bash", f"#SBATCH --job-name=repro-bench-{gpu_type or 'cpu'}",
             f"#SBATCH --array={','.join(map(str, sorted(tasks)))}", f"#SBATCH --time={cluster.time_limit}",
             f"#SBATCH --output={root}/slurm/logs/%A_%a.out", "#SBATCH --open-mode=append", "#SBATCH --requeue",
             "#SBATCH --ntasks=1", f"#SBATCH --cpus-per-task={cluster.cpus_per_task}"]
    lines += _gpu_directives(cluster, gpu_type)
    lines += [f"#SBATCH --{name}={value}" for name, value in (("partition", cluster.partition),
                                                             ("account", cluster.account)) if value]
    lines += ["# Each task is an ordinary `bench run` of its shard into its own folder; a requeued task",
              "# resumes it. GPUs come from Slurm (CUDA_VISIBLE_DEVICES), never from the suite.",
              "set -euo pipefail", 'case "$SLURM_ARRAY_TASK_ID" in']
    for index, shard in sorted(tasks.items()):
        command = [python, "-m", "bench", "run", "--plan", shlex.quote(str(plan_file(root, shard))),
                   "--out", shlex.quote(str(shard.folder(root))), "--format", "plain"]
        lines += [f"  {index})  # {shard.name}", f"    exec {' '.join(command)} ;;"]
    lines += ['  *) echo "no shard for task $SLURM_ARRAY_TASK_ID" >&2; exit 2 ;;', "esac"]
    return "\n".join(lines) + "\n"


def _gpu_directives(cluster: Cluster, gpu_type: str | None) -> list[str]:
    if gpu_type is None:
        return []
    return {"gres": [f"#SBATCH --gres=gpu:{gpu_type}:1"],
            "partition": [f"#SBATCH --partition={gpu_type}", "#SBATCH --gres=gpu:1"],
            "constraint": [f"#SBATCH --constraint={gpu_type}", "#SBATCH --gres=gpu:1"]}[cluster.gpu_types_as]


def merge_script(cluster: Cluster, root: Path, repeats: int) -> str:
    """After the arrays (whatever their outcome): check the shards and write the merged tables."""
    python, shards_folder = shlex.quote(sys.executable), shlex.quote(str(root / "shards"))
    out = shlex.quote(str(root))
    lines = ["#!/bin/bash", "#SBATCH --job-name=repro-bench-merge", "#SBATCH --time=00:30:00",
             f"#SBATCH --output={root}/slurm/logs/merge-%j.out", "#SBATCH --ntasks=1", "#SBATCH --cpus-per-task=1"]
    lines += [f"#SBATCH --{name}={value}" for name, value in (("partition", cluster.merge_partition or
                                                                           cluster.partition),
                                                             ("account", cluster.account)) if value]
    lines += ["set -uo pipefail",
              f"{python} -m bench check {shards_folder} --min-repeats {min(repeats, 2)} > {out}/check.txt 2>&1",
              "checked=$?",
              f"{python} -m bench report {shards_folder} --output {out}/table.md > /dev/null",
              f"{python} -m bench report {shards_folder} --format json --output {out}/table.json > /dev/null",
              f"{python} -m bench report {shards_folder} --format html --output {out}/report.html > /dev/null",
              'exit "$checked"']
    return "\n".join(lines) + "\n"


def setup_script(cluster: Cluster, chosen: RunPlan, versions: list[str]) -> str:
    """A job that makes the per-version environments on the shared file system first."""
    python = shlex.quote(sys.executable)
    envs_dir = f" --envs-dir {shlex.quote(str(Path(chosen.envs_dir).resolve()))}" if chosen.envs_dir else ""
    return ("#!/bin/bash\n#SBATCH --job-name=repro-bench-envs\n#SBATCH --time=02:00:00\n"
            f"#SBATCH --ntasks=1\n#SBATCH --cpus-per-task={cluster.cpus_per_task}\n"
            + (f"#SBATCH --partition={cluster.partition}\n" if cluster.partition else "")
            + (f"#SBATCH --account={cluster.account}\n" if cluster.account else "")
            + f"set -euo pipefail\nexec {python} -m bench envs create {' '.join(versions)}{envs_dir}\n")


# The cluster --------------------------------------------------------------------------------------

def require_client() -> None:
    for program in ("sbatch", "sinfo"):
        if shutil.which(program) is None:
            raise UserError(f"{program} is not on PATH: run `bench slurm` on a node that can submit Slurm jobs "
                            "(a login node), or run where you are with `bench run`")


def gpu_types_on_cluster() -> dict[str, str]:
    """GPU type -> partition(s) that have it, from sinfo's generic resources."""
    done = subprocess.run(["sinfo", "-h", "-o", "%P %G"], capture_output=True, text=True)
    if done.returncode != 0:
        raise UserError(f"sinfo failed: {first_line(done.stderr)}")
    found: dict[str, set] = {}
    for line in done.stdout.splitlines():
        partition, _, gres = line.partition(" ")
        for item in gres.split(","):
            parts = item.split("(")[0].split(":")
            if parts[0] == "gpu" and len(parts) >= 3:
                found.setdefault(parts[1], set()).add(partition.rstrip("*"))
    return {name: ",".join(sorted(partitions)) for name, partitions in found.items()}


# A GPU type becomes part of a shard's folder name and of an #SBATCH line: names only.
GPU_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def check_gpu_type_names(names: list[str] | None) -> None:
    """--gpu-types: each a plain name, none twice (before anything is written)."""
    if names is None:
        return
    if not names:
        raise UsageError("--gpu-types needs at least one name, e.g. --gpu-types a100,h100")
    bad = [name for name in names if not GPU_TYPE.match(name)]
    if bad:
        raise UsageError(f"--gpu-types {bad[0]!r}: not a GPU type name (letters, digits, '.', '_' and '-')")
    if len(set(names)) < len(names):
        raise UsageError(f"--gpu-types names a type twice: {','.join(names)}")


def check_gpu_types(cluster: Cluster) -> None:
    check_gpu_type_names(cluster.gpu_types)
    if not cluster.gpu_types or cluster.gpu_types_as != "gres":
        return
    known = gpu_types_on_cluster()
    unknown = [name for name in cluster.gpu_types if name not in known]
    if unknown:
        listed = ", ".join(f"{name} ({partitions})" for name, partitions in sorted(known.items())) or "none"
        raise UsageError(f"--gpu-types {','.join(unknown)}: not on this cluster; sinfo lists GPU types {listed}")


def submit(script: str, path: Path, dependency: str | None = None,
           wait_seconds: float | None = None) -> tuple[str, int]:
    """sbatch a script (kept at ``path``); its job id, and with ``wait_seconds`` the job's exit
    status once it has ended. Slurm's refusal is one line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(script)
    command = ["sbatch", "--parsable"] + ([f"--dependency={dependency}"] if dependency else [])
    command += ["--wait"] if wait_seconds else []
    try:
        done = subprocess.run([*command, str(path)], capture_output=True, text=True, timeout=wait_seconds)
    except subprocess.TimeoutExpired:
        raise UserError(f"{path.name}: not finished within --wait-timeout ({wait_seconds:g} s); the jobs go on: "
                        f"`bench slurm status {path.parent.parent}`") from None
    job = done.stdout.strip().split(";")[0]
    if not job.isdigit():
        raise UserError(f"sbatch refused {path.name}: {first_line(done.stderr) or first_line(done.stdout)}")
    return job, done.returncode


def first_line(text: str) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[0].removeprefix("sbatch: error: ").strip() if lines else ""


# Records and status -------------------------------------------------------------------------------

def record(root: Path, submission: dict) -> None:
    """Add a submission to ROOT/slurm/submissions.json."""
    path = root / "slurm" / SUBMISSIONS
    earlier = read_json(str(path)) if path.exists() else []
    write_json_atomic(str(path), earlier + [dict(submission, submitted_at=_now())])


def record_merge(root: Path, job: str) -> None:
    """The latest submission's merge job, known once it is submitted."""
    path = root / "slurm" / SUBMISSIONS
    submissions = read_json(str(path))
    submissions[-1]["merge_job"] = job
    write_json_atomic(str(path), submissions)


def status(root: Path) -> list[dict]:
    """Each shard of the latest submission: trials done of planned, and its job's state."""
    path = Path(root) / "slurm" / SUBMISSIONS
    if not path.exists():
        raise UsageError(f"{root}: no Slurm submission recorded there ({path}); submit with `bench slurm --out {root}`")
    try:
        submissions = read_json(str(path))
        arrays = [(array["job"], array["tasks"], array.get("gpu_type"))
                  for submission in submissions for array in submission["arrays"]]
        names = sorted({name for submission in submissions for name in submission["shards"]})
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise UserError(f"{path} cannot be read as a record of submissions (damaged or edited); "
                        f"submit again with `bench slurm --out {root}` (finished shards are kept)") from None
    latest = {}
    for job, tasks, gpu_type in arrays:  # the latest array task of each shard
        for index, name in tasks.items():
            latest[name] = (job, index, gpu_type)
    states = _job_states({job for job, _, _ in latest.values()})
    rows = []
    for name in names:
        planned, done, damaged = progress(Path(root) / "shards" / name)
        job, index, gpu_type = latest.get(name, (None, None, None))
        state = states.get(f"{job}_{index}")
        if planned and done == len(planned):
            state = "done"
        trials = f"{done}/{len(planned) or '?'}" + (f" ({damaged} damaged)" if damaged else "")
        rows.append({"shard": name, "gpu_type": gpu_type, "trials": trials,
                     "job": f"{job}_{index}" if job else "-", "state": (state or "not in the queue").lower()})
    return rows


def _job_states(jobs: set[str]) -> dict[str, str]:
    """'<array job>_<task>' -> state, from squeue (queued or running) and sacct (finished),
    where each answers."""
    found = {}
    if not jobs:
        return found
    if shutil.which("sacct"):
        done = subprocess.run(["sacct", "-n", "-P", "-X", "-j", ",".join(sorted(jobs)), "-o", "JobID,State"],
                              capture_output=True, text=True)
        if done.returncode == 0:
            for line in done.stdout.splitlines():
                job, _, state = line.partition("|")
                found[job] = state.split()[0] if state else state
    if shutil.which("squeue"):
        done = subprocess.run(["squeue", "-h", "-r", "-j", ",".join(sorted(jobs)), "-o", "%i %T"],
                              capture_output=True, text=True)
        if done.returncode == 0:
            for line in done.stdout.splitlines():
                job, _, state = line.partition(" ")
                found[job] = state
    return found


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
