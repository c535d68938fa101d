"""Norms: vector_norm, matrix_norm and norm (PyTorch's ``torch.norm`` / ``torch.linalg`` meanings).

Vector p-norms are one :class:`VectorNorm` (forward and backward per p); matrix
norms are composed from it, from sums and maxima of |A|, or (nuclear, spectral)
from the singular values in :class:`SingularValueNorm`.
"""
from __future__ import annotations

import math
import numbers

from ..autograd import Function
from ..backend import get_array_module
from ._util import cast, expand_reduced, normalize_axes
from .elementwise import abs
from .reduction import amax, amin, sum
from .selection import dim_keywords


class VectorNorm(Function):
    """y = (Σ |x|^p)^(1/p) over ``axis``; p = inf: max |x|, −inf: min |x|, 0: the count of non-zeros.

    dy/dx = sign(x) |x|^(p−1) / y^(p−1) (p = 2: x / y; p = 1: sign(x)); 0 where y = 0 (as PyTorch);
    p = ±inf: sign(x) split evenly between the elements that reach the extremum; p = 0: 0.
    """

    __slots__ = ("x", "y", "ord", "axis", "keepdims")
    saves_output = True  # backward uses y as well as x

    def forward(self, x, ord, axis, keepdims):
        xp = get_array_module(x)
        a = xp.abs(x)
        if ord == math.inf:
            y = a.max(axis=axis, keepdims=True)
        elif ord == -math.inf:
            y = a.min(axis=axis, keepdims=True)
        elif ord == 0:
            y = (a != 0).sum(axis=axis, keepdims=True).astype(x.dtype)
        elif ord == 1:
            y = a.sum(axis=axis, keepdims=True)
        elif ord == 2:
            y = xp.sqrt((x * x).sum(axis=axis, keepdims=True))
        else:
            y = (a ** ord).sum(axis=axis, keepdims=True) ** (1.0 / ord)
        self.x, self.y, self.ord, self.axis, self.keepdims = x, y, ord, axis, keepdims
        return y if keepdims else y.reshape([n for i, n in enumerate(x.shape) if i not in axis])

    def backward(self, g):
        xp = get_array_module(g)
        x, y, p = self.x, self.y, self.ord
        g = expand_reduced(g, x.shape, self.axis, self.keepdims)
        if p == 0:
            return xp.zeros_like(x)
        if p == 1:
            return g * xp.sign(x)
        if math.isinf(p):
            hit = xp.abs(x) == y
            return g * xp.sign(x) * hit / hit.sum(axis=self.axis, keepdims=True)
        safe = xp.where(y == 0, 1, y)
        if p == 2:
            return xp.where(y == 0, 0, g * x / safe)
        with xp.errstate(divide="ignore", invalid="ignore"):
            return xp.where(y == 0, 0, g * xp.sign(x) * xp.abs(x) ** (p - 1) / safe ** (p - 1))


class SingularValueNorm(Function):
    """y = Σ σ_i (nuclear), σ_max (ord 2) or σ_min (ord −2) of the matrices in the last two axes;
    with A = U diag(σ) Vᵀ:  dy/dA = U Vᵀ (nuclear), u₁ v₁ᵀ (the singular vectors of the chosen σ)."""

    __slots__ = ("u", "vt", "ord")
    saved_inputs = ()  # backward uses U and Vᵀ, computed in forward

    def forward(self, a, ord):
        xp = get_array_module(a)
        self.u, s, self.vt = xp.linalg.svd(a, full_matrices=False)
        self.ord = ord
        return s.sum(axis=-1) if ord == "nuc" else s[..., 0] if ord == 2 else s[..., -1]

    def backward(self, g):
        if self.ord == "nuc":
            return g[..., None, None] * (self.u @ self.vt)
        k = 0 if self.ord == 2 else -1
        return g[..., None, None] * (self.u[..., :, k:k + 1 or None] @ self.vt[..., k:k + 1 or None, :])


def _as_float(x, dtype, op):
    if dtype is not None:
        x = cast(x, dtype)
    if x.data.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating input (or dtype=), got dtype {x.dtype}")
    return x


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None, **kw):
    """‖x‖_ord = (Σ |x_i|^ord)^(1/ord) over ``dim`` (all elements when None).

    ord: any real p, ``inf`` (max |x|), ``-inf`` (min |x|), 0 (number of non-zeros).
    The gradient at x = 0 is 0, as PyTorch's.
    """
    if "p" in kw:
        ord = kw.pop("p")
    dim, keepdim = dim_keywords(dim, keepdim, kw, "vector_norm")
    if not isinstance(ord, numbers.Real) or isinstance(ord, bool):
        raise ValueError(f"vector_norm: ord must be a number (or inf, -inf), got {ord!r}; "
                         f"for 'fro' or 'nuc' use matrix_norm")
    x = _as_float(x, dtype, "vector_norm")
    axis = normalize_axes(tuple(dim) if isinstance(dim, list) else dim, x.ndim, "vector_norm")
    if x.data.size == 0 and ord < 0 or x.data.size == 0 and math.isinf(ord):
        raise RuntimeError(f"vector_norm: cannot compute the {ord} norm of an empty tensor")
    return VectorNorm.apply(x, ord=float(ord), axis=axis, keepdims=keepdim)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """The matrix norm of the matrices in ``dim`` (the last two by default).

    ord: 'fro' √(Σ a_ij²); 'nuc' Σ σ_i; 2 / −2 the largest / smallest singular value;
    1 / −1 the max / min over columns of Σ_i |a_ij|; inf / −inf the max / min over rows
    of Σ_j |a_ij|.
    """
    A = _as_float(A, dtype, "matrix_norm")
    if A.ndim < 2:
        raise RuntimeError(f"matrix_norm: expected a tensor of at least 2 dimensions, got {A.ndim}")
    if len(dim) != 2:
        raise RuntimeError(f"matrix_norm: dim must be a pair of dimensions, got {dim!r}")
    d0, d1 = (normalize_axes(d, A.ndim, "matrix_norm")[0] for d in dim)
    if d0 == d1:
        raise RuntimeError(f"matrix_norm: the two dims must differ, got {dim!r}")
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim)
    if ord in ("nuc", 2, -2):
        rest = [i for i in range(A.ndim) if i not in (d0, d1)]
        y = SingularValueNorm.apply(A.permute(*rest, d0, d1), ord=ord)
        return y.reshape([1 if i in (d0, d1) else n for i, n in enumerate(A.shape)]) if keepdim else y
    if ord in (1, -1, math.inf, -math.inf):
        inner, outer = (d0, d1) if ord in (1, -1) else (d1, d0)
        pick = amax if ord > 0 else amin
        y = pick(sum(abs(A), inner, keepdims=True), outer, keepdims=True)
        return y if keepdim else y.reshape([n for i, n in enumerate(y.shape) if i not in (d0, d1)])
    raise ValueError(f"matrix_norm: ord must be 'fro', 'nuc', 2, -2, 1, -1, inf or -inf, got {ord!r}")


def linalg_norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """``torch.linalg.norm``: a vector norm when ``dim`` is an int (or A is 1-D), a matrix norm
    when ``dim`` is a pair (or A is 2-D); with ``ord=None`` and ``dim=None`` the 2-norm of all
    elements."""
    if isinstance(dim, numbers.Integral):
        dim = (dim,)
    if ord is None:
        return vector_norm(A, 2, dim, keepdim, dtype=dtype) if dim is None or len(dim) == 1 else \
            matrix_norm(A, "fro", dim, keepdim, dtype=dtype)
    if dim is None:
        if A.ndim not in (1, 2):
            raise RuntimeError(f"linalg.norm: with ord given and dim=None the input must be 1-D or 2-D, "
                               f"got {A.ndim} dimensions")
        dim = tuple(range(A.ndim))
    if len(dim) == 1:
        return vector_norm(A, ord, dim, keepdim, dtype=dtype)
    return matrix_norm(A, ord, dim, keepdim, dtype=dtype)


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """``torch.norm``: p = 'fro' (default) is the 2-norm over ``dim`` (all elements when None);
    p = 'nuc' the nuclear norm of the matrices in ``dim``; a number p the vector p-norm over ``dim``."""
    if isinstance(dim, numbers.Integral):
        dim = (dim,)
    if p == "fro":
        return vector_norm(input, 2, dim, keepdim, dtype=dtype)
    if p == "nuc":
        return matrix_norm(input, "nuc", (-2, -1) if dim is None else dim, keepdim, dtype=dtype)
    return vector_norm(input, p, dim, keepdim, dtype=dtype)
