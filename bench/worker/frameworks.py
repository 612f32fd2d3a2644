"""How each framework is imported, seeded and made deterministic.

One class per framework; ``configurations`` decides *when* each hook runs, the class
knows *how* for the version it finds installed. Every hook returns the exact call or
setting it applied, so each result records its mechanism word for word.
"""

import os
import random

from bench.worker import installed

# TF_DETERMINISTIC_OPS is the switch up to 2.7; from 2.8 the API replaces it.
_OP_DETERMINISM_API_FROM = (2, 8)
# tf.keras.utils.set_random_seed seeds Python, NumPy and TF in one call from 2.7.
_SET_RANDOM_SEED_FROM = (2, 7)


class TensorFlowKeras(object):
    """tf.keras as TensorFlow ships it (Keras 2 up to TF 2.15, Keras 3 from 2.16)."""

    name = "tf.keras"

    def __init__(self):
        self.version = installed.tensorflow_version()
        self.tf = None

    def version_at_least(self, minimum):
        return self.version is not None and installed.version_tuple(self.version) >= minimum

    def determinism_before_import(self):
        """Settings that must precede ``import tensorflow``."""
        if self.version is not None and not self.version_at_least(_OP_DETERMINISM_API_FROM):
            os.environ["TF_DETERMINISTIC_OPS"] = "1"
            return ["TF_DETERMINISTIC_OPS=1 (set before import)"]
        return []

    def load(self):
        import tensorflow as tf
        self.tf = tf
        if self.version is None:  # not installed by pip: trust the module
            self.version = tf.__version__
        return tf.keras

    def determinism_after_import(self):
        if self.version_at_least(_OP_DETERMINISM_API_FROM):
            self.tf.config.experimental.enable_op_determinism()
            return ["tf.config.experimental.enable_op_determinism()"]
        if os.environ.get("TF_DETERMINISTIC_OPS") != "1":
            raise RuntimeError("TensorFlow %s has no op-determinism API and TF_DETERMINISTIC_OPS "
                               "was not set before import" % self.version)
        return []

    def seed(self, seed):
        utils = self.tf.keras.utils
        if self.version_at_least(_SET_RANDOM_SEED_FROM) and hasattr(utils, "set_random_seed"):
            utils.set_random_seed(seed)
            return "tf.keras.utils.set_random_seed(%d)" % seed
        import numpy
        random.seed(seed)
        numpy.random.seed(seed)
        self.tf.random.set_seed(seed)
        return "random.seed(%d); numpy.random.seed(%d); tf.random.set_seed(%d)" % (seed, seed, seed)

    def software(self):
        tf = self.tf
        keras_version = getattr(tf.keras, "__version__", None)
        if keras_version is None:
            try:
                import keras
                keras_version = keras.__version__
            except ImportError:
                keras_version = None
        build_info = {}
        get_build_info = getattr(getattr(tf, "sysconfig", None), "get_build_info", None)
        if get_build_info is not None:
            build_info = {key: _jsonable(value) for key, value in get_build_info().items()}
        return {
            "tensorflow": tf.__version__,
            "keras": keras_version,
            "tensorflow_git_version": getattr(tf.version, "GIT_VERSION", None),
            "build_info": build_info,
        }

    def gpus(self):
        """GPUs TensorFlow can see, with the details it reports (name, compute capability)."""
        config = self.tf.config
        lister = getattr(config, "list_physical_devices", None) or \
            config.experimental.list_physical_devices
        details_of = getattr(config.experimental, "get_device_details", None)
        found = []
        for device in lister("GPU"):
            entry = {"tf_name": device.name}
            if details_of is not None:
                details = details_of(device)
                entry["name"] = details.get("device_name")
                capability = details.get("compute_capability")
                if capability:
                    entry["compute_capability"] = "%d.%d" % tuple(capability)
            found.append(entry)
        return found


FRAMEWORKS = {TensorFlowKeras.name: TensorFlowKeras}


def create(name):
    if name not in FRAMEWORKS:
        raise ValueError("unknown framework %r; known: %s" % (name, ", ".join(sorted(FRAMEWORKS))))
    return FRAMEWORKS[name]()


def _jsonable(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return str(value)
