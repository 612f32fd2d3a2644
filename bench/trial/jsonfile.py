"""Atomic JSON files: a reader sees the old file or the new one, never half of one."""

import json
import os
import tempfile
from typing import Any


def write_json_atomic(path: str, document: Any) -> None:
    """Write ``document`` to ``path`` via a temporary file in the same folder and a rename.

    Floats are written with ``repr``, which round-trips exactly, so histories compare
    bit-for-bit after a trip through the file. Strict JSON: a NaN or infinity is a ValueError
    (the fields that may hold one write it as text first: bench.trial.floats).
    """
    write_text_atomic(path, json.dumps(document, indent=1, sort_keys=True, allow_nan=False) + "\n")


def read_json(path: str) -> Any:
    """A JSON file, strictly (a bare NaN or Infinity is a ValueError, as every JSON reader but
    Python's says); ValueError also where it nests too deeply to read."""
    with open(path) as stream:
        try:
            return json.load(stream, parse_constant=_refuse)
        except RecursionError:
            raise ValueError("%s nests too deeply to be read" % path)


def _refuse(name: str) -> None:
    raise ValueError("a bare %s, which is not JSON" % name)


def write_text_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, flushed to disk, and a rename."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        with os.fdopen(fd, "w") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes 0600; results are read by other users (containers)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
