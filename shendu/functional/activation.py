"""Activation functions: element-wise non-linearities and the softmax family.

Names and options follow ``torch.nn.functional`` (``leaky_relu(x,
negative_slope=0.01)``, ``softmax(x, dim=-1)``…), with Keras-style aliases on
top (``swish``, ``hard_sigmoid``) and :func:`get_activation`, which turns a
Keras-style name (``'relu'``, ``'linear'``…) into a function.

Each non-trivial activation is one fused :class:`~shendu.autograd.Function`
whose backward is the closed-form derivative, written next to its forward.
``relu``, ``sigmoid`` and ``tanh`` are the primitives of :mod:`shendu.ops`,
re-exported here. Derivatives at kinks follow PyTorch (e.g. relu'(0) = 0,
leaky_relu'(0) = negative_slope, hardtanh' = 0 at both corners).

``inplace=True`` (PyTorch's flag) is accepted and returns the result as a new
tensor: the input is never overwritten (autograd may still need it).
"""
from __future__ import annotations

import math

from .. import backend
from ..autograd import Function
from ..backend import get_array_module
from ..ops import chunk, exp, floating, relu, reshape, sigmoid, tanh
from ..ops.elementwise import sigmoid_array
from ..ops.special import erf, erfc_array, erfc_nonnegative_fast
from ..parallel import parallel_batch

_INV_SQRT_2 = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327


# --------------------------------------------------------------------- step and threshold
class Step(Function):
    """y = 1 where x > threshold, ``at`` where x == threshold, 0 below;  dy/dx = 0 (almost everywhere)."""

    __slots__ = ()

    def forward(self, x, threshold, at):
        xp = get_array_module(x)
        y = (x > threshold).astype(x.dtype)
        return y if at == 0 else xp.where(x == threshold, x.dtype.type(at), y)

    def backward(self, g):
        return get_array_module(g).zeros_like(g)


def step(x, threshold=0.0):
    """The Heaviside step: 1 where x > threshold, else 0 (the perceptron's activation).

    Its derivative is 0 wherever it exists, so no gradient flows through it
    (a perceptron is trained by its own rule, not by backpropagation).

    Args:
        threshold: where the step happens (default 0.0).

    Example:
        >>> F.step(shendu.tensor([-1.0, 0.0, 2.0]))      # [0, 0, 1]
    """
    return Step.apply(x, threshold=threshold, at=0.0)


def heaviside(x, values=0.0):
    """PyTorch's ``torch.heaviside``: 0 for x < 0, ``values`` at x == 0, 1 for x > 0 (a number here)."""
    return Step.apply(x, threshold=0.0, at=float(values))


class Threshold(Function):
    """y = x where x > threshold, else value;  dy/dx = 1 where x > threshold, else 0."""

    __slots__ = ("mask",)

    def forward(self, x, threshold, value):
        self.mask = x > threshold
        return get_array_module(x).where(self.mask, x, x.dtype.type(value))

    def backward(self, g):
        return g * self.mask


def threshold(x, threshold, value, inplace=False):
    """x where x > threshold, else ``value`` (``torch.nn.functional.threshold``).

    Example:
        >>> F.threshold(shendu.tensor([-1.0, 0.5, 2.0]), 1.0, -5.0)      # [-5, -5, 2]
    """
    return Threshold.apply(x, threshold=threshold, value=value)


def identity(x):
    """The identity f(x) = x (Keras' ``'linear'`` activation); f'(x) = 1."""
    return x


# --------------------------------------------------------------------- rectifiers
class LeakyRelu(Function):
    """y = x if x > 0 else a·x;  dy/dx = 1 if x > 0 else a."""

    __slots__ = ("mask", "slope")

    def forward(self, x, slope):
        self.mask, self.slope = x > 0, slope
        return get_array_module(x).where(self.mask, x, x * slope)

    def backward(self, g):
        return get_array_module(g).where(self.mask, g, g * self.slope)


def leaky_relu(x, negative_slope=0.01, inplace=False):
    """max(x, 0) + negative_slope · min(x, 0).

    Args:
        negative_slope: the slope for x < 0 (default 0.01, PyTorch's; Keras 3 uses 0.2).
    """
    return LeakyRelu.apply(x, slope=negative_slope)


class Elu(Function):
    """y = s·x if x > 0 else s·α(eˣ − 1);  dy/dx = s if x > 0 else s·α·eˣ (ELU: s = 1; SELU: s = λ)."""

    __slots__ = ("mask", "neg_grad", "scale")

    def forward(self, x, alpha, scale):
        xp = get_array_module(x)
        self.mask, self.scale = x > 0, scale
        neg = xp.minimum(x, 0)  # no overflow in exp for large positive x
        self.neg_grad = (alpha * scale) * xp.exp(neg)
        return xp.where(self.mask, x * scale, (alpha * scale) * xp.expm1(neg))

    def backward(self, g):
        return get_array_module(g).where(self.mask, g * self.scale, g * self.neg_grad)


def elu(x, alpha=1.0, inplace=False):
    """Exponential linear unit: x for x > 0, α(eˣ − 1) otherwise (Clevert et al., 2015).

    Args:
        alpha: the saturation value −α for x → −∞ (default 1.0).
    """
    return Elu.apply(floating(x), alpha=alpha, scale=1.0)


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def selu(x, inplace=False):
    """Scaled ELU: λ·elu(x, α) with α ≈ 1.6733, λ ≈ 1.0507 (Klambauer et al., 2017), self-normalising."""
    return Elu.apply(floating(x), alpha=SELU_ALPHA, scale=SELU_SCALE)


class Hardtanh(Function):
    """y = clip(x, lo, hi);  dy/dx = 1 for lo < x < hi, 0 outside and at both corners (as PyTorch)."""

    __slots__ = ("mask",)

    def forward(self, x, lo, hi):
        self.mask = (x > lo) & (x < hi)
        return get_array_module(x).clip(x, lo, hi)

    def backward(self, g):
        return g * self.mask


def hardtanh(x, min_val=-1.0, max_val=1.0, inplace=False):
    """clip(x, min_val, max_val): a piecewise-linear tanh."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val must not exceed max_val, got min_val={min_val}, max_val={max_val}")
    return Hardtanh.apply(x, lo=min_val, hi=max_val)


def relu6(x, inplace=False):
    """min(max(x, 0), 6) = hardtanh(x, 0, 6)."""
    return Hardtanh.apply(x, lo=0.0, hi=6.0)


class Hardsigmoid(Function):
    """y = relu6(x + 3) / 6;  dy/dx = 1/6 for −3 < x < 3, else 0."""

    __slots__ = ("mask",)

    def forward(self, x):
        xp = get_array_module(x)
        self.mask = (x > -3) & (x < 3)
        return xp.minimum(xp.maximum(x + 3, 0), 6) / 6

    def backward(self, g):
        return g * self.mask / 6


def hardsigmoid(x, inplace=False):
    """Piecewise-linear sigmoid relu6(x + 3)/6 (PyTorch's and Keras 3's definition). Alias: ``hard_sigmoid``."""
    return Hardsigmoid.apply(floating(x))


hard_sigmoid = hardsigmoid


class Hardswish(Function):
    """y = x·relu6(x + 3)/6;  dy/dx = 0 for x ≤ −3, x/3 + 1/2 for −3 < x < 3, 1 for x ≥ 3."""

    __slots__ = ("x",)

    def forward(self, x):
        xp = get_array_module(x)
        self.x = x
        return x * xp.minimum(xp.maximum(x + 3, 0), 6) / 6

    def backward(self, g):
        xp = get_array_module(g)
        x = self.x
        return xp.where(x <= -3, 0, xp.where(x < 3, g * (x / 3 + 0.5), g))


def hardswish(x, inplace=False):
    """x · hardsigmoid(x) (MobileNetV3, Howard et al., 2019). Alias: ``hard_swish``."""
    return Hardswish.apply(floating(x))


hard_swish = hardswish


# --------------------------------------------------------------------- smooth activations
_sigmoid_array = sigmoid_array  # σ on arrays, for the fused Functions below and the logit losses


class Silu(Function):
    """y = x·σ(x);  dy/dx = σ(x)·(1 + x·(1 − σ(x)))."""

    __slots__ = ("x", "s")

    def forward(self, x):
        self.x, self.s = x, _sigmoid_array(x)
        return x * self.s

    def backward(self, g):
        s = self.s
        return g * s * (1 + self.x * (1 - s))


def silu(x, inplace=False):
    """Sigmoid-weighted linear unit x·σ(x) (Elfwing et al., 2017; a.k.a. swish). Alias: ``swish``."""
    return Silu.apply(floating(x))


swish = silu


class Softplus(Function):
    """y = (1/β)·log(1 + e^(βx)), or x where βx > threshold;  dy/dx = σ(βx), or 1 above the threshold.

    log(1 + eᶻ) is computed as max(z, 0) + log1p(e^(−|z|)), which never overflows.
    """

    __slots__ = ("dy",)

    def forward(self, x, beta, threshold):
        xp = get_array_module(x)
        z = x * beta
        linear = z > threshold
        self.dy = xp.where(linear, 1, _sigmoid_array(z))
        soft = (xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))) / beta
        return xp.where(linear, x, soft)

    def backward(self, g):
        return g * self.dy


def softplus(x, beta=1.0, threshold=20.0):
    """Smooth relu (1/β)·log(1 + e^(βx)); linear (= x) where βx > threshold, as PyTorch.

    Args:
        beta: sharpness (default 1.0). threshold: where it switches to the identity (default 20.0).
    """
    return Softplus.apply(floating(x), beta=beta, threshold=threshold)


class Softsign(Function):
    """y = x / (1 + |x|);  dy/dx = 1 / (1 + |x|)²."""

    __slots__ = ("d",)

    def forward(self, x):
        self.d = 1 + get_array_module(x).abs(x)
        return x / self.d

    def backward(self, g):
        d = self.d
        return g / (d * d)


def softsign(x):
    """x / (1 + |x|), a slowly saturating tanh-like function."""
    return Softsign.apply(floating(x))


#: Numbers per piece of GELU's float32 NumPy chain (128 KiB per array): the chain's temporaries then stay in the
#: L2 cache and in reused heap memory. On an AVX2 EPYC, (768, 512) activations: 4.7 ms per call in pieces against
#: 10 ms whole with glibc's default malloc (whose large temporaries are fresh zeroed pages each time), 4.8 against
#: 5.0 ms with the benchmark's malloc settings (bench/NOTES.md §12).
_GELU_BLOCK = 1 << 15


class Gelu(Function):
    """GELU, y = x·Φ(x) (exact) or ½x(1 + tanh(√(2/π)(x + 0.044715x³))) ('tanh').

    exact: dy/dx = Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π), Φ(x) = erfc(−x/√2)/2.
    tanh:  dy/dx = ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²), t = tanh(…).

    The exact form goes through the tail h = Φ(−|x|) = erfc(|x|/√2)/2, never through 1 + erf
    (which cancels in the left tail): Φ(x) = h for x < 0 and 1 − h otherwise, so that
    y = max(x, 0) − |x|·h. float64 takes Cody's erfc (the reference, ~1e-16); float32 takes
    :func:`~shendu.ops.special.erfc_nonnegative_fast` (relative ~1e-6, a quarter of the passes),
    split over the cores by rows and run in cache-sized pieces — this op was half of a GPT training step.
    """

    __slots__ = ("x", "cdf", "t", "approximate", "fast")

    _K = math.sqrt(2 / math.pi)
    _C = 0.044715

    def forward(self, x, approximate):
        xp = get_array_module(x)
        self.x, self.approximate = x, approximate
        kernels = self.fast = backend.fast_kernels()
        if kernels is not None:  # oneDNN's gelu_erf / gelu_tanh, forward and backward (docs/onednn.md)
            y = kernels.gelu_forward(x, approximate)
            if y is not None:
                return y
            self.fast = None
        if approximate == "tanh":
            self.t = xp.tanh(self._K * (x + self._C * x * x * x))
            return 0.5 * x * (1 + self.t)
        if x.dtype != xp.float32:
            self.cdf = 0.5 * erfc_array(-_INV_SQRT_2 * x)  # erfc: Φ stays accurate far into the left tail
            return x * self.cdf
        y, cdf = xp.empty_like(x), xp.empty_like(x)

        def gelu32(x, y, cdf):
            a = xp.abs(x)
            h = erfc_nonnegative_fast(a * _INV_SQRT_2)
            h *= 0.5                                         # h = Φ(−|x|)
            xp.maximum(x, 0, out=y)
            y -= a * h                                       # x·Φ(x) = max(x, 0) − |x|·h
            xp.subtract(1, h, out=cdf)
            xp.copyto(cdf, h, where=x < 0)                   # Φ(x) = h (x < 0), 1 − h (x ≥ 0)

        def blocked(x, y, cdf):  # pieces of _GELU_BLOCK numbers (see there)
            step = max(1, _GELU_BLOCK // x.shape[-1]) if x.ndim > 1 else _GELU_BLOCK
            for i in range(0, x.shape[0], step):
                gelu32(x[i:i + step], y[i:i + step], cdf[i:i + step])

        rows = [a.reshape(-1, a.shape[-1]) if a.ndim > 1 else a for a in (x, y, cdf)]  # split over all rows
        parallel_batch(blocked, *rows)
        self.cdf = cdf
        return y

    def backward(self, g):
        xp = get_array_module(g)
        x = self.x
        if self.fast is not None:
            return self.fast.gelu_backward(x, g, self.approximate)
        if self.approximate == "tanh":
            t = self.t
            return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * self._K * (1 + 3 * self._C * x * x))
        return g * (self.cdf + x * (_INV_SQRT_2PI * xp.exp(-0.5 * x * x)))


def gelu(x, approximate="none"):
    """Gaussian error linear unit x·Φ(x) (Hendrycks & Gimpel, 2016).

    Args:
        approximate: ``'none'`` (exact, through erf) or ``'tanh'`` (the BERT/GPT-2 approximation).
    """
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return Gelu.apply(floating(x), approximate=approximate)


# --------------------------------------------------------------------- softmax family
class Softmax(Function):
    """y = e^(x − m) / Σ e^(x − m) along ``axis`` (m = max, so exp never overflows);
    dL/dx = y ⊙ (g − Σ g ⊙ y)."""

    __slots__ = ("y", "axis")

    def forward(self, x, axis):
        xp = get_array_module(x)
        m = x.max(axis=axis, keepdims=True)
        e = xp.exp(x - xp.where(xp.isfinite(m), m, 0))
        self.y, self.axis = e / e.sum(axis=axis, keepdims=True), axis
        return self.y

    def backward(self, g):
        y = self.y
        gy = g * y
        return gy - y * gy.sum(axis=self.axis, keepdims=True)


class LogSoftmax(Function):
    """y = x − logsumexp(x) along ``axis`` (logsumexp = m + log Σ e^(x − m));
    dL/dx = g − softmax(x) · Σ g."""

    __slots__ = ("y", "axis")

    def forward(self, x, axis):
        xp = get_array_module(x)
        m = x.max(axis=axis, keepdims=True)
        shifted = x - xp.where(xp.isfinite(m), m, 0)
        self.y, self.axis = shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True)), axis
        return self.y

    def backward(self, g):
        xp = get_array_module(g)
        return g - xp.exp(self.y) * g.sum(axis=self.axis, keepdims=True)


def _check_dim(x, dim, op):
    nd = max(x.ndim, 1)
    if not -nd <= dim < nd:
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor of {x.ndim} dimensions (shape {x.shape})")
    return dim


def softmax(x, dim=-1):
    """softmax(x)ᵢ = e^(xᵢ) / Σⱼ e^(xⱼ) along ``dim``, computed stably.

    Args:
        dim: the axis that sums to 1 (default -1, the last; PyTorch requires it explicitly).

    Shape: any; the output has the input's shape.

    Example:
        >>> F.softmax(shendu.tensor([[1.0, 2.0, 3.0]]), dim=1)    # [[0.090, 0.245, 0.665]]
    """
    return Softmax.apply(floating(x), axis=_check_dim(x, dim, "softmax"))


def log_softmax(x, dim=-1):
    """log softmax(x) = x − logsumexp(x) along ``dim``; finite for any finite logits.

    Prefer it to ``softmax(x).log()``, which underflows to −inf for very
    negative logits; it is what :func:`~shendu.functional.nll_loss` expects.
    """
    return LogSoftmax.apply(floating(x), axis=_check_dim(x, dim, "log_softmax"))


# --------------------------------------------------------------------- nn-funcs: shrinkage, CELU, Mish, PReLU, GLU
class Celu(Function):
    """y = max(0, x) + min(0, α(e^(x/α) − 1));  dy/dx = 1 if x > 0 else e^(x/α)."""

    __slots__ = ("mask", "neg_grad")

    def forward(self, x, alpha):
        xp = get_array_module(x)
        self.mask = x > 0
        neg = xp.minimum(x, 0) * (1 / alpha)  # x·(1/α) as PyTorch rounds it; no overflow for large x
        # PyTorch's backward takes 1/α with α rounded to float32 (derivatives.yaml); so does this one
        back_scale = 1 / float(xp.float32(alpha))
        self.neg_grad = (back_scale * alpha) * xp.exp(xp.minimum(x, 0) * back_scale)
        return xp.where(self.mask, x, alpha * xp.expm1(neg))

    def backward(self, g):
        return get_array_module(g).where(self.mask, g, g * self.neg_grad)


def celu(x, alpha=1.0):
    """Continuously differentiable ELU (Barron, 2017): max(0, x) + min(0, α(e^(x/α) − 1)), as ``F.celu``.

    Args:
        alpha: α ≠ 0 (default 1.0).

    Shape: (*) -> (*).
    """
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (it divides x), got alpha=0")
    return Celu.apply(x, alpha=float(alpha))


def _softplus_array(z):
    """log(1 + eᶻ) without overflow: max(z, 0) + log1p(e^(−|z|))."""
    xp = get_array_module(z)
    return xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))


class Mish(Function):
    """y = x·tanh(softplus(x));  dy/dx = t + x·σ(x)·(1 − t²), t = tanh(softplus(x))."""

    __slots__ = ("x", "t")

    def forward(self, x):
        self.x, self.t = x, get_array_module(x).tanh(_softplus_array(x))
        return x * self.t

    def backward(self, g):
        t = self.t
        return g * (t + self.x * _sigmoid_array(self.x) * (1 - t * t))


def mish(x):
    """Mish (Misra, 2019): x·tanh(softplus(x)), as ``F.mish``.  Shape: (*) -> (*)."""
    return Mish.apply(x)


class LogSigmoid(Function):
    """y = log σ(x) = min(x, 0) − log(1 + e^(−|x|));  dy/dx = 1 − σ(x) = σ(−x)."""

    __slots__ = ("x",)

    def forward(self, x):
        self.x = x
        return -_softplus_array(-x)

    def backward(self, g):
        return g * _sigmoid_array(-self.x)


def logsigmoid(x):
    """log(1 / (1 + e⁻ˣ)), computed without overflow, as ``F.logsigmoid``.  Shape: (*) -> (*)."""
    return LogSigmoid.apply(x)


class Shrink(Function):
    """Hard shrinkage y = x·[|x| > λ], or soft shrinkage y = x − λ·sign(x) where |x| > λ, 0 elsewhere;
    dy/dx = [|x| > λ] for both."""

    __slots__ = ("mask",)

    def forward(self, x, lambd, soft):
        xp = get_array_module(x)
        self.mask = xp.abs(x) > lambd
        kept = x - lambd * xp.sign(x) if soft else x
        return xp.where(self.mask, kept, 0).astype(x.dtype, copy=False)

    def backward(self, g):
        return g * self.mask


def _check_lambd(lambd, op):
    if lambd < 0:
        raise ValueError(f"{op}: lambda must be greater or equal to 0, got lambd={lambd}")
    return float(lambd)


def hardshrink(x, lambd=0.5):
    """x where |x| > λ, else 0, as ``F.hardshrink``.  Shape: (*) -> (*)."""
    return Shrink.apply(x, lambd=float(lambd), soft=False)


def softshrink(x, lambd=0.5):
    """x − λ where x > λ, x + λ where x < −λ, else 0 (λ ≥ 0), as ``F.softshrink``.  Shape: (*) -> (*)."""
    return Shrink.apply(x, lambd=_check_lambd(lambd, "softshrink"), soft=True)


class Tanhshrink(Function):
    """y = x − tanh(x);  dy/dx = tanh²(x)."""

    __slots__ = ("t",)

    def forward(self, x):
        self.t = get_array_module(x).tanh(x)
        return x - self.t

    def backward(self, g):
        return g * self.t * self.t


def tanhshrink(x):
    """x − tanh(x), as ``F.tanhshrink``.  Shape: (*) -> (*)."""
    return Tanhshrink.apply(x)


def softmin(x, dim=-1):
    """softmin(x)ᵢ = e^(−xᵢ) / Σⱼ e^(−xⱼ) along ``dim`` = softmax(−x), as ``F.softmin``.

    Shape: any; the output has the input's shape.
    """
    return Softmax.apply(-x, axis=_check_dim(x, dim, "softmin"))


def glu(x, dim=-1):
    """Gated linear unit (Dauphin et al., 2017): a ⊗ σ(b), where a, b are the two halves of x along ``dim``.

    Shape: (*, 2M, *) -> (*, M, *).

    Example:
        >>> F.glu(shendu.randn(4, 6)).shape
        (4, 3)
    """
    dim = _check_dim(x, dim, "glu")
    if x.ndim == 0 or x.shape[dim] % 2:
        raise ValueError(f"glu: halving only works on a dimension of even size, got size "
                         f"{x.shape[dim] if x.ndim else None} at dim {dim} of shape {tuple(x.shape)}")
    a, b = chunk(x, 2, dim)
    return a * sigmoid(b)


class Prelu(Function):
    """y = x if x > 0 else a·x, a learned per channel (axis 1);  dL/dx = g or a·g,  dL/da = Σ_{x ≤ 0} g·x."""

    __slots__ = ("x", "mask", "a")

    def forward(self, x, a):
        self.x, self.mask, self.a = x, x > 0, a
        return get_array_module(x).where(self.mask, x, x * a)

    def backward(self, g):
        xp = get_array_module(g)
        gx = xp.where(self.mask, g, g * self.a)
        return gx, xp.where(self.mask, 0, g * self.x)  # autograd sums it back to a's shape


def prelu(x, weight):
    """Parametric ReLU (He et al., 2015): max(0, x) + a·min(0, x), as ``F.prelu``.

    Args:
        x: (N, C, *) (or any shape when ``weight`` has one element).
        weight: a, of shape (C,) (one slope per channel of axis 1) or (1,) (one slope for all).

    Shape: (*) -> (*).
    """
    if weight.ndim != 1 and weight.numel() != 1:
        raise ValueError(f"prelu: expected weight of 1 dimension, got shape {tuple(weight.shape)}")
    if weight.numel() == 1:
        a = reshape(weight, ())
    else:
        channels = x.shape[1] if x.ndim >= 2 else None
        if channels != weight.numel():
            raise ValueError(f"prelu: weight of {weight.numel()} slopes needs input (N, {weight.numel()}, *), "
                             f"got shape {tuple(x.shape)}")
        a = reshape(weight, (weight.numel(),) + (1,) * (x.ndim - 2))
    return Prelu.apply(x, a)


# --------------------------------------------------------------------- lookup by name
ACTIVATIONS = {
    "linear": identity, "identity": identity, "relu": relu, "sigmoid": sigmoid, "tanh": tanh,
    "softmax": softmax, "log_softmax": log_softmax, "swish": swish, "silu": silu, "gelu": gelu,
    "elu": elu, "selu": selu, "softplus": softplus, "softsign": softsign, "hard_sigmoid": hard_sigmoid,
    "hardsigmoid": hardsigmoid, "hard_swish": hardswish, "hardswish": hardswish, "leaky_relu": leaky_relu,
    "relu6": relu6, "hardtanh": hardtanh, "exponential": exp, "step": step,
}


def get_activation(activation):
    """Turn a Keras-style activation argument into a function of one tensor.

    Args:
        activation: a name (``'relu'``, ``'sigmoid'``, ``'tanh'``, ``'softmax'``,
            ``'linear'``, ``'swish'``, ``'gelu'``, ``'elu'``, ``'selu'``,
            ``'softplus'``, ``'softsign'``, ``'hard_sigmoid'``, ``'leaky_relu'``…,
            see ``ACTIVATIONS``; case-insensitive), None (the identity) or a
            callable (a function or a module), returned unchanged.

    Raises:
        ValueError: for an unknown name (the message lists the valid ones).

    Example:
        >>> act = F.get_activation("relu")
        >>> act(shendu.tensor([-1.0, 2.0]))      # [0, 2]
    """
    if activation is None:
        return identity
    if isinstance(activation, str):
        fn = ACTIVATIONS.get(activation.lower())
        if fn is None:
            raise ValueError(f"get_activation: unknown activation {activation!r}; "
                             f"valid names: {', '.join(sorted(ACTIVATIONS))}")
        return fn
    if callable(activation):
        return activation
    raise TypeError(f"get_activation: expected a name, a callable or None, got {type(activation).__name__}")


__all__ = [
    "erf", "step", "heaviside", "threshold", "identity", "relu", "sigmoid", "tanh", "leaky_relu", "elu", "selu",
    "hardtanh", "relu6", "hardsigmoid", "hard_sigmoid", "hardswish", "hard_swish", "silu", "swish", "softplus",
    "softsign", "gelu", "softmax", "log_softmax", "get_activation",
    # nn-funcs
    "celu", "mish", "logsigmoid", "hardshrink", "softshrink", "tanhshrink", "softmin", "glu", "prelu",
]
