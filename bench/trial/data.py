"""Load the training arrays a trial uses and describe them (name, size, digest)."""

import numpy

from bench.trial.digests import arrays_sha256

# Dataset kinds a trial spec may name.
KERAS_MNIST = "keras-mnist"   # keras.datasets.mnist.load_data(), with Keras' own cache
NPZ = "npz"                   # a file in the mnist.npz layout (x_train, y_train, ...)
EXPERIMENT = "experiment"     # the load_data(keras) of the trial's experiment file


def of_experiment(description):
    """The dataset spec of an experiment file's own load_data(keras)."""
    return {"kind": EXPERIMENT, "name": "%s load_data" % description["name"]}


def load(dataset, samples, keras, chosen):
    """Return (x, y, description) for the training set: MNIST scaled by 1/255 as published, or
    what the experiment file's ``load_data(keras)`` returns (``chosen``: the loaded file).

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
    if samples is not None:
        if samples > len(x):
            raise ValueError("asked for %d samples but %s has %d" % (samples, dataset["name"], len(x)))
        x, y = x[:samples], y[:samples]
    description = {
        "name": dataset["name"],
        "kind": kind,
        "train_examples": int(len(x)),
        "arrays_sha256": arrays_sha256([x, y]),
    }
    for key in ("source", "permutation"):
        if key in dataset:
            description[key] = dataset[key]
    return (x if kind == EXPERIMENT else x / 255.0), y, description

