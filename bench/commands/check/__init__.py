"""bench check: validate result trees; exit 1 listing every problem."""

from pathlib import Path

from bench.commands.check import expectations, validate
from bench.errors import UserError
from bench.commands.option_groups import positive_int

NAME = "check"
HELP = "validate result trees before publishing them"
DESCRIPTION = validate.__doc__.split("\n\n")[1].replace("\n", " ")


def add_arguments(parser) -> None:
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="result folders")
    parser.add_argument("--min-repeats", type=positive_int, default=2, metavar="N",
                        help="trials each process-protocol cell needs (default 2)")
    parser.add_argument("--allow-failed", action="store_true",
                        help="accept trees holding failed (error or timeout) trials, to publish the "
                             "failures as results (unsupported trials are always accepted)")
    parser.add_argument("--require", action="append", default=[], metavar="EXPECTATION",
                        help="what every cell of a config must show, e.g. full=match<=5%% (match, with a run "
                             "differing at most 5 %% of the time at 95 %%: 59 identical runs) or none=mismatch; "
                             "in-process:seeds=match for the other protocol; repeat it or comma-separate")


def main(arguments) -> int:
    found = validate.problems(arguments.paths, arguments.min_repeats, arguments.allow_failed,
                              expectations.parse(arguments.require))
    if found:
        for problem in found:
            print(problem)
        raise UserError(f"{len(found)} problem{'' if len(found) == 1 else 's'} in {', '.join(map(str, arguments.paths))}")
    print(f"ok: {', '.join(map(str, arguments.paths))}")
    return 0
