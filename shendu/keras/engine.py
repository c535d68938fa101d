"""The symbolic side of Keras's functional API: ``keras.Input``, KerasTensors and graph nodes.

``x = keras.Input((28, 28, 1))`` is a :class:`KerasTensor`: a shape with the batch
axis None, a dtype, and the node that made it. Calling a layer on KerasTensors
builds the layer (its weights now exist) and returns new KerasTensors whose
node records (layer, call arguments). ``keras.Model(inputs, outputs)`` walks the
nodes back from the outputs (:func:`topological_nodes`) and replays them on real
tensors.

Output shapes are not computed by a per-layer formula but by running the layer
once on zeros of the input shape (batch 2, in evaluation mode, without a graph):
the real forward is the formula. An axis given as None (a variable length) is
run at two sizes; the output axes that change with it are None.
"""
from __future__ import annotations

import itertools
import re

from .. import backend
from ..autograd import no_grad
from ..backend import xp
from ..tensor import Tensor

_COUNTERS = {}


def snake_case(name):
    """``MaxPooling2D`` → ``max_pooling2d`` (Keras's default layer names)."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


def unique_name(base):
    """``base``, then ``base_1``, ``base_2``… (per process, as Keras numbers its layers)."""
    n = _COUNTERS.get(base, 0)
    _COUNTERS[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


class Node:
    """One call of a layer in a functional graph: ``outputs = layer(*args, **kwargs)``."""

    def __init__(self, layer, args, kwargs, outputs):
        self.layer, self.args, self.kwargs, self.outputs = layer, args, kwargs, outputs

    def inputs(self):
        """The KerasTensors this call reads."""
        return [t for t in flatten((self.args, self.kwargs)) if isinstance(t, KerasTensor)]


class KerasTensor:
    """A symbolic tensor: ``shape`` (batch axis None), ``dtype``, and the node that made it."""

    def __init__(self, shape, dtype="float32", node=None, index=0, name=None):
        self.shape, self.dtype, self.node, self.index, self.name = tuple(shape), str(dtype), node, index, name

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    # Keras 3 lets functional code write a + b; these are the merge layers.
    def __add__(self, other):
        from .layers.merge import Add
        return Add()([self, other])

    def __mul__(self, other):
        from .layers.merge import Multiply
        return Multiply()([self, other])

    def __sub__(self, other):
        from .layers.merge import Subtract
        return Subtract()([self, other])


def Input(shape=None, batch_size=None, dtype=None, name=None, sparse=None, batch_shape=None, tensor=None,
          optional=False):
    """A symbolic input: ``keras.Input((28, 28, 1))`` stands for batches of shape (None, 28, 28, 1).

    ``shape`` excludes the batch axis (None entries are variable lengths); ``batch_shape``
    includes it. ``dtype`` defaults to float32 (``'int32'`` for token ids).
    """
    from .layers.base import InputLayer
    if sparse or tensor is not None or optional:
        from .errors import unsupported
        raise unsupported("Input(sparse=/tensor=/optional=)", "pass a dense shape: keras.Input(shape)")
    if batch_shape is None:
        if shape is None:
            raise ValueError("Input: pass shape= (without the batch axis) or batch_shape=")
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        batch_shape = (batch_size, *shape)
    layer = InputLayer(batch_shape=tuple(batch_shape), dtype=dtype, name=name)
    return layer.output


def flatten(structure):
    """The leaves of nested lists, tuples and dicts, in order."""
    if isinstance(structure, (list, tuple)):
        return list(itertools.chain.from_iterable(flatten(s) for s in structure))
    if isinstance(structure, dict):
        return list(itertools.chain.from_iterable(flatten(structure[k]) for k in structure))
    return [structure]


def map_structure(fn, structure):
    """``structure`` with every leaf replaced by ``fn(leaf)``."""
    if isinstance(structure, (list, tuple)):
        return type(structure)(map_structure(fn, s) for s in structure)
    if isinstance(structure, dict):
        return {k: map_structure(fn, v) for k, v in structure.items()}
    return fn(structure)


def has_keras_tensor(args, kwargs):
    """True when any of the call's arguments (nested) is a symbolic KerasTensor: the call builds a functional graph."""
    return any(isinstance(t, KerasTensor) for t in flatten((args, kwargs)))


def _dtype_of(kt):
    return xp.int64 if "int" in kt.dtype else xp.dtype(backend.get_default_dtype())


def _concrete(structure, size):
    """Zeros (batch 2, None axes ``size``) in place of each KerasTensor."""
    def make(t):
        if not isinstance(t, KerasTensor):
            return t
        shape = tuple(2 if i == 0 and d is None else (size if d is None else d) for i, d in enumerate(t.shape))
        return Tensor(xp.zeros(shape, _dtype_of(t)))
    return map_structure(make, structure)


def _run(layer, args, kwargs, size):
    was = [(m, m.training) for m in layer.modules()]
    layer.eval()
    state = backend.get_rng_state()
    try:
        with no_grad():
            return layer.eager_call(*_concrete(args, size), **_concrete(kwargs, size))
    except (ValueError, TypeError) as exc:
        # the error of a symbolic call: show the batch axis as Keras does, None, not the probe's 2
        message = str(exc).replace("(2, ", "(None, ")
        raise type(exc)(message) from exc
    finally:
        backend.set_rng_state(state)
        for m, mode in was:
            object.__setattr__(m, "training", mode)


def symbolic_call(layer, args, kwargs):
    """Call ``layer`` on KerasTensors: build it, infer the output shapes, record the node."""
    out = _run(layer, args, kwargs, 3)
    variable = any(d is None for t in flatten((args, kwargs)) if isinstance(t, KerasTensor) for d in t.shape[1:])
    other = _run(layer, args, kwargs, 4) if variable else out
    node = Node(layer, args, kwargs, None)
    leaves = []

    def wrap(a, b):
        shape = (None,) + tuple(n if n == m else None for n, m in zip(a.shape[1:], b.shape[1:]))
        kt = KerasTensor(shape, "int64" if a.dtype.kind in "iu" else "float32", node, len(leaves), layer.name)
        leaves.append(kt)
        return kt

    others = iter(flatten(other))
    result = map_structure(lambda a: wrap(a, next(others)), out)
    node.outputs = leaves
    layer.inbound_nodes.append(node)
    return result


def topological_nodes(outputs):
    """The nodes that compute ``outputs``, each after the nodes it reads (inputs' nodes included), in
    Keras's order (which is also the order of ``model.layers``)."""
    order, seen = [], set()

    def visit(node):
        if id(node) in seen:
            return
        seen.add(id(node))
        for t in node.inputs():
            visit(t.node)
        order.append(node)

    for t in flatten(outputs):
        if not isinstance(t, KerasTensor):
            raise TypeError(f"Model: outputs must be KerasTensors (results of layers called on keras.Input), "
                            f"got {type(t).__name__}")
        visit(t.node)
    # Keras's order: by depth (the longest path to an output), deepest first, ties in visiting order;
    # a producer is always deeper than its consumers, so this order is topological too
    depth = {id(n): 0 for n in order}
    for node in reversed(order):
        for t in node.inputs():
            depth[id(t.node)] = max(depth[id(t.node)], depth[id(node)] + 1)
    return sorted(order, key=lambda n: -depth[id(n)])
