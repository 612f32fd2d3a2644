"""Load the training arrays a trial uses and describe them (name, size, digest).

An experiment file's ``load_data`` may return, for x and for y, one array or several (a
list, tuple or dict of arrays: a model with several inputs or outputs); every array holds
one row per example. The digest covers every array in order (a dict's by key).
"""

from typing import Any, Dict, List, Optional, Tuple

import numpy

from bench.trial.digests import arrays_sha256

# Dataset kinds a trial spec may name.
KERAS_MNIST = "keras-mnist"   # keras.datasets.mnist.load_data(), with Keras' own cache
NPZ = "npz"                   # a file in the mnist.npz layout (x_train, y_train, ...)
EXPERIMENT = "experiment"     # the load_data(keras) of the trial's experiment file


def of_experiment(description: dict) -> Dict[str, str]:
    """The dataset spec of an experiment file's own load_data(keras)."""
    return {"kind": EXPERIMENT, "name": "%s load_data" % description["name"]}


def load(dataset: dict, samples: Optional[int], keras: Any, chosen: Any) -> Tuple[Any, Any, dict]:
    """Return (x, y, description) for the training set: MNIST scaled by 1/255 as published, or
    what the experiment file's ``load_data(keras)`` returns (``chosen``: the loaded file, a
    bench.trial.user_experiment.UserExperiment, which imports this module).

    ``samples`` keeps the first N training examples (None keeps all). The digest covers the
    arrays as loaded and cut (dtype, shape, bytes), before scaling.
    """
    kind = dataset["kind"]
    if kind == EXPERIMENT:
        x, y = chosen.load_data(keras)
    elif kind == KERAS_MNIST:
        (x, y), _ = keras.datasets.mnist.load_data()
    elif kind == NPZ:
        with numpy.load(dataset["path"]) as arrays:
            x, y = arrays["x_train"], arrays["y_train"]
    else:
        raise ValueError("unknown dataset kind %r" % kind)
    examples = count(x)
    if samples is not None:
        if samples > examples:
            raise ValueError("asked for %d samples but %s has %d" % (samples, dataset["name"], examples))
        x, y = first(x, samples), first(y, samples)
        examples = samples
    description = {
        "name": dataset["name"],
        "kind": kind,
        "train_examples": int(examples),
        "arrays_sha256": arrays_sha256(leaves(x) + leaves(y)),
    }
    for key in ("source", "permutation"):
        if key in dataset:
            description[key] = dataset[key]
    return (x if kind == EXPERIMENT else x / 255.0), y, description



def leaves(value: Any) -> Optional[List[numpy.ndarray]]:
    """The arrays of one side (x or y): itself, or the members of a list, tuple or dict (by
    key); None where it is neither an array nor such a collection of arrays."""
    if isinstance(value, numpy.ndarray):
        return [value]
    members = ([value[key] for key in sorted(value)] if isinstance(value, dict) else
               list(value) if isinstance(value, (list, tuple)) else None)
    if not members or not all(isinstance(member, numpy.ndarray) for member in members):
        return None
    return members


def count(value: Any) -> int:
    """Examples in one side: the rows of its first array."""
    return len(leaves(value)[0])


def first(value: Any, rows: int) -> Any:
    """The first ``rows`` examples of one side, in its own structure."""
    if isinstance(value, dict):
        return dict((key, member[:rows]) for key, member in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(member[:rows] for member in value)
    return value[:rows]


def shapes(x: Any, y: Any) -> Dict[str, List[List[int]]]:
    """The shapes of both sides' arrays, as lists."""
    return {"x": [list(a.shape) for a in leaves(x)], "y": [list(a.shape) for a in leaves(y)]}
