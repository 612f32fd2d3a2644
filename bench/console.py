"""Where progress and notes for the user go: standard error, so tables on stdout stay clean.

On a terminal, what is said fits it: a line longer than the terminal (at most ``WIDTH``
columns) is wrapped at word boundaries, its continuation indented. Into a pipe or a file,
lines go as they are (a program reading them gets one message a line).
"""

import os
import shutil
import sys
import textwrap

WIDTH = 120  # the widest a terminal line is made, however wide the terminal


def say(message: str) -> None:
    stream = sys.stderr
    print(fitted(message, width(stream)) if is_terminal(stream) else message, file=stream, flush=True)


def is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # replaced (tests) or closed
        return False


def width(stream=None) -> int:
    """The columns a line on ``stream`` (stdout by default) may take: $COLUMNS, else the width
    of the terminal that stream is (stdout may be a file while stderr is a terminal), at most
    WIDTH and at least 40."""
    columns = shutil.get_terminal_size((WIDTH, 24)).columns  # $COLUMNS, else stdout's terminal
    if not os.environ.get("COLUMNS") and stream is not None and is_terminal(stream):
        try:
            columns = os.get_terminal_size(stream.fileno()).columns
        except (OSError, ValueError, AttributeError):
            pass
    return max(40, min(WIDTH, columns))


def table_format() -> str:
    """The table format where none was asked for: ``terminal`` when stdout is a terminal, else
    ``github`` (Markdown: for a file, a pipe or a program, as it always was)."""
    return "terminal" if is_terminal(sys.stdout) else "github"


def fitted(text: str, columns: int = WIDTH) -> str:
    """Each line of ``text`` at most ``columns`` wide, wrapped at spaces (never inside a word:
    a path or a command longer than a line stays whole); a wrapped line's continuation is
    indented two more than the line (a "- " bullet's: under its text)."""
    lines = []
    for line in text.split("\n"):
        if len(line) <= columns:
            lines.append(line)
            continue
        indent = len(line) - len(line.lstrip())
        lines += textwrap.wrap(line, columns, subsequent_indent=" " * (indent + 2), break_long_words=False,
                               break_on_hyphens=False) or [line]
    return "\n".join(lines)
