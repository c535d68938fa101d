"""Scans (cumulative ops along a dim) and the reductions PyTorch adds to NumPy's.

cumsum, cumprod, cummax, cummin, logcumsumexp, prod, var_mean, std_mean,
count_nonzero, all, any, median, mode, quantile.

``dim=`` / ``keepdim=`` are PyTorch's keywords; ``axis=`` / ``keepdims=`` are
accepted as aliases. Values picked at an index (cummax, median, mode) are a
gather of the input, so their gradient goes to that one element; the indices
are int64 and carry no gradient.
"""
from __future__ import annotations

from collections import namedtuple

from ..autograd import Function
from ..backend import get_array_module, int64
from ..tensor import Tensor
from ._util import cast, normalize_axes
from .indexing import take
from .reduction import mean, std, var
from .selection import constant, dim_keywords, gather_along, one_dim, product_of_others, sort

cummax_result = namedtuple("cummax", ["values", "indices"])
cummin_result = namedtuple("cummin", ["values", "indices"])
median_result = namedtuple("median", ["values", "indices"])
mode_result = namedtuple("mode", ["values", "indices"])


def _one_dim(x, dim, op):
    return one_dim(dim, x.ndim, op)


def _flip_cumsum(g, dim):
    """Σ_{j ≥ i} g_j along ``dim`` (the gradient of a cumulative sum)."""
    xp = get_array_module(g)
    return xp.flip(xp.cumsum(xp.flip(g, axis=dim), axis=dim), axis=dim)


# --------------------------------------------------------------------------- scans
class CumSum(Function):
    """y_i = Σ_{j ≤ i} x_j along ``dim``;  dL/dx_i = Σ_{j ≥ i} g_j."""

    __slots__ = ("dim",)
    saved_inputs = ()  # backward needs no saved array

    def forward(self, x, dim):
        self.dim = dim
        return get_array_module(x).cumsum(x, axis=dim, dtype=x.dtype)

    def backward(self, g):
        return _flip_cumsum(g, self.dim)


class CumProd(Function):
    """y_i = Π_{j ≤ i} x_j along ``dim``;  dL/dx_i = Σ_{j ≥ i} g_j Π_{k ≤ j, k ≠ i} x_k.

    Before the first zero of a lane that is (Σ_{j ≥ i} g_j y_j) / x_i; at the first zero the
    products skip it (a cumulative product with that zero taken as 1); after it, 0 — exact with
    zeros, as PyTorch.
    """

    __slots__ = ("x", "y", "dim")
    saves_output = True  # backward uses y as well as x

    def forward(self, x, dim):
        self.x, self.dim = x, dim
        self.y = get_array_module(x).cumprod(x, axis=dim, dtype=x.dtype)
        return self.y

    def backward(self, g):
        xp = get_array_module(g)
        x, dim = self.x, self.dim
        zeros_so_far = xp.cumsum(x == 0, axis=dim)
        before = zeros_so_far == 0
        first_zero = (x == 0) & (zeros_so_far == 1)
        safe = xp.where(before, x, 1)
        grad = xp.where(before, _flip_cumsum(g * self.y, dim) / safe, 0)
        if first_zero.any():
            skipped = xp.cumprod(xp.where(first_zero, 1, x), axis=dim)  # Π_{k ≤ j, k ≠ zero} x_k
            grad = xp.where(first_zero, _flip_cumsum(g * xp.where(zeros_so_far == 1, skipped, 0), dim), grad)
        return grad


class LogCumSumExp(Function):
    """y_i = log Σ_{j ≤ i} exp(x_j) along ``dim``, accumulated with logaddexp (never overflows);
    dL/dx_i = Σ_{j ≥ i} g_j exp(x_i − y_j), summed in log space for the positive and the negative
    parts of g separately so that it stays finite too."""

    __slots__ = ("x", "y", "dim")
    saves_output = True  # backward uses y as well as x

    def forward(self, x, dim):
        self.x, self.dim = x, dim
        self.y = get_array_module(x).logaddexp.accumulate(x, axis=dim)
        return self.y

    def backward(self, g):
        xp = get_array_module(g)
        dim = self.dim

        def part(h):  # exp(x_i) Σ_{j ≥ i} h_j exp(−y_j) for h ≥ 0, in log space
            with xp.errstate(divide="ignore"):
                logs = xp.log(h) - self.y
            acc = xp.flip(xp.logaddexp.accumulate(xp.flip(logs, axis=dim), axis=dim), axis=dim)
            return xp.exp(self.x + acc)

        return part(xp.maximum(g, 0)) - part(xp.maximum(-g, 0))


def _scan_input(x, dtype):
    if dtype is not None:
        return cast(x, dtype)
    if x.data.dtype.kind in "biu" and x.data.dtype != int64:  # PyTorch accumulates integers in int64
        return cast(x, int64)
    return x


def cumsum(input, dim, dtype=None, **kw):
    """y_i = x_0 + … + x_i along ``dim`` (integers and bools accumulate in int64)."""
    dim, _ = dim_keywords(dim, None, kw, "cumsum")
    x = _scan_input(input, dtype)
    d = _one_dim(x, dim, "cumsum")
    return CumSum.apply(x, dim=d) if x.ndim else x


def cumprod(input, dim, dtype=None, **kw):
    """y_i = x_0 · … · x_i along ``dim``; the gradient is exact where x has zeros."""
    dim, _ = dim_keywords(dim, None, kw, "cumprod")
    x = _scan_input(input, dtype)
    d = _one_dim(x, dim, "cumprod")
    return CumProd.apply(x, dim=d) if x.ndim else x


def logcumsumexp(input, dim, **kw):
    """y_i = log(exp(x_0) + … + exp(x_i)) along ``dim``, stable for large |x|."""
    dim, _ = dim_keywords(dim, None, kw, "logcumsumexp")
    d = _one_dim(input, dim, "logcumsumexp")
    return LogCumSumExp.apply(input, dim=d) if input.ndim else input


def _cumulative_extremum(input, dim, largest, kw, op, result):
    dim, _ = dim_keywords(dim, None, kw, op)
    d = _one_dim(input, dim, op)
    a = input.data
    xp = get_array_module(a)
    if a.ndim == 0:
        return result(input, constant(xp.zeros((), dtype=int64)))
    running = (xp.maximum if largest else xp.minimum).accumulate(a, axis=d)
    # the index moves to every element that reaches the running extremum (the last of ties, as PyTorch)
    shape = [1] * a.ndim
    shape[d] = -1
    pos = xp.arange(a.shape[d]).reshape(shape)
    hit = (a == running) | (a != a)
    idx = xp.maximum.accumulate(xp.where(hit, pos, 0), axis=d).astype(int64)
    return result(gather_along(input, idx, d), constant(idx))


def cummax(input, dim, **kw):
    """(values, indices): the running maximum along ``dim`` and where it was reached (the last
    index among ties). ``values`` is a gather of the input at ``indices``."""
    return _cumulative_extremum(input, dim, True, kw, "cummax", cummax_result)


def cummin(input, dim, **kw):
    """(values, indices): the running minimum along ``dim`` and where it was reached (the last
    index among ties)."""
    return _cumulative_extremum(input, dim, False, kw, "cummin", cummin_result)


# --------------------------------------------------------------------------- reductions
class Prod(Function):
    """y = Π x over ``axis``;  dy/dx_i = Π_{j ≠ i} x_j (exact where x has zeros)."""

    __slots__ = ("x", "axis", "keepdims")

    def forward(self, x, axis, keepdims):
        self.x, self.axis, self.keepdims = x, axis, keepdims
        return get_array_module(x).prod(x, axis=axis, keepdims=keepdims, dtype=x.dtype)

    def backward(self, g):
        xp = get_array_module(g)
        x, axis = self.x, self.axis
        if not self.keepdims:
            g = g.reshape([1 if i in axis else n for i, n in enumerate(x.shape)])
        zeros = (x == 0).sum(axis=axis, keepdims=True)
        nonzero_prod = xp.where(x == 0, 1, x).prod(axis=axis, keepdims=True)
        return g * product_of_others(x, zeros, nonzero_prod)


def _axes(x, dim, op):
    return normalize_axes(tuple(dim) if isinstance(dim, list) else dim, x.ndim, op)


def prod(input, dim=None, keepdim=False, dtype=None, **kw):
    """Π of the elements over ``dim`` (all by default); integers and bools multiply in int64.
    The gradient is the product of the other elements, exact with zeros (as PyTorch)."""
    dim, keepdim = dim_keywords(dim, keepdim, kw, "prod")
    x = _scan_input(input, dtype)
    return Prod.apply(x, axis=_axes(x, dim, "prod"), keepdims=keepdim)


def _spread_and_mean(spread, input, dim, unbiased, keepdim, correction, kw, op):
    """(spread(x, dim, ddof, keepdim), mean) with PyTorch's arguments: correction (default 1) or
    unbiased, which may also come positionally in dim's place (``torch.var_mean(x, False)``)."""
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    dim, keepdim = dim_keywords(dim, keepdim, kw, op)
    if unbiased is not None and correction is not None:
        raise TypeError(f"{op}: give correction= or unbiased=, not both")
    ddof = (1 if unbiased else 0) if unbiased is not None else 1 if correction is None else correction
    return spread(input, dim, ddof, keepdim), mean(input, dim, keepdim)


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None, **kw):
    """(var, mean) over ``dim``: var = Σ(x − x̄)² / (n − correction), PyTorch's default correction=1
    (``unbiased=False`` is correction=0). Both are differentiable."""
    return _spread_and_mean(var, input, dim, unbiased, keepdim, correction, kw, "var_mean")


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None, **kw):
    """(std, mean) over ``dim``: std = √var with PyTorch's default correction=1 (see :func:`var_mean`)."""
    return _spread_and_mean(std, input, dim, unbiased, keepdim, correction, kw, "std_mean")


def _bool_reduce(input, dim, keepdim, kw, op, fn_name):
    dim, keepdim = dim_keywords(dim, keepdim, kw, op)
    a = input.data if isinstance(input, Tensor) else get_array_module(input).asarray(input)
    axis = _axes(a, dim, op) if dim is not None else None
    xp = get_array_module(a)
    return constant(xp.asarray(getattr(a, fn_name)(axis=axis, keepdims=keepdim)))


def all(input, dim=None, keepdim=False, **kw):
    """True where every element over ``dim`` is non-zero (a bool tensor, no gradient)."""
    return _bool_reduce(input, dim, keepdim, kw, "all", "all")


def any(input, dim=None, keepdim=False, **kw):
    """True where some element over ``dim`` is non-zero (a bool tensor, no gradient)."""
    return _bool_reduce(input, dim, keepdim, kw, "any", "any")


def count_nonzero(input, dim=None, **kw):
    """The number of non-zero elements over ``dim`` (int64, no gradient)."""
    dim, _ = dim_keywords(dim, None, kw, "count_nonzero")
    a = input.data
    axis = _axes(a, dim, "count_nonzero") if dim is not None else None
    return constant(get_array_module(a).asarray((a != 0).sum(axis=axis), dtype=int64))


def _pick(input, order_idx, d, keepdim):
    """values and indices at the chosen positions ``order_idx`` (keepdim shape) along ``d``."""
    values = gather_along(input, order_idx, d)
    if not keepdim:
        values = values.squeeze(d)
        order_idx = order_idx.squeeze(d)
    return values, constant(order_idx)


def median(input, dim=None, keepdim=False, **kw):
    """The lower median: the ⌊(n−1)/2⌋-th smallest value (NaN if the lane has a NaN).

    Without ``dim``: a 0-d tensor over all elements. With ``dim``: (values, indices), the index
    of the median's element (stable order among ties). The gradient goes to that element.
    """
    dim, keepdim = dim_keywords(dim, keepdim, kw, "median")
    xp = get_array_module(input.data)
    if dim is None:
        flat = input.reshape(-1)
        if flat.shape[0] == 0:
            return constant(xp.asarray(xp.nan, dtype=input.dtype))
        return median(flat, 0).values
    d = _one_dim(input, dim, "median")
    if input.ndim == 0:
        return median_result(input, constant(xp.zeros((), dtype=int64)))
    a = input.data
    n = a.shape[d]
    if n == 0:
        raise IndexError(f"median: cannot compute the median of an empty dimension {d}")
    order = xp.argsort(a, axis=d, kind="stable")
    take = (slice(None),) * d + (slice((n - 1) // 2, (n - 1) // 2 + 1),)
    idx = order[take]
    if a.dtype.kind == "f":  # a NaN in the lane makes the median NaN: point at the lane's first NaN
        nan = xp.isnan(a)
        idx = xp.where(nan.any(axis=d, keepdims=True), xp.argmax(nan, axis=d, keepdims=True), idx)
    return median_result(*_pick(input, idx.astype(int64), d, keepdim))


def mode(input, dim=-1, keepdim=False, **kw):
    """(values, indices): the most frequent value along ``dim`` (the smallest among equally
    frequent ones) and the last index where it occurs, as PyTorch."""
    dim, keepdim = dim_keywords(dim, keepdim, kw, "mode")
    xp = get_array_module(input.data)
    if input.ndim == 0:
        return mode_result(input, constant(xp.zeros((), dtype=int64)))
    d = _one_dim(input, dim, "mode")
    a = xp.moveaxis(input.data, d, -1)
    n = a.shape[-1]
    if n == 0:
        raise IndexError(f"mode: cannot compute the mode of an empty dimension {d}")
    order = xp.argsort(a, axis=-1, kind="stable")
    s = xp.take_along_axis(a, order, axis=-1)
    # run lengths in the sorted lane: a run starts where the value changes
    starts = xp.concatenate([xp.ones(s.shape[:-1] + (1,), dtype=bool), s[..., 1:] != s[..., :-1]], axis=-1)
    pos = xp.arange(n)
    run_start = xp.maximum.accumulate(xp.where(starts, pos, 0), axis=-1)
    length = pos - run_start + 1  # at each run's last element: the run's length
    ends = xp.concatenate([starts[..., 1:], xp.ones(s.shape[:-1] + (1,), dtype=bool)], axis=-1)
    score = xp.where(ends, length, 0)
    best = xp.argmax(score, axis=-1)[..., None]  # the first (smallest) value of the longest runs
    idx = xp.take_along_axis(order, best, axis=-1)  # stable sort: the run's end is the last occurrence
    idx = xp.moveaxis(idx, -1, d).astype(int64)
    return mode_result(*_pick(input, idx, d, keepdim))


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear", **kw):
    """The q-th quantiles of ``input`` over ``dim`` (flattened when None), q in [0, 1].

    With sorted values v_0 ≤ … ≤ v_{n−1} and r = q (n − 1), i = ⌊r⌋, j = ⌈r⌉:
    linear v_i + (r − i)(v_j − v_i); lower v_i; higher v_j; midpoint (v_i + v_j)/2;
    nearest v_round(r) (half to even). A 1-D tensor ``q`` puts its dimension first in the output.
    Differentiable (through the sorted values).
    """
    dim, keepdim = dim_keywords(dim, keepdim, kw, "quantile")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"quantile: interpolation must be one of {', '.join(_INTERPOLATIONS)}, "
                         f"got {interpolation!r}")
    if input.data.dtype.kind != "f":
        raise RuntimeError(f"quantile: input must be a float tensor, got dtype {input.dtype}")
    xp = get_array_module(input.data)
    qs = q.data if isinstance(q, Tensor) else xp.asarray(q, dtype=input.dtype)
    if qs.ndim > 1:
        raise RuntimeError(f"quantile: q must be a number or a 0-D/1-D tensor, got {qs.ndim} dimensions")
    if qs.size and (qs.min() < 0 or qs.max() > 1):
        raise RuntimeError("quantile: q values must be in the range [0, 1]")
    x = input.reshape(-1) if dim is None else input
    d = 0 if dim is None else _one_dim(input, dim, "quantile")
    if x.ndim == 0:
        x = x.reshape(1)
    n = x.shape[d]
    if n == 0:
        raise IndexError("quantile: the input is empty along the reduced dimension")
    v = sort(x, d).values
    rank = qs.reshape(-1).astype(input.dtype) * input.dtype.type(n - 1)  # in the input's dtype, as torch
    lo, hi = xp.floor(rank).astype(int64), xp.ceil(rank).astype(int64)
    if interpolation == "lower":
        hi = lo
    elif interpolation == "higher":
        lo = hi
    elif interpolation == "nearest":
        lo = hi = xp.round(rank).astype(int64)
    out = take(v, constant(lo), d)  # the q positions along d
    if interpolation in ("linear", "midpoint"):
        w = rank - lo if interpolation == "linear" else xp.full(rank.shape, 0.5)
        shape = [1] * out.ndim
        shape[d] = -1
        out = out + (take(v, constant(hi), d) - out) * constant(w.astype(input.dtype).reshape(shape))
    nan = xp.isnan(x.data).any(axis=d, keepdims=True)
    if nan.any():  # a NaN in a lane makes its quantiles NaN
        out = out + constant(xp.where(nan, xp.nan, 0).astype(input.dtype))
    out = out.permute(d, *(i for i in range(out.ndim) if i != d))  # the q axis first
    if keepdim:
        out = out.reshape((len(rank),) + tuple(1 if dim is None or i == d else k
                                               for i, k in enumerate(input.shape)))
    return out.reshape(out.shape[1:]) if qs.ndim == 0 else out
