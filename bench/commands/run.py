"""bench run: run trials (local processes or containers), write result files, print the table."""

from pathlib import Path

from bench import benchmark
from bench.commands import option_groups
from bench.report import tables, views
from bench.runner import options

NAME = "run"
HELP = "run trials and print the table"
DESCRIPTION = ("Run every config x repeat as fresh processes (or containers), write one result "
               "file per trial under --out, then print the table. Running again into the same "
               "--out with the same plan resumes. Exit status: 0 every trial ok, 1 some trial "
               "failed, 2 unusable arguments, 3 the --budget ran out, 128+n stopped by signal n.")


def add_arguments(parser) -> None:
    options.add_plan_arguments(parser)
    option_groups.dataset(parser)
    option_groups.results_folder(parser)
    parser.add_argument("--resume", type=Path, default=None, metavar="DIR",
                        help="continue the run in DIR with the plan recorded there (configs, repeats, "
                             "versions, settings), skipping finished trials; plan flags that contradict "
                             "it are refused")
    parser.add_argument("--format", default="github", choices=tables.FORMATS, help="table format")
    parser.add_argument("--machine", metavar="NAME",
                        help="a name for this machine in reports, e.g. lab-a100-1 (default: host name)")
    option_groups.backend(parser)
    option_groups.tf_versions(parser)
    option_groups.interpreter(parser)
    option_groups.environments(parser)
    option_groups.gpus(parser)
    parser.add_argument("--parallel", action="store_true",
                        help="with several GPUs: run one trial per GPU at the same time (faster "
                             "determinism checks; timings are then not compared)")
    parser.add_argument("--no-timing", action="store_true",
                        help="verdicts only: on CPU, run trials side by side (--jobs, default one per core), "
                             "each with the framework's own thread pools; verdicts and weight digests are those "
                             "of a serial run, and no times are reported")
    parser.add_argument("--jobs", type=options.positive_int, metavar="N",
                        help="with --no-timing: trials side by side on each machine (default: its cores)")
    option_groups.overlap(parser)
    option_groups.budget(parser)
    parser.add_argument("--retry-failed", action="store_true",
                        help="run the folder's error and timeout trials again (their results move to "
                             "DIR/failed/ and are named by the new ones)")
    option_groups.trial_environment(parser)
    parser.add_argument("--archive", type=Path, metavar="DIR",
                        help="after every finished trial, write DIR/<results folder name>.tar.gz with the "
                             "results so far (weights left out), replacing the previous one atomically: "
                             "a run cut short leaves everything it finished")
    option_groups.images(parser)


def main(arguments) -> int:
    finished = benchmark.run(arguments)
    if finished.loaded:
        print(tables.render(views.build("cells", finished.loaded), arguments.format), end="")
    return finished.exit_status
