"""bench compose: write a compose file for a chosen set of TF versions."""

from pathlib import Path

from bench.backends import compose_file
from bench.environments import catalog
from bench.trial.jsonfile import write_text_atomic

NAME = "compose"
HELP = "write a compose file for chosen TF versions"
DESCRIPTION = ("Print (or write) a compose file like the repository's compose.yaml for the "
               "versions given; use it from the repository root: "
               "docker compose -f FILE --project-directory . up")


def add_arguments(parser) -> None:
    parser.add_argument("--tf", default=",".join(compose_file.DEFAULT_SET), metavar="LIST",
                        help="versions in the order they run (default: the repository's set)")
    parser.add_argument("--output", type=Path, metavar="FILE", help="write here instead of printing")


def main(arguments) -> int:
    minors = tuple(version.minor for version in catalog.parse_list(arguments.tf))
    text = compose_file.render(minors)
    if arguments.output:
        write_text_atomic(str(arguments.output), text)
    else:
        print(text, end="")
    return 0
