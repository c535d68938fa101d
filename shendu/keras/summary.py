"""``model.summary()`` in Keras 3's table layout.

    Model: "sequential"
    ┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
    ┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
    ┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
    │ conv2d (Conv2D)                 │ (None, 26, 26, 32)     │           320 │
    └─────────────────────────────────┴────────────────────────┴───────────────┘
     Total params: 320 (1.25 KB)
     Trainable params: 320 (1.25 KB)
     Non-trainable params: 0 (0.00 B)

One row per layer (a functional model lists its InputLayers and a "Connected to"
column, ``name[0][0]``); output shapes with the batch axis None; parameter
counts as Keras counts them (BatchNormalization's moving statistics are
non-trainable parameters); sizes at 4 bytes a float32 value, in units of 1024.
Each row is one line (Keras wraps long cells).
"""
from __future__ import annotations

from ..autograd import no_grad
from ..tensor import Tensor, zeros
from .engine import flatten


def readable_size(n_bytes):
    """Keras's ``readable_memory_size``: 212.54 KB."""
    units, size = ["B", "KB", "MB", "GB", "TB"], float(n_bytes)
    i = 0
    while size >= 1024 and i < len(units) - 1:
        size /= 1024
        i += 1
    return f"{size:.2f} {units[i]}"


def _shape_text(shape):
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + (",)" if len(shape) == 1 else ")")


def _output_shapes(model):
    """{layer name: output shape text} from one forward on zeros (batch axis shown as None)."""
    from .models import Functional, Sequential
    if isinstance(model, Functional):
        specs = model.graph["inputs"]
    elif isinstance(model, Sequential) and model.input_spec is not None:
        specs = [model.input_spec]
    elif model.__dict__.get("_built_shape") is not None:
        shape = model.__dict__["_built_shape"]
        specs = [{"shape": s, "dtype": "float32"} for s in (shape if isinstance(shape[0], (list, tuple)) else [shape])]
    else:
        raise ValueError("This model has not yet been built. Build the model first by calling `build()` or by "
                         "calling the model on a batch of data.")
    inputs = [zeros(*[1 if d is None else d for d in s["shape"]], dtype="int64" if "int" in s["dtype"] else None)
              for s in specs]
    shapes, handles = {}, []
    for layer in model.layers:
        def hook(module, args, out, layer=layer):
            if layer.name not in shapes:
                outs = [o for o in flatten(out) if isinstance(o, Tensor)]
                texts = [_shape_text((None, *o.shape[1:])) for o in outs]
                shapes[layer.name] = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
        handles.append(layer.register_forward_hook(hook))
    was = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with no_grad():
            model(inputs[0] if len(inputs) == 1 and not isinstance(model, Functional) else
                  (inputs if len(inputs) > 1 else inputs[0]))
    finally:
        for h in handles:
            h.remove()
        for m, mode in was:
            object.__setattr__(m, "training", mode)
    for s in specs if isinstance(model, Functional) else []:
        shapes.setdefault(s["name"], _shape_text(s["shape"]))
    return shapes


def _connections(model):
    """{layer name: "a[0][0], b[0][0]"} for a functional model."""
    names = [s["name"] for s in model.graph["inputs"]] + [n["layer"] for n in model.graph["nodes"]]
    out = {}
    for node in model.graph["nodes"]:
        refs = [leaf["__ref__"] for leaf in _refs((node["args"], node["kwargs"]))]
        out.setdefault(node["layer"], ", ".join(f"{names[k]}[0][{j}]" for k, j in refs))
    return out


def _refs(value):
    if isinstance(value, dict):
        if set(value) == {"__ref__"}:
            return [value]
        return [r for v in value.values() for r in _refs(v)]
    if isinstance(value, (list, tuple)):
        return [r for v in value for r in _refs(v)]
    return []


def rows(model):
    """(name (type), output shape, params[, connected to]) for each layer."""
    from .models import Functional
    shapes = _output_shapes(model)
    links = _connections(model) if isinstance(model, Functional) else None
    out = []
    for layer in model.layers:
        row = [f"{layer.name} ({type(layer).__name__})", shapes.get(layer.name, "?"), f"{layer.count_params():,}"]
        if links is not None:
            row.append(links.get(layer.name, "-"))
        out.append(row)
    return out


def summary_text(model):
    """The whole summary as one string."""
    from .models import Functional
    table = rows(model)
    heads = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if isinstance(model, Functional) else [])
    minimum = [31, 22, 13] if len(heads) == 3 else [19, 17, 10, 17]
    widths = [max([len(h), m] + [len(r[i]) for r in table]) for i, (h, m) in enumerate(zip(heads, minimum))]

    def cells(values, bar):
        return bar + bar.join(f" {v.rjust(w) if i == 2 else v.ljust(w)} " for i, (v, w) in
                              enumerate(zip(values, widths))) + bar

    def rule(left, mid, right, fill):
        return left + mid.join(fill * (w + 2) for w in widths) + right

    lines = [f'Model: "{model.name}"', rule("┏", "┳", "┓", "━"), cells(heads, "┃"), rule("┡", "╇", "┩", "━")]
    for i, r in enumerate(table):
        lines.append(cells(r, "│"))
        if i < len(table) - 1:
            lines.append(rule("├", "┼", "┤", "─"))
    lines.append(rule("└", "┴", "┘", "─"))
    weights = model.weights
    total = sum(w.data.size for w in weights)
    trainable = sum(w.data.size for w in model.trainable_weights)
    lines += [f" Total params: {total:,} ({readable_size(total * 4)})",
              f" Trainable params: {trainable:,} ({readable_size(trainable * 4)})",
              f" Non-trainable params: {total - trainable:,} ({readable_size((total - trainable) * 4)})"]
    return "\n".join(lines)
