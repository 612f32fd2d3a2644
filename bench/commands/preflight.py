"""bench preflight: check in seconds that a run has what it needs, before it starts."""

import sys
from pathlib import Path

from bench import datasets, preflight
from bench.console import say
from bench.errors import UsageError, UserError
from bench.worker import options
from bench.worker.frameworks import FRAMEWORKS

NAME = "preflight"
HELP = "check that a run has what it needs (GPUs, frameworks, data, disk)"
DESCRIPTION = preflight.__doc__.split("\n\n")[0].replace("\n", " ")


def add_arguments(parser) -> None:
    parser.add_argument("--python", default=sys.executable, metavar="EXE",
                        help="the Python that runs the trials (default: this one)")
    parser.add_argument("--pythonpath", metavar="DIRS", help="folders the trial interpreter also imports from")
    parser.add_argument("--framework", type=options.name_list, default=["tf.keras"], metavar="LIST",
                        help="frameworks the run uses, comma-separated (default: tf.keras)")
    parser.add_argument("--gpus", type=options.name_list, metavar="IDS", help="GPUs the run uses (e.g. 0, or all)")
    parser.add_argument("--dataset", default="auto", choices=datasets.CHOICES, help="default: auto")
    parser.add_argument("--data", metavar="PATH", help="an offline mnist.npz")
    parser.add_argument("--out", type=Path, default=Path("."), metavar="DIR",
                        help="where results will go (its free disk is checked; default: .)")
    parser.add_argument("--min-free-gib", type=options.positive_float, default=1.0, metavar="GIB",
                        help="free disk needed there (default 1)")


def main(arguments) -> int:
    unknown = [name for name in arguments.framework if name not in FRAMEWORKS]
    if unknown or not arguments.framework:
        raise UsageError(f"--framework: unknown {', '.join(unknown) or 'empty list'}; choose from {', '.join(FRAMEWORKS)}")
    report = preflight.check(arguments.python, arguments.framework, arguments.gpus, arguments.dataset,
                             arguments.data, arguments.out, int(arguments.min_free_gib * 2**30),
                             arguments.pythonpath)
    for line in report.lines:
        say(line)
    if report.missing:
        raise UserError("preflight: " + "; ".join(report.missing))
    print("preflight ok")
    return 0
