"""``shendu.keras``: Keras 3's API over shendu — ``from shendu import keras`` in place of ``import keras``.

    from shendu import keras
    from shendu.keras import layers

    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=5, validation_split=0.1)

A facade, not a second framework: the layers compute with shendu's ops
(``shendu.functional``), train with shendu's Trainer and save with shendu's
safetensors files. What it adds is Keras's names, defaults (initializers,
ε, momentum…), data layout (channels last), weight layout (``get_weights`` /
``set_weights`` exchange arrays with real Keras) and return values. What Keras
has and this lacks raises NotImplementedError naming the nearest alternative.
docs/keras.md lists it all.
"""
from . import (activations, callbacks, datasets, initializers, layers, losses, metrics, models, optimizers,
               regularizers, utils)
from .engine import Input, KerasTensor
from .layers.base import Layer
from .models import Functional, Model, Sequential
from .saving import load_model

__version__ = "3.15.1-shendu"

__all__ = ["Input", "KerasTensor", "Layer", "Model", "Functional", "Sequential", "load_model", "activations",
           "callbacks", "datasets", "initializers", "layers", "losses", "metrics", "models", "optimizers",
           "regularizers", "utils"]
