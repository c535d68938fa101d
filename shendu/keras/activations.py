"""Keras's activation functions by name, over shendu.functional, with Keras's defaults.

Where Keras and PyTorch defaults differ, these are Keras's: ``softmax`` over the
last axis; ``leaky_relu`` slope 0.2; ``hard_sigmoid`` = relu6(x + 3) / 6 (Keras 3);
``gelu`` exact (erf) unless ``approximate=True``; ``elu`` α = 1.
"""
from __future__ import annotations

from .. import functional as F
from ..ops import where


def linear(x):
    """The identity."""
    return x


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """max(x, 0) (Keras's general form: slope below ``threshold``, capped at ``max_value``)."""
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return F.relu(x)
    y = where(x >= threshold, x, (x - threshold) * negative_slope)
    return y if max_value is None else y.clip(None, float(max_value))


def sigmoid(x):
    """1 / (1 + e^(−x))."""
    return F.sigmoid(x)


def tanh(x):
    """tanh x."""
    return F.tanh(x)


def softmax(x, axis=-1):
    """e^(x_i) / Σ_j e^(x_j) over ``axis`` (the last, as in Keras)."""
    return F.softmax(x, axis)


def log_softmax(x, axis=-1):
    """log softmax over ``axis``."""
    return F.log_softmax(x, axis)


def leaky_relu(x, negative_slope=0.2):
    """x for x ≥ 0, negative_slope·x below (Keras's default slope 0.2)."""
    return F.leaky_relu(x, negative_slope)


def hard_sigmoid(x):
    """relu6(x + 3) / 6 (Keras 3's)."""
    return F.hardsigmoid(x)


def gelu(x, approximate=False):
    """x·Φ(x); with ``approximate`` the tanh form."""
    return F.gelu(x, "tanh" if approximate else "none")


def elu(x, alpha=1.0):
    """x for x > 0, α(e^x − 1) below."""
    return F.elu(x, alpha)


def exponential(x):
    """e^x."""
    return x.exp()


ACTIVATIONS = {
    "linear": linear, "relu": relu, "sigmoid": sigmoid, "tanh": tanh, "softmax": softmax,
    "log_softmax": log_softmax, "leaky_relu": leaky_relu, "hard_sigmoid": hard_sigmoid, "gelu": gelu, "elu": elu,
    "selu": F.selu, "softplus": F.softplus, "softsign": F.softsign, "swish": F.silu, "silu": F.silu,
    "relu6": F.relu6, "mish": F.mish, "exponential": exponential, "hard_silu": F.hardswish,
    "hard_swish": F.hardswish,
}
selu, softplus, softsign, swish, silu, relu6, mish = (ACTIVATIONS[k] for k in
                                                      ("selu", "softplus", "softsign", "swish", "silu", "relu6", "mish"))


def get(identifier):
    """The activation called ``identifier`` (a name above), None (linear), or a callable unchanged."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        fn = ACTIVATIONS.get(identifier.lower())
        if fn is None:
            raise ValueError(f"Could not interpret activation function identifier: {identifier!r}; known: "
                             f"{', '.join(sorted(ACTIVATIONS))}")
        return fn
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation function identifier: {identifier!r}")


def serialize(activation):
    """The name of an activation of this module (what a saved model stores)."""
    if activation is None or isinstance(activation, str):
        return activation
    for name, fn in ACTIVATIONS.items():
        if fn is activation:
            return name
    return activation
