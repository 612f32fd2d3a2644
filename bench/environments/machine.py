"""machine.json: the description of the machine a results folder was made on.

Written when a run starts; a folder resumed on another machine is refused, since its
trials would no longer share one machine.
"""

import os
from pathlib import Path

from bench.errors import UserError
from bench.trial import fingerprint
from bench.trial.jsonfile import read_json, write_json_atomic

FILE = "machine.json"
# Fields whose change means another machine (memory and driver may be upgraded in place).
IDENTITY = ("name", "cpu_model", "logical_cpus")


def describe(name: str | None, backends: list) -> dict:
    described = fingerprint.host(name)
    engines = {backend.info.get("engine") for backend in backends if backend.info.get("engine")}
    if engines:  # containers: the trials ran on the Docker engine's machine
        described["docker_engines"] = sorted(engines)
    return described


def record(tree: Path, name: str | None, backends: list) -> dict:
    before = load(tree)
    described = describe(name or (before or {}).get("name"), backends)
    if before is not None:
        changed = [field for field in IDENTITY if before.get(field) != described.get(field)]
        if changed:
            raise UserError(f"{tree} was started on another machine ({', '.join(f'{f}: {before.get(f)!r}' for f in changed)}); "
                            "give this machine's results another --out")
        return before
    write_json_atomic(str(tree / FILE), described)
    return described


# What Slurm says of the job a run is part of (each trial records it: runner.slurm).
SLURM_JOB = {"job_id": "SLURM_JOB_ID", "array_job_id": "SLURM_ARRAY_JOB_ID", "array_task_id": "SLURM_ARRAY_TASK_ID",
             "node": "SLURMD_NODENAME", "partition": "SLURM_JOB_PARTITION", "restart_count": "SLURM_RESTART_COUNT"}


def tag(backends: list, described: dict) -> None:
    """Every trial carries its machine's name, so merged trees still say where each ran, and
    the Slurm job it ran in, where it ran in one."""
    job = scheduler_job()
    for backend in backends:  # a container ran on its engine's machine
        backend.info["machine"] = backend.info.get("engine_name") or described["name"]
        if job:
            backend.info["slurm"] = job


def scheduler_job() -> dict | None:
    """The Slurm job this process runs in (job and array task ids, node, partition), or None."""
    if not os.environ.get("SLURM_JOB_ID"):
        return None
    return {key: os.environ.get(variable) for key, variable in SLURM_JOB.items()}


def load(tree: Path) -> dict | None:
    path = Path(tree) / FILE
    return read_json(str(path)) if path.exists() else None


