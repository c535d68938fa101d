"""Position information for attention, which by itself is blind to order.

* :class:`SinusoidalPositionalEncoding` — the paper's fixed table (Vaswani et al. 2017)::

      PE[pos, 2i] = sin(pos / 10000^(2i/d)),   PE[pos, 2i+1] = cos(pos / 10000^(2i/d))

  added to the token embeddings; PE[pos + k] is a linear function of PE[pos] for each k.
* :class:`LearnedPositionalEmbedding` — one trained vector per position (GPT-2, ViT).
* :class:`RotaryEmbedding` — RoPE (Su et al. 2021): rotate each pair of query/key features by an angle
  proportional to the position, so that q·k depends only on the relative position::

      x'[2i]   = x[2i] cos(pos·θᵢ) − x[2i+1] sin(pos·θᵢ),   θᵢ = base^(−2i/d)
      x'[2i+1] = x[2i] sin(pos·θᵢ) + x[2i+1] cos(pos·θᵢ)
"""
from __future__ import annotations

from .. import backend
from ..backend import xp
from ..ops import stack
from ..tensor import Tensor
from . import init
from .dropout import Dropout
from .embedding import Embedding
from .module import Module


def _check_length(who, length, max_len):
    if length > max_len:
        raise ValueError(f"{who}: sequence of length {length} is longer than the positional table "
                         f"(max_len={max_len}); build the layer with a larger max_len")


class SinusoidalPositionalEncoding(Module):
    """x + PE[:L] with the paper's sine/cosine table, then dropout.

    Args:
        d_model: the embedding width (even). max_len: the longest sequence (default 5000).
        dropout: applied after the addition (default 0). batch_first: x is (N, L, d) (default) or (L, N, d).

    Shape: (N, L, d_model) -> the same. The table is a non-trainable buffer ``pe`` (max_len, d_model).

    Example:
        >>> pe = nn.SinusoidalPositionalEncoding(16)
        >>> pe(shendu.zeros(2, 5, 16)).shape
        (2, 5, 16)
    """

    def __init__(self, d_model, max_len=5000, dropout=0.0, batch_first=True):
        super().__init__()
        if d_model % 2:
            raise ValueError(f"SinusoidalPositionalEncoding: d_model must be even, got {d_model}")
        self.d_model, self.max_len, self.batch_first = int(d_model), int(max_len), bool(batch_first)
        pos = xp.arange(self.max_len, dtype=backend.float64)[:, None]
        freq = xp.exp(-xp.log(10000.0) * xp.arange(0, self.d_model, 2, dtype=backend.float64) / self.d_model)
        pe = xp.zeros((self.max_len, self.d_model))
        pe[:, 0::2], pe[:, 1::2] = xp.sin(pos * freq), xp.cos(pos * freq)
        self.register_buffer("pe", Tensor(pe.astype(backend.get_default_dtype())))
        self.dropout = Dropout(dropout)

    def forward(self, x):
        seq = 1 if self.batch_first else 0
        if x.ndim != 3 or x.shape[-1] != self.d_model:
            raise ValueError(f"SinusoidalPositionalEncoding: expected input (N, L, {self.d_model}) "
                             f"{'(batch first)' if self.batch_first else '(L, N, d)'}, got shape {tuple(x.shape)}")
        _check_length("SinusoidalPositionalEncoding", x.shape[seq], self.max_len)
        table = self.pe[:x.shape[seq]]
        return self.dropout(x + (table if self.batch_first else table.unsqueeze(1)).to(dtype=x.dtype))


class LearnedPositionalEmbedding(Module):
    """x + P[:L], P a trained table (max_len, d_model) initialised N(0, 0.02²).

    Shape: (N, L, d_model) -> the same.
    """

    def __init__(self, max_len, d_model):
        super().__init__()
        self.max_len = int(max_len)
        self.embedding = Embedding(max_len, d_model)
        init.normal_(self.embedding.weight, 0.0, 0.02)

    def forward(self, x):
        _check_length("LearnedPositionalEmbedding", x.shape[1], self.max_len)
        return x + self.embedding(Tensor(xp.arange(x.shape[1], dtype=backend.int64)))


class RotaryEmbedding(Module):
    """Rotary position embedding (RoPE) of queries and keys: ``rope(x)`` rotates feature pairs by pos·θᵢ.

    Args:
        dim: the head size (even). max_len: the longest sequence. base: θᵢ = base^(−2i/dim) (default 10000).

    Shape: (..., L, dim) -> the same (the positions are the second-to-last axis).

    Example:
        >>> rope = nn.RotaryEmbedding(8, max_len=32)
        >>> rope(shendu.randn(2, 4, 10, 8)).shape
        (2, 4, 10, 8)
    """

    def __init__(self, dim, max_len=4096, base=10000.0):
        super().__init__()
        if dim % 2:
            raise ValueError(f"RotaryEmbedding: dim must be even, got {dim}")
        self.dim, self.max_len = int(dim), int(max_len)
        theta = base ** (-xp.arange(0, self.dim, 2, dtype=backend.float64) / self.dim)
        angle = xp.arange(self.max_len, dtype=backend.float64)[:, None] * theta    # (max_len, dim/2)
        self.register_buffer("cos", Tensor(xp.cos(angle)), persistent=False)
        self.register_buffer("sin", Tensor(xp.sin(angle)), persistent=False)

    def forward(self, x):
        L = x.shape[-2]
        if x.shape[-1] != self.dim:
            raise ValueError(f"RotaryEmbedding: expected the last dimension {self.dim}, got shape {tuple(x.shape)}")
        _check_length("RotaryEmbedding", L, self.max_len)
        cos, sin = self.cos[:L].to(dtype=x.dtype), self.sin[:L].to(dtype=x.dtype)
        pairs = x.reshape(*x.shape[:-1], self.dim // 2, 2)
        even, odd = pairs[..., 0], pairs[..., 1]
        rotated = (even * cos - odd * sin, even * sin + odd * cos)
        return stack(rotated, axis=-1).reshape(*x.shape)


__all__ = ["SinusoidalPositionalEncoding", "LearnedPositionalEmbedding", "RotaryEmbedding"]
