"""Indexing and selection with PyTorch's names and meanings.

gather, take_along_dim, index_select, masked_select, nonzero, where(cond),
scatter, scatter_add, scatter_reduce, index_add, sort, argsort, topk, unique,
bincount and one_hot.

Selections are integer-array indexing, so their gradient is the scatter-add
of :class:`~shendu.ops.indexing.GetItem`; the values of ``sort``/``topk`` are
such a gather of the input at the computed (int64, gradient-free) indices.
Writes into a tensor (the ``scatter`` family) are one :class:`ScatterReduce`.
"""
from __future__ import annotations

from collections import namedtuple

from ..autograd import Function
from ..backend import get_array_module, int64
from ..tensor import Tensor
from ._util import normalize_axes
from .indexing import GetItem
from .shape import broadcast_to

# Named like torch.return_types.*: ``values, indices = x.sort()`` or ``x.sort().indices``.
sort_result = namedtuple("sort", ["values", "indices"])
topk_result = namedtuple("topk", ["values", "indices"])


def constant(array):
    """A tensor without gradient around ``array`` (indices, counts, masks)."""
    return Tensor._wrap(array, False, None)


def dim_keywords(dim, keepdim, kw, op):
    """PyTorch's dim/keepdim, with NumPy's axis/keepdims (left in ``kw``) as aliases."""
    if "axis" in kw:
        dim = kw.pop("axis")
    if "keepdims" in kw:
        keepdim = kw.pop("keepdims")
    if kw:
        raise TypeError(f"{op}: unexpected keyword arguments {sorted(kw)}")
    return dim, keepdim


def one_dim(dim, ndim, op):
    """``dim`` as a non-negative int (a 0-d tensor accepts 0 and -1, as in PyTorch)."""
    if ndim == 0 and dim in (0, -1):
        return 0
    return normalize_axes(dim, ndim, op)[0]


def _index_array(index, op, what="index"):
    """An integer index (tensor, array or list) as an int64 array; a clear TypeError otherwise."""
    arr = index.data if isinstance(index, Tensor) else get_array_module(index).asarray(index)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{op}: {what} must be an integer tensor (int64), got dtype {arr.dtype}")
    return arr.astype(int64, copy=False)


def _check_range(idx, size, op, dim):
    if idx.size and (idx.min() < 0 or idx.max() >= size):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise IndexError(f"{op}: index {int(bad)} is out of bounds for dimension {dim} with size {size}")


def _coords(index, dim):
    """The full integer-array key that addresses ``x[..., index[i, j, k], ...]`` (``index`` along
    ``dim``, the other axes counted by their position in ``index``): the key of gather and scatter."""
    xp = get_array_module(index)
    key = []
    for d, n in enumerate(index.shape):
        if d == dim:
            key.append(index)
        else:
            shape = [1] * index.ndim
            shape[d] = n
            key.append(xp.arange(n).reshape(shape))
    return tuple(key)


def _along_key(x_shape, index, dim, op, src_shape=None):
    """Validate ``index`` for gather/scatter on a tensor of ``x_shape`` along ``dim``; its key."""
    if index.ndim != len(x_shape):
        raise RuntimeError(f"{op}: index must have as many dimensions as the input ({len(x_shape)}), "
                           f"got {index.ndim}")
    for d, n in enumerate(index.shape):
        if d != dim and n > x_shape[d]:
            raise RuntimeError(f"{op}: index has size {n} in dimension {d}, larger than the input's {x_shape[d]}")
        if src_shape is not None and n > src_shape[d]:
            raise RuntimeError(f"{op}: index has size {n} in dimension {d}, larger than src's {src_shape[d]}")
    _check_range(index, x_shape[dim], op, dim)
    return _coords(index, dim)


def gather(input, dim, index, **kw):
    """out[i][j][k] = input[index[i][j][k]][j][k] (for dim=0; likewise along any ``dim``).

    ``index`` is int64 with input's number of dimensions and no larger than
    input outside ``dim``; the output has index's shape. Gradient: the output
    gradient scatter-added back at the gathered positions.
    """
    if "sparse_grad" in kw and kw.pop("sparse_grad"):
        raise NotImplementedError("gather: sparse_grad=True is not supported; use the default dense gradient")
    if kw:
        raise TypeError(f"gather: unexpected keyword arguments {sorted(kw)}")
    idx = _index_array(index, "gather")
    dim = one_dim(dim, input.ndim, "gather")
    if input.ndim == 0:  # a 0-d tensor is gathered as one of shape (1,)
        return gather(input.reshape(1), 0, idx.reshape(-1)).reshape(idx.shape)
    key = _along_key(input.shape, idx, dim, "gather")
    return GetItem.apply(input, key=key, advanced=True)


def take_along_dim(input, indices, dim=None):
    """``gather`` with broadcasting: input and ``indices`` broadcast against each other except along
    ``dim``; with ``dim=None`` both are flattened (``input.flatten()[indices.flatten()]``)."""
    idx = _index_array(indices, "take_along_dim", "indices")
    if dim is None:
        flat = input.reshape(-1)
        _check_range(idx, flat.shape[0], "take_along_dim", 0)
        return GetItem.apply(flat, key=idx.reshape(-1), advanced=True)
    dim = one_dim(dim, input.ndim, "take_along_dim")
    if idx.ndim != input.ndim:
        raise RuntimeError(f"take_along_dim: input and indices should have the same number of dimensions, "
                           f"got {input.ndim} and {idx.ndim}")
    xp = get_array_module(idx)
    xs, ids = list(input.shape), list(idx.shape)
    xs[dim] = ids[dim] = 1
    try:
        common = list(xp.broadcast_shapes(tuple(xs), tuple(ids)))
    except ValueError as exc:
        raise RuntimeError(f"take_along_dim: shapes {input.shape} and {idx.shape} do not broadcast "
                           f"outside dim {dim}") from exc
    x_target = common.copy()
    x_target[dim] = input.shape[dim]
    if tuple(x_target) != input.shape:
        input = broadcast_to(input, tuple(x_target))
    common[dim] = idx.shape[dim]
    return gather(input, dim, xp.broadcast_to(idx, tuple(common)))


def index_select(input, dim, index):
    """The slices ``index[0], index[1], …`` of ``input`` along ``dim`` (index: 1-D int64).
    Gradient: scatter-add of the output gradient into those slices."""
    idx = _index_array(index, "index_select")
    if idx.ndim > 1:
        raise IndexError(f"index_select: index must be 0-D or 1-D, got {idx.ndim} dimensions")
    dim = one_dim(dim, input.ndim, "index_select")
    size = input.shape[dim] if input.ndim else 1
    _check_range(idx, size, "index_select", dim)
    if input.ndim == 0:
        return GetItem.apply(input.reshape(1), key=idx.reshape(-1), advanced=True).reshape(())
    key = (slice(None),) * dim + (idx.reshape(-1),)
    return GetItem.apply(input, key=key, advanced=True)


def masked_select(input, mask):
    """The elements of ``input`` where ``mask`` (bool, broadcastable) is true, as a 1-D tensor
    in row-major order. Gradient: scattered back to those positions."""
    m = mask.data if isinstance(mask, Tensor) else get_array_module(mask).asarray(mask)
    if m.dtype.kind != "b":
        raise TypeError(f"masked_select: mask must be a bool tensor, got dtype {m.dtype}")
    xp = get_array_module(m)
    shape = xp.broadcast_shapes(input.shape, m.shape)
    if shape != input.shape:
        input = broadcast_to(input, shape)
    return GetItem.apply(input, key=xp.broadcast_to(m, shape), advanced=True)


def nonzero(input, as_tuple=False):
    """Indices of the non-zero elements: an int64 tensor of shape (n, ndim), one row per element in
    row-major order; with ``as_tuple=True`` a tuple of ndim 1-D tensors (one per dimension)."""
    a = input.data if isinstance(input, Tensor) else input
    xp = get_array_module(a)
    if as_tuple:
        return tuple(constant(i.astype(int64)) for i in xp.nonzero(xp.atleast_1d(a)))
    if a.ndim == 0:
        return constant(xp.zeros((1 if a else 0, 0), dtype=int64))
    return constant(xp.argwhere(a).astype(int64))


def argwhere(input):
    """``nonzero(input)``: the (n, ndim) int64 indices of the non-zero elements."""
    return nonzero(input)


class ScatterReduce(Function):
    """out = x, with src[i][j][k] combined into out[index[i][j][k]][j][k] (dim=0; likewise any dim).

    ``reduce``: "none" (assignment, what ``scatter`` does), "sum", "prod", "mean", "amax", "amin";
    ``include_self=False`` leaves x's own value out where something is scattered. Gradients:
    sum/none → g at the targets (x's own share only if it stays in); mean → g/count;
    prod → g · (product of the other contributions), exact with zeros; amax/amin → g split
    evenly between the contributions equal to the result.
    """

    __slots__ = ("x", "s", "t", "out", "touched", "self_in", "count", "reduce", "src_shape", "crop")
    saves_output = True  # amax/amin compare with the result

    def forward(self, x, src, key, reduce, include_self):
        xp = get_array_module(x)
        shape = xp.broadcast_shapes(*(k.shape for k in key))  # the index's shape
        crop = tuple(slice(0, n) for n in shape)
        s = src[crop] if src.ndim else xp.broadcast_to(src, shape)
        t = xp.ravel_multi_index(tuple(xp.broadcast_to(k, s.shape) for k in key), x.shape)
        t, s = t.reshape(-1), s.reshape(-1)
        out = x.reshape(-1).copy()
        touched = xp.zeros(out.shape, dtype=bool)
        touched[t] = True
        self_in = ~touched if not include_self or reduce == "none" else xp.ones(out.shape, dtype=bool)
        if reduce == "none":
            out[t] = s
        else:
            identity = {"sum": 0, "mean": 0, "prod": 1}.get(reduce)
            if identity is None:  # amax / amin: the lowest / highest value of the dtype
                info = xp.finfo(x.dtype) if x.dtype.kind == "f" else xp.iinfo(x.dtype)
                identity = (-xp.inf if reduce == "amax" else xp.inf) if x.dtype.kind == "f" else \
                    (info.min if reduce == "amax" else info.max)
            out[~self_in] = identity
            ufunc = {"sum": xp.add, "mean": xp.add, "prod": xp.multiply, "amax": xp.maximum, "amin": xp.minimum}
            ufunc[reduce].at(out, t, s)
            if reduce == "mean":
                self.count = self_in + xp.bincount(t, minlength=out.size)
                if x.dtype.kind == "f":
                    out = out / xp.maximum(self.count, 1).astype(x.dtype)
                else:
                    out = out // xp.maximum(self.count, 1)
        self.x, self.s, self.t, self.out, self.touched, self.self_in = x, s, t, out, touched, self_in
        self.reduce, self.src_shape, self.crop = reduce, src.shape, crop
        return out.reshape(x.shape)

    def backward(self, g):
        xp = get_array_module(g)
        g = g.reshape(-1)
        gx, gs = g * self.self_in, g[self.t]
        if self.reduce == "mean":
            gx, gs = gx / self.count, gs / self.count[self.t]
        elif self.reduce == "prod":
            vals = xp.where(self.self_in, self.x.reshape(-1), 1)
            zeros = (vals == 0) + xp.bincount(self.t, weights=self.s == 0, minlength=g.size)
            nonzero_prod = xp.where(vals == 0, 1, vals)
            xp.multiply.at(nonzero_prod, self.t, xp.where(self.s == 0, 1, self.s))
            gx = gx * product_of_others(vals, zeros, nonzero_prod)
            gs = gs * product_of_others(self.s, zeros[self.t], nonzero_prod[self.t])
        elif self.reduce in ("amax", "amin"):
            hit_x = self.self_in & (self.x.reshape(-1) == self.out)
            hit_s = self.s == self.out[self.t]
            ties = hit_x + xp.bincount(self.t, weights=hit_s, minlength=g.size)
            gx = gx * hit_x / xp.maximum(ties, 1)
            gs = gs * hit_s / ties[self.t]
        gx = gx.reshape(self.x.shape)
        if self.src_shape == ():
            return gx, None
        full = xp.zeros(self.src_shape, dtype=g.dtype)
        full[self.crop] = gs.reshape(full[self.crop].shape)
        return gx, full


def product_of_others(v, zeros, nonzero_prod):
    """For each factor v of a product: the product of the other factors, exact when factors are 0.

    ``zeros`` counts the zero factors and ``nonzero_prod`` multiplies the non-zero ones (both for
    v's product): with no zero it is prod / v; a zero factor alone sees the non-zero product; any
    other case (another factor is zero) gives 0. The gradient of every product (prod, cumprod
    after its first zero, scatter_reduce "prod") is this times the upstream gradient.
    """
    xp = get_array_module(v)
    safe = xp.where(v == 0, 1, v)
    return xp.where(v != 0, xp.where(zeros == 0, nonzero_prod / safe, 0), xp.where(zeros == 1, nonzero_prod, 0))


_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def _scatter(input, dim, index, src, reduce, include_self, op):
    idx = _index_array(index, op)
    dim = one_dim(dim, input.ndim, op)
    if input.ndim == 0:  # a 0-d tensor is written as one of shape (1,)
        src = src.reshape(-1) if isinstance(src, Tensor) and src.ndim else src
        return _scatter(input.reshape(1), 0, idx.reshape(-1), src, reduce, include_self, op).reshape(())
    if isinstance(src, Tensor):
        if src.ndim != input.ndim and src.ndim != 0:
            raise RuntimeError(f"{op}: src must have as many dimensions as the input ({input.ndim}), got {src.ndim}")
        if src.dtype != input.dtype:
            raise RuntimeError(f"{op}: src must have the input's dtype {input.dtype}, got {src.dtype}")
    else:
        src = constant(get_array_module(input.data).asarray(src, dtype=input.dtype))
    key = _along_key(input.shape, idx, dim, op, src.shape if src.ndim else None)
    return ScatterReduce.apply(input, src, key=key, reduce=reduce, include_self=include_self)


def scatter(input, dim, index, src=None, value=None, reduce=None):
    """out = input with ``out[index[i][j][k]][j][k] = src[i][j][k]`` (dim=0; likewise any dim).

    ``src`` may be a tensor (at least index's size) or a number (``value=`` is its keyword
    alias). Where index repeats a position the last write wins (PyTorch leaves it undefined).
    ``reduce="add"|"multiply"`` is the legacy spelling of :func:`scatter_reduce`'s sum/prod.
    Gradient: input gets g except at the written positions; src gets g gathered at them.
    """
    if src is None:
        if value is None:
            raise TypeError("scatter: give src (a tensor) or value (a number)")
        src = value
    if reduce is not None:
        legacy = {"add": "sum", "multiply": "prod"}
        if reduce not in legacy:
            raise ValueError(f"scatter: reduce must be 'add' or 'multiply', got {reduce!r}")
        return _scatter(input, dim, index, src, legacy[reduce], True, "scatter")
    return _scatter(input, dim, index, src, "none", True, "scatter")


def scatter_add(input, dim, index, src):
    """out = input with ``out[index[i][j][k]][j][k] += src[i][j][k]`` (dim=0; likewise any dim);
    repeated positions add up. Gradient: input gets g, src gets g gathered at index."""
    return _scatter(input, dim, index, src, "sum", True, "scatter_add")


def scatter_reduce(input, dim, index, src, reduce, include_self=True):
    """out = input with each ``src[i][j][k]`` reduced into ``out[index[i][j][k]][j][k]`` (dim=0).

    ``reduce``: "sum", "prod", "mean", "amax" or "amin"; ``include_self=False`` leaves out
    input's own value at the positions that receive something. Gradients as PyTorch's (see
    :class:`ScatterReduce`).
    """
    if reduce not in _REDUCTIONS:
        raise ValueError(f"scatter_reduce: reduce must be one of {', '.join(_REDUCTIONS)}, got {reduce!r}")
    return _scatter(input, dim, index, src, reduce, include_self, "scatter_reduce")


def index_add(input, dim, index, source, alpha=1):
    """out = input with ``out[..., index[i], ...] += alpha · source[..., i, ...]`` along ``dim``
    (index: 1-D int64, one entry per slice of source); repeated indices add up."""
    idx = _index_array(index, "index_add").reshape(-1)
    dim = one_dim(dim, input.ndim, "index_add")
    _check_range(idx, input.shape[dim] if input.ndim else 1, "index_add", dim)
    if source.ndim and source.shape[dim] != idx.shape[0]:
        raise IndexError(f"index_add: index has {idx.shape[0]} entries but source has {source.shape[dim]} "
                         f"slices along dim {dim}")
    if alpha != 1:
        source = source * alpha
    if input.ndim == 0:
        return scatter_add(input, 0, idx.reshape(()), source.reshape(()))
    shape = [1] * input.ndim
    shape[dim] = -1
    xp = get_array_module(idx)
    return scatter_add(input, dim, xp.broadcast_to(idx.reshape(shape), source.shape), source)


def _stable_order(a, dim, descending):
    """Indices that sort ``a`` along ``dim`` stably; NaN counts as the largest value (as PyTorch)."""
    xp = get_array_module(a)
    if not descending:
        return xp.argsort(a, axis=dim, kind="stable")
    # sort the reversed lane ascending, reverse the result: equal values keep their original order
    n = a.shape[dim]
    rev = xp.flip(xp.argsort(xp.flip(a, axis=dim), axis=dim, kind="stable"), axis=dim)
    return n - 1 - rev


def gather_along(input, indices, dim):
    """``input`` gathered at ``indices`` along ``dim`` (differentiable): the values of sort, topk, cummax…"""
    if input.ndim == 0:
        return input
    return GetItem.apply(input, key=_coords(indices, dim), advanced=True)


class SortAlong(Function):
    """(values, indices) of the first ``k`` elements of x along ``axis`` in stable sorted order, one node.

    Two outputs: the gradient of ``values`` goes back to the positions in ``indices`` (each element is
    taken once, so the scatter is an assignment); ``indices`` is int64 and takes no gradient.
    """

    __slots__ = ("shape", "axis", "index")
    saved_inputs = ()

    def forward(self, x, axis, descending, k):
        xp = get_array_module(x)
        index = _stable_order(x, axis, descending)
        if k != x.shape[axis]:
            index = index[(slice(None),) * axis + (slice(0, k),)]
        self.shape, self.axis, self.index = x.shape, axis, index
        return xp.take_along_axis(x, index, axis=axis), index.astype(int64)

    def backward(self, g, g_indices):
        if g is None:
            return None
        gx = get_array_module(g).zeros(self.shape, dtype=g.dtype)
        get_array_module(g).put_along_axis(gx, self.index, g, axis=self.axis)
        return gx


def sort(input, dim=-1, descending=False, stable=False, **kw):
    """(values, indices): ``input`` sorted along ``dim``, ascending unless ``descending``.

    The sort is always stable: equal values keep their order (PyTorch's ``stable=True``); NaN
    sorts as the largest value. One node with two outputs (:class:`SortAlong`): ``indices`` is
    int64 without gradient; the gradient of ``values`` scatters back to where they came from.
    """
    dim, _ = dim_keywords(dim, None, kw, "sort")
    dim = one_dim(dim, input.ndim, "sort")
    if input.ndim == 0:
        return sort_result(input, constant(get_array_module(input.data).zeros((), dtype=int64)))
    return sort_result(*SortAlong.apply(input, axis=dim, descending=descending, k=input.shape[dim]))


def argsort(input, dim=-1, descending=False, stable=False, **kw):
    """The int64 indices that sort ``input`` along ``dim`` (``sort(...).indices``)."""
    return sort(input, dim, descending, stable, **kw).indices


def topk(input, k, dim=-1, largest=True, sorted=True):
    """(values, indices) of the ``k`` largest (or smallest) elements along ``dim``, in sorted order.

    Equal values are taken in index order. One :class:`SortAlong` node: ``values`` is
    differentiable, ``indices`` is int64.
    """
    dim = one_dim(dim, input.ndim, "topk")
    n = input.shape[dim] if input.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"topk: k ({k}) must be between 0 and the size of dim {dim} ({n})")
    if input.ndim == 0:
        return topk_result(*sort(input))
    return topk_result(*SortAlong.apply(input, axis=dim, descending=largest, k=k))


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct values of ``input`` in ascending order (flattened when ``dim`` is None; with
    ``dim`` the distinct slices along it). Optionally also ``inverse`` (int64, where each element
    of input went: ``output[inverse] == input``) and ``counts`` (int64). No gradient."""
    a = input.data
    xp = get_array_module(a)
    if dim is not None:
        dim = one_dim(dim, a.ndim, "unique")
    res = xp.unique(a if dim is not None else a.reshape(-1), return_inverse=True, return_counts=True,
                    axis=dim)
    out, inverse, counts = res
    if dim is None:
        inverse = inverse.reshape(a.shape)
    extra = []
    if return_inverse:
        extra.append(constant(inverse.reshape(-1).astype(int64) if dim is not None else inverse.astype(int64)))
    if return_counts:
        extra.append(constant(counts.astype(int64)))
    return (constant(out), *extra) if extra else constant(out)


def bincount(input, weights=None, minlength=0):
    """Count of each value 0, 1, …, max(input) in the 1-D non-negative int tensor ``input``
    (length max(max + 1, minlength)); with ``weights``, the sum of the weights instead.
    int64 counts; float64 sums (float32 for float32 weights, as PyTorch). No gradient."""
    a = _index_array(input, "bincount", "input")
    if a.ndim != 1:
        raise RuntimeError(f"bincount: input must be 1-D, got {a.ndim} dimensions")
    if a.size and a.min() < 0:
        raise RuntimeError(f"bincount: input must be non-negative, got {int(a.min())}")
    xp = get_array_module(a)
    if weights is None:
        return constant(xp.bincount(a, minlength=minlength).astype(int64))
    w = weights.data if isinstance(weights, Tensor) else xp.asarray(weights)
    if w.shape != a.shape:
        raise RuntimeError(f"bincount: weights must have input's shape {a.shape}, got {w.shape}")
    out = xp.bincount(a, weights=w, minlength=minlength)
    return constant(out.astype(w.dtype if w.dtype in (xp.float32, xp.float64) else xp.float64))


def one_hot(tensor, num_classes=-1):
    """out[..., c] = 1 if tensor[...] == c else 0: int64 of shape tensor.shape + (num_classes,).

    ``num_classes=-1`` takes max(tensor) + 1. Values outside [0, num_classes) are an error.
    """
    a = _index_array(tensor, "one_hot", "tensor")
    xp = get_array_module(a)
    if num_classes == -1:
        if a.size == 0:
            raise RuntimeError("one_hot: cannot infer the number of classes from an empty tensor; "
                               "pass num_classes")
        num_classes = int(a.max()) + 1
    if a.size and (a.min() < 0 or a.max() >= num_classes):
        bad = int(a.min()) if a.min() < 0 else int(a.max())
        raise RuntimeError(f"one_hot: class values must be in [0, {num_classes}), got {bad}")
    return constant((a[..., None] == xp.arange(num_classes)).astype(int64))
