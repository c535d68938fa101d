"""Movement ops: flip, roll, repeat/tile, repeat_interleave, tril/triu, diag,
diagonal, diag_embed, unfold (sliding windows), unflatten, movedim, meshgrid,
narrow, contiguous and the ``*_as`` helpers.

Each moves or copies numbers without arithmetic, so each backward moves the
gradient back: the inverse movement, or a sum over the copies.
"""
from __future__ import annotations

import numbers

from .. import backend
from ..autograd import Function
from ..backend import get_array_module
from ..tensor import Tensor
from ._util import cast
from .indexing import getitem
from .shape import broadcast_to, expand, permute, reshape, swapaxes


def _dims(dims, ndim, op):
    """``dims`` (int, tuple or list) as a tuple of non-negative axes, in the given order."""
    if isinstance(dims, numbers.Integral):
        dims = (dims,)
    out = []
    for d in dims:
        if not -ndim <= d < max(ndim, 1):
            raise IndexError(f"{op}: dimension {d} is out of range for a tensor of {ndim} dimensions")
        out.append(d % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated dimension in {tuple(dims)}")
    return tuple(out)


def _sizes(sizes):
    if len(sizes) == 1 and not isinstance(sizes[0], numbers.Integral):
        return tuple(sizes[0])
    return tuple(sizes)


# ---------------------------------------------------------------- flip, roll
class Flip(Function):
    """y = x reversed along ``dims``;  the gradient is reversed back."""

    __slots__ = ("dims",)

    def forward(self, x, dims):
        self.dims = dims
        return get_array_module(x).flip(x, dims).copy()

    def backward(self, g):
        return get_array_module(g).flip(g, self.dims)


class Roll(Function):
    """y = x shifted cyclically by ``shifts`` along ``dims``;  the gradient is rolled back."""

    __slots__ = ("shifts", "dims")

    def forward(self, x, shifts, dims):
        self.shifts, self.dims = shifts, dims
        return get_array_module(x).roll(x, shifts, dims)

    def backward(self, g):
        return get_array_module(g).roll(g, tuple(-s for s in self.shifts), self.dims)


def flip(input, dims):
    """Reverse the order of the elements along ``dims`` (an int or a tuple)."""
    return Flip.apply(input, dims=_dims(dims, input.data.ndim, "flip"))


def fliplr(input):
    """Reverse along dimension 1 (left/right); at least 2-D."""
    return flip(input, 1)


def flipud(input):
    """Reverse along dimension 0 (up/down)."""
    return flip(input, 0)


def roll(input, shifts, dims=None):
    """Shift elements cyclically: y[(i + shift) mod n] = x[i] along each dim.
    Without ``dims`` the tensor is flattened, rolled and reshaped back (PyTorch)."""
    if dims is None:
        if not isinstance(shifts, numbers.Integral):
            raise ValueError(f"roll: without dims, shifts must be one integer, got {shifts!r}")
        return reshape(roll(reshape(input, -1), shifts, 0), input.data.shape)
    shifts = (shifts,) if isinstance(shifts, numbers.Integral) else tuple(shifts)
    dims = _dims(dims, input.data.ndim, "roll")
    if len(shifts) != len(dims):
        raise ValueError(f"roll: shifts {shifts} and dims {dims} must have the same length")
    return Roll.apply(input, shifts=shifts, dims=dims)


# ---------------------------------------------------------------- repeat, tile, repeat_interleave
class Tile(Function):
    """y = x copied ``reps[i]`` times along each axis i (x already has len(reps) axes);
    the gradient sums the copies: g viewed as (r₀, n₀, r₁, n₁, …) summed over the r axes."""

    __slots__ = ("shape", "reps")

    def forward(self, x, reps):
        self.shape, self.reps = x.shape, reps
        return get_array_module(x).tile(x, reps)

    def backward(self, g):
        split = []
        for r, n in zip(self.reps, self.shape):
            split += [r, n]
        return g.reshape(split).sum(axis=tuple(range(0, len(split), 2)))


def repeat(input, *sizes):
    """PyTorch's ``Tensor.repeat``: tile ``input`` ``sizes[i]`` times along dimension i
    (NumPy's ``tile``, not ``repeat``; see :func:`repeat_interleave` for that).
    ``len(sizes)`` ≥ ``input.ndim``; extra sizes add leading dimensions.

    Shape: (n₀, …) → (s₀·n₀, …), with x's shape padded with leading 1s.
    """
    sizes = _sizes(sizes)
    nd = input.data.ndim
    if len(sizes) < nd:
        raise ValueError(f"repeat: number of repeat sizes ({len(sizes)}) can not be smaller than the number "
                         f"of dimensions of the tensor ({nd}); use tile for fewer")
    if any(s < 0 for s in sizes):
        raise ValueError(f"repeat: sizes must be non-negative, got {sizes}")
    x = reshape(input, (1,) * (len(sizes) - nd) + input.data.shape)
    return Tile.apply(x, reps=sizes)


def tile(input, dims):
    """Repeat ``input`` ``dims[i]`` times along each dimension; fewer dims than the tensor
    has are padded with leading 1s (unlike :func:`repeat`)."""
    dims = (dims,) if isinstance(dims, numbers.Integral) else tuple(dims)
    nd = input.data.ndim
    return repeat(input, (1,) * (nd - len(dims)) + dims)


class RepeatInterleave(Function):
    """y = each slice of x along ``axis`` repeated ``repeats[i]`` times in place;
    the gradient sums the gradients of each slice's copies."""

    __slots__ = ("index", "n", "axis")

    def forward(self, x, repeats, axis):
        xp = get_array_module(x)
        self.n, self.axis = x.shape[axis], axis
        self.index = xp.repeat(xp.arange(self.n), repeats)
        return xp.take(x, self.index, axis=axis)

    def backward(self, g):
        xp = get_array_module(g)
        moved = xp.moveaxis(g, self.axis, 0)
        out = xp.zeros((self.n,) + moved.shape[1:], dtype=g.dtype)
        xp.add.at(out, self.index, moved)
        return xp.moveaxis(out, 0, self.axis)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Repeat each element (``dim=None``: of the flattened tensor) or each slice along
    ``dim`` ``repeats`` times: ``repeat_interleave([1, 2], 2) = [1, 1, 2, 2]``.

    ``repeats`` is an int or a 1-D int tensor with one count per slice.
    ``repeat_interleave(counts)`` alone gives ``[0]*counts[0] + [1]*counts[1] + …``.
    """
    if repeats is None:
        counts = input.data
        xp = get_array_module(counts)
        return Tensor._wrap(xp.repeat(xp.arange(counts.shape[0]), counts), False, None)
    if dim is None:
        input, dim = reshape(input, -1), 0
    dim = _dims(dim, input.data.ndim, "repeat_interleave")[0]
    if isinstance(repeats, Tensor):
        repeats = repeats.data
        if repeats.ndim == 0 or repeats.size == 1:
            repeats = int(repeats.reshape(-1)[0])
        elif repeats.shape != (input.data.shape[dim],):
            raise ValueError(f"repeat_interleave: repeats must have shape ({input.data.shape[dim]},) for "
                             f"dimension {dim} of a tensor of shape {input.data.shape}, got {repeats.shape}")
    if (repeats < 0).any() if backend.is_array(repeats) else repeats < 0:
        raise ValueError("repeat_interleave: repeats must be non-negative")
    return RepeatInterleave.apply(input, repeats=repeats, axis=dim)


# ---------------------------------------------------------------- triangles and diagonals
class Triangle(Function):
    """y = x with the elements above (tril) or below (triu) the k-th diagonal of the last
    two axes set to 0;  the gradient is masked the same way."""

    __slots__ = ("k", "upper")

    def forward(self, x, k, upper):
        self.k, self.upper = k, upper
        return self._mask(x)

    def backward(self, g):
        return self._mask(g)

    def _mask(self, a):
        xp = get_array_module(a)
        return xp.triu(a, self.k) if self.upper else xp.tril(a, self.k)


def tril(input, diagonal=0):
    """The lower triangle of the last two dimensions: y[…, i, j] = x[…, i, j] if j − i ≤ diagonal else 0."""
    _at_least_2d(input, "tril")
    return Triangle.apply(input, k=diagonal, upper=False)


def triu(input, diagonal=0):
    """The upper triangle of the last two dimensions: y[…, i, j] = x[…, i, j] if j − i ≥ diagonal else 0."""
    _at_least_2d(input, "triu")
    return Triangle.apply(input, k=diagonal, upper=True)


def _at_least_2d(x, op):
    if x.data.ndim < 2:
        raise ValueError(f"{op}: expected a tensor of at least 2 dimensions, got shape {x.data.shape}")


def _diagonal_index(xp, n1, n2, offset):
    """Row and column indices of the ``offset``-th diagonal of an n1 × n2 matrix."""
    start_i, start_j = (0, offset) if offset >= 0 else (-offset, 0)
    length = max(0, min(n1 - start_i, n2 - start_j))
    return xp.arange(length) + start_i, xp.arange(length) + start_j


def diagonal_array(a, offset, dim1, dim2):
    """The diagonal of ``a`` over dims (dim1, dim2), moved to the last axis (a copy)."""
    xp = get_array_module(a)
    m = xp.moveaxis(a, (dim1, dim2), (-2, -1))
    i, j = _diagonal_index(xp, m.shape[-2], m.shape[-1], offset)
    return m[..., i, j]


def embed_diagonal_array(v, shape, offset, dim1, dim2):
    """Zeros of ``shape`` with the last axis of ``v`` written on the diagonal over (dim1, dim2)."""
    xp = get_array_module(v)
    out = xp.zeros(shape, dtype=v.dtype)
    m = xp.moveaxis(out, (dim1, dim2), (-2, -1))  # a view: writing into it writes into out
    i, j = _diagonal_index(xp, m.shape[-2], m.shape[-1], offset)
    m[..., i, j] = v
    return out


class Diagonal(Function):
    """y = the ``offset``-th diagonal of x over (dim1, dim2), as its last axis;
    the gradient is written back on that diagonal of zeros."""

    __slots__ = ("shape", "offset", "dim1", "dim2")

    def forward(self, x, offset, dim1, dim2):
        self.shape, self.offset, self.dim1, self.dim2 = x.shape, offset, dim1, dim2
        return diagonal_array(x, offset, dim1, dim2)

    def backward(self, g):
        return embed_diagonal_array(g, self.shape, self.offset, self.dim1, self.dim2)


class DiagEmbed(Function):
    """y = zeros with x's last axis on the ``offset``-th diagonal over (dim1, dim2);
    the gradient is that diagonal of g."""

    __slots__ = ("offset", "dim1", "dim2")

    def forward(self, x, shape, offset, dim1, dim2):
        self.offset, self.dim1, self.dim2 = offset, dim1, dim2
        return embed_diagonal_array(x, shape, offset, dim1, dim2)

    def backward(self, g):
        return diagonal_array(g, self.offset, self.dim1, self.dim2)


def diagonal(input, offset=0, dim1=0, dim2=1):
    """The ``offset``-th diagonal over dims (dim1, dim2) (offset > 0: above the main one),
    as a new last dimension. Shape: the two dims removed, the diagonal's length appended."""
    d1, d2 = _dims((dim1, dim2), input.data.ndim, "diagonal")
    return Diagonal.apply(input, offset=offset, dim1=d1, dim2=d2)


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """A tensor whose diagonals over (dim1, dim2) hold the last dimension of ``input``
    (the inverse of :func:`diagonal`). Shape: (…, n) → (…, n + |offset|, n + |offset|)
    with the two new dims at dim1, dim2 of the result."""
    shape = input.data.shape
    nd = len(shape) + 1
    d1, d2 = _dims((dim1, dim2), nd, "diag_embed")
    n = shape[-1] + abs(offset)
    rest = list(shape[:-1])
    out_shape = [0] * nd
    for d in range(nd):
        out_shape[d] = n if d in (d1, d2) else rest.pop(0)
    return DiagEmbed.apply(input, shape=tuple(out_shape), offset=offset, dim1=d1, dim2=d2)


def diag(input, diagonal=0):
    """1-D input: a square matrix with ``input`` on its ``diagonal``-th diagonal;
    2-D input: that diagonal as a 1-D tensor."""
    if input.data.ndim == 1:
        return diag_embed(input, diagonal, 0, 1)
    if input.data.ndim == 2:
        return Diagonal.apply(input, offset=diagonal, dim1=0, dim2=1)
    raise ValueError(f"diag: expected a 1-D or 2-D tensor, got shape {input.data.shape}")


# ---------------------------------------------------------------- unfold (sliding windows)
class Unfold(Function):
    """y[…, w, …, k] = x[…, w·step + k, …]: windows of ``size`` along ``axis``, every ``step``,
    the window's elements in a new last axis; the gradient adds each window back."""

    __slots__ = ("shape", "axis", "size", "step")

    def forward(self, x, axis, size, step):
        xp = get_array_module(x)
        self.shape, self.axis, self.size, self.step = x.shape, axis, size, step
        windows = xp.lib.stride_tricks.sliding_window_view(x, size, axis=axis)
        index = [slice(None)] * x.ndim
        index[axis] = slice(None, None, step)
        return windows[tuple(index)].copy()

    def backward(self, g):
        xp = get_array_module(g)
        out = xp.zeros(self.shape, dtype=g.dtype)
        n = g.shape[self.axis]
        for k in range(self.size):  # window element k of every window at once
            index = [slice(None)] * out.ndim
            index[self.axis] = slice(k, k + self.step * (n - 1) + 1, self.step)
            out[tuple(index)] += g[..., k]
        return out


def unfold(input, dimension, size, step):
    """``Tensor.unfold``: all windows of ``size`` elements along ``dimension``, ``step`` apart.

    Shape: dimension n becomes (n − size) // step + 1 windows, and a last dimension of
    ``size`` is appended. (``functional.unfold`` is the different im2col operation.)
    """
    shape = input.data.shape
    axis = _dims(dimension, len(shape), "unfold")[0] if shape else 0
    n = shape[axis] if shape else 1
    if size < 0 or size > n or step <= 0:
        raise ValueError(f"unfold: size {size} must be in [0, {n}] (dimension {dimension} of shape {shape}) "
                         f"and step {step} positive")
    if not shape:
        return reshape(input, (1,))
    return Unfold.apply(input, axis=axis, size=size, step=step)


# ---------------------------------------------------------------- reshaping helpers
def unflatten(input, dim, sizes):
    """Split dimension ``dim`` into ``sizes`` (one may be −1): (…, n, …) → (…, *sizes, …)."""
    shape = input.data.shape
    d = _dims(dim, len(shape), "unflatten")[0]
    sizes = tuple(sizes)
    known = 1
    for s in sizes:
        known *= 1 if s == -1 else s
    fits = shape[d] % known == 0 if -1 in sizes and known else known == shape[d]
    if sizes.count(-1) > 1 or not fits:
        raise ValueError(f"unflatten: sizes {sizes} do not multiply to dimension {d} of size {shape[d]} "
                         f"(shape {shape})")
    return reshape(input, shape[:d] + sizes + shape[d + 1:])


def movedim(input, source, destination):
    """Move dimension(s) ``source`` to position(s) ``destination``; the others keep their order.
    Alias: ``moveaxis``."""
    nd = input.data.ndim
    src = _dims(source, nd, "movedim")
    dst = _dims(destination, nd, "movedim")
    if len(src) != len(dst):
        raise ValueError(f"movedim: source {source} and destination {destination} must have the same length")
    order = [d for d in range(nd) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(input, tuple(order))


moveaxis = movedim


def swapdims(input, dim0, dim1):
    """Exchange two dimensions (PyTorch's name; same as ``swapaxes`` and ``transpose(dim0, dim1)``)."""
    return swapaxes(input, dim0, dim1)


def meshgrid(*tensors, indexing="ij"):
    """Coordinate grids from 1-D tensors x₁…x_N: output k has x_k along axis k, repeated along the others.

    ``indexing="ij"`` (matrix, PyTorch's default): shapes (n₁, …, n_N); ``"xy"`` (Cartesian):
    the first two axes exchanged. Each output is a broadcast of its input, so gradients sum back.
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    for t in tensors:
        if t.data.ndim > 1:
            raise ValueError(f"meshgrid: expected 0-D or 1-D tensors, got shape {t.data.shape}")
    n = len(tensors)
    swap = indexing == "xy" and n >= 2
    shape = [t.data.size for t in tensors]
    if swap:
        shape[0], shape[1] = shape[1], shape[0]
    grids = []
    for k, t in enumerate(tensors):
        axis = {0: 1, 1: 0}.get(k, k) if swap else k
        view = [1] * n
        view[axis] = t.data.size
        grids.append(broadcast_to(reshape(t, tuple(view)), tuple(shape)))
    return tuple(grids)


def narrow(input, dim, start, length):
    """The slice ``start : start + length`` of dimension ``dim`` (start may be negative)."""
    shape = input.data.shape
    d = _dims(dim, len(shape), "narrow")[0]
    start = int(start)
    if start < 0:
        start += shape[d]
    if not (0 <= start and length >= 0 and start + length <= shape[d]):
        raise IndexError(f"narrow: start {start} + length {length} exceeds dimension {d} of size {shape[d]}")
    key = (slice(None),) * d + (slice(start, start + length),)
    return getitem(input, key)


def view_as(input, other):
    """``input`` reshaped to ``other``'s shape."""
    return reshape(input, other.shape)


reshape_as = view_as


def expand_as(input, other):
    """``input`` broadcast to ``other``'s shape."""
    return expand(input, other.shape)


def type_as(input, other):
    """``input`` cast to ``other``'s dtype (differentiable between floating dtypes)."""
    return cast(input, other.dtype)


class Contiguous(Function):
    """y = x in C order (a copy when x is not);  dy/dx = 1."""

    __slots__ = ()

    def forward(self, x):
        return get_array_module(x).ascontiguousarray(x)

    def backward(self, g):
        return g


def contiguous(input):
    """``input`` itself if its data is C-contiguous, else a C-contiguous copy in the same graph."""
    if input.data.flags.c_contiguous:
        return input
    return Contiguous.apply(input)

