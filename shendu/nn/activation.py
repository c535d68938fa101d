"""Activation layers: stateless modules over :mod:`shendu.functional.activation`.

Names and arguments follow ``torch.nn`` (``nn.ReLU()``, ``nn.LeakyReLU(0.2)``,
``nn.Softmax(dim=1)``…). The ``inplace`` flags PyTorch offers are accepted for
compatibility and ignored: shendu never overwrites an input that autograd may
still need. Every layer maps input (*) -> output (*) of the same shape.

Example:
    >>> net = nn.Sequential(nn.Linear(4, 8), nn.GELU(), nn.Linear(8, 3), nn.LogSoftmax(dim=1))
"""
from __future__ import annotations

from ..functional import activation as A
from .module import Module


class _Activation(Module):
    """An activation without options: ``forward`` calls ``fn``."""

    fn = None

    def __init__(self, inplace=False):
        super().__init__()

    def forward(self, x):
        return type(self).fn(x)


class ReLU(_Activation):
    """max(x, 0).  Shape: (*) -> (*)."""

    fn = staticmethod(A.relu)


class Sigmoid(_Activation):
    """σ(x) = 1 / (1 + e⁻ˣ), computed stably.  Shape: (*) -> (*)."""

    fn = staticmethod(A.sigmoid)

    def __init__(self):
        super().__init__()


class Tanh(_Activation):
    """tanh(x).  Shape: (*) -> (*)."""

    fn = staticmethod(A.tanh)

    def __init__(self):
        super().__init__()


class ReLU6(_Activation):
    """min(max(x, 0), 6).  Shape: (*) -> (*)."""

    fn = staticmethod(A.relu6)


class SELU(_Activation):
    """λ·elu(x, α), α ≈ 1.6733, λ ≈ 1.0507 (self-normalising networks).  Shape: (*) -> (*)."""

    fn = staticmethod(A.selu)


class SiLU(_Activation):
    """x·σ(x) (swish).  Shape: (*) -> (*)."""

    fn = staticmethod(A.silu)


class Softsign(_Activation):
    """x / (1 + |x|).  Shape: (*) -> (*)."""

    fn = staticmethod(A.softsign)

    def __init__(self):
        super().__init__()


class Hardsigmoid(_Activation):
    """relu6(x + 3) / 6.  Shape: (*) -> (*)."""

    fn = staticmethod(A.hardsigmoid)


class Hardswish(_Activation):
    """x · relu6(x + 3) / 6.  Shape: (*) -> (*)."""

    fn = staticmethod(A.hardswish)


class LeakyReLU(Module):
    """max(x, 0) + negative_slope · min(x, 0).

    Args:
        negative_slope: slope for x < 0 (default 0.01).
    """

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return A.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """x for x > 0, α(eˣ − 1) otherwise.

    Args:
        alpha: α (default 1.0).
    """

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        return A.elu(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


class GELU(Module):
    """x·Φ(x), Φ the standard normal CDF.

    Args:
        approximate: ``'none'`` (exact, default) or ``'tanh'``.
    """

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        return A.gelu(x, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """(1/β)·log(1 + e^(βx)), the identity where βx > threshold.

    Args:
        beta: sharpness (default 1.0). threshold: linear above βx > threshold (default 20.0).
    """

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        return A.softplus(x, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardtanh(Module):
    """clip(x, min_val, max_val).

    Args:
        min_val: lower bound (default -1.0). max_val: upper bound (default 1.0).
    """

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__()
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val must not exceed max_val, got min_val={min_val}, max_val={max_val}")
        self.min_val, self.max_val = min_val, max_val

    def forward(self, x):
        return A.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}"


class Threshold(Module):
    """x where x > threshold, else value (``torch.nn.Threshold``).

    Args:
        threshold: the cut. value: the replacement below or at it.
    """

    def __init__(self, threshold, value, inplace=False):
        super().__init__()
        self.threshold, self.value = threshold, value

    def forward(self, x):
        return A.threshold(x, self.threshold, self.value)

    def extra_repr(self):
        return f"threshold={self.threshold}, value={self.value}"


class Step(Module):
    """The Heaviside step: 1 where x > threshold, else 0 (no gradient flows through it).

    Args:
        threshold: where the step happens (default 0.0).
    """

    def __init__(self, threshold=0.0):
        super().__init__()
        self.threshold = threshold

    def forward(self, x):
        return A.step(x, self.threshold)

    def extra_repr(self):
        return f"threshold={self.threshold}"


class Softmax(Module):
    """e^(xᵢ) / Σⱼ e^(xⱼ) along ``dim``, computed stably.

    Args:
        dim: the axis that sums to 1 (default -1; PyTorch's implicit choice for
            ``dim=None`` is not reproduced).

    Shape: (*) -> (*).
    """

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, x):
        return A.softmax(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """x − logsumexp(x) along ``dim`` (pair with :class:`NLLLoss`).

    Args:
        dim: the axis (default -1).

    Shape: (*) -> (*).
    """

    def forward(self, x):
        return A.log_softmax(x, self.dim)


__all__ = ["ReLU", "Sigmoid", "Tanh", "ReLU6", "SELU", "SiLU", "Softsign", "Hardsigmoid", "Hardswish", "LeakyReLU",
           "ELU", "GELU", "Softplus", "Hardtanh", "Threshold", "Step", "Softmax", "LogSoftmax"]
