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
import threading
import weakref

from . import backend

class _Mode(threading.local):
    """The recording switches, one set per thread (as PyTorch's grad mode).

    Thread-local because a process-wide flag breaks under threads: two threads
    that each enter ``no_grad`` and leave in the other order restore each
    other's saved value and leave recording off for everyone (the playground
    trains one thread per browser tab). A new thread starts with recording on.
    """

    grad_enabled = True   # False inside no_grad
    keep_options = False  # True inside keep_options: nodes keep their forward options


_mode = _Mode()


def is_grad_enabled() -> bool:
    """True unless inside :class:`no_grad` (in this thread: the switch is per thread, as PyTorch's)."""
    return _mode.grad_enabled


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
        self.prev, _mode.grad_enabled = _mode.grad_enabled, False
        return self

    def __exit__(self, *exc):
        _mode.grad_enabled = self.prev
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
        self.prev, _mode.grad_enabled = _mode.grad_enabled, True
        return self


class Function:
    """A node of the graph: one operation's forward and backward.

    Subclasses implement ``forward(*arrays, **options)`` and ``backward(*grads)``;
    use ``Cls.apply(*tensors, **options)``.

    * One output: ``forward`` returns an array, ``backward(grad)`` returns one
      gradient per tensor input (a tuple, or the array alone for one input;
      ``None`` where no gradient flows).
    * Several outputs: ``forward`` returns a tuple of arrays and ``apply`` a
      tuple of tensors; ``backward(g_0, g_1, …)`` receives one gradient per
      output, ``None`` for an output that received none (no zeros are made:
      the op decides what a missing gradient costs). The node runs once, after
      every output's gradient is complete.

    Version counters (PyTorch's): every in-place change of a tensor bumps its
    ``_version``, and ``backward`` raises if an input the node *saved* for
    backward was modified after the node was recorded. A subclass declares
    what it saves:

    * ``saved_inputs``: the positions of the inputs whose arrays backward uses
      (``None``, the default, means all of them: the safe choice); ``()`` for
      ops that save no input (add, sub, reshape: their inputs may change
      freely). An op whose use of an input depends on which other inputs
      require grad (``a`` in ``a · b`` is needed only for ``b``'s gradient)
      overrides :meth:`saves_input` instead.
    * ``saves_output = True`` when backward uses the output array (exp's eˣ).

    (How: :func:`bump_version` stamps a changed tensor with a process-wide
    clock of in-place changes; a node records the clock when it is recorded;
    backward looks at the inputs only if the clock moved since.)

    Attributes of a recorded node: ``inputs`` (the input tensors), ``clock``
    (the clock of in-place changes when recorded), ``outputs`` (weak
    references to the output tensors of a several-output node, else None)
    and, while
    :class:`keep_options` is active, ``options`` (the keyword options of the
    forward call, what an exporter such as ONNX needs).
    """

    __slots__ = ("inputs", "clock", "outputs", "options")
    saved_inputs = None
    saves_output = False

    def forward(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, *grads):  # pragma: no cover - abstract
        raise NotImplementedError

    def saves_input(self, i):
        """Whether backward uses the array of input ``i`` (checked only when that input changed in place)."""
        saved = self.saved_inputs
        return saved is None or i in saved

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
        except AttributeError as exc:  # an array where a Tensor belongs: its .data is a memoryview
            error = NotATensorError.among(cls.__name__, inputs)
            if error is None:
                raise
            raise error from exc
        if type(out) is tuple:
            return fn._wrap_outputs(inputs, out, kwargs)
        if isinstance(out, _scalar_type):  # NumPy ufuncs turn 0-d arrays into scalars
            out = _asarray(out)
        if _mode.grad_enabled:
            for t in inputs:
                if t.requires_grad:  # record: the inputs, the clock of in-place changes, options on request
                    fn.inputs, fn.outputs, fn.clock = inputs, None, _clock
                    if _mode.keep_options:
                        fn.options = kwargs
                    return Tensor._wrap(out, True, fn)
        return Tensor._wrap(out, False, None)

    def _record(self, inputs, kwargs):
        """Keep the inputs, the clock of in-place changes and, on request, the options."""
        self.inputs, self.clock = inputs, _clock
        if _mode.keep_options:
            self.options = kwargs

    def _wrap_outputs(self, inputs, arrays, kwargs):
        """The tuple of tensors of a several-output forward (see the class docstring)."""
        arrays = [_asarray(a) if isinstance(a, _scalar_type) else a for a in arrays]
        if _mode.grad_enabled and any(t.requires_grad for t in inputs):
            self._record(inputs, kwargs)
            # an integer output (max's indices) is a constant: no gradient flows through it
            outs = tuple(Tensor._wrap(a, True, self) if a.dtype.kind in "fc" else Tensor._wrap(a, False, None)
                         for a in arrays)
            self.outputs = tuple(_weakref(t) for t in outs)
            return outs
        return tuple(Tensor._wrap(a, False, None) for a in arrays)

    @classmethod
    def describe_error(cls, shapes, options, exc):
        """The message for a forward that failed: the op's name, the input shapes, the cause."""
        return f"{cls.__name__.lower()}: inputs of shapes {', '.join(map(str, shapes))}: {exc}"

    def __repr__(self):
        return f"<{type(self).__name__}>"



class keep_options:
    """Context manager: every node recorded inside keeps its forward's keyword options in ``fn.options``.

    The hook an exporter uses: a Function keeps only what its backward needs,
    an exporter also needs the options of the forward call (stride, eps,
    axis…). Outside this context nothing is kept (``apply`` stays lean)::

        with shendu.autograd.keep_options(), shendu.enable_grad():
            y = model(x)                      # x.requires_grad: every op is recorded
        y._ctx.options                        # e.g. {'axis': None, 'keepdims': False}
    """

    __slots__ = ("prev",)

    def __enter__(self):
        self.prev, _mode.keep_options = _mode.keep_options, True
        return self

    def __exit__(self, *exc):
        _mode.keep_options = self.prev
        return False


_scalar_type = backend.xp.generic
_ndarray = backend.xp.ndarray
_asarray = backend.xp.asarray
_weakref = weakref.ref


class NotATensorError(TypeError):
    """An array (NumPy's, CuPy's) given to an op or layer where a Tensor belongs; PyTorch refuses them too.

    ``owner`` is the op or layer the message names; ``layer`` says whether a layer named it (the innermost
    layer renames an op's error once, outer layers pass it on)."""

    def __init__(self, owner, array_type, layer=False):
        super().__init__(f"{owner}: expected shendu Tensors as input, got {array_type.__module__}."
                         f"{array_type.__name__}; wrap it with shendu.tensor(x) or shendu.from_numpy(x)")
        self.array_type, self.layer = array_type, layer

    @classmethod
    def among(cls, owner, values, layer=False):
        """The error for the first array among ``values``, or None when there is none."""
        array_type = next((type(v) for v in values if backend.is_array(v)), None)
        return None if array_type is None else cls(owner, array_type, layer)


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
    walks it in reverse, the ONNX exporter forwards. A node with several
    outputs is represented once, by the first of its outputs reached (every
    tensor computed from any of its outputs comes after it). The leaves of the
    graph (tensors without a node, or whose ``requires_grad`` is off) are in it
    only with ``leaves=True``, each before the first tensor computed from it.
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
            if fn.outputs is not None:  # one entry per node: the other outputs were (or will be) reached
                if id(fn) in seen:
                    continue
                seen.add(id(fn))
            stack.append((t, True))
            for p in fn.inputs:
                if p._ctx is None:  # a leaf needs no trip through the stack (backward is the hot path)
                    if leaves and id(p) not in seen:
                        seen.add(id(p))
                        order.append(p)
                elif id(p) not in seen:
                    stack.append((p, False))
    return order


def node_outputs(t):
    """The output tensors of ``t``'s node: ``[t]`` for a one-output node, else every output
    still alive (None in the place of one that was garbage-collected)."""
    refs = t._ctx.outputs
    return [t] if refs is None else [r() for r in refs]


def backward(root, grad=None, retain_graph=False):
    """Backpropagate from ``root``: accumulate d(root)/d(leaf) into each leaf's ``.grad``.

    ``grad`` is the gradient of some scalar with respect to ``root`` (defaults
    to 1 for a scalar root). Non-leaf tensors keep no gradient unless
    :meth:`Tensor.retain_grad` was called on them. Raises RuntimeError when a
    tensor that a node saved for backward was modified in place since (see
    :class:`Function` on version counters).
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
        g = xp.array(1, dtype=root.data.dtype).reshape(root.shape)  # xp.ones is a Python function: slower
    else:
        g = grad.data if isinstance(grad, Tensor) else xp.asarray(grad, dtype=root.data.dtype)
        if g.shape != root.shape:
            raise ValueError(f"backward: grad has shape {g.shape} but the tensor has shape {root.shape}")
    if root._ctx is None:  # a leaf: its gradient is grad itself (copied, never aliased)
        _accumulate(root, g, g)
        return
    grads = {id(root): g}
    stored = set()  # ids of arrays handed to leaves in this pass: one array never serves two leaves
    alive = []  # outputs of several-output nodes that have a gradient waiting (their consumers may be freed)
    for t in reversed(graph_order((root,))):
        fn = t._ctx
        if fn.outputs is None:
            g = grads.pop(id(t), None)
            if g is None:
                continue
            if t._retains_grad:
                _accumulate(t, g, g)
            if fn.clock != _clock:  # something changed in place since the node was recorded
                _check_versions(fn, (t,))
            in_grads = fn.backward(g)
            if not retain_graph:
                t._ctx = RELEASED
        else:
            outs = node_outputs(t)
            gs = [None if o is None else grads.pop(id(o), None) for o in outs]
            if all(x is None for x in gs):
                continue
            for o, x in zip(outs, gs):
                if x is not None and o._retains_grad:
                    _accumulate(o, x, x)
            if fn.clock != _clock:
                _check_versions(fn, outs)
            in_grads = fn.backward(*gs)
            if not retain_graph:
                for o in outs:
                    if o is not None and o._ctx is fn:
                        o._ctx = RELEASED
            g = gs  # what a leaf's gradient must not alias
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
                # _accumulate's common case inline (a fresh float array for a leaf without .grad; its
                # conditions are _accumulate's no-copy test): the call cost ~1 µs of XOR's ~46 µs step
                if inp.grad is None and ig.base is None and ig is not g and type(g) is not list \
                        and id(ig) not in stored and type(ig) is _ndarray and ig.dtype.kind in "fc":
                    inp.grad = Tensor._wrap(ig, False, None)
                    stored.add(id(ig))
                else:
                    _accumulate(inp, ig, ig if type(g) is list and any(ig is x for x in g) else g, stored)
            else:
                k = id(inp)
                prev = grads.get(k)
                if prev is not None:
                    grads[k] = prev + ig
                else:
                    grads[k] = ig
                    if inp._ctx.outputs is not None:  # keep it alive until its node runs (grads holds only ids)
                        alive.append(inp)


_clock = 0  # in-place changes so far in this process: stamps the tensors changed and the nodes recorded


def bump_version(t):
    """Record an in-place change of ``t``: its ``_version`` (PyTorch's counter) goes up by one and
    it is stamped with the clock, so that every node recorded before now knows ``t`` changed.

    Every in-place change calls it: ``+=`` and the other augmented assignments,
    ``t[...] = v``, an optimizer's step on each parameter it updates.
    """
    global _clock
    _clock += 1
    t._version += 1
    t._stamp = _clock


def _check_versions(fn, outputs):
    """Raise if a tensor that ``fn`` saved for backward was modified in place after it was recorded
    (its stamp is later than the node's clock)."""
    for i, t in enumerate(fn.inputs):
        if t._stamp > fn.clock and fn.saves_input(i):
            raise _modified(t, f"input {i} of {type(fn).__name__}")
    if fn.saves_output:
        for k, t in enumerate(outputs):
            if t is not None and t._stamp > fn.clock:
                raise _modified(t, f"output {k} of {type(fn).__name__}")


def _modified(t, role):
    return RuntimeError(
        f"backward: one of the tensors needed for gradient computation has been modified by an in-place "
        f"operation: {role}, a {t.dtype} tensor of shape {tuple(t.shape)}, is at version {t._version}, "
        f"changed after the op saved it. Compute a new tensor (x = x + 1 rather than x += 1), or "
        f"modify it only after backward()")


def _accumulate(leaf, g, upstream, stored=None):
    """``leaf.grad += g``; the stored array never aliases another tensor's gradient: not the
    upstream gradient, not a view, not an array already handed to another leaf in this pass
    (``stored``: their ids). It is always an array, never a NumPy scalar. (:func:`backward` inlines the
    case of a leaf without ``.grad`` and an array that needs no copy: change both together.)"""
    if (g is upstream or g.base is not None or isinstance(g, _scalar_type)
            or stored is not None and id(g) in stored):
        g = backend.get_array_module(g).array(g)
    if leaf.grad is None:
        if leaf.data.dtype.kind not in "fc":
            raise TypeError(f"backward: only floating tensors can have gradients, but a leaf of dtype "
                            f"{leaf.dtype} and shape {tuple(leaf.shape)} requires grad")
        leaf.grad = Tensor._wrap(g, False, None)
    else:
        if leaf.grad.shape != g.shape:
            raise RuntimeError(f"backward: the .grad of a leaf tensor of shape {tuple(leaf.shape)} has shape "
                               f"{tuple(leaf.grad.shape)}; a gradient of shape {tuple(g.shape)} cannot be "
                               f"accumulated into it (set .grad = None, or a tensor of the leaf's shape)")
        total = leaf.grad.data + g
        leaf.grad.data = _asarray(total) if isinstance(total, _scalar_type) else total
    if stored is not None:
        stored.add(id(leaf.grad.data))


from .tensor import Tensor  # noqa: E402  (Tensor needs Function; Function needs Tensor)
