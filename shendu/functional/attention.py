"""Attention: softmax(Q Kᵀ · scale + mask) · V (Vaswani et al. 2017, "Attention is all you need").

For queries ``Q (..., L, E)``, keys ``K (..., S, E)`` and values ``V (..., S, Ev)``::

    S = Q Kᵀ · scale + mask            scores, (..., L, S); scale = 1/√E by default
    P = softmax(S)   along the keys     attention weights, each row sums to 1
    O = (P ∘ D) V                       D: the dropout mask (1/(1−p) or 0), training only

and backward, written out (one fused node, no graph of small ops)::

    dV = (P ∘ D)ᵀ dO
    dP = (dO Vᵀ) ∘ D
    dS = P ∘ (dP − rowsum(dP ∘ P))      the softmax's Jacobian applied to dP
    dQ = dS K · scale,   dK = dSᵀ Q · scale

Memory: the node keeps P (and D), L·S numbers per head and batch element — the
price of a plain implementation (FlashAttention avoids it by recomputing P in
tiles). A row whose keys are all masked out has no softmax; like PyTorch, its
output and gradients are 0 rather than NaN.

Speed (bench/NOTES.md §12): S comes from one batched GEMM straight into the
buffer that becomes P, and the softmax runs in place on it (oneDNN's softmax
where that path is on and no row is fully masked, else NumPy's passes); the
backward forms dS in place in dP. The output and the gradients are laid out in
memory like the query / their input (``empty_like``): for heads split off a
packed (N, T, 3·E) projection by ``reshape(N, T, h, d).transpose(1, 2)``, the
output lies as (N, T, h, d), so merging the heads back is a view, not a copy.
The batched products and the softmax split the first batch axis over
:mod:`shendu.parallel`'s threads.
"""
from __future__ import annotations

import math

from .. import backend, parallel
from ..autograd import Function
from ..backend import get_array_module
from ..tensor import Tensor


class ScaledDotProductAttention(Function):
    """O = softmax(Q Kᵀ·scale + mask)·V as one node; its backward is in the module docstring."""

    __slots__ = ("q", "k", "v", "p", "drop", "scale")

    def forward(self, q, k, v, mask=None, drop=None, scale=1.0):
        xp = get_array_module(q)
        batch = xp.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
        dtype = xp.result_type(q, k, v)
        p = xp.empty((*batch, q.shape[-2], k.shape[-2]), dtype)
        out = xp.empty_like(q, dtype=dtype, shape=(*batch, q.shape[-2], v.shape[-1]))  # q's memory order
        fast = backend.fast_kernels()
        # oneDNN's softmax has no answer for a row with no key (0 / 0): such masks keep NumPy's
        fast_softmax = fast is not None and not _has_empty_rows(mask)
        blocked = None if mask is None or mask.dtype != bool else ~mask

        def scores(r):  # S = Q Kᵀ·scale + mask, then (NumPy's kernels) P = softmax(S), in place in p
            s = p[r]
            backend.matmul(_rows(q, r, batch), _rows(k, r, batch).swapaxes(-1, -2), out=s)
            s *= scale
            if blocked is not None:
                xp.copyto(s, -xp.inf, where=_rows(blocked, r, batch))
            elif mask is not None:
                s += _rows(mask, r, batch)
            if not fast_softmax:
                _softmax_(s)

        _over_batch(batch, scores, p.size)
        if fast_softmax and fast.softmax_(p) is None:  # oneDNN declined (float64, small): NumPy's
            _over_batch(batch, lambda r: _softmax_(p[r]), p.size)
        self.q, self.k, self.v, self.p, self.drop, self.scale = q, k, v, p, drop, scale
        pd = p if drop is None else p * drop
        _over_batch(batch, lambda r: backend.matmul(pd[r], _rows(v, r, batch), out=out[r]), p.size)
        return out

    def backward(self, g):
        iq, ik, iv = self.inputs
        q, k, v, p, drop, scale = self.q, self.k, self.v, self.p, self.drop, self.scale
        xp = get_array_module(g)
        batch = p.shape[:-2]
        pd = p if drop is None else p * drop
        # each gradient in its input's memory order (heads split off a packed projection merge back without a
        # copy); a broadcast input gets the full batch shape, which the engine sums back
        gq, gk, gv = (xp.empty_like(a, dtype=g.dtype, shape=(*batch, *a.shape[-2:])) if i.requires_grad else None
                      for a, i in ((q, iq), (k, ik), (v, iv)))

        def part(r):
            gr = _rows(g, r, batch)
            if gv is not None:
                backend.matmul(pd[r].swapaxes(-1, -2), gr, out=gv[r])
            if gq is None and gk is None:
                return
            ds = backend.matmul(gr, _rows(v, r, batch).swapaxes(-1, -2))  # dP, made into dS in place
            if drop is not None:
                ds *= drop[r]
            pr = p[r]
            ds -= xp.einsum("...ij,...ij->...i", ds, pr)[..., None]          # dP − rowsum(dP ∘ P)
            ds *= pr
            ds *= scale
            if gq is not None:
                backend.matmul(ds, _rows(k, r, batch), out=gq[r])
            if gk is not None:
                backend.matmul(ds.swapaxes(-1, -2), _rows(q, r, batch), out=gk[r])

        _over_batch(batch, part, p.size)
        return gq, gk, gv


def _softmax_(s):
    """s ← softmax(s) along the last axis, in place (NumPy): max, subtract, exp, sum, divide. A row of −inf only
    (every key masked out) becomes 0, not NaN."""
    xp = get_array_module(s)
    m = s.max(axis=-1, keepdims=True)
    m[~xp.isfinite(m)] = 0
    s -= m
    xp.exp(s, out=s)
    total = s.sum(axis=-1, keepdims=True)
    total[total == 0] = 1
    s /= total


def _has_empty_rows(mask):
    """True when some query may attend to no key: a bool mask's row all False, a float mask's row all −inf."""
    if mask is None:
        return False
    xp = get_array_module(mask)
    open_ = mask if mask.dtype == bool else ~xp.isneginf(mask)
    return bool((~open_.any(axis=-1)).any())


def _rows(a, r, batch):
    """``a[r]``, the part ``r`` (a slice) of the first batch axis, or ``a`` whole where it broadcasts along that
    axis (fewer dimensions, or a first axis of size 1) or where there is no batch axis (``r`` is ``...``)."""
    if batch and a.ndim == len(batch) + 2 and a.shape[0] != 1:
        return a[r]
    return a


def _over_batch(batch, body, work):
    """``body(r)`` for slices ``r`` of the first batch axis, one per thread (:func:`shendu.parallel.parallel_for`),
    or ``body(...)`` once for 2-d inputs. The parts write disjoint rows of the outputs."""
    if batch:
        parallel.parallel_for(batch[0], lambda i, j: body(slice(i, j)), work)
    else:
        body(...)


def _mask_array(mask, name, shape):
    """A mask as an array broadcastable to the scores' shape ``(..., L, S)``: bool (True = take part) or float
    (added to the scores)."""
    data = mask.data if isinstance(mask, Tensor) else get_array_module(mask).asarray(mask)
    if data.dtype != bool and data.dtype.kind != "f":
        raise TypeError(f"{name}: attn_mask must be bool (True = take part) or floating (added to the scores), "
                        f"got dtype {data.dtype}")
    try:
        backend.xp.broadcast_shapes(data.shape, shape)
    except ValueError:
        raise ValueError(f"{name}: attn_mask of shape {tuple(data.shape)} does not broadcast to the attention "
                         f"scores' shape {tuple(shape)} (..., L, S)") from None
    return data


def causal_mask(length, source_length=None, device=None):
    """The bool mask (L, S) of causal attention: query i may attend to keys 0..i (True = take part).

    Example:
        >>> causal_mask(3).astype(int).tolist()
        [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
    """
    s = length if source_length is None else source_length
    return backend.xp.tril(backend.xp.ones((length, s), dtype=bool))


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 training=True):
    """softmax(Q Kᵀ·scale + mask)·V, PyTorch's ``F.scaled_dot_product_attention``.

    Args:
        query: (..., L, E). key: (..., S, E). value: (..., S, Ev). Leading axes broadcast.
        attn_mask: bool, True where a query may attend to a key (PyTorch's convention for this function;
            ``nn.MultiheadAttention`` uses the opposite one), or floating, added to the scores (−inf masks
            out); broadcastable to (..., L, S).
        dropout_p: dropout on the attention weights (applied when ``training``; PyTorch's function always
            applies it — pass ``dropout_p=0`` in evaluation, or ``training=False``).
        is_causal: mask out the keys after each query (the top-left aligned lower triangle); exclusive with
            ``attn_mask``.
        scale: the factor of Q Kᵀ (default 1/√E).

    Shape: (..., L, E), (..., S, E), (..., S, Ev) -> (..., L, Ev).

    Example:
        >>> q = k = v = shendu.randn(2, 4, 10, 16)          # batch, heads, length, head size
        >>> F.scaled_dot_product_attention(q, k, v, is_causal=True).shape
        (2, 4, 10, 16)
    """
    name = "scaled_dot_product_attention"
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise ValueError(f"{name}: query, key and value need at least 2 dimensions (..., L, E), got shapes "
                         f"{tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ValueError(f"{name}: expected query (..., L, E), key (..., S, E), value (..., S, Ev), got shapes "
                         f"{tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}")
    if not 0 <= dropout_p < 1:
        raise ValueError(f"{name}: dropout_p must be in [0, 1), got {dropout_p}")
    L, S = query.shape[-2], key.shape[-2]
    mask = None
    if is_causal:
        if attn_mask is not None:
            raise ValueError(f"{name}: is_causal and attn_mask are exclusive (pass one mask)")
        mask = causal_mask(L, S)
    elif attn_mask is not None:
        batch = backend.xp.broadcast_shapes(query.shape[:-2], key.shape[:-2])
        mask = _mask_array(attn_mask, name, (*batch, L, S))
        if mask.dtype != bool:
            mask = mask.astype(query.dtype, copy=False)
    drop = None
    if dropout_p > 0 and training:
        batch = backend.xp.broadcast_shapes(query.shape[:-2], key.shape[:-2])
        keep = backend.rng().random((*batch, L, S)) >= dropout_p
        drop = keep.astype(query.dtype) * query.dtype.type(1 / (1 - dropout_p))
    scale = 1 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    return ScaledDotProductAttention.apply(query, key, value, mask=mask, drop=drop, scale=scale)


__all__ = ["scaled_dot_product_attention", "causal_mask"]
