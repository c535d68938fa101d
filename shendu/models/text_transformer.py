"""A Transformer text classifier: token ids → class scores, the attention counterpart of
:class:`~shendu.models.TextClassifier` (embeddings → LSTM).

    x = E[ids] + P[positions]                  token and learned position embeddings
    z = TransformerEncoder(x, padding masked)  pre-norm self-attention layers
    logits = W · mean of z over the real tokens
"""
from __future__ import annotations

from ..backend import xp
from ..nn import Embedding, LayerNorm, LearnedPositionalEmbedding, Linear, Module, TransformerEncoder
from ..nn import TransformerEncoderLayer
from ..tensor import Tensor


class TransformerClassifier(Module):
    """Embeddings + positions → Transformer encoder → mean over the real tokens → dense.

    Args:
        vocab_size: number of token ids. num_classes: outputs. max_len: the longest sequence (default 512).
        d_model (64), nhead (4), num_layers (2), dim_feedforward (4·d_model), dropout (0.1).
        padding_idx: the padding id, masked out of attention and of the mean (default 0; None for no padding).

    Shape: ids (N, L) integers, lengths (N,) optional -> logits (N, num_classes). Without ``lengths`` the
    padding is found from ``padding_idx``.

    Example:
        >>> model = TransformerClassifier(vocab_size=1000, num_classes=2)
        >>> model(shendu.tensor([[5, 7, 9, 0], [3, 2, 0, 0]])).shape
        (2, 2)
    """

    def __init__(self, vocab_size, num_classes, max_len=512, d_model=64, nhead=4, num_layers=2,
                 dim_feedforward=None, dropout=0.1, padding_idx=0):
        super().__init__()
        self.padding_idx = padding_idx
        self.embedding = Embedding(vocab_size, d_model, padding_idx=padding_idx)
        self.positions = LearnedPositionalEmbedding(max_len, d_model)
        layer = TransformerEncoderLayer(d_model, nhead, dim_feedforward or 4 * d_model, dropout, activation="gelu",
                                        batch_first=True, norm_first=True)
        self.encoder = TransformerEncoder(layer, num_layers)
        self.norm = LayerNorm(d_model)
        self.fc = Linear(d_model, num_classes)

    def forward(self, ids, lengths=None):
        if ids.ndim != 2 or ids.dtype.kind not in "iu":
            raise ValueError(f"TransformerClassifier: expected token ids (N, L) of an integer dtype, got shape "
                             f"{tuple(ids.shape)} and dtype {ids.dtype}")
        if lengths is not None:
            n = xp.asarray(lengths.data if isinstance(lengths, Tensor) else lengths)
            real = xp.arange(ids.shape[1])[None, :] < n[:, None]
        elif self.padding_idx is not None:
            real = ids.data != self.padding_idx
        else:
            real = xp.ones(ids.shape, dtype=bool)
        z = self.encoder(self.positions(self.embedding(ids)), src_key_padding_mask=Tensor(~real))
        z = self.norm(z)
        weights = Tensor((real / xp.maximum(real.sum(axis=1, keepdims=True), 1)).astype(z.dtype)[..., None])
        return self.fc((z * weights).sum(axis=1))


__all__ = ["TransformerClassifier"]
