"""The suite's small CNN (``--model cnn``): the article's model with two Conv2D + MaxPool
blocks for a body, where GPU nondeterminism usually lives (convolution backprop); the rest
(Softmax after the logits, Adam, loss, fit) as in mlp.py."""

FIT = {"epochs": 3, "batch_size": 32, "validation_split": 0.2}


def load_data(keras):
    """MNIST's training set (needs the internet, or Keras' cache)."""
    (x, y), _ = keras.datasets.mnist.load_data()
    return x / 255.0, y


def build_model(keras):
    layers = keras.layers
    model = keras.models.Sequential([
        layers.Reshape((28, 28, 1), input_shape=(28, 28)),
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dense(10),
        layers.Softmax(),
    ])
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model
