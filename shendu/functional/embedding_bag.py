"""``embedding_bag``: the sum, mean or max of the embeddings of each bag of indices.

    y[b] = reduce_{i ∈ bag b} w_i · W[idx_i]      (w_i: per-sample weights, sum mode only)

Composed of the embedding lookup (:func:`shendu.functional.embedding`, whose backward
scatter-adds into the table) and one segment reduction over the bags, :class:`BagReduce`:
sum and mean send g[b] (divided by the bag's size for mean) back to every member; max sends
it to the first member holding the maximum, per feature. Empty bags give zeros.
"""
from __future__ import annotations

from ..autograd import Function
from ..backend import get_array_module
from ..tensor import Tensor
from .embedding import embedding


class BagReduce(Function):
    """y[b] = Σ / mean / max of the rows x[i] with bag[i] = b (0 for an empty bag);
    dL/dx[i] = g[bag[i]] (÷ bag size for mean; max: only at the bag's first maximum, per feature)."""

    __slots__ = ("bag", "scale", "winner", "rows")

    def forward(self, x, bag, bags, mode):
        xp = get_array_module(x)
        self.bag, self.rows, self.winner, self.scale = bag, x.shape[0], None, None
        y = xp.zeros((bags, x.shape[1]), dtype=x.dtype)
        if mode == "max":
            y.fill(-xp.inf)
            xp.maximum.at(y, bag, x)
            # the first member that reaches the maximum wins each (bag, feature), as PyTorch's strict '>'
            position = xp.where(x == y[bag], xp.arange(x.shape[0])[:, None], x.shape[0])
            winner = xp.full(y.shape, x.shape[0])
            xp.minimum.at(winner, bag, position)
            self.winner = winner
            y[xp.isneginf(y)] = 0  # empty bags
            return y
        xp.add.at(y, bag, x)
        if mode == "mean":
            counts = xp.bincount(bag, minlength=bags).astype(x.dtype)
            self.scale = (1 / xp.maximum(counts, 1))[:, None]
            y *= self.scale
        return y

    def backward(self, g):
        xp = get_array_module(g)
        if self.winner is None:
            return (g if self.scale is None else g * self.scale)[self.bag]
        dx = xp.zeros((self.rows + 1, g.shape[1]), dtype=g.dtype)  # row `rows`: where empty bags point
        features = xp.broadcast_to(xp.arange(g.shape[1]), g.shape)
        dx[self.winner, features] = g
        return dx[:-1]


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False, mode="mean",
                  sparse=False, per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """Sum, mean or max of the embeddings in each bag, as ``torch.nn.functional.embedding_bag``.

    Args:
        input: (B, L) integer indices (each row a bag of L), or (M,) indices cut into bags by ``offsets``.
        weight: (num_embeddings, D).
        offsets: (B,) start of each bag in a 1-D ``input`` (offsets[0] = 0), non-decreasing;
            with ``include_last_offset`` (B + 1,), the last being M.
        mode: ``'sum'``, ``'mean'`` (default) or ``'max'``.
        per_sample_weights: a weight per index (same shape as input), multiplying its row (sum mode only).
        padding_idx: indices equal to it are left out of their bag (not counted by the mean).
        max_norm, scale_grad_by_freq, sparse: not supported (NotImplementedError).

    Shape: -> (B, D); an empty bag gives zeros.

    Example:
        >>> table = shendu.randn(10, 3)
        >>> F.embedding_bag(shendu.tensor([1, 2, 4, 5, 4]), table, shendu.tensor([0, 2]), mode="sum").shape
        (2, 3)
    """
    op = "embedding_bag"
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError(f"{op}: max_norm, scale_grad_by_freq and sparse are not supported; renormalise "
                                  f"the table yourself (weight / norm) and use dense gradients")
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"{op}: mode must be 'sum', 'mean' or 'max', got {mode!r}")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"{op}: per_sample_weights is only supported with mode='sum', got mode={mode!r}")
    xp = get_array_module(weight.data)
    idx = input.data if isinstance(input, Tensor) else xp.asarray(input)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: expected integer indices, got dtype {idx.dtype}")
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError(f"{op}: offsets must be None for 2-D input (each row is a bag), got offsets")
        bags = idx.shape[0]
        bag = xp.repeat(xp.arange(bags), idx.shape[1])
    elif idx.ndim == 1:
        if offsets is None:
            raise ValueError(f"{op}: 1-D input needs offsets (the start of each bag)")
        starts = (offsets.data if isinstance(offsets, Tensor) else xp.asarray(offsets)).astype(xp.int64)
        if starts.ndim != 1 or (starts.size and (starts[0] != 0 or (xp.diff(starts) < 0).any()
                                                 or starts[-1] > idx.size)):
            raise ValueError(f"{op}: offsets must be 1-D, start at 0, never decrease and stay within the "
                             f"{idx.size} indices, got {starts.tolist()}")
        if include_last_offset:
            starts = starts[:-1]
        bags = starts.size
        bag = xp.searchsorted(starts, xp.arange(idx.size), side="right") - 1
    else:
        raise ValueError(f"{op}: expected input (B, L) or (M,) with offsets, got shape {tuple(idx.shape)}")
    idx = idx.reshape(-1)
    if idx.size and (idx.min() < 0 or idx.max() >= weight.shape[0]):
        raise IndexError(f"{op}: indices must be in [0, {weight.shape[0]}), got values from {int(idx.min())} "
                         f"to {int(idx.max())}")
    keep = None
    if padding_idx is not None:
        keep = idx != padding_idx % weight.shape[0]
        idx, bag = idx[keep], bag[keep]
    rows = embedding(Tensor._wrap(idx, False, None), weight)
    if per_sample_weights is not None:
        if tuple(per_sample_weights.shape) != tuple(input.shape):
            raise ValueError(f"{op}: per_sample_weights must have the input's shape {tuple(input.shape)}, "
                             f"got {tuple(per_sample_weights.shape)}")
        w = per_sample_weights.reshape(-1)
        if keep is not None:
            w = w[Tensor._wrap(xp.flatnonzero(keep), False, None)]
        rows = rows * w.reshape(-1, 1)
    return BagReduce.apply(rows, bag=bag, bags=bags, mode=mode)


__all__ = ["embedding_bag"]
