"""``summary``: a model's layer-by-layer table of shapes, parameters and cost.

One forward pass on zeros of shape (batch_size, *input_shape), under ``no_grad``
in eval mode, with a forward hook on every module, gives each module's output
shape and cost; the parameters are read from the modules. Conventions:

* Parameters of a row are the module's own (not its children's), so the rows
  add up to the totals. Trainable = parameters with ``requires_grad``;
  non-trainable = frozen parameters + floating buffers (BatchNorm's running
  mean and variance), as Keras counts them.
* MACs (multiply-accumulates) come from ``module.macs(inputs, output)`` where a
  layer defines it (its own work, children excluded), else 0. FLOPs = 2·MACs
  (one multiply-add = 2 floating-point operations). Both are per sample: the
  cost of the pass divided by ``batch_size``; a module called several times
  (a shared layer, an RNN cell) adds up over its calls.
* Connections (LeCun et al. 1998's count for LeNet-5): ``module.connections(
  inputs, output)`` where defined, else MACs + (the number of output elements
  when the module has a ``bias`` parameter), per sample.
* Parameter memory: bytes of every counted parameter and buffer at its dtype.
  Activation memory: the bytes of the outputs of every leaf module (one without
  children), summed over calls, for one sample — a rough size of what a
  training step keeps for backward.
"""
from __future__ import annotations

from . import autograd, backend
from .tensor import Tensor

#: (row key, column title); the numeric columns are right-aligned.
COLUMNS = (("name", "Layer (path)"), ("type", "Type"), ("output_shape", "Output shape"), ("params", "Params"),
           ("trainable", "Trainable"), ("non_trainable", "Non-trainable"), ("macs", "MACs"), ("flops", "FLOPs"),
           ("connections", "Connections"))
_TEXT_COLUMNS = ("name", "type", "output_shape")


class Summary:
    """The numbers of a model summary: ``rows`` (one dict per module) and totals.

    Attributes:
        model: the model's class name. input_shapes: the shapes fed (with batch).
        rows: dicts with keys name, type, output_shape, params, trainable,
            non_trainable, macs, flops, connections (MACs, FLOPs, connections
            per sample).
        total_params, trainable_params, non_trainable_params, total_macs,
        total_flops, total_connections: sums over the rows.
        param_bytes, param_bytes_by_dtype: memory of parameters and buffers.
        activation_bytes: memory of the leaf modules' outputs for one sample.

    ``str(summary)`` is the printed table; ``to_dict()`` is JSON-able.
    """

    def __init__(self, model, input_shapes, rows, param_bytes_by_dtype, activation_bytes):
        self.model = model
        self.input_shapes = input_shapes
        self.rows = rows
        self.total_params = sum(r["params"] for r in rows)
        self.trainable_params = sum(r["trainable"] for r in rows)
        self.non_trainable_params = sum(r["non_trainable"] for r in rows)
        self.total_macs = sum(r["macs"] for r in rows)
        self.total_flops = 2 * self.total_macs
        self.total_connections = sum(r["connections"] for r in rows)
        self.param_bytes_by_dtype = param_bytes_by_dtype
        self.param_bytes = sum(param_bytes_by_dtype.values())
        self.activation_bytes = activation_bytes

    def to_dict(self):
        """Everything as plain JSON-able data (shapes as lists)."""
        keys = ("total_params", "trainable_params", "non_trainable_params", "total_macs", "total_flops",
                "total_connections", "param_bytes", "param_bytes_by_dtype", "activation_bytes")
        return {"model": self.model, "input_shapes": _jsonable(self.input_shapes),
                "rows": [{**r, "output_shape": _jsonable(r["output_shape"])} for r in self.rows],
                **{k: getattr(self, k) for k in keys}}

    def __str__(self):
        cells = [[title for _, title in COLUMNS]]
        for r in self.rows:
            cells.append([_format_cell(k, r[k]) for k, _ in COLUMNS])
        widths = [max(len(c[i]) for c in cells) for i in range(len(COLUMNS))]

        def line(row):
            return "  ".join(c.ljust(w) if k in _TEXT_COLUMNS else c.rjust(w)
                             for c, w, (k, _) in zip(row, widths, COLUMNS)).rstrip()

        rule_len = sum(widths) + 2 * (len(widths) - 1)
        shapes = ", ".join(_format_shape(s) for s in self.input_shapes)
        dtypes = ", ".join(f"{d}: {n:,}" for d, n in self.param_bytes_by_dtype.items()) or "none"
        return "\n".join([
            f"Model: {self.model}    input: {shapes}",
            "=" * rule_len, line(cells[0]), "-" * rule_len, *(line(c) for c in cells[1:]), "=" * rule_len,
            f"Total params:          {self.total_params:,}",
            f"Trainable params:      {self.trainable_params:,}",
            f"Non-trainable params:  {self.non_trainable_params:,}  (frozen parameters + floating buffers)",
            f"MACs per sample:       {self.total_macs:,}  (multiply-accumulates)",
            f"FLOPs per sample:      {self.total_flops:,}  (1 multiply-add = 2 FLOPs)",
            f"Connections:           {self.total_connections:,}  (MACs + biases, LeCun 1998's count)",
            f"Parameter memory:      {_bytes(self.param_bytes)}  ({dtypes})",
            f"Activation memory:     {_bytes(self.activation_bytes)}  (outputs of every leaf layer, one sample)",
            "-" * rule_len])

    def __repr__(self):
        return f"Summary({self.model}: {self.total_params:,} params, {self.total_macs:,} MACs per sample)"


def summary(model, input_shape, dtype=None, batch_size=1, print_fn=print):
    """Print and return a table of every layer's output shape, parameters, MACs, FLOPs and connections.

    Args:
        model: a :class:`shendu.nn.Module`.
        input_shape: the shape of one sample without the batch axis, e.g.
            ``(1, 28, 28)``; a list of shapes for a model of several inputs.
        dtype: the dtype of the zero inputs (one, or one per input); default
            the dtype of the model's first floating parameter, else the default
            dtype. Use an integer dtype for embedding inputs.
        batch_size: the batch axis of the inputs (default 1); the numbers are
            per sample whatever it is.
        print_fn: called with the table (default ``print``); None prints nothing.

    Returns:
        A :class:`Summary` (rows and totals as data; ``str()`` is the table).

    Example:
        >>> s = shendu.summary(nn.Sequential(nn.Linear(5, 10)), (5,))
        >>> s.total_params, s.total_macs
        (60, 50)
    """
    if batch_size < 1:
        raise ValueError(f"summary: batch_size must be at least 1, got {batch_size}")
    shapes = _sample_shapes(input_shape)
    params = list(model.parameters())
    float_params = [p for p in params if p.dtype.kind == "f"]
    default_dtype = float_params[0].dtype if float_params else backend.get_default_dtype()
    dtypes = list(dtype) if isinstance(dtype, (list, tuple)) else [dtype] * len(shapes)
    device = backend.device_of(params[0].data) if params else backend.cpu
    inputs = []
    for shape, dt in zip(shapes, dtypes):
        arr = backend.xp.zeros((batch_size, *shape), dtype=default_dtype if dt is None else backend.as_dtype(dt))
        inputs.append(Tensor._wrap(backend.to_device(arr, device), False, None))

    records = {}
    handles = [m.register_forward_hook(_recorder(records)) for m in model.modules()]
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with autograd.no_grad():
            model(*inputs)
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes:
            object.__setattr__(m, "training", mode)

    rows, bytes_by_dtype, activation_bytes, seen = [], {}, 0, set()
    for path, m in model.named_modules():
        own = [p for p in m._parameters.values() if p is not None and id(p) not in seen]
        own_buffers = [b for b in m._buffers.values() if b is not None and b.dtype.kind == "f" and id(b) not in seen]
        seen.update(id(t) for t in own + own_buffers)
        for t in own + own_buffers:
            bytes_by_dtype[str(t.dtype)] = bytes_by_dtype.get(str(t.dtype), 0) + int(t.data.nbytes)
        rec = records.get(id(m), {"output_shape": None, "macs": 0, "connections": 0, "output_bytes": 0})
        is_leaf = not any(True for _ in m.children())
        if is_leaf:
            activation_bytes += rec["output_bytes"] // batch_size
        if path == "" and not is_leaf and not own and not own_buffers:
            continue  # the model itself: a plain container
        trainable = sum(int(p.data.size) for p in own if p.requires_grad)
        non_trainable = sum(int(p.data.size) for p in own if not p.requires_grad) + \
            sum(int(b.data.size) for b in own_buffers)
        macs = rec["macs"] // batch_size
        rows.append({"name": path or "(model)", "type": type(m).__name__, "output_shape": rec["output_shape"],
                     "params": trainable + non_trainable, "trainable": trainable, "non_trainable": non_trainable,
                     "macs": macs, "flops": 2 * macs, "connections": rec["connections"] // batch_size})

    result = Summary(type(model).__name__, [tuple(t.shape) for t in inputs], rows, bytes_by_dtype, activation_bytes)
    if print_fn is not None:
        print_fn(str(result))
    return result


# ---------------------------------------------------------------- helpers
def _recorder(records):
    """A forward hook that accumulates output shape, MACs, connections and output bytes per module."""

    def hook(module, inputs, output):
        rec = records.setdefault(id(module), {"output_shape": _shape_of(output), "macs": 0, "connections": 0,
                                              "output_bytes": 0})
        macs = int(module.macs(inputs, output)) if hasattr(module, "macs") else 0
        if hasattr(module, "connections"):
            connections = int(module.connections(inputs, output))
        else:
            first = next(_tensors(output), None)
            has_bias = module._parameters.get("bias") is not None
            connections = macs + (int(first.numel()) if has_bias and first is not None else 0)
        rec["macs"] += macs
        rec["connections"] += connections
        rec["output_bytes"] += sum(int(t.data.nbytes) for t in _tensors(output))

    return hook


def _sample_shapes(input_shape):
    """One shape, or a list of shapes, as a list of int tuples."""
    if isinstance(input_shape, int):
        return [(input_shape,)]
    shapes = list(input_shape)
    if shapes and all(isinstance(s, (tuple, list)) for s in shapes):
        return [tuple(int(n) for n in s) for s in shapes]
    if all(isinstance(n, int) for n in shapes):
        return [tuple(shapes)]
    raise TypeError(f"summary: input_shape must be a shape like (3, 32, 32) or a list of shapes, got {input_shape!r}")


def _tensors(obj):
    """Every tensor in a (nested) tuple / list / dict output."""
    if isinstance(obj, Tensor):
        yield obj
    elif isinstance(obj, (tuple, list)):
        for o in obj:
            yield from _tensors(o)
    elif isinstance(obj, dict):
        for o in obj.values():
            yield from _tensors(o)


def _shape_of(obj):
    """The shape of a tensor; the same structure of shapes for tuples, lists and dicts; None otherwise."""
    if isinstance(obj, Tensor):
        return tuple(obj.shape)
    if isinstance(obj, (tuple, list)):
        return [_shape_of(o) for o in obj]
    if isinstance(obj, dict):
        return {str(k): _shape_of(o) for k, o in obj.items()}
    return None


def _format_shape(shape):
    if shape is None:
        return "-"
    if isinstance(shape, dict):
        return "{" + ", ".join(f"{k}: {_format_shape(s)}" for k, s in shape.items()) + "}"
    if isinstance(shape, list):
        return "[" + ", ".join(_format_shape(s) for s in shape) + "]"
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def _format_cell(key, value):
    if key == "output_shape":
        return _format_shape(value)
    return f"{value:,}" if isinstance(value, int) else str(value)


def _jsonable(shape):
    if isinstance(shape, dict):
        return {k: _jsonable(s) for k, s in shape.items()}
    if isinstance(shape, (list, tuple)):
        return [_jsonable(s) for s in shape]
    return shape


def _bytes(n):
    """``'596 bytes'`` or ``'246,824 bytes (241.04 KiB)'``."""
    scaled, unit = float(n), "bytes"
    for bigger in ("KiB", "MiB", "GiB"):
        if scaled < 1024:
            break
        scaled, unit = scaled / 1024, bigger
    return f"{n:,} bytes" + (f" ({scaled:,.2f} {unit})" if unit != "bytes" else "")


__all__ = ["summary", "Summary"]
