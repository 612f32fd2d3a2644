"""bench diagnose: where two runs part, by step, layer and phase."""

from pathlib import Path

from bench import diagnose
from bench.commands import option_groups
from bench.report import tables, views
from bench.runner import options

NAME = "diagnose"
HELP = "find the first step, layer and phase at which two runs part"
DESCRIPTION = ("Run pairs of traced trials (fresh processes) per cell and compare them step by step: "
               "the first divergence (initialization, forward, backward/update, or none), its epoch, "
               "step and variables, the size of the difference there and how it grows. With --from "
               "DIR, the cells of a bench run folder that did not reproduce, with its plan. Results go "
               "to DIR/diagnoses/; the cells table of DIR then shows the first divergence.")


def add_arguments(parser) -> None:
    options.add_plan_arguments(parser)
    option_groups.dataset(parser)
    option_groups.results_folder(parser)
    parser.add_argument("--from", dest="from_dir", type=Path, metavar="DIR",
                        help="diagnose the cells of this bench run folder that did not reproduce, with its plan "
                             "(narrow it with --tf and --configs)")
    parser.add_argument("--pairs", type=options.positive_int, default=1, metavar="N",
                        help="pairs of traced trials per cell (default 1)")
    parser.add_argument("--keep-traces", action="store_true",
                        help="keep the traces (every step's digests and snapshots) under DIR/diagnoses/traces/")
    parser.add_argument("--format", default="github", choices=tables.FORMATS, help="table format")
    option_groups.backend(parser)
    option_groups.tf_versions(parser)
    option_groups.interpreter(parser)
    option_groups.environments(parser)
    option_groups.gpus(parser)
    parser.add_argument("--parallel", action="store_true", help="with several GPUs: one trial per GPU at a time")
    option_groups.budget(parser)
    option_groups.trial_environment(parser)
    option_groups.images(parser)


def main(arguments) -> int:
    try:
        found = diagnose.run(arguments)
    except diagnose.NothingToDiagnose as nothing:  # an answer, not a failure
        print(nothing)
        return 0
    print(tables.render(views.diagnoses_table(found), arguments.format), end="")
    return 0
