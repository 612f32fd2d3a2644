"""Where a run's trials run: a backend per target and host, and the lanes of slots that the
work queue hands trials to.

A slot is (host index, GPU id or None). Each host is one lane, one trial at a time on its
machine, its GPUs handed out in turn; with ``--parallel`` each (host, GPU) is a lane of its
own, trials side by side (then no overhead is computed from them).
"""

import shutil
from dataclasses import dataclass
from pathlib import Path

from bench.backends.base import Backend
from bench.console import say
from bench.environments import catalog
from bench.environments.datasets import Dataset
from bench.errors import UsageError
from bench.runner import options
from bench.runner.started import StartedTrial
from bench.runner.work_queue import Backends
from bench.trial import gpus

Slot = tuple[int, str | None]


@dataclass
class Fleet(Backends):
    """The work queue's Backends for a run: a backend per target and host."""
    backends: dict[str, dict[int, Backend]]   # target -> host index -> backend
    lanes: list[list[Slot]]
    per_machine: dict[int, int]                # host index -> trials it runs at the same time

    def start(self, spec: dict, staging: str, slot: Slot, held: bool) -> StartedTrial:
        host, gpu = slot
        return self.backends[spec["target"]][host].start(spec, staging, gpu, held)

    def probe_data(self, settings: dict, dataset_spec: dict, tree) -> dict:
        """Load the plan's data once, as its trials will, on the first target (see Backend)."""
        backend = next(iter(next(iter(self.backends.values())).values()))
        spec = dict(settings, dataset=dataset_spec, trial_id="data-check", protocol="process", config="none",
                    seed=None, repeat=0)
        try:
            return backend.probe_data(spec, tree.staging_for(spec["trial_id"]))
        finally:
            tree.clean_staging()

    def concurrency(self, slot: Slot) -> int:
        return self.per_machine[slot[0]]

    def all(self) -> list[Backend]:
        return [backend for by_host in self.backends.values() for backend in by_host.values()]

    def close(self) -> None:
        for backend in self.all():
            backend.close()


def gpu_slots(requested: list[str] | None, backend: str = "local") -> dict[str, dict]:
    """GPU id -> what nvidia-smi says of it (empty where it cannot be asked, e.g. a remote host)."""
    if requested is None:
        return {}
    if not requested:
        raise UsageError("--gpus needs GPU ids, e.g. --gpus 0 or --gpus all")
    if len(set(requested)) < len(requested):
        raise UsageError(f"--gpus names a GPU twice: {','.join(requested)}")
    found = gpus.query()
    if not found and backend == "local":
        raise UsageError(f"--gpus {','.join(requested)}: nvidia-smi finds no GPU on this machine, so the trials "
                         "would run on the CPU; leave --gpus out to run them there")
    if requested == ["all"]:
        return {str(gpu["index"]): gpu for gpu in found}
    slots = {}
    for token in requested:
        match = [gpu for gpu in found if str(gpu["index"]) == token or gpu["uuid"] == token]
        if found and not match:
            raise UsageError(f"--gpus: no GPU {token!r}; nvidia-smi finds "
                             f"{', '.join(str(gpu['index']) for gpu in found)}")
        slots[token] = match[0] if match else {}
    return slots


def lanes(hosts: int, gpu_info: dict, parallel: bool, jobs: int = 1) -> tuple[list[list[Slot]], dict[int, int]]:
    """One lane per host (one trial at a time on each machine), or with --parallel one per
    (host, GPU), or on CPU with --no-timing ``jobs`` per host; a lane hands its GPUs out in turn."""
    gpu_ids = list(gpu_info) or [None]
    if jobs > 1 and not gpu_info:
        return [[(host, None)] for host in range(hosts) for _ in range(jobs)], {host: jobs for host in range(hosts)}
    if parallel:
        return ([[(host, gpu)] for host in range(hosts) for gpu in gpu_ids],
                {host: len(gpu_ids) for host in range(hosts)})
    return [[(host, gpu) for gpu in gpu_ids] for host in range(hosts)], {host: 1 for host in range(hosts)}


def check(chosen, session) -> None:
    """What the plan's backend needs (a RunPlan; the session's hosts), checked before anything
    is prepared."""
    if chosen.backend == "local":
        if session.hosts:
            raise UsageError("--host needs --backend docker")
        if chosen.tf:
            from bench.environments import envs
            envs_root = envs.root(chosen.envs_dir)
            for version in catalog.parse_list(chosen.tf):
                envs.require(envs_root, version)
        elif shutil.which(chosen.python) is None:
            raise UsageError(f"--python {chosen.python}: no such executable; give the path of a Python with "
                             "TensorFlow")
    elif not chosen.tf:
        raise UsageError("--backend docker needs --tf, e.g. --tf 2.8,2.21")
    else:
        catalog.parse_list(chosen.tf)  # unknown versions named before anything is prepared


def build(chosen, session, gpu_info: dict[str, dict], dataset: Dataset, out: Path) -> Fleet:
    """The fleet for a run of plan ``chosen`` (a RunPlan) in ``session`` (bench.commands.run.benchmark):
    its backends ready (interpreters probed, images built and copied to every host), the
    dataset where containers mount it."""
    if chosen.backend == "local":
        return _local(chosen, session, gpu_info)
    return _docker(chosen, session, gpu_info, dataset, out)


def _local(chosen, session, gpu_info: dict[str, dict]) -> Fleet:
    from bench.backends.local import LocalBackend
    if chosen.tf:  # each version in its own environment (bench envs)
        from bench.environments import envs
        envs_root = envs.root(chosen.envs_dir)
        interpreters = {f"tf{env.minor}": env.python
                        for env in (envs.require(envs_root, v) for v in catalog.parse_list(chosen.tf))}
    else:
        interpreters = {"local": chosen.python}
    backends = {target: {0: LocalBackend(python, gpu_info, pythonpath=chosen.pythonpath,
                                         inherit=chosen.inherit_env)}
                for target, python in interpreters.items()}
    return Fleet(backends, *lanes(1, gpu_info, session.parallel, options.jobs_per_machine(chosen, session.jobs)))


def _docker(chosen, session, gpu_info: dict[str, dict], dataset: Dataset, out: Path) -> Fleet:
    from bench.backends import docker_backend
    from bench.engines import hosts, images
    engines = [hosts.connect(url) for url in (session.hosts or [None])]
    backends = {}
    for version in catalog.parse_list(chosen.tf):
        built = images.ensure_everywhere(engines, version, chosen.variant, rebuild=session.rebuild,
                                         ca_bundle=session.ca_bundle, say=say)
        backends[f"tf{version.minor}-{chosen.variant}"] = {
            index: docker_backend.DockerBackend(engine, image, dataset, memory=session.memory, gpus=gpu_info,
                                                inherit=chosen.inherit_env, folder=out)
            for index, (engine, image) in enumerate(zip(engines, built))}
    return Fleet(backends, *lanes(len(engines), gpu_info, session.parallel, options.jobs_per_machine(chosen, session.jobs)))
