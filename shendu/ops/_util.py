"""Small shared pieces of the op modules: lifting Python scalars, dtype promotion, axes."""
from __future__ import annotations

import numbers

from .. import backend
from ..autograd import Function
from ..backend import memory_order, xp
from ..tensor import Tensor


def lift(value, like):
    """A constant tensor for a Python number next to the tensor ``like``.

    The number takes ``like``'s dtype, except that a float next to an integer
    or bool tensor takes the default float dtype (so ``int_tensor * 0.5`` is
    floating, as in PyTorch).
    """
    if isinstance(value, Tensor):
        return value
    if isinstance(value, bool):
        dtype = like.data.dtype
    elif isinstance(value, numbers.Integral):
        dtype = like.data.dtype if like.data.dtype.kind != "b" else backend.int64
    elif isinstance(value, numbers.Real):
        dtype = like.data.dtype if like.data.dtype.kind == "f" else backend.get_default_dtype()
    elif backend.is_array(value):
        return Tensor._wrap(value, False, None)
    else:
        return Tensor(value)
    return Tensor._wrap(xp.asarray(value, dtype=dtype), False, None)


def binary_operands(a, b):
    """Turn (tensor | number, tensor | number) into two tensors of one dtype."""
    if not isinstance(a, Tensor):
        b = b if isinstance(b, Tensor) else Tensor(b)
        a = lift(a, b)
    elif not isinstance(b, Tensor):
        b = lift(b, a)
    da, db = a.data.dtype, b.data.dtype
    if da != db:
        dt = backend.result_type(da, db)
        if da != dt:
            a = Cast.apply(a, dtype=dt)
        if db != dt:
            b = Cast.apply(b, dtype=dt)
    return a, b


class Cast(Function):
    """y = x converted to another dtype; the gradient is cast back by the engine."""

    __slots__ = ()
    saved_inputs = ()

    def forward(self, x, dtype):
        return x.astype(dtype)

    def backward(self, g):
        return g


def cast(x, dtype):
    """Convert ``x`` to ``dtype``; differentiable between floating dtypes."""
    dtype = backend.as_dtype(dtype)
    if x.data.dtype == dtype:
        return x
    if dtype.kind != "f":
        return Tensor._wrap(x.data.astype(dtype), False, None)
    return Cast.apply(x, dtype=dtype)


def floating(x):
    """``x`` itself if it is floating, else ``x`` cast to the default floating dtype.

    The one rule of every floating-only op (exp, log, sigmoid, softmax, …):
    integer and bool inputs give ``get_default_dtype()`` (float32 unless set),
    as in PyTorch — not NumPy's float64. Numbers and arrays become tensors first.
    """
    if not isinstance(x, Tensor):
        x = Tensor(x)
    if x.data.dtype.kind in "fc":
        return x
    return cast(x, backend.get_default_dtype())


def axis_arg(axis, kw, op):
    """Accept PyTorch's ``dim=`` as an alias of ``axis=`` (and lists of axes)."""
    if kw:
        if "dim" in kw:
            if axis is not None:
                raise TypeError(f"{op}: give axis= or dim=, not both")
            axis = kw.pop("dim")
        if kw:
            raise TypeError(f"{op}: unexpected keyword arguments {sorted(kw)}")
    if isinstance(axis, list):
        axis = tuple(axis)
    return axis


def keepdims_arg(keepdims, kw):
    if "keepdim" in kw:
        keepdims = kw.pop("keepdim")
    return keepdims


def normalize_axes(axis, ndim, op="axis"):
    """``axis`` (None, int or tuple) as a sorted tuple of non-negative axes;
    ``op`` names the caller in the error for an axis out of range."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, numbers.Integral):
        axis = (axis,)
    out = []
    for a in axis:
        if not -max(ndim, 1) <= a < max(ndim, 1):  # a 0-d tensor accepts 0 and -1, as in PyTorch
            raise IndexError(f"{op}: axis {a} is out of range for a tensor of {ndim} dimensions")
        out.append(a % max(ndim, 1))
    return tuple(sorted(out))


def expand_reduced(g, shape, axis, keepdims):
    """Re-insert the reduced axes of ``g`` (size 1) so that it broadcasts against ``shape``."""
    if keepdims or axis is None and g.ndim == 0:
        return g.reshape([1] * len(shape)) if g.ndim != len(shape) else g
    axes = normalize_axes(axis, len(shape))
    new = list(g.shape)
    for a in axes:
        new.insert(a, 1)
    return g.reshape(new)


def empty_in_order(order, shape, dtype, xp_):
    """An uninitialised ``xp_`` array of ``shape`` whose axes lie in memory in ``order`` (None: C order)."""
    if order is None:
        return xp_.empty(shape, dtype=dtype)
    return xp_.empty([shape[a] for a in order], dtype=dtype).transpose([order.index(a) for a in range(len(order))])


def empty_in_layout_of(x, shape, dtype=None):
    """An uninitialised array of ``shape`` (``x``'s ndim) laid out as ``x`` is (:func:`memory_order`): C
    order for a C-contiguous x, channels-last for a channels-last one — so that an op's output keeps the
    layout the convolutions around it chose (docs/onednn.md)."""
    return empty_in_order(memory_order(x), shape, dtype or x.dtype, backend.get_array_module(x))
