"""How each framework is imported, seeded and made deterministic.

One class per framework; ``configurations`` decides *when* each hook runs, the class
knows *how* for the version it finds installed. Every hook returns the exact call or
setting it applied as a ``controls`` entry, so each result records its mechanism word for word.

* ``tf.keras``: TensorFlow's own Keras (Keras 2 up to TF 2.15, Keras 3 from 2.16).
* ``keras3-jax``, ``keras3-torch``, ``keras3-tensorflow``: standalone Keras 3 on a backend.
"""

import os
import random
from typing import Any, List, Tuple, Union

from bench.trial import controls, installed

# TF_DETERMINISTIC_OPS is the switch up to 2.7; from 2.8 the API replaces it.
_OP_DETERMINISM_API_FROM = (2, 8)
# tf.keras.utils.set_random_seed seeds Python, NumPy and TF in one call from 2.7.
_SET_RANDOM_SEED_FROM = (2, 7)
# Deterministic cuDNN convolutions on TF 2.5-2.7 also need the cuDNN frontend.
_CUDNN_FRONTEND_FROM, _CUDNN_FRONTEND_UNTIL = (2, 5), (2, 8)


def _set_before_import(name: str, value: str) -> dict:
    os.environ[name] = value
    return controls.environment("determinism", name, value)


class TensorFlowKeras(object):
    """tf.keras as TensorFlow ships it."""

    name = "tf.keras"

    def __init__(self) -> None:
        self.version = installed.tensorflow_version()
        self.tf: Any = None

    @property
    def loaded(self) -> bool:
        return self.tf is not None

    def version_at_least(self, minimum: Tuple[int, ...]) -> bool:
        return self.version is not None and installed.version_tuple(self.version) >= minimum

    def determinism_before_import(self) -> List[dict]:
        """Settings that must precede ``import tensorflow`` (TF 2.1-2.7).

        TF_CUDNN_DETERMINISTIC is implied by TF_DETERMINISTIC_OPS from 2.1, but set as well, as
        the published GPU studies did; TF_CUDNN_USE_FRONTEND=1 for convolutions on 2.5-2.7."""
        if self.version is None or self.version_at_least(_OP_DETERMINISM_API_FROM):
            return []
        applied = [_set_before_import("TF_DETERMINISTIC_OPS", "1"),
                   _set_before_import("TF_CUDNN_DETERMINISTIC", "1")]
        if self.version_at_least(_CUDNN_FRONTEND_FROM) and not self.version_at_least(_CUDNN_FRONTEND_UNTIL):
            applied.append(_set_before_import("TF_CUDNN_USE_FRONTEND", "1"))
        return applied

    def load(self) -> Any:
        import tensorflow as tf
        self.tf = tf
        if self.version is None:  # not installed by pip: trust the module
            self.version = tf.__version__
        return tf.keras

    def determinism_after_import(self) -> List[dict]:
        if self.version_at_least(_OP_DETERMINISM_API_FROM):
            self.tf.config.experimental.enable_op_determinism()
            return [controls.call("determinism", "tf.config.experimental.enable_op_determinism")]
        if os.environ.get("TF_DETERMINISTIC_OPS") != "1":
            raise RuntimeError("TensorFlow %s has no op-determinism API and TF_DETERMINISTIC_OPS "
                               "was not set before import" % self.version)
        return []

    def seed(self, seed: int) -> List[dict]:
        utils = self.tf.keras.utils
        if self.version_at_least(_SET_RANDOM_SEED_FROM) and hasattr(utils, "set_random_seed"):
            utils.set_random_seed(seed)
            return [controls.call("seed", "tf.keras.utils.set_random_seed", seed)]
        import numpy
        random.seed(seed)
        numpy.random.seed(seed)
        self.tf.random.set_seed(seed)
        return [controls.call("seed", name, seed) for name in ("random.seed", "numpy.random.seed", "tf.random.set_seed")]

    def software(self) -> dict:
        tf = self.tf
        keras_version = getattr(tf.keras, "__version__", None)
        if keras_version is None:
            keras_version = installed.distribution_version(["keras"])
        return {
            "tensorflow": tf.__version__,
            "keras": keras_version,
            "tensorflow_git_version": getattr(tf.version, "GIT_VERSION", None),
            "build_info": _tensorflow_build_info(tf),
        }

    def gpus(self) -> List[dict]:
        return _tensorflow_gpus(self.tf)


class Keras3(object):
    """Standalone Keras 3 on one backend, with that backend's meaning of seeds and full."""

    BACKEND_DISTRIBUTIONS = {"jax": ("jax",), "torch": ("torch",),
                             "tensorflow": installed.TENSORFLOW_DISTRIBUTIONS}

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.name = "keras3-" + backend
        self.version = installed.distribution_version(["keras"])
        self.backend_version = installed.distribution_version(self.BACKEND_DISTRIBUTIONS[backend])
        self.keras: Any = None

    @property
    def loaded(self) -> bool:
        return self.keras is not None

    def determinism_before_import(self) -> List[dict]:
        if self.backend == "jax":  # XLA reads its flags when jax starts
            flags = os.environ.get("XLA_FLAGS", "").split()
            flags.append("--xla_gpu_deterministic_ops=true")
            os.environ["XLA_FLAGS"] = " ".join(flags)
            return [controls.environment("determinism", "XLA_FLAGS", "--xla_gpu_deterministic_ops=true")]
        if self.backend == "torch":  # cuBLAS reads it when CUDA starts
            return [_set_before_import("CUBLAS_WORKSPACE_CONFIG", ":4096:8")]
        return []

    def load(self) -> Any:
        os.environ["KERAS_BACKEND"] = self.backend  # read once, when keras is imported
        import keras
        self.keras = keras
        if self.version is None:
            self.version = keras.__version__
        return keras

    def determinism_after_import(self) -> List[dict]:
        if self.backend == "torch":
            import torch
            torch.use_deterministic_algorithms(True)
            torch.backends.cudnn.benchmark = False
            return [controls.call("determinism", "torch.use_deterministic_algorithms", True),
                    controls.attribute("determinism", "torch.backends.cudnn.benchmark", False)]
        if self.backend == "tensorflow":
            import tensorflow as tf
            tf.config.experimental.enable_op_determinism()
            return [controls.call("determinism", "tf.config.experimental.enable_op_determinism")]
        return []  # jax: the XLA flag set before import is the switch

    def seed(self, seed: int) -> List[dict]:
        self.keras.utils.set_random_seed(seed)  # Python, NumPy and the backend's generator
        return [controls.call("seed", "keras.utils.set_random_seed", seed)]

    def software(self) -> dict:
        described = {"keras": self.keras.__version__, "keras_backend": self.backend,
                     self.backend: self.backend_version}
        if self.backend == "tensorflow":
            import tensorflow as tf
            described["build_info"] = _tensorflow_build_info(tf)
        if self.backend == "torch":
            import torch
            described["torch_cuda"] = torch.version.cuda
            described["cudnn"] = torch.backends.cudnn.version()
        return described

    def gpus(self) -> List[dict]:
        if self.backend == "torch":
            import torch
            return [{"tf_name": "cuda:%d" % index, "name": torch.cuda.get_device_name(index),
                     "compute_capability": "%d.%d" % torch.cuda.get_device_capability(index)}
                    for index in range(torch.cuda.device_count())]
        if self.backend == "jax":
            import jax
            return [{"tf_name": str(device), "name": getattr(device, "device_kind", str(device))}
                    for device in jax.devices() if device.platform == "gpu"]
        import tensorflow as tf
        return _tensorflow_gpus(tf)


FRAMEWORKS = ("tf.keras", "keras3-jax", "keras3-torch", "keras3-tensorflow")
# What ``create`` makes: the hooks ``configurations`` and the trial call.
Framework = Union[TensorFlowKeras, Keras3]


def create(name: str) -> Framework:
    if name == "tf.keras":
        return TensorFlowKeras()
    if name in FRAMEWORKS:
        return Keras3(name.split("-", 1)[1])
    raise ValueError("unknown framework %r; known: %s" % (name, ", ".join(FRAMEWORKS)))


def _tensorflow_build_info(tf: Any) -> dict:
    get_build_info = getattr(getattr(tf, "sysconfig", None), "get_build_info", None)
    if get_build_info is None:
        return {}
    return dict((key, _jsonable(value)) for key, value in get_build_info().items())


def _tensorflow_gpus(tf: Any) -> List[dict]:
    """GPUs TensorFlow can see, with the details it reports (name, compute capability)."""
    config = tf.config
    lister = getattr(config, "list_physical_devices", None) or config.experimental.list_physical_devices
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


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return str(value)
