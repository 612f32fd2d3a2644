"""python -m bench.runner.batch --out DIR --target NAME [--dataset-spec FILE] [plan options]

Runs a whole plan inside one container (how ``docker compose up`` works): every trial is a
fresh process of this interpreter, with its config's environment and a timeout; results go
to DIR/trials/, and running again resumes. Exit status 0 when every trial has a result
(failed trials are results too), 2 for unusable arguments.
"""

import argparse
import json
import os
import signal
import sys

import bench
from bench.runner import manifest, options, process, work_queue
from bench.trial import data, installed, jsonfile
from bench.trial.fingerprint import cpu_model
from bench.runner.plan import build
from bench.runner.tree import FolderBusy, ResultTree

WORKER_PATH = os.path.dirname(os.path.dirname(os.path.abspath(bench.__file__)))


def main(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.runner.batch", description=__doc__.split("\n\n")[1])
    parser.add_argument("--out", required=True, help="result folder (resumed if it exists)")
    parser.add_argument("--target", required=True, help="label of what runs the trials, e.g. tf2.8-gpu")
    parser.add_argument("--dataset-spec", metavar="FILE",
                        help="JSON dataset description written by `bench data` (needed unless --experiment "
                             "gives the data: its load_data)")
    parser.add_argument("--overlap", choices=options.OVERLAP_CHOICES[1:], default="off", metavar="WHEN",
                        help="start trials early (as bench run --overlap): beside (the next one while the "
                             "current one trains; compose's gpu services), between (a few at once while none "
                             "trains; its cpu services) or off (the default)")
    options.add_plan_arguments(parser)
    arguments = parser.parse_args(argv)
    try:
        configs, protocols, chosen, workloads = options.plan_from(arguments)
        if arguments.dataset_spec:
            dataset_spec = jsonfile.read_json(arguments.dataset_spec)
        elif "experiment" in chosen:
            dataset_spec = data.of_experiment(chosen["experiment"])
        else:
            raise ValueError("--dataset-spec FILE is needed (written by `bench data`), unless --experiment gives "
                             "the data")
    except (ValueError, OSError) as error:
        parser.error(str(error))
    signal.signal(signal.SIGTERM, _stop)  # compose stop: as PID 1 it would otherwise be ignored
    tree = ResultTree(arguments.out)
    trials = build([arguments.target], configs, protocols, workloads)
    plan = json.loads(json.dumps({"settings": chosen, "workloads": workloads, "dataset": dataset_spec,
                                  "trials": [trial.trial_id for trial in trials],
                                  "manifest": manifest.FILE}))  # as the file holds it
    try:
        tree.lock()
        if "experiment" in chosen:  # every trial executes the folder's copy, whatever becomes of the file
            chosen["experiment"] = plan["settings"]["experiment"] = tree.freeze_experiment(chosen["experiment"])
        _require_same_plan(tree, arguments.target, plan)
        tree.stop_leftover_workers()
        for file, why in tree.set_aside_damaged():
            _say("set aside %s (%s): kept in %s%s" % (file, why, tree.damaged, ", and its trial runs again"
                                                      if file.startswith("trials/") else ""))
        tree.write_plan(plan, name=arguments.target)
    except (FolderBusy, ValueError, OSError) as error:
        sys.stderr.write("error: %s\n" % error)
        return 2
    info = {"backend": "container-batch", "python": sys.executable, "tensorflow": installed.tensorflow_version(),
            "image": os.environ.get("BENCH_IMAGE"), "device": {"kind": "cpu", "name": cpu_model()}}

    def execute(spec, staging, slot, timeout):
        return process.run(sys.executable, WORKER_PATH, spec, staging, timeout, info)

    def start(spec, staging, slot, held):
        return process.WorkerProcess(sys.executable, WORKER_PATH, spec, staging, info, held=held)

    print("%d trials for %s (TensorFlow %s) into %s" % (len(trials), arguments.target, info["tensorflow"], tree.root))
    sys.stdout.flush()
    work_queue.run(trials, chosen, dataset_spec, execute, tree, say=_say, timeout=arguments.timeout, start=start,
                   overlap=options.overlap(arguments, on_gpus=False), prepare_at_once=options.prepare_at_once())
    return 0


def _require_same_plan(tree, target, plan):
    """A folder's plan for a target is fixed by its first batch (as bench run fixes plan.json)."""
    path = os.path.join(tree.root, "plans", target + ".json")
    if not os.path.exists(path):
        return
    try:
        before = jsonfile.read_json(path)
        before.get("settings")
    except (OSError, ValueError, AttributeError):
        raise ValueError("%s cannot be read as a plan (damaged or edited); use another --out" % path)
    differing = [name for name in ("settings", "workloads", "trials") if _plan_part(before.get(name)) != _plan_part(plan[name])]
    if (before.get("dataset") or {}).get("name") != plan["dataset"].get("name"):
        differing.append("dataset")
    if differing:
        raise ValueError("%s already holds another plan for %s (its %s differ); use another --out"
                         % (tree.root, target, ", ".join(differing)))


def _plan_part(value):
    """A part of a plan as compared: an experiment file by its content, not where it lies."""
    if isinstance(value, dict) and isinstance(value.get("experiment"), dict):
        experiment = value["experiment"]
        return dict(value, experiment=(experiment.get("name"), experiment.get("sha256")))
    return value


def _stop(signum, frame):
    sys.exit(128 + signum)  # unwinds: the running trial's worker is killed on the way out


def _say(message):
    print(message)
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
