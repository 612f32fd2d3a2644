"""Example: random data augmentation inside the model (flip, rotation, zoom), active in
training only. Each layer draws random numbers every step: unseeded under ``none``, from the
configuration's seeds under ``seeds`` and ``full``.

The layers moved over the years: ``keras.layers.RandomFlip`` (TF 2.6+, Keras 3),
``keras.layers.experimental.preprocessing.RandomFlip`` (TF 2.2-2.5); TF 2.1 has neither, so
there the example flips with ``tf.image.random_flip_left_right`` in a Lambda layer (in
training and inference alike). The data are synthetic, made with a fixed NumPy seed, so the
example runs anywhere and the data are never the source of a difference: replace load_data
with your own. Python 3.6 code.
"""

import numpy

FIT = {"epochs": 3, "batch_size": 32, "validation_split": 0.2}


def load_data(keras):
    rng = numpy.random.RandomState(0)
    templates = rng.rand(10, 28, 28)
    y = rng.randint(0, 10, size=2000)
    x = 0.6 * templates[y] + 0.4 * rng.rand(2000, 28, 28)
    return x.astype("float32"), y


def augmentation_layers(keras):
    layers = keras.layers
    preprocessing = getattr(getattr(layers, "experimental", None), "preprocessing", None)

    def find(name):
        return getattr(layers, name, None) or getattr(preprocessing, name, None)

    flip, rotation, zoom = find("RandomFlip"), find("RandomRotation"), find("RandomZoom")
    if flip and rotation and zoom:
        return [flip("horizontal"), rotation(0.05), zoom(0.1)]
    import tensorflow as tf  # TF 2.1: no augmentation layers yet
    return [layers.Lambda(tf.image.random_flip_left_right)]


def build_model(keras):
    layers = keras.layers
    model = keras.models.Sequential(
        [layers.Reshape((28, 28, 1), input_shape=(28, 28))] + augmentation_layers(keras) + [
            layers.Conv2D(16, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(10),
        ])
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model
