"""A trial result as a file: strict JSON written atomically, read back as the current schema.

Every reader of trial files goes through ``read`` (the runner resuming a folder, the host's
reports and checks), so a damaged file fails in one place, with one line that says what is
wrong with it: not JSON, cut short, not an object, a field missing or of the wrong type,
a bare ``NaN`` in a schema that writes non-finite numbers as text (bench.trial.floats).
"""

import json

from bench.trial import jsonfile, result as result_document, upgrade

BARE_CONSTANTS = ("NaN", "Infinity", "-Infinity")


class Damaged(ValueError):
    """A trial file that is not a valid trial result; the message (one line) says why."""


def read(path: str) -> dict:
    """The trial result in ``path``, upgraded to the current schema and checked; Damaged where
    it is not one (OSError where it cannot be opened at all)."""
    bare = []

    def constant(name: str) -> float:  # json's own reading of NaN and Infinity, noted
        bare.append(name)
        return float(name)

    try:
        with open(path) as stream:
            document = json.load(stream, parse_constant=constant)
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError
        raise Damaged("not readable JSON (%s)" % _one_line(error))
    except RecursionError:
        raise Damaged("not readable JSON (nested too deeply)")
    if not isinstance(document, dict):
        raise Damaged("not a JSON object but a %s" % type(document).__name__)
    written = document.get("schema_version")
    if bare and isinstance(written, int) and written >= 3:
        raise Damaged("holds a bare %s, which is not JSON (this schema writes non-finite numbers as text)" % bare[0])
    try:
        document = result_document.decoded(upgrade.to_current(document))
    except (upgrade.UpgradeError, ValueError) as error:
        raise Damaged(_one_line(error))
    found = result_document.problems(document)
    if found:
        raise Damaged("; ".join(found))
    return document


def write(path: str, document: dict) -> None:
    """Write a result document (non-finite floats as text), atomically; ValueError where it
    still holds a float JSON cannot keep (a bug: the fields that may are encoded)."""
    jsonfile.write_json_atomic(path, result_document.encoded(document))


def _one_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
