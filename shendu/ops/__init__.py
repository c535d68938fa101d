"""The differentiable operations on tensors, one family per module.

Each module pairs every forward formula with its backward formula; the
public lowercase functions are what users (and ``Tensor``'s operators) call.
"""
from ._util import cast
from .arithmetic import add, div, divide, multiply, mul, neg, negative, pow, power, sub, subtract, true_divide
from .elementwise import (abs, clamp, clip, eq, equal, exp, ge, greater, greater_equal, gt, isfinite, isnan, le,
                          less, less_equal, log, logical_and, logical_not, logical_or, lt, maximum, minimum, ne,
                          not_equal, relu, sigmoid, sign, sqrt, tanh, where)
from .indexing import getitem, masked_fill, take
from .join import cat, chunk, concatenate, pad, split, stack
from .linalg import dot, linear, matmul
from .reduction import amax, amin, argmax, argmin, logsumexp, max, mean, min, std, sum, var
from .shape import clone  # torch-idioms
from .shape import broadcast_to, expand, expand_dims, flatten, permute, reshape, squeeze, swapaxes, transpose, unsqueeze, view

__all__ = [
    "cast", "add", "div", "divide", "multiply", "mul", "neg", "negative", "pow", "power", "sub", "subtract",
    "true_divide", "abs", "clamp", "clip", "eq", "equal", "exp", "ge", "greater", "greater_equal", "gt", "isfinite",
    "isnan", "le", "less", "less_equal", "log", "logical_and", "logical_not", "logical_or", "lt", "maximum",
    "minimum", "ne", "not_equal", "relu", "sigmoid", "sign", "sqrt", "tanh", "where", "getitem", "masked_fill", "take",
    "cat", "chunk", "concatenate", "pad", "split", "stack", "dot", "linear", "matmul", "amax", "amin", "argmax",
    "argmin", "logsumexp", "max", "mean", "min", "std", "sum", "var", "broadcast_to", "expand", "expand_dims",
    "flatten", "permute", "reshape", "squeeze", "swapaxes", "transpose", "unsqueeze", "view",
]
__all__ += ["clone"]  # torch-idioms
