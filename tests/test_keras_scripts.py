"""Realistic Keras scripts, run with only their imports changed (``from shendu import keras``).

Each script is the text a Keras user would write; the test runs it with shendu's imports
and — for the architecture — with real Keras 3's, and checks the two agree (parameter
counts, output shapes). The MNIST run (slow) trains a Keras-style convnet on the real MNIST
files in ../shared/data (skipped when absent) and needs ≥ 97 % test accuracy.
"""
import numpy as np
import pytest

from keras_reference import rk  # noqa: F401  (KERAS_BACKEND=torch before keras is imported)

SHENDU = "from shendu import keras\nfrom shendu.keras import layers\n"
KERAS = "import keras\nfrom keras import layers\n"

LENET = """
import numpy as np
rng = np.random.default_rng(0)
x_train = rng.random((96, 32, 32, 1)).astype("float32")
y_train = rng.integers(0, 10, 96)
model = keras.Sequential([
    keras.Input(shape=(32, 32, 1)),
    layers.Conv2D(6, kernel_size=5, activation="tanh"),
    layers.AveragePooling2D(pool_size=2),
    layers.Conv2D(16, kernel_size=5, activation="tanh"),
    layers.AveragePooling2D(pool_size=2),
    layers.Flatten(),
    layers.Dense(120, activation="tanh"),
    layers.Dense(84, activation="tanh"),
    layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x_train, y_train, batch_size=32, epochs=2, validation_split=0.25, verbose=0)
loss, acc = model.evaluate(x_train, y_train, verbose=0)
probs = model.predict(x_train[:4], verbose=0)
"""

ALEXNET = """
import numpy as np
rng = np.random.default_rng(1)
x = rng.random((16, 64, 64, 3)).astype("float32")
y = keras.utils.to_categorical(rng.integers(0, 5, 16), 5)
model = keras.Sequential([
    keras.Input((64, 64, 3)),
    layers.Rescaling(1.0 / 1.0),
    layers.Conv2D(24, 11, strides=4, activation="relu", padding="same"),
    layers.BatchNormalization(),
    layers.MaxPooling2D(pool_size=3, strides=2),
    layers.Conv2D(32, 5, activation="relu", padding="same"),
    layers.BatchNormalization(),
    layers.MaxPooling2D(pool_size=3, strides=2),
    layers.Conv2D(48, 3, activation="relu", padding="same"),
    layers.Conv2D(32, 3, activation="relu", padding="same"),
    layers.MaxPooling2D(pool_size=3, strides=2, padding="same"),
    layers.Flatten(),
    layers.Dense(64, activation="relu"),
    layers.Dropout(0.5),
    layers.Dense(5, activation="softmax"),
])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.9),
              loss="categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x, y, epochs=1, batch_size=8, verbose=0)
probs = model.predict(x[:2], verbose=0)
"""

LSTM_TEXT = """
import numpy as np
rng = np.random.default_rng(2)
vocab, maxlen = 200, 20
x_train = rng.integers(1, vocab, (64, maxlen))
y_train = (x_train[:, 0] > vocab // 2).astype("int32")
inputs = keras.Input(shape=(maxlen,), dtype="int32")
x = layers.Embedding(vocab, 16)(inputs)
x = layers.Bidirectional(layers.LSTM(16, return_sequences=True))(x)
x = layers.LSTM(8, dropout=0.2)(x)
outputs = layers.Dense(1, activation="sigmoid")(x)
model = keras.Model(inputs, outputs)
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(x_train, y_train, batch_size=16, epochs=2, validation_data=(x_train[:16], y_train[:16]),
                    verbose=0, callbacks=[keras.callbacks.EarlyStopping(patience=2, restore_best_weights=True)])
probs = model.predict(x_train[:4], verbose=0)
"""

FUNCTIONAL = """
import numpy as np
rng = np.random.default_rng(3)
image = keras.Input(shape=(16, 16, 3), name="image")
meta = keras.Input(shape=(5,), name="meta")
x = layers.Conv2D(8, 3, padding="same", activation="relu")(image)
shortcut = x
x = layers.Conv2D(8, 3, padding="same")(x)
x = layers.Add()([x, shortcut])
x = layers.Activation("relu")(x)
x = layers.GlobalAveragePooling2D()(x)
m = layers.Dense(8, activation="relu")(meta)
x = layers.Concatenate()([x, m])
x = layers.LayerNormalization()(x)
outputs = layers.Dense(3, activation="softmax")(x)
model = keras.Model(inputs=[image, meta], outputs=outputs)
model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
xs = [rng.random((24, 16, 16, 3)).astype("float32"), rng.random((24, 5)).astype("float32")]
history = model.fit(xs, rng.integers(0, 3, 24), epochs=2, batch_size=8, verbose=0)
probs = model.predict(xs, verbose=0)
"""

SCRIPTS = {"lenet5": LENET, "alexnet_style": ALEXNET, "lstm_text": LSTM_TEXT, "functional_add_concat": FUNCTIONAL}


def run(script, header):
    namespace = {}
    exec(compile(header + script, "<keras script>", "exec"), namespace)
    return namespace


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_keras_script_runs_unchanged(name):
    mine = run(SCRIPTS[name], SHENDU)
    model, history, probs = mine["model"], mine["history"], mine["probs"]
    assert np.isfinite(history.history["loss"]).all() and "accuracy" in history.history
    assert np.allclose(probs.sum(-1), 1, atol=1e-5) if probs.shape[-1] > 1 else ((probs >= 0) & (probs <= 1)).all()
    ref = run(SCRIPTS[name].split("model.compile")[0], KERAS)["model"]  # the same architecture in real Keras
    assert model.count_params() == ref.count_params()
    assert [layer.__class__.__name__ for layer in model.layers] == [layer.__class__.__name__ for layer in ref.layers]


MNIST_CONVNET = """
model = keras.Sequential([
    keras.Input(shape=(28, 28, 1)),
    layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
    layers.MaxPooling2D(pool_size=(2, 2)),
    layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
    layers.MaxPooling2D(pool_size=(2, 2)),
    layers.Flatten(),
    layers.Dropout(0.5),
    layers.Dense(num_classes, activation="softmax"),
])
model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=128, epochs=epochs, validation_split=0.1, verbose=2)
score = model.evaluate(x_test, y_test, verbose=0)
"""


@pytest.mark.slow
def test_keras_mnist_convnet_reaches_97_percent(mnist_dir):
    """keras.io's "Simple MNIST convnet", imports changed, on the real MNIST test file: the first
    8,000 images train (10 % of them validate), the last 2,000 test."""
    import shendu
    from shendu import keras
    x, y = shendu.data.mnist(split="test", root=mnist_dir, download=False).arrays
    x = x.transpose(0, 2, 3, 1)  # Keras's layout: (N, 28, 28, 1)
    y = keras.utils.to_categorical(y, 10)
    ns = {"x_train": x[:8000], "y_train": y[:8000], "x_test": x[8000:], "y_test": y[8000:], "num_classes": 10,
          "epochs": 8}
    exec(compile(SHENDU + MNIST_CONVNET, "<mnist convnet>", "exec"), ns)
    loss, accuracy = ns["score"]
    print(f"keras-style MNIST convnet: test loss {loss:.4f}, accuracy {accuracy:.4f}")
    assert accuracy >= 0.97
