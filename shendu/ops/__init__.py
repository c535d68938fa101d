"""The differentiable operations on tensors, one family per module.

Each module pairs every forward formula with its backward formula; the
public lowercase functions are what users (and ``Tensor``'s operators) call.
"""
from ._util import cast, floating  # floating: the int -> default-float rule of floating-only ops
from .arithmetic import add, multiply, mul, neg, negative, pow, power, sub, subtract, true_divide
from .elementwise import (abs, clamp, clip, eq, equal, exp, ge, greater, greater_equal, gt, isfinite, isnan, le,
                          less, less_equal, log, logical_and, logical_not, logical_or, lt, maximum, minimum, ne,
                          not_equal, relu, sigmoid, sign, sqrt, tanh, where)
from .indexing import getitem, masked_fill, take
from .join import cat, chunk, concatenate, pad, split, stack, tensor_split
from .linalg import dot, linear, matmul
from .reduction import amax, amin, argmax, argmin, logsumexp, max, mean, min, std, sum, var
from .shape import clone  # torch-idioms
from .shape import broadcast_to, expand, expand_dims, flatten, permute, reshape, squeeze, swapaxes, transpose, unsqueeze, view

__all__ = [
    "cast", "add", "div", "divide", "multiply", "mul", "neg", "negative", "pow", "power", "sub", "subtract",
    "true_divide", "abs", "clamp", "clip", "eq", "equal", "exp", "ge", "greater", "greater_equal", "gt", "isfinite",
    "isnan", "le", "less", "less_equal", "log", "logical_and", "logical_not", "logical_or", "lt", "maximum",
    "minimum", "ne", "not_equal", "relu", "sigmoid", "sign", "sqrt", "tanh", "where", "getitem", "masked_fill", "take",
    "cat", "chunk", "concatenate", "pad", "split", "stack", "tensor_split", "dot", "linear", "matmul", "amax", "amin", "argmax",
    "argmin", "logsumexp", "max", "mean", "min", "std", "sum", "var", "broadcast_to", "expand", "expand_dims",
    "flatten", "permute", "reshape", "squeeze", "swapaxes", "transpose", "unsqueeze", "view",
]

# --- ops-select: indexing and selection, scans and reductions, norms (issue 14)
from .norm import norm
from .scan import (all, any, count_nonzero, cummax, cummin, cumprod, cumsum, logcumsumexp, median, mode, prod,
                   quantile, std_mean, var_mean)
from .selection import (argsort, argwhere, bincount, gather, index_add, index_select, masked_select, nonzero,
                        scatter, scatter_add, scatter_reduce, sort, take_along_dim, topk, unique)

# all and any shadow builtins: imported by name where wanted (shendu/__init__.py), not by `import *`
__all__ += [
    "norm", "count_nonzero", "cummax", "cummin", "cumprod", "cumsum", "logcumsumexp", "median", "mode", "prod",
    "quantile", "std_mean", "var_mean", "argsort", "argwhere", "bincount", "gather", "index_add", "index_select",
    "masked_select", "nonzero", "scatter", "scatter_add", "scatter_reduce", "sort", "take_along_dim", "topk", "unique",
]
# --- ops-math: element-wise math, rounding and division, bitwise, special functions, movement
from .bitwise import (bitwise_and, bitwise_left_shift, bitwise_not, bitwise_or, bitwise_right_shift, bitwise_xor,
                      logical_xor)
from .movement import (contiguous, diag, diag_embed, diagonal, expand_as, flip, fliplr, flipud, meshgrid, moveaxis,
                       movedim, narrow, repeat, repeat_interleave, reshape_as, roll, swapdims, tile, tril, triu,
                       type_as, unflatten, unfold, view_as)
from .pointwise import (acos, acosh, allclose, arccos, arccosh, arcsin, arcsinh, arctan, arctan2, arctanh, asin,
                        asinh, atan, atan2, atanh, copysign, cos, cosh, exp2, expm1, hypot, isclose, isinf, isneginf,
                        isposinf, lerp, log1p, log2, log10, logaddexp, logaddexp2, reciprocal, rsqrt, sin, sinh,
                        square, tan)
from .rounding import ceil, div, divide, fix, floor, floor_divide, fmod, frac, remainder, round, trunc
from .special import erf, erfc, erfinv

__all__ += [
    "bitwise_and", "bitwise_left_shift", "bitwise_not", "bitwise_or", "bitwise_right_shift", "bitwise_xor",
    "logical_xor", "contiguous", "diag", "diag_embed", "diagonal", "expand_as", "flip", "fliplr", "flipud",
    "meshgrid", "moveaxis", "movedim", "narrow", "repeat", "repeat_interleave", "reshape_as", "roll", "swapdims",
    "tile", "tril", "triu", "type_as", "unflatten", "unfold", "view_as", "acos", "acosh", "allclose", "arccos",
    "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh", "asin", "asinh", "atan", "atan2", "atanh",
    "copysign", "cos", "cosh", "exp2", "expm1", "hypot", "isclose", "isinf", "isneginf", "isposinf", "lerp", "log1p",
    "log2", "log10", "logaddexp", "logaddexp2", "reciprocal", "rsqrt", "sin", "sinh", "square", "tan", "ceil",
    "fix", "floor", "floor_divide", "fmod", "frac", "remainder", "round", "trunc", "erf", "erfc", "erfinv",
]  # div/divide: rounding.div (rounding_mode=) wraps arithmetic.div and replaces it here
__all__ += ["clone"]  # torch-idioms
