"""bench preflight: check in seconds that a run has what it needs, before it starts."""

from pathlib import Path

from bench.commands import option_groups
from bench.console import say
from bench.commands.preflight import checks as preflight
from bench.errors import UsageError, UserError
from bench.trial.frameworks import FRAMEWORKS

NAME = "preflight"
HELP = "check that a run has what it needs (GPUs, frameworks, data, disk)"
DESCRIPTION = preflight.__doc__.split("\n\n")[0].replace("\n", " ")


def add_arguments(parser) -> None:
    option_groups.plan_settings(parser, ("python", "pythonpath", "framework", "dataset", "data"))
    option_groups.gpus(parser)
    parser.add_argument("--experiment", metavar="FILE.py",
                        help="your experiment file: checked as bench run checks it, and its load_data(keras) run "
                             "once in the trial interpreter (with the first --framework)")
    parser.add_argument("--out", type=Path, default=Path("."), metavar="DIR",
                        help="where results will go (its free disk is checked; default: .)")
    parser.add_argument("--min-free-gib", type=option_groups.positive_float, default=1.0, metavar="GIB",
                        help="free disk needed there (default 1)")


def main(arguments) -> int:
    unknown = [name for name in arguments.framework if name not in FRAMEWORKS]
    if unknown or not arguments.framework:
        raise UsageError(f"--framework: unknown {', '.join(unknown) or 'empty list'}; choose from {', '.join(FRAMEWORKS)}")
    report = preflight.check(arguments.python, arguments.framework, arguments.gpus, arguments.dataset,
                             arguments.data, arguments.out, int(arguments.min_free_gib * 2**30),
                             arguments.pythonpath, arguments.experiment)
    for line in report.lines:
        say(line)
    if report.missing:
        raise UserError("preflight: " + "; ".join(report.missing))
    print("preflight ok")
    return 0
