"""bench report: tabulate one or more result folders (merged)."""

from pathlib import Path

from bench import console, results
from bench.commands import option_groups
from bench.report import tables, views
from bench.report.cells import build_cells
from bench.trial.jsonfile import write_text_atomic

NAME = "report"
HELP = "tabulate result folders"
DESCRIPTION = ("Read trial result files (several folders are merged) and print a table: cells (one "
               "row per TF version x device x protocol x config), summary (one row per TF "
               "version: all configs side by side) or versions (what the same code and seed "
               "give across TF versions).")


def add_arguments(parser) -> None:
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                        help="result folders (or single trial files); several are merged")
    parser.add_argument("--view", default="cells", choices=views.VIEWS, help="default: cells")
    option_groups.table_format(parser, html="a self-contained page with plots and every view")
    parser.add_argument("--output", type=option_groups.output_file, metavar="FILE",
                        help="also write the table to FILE (atomically; Markdown where no --format is given)")


def main(arguments) -> int:
    loaded = results.load(arguments.paths, say=console.say)
    diagnoses = results.diagnoses(arguments.paths)
    cells = build_cells(loaded, diagnoses)
    if arguments.format == "html":  # the whole page: plots and every view (needs matplotlib)
        from bench.report import html_page
        text = shown = html_page.render(loaded, cells=cells, diagnoses=diagnoses)
    else:
        table = views.build(arguments.view, loaded, cells)
        fmt = option_groups.shown_format(arguments)
        shown = tables.render(table, fmt, console.width())
        # --output: the format asked for, else Markdown (not the terminal's table).
        text = shown if fmt == (arguments.format or "github") else tables.render(table, "github")
    if arguments.output:
        write_text_atomic(str(arguments.output), text)
    print(shown, end="")
    return 0
