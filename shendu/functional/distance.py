"""Vector norms and distances along one axis: ``normalize``, ``pairwise_distance``.

    ‖v‖_p = (Σ |v_i|^p)^(1/p)   (p = ∞: max |v_i|)

:class:`VectorNorm` is the one differentiable primitive; its gradient is
d‖v‖_p / dv_i = sign(v_i)·|v_i|^(p−1) / ‖v‖_p^(p−1), taken as 0 where ‖v‖_p = 0
(PyTorch's subgradient, so that a zero vector gives no NaN); for p = ∞ it goes
to the entries of largest magnitude, shared equally among ties.
``cosine_similarity`` lives with the losses (:mod:`shendu.functional.loss`).
"""
from __future__ import annotations

import math
import numbers

from ..autograd import Function
from ..backend import get_array_module
from ..ops import clamp


class VectorNorm(Function):
    """y = ‖x‖_p along ``axis``;  dy/dx = sign(x)·|x|^(p−1) / y^(p−1) (0 where y = 0)."""

    __slots__ = ("x", "y", "p", "axis")

    def forward(self, x, p, axis, keepdims):
        xp = get_array_module(x)
        a = xp.abs(x)
        if p == math.inf:
            y = a.max(axis=axis, keepdims=True)
        elif p == 0:
            y = (a != 0).sum(axis=axis, keepdims=True).astype(x.dtype)
        elif p == 1:
            y = a.sum(axis=axis, keepdims=True)
        elif p == 2:
            y = xp.sqrt((x * x).sum(axis=axis, keepdims=True))
        else:
            y = (a ** p).sum(axis=axis, keepdims=True) ** (1 / p)
        self.x, self.y, self.p, self.axis = x, y, p, axis
        return y if keepdims else y.squeeze(axis)

    def backward(self, g):
        xp = get_array_module(g)
        x, y, p = self.x, self.y, self.p
        g = g.reshape(y.shape)
        if p == 0:
            return xp.zeros_like(x)
        if p == math.inf:
            top = (xp.abs(x) == y) & (y > 0)
            share = top / xp.maximum(top.sum(axis=self.axis, keepdims=True), 1)
            return g * xp.sign(x) * share
        if p == 1:
            return g * xp.sign(x)
        safe = xp.where(y == 0, 1, y)
        if p == 2:
            return xp.where(y == 0, 0, g * x / safe)
        return xp.where(y == 0, 0, g * xp.sign(x) * xp.abs(x) ** (p - 1) / safe ** (p - 1))


def _norm(x, p, dim, keepdim, op):
    if not isinstance(p, numbers.Real) or p < 0:
        raise ValueError(f"{op}: p must be a non-negative number or inf, got p={p!r}")
    nd = max(x.ndim, 1)
    if not -nd <= dim < nd:
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor of {x.ndim} dimensions (shape {x.shape})")
    return VectorNorm.apply(x, p=float(p), axis=dim % nd if x.ndim else None, keepdims=keepdim)


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
