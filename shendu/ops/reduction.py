"""Reductions: sum, mean, max, min, amax, amin, var, std, logsumexp, argmax, argmin.

Keywords follow NumPy (``axis=``, ``keepdims=``); PyTorch's ``dim=`` and
``keepdim=`` are accepted as aliases. ``axis`` may be None (all axes), an int
or a tuple of ints.
"""
from __future__ import annotations

import builtins
import collections
import math
import numbers

from ..autograd import Function
from ..backend import get_array_module
from ..tensor import Tensor
from ._util import axis_arg, cast, expand_reduced, floating, keepdims_arg, normalize_axes
from .elementwise import maximum, minimum


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
    """y = Σ (x − x̄)² / (n − ddof) over ``axis``;  dy/dx = 2(x − x̄) / (n − ddof).

    With n ≤ ddof the variance is undefined, as in PyTorch: ∞ (NaN where every
    x is equal, 0/0), and its gradient NaN.
    """

    __slots__ = ("centered", "axis", "keepdims", "dof")
    saved_inputs = ()

    def forward(self, x, axis, ddof, keepdims):
        xp = get_array_module(x)
        self.centered = x - x.mean(axis=axis, keepdims=True)
        self.axis, self.keepdims = axis, keepdims
        self.dof = _count(x.shape, axis) - ddof
        sq = xp.asarray((self.centered * self.centered).sum(axis=axis, keepdims=keepdims))
        if self.dof > 0:
            return sq / x.dtype.type(self.dof)
        return xp.where(sq > 0, xp.inf, xp.nan).astype(x.dtype)  # Σ/0, without NumPy's warning

    def backward(self, g):
        g = expand_reduced(g, self.centered.shape, self.axis, self.keepdims)
        if self.dof <= 0:
            return get_array_module(g).full(self.centered.shape, float("nan"), dtype=g.dtype)
        return g * (2 / self.dof) * self.centered


class Std(Var):
    """y = √var(x) (see :class:`Var`);  dy/dx = (x − x̄) / (y · (n − ddof)), and 0 where y = 0
    (a constant input: PyTorch's choice of sub-gradient, instead of 0/0)."""

    __slots__ = ("y",)
    saves_output = True

    def forward(self, x, axis, ddof, keepdims):
        self.y = get_array_module(x).sqrt(super().forward(x, axis, ddof, keepdims))
        return self.y

    def backward(self, g):
        xp = get_array_module(g)
        y = expand_reduced(self.y, self.centered.shape, self.axis, self.keepdims)
        g = expand_reduced(g, self.centered.shape, self.axis, self.keepdims)
        if self.dof <= 0:
            return xp.full(self.centered.shape, float("nan"), dtype=g.dtype)
        zero = y == 0
        return g * xp.where(zero, 0, 1 / (xp.where(zero, 1, y) * self.dof)) * self.centered


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
        raise TypeError(f"{op}: axis must be an int or a tuple of ints, got a tensor")
    keepdims = keepdims_arg(keepdims, kw)
    axis = axis_arg(axis, kw, op)
    if axis is not None:
        normalize_axes(axis, x.ndim, op)  # clear error for a bad axis
        if x.ndim == 0:  # PyTorch: a 0-d tensor has one "dimension", 0 or -1, to reduce over
            axis = None
    return axis, keepdims


def sum(x, axis=None, keepdims=False, **kw):
    """Sum over ``axis`` (all axes by default). Alias keywords: ``dim``, ``keepdim``;
    ``dtype=`` casts the input first (as PyTorch)."""
    if kw.get("dtype") is not None:
        x = cast(x, kw.pop("dtype"))
    kw.pop("dtype", None)
    axis, keepdims = _reduce_args(x, axis, keepdims, kw, "sum")
    return Sum.apply(x, axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False, **kw):
    """Arithmetic mean over ``axis``; ``dtype=`` casts the input first (as PyTorch)."""
    if kw.get("dtype") is not None:
        x = cast(x, kw.pop("dtype"))
    kw.pop("dtype", None)
    axis, keepdims = _reduce_args(x, axis, keepdims, kw, "mean")
    return Mean.apply(floating(x), axis=axis, keepdims=keepdims)


def amax(x, axis=None, keepdims=False, **kw):
    """Maximum over ``axis`` (an int, a tuple, or None for all); ties share the gradient evenly."""
    axis, keepdims = _reduce_args(x, axis, keepdims, kw, "amax")
    return Extremum.apply(x, axis=axis, keepdims=keepdims, largest=True)


def amin(x, axis=None, keepdims=False, **kw):
    """Minimum over ``axis`` (an int, a tuple, or None for all); ties share the gradient evenly."""
    axis, keepdims = _reduce_args(x, axis, keepdims, kw, "amin")
    return Extremum.apply(x, axis=axis, keepdims=keepdims, largest=False)


class ExtremumDim(Function):
    """(values, indices) = the max (or min) of x along one ``axis`` and where it is.

    Two outputs; the gradient of ``values`` goes to the element at ``indices``
    (the first of tied elements), as PyTorch's ``max(dim)``. ``indices`` is int64
    and takes no gradient.
    """

    __slots__ = ("shape", "axis", "keepdims", "index")
    saved_inputs = ()

    def forward(self, x, axis, keepdims, largest):
        xp = get_array_module(x)
        self.shape, self.keepdims = x.shape, keepdims
        if x.ndim == 0:  # dim 0 / -1 of a 0-d tensor: the element itself, at index 0
            x, axis = x.reshape(1), 0
        self.axis = axis
        index = x.argmax(axis=axis, keepdims=True) if largest else x.argmin(axis=axis, keepdims=True)
        self.index = index
        values = xp.take_along_axis(x, index, axis=axis)
        if not keepdims or len(self.shape) == 0:
            values, index = values.squeeze(axis), index.squeeze(axis)
        return values, index.astype(xp.int64)

    def backward(self, g, g_indices):
        if g is None:
            return None
        xp = get_array_module(g)
        full = self.shape or (1,)
        gx = xp.zeros(full, dtype=g.dtype)
        g = g.reshape(self.index.shape)
        xp.put_along_axis(gx, self.index, g, axis=self.axis)
        return gx.reshape(self.shape)


#: What ``max(x, dim)`` returns: a named tuple ``(values, indices)``, as ``torch.return_types.max``.
max_result = collections.namedtuple("max", ("values", "indices"))
#: What ``min(x, dim)`` returns: a named tuple ``(values, indices)``.
min_result = collections.namedtuple("min", ("values", "indices"))


def _extremum(x, axis, keepdims, kw, op):
    """PyTorch's max / min: of all elements, along one dim (values and indices), or of two tensors."""
    other = kw.pop("other", None)
    if isinstance(axis, Tensor) or other is not None:
        other = axis if other is None else other
        return (maximum if op == "max" else minimum)(x, other)
    dim_given = axis is not None or kw.get("dim") is not None
    axis, keepdims = _reduce_args(x, axis, keepdims, kw, op)
    if dim_given and x.ndim == 0:  # dim 0 or -1 of a 0-d tensor: still values and indices
        axis = 0
    if axis is None:  # (keepdims=True here is NumPy's spelling: every axis kept, of size 1)
        return Extremum.apply(x, axis=None, keepdims=keepdims, largest=op == "max")
    if not isinstance(axis, numbers.Integral):
        raise TypeError(f"{op}: dim must be an int, got {axis!r}; for the {op}imum over several dims use "
                        f"shendu.a{op}(x, dim={axis!r})")
    values, indices = ExtremumDim.apply(x, axis=axis % builtins.max(x.ndim, 1), keepdims=keepdims,
                                        largest=op == "max")
    return (max_result if op == "max" else min_result)(values, indices)


def max(x, axis=None, keepdims=False, **kw):
    """PyTorch's ``max``, three ways.

    * ``max(x)``: the largest element (a 0-d tensor); ties share the gradient evenly.
    * ``max(x, dim, keepdim=False)``: a named tuple ``(values, indices)`` along
      ``dim`` (an int); the gradient goes to the element at the index.
    * ``max(a, b)`` (``b`` a tensor, or ``other=b``): the element-wise :func:`maximum`.

    For several axes at once use :func:`amax`.

    Example:
        >>> values, indices = shendu.tensor([[1.0, 5.0], [4.0, 2.0]]).max(dim=1)
        >>> indices
        tensor([1, 0])
    """
    return _extremum(x, axis, keepdims, kw, "max")


def min(x, axis=None, keepdims=False, **kw):
    """PyTorch's ``min``: ``min(x)``, ``min(x, dim)`` -> ``(values, indices)``, or
    ``min(a, b)`` -> :func:`minimum` (see :func:`max`)."""
    return _extremum(x, axis, keepdims, kw, "min")


def _ddof(ddof, kw, op):
    """NumPy's ``ddof`` or PyTorch's ``correction=`` / ``unbiased=`` (one of them)."""
    given = [k for k in ("correction", "unbiased") if k in kw]
    if len(given) > 1 or given and ddof != 0:
        raise TypeError(f"{op}: give one of ddof=, correction= and unbiased=, got {given + (['ddof'] if ddof else [])}")
    if "correction" in kw:
        ddof = kw.pop("correction")
    if "unbiased" in kw:
        ddof = 1 if kw.pop("unbiased") else 0
    return ddof


def var(x, axis=None, ddof=0, keepdims=False, **kw):
    """Variance Σ(x − x̄)²/(n − ddof). NumPy's default ddof=0 (biased);
    PyTorch's ``correction=`` / ``unbiased=`` are accepted (its default is
    correction=1: pass it for PyTorch's numbers). n ≤ ddof gives ∞ or NaN."""
    ddof = _ddof(ddof, kw, "var")
    axis, keepdims = _reduce_args(x, axis, keepdims, kw, "var")
    return Var.apply(floating(x), axis=axis, ddof=ddof, keepdims=keepdims)


def std(x, axis=None, ddof=0, keepdims=False, **kw):
    """Standard deviation √var (see :func:`var` for ``ddof``); its gradient is 0 where it is 0."""
    ddof = _ddof(ddof, kw, "std")
    axis, keepdims = _reduce_args(x, axis, keepdims, kw, "std")
    return Std.apply(floating(x), axis=axis, ddof=ddof, keepdims=keepdims)


def logsumexp(x, axis=None, keepdims=False, **kw):
    """log Σ exp(x) over ``axis``, computed without overflow."""
    axis, keepdims = _reduce_args(x, axis, keepdims, kw, "logsumexp")
    return LogSumExp.apply(floating(x), axis=axis, keepdims=keepdims)


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
