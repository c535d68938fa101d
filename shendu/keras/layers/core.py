"""Core layers: Dense, Activation and its named forms, Flatten, Reshape, Permute, Dropout,
Embedding, Rescaling. Keras's defaults; channels-last shapes, batch first."""
from __future__ import annotations

import math

from ... import functional as F
from ...ops import where
from .. import activations
from ..errors import unsupported
from .base import Layer


def _positive_int(owner, name, value):
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"Received an invalid value for `{name}`, expected a positive integer. "
                         f"Received: {name}={value!r} ({owner})")
    return value


class Dense(Layer):
    """y = activation(x · kernel + bias) over the last axis.

    Weights (Keras's layout): kernel (in, units) drawn by ``kernel_initializer``
    (Glorot uniform), bias (units,) (zeros). Shape: (N, …, in) → (N, …, units).
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.units = _positive_int("Dense", "units", units)
        self.activation = activations.get(activation)
        self.use_bias, self.kernel_initializer, self.bias_initializer = use_bias, kernel_initializer, bias_initializer
        self.kernel_reg, self.bias_reg = kernel_regularizer, bias_regularizer
        self._pending()

    def build(self, input_shape):
        if input_shape is None or len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(f"Dense {self.name}: the last dimension of the inputs must be known. "
                             f"Received: input_shape={input_shape}")
        self.add_weight("kernel", (input_shape[-1], self.units), self.kernel_initializer,
                        regularizer=self.kernel_reg)
        if self.use_bias:
            self.add_weight("bias", (self.units,), self.bias_initializer, regularizer=self.bias_reg)

    def call(self, inputs):
        if inputs.shape[-1] != self.kernel.shape[0]:
            raise ValueError(f'Input 0 of layer "{self.name}" is incompatible with the layer: expected axis -1 of '
                             f"input shape to have value {self.kernel.shape[0]}, but received input with "
                             f"shape {tuple(inputs.shape)}")
        y = inputs.matmul(self.kernel)
        if self.use_bias:
            y = y + self.bias
        return self.activation(y)


class Activation(Layer):
    """activation(x), the function given by name (``'relu'``, ``'softmax'``…) or as a callable."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)


class ReLU(Layer):
    """min(max(x, threshold) — with slope ``negative_slope`` below ``threshold`` —, max_value)."""

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value, self.negative_slope, self.threshold = max_value, negative_slope, threshold

    def call(self, inputs):
        return activations.relu(inputs, self.negative_slope, self.max_value, self.threshold)


class LeakyReLU(Layer):
    """x for x ≥ 0, negative_slope·x below; Keras 3's default slope is 0.3."""

    def __init__(self, negative_slope=0.3, alpha=None, **kwargs):
        super().__init__(**kwargs)
        self.negative_slope = float(negative_slope if alpha is None else alpha)

    def call(self, inputs):
        return F.leaky_relu(inputs, self.negative_slope)


class ELU(Layer):
    """x for x > 0, α(e^x − 1) below."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = float(alpha)

    def call(self, inputs):
        return F.elu(inputs, self.alpha)


class Softmax(Layer):
    """softmax over ``axis`` (the last); a boolean ``mask`` (True = keep) sets the others to 0."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs, mask=None):
        if mask is not None:
            inputs = where(mask, inputs, inputs * 0 - 1e9)
        if isinstance(self.axis, (tuple, list)):
            raise unsupported("Softmax over several axes", "reshape so that one axis holds the classes")
        return F.softmax(inputs, self.axis)


class Flatten(Layer):
    """(N, d1, d2, …) → (N, d1·d2·…), in channels-last order (Keras's)."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise unsupported("Flatten(data_format='channels_first')", "keep channels-last data (the default)")

    def call(self, inputs):
        return inputs.reshape(inputs.shape[0], -1)


class Reshape(Layer):
    """(N, …) → (N, *target_shape); one entry may be −1."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(target_shape)

    def call(self, inputs):
        known = math.prod(d for d in self.target_shape if d != -1)
        total = math.prod(inputs.shape[1:])
        if (-1 in self.target_shape and total % known) or (-1 not in self.target_shape and total != known):
            raise ValueError(f"The total size of the tensor must be unchanged. Received: input_shape="
                             f"{tuple(inputs.shape[1:])}, target_shape={self.target_shape} ({self.name})")
        return inputs.reshape(inputs.shape[0], *self.target_shape)


class Permute(Layer):
    """Permutes the non-batch axes: ``dims`` numbers them from 1."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(dims)

    def call(self, inputs):
        return inputs.permute(0, *self.dims)


class RepeatVector(Layer):
    """(N, d) → (N, n, d)."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = int(n)

    def call(self, inputs):
        return inputs.unsqueeze(1).expand(inputs.shape[0], self.n, inputs.shape[1])


class Dropout(Layer):
    """In training, each element is zeroed with probability ``rate`` and the others scaled by
    1 / (1 − rate); the identity in inference."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate <= 1:
            raise ValueError(f"Invalid value received for argument `rate`. Expected a float value between 0 and 1. "
                             f"Received: rate={rate}")
        if noise_shape is not None:
            raise unsupported("Dropout(noise_shape=…)", "use SpatialDropout-style masks by hand, or plain Dropout")
        self.rate, self.seed = float(rate), seed

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        if self.rate == 1:
            return inputs * 0
        return F.dropout(inputs, self.rate, training=True)


class Embedding(Layer):
    """Row lookup: integer ids (N, …) → (N, …, output_dim); embeddings (input_dim, output_dim)
    drawn U(−0.05, 0.05) (Keras's ``'uniform'``)."""

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 mask_zero=False, weights=None, lora_rank=None, **kwargs):
        kwargs.pop("input_length", None)  # Keras 3 ignores it too (deprecated)
        super().__init__(**kwargs)
        if mask_zero:
            raise unsupported("Embedding(mask_zero=True) (masks)",
                              "pad with 0 and let the model learn to ignore it, or pass lengths to shendu.nn.LSTM")
        if lora_rank:
            raise unsupported("Embedding(lora_rank=…)", "leave lora_rank unset")
        self.input_dim = _positive_int("Embedding", "input_dim", input_dim)
        self.output_dim = _positive_int("Embedding", "output_dim", output_dim)
        self.embeddings_initializer, self.embeddings_reg = embeddings_initializer, embeddings_regularizer
        self.add_weight("embeddings", (self.input_dim, self.output_dim), self.embeddings_initializer,
                        regularizer=self.embeddings_reg)
        object.__setattr__(self, "built", True)
        if weights is not None:
            self.set_weights(weights)

    def call(self, inputs):
        if inputs.dtype.kind == "f":
            inputs = inputs.to(dtype="int64")
        if inputs.numel() and (int(inputs.data.max()) >= self.input_dim or int(inputs.data.min()) < 0):
            raise ValueError(f"Embedding {self.name}: ids must be in [0, {self.input_dim}), got values in "
                             f"[{int(inputs.data.min())}, {int(inputs.data.max())}]")
        return F.embedding(inputs, self.embeddings)


class Rescaling(Layer):
    """x · scale + offset (e.g. ``Rescaling(1 / 255)``)."""

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = float(scale), float(offset)

    def call(self, inputs):
        if inputs.dtype.kind != "f":
            inputs = inputs.float()
        return inputs * self.scale + self.offset
