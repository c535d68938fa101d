"""Reverse-mode automatic differentiation, define-by-run.

Every differentiable operation is a :class:`Function` subclass with a
``forward`` that computes the result from plain arrays and saves what its
``backward`` needs, and a ``backward`` that maps the gradient of the output
to the gradients of the inputs (the chain rule, one local rule per op)::

    class Mul(Function):
        __slots__ = ("a", "b")
        def forward(self, a, b):
            self.a, self.b = a, b
            return a * b
        def backward(self, g):               # dL/da = g*b, dL/db = g*a
            return g * self.b, g * self.a

:func:`backward` then does what micrograd does, on arrays: sort the graph
topologically once, seed the output gradient, walk the nodes in reverse order
and accumulate. Gradients of broadcast inputs are summed back to the input's
shape here, in one place (:func:`unbroadcast`), so no op re-implements it.

Only first-order gradients are supported: backward runs on plain arrays and
builds no graph (higher-order gradients are out of scope, see docs/autograd.md).
"""
from __future__ import annotations

import functools

from . import backend

_grad_enabled = True


def is_grad_enabled() -> bool:
    """True unless inside :class:`no_grad`."""
    return _grad_enabled


class no_grad:
    """Context manager and decorator that records no graph (inference, updates).

    >>> with shendu.no_grad():
    ...     y = model(x)          # y.requires_grad is False, nothing is saved

    As a decorator it may be written ``@shendu.no_grad()`` or ``@shendu.no_grad``.
    """

    __slots__ = ("prev",)

    def __new__(cls, fn=None):
        self = super().__new__(cls)
        return self if fn is None else self(fn)

    def __enter__(self):
        global _grad_enabled
        self.prev = _grad_enabled
        _grad_enabled = False
        return self

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self.prev
        return False

    def __call__(self, fn):
        mode = type(self)  # no_grad, or enable_grad for the subclass

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with mode():
                return fn(*args, **kwargs)
        return wrapper


class enable_grad(no_grad):
    """Context manager (and decorator) that turns graph recording back on inside ``no_grad``."""

    __slots__ = ()

    def __enter__(self):
        global _grad_enabled
        self.prev = _grad_enabled
        _grad_enabled = True
        return self


class Function:
    """A node of the graph: one operation's forward and backward.

    Subclasses implement ``forward(*arrays, **options) -> array`` and
    ``backward(grad) -> grad or tuple of grads`` (one per tensor input, ``None``
    where no gradient flows). ``inputs`` holds the input tensors once the node
    is recorded. Use ``Cls.apply(*tensors, **options)``.
    """

    __slots__ = ("inputs",)

    def forward(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad):  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **kwargs):
        """Run forward on the inputs' arrays and record the node if needed."""
        fn = cls()
        n = len(inputs)
        try:  # one to three inputs go without building a list (~0.25 µs of apply's ~1 µs)
            if n == 1:
                out = fn.forward(inputs[0].data, **kwargs)
            elif n == 2:
                out = fn.forward(inputs[0].data, inputs[1].data, **kwargs)
            elif n == 3:
                out = fn.forward(inputs[0].data, inputs[1].data, inputs[2].data, **kwargs)
            else:
                out = fn.forward(*[t.data for t in inputs], **kwargs)
        except (ValueError, IndexError) as exc:  # zero-cost until raised
            raise _reworded(exc, cls.describe_error([t.data.shape for t in inputs], kwargs, exc)) from exc
        if isinstance(out, _scalar_type):  # NumPy ufuncs turn 0-d arrays into scalars
            out = _asarray(out)
        if _grad_enabled:
            for t in inputs:
                if t.requires_grad:
                    fn.inputs = inputs
                    return Tensor._wrap(out, True, fn)
        return Tensor._wrap(out, False, None)

    @classmethod
    def describe_error(cls, shapes, options, exc):
        """The message for a forward that failed: the op's name, the input shapes, the cause."""
        return f"{cls.__name__.lower()}: inputs of shapes {', '.join(map(str, shapes))}: {exc}"

    def __repr__(self):
        return f"<{type(self).__name__}>"


_scalar_type = backend.xp.generic
_asarray = backend.xp.asarray


def _reworded(exc, message):
    """``exc``'s type with ``message`` (a ValueError if that type needs other arguments)."""
    try:
        return type(exc)(message)
    except Exception:  # pragma: no cover - exotic exception types
        return ValueError(message)


class _Released(Function):
    """Marks a node whose saved arrays were freed by a backward pass."""

    __slots__ = ()


RELEASED = _Released()


def unbroadcast(grad, shape):
    """Sum ``grad`` back to ``shape`` (the reverse of broadcasting).

    Broadcasting prepends size-1 axes and repeats size-1 axes; the gradient of
    a repeated value is the sum of the gradients of its copies.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra < 0:
        # A scalar gradient for a larger input (cannot happen through
        # broadcasting, but an op may legitimately return a 0-d grad).
        return backend.get_array_module(grad).broadcast_to(grad, shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    if extra:
        grad = grad.reshape(shape)
    return grad


def graph_order(roots, leaves=False):
    """The graph under ``roots`` in topological order: each tensor after the tensors it was computed from.

    A depth-first post-order of the tensors that have a node: :func:`backward`
    walks it in reverse, the ONNX exporter forwards. The leaves of the graph
    (tensors without a node, or whose ``requires_grad`` is off) are in it only
    with ``leaves=True``, each before the first tensor computed from it.
    Raises RuntimeError on a graph that a previous backward freed.

    >>> x = shendu.tensor([1.0, 2.0], requires_grad=True)
    >>> [type(t._ctx).__name__ for t in graph_order([(x * 2).sum()])]
    ['Mul', 'Sum']
    """
    order, seen = [], set()
    for root in roots:
        stack = [(root, False)]
        while stack:
            t, expanded = stack.pop()
            if expanded:
                order.append(t)
                continue
            if id(t) in seen:
                continue
            seen.add(id(t))
            fn = t._ctx
            if fn is None or not t.requires_grad:
                if leaves:
                    order.append(t)
                continue
            if fn is RELEASED:
                raise RuntimeError(
                    "backward: trying to backpropagate through a graph that a previous "
                    "backward() already freed; call the first backward(retain_graph=True) "
                    "if you need to backpropagate through it twice, or recompute the forward pass")
            stack.append((t, True))
            for p in fn.inputs:
                if p._ctx is None:  # a leaf needs no trip through the stack (backward is the hot path)
                    if leaves and id(p) not in seen:
                        seen.add(id(p))
                        order.append(p)
                elif id(p) not in seen:
                    stack.append((p, False))
    return order


def backward(root, grad=None, retain_graph=False):
    """Backpropagate from ``root``: accumulate d(root)/d(leaf) into each leaf's ``.grad``.

    ``grad`` is the gradient of some scalar with respect to ``root`` (defaults
    to 1 for a scalar root). Non-leaf tensors keep no gradient unless
    :meth:`Tensor.retain_grad` was called on them.
    """
    if not root.requires_grad:
        raise RuntimeError(
            "backward: this tensor does not require grad and has no graph; create "
            "the leaves with requires_grad=True (and do not compute it under no_grad)")
    xp = backend.get_array_module(root.data)
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward: grad can be implicitly created only for a scalar output, "
                f"got shape {root.shape}; call .sum() or .mean() first, or pass "
                f"backward(grad=...) of the same shape")
        g = xp.ones(root.shape, dtype=root.data.dtype)
    else:
        g = grad.data if isinstance(grad, Tensor) else xp.asarray(grad, dtype=root.data.dtype)
        if g.shape != root.shape:
            raise ValueError(f"backward: grad has shape {g.shape} but the tensor has shape {root.shape}")
    if root._ctx is None:  # a leaf: its gradient is grad itself (copied, never aliased)
        _accumulate(root, g, g)
        return
    grads = {id(root): g}
    stored = set()  # ids of arrays handed to leaves in this pass: one array never serves two leaves
    for t in reversed(graph_order((root,))):
        g = grads.pop(id(t), None)
        if g is None:
            continue
        if t._retains_grad:
            _accumulate(t, g, g)
        fn = t._ctx
        in_grads = fn.backward(g)
        if not retain_graph:
            t._ctx = RELEASED
        if type(in_grads) is not tuple:
            in_grads = (in_grads,)
        for inp, ig in zip(fn.inputs, in_grads):
            if ig is None or not inp.requires_grad:
                continue
            data = inp.data
            if ig.shape != data.shape:
                ig = unbroadcast(ig, data.shape)
            if ig.dtype != data.dtype:
                ig = ig.astype(data.dtype)
            if inp._ctx is None:
                _accumulate(inp, ig, g, stored)
            else:
                k = id(inp)
                prev = grads.get(k)
                grads[k] = ig if prev is None else prev + ig


def _accumulate(leaf, g, upstream, stored=None):
    """``leaf.grad += g``; the stored array never aliases another tensor's gradient: not the
    upstream gradient, not a view, not an array already handed to another leaf in this pass
    (``stored``: their ids). It is always an array, never a NumPy scalar."""
    if (g is upstream or g.base is not None or isinstance(g, _scalar_type)
            or stored is not None and id(g) in stored):
        g = backend.get_array_module(g).array(g)
    if leaf.grad is None:
        leaf.grad = Tensor._wrap(g, False, None)
    else:
        total = leaf.grad.data + g
        leaf.grad.data = _asarray(total) if isinstance(total, _scalar_type) else total
    if stored is not None:
        stored.add(id(leaf.grad.data))


from .tensor import Tensor  # noqa: E402  (Tensor needs Function; Function needs Tensor)
