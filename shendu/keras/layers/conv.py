"""Convolutions in Keras's layout: Conv1D, Conv2D, Conv2DTranspose.

Data are channels-last by default — (N, L, C) and (N, H, W, C) — as in Keras; the
layer moves the channels to axis 1 for shendu's ``F.conv1d`` / ``F.conv2d`` /
``F.conv_transpose2d`` and back. Kernels are stored as Keras stores them:
Conv1D (k, C_in/groups, filters), Conv2D (k_h, k_w, C_in/groups, filters),
Conv2DTranspose (k_h, k_w, filters, C_in). Padding: ``'valid'``, ``'same'``
(output ceil(n / s), the odd pixel at the bottom/right: TensorFlow's), and for
Conv1D ``'causal'`` (d·(k − 1) zeros on the left).

Output sizes: valid ⌊(n − d(k − 1) − 1) / s⌋ + 1, same ⌈n / s⌉; transposed:
valid n·s + max(k − s, 0), same n·s.
"""
from __future__ import annotations

from ... import functional as F
from .. import activations
from ..errors import unsupported
from .base import Layer


def int_tuple(owner, name, value, n):
    """``value`` (an int or n ints) as a tuple of n positive ints; Keras's ValueError naming ``owner`` otherwise."""
    t = (value,) * n if isinstance(value, int) else tuple(value)
    if len(t) != n or not all(isinstance(v, int) and v > 0 for v in t):
        raise ValueError(f"The `{name}` argument must be a tuple of {n} positive integers. Received: "
                         f"{name}={value!r} ({owner})")
    return t


def data_format_arg(owner, data_format):
    """``'channels_last'`` (the default, Keras's) or ``'channels_first'``; anything else is a ValueError."""
    if data_format not in (None, "channels_last", "channels_first"):
        raise ValueError(f"{owner}: data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    return data_format or "channels_last"


def channels_first(x, data_format):
    """(N, …, C) → (N, C, …) for channels-last data; unchanged otherwise."""
    if data_format == "channels_first":
        return x
    return x.permute(0, x.ndim - 1, *range(1, x.ndim - 1))


def channels_last(x, data_format):
    """(N, C, …) → (N, …, C) for channels-last data; unchanged otherwise."""
    if data_format == "channels_first":
        return x
    return x.permute(0, *range(2, x.ndim), 1)


class _Conv(Layer):
    rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        if not isinstance(filters, int) or filters <= 0:
            raise ValueError(f"Invalid value for argument `filters`. Expected a strictly positive value. "
                             f"Received filters={filters!r} ({owner})")
        self.filters, self.groups = filters, int(groups)
        self.kernel_size = int_tuple(owner, "kernel_size", kernel_size, self.rank)
        self.strides = int_tuple(owner, "strides", strides, self.rank)
        self.dilation_rate = int_tuple(owner, "dilation_rate", dilation_rate, self.rank)
        padding = padding.lower() if isinstance(padding, str) else padding
        allowed = ("valid", "same", "causal") if self.rank == 1 else ("valid", "same")
        if padding not in allowed:
            raise ValueError(f"The `padding` argument must be one of {allowed}. Received: padding={padding!r} "
                             f"({owner})")
        self.padding = padding
        self.data_format = data_format_arg(owner, data_format)
        self.activation = activations.get(activation)
        self.use_bias, self.kernel_initializer, self.bias_initializer = use_bias, kernel_initializer, bias_initializer
        self.kernel_reg, self.bias_reg = kernel_regularizer, bias_regularizer
        if self.filters % self.groups:
            raise ValueError(f"The number of filters must be evenly divisible by the number of groups. Received: "
                             f"groups={groups}, filters={filters} ({owner})")
        self._pending()

    def _channels(self, input_shape):
        owner = type(self).__name__
        if input_shape is None or len(input_shape) != self.rank + 2:
            raise ValueError(f"Input 0 of layer \"{self.name}\" is incompatible with the layer: expected "
                             f"ndim={self.rank + 2}, found ndim={None if input_shape is None else len(input_shape)}. "
                             f"Full shape received: {input_shape} ({owner} takes (batch, "
                             f"{'steps' if self.rank == 1 else 'height, width'}, channels))")
        return input_shape[1] if self.data_format == "channels_first" else input_shape[-1]

    def _kernel_shape(self, channels):
        """Keras's kernel layout: (k…, C_in/groups, filters) (Conv2DTranspose overrides it)."""
        return (*self.kernel_size, channels // self.groups, self.filters)

    def _in_channels(self):
        return self.kernel.shape[-2] * self.groups

    def build(self, input_shape):
        self.add_weight("kernel", self._kernel_shape(self._channels(input_shape)), self.kernel_initializer,
                        regularizer=self.kernel_reg)
        if self.use_bias:
            self.add_weight("bias", (self.filters,), self.bias_initializer, regularizer=self.bias_reg)

    def _check(self, x):
        c = x.shape[1] if self.data_format == "channels_first" else x.shape[-1]
        if x.ndim != self.rank + 2 or c != self._in_channels():
            raise ValueError(f"Input 0 of layer \"{self.name}\" is incompatible with the layer: expected "
                             f"ndim={self.rank + 2} with {self._in_channels()} channels (channels-last), "
                             f"received shape {tuple(x.shape)}")


class Conv1D(_Conv):
    """1-D convolution over (N, steps, channels); kernel (k, C_in/groups, filters)."""

    rank = 1

    def call(self, inputs):
        self._check(inputs)
        x = channels_first(inputs, self.data_format)
        pad = self.padding
        if pad == "causal":
            pad = (self.dilation_rate[0] * (self.kernel_size[0] - 1), 0)
        y = F.conv1d(x, self.kernel.permute(2, 1, 0), self.bias if self.use_bias else None, self.strides[0], pad,
                     self.dilation_rate[0], self.groups)
        return self.activation(channels_last(y, self.data_format))


class Conv2D(_Conv):
    """2-D convolution over (N, H, W, C); kernel (k_h, k_w, C_in/groups, filters)."""

    def call(self, inputs):
        self._check(inputs)
        x = channels_first(inputs, self.data_format)
        y = F.conv2d(x, self.kernel.permute(3, 2, 0, 1), self.bias if self.use_bias else None, self.strides,
                     self.padding, self.dilation_rate, self.groups)
        return self.activation(channels_last(y, self.data_format))


class Conv2DTranspose(_Conv):
    """Transposed 2-D convolution (the gradient of Conv2D with respect to its input) over
    (N, H, W, C); kernel (k_h, k_w, filters, C_in). Output n·s + max(k − s, 0) (valid) or n·s (same)."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, **kwargs):
        if output_padding is not None:
            raise unsupported("Conv2DTranspose(output_padding=…)", "leave it None (Keras's default sizes)")
        if kwargs.get("groups", 1) != 1:
            raise unsupported("Conv2DTranspose(groups>1)", "use groups=1")
        super().__init__(filters, kernel_size, strides, padding, **kwargs)

    def _kernel_shape(self, channels):
        return (*self.kernel_size, self.filters, channels)

    def _in_channels(self):
        return self.kernel.shape[-1]

    def call(self, inputs):
        self._check(inputs)
        x = channels_first(inputs, self.data_format)
        extra, crops = [], []
        for n, k, s, d in zip(x.shape[2:], self.kernel_size, self.strides, self.dilation_rate):
            k_eff = d * (k - 1) + 1
            extra.append(max(s - k_eff, 0))  # the full output is shorter than Keras's: extend at the end
            target = n * s if self.padding == "same" else n * s + max(k_eff - s, 0)
            start = max(k_eff - s, 0) // 2 if self.padding == "same" else 0
            crops.append(slice(start, start + target))
        y = F.conv_transpose2d(x, self.kernel.permute(3, 2, 0, 1), None, self.strides, 0, tuple(extra), 1,
                               self.dilation_rate)
        y = y[(slice(None), slice(None), *crops)]
        if self.use_bias:
            y = y + self.bias.reshape(1, -1, 1, 1)
        return self.activation(channels_last(y, self.data_format))
