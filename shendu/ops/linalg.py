"""Matrix products: batched ``matmul`` and the fused ``linear`` (x·Wᵀ + b)."""
from __future__ import annotations

from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from ._util import binary_operands
from .elementwise import (Relu, Sigmoid, Tanh, relu_grad, relu_in_place, sigmoid_array, sigmoid_grad, tanh_grad,
                          tanh_in_place)


class MatMul(Function):
    """y = a @ b (batched, with broadcasting of the batch axes, NumPy's 1-D rules).

    dL/da = g @ bᵀ,  dL/db = aᵀ @ g   (ᵀ swaps the last two axes).
    """

    __slots__ = ("a", "b")
    saved_inputs = (0, 1)

    def saves_input(self, i):  # a is needed only for b's gradient, and b for a's
        return self.inputs[1 - i].requires_grad


    def forward(self, a, b):
        self.a, self.b = a, b
        if a.ndim > 2 and b.ndim == 2:  # (..., K) @ (K, N): one GEMM, not one per leading index
            return backend.matmul(a.reshape(-1, a.shape[-1]), b).reshape(*a.shape[:-1], b.shape[1])
        return backend.matmul(a, b)

    def backward(self, g):
        ia, ib = self.inputs
        a, b = self.a, self.b
        if a.ndim > 2 and b.ndim == 2:  # the folded product's gradients, again one GEMM each
            a2, g2 = a.reshape(-1, a.shape[-1]), g.reshape(-1, g.shape[-1])
            return (backend.matmul(g2, b.T).reshape(a.shape) if ia.requires_grad else None,
                    backend.matmul(a2.T, g2) if ib.requires_grad else None)
        a1, b1 = a.ndim == 1, b.ndim == 1
        if a1 and b1:  # the dot product of two vectors: g is a scalar
            return (g * b if ia.requires_grad else None, g * a if ib.requires_grad else None)
        if a1:
            a = a.reshape(1, -1)
            g = g[..., None, :]
        if b1:
            b = b.reshape(-1, 1)
            g = g[..., None]
        ga = gb = None
        if ia.requires_grad:
            ga = backend.matmul(g, b.swapaxes(-1, -2))
            if a1:
                ga = ga[..., 0, :]
        if ib.requires_grad:
            gb = backend.matmul(a.swapaxes(-1, -2), g)
            if b1:
                gb = gb[..., 0]
        return ga, gb

    @classmethod
    def describe_error(cls, shapes, options, exc):
        return f"matmul: cannot multiply {shapes[0]} by {shapes[1]}"


def _affine(x, w, b):
    """x Wᵀ + b as a fresh array: oneDNN's matmul with the bias fused in its epilogue where it runs, else one
    BLAS GEMM over all leading axes and an in-place pass (never a temporary the size of y)."""
    flat = x.ndim != 2
    rows = x.reshape(-1, x.shape[-1]) if flat else x  # one GEMM over all leading axes, not one per leading index
    fast = backend.fast_kernels()
    y = None if fast is None else fast.linear_forward(rows, w, b)
    if y is None:
        y = backend.matmul(rows, w.T)
        if b is not None:
            row = y[0] if y.shape[0] == 1 else y  # one row (batch-1 inference) as a vector: NumPy's broadcast of
            row += b                               # b over a size-1 axis costs as much as the add itself
    return y.reshape(*x.shape[:-1], w.shape[0]) if flat else y


class Linear(Function):
    """y = x Wᵀ + b for x (..., in), W (out, in), b (out,) — the dense layer's
    affine map as one node.

    dL/dx = g W,  dL/dW = gᵀ x (summed over all leading axes),  dL/db = Σ g.
    """

    __slots__ = ("x", "w", "has_bias")
    saved_inputs = (0, 1)

    def saves_input(self, i):  # x for W's gradient, W for x's; never the bias
        return i < 2 and self.inputs[1 - i].requires_grad

    #: an element-wise activation applied in place on the product (:class:`LinearReLU`, ...), or None
    activate = None

    def forward(self, x, w, b=None):
        self.x, self.w, self.has_bias = x, w, b is not None
        y = _affine(x, w, b)
        return y if self.activate is None else self.activate(y)

    @classmethod
    def infer(cls, x, w, b=None):
        """The forward on tensors when no graph is recorded (under ``no_grad``): the same kernel, with no
        node — batch-1 inference is Python-bound and ``apply``'s bookkeeping was a tenth of it
        (bench/NOTES.md §14). The caller checks that grad mode is off and the shapes fit."""
        y = _affine(x.data, w.data, None if b is None else b.data)
        return Tensor._wrap(y if cls.activate is None else cls.activate(y), False, None)

    def backward(self, g):
        x, w = self.x, self.w
        ix, iw = self.inputs[0], self.inputs[1]
        g2, x2 = (g, x) if g.ndim == 2 else (g.reshape(-1, g.shape[-1]), x.reshape(-1, x.shape[-1]))
        fast = backend.fast_kernels()
        gx, gw = (None, None) if fast is None else fast.linear_backward(g2, x2, w, ix.requires_grad, iw.requires_grad)
        if ix.requires_grad:  # gx = g W (oneDNN's matmul above, else NumPy's BLAS here)
            gx = backend.matmul(g2, w) if gx is None else gx
            if g.ndim != 2:
                gx = gx.reshape(x.shape)
        gb = None
        if iw.requires_grad and gw is None:  # gw = gᵀ x, summed over all leading axes
            gw = backend.matmul(g2.T, x2)
        if self.has_bias and self.inputs[2].requires_grad:
            gb = backend.sum_rows(g2)
        return (gx, gw, gb) if self.has_bias else (gx, gw)

    @classmethod
    def describe_error(cls, shapes, options, exc):
        x, w = shapes[0], shapes[1]
        if len(w) != 2:
            return f"linear: expected a weight of 2 dimensions (out_features, in_features), got shape {w}"
        if not x or x[-1] != w[1]:
            return (f"linear: input of shape {x} does not fit weight of shape {w} "
                    f"(expected the input's last dimension to be {w[1]})")
        if len(shapes) > 2:
            return f"linear: bias of shape {shapes[2]} does not fit weight of shape {w} (expected ({w[0]},))"
        return f"linear: input of shape {x}, weight of shape {w}: {exc}"


class _LinearThen(Linear):
    """A dense layer and the element-wise activation after it as one node: y = f(x Wᵀ + b), f applied in
    place on the product, so no second array, no second node.
    Backward: dL/dz = g · f′(z), written with y (for ReLU, tanh and σ the output gives f′), then
    :class:`Linear`'s gradients of z. Same shapes and options as :class:`Linear`.

    Why fused: a small network's step is Python-bound, and each node costs its ``apply``, its module
    call and the engine's bookkeeping (bench/NOTES.md §15); a large one saves a pass over memory.
    """

    __slots__ = ("y",)
    saves_output = True  # backward reads y
    #: the activation's own Function (what an exporter or a drawing shows after the dense layer)
    activation = None

    def forward(self, x, w, b=None):
        self.y = Linear.forward(self, x, w, b)  # not super(): a small layer's step is Python-bound
        return self.y

    def backward(self, g):
        return Linear.backward(self, self.activation_grad(g, self.y))


class LinearReLU(_LinearThen):
    """y = max(x Wᵀ + b, 0), the ReLU in place on the product.  dL/dz = g · [not y ≤ 0]."""

    __slots__ = ()
    activation = Relu
    activate = staticmethod(relu_in_place)
    activation_grad = staticmethod(relu_grad)


class LinearTanh(_LinearThen):
    """y = tanh(x Wᵀ + b), tanh in place on the product.  dL/dz = g · (1 − y²)."""

    __slots__ = ()
    activation = Tanh
    activate = staticmethod(tanh_in_place)
    activation_grad = staticmethod(tanh_grad)


class LinearSigmoid(_LinearThen):
    """y = σ(x Wᵀ + b) (the stable :func:`~shendu.ops.elementwise.sigmoid_array`).  dL/dz = g · y(1 − y)."""

    __slots__ = ()
    activation = Sigmoid
    activate = staticmethod(sigmoid_array)
    activation_grad = staticmethod(sigmoid_grad)


def matmul(a, b):
    """Matrix product with NumPy's rules: 2-D @ 2-D, batched N-D with broadcasting, 1-D vectors."""
    a, b = binary_operands(a, b)
    if a.data.dtype.kind == "b":
        raise RuntimeError(f"matmul: not implemented for bool tensors (got {a.dtype} @ {b.dtype}), as in "
                           f"PyTorch; convert them first, e.g. a.int() @ b.int() or a.float() @ b.float()")
    if a.data.ndim == 0 or b.data.ndim == 0:
        raise ValueError(f"matmul: both operands need at least one dimension, got {a.shape} and {b.shape}")
    return MatMul.apply(a, b)


#: The activations :func:`linear` can fuse into the product (``activation=``), and the Function of each.
FUSED_ACTIVATIONS = {None: Linear, "relu": LinearReLU, "tanh": LinearTanh, "sigmoid": LinearSigmoid}


def linear(x, weight, bias=None, activation=None):
    """y = x Wᵀ + b, or y = activation(x Wᵀ + b) computed as one op.

    ``activation``: None, ``'relu'``, ``'tanh'`` or ``'sigmoid'``: f(x Wᵀ + b) in one node
    (:class:`LinearReLU`, :class:`LinearTanh`, :class:`LinearSigmoid`: f in place on the product),
    equal to ``f(linear(x, weight, bias))`` with the same gradients.

    Shape: x (..., in_features), weight (out_features, in_features),
    bias (out_features,) -> y (..., out_features).
    """
    fn = FUSED_ACTIVATIONS.get(activation)
    if fn is None:
        raise ValueError(f"linear: activation must be one of {sorted(k for k in FUSED_ACTIVATIONS if k)} or None, "
                         f"got {activation!r}")
    if bias is None:
        return fn.apply(x, weight)
    return fn.apply(x, weight, bias)


dot = matmul
