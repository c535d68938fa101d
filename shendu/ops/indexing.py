"""Indexing: basic (slices, ints, None, Ellipsis), integer-array and boolean-mask.

The gradient of ``x[key]`` scatters the output gradient back into a zero
array of x's shape; repeated integer indices add up (scatter-add).
"""
from __future__ import annotations

import numbers

from ..autograd import Function
from ..backend import get_array_module, is_array
from ..tensor import Tensor
from ._util import empty_in_order, memory_order


def _is_advanced(key):
    if not isinstance(key, tuple):
        key = (key,)
    for k in key:
        if is_array(k) or isinstance(k, (list, bool)):
            return True
    return False


def plain_key(key):
    """Replace Tensors inside an index by their arrays."""
    if isinstance(key, Tensor):
        return key.data
    if isinstance(key, tuple):
        return tuple(k.data if isinstance(k, Tensor) else k for k in key)
    if isinstance(key, list):
        return get_array_module(key).asarray([k.item() if isinstance(k, Tensor) else k for k in key])
    return key


class GetItem(Function):
    """y = x[key];  dL/dx = zeros with dL/dy added at the indexed positions."""

    __slots__ = ("shape", "dtype", "key", "advanced", "order")
    saved_inputs = ()  # core: nothing to check for in-place changes

    def forward(self, x, key, advanced):
        self.shape, self.dtype, self.key, self.advanced = x.shape, x.dtype, key, advanced
        self.order = memory_order(x)  # dL/dx in x's layout (a channels-last ResNet shortcut stays so)
        return x[key]

    def backward(self, g):
        xp = get_array_module(g)
        gx = empty_in_order(self.order, self.shape, g.dtype, xp)
        gx.fill(0)
        if self.advanced:
            xp.add.at(gx, self.key, g)
        else:
            gx[self.key] = g
        return gx

    @classmethod
    def describe_error(cls, shapes, options, exc):
        return f"getitem: index {options.get('key')!r} does not fit a tensor of shape {shapes[0]}: {exc}"


def getitem(x, key):
    """``x[key]`` with NumPy's semantics, and PyTorch's where the two differ; differentiable.

    The one difference: in a key that mixes integer-array (or mask) indices
    with Python ints, PyTorch applies the ints first (each removes its
    dimension, like ``select``) and only then the array indices. NumPy counts
    the ints among the array indices, which moves the result's dimensions
    when a slice separates them (``x[0, :, [0, 1]]`` has shape (2, n_1) in
    NumPy, (n_1, 2) in PyTorch). shendu follows PyTorch: such keys run as two
    indexing steps, the ints first.
    """
    key = plain_key(key)
    adv = _is_advanced(key)
    if adv and isinstance(key, list):
        key = get_array_module(x.data).asarray(key)
    if adv and isinstance(key, tuple) and any(_is_int(k) for k in key):
        ints_first, rest = _split_ints(key)
        x = GetItem.apply(x, key=ints_first, advanced=False)
        key = rest
    return GetItem.apply(x, key=key, advanced=adv)


def _is_int(k):
    return isinstance(k, numbers.Integral) and not isinstance(k, bool)


def _split_ints(key):
    """``key`` as (the ints with full slices elsewhere, the other entries): PyTorch's order of application."""
    def width(k):  # how many of x's dimensions an entry consumes
        if k is None:
            return 0
        if (is_array(k) or isinstance(k, list)) and get_array_module(k).asarray(k).dtype == bool:
            return get_array_module(k).asarray(k).ndim
        return 1
    first, rest = [], []
    for k in key:
        if _is_int(k):
            first.append(k)
        elif k is Ellipsis:
            first.append(Ellipsis)
            rest.append(Ellipsis)
        else:
            first.extend([slice(None)] * width(k))
            rest.append(k)
    return tuple(first), tuple(rest)


def take(x, indices, axis=0):
    """Select ``indices`` along ``axis`` (an integer-array index on one axis)."""
    idx = indices.data if isinstance(indices, Tensor) else get_array_module(x.data).asarray(indices)
    key = (slice(None),) * (axis % x.data.ndim) + (idx,)
    return GetItem.apply(x, key=key, advanced=True)


def masked_fill(x, mask, value):
    """x with ``value`` where ``mask`` is true (gradient 0 there)."""
    from .elementwise import where
    return where(mask, value, x)
