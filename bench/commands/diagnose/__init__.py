"""bench diagnose: where two runs part, by step, layer and phase."""

from pathlib import Path

from bench.commands.diagnose import pairs
from bench.commands.run import benchmark
from bench import console
from bench.commands import option_groups
from bench.report import tables, views
from bench.errors import UsageError
from bench.runner import run_plan

NAME = "diagnose"
HELP = "find the first step, layer and phase at which two runs part"
DESCRIPTION = ("Run pairs of traced trials (fresh processes) per cell and compare them step by step: "
               "the first divergence (initialization, forward, backward/update, or none), its epoch, "
               "step and variables, the size of the difference there and how it grows. With --from "
               "DIR, the cells of a bench run folder that did not reproduce, with its plan. Results go "
               "to DIR/diagnoses/; the cells table of DIR then shows the first divergence.")


def add_arguments(parser) -> None:
    option_groups.plan_settings(parser)
    option_groups.results_folder(parser)
    parser.add_argument("--from", dest="from_dir", type=Path, metavar="DIR",
                        help="diagnose the cells of this bench run folder that did not reproduce, with its plan "
                             "(narrow it with --tf and --configs)")
    parser.add_argument("--pairs", type=option_groups.positive_int, default=1, metavar="N",
                        help="pairs of traced trials per cell (default 1)")
    parser.add_argument("--keep-traces", action="store_true",
                        help="keep the traces (every step's digests and snapshots) under DIR/diagnoses/traces/")
    option_groups.table_format(parser, html="a page")
    option_groups.gpus(parser)
    option_groups.parallel(parser)
    option_groups.budget(parser)
    option_groups.memory(parser)
    option_groups.images(parser)


def main(arguments) -> int:
    try:
        session = benchmark.Session.of(arguments)
        with_experiment = arguments.from_dir is None  # --from: the folder's own experiment
        chosen = option_groups.plan_of(arguments) if with_experiment else _plan_as_given(arguments)
        found = pairs.run(chosen, session, arguments.from_dir, arguments.pairs, arguments.keep_traces)
    except pairs.NothingToDiagnose as nothing:  # an answer, not a failure
        print(nothing)
        return 0
    print(tables.render(views.diagnoses_table(found), option_groups.shown_format(arguments), console.width()), end="")
    return 0


def _plan_as_given(arguments) -> run_plan.RunPlan:
    """The plan options as given (for --from, which fills in the folder's own)."""
    try:
        return run_plan.RunPlan(**{setting.name: getattr(arguments, setting.name) for setting in run_plan.SETTINGS})
    except ValueError as problem:
        raise UsageError(str(problem)) from None
