"""Keras's MultiHeadAttention over shendu's scaled dot-product attention.

Weights (Keras's layout and order): query kernel (D_q, H, key_dim) and bias (H, key_dim),
key kernel (D_k, H, key_dim) and bias, value kernel (D_v, H, value_dim) and bias,
output kernel (H, value_dim, D_out) and bias (D_out,); D_out = D_q unless ``output_shape``.

    Q_h = query · W_q[:, h] + b_q[h],  K_h, V_h likewise
    A_h = softmax(Q_h K_hᵀ / √key_dim + mask),  O = Σ_h (dropout(A_h) V_h) · W_o[h] + b_o

``attention_mask`` (N, T, S) is boolean, True where a query may attend (Keras's
convention); ``use_causal_mask`` adds the lower-triangular mask. Shapes: query
(N, T, D_q), value (N, S, D_v), key (N, S, D_k) (default: value) → (N, T, D_out);
with ``return_attention_scores`` also A (N, H, T, S).
"""
from __future__ import annotations

import math

from ... import functional as F
from ...backend import xp
from ...ops import where
from ...tensor import Tensor
from ..errors import unsupported
from .base import Layer


class MultiHeadAttention(Layer):
    """Multi-head attention (Vaswani et al. 2017), Keras's arguments and weights."""

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True, output_shape=None,
                 attention_axes=None, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, flash_attention=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if attention_axes is not None:
            raise unsupported("MultiHeadAttention(attention_axes=…)", "attend over the sequence axis (the default)")
        if output_shape is not None and not isinstance(output_shape, int):
            output_shape = tuple(output_shape)
            if len(output_shape) != 1:
                raise unsupported("MultiHeadAttention(output_shape of several axes)", "give one size")
            output_shape = output_shape[0]
        self.num_heads, self.key_dim = int(num_heads), int(key_dim)
        self.value_dim = int(value_dim or key_dim)
        self.dropout, self.use_bias, self.out_dim = float(dropout), use_bias, output_shape
        self.inits, self.regs = (kernel_initializer, bias_initializer), (kernel_regularizer, bias_regularizer)
        self._pending()

    def build(self, input_shape):
        shapes = input_shape if isinstance(input_shape, list) else [input_shape]
        q_shape = shapes[0]
        v_shape = shapes[1] if len(shapes) > 1 else q_shape
        k_shape = shapes[2] if len(shapes) > 2 else v_shape
        h = self.num_heads
        for name, d, size in (("query", q_shape[-1], self.key_dim), ("key", k_shape[-1], self.key_dim),
                              ("value", v_shape[-1], self.value_dim)):
            self.add_weight(f"{name}_kernel", (d, h, size), self.inits[0], regularizer=self.regs[0])
            if self.use_bias:
                self.add_weight(f"{name}_bias", (h, size), self.inits[1], regularizer=self.regs[1])
        out = self.out_dim or q_shape[-1]
        self.add_weight("output_kernel", (h, self.value_dim, out), self.inits[0], regularizer=self.regs[0])
        if self.use_bias:
            self.add_weight("output_bias", (out,), self.inits[1], regularizer=self.regs[1])

    def __call__(self, query, value=None, key=None, **kwargs):
        if value is None:
            raise TypeError("MultiHeadAttention.call() missing 1 required positional argument: 'value'")
        return super().__call__(query, value, key, **kwargs) if key is not None else \
            super().__call__(query, value, **kwargs)

    def forward(self, query, value, key=None, **kwargs):
        if not self.built:
            shapes = [tuple(query.shape), tuple(value.shape)] + ([tuple(key.shape)] if key is not None else [])
            self.maybe_build(shapes)
        kwargs.setdefault("training", self.training)
        return self.call(query, value, key, **kwargs)

    def _project(self, x, name, size):
        kernel = getattr(self, f"{name}_kernel")
        if x.ndim != 3 or x.shape[-1] != kernel.shape[0]:
            raise ValueError(f"MultiHeadAttention {self.name}: expected {name} of shape (batch, length, "
                             f"{kernel.shape[0]}), received shape {tuple(x.shape)}")
        y = x.matmul(kernel.reshape(kernel.shape[0], -1))
        if self.use_bias:
            y = y + getattr(self, f"{name}_bias").reshape(-1)
        return y.reshape(x.shape[0], x.shape[1], self.num_heads, size).permute(0, 2, 1, 3)  # (N, H, T, size)

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None, attention_mask=None,
             return_attention_scores=False, training=None, use_causal_mask=False):
        if query_mask is not None or value_mask is not None or key_mask is not None:
            raise unsupported("MultiHeadAttention(query_mask/value_mask/key_mask)", "pass attention_mask (N, T, S)")
        key = value if key is None else key
        q = self._project(query, "query", self.key_dim)
        k = self._project(key, "key", self.key_dim)
        v = self._project(value, "value", self.value_dim)
        t, s = q.shape[2], k.shape[2]
        mask = None
        if attention_mask is not None:
            m = attention_mask.data if isinstance(attention_mask, Tensor) else xp.asarray(attention_mask)
            mask = m.astype(bool)[:, None] if m.ndim == 3 else m.astype(bool)
        if use_causal_mask:
            causal = xp.tril(xp.ones((t, s), dtype=bool))
            mask = causal if mask is None else (mask & causal)
        p = self.dropout if training else 0.0
        if return_attention_scores:
            scores = q.matmul(k.transpose(-1, -2)) * (1.0 / math.sqrt(self.key_dim))
            if mask is not None:
                scores = where(Tensor(mask), scores, scores * 0 - 1e9)
            weights = F.softmax(scores, -1)
            o = F.dropout(weights, p, training=True).matmul(v) if p else weights.matmul(v)
        else:
            o = F.scaled_dot_product_attention(q, k, v, attn_mask=None if mask is None else Tensor(mask),
                                               dropout_p=p, training=bool(p))
        n = query.shape[0]
        o = o.permute(0, 2, 1, 3).reshape(n, t, -1)
        out = o.matmul(self.output_kernel.reshape(-1, self.output_kernel.shape[-1]))
        if self.use_bias:
            out = out + self.output_bias
        return (out, weights) if return_attention_scores else out
