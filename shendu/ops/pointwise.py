"""Element-wise math beyond the basics: trigonometric and hyperbolic functions
and their inverses, log2/log10/log1p/exp2/expm1, rsqrt/reciprocal/square,
atan2/hypot/copysign/logaddexp/lerp, and the predicates isinf/isclose/allclose.

Integer and bool inputs to a floating function give the default float dtype
(``sin(int_tensor)`` is float32), as in PyTorch.
"""
from __future__ import annotations

import math
import numbers

from .. import backend
from ..autograd import Function
from ..backend import get_array_module
from ..tensor import Tensor
from ._util import binary_operands, cast, floating, lift
from .arithmetic import pow
from .elementwise import sigmoid_array

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


def floating_operands(a, b, op):
    """Two tensors of one floating dtype (int/bool operands give the default float)."""
    a, b = binary_operands(a, b)
    if a.data.dtype.kind != "f":
        a, b = floating(a), floating(b)
    return a, b


def _unary(fn_cls, x):
    return fn_cls.apply(floating(x))


# ---------------------------------------------------------------- trigonometric
class Sin(Function):
    """y = sin x;  dy/dx = cos x."""

    __slots__ = ("x",)

    def forward(self, x):
        self.x = x
        return get_array_module(x).sin(x)

    def backward(self, g):
        return g * get_array_module(g).cos(self.x)


class Cos(Function):
    """y = cos x;  dy/dx = −sin x."""

    __slots__ = ("x",)

    def forward(self, x):
        self.x = x
        return get_array_module(x).cos(x)

    def backward(self, g):
        return -g * get_array_module(g).sin(self.x)


class Tan(Function):
    """y = tan x;  dy/dx = 1 + y²."""

    __slots__ = ("y",)

    def forward(self, x):
        self.y = get_array_module(x).tan(x)
        return self.y

    def backward(self, g):
        return g * (1 + self.y * self.y)


class Asin(Function):
    """y = arcsin x;  dy/dx = 1/√(1 − x²)."""

    __slots__ = ("x",)

    def forward(self, x):
        self.x = x
        return get_array_module(x).arcsin(x)

    def backward(self, g):
        return g / get_array_module(g).sqrt(1 - self.x * self.x)


class Acos(Function):
    """y = arccos x;  dy/dx = −1/√(1 − x²)."""

    __slots__ = ("x",)

    def forward(self, x):
        self.x = x
        return get_array_module(x).arccos(x)

    def backward(self, g):
        return -g / get_array_module(g).sqrt(1 - self.x * self.x)


class Atan(Function):
    """y = arctan x;  dy/dx = 1/(1 + x²)."""

    __slots__ = ("x",)

    def forward(self, x):
        self.x = x
        return get_array_module(x).arctan(x)

    def backward(self, g):
        return g / (1 + self.x * self.x)


class Atan2(Function):
    """θ = atan2(a, b), the angle of the point (b, a);  dθ/da = b/(a² + b²), dθ/db = −a/(a² + b²)."""

    __slots__ = ("a", "b")

    def forward(self, a, b):
        self.a, self.b = a, b
        return get_array_module(a).arctan2(a, b)

    def backward(self, g):
        a, b = self.a, self.b
        gr = g / (a * a + b * b)
        return gr * b, -gr * a


# ---------------------------------------------------------------- hyperbolic
class Sinh(Function):
    """y = sinh x;  dy/dx = cosh x."""

    __slots__ = ("x",)

    def forward(self, x):
        self.x = x
        return get_array_module(x).sinh(x)

    def backward(self, g):
        return g * get_array_module(g).cosh(self.x)


class Cosh(Function):
    """y = cosh x;  dy/dx = sinh x."""

    __slots__ = ("x",)

    def forward(self, x):
        self.x = x
        return get_array_module(x).cosh(x)

    def backward(self, g):
        return g * get_array_module(g).sinh(self.x)


class Asinh(Function):
    """y = arsinh x;  dy/dx = 1/√(x² + 1)."""

    __slots__ = ("x",)

    def forward(self, x):
        self.x = x
        return get_array_module(x).arcsinh(x)

    def backward(self, g):
        return g / get_array_module(g).sqrt(self.x * self.x + 1)


class Acosh(Function):
    """y = arcosh x (x ≥ 1);  dy/dx = 1/√(x² − 1)."""

    __slots__ = ("x",)

    def forward(self, x):
        self.x = x
        return get_array_module(x).arccosh(x)

    def backward(self, g):
        return g / get_array_module(g).sqrt(self.x * self.x - 1)


class Atanh(Function):
    """y = artanh x (|x| < 1);  dy/dx = 1/(1 − x²)."""

    __slots__ = ("x",)

    def forward(self, x):
        self.x = x
        return get_array_module(x).arctanh(x)

    def backward(self, g):
        return g / (1 - self.x * self.x)


# ---------------------------------------------------------------- exponentials and logarithms
class Log2(Function):
    """y = log₂ x;  dy/dx = 1/(x ln 2)."""

    __slots__ = ("x",)

    def forward(self, x):
        self.x = x
        return get_array_module(x).log2(x)

    def backward(self, g):
        return g / (self.x * _LN2)


class Log10(Function):
    """y = log₁₀ x;  dy/dx = 1/(x ln 10)."""

    __slots__ = ("x",)

    def forward(self, x):
        self.x = x
        return get_array_module(x).log10(x)

    def backward(self, g):
        return g / (self.x * _LN10)


class Log1p(Function):
    """y = ln(1 + x), accurate for small x;  dy/dx = 1/(1 + x)."""

    __slots__ = ("x",)

    def forward(self, x):
        self.x = x
        return get_array_module(x).log1p(x)

    def backward(self, g):
        return g / (1 + self.x)


class Exp2(Function):
    """y = 2ˣ;  dy/dx = y ln 2."""

    __slots__ = ("y",)

    def forward(self, x):
        self.y = get_array_module(x).exp2(x)
        return self.y

    def backward(self, g):
        return g * (self.y * _LN2)


class Expm1(Function):
    """y = eˣ − 1, accurate for small x;  dy/dx = y + 1."""

    __slots__ = ("y",)

    def forward(self, x):
        self.y = get_array_module(x).expm1(x)
        return self.y

    def backward(self, g):
        return g * (self.y + 1)


class Rsqrt(Function):
    """y = 1/√x;  dy/dx = −y³/2."""

    __slots__ = ("y",)

    def forward(self, x):
        self.y = 1 / get_array_module(x).sqrt(x)
        return self.y

    def backward(self, g):
        y = self.y
        return g * (-0.5 * y * y * y)


class Reciprocal(Function):
    """y = 1/x;  dy/dx = −y²."""

    __slots__ = ("y",)

    def forward(self, x):
        self.y = 1 / x
        return self.y

    def backward(self, g):
        return -g * self.y * self.y


class Hypot(Function):
    """z = √(a² + b²) without overflow;  dz/da = a/z, dz/db = b/z."""

    __slots__ = ("a", "b", "z")

    def forward(self, a, b):
        self.a, self.b = a, b
        self.z = get_array_module(a).hypot(a, b)
        return self.z

    def backward(self, g):
        gz = g / self.z
        return gz * self.a, gz * self.b


class Copysign(Function):
    """y = |a| with the sign of b;  dy/da = y/a (0 at a = 0, as PyTorch), dy/db = 0."""

    __slots__ = ("a", "y")

    def forward(self, a, b):
        self.a = a
        self.y = get_array_module(a).copysign(a, b)
        return self.y

    def backward(self, g):
        xp = get_array_module(g)
        a = self.a
        ratio = xp.where(a == 0, 0, self.y / xp.where(a == 0, 1, a))
        return g * ratio, xp.zeros_like(g)


class LogAddExp(Function):
    """y = log_β(β^a + β^b) = max(a, b) + log_β(1 + β^−|a−b|) (β = e or 2);
    dy/da = σ((a − b) ln β), dy/db = 1 − dy/da."""

    __slots__ = ("wa",)

    def forward(self, a, b, base2):
        xp = get_array_module(a)
        d = a - b
        same = a == b  # also a = b = ±inf, where a − b is NaN
        d = xp.where(same, 0, d)
        self.wa = sigmoid_array(d * _LN2 if base2 else d)
        m = xp.maximum(a, b)
        if base2:
            return m + xp.log1p(xp.exp2(-xp.abs(d))) / _LN2
        return m + xp.log1p(xp.exp(-xp.abs(d)))

    def backward(self, g):
        ga = g * self.wa
        return ga, g - ga


class Lerp(Function):
    """y = start + w·(end − start);  dy/dstart = 1 − w, dy/dend = w, dy/dw = end − start."""

    __slots__ = ("start", "end", "w")

    def forward(self, start, end, w):
        self.start, self.end, self.w = start, end, w
        return start + w * (end - start)

    def backward(self, g):
        i_start, i_end, i_w = self.inputs
        w = self.w
        return (g * (1 - w) if i_start.requires_grad else None,
                g * w if i_end.requires_grad else None,
                g * (self.end - self.start) if i_w.requires_grad else None)


class LerpScalar(Function):
    """y = start + w·(end − start) for a number w;  dy/dstart = 1 − w, dy/dend = w."""

    __slots__ = ("w",)

    def forward(self, start, end, w):
        self.w = w
        return start + w * (end - start)

    def backward(self, g):
        return g * (1 - self.w), g * self.w


# ---------------------------------------------------------------- public functions
def sin(x):
    """sin x element-wise (radians)."""
    return _unary(Sin, x)


def cos(x):
    """cos x element-wise (radians)."""
    return _unary(Cos, x)


def tan(x):
    """tan x element-wise (radians); dy/dx = 1 + tan² x."""
    return _unary(Tan, x)


def asin(x):
    """arcsin x on [−1, 1] (NaN outside); dy/dx = 1/√(1 − x²). Alias: ``arcsin``."""
    return _unary(Asin, x)


def acos(x):
    """arccos x on [−1, 1] (NaN outside); dy/dx = −1/√(1 − x²). Alias: ``arccos``."""
    return _unary(Acos, x)


def atan(x):
    """arctan x; dy/dx = 1/(1 + x²). Alias: ``arctan``."""
    return _unary(Atan, x)


def atan2(input, other):
    """The angle atan2(input, other) in (−π, π] of the point (other, input), with broadcasting.
    Alias: ``arctan2``."""
    a, b = floating_operands(input, other, "atan2")
    return Atan2.apply(a, b)


def sinh(x):
    """Hyperbolic sine; dy/dx = cosh x."""
    return _unary(Sinh, x)


def cosh(x):
    """Hyperbolic cosine; dy/dx = sinh x."""
    return _unary(Cosh, x)


def asinh(x):
    """Inverse hyperbolic sine ln(x + √(x² + 1)); dy/dx = 1/√(x² + 1). Alias: ``arcsinh``."""
    return _unary(Asinh, x)


def acosh(x):
    """Inverse hyperbolic cosine on [1, ∞) (NaN below); dy/dx = 1/√(x² − 1). Alias: ``arccosh``."""
    return _unary(Acosh, x)


def atanh(x):
    """Inverse hyperbolic tangent on (−1, 1); dy/dx = 1/(1 − x²). Alias: ``arctanh``."""
    return _unary(Atanh, x)


def log2(x):
    """log₂ x element-wise."""
    return _unary(Log2, x)


def log10(x):
    """log₁₀ x element-wise."""
    return _unary(Log10, x)


def log1p(x):
    """ln(1 + x), accurate for |x| ≪ 1 (x > −1)."""
    return _unary(Log1p, x)


def exp2(x):
    """2ˣ element-wise."""
    return _unary(Exp2, x)


def expm1(x):
    """eˣ − 1, accurate for |x| ≪ 1."""
    return _unary(Expm1, x)


def rsqrt(x):
    """1/√x element-wise; dy/dx = −(1/√x)³/2."""
    return _unary(Rsqrt, x)


def reciprocal(x):
    """1/x element-wise (integer inputs give floats); dy/dx = −1/x²."""
    return _unary(Reciprocal, x)


def square(x):
    """x² element-wise; integers stay integers and bools give int64, as in PyTorch."""
    if not isinstance(x, Tensor):
        x = Tensor(x)
    if x.data.dtype.kind == "b":
        x = cast(x, backend.int64)
    return pow(x, 2)


def hypot(input, other):
    """√(input² + other²) element-wise, without overflow in the squares (floating inputs)."""
    _require_floating(input, other, "hypot")
    a, b = floating_operands(input, other, "hypot")
    return Hypot.apply(a, b)


def copysign(input, other):
    """|input| with the sign of ``other`` (−0.0 counts as negative); always floating.
    The gradient goes to ``input`` only (0 where input is 0, as PyTorch)."""
    a, b = floating_operands(input, other, "copysign")
    return Copysign.apply(a, b)


def logaddexp(input, other):
    """ln(e^input + e^other), computed without overflow: max + ln(1 + e^−|input − other|)."""
    _require_floating(input, other, "logaddexp")
    a, b = floating_operands(input, other, "logaddexp")
    return LogAddExp.apply(a, b, base2=False)


def logaddexp2(input, other):
    """log₂(2^input + 2^other), computed without overflow."""
    _require_floating(input, other, "logaddexp2")
    a, b = floating_operands(input, other, "logaddexp2")
    return LogAddExp.apply(a, b, base2=True)


def lerp(input, end, weight):
    """Linear interpolation input + weight·(end − input), with broadcasting.

    ``weight`` is a number or a tensor; every tensor argument gets a gradient:
    d/dinput = 1 − weight, d/dend = weight, d/dweight = end − input.
    """
    start, end = binary_operands(input, end)
    if start.data.dtype.kind != "f":
        raise TypeError(f"lerp: expected floating tensors, got dtype {start.data.dtype}")
    if isinstance(weight, numbers.Real) and not isinstance(weight, Tensor):
        return LerpScalar.apply(start, end, w=float(weight))
    w = lift(weight, start)
    if w.data.dtype != start.data.dtype:
        w = cast(w, start.data.dtype)
    return Lerp.apply(start, end, w)


def _require_floating(a, b, op):
    for t in (a, b):
        if isinstance(t, Tensor) and t.data.dtype.kind != "f":
            raise TypeError(f"{op}: expected floating tensors (as PyTorch), got dtype {t.data.dtype}; "
                            f"convert with .float() first")


# ---------------------------------------------------------------- predicates (bool results, no gradient)
def _predicate(x, fn):
    if not isinstance(x, Tensor):
        x = Tensor(x)
    xp = get_array_module(x.data)
    return Tensor._wrap(xp.asarray(fn(xp, x.data)), False, None)


def isinf(x):
    """True where x is +inf or −inf."""
    return _predicate(x, lambda xp, a: xp.isinf(a))


def isposinf(x):
    """True where x is +inf."""
    return _predicate(x, lambda xp, a: xp.isposinf(a) if a.dtype.kind == "f" else xp.zeros(a.shape, bool))


def isneginf(x):
    """True where x is −inf."""
    return _predicate(x, lambda xp, a: xp.isneginf(a) if a.dtype.kind == "f" else xp.zeros(a.shape, bool))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True where |input − other| ≤ atol + rtol·|other| (equal infinities are close; NaN only
    with ``equal_nan``)."""
    a, b = binary_operands(input, other)
    xp = get_array_module(a.data)
    return Tensor._wrap(xp.asarray(xp.isclose(a.data, b.data, rtol=rtol, atol=atol, equal_nan=equal_nan)),
                        False, None)


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """A Python bool: whether every element of ``input`` is close to ``other`` (see :func:`isclose`)."""
    return bool(isclose(input, other, rtol, atol, equal_nan).data.all())


arcsin, arccos, arctan, arctan2 = asin, acos, atan, atan2
arcsinh, arccosh, arctanh = asinh, acosh, atanh
