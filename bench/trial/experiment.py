"""One training run of an experiment file, timed and digested.

Every model is an experiment file (bench.trial.user_experiment): the built-in ones ship in
bench/trial/experiments/ (``mlp``: the article's model, the default; ``cnn``: two Conv2D +
MaxPool blocks), the user's come from ``--experiment``. ``keras`` is tf.keras or Keras 3.
"""

import os
import time
from typing import Any, List, Optional, Tuple

from bench.trial import trace
from bench.trial.digests import arrays_sha256
from bench.trial.user_experiment import UserExperiment


MODELS = ("mlp", "cnn")
# --jit-compile (bench.trial.result.JIT_SETTINGS): auto leaves what the model's compile() chose (Keras 3: XLA on GPU
# where the model supports it, and, from Keras 3.7, never under TF op determinism: keras-team/keras
# PR #20315, in keras/src/trainers/trainer.py of 3.7.0 and not of 3.6.0); on and off set it.
SHIPPED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "experiments")


def shipped(name: str) -> UserExperiment:
    """A shipped experiment file, loaded: a built-in model, or an example."""
    if name not in MODELS:
        raise ValueError("unknown model %r; known: %s" % (name, ", ".join(MODELS)))
    return UserExperiment({"name": name + ".py", "path": os.path.join(SHIPPED, name + ".py")})


def train(keras: Any, x: Any, y: Any, settings: dict, chosen: UserExperiment,
          trace_folder: Optional[str] = None) -> Tuple[dict, List[Any]]:
    """Build (``chosen``: a loaded experiment file, shipped or the user's), compile and fit one
    model; return (its record: history, weight digest and timings; its final weights). With
    ``trace_folder``, every step is recorded there (bench.trial.trace)."""
    building = time.perf_counter()
    model = chosen.build_model(keras)
    build_seconds = time.perf_counter() - building
    set_jit_compile(model, settings.get("jit_compile", "auto"))
    epoch_seconds = []
    callbacks = [_epoch_timer(keras, epoch_seconds)]
    if trace_folder is not None:
        built_here = trace.build_variables(model, x, settings["batch_size"])
        callbacks.append(trace.callback(keras, trace_folder, built_before_fit=built_here))
    started = time.perf_counter()
    history = model.fit(x, y, epochs=settings["epochs"], batch_size=settings["batch_size"],
                        validation_split=settings["validation_split"], verbose=0,
                        callbacks=callbacks)
    fit_seconds = time.perf_counter() - started
    weights = model.get_weights()
    return {
        "history": {key: [float(value) for value in values]
                    for key, values in sorted(history.history.items())},
        "weights_sha256": arrays_sha256(weights),
        "epoch_seconds": epoch_seconds,
        "fit_seconds": fit_seconds,
        "build_seconds": build_seconds,
        "jit_compile": _jit_compile(model),
    }, weights


def _epoch_timer(keras: Any, sink: List[float]) -> Any:
    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Optional[dict] = None) -> None:
            self._started = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
            sink.append(time.perf_counter() - self._started)

    return EpochTimer()


def set_jit_compile(model: Any, setting: str) -> None:
    """Apply --jit-compile to a compiled model (auto: leave it). Keras 3 and tf.keras from 2.6
    have a settable ``jit_compile``; Keras 3's setter itself refuses XLA where the model does
    not support it (and, from 3.7, under TF op determinism): what fit used is recorded after."""
    if setting == "auto":
        return
    if isinstance(getattr(type(model), "jit_compile", None), property):
        model.jit_compile = setting == "on"
    elif setting == "on":
        raise RuntimeError("--jit-compile on: this Keras has no jit_compile setting, so fit cannot be "
                           "compiled with XLA")


def _jit_compile(model: Any) -> Optional[bool]:
    """Whether fit compiled with XLA, as the model says after fit; False for a Keras without
    the setting (Keras 2 before TF 2.6 never compiled fit with XLA); None where unknown."""
    if not hasattr(model, "jit_compile"):
        return False
    value = model.jit_compile
    return value if isinstance(value, bool) else None
