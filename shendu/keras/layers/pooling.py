"""Pooling in Keras's layout: MaxPooling1D/2D, AveragePooling1D/2D, the global poolings.

Channels-last by default. ``padding='same'`` pads as TensorFlow does (output
⌈n / s⌉, the odd element at the end); a max pool pads with −∞, an average pool
averages only the real elements: avg = pool(x padded with 0) / pool(1 padded with 0).
"""
from __future__ import annotations

from ... import functional as F
from ...functional.conv import same_padding
from ...ops import amax, pad
from ...tensor import ones
from .base import Layer
from .conv import channels_first, channels_last, data_format_arg, int_tuple


class _Pool(Layer):
    rank, op = 2, "max"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.pool_size = int_tuple(owner, "pool_size", pool_size, self.rank)
        self.strides = self.pool_size if strides is None else int_tuple(owner, "strides", strides, self.rank)
        padding = padding.lower() if isinstance(padding, str) else padding
        if padding not in ("valid", "same"):
            raise ValueError(f"The `padding` argument must be one of 'valid', 'same'. Received: padding={padding!r}")
        self.padding = padding
        self.data_format = data_format_arg(owner, data_format)

    def call(self, inputs):
        if inputs.ndim != self.rank + 2:
            raise ValueError(f"Input 0 of layer \"{self.name}\" is incompatible with the layer: expected "
                             f"ndim={self.rank + 2}, found ndim={inputs.ndim}. Full shape received: "
                             f"{tuple(inputs.shape)}")
        x = channels_first(inputs, self.data_format)
        if self.padding == "same":
            pairs = [same_padding(n, k, s) for n, k, s in zip(x.shape[2:], self.pool_size, self.strides)]
            amounts = tuple(a for p in reversed(pairs) for a in p)
            if any(amounts):
                if self.op == "max":
                    x = pad(x, amounts, value=float("-inf"))
                else:
                    count = self._pool(pad(ones(1, 1, *x.shape[2:], dtype=x.dtype), amounts))
                    return channels_last(self._pool(pad(x, amounts)) / count, self.data_format)
        return channels_last(self._pool(x), self.data_format)

    def _pool(self, x):
        if self.rank == 1:
            fn = F.max_pool1d if self.op == "max" else F.avg_pool1d
            return fn(x, self.pool_size[0], self.strides[0])
        fn = F.max_pool2d if self.op == "max" else F.avg_pool2d
        return fn(x, self.pool_size, self.strides)


class MaxPooling2D(_Pool):
    """Max over pool_size windows of (N, H, W, C), moved by strides (default pool_size)."""


class _AvgPool(_Pool):
    op = "avg"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)  # Keras: pool_size is required


class AveragePooling2D(_AvgPool):
    """Mean over pool_size windows of (N, H, W, C), moved by strides (default pool_size)."""


class MaxPooling1D(_Pool):
    """Max over pool_size windows of (N, steps, C)."""

    rank = 1


class AveragePooling1D(_AvgPool):
    """Mean over pool_size windows of (N, steps, C)."""

    rank = 1


class _GlobalPool(Layer):
    rank, op = 2, "avg"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format_arg(type(self).__name__, data_format)
        self.keepdims = bool(keepdims)

    def call(self, inputs):
        if inputs.ndim != self.rank + 2:
            raise ValueError(f"Input 0 of layer \"{self.name}\" is incompatible with the layer: expected "
                             f"ndim={self.rank + 2}, found ndim={inputs.ndim}. Full shape received: "
                             f"{tuple(inputs.shape)}")
        axes = tuple(range(2, inputs.ndim)) if self.data_format == "channels_first" else \
            tuple(range(1, inputs.ndim - 1))
        if self.op == "avg":
            return inputs.mean(axis=axes, keepdims=self.keepdims)
        return amax(inputs, dim=axes, keepdim=self.keepdims)


class GlobalAveragePooling2D(_GlobalPool):
    """(N, H, W, C) → (N, C): the mean over H and W."""


class GlobalMaxPooling2D(_GlobalPool):
    """(N, H, W, C) → (N, C): the max over H and W."""

    op = "max"


class GlobalAveragePooling1D(_GlobalPool):
    """(N, steps, C) → (N, C): the mean over the steps."""

    rank = 1


class GlobalMaxPooling1D(_GlobalPool):
    """(N, steps, C) → (N, C): the max over the steps."""

    rank, op = 1, "max"
