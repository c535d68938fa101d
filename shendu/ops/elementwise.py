"""Element-wise math: exp, log, sqrt, abs, tanh, sigmoid, relu, clip, maximum,
minimum, where, and comparisons (which return bool tensors and no gradient)."""
from __future__ import annotations

from .. import backend
from ..autograd import Function, is_grad_enabled
from ..backend import flat_view, get_array_module
from ..parallel import parallel_batch
from ..tensor import Tensor
from ._util import binary_operands, floating


class Exp(Function):
    """y = eˣ;  dy/dx = y."""

    __slots__ = ("y",)
    saved_inputs = ()  # backward uses the output
    saves_output = True

    def forward(self, x):
        self.y = get_array_module(x).exp(x)
        return self.y

    def backward(self, g):
        return g * self.y


class Log(Function):
    """y = ln x;  dy/dx = 1/x."""

    __slots__ = ("x",)

    def forward(self, x):
        self.x = x
        return get_array_module(x).log(x)

    def backward(self, g):
        return g / self.x


class Sqrt(Function):
    """y = √x;  dy/dx = 1/(2y)."""

    __slots__ = ("y",)
    saved_inputs = ()  # backward uses the output
    saves_output = True

    def forward(self, x):
        self.y = get_array_module(x).sqrt(x)
        return self.y

    def backward(self, g):
        return g / (2 * self.y)


class Abs(Function):
    """y = |x|;  dy/dx = sign(x) (0 at 0, as PyTorch)."""

    __slots__ = ("x",)

    def forward(self, x):
        self.x = x
        return get_array_module(x).abs(x)

    def backward(self, g):
        return g * get_array_module(g).sign(self.x)


class Tanh(Function):
    """y = tanh x;  dy/dx = 1 − y²."""

    __slots__ = ("y",)
    saved_inputs = ()  # backward uses the output
    saves_output = True

    def forward(self, x):
        self.y = get_array_module(x).tanh(x)
        return self.y

    def backward(self, g):
        return tanh_grad(g, self.y)


def tanh_in_place(x):
    """x ← tanh x, in place (the activation a dense layer fuses: no second array)."""
    return get_array_module(x).tanh(x, out=x)


def tanh_grad(g, y):
    """dL/dx = g · (1 − y²) for y = tanh x (:class:`Tanh`, and the dense layer that ends in one)."""
    d = 1 - y * y
    d *= g  # in place: one array fewer (small steps are Python-bound); a 0-d y gives scalars, rebound here
    return d


def sigmoid_array(x):
    """σ(x) on an array, never overflowing: σ(x) = e^min(x, 0) / (e^min(x, 0) + e^−max(x, 0)),
    i.e. 1/(1 + e⁻ˣ) for x ≥ 0 and eˣ/(eˣ + 1) below; both exponents are ≤ 0."""
    if x.ndim == 0:  # NumPy returns 0-d results as scalars, which the in-place steps below cannot write to
        return sigmoid_array(x.reshape(1)).reshape(())
    xp = get_array_module(x)
    num = xp.minimum(x, 0.0)  # floating for integer x too
    xp.exp(num, out=num)
    den = xp.maximum(x, 0.0)
    xp.negative(den, out=den)  # in place, and no select: np.where costs more than a second exp
    xp.exp(den, out=den)
    den += num
    return xp.divide(num, den, out=num)


class Sigmoid(Function):
    """y = σ(x) = 1 / (1 + e⁻ˣ);  dy/dx = y(1 − y). Stable for large |x| (see :func:`sigmoid_array`)."""

    __slots__ = ("y",)
    saved_inputs = ()  # backward uses the output
    saves_output = True

    def forward(self, x):
        self.y = sigmoid_array(x)
        return self.y

    def backward(self, g):
        return sigmoid_grad(g, self.y)


def sigmoid_grad(g, y):
    """dL/dx = g · y(1 − y) for y = σ(x) (:class:`Sigmoid`, and the dense layer that ends in one)."""
    d = get_array_module(y).subtract(1, y)
    d *= y
    d *= g
    return d


_SMALL_INFERENCE = 4096  # elements: up to this size a Relu under no_grad is one np.maximum call
_RELU_CHUNK = 1 << 16  # numbers compared with one cached zeros vector (256 KiB of float32: it stays in cache)
_relu_zeros = {}  # dtype -> that zeros vector


def relu_into(x, y):
    """y ← max(x, 0) (NumPy's ``maximum``: a NaN kept) for x and y of one shape and memory layout (y may be x).

    NumPy 2.4's ``maximum`` of an array and a scalar runs a loop several times slower than of two arrays
    (10 µs against 1.7 µs for 32,768 float32s on the AVX-512 EPYC; 0.18 against 0.06 ms for LeNet-5's first
    activation): the arrays' memory is compared, 64k numbers at a time, with one cached zeros vector.
    """
    xp = get_array_module(x)  # the chunks for NumPy only (CuPy's scalar loop is fast)
    fx = flat_view(x) if x.size > _SMALL_INFERENCE and xp is backend.xp else None
    fy = None if fx is None else fx if y is x else flat_view(y)
    if fy is None or x.strides != y.strides:  # small, strided, or laid out differently: one plain call
        return xp.maximum(x, x.dtype.type(0), out=y)
    zeros = _relu_zeros.get(x.dtype)
    if zeros is None:
        zeros = _relu_zeros[x.dtype] = xp.zeros(_RELU_CHUNK, x.dtype)
    n = fx.size
    for start in range(0, n, _RELU_CHUNK):
        stop = min(start + _RELU_CHUNK, n)
        xp.maximum(fx[start:stop], zeros[:stop - start], out=fy[start:stop])
    return y


class Relu(Function):
    """y = max(x, 0);  dy/dx = 0 where x ≤ 0, else 1 (so a NaN passes its gradient, as in PyTorch)."""

    __slots__ = ("mask", "y")
    saved_inputs = ()  # backward uses a mask made in forward, or y on oneDNN
    saves_output = True  # as PyTorch's ReluBackward (which uses y): y changed in place refuses backward

    def forward(self, x):
        xp = get_array_module(x)
        if not is_grad_enabled():  # no backward will need a mask
            if x.size <= _SMALL_INFERENCE:
                return xp.maximum(x, x.dtype.type(0))
            y = xp.empty_like(x)
            parallel_batch(relu_into, x, y)
            return y
        if x.size > _SMALL_INFERENCE and x.dtype == xp.float32 and backend.fast_kernels() is not None:
            # no mask: oneDNN's ReLU backward reads y (y > 0 exactly where x > 0) in one pass
            self.mask, self.y = None, xp.empty_like(x)
            parallel_batch(relu_into, x, self.y)
            return self.y
        # mask and y in x's memory layout (channels-last after a oneDNN convolution): a C-order mask made
        # every pass over it a transposing copy, and handed the convolution's backward a C-order gradient
        self.mask, y = xp.empty_like(x, dtype=bool), xp.empty_like(x)

        def relu_and_mask(x, mask, y):
            xp.less_equal(x, 0, out=mask)  # the mask is "not x ≤ 0", as PyTorch's: a NaN passes its gradient
            xp.logical_not(mask, out=mask)
            # x * mask is ~25 % faster above ~8k elements (AVX2, NumPy 2.4) but turns −inf into NaN (−inf · 0).
            relu_into(x, y)

        parallel_batch(relu_and_mask, x, self.mask, y)
        return y

    def backward(self, g):
        if self.mask is None:  # the forward kept y for oneDNN's backward
            return relu_grad(g, self.y)
        return _masked(g, self.mask)


def relu_in_place(y):
    """y ← max(y, 0), a NaN kept (NumPy's ``maximum``; oneDNN's ReLU would turn it into 0), split over the
    batch across threads for large arrays: the ReLU a dense or convolution layer fuses."""
    if y.size <= _SMALL_INFERENCE:
        return get_array_module(y).maximum(y, 0.0, out=y)  # a Python float: faster than a NumPy scalar here
    parallel_batch(lambda part: relu_into(part, part), y)
    return y


def relu_grad(g, y):
    """dL/dx = g where not y ≤ 0, else 0, for y = max(x, 0) (y ≤ 0 exactly where x ≤ 0, and a NaN passes its
    gradient, as in PyTorch), in y's memory layout: oneDNN's ReLU backward in one pass where it runs, else a
    mask and a product (:class:`Relu`, and the layers that end in one)."""
    fast = backend.fast_kernels()
    gx = None if fast is None else fast.relu_backward(y, g)
    return _masked(g, ~(y <= 0)) if gx is None else gx


def _masked(g, mask):
    """g · mask in the mask's memory layout (the forward's: channels-last after a convolution), whatever g's."""
    xp = get_array_module(g)
    gx = xp.empty_like(mask, dtype=g.dtype)
    parallel_batch(lambda g, mask, gx: xp.multiply(g, mask, out=gx), g, mask, gx)
    return gx


class Clip(Function):
    """y = min(max(x, lo), hi);  dy/dx = 1 where lo ≤ x ≤ hi (PyTorch's clamp)."""

    __slots__ = ("mask",)
    saved_inputs = ()  # backward uses a mask made in forward

    def forward(self, x, lo, hi):
        xp = get_array_module(x)
        mask = True
        if lo is not None:
            mask = x >= lo
        if hi is not None:
            mask = mask & (x <= hi)
        self.mask = mask
        return xp.clip(x, lo, hi)

    def backward(self, g):
        return g * self.mask


class ClipTensor(Function):
    """y = min(max(x, lo), hi) with tensor bounds (either may be absent), as PyTorch's clamp:
    dy/dx = 1 where lo ≤ x ≤ hi; dy/dlo = 1 where x < lo (and lo < hi); dy/dhi = 1 where
    x > hi (or hi < lo, where y = hi)."""

    __slots__ = ("x", "lo", "hi")

    def forward(self, x, *bounds, has_lo, has_hi):
        xp = get_array_module(x)
        self.x = x
        self.lo = bounds[0] if has_lo else None
        self.hi = bounds[-1] if has_hi else None
        y = x if self.lo is None else xp.maximum(x, self.lo)
        return y if self.hi is None else xp.minimum(y, self.hi)

    def backward(self, g):
        xp = get_array_module(g)
        x, lo, hi = self.x, self.lo, self.hi
        zero = xp.zeros((), dtype=g.dtype)
        inside = True
        grads = []
        if lo is not None:
            inside = x >= lo
            grads.append(xp.where((x < lo) & (True if hi is None else lo < hi), g, zero))
        if hi is not None:
            inside = inside & (x <= hi)
            grads.append(xp.where((x > hi) | (False if lo is None else hi < lo), g, zero))
        return (xp.where(inside, g, zero), *grads)


class Maximum(Function):
    """y = max(a, b) element-wise; the gradient goes to the larger input, halved on ties."""

    __slots__ = ("wa",)
    saved_inputs = ()  # backward uses a mask made in forward

    def forward(self, a, b):
        xp = get_array_module(a)
        self.wa = xp.where(a == b, a.dtype.type(0.5), (a > b).astype(a.dtype))
        return xp.maximum(a, b)

    def backward(self, g):
        ga = g * self.wa
        return ga, g - ga


class Minimum(Function):
    """y = min(a, b) element-wise; the gradient goes to the smaller input, halved on ties."""

    __slots__ = ("wa",)
    saved_inputs = ()  # backward uses a mask made in forward

    def forward(self, a, b):
        xp = get_array_module(a)
        self.wa = xp.where(a == b, a.dtype.type(0.5), (a < b).astype(a.dtype))
        return xp.minimum(a, b)

    def backward(self, g):
        ga = g * self.wa
        return ga, g - ga


class Where(Function):
    """y = a where cond else b;  the gradient flows to the chosen input."""

    __slots__ = ("cond",)
    saved_inputs = ()  # backward uses a mask made in forward

    def forward(self, a, b, cond):
        self.cond = cond
        return get_array_module(a).where(cond, a, b)

    def backward(self, g):
        xp = get_array_module(g)
        zero = xp.zeros((), dtype=g.dtype)
        return xp.where(self.cond, g, zero), xp.where(self.cond, zero, g)


def exp(x):
    """eˣ element-wise (integer inputs give the default float dtype, as every floating op here)."""
    return Exp.apply(floating(x))


def log(x):
    """Natural logarithm element-wise."""
    return Log.apply(floating(x))


def sqrt(x):
    """Square root element-wise."""
    return Sqrt.apply(floating(x))


def abs(x):
    """|x| element-wise."""
    return Abs.apply(x)


def tanh(x):
    """Hyperbolic tangent element-wise."""
    return Tanh.apply(floating(x))


def sigmoid(x):
    """The logistic function σ(x) = 1 / (1 + e⁻ˣ), computed stably."""
    return Sigmoid.apply(floating(x))


def relu(x, inplace=False):
    """max(x, 0) element-wise."""
    return Relu.apply(x)


def clip(x, min=None, max=None):
    """Limit values to [min, max] (either bound may be None). Alias: ``clamp``.

    Number bounds: the gradient is 1 where min ≤ x ≤ max, else 0 (PyTorch's
    clamp). Tensor bounds broadcast and get gradient too, where they win
    (:class:`ClipTensor`).
    """
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        bounds = [b for b in (min, max) if b is not None]
        for i, b in enumerate(bounds):
            x, bounds[i] = binary_operands(x, b)
        x, bounds[0] = binary_operands(x, bounds[0])  # a later bound may have widened x's dtype
        return ClipTensor.apply(x, *bounds, has_lo=min is not None, has_hi=max is not None)
    return Clip.apply(x, lo=min, hi=max)


clamp = clip


def maximum(a, b):
    """Element-wise maximum of two tensors (or a tensor and a number)."""
    a, b = binary_operands(a, b)
    return Maximum.apply(a, b)


def minimum(a, b):
    """Element-wise minimum of two tensors (or a tensor and a number)."""
    a, b = binary_operands(a, b)
    return Minimum.apply(a, b)


def where(cond, a=None, b=None):
    """Choose ``a`` where ``cond`` is true, else ``b`` (with broadcasting).
    ``where(cond)`` alone is ``nonzero(cond, as_tuple=True)``, as in PyTorch."""
    if a is None and b is None:
        from .selection import nonzero
        return nonzero(cond, as_tuple=True)
    c = cond.data if isinstance(cond, Tensor) else cond
    a, b = binary_operands(a, b)
    xp = get_array_module(a.data)
    c = xp.asarray(c, dtype=bool)
    return Where.apply(a, b, cond=c)


def _compare(ufunc_name):
    def compare(a, b):
        a, b = binary_operands(a, b)
        xp = get_array_module(a.data)
        return Tensor._wrap(xp.asarray(getattr(xp, ufunc_name)(a.data, b.data)), False, None)
    compare.__name__ = ufunc_name
    compare.__doc__ = f"Element-wise ``{ufunc_name}`` comparison; a bool tensor without gradient."
    return compare


eq = _compare("equal")
ne = _compare("not_equal")
lt = _compare("less")
le = _compare("less_equal")
gt = _compare("greater")
ge = _compare("greater_equal")
logical_and = _compare("logical_and")
logical_or = _compare("logical_or")
not_equal, less, less_equal, greater, greater_equal = ne, lt, le, gt, ge


def equal(input, other):
    """PyTorch's ``torch.equal``: a Python bool, True when both tensors have the same shape
    and the same elements (NaN ≠ NaN). Element-wise equality is :func:`eq` (``==``)."""
    a, b = binary_operands(input, other)
    return a.data.shape == b.data.shape and bool(get_array_module(a.data).array_equal(a.data, b.data))


def logical_not(x):
    """Element-wise not of a bool tensor (``~x``)."""
    xp = get_array_module(x.data)
    return Tensor._wrap(xp.asarray(xp.logical_not(x.data)), False, None)


class Sign(Function):
    """y = sign(x) ∈ {−1, 0, 1};  dy/dx = 0 (PyTorch's choice: the gradient is zero, not missing)."""

    __slots__ = ()
    saved_inputs = ()

    def forward(self, x):
        return get_array_module(x).sign(x)

    def backward(self, g):
        return get_array_module(g).zeros_like(g)


def sign(x):
    """−1, 0 or 1 element-wise; takes part in autograd with a zero gradient."""
    return Sign.apply(x)


def isfinite(x):
    """True where x is neither infinite nor NaN."""
    xp = get_array_module(x.data)
    return Tensor._wrap(xp.asarray(xp.isfinite(x.data)), False, None)


def isnan(x):
    """True where x is NaN."""
    xp = get_array_module(x.data)
    return Tensor._wrap(xp.asarray(xp.isnan(x.data)), False, None)
