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
"""

import ast
import hashlib
import importlib.util
import os
import platform

import numpy

INTERFACE = ("load_data", "build_model")
FIT_KEYS = ("epochs", "batch_size", "validation_split")


class ExperimentError(RuntimeError):
    """The experiment file broke the interface (a missing function, a wrong return type)."""


def describe(path):
    """What a run records of an experiment file (name, absolute path, sha256, FIT), checked
    before any trial: a missing file, a syntax error or a missing function is a ValueError
    whose message is one line."""
    if not os.path.isfile(path):
        raise ValueError("--experiment %s: no such file; give a .py file that defines %s"
                         % (path, " and ".join("%s(keras)" % name for name in INTERFACE)))
    with open(path, "rb") as stream:
        source = stream.read()
    name = os.path.basename(path)
    try:
        tree = ast.parse(source, filename=name)
    except SyntaxError as error:
        raise ValueError("--experiment %s: SyntaxError at line %s: %s" % (path, error.lineno, error.msg))
    defined = set(node.name for node in tree.body if isinstance(node, ast.FunctionDef))
    missing = [function for function in INTERFACE if function not in defined]
    if missing:
        raise ValueError("--experiment %s defines no %s; it must define %s" % (
            path, " and no ".join("%s(keras)" % function for function in missing),
            " and ".join("%s(keras)" % function for function in INTERFACE)))
    return {"name": name, "path": os.path.abspath(path), "sha256": hashlib.sha256(source).hexdigest(),
            "fit": _fit(tree, path)}


def _fit(tree, path):
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
            return fit
    return {}


class UserExperiment(object):
    def __init__(self, description):
        self.name = description["name"]
        spec = importlib.util.spec_from_file_location("repro_bench_experiment", description["path"])
        self.module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(self.module)  # the file's own exception: the trial's error, traceback kept
        except SyntaxError as error:  # the host read it, so this Python is older (3.6 on TF 2.1-2.6 images)
            raise ExperimentError("%s: SyntaxError at line %s under this trial's Python %s: %s (the TF 2.1-2.6 "
                                  "images run Python 3.6; write 3.6 code)" % (self.name, error.lineno,
                                                                              platform.python_version(), error.msg))
        for function in ("load_data", "build_model"):
            if not callable(getattr(self.module, function, None)):
                raise ExperimentError("%s defines no function %s(keras)" % (self.name, function))

    def load_data(self, keras):
        found = self.module.load_data(keras)
        if not (isinstance(found, tuple) and len(found) == 2 and all(isinstance(a, numpy.ndarray) for a in found)):
            raise ExperimentError("%s: load_data(keras) must return (x, y), two NumPy arrays; it returned %s"
                                  % (self.name, _shown(found)))
        x, y = found
        if len(x) != len(y) or len(x) == 0:
            raise ExperimentError("%s: load_data(keras) returned %d examples and %d labels"
                                  % (self.name, len(x), len(y)))
        return x, y

    def build_model(self, keras):
        model = self.module.build_model(keras)
        if not hasattr(model, "fit") or getattr(model, "optimizer", None) is None:
            raise ExperimentError("%s: build_model(keras) must return a compiled Keras model; it returned %s"
                                  % (self.name, _shown(model)))
        return model


def _shown(value):
    if isinstance(value, tuple):
        return "a tuple of %d: %s" % (len(value), ", ".join(type(item).__name__ for item in value))
    return "a %s" % type(value).__name__
