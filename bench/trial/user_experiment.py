"""A user's experiment file, inside the trial: the user's data and model, the suite's controls.

The file (``--experiment FILE.py``) defines::

    def load_data(keras):     # -> (x, y): NumPy arrays, the training examples and their labels
    def build_model(keras):   # -> a compiled model
    FIT = {"epochs": 3, "batch_size": 32, "validation_split": 0.2}   # optional

``keras`` is whatever the trial runs (tf.keras or Keras 3). The suite keeps its part: the
configuration's controls at their moments (seeds right before ``build_model``), a fresh
process per trial, timing, digests, tracing. On images with Python 3.6 the file must be
Python 3.6 code. What the user's code raises is the trial's error, traceback kept; what it
returns is checked, and a wrong type is one line naming the function.

The trial executes the bytes of the file it is given (the copy frozen in the results
folder, bench.runner.tree) after checking that they hash to the sha256 the plan recorded,
and records that sha256: a trial never runs other code than its plan names.
"""

import ast
import hashlib
import os
import platform
import sys
import types
from typing import Any, Optional, Tuple

from bench.trial import data

INTERFACE = ("load_data", "build_model")
FIT_KEYS = ("epochs", "batch_size", "validation_split")
MAX_COUNT = 2**31 - 1  # epochs and batch sizes beyond this overflow the frameworks' 32-bit counters


class ExperimentError(RuntimeError):
    """The experiment file broke the interface (a missing function, a wrong return type)."""


def describe(path: str) -> dict:
    """What a run records of an experiment file (name, absolute path, sha256, FIT), checked
    before any trial: a missing file, a syntax error or a missing function is a ValueError
    whose message is one line."""
    wanted = "give a .py file that defines %s" % " and ".join("%s(keras)" % name for name in INTERFACE)
    if os.path.isdir(path):
        raise ValueError("--experiment %s is a folder; %s" % (path, wanted))
    if not os.path.isfile(path):
        raise ValueError("--experiment %s: no such file; %s" % (path, wanted))
    try:
        with open(path, "rb") as stream:
            source = stream.read()
    except OSError as error:
        raise ValueError("--experiment %s cannot be read (%s)" % (path, error.strerror or error))
    name = os.path.basename(path)
    try:
        tree = ast.parse(source, filename=name)
    except SyntaxError as error:
        raise ValueError("--experiment %s: SyntaxError at line %s: %s" % (path, error.lineno, error.msg))
    except ValueError as error:  # null bytes: not Python source at all
        raise ValueError("--experiment %s is not Python source (%s)" % (path, error))
    defined = set(node.name for node in tree.body if isinstance(node, ast.FunctionDef))
    missing = [function for function in INTERFACE if function not in defined]
    if missing:
        raise ValueError("--experiment %s defines no %s; it must define %s" % (
            path, " and no ".join("%s(keras)" % function for function in missing),
            " and ".join("%s(keras)" % function for function in INTERFACE)))
    return {"name": name, "path": os.path.abspath(path), "sha256": hashlib.sha256(source).hexdigest(),
            "fit": _fit(tree, path)}


def _fit(tree: ast.Module, path: str) -> dict:
    """FIT = {...} where the file sets it (a literal: read without running the file)."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(target, "id", None) == "FIT" for target in node.targets):
            try:
                fit = ast.literal_eval(node.value)
            except ValueError:
                raise ValueError("--experiment %s: FIT must be a literal dict of %s" % (path, ", ".join(FIT_KEYS)))
            unknown = sorted(set(fit) - set(FIT_KEYS)) if isinstance(fit, dict) else ["(not a dict)"]
            if unknown:
                raise ValueError("--experiment %s: FIT holds %s; it may set %s" % (path, ", ".join(unknown),
                                                                                   ", ".join(FIT_KEYS)))
            for key, value in sorted(fit.items()):
                problem = fit_problem(key, value)
                if problem:
                    raise ValueError("--experiment %s: FIT's %s is %r; %s" % (path, key, value, problem))
            return fit
    return {}


def fit_problem(key: str, value: Any) -> Optional[str]:
    """What is wrong with a FIT value (None: nothing): epochs and batch_size whole numbers of at
    least 1 (and at most MAX_COUNT), validation_split a fraction from 0 up to (not including) 1."""
    if key == "validation_split":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
            return "it must be a number from 0 up to (not including) 1"
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_COUNT:
        return "it must be a whole number from 1 to %d" % MAX_COUNT
    return None


class UserExperiment(object):
    MODULE = "repro_bench_experiment"

    def __init__(self, description: dict) -> None:
        self.name, self.path = description["name"], description["path"]
        with open(self.path, "rb") as stream:
            source = stream.read()
        self.sha256 = hashlib.sha256(source).hexdigest()
        if description.get("sha256") and self.sha256 != description["sha256"]:
            raise ExperimentError("%s: the file at %s has sha256 %s, not the %s its plan recorded (it was changed "
                                  "after the run was planned)" % (self.name, self.path, self.sha256[:12],
                                                                  description["sha256"][:12]))
        self.module = types.ModuleType(self.MODULE)
        self.module.__file__ = self.path
        sys.modules[self.MODULE] = self.module  # what pickle and dataclasses look a module up by
        try:  # the very bytes hashed above; the file's own exception: the trial's error, traceback kept
            exec(compile(source, self.path, "exec"), self.module.__dict__)
        except SyntaxError as error:  # the host read it, so this Python is older (3.6 on TF 2.1-2.6 images)
            raise ExperimentError("%s: SyntaxError at line %s under this trial's Python %s: %s (the TF 2.1-2.6 "
                                  "images run Python 3.6; write 3.6 code)" % (self.name, error.lineno,
                                                                              platform.python_version(), error.msg))
        for function in ("load_data", "build_model"):
            if not callable(getattr(self.module, function, None)):
                raise ExperimentError("%s defines no function %s(keras)" % (self.name, function))

    def load_data(self, keras: Any) -> Tuple[Any, Any]:
        found = self.module.load_data(keras)
        if not (isinstance(found, tuple) and len(found) == 2 and all(data.leaves(side) for side in found)):
            raise ExperimentError("%s: load_data(keras) must return (x, y), two NumPy arrays (or, for several "
                                  "inputs or outputs, lists or dicts of them); it returned %s"
                                  % (self.name, _shown(found)))
        x, y = found
        rows = set(len(array) for array in data.leaves(x) + data.leaves(y) if array.ndim)
        if len(rows) != 1 or 0 in rows or any(not array.ndim for array in data.leaves(x) + data.leaves(y)):
            raise ExperimentError("%s: load_data(keras) returned arrays of %s rows; every array needs one row per "
                                  "example, the same number in each" % (self.name, _rows(x, y)))
        return x, y

    def build_model(self, keras: Any) -> Any:
        model = self.module.build_model(keras)
        if not hasattr(model, "fit") or getattr(model, "optimizer", None) is None:
            raise ExperimentError("%s: build_model(keras) must return a compiled Keras model; it returned %s"
                                  % (self.name, _shown(model)))
        return model


def _rows(x: Any, y: Any) -> str:
    return " and ".join(str(len(array)) if array.ndim else "no" for array in data.leaves(x) + data.leaves(y))


def _shown(value: Any) -> str:
    if isinstance(value, tuple):
        return "a tuple of %d: %s" % (len(value), ", ".join(type(item).__name__ for item in value))
    return "a %s" % type(value).__name__
