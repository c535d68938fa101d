"""``Embedding``: a trainable lookup table from integer ids to vectors."""
from __future__ import annotations

from .. import functional as F
from ..tensor import empty
from . import init
from .module import Module, Parameter


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``: y = W[ids] (PyTorch's ``nn.Embedding``).

    The gradient adds g into the looked-up rows (a repeated id accumulates);
    the row ``padding_idx``, if given, is initialised to zeros and gets no gradient.

    Args:
        num_embeddings: the number of ids (rows of W).
        embedding_dim: the size of each vector.
        padding_idx: an id whose vector stays zero (default None).

    Shape: input (*) integer ids in [0, num_embeddings) -> output (*, embedding_dim).
    Parameters: ``weight`` (num_embeddings, embedding_dim), initialised N(0, 1).

    Example:
        >>> emb = nn.Embedding(1000, 16)
        >>> emb(shendu.tensor([[1, 5, 5], [0, 2, 999]])).shape
        (2, 3, 16)
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        if padding_idx is not None:
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError(f"Embedding: padding_idx must be in [-{self.num_embeddings}, "
                                 f"{self.num_embeddings}), received padding_idx={padding_idx}")
            padding_idx %= self.num_embeddings
        self.padding_idx = padding_idx
        self.weight = Parameter(empty(self.num_embeddings, self.embedding_dim))
        self.reset_parameters()

    def reset_parameters(self):
        """W ~ N(0, 1), the padding row set to zero (PyTorch's default)."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None):
        """An Embedding holding the given (num_embeddings, embedding_dim) table; ``freeze`` stops its training."""
        emb = cls(embeddings.shape[0], embeddings.shape[1], padding_idx=padding_idx)
        emb.weight = Parameter(embeddings, requires_grad=not freeze)
        return emb

    def forward(self, ids):
        if ids.dtype.kind not in "iu":
            raise TypeError(f"Embedding: expected integer ids, got dtype {ids.dtype}")
        return F.embedding(ids, self.weight, self.padding_idx)

    def extra_repr(self):
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"
