"""bench compose: write a compose file for a chosen set of TF versions."""

import re
from pathlib import Path

from bench.backends import compose_file
from bench.commands import option_groups
from bench.environments import catalog
from bench.errors import UsageError
from bench.trial import user_experiment
from bench.trial.jsonfile import write_text_atomic

SAFE_PATH = re.compile(r"^[A-Za-z0-9._/-]+$")  # written unquoted into YAML and a volume spec

NAME = "compose"
HELP = "write a compose file for chosen TF versions"
DESCRIPTION = ("Print (or write) a compose file like the repository's compose.yaml for the "
               "versions given; use it from the repository root: "
               "docker compose -f FILE --project-directory . up")


def add_arguments(parser) -> None:
    parser.add_argument("--tf", default=",".join(compose_file.DEFAULT_SET), metavar="LIST",
                        help="versions in the order they run (default: the repository's set)")
    parser.add_argument("--experiment", metavar="FILE.py",
                        help="run this experiment file (mounted read-only, with its own load_data) instead "
                             "of the article's model; results in compose-<profile>-<file name>")
    parser.add_argument("--output", type=option_groups.output_file, metavar="FILE", help="write here instead of printing")


def main(arguments) -> int:
    minors = tuple(version.minor for version in catalog.parse_list(arguments.tf))
    experiment = None
    if arguments.experiment:
        try:
            user_experiment.describe(arguments.experiment)
        except ValueError as problem:
            raise UsageError(str(problem)) from None
        experiment = str(Path(arguments.experiment).resolve())
        if not SAFE_PATH.match(experiment):
            raise UsageError(f"--experiment {experiment}: a compose file needs a path of letters, digits and "
                             "._/- only; copy the file to such a path")
    text = compose_file.render(minors, experiment)
    if arguments.output:
        write_text_atomic(str(arguments.output), text)
    else:
        print(text, end="")
    return 0
