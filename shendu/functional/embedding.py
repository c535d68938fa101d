"""Embedding lookup: rows of a weight matrix selected by integer indices.

    y[..., :] = W[idx[...], :]

The gradient scatters back: dL/dW[i] = Σ of g over the positions where idx = i
(a repeated index adds up; a scatter-add).
"""
from __future__ import annotations

from ..autograd import Function
from ..backend import get_array_module
from ..tensor import Tensor


class Embedding(Function):
    """y = W[idx];  dL/dW = scatter-add of g into the rows idx (row ``padding_idx`` gets none)."""

    __slots__ = ("indices", "shape", "padding_idx")

    def forward(self, weight, indices, padding_idx):
        self.indices, self.shape, self.padding_idx = indices, weight.shape, padding_idx
        return get_array_module(weight).take(weight, indices, axis=0)

    def backward(self, g):
        xp = get_array_module(g)
        gw = xp.zeros(self.shape, dtype=g.dtype)
        idx, rows = self.indices.reshape(-1), g.reshape(-1, self.shape[1])
        if idx.size:  # the scatter-add as a sort and one segmented sum (NumPy's add.at: ~4x slower, bench/NOTES.md §12)
            order = xp.argsort(idx, kind="stable")
            sorted_idx = idx[order]
            starts = xp.flatnonzero(xp.concatenate(([True], sorted_idx[1:] != sorted_idx[:-1])))
            gw[sorted_idx[starts]] = xp.add.reduceat(rows[order], starts, axis=0)
        if self.padding_idx is not None:
            gw[self.padding_idx] = 0
        return gw

    @classmethod
    def describe_error(cls, shapes, options, exc):
        return f"embedding: an index is out of range for a table of {shapes[0][0]} rows: {exc}"


def embedding(input, weight, padding_idx=None):
    """Look up the rows of ``weight`` at the integer indices ``input`` (PyTorch's ``F.embedding``).

    Args:
        input: integer tensor or array of indices in [0, num_embeddings).
        weight: (num_embeddings, embedding_dim).
        padding_idx: a row that receives no gradient (None: none).

    Shape: input (*) -> output (*, embedding_dim).

    Example:
        >>> F.embedding(shendu.tensor([[0, 2], [2, 1]]), shendu.randn(3, 4)).shape
        (2, 2, 4)
    """
    idx = input.data if isinstance(input, Tensor) else get_array_module(weight.data).asarray(input)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: expected integer indices, got dtype {idx.dtype}")
    if weight.ndim != 2:
        raise ValueError(f"embedding: expected a weight of 2 dimensions (num_embeddings, embedding_dim), "
                         f"got shape {weight.shape}")
    n = weight.shape[0]
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= n):  # a negative index would wrap silently
        raise IndexError(f"embedding: index out of range: expected indices in [0, {n}) for a table of {n} rows, "
                         f"got indices from {int(idx.min())} to {int(idx.max())}")
    if padding_idx is not None:
        padding_idx %= n
    return Embedding.apply(weight, indices=idx, padding_idx=padding_idx)
