"""python -m bench.worker.batch --out DIR --target NAME --dataset-spec FILE [plan options]

Runs a whole plan inside one container (how ``docker compose up`` works): every trial is a
fresh process of this interpreter, with its config's environment and a timeout; results go
to DIR/trials/, and running again resumes. Exit status 0 when every trial has a result
(failed trials are results too), 2 for unusable arguments.
"""

import argparse
import os
import sys

import bench
from bench.worker import installed, jsonfile, options, process, runner
from bench.worker.fingerprint import cpu_model
from bench.worker.plan import build
from bench.worker.tree import ResultTree

WORKER_PATH = os.path.dirname(os.path.dirname(os.path.abspath(bench.__file__)))


def main(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.worker.batch", description=__doc__.split("\n\n")[1])
    parser.add_argument("--out", required=True, help="result folder (resumed if it exists)")
    parser.add_argument("--target", required=True, help="label of what runs the trials, e.g. tf2.8-gpu")
    parser.add_argument("--dataset-spec", required=True, metavar="FILE",
                        help="JSON dataset description written by `bench data`")
    options.add_plan_arguments(parser)
    arguments = parser.parse_args(argv)
    try:
        configs, protocols, chosen, workloads = options.plan_from(arguments)
        dataset_spec = jsonfile.read_json(arguments.dataset_spec)
    except (ValueError, OSError) as error:
        parser.error(str(error))
    tree = ResultTree(arguments.out)
    trials = build([arguments.target], configs, protocols, workloads)
    info = {"backend": "container-batch", "python": sys.executable, "tensorflow": installed.tensorflow_version(),
            "image": os.environ.get("BENCH_IMAGE"), "device": {"kind": "cpu", "name": cpu_model()}}

    def execute(spec, staging, slot, timeout):
        return process.run(sys.executable, WORKER_PATH, spec, staging, timeout, info)

    print("%d trials for %s (TensorFlow %s) into %s" % (len(trials), arguments.target, info["tensorflow"], tree.root))
    sys.stdout.flush()
    runner.run(trials, chosen, dataset_spec, execute, tree, say=_say, timeout=arguments.timeout)
    return 0


def _say(message):
    print(message)
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
