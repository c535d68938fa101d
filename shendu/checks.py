"""Argument checks shared by constructors (layers, transforms): one message format everywhere.

A failed check raises ``ValueError`` (``TypeError`` for a non-integer) naming the owner, the argument,
what was expected and what came, Keras-style::

    Conv2d: out_channels must be a positive integer, received out_channels=0
"""
from __future__ import annotations

import numbers


def int_arg(owner, name, value, minimum=1):
    """``value`` as an int ≥ ``minimum``; bools and non-integral numbers are refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if not (isinstance(value, numbers.Real) and not isinstance(value, bool) and float(value).is_integer()):
            raise TypeError(f"{owner}: {name} must be an integer, received {name}={value!r}")
    if value < minimum:
        what = "a positive integer" if minimum == 1 else ("a non-negative integer" if minimum == 0
                                                          else f"an integer ≥ {minimum}")
        raise ValueError(f"{owner}: {name} must be {what}, received {name}={value!r}")
    return int(value)


def int_tuple(owner, name, value, n, minimum=1):
    """An int or a sequence of ``n`` ints, each ≥ ``minimum``, as a tuple of ``n`` ints."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,) * n
    if len(values) != n:
        raise ValueError(f"{owner}: {name} must be an int or {n} ints, received {name}={value!r}")
    try:
        return tuple(int_arg(owner, name, v, minimum) for v in values)
    except (TypeError, ValueError):  # name the argument as it was given
        kind = {1: "positive", 0: "non-negative"}.get(minimum, f"≥ {minimum}")
        raise ValueError(f"{owner}: {name} must be {kind} integer(s), received {name}={value!r}") from None
