"""bench publish: regenerate every generated file from the committed data it comes from."""

from pathlib import Path

from bench.console import say
from bench.errors import UserError

NAME = "publish"
HELP = "regenerate published tables from committed result files"
DESCRIPTION = ("Rewrite every generated file (results/*/table.md and the other tables, plots and pages beside "
               "it, each tree's README.md, compose.yaml) and the generated blocks of README.md and docs/*.md "
               "(result tables, the GPU catalog, the CLI reference) from the result files, the catalog and the "
               "parsers they are computed from.")


def add_arguments(parser) -> None:
    parser.add_argument("--root", type=Path, default=Path("."), help="repository root (default: .)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 listing every stale file")


def main(arguments) -> int:
    from bench.commands.publish import generated as publish  # matplotlib: needed only here and for HTML reports
    stale = publish.publish(arguments.root, check=arguments.check)
    if arguments.check and stale:
        raise UserError(f"stale generated files: {', '.join(map(str, stale))}; run `bench publish`")
    for path in stale:
        say(f"updated {path}")
    return 0
