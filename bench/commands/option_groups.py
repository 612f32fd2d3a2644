"""Options that several commands take, each declared once (as asv's common_args): a command
calls the groups it needs, so names, defaults and help texts cannot drift apart. The plan's
own settings (configs, repeats, epochs, ...) are declared with the plan
(bench.runner.run_plan.SETTINGS), and made into options here (``plan_settings``)."""

import argparse
from pathlib import Path

from bench.errors import UsageError
from bench.results import folder_plan
from bench.runner import options, run_plan
from bench.runner.run_plan import RunPlan


def _typed(parse, name):
    """An argparse type that keeps the one-line reason of a ValueError."""
    def typed(text):
        try:
            return parse(text)
        except ValueError as problem:
            raise argparse.ArgumentTypeError(str(problem)) from None
    typed.__name__ = name
    return typed


positive_int = _typed(run_plan.Setting("count", None, "count", "").parse, "count")
positive_float = _typed(run_plan.Setting("seconds", None, "seconds", "").parse, "seconds")
name_list = _typed(run_plan.Setting("names", None, "names", "").parse, "names")


def plan_settings(parser, names=None, defaults=None) -> None:
    """The options of the plan's settings (``names``: these only, default all); ``defaults``
    replaces a setting's default for this command (bench images --tf all)."""
    defaults = defaults or {}
    group = parser.add_argument_group("the plan (bench/runner/run_plan.py)")
    for setting in run_plan.SETTINGS:
        if names is not None and setting.name not in names:
            continue
        default = defaults.get(setting.name, setting.default)
        helped = setting.help + (f" (default: {default})" if setting.name in defaults else "")
        common = {"dest": setting.name, "help": helped}
        if setting.kind == "switch":
            group.add_argument(setting.flag, action="store_true", **common)
        elif setting.kind == "repeated":
            group.add_argument(setting.flag, action="append", default=list(default), metavar=setting.metavar, **common)
        elif setting.name == "overlap":
            group.add_argument(setting.flag, nargs="?", const="auto", default=default, choices=setting.choices,
                               metavar=setting.metavar, **common)
            group.add_argument("--no-overlap", dest="overlap", action="store_const", const="off",
                               help="one trial after the other: none starts before the one before it has ended")
        elif setting.kind == "choice":
            group.add_argument(setting.flag, default=default, choices=setting.choices, **common)
        else:
            group.add_argument(setting.flag, type=_typed(setting.parse, setting.kind), default=default,
                               metavar=setting.metavar, **common)


def plan_of(arguments) -> RunPlan:
    """The RunPlan of parsed arguments (with --plan FILE: that file's plan, which plan
    options may not contradict), built once; one line where it is unusable."""
    explicit = getattr(arguments, "explicit", set())
    given = {setting.name: getattr(arguments, setting.name) for setting in run_plan.SETTINGS
             if hasattr(arguments, setting.name)}
    try:
        if getattr(arguments, "plan", None):
            return from_file(arguments.plan, {name: value for name, value in given.items() if name in explicit})
        return options.with_experiment(RunPlan(**given), explicit)
    except ValueError as problem:
        raise UsageError(str(problem)) from None


def from_file(path: Path, given: dict) -> RunPlan:
    """A plan file's RunPlan; options given beside it (``given``) may place it on a stack
    (--tf, --backend, --python, ...) and say how fast, never change its experiment."""
    from bench.trial.jsonfile import read_json
    try:
        document = read_json(str(path))
    except (OSError, ValueError) as problem:
        raise UsageError(f"--plan {path}: cannot be read ({problem}); write one with `bench run --write-plan FILE`")
    try:
        if isinstance(document, dict) and ("trials" in document or "plan" in document):  # a folder's plan.json
            document = folder_plan.upgraded(document)["plan"]
        found = RunPlan.from_json(document)
    except (ValueError, TypeError) as problem:
        raise UsageError(f"--plan {path}: not a plan ({problem})") from None
    experiment = [name for name in given if run_plan.BY_NAME[name].part == "experiment"]
    if experiment:
        raise UsageError(f"--plan {path} is the plan; {', '.join(run_plan.BY_NAME[n].flag for n in experiment)} "
                         "would change it: edit the file, or leave --plan out")
    try:
        return found.replace(**given)
    except ValueError as problem:
        raise UsageError(str(problem)) from None


def output_file(text: str) -> Path:
    """A file to write (--output): a folder there is refused, before anything is written."""
    if Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; give a file name, e.g. {Path(text) / 'table.md'}")
    return Path(text)


def table_format(parser, html: str = "a page") -> None:
    """--format, whose default is a terminal's table on a terminal and Markdown elsewhere
    (shown_format); ``html``: what the html format gives."""
    from bench.report import tables
    parser.add_argument("--format", default=None, choices=tables.FORMATS,
                        help=f"terminal (the columns that matter, within 120 columns, no Markdown), github (Markdown: "
                             f"every column), plain, csv, json or html ({html}) (default: terminal where the output "
                             "is a terminal, else github)")


def shown_format(arguments) -> str:
    """The table format to print: the one asked for, else console.table_format's."""
    from bench import console
    return arguments.format or console.table_format()


def parallel(parser) -> None:
    parser.add_argument("--parallel", action="store_true",
                        help="with several GPUs: run one trial per GPU at the same time (faster determinism "
                             "checks; timings are then not compared)")


def gpus(parser) -> None:
    parser.add_argument("--gpus", type=name_list, default=None, metavar="IDS",
                        help="GPUs to use, by index or UUID (e.g. 0,1), or all (nvidia-smi); each "
                             "trial gets one GPU alone, handed out in turn (default: none)")


def images(parser) -> None:
    """Worker images and the Docker engines they are built on and run on."""
    group = parser.add_argument_group("docker images and engines")
    group.add_argument("--host", dest="hosts", action="append", metavar="URL",
                       help="a Docker engine: unix:///var/run/docker.sock, tcp://host:2376, "
                            "ssh://user@host or a Docker context name; repeat it for several hosts "
                            "(a run's hosts share its trials as a work queue; an image is built on the "
                            "first and copied to the others) (default: DOCKER_HOST or the local socket)")
    group.add_argument("--ca-bundle", metavar="PEM", default=None,
                       help="extra CA bundle for pip inside image builds (networks that intercept "
                            "TLS); passed as a BuildKit secret, never stored")
    group.add_argument("--rebuild", action="store_true", help="rebuild images even if current")


def plan_file(parser) -> None:
    parser.add_argument("--plan", type=Path, metavar="FILE",
                        help="run this plan document (a folder's plan.json, or one written by --write-plan) "
                             "instead of plan options; options of where and how fast may go with it")
    parser.add_argument("--write-plan", type=output_file, metavar="FILE",
                        help="write the plan these options make into FILE (a JSON document for --plan, "
                             "launchers and CI) and run nothing")


def results_folder(parser) -> None:
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="results folder (default: runs/<UTC time>); an existing one with the same "
                             "plan is resumed, skipping finished trials")


def memory(parser) -> None:
    parser.add_argument("--memory", metavar="SIZE", help="docker backend: memory limit per container, e.g. 8g")


def budget(parser) -> None:
    parser.add_argument("--budget", type=positive_float, metavar="SECONDS",
                        help="wall-clock budget: trials go by value (every cell once more before any further "
                             "repeat), a trial starts only where it can end in the time left (judged by the "
                             "trials measured so far), one stopped by the end of the budget is not recorded; "
                             "run again to continue (default: no limit)")
