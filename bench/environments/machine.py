"""machine.json: the description of the machine a results folder was made on.

Written when a run starts; a folder resumed on another machine is refused, since its
trials would no longer share one machine.
"""

import os
from pathlib import Path

from bench.errors import UserError
from bench.trial import fingerprint, upgrade
from bench.trial.jsonfile import read_json, write_json_atomic

FILE = "machine.json"
SCHEMA_VERSION = 1  # 0: written without one (the same fields)
# Fields whose change means another machine (memory and driver may be upgraded in place).
IDENTITY = ("name", "cpu_model", "logical_cpus")
# What every machine.json holds, and of which types (None where the system would not say).
FIELDS = {"name": (str,), "cpu_model": (str,), "logical_cpus": (int, type(None)), "memory_bytes": (int, type(None)),
          "os": (str, type(None)), "kernel": (str,), "gpus": (list,)}


def describe(name: str | None, backends: list) -> dict:
    described = fingerprint.host(name)
    engines = {backend.info.get("engine") for backend in backends if backend.info.get("engine")}
    if engines:  # containers: the trials ran on the Docker engine's machine
        described["docker_engines"] = sorted(engines)
    return described


def record(tree: Path, name: str | None, backends: list) -> dict:
    try:
        before = load(tree)
    except (OSError, ValueError) as damage:
        raise UserError(f"{tree}/{FILE} cannot be read ({damage}): restore it, or give this run another "
                        "--out") from None
    described = describe(name or (before or {}).get("name"), backends)
    if before is not None:
        changed = [field for field in IDENTITY if before.get(field) != described.get(field)]
        if changed:
            raise UserError(f"{tree} was started on another machine ({', '.join(f'{f}: {before.get(f)!r}' for f in changed)}); "
                            "give this machine's results another --out")
        return before
    described = upgrade.versioned("machine", described)
    problem = problems(described)
    if problem:  # what this code writes, it must read back
        raise AssertionError(f"machine.json would not be one: {problem}")
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
    """A folder's machine description; None where it has none; ValueError saying what is
    wrong with one that is not a machine description."""
    path = Path(tree) / FILE
    if not path.exists():
        return None
    described = upgrade.to_current(read_json(str(path)), "machine")
    problem = problems(described)
    if problem:
        raise ValueError(problem)
    return described


def problems(described) -> str | None:
    """What makes ``described`` not a machine description, or None."""
    if not isinstance(described, dict):
        return "not a JSON object"
    lacking = [name for name in FIELDS if name not in described]
    if lacking:
        return f"lacks {', '.join(lacking)}"
    wrong = [name for name, kinds in FIELDS.items() if not isinstance(described[name], kinds)
             or isinstance(described[name], bool)]
    if wrong or not all(isinstance(gpu, dict) and isinstance(gpu.get("name"), str) for gpu in described["gpus"]):
        return f"{', '.join(wrong) or 'gpus'} of the wrong type"
    return None


def _from_0(described: dict) -> dict:
    return dict(described, schema_version=1)


upgrade.register("machine", SCHEMA_VERSION, {0: _from_0})


