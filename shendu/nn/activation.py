"""Activation layers: stateless modules over :mod:`shendu.functional.activation`.

Names and arguments follow ``torch.nn`` (``nn.ReLU()``, ``nn.LeakyReLU(0.2)``,
``nn.Softmax(dim=1)``…). The ``inplace`` flags PyTorch offers are accepted for
compatibility and ignored: shendu never overwrites an input that autograd may
still need. Every layer maps input (*) -> output (*) of the same shape.

Example:
    >>> net = nn.Sequential(nn.Linear(4, 8), nn.GELU(), nn.Linear(8, 3), nn.LogSoftmax(dim=1))
"""
from __future__ import annotations

import numbers

from ..functional import activation as A
from ..tensor import full
from .module import Module, Parameter


class _Activation(Module):
    """An activation without options: ``forward`` calls ``fn``."""

    fn = None

    def __init__(self, inplace=False):
        super().__init__()

    def forward(self, x):
        return type(self).fn(x)


class ReLU(_Activation):
    """max(x, 0).  Shape: (*) -> (*).

    A :class:`~shendu.nn.Sequential` runs an ``nn.Linear`` or ``nn.Conv2d`` followed by this module as one
    fused op (the ReLU in place on the layer's result); the result and the gradients are the same.
    """

    fn = staticmethod(A.relu)
    fusable_as = "relu"  # the name a preceding layer's forward(x, activation=...) knows it by


class Sigmoid(_Activation):
    """σ(x) = 1 / (1 + e⁻ˣ), computed stably.  Shape: (*) -> (*).

    A :class:`~shendu.nn.Sequential` runs an ``nn.Linear`` followed by this module as one fused op.
    """

    fn = staticmethod(A.sigmoid)
    fusable_as = "sigmoid"

    def __init__(self):
        super().__init__()


class Tanh(_Activation):
    """tanh(x).  Shape: (*) -> (*).

    A :class:`~shendu.nn.Sequential` runs an ``nn.Linear`` followed by this module as one fused op.
    """

    fn = staticmethod(A.tanh)
    fusable_as = "tanh"

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


# --- nn-funcs: the activations added with issue 14 (CELU, Mish, LogSigmoid, shrinkage, Softmin, GLU, PReLU)
class CELU(Module):
    """max(0, x) + min(0, α(e^(x/α) − 1)) (``torch.nn.CELU``).

    Args:
        alpha: α (default 1.0). inplace: accepted, ignored (see the module docstring).
    """

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        if alpha == 0:
            raise ValueError("CELU: alpha must not be 0, got alpha=0")
        self.alpha, self.inplace = alpha, inplace

    def forward(self, x):
        return A.celu(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


class Mish(_Activation):
    """x·tanh(softplus(x)).  Shape: (*) -> (*)."""

    fn = staticmethod(A.mish)


class LogSigmoid(_Activation):
    """log σ(x) = −softplus(−x).  Shape: (*) -> (*)."""

    fn = staticmethod(A.logsigmoid)

    def __init__(self):
        super().__init__()


class Tanhshrink(_Activation):
    """x − tanh(x).  Shape: (*) -> (*)."""

    fn = staticmethod(A.tanhshrink)

    def __init__(self):
        super().__init__()


class Hardshrink(Module):
    """x where |x| > λ, else 0 (``torch.nn.Hardshrink``).

    Args:
        lambd: λ (default 0.5).
    """

    _fn = staticmethod(A.hardshrink)

    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = float(lambd)

    def forward(self, x):
        return type(self)._fn(x, self.lambd)

    def extra_repr(self):
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    """x − λ·sign(x) where |x| > λ, else 0 (``torch.nn.Softshrink``).

    Args:
        lambd: λ ≥ 0 (default 0.5).
    """

    _fn = staticmethod(A.softshrink)

    def __init__(self, lambd=0.5):
        if lambd < 0:
            raise ValueError(f"Softshrink: lambda must be greater or equal to 0, got lambd={lambd}")
        super().__init__(lambd)


class Softmin(Softmax):
    """e^(−xᵢ) / Σⱼ e^(−xⱼ) along ``dim`` = softmax(−x).

    Args:
        dim: the axis that sums to 1 (default -1).

    Shape: (*) -> (*).
    """

    def forward(self, x):
        return A.softmin(x, self.dim)


class GLU(Module):
    """Gated linear unit: a ⊗ σ(b), a and b the halves of the input along ``dim`` (``torch.nn.GLU``).

    Args:
        dim: the axis that is halved (default -1).

    Shape: (*, 2M, *) -> (*, M, *).
    """

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return A.glu(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class PReLU(Module):
    """Parametric ReLU (He et al., 2015): max(0, x) + a·min(0, x) with learned slopes a (``torch.nn.PReLU``).

    Args:
        num_parameters: 1 (one slope shared by all channels) or C, one slope per channel of axis 1 (default 1).
        init: the initial slope (default 0.25).

    Parameters: ``weight`` (num_parameters,).

    Shape: (N, C, *) -> the same (any shape when num_parameters = 1).

    Example:
        >>> act = nn.PReLU(3)
        >>> act(shendu.randn(2, 3, 4, 4)).shape
        (2, 3, 4, 4)
    """

    def __init__(self, num_parameters=1, init=0.25):
        super().__init__()
        if not isinstance(num_parameters, numbers.Integral) or num_parameters < 1:
            raise ValueError(f"PReLU: num_parameters must be a positive int, got {num_parameters!r}")
        self.num_parameters, self.init = int(num_parameters), float(init)
        self.weight = Parameter(full((self.num_parameters,), self.init))

    def reset_parameters(self):
        """Every slope back to ``init``."""
        self.weight.data.fill(self.init)

    def forward(self, x):
        return A.prelu(x, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


__all__ += ["CELU", "Mish", "LogSigmoid", "Tanhshrink", "Hardshrink", "Softshrink", "Softmin", "GLU", "PReLU"]
