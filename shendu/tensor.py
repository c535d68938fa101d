"""``Tensor``: an n-d array that can record how it was computed.

A tensor holds

* ``data``: the backend array (NumPy on the CPU). It is assignable, and
  optimizers update it in place (``p.data -= lr * p.grad.data``, then
  :func:`~shendu.autograd.bump_version`);
* ``grad``: the gradient accumulated by :meth:`backward` (a Tensor or None);
* ``requires_grad``: whether operations on it are recorded;
* ``_ctx``: the :class:`~shendu.autograd.Function` node that produced it
  (None for leaves);
* ``_version``: how many times it was changed in place (PyTorch's counter:
  ``+=``, ``t[...] = v``, optimizer steps; assigning ``.data`` does not
  count). Backward refuses a node whose saved tensor changed since.

Operators (``+ - * / ** @``, comparisons, indexing) dispatch to the ops in
:mod:`shendu.ops`; this file holds no math.
"""
from __future__ import annotations

import builtins
import functools
import math
import numbers

from . import backend, printing
from .backend import xp


def _infer_dtype(data, dtype):
    """The dtype a new tensor gets: as asked, else the data's own (arrays), else
    the default float for Python floats, int64 for ints, bool for bools."""
    if dtype is not None:
        return backend.as_dtype(dtype)
    if backend.is_array(data) or isinstance(data, xp.generic):
        return data.dtype
    arr = xp.asarray(data)
    if arr.dtype.kind == "f":
        return backend.get_default_dtype()
    if arr.dtype.kind in "iu":
        return backend.int64
    if arr.dtype.kind == "b":
        return backend.bool_
    raise TypeError(f"tensor: cannot make a tensor from data of dtype {arr.dtype} ({type(data).__name__})")


class Tensor:
    """An n-d array with reverse-mode automatic differentiation.

    Args:
        data: array-like (nested lists, scalars, NumPy arrays, Tensors).
        dtype: float32 by default for floating data; NumPy dtypes accepted.
        requires_grad: record operations on it so that :meth:`backward` can
            compute ``d(output)/d(this)``.

    Example:
        >>> x = shendu.tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad
        tensor([2., 4., 6.])
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_retains_grad", "_version", "_stamp", "__weakref__")
    __array_ufunc__ = None  # make `ndarray + Tensor` call Tensor.__radd__
    __hash__ = object.__hash__  # __eq__ is element-wise, identity stays the hash

    def __init__(self, data, dtype=None, requires_grad=False):
        if isinstance(data, Tensor):
            data = data.data
        dt = _infer_dtype(data, dtype)
        arr = xp.asarray(data, dtype=dt) if not backend.is_array(data) else data.astype(dt, copy=False)
        if requires_grad and arr.dtype.kind != "f":
            raise TypeError(f"tensor: only floating tensors can require grad, got dtype {arr.dtype}")
        self.data = arr
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._ctx = None
        self._retains_grad = False
        self._version = self._stamp = 0

    @staticmethod
    def _wrap(data, requires_grad, ctx):
        """Fast internal constructor: no conversion, no checks."""
        t = _new_tensor(Tensor)
        t.data = data
        t.grad = None
        t.requires_grad = requires_grad
        t._ctx = ctx
        t._retains_grad = False
        t._version = t._stamp = 0
        return t

    # ------------------------------------------------------------ properties
    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    def size(self, dim=None):
        """The shape as a :class:`shendu.Size` (a tuple), or the length of dimension ``dim`` (an int).

        PyTorch's meaning; NumPy's element count is :meth:`numel`.
        """
        if dim is None:
            return Size(self.data.shape)
        nd = self.data.ndim
        if not -nd <= dim < builtins.max(nd, 1) or (nd == 0 and dim not in (0, -1)):
            raise IndexError(f"size: dimension {dim} is out of range for a tensor of {nd} dimensions")
        return self.data.shape[dim] if nd else 1

    def numel(self):
        """The number of elements (NumPy's ``size``)."""
        return self.data.size

    @property
    def device(self):
        return backend.device_of(self.data)

    @property
    def is_leaf(self):
        return self._ctx is None

    @property
    def T(self):
        """The transpose: axes reversed."""
        return transpose(self)

    # ------------------------------------------------------------ conversion
    def numpy(self):
        """The data as a NumPy array (a copy from the GPU; shared memory on the CPU)."""
        if backend.get_array_module(self.data) is not xp:  # pragma: no cover - GPU only
            return self.data.get()
        return xp.asarray(self.data)

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a if dtype is None else a.astype(dtype)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors can be converted, got shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return self.numpy().tolist()

    def detach(self):
        """The same data, cut from the graph (requires_grad=False)."""
        return Tensor._wrap(self.data, False, None)

    def to(self, *args, device=None, dtype=None, non_blocking=False, copy=False, memory_format=None):
        """Move to ``device`` ('cpu', or 'cuda' with CuPy) and/or cast to ``dtype``, as ``torch.Tensor.to``.

        Forms: ``t.to(device)``, ``t.to(dtype)``, ``t.to(device, dtype)``,
        ``t.to(other)`` (other's device and dtype). ``non_blocking`` is
        accepted (copies are synchronous); ``copy=True`` always returns a new
        tensor. Returns ``self`` when nothing changes.
        """
        if memory_format is not None:
            raise NotImplementedError("to: memory_format= is not supported (shendu stores every tensor "
                                      "contiguous, C order); drop the argument")
        if len(args) > 2:
            raise TypeError(f"to: expected at most (device, dtype), got {len(args)} positional arguments")
        for a in args:
            if isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            elif isinstance(a, (backend.Device, str)) or isinstance(a, numbers.Integral):
                device = a
            else:
                dtype = a
        t = self
        if device is not None:
            dev = backend.Device(device)
            moved = backend.to_device(t.data, dev)
            if moved is not t.data:
                t = Tensor._wrap(moved, t.requires_grad and t.is_leaf, None)
        if dtype is not None:
            t = t.astype(dtype)
        if copy and t is self:
            t = self.clone()
        return t

    def cpu(self):
        """This tensor on the CPU (itself when it is there already)."""
        return self.to("cpu")

    def cuda(self, device=None, non_blocking=False):
        """This tensor on a CUDA device (needs CuPy and a GPU: the error says so otherwise)."""
        return self.to(backend.Device("cuda", device) if isinstance(device, numbers.Integral) else device or "cuda")

    def astype(self, dtype):
        """Cast to ``dtype`` (differentiable between floating dtypes)."""
        return cast(self, dtype)

    def float(self):
        return cast(self, backend.float32)

    def double(self):
        return cast(self, backend.float64)

    def long(self):
        return cast(self, backend.int64)

    def int(self):
        return cast(self, backend.int32)

    def bool(self):
        return cast(self, backend.bool_)

    # --- torch-idioms: PyTorch conversion, copy and in-place idioms
    def half(self):
        """Cast to float16."""
        return cast(self, backend.float16)

    def type(self, dtype=None):
        """Without an argument, the type name (``'shendu.FloatTensor'``); with a dtype, cast to it."""
        if dtype is None:
            return "shendu." + _TYPE_NAMES.get(self.dtype.name, self.dtype.name) + "Tensor"
        return cast(self, dtype)

    def is_floating_point(self):
        """True for float16/32/64 tensors."""
        return backend.is_floating(self.dtype)

    def dim(self):
        """The number of dimensions (``ndim``)."""
        return self.data.ndim

    @property
    def is_cuda(self):
        """True when the data lives on a CUDA device."""
        return self.device.type == "cuda"

    is_sparse = False  # shendu tensors are always dense

    def to_sparse(self, *args, **kwargs):
        """Not supported: shendu has no sparse layouts (raises NotImplementedError)."""
        raise NotImplementedError("to_sparse: shendu has no sparse tensors; keep the dense tensor "
                                  "(masked_fill / where for masks)")

    def clone(self):
        """A copy of the data, in the graph: the gradient flows back to ``self``."""
        return clone(self)

    def detach_(self):
        """Cut this tensor from the graph in place (it becomes a leaf that requires no grad)."""
        self._ctx, self.requires_grad = None, False
        return self

    def fill_(self, value):
        """Set every element to ``value`` in place (``t[...] = value``: refused on a tensor that requires grad)."""
        self[...] = value
        return self

    def zero_(self):
        """Set every element to 0 in place."""
        return self.fill_(0)

    def eq(self, other):
        """Element-wise ``self == other`` (a bool tensor)."""
        return eq(self, other)

    def copy_(self, src, non_blocking=False):
        """Copy ``src`` (broadcast to this shape, cast to this dtype) into this tensor in place."""
        if isinstance(src, Tensor) and src.device != self.device:
            src = src.to(self.device)
        shape = xp.shape(src.data if isinstance(src, Tensor) else src)
        try:
            fits = xp.broadcast_shapes(self.shape, shape) == self.shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"copy_: a source of shape {shape} does not broadcast to {self.shape}")
        self[...] = src
        return self

    # ------------------------------------------------------------ autograd
    def backward(self, grad=None, retain_graph=False):
        """Accumulate the gradient of this tensor into the ``.grad`` of every leaf.

        Args:
            grad: d(loss)/d(self); may be omitted for a one-element tensor (then 1).
            retain_graph: keep the graph so that backward can run through it again.
        """
        autograd.backward(self, grad, retain_graph)

    def requires_grad_(self, requires_grad=True):
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"requires_grad_: only floating tensors can require grad, got {self.dtype}")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf tensor after backward."""
        self._retains_grad = True
        return self

    def zero_grad(self):
        self.grad = None

    # ------------------------------------------------------------ printing
    def __repr__(self):
        if printing.stats_enabled():  # set_printoptions(stats=True): a summary instead of the numbers
            body, extras = printing.describe_array(self.numpy(), self.device), []
        else:
            body, extras = printing.format_array(self.numpy(), "tensor("), []
            if self.dtype != backend.get_default_dtype() and self.dtype not in (backend.int64, backend.bool_):
                extras.append(f"dtype={self.dtype}")
        if self.requires_grad:
            if self._ctx is None:
                extras.append("requires_grad=True")
            else:  # the op's name, or "released" once a backward pass freed the node
                name = "released" if self._ctx is autograd.RELEASED else type(self._ctx).__name__
                extras.append(f"grad_fn=<{name}>")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    def describe(self):
        """One line instead of the numbers: shape, dtype, device, min/max/mean/std of the finite
        elements (std = √(Σ(x − mean)² / n)) and the counts of NaN and ±Inf elements.

        Example:
            >>> shendu.tensor([0.0, 2.0, float("inf")]).describe()
            'shape=(3,), dtype=float32, device=cpu, min=0, max=2, mean=1, std=1, nan=0, inf=1'
        """
        return printing.describe_array(self.numpy(), self.device)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor with {self.data.size} elements is ambiguous; "
                             f"use .any() or .all()")
        return bool(self.data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __format__(self, spec):
        """``f"{loss:.4f}"`` formats a one-element tensor as its number."""
        if spec and self.data.size == 1:
            return format(self.item(), spec)
        return object.__format__(self, spec)

    def __index__(self):
        if self.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError("only integer one-element tensors can be used as an index")
        return int(self.item())

    # ------------------------------------------------------------ operators
    def __add__(self, o): return add(self, o)
    def __radd__(self, o): return add(o, self)
    def __sub__(self, o): return sub(self, o)
    def __rsub__(self, o): return sub(o, self)
    def __mul__(self, o): return mul(self, o)
    def __rmul__(self, o): return mul(o, self)
    def __truediv__(self, o): return div(self, o)
    def __rtruediv__(self, o): return div(o, self)
    def __pow__(self, o): return pow(self, o)
    def __rpow__(self, o): return pow(o, self)
    def __matmul__(self, o): return matmul(self, o)
    def __rmatmul__(self, o): return matmul(o, self)
    def __neg__(self): return neg(self)
    def __pos__(self): return self
    def __abs__(self): return abs(self)
    def __eq__(self, o): return False if o is None else eq(self, o)  # `t == None` is False, as in torch
    def __ne__(self, o): return True if o is None else ne(self, o)
    def __lt__(self, o): return lt(self, o)
    def __le__(self, o): return le(self, o)
    def __gt__(self, o): return gt(self, o)
    def __ge__(self, o): return ge(self, o)
    def __invert__(self): return bitwise_not(self)
    def __and__(self, o): return bitwise_and(self, o)
    def __or__(self, o): return bitwise_or(self, o)
    # --- ops-math: bitwise, shift, modulo and floor-division operators (logical on bool tensors)
    def __rand__(self, o): return bitwise_and(o, self)
    def __ror__(self, o): return bitwise_or(o, self)
    def __xor__(self, o): return bitwise_xor(self, o)
    def __rxor__(self, o): return bitwise_xor(o, self)
    def __lshift__(self, o): return bitwise_left_shift(self, o)
    def __rlshift__(self, o): return bitwise_left_shift(o, self)
    def __rshift__(self, o): return bitwise_right_shift(self, o)
    def __rrshift__(self, o): return bitwise_right_shift(o, self)
    def __mod__(self, o): return remainder(self, o)
    def __rmod__(self, o): return remainder(o, self)
    def __floordiv__(self, o): return floor_divide(self, o)
    def __rfloordiv__(self, o): return floor_divide(o, self)
    def __iand__(self, o): return _inplace(self, o, bitwise_and, "&")
    def __ior__(self, o): return _inplace(self, o, bitwise_or, "|")
    def __ixor__(self, o): return _inplace(self, o, bitwise_xor, "^")
    def __ilshift__(self, o): return _inplace(self, o, bitwise_left_shift, "<<")
    def __irshift__(self, o): return _inplace(self, o, bitwise_right_shift, ">>")
    def __imod__(self, o): return _inplace(self, o, remainder, "%")
    def __ifloordiv__(self, o): return _inplace(self, o, floor_divide, "//")
    def __getitem__(self, key): return getitem(self, key)

    def __iadd__(self, o): return _inplace(self, o, add, "+")
    def __isub__(self, o): return _inplace(self, o, sub, "-")
    def __imul__(self, o): return _inplace(self, o, mul, "*")
    def __itruediv__(self, o): return _inplace(self, o, div, "/")

    def __setitem__(self, key, value):
        """In-place assignment ``t[key] = value``, allowed where no graph is recorded.

        It is not differentiable: build such results with ``where``,
        ``concatenate``, ``stack`` or ``pad`` instead.
        """
        if autograd.is_grad_enabled():
            if self.requires_grad:
                raise RuntimeError(
                    "setitem: in-place assignment into a tensor that requires grad would corrupt "
                    "its gradient; do it under shendu.no_grad() or on .data")
            if isinstance(value, Tensor) and value.requires_grad:
                raise RuntimeError(
                    "setitem: assigning a tensor that requires grad into another tensor would drop "
                    "its gradient (assignment is not recorded); build the result with shendu.where, "
                    "concatenate, stack or pad, or assign value.detach()")
        self.data[plain_key(key)] = value.data if isinstance(value, Tensor) else value
        autograd.bump_version(self)

    # ------------------------------------------------------------ methods
    def pow(self, exponent): return pow(self, exponent)
    def exp(self): return exp(self)
    def log(self): return log(self)
    def sqrt(self): return sqrt(self)
    def abs(self): return abs(self)
    def tanh(self): return tanh(self)
    def sigmoid(self): return sigmoid(self)
    def relu(self): return relu(self)
    def clip(self, min=None, max=None): return clip(self, min, max)
    # --- ops-math: element-wise math, rounding, division, bitwise and movement methods
    def sin(self): return sin(self)
    def cos(self): return cos(self)
    def tan(self): return tan(self)
    def asin(self): return asin(self)
    def acos(self): return acos(self)
    def atan(self): return atan(self)
    def atan2(self, other): return atan2(self, other)
    def sinh(self): return sinh(self)
    def cosh(self): return cosh(self)
    def asinh(self): return asinh(self)
    def acosh(self): return acosh(self)
    def atanh(self): return atanh(self)
    arcsin, arccos, arctan, arctan2, arcsinh, arccosh, arctanh = asin, acos, atan, atan2, asinh, acosh, atanh
    def log2(self): return log2(self)
    def log10(self): return log10(self)
    def log1p(self): return log1p(self)
    def exp2(self): return exp2(self)
    def expm1(self): return expm1(self)
    def rsqrt(self): return rsqrt(self)
    def reciprocal(self): return reciprocal(self)
    def square(self): return square(self)
    def erf(self): return erf(self)
    def erfc(self): return erfc(self)
    def erfinv(self): return erfinv(self)
    def hypot(self, other): return hypot(self, other)
    def copysign(self, other): return copysign(self, other)
    def logaddexp(self, other): return logaddexp(self, other)
    def logaddexp2(self, other): return logaddexp2(self, other)
    def lerp(self, end, weight): return lerp(self, end, weight)
    def floor(self): return floor(self)
    def ceil(self): return ceil(self)
    def round(self, decimals=0): return round(self, decimals)
    def trunc(self): return trunc(self)
    fix = trunc
    def frac(self): return frac(self)
    def div(self, other, *, rounding_mode=None): return div(self, other, rounding_mode=rounding_mode)
    divide = div
    def true_divide(self, other): return true_divide(self, other)
    def floor_divide(self, other): return floor_divide(self, other)
    def remainder(self, other): return remainder(self, other)
    def fmod(self, other): return fmod(self, other)
    def isnan(self): return isnan(self)
    def isinf(self): return isinf(self)
    def isfinite(self): return isfinite(self)
    def isposinf(self): return isposinf(self)
    def isneginf(self): return isneginf(self)
    def isclose(self, other, *args, **kw): return isclose(self, other, *args, **kw)
    def allclose(self, other, *args, **kw): return allclose(self, other, *args, **kw)
    def equal(self, other): return equal(self, other)
    def bitwise_and(self, other): return bitwise_and(self, other)
    def bitwise_or(self, other): return bitwise_or(self, other)
    def bitwise_xor(self, other): return bitwise_xor(self, other)
    def bitwise_not(self): return bitwise_not(self)
    def bitwise_left_shift(self, other): return bitwise_left_shift(self, other)
    def bitwise_right_shift(self, other): return bitwise_right_shift(self, other)
    def logical_xor(self, other): return logical_xor(self, other)
    def flip(self, *dims, **kw): return flip(self, kw.pop("dims") if kw else dims[0] if len(dims) == 1 else dims)
    def fliplr(self): return fliplr(self)
    def flipud(self): return flipud(self)
    def roll(self, shifts, dims=None): return roll(self, shifts, dims)
    def repeat(self, *sizes): return repeat(self, *sizes)
    def tile(self, *dims, **kw): return tile(self, kw.pop("dims") if kw else dims[0] if len(dims) == 1 else dims)
    def repeat_interleave(self, repeats, dim=None, *, output_size=None): return repeat_interleave(self, repeats, dim)
    def tril(self, diagonal=0): return tril(self, diagonal)
    def triu(self, diagonal=0): return triu(self, diagonal)
    def diag(self, diagonal=0): return diag(self, diagonal)
    def diagonal(self, offset=0, dim1=0, dim2=1): return diagonal(self, offset, dim1, dim2)
    def diag_embed(self, offset=0, dim1=-2, dim2=-1): return diag_embed(self, offset, dim1, dim2)
    def unfold(self, dimension, size, step): return unfold(self, dimension, size, step)
    def unflatten(self, dim, sizes): return unflatten(self, dim, sizes)
    def movedim(self, source, destination): return movedim(self, source, destination)
    moveaxis = movedim
    def swapdims(self, dim0, dim1): return swapaxes(self, dim0, dim1)
    def narrow(self, dim, start, length): return narrow(self, dim, start, length)
    def view_as(self, other): return view_as(self, other)
    def reshape_as(self, other): return reshape_as(self, other)
    def expand_as(self, other): return expand_as(self, other)
    def type_as(self, other): return type_as(self, other)
    def contiguous(self): return contiguous(self)
    clamp = clip

    def sum(self, axis=None, keepdims=False, **kw): return sum(self, axis, keepdims, **kw)
    def mean(self, axis=None, keepdims=False, **kw): return mean(self, axis, keepdims, **kw)
    def max(self, axis=None, keepdims=False, **kw): return max(self, axis, keepdims, **kw)
    def min(self, axis=None, keepdims=False, **kw): return min(self, axis, keepdims, **kw)
    def amax(self, axis=None, keepdims=False, **kw): return amax(self, axis, keepdims, **kw)
    def amin(self, axis=None, keepdims=False, **kw): return amin(self, axis, keepdims, **kw)
    def var(self, axis=None, ddof=0, keepdims=False, **kw): return var(self, axis, ddof, keepdims, **kw)
    def std(self, axis=None, ddof=0, keepdims=False, **kw): return std(self, axis, ddof, keepdims, **kw)
    def logsumexp(self, axis=None, keepdims=False, **kw): return logsumexp(self, axis, keepdims, **kw)
    def argmax(self, axis=None, keepdims=False, **kw): return argmax(self, axis, keepdims, **kw)
    def argmin(self, axis=None, keepdims=False, **kw): return argmin(self, axis, keepdims, **kw)
    # --- ops-select: indexing and selection, scans and reductions, norms (issue 14)
    def gather(self, dim, index, **kw): return gather(self, dim, index, **kw)
    def take_along_dim(self, indices, dim=None): return take_along_dim(self, indices, dim)
    def index_select(self, dim, index): return index_select(self, dim, index)
    def masked_select(self, mask): return masked_select(self, mask)
    def nonzero(self, as_tuple=False): return nonzero(self, as_tuple)
    def argwhere(self): return argwhere(self)
    def scatter(self, dim, index, src=None, value=None, reduce=None):
        return scatter(self, dim, index, src, value, reduce)
    def scatter_add(self, dim, index, src): return scatter_add(self, dim, index, src)
    def scatter_reduce(self, dim, index, src, reduce, include_self=True):
        return scatter_reduce(self, dim, index, src, reduce, include_self)
    def index_add(self, dim, index, source, alpha=1): return index_add(self, dim, index, source, alpha)

    def scatter_(self, dim, index, src=None, value=None, reduce=None):
        """In place, where no graph is recorded (as ``t[...] = ...``): ``scatter``'s result."""
        self[...] = scatter(self, dim, index, src, value, reduce)
        return self

    def scatter_add_(self, dim, index, src):
        """In place, where no graph is recorded: ``scatter_add``'s result."""
        self[...] = scatter_add(self, dim, index, src)
        return self

    def scatter_reduce_(self, dim, index, src, reduce, include_self=True):
        """In place, where no graph is recorded: ``scatter_reduce``'s result."""
        self[...] = scatter_reduce(self, dim, index, src, reduce, include_self)
        return self

    def index_add_(self, dim, index, source, alpha=1):
        """In place, where no graph is recorded: ``index_add``'s result."""
        self[...] = index_add(self, dim, index, source, alpha)
        return self

    def sort(self, dim=-1, descending=False, stable=False, **kw): return sort(self, dim, descending, stable, **kw)
    def argsort(self, dim=-1, descending=False, stable=False, **kw): return argsort(self, dim, descending, stable, **kw)
    def topk(self, k, dim=-1, largest=True, sorted=True): return topk(self, k, dim, largest, sorted)
    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
        return unique(self, sorted, return_inverse, return_counts, dim)
    def bincount(self, weights=None, minlength=0): return bincount(self, weights, minlength)
    def cumsum(self, dim, dtype=None, **kw): return cumsum(self, dim, dtype, **kw)
    def cumprod(self, dim, dtype=None, **kw): return cumprod(self, dim, dtype, **kw)
    def cummax(self, dim, **kw): return cummax(self, dim, **kw)
    def cummin(self, dim, **kw): return cummin(self, dim, **kw)
    def logcumsumexp(self, dim, **kw): return logcumsumexp(self, dim, **kw)
    def prod(self, dim=None, keepdim=False, dtype=None, **kw): return prod(self, dim, keepdim, dtype, **kw)
    def count_nonzero(self, dim=None, **kw): return count_nonzero(self, dim, **kw)
    def median(self, dim=None, keepdim=False, **kw): return median(self, dim, keepdim, **kw)
    def mode(self, dim=-1, keepdim=False, **kw): return mode(self, dim, keepdim, **kw)
    def quantile(self, q, dim=None, keepdim=False, **kw): return quantile(self, q, dim, keepdim, **kw)
    def norm(self, p="fro", dim=None, keepdim=False, dtype=None): return norm(self, p, dim, keepdim, dtype)

    def any(self, dim=None, keepdim=False, **kw): return ops.scan.any(self, dim, keepdim, **kw)
    def all(self, dim=None, keepdim=False, **kw): return ops.scan.all(self, dim, keepdim, **kw)


    def reshape(self, *shape): return reshape(self, *shape)
    view = reshape
    def transpose(self, *axes): return transpose(self, *axes)
    def permute(self, *axes): return permute(self, *axes)
    def swapaxes(self, a, b): return swapaxes(self, a, b)
    def squeeze(self, axis=None, **kw): return squeeze(self, axis, **kw)
    def unsqueeze(self, axis=None, **kw): return unsqueeze(self, axis, **kw)
    def flatten(self, start_dim=0, end_dim=-1): return flatten(self, start_dim, end_dim)
    def expand(self, *shape): return expand(self, *shape)
    def broadcast_to(self, shape): return broadcast_to(self, shape)
    def matmul(self, o): return matmul(self, o)
    def split(self, split_size_or_sections, dim=0, **kw): return split(self, split_size_or_sections, dim, **kw)
    def tensor_split(self, indices_or_sections, dim=0, **kw): return tensor_split(self, indices_or_sections, dim, **kw)
    def chunk(self, chunks, dim=0, **kw): return chunk(self, chunks, dim, **kw)


_new_tensor = object.__new__

#: ``Tensor.type()``'s names, as PyTorch spells them.
_TYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
               "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


class Size(tuple):
    """A tensor's shape, as ``torch.Size``: a tuple of ints (what ``Tensor.size()`` returns)."""

    __slots__ = ()

    def numel(self):
        """The number of elements of a tensor of this shape."""
        n = 1
        for d in self:
            n *= d
        return n

    def __getitem__(self, key):
        out = tuple.__getitem__(self, key)
        return Size(out) if isinstance(key, slice) else out

    def __repr__(self):
        return f"shendu.Size({list(self)})"


def _inplace(t, other, op, symbol):
    """``t += other`` (and -=, *=, /=).

    Where no graph is recorded (under ``no_grad``, or when neither side
    requires grad) t's array is updated in place, keeping its dtype. Otherwise
    the name is rebound to a new tensor in the graph, like ``t = t + other``;
    a leaf that requires grad is refused, as in PyTorch, because rebinding it
    would silently leave the original (a parameter, say) unchanged.
    """
    if autograd.is_grad_enabled() and (t.requires_grad or isinstance(other, Tensor) and other.requires_grad):
        if t.requires_grad and t._ctx is None:
            raise RuntimeError(
                f"{symbol}=: in-place update of a leaf tensor that requires grad; update "
                f"its .data or do it under shendu.no_grad() (optimizer steps), or write "
                f"t = t {symbol} other for a new tensor")
        return op(t, other)
    o = other.data if isinstance(other, Tensor) else other
    res = op(Tensor._wrap(t.data, False, None), Tensor._wrap(o, False, None) if backend.is_array(o) else o).data
    if res.dtype != t.data.dtype and not xp.can_cast(res.dtype, t.data.dtype, "same_kind"):
        raise TypeError(f"{symbol}=: the result has dtype {res.dtype}, which cannot be stored in place "
                        f"in a tensor of dtype {t.dtype}; write t = t {symbol} other")
    try:
        t.data[...] = res
    except ValueError as exc:
        raise ValueError(f"{symbol}=: cannot update a tensor of shape {t.shape} in place with a "
                         f"result of shape {res.shape}: {exc}") from exc
    autograd.bump_version(t)
    return t


# ---------------------------------------------------------------- creation
def _placed(fn):  # torch-idioms
    """Give a creation function PyTorch's ``device=`` keyword: the new tensor is moved there (CPU: no copy)."""
    @functools.wraps(fn)
    def create(*args, device=None, **kwargs):
        t = fn(*args, **kwargs)
        return t if device is None else t.to(device)
    return create


@_placed
def tensor(data, dtype=None, requires_grad=False):
    """Create a tensor from array-like ``data`` (copied). See :class:`Tensor`."""
    if isinstance(data, Tensor):
        data = data.data
    if backend.is_array(data):
        data = data.copy()
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


@_placed
def as_tensor(data, dtype=None):
    """Like :func:`tensor` but shares memory with a NumPy array when possible."""
    if isinstance(data, Tensor) and (dtype is None or data.dtype == backend.as_dtype(dtype)):
        return data
    return Tensor(data, dtype=dtype)


# --- torch-idioms: from_numpy, is_tensor, is_floating_point, numel

def from_numpy(array):
    """A tensor that shares memory with the NumPy array ``array`` (writes show in both), as ``torch.from_numpy``."""
    if not backend.is_array(array):
        raise TypeError(f"from_numpy: expected a NumPy ndarray, got {type(array).__name__}")
    if array.dtype.kind not in "fiub":
        raise TypeError(f"from_numpy: unsupported dtype {array.dtype} (floating, integer and bool arrays only)")
    return Tensor._wrap(array, False, None)


def is_tensor(obj):
    """True when ``obj`` is a shendu Tensor (or a Parameter)."""
    return isinstance(obj, Tensor)


def is_floating_point(t):
    """True for a tensor of a floating dtype."""
    return t.is_floating_point()


def numel(t):
    """The number of elements of ``t``."""
    return t.numel()


def _float(dtype):
    return backend.get_default_dtype() if dtype is None else backend.as_dtype(dtype)


def _leaf(array, requires_grad, op):
    """A new leaf tensor; only floating tensors may require grad."""
    if requires_grad and array.dtype.kind != "f":
        raise TypeError(f"{op}: only floating tensors can require grad, got dtype {array.dtype}")
    return Tensor._wrap(array, bool(requires_grad), None)


def _random_float(dtype, op):
    d = _float(dtype)
    if d.kind != "f":
        raise TypeError(f"{op}: expected a floating dtype, got {d}")
    return d


def _shape(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


@_placed
def zeros(*shape, dtype=None, requires_grad=False):
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return _leaf(xp.zeros(_shape(shape), dtype=_float(dtype)), requires_grad, "zeros")


@_placed
def ones(*shape, dtype=None, requires_grad=False):
    """A tensor of ones."""
    return _leaf(xp.ones(_shape(shape), dtype=_float(dtype)), requires_grad, "ones")


@_placed
def empty(*shape, dtype=None, requires_grad=False):
    """An uninitialised tensor (fast; its values are garbage)."""
    return _leaf(xp.empty(_shape(shape), dtype=_float(dtype)), requires_grad, "empty")


@_placed
def full(shape, fill_value, dtype=None, requires_grad=False):
    """A tensor filled with ``fill_value``; the dtype follows the value unless given."""
    if dtype is None:
        dtype = _infer_dtype(fill_value, None)
    shape = (shape,) if isinstance(shape, numbers.Integral) else tuple(shape)
    return _leaf(xp.full(shape, fill_value, dtype=backend.as_dtype(dtype)), requires_grad, "full")


@_placed
def arange(start, stop=None, step=1, dtype=None, requires_grad=False, **kw):
    """Evenly spaced values in [start, stop); int64 for integer arguments (``end=`` is PyTorch's ``stop``).

    With an integer ``dtype`` and float arguments the values are PyTorch's:
    start and step are truncated to integers, x_i = int(start) + i·int(step);
    for int64 the end is truncated too and n = ⌈(int(stop) − int(start)) / int(step)⌉,
    for the narrower integer dtypes n = ⌈(stop − start) / step⌉ (NumPy would
    round differently).
    """
    stop = kw.pop("end", stop)
    if kw:
        raise TypeError(f"arange: unexpected keyword arguments {sorted(kw)}")
    if stop is None:
        start, stop = 0, start
    ints = all(isinstance(v, numbers.Integral) for v in (start, stop, step))
    if dtype is None:
        dtype = backend.int64 if ints else backend.get_default_dtype()
    dtype = backend.as_dtype(dtype)
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if dtype.kind not in "iu" or ints:
        return _leaf(xp.arange(start, stop, step, dtype=dtype), requires_grad, "arange")
    first, stride = builtins.int(start), builtins.int(step)  # PyTorch truncates to the integer type
    if dtype == backend.int64:
        if stride == 0:
            raise ValueError(f"arange: step {step} truncates to 0 for dtype int64")
        n = -(-(builtins.int(stop) - first) // stride)
    else:
        n = math.ceil((stop - start) / step)
    values = first + stride * xp.arange(builtins.max(n, 0), dtype=backend.int64)
    return _leaf(values.astype(dtype), requires_grad, "arange")


@_placed
def linspace(start, stop, num=50, dtype=None, requires_grad=False, **kw):
    """``num`` evenly spaced values from start to stop inclusive (``end=``/``steps=`` are PyTorch's names).

    With an integer ``dtype`` the values are PyTorch's: start and stop are
    truncated to integers, the step h = (stop − start)/(num − 1) stays a
    float, x_i = start + h·i for the first half and stop − h·(num − 1 − i)
    for the second, each truncated toward zero.
    """
    stop, num = kw.pop("end", stop), kw.pop("steps", num)
    if kw:
        raise TypeError(f"linspace: unexpected keyword arguments {sorted(kw)}")
    dtype = _float(dtype)
    if dtype.kind not in "iu":
        return _leaf(xp.linspace(start, stop, num, dtype=dtype), requires_grad, "linspace")
    a, b = builtins.int(start), builtins.int(stop)
    h = (b - a) / (num - 1) if num > 1 else 0.0
    i = xp.arange(num)
    values = xp.where(i < num // 2, a + h * i, b - h * (num - 1 - i))
    return _leaf(xp.trunc(values).astype(dtype), requires_grad, "linspace")


@_placed
def eye(n, m=None, dtype=None, requires_grad=False):
    """The identity matrix (n × m)."""
    return _leaf(xp.eye(n, m, dtype=_float(dtype)), requires_grad, "eye")


@_placed
def rand(*shape, dtype=None, requires_grad=False):
    """Uniform samples in [0, 1) from the generator that :func:`manual_seed` seeds."""
    d = _random_float(dtype, "rand")
    native = d if d in (backend.float32, backend.float64) else None  # the Generator makes only these two
    sample = backend.rng().random(_shape(shape), dtype=native)
    return _leaf(sample.astype(d, copy=False), requires_grad, "rand")


@_placed
def randn(*shape, dtype=None, requires_grad=False):
    """Standard normal samples from the generator that :func:`manual_seed` seeds."""
    d = _random_float(dtype, "randn")
    native = d if d in (backend.float32, backend.float64) else None
    sample = backend.rng().standard_normal(_shape(shape), dtype=native)
    return _leaf(sample.astype(d, copy=False), requires_grad, "randn")


@_placed
def randint(low, high=None, size=(), dtype=None):
    """Random integers in [low, high)."""
    if high is None:
        low, high = 0, low
    size = (size,) if isinstance(size, numbers.Integral) else tuple(size)
    sample = backend.rng().integers(low, high, size)
    return Tensor._wrap(sample.astype(backend.as_dtype(dtype or backend.int64)), False, None)


def _like(fn):
    def like(t, dtype=None, requires_grad=False, **kw):
        return fn(t.shape, dtype=t.dtype if dtype is None else dtype, requires_grad=requires_grad, **kw)
    like.__name__ = fn.__name__ + "_like"
    like.__doc__ = f"``{fn.__name__}`` with the shape (and by default the dtype) of ``t``."
    return like


zeros_like = _like(zeros)
ones_like = _like(ones)
empty_like = _like(empty)
rand_like = _like(rand)
randn_like = _like(randn)


@_placed
def full_like(t, fill_value, dtype=None, requires_grad=False):
    """``full`` with the shape (and by default the dtype) of ``t``."""
    return full(t.shape, fill_value, dtype=t.dtype if dtype is None else dtype, requires_grad=requires_grad)


from . import autograd  # noqa: E402
from . import ops  # noqa: E402  (ops-select: ops.scan.all/any for Tensor.all/any, names that shadow builtins)
from .ops import *  # noqa: E402,F401,F403  (the operators above call these)
from .ops import abs, max, min, pow, sum  # noqa: E402  (names that shadow builtins, on purpose)
from .ops.indexing import plain_key  # noqa: E402
