"""The article's experiment, as an experiment file: the suite's default (``--model mlp``).

Flatten(28x28) -> Dense(128, relu) -> Dense(10) -> Softmax, Adam,
SparseCategoricalCrossentropy(from_logits=True), accuracy, fit(epochs=3, validation_split=0.2).
The Softmax plus from_logits=True is kept on purpose: it is what the article ran.

Copy it to start your own (``bench run --experiment my_model.py``). ``keras`` is tf.keras or
Keras 3, whichever the trial runs; on images with Python 3.6 (TF 2.1-2.6) the file must be
Python 3.6 code. Under ``--model mlp`` the suite gives the model its MNIST (``--dataset``,
``--data``, ``--samples``) in place of load_data; under ``--experiment`` load_data is used
unless ``--dataset`` or ``--data`` is given.
"""

FIT = {"epochs": 3, "batch_size": 32, "validation_split": 0.2}


def load_data(keras):
    """MNIST's training set as the article loads it (needs the internet, or Keras' cache)."""
    (x, y), _ = keras.datasets.mnist.load_data()
    return x / 255.0, y


def build_model(keras):
    layers = keras.layers
    model = keras.models.Sequential([
        layers.Flatten(input_shape=(28, 28)),
        layers.Dense(128, activation="relu"),
        layers.Dense(10),
        layers.Softmax(),
    ])
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model
