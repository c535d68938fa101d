"""ONNX export: trace one forward pass, then write every recorded node as ONNX operators.

How it works (docs/onnx.md has the whole story):

1. **Trace.** The model runs once, in eval mode, on the sample input marked
   ``requires_grad`` (every parameter too), so that autograd records every op
   that depends on an input or a parameter: the graph of
   :class:`~shendu.autograd.Function` nodes behind the output *is* the model.
   The trace runs under :class:`shendu.autograd.keep_options`, so each
   node keeps its forward's keyword options (``fn.options``): the exporter
   reads the graph afterwards and patches nothing. Ops on constants only
   are not recorded; their results are constants of the ONNX graph
   (constant folding for free). Forward hooks name each node
   after the innermost layer that ran it (``layer1.0.conv1``).
2. **Trace again** on a second input, one sample larger along the batch axis
   and with other values. The two graphs must match node for node; a
   dimension that differs between them scales with the batch (k·N + c), so
   the ONNX graph computes it from the input's shape instead of storing it
   (the symbolic ``batch`` dimension). A constant that differs between the
   two traces was computed from the input outside the graph (through
   ``.numpy()``, say): it cannot be exported, and the error says so.
3. **Emit.** Nodes are visited inputs-first; an emitter per Function class
   (:data:`shendu.onnx.ops.EMITTERS`) writes its ONNX nodes. Parameters and
   buffers become initializers under their ``state_dict`` names; other leaves
   become constants.
4. **Check and write**: ``onnx.checker.check_model(full_check=True)``, then an
   atomic write.
"""
from __future__ import annotations

import contextlib
import numbers

from .._extras import require
from ..autograd import enable_grad, graph_order, keep_options, node_outputs
from ..backend import xp
from ..nn.module import no_fusion
from ..serialization import atomic_write
from ..tensor import Tensor

#: The opsets the emitters are written for: LayerNormalization needs 17.
MIN_OPSET = 17
#: ONNX's largest int64, "to the end" in Slice.
INT64_MAX = 2**63 - 1
INT64_MIN = -2**63
#: A protobuf message (the whole model with its weights) cannot exceed 2 GiB.
_PROTOBUF_LIMIT = 2**31 - 2**20


class Dim:
    """A dimension that scales with the batch size N: k·N + c (``batch`` is k = 1, c = 0)."""

    __slots__ = ("k", "c")

    def __init__(self, k, c):
        self.k, self.c = int(k), int(c)

    def __eq__(self, other):
        return isinstance(other, Dim) and (self.k, self.c) == (other.k, other.c)

    def __hash__(self):
        return hash((self.k, self.c))

    def __repr__(self):
        text = "batch" if self.k == 1 else f"{self.k}*batch"
        return text if self.c == 0 else f"{text}{self.c:+d}"


# ---------------------------------------------------------------- tracing
class _Trace:
    """One recorded forward pass: input and output tensors, every tensor of the graph (inputs
    before the tensors computed from them) and each node's layer. Each node keeps its forward's
    keyword options itself (``fn.options``: the trace runs under :class:`~shendu.autograd.keep_options`)."""

    def __init__(self, inputs, outputs, scopes):
        self.inputs, self.outputs, self.scopes = inputs, outputs, scopes
        self.order = graph_order(outputs, leaves=True)


def _flat_tensors(obj):
    """The tensors in a (nested) output: a tensor, tuple, list, namedtuple or dict."""
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, dict):
        obj = list(obj.values())
    if isinstance(obj, (tuple, list)):
        return [t for item in obj for t in _flat_tensors(item)]
    return []


def _scope_hook(path, scopes):
    """A forward hook that names the nodes a layer ran after it (the innermost layer runs its hook first)."""

    def hook(module, args, output):
        stop = {id(t) for t in _flat_tensors(list(args))}
        stack, seen = _flat_tensors(output), set()
        while stack:
            t = stack.pop()
            if id(t) in seen or id(t) in stop or t._ctx is None:
                continue
            seen.add(id(t))
            scopes.setdefault(id(t._ctx), (path, type(module).__name__))
            stack.extend(t._ctx.inputs)

    return hook


def _trace(model, arrays, name_layers):
    """Run ``model`` on ``arrays`` with every input marked, recording the graph (see the module docstring)."""
    inputs = [Tensor._wrap(a, True, None) for a in arrays]  # integer inputs too: their casts and slices record
    scopes = {}
    handles = [m.register_forward_hook(_scope_hook(path, scopes)) for path, m in model.named_modules()] \
        if name_layers else []
    try:
        # one node per layer (no fused Linear→ReLU): the layers' forward hooks, on only one of the two traces,
        # would otherwise decide what fuses, and the ONNX nodes keep the names of the layers that ran them
        with enable_grad(), keep_options(), no_fusion():
            out = model(*inputs)
    finally:
        for h in handles:
            h.remove()
    outputs = _flat_tensors(out)
    if not outputs:
        raise TypeError(f"shendu.onnx.export: the model returned {type(out).__name__}, not tensors")
    return _Trace(inputs, outputs, scopes)


@contextlib.contextmanager
def _export_mode(model):
    """Eval mode and every floating parameter recording; each module's mode and each flag restored afterwards."""
    modes = [(m, m.training) for m in model.modules()]
    frozen = [p for p in model.parameters() if not p.requires_grad and p.data.dtype.kind == "f"]
    model.eval()
    for p in frozen:
        p.requires_grad = True
    try:
        yield
    finally:
        for p in frozen:
            p.requires_grad = False
        for m, training in modes:
            m.training = training


def _sample_arrays(sample_input):
    items = sample_input if isinstance(sample_input, (tuple, list)) else (sample_input,)
    arrays = []
    for i, item in enumerate(items):
        if isinstance(item, Tensor):
            arrays.append(item.data)
        elif item is None:
            raise TypeError(f"shendu.onnx.export: sample input {i} is None; pass only the tensors the model takes "
                            f"(optional arguments left out)")
        else:
            arrays.append(xp.asarray(item))
    return arrays


def _batch_axes(batch_axis, arrays):
    axes = list(batch_axis) if isinstance(batch_axis, (tuple, list)) else [batch_axis] * len(arrays)
    if len(axes) != len(arrays):
        raise ValueError(f"shendu.onnx.export: batch_axis gives {len(axes)} axes for {len(arrays)} inputs")
    for i, (ax, a) in enumerate(zip(axes, arrays)):
        if ax is not None and not (isinstance(ax, numbers.Integral) and 0 <= ax < a.ndim):
            raise ValueError(f"shendu.onnx.export: batch_axis {ax!r} does not fit input {i} of shape {a.shape} "
                             f"(give None for an input without a batch axis)")
    return axes


def _second_sample(arrays, axes):
    """One more sample along each batch axis (a copy of the first), and other values: floats
    0.25 − 0.75·x, integers rolled by one place (so that ids stay valid ids)."""
    out = []
    for a, ax in zip(arrays, axes):
        b = a.copy() if ax is None else xp.concatenate([a, a.take([0], axis=ax)], axis=ax)
        out.append((0.25 - 0.75 * b).astype(b.dtype) if b.dtype.kind == "f" else xp.roll(b, 1))
    return out


def _match(a, b):
    """Pair the tensors of two traces of one model (their graphs must have the same structure)."""
    if len(a.order) != len(b.order) or len(a.outputs) != len(b.outputs):
        raise ValueError(_NOT_STATIC)
    for ta, tb in zip(a.order, b.order):
        fa, fb = ta._ctx, tb._ctx
        if (fa is None) != (fb is None) or ta.ndim != tb.ndim or (
                fa is not None and (type(fa) is not type(fb) or len(fa.inputs) != len(fb.inputs))):
            raise ValueError(_NOT_STATIC)
    twin = {}
    for ta, tb in zip(a.order, b.order):
        pairs = zip(node_outputs(ta), node_outputs(tb)) if ta._ctx is not None else [(ta, tb)]
        twin.update((id(x), y) for x, y in pairs if x is not None and y is not None)
    return twin


_NOT_STATIC = ("shendu.onnx.export: the model runs different operations (or gives tensors of different ranks) for "
               "a batch one sample larger or for other input values, so one ONNX graph cannot represent it; "
               "export with batch_axis=None for fixed input shapes, or use a sample batch of 2 or more")


# ---------------------------------------------------------------- the graph builder
class Node:
    """One recorded operation as the emitters see it.

    Attributes:
        fn: the Function (from the sample trace); ``type(fn)`` chose the emitter.
        options: the keyword options of its forward (``geo``, ``eps``, ``axis``…).
        options_b: the same options in the second trace (to tell constants from inputs).
        inputs: the ONNX names of its input tensors, in order.
        tensors: its input tensors;  output: the ONNX name to write;  tensor: the output tensor.
        A node with several outputs has a list of names in ``output`` (one per output, in order)
        and its first output in ``tensor``.
        where: the layer that ran it, for messages (``"layer 'features.0' (Conv2d)"``).
    """

    __slots__ = ("fn", "options", "options_b", "tensors", "output", "tensor", "where", "_builder", "_inputs")

    def __init__(self, builder, **kw):
        self._builder, self._inputs = builder, None
        for k, v in kw.items():
            setattr(self, k, v)

    @property
    def inputs(self):
        """The ONNX names of the input tensors (leaves become constants on first use)."""
        if self._inputs is None:
            self._inputs = [self._builder.value(t) for t in self.tensors]
        return self._inputs

    def fail(self, message):
        """Raise a ValueError naming this node's op and layer."""
        raise ValueError(f"shendu.onnx.export: {type(self.fn).__name__} in {self.where}: {message}")


class Builder:
    """Collects ONNX nodes and initializers; the emitters call its methods.

    ``op`` adds a node, ``const``/``ints``/``scalar`` add constants, ``dims``
    gives a tensor's dimensions (ints, or :class:`Dim` for those that scale
    with the batch), ``shape_tensor`` builds a shape from such dimensions,
    ``array_option`` turns an array-valued option (indices, a mask) into a
    graph value, and ``reduce`` writes a reduction for the opset in use.
    """

    def __init__(self, onnx, opset, trace, other, state_names, input_names, batch_axes):
        self.onnx, self.helper, self.opset = onnx, onnx.helper, opset
        self.trace, self.other = trace, other
        self.twin = _match(trace, other)  # id(tensor in trace) -> its tensor in the other trace
        self.twin.update((id(t), t_b) for t, t_b in zip(trace.inputs, other.inputs))  # unused or integer inputs
        self.state_names = state_names
        self.nodes, self.initializers = [], []  # initializers: (name, array), written into the graph at the end
        self.names = {}                   # id(tensor) -> ONNX value name
        self.used = set(input_names) | set(state_names.values())
        self.cache = {}                   # small constants and shape expressions, emitted once
        self.scope = ""
        self.input_arrays = {}            # id(array) -> ONNX input name, for array-valued options
        self.batch_source = None          # (input name, axis) that gives N
        n_a = n_b = None
        for t, tb, name, ax in zip(trace.inputs, other.inputs, input_names, batch_axes):
            self.names[id(t)] = name
            self.input_arrays[id(t.data)] = self.input_arrays[id(tb.data)] = name
            if ax is not None and self.batch_source is None:
                self.batch_source, n_a, n_b = (name, ax), t.shape[ax], tb.shape[ax]
        self.n_a, self.n_b = n_a, n_b

    # ------------------------------------------------------------ names and nodes
    def fresh(self, base):
        """A value or node name not used yet, ``base`` or ``base_1``, ``base_2``…"""
        name, k = base, 0
        while name in self.used:
            k += 1
            name = f"{base}_{k}"
        self.used.add(name)
        return name

    def op(self, op_type, inputs, output=None, n_out=1, **attrs):
        """Add a node; returns its output name (a list of ``n_out`` names when n_out > 1)."""
        prefix = f"{self.scope}/" if self.scope else ""
        if output is None:
            outputs = [self.fresh(f"{prefix}{op_type}") for _ in range(n_out)]
        else:
            outputs = [output] if isinstance(output, str) else list(output)
        node_name = self.fresh(f"{prefix}{op_type}:node")
        self.nodes.append(self.helper.make_node(op_type, list(inputs), outputs, name=node_name, **attrs))
        return outputs[0] if len(outputs) == 1 and n_out == 1 else outputs

    def const(self, array, base="const"):
        """An initializer holding ``array``; returns its name."""
        name = self.fresh(base)
        self.initializers.append((name, xp.asarray(array)))
        return name

    def ints(self, values):
        """A constant int64 vector (shapes, axes, pads); identical ones are shared."""
        key = ("ints", tuple(int(v) for v in values))
        if key not in self.cache:
            self.cache[key] = self.const(xp.asarray(key[1], dtype=xp.int64), "const/ints")
        return self.cache[key]

    def scalar(self, value, dtype):
        """A constant 0-d tensor of ``dtype``; identical ones are shared."""
        dtype = xp.dtype(dtype)
        key = ("scalar", dtype.str, float(value) if dtype.kind == "f" else int(value))
        if key not in self.cache:
            self.cache[key] = self.const(xp.asarray(value, dtype=dtype), "const/scalar")
        return self.cache[key]

    def tensor_type(self, dtype):
        return self.helper.np_dtype_to_tensor_dtype(xp.dtype(dtype))

    # ------------------------------------------------------------ shapes
    def dims(self, tensor):
        """The dimensions of a tensor of the graph: an int where fixed, a :class:`Dim` where it scales with N."""
        other = self.twin.get(id(tensor))
        if other is None or self.n_a is None:
            return tuple(tensor.shape)
        return tuple(_dim(a, b, self.n_a, self.n_b) for a, b in zip(tensor.shape, other.shape))

    def batch_size(self):
        """A graph value: the batch size N as a 1-element int64 vector, read from the input's shape."""
        if "N" not in self.cache:
            name, axis = self.batch_source
            self.cache["N"] = self._unscoped("Shape", [name], start=axis, end=axis + 1)
        return self.cache["N"]

    def dim_value(self, dim):
        """A 1-element int64 vector holding ``dim`` (an int, or k·N + c computed from N)."""
        if not isinstance(dim, Dim):
            return self.ints([dim])
        if dim not in self.cache:
            v = self.batch_size()
            if dim.k != 1:
                v = self._unscoped("Mul", [v, self.ints([dim.k])])
            if dim.c:
                v = self._unscoped("Add", [v, self.ints([dim.c])])
            self.cache[dim] = v
        return self.cache[dim]

    def shape_tensor(self, dims):
        """An int64 vector holding ``dims``: a constant when all are fixed, else a Concat of the pieces."""
        if not any(isinstance(d, Dim) for d in dims):
            return self.ints(dims)
        pieces, run = [], []
        for d in dims:
            if isinstance(d, Dim):
                if run:
                    pieces.append(self.ints(run))
                    run = []
                pieces.append(self.dim_value(d))
            else:
                run.append(d)
        if run:
            pieces.append(self.ints(run))
        return self._unscoped("Concat", pieces, axis=0)

    def _unscoped(self, op_type, inputs, **attrs):
        scope, self.scope = self.scope, ""
        try:
            return self.op(op_type, inputs, **attrs)
        finally:
            self.scope = scope

    # ------------------------------------------------------------ values
    def value(self, tensor):
        """The ONNX name of a tensor of the graph (a leaf becomes an initializer or constant on first use)."""
        name = self.names.get(id(tensor))
        if name is None:
            name = self.names[id(tensor)] = self._leaf(tensor, self.twin.get(id(tensor)))
        return name

    def tensor_option(self, node, key):
        """The ONNX name of a Tensor-valued option (batch norm's running statistics)."""
        a, b = node.options[key], node.options_b[key]
        if id(a) not in self.names:
            self.names[id(a)] = self._leaf(a, b, node)
        return self.names[id(a)]

    def _leaf(self, tensor, other, node=None):
        name = self.state_names.get(id(tensor))
        if name is not None:
            self.initializers.append((name, tensor.data))
            return name
        return self._constant(tensor.data, None if other is None else other.data, "a constant", node)

    def array_option(self, node, key, what):
        """The ONNX name of an array-valued option (an index array, a mask): the model input it is,
        or a constant; an error if it was computed from the input outside the graph."""
        return self.array_value(node, node.options[key], node.options_b[key], what)

    def array_value(self, node, a, b, what):
        if id(a) in self.input_arrays:
            return self.input_arrays[id(a)]
        return self._constant(a, b, what, node)

    def is_input_array(self, a):
        return id(a) in self.input_arrays

    def _constant(self, a, b, what, node):
        """A constant of the graph; one that grows with the batch must hold one repeated value."""
        a = xp.asarray(a)
        b = a if b is None else xp.asarray(b)
        if a.shape == b.shape:
            if not _same_values(a, b):
                self._input_dependent(what, node)
            return self.const(a, f"{self.scope}/const" if self.scope else "const")
        if a.size and b.size and _uniform(a) and _uniform(b) and _same_values(a.flat[:1], b.flat[:1]):
            dims = tuple(_dim(p, q, self.n_a, self.n_b) for p, q in zip(a.shape, b.shape))
            value = self.onnx.numpy_helper.from_array(a.reshape(-1)[:1].copy())
            return self.op("ConstantOfShape", [self.shape_tensor(dims)], value=value)
        self._input_dependent(what, node)

    def _input_dependent(self, what, node):
        where = f" of {type(node.fn).__name__} in {node.where}" if node is not None else ""
        raise ValueError(f"shendu.onnx.export: {what}{where} changes with the input (its values or its batch size) "
                         f"but is not computed by recorded ops: it was made from .data, .numpy(), .shape, a "
                         f"comparison or an integer conversion of the input, so it cannot be exported; compute it "
                         f"with shendu ops, pass it as an input, or export with batch_axis=None if it depends only "
                         f"on the batch size")

    # ------------------------------------------------------------ helpers for emitters
    def reduce(self, op_type, x, axes, keepdims, output=None):
        """A Reduce* node over ``axes`` (None: all); axes are an input from opset 18 (ReduceSum: 13)."""
        keep = int(bool(keepdims))
        if axes is None:
            return self.op(op_type, [x], output, keepdims=keep)
        axes = [int(a) for a in ((axes,) if isinstance(axes, numbers.Integral) else axes)]
        if self.opset >= 18 or op_type == "ReduceSum":
            return self.op(op_type, [x, self.ints(axes)], output, keepdims=keep)
        return self.op(op_type, [x], output, axes=axes, keepdims=keep)


def _dim(a, b, n_a, n_b):
    """A dimension seen as ``a`` with batch n_a and ``b`` with batch n_b: fixed, or k·N + c."""
    if a == b:
        return a
    k = (b - a) // (n_b - n_a)
    return Dim(k, a - k * n_a)


def _uniform(a):
    """True when every element of ``a`` equals the first."""
    return _same_values(a, xp.broadcast_to(a.reshape(-1)[:1], a.shape))


def _same_values(a, b):
    return xp.array_equal(a, b, equal_nan=a.dtype.kind in "fc")


def _state_names(model):
    """id(tensor) -> its name in the state dict, for every parameter and buffer (non-persistent ones too)."""
    names = {}
    for name, t in list(model.named_parameters()) + list(model.named_buffers()):
        if t is not None:
            names.setdefault(id(t), name)
    return names


def _where(scope):
    if scope is None:
        return "the model"
    path, kind = scope
    return f"layer '{path}' ({kind})" if path else f"the model ({kind})"


def _dim_param(d):
    return str(d) if isinstance(d, Dim) else d


# ---------------------------------------------------------------- the entry point
def export(model, sample_input, path, opset=MIN_OPSET, *, input_names=None, output_names=None, batch_axis=0,
           check=True):
    """Write ``model`` as an ONNX file that reproduces its eval-mode forward pass.

    The model is traced on ``sample_input`` (see the module docstring and
    docs/onnx.md): every op it runs becomes ONNX operators, its parameters and
    buffers initializers under their ``state_dict`` names. Residual additions,
    concatenations and any other tensor code in ``forward`` are exported
    like layers, because they are recorded like layers.

    Args:
        model: a :class:`shendu.nn.Module` (exported in eval mode; its mode is restored afterwards).
        sample_input: a tensor or array, or a tuple of them (one per positional argument of ``forward``).
            Only shapes and dtypes matter, and that the model runs on it.
        path: the ``.onnx`` file to write (atomically: a failed export leaves no partial file).
        opset: the ONNX opset, at least 17 (default 17).
        input_names: one name per input (default ``input`` or ``input_0``, ``input_1``…).
        output_names: one name per output tensor, nested outputs flattened (default ``output`` or
            ``output_0``…).
        batch_axis: the batch axis of each input (an int for all, or one per input; None for none).
            That axis becomes the symbolic dimension ``batch`` of the ONNX graph, and every size that
            depends on it is computed from it. None everywhere: fixed shapes, the sample's.
        check: run ``onnx.checker.check_model(full_check=True)`` before writing (default True).

    Returns:
        The ``onnx.ModelProto`` that was written.

    Raises:
        ImportError: onnx is not installed (``pip install 'shendu[onnx]'``).
        ValueError: an op has no ONNX translation, or the graph cannot be represented (the message
            names the op and the layer).

    Example:
        >>> model = shendu.models.lenet5()
        >>> proto = shendu.onnx.export(model, shendu.randn(1, 1, 32, 32), "lenet5.onnx")
        >>> [i.name for i in proto.graph.input]
        ['input']
    """
    onnx = require("onnx", "onnx", "shendu.onnx.export")
    from .ops import EMITTERS, emitter_for

    if not isinstance(opset, numbers.Integral) or not MIN_OPSET <= opset <= onnx.defs.onnx_opset_version():
        raise ValueError(f"shendu.onnx.export: opset must be an int from {MIN_OPSET} to "
                         f"{onnx.defs.onnx_opset_version()} (this onnx's newest), received opset={opset!r}")
    arrays = _sample_arrays(sample_input)
    axes = _batch_axes(batch_axis, arrays)
    input_names = _names(input_names, len(arrays), "input")
    with _export_mode(model):
        trace = _trace(model, arrays, name_layers=True)
        other = _trace(model, _second_sample(arrays, axes), name_layers=False)
    output_names = _names(output_names, len(trace.outputs), "output")
    if set(input_names) & set(output_names):
        raise ValueError(f"shendu.onnx.export: input and output names must differ, got {input_names} and "
                         f"{output_names}")
    b = Builder(onnx, opset, trace, other, _state_names(model), input_names, axes)
    b.used.update(output_names)
    out_ids = {}
    for t, name in zip(trace.outputs, output_names):
        if t._ctx is not None and id(t) not in out_ids and id(t) not in b.names:
            out_ids[id(t)] = name
    for t in trace.order:
        fn = t._ctx
        if fn is None or not t.requires_grad:  # a leaf of the graph: named when first used
            continue
        scope = trace.scopes.get(id(fn))
        b.scope = scope[0] if scope else ""
        base = f"{b.scope}/{type(fn).__name__}" if b.scope else type(fn).__name__
        outs = node_outputs(t)
        # every output gets a name, also one that nobody kept (an unused LSTM state, say)
        names = [(None if o is None else out_ids.get(id(o))) or b.fresh(base) for o in outs]
        node = Node(b, fn=fn, options=getattr(fn, "options", None),
                    options_b=getattr(b.twin[id(t)]._ctx, "options", None),
                    tensors=fn.inputs, output=names[0] if fn.outputs is None else names,
                    tensor=next(o for o in outs if o is not None), where=_where(scope))
        for o, name in zip(outs, names):
            if o is not None:
                b.names[id(o)] = name
        if node.options is None:  # only a Function that bypasses Function.apply gets here
            node.fail("its options were not recorded (it was not created through Function.apply)")
        emitter_for(node, EMITTERS)(b, node)
    b.scope = ""
    for t, name in zip(trace.outputs, output_names):
        if b.value(t) != name:  # an input, a constant or a repeated output: copy it under its name
            b.op("Identity", [b.value(t)], name)
    nodes, initializers = _live(b.nodes, b.initializers, output_names)
    size = sum(a.nbytes for _, a in initializers)
    if size > _PROTOBUF_LIMIT:
        raise ValueError(f"shendu.onnx.export: the weights take {size / 2**30:.2f} GiB, above protobuf's 2 GiB "
                         f"limit for one ONNX file")
    graph = onnx.helper.make_graph(
        nodes, type(model).__name__,
        [_value_info(onnx, name, t.data.dtype, b.dims(t)) for name, t in zip(input_names, trace.inputs)],
        [_value_info(onnx, name, t.data.dtype, b.dims(t)) for name, t in zip(output_names, trace.outputs)])
    opsets = [onnx.helper.make_opsetid("", int(opset))]
    proto = onnx.helper.make_model(graph, opset_imports=opsets, producer_name="shendu",
                                   producer_version=_version(),
                                   ir_version=onnx.helper.find_min_ir_version_for(opsets))
    for name, array in initializers:  # filled in place: a big model's weights are copied only once
        _fill_tensor(proto.graph.initializer.add(), name, array, onnx)
    data = proto.SerializeToString()
    if check:
        onnx.checker.check_model(data, full_check=True)
    atomic_write(path, lambda f: f.write(data))
    return proto


def _names(names, n, base):
    if names is None:
        return [base] if n == 1 else [f"{base}_{i}" for i in range(n)]
    names = [names] if isinstance(names, str) else list(names)
    if len(names) != n or len(set(names)) != n or not all(isinstance(s, str) and s for s in names):
        raise ValueError(f"shendu.onnx.export: expected {n} distinct {base} names, got {names!r}")
    return names


def _value_info(onnx, name, dtype, dims):
    return onnx.helper.make_tensor_value_info(name, onnx.helper.np_dtype_to_tensor_dtype(xp.dtype(dtype)),
                                              [_dim_param(d) for d in dims])


def _live(nodes, initializers, outputs):
    """The nodes and initializers the outputs depend on (an emitter may leave a helper value unused)."""
    live, kept = set(outputs), []
    for node in reversed(nodes):
        if any(o in live for o in node.output):
            kept.append(node)
            live.update(i for i in node.input if i)
    return kept[::-1], [(name, a) for name, a in initializers if name in live]


def _fill_tensor(proto, name, array, onnx):
    """A TensorProto holding ``array`` as little-endian raw bytes (what numpy_helper.from_array writes)."""
    array = xp.asarray(array)
    proto.name = name
    proto.data_type = onnx.helper.np_dtype_to_tensor_dtype(array.dtype)
    proto.dims.extend(array.shape)
    proto.raw_data = xp.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()


def _version():
    from .. import __version__
    return __version__


__all__ = ["export", "Builder", "Node", "Dim", "MIN_OPSET"]
