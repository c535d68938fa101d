"""Merge layers: Concatenate, Add, Subtract, Multiply, Average, Maximum, Minimum, Dot — and
their function forms (``layers.concatenate([a, b])``). Inputs: a list of tensors."""
from __future__ import annotations

from ...ops import cat, maximum, minimum
from .base import Layer


def _check_list(layer, inputs, least=2):
    if not isinstance(inputs, (list, tuple)) or len(inputs) < least:
        raise ValueError(f"A merge layer {layer.name} should be called on a list of at least {least} inputs. "
                         f"Received: inputs={inputs} (not a list of tensors)")


class _Merge(Layer):
    def call(self, inputs):
        _check_list(self, inputs)
        shapes = [tuple(x.shape) for x in inputs]
        if any(s != shapes[0] for s in shapes):
            raise ValueError(f"Inputs have incompatible shapes. Received shapes {shapes[0]} and "
                             f"{next(s for s in shapes if s != shapes[0])} ({type(self).__name__} {self.name})")
        out = inputs[0]
        for x in inputs[1:]:
            out = self._merge(out, x)
        return self._finish(out, len(inputs))

    def _finish(self, out, n):
        return out


class Add(_Merge):
    """x₁ + x₂ + … (same shapes)."""

    def _merge(self, a, b):
        return a + b


class Multiply(_Merge):
    """x₁ ⊙ x₂ ⊙ …"""

    def _merge(self, a, b):
        return a * b


class Average(Add):
    """(x₁ + … + x_n) / n."""

    def _finish(self, out, n):
        return out / n


class Maximum(_Merge):
    """element-wise max."""

    def _merge(self, a, b):
        return maximum(a, b)


class Minimum(_Merge):
    """element-wise min."""

    def _merge(self, a, b):
        return minimum(a, b)


class Subtract(_Merge):
    """x₁ − x₂ (exactly two inputs)."""

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(f"A `Subtract` layer should be called on exactly 2 inputs. Received: inputs={inputs}")
        return super().call(inputs)

    def _merge(self, a, b):
        return a - b


class Concatenate(Layer):
    """Joins the inputs along ``axis`` (the last: channels)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def call(self, inputs):
        _check_list(self, inputs)
        shapes = [tuple(x.shape) for x in inputs]
        nd = len(shapes[0])
        ax = self.axis % nd if nd else 0
        if any(len(s) != nd or s[:ax] + s[ax + 1:] != shapes[0][:ax] + shapes[0][ax + 1:] for s in shapes):
            raise ValueError(f"A `Concatenate` layer requires inputs with matching shapes except for the "
                             f"concatenation axis. Received: input_shape={shapes}")
        return cat(list(inputs), axis=self.axis)


class Dot(Layer):
    """Batched dot products along ``axes`` of two inputs (N, d) · (N, d) → (N, 1); ``normalize``
    divides by the L2 norms first (cosine similarity)."""

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        self.axes, self.normalize = axes, normalize

    def call(self, inputs):
        _check_list(self, inputs)
        a, b = inputs
        if a.ndim != 2 or b.ndim != 2 or self.axes not in (1, -1, (1, 1), [1, 1], (-1, -1)):
            from ..errors import unsupported
            raise unsupported("Dot on inputs of more than 2 axes", "reshape to (N, d), or use shendu.einsum")
        if self.normalize:
            a = a / ((a * a).sum(axis=1, keepdims=True) + 1e-12).sqrt()
            b = b / ((b * b).sum(axis=1, keepdims=True) + 1e-12).sqrt()
        return (a * b).sum(axis=1, keepdims=True)


def add(inputs, **kwargs):
    """``Add(**kwargs)(inputs)``."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """Functional form of :class:`Subtract`: inputs[0] − inputs[1]."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """Functional form of :class:`Multiply`: the element-wise product of the inputs."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """Functional form of :class:`Average`: the element-wise mean of the inputs."""
    return Average(**kwargs)(inputs)


def maximum_(inputs, **kwargs):
    """Functional form of :class:`Maximum` (``keras.layers.maximum``): the element-wise maximum."""
    return Maximum(**kwargs)(inputs)


def minimum_(inputs, **kwargs):
    """Functional form of :class:`Minimum` (``keras.layers.minimum``): the element-wise minimum."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """``Concatenate(axis, **kwargs)(inputs)``."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, **kwargs):
    """Functional form of :class:`Dot`: batched dot products along ``axes``."""
    return Dot(axes, **kwargs)(inputs)
