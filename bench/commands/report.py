"""bench report: tabulate one or more result folders (merged)."""

from pathlib import Path

from bench import report, results
from bench.worker.jsonfile import write_text_atomic

NAME = "report"
HELP = "tabulate result folders"
DESCRIPTION = "Read trial result files and print one table row per TF version x device x protocol x config."


def add_arguments(parser) -> None:
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                        help="result folders (or single trial files); several are merged")
    parser.add_argument("--format", default="github", choices=report.FORMATS,
                        help="github (Markdown, default), plain, csv or json")
    parser.add_argument("--output", type=Path, metavar="FILE",
                        help="also write the table to FILE (atomically)")


def main(arguments) -> int:
    text = report.render(report.build_cells(results.load(arguments.paths)), arguments.format)
    if arguments.output:
        write_text_atomic(str(arguments.output), text)
    print(text, end="")
    return 0
