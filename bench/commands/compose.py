"""bench compose: write a compose file for a chosen set of TF versions."""

import re
from pathlib import Path

from bench.launchers import compose_file
from bench.commands import option_groups
from bench.environments import catalog
from bench.errors import UsageError
from bench.runner import options, run_plan
from bench.trial.jsonfile import write_json_atomic, write_text_atomic

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
    parser.add_argument("--plan", type=Path, metavar="FILE",
                        help="the plan its services run by default (from `bench run ... --write-plan FILE`; "
                             "default: the repository's compose/plan.json; BENCH_PLAN still overrides it)")
    parser.add_argument("--output", type=option_groups.output_file, metavar="FILE",
                        help="write here instead of printing; with --experiment, its plan goes beside it "
                             "(FILE's name with .plan.json)")


def main(arguments) -> int:
    minors = tuple(version.minor for version in catalog.parse_list(arguments.tf))
    experiment, plan_file = None, compose_file.PLAN_FILE
    if arguments.plan:
        option_groups.from_file(arguments.plan, {})  # one line where it is not a plan
        plan_file = _safe(str(arguments.plan.resolve()), "--plan")
    if arguments.experiment:
        if not arguments.output:
            raise UsageError("--experiment needs --output FILE: its plan is written beside the compose file")
        if arguments.plan:
            raise UsageError("--experiment makes the plan its services run; leave --plan out")
        try:
            chosen = options.with_experiment(run_plan.RunPlan(experiment=arguments.experiment, repeats=5))
        except ValueError as problem:
            raise UsageError(str(problem)) from None
        experiment = _safe(str(Path(arguments.experiment).resolve()), "--experiment")
        plan_file = _safe(str(arguments.output.resolve().with_suffix(".plan.json")), "--output")
        write_json_atomic(plan_file, compose_file.plan(chosen).to_json())
    text = compose_file.render(minors, experiment, plan_file)
    if arguments.output:
        write_text_atomic(str(arguments.output), text)
    else:
        print(text, end="")
    return 0


def _safe(path: str, option: str) -> str:
    if not SAFE_PATH.match(path):
        raise UsageError(f"{option} {path}: a compose file needs a path of letters, digits and ._/- only; "
                         "copy the file to such a path")
    return path
