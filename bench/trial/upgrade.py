"""Older documents read as the current schema, one step at a time (as asv does): one
mechanism for every versioned document of a results folder. Each kind registers its current
version and its steps (``register``); this module holds the trial result's own. Trees written
by earlier versions of the suite (the published CPU matrix among them) stay readable without
rewriting their files: readers upgrade each document in memory (``to_current``).

Kinds: ``trial`` (here), ``plan`` (bench.runner.run_plan), ``plan.json``
(bench.results.folder_plan), ``manifest`` (bench.runner.manifest), ``machine``
(bench.environments.machine), ``diagnosis`` (bench.results.traces). A document of any kind
but ``trial`` that carries no ``schema_version`` was written before its kind had one: version
0 (a trial file without one is not a trial file).

The trial result's steps:

* 1 -> 2: ``mechanism`` was a list of lines of prose ("TF_DETERMINISTIC_OPS=1 (set before
  import)"); it becomes a list of structured entries (bench.trial.controls).
* 2 -> 3: non-finite floats were bare ``NaN``/``Infinity`` (not JSON); schema 3 writes them
  as text (bench.trial.floats), and its trials record the experiment file they executed. A
  schema 2 document, once parsed, already holds the floats: only its version changes.

Worker side (Python 3.6): a runner resuming a folder reads its trial files through this too.
"""

import re
from typing import Any, Callable, Dict, List, Mapping, Tuple

from bench.trial import controls
from bench.trial.result import SCHEMA_VERSION


class UpgradeError(ValueError):
    """A document that claims an older schema but cannot be read as it."""


# kind -> (current version, {version: the step from it to the next})
KINDS: Dict[str, Tuple[int, Mapping[int, Callable[[dict], dict]]]] = {}


def register(kind: str, current: int, steps: Mapping[int, Callable[[dict], dict]]) -> None:
    """Declare a kind of document: its current schema version and the step from each older one."""
    assert max(steps, default=current - 1) + 1 == current, "%s: add the step to the current schema" % kind
    KINDS[kind] = (current, steps)


def to_current(document: Any, kind: str = "trial") -> dict:
    """The document in the current schema of its kind (the same object when it already is);
    UpgradeError where it claims a version this code does not know."""
    current, steps = KINDS[kind]
    if not isinstance(document, dict):
        raise UpgradeError("a %s document is a JSON object" % kind)
    version = document.get("schema_version", None if kind == "trial" else 0)
    while isinstance(version, int) and not isinstance(version, bool) and version in steps:
        document = steps[version](document)
        version = document["schema_version"]
    if kind != "trial" and version != current:
        raise UpgradeError("%s schema_version %r is not one this version reads (0 to %d)" % (kind, version, current))
    return document


def versioned(kind: str, document: dict) -> dict:
    """``document`` as written now: with its kind's current schema version first."""
    out = {"schema_version": KINDS[kind][0]}
    out.update((key, value) for key, value in document.items() if key != "schema_version")
    return out


# "NAME=VALUE (set before start|import)"
_ENVIRONMENT_LINE = re.compile(r"^(?P<name>[A-Z_]+)=(?P<value>\S+) \(set before (?P<when>start|import)\)$")
_SEED_CALL = re.compile(r"^(?P<name>[\w.]+)\((?P<seed>-?\d+)\)$")
_HASH_SEED = "PYTHONHASHSEED"
# Version 1 wrote these lines as they were, without a moment: what they were and when they ran.
_CALLS_AFTER_IMPORT = {
    "tf.config.experimental.enable_op_determinism()":
        controls.call("determinism", "tf.config.experimental.enable_op_determinism"),
    "torch.use_deterministic_algorithms(True)": controls.call("determinism", "torch.use_deterministic_algorithms", True),
    "torch.backends.cudnn.benchmark = False": controls.attribute("determinism", "torch.backends.cudnn.benchmark", False),
}


def _from_1(document: dict) -> dict:
    upgraded = dict(document, schema_version=2)
    lines = document.get("mechanism") or []
    if not isinstance(lines, list):
        raise UpgradeError("schema 1 mechanism is not a list of lines")
    upgraded["mechanism"] = [entry for line in lines for entry in _entries_of(line)]
    return upgraded


def _entries_of(line: Any) -> List[dict]:
    if not isinstance(line, str):
        raise UpgradeError(f"schema 1 mechanism line not understood: {line!r}")
    environment = _ENVIRONMENT_LINE.match(line)
    if environment:
        name = environment.group("name")
        role = "hash seed" if name == _HASH_SEED else "determinism"
        when = controls.BEFORE_START if environment.group("when") == "start" else controls.BEFORE_IMPORT
        return controls.at(when, [controls.environment(role, name, environment.group("value"))])
    if line in _CALLS_AFTER_IMPORT:
        return controls.at(controls.AFTER_IMPORT, [_CALLS_AFTER_IMPORT[line]])
    if line.endswith(" (before each model)"):
        calls = [_SEED_CALL.match(part.strip()) for part in line[:-len(" (before each model)")].split(";")]
        if all(calls):
            return controls.at(controls.BEFORE_EACH_MODEL,
                               [controls.call("seed", call.group("name"), int(call.group("seed"))) for call in calls])
    raise UpgradeError(f"schema 1 mechanism line not understood: {line!r}")


def _from_2(document: dict) -> dict:
    return dict(document, schema_version=3)


STEPS = {1: _from_1, 2: _from_2}
register("trial", SCHEMA_VERSION, STEPS)
