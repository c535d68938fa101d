"""Reductions: sum, mean, max, min, var, std, logsumexp, argmax, argmin.

Keywords follow NumPy (``axis=``, ``keepdims=``); PyTorch's ``dim=`` and
``keepdim=`` are accepted as aliases. ``axis`` may be None (all axes), an int
or a tuple of ints.
"""
from __future__ import annotations

import math

from ..autograd import Function
from ..backend import get_array_module, get_default_dtype
from ..tensor import Tensor
from ._util import axis_arg, cast, expand_reduced, keepdims_arg, normalize_axes


def _reduced_shape(shape, axis):
    """``shape`` without the reduced axes (what ``keepdims=False`` leaves)."""
    axes = normalize_axes(axis, len(shape))
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def _count(shape, axis):
    if axis is None:
        return math.prod(shape)
    n = 1
    for a in normalize_axes(axis, len(shape)):
        n *= shape[a]
    return n


# Below this many elements the gradient of a sum or mean is written out in full: broadcast_to
# is Python (~4 µs a call), more than filling a small array costs; above it a view saves the memory.
_SMALL_GRADIENT = 4096


def _spread(g, shape, n=None):
    """The gradient of a sum (``n`` None) or of a mean of ``n`` elements, g (reduced axes kept
    as size 1) broadcast back to the input's ``shape``: g, or g / n, at every position."""
    xp = get_array_module(g)
    if math.prod(shape) > _SMALL_GRADIENT:
        return xp.broadcast_to(g if n is None else g / n, shape)
    out = xp.empty(shape, dtype=g.dtype)
    if n is None:
        out[...] = g
    else:
        xp.divide(g, n, out=out)
    return out


class Sum(Function):
    """y = Σ x over ``axis``;  dy/dx = 1 (the gradient is broadcast back)."""

    __slots__ = ("shape", "axis", "keepdims")
    saved_inputs = ()

    def forward(self, x, axis, keepdims):
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        return get_array_module(x).asarray(x.sum(axis=axis, keepdims=keepdims))

    def backward(self, g):
        return _spread(expand_reduced(g, self.shape, self.axis, self.keepdims), self.shape)


class Mean(Function):
    """y = (1/n) Σ x over ``axis``;  dy/dx = 1/n."""

    __slots__ = ("shape", "axis", "keepdims")
    saved_inputs = ()

    def forward(self, x, axis, keepdims):
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        if x.dtype.kind != "f" or x.dtype.itemsize < 4:  # NumPy's mean sums float16 in float32, ints in float64
            return get_array_module(x).asarray(x.mean(axis=axis, keepdims=keepdims))
        # NumPy's x.mean() runs ~4 µs of Python around the same sum; this is the sum, divided
        return x.sum(axis=axis, keepdims=keepdims) / _count(x.shape, axis)

    def backward(self, g):
        return _spread(expand_reduced(g, self.shape, self.axis, self.keepdims), self.shape,
                       _count(self.shape, self.axis))


class Extremum(Function):
    """y = max (or min) of x over ``axis``.

    The gradient goes to the elements equal to the extremum, split evenly
    between ties (the sub-gradient PyTorch's ``amax``/``amin`` use).
    """

    __slots__ = ("x", "y", "axis", "keepdims")
    saves_output = True

    def forward(self, x, axis, keepdims, largest):
        y = x.max(axis=axis, keepdims=True) if largest else x.min(axis=axis, keepdims=True)
        self.x, self.y, self.axis, self.keepdims = x, y, axis, keepdims
        return y if keepdims else y.reshape(_reduced_shape(x.shape, axis))

    def backward(self, g):
        mask = self.x == self.y
        g = expand_reduced(g, self.x.shape, self.axis, self.keepdims)
        ties = mask.sum(axis=self.axis, keepdims=True, dtype=g.dtype)
        return mask * (g / ties)


class Var(Function):
    """y = Σ (x − x̄)² / (n − ddof) over ``axis``;  dy/dx = 2(x − x̄) / (n − ddof)."""

    __slots__ = ("centered", "axis", "keepdims", "denom")
    saved_inputs = ()

    def forward(self, x, axis, ddof, keepdims):
        xp = get_array_module(x)
        self.centered = x - x.mean(axis=axis, keepdims=True)
        self.axis, self.keepdims = axis, keepdims
        self.denom = _count(x.shape, axis) - ddof
        return xp.asarray((self.centered * self.centered).sum(axis=axis, keepdims=keepdims) / self.denom)

    def backward(self, g):
        g = expand_reduced(g, self.centered.shape, self.axis, self.keepdims)
        return g * (2 / self.denom) * self.centered


class LogSumExp(Function):
    """y = log Σ exp(x) over ``axis``, computed as m + log Σ exp(x − m) with
    m = max x so that it never overflows;  dy/dx = softmax(x)."""

    __slots__ = ("x", "y", "axis", "keepdims")
    saves_output = True

    def forward(self, x, axis, keepdims):
        xp = get_array_module(x)
        m = x.max(axis=axis, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        y = xp.log(xp.exp(x - m).sum(axis=axis, keepdims=True)) + m
        self.x, self.y, self.axis, self.keepdims = x, y, axis, keepdims
        return y if keepdims else y.reshape(_reduced_shape(x.shape, axis))

    def backward(self, g):
        xp = get_array_module(g)
        g = expand_reduced(g, self.x.shape, self.axis, self.keepdims)
        return g * xp.exp(self.x - self.y)


def _reduce_args(x, axis, keepdims, kw, op):
    if isinstance(axis, Tensor):
        hint = {"max": "; for the element-wise maximum of two tensors use shendu.maximum(a, b)",
                "min": "; for the element-wise minimum of two tensors use shendu.minimum(a, b)"}.get(op, "")
        raise TypeError(f"{op}: axis must be an int or a tuple of ints, got a tensor{hint}")
    keepdims = keepdims_arg(keepdims, kw)
    axis = axis_arg(axis, kw, op)
    if axis is not None:
        normalize_axes(axis, x.ndim, op)  # clear error for a bad axis
    return axis, keepdims


def sum(x, axis=None, keepdims=False, **kw):
    """Sum over ``axis`` (all axes by default). Alias keywords: ``dim``, ``keepdim``."""
    axis, keepdims = _reduce_args(x, axis, keepdims, kw, "sum")
    return Sum.apply(x, axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False, **kw):
    """Arithmetic mean over ``axis``."""
    axis, keepdims = _reduce_args(x, axis, keepdims, kw, "mean")
    if x.data.dtype.kind != "f":
        x = cast(x, get_default_dtype())
    return Mean.apply(x, axis=axis, keepdims=keepdims)


def max(x, axis=None, keepdims=False, **kw):
    """Maximum over ``axis``; ties share the gradient evenly."""
    axis, keepdims = _reduce_args(x, axis, keepdims, kw, "max")
    return Extremum.apply(x, axis=axis, keepdims=keepdims, largest=True)


def min(x, axis=None, keepdims=False, **kw):
    """Minimum over ``axis``; ties share the gradient evenly."""
    axis, keepdims = _reduce_args(x, axis, keepdims, kw, "min")
    return Extremum.apply(x, axis=axis, keepdims=keepdims, largest=False)


amax, amin = max, min


def _ddof(ddof, kw):
    if "correction" in kw:
        ddof = kw.pop("correction")
    if "unbiased" in kw:
        ddof = 1 if kw.pop("unbiased") else 0
    return ddof


def var(x, axis=None, ddof=0, keepdims=False, **kw):
    """Variance Σ(x − x̄)²/(n − ddof). NumPy's default ddof=0 (biased);
    PyTorch's ``correction=`` / ``unbiased=`` are accepted."""
    ddof = _ddof(ddof, kw)
    axis, keepdims = _reduce_args(x, axis, keepdims, kw, "var")
    if x.data.dtype.kind != "f":
        x = cast(x, get_default_dtype())
    return Var.apply(x, axis=axis, ddof=ddof, keepdims=keepdims)


def std(x, axis=None, ddof=0, keepdims=False, **kw):
    """Standard deviation √var (see :func:`var` for ``ddof``)."""
    return var(x, axis, ddof, keepdims, **kw).sqrt()


def logsumexp(x, axis=None, keepdims=False, **kw):
    """log Σ exp(x) over ``axis``, computed without overflow."""
    axis, keepdims = _reduce_args(x, axis, keepdims, kw, "logsumexp")
    return LogSumExp.apply(x, axis=axis, keepdims=keepdims)


def argmax(x, axis=None, keepdims=False, **kw):
    """Index of the maximum (flattened when ``axis`` is None); no gradient."""
    axis, keepdims = _reduce_args(x, axis, keepdims, kw, "argmax")
    xp = get_array_module(x.data)
    return Tensor._wrap(xp.asarray(x.data.argmax(axis=axis, keepdims=keepdims)), False, None)


def argmin(x, axis=None, keepdims=False, **kw):
    """Index of the minimum (flattened when ``axis`` is None); no gradient."""
    axis, keepdims = _reduce_args(x, axis, keepdims, kw, "argmin")
    xp = get_array_module(x.data)
    return Tensor._wrap(xp.asarray(x.data.argmin(axis=axis, keepdims=keepdims)), False, None)
