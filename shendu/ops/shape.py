"""Shape ops: reshape, transpose/permute, swapaxes, squeeze, unsqueeze, flatten,
expand/broadcast_to. Their gradients move the same numbers back into place."""
from __future__ import annotations

import builtins
import numbers

from ..autograd import Function
from ..backend import get_array_module
from ._util import normalize_axes


def _shape_arg(shape):
    if len(shape) == 1 and not isinstance(shape[0], numbers.Integral):
        return tuple(shape[0])
    return tuple(shape)


class Reshape(Function):
    """y = x viewed with another shape;  the gradient is reshaped back."""

    __slots__ = ("shape",)
    saved_inputs = ()  # core: nothing to check for in-place changes

    def forward(self, x, shape):
        self.shape = x.shape
        return x.reshape(shape)

    def backward(self, g):
        return g.reshape(self.shape)

    @classmethod
    def describe_error(cls, shapes, options, exc):
        return f"reshape: cannot reshape a tensor of shape {shapes[0]} into {options.get('shape')}"


class Transpose(Function):
    """y = x with its axes permuted;  the gradient takes the inverse permutation."""

    __slots__ = ("axes",)
    saved_inputs = ()  # core: nothing to check for in-place changes

    def forward(self, x, axes):
        self.axes = axes
        return x.transpose(axes)

    def backward(self, g):
        if self.axes is None:
            return g.transpose()
        inverse = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inverse[a] = i
        return g.transpose(inverse)


class BroadcastTo(Function):
    """y = x repeated along size-1 (or new leading) axes;  the engine sums the
    gradient back to x's shape."""

    __slots__ = ()
    saved_inputs = ()  # core: nothing to check for in-place changes

    def forward(self, x, shape):
        return get_array_module(x).broadcast_to(x, shape)

    def backward(self, g):
        return g

    @classmethod
    def describe_error(cls, shapes, options, exc):
        return f"broadcast_to: cannot broadcast a tensor of shape {shapes[0]} to {options.get('shape')}"


class Clone(Function):
    """y = a copy of x (new memory);  the gradient passes through unchanged."""

    __slots__ = ()

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return g


def clone(x):
    """A copy of ``x`` with its own memory, differentiable (``torch.clone``)."""
    return Clone.apply(x)


def reshape(x, *shape):
    """The same elements in a new shape (one dimension may be −1)."""
    shape = _shape_arg(shape)
    if shape == x.data.shape:
        return x
    return Reshape.apply(x, shape=shape)


view = reshape


def transpose(x, *axes):
    """Permute the axes: reverse them when none are given (``x.T``), or put
    them in the given order, ``transpose(x, (2, 0, 1))`` (NumPy).

    Two separate integers swap those two axes, as PyTorch's
    ``transpose(dim0, dim1)`` does: ``x.transpose(0, 1)`` exchanges axes 0 and
    1 whatever x's rank (NumPy would read it as a permutation, the identity
    for a 2-D tensor). :func:`permute` always reads its axes as a permutation.
    """
    if len(axes) == 2 and all(isinstance(a, numbers.Integral) for a in axes):
        return swapaxes(x, *axes)
    return permute(x, *axes)


def permute(x, *axes):
    """Put the axes in the given order (a permutation of 0..ndim−1; none given
    reverses them): ``permute(x, 2, 0, 1)`` or ``permute(x, (2, 0, 1))``."""
    axes = _shape_arg(axes) if axes else None
    nd = x.data.ndim
    if axes is not None:
        if sorted(a % nd if -nd <= a < nd else a for a in axes) != list(range(nd)):
            raise ValueError(f"permute: axes {axes} are not a permutation of the {nd} axes "
                             f"of a tensor of shape {x.data.shape}")
        axes = tuple(a % nd for a in axes)
    return Transpose.apply(x, axes=axes)


def swapaxes(x, axis1, axis2):
    """Exchange two axes (PyTorch: ``transpose(dim0, dim1)``)."""
    nd = x.data.ndim
    for a in (axis1, axis2):
        if not -nd <= a < nd:
            raise IndexError(f"swapaxes: axis {a} is out of range for a tensor of {nd} dimensions")
    axes = list(range(nd))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return Transpose.apply(x, axes=tuple(axes))


def squeeze(x, axis=None, **kw):
    """Remove size-1 axes: all of them, or those among the given ones (alias ``dim=``; an int or a tuple).

    As in PyTorch, a given axis whose size is not 1 is left alone (no error).
    """
    axis = kw.pop("dim", axis)
    if kw:
        raise TypeError(f"squeeze: unexpected keyword arguments {sorted(kw)}")
    shape = x.data.shape
    if axis is None:
        new = tuple(n for n in shape if n != 1)
    else:
        axes = normalize_axes(axis, builtins.max(len(shape), 1), "squeeze")
        new = tuple(n for i, n in enumerate(shape) if i not in axes or n != 1)
    return reshape(x, new)


def unsqueeze(x, axis=None, **kw):
    """Insert a size-1 axis at position ``axis`` (alias ``dim=``). Alias: ``expand_dims``."""
    axis = kw.pop("dim", axis)
    if axis is None or kw:
        raise TypeError(f"unsqueeze: expected one axis (axis= or dim=), got axis={axis!r} and {sorted(kw)}")
    shape = list(x.data.shape)
    nd = len(shape) + 1
    if not -nd <= axis < nd:
        raise IndexError(f"unsqueeze: axis {axis} is out of range for a result of {nd} dimensions")
    shape.insert(axis % nd, 1)
    return reshape(x, tuple(shape))


expand_dims = unsqueeze


def flatten(x, start_dim=0, end_dim=-1):
    """Merge axes start_dim..end_dim into one."""
    shape = x.data.shape
    if not shape:
        return reshape(x, (1,))
    s, e = start_dim % len(shape), end_dim % len(shape)
    n = 1
    for d in shape[s:e + 1]:
        n *= d
    return reshape(x, shape[:s] + (n,) + shape[e + 1:])


def broadcast_to(x, shape):
    """Repeat ``x`` to ``shape`` by NumPy's broadcasting rules (a read-only view)."""
    shape = tuple(shape)
    if shape == x.data.shape:
        return x
    return BroadcastTo.apply(x, shape=shape)


def expand(x, *shape):
    """PyTorch's spelling of :func:`broadcast_to`; −1 keeps a dimension."""
    shape = _shape_arg(shape)
    lead = len(shape) - x.data.ndim
    if lead < 0 or any(n == -1 for n in shape[:lead]):
        raise ValueError(f"expand: cannot expand a tensor of shape {x.data.shape} to {shape} "
                         f"(-1 keeps an existing dimension; new leading dimensions need a size)")
    shape = tuple(x.data.shape[i - lead] if n == -1 else n for i, n in enumerate(shape))
    return broadcast_to(x, shape)
