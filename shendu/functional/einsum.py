"""``einsum``: Einstein summation, forward by the backend's einsum, backward by more einsums.

    y[out] = Σ_{letters not in out} Π_k x_k[sub_k]

The gradient with respect to operand k is again an einsum: the upstream
gradient g (subscripts ``out``) times every other operand, summed onto the
letters of operand k::

    dL/dx_k[sub_k] = Σ_{letters not in sub_k} g[out] · Π_{j≠k} x_j[sub_j]

Three cases need more than that one line, and are handled here:

* a letter that only operand k carries (summed away in forward, e.g. ``'ij->i'``):
  the gradient does not depend on it, so it is broadcast along that axis;
* a size-1 axis broadcast against a longer one elsewhere (``'ij,ij->ij'`` with
  shapes (3, 1) and (3, 4)): the gradient is summed over that axis;
* a letter repeated within one operand (a diagonal, ``'ii->i'``, ``'ii'``): the
  gradient lives on that diagonal, placed there by multiplying with identity
  matrices (``'i,ij->ij'`` with δ_ij).

``'...'`` is expanded to explicit letters first (right-aligned, broadcasting
as NumPy and PyTorch do).
"""
from __future__ import annotations

import string

from ..autograd import Function
from ..backend import get_array_module


def _parse(equation, shapes):
    """(input subscripts, output subscript) with '...' replaced by letters; spaces removed."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    subs = lhs.split(",")
    if len(subs) != len(shapes):
        raise ValueError(f"einsum: the equation {equation!r} names {len(subs)} operands, got {len(shapes)}")
    free = [c for c in string.ascii_letters if c not in eq]
    ell_dims = []
    for sub, shape in zip(subs, shapes):
        letters = sub.replace("...", "")
        if not all(c in string.ascii_letters for c in letters) or sub.count("...") > 1:
            raise ValueError(f"einsum: subscripts must be letters and at most one '...', got {sub!r} in {equation!r}")
        n = len(shape) - len(letters)
        if ("..." in sub and n < 0) or ("..." not in sub and n != 0):
            raise ValueError(f"einsum: subscript {sub!r} does not fit an operand of shape {tuple(shape)}")
        ell_dims.append(n)
    width = max(ell_dims, default=0)
    ell = "".join(free[:width])
    subs = [s.replace("...", ell[width - n:]) for s, n in zip(subs, ell_dims)]
    if arrow:
        out = rhs.replace("...", ell)
        if len(set(out)) != len(out) or not all(c in "".join(subs) for c in out):
            raise ValueError(f"einsum: output subscript {rhs!r} repeats a letter or names one no operand has")
    else:
        counts = "".join(s for s in subs)
        out = ell + "".join(sorted(c for c in set(counts) if counts.count(c) == 1 and c not in ell))
    return subs, out


def _sizes(subs, shapes):
    """Letter -> its size after broadcasting (size-1 axes give way to longer ones)."""
    sizes = {}
    for sub, shape in zip(subs, shapes):
        for c, n in zip(sub, shape):
            if sizes.get(c, 1) != 1 and n not in (1, sizes[c]):
                raise ValueError(f"einsum: letter {c!r} has sizes {sizes[c]} and {n} in different operands")
            sizes[c] = max(sizes.get(c, 1), n)
    return sizes


class Einsum(Function):
    """y = einsum(subs -> out, *x);  dL/dx_k = einsum(out, subs_{j≠k} -> sub_k) (see the module docstring)."""

    __slots__ = ("arrays", "subs", "out")

    def forward(self, *arrays, subs, out):
        self.arrays, self.subs, self.out = arrays, subs, out
        eq = ",".join(subs) + "->" + out
        return get_array_module(arrays[0]).einsum(eq, *arrays, optimize=len(arrays) > 2)

    def backward(self, g):
        return tuple(self._grad(g, k) if t.requires_grad else None for k, t in enumerate(self.inputs))

    def _grad(self, g, k):
        xp = get_array_module(g)
        arrays, subs = self.arrays, self.subs
        sub, shape = subs[k], arrays[k].shape
        sizes = _sizes(subs, [a.shape for a in arrays])
        unique = "".join(dict.fromkeys(sub))  # letters of x_k, each once (its diagonal if repeated)
        others = [s for j, s in enumerate(subs) if j != k]
        seen = self.out + "".join(others)
        # letters the gradient depends on: seen elsewhere, and not a size-1 axis of x_k broadcast there
        kept = "".join(c for c in unique if c in seen and not (shape[sub.index(c)] == 1 and sizes[c] > 1))
        eq = ",".join([self.out] + others) + "->" + kept
        grad = xp.einsum(eq, g, *(a for j, a in enumerate(arrays) if j != k), optimize=len(arrays) > 2)
        unique_shape = tuple(shape[sub.index(c)] for c in unique)
        grad = grad.reshape(tuple(sizes[c] if c in kept else 1 for c in unique))
        grad = xp.broadcast_to(grad, unique_shape)
        if len(unique) == len(sub):
            return xp.ascontiguousarray(grad).astype(g.dtype, copy=False)
        # a repeated letter: put the gradient on the diagonal, δ_{c c'} for every repeat c' of c
        free = iter(c for c in string.ascii_letters if c not in "".join(subs) + self.out)
        target, deltas = "", []
        for c in sub:
            if c in target:
                fresh = next(free)
                deltas.append(c + fresh)
                target += fresh
            else:
                target += c
        eyes = [xp.eye(shape[sub.index(d[0])], dtype=g.dtype) for d in deltas]
        return xp.einsum(",".join([unique] + deltas) + "->" + target, grad, *eyes)


def einsum(equation, *operands):
    """Einstein summation over the operands' axes, as ``torch.einsum``.

        y[out] = Σ_{letters not in out} Π_k x_k[sub_k]

    Args:
        equation: e.g. ``'ij,jk->ik'`` (matrix product), ``'bij,bjk->bik'`` (batched),
            ``'ii->i'`` (diagonal), ``'...ij->...ji'``; without ``'->'`` the output is the
            letters that appear once, in alphabetical order (``'...'`` first).
        operands: tensors (or one list of tensors), one per comma-separated subscript.

    Shape: as the equation says; ``'...'`` and size-1 axes broadcast.

    Example:
        >>> a, b = shendu.randn(2, 3), shendu.randn(3, 4)
        >>> F.einsum("ij,jk->ik", a, b).shape
        (2, 4)
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(equation, str):
        raise TypeError(f"einsum: expected the equation as a string first, got {type(equation).__name__}")
    if not operands:
        raise ValueError("einsum: needs at least one operand")
    subs, out = _parse(equation, [t.shape for t in operands])
    _sizes(subs, [t.shape for t in operands])
    dtypes = {t.dtype for t in operands}
    if len(dtypes) != 1:
        raise TypeError(f"einsum: operands must share one dtype, got {sorted(map(str, dtypes))}")
    return Einsum.apply(*operands, subs=tuple(subs), out=out)


__all__ = ["einsum"]
