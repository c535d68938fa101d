"""Bitwise operators on integer tensors (logical on bool tensors): ``& | ^ ~ << >>``.

As in PyTorch, ``&``, ``|``, ``^`` and ``~`` of bool tensors are the logical
operations and give bools; on integers they work bit by bit; on floating
tensors they are an error. None of them has a gradient.
"""
from __future__ import annotations

from ..backend import get_array_module
from ..tensor import Tensor
from ._util import binary_operands


def _integer_operands(a, b, op):
    a, b = binary_operands(a, b)
    if a.data.dtype.kind not in "iub":
        raise TypeError(f"{op}: expected integer or bool tensors, got dtype {a.data.dtype}")
    return a.data, b.data, get_array_module(a.data)


def _result(xp, array):
    return Tensor._wrap(xp.asarray(array), False, None)


def bitwise_and(input, other):
    """input & other: bit by bit on integers, logical and on bools."""
    a, b, xp = _integer_operands(input, other, "bitwise_and")
    return _result(xp, xp.bitwise_and(a, b))


def bitwise_or(input, other):
    """input | other: bit by bit on integers, logical or on bools."""
    a, b, xp = _integer_operands(input, other, "bitwise_or")
    return _result(xp, xp.bitwise_or(a, b))


def bitwise_xor(input, other):
    """input ^ other: bit by bit on integers, logical exclusive or on bools."""
    a, b, xp = _integer_operands(input, other, "bitwise_xor")
    return _result(xp, xp.bitwise_xor(a, b))


def bitwise_not(input):
    """~input: every bit flipped on integers (~x = −x − 1), logical not on bools."""
    a = input.data
    if a.dtype.kind not in "iub":
        raise TypeError(f"bitwise_not (~): only integer and bool tensors, got dtype {a.dtype}; "
                        f"for a mask use ~(x != 0) or logical_not")
    xp = get_array_module(a)
    return _result(xp, xp.invert(a))


def _shift_count(xp, a, b):
    """The shift counts clipped to [0, bits − 1], and where they were out of that range."""
    bits = a.dtype.itemsize * 8
    out = (b < 0) | (b >= bits)
    return xp.clip(b, 0, bits - 1).astype(a.dtype), out


def bitwise_left_shift(input, other):
    """input << other = input · 2^other on integers; a count < 0 or ≥ the bit width gives 0 (PyTorch)."""
    a, b, xp = _integer_operands(input, other, "bitwise_left_shift")
    if a.dtype.kind == "b":
        raise TypeError("bitwise_left_shift: expected integer tensors, got two bool tensors")
    count, out = _shift_count(xp, a, b)
    return _result(xp, xp.where(out, 0, xp.left_shift(a, count)).astype(a.dtype))


def bitwise_right_shift(input, other):
    """input >> other = ⌊input / 2^other⌋ on integers (arithmetic shift); a count < 0 or ≥ the
    bit width shifts all bits out (0, or −1 for negative input), as PyTorch."""
    a, b, xp = _integer_operands(input, other, "bitwise_right_shift")
    if a.dtype.kind == "b":
        raise TypeError("bitwise_right_shift: expected integer tensors, got two bool tensors")
    count, out = _shift_count(xp, a, b)
    shifted_out = a >> (a.dtype.itemsize * 8 - 1) if a.dtype.kind == "i" else xp.zeros_like(a)  # −1 or 0
    return _result(xp, xp.where(out, shifted_out, xp.right_shift(a, count)))


def logical_xor(input, other):
    """True where exactly one of input, other is non-zero (a bool tensor)."""
    a, b = binary_operands(input, other)
    xp = get_array_module(a.data)
    return _result(xp, xp.logical_xor(a.data, b.data))
