"""The computation graph that autograd recorded, as nodes and edges (drawn by :mod:`.graph_draw`).

Walking back from the output tensor(s) through ``tensor._ctx`` (the :class:`shendu.Function`
that made a tensor) and ``Function.inputs`` gives

* op nodes, named by their Function class (``Conv2d``, ``Relu``, ``Mul``), with the shape of
  what they output;
* leaf tensors: parameters (named by their path in the model, ``conv.weight``), inputs,
  other tensors, constants (a 0-d constant shows its value);
* the outputs,

with an edge wherever a tensor flows into an op. Only what was recorded appears: an
operation none of whose inputs requires a gradient is not in the graph (its result is a
constant leaf), which is why :func:`computation_graph` makes the sample inputs of a model
require gradients.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .. import autograd
from ..nn.module import no_fusion
from ..tensor import Tensor

KINDS = ("op", "parameter", "input", "tensor", "constant", "output")


@dataclass
class Node:
    """One node: ``id`` (unique), ``kind`` (one of :data:`KINDS`), ``label`` (the op's class or
    the tensor's name) and ``shape`` (the tensor's, or the op's output shapes)."""
    id: str
    kind: str
    label: str
    shape: tuple = ()

    def text(self):
        """The two lines drawn in the node's box: its label and its shape."""
        shapes = self.shape if self.shape and isinstance(self.shape[0], tuple) else (self.shape,)
        return self.label, " ".join("×".join(map(str, s)) if s else "scalar" for s in shapes)


@dataclass
class Graph:
    """A computation graph: ``nodes`` (list of :class:`Node`, sources first) and ``edges``
    (list of ``(source id, destination id)``). ``save(path)`` draws it (SVG, or PNG/PDF
    through matplotlib)."""
    nodes: list = field(default_factory=list)
    edges: list = field(default_factory=list)

    def node(self, id):
        """The node with this id."""
        return next(n for n in self.nodes if n.id == id)

    def ops(self):
        """The op nodes' labels, sources first (e.g. ``["Conv2d", "Relu", "MaxPool2d", …]``)."""
        return [n.label for n in self.nodes if n.kind == "op"]

    def to_svg(self):
        """The drawing as an SVG document (a string)."""
        from .graph_draw import to_svg
        return to_svg(self)

    def save(self, path):
        """Write the drawing to ``path``: ``.svg`` by shendu's own writer (no Graphviz, no
        matplotlib), any other suffix (``.png``, ``.pdf``) through matplotlib. Returns ``path``."""
        from .graph_draw import save
        return save(self, path)

    def __repr__(self):
        return f"Graph(nodes={len(self.nodes)}, ops={len(self.ops())}, edges={len(self.edges)})"


def _tensors(out):
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _tensors(o)]
    return []


def trace(outputs, names):
    """The :class:`Graph` that produced ``outputs`` (tensors); ``names`` maps id(tensor) → (kind, label)."""
    graph, seen, op_shapes, edge_set = Graph(), {}, {}, set()

    def leaf(t):
        key = f"t{id(t)}"
        if key not in seen:
            kind, label = names.get(id(t), (None, None))
            if kind is None:
                if t.ndim == 0 and not t.requires_grad:
                    kind, label = "constant", f"{t.data.item():.4g}"
                else:
                    kind, label = ("tensor", "tensor") if t.requires_grad else ("constant", "constant")
            seen[key] = Node(key, kind, label, tuple(t.shape))
        return key

    order = []  # ops in the order their outputs were first reached (outputs first), reversed at the end

    def visit(t):
        fn = t._ctx
        if fn is None:
            return leaf(t)
        if fn is autograd.RELEASED:
            raise ValueError("computation_graph: this graph was freed by backward(); draw it before backward, "
                             "or call backward(retain_graph=True)")
        key = f"f{id(fn)}"
        op_shapes.setdefault(key, [])
        if tuple(t.shape) not in op_shapes[key]:
            op_shapes[key].append(tuple(t.shape))
        if key in seen:
            return key
        seen[key] = Node(key, "op", type(fn).__name__)
        stack = [(fn, key)]
        while stack:  # iterative, so that deep graphs (long RNNs) do not hit the recursion limit
            f, k = stack.pop()
            order.append(k)
            for x in f.inputs:
                if not isinstance(x, Tensor):
                    continue
                g = x._ctx
                if g is None:
                    src = leaf(x)
                elif g is autograd.RELEASED:
                    raise ValueError("computation_graph: this graph was freed by backward(); draw it before "
                                     "backward, or call backward(retain_graph=True)")
                else:
                    src = f"f{id(g)}"
                    op_shapes.setdefault(src, [])
                    if tuple(x.shape) not in op_shapes[src]:
                        op_shapes[src].append(tuple(x.shape))
                    if src not in seen:
                        seen[src] = Node(src, "op", type(g).__name__)
                        stack.append((g, src))
                if (src, k) not in edge_set:
                    edge_set.add((src, k))
                    graph.edges.append((src, k))
        return key

    outs = []
    for i, t in enumerate(outputs):
        src = visit(t)
        out = f"out{i}"
        seen[out] = Node(out, "output", "output" if len(outputs) == 1 else f"output {i}", tuple(t.shape))
        graph.edges.append((src, out))
        outs.append(out)
    for key, shapes in op_shapes.items():
        seen[key].shape = tuple(shapes) if len(shapes) > 1 else shapes[0]
    leaves = [k for k, n in seen.items() if n.kind not in ("op", "output")]
    graph.nodes = [seen[k] for k in leaves] + [seen[k] for k in reversed(order)] + [seen[k] for k in outs]
    return graph


def computation_graph(target, *sample, names=None):
    """The computation graph of an expression or of a model applied to a sample input.

    Args:
        target: a Tensor (the result of an expression, recorded because some input required a
            gradient), a list/tuple of Tensors, or a :class:`shendu.nn.Module`.
        *sample: for a Module, its inputs (e.g. ``shendu.randn(1, 1, 28, 28)``); they are run
            through the model (in its current mode; its buffers, such as batch-norm running
            statistics, are put back afterwards) as copies that require gradients, each layer's op
            as its own node (:class:`shendu.nn.no_fusion`: ``Linear`` then ``Tanh``, not the fused
            ``LinearTanh`` a training step records).
        names: ``{"x": tensor, …}``: labels for the leaf tensors of an expression.

    Returns:
        A :class:`Graph`; ``graph.save("graph.svg")`` draws it.

    Example:
        >>> x = shendu.randn(4, 3, requires_grad=True)
        >>> w = shendu.randn(3, 2, requires_grad=True)
        >>> computation_graph((x @ w).relu().sum(), names={"x": x, "w": w}).ops()
        ['MatMul', 'Relu', 'Sum']
    """
    labels = {id(t): ("tensor", str(n)) for n, t in (names or {}).items()}
    if hasattr(target, "named_parameters") and callable(target):
        inputs = [Tensor(x.data, requires_grad=True) if isinstance(x, Tensor) and x.dtype.kind == "f" else x
                  for x in sample]
        if not any(isinstance(x, Tensor) for x in inputs):
            raise ValueError(f"computation_graph: give {type(target).__name__} a sample input, "
                             f"e.g. computation_graph(model, shendu.randn(1, *input_shape))")
        saved = [(b, b.data.copy()) for b in target.buffers()]  # a training-mode forward updates running
        try:                                                     # statistics: drawing must not change the model
            with autograd.enable_grad(), no_fusion():  # one node per layer's op: Linear, then Tanh
                out = target(*inputs)
        finally:
            for b, data in saved:
                b.data = data
        labels.update({id(p): ("parameter", n) for n, p in target.named_parameters()})
        tensor_inputs = [x for x in inputs if isinstance(x, Tensor)]
        labels.update({id(x): ("input", "input" if len(tensor_inputs) == 1 else f"input {i}")
                       for i, x in enumerate(tensor_inputs)})
    elif sample:
        raise ValueError("computation_graph: sample inputs are for a Module; an expression is given as its "
                         "result tensor")
    else:
        out = target
    outputs = _tensors(out)
    if not outputs:
        raise ValueError(f"computation_graph: expected a Tensor, a list of Tensors or a Module, "
                         f"got {type(target).__name__}")
    return trace(outputs, labels)
