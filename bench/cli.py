"""Command line: ``python -m bench COMMAND`` (or ``repro-bench COMMAND``); one module per command."""

import argparse
import sys

from bench.commands import check, compose, data, envs, gpus, images, preflight, publish, report, run
from bench.errors import UsageError, UserError

COMMANDS = (run, preflight, report, check, publish, envs, gpus, images, data, compose)
DESCRIPTION = ("Is TensorFlow training bit-for-bit repeatable, and what does control cost? "
               "Trains the published Keras MLP on MNIST several times under three levels of "
               "control (none, seeds, full) and tabulates match/mismatch and overhead.")


class Parser(argparse.ArgumentParser):
    """argparse, but errors are one line (``error: ...``) and exit with status 2."""

    def error(self, message):
        raise UsageError(f"{message} (see {self.prog} --help)")


def build_parser() -> Parser:
    parser = Parser(prog="bench", description=DESCRIPTION)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    subparsers.required = True
    for command in COMMANDS:
        command.add_arguments(subparsers.add_parser(command.NAME, help=command.HELP,
                                                    description=command.DESCRIPTION))
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        arguments = build_parser().parse_args(argv)
        command = next(command for command in COMMANDS if command.NAME == arguments.command)
        return command.main(arguments)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("error: interrupted; finished trials are kept, run again with the same --out to resume",
              file=sys.stderr)
        return 130
