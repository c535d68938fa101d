"""Vector norms and distances along one axis: ``normalize``, ``pairwise_distance``.

    ‖v‖_p = (Σ |v_i|^p)^(1/p)   (p = ∞: max |v_i|)

:func:`shendu.linalg.vector_norm` (``shendu/ops/norm.py``) is the one differentiable primitive; its
gradient is d‖v‖_p / dv_i = sign(v_i)·|v_i|^(p−1) / ‖v‖_p^(p−1), taken as 0 where ‖v‖_p = 0
(PyTorch's subgradient, so that a zero vector gives no NaN); for p = ∞ it goes
to the entries of largest magnitude, shared equally among ties.
``cosine_similarity`` lives with the losses (:mod:`shendu.functional.loss`).
"""
from __future__ import annotations

import numbers

from ..ops import clamp
from ..ops.norm import vector_norm


def _norm(x, p, dim, keepdim, op):
    if not isinstance(p, numbers.Real) or p < 0:
        raise ValueError(f"{op}: p must be a non-negative number or inf, got p={p!r}")
    nd = max(x.ndim, 1)
    if not -nd <= dim < nd:
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor of {x.ndim} dimensions (shape {x.shape})")
    return vector_norm(x, ord=float(p), dim=dim % nd if x.ndim else None, keepdim=keepdim)


def normalize(input, p=2.0, dim=1, eps=1e-12):
    """v / max(‖v‖_p, ε) for every vector v along ``dim``, as ``torch.nn.functional.normalize``.

    Shape: (*) -> (*), the same.

    Example:
        >>> F.normalize(shendu.tensor([[3.0, 4.0]]), dim=1)
        tensor([[0.6, 0.8]])
    """
    return input / clamp(_norm(input, p, dim, True, "normalize"), min=eps)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """‖x1 − x2 + ε‖_p along the last axis, as ``torch.nn.functional.pairwise_distance``.

    Shape: x1 (N, D), x2 (N, D) (broadcastable; also (D,)) -> (N,) ((N, 1) with ``keepdim``).

    Example:
        >>> F.pairwise_distance(shendu.zeros(2, 4), shendu.ones(2, 4)).shape
        (2,)
    """
    if x1.ndim == 0 or x2.ndim == 0:
        raise ValueError(f"pairwise_distance: expected inputs of at least 1 dimension, got shapes "
                         f"{tuple(x1.shape)} and {tuple(x2.shape)}")
    return _norm(x1 - x2 + eps, p, -1, keepdim, "pairwise_distance")


__all__ = ["normalize", "pairwise_distance"]
