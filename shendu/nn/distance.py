"""Similarity and distance layers: ``CosineSimilarity`` and ``PairwiseDistance`` (PyTorch's names)."""
from __future__ import annotations

from .. import functional as F
from .module import Module


class CosineSimilarity(Module):
    """cos(x1, x2) = Σ x1·x2 / (max(‖x1‖, ε)·max(‖x2‖, ε)) along ``dim`` (``torch.nn.CosineSimilarity``).

    Args:
        dim: the axis of the vectors (default 1).  eps: ε (default 1e-8).

    Shape: x1, x2 (*) broadcastable -> the broadcast shape without ``dim``.
    """

    def __init__(self, dim=1, eps=1e-8):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """‖x1 − x2 + ε‖_p along the last axis (``torch.nn.PairwiseDistance``).

    Args:
        p: the norm's order (default 2).  eps: ε (default 1e-6).  keepdim: keep the last axis (default False).

    Shape: x1, x2 (N, D) -> (N,).
    """

    def __init__(self, p=2.0, eps=1e-6, keepdim=False):
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
