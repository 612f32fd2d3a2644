"""Command line: ``python -m bench COMMAND`` (or ``repro-bench COMMAND``); one module per command."""

import argparse
import signal
import sys

from bench import __version__, console
from bench.commands import check, compose, data, diagnose, envs, gpus, images, k8s, preflight, publish, report, run, slurm
from bench.errors import UsageError, UserError

COMMANDS = (run, diagnose, preflight, slurm, k8s, report, check, publish, envs, gpus, images, data, compose)
DESCRIPTION = ("Is TensorFlow training bit-for-bit repeatable, and what does control cost? "
               "Trains the published Keras MLP on MNIST several times under three levels of "
               "control (none, seeds, full) and tabulates match/mismatch and overhead.")
DOCS = "docs: docs/index.md in the repository, or the site built by `mkdocs build`"


class Parser(argparse.ArgumentParser):
    """argparse, but errors are one line (``error: ...``) and exit with status 2, and options
    are never abbreviated (so that the flags a user gave can be told apart: ``explicit``)."""

    def __init__(self, *arguments, **options):
        options.setdefault("allow_abbrev", False)
        super().__init__(*arguments, **options)

    def error(self, message):
        raise UsageError(f"{message} (see {self.prog} --help)")


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP: handled like Ctrl-C (running trials stopped, finished ones kept)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _terminate(signum, frame):
    raise Terminated(signum)


class Version(argparse.Action):
    """--version: the suite's version and where its documentation is, one line each."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"repro-bench {__version__}\n{DOCS}")
        parser.exit()


def build_parser() -> Parser:
    parser = Parser(prog="bench", description=DESCRIPTION, epilog=DOCS)
    parser.add_argument("--version", action=Version, help="print the version and where the documentation is")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    subparsers.required = True
    for command in COMMANDS:
        subparser = subparsers.add_parser(command.NAME, help=command.HELP, description=command.DESCRIPTION,
                                          epilog=f"docs: docs/cli.md (bench {command.NAME}) in the repository, "
                                                 "or the site built by `mkdocs build`")
        command.add_arguments(subparser)
        subparser.set_defaults(_parser=subparser)
    return parser


def explicit(parser: argparse.ArgumentParser, argv: list[str]) -> set[str]:
    """The destinations of the options given on the command line (not left at their default)."""
    given = {word.split("=", 1)[0] for word in argv if word.startswith("-")}
    return {action.dest for action in parser._actions if given & set(action.option_strings)}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) == signal.SIG_DFL:  # one ignored on purpose (nohup) stays ignored
            signal.signal(signum, _terminate)
    try:
        arguments = build_parser().parse_args(argv)
        arguments.explicit = explicit(arguments._parser, argv)
        del arguments._parser
        command = next(command for command in COMMANDS if command.NAME == arguments.command)
        return command.main(arguments)
    except UserError as error:
        console.say(f"error: {error}")
        return error.exit_code
    except KeyboardInterrupt as interruption:
        signum = interruption.signum if isinstance(interruption, Terminated) else signal.SIGINT
        how = "interrupted" if signum == signal.SIGINT else "stopped by " + signal.Signals(signum).name
        console.say(f"error: {how}; running trials were stopped and finished ones are kept: run again with the same "
                    "--out to resume")
        return 128 + signum
    except BrokenPipeError:  # output piped into a program that stopped reading (head)
        sys.stderr.close()
        return 128 + signal.SIGPIPE
    except OSError as error:  # a file the user named (--output, a folder) that cannot be written or read
        where = f" ({error.filename})" if error.filename else ""
        console.say(f"error: {error.strerror or error}{where}")
        return 1
