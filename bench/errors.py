"""The one error type a user sees: printed as a single ``error: ...`` line, non-zero exit."""

from __future__ import annotations


class UserError(Exception):
    """Something the user can fix; the message says what to do."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


def first_line(error: Exception, default: str, limit: int | None = None) -> str:
    """The first line of an error's text (what a one-line message quotes), or ``default``."""
    return (str(error).strip().splitlines() or [default])[0][:limit]


class UsageError(UserError):
    """Bad arguments or input (exit status 2, as argparse uses)."""

    def __init__(self, message: str):
        super().__init__(message, exit_code=2)
