"""Multi-head attention (Vaswani et al. 2017), PyTorch's ``nn.MultiheadAttention``: names, arguments, masks.

With h heads of size d = E/h, for each head i::

    Qᵢ = query Wqᵢᵀ + bqᵢ,  Kᵢ = key Wkᵢᵀ + bkᵢ,  Vᵢ = value Wvᵢᵀ + bvᵢ
    headᵢ = softmax(Qᵢ Kᵢᵀ / √d + mask) Vᵢ
    output = concat(head₁ … head_h) Woᵀ + bo

Masks of this layer follow PyTorch's convention *for this layer*: a bool
``attn_mask`` or ``key_padding_mask`` is True where attention is NOT allowed
(the opposite of :func:`~shendu.functional.scaled_dot_product_attention`, where
True means "take part"); float masks are added to the scores.
"""
from __future__ import annotations

import math

from .. import functional as F
from ..backend import xp
from ..ops import concatenate, matmul
from ..tensor import Tensor, empty, zeros
from . import init
from .linear import Linear
from .module import Module, Parameter


def _float_mask(mask, name, dtype):
    """PyTorch's canonical mask: bool (True = masked out) → 0 / −inf; float unchanged; as a plain array."""
    if mask is None:
        return None
    data = mask.data if isinstance(mask, Tensor) else xp.asarray(mask)
    if data.dtype == bool:
        return xp.where(data, -xp.inf, 0.0).astype(dtype)
    if data.dtype.kind != "f":
        raise TypeError(f"MultiheadAttention: only bool and floating types of {name} are supported, got {data.dtype}")
    return data.astype(dtype, copy=False)


class MultiheadAttention(Module):
    """Attention over ``num_heads`` heads of size ``embed_dim // num_heads``, PyTorch's layer.

    Args:
        embed_dim: E, the model width (of queries and of the output).
        num_heads: h; E must be divisible by h.
        dropout: dropout on the attention weights (training only).
        bias: biases of the input and output projections.
        add_bias_kv: learn one extra key and value (``bias_k``, ``bias_v``) appended to the sequence.
        add_zero_attn: append a zero key and value after the projections.
        kdim, vdim: the widths of keys and values (default E; when they differ the projections are
            ``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight`` instead of one ``in_proj_weight``).
        batch_first: inputs and outputs are (N, L, E) instead of (L, N, E).

    Call: ``(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False) -> (output, weights or None)``.

    Shape: query (L, N, E) (or (N, L, E) with ``batch_first``; or (L, E) unbatched), key (S, N, kdim),
    value (S, N, vdim); ``key_padding_mask`` (N, S); ``attn_mask`` (L, S) or (N·h, L, S) ->
    output like query; weights (N, L, S) averaged over heads, or (N, h, L, S).

    Parameters (PyTorch's names): ``in_proj_weight`` (3E, E), ``in_proj_bias`` (3E,), ``out_proj.weight`` (E, E),
    ``out_proj.bias`` (E,), and ``bias_k``, ``bias_v`` (1, 1, E) with ``add_bias_kv``.

    Example:
        >>> mha = nn.MultiheadAttention(64, 8, batch_first=True)
        >>> x = shendu.randn(2, 10, 64)
        >>> out, w = mha(x, x, x)
        >>> out.shape, w.shape
        ((2, 10, 64), (2, 10, 10))
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
                 kdim=None, vdim=None, batch_first=False):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"MultiheadAttention: embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim must be divisible by num_heads, got embed_dim="
                             f"{embed_dim}, num_heads={num_heads}")
        if not 0 <= dropout < 1:
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1), got {dropout}")
        self.embed_dim, self.num_heads = int(embed_dim), int(num_heads)
        self.kdim = self.embed_dim if kdim is None else int(kdim)
        self.vdim = self.embed_dim if vdim is None else int(vdim)
        self.head_dim = self.embed_dim // self.num_heads
        self.dropout, self.batch_first, self.add_zero_attn = float(dropout), bool(batch_first), bool(add_zero_attn)
        self._qkv_same_embed_dim = self.kdim == self.embed_dim and self.vdim == self.embed_dim
        E = self.embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(empty(3 * E, E))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.register_parameter("in_proj_weight", None)
            self.q_proj_weight = Parameter(empty(E, E))
            self.k_proj_weight = Parameter(empty(E, self.kdim))
            self.v_proj_weight = Parameter(empty(E, self.vdim))
        if bias:
            self.in_proj_bias = Parameter(empty(3 * E))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(E, E, bias=bias)
        if add_bias_kv:
            self.bias_k = Parameter(empty(1, 1, E))
            self.bias_v = Parameter(empty(1, 1, E))
        else:
            self.register_parameter("bias_k", None)
            self.register_parameter("bias_v", None)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's: Xavier-uniform projections, zero biases, Xavier-normal ``bias_k``/``bias_v``."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def _projections(self, query, key, value):
        E = self.embed_dim
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            if query is key and key is value:  # self-attention: one product for all three
                qkv = F.linear(query, w, b)
                return qkv[..., :E], qkv[..., E:2 * E], qkv[..., 2 * E:]
            wq, wk, wv = w[:E], w[E:2 * E], w[2 * E:]
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        return F.linear(query, wq, bq), F.linear(key, wk, bk), F.linear(value, wv, bv)

    def _check(self, query, key, value, key_padding_mask, attn_mask):
        batched = query.ndim == 3
        name = type(self).__name__
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise ValueError(f"{name}: expected query, key and value all 3-d (batched) or all 2-d (unbatched), got "
                             f"shapes {tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}")
        for t, width, what in ((query, self.embed_dim, "embed_dim"), (key, self.kdim, "kdim"),
                               (value, self.vdim, "vdim")):
            if t.shape[-1] != width:
                raise ValueError(f"{name}: expected the last dimension of the inputs to be {what}={width}, got "
                                 f"shapes query {tuple(query.shape)}, key {tuple(key.shape)}, value "
                                 f"{tuple(value.shape)}")
        if key.shape[:-1] != value.shape[:-1]:
            raise ValueError(f"{name}: key shape {tuple(key.shape)} does not match value shape {tuple(value.shape)}")
        seq = 1 if (batched and self.batch_first) else 0
        n = query.shape[1 - seq] if batched else None
        s = key.shape[seq]
        if key_padding_mask is not None:
            want = (n, s) if batched else (s,)
            if tuple(key_padding_mask.shape) != want:
                raise ValueError(f"{name}: expected key_padding_mask of shape {want} (batch, source length), got "
                                 f"{tuple(key_padding_mask.shape)}")
        if attn_mask is not None:
            L = query.shape[seq]
            ok = [(L, s)] + ([(n * self.num_heads, L, s)] if batched else [(self.num_heads, L, s)])
            if tuple(attn_mask.shape) not in ok:
                raise ValueError(f"{name}: expected attn_mask of shape {' or '.join(map(str, ok))}, got "
                                 f"{tuple(attn_mask.shape)}")
        return batched

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        if is_causal and attn_mask is None:
            raise RuntimeError("MultiheadAttention: need attn_mask if specifying the is_causal hint (pass the causal "
                               "mask, e.g. nn.Transformer.generate_square_subsequent_mask(L))")
        batched = self._check(query, key, value, key_padding_mask, attn_mask)
        if not batched:  # (L, E): a batch of one
            query, key, value = (t.unsqueeze(1 if not self.batch_first else 0) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = (key_padding_mask.data if isinstance(key_padding_mask, Tensor)
                                    else xp.asarray(key_padding_mask))[None]
            if attn_mask is not None and attn_mask.ndim == 3:  # (h, L, S) for the one sample
                attn_mask = attn_mask.data if isinstance(attn_mask, Tensor) else xp.asarray(attn_mask)
        if not self.batch_first:  # work in (N, L, E)
            query, key, value = (t.transpose(0, 1) if t.ndim == 3 else t for t in (query, key, value))
        out, weights = self._attend(query, key, value, key_padding_mask, attn_mask, need_weights,
                                    average_attn_weights)
        if not self.batch_first:
            out = out.transpose(0, 1)
        if not batched:
            out = out.squeeze(1 if not self.batch_first else 0)
            weights = None if weights is None else weights.squeeze(0)
        return out, weights

    def _attend(self, query, key, value, key_padding_mask, attn_mask, need_weights, average_attn_weights):
        N, L, E = query.shape
        h, d = self.num_heads, self.head_dim
        q, k, v = self._projections(query, key, value)
        dtype = q.dtype
        mask = _float_mask(attn_mask, "attn_mask", dtype)
        if mask is not None and mask.ndim == 3:
            mask = mask.reshape(N, h, *mask.shape[1:])
        pad = _float_mask(key_padding_mask, "key_padding_mask", dtype)
        if self.bias_k is not None:  # one more key and value, learnt; the masks let every query see it
            k = concatenate([k, self.bias_k.expand(N, 1, E)], axis=1)
            v = concatenate([v, self.bias_v.expand(N, 1, E)], axis=1)
            mask, pad = _pad_column(mask), _pad_column(pad)
        q = q.reshape(N, L, h, d).transpose(1, 2)                 # (N, h, L, d)
        k = k.reshape(N, k.shape[1], h, d).transpose(1, 2)        # (N, h, S, d)
        v = v.reshape(N, v.shape[1], h, d).transpose(1, 2)
        if self.add_zero_attn:
            k = concatenate([k, zeros(N, h, 1, d, dtype=dtype)], axis=2)
            v = concatenate([v, zeros(N, h, 1, d, dtype=dtype)], axis=2)
            mask, pad = _pad_column(mask), _pad_column(pad)
        if pad is not None:
            pad = pad[:, None, None, :]                               # (N, 1, 1, S)
            mask = pad if mask is None else mask + pad
        p = self.dropout if self.training else 0.0
        if not need_weights:  # the fused path: one node for the whole attention
            heads = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
            weights = None
        else:  # the weights are an output: composed of differentiable ops
            scores = matmul(q * (1 / math.sqrt(d)), k.transpose(-1, -2))
            if mask is not None:
                scores = scores + Tensor(mask)
            weights = F.softmax(scores, dim=-1)
            if p > 0:
                weights = F.dropout(weights, p=p)
            heads = matmul(weights, v)
            if average_attn_weights:
                weights = weights.mean(axis=1)
        out = self.out_proj(heads.transpose(1, 2).reshape(N, L, E))
        return out, weights

    def extra_repr(self):
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, "
                f"batch_first={self.batch_first}")


def _pad_column(mask):
    """A zero (not masked) column appended on the key axis: for the key that add_bias_kv or add_zero_attn add."""
    if mask is None:
        return None
    return xp.concatenate([mask, xp.zeros((*mask.shape[:-1], 1), dtype=mask.dtype)], axis=-1)


__all__ = ["MultiheadAttention"]
