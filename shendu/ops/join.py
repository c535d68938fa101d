"""Joining and splitting: concatenate (cat), stack, split, pad."""
from __future__ import annotations

import builtins
import itertools
import numbers

from ..autograd import Function
from ..backend import get_array_module
from ._util import binary_operands, normalize_axes
from .indexing import GetItem


class Concatenate(Function):
    """y = [x₁, x₂, …] joined along ``axis``;  each input gets its slice of the gradient."""

    __slots__ = ("axis", "bounds")

    def forward(self, *xs, axis):
        self.axis = axis
        bounds, n = [], 0
        for x in xs:
            n += x.shape[axis]
            bounds.append(n)
        self.bounds = bounds[:-1]
        return get_array_module(xs[0]).concatenate(xs, axis=axis)

    def backward(self, g):
        return tuple(get_array_module(g).split(g, self.bounds, axis=self.axis))

    @classmethod
    def describe_error(cls, shapes, options, exc):
        return f"concatenate: shapes {', '.join(map(str, shapes))} must agree except along axis {options.get('axis')}"


class Stack(Function):
    """y = [x₁, x₂, …] stacked along a new ``axis``;  input i gets y's slice i."""

    __slots__ = ("axis",)

    def forward(self, *xs, axis):
        self.axis = axis
        return get_array_module(xs[0]).stack(xs, axis=axis)

    def backward(self, g):
        xp = get_array_module(g)
        return tuple(xp.take(g, i, axis=self.axis) for i in range(g.shape[self.axis]))

    @classmethod
    def describe_error(cls, shapes, options, exc):
        return f"stack: all inputs must have the same shape, got {', '.join(map(str, shapes))}"


class Pad(Function):
    """y = x surrounded by ``value``;  the gradient is the interior of g."""

    __slots__ = ("slices",)

    def forward(self, x, pad_width, value):
        self.slices = tuple(slice(lo, lo + n) for (lo, _), n in zip(pad_width, x.shape))
        return get_array_module(x).pad(x, pad_width, mode="constant", constant_values=value)

    def backward(self, g):
        return g[self.slices]


def _same_dtype(xs):
    first = xs[0]
    out = []
    for x in xs:
        if x.data.dtype != first.data.dtype:
            first, x = binary_operands(first, x)
        out.append(x)
    return [x if x.data.dtype == out[-1].data.dtype else x.astype(out[-1].data.dtype) for x in out]


def concatenate(tensors, axis=0, **kw):
    """Join tensors along an existing axis. Aliases: ``cat``, ``dim=``."""
    axis = kw.pop("dim", axis)
    xs = list(tensors)
    if not xs:
        raise ValueError("concatenate: need at least one tensor, got an empty sequence")
    xs = _same_dtype(xs)
    axis = normalize_axes(axis, xs[0].data.ndim, "concatenate")[0]
    return Concatenate.apply(*xs, axis=axis)


cat = concatenate


def stack(tensors, axis=0, **kw):
    """Join tensors along a new axis. Alias: ``dim=``."""
    axis = kw.pop("dim", axis)
    xs = list(tensors)
    if not xs:
        raise ValueError("stack: need at least one tensor, got an empty sequence")
    xs = _same_dtype(xs)
    nd = xs[0].data.ndim + 1
    if not -nd <= axis < nd:
        raise IndexError(f"stack: axis {axis} is out of range for a result of {nd} dimensions")
    return Stack.apply(*xs, axis=axis % nd)


def split(x, indices_or_sections, axis=0, **kw):
    """Split along ``axis`` into a list of tensors (views of x in the graph).

    NumPy's meaning: an int is a number of equal sections, a list gives the
    split indices (``split(x, [2, 5])`` -> x[:2], x[2:5], x[5:]). PyTorch's
    meaning (chunk size, or a list of sizes) is accepted as the keyword
    ``split_size_or_sections=``; ``dim=`` is an alias of ``axis=``.
    """
    axis = normalize_axes(kw.pop("dim", axis), x.data.ndim, "split")[0]
    n = x.data.shape[axis]
    if "split_size_or_sections" in kw:
        s = kw.pop("split_size_or_sections")
        sizes = [s] * (n // s) + ([n % s] if n % s else []) if isinstance(s, numbers.Integral) else list(s)
        if builtins.sum(sizes) != n:
            raise ValueError(f"split: sizes {sizes} do not add up to {n}, the size of axis {axis}")
        bounds = list(itertools.accumulate(sizes, initial=0))
    elif isinstance(indices_or_sections, numbers.Integral):
        if indices_or_sections <= 0 or n % indices_or_sections:
            raise ValueError(f"split: axis {axis} of size {n} does not divide into "
                             f"{indices_or_sections} equal sections")
        bounds = [i * (n // indices_or_sections) for i in range(indices_or_sections + 1)]
    else:
        bounds = [0] + [int(i) for i in indices_or_sections] + [n]
    if kw:
        raise TypeError(f"split: unexpected keyword arguments {sorted(kw)}")
    lead = (slice(None),) * axis
    return [GetItem.apply(x, key=lead + (slice(a, b),), advanced=False) for a, b in zip(bounds[:-1], bounds[1:])]


def chunk(x, chunks, axis=0):
    """PyTorch's chunk: ``chunks`` pieces of size ceil(n / chunks)."""
    n = x.data.shape[axis]
    size = -(-n // chunks)
    return split(x, None, axis, split_size_or_sections=size)


def pad(x, pad_width, value=0.0):
    """Pad with a constant ``value`` (NumPy's ``pad(mode="constant")``).

    ``pad_width`` as in NumPy: an int (the same before and after every axis),
    one ``(before, after)`` pair for every axis, or a pair per axis
    ``((before_0, after_0), (before_1, after_1), ...)``. (PyTorch's
    last-axis-first ``F.pad`` convention lives in the functional layer.)

    Shape: x (n_0, n_1, ...) -> (before_0 + n_0 + after_0, ...).
    """
    nd = x.data.ndim
    if isinstance(pad_width, numbers.Integral):
        pw = [(pad_width, pad_width)] * nd
    elif len(pad_width) == 2 and all(isinstance(p, numbers.Integral) for p in pad_width):
        pw = [tuple(pad_width)] * nd
    elif len(pad_width) == 1:
        p = pad_width[0]
        pw = [(p, p) if isinstance(p, numbers.Integral) else tuple(p)] * nd
    elif all(isinstance(p, numbers.Integral) for p in pad_width):
        # A flat tuple of 4 or 6 ints is PyTorch's F.pad convention (last axis first);
        # reading it NumPy's way would silently pad the wrong axes.
        raise ValueError(f"pad: a flat pad_width {tuple(pad_width)!r} is ambiguous; give one (before, after) pair "
                         f"per axis (NumPy's convention), or use shendu.functional.pad2d for PyTorch's "
                         f"(left, right, top, bottom) order")
    else:
        pw = [(p, p) if isinstance(p, numbers.Integral) else tuple(p) for p in pad_width]
    if len(pw) != nd or any(len(p) != 2 for p in pw):
        raise ValueError(f"pad: pad_width needs one (before, after) pair per axis ({nd}), got {pad_width!r}")
    if any(a < 0 or b < 0 for a, b in pw):
        raise ValueError(f"pad: pad widths must be non-negative, got {pad_width!r}")
    return Pad.apply(x, pad_width=tuple(pw), value=value)
