"""Arithmetic: + − × ÷ ** and negation, with broadcasting and Python scalars.

Each op returns its gradients in the broadcast shape; the engine sums them
back to each input's shape (``autograd.unbroadcast``).
"""
from __future__ import annotations

from .. import backend
from ..autograd import Function
from ..backend import get_array_module
from ..tensor import Tensor
from ._util import binary_operands, cast, lift


class Add(Function):
    """y = a + b;  dy/da = 1, dy/db = 1."""

    __slots__ = ()
    saved_inputs = ()

    def forward(self, a, b):
        return a + b

    def backward(self, g):
        return g, g


class Sub(Function):
    """y = a − b;  dy/da = 1, dy/db = −1."""

    __slots__ = ()
    saved_inputs = ()

    def forward(self, a, b):
        return a - b

    def backward(self, g):
        return g, -g


class Mul(Function):
    """y = a · b;  dy/da = b, dy/db = a."""

    __slots__ = ("a", "b")
    saved_inputs = (0, 1)

    def saves_input(self, i):  # a is needed only for b's gradient, and b for a's
        return self.inputs[1 - i].requires_grad


    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        ia, ib = self.inputs
        return (g * self.b if ia.requires_grad else None,
                g * self.a if ib.requires_grad else None)


class Div(Function):
    """y = a / b;  dy/da = 1/b, dy/db = −a/b²."""

    __slots__ = ("a", "b")
    saved_inputs = (0, 1)

    def saves_input(self, i):  # b for both gradients, a only for b's
        return i == 1 or self.inputs[1].requires_grad


    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, g):
        ia, ib = self.inputs
        ga = g / self.b
        return (ga if ia.requires_grad else None,
                -ga * self.a / self.b if ib.requires_grad else None)


class Neg(Function):
    """y = −x;  dy/dx = −1."""

    __slots__ = ()
    saved_inputs = ()

    def forward(self, x):
        return -x

    def backward(self, g):
        return -g


class PowScalar(Function):
    """y = x^p for a constant p;  dy/dx = p·x^(p−1) (0 for p = 0, also at x = 0)."""

    __slots__ = ("x", "p")
    saved_inputs = (0,)

    def forward(self, x, p):
        self.x, self.p = x, p
        return x ** p

    def backward(self, g):
        p = self.p
        if p == 2:
            return g * 2 * self.x
        if p == 0:
            return get_array_module(g).zeros_like(g)
        return g * p * self.x ** (p - 1)

    @classmethod
    def describe_error(cls, shapes, options, exc):
        return f"pow: input of shape {shapes[0]} to the power {options.get('p')!r}: {exc}"


class Pow(Function):
    """y = a^b;  dy/da = b·a^(b−1) (0 where b = 0), dy/db = a^b·ln a (0 where a = 0 and b ≥ 0)."""

    __slots__ = ("a", "b", "y")
    saves_output = True

    def forward(self, a, b):
        self.a, self.b = a, b
        self.y = a ** b
        return self.y

    def backward(self, g):
        ia, ib = self.inputs
        a, b = self.a, self.b
        xp = get_array_module(a)
        ga = gb = None
        if ia.requires_grad:
            # b·a^(b−1) is 0·∞ = NaN at a = 0, b = 0 where the derivative of a⁰ = 1 is 0
            ga = g * xp.where(b == 0, 0, b * a ** xp.where(b == 0, 1, b - 1))
        if ib.requires_grad:
            safe = (a == 0) & (b >= 0)
            log_a = xp.log(xp.where(safe, 1, a))
            gb = g * xp.where(safe, 0, self.y * log_a)
        return ga, gb

    @classmethod
    def describe_error(cls, shapes, options, exc):
        return f"pow: inputs of shapes {shapes[0]}, {shapes[1]}: {exc}"


def add(a, b):
    """Element-wise a + b with broadcasting; either side may be a Python number."""
    a, b = binary_operands(a, b)
    return Add.apply(a, b)


def sub(a, b):
    """Element-wise a − b with broadcasting."""
    a, b = binary_operands(a, b)
    if a.data.dtype.kind == "b":
        raise TypeError("sub: subtraction (-) of two bool tensors is not supported (as in PyTorch); "
                        "use ^ or logical_xor")
    return Sub.apply(a, b)


def mul(a, b):
    """Element-wise a · b with broadcasting."""
    a, b = binary_operands(a, b)
    return Mul.apply(a, b)


def div(a, b):
    """Element-wise true division a / b with broadcasting (integers give floats)."""
    a, b = binary_operands(a, b)
    if a.data.dtype.kind != "f":
        a, b = cast(a, backend.get_default_dtype()), cast(b, backend.get_default_dtype())
    return Div.apply(a, b)


def neg(x):
    """−x."""
    if x.data.dtype.kind == "b":
        raise TypeError("neg: negation (-) of a bool tensor is not supported (as in PyTorch); "
                        "use ~ or logical_not to invert a mask")
    return Neg.apply(x)


def pow(a, b):
    """a ** b. A Python-number exponent uses the cheaper constant-exponent rule."""
    if isinstance(a, Tensor) and not isinstance(b, Tensor) and isinstance(b, (int, float)):
        if a.data.dtype.kind != "f" and (isinstance(b, float) or b < 0):
            a = lift(0.0, a) + a
        return PowScalar.apply(a, p=b)
    a, b = binary_operands(a, b)
    return Pow.apply(a, b)


true_divide = divide = div
subtract = sub
multiply = mul
negative = neg
power = pow
