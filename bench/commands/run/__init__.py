"""bench run: run trials (local processes or containers), write result files, print the table."""

from pathlib import Path

from bench.commands.run import benchmark
from bench.errors import UsageError
from bench.commands import option_groups
from bench.report import tables, views
from bench.commands.option_groups import positive_int
from bench.trial.jsonfile import read_json, write_json_atomic

NAME = "run"
HELP = "run trials and print the table"
DESCRIPTION = ("Run every config x repeat as fresh processes (or containers), write one result "
               "file per trial under --out, then print the table. Running again into the same "
               "--out with the same plan resumes. Exit status: 0 every trial ok, 1 some trial "
               "failed, 2 unusable arguments, 3 the --budget ran out, 128+n stopped by signal n.")


def add_arguments(parser) -> None:
    option_groups.plan_settings(parser)
    option_groups.plan_file(parser)
    option_groups.results_folder(parser)
    parser.add_argument("--resume", type=Path, default=None, metavar="DIR",
                        help="continue the run in DIR with the plan recorded there (configs, repeats, "
                             "versions, settings), skipping finished trials; plan flags that contradict "
                             "it are refused")
    option_groups.table_format(parser)
    option_groups.gpus(parser)
    option_groups.parallel(parser)
    parser.add_argument("--jobs", type=positive_int, metavar="N",
                        help="with --no-timing: trials side by side on each machine (default: its cores)")
    option_groups.budget(parser)
    parser.add_argument("--retry-failed", action="store_true",
                        help="run the folder's error and timeout trials again (their results move to "
                             "DIR/failed/ and are named by the new ones)")
    parser.add_argument("--archive", type=Path, metavar="DIR",
                        help="after every finished trial, write DIR/<results folder name>.tar.gz with the "
                             "results so far (weights left out), replacing the previous one atomically: "
                             "a run cut short leaves everything it finished")
    option_groups.memory(parser)
    option_groups.images(parser)


def main(arguments) -> int:
    session = benchmark.Session.of(arguments)
    if arguments.write_plan:  # the plan as a document, for --plan, a launcher or CI
        if arguments.resume:
            raise UsageError("--write-plan writes the plan these options make; --resume DIR already has one "
                             "(DIR/plan.json): give one of them")
        run_plan = option_groups.plan_of(arguments)
        _writable_plan_file(arguments.write_plan)
        write_json_atomic(str(arguments.write_plan), run_plan.to_json())
        print(f"wrote {arguments.write_plan}: run it with `bench run --plan {arguments.write_plan} --out DIR`")
        return 0
    if arguments.resume and arguments.plan:
        raise UsageError(f"--resume {arguments.resume} runs the plan recorded there, and --plan {arguments.plan} names "
                         "another document: give one of them")
    finished = benchmark.run(None if arguments.resume else option_groups.plan_of(arguments), session)
    if finished.loaded:
        print(tables.render(views.build("cells", finished.loaded), arguments.format), end="")
    return finished.exit_status


def _writable_plan_file(path: Path) -> None:
    """--write-plan replaces a plan document, never a results folder's record (its plan.json)
    or another file."""
    if not path.exists():
        return
    try:
        document = read_json(str(path))
    except (OSError, ValueError):
        document = None
    if not isinstance(document, dict) or set(document) != {"schema_version", "settings"} or \
            (path.parent / "trials").is_dir():
        raise UsageError(f"--write-plan {path}: the file is there and is not a plan document (a results folder's "
                         "plan.json is its record: leave it, or continue that folder with --resume); give another file")

