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
"""
from __future__ import annotations

import math

from .. import backend
from ..autograd import Function
from ..backend import get_array_module
from ..tensor import Tensor


class ScaledDotProductAttention(Function):
    """O = softmax(Q Kᵀ·scale + mask)·V as one node; its backward is in the module docstring."""

    __slots__ = ("q", "k", "v", "p", "drop", "scale")

    def forward(self, q, k, v, mask=None, drop=None, scale=1.0):
        xp = get_array_module(q)
        s = backend.matmul(q, k.swapaxes(-1, -2))
        s *= scale
        if mask is not None:
            s = xp.where(mask, s, -xp.inf) if mask.dtype == bool else s + mask
        m = s.max(axis=-1, keepdims=True)
        e = xp.exp(s - xp.where(xp.isfinite(m), m, 0))
        total = e.sum(axis=-1, keepdims=True)
        p = e / xp.where(total == 0, 1, total)  # a fully masked row: all weights 0, output 0
        self.q, self.k, self.v, self.p, self.drop, self.scale = q, k, v, p, drop, scale
        return backend.matmul(p if drop is None else p * drop, v)

    def backward(self, g):
        iq, ik, iv = self.inputs
        p, drop = self.p, self.drop
        pd = p if drop is None else p * drop
        gv = backend.matmul(pd.swapaxes(-1, -2), g) if iv.requires_grad else None
        if not (iq.requires_grad or ik.requires_grad):
            return None, None, gv
        dp = backend.matmul(g, self.v.swapaxes(-1, -2))
        if drop is not None:
            dp *= drop
        ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))
        ds *= self.scale
        gq = backend.matmul(ds, self.k) if iq.requires_grad else None
        gk = backend.matmul(ds.swapaxes(-1, -2), self.q) if ik.requires_grad else None
        return gq, gk, gv


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
