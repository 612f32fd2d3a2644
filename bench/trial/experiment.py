"""One training run of an experiment file, timed and digested.

Every model is an experiment file (bench.trial.user_experiment): the built-in ones ship in
bench/trial/experiments/ (``mlp``: the article's model, the default; ``cnn``: two Conv2D +
MaxPool blocks), the user's come from ``--experiment``. ``keras`` is tf.keras or Keras 3.
"""

import os
import time

from bench.trial import trace
from bench.trial.digests import arrays_sha256
from bench.trial.user_experiment import UserExperiment


MODELS = ("mlp", "cnn")
SHIPPED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "experiments")


def shipped(name):
    """A shipped experiment file, loaded: a built-in model, or an example."""
    if name not in MODELS:
        raise ValueError("unknown model %r; known: %s" % (name, ", ".join(MODELS)))
    return UserExperiment({"name": name + ".py", "path": os.path.join(SHIPPED, name + ".py")})


def train(keras, x, y, settings, chosen, trace_folder=None):
    """Build (``chosen``: a loaded experiment file, shipped or the user's), compile and fit one
    model; return (its record: history, weight digest and timings; its final weights). With
    ``trace_folder``, every step is recorded there (bench.trial.trace)."""
    building = time.perf_counter()
    model = chosen.build_model(keras)
    build_seconds = time.perf_counter() - building
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


def _epoch_timer(keras, sink):
    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self._started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            sink.append(time.perf_counter() - self._started)

    return EpochTimer()


def _jit_compile(model):
    """Whether fit compiled with XLA (Keras 3 on GPU defaults to it); None where unknown."""
    value = getattr(model, "jit_compile", None)
    return value if isinstance(value, bool) else None
