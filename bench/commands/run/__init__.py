"""bench run: run trials (local processes or containers), write result files, print the table."""

import os
import shlex
import shutil
import sys
from pathlib import Path

from bench import console
from bench.commands.run import benchmark
from bench.errors import UsageError
from bench.commands import option_groups
from bench.report import tables, views
from bench.report.cells import build_cells
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
    option_groups.table_format(parser, html="a page")
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
    cells = build_cells(finished.loaded)
    if finished.loaded:
        print(tables.render(views.build("cells", finished.loaded, cells), option_groups.shown_format(arguments),
                            console.width()), end="", flush=True)
    # The next steps where there are results to take them on (none finished: nothing to report).
    console.say(("\n" if finished.loaded else "") + "\n".join(
        filter(None, [finished.outcome, next_steps(finished.tree.root, cells) if finished.loaded else None])))
    return finished.exit_status


def next_steps(folder: str, cells: list) -> str:
    """Where the results are and what to run next, for the end of a run: each command whole,
    continued on a further line (a shell's `` \\``) where a terminal is too narrow for it."""
    bench, where = invocation(), shlex.quote(str(folder))
    steps = [("every view and the plots in one page, for a browser:",
              [bench, "report", where, "--format", "html", "--output",
               shlex.quote(os.path.join(str(folder), "report.html"))])]
    if any(cell.verdict == "mismatch" for cell in cells):
        steps.append(("where the runs of a mismatch part (first step, layer and phase):",
                      [bench, "diagnose", "--from", where]))
    bounds = [cell.divergence_bound for cell in cells if cell.divergence_bound is not None]
    if bounds and max(bounds) > 0.05:
        steps.append(("more repeats, until a match means a run differs at most 5 % of the time (59 in a row):",
                      [bench, "run", "--resume", where, "--until", "5%"]))
    steps.append(("the whole table (every column) as Markdown:", [bench, "report", where, "--format", "github"]))
    width = console.width(sys.stderr) if console.is_terminal(sys.stderr) else None
    return "\n".join([f"Results: {folder}. Next:"] + [line for what, words in steps
                                                      for line in (f"  {what}", _command(words, "    ", width))])


def _command(words: list[str], indent: str, width: int | None) -> str:
    """A command line, broken between its words (`` \\`` and a deeper indent) to fit ``width``."""
    lines = [indent + words[0]]
    for word in words[1:]:
        if width and len(lines[-1]) + 1 + len(word) + 2 > width:
            lines[-1] += " \\"
            lines.append(indent + "  " + word)
        else:
            lines[-1] += " " + word
    return "\n".join(lines)


def invocation() -> str:
    """How this program was started, to run it again: ``python -m bench`` with this interpreter
    (its path relative to the working folder where it lies within), or ``repro-bench``."""
    program = sys.argv[0] if sys.argv else ""
    if Path(program).name == "repro-bench":  # the installed command: by name where PATH finds this one
        found = shutil.which("repro-bench")
        try:
            same = bool(found) and os.path.samefile(found, program)
        except OSError:  # argv[0] a bare name, not a path here
            same = bool(found)
        return "repro-bench" if same else shlex.quote(_relative(program))
    return f"{shlex.quote(_relative(sys.executable or 'python3'))} -m bench"


def _relative(path: str) -> str:
    """A path as short as it goes: relative to the working folder where it lies within it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive
        return path
    return path if relative.startswith("..") else relative


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

