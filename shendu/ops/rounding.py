"""Rounding and integer division: floor, ceil, trunc, round(decimals=), frac,
floor_divide (``//``), remainder (``%``), fmod and div(rounding_mode=).

Sign conventions follow PyTorch: ``remainder`` (= Python's ``%``) takes the
sign of the divisor, ``fmod`` (= C's fmod) the sign of the dividend;
``floor_divide`` rounds toward −∞, ``div(rounding_mode="trunc")`` toward 0.
Integer inputs stay integers; an integer division by zero raises
ZeroDivisionError (NumPy would silently give 0).
"""
from __future__ import annotations

from ..autograd import Function
from ..backend import get_array_module
from ..tensor import Tensor
from ._util import binary_operands
from .arithmetic import div as true_div


class ZeroGrad(Function):
    """y = a step function of x (floor, ceil, round, trunc, floor/trunc division);
    dy/dx = 0 wherever it exists, as in PyTorch."""

    __slots__ = ()

    def forward(self, *inputs, fn):
        return fn(*inputs)

    def backward(self, g):
        zero = get_array_module(g).zeros_like(g)
        return zero if len(self.inputs) == 1 else (zero,) * len(self.inputs)


class Frac(Function):
    """y = x − trunc(x);  dy/dx = 1."""

    __slots__ = ()

    def forward(self, x):
        return x - get_array_module(x).trunc(x)

    def backward(self, g):
        return g


class Fmod(Function):
    """y = a − trunc(a/b)·b (C's fmod: the sign of a);  dy/da = 1, dy/db = −trunc(a/b)."""

    __slots__ = ("a", "b")

    def forward(self, a, b):
        self.a, self.b = a, b
        return get_array_module(a).fmod(a, b)

    def backward(self, g):
        xp = get_array_module(g)
        return g, -g * xp.trunc(self.a / self.b)


class Remainder(Function):
    """y = a − floor(a/b)·b (Python's %: the sign of b);  dy/da = 1, dy/db = −floor(a/b)."""

    __slots__ = ("a", "b")

    def forward(self, a, b):
        self.a, self.b = a, b
        return remainder_array(a, b)

    def backward(self, g):
        xp = get_array_module(g)
        return g, -g * xp.floor(self.a / self.b)


def remainder_array(a, b):
    """PyTorch's remainder on arrays: m = fmod(a, b), plus b where m ≠ 0 and m, b differ in sign
    (so −0.0 % 2 stays −0.0); NumPy's integer ``%`` already floors."""
    xp = get_array_module(a)
    if a.dtype.kind != "f":
        return xp.remainder(a, b)
    m = xp.fmod(a, b)
    return xp.where((m != 0) & ((b < 0) != (m < 0)), m + b, m)


def _trunc_divide(a, b):
    xp = get_array_module(a)
    if a.dtype.kind == "f":
        return xp.trunc(a / b)
    q = xp.floor_divide(a, b)
    return xp.where((xp.remainder(a, b) != 0) & ((a < 0) != (b < 0)), q + 1, q)


def _check_kind(x, op, kinds="iuf"):
    if x.data.dtype.kind not in kinds:
        raise TypeError(f"{op}: not defined for tensors of dtype {x.data.dtype} (as in PyTorch)")


def _rounded(x, fn, op):
    if not isinstance(x, Tensor):
        x = Tensor(x)
    _check_kind(x, op)
    if x.data.dtype.kind != "f":  # integers are already whole: a copy, as PyTorch
        return Tensor._wrap(x.data.copy(), False, None)
    return ZeroGrad.apply(x, fn=fn)


def floor(x):
    """The largest integer ≤ x (integer tensors unchanged); zero gradient."""
    return _rounded(x, lambda a: get_array_module(a).floor(a), "floor")


def ceil(x):
    """The smallest integer ≥ x (integer tensors unchanged); zero gradient."""
    return _rounded(x, lambda a: get_array_module(a).ceil(a), "ceil")


def trunc(x):
    """x rounded toward zero (integer tensors unchanged); zero gradient. Alias: ``fix``."""
    return _rounded(x, lambda a: get_array_module(a).trunc(a), "trunc")


def round(x, decimals=0):
    """Round to ``decimals`` decimal places, halves to even (0.5 → 0, 1.5 → 2, as PyTorch); zero gradient.

    decimals > 0: rint(x · 10^d) / 10^d;  decimals < 0: rint(x / 10^−d) · 10^−d.
    """
    if decimals == 0:
        return _rounded(x, lambda a: get_array_module(a).rint(a), "round")
    _check_kind(x, "round(decimals=...)", "f")
    if decimals > 0:
        scale = 10.0 ** decimals
        return ZeroGrad.apply(x, fn=lambda a: get_array_module(a).rint(a * scale) / scale)
    scale = 10.0 ** -decimals
    return ZeroGrad.apply(x, fn=lambda a: get_array_module(a).rint(a / scale) * scale)


def frac(x):
    """The fractional part x − trunc(x) (sign of x); gradient 1. Floating tensors only."""
    _check_kind(x, "frac", "f")
    return Frac.apply(x)


def _division_operands(a, b, op):
    a, b = binary_operands(a, b)
    _check_kind(a, op)
    if a.data.dtype.kind != "f" and not get_array_module(b.data).all(b.data):
        raise ZeroDivisionError(f"{op}: integer division by zero")
    return a, b


def floor_divide(input, other):
    """⌊input / other⌋ element-wise (``//``; rounds toward −∞, like Python's //).
    Integers give integers; zero gradient."""
    a, b = _division_operands(input, other, "floor_divide")
    return ZeroGrad.apply(a, b, fn=lambda a, b: get_array_module(a).floor_divide(a, b))


def remainder(input, other):
    """input − ⌊input/other⌋·other (``%``, Python's modulo: the result has the sign of ``other``)."""
    a, b = _division_operands(input, other, "remainder")
    return Remainder.apply(a, b)


def fmod(input, other):
    """input − trunc(input/other)·other (C's fmod: the result has the sign of ``input``)."""
    a, b = _division_operands(input, other, "fmod")
    return Fmod.apply(a, b)


def div(input, other, *, rounding_mode=None):
    """input / other. ``rounding_mode``: None (true division; integers give floats),
    ``"trunc"`` (round toward 0) or ``"floor"`` (toward −∞; as ``//``); the rounded
    modes keep integer dtypes and have zero gradient. Aliases: ``divide``, ``true_divide``
    (no rounding)."""
    if rounding_mode is None:
        return true_div(input, other)
    if rounding_mode == "floor":
        return floor_divide(input, other)
    if rounding_mode == "trunc":
        a, b = _division_operands(input, other, "div")
        return ZeroGrad.apply(a, b, fn=_trunc_divide)
    raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")


divide = div
fix = trunc
