"""The published experiment: a small Keras model on MNIST, trained once per call.

Article's code (model "mlp"): Flatten(28x28) -> Dense(128, relu) -> Dense(10) -> Softmax,
Adam, SparseCategoricalCrossentropy(from_logits=True), accuracy, fit(validation_split=0.2).
The Softmax plus from_logits=True is kept on purpose: it is what the article ran.
Model "cnn" swaps the body for two Conv2D + MaxPool blocks, where GPU nondeterminism
usually lives (convolution backprop), and keeps everything else.
One definition for every framework: ``keras`` is tf.keras or standalone Keras 3.
"""

import time

from bench.trial import trace
from bench.trial.digests import arrays_sha256


MODELS = ("mlp", "cnn")


def build_model(keras, model):
    layers = keras.layers
    if model == "mlp":
        return keras.models.Sequential([
            layers.Flatten(input_shape=(28, 28)),
            layers.Dense(128, activation="relu"),
            layers.Dense(10),
            layers.Softmax(),
        ])
    if model == "cnn":
        return keras.models.Sequential([
            layers.Reshape((28, 28, 1), input_shape=(28, 28)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(10),
            layers.Softmax(),
        ])
    raise ValueError("unknown model %r; known: %s" % (model, ", ".join(MODELS)))


def train(keras, x, y, settings, user=None, trace_folder=None):
    """Build, compile and fit one model (the user's, from an experiment file, where given);
    return (its record: history, weight digest and timings; its final weights). With
    ``trace_folder``, every step is recorded there (bench.trial.trace)."""
    building = time.perf_counter()
    if user is not None:
        model = user.build_model(keras)
    else:
        model = build_model(keras, settings["model"])
        model.compile(optimizer="adam",
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
    build_seconds = time.perf_counter() - building
    epoch_seconds = []
    callbacks = [_epoch_timer(keras, epoch_seconds)]
    if trace_folder is not None:
        callbacks.append(trace.callback(keras, trace_folder))
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
