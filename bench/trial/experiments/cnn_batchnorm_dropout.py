"""Example: a CNN with BatchNormalization and Dropout, two layers that keep state or draw
random numbers during training, where pipelines commonly stop repeating.

Dropout draws a new mask every step: unseeded under ``none``, from the configuration's seeds
under ``seeds`` and ``full``. BatchNormalization's moving statistics are updated every step
(a reduction over the batch: order-sensitive on GPUs).

The data are synthetic, 28x28 "images" made with a fixed NumPy seed, so the example runs
anywhere (offline, in containers) and the data are never the source of a difference: replace
load_data with your own. Runs on tf.keras 2.1 and later and on Keras 3; Python 3.6 code.
"""

import numpy

FIT = {"epochs": 3, "batch_size": 32, "validation_split": 0.2}


def load_data(keras):
    rng = numpy.random.RandomState(0)
    templates = rng.rand(10, 28, 28)
    y = rng.randint(0, 10, size=2000)
    x = 0.6 * templates[y] + 0.4 * rng.rand(2000, 28, 28)
    return x.astype("float32"), y


def build_model(keras):
    layers = keras.layers
    model = keras.models.Sequential([
        layers.Reshape((28, 28, 1), input_shape=(28, 28)),
        layers.Conv2D(16, 3, use_bias=False),
        layers.BatchNormalization(),
        layers.Activation("relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(32, 3, use_bias=False),
        layers.BatchNormalization(),
        layers.Activation("relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dropout(0.3),
        layers.Dense(10),
    ])
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model
