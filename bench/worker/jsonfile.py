"""Atomic JSON files: a reader sees the old file or the new one, never half of one."""

import json
import os
import tempfile


def write_json_atomic(path, document):
    """Write ``document`` to ``path`` via a temporary file in the same folder and a rename.

    Floats are written with ``repr``, which round-trips exactly, so histories compare
    bit-for-bit after a trip through the file.
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=folder)
    try:
        with os.fdopen(fd, "w") as stream:
            json.dump(document, stream, indent=1, sort_keys=True)
            stream.write("\n")
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def read_json(path):
    with open(path) as stream:
        return json.load(stream)
