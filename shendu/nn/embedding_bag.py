"""``EmbeddingBag``: the sum, mean or max of the embeddings of each bag of indices (``torch.nn.EmbeddingBag``)."""
from __future__ import annotations

from .. import functional as F
from ..tensor import empty
from . import init
from .module import Module, Parameter


class EmbeddingBag(Module):
    """A table of embeddings reduced over bags of indices: y[b] = reduce_{i ∈ bag b} W[idx_i]
    (see :func:`shendu.functional.embedding_bag`).

    Args:
        num_embeddings, embedding_dim: the table's shape.
        mode: ``'sum'``, ``'mean'`` (default) or ``'max'``.
        include_last_offset: offsets carry the end of the last bag too (default False).
        padding_idx: an index left out of every bag; its row starts at zero.
        max_norm, norm_type, scale_grad_by_freq, sparse: PyTorch's; only their defaults are supported.

    Parameters: ``weight`` (num_embeddings, embedding_dim) ~ N(0, 1).

    Call: ``bag(input, offsets=None, per_sample_weights=None)``.

    Shape: input (B, L), or (M,) with offsets (B,) -> (B, embedding_dim).

    Example:
        >>> bag = nn.EmbeddingBag(10, 3, mode="sum")
        >>> bag(shendu.tensor([[1, 2, 4], [4, 3, 9]])).shape
        (2, 3)
    """

    def __init__(self, num_embeddings, embedding_dim, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
                 mode="mean", sparse=False, _weight=None, include_last_offset=False, padding_idx=None):
        super().__init__()
        if num_embeddings < 1 or embedding_dim < 1:
            raise ValueError(f"EmbeddingBag: num_embeddings and embedding_dim must be positive, got "
                             f"{num_embeddings} and {embedding_dim}")
        if mode not in ("sum", "mean", "max"):
            raise ValueError(f"EmbeddingBag: mode must be 'sum', 'mean' or 'max', got {mode!r}")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"EmbeddingBag: padding_idx must be in [-{num_embeddings}, {num_embeddings}), "
                                 f"received padding_idx={padding_idx}")
            padding_idx %= num_embeddings
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        self.max_norm, self.norm_type, self.scale_grad_by_freq = max_norm, norm_type, scale_grad_by_freq
        self.mode, self.sparse, self.include_last_offset, self.padding_idx = mode, sparse, include_last_offset, padding_idx
        self.weight = Parameter(empty(self.num_embeddings, self.embedding_dim) if _weight is None else _weight)
        if _weight is None:
            self.reset_parameters()

    def reset_parameters(self):
        """W ~ N(0, 1), the padding row zero (PyTorch's default)."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, input, offsets=None, per_sample_weights=None):
        return F.embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type, self.scale_grad_by_freq,
                               self.mode, self.sparse, per_sample_weights, self.include_last_offset,
                               self.padding_idx)

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}, mode={self.mode!r}"
