"""Element-wise math: exp, log, sqrt, abs, tanh, sigmoid, relu, clip, maximum,
minimum, where, and comparisons (which return bool tensors and no gradient)."""
from __future__ import annotations

from ..autograd import Function, is_grad_enabled
from ..backend import get_array_module
from ..parallel import parallel_batch
from ..tensor import Tensor
from ._util import binary_operands, lift


class Exp(Function):
    """y = eˣ;  dy/dx = y."""

    __slots__ = ("y",)

    def forward(self, x):
        self.y = get_array_module(x).exp(x)
        return self.y

    def backward(self, g):
        return g * self.y


class Log(Function):
    """y = ln x;  dy/dx = 1/x."""

    __slots__ = ("x",)

    def forward(self, x):
        self.x = x
        return get_array_module(x).log(x)

    def backward(self, g):
        return g / self.x


class Sqrt(Function):
    """y = √x;  dy/dx = 1/(2y)."""

    __slots__ = ("y",)

    def forward(self, x):
        self.y = get_array_module(x).sqrt(x)
        return self.y

    def backward(self, g):
        return g / (2 * self.y)


class Abs(Function):
    """y = |x|;  dy/dx = sign(x) (0 at 0, as PyTorch)."""

    __slots__ = ("x",)

    def forward(self, x):
        self.x = x
        return get_array_module(x).abs(x)

    def backward(self, g):
        return g * get_array_module(g).sign(self.x)


class Tanh(Function):
    """y = tanh x;  dy/dx = 1 − y²."""

    __slots__ = ("y",)

    def forward(self, x):
        self.y = get_array_module(x).tanh(x)
        return self.y

    def backward(self, g):
        y = self.y
        return g * (1 - y * y)


def sigmoid_array(x):
    """σ(x) on an array, never overflowing: σ(x) = e^min(x, 0) / (e^min(x, 0) + e^−max(x, 0)),
    i.e. 1/(1 + e⁻ˣ) for x ≥ 0 and eˣ/(eˣ + 1) below; both exponents are ≤ 0."""
    if x.ndim == 0:  # NumPy returns 0-d results as scalars, which the in-place steps below cannot write to
        return sigmoid_array(x.reshape(1)).reshape(())
    xp = get_array_module(x)
    num = xp.exp(xp.minimum(x, 0.0))  # floating for integer x too
    den = xp.maximum(x, 0.0)
    xp.negative(den, out=den)  # in place, and no select: np.where costs more than a second exp
    xp.exp(den, out=den)
    den += num
    return xp.divide(num, den, out=num)


class Sigmoid(Function):
    """y = σ(x) = 1 / (1 + e⁻ˣ);  dy/dx = y(1 − y). Stable for large |x| (see :func:`sigmoid_array`)."""

    __slots__ = ("y",)

    def forward(self, x):
        self.y = sigmoid_array(x)
        return self.y

    def backward(self, g):
        y = self.y
        return g * y * (1 - y)


_SMALL_INFERENCE = 4096  # elements: up to this size a Relu under no_grad is one np.maximum call


class Relu(Function):
    """y = max(x, 0);  dy/dx = 1 where x > 0, else 0."""

    __slots__ = ("mask",)

    def forward(self, x):
        xp = get_array_module(x)
        zero = x.dtype.type(0)
        if not is_grad_enabled():  # no backward will need a mask
            if x.size <= _SMALL_INFERENCE:
                return xp.maximum(x, zero)
            y = xp.empty_like(x)
            parallel_batch(lambda x, y: xp.maximum(x, zero, out=y), x, y)
            return y
        self.mask, y = xp.empty(x.shape, dtype=bool), xp.empty_like(x)

        def relu(x, mask, y):
            xp.greater(x, 0, out=mask)
            # x * mask is ~25 % faster above ~8k elements (AVX2, NumPy 2.4) but turns −inf into NaN (−inf · 0).
            xp.maximum(x, zero, out=y)

        parallel_batch(relu, x, self.mask, y)
        return y

    def backward(self, g):
        xp = get_array_module(g)
        gx = xp.empty(g.shape, dtype=g.dtype)
        parallel_batch(lambda g, mask, gx: xp.multiply(g, mask, out=gx), g, self.mask, gx)
        return gx


class Clip(Function):
    """y = min(max(x, lo), hi);  dy/dx = 1 where lo ≤ x ≤ hi (PyTorch's clamp)."""

    __slots__ = ("mask",)

    def forward(self, x, lo, hi):
        xp = get_array_module(x)
        mask = True
        if lo is not None:
            mask = x >= lo
        if hi is not None:
            mask = mask & (x <= hi)
        self.mask = mask
        return xp.clip(x, lo, hi)

    def backward(self, g):
        return g * self.mask


class Maximum(Function):
    """y = max(a, b) element-wise; the gradient goes to the larger input, halved on ties."""

    __slots__ = ("wa",)

    def forward(self, a, b):
        xp = get_array_module(a)
        self.wa = xp.where(a == b, a.dtype.type(0.5), (a > b).astype(a.dtype))
        return xp.maximum(a, b)

    def backward(self, g):
        ga = g * self.wa
        return ga, g - ga


class Minimum(Function):
    """y = min(a, b) element-wise; the gradient goes to the smaller input, halved on ties."""

    __slots__ = ("wa",)

    def forward(self, a, b):
        xp = get_array_module(a)
        self.wa = xp.where(a == b, a.dtype.type(0.5), (a < b).astype(a.dtype))
        return xp.minimum(a, b)

    def backward(self, g):
        ga = g * self.wa
        return ga, g - ga


class Where(Function):
    """y = a where cond else b;  the gradient flows to the chosen input."""

    __slots__ = ("cond",)

    def forward(self, a, b, cond):
        self.cond = cond
        return get_array_module(a).where(cond, a, b)

    def backward(self, g):
        xp = get_array_module(g)
        zero = xp.zeros((), dtype=g.dtype)
        return xp.where(self.cond, g, zero), xp.where(self.cond, zero, g)


def exp(x):
    """eˣ element-wise."""
    return Exp.apply(x)


def log(x):
    """Natural logarithm element-wise."""
    return Log.apply(x)


def sqrt(x):
    """Square root element-wise."""
    return Sqrt.apply(x)


def abs(x):
    """|x| element-wise."""
    return Abs.apply(x)


def tanh(x):
    """Hyperbolic tangent element-wise."""
    return Tanh.apply(x)


def sigmoid(x):
    """The logistic function σ(x) = 1 / (1 + e⁻ˣ), computed stably."""
    return Sigmoid.apply(x)


def relu(x, inplace=False):
    """max(x, 0) element-wise."""
    return Relu.apply(x)


def clip(x, min=None, max=None):
    """Limit values to [min, max] (either bound may be None). Alias: ``clamp``.

    Number bounds: the gradient is 1 where min ≤ x ≤ max, else 0 (PyTorch's
    clamp). Tensor bounds broadcast and get gradient too (through
    ``maximum``/``minimum``).
    """
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        if min is not None:
            x = maximum(x, min)
        return x if max is None else minimum(x, max)
    return Clip.apply(x, lo=min, hi=max)


clamp = clip


def maximum(a, b):
    """Element-wise maximum of two tensors (or a tensor and a number)."""
    a, b = binary_operands(a, b)
    return Maximum.apply(a, b)


def minimum(a, b):
    """Element-wise minimum of two tensors (or a tensor and a number)."""
    a, b = binary_operands(a, b)
    return Minimum.apply(a, b)


def where(cond, a, b):
    """Choose ``a`` where ``cond`` is true, else ``b`` (with broadcasting)."""
    c = cond.data if isinstance(cond, Tensor) else cond
    a, b = binary_operands(a, b)
    xp = get_array_module(a.data)
    c = xp.asarray(c, dtype=bool)
    return Where.apply(a, b, cond=c)


def _compare(ufunc_name):
    def compare(a, b):
        a, b = binary_operands(a, b)
        xp = get_array_module(a.data)
        return Tensor._wrap(xp.asarray(getattr(xp, ufunc_name)(a.data, b.data)), False, None)
    compare.__name__ = ufunc_name
    compare.__doc__ = f"Element-wise ``{ufunc_name}`` comparison; a bool tensor without gradient."
    return compare


eq = _compare("equal")
ne = _compare("not_equal")
lt = _compare("less")
le = _compare("less_equal")
gt = _compare("greater")
ge = _compare("greater_equal")
logical_and = _compare("logical_and")
logical_or = _compare("logical_or")
equal, not_equal, less, less_equal, greater, greater_equal = eq, ne, lt, le, gt, ge


def logical_not(x):
    """Element-wise not of a bool tensor (``~x``)."""
    xp = get_array_module(x.data)
    return Tensor._wrap(xp.asarray(xp.logical_not(x.data)), False, None)


def sign(x):
    """−1, 0 or 1 element-wise (no gradient)."""
    xp = get_array_module(x.data)
    return Tensor._wrap(xp.asarray(xp.sign(x.data)), False, None)


def isfinite(x):
    """True where x is neither infinite nor NaN."""
    xp = get_array_module(x.data)
    return Tensor._wrap(xp.asarray(xp.isfinite(x.data)), False, None)


def isnan(x):
    """True where x is NaN."""
    xp = get_array_module(x.data)
    return Tensor._wrap(xp.asarray(xp.isnan(x.data)), False, None)
