"""Joining and splitting: concatenate (cat), stack, split, tensor_split, chunk, pad."""
from __future__ import annotations

import builtins
import itertools
import numbers

from ..autograd import Function
from ..backend import get_array_module
from ._util import binary_operands, empty_in_layout_of, normalize_axes
from .indexing import GetItem


class Concatenate(Function):
    """y = [x₁, x₂, …] joined along ``axis``;  each input gets its slice of the gradient."""

    __slots__ = ("axis", "bounds")
    saved_inputs = ()

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
    saved_inputs = ()

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
    saved_inputs = ()

    def forward(self, x, pad_width, value):
        self.slices = tuple(slice(lo, lo + n) for (lo, _), n in zip(pad_width, x.shape))
        # not np.pad, which answers in C order: a channels-last x (a ResNet shortcut) keeps its layout
        y = empty_in_layout_of(x, tuple(lo + n + hi for (lo, hi), n in zip(pad_width, x.shape)))
        y.fill(value)
        y[self.slices] = x
        return y

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


class Split(Function):
    """(y_1, …, y_k) = the slices x[b_i : b_(i+1)] along ``axis``: one node, k outputs (views of x,
    as in PyTorch). dL/dx = the pieces' gradients put back in place (zeros for a piece that
    received none)."""

    __slots__ = ("shape", "axis", "bounds")
    saved_inputs = ()

    def forward(self, x, axis, bounds):
        self.shape, self.axis, self.bounds = x.shape, axis, bounds
        lead = (slice(None),) * axis
        return tuple(x[lead + (slice(a, b),)] for a, b in zip(bounds[:-1], bounds[1:]))

    def backward(self, *grads):
        bounds, axis = self.bounds, self.axis
        if (all(g is not None for g in grads) and bounds[0] == 0 and bounds[-1] == self.shape[axis]
                and all(a <= b for a, b in zip(bounds[:-1], bounds[1:]))):  # the pieces tile x: one pass
            return get_array_module(grads[0]).concatenate(grads, axis=axis)
        dtype = next(g.dtype for g in grads if g is not None)
        gx = get_array_module(grads[0] if grads[0] is not None else next(g for g in grads if g is not None))
        gx = gx.zeros(self.shape, dtype=dtype)
        lead = (slice(None),) * self.axis
        for g, a, b in zip(grads, self.bounds[:-1], self.bounds[1:]):
            if g is not None:  # += : tensor_split's pieces may overlap (indices given out of order)
                gx[lead + (slice(a, b),)] += g
        return gx


def _dim(x, dim, kw, op):
    """The axis a split works along: ``dim`` (or NumPy's ``axis=``), made non-negative."""
    if "axis" in kw:
        dim = kw.pop("axis")
    if kw:
        raise TypeError(f"{op}: unexpected keyword arguments {sorted(kw)}")
    return normalize_axes(dim, x.data.ndim, op)[0]


def _split_at(x, bounds, axis):
    return list(Split.apply(x, axis=axis, bounds=tuple(bounds)))


def split(x, split_size_or_sections, dim=0, **kw):
    """PyTorch's split: pieces of ``split_size_or_sections`` along ``dim`` (one node, several outputs).

    An int is the size of each piece (the last one may be smaller); a list
    gives every piece's size, which must add up to the size of ``dim``:
    ``split(x, [2, 3])`` of a length-5 x -> x[:2], x[2:5]. ``axis=`` is an
    alias of ``dim=``. (NumPy's meaning, split *at* indices or into a number
    of sections, is :func:`tensor_split`.)

    Example:
        >>> [t.shape for t in shendu.split(shendu.arange(5), 2)]
        [(2,), (2,), (1,)]
    """
    axis = _dim(x, dim, kw, "split")
    n = x.data.shape[axis]
    s = split_size_or_sections
    if isinstance(s, numbers.Integral):
        if s <= 0 and not (s == 0 and n == 0):
            raise ValueError(f"split: split_size must be a positive int, got {s}")
        sizes = [s] * (n // s) + ([n % s] if n % s else []) if s else [0]
    else:
        sizes = [int(v) for v in s]
        if builtins.sum(sizes) != n or builtins.min(sizes, default=0) < 0:
            raise ValueError(f"split: sizes {sizes} must be non-negative and add up to {n}, the size of dim {axis}")
    return _split_at(x, list(itertools.accumulate(sizes, initial=0)), axis)


def tensor_split(x, indices_or_sections, dim=0, **kw):
    """Split *at* indices, or into a number of sections (NumPy's ``array_split``; PyTorch's ``tensor_split``).

    An int n gives n pieces whose sizes differ by at most one (the first ones
    larger); a list of indices splits before each: ``tensor_split(x, [2, 5])``
    -> x[:2], x[2:5], x[5:]. ``axis=`` is an alias of ``dim=``.
    """
    axis = _dim(x, dim, kw, "tensor_split")
    n = x.data.shape[axis]
    if isinstance(indices_or_sections, numbers.Integral):
        k = indices_or_sections
        if k <= 0:
            raise ValueError(f"tensor_split: the number of sections must be positive, got {k}")
        sizes = [n // k + (i < n % k) for i in range(k)]
        bounds = list(itertools.accumulate(sizes, initial=0))
    else:
        bounds = [0] + [int(i) for i in indices_or_sections] + [n]  # x[b_i:b_i+1], Python's slicing rules
    return _split_at(x, bounds, axis)


def chunk(x, chunks, dim=0, **kw):
    """PyTorch's chunk: pieces of size ceil(n / chunks) along ``dim`` (maybe fewer than ``chunks``)."""
    axis = _dim(x, dim, kw, "chunk")
    if not isinstance(chunks, numbers.Integral) or chunks <= 0:
        raise ValueError(f"chunk: chunks must be a positive int, got {chunks!r}")
    n = x.data.shape[axis]
    if n == 0:  # PyTorch: `chunks` empty pieces
        return _split_at(x, [0] * (chunks + 1), axis)
    return split(x, -(-n // chunks), axis)


_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def pad(x, pad, mode="constant", value=None):
    """Pad the last dimensions, as ``torch.nn.functional.pad``.

    ``pad`` is a flat tuple of (before, after) amounts from the LAST dimension
    backwards: ``(left, right)`` pads the last axis, ``(left, right, top,
    bottom)`` the last two, and so on (``len(pad) // 2 <= x.ndim``).

    Modes: ``'constant'`` (fill with ``value``, default 0; negative amounts
    crop), ``'reflect'`` (mirror without repeating the edge, amounts < the
    size), ``'replicate'`` (repeat the edge), ``'circular'`` (wrap around,
    amounts <= the size). The constant mode's gradient is the interior of g;
    the others gather through an index map, so their gradient adds up the copies.

    Shape: (*, n_{d-1}, n_d) -> (*, top + n_{d-1} + bottom, left + n_d + right).
    """
    nd = x.data.ndim
    if not isinstance(pad, (tuple, list)) or not all(isinstance(p, numbers.Integral) for p in pad):
        raise ValueError(f"pad: expected a flat tuple of ints (left, right, top, bottom, ...) from the last "
                         f"dimension backwards, as torch.nn.functional.pad; got {pad!r} (NumPy's per-axis "
                         f"pairs first axis first are not accepted: reverse and flatten them)")
    if len(pad) % 2 or len(pad) // 2 > nd:
        raise ValueError(f"pad: expected an even number of amounts, at most 2 per dimension ({2 * nd} for a "
                         f"tensor of shape {x.data.shape}), got {tuple(pad)!r}")
    k = len(pad) // 2
    pairs = [(int(pad[2 * i]), int(pad[2 * i + 1])) for i in range(k)][::-1]  # first padded axis first
    shape = x.data.shape[nd - k:]
    if mode == "constant":
        if any(a < 0 or b < 0 for a, b in pairs):  # negative amounts crop
            crop = tuple(slice(builtins.max(-a, 0), n - builtins.max(-b, 0)) for (a, b), n in zip(pairs, shape))
            x = GetItem.apply(x, key=(slice(None),) * (nd - k) + crop, advanced=False)
            pairs = [(builtins.max(a, 0), builtins.max(b, 0)) for a, b in pairs]
        width = ((0, 0),) * (nd - k) + tuple(pairs)
        return Pad.apply(x, pad_width=width, value=0.0 if value is None else value)
    if mode not in _PAD_MODES:
        raise ValueError(f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}")
    if value not in (None, 0, 0.0):
        raise ValueError(f"pad: value= applies to mode='constant' only, got value={value!r} with mode={mode!r}")
    for (a, b), n in zip(pairs, shape):
        limit = n - 1 if mode == "reflect" else n
        if a < 0 or b < 0 or builtins.max(a, b) > limit or n == 0:
            raise ValueError(f"pad: {mode} padding {tuple(pad)!r} needs non-negative amounts "
                             f"{'smaller than' if mode == 'reflect' else 'at most'} the padded sizes "
                             f"{tuple(shape)}")
    xp = get_array_module(x.data)
    for axis, (pair, n) in enumerate(zip(pairs, shape), start=nd - k):  # one gather per padded axis
        if pair != (0, 0):
            index = xp.pad(xp.arange(n), pair, mode=_PAD_MODES[mode])
            x = GetItem.apply(x, key=(slice(None),) * axis + (index,), advanced=True)
    return x
