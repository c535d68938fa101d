"""Loss layers: modules that hold a loss's options and call :mod:`shendu.functional.loss`.

Names and options follow ``torch.nn`` (``nn.CrossEntropyLoss(weight=…,
ignore_index=…, label_smoothing=…)``); the options are keyword-only, so that
PyTorch's deprecated positional ``size_average`` / ``reduce`` cannot be
mistaken for them. Class weights and ``pos_weight`` are buffers, saved in
``state_dict`` under PyTorch's names. Call as ``loss_fn(input, target)``.

Example:
    >>> loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    >>> loss = loss_fn(model(x), y)          # logits (N, C), class indices (N,)
    >>> loss.backward()
"""
from __future__ import annotations

from ..functional import loss as L
from ..tensor import Tensor
from .module import Module


class _Loss(Module):
    """A loss with a ``reduction``: 'mean' (default), 'sum' or 'none'."""

    _reductions = ("mean", "sum", "none")

    def __init__(self, reduction="mean"):
        super().__init__()
        if reduction not in self._reductions:
            raise ValueError(f"{type(self).__name__}: reduction must be one of "
                             f"{', '.join(map(repr, self._reductions))}, got {reduction!r}")
        self.reduction = reduction

    def extra_repr(self):
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


def _buffer(value):
    return None if value is None or isinstance(value, Tensor) else Tensor(value)


class _Elementwise(_Loss):
    """A loss of (input, target) with only a reduction; ``fn`` is the functional form."""

    fn = None

    def __init__(self, *, reduction="mean"):
        super().__init__(reduction)

    def forward(self, input, target):
        return type(self).fn(input, target, reduction=self.reduction)


class MSELoss(_Elementwise):
    """Mean squared error (x − y)².  Shape: input (*), target (*) -> scalar, or (*) for 'none'."""

    fn = staticmethod(L.mse_loss)


class L1Loss(_Elementwise):
    """Mean absolute error |x − y| (MAE).  Shape: input (*), target (*) -> scalar, or (*) for 'none'."""

    fn = staticmethod(L.l1_loss)


class MSLELoss(_Elementwise):
    """Mean squared logarithmic error (Keras): (log(1 + x) − log(1 + y))².  Shape: (*), (*) -> scalar."""

    fn = staticmethod(L.msle)


class MAPELoss(_Elementwise):
    """Mean absolute percentage error (Keras): 100·|y − x| / |y|.  Shape: (*), (*) -> scalar."""

    fn = staticmethod(L.mape)


class HingeLoss(_Elementwise):
    """Hinge loss max(0, 1 − y·f) for labels y ∈ {−1, 1} (Keras ``hinge``).  Shape: (*), (*) -> scalar."""

    fn = staticmethod(L.hinge_loss)


class SquaredHingeLoss(_Elementwise):
    """Squared hinge max(0, 1 − y·f)², y ∈ {−1, 1} (Keras ``squared_hinge``).  Shape: (*), (*) -> scalar."""

    fn = staticmethod(L.squared_hinge_loss)


class ExponentialLoss(_Elementwise):
    """Exponential loss e^(−y·f), y ∈ {−1, 1} (AdaBoost).  Shape: (*), (*) -> scalar."""

    fn = staticmethod(L.exponential_loss)


class HuberLoss(_Loss):
    """Huber loss: ½d² for |d| < δ, δ(|d| − ½δ) beyond (d = x − y).

    Args:
        reduction: 'mean' | 'sum' | 'none'. delta: δ (default 1.0).
    """

    def __init__(self, *, reduction="mean", delta=1.0):
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input, target):
        return L.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class SmoothL1Loss(_Loss):
    """Smooth L1: ½d²/β for |d| < β, |d| − ½β beyond (d = x − y).

    Args:
        reduction: 'mean' | 'sum' | 'none'. beta: β (default 1.0).
    """

    def __init__(self, *, reduction="mean", beta=1.0):
        super().__init__(reduction)
        self.beta = beta

    def forward(self, input, target):
        return L.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class BCELoss(_Loss):
    """Binary cross-entropy on probabilities: −w[y log p + (1 − y) log(1 − p)].

    Args:
        weight: per-element rescaling (a buffer). reduction: 'mean' | 'sum' | 'none'.

    Shape: input (*) probabilities, target (*) in [0, 1] -> scalar, or (*) for 'none'.
    """

    def __init__(self, weight=None, *, reduction="mean"):
        super().__init__(reduction)
        self.register_buffer("weight", _buffer(weight))

    def forward(self, input, target):
        return L.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy on logits, in one stable step.

    Args:
        weight: per-element rescaling (a buffer). reduction: 'mean' | 'sum' | 'none'.
        pos_weight: weight of positive examples, broadcast along the last axis (a buffer).

    Shape: input (*) logits, target (*) in [0, 1] -> scalar, or (*) for 'none'.
    """

    def __init__(self, weight=None, *, reduction="mean", pos_weight=None):
        super().__init__(reduction)
        self.register_buffer("weight", _buffer(weight))
        self.register_buffer("pos_weight", _buffer(pos_weight))

    def forward(self, input, target):
        return L.binary_cross_entropy_with_logits(input, target, weight=self.weight, reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class NLLLoss(_Loss):
    """Negative log-likelihood −w[t]·input[t] of class indices t on log-probabilities.

    Args:
        weight: per-class weights (C,) (a buffer). ignore_index: skipped target value
            (default -100). reduction: 'mean' (weighted average) | 'sum' | 'none'.

    Shape: input (N, C) or (N, C, d1, ...), target (N,) or (N, d1, ...) -> scalar, or the target's shape.
    """

    def __init__(self, weight=None, *, ignore_index=-100, reduction="mean"):
        super().__init__(reduction)
        self.register_buffer("weight", _buffer(weight))
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return L.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy of logits against class indices or class probabilities.

    Args:
        weight: per-class weights (C,) (a buffer). ignore_index: skipped target value (default -100).
        reduction: 'mean' | 'sum' | 'none'. label_smoothing: ε in [0, 1] (default 0.0).

    Shape: input (N, C) or (N, C, d1, ...) logits; target (N,) / (N, d1, ...) class indices or
    the input's shape for probabilities -> scalar, or the per-sample loss for 'none'.
    """

    def __init__(self, weight=None, *, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1], got {label_smoothing}")
        self.register_buffer("weight", _buffer(weight))
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input, target):
        return L.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class KLDivLoss(_Loss):
    """KL divergence target·(log target − input) with ``input`` = model log-probabilities.

    Args:
        reduction: 'mean' (PyTorch's default, per element) | 'batchmean' (per sample: the
            true KL divergence) | 'sum' | 'none'. log_target: the target is log-probabilities.

    Shape: input (N, *), target (N, *) -> scalar, or (N, *) for 'none'.
    """

    _reductions = ("mean", "batchmean", "sum", "none")

    def __init__(self, *, reduction="mean", log_target=False):
        super().__init__(reduction)
        self.log_target = log_target

    def forward(self, input, target):
        return L.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class CosineSimilarityLoss(_Loss):
    """−cos(input, target) along ``dim`` (Keras' ``CosineSimilarity`` loss).

    Args:
        dim: the vector axis (default -1). eps: norm floor (default 1e-8). reduction.

    Shape: input (N, D), target (N, D) -> scalar, or (N,) for 'none'.
    """

    def __init__(self, *, dim=-1, eps=1e-8, reduction="mean"):
        super().__init__(reduction)
        self.dim, self.eps = dim, eps

    def forward(self, input, target):
        return L.cosine_similarity_loss(input, target, dim=self.dim, eps=self.eps, reduction=self.reduction)


class HingeEmbeddingLoss(_Loss):
    """x where y = 1, max(0, margin − x) where y = −1 (``torch.nn.HingeEmbeddingLoss``).

    Args:
        margin: default 1.0. reduction: 'mean' | 'sum' | 'none'.
    """

    def __init__(self, *, margin=1.0, reduction="mean"):
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input, target):
        return L.hinge_embedding_loss(input, target, margin=self.margin, reduction=self.reduction)


class CosineEmbeddingLoss(_Loss):
    """1 − cos(x1, x2) where y = 1, max(0, cos(x1, x2) − margin) where y = −1 (``torch.nn.CosineEmbeddingLoss``).

    Args:
        margin: default 0.0. reduction: 'mean' | 'sum' | 'none'.

    Shape: input1 (N, D), input2 (N, D), target (N,) -> scalar, or (N,) for 'none'.
    """

    def __init__(self, *, margin=0.0, reduction="mean"):
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return L.cosine_embedding_loss(input1, input2, target, margin=self.margin, reduction=self.reduction)


__all__ = ["MSELoss", "L1Loss", "MSLELoss", "MAPELoss", "HingeLoss", "SquaredHingeLoss", "ExponentialLoss",
           "HuberLoss", "SmoothL1Loss", "BCELoss", "BCEWithLogitsLoss", "NLLLoss", "CrossEntropyLoss", "KLDivLoss",
           "CosineSimilarityLoss", "HingeEmbeddingLoss", "CosineEmbeddingLoss"]
