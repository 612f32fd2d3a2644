"""Where progress and notes for the user go: standard error, so tables on stdout stay clean."""

import sys


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
