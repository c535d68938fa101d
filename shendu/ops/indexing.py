"""Indexing: basic (slices, ints, None, Ellipsis), integer-array and boolean-mask.

The gradient of ``x[key]`` scatters the output gradient back into a zero
array of x's shape; repeated integer indices add up (scatter-add).
"""
from __future__ import annotations

from ..autograd import Function
from ..backend import get_array_module, is_array
from ..tensor import Tensor


def _is_advanced(key):
    if not isinstance(key, tuple):
        key = (key,)
    for k in key:
        if is_array(k) or isinstance(k, (list, bool)):
            return True
    return False


def _plain_key(key):
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

    __slots__ = ("shape", "dtype", "key", "advanced")
    saved_inputs = ()  # core: nothing to check for in-place changes

    def forward(self, x, key, advanced):
        self.shape, self.dtype, self.key, self.advanced = x.shape, x.dtype, key, advanced
        return x[key]

    def backward(self, g):
        xp = get_array_module(g)
        gx = xp.zeros(self.shape, dtype=g.dtype)
        if self.advanced:
            xp.add.at(gx, self.key, g)
        else:
            gx[self.key] = g
        return gx

    @classmethod
    def describe_error(cls, shapes, options, exc):
        return f"getitem: index {options.get('key')!r} does not fit a tensor of shape {shapes[0]}: {exc}"


def getitem(x, key):
    """``x[key]`` with NumPy semantics; differentiable."""
    key = _plain_key(key)
    adv = _is_advanced(key)
    if adv and isinstance(key, list):
        key = get_array_module(x.data).asarray(key)
    return GetItem.apply(x, key=key, advanced=adv)


def take(x, indices, axis=0):
    """Select ``indices`` along ``axis`` (an integer-array index on one axis)."""
    idx = indices.data if isinstance(indices, Tensor) else get_array_module(x.data).asarray(indices)
    key = (slice(None),) * (axis % x.data.ndim) + (idx,)
    return GetItem.apply(x, key=key, advanced=True)


def masked_fill(x, mask, value):
    """x with ``value`` where ``mask`` is true (gradient 0 there)."""
    from .elementwise import where
    return where(mask, value, x)
