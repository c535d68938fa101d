"""The original attention of RNN encoder–decoders: additive (Bahdanau et al. 2014) and multiplicative (Luong et
al. 2015).

A decoder state (the query) q scores every encoder output (the keys) kⱼ, the scores become weights
by a softmax over the source positions, and the context is the weighted average of the values
(the encoder outputs again, unless given)::

    additive (Bahdanau):   eⱼ = vᵀ tanh(W_q q + W_k kⱼ)
    dot (Luong):           eⱼ = qᵀ kⱼ
    general (Luong):       eⱼ = qᵀ W kⱼ
    αⱼ = softmax(e)ⱼ  (masked positions excluded),   context = Σⱼ αⱼ vⱼ

The weights α are what an attention map plots: which source position each output looked at.
"""
from __future__ import annotations

from .. import functional as F
from ..backend import xp
from ..ops import matmul
from ..tensor import Tensor
from .linear import Linear
from .module import Module


def _attend(scores, values, mask, who):
    """Softmax over the source axis (masked positions excluded) and the weighted average of the values."""
    if mask is not None:
        m = mask.data if isinstance(mask, Tensor) else xp.asarray(mask)
        if m.dtype != bool or tuple(m.shape) != tuple(scores.shape[:1]) + tuple(scores.shape[-1:]):
            raise ValueError(f"{who}: expected a bool mask (N, S) with True at the real source positions, got "
                             f"{'shape ' + str(tuple(m.shape))} and dtype {m.dtype}")
        keep = m[:, None, :] if scores.ndim == 3 else m
        scores = scores + Tensor(xp.where(keep, 0.0, -xp.inf).astype(scores.dtype))
    weights = F.softmax(scores, dim=-1)
    single = weights.ndim == 2
    context = matmul(weights.unsqueeze(1) if single else weights, values)
    return (context.squeeze(1) if single else context), weights


def _check(who, query, keys, values):
    if keys.ndim != 3 or query.ndim not in (2, 3) or query.shape[0] != keys.shape[0]:
        raise ValueError(f"{who}: expected query (N, Dq) or (N, L, Dq) and keys (N, S, Dk), got shapes "
                         f"{tuple(query.shape)} and {tuple(keys.shape)}")
    if values is not None and (values.ndim != 3 or values.shape[:2] != keys.shape[:2]):
        raise ValueError(f"{who}: expected values (N, S, Dv) matching keys {tuple(keys.shape)}, got "
                         f"{tuple(values.shape)}")


class AdditiveAttention(Module):
    """Bahdanau attention: eⱼ = vᵀ tanh(W_q q + W_k kⱼ), α = softmax(e), context = Σ αⱼ vⱼ.

    Args:
        query_dim: Dq, the decoder state's size. key_dim: Dk, the encoder outputs' size.
        hidden_dim: the size of the tanh layer (default Dk).

    Call: ``(query, keys, values=None, mask=None) -> (context, weights)``.

    Shape: query (N, Dq) or (N, L, Dq); keys (N, S, Dk); values (N, S, Dv) (default: the keys); mask (N, S),
    True at real positions -> context (N, Dv) or (N, L, Dv); weights (N, S) or (N, L, S).

    Example:
        >>> att = nn.AdditiveAttention(query_dim=16, key_dim=32)
        >>> context, weights = att(shendu.randn(4, 16), shendu.randn(4, 9, 32))
        >>> context.shape, weights.shape
        ((4, 32), (4, 9))
    """

    def __init__(self, query_dim, key_dim, hidden_dim=None):
        super().__init__()
        hidden_dim = key_dim if hidden_dim is None else hidden_dim
        self.query_proj = Linear(query_dim, hidden_dim, bias=False)
        self.key_proj = Linear(key_dim, hidden_dim, bias=True)
        self.v = Linear(hidden_dim, 1, bias=False)

    def forward(self, query, keys, values=None, mask=None):
        _check("AdditiveAttention", query, keys, values)
        q = self.query_proj(query)                                 # (N, H) or (N, L, H)
        k = self.key_proj(keys)                                    # (N, S, H)
        joint = (q.unsqueeze(1) if q.ndim == 2 else q.unsqueeze(2)) + (k if q.ndim == 2 else k.unsqueeze(1))
        scores = self.v(joint.tanh()).squeeze(-1)                  # (N, S) or (N, L, S)
        return _attend(scores, keys if values is None else values, mask, "AdditiveAttention")


class DotProductAttention(Module):
    """Luong attention: eⱼ = qᵀ kⱼ (``"dot"``), or eⱼ = qᵀ W kⱼ (``"general"``), optionally scaled by 1/√D.

    Args:
        query_dim, key_dim: Dq, Dk (equal for ``"dot"``). mode: ``"dot"`` or ``"general"``. scaled: divide
        the scores by √Dk (the Transformer's choice; Luong's is unscaled).

    Call, shapes: as :class:`AdditiveAttention`.

    Example:
        >>> att = nn.DotProductAttention(32, 32)
        >>> att(shendu.randn(4, 32), shendu.randn(4, 9, 32))[1].shape
        (4, 9)
    """

    def __init__(self, query_dim, key_dim, mode="dot", scaled=False):
        super().__init__()
        if mode not in ("dot", "general"):
            raise ValueError(f"DotProductAttention: mode must be 'dot' or 'general', got {mode!r}")
        if mode == "dot" and query_dim != key_dim:
            raise ValueError(f"DotProductAttention: 'dot' needs query_dim == key_dim, got {query_dim} and {key_dim} "
                             f"(use mode='general')")
        self.mode, self.scale = mode, (key_dim ** -0.5 if scaled else 1.0)
        self.weight = Linear(key_dim, query_dim, bias=False) if mode == "general" else None

    def forward(self, query, keys, values=None, mask=None):
        _check("DotProductAttention", query, keys, values)
        k = keys if self.weight is None else self.weight(keys)          # (N, S, Dq)
        q = query.unsqueeze(1) if query.ndim == 2 else query              # (N, L, Dq)
        scores = matmul(q, k.transpose(1, 2))
        if self.scale != 1.0:
            scores = scores * self.scale
        scores = scores.squeeze(1) if query.ndim == 2 else scores
        return _attend(scores, keys if values is None else values, mask, "DotProductAttention")


__all__ = ["AdditiveAttention", "DotProductAttention"]
