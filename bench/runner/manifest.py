"""A results folder's manifest: the sha256 of every file a run recorded there.

The runner updates ``manifest.json`` (atomically) each time it writes a recorded file: the
plan, machine.json, each trial file, a trial moved to failed/ or damaged/, the frozen
experiment file, a trace, a diagnosis. ``bench check`` compares the folder with it and names
every recorded file that was changed or removed afterwards, and every file in a recorded
place that no run wrote (a trial file copied in by hand). A resumed run sets aside trial
files that differ from it. Final weights (weights/) are not listed: each file is named by
the digest of its arrays, which check recomputes, and the store may be left out on purpose
(archives, published trees).
"""

import hashlib
import os
from typing import Any, Dict, Iterable, List, Optional, Union

from bench.trial import upgrade
from bench.trial.jsonfile import read_json, write_json_atomic

FILE = "manifest.json"
SCHEMA_VERSION = 1
# What a manifest covers: these files and folders at the top of a results folder.
RECORDED = ("plan.json", "plans", "machine.json", "trials", "failed", "damaged", "experiment", "traces", "pairs")


def sha256_of(path: str) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()


def load(root: Union[str, os.PathLike]) -> Optional[Dict[str, str]]:
    """{relative path: sha256} as the folder's manifest records it; None where it has none;
    ValueError where it is not a manifest."""
    path = os.path.join(str(root), FILE)
    if not os.path.exists(path):
        return None
    document = upgrade.to_current(read_json(path), "manifest")
    problem = problems(document)
    if problem:
        raise ValueError("%s is not a manifest (%s)" % (path, problem))
    return dict(document["files"])


def problems(document: Any) -> Optional[str]:
    """What makes ``document`` not a manifest (an object with files: {path: sha256}), or None."""
    files = document.get("files") if isinstance(document, dict) else None
    if not isinstance(files, dict) or not all(isinstance(value, str) for value in files.values()):
        return "an object with files: {path: sha256}"
    return None


def _from_0(document: dict) -> dict:
    """0 -> 1: the first manifests said {"version": 1} instead of a schema_version."""
    upgraded = dict((key, value) for key, value in document.items() if key != "version")
    upgraded["schema_version"] = 1
    return upgraded


upgrade.register("manifest", SCHEMA_VERSION, {0: _from_0})


def present(root: Union[str, os.PathLike]) -> List[str]:
    """The files in the places a manifest covers, as relative paths (scratch files excluded)."""
    root = str(root)
    found = []
    for name in RECORDED:
        top = os.path.join(root, name)
        if os.path.isfile(top):
            found.append(name)
        for folder, _, names in os.walk(top):
            found.extend(_relative(root, os.path.join(folder, file)) for file in names if not file.startswith(".tmp-"))
    return sorted(found)


def differences(root: Union[str, os.PathLike], recorded: Dict[str, str]) -> List[str]:
    """Lines naming each file changed, removed or added since the manifest ``recorded``."""
    lines = []
    here = set(present(root))
    for relative in sorted(recorded):
        path = os.path.join(str(root), relative)
        if relative not in here:
            lines.append("%s was removed after the run recorded it" % relative)
        elif sha256_of(path) != recorded[relative]:
            lines.append("%s was changed after the run recorded it" % relative)
    lines.extend("%s was not written by the run (not in %s)" % (relative, FILE)
                 for relative in sorted(here - set(recorded)))
    return lines


class Manifest(object):
    """The manifest of a folder held by one runner (bench.runner.tree: under its lock)."""

    def __init__(self, root: Union[str, os.PathLike]) -> None:
        self.root = str(root)
        self.damaged = None  # why the manifest found could not be read (bench.runner.tree sets it aside)
        try:
            self.files = load(self.root) or {}
        except (OSError, ValueError) as error:  # recorded anew from here; bench check names the gap
            self.files, self.damaged = {}, str(error)

    def update(self, paths: Iterable[str]) -> None:
        """Record the current content of ``paths`` (relative; a folder stands for every file
        under it; a path that no longer exists is dropped), then write the manifest."""
        for relative in paths:
            relative = relative.replace(os.sep, "/")
            path = os.path.join(self.root, relative)
            for known in [name for name in self.files if name == relative or name.startswith(relative + "/")]:
                del self.files[known]
            if os.path.isfile(path):
                self.files[relative] = sha256_of(path)
            for folder, _, names in os.walk(path):
                for name in names:
                    self.files[_relative(self.root, os.path.join(folder, name))] = sha256_of(os.path.join(folder, name))
        write_json_atomic(os.path.join(self.root, FILE), upgrade.versioned("manifest", {"files": self.files}))

    def changed(self, relative: str) -> bool:
        """Whether a recorded file now differs from what was recorded (False where unrecorded)."""
        expected = self.files.get(relative)
        path = os.path.join(self.root, relative)
        return expected is not None and os.path.isfile(path) and sha256_of(path) != expected


def _relative(root: str, path: str) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")
