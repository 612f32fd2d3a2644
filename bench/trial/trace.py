"""A traced trial: every training step recorded, so that two runs can be compared step by step.

Per step: the loss as Keras reports it, and a digest of every variable after the update (the
model's, and the optimizer's where they can be reached); before the first step, the same for
the initial variables. The variables themselves are kept as snapshots (``step-<n>.npz``): at
every step while they fit a byte budget, then at steps ever further apart (powers of two),
so the size of a difference is exact where it starts and its growth is seen later on.

The first comparison point is the first moment every variable exists. A model given no
input shape creates its variables lazily, inside the first training step, where no callback
sees them before they are updated; a traced trial therefore builds such a model first, by
calling it on its first batch in inference mode (no update, no dropout mask drawn; the
initializers draw what the lazy build would: tested bit-identical on Keras 3), and records
that it did (``built_before_fit``).

Files, in the trial's folder ``trace/``: ``steps.json`` (names, and per step its epoch,
batch, loss and digests; a non-finite loss as text, bench.trial.floats) and
``snapshots/step-<n>.npz``.
"""

import hashlib
import json
import os
from typing import Any, Iterable, List, Optional, Tuple

import numpy

from bench.trial import data, floats

DEFAULT_BUDGET_BYTES = 256 * 2**20


def build_variables(model: Any, x: Any, batch_size: int) -> bool:
    """Create a lazily built model's variables before fit (see the module's doc); returns
    whether it had to."""
    if getattr(model, "built", True):  # (tf.keras 2 raises on .weights of a model not built)
        return False
    model(data.first(x, batch_size), training=False)
    return True


def callback(keras: Any, folder: str, budget_bytes: int = DEFAULT_BUDGET_BYTES, built_before_fit: bool = False) -> Any:
    """A Keras callback that traces the training of the model it is given into ``folder``.
    (It reads ``self.model``: on jax, that is what brings the variables up to date mid-epoch.)"""

    class Trace(keras.callbacks.Callback):
        def on_train_begin(self, logs: Optional[dict] = None) -> None:
            self.recorder = Recorder(folder, budget_bytes, built_before_fit)
            self.recorder.record(self.model, epoch=0, batch=0, loss=None)

        def on_epoch_begin(self, epoch: int, logs: Optional[dict] = None) -> None:
            self.epoch = epoch + 1

        def on_train_batch_end(self, batch: int, logs: Optional[dict] = None) -> None:
            loss = (logs or {}).get("loss")
            self.recorder.record(self.model, epoch=self.epoch, batch=batch + 1,
                                 loss=None if loss is None else float(loss))

        def on_train_end(self, logs: Optional[dict] = None) -> None:
            self.recorder.close()

    return Trace()


class Recorder(object):
    def __init__(self, folder: str, budget_bytes: int, built_before_fit: bool = False) -> None:
        self.folder = folder
        self.built_before_fit = built_before_fit
        self.snapshots = os.path.join(folder, "snapshots")
        os.makedirs(self.snapshots)
        self.budget = budget_bytes
        self.spent = 0
        self.steps: List[dict] = []
        self.names: Optional[List[str]] = None

    def record(self, model: Any, epoch: int, batch: int, loss: Optional[float]) -> None:
        names, values = variables(model)
        if self.names is None or len(names) > len(self.names):  # optimizer slots appear after step 1
            self.names = names
        step = len(self.steps)
        self.steps.append({"step": step, "epoch": epoch, "batch": batch, "loss": floats.encode(loss),
                           "digests": dict((name, digest(value)) for name, value in zip(names, values))})
        size = sum(value.nbytes for value in values)
        if self.spent + size <= self.budget or _power_of_two(step):
            numpy.savez(os.path.join(self.snapshots, "step-%d.npz" % step),
                        **dict(("v%d" % index, value) for index, value in enumerate(values)))
            with open(os.path.join(self.snapshots, "step-%d.json" % step), "w") as stream:
                json.dump(names, stream)
            self.spent += size

    def close(self) -> None:
        with open(os.path.join(self.folder, "steps.json"), "w") as stream:
            json.dump({"variables": self.names, "steps": self.steps, "built_before_fit": self.built_before_fit},
                      stream, allow_nan=False)


def variables(model: Any) -> Tuple[List[str], List[numpy.ndarray]]:
    """(names, arrays) of the model's variables in model order, then the optimizer's."""
    names = [_name(weight) for weight in model.weights]
    values = [numpy.array(value) for value in model.get_weights()]
    optimizer = getattr(model, "optimizer", None)
    found = getattr(optimizer, "variables", None)
    found = found() if callable(found) else found
    for variable in found or []:
        value = _value(variable)
        if value is not None:
            names.append("optimizer/" + _name(variable))
            values.append(value)
    return _unique(names), values


def _value(variable: Any) -> Optional[numpy.ndarray]:
    """A variable's value as an array, or None where the framework will not hand it over."""
    try:
        value = numpy.array(variable.numpy() if callable(getattr(variable, "numpy", None)) else variable)
    except Exception:
        return None
    return None if value.dtype == object else value


def digest(array: Any) -> str:
    array = numpy.ascontiguousarray(array)
    hasher = hashlib.sha256(("%s%s" % (array.dtype.str, array.shape)).encode())
    hasher.update(array.tobytes())
    return hasher.hexdigest()[:32]


def _name(variable: Any) -> str:
    name = getattr(variable, "path", None) or getattr(variable, "name", None) or "?"
    return name[:-2] if name.endswith(":0") else name


def _unique(names: Iterable[str]) -> List[str]:
    """Names as given, made unique where two variables share one (old optimizers do)."""
    seen, found = {}, []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        found.append(name if seen[name] == 1 else "%s#%d" % (name, seen[name]))
    return found


def _power_of_two(step: int) -> bool:
    return step > 0 and step & (step - 1) == 0
