"""Two traced runs compared step by step: where they part, in which phase, in which layers.

* initialization: variables differ before the first step (which ones);
* forward: at step s the loss differs while every variable before s was identical;
* backward/update: the loss at s is identical, the variables after s differ (which ones, in
  model order, with the largest difference of each at that step);
* none: identical throughout.

Where they part, the size of the difference comes from the snapshots of that step (exact:
the trace keeps every step while its budget lasts); from there on, the largest difference
of each variable at every snapshot both runs kept is its growth curve.
"""

import json
from pathlib import Path

import numpy

from bench.trial import floats, upgrade

PHASES = ("initialization", "forward", "backward/update", "none")


def load(folder: Path) -> dict:
    """A trace as its trial wrote it (steps.json), with where its snapshots are."""
    trace = json.loads((Path(folder) / "steps.json").read_text())
    for step in trace["steps"]:
        step["loss"] = None if step["loss"] is None else floats.decode(step["loss"])
    trace["folder"] = str(folder)
    return trace


def compare(first: dict, second: dict) -> dict:
    """The first divergence of two traces, and how it grows (see the module's doc)."""
    steps = list(zip(first["steps"], second["steps"]))
    order = _model_order(first, second)
    for before, after in steps:
        if before["step"] == 0:
            differing = [name for name in order if _differs(before, after, name)]
            if differing:
                return _noted(_found("initialization", before, differing, first, second, order), first)
            continue
        if not _same_loss(before["loss"], after["loss"]):
            found = _found("forward", before, [], first, second, order)
            found["loss_difference"] = abs((before["loss"] or 0.0) - (after["loss"] or 0.0))
            return _noted(found, first)
        differing = [name for name in order if _differs(before, after, name)]
        if differing:
            return _noted(_found("backward/update", before, differing, first, second, order), first)
    last = steps[-1][0] if steps else {"step": 0, "epoch": 0, "batch": 0}
    return _noted({"phase": "none", "step": None, "epoch": None, "step_in_epoch": None, "variables": [],
                   "steps_compared": last["step"], "growth": {}}, first)


SCHEMA_VERSION = 1  # 0: written without one (the same fields)


def to_file(diagnosis: dict) -> dict:
    """A diagnosis as its file keeps it: versioned, its differences in strict JSON
    (bench.trial.floats)."""
    return upgrade.versioned("diagnosis", _differences_converted(diagnosis, floats.encode))


def from_file(document: dict) -> dict:
    """A diagnosis read back, upgraded where older; ValueError where a difference is not a
    number, or it claims a version this code does not know."""
    return _differences_converted(upgrade.to_current(document, "diagnosis"), floats.decode)


upgrade.register("diagnosis", SCHEMA_VERSION, {0: lambda document: dict(document, schema_version=1)})


def _differences_converted(diagnosis: dict, convert) -> dict:
    def value(number):
        return None if number is None else convert(number)
    converted = dict(diagnosis)
    for name in ("max_abs_diff", "loss_difference"):
        if name in converted:
            converted[name] = value(converted[name])
    converted["variables"] = [dict(variable, max_abs_diff=value(variable.get("max_abs_diff")))
                              for variable in diagnosis.get("variables") or []]
    converted["growth"] = {name: [[step, value(size)] for step, size in curve]
                           for name, curve in (diagnosis.get("growth") or {}).items()}
    return converted


def _noted(diagnosis: dict, trace: dict) -> dict:
    """Say where the traced trial built a lazily built model before fit (bench.trial.trace)."""
    if trace.get("built_before_fit"):
        diagnosis["built_before_fit"] = True
    return diagnosis


def _same_loss(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return floats.same(a, b)


def _found(phase, at, differing, first, second, order):
    step = at["step"]
    sizes = _differences(first, second, step, differing)
    return {
        "phase": phase, "step": step, "epoch": at["epoch"], "step_in_epoch": at["batch"],
        "variables": [{"name": name, "max_abs_diff": sizes.get(name)} for name in differing],
        "max_abs_diff": max((size for size in sizes.values() if size is not None), default=None),
        "steps_compared": max(len(first["steps"]), len(second["steps"])) - 1,
        "growth": _growth(first, second, step, order),
    }


def _differs(before, after, name):
    a, b = before["digests"].get(name), after["digests"].get(name)
    return a is not None and b is not None and a != b


def _model_order(first, second):
    """Variable names in model order (the model's, then the optimizer's), known to both."""
    known = set(second["variables"] or [])
    return [name for name in first["variables"] or [] if name in known]


def _snapshot(trace: dict, step: int) -> dict | None:
    folder = Path(trace["folder"]) / "snapshots"
    names_file = folder / f"step-{step}.json"
    if not names_file.exists():
        return None
    names = json.loads(names_file.read_text())
    with numpy.load(folder / f"step-{step}.npz") as arrays:
        return {name: arrays[f"v{index}"] for index, name in enumerate(names)}


def _differences(first, second, step, names) -> dict:
    """Largest |a - b| of each named variable at ``step`` (None where a snapshot is missing)."""
    a, b = _snapshot(first, step), _snapshot(second, step)
    if a is None or b is None:
        return {name: None for name in names}
    return {name: _largest(a.get(name), b.get(name)) for name in names}


def _largest(a, b):
    if a is None or b is None or a.shape != b.shape:
        return None
    return float(numpy.max(numpy.abs(a.astype(numpy.float64) - b.astype(numpy.float64)))) if a.size else 0.0


def _growth(first, second, from_step, order) -> dict:
    """Variable -> [[step, largest difference]] at every snapshot both traces kept from ``from_step``."""
    curves: dict[str, list] = {name: [] for name in order}
    for step in range(from_step, max(len(first["steps"]), len(second["steps"]))):
        a, b = _snapshot(first, step), _snapshot(second, step)
        if a is None or b is None:
            continue
        for name in order:
            size = _largest(a.get(name), b.get(name))
            if size is not None:
                curves[name].append([step, size])
    return {name: curve for name, curve in curves.items() if any(size for _, size in curve)}
