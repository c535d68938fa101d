"""The ONNX translation of each recorded op: one emitter per :class:`~shendu.autograd.Function` class.

An emitter ``emit(b, n)`` gets the :class:`~shendu.onnx.export.Builder` ``b``
and the :class:`~shendu.onnx.export.Node` ``n`` (the op's options, its input
names and the name its output must have) and adds ONNX nodes with
``b.op(op_type, inputs, output, **attributes)``. Most ops map to one ONNX
operator; the others are written out from the same formula as their shendu
forward (docs/onnx.md has the table). :data:`EMITTERS` maps each Function
class to its emitter; :func:`emits` registers one.
"""
from __future__ import annotations

import math
import numbers

from ..backend import xp
from ..functional import activation as A
from ..functional import attention as Att
from ..functional import capsule as Caps
from ..functional import conv as C
from ..functional import normalization as N
from ..functional import pooling as P
from ..functional import recurrent as R
from ..functional.dropout import Dropout as DropoutFn
from ..functional.einsum import Einsum as EinsumFn
from ..functional.embedding import Embedding as EmbeddingFn
from ..ops import arithmetic, elementwise, indexing, join, linalg, reduction, shape, special
from ..ops.norm import VectorNorm
from ..ops._util import Cast, normalize_axes
from .export import INT64_MAX, INT64_MIN, Dim

#: Function class -> emitter(builder, node).
EMITTERS = {}


def emits(*classes):
    """Register the decorated function as the emitter of these Function classes."""
    def register(fn):
        for cls in classes:
            EMITTERS[cls] = fn
        return fn
    return register


def emitter_for(node, emitters):
    """The emitter of ``node``'s Function class, or a ValueError naming the op and its layer."""
    emit = emitters.get(type(node.fn))
    if emit is None:
        node.fail(f"this op has no ONNX translation (known ops: {', '.join(sorted(c.__name__ for c in emitters))})")
    return emit


# ---------------------------------------------------------------- one op, one ONNX operator
_SAME = {
    arithmetic.Add: "Add", arithmetic.Sub: "Sub", arithmetic.Mul: "Mul", arithmetic.Div: "Div",
    arithmetic.Neg: "Neg", arithmetic.Pow: "Pow", elementwise.Exp: "Exp", elementwise.Log: "Log",
    elementwise.Sqrt: "Sqrt", elementwise.Abs: "Abs", elementwise.Tanh: "Tanh", elementwise.Sigmoid: "Sigmoid",
    elementwise.Relu: "Relu", elementwise.Maximum: "Max", elementwise.Minimum: "Min", linalg.MatMul: "MatMul",
    special.Erf: "Erf", A.Softsign: "Softsign", A.Hardswish: "HardSwish", elementwise.Sign: "Sign",
}


@emits(*_SAME)
def _same(b, n):
    b.op(_SAME[type(n.fn)], n.inputs, n.output)


@emits(Cast)
def _cast(b, n):
    b.op("Cast", n.inputs, n.output, to=b.tensor_type(n.tensor.dtype))


@emits(arithmetic.PowScalar)
def _pow_scalar(b, n):
    b.op("Pow", [n.inputs[0], b.scalar(n.options["p"], n.tensor.dtype)], n.output)


@emits(elementwise.Clip, A.Hardtanh)
def _clip(b, n):
    """clip(x, lo, hi); a bound that is None is left out."""
    bounds = [b.scalar(n.options[k], n.tensor.dtype) if n.options[k] is not None else "" for k in ("lo", "hi")]
    b.op("Clip", [n.inputs[0], *bounds], n.output)


@emits(elementwise.Where)
def _where(b, n):
    cond = b.array_option(n, "cond", "the condition")
    b.op("Where", [cond, *n.inputs], n.output)


# ---------------------------------------------------------------- activations
@emits(A.LeakyRelu)
def _leaky_relu(b, n):
    b.op("LeakyRelu", n.inputs, n.output, alpha=float(n.options["slope"]))


@emits(A.Elu)
def _elu(b, n):
    alpha, scale = float(n.options["alpha"]), float(n.options["scale"])
    if scale == 1:
        b.op("Elu", n.inputs, n.output, alpha=alpha)
    else:  # λ·elu(x, α) is ONNX's Selu with γ = λ
        b.op("Selu", n.inputs, n.output, alpha=alpha, gamma=scale)


@emits(A.Hardsigmoid)
def _hardsigmoid(b, n):
    b.op("HardSigmoid", n.inputs, n.output, alpha=1 / 6, beta=0.5)  # max(0, min(1, x/6 + 1/2))


@emits(A.Silu)
def _silu(b, n):
    b.op("Mul", [n.inputs[0], b.op("Sigmoid", n.inputs)], n.output)


@emits(A.Softplus)
def _softplus(b, n):
    """y = x where βx > threshold, else log(1 + e^(βx))/β."""
    x, dtype = n.inputs[0], n.tensor.dtype
    beta, threshold = n.options["beta"], n.options["threshold"]
    z = x if beta == 1 else b.op("Mul", [x, b.scalar(beta, dtype)])
    soft = b.op("Softplus", [z])
    if beta != 1:
        soft = b.op("Div", [soft, b.scalar(beta, dtype)])
    b.op("Where", [b.op("Greater", [z, b.scalar(threshold, dtype)]), x, soft], n.output)


@emits(A.Gelu)
def _gelu(b, n):
    """exact: ½x(1 + erf(x/√2));  tanh: ½x(1 + tanh(√(2/π)(x + 0.044715x³)))."""
    x, dtype = n.inputs[0], n.tensor.dtype
    if n.options["approximate"] == "tanh":
        cube = b.op("Mul", [b.op("Mul", [x, x]), x])
        inner = b.op("Add", [x, b.op("Mul", [cube, b.scalar(A.Gelu._C, dtype)])])
        s = b.op("Tanh", [b.op("Mul", [inner, b.scalar(A.Gelu._K, dtype)])])
    else:
        s = b.op("Erf", [b.op("Mul", [x, b.scalar(1 / math.sqrt(2), dtype)])])
    half_x = b.op("Mul", [x, b.scalar(0.5, dtype)])
    b.op("Mul", [half_x, b.op("Add", [s, b.scalar(1, dtype)])], n.output)


@emits(A.Step)
def _step(b, n):
    """1 where x > threshold, ``at`` where x == threshold, else 0."""
    x, dtype = n.inputs[0], n.tensor.dtype
    t, at = n.options["threshold"], n.options["at"]
    threshold = b.scalar(t, dtype)
    above = b.op("Greater", [x, threshold])
    if at == 0:
        b.op("Cast", [above], n.output, to=b.tensor_type(dtype))
        return
    step = b.op("Cast", [above], to=b.tensor_type(dtype))
    b.op("Where", [b.op("Equal", [x, threshold]), b.scalar(at, dtype), step], n.output)


@emits(A.Threshold)
def _threshold(b, n):
    x, dtype = n.inputs[0], n.tensor.dtype
    above = b.op("Greater", [x, b.scalar(n.options["threshold"], dtype)])
    b.op("Where", [above, x, b.scalar(n.options["value"], dtype)], n.output)


@emits(A.Softmax, A.LogSoftmax)
def _softmax(b, n):
    b.op(type(n.fn).__name__, n.inputs, n.output, axis=int(n.options["axis"]))


def _squash_nodes(b, s, axis, eps, dtype, output=None):
    """v = s·q / ((1 + q)·√(q + ε)), q = |s|² along ``axis`` (:class:`shendu.functional.capsule.Squash`)."""
    q = b.reduce("ReduceSum", b.op("Mul", [s, s]), axis, True)
    root = b.op("Sqrt", [b.op("Add", [q, b.scalar(eps, dtype)])])
    scale = b.op("Div", [q, b.op("Mul", [b.op("Add", [q, b.scalar(1, dtype)]), root])])
    return b.op("Mul", [s, scale], output)


@emits(Caps.Squash)
def _squash(b, n):
    _squash_nodes(b, n.inputs[0], n.options["axis"], n.options["eps"], n.tensor.dtype, n.output)


@emits(Caps.DynamicRouting)
def _dynamic_routing(b, n):
    """Procedure 1 unrolled over its fixed number of iterations, from the votes V = û (N, J, I, D):
    c = softmax_j(b), s = c @ V, v = squash(s), b ← b + V @ v; b starts at zeros shaped from V (the
    batch is dynamic). Outputs v (N, J, D) and c transposed to (N, I, J), as the Function's."""
    dtype, iterations = n.tensors[0].dtype, n.options["iterations"]
    votes = b.op("Transpose", [n.inputs[0]], perm=[0, 2, 1, 3])
    logits = b.op("Mul", [b.reduce("ReduceSum", votes, 3, False), b.scalar(0, dtype)])  # zeros (N, J, I)
    for r in range(iterations):
        c = b.op("Softmax", [logits], axis=1)                                    # over the parents
        s = b.op("Squeeze", [b.op("MatMul", [b.op("Unsqueeze", [c, b.ints([2])]), votes]), b.ints([2])])
        last = r == iterations - 1
        v = _squash_nodes(b, s, -1, Caps.SQUASH_EPS, dtype, n.output[0] if last else None)
        if not last:
            agreement = b.op("MatMul", [votes, b.op("Unsqueeze", [v, b.ints([3])])])
            logits = b.op("Add", [logits, b.op("Squeeze", [agreement, b.ints([3])])])
    b.op("Transpose", [c], n.output[1], perm=[0, 2, 1])


@emits(EinsumFn)
def _einsum(b, n):
    """ONNX's Einsum (opset 12 and later) with shendu's equation, subscripts → output."""
    b.op("Einsum", n.inputs, n.output, equation=",".join(n.options["subs"]) + "->" + n.options["out"])


# ---------------------------------------------------------------- dense, convolution, pooling
@emits(linalg.Linear)
def _linear(b, n, output=None):
    """x Wᵀ + b: one Gemm for a 2-D x, else MatMul with Wᵀ (and Add)."""
    x, w = n.inputs[0], n.inputs[1]
    output = n.output if output is None else output
    if n.tensors[0].ndim == 2:
        return b.op("Gemm", n.inputs, output, transB=1)
    if len(n.inputs) == 2:
        return b.op("MatMul", [x, b.op("Transpose", [w], perm=[1, 0])], output)
    y = b.op("MatMul", [x, b.op("Transpose", [w], perm=[1, 0])])
    return b.op("Add", [y, n.inputs[2]], output)


def _then_activation(emit_layer, name):
    """The emitter of a layer fused with its activation (LinearTanh, Conv2dReLU): ``emit_layer``'s nodes into a
    fresh tensor ``name``…, then the activation's own operator (Relu, Tanh, Sigmoid: its Function's)."""
    def emit(b, n):
        b.op(_SAME[type(n.fn).activation], [emit_layer(b, n, b.fresh(name))], n.output)
    return emit


emits(linalg.LinearReLU, linalg.LinearTanh, linalg.LinearSigmoid)(_then_activation(_linear, "Gemm"))


def _conv_attrs(geo):
    return dict(kernel_shape=[geo.kh, geo.kw], strides=[geo.sh, geo.sw], dilations=[geo.dh, geo.dw],
                pads=[geo.pt, geo.pl, geo.pb, geo.pr], group=geo.groups)


@emits(C.Conv2d)
def _conv2d(b, n, output=None):
    return b.op("Conv", n.inputs, n.output if output is None else output, **_conv_attrs(n.options["geo"]))


emits(C.Conv2dReLU)(_then_activation(_conv2d, "Conv"))


@emits(C.ConvTranspose2d)
def _conv_transpose2d(b, n):
    """ConvTranspose. shendu's output_padding (< max(stride, dilation)) crops less at the bottom/right:
    ONNX runtimes refuse output_padding ≥ stride, so it becomes a smaller bottom/right pad; rows beyond
    the scattered output (output_padding > padding) hold only the bias: zeros padded, then the bias added."""
    geo, out_hw = n.options["geo"], n.options["out_shape"][2:]
    full = [(i - 1) * s - 2 * p + d * (k - 1) + 1 for i, s, p, d, k in
            zip(n.tensors[0].shape[2:], (geo.sh, geo.sw), (geo.pt, geo.pl), (geo.dh, geo.dw), (geo.kh, geo.kw))]
    extra = [o - f for o, f in zip(out_hw, full)]
    shift = [min(e, p) for e, p in zip(extra, (geo.pb, geo.pr))]
    rest = [e - t for e, t in zip(extra, shift)]
    attrs = _conv_attrs(geo)
    attrs["pads"] = [geo.pt, geo.pl, geo.pb - shift[0], geo.pr - shift[1]]
    if not any(rest):
        b.op("ConvTranspose", n.inputs, n.output, **attrs)
        return
    scattered, pads = b.op("ConvTranspose", n.inputs[:2], **attrs), b.ints([0, 0, 0, 0, 0, 0, *rest])
    if len(n.inputs) == 2:
        b.op("Pad", [scattered, pads], n.output)
        return
    bias = b.op("Unsqueeze", [n.inputs[2], b.ints([1, 2])])  # (C_out, 1, 1)
    b.op("Add", [b.op("Pad", [scattered, pads]), bias], n.output)


def _pool_pads(geo):
    return [geo.pt, geo.pl, geo.pb, geo.pr]


def _padded(b, x, geo, value, dtype):
    """x inside a frame of ``value`` (top, left, bottom, right as in ``geo``)."""
    pads = b.ints([0, 0, geo.pt, geo.pl, 0, 0, geo.pb, geo.pr])
    return b.op("Pad", [x, pads, b.scalar(value, dtype)])


@emits(P.MaxPool2d)
def _max_pool2d(b, n):
    """MaxPool with the exact (top, left, bottom, right) padding shendu computed, ceil_mode included;
    padding as wide as the kernel (ONNX refuses it) becomes an explicit −∞ Pad."""
    geo, x = n.options["geo"], n.inputs[0]
    attrs = dict(kernel_shape=[geo.kh, geo.kw], strides=[geo.sh, geo.sw], dilations=[geo.dh, geo.dw])
    if max(geo.pt, geo.pb) >= geo.kh or max(geo.pl, geo.pr) >= geo.kw:
        b.op("MaxPool", [_padded(b, x, geo, -math.inf, n.tensor.dtype)], n.output, **attrs)
    else:
        b.op("MaxPool", [x], n.output, pads=_pool_pads(geo), **attrs)


@emits(P.AvgPool2d)
def _avg_pool2d(b, n):
    """Σ window / divisor: AveragePool of the zero-padded input (Σ/(k_h·k_w) everywhere), then a
    constant factor k_h·k_w/divisor where shendu's divisor differs (ceil_mode edges,
    count_include_pad=False, divisor_override)."""
    geo, x, dtype = n.options["geo"], n.inputs[0], n.tensor.dtype
    divisor = xp.asarray(n.options["divisor"], dtype=dtype)
    if any(_pool_pads(geo)):
        x = _padded(b, x, geo, 0, dtype)
    window = geo.kh * geo.kw
    exact = bool((divisor == window).all())
    y = b.op("AveragePool", [x], n.output if exact else None, kernel_shape=[geo.kh, geo.kw],
             strides=[geo.sh, geo.sw])
    if not exact:
        b.op("Mul", [y, b.const((window / divisor).astype(dtype), f"{b.scope}/avg_pool_scale")], n.output)


@emits(P.Resample2d)
def _resample2d(b, n):
    """y = M_h · x · M_wᵀ (adaptive average pooling, interpolation): two MatMuls with constant matrices."""
    m_h, m_w = n.options["m_h"], n.options["m_w"]
    rows = b.op("MatMul", [n.inputs[0], b.const(xp.ascontiguousarray(m_w.T), f"{b.scope}/resample_w")])
    b.op("MatMul", [b.const(m_h, f"{b.scope}/resample_h"), rows], n.output)


@emits(P.LocalResponseNorm)
def _lrn(b, n):
    """y_c = x_c · (k + α/n · Σ_{c' ∈ W(c)} x_{c'}²)^(−β), W(c) = c − ⌊n/2⌋ … c + ⌊(n−1)/2⌋.

    ONNX's LRN has the same window for odd n on 4-D input; otherwise the sum
    is written out: square, pad the channels, add n shifted slices.
    """
    o = n.options
    size, alpha, beta, k = o["size"], o["alpha"], o["beta"], o["k"]
    x, dtype, ndim = n.inputs[0], n.tensor.dtype, n.tensor.ndim
    if size % 2 and ndim == 4:
        b.op("LRN", [x], n.output, size=size, alpha=float(alpha), beta=float(beta), bias=float(k))
        return
    channels = n.tensor.shape[1]
    pads = [0] * (2 * ndim)
    pads[1], pads[ndim + 1] = size // 2, (size - 1) // 2
    padded = b.op("Pad", [b.op("Mul", [x, x]), b.ints(pads)])
    total = None
    for j in range(size):
        part = b.op("Slice", [padded, b.ints([j]), b.ints([j + channels]), b.ints([1])])
        total = part if total is None else b.op("Add", [total, part])
    d = b.op("Add", [b.op("Mul", [total, b.scalar(alpha / size, dtype)]), b.scalar(k, dtype)])
    b.op("Mul", [x, b.op("Pow", [d, b.scalar(-beta, dtype)])], n.output)


# ---------------------------------------------------------------- normalisation, embedding, dropout
def _affine_inputs(b, n, shape):
    """γ and β (constants 1 and 0 for a layer without them)."""
    if len(n.inputs) == 3:
        return n.inputs[1:]
    dtype = n.tensor.dtype
    return [b.const(xp.ones(shape, dtype=dtype), f"{b.scope}/ones"), b.const(xp.zeros(shape, dtype=dtype),
                                                                          f"{b.scope}/zeros")]


@emits(N.BatchNorm)
def _batch_norm(b, n):
    """Evaluation: BatchNormalization on the running statistics. Batch statistics (a layer without
    running statistics): the formula, mean and biased variance over every axis but 1."""
    o, x, t = n.options, n.inputs[0], n.tensor
    channels, dtype = t.shape[1], t.dtype
    scale, bias = _affine_inputs(b, n, (channels,))
    if not o["batch_stats"]:
        stats = []
        for key in ("running_mean", "running_var"):
            v = b.tensor_option(n, key)
            stats.append(v if o[key].dtype == dtype else b.op("Cast", [v], to=b.tensor_type(dtype)))
        b.op("BatchNormalization", [x, scale, bias, *stats], n.output, epsilon=float(o["eps"]))
        return
    axes = [0] + list(range(2, t.ndim))
    xc = b.op("Sub", [x, b.reduce("ReduceMean", x, axes, True)])
    var = b.reduce("ReduceMean", b.op("Mul", [xc, xc]), axes, True)
    inv_std = b.op("Reciprocal", [b.op("Sqrt", [b.op("Add", [var, b.scalar(o["eps"], dtype)])])])
    shape = b.ints([1, channels] + [1] * (t.ndim - 2))
    gamma, beta = b.op("Reshape", [scale, shape]), b.op("Reshape", [bias, shape])
    b.op("Add", [b.op("Mul", [b.op("Mul", [xc, inv_std]), gamma]), beta], n.output)


@emits(N.LayerNorm)
def _layer_norm(b, n):
    k, t = n.options["k"], n.tensor
    scale, bias = _affine_inputs(b, n, t.shape[t.ndim - k:])
    b.op("LayerNormalization", [n.inputs[0], scale, bias], n.output, axis=-k, epsilon=float(n.options["eps"]))


@emits(Att.ScaledDotProductAttention)
def _attention(b, n):
    """softmax(Q Kᵀ·scale + mask)·V written out: MatMul, Mul, Where (bool mask) or Add (float mask), Softmax,
    MatMul. Unlike the shendu op, a query whose keys are all masked gives NaN here (ONNX's Softmax)."""
    if n.options["drop"] is not None:
        n.fail("attention dropout in training mode is random; export runs the model in eval mode")
    q, k, v = n.inputs
    nd, dtype = n.tensors[1].ndim, n.tensor.dtype
    s = b.op("MatMul", [q, b.op("Transpose", [k], perm=[*range(nd - 2), nd - 1, nd - 2])])
    s = b.op("Mul", [s, b.scalar(n.options["scale"], dtype)])
    mask = n.options["mask"]
    if mask is not None:
        m = b.array_option(n, "mask", "the attention mask")
        s = b.op("Where", [m, s, b.scalar(-math.inf, dtype)]) if mask.dtype == bool else b.op("Add", [s, m])
    b.op("MatMul", [b.op("Softmax", [s], axis=-1), v], n.output)


@emits(EmbeddingFn)
def _embedding(b, n):
    ids = b.array_option(n, "indices", "the indices")
    b.op("Gather", [n.inputs[0], ids], n.output, axis=0)


@emits(DropoutFn)
def _dropout(b, n):
    n.fail("dropout in training mode (F.dropout(..., training=True)) is random; export runs the model in eval "
           "mode, where nn.Dropout is the identity")


# ---------------------------------------------------------------- shapes
@emits(shape.Reshape)
def _reshape(b, n):
    """Reshape to the traced shape; one batch-dependent dimension is written −1, several are computed."""
    dims = b.dims(n.tensor)
    dynamic = [d for d in dims if isinstance(d, Dim)]
    target = b.ints([-1 if isinstance(d, Dim) else d for d in dims]) if len(dynamic) <= 1 else b.shape_tensor(dims)
    b.op("Reshape", [n.inputs[0], target], n.output)


@emits(shape.Transpose)
def _transpose(b, n):
    axes = n.options["axes"]
    perm = list(range(n.tensor.ndim))[::-1] if axes is None else [int(a) for a in axes]
    b.op("Transpose", n.inputs, n.output, perm=perm)


@emits(shape.BroadcastTo)
def _broadcast_to(b, n):
    """Expand (bidirectional broadcasting): 1 where the input already has the size, so that a
    batch dimension it carries stays the input's."""
    out, src = b.dims(n.tensor), b.dims(n.tensors[0])
    lead = len(out) - len(src)
    target = [1 if i >= lead and src[i - lead] == d else d for i, d in enumerate(out)]
    b.op("Expand", [n.inputs[0], b.shape_tensor(target)], n.output)


@emits(join.Concatenate)
def _concatenate(b, n):
    b.op("Concat", n.inputs, n.output, axis=int(n.options["axis"]))


@emits(join.Stack)
def _stack(b, n):
    axis = int(n.options["axis"])
    parts = [b.op("Unsqueeze", [x, b.ints([axis])]) for x in n.inputs]
    b.op("Concat", parts, n.output, axis=axis)


@emits(join.Pad)
def _pad(b, n):
    widths = n.options["pad_width"]
    pads = b.ints([lo for lo, _ in widths] + [hi for _, hi in widths])
    b.op("Pad", [n.inputs[0], pads, b.scalar(n.options["value"], n.tensor.dtype)], n.output)


@emits(join.Split)
def _split(b, n):
    """One ONNX Split with the pieces' sizes (fixed sizes: a split along the batch axis is refused)."""
    axis, bounds = n.options["axis"], n.options["bounds"]
    if isinstance(b.dims(n.tensors[0])[axis], Dim):
        n.fail("a split along the batch axis is not supported (export with batch_axis=None)")
    sizes = [hi - lo for lo, hi in zip(bounds[:-1], bounds[1:])]
    if any(s < 0 for s in sizes) or any(not 0 <= b <= n.tensors[0].shape[axis] for b in bounds):
        n.fail(f"a split at indices out of order or out of range ({list(bounds)}) has no ONNX Split")
    b.op("Split", [n.inputs[0], b.ints(sizes)], n.output, axis=int(axis))


@emits(indexing.GetItem)
def _getitem(b, n):
    key = n.options["key"]
    if n.options["advanced"]:
        _gather(b, n, key)
    else:
        _slice(b, n, key)


def _key_tuple(key, ndim):
    """The key as a tuple with its Ellipsis expanded to full slices."""
    key = key if isinstance(key, tuple) else (key,)
    if any(k is Ellipsis for k in key):
        i = next(i for i, k in enumerate(key) if k is Ellipsis)
        used = sum(1 for k in key if k is not None and k is not Ellipsis)
        key = key[:i] + (slice(None),) * (ndim - used) + key[i + 1:]
    return key


def _slice(b, n, key):
    """Basic indexing: one Slice over the sliced axes (never resolved against the sizes, so batch
    dimensions stay symbolic), Squeeze for integer indices, Unsqueeze for None."""
    key = _key_tuple(key, n.tensors[0].ndim)
    sliced, squeeze, unsqueeze = [], [], []  # sliced: (axis, start, stop, step)
    axis = out_axis = 0
    for k in key:
        if k is None:
            unsqueeze.append(out_axis)
            out_axis += 1
            continue
        if isinstance(k, numbers.Integral):
            sliced.append((axis, int(k), int(k) + 1 if k != -1 else INT64_MAX, 1))
            squeeze.append(axis)
        else:
            if k != slice(None):
                step = 1 if k.step is None else int(k.step)
                start = int(k.start) if k.start is not None else (0 if step > 0 else INT64_MAX)
                stop = int(k.stop) if k.stop is not None else (INT64_MAX if step > 0 else INT64_MIN)
                sliced.append((axis, start, stop, step))
            out_axis += 1
        axis += 1
    chain = []
    if sliced:
        axes, starts, stops, steps = zip(*sliced)
        chain.append(("Slice", [b.ints(starts), b.ints(stops), b.ints(axes), b.ints(steps)]))
    if squeeze:
        chain.append(("Squeeze", [b.ints(squeeze)]))
    if unsqueeze:
        chain.append(("Unsqueeze", [b.ints(unsqueeze)]))
    x = n.inputs[0]
    for i, (op_type, args) in enumerate(chain or [("Identity", [])]):
        x = b.op(op_type, [x, *args], n.output if i == max(len(chain), 1) - 1 else None)


def _gather(b, n, key):
    """Integer-array indexing of one axis (the others full slices): Gather along that axis."""
    key_b = n.options_b["key"]
    key, key_b = (key if isinstance(key, tuple) else (key,)), (key_b if isinstance(key_b, tuple) else (key_b,))
    key, key_b = _key_tuple(key, n.tensors[0].ndim), _key_tuple(key_b, n.tensors[0].ndim)
    arrays = [i for i, k in enumerate(key) if not isinstance(k, slice)]
    if len(arrays) != 1 or any(k != slice(None) for i, k in enumerate(key) if i != arrays[0]):
        n.fail(f"indexing with {key!r} is not supported (supported: one integer array on one axis, every "
               f"other axis a full slice ':')")
    axis = arrays[0]
    idx, idx_b = xp.asarray(key[axis]), xp.asarray(key_b[axis])
    if idx.dtype.kind == "b":
        if idx.ndim != 1:
            n.fail("boolean masks of more than one dimension are not supported")
        if b.is_input_array(key[axis]):
            n.fail("a boolean mask given as an input is not supported (its number of True entries sets the shape)")
        idx, idx_b = xp.nonzero(idx)[0], xp.nonzero(idx_b)[0]
    indices = b.array_value(n, key[axis] if b.is_input_array(key[axis]) else idx, idx_b, "the index array")
    b.op("Gather", [n.inputs[0], indices], n.output, axis=axis)


# ---------------------------------------------------------------- reductions
@emits(reduction.Sum)
def _sum(b, n):
    b.reduce("ReduceSum", n.inputs[0], n.options["axis"], n.options["keepdims"], n.output)


@emits(reduction.Mean)
def _mean(b, n):
    b.reduce("ReduceMean", n.inputs[0], n.options["axis"], n.options["keepdims"], n.output)


@emits(reduction.Extremum)
def _extremum(b, n):
    op = "ReduceMax" if n.options["largest"] else "ReduceMin"
    b.reduce(op, n.inputs[0], n.options["axis"], n.options["keepdims"], n.output)


@emits(reduction.ExtremumDim)
def _extremum_dim(b, n):
    """max / min along one axis: values (ReduceMax / ReduceMin) and indices (ArgMax / ArgMin, first of ties)."""
    largest, axis, keepdims = n.options["largest"], n.options["axis"], n.options["keepdims"]
    x = n.inputs[0]
    if n.tensors[0].ndim == 0:
        b.op("Identity", [x], n.output[0])
        b.op("Constant", [], n.output[1], value=b.helper.make_tensor("zero", b.onnx.TensorProto.INT64, [], [0]))
        return
    b.reduce("ReduceMax" if largest else "ReduceMin", x, axis, keepdims, n.output[0])
    b.op("ArgMax" if largest else "ArgMin", [x], n.output[1], axis=int(axis), keepdims=int(bool(keepdims)),
         select_last_index=0)


@emits(VectorNorm)
def _vector_norm(b, n):
    """‖x‖_p over the axes: ReduceL2 (p = 2), ReduceL1 (p = 1), ReduceMax / ReduceMin of |x| (±inf),
    otherwise (Σ|x|^p)^(1/p) written out."""
    p, axis, keepdims, x = n.options["ord"], n.options["axis"], n.options["keepdims"], n.inputs[0]
    if p == 2 or p == 1:
        b.reduce("ReduceL2" if p == 2 else "ReduceL1", x, axis, keepdims, n.output)
    elif p in (math.inf, -math.inf):
        b.reduce("ReduceMax" if p > 0 else "ReduceMin", b.op("Abs", [x]), axis, keepdims, n.output)
    elif p == 0:
        raise ValueError("shendu.onnx.export: vector_norm with ord=0 (a count of non-zeros) has no ONNX translation")
    else:
        dtype = n.tensors[0].dtype
        total = b.reduce("ReduceSum", b.op("Pow", [b.op("Abs", [x]), b.scalar(p, dtype)]), axis, keepdims)
        b.op("Pow", [total, b.scalar(1.0 / p, dtype)], n.output)


@emits(reduction.LogSumExp)
def _logsumexp(b, n):
    b.reduce("ReduceLogSumExp", n.inputs[0], n.options["axis"], n.options["keepdims"], n.output)


@emits(reduction.Var, reduction.Std)
def _var(b, n):
    """Σ(x − x̄)²/(count − ddof) = mean((x − x̄)²) · count/(count − ddof); its square root for std."""
    if isinstance(n.fn, reduction.Std):
        b.op("Sqrt", [_variance(b, n, None)], n.output)
    else:
        _variance(b, n, n.output)


def _variance(b, n, output):
    x, t = n.inputs[0], n.tensors[0]
    axis, ddof, keepdims = n.options["axis"], n.options["ddof"], n.options["keepdims"]
    xc = b.op("Sub", [x, b.reduce("ReduceMean", x, axis, True)])
    if not ddof:
        return b.reduce("ReduceMean", b.op("Mul", [xc, xc]), axis, keepdims, output)
    dims = b.dims(t)
    reduced = [dims[a] for a in normalize_axes(axis, t.ndim)]
    if any(isinstance(d, Dim) for d in reduced):
        n.fail("a variance with ddof over the batch axis is not supported (export with batch_axis=None)")
    count = math.prod(reduced)
    if count <= ddof:
        n.fail(f"a variance of {count} elements with ddof={ddof} is undefined")
    mean_sq = b.reduce("ReduceMean", b.op("Mul", [xc, xc]), axis, keepdims)
    return b.op("Mul", [mean_sq, b.scalar(count / (count - ddof), n.tensor.dtype)], output)


# ---------------------------------------------------------------- recurrent layers
#: shendu's gate blocks (PyTorch's order) in the order ONNX's operator wants them.
_ONNX_GATES = {R.LSTMSequence: ("LSTM", [0, 3, 1, 2]),   # (i, f, g, o) -> (i, o, f, c)
               R.GRUSequence: ("GRU", [1, 0, 2]),         # (r, z, n) -> (z, r, h)
               R.RNNSequence: ("RNN", [0])}


@emits(R.RNNSequence, R.LSTMSequence, R.GRUSequence)
def _recurrence(b, n):
    """One layer, one direction, as ONNX's RNN / LSTM / GRU operator (num_directions 1).

    The outputs are shendu's: y (L, N, H) from ONNX's Y (L, 1, N, H), and the
    final states (1, N, H), ONNX's Y_h and Y_c as they are.
    """
    cls, o = type(n.fn), n.options
    op_type, order = _ONNX_GATES[cls]
    S = cls.n_states
    H = n.tensors[2 + S].shape[1]  # W_hh (G·H, H)
    L = n.tensors[0].shape[0]
    x, weights = b.value(n.tensors[0]), [b.value(t) for t in n.tensors[1 + S:]]

    def gates(w):  # the gate blocks of a weight or bias in ONNX's order
        if order == [0]:
            return w
        rows = b.ints(xp.concatenate([xp.arange(g * H, (g + 1) * H) for g in order]))
        return b.op("Gather", [w, rows], axis=0)

    w = b.op("Unsqueeze", [gates(weights[0]), b.ints([0])])
    r = b.op("Unsqueeze", [gates(weights[1]), b.ints([0])])
    bias = ""
    if len(weights) == 4:
        bias = b.op("Unsqueeze", [b.op("Concat", [gates(weights[2]), gates(weights[3])], axis=0), b.ints([0])])
    lengths = "" if o.get("mask") is None else _sequence_lens(b, n, L)
    initial = ["" if _zero_constant(t) else b.op("Unsqueeze", [b.value(t), b.ints([0])]) for t in n.tensors[1:1 + S]]
    attrs = dict(hidden_size=H, direction="reverse" if o.get("reverse") else "forward")
    if cls is R.GRUSequence:
        attrs["linear_before_reset"] = 1  # PyTorch's GRU: r ⊙ (W_hn h + b_hn)
    if cls is R.RNNSequence:
        attrs["activations"] = ["Relu" if o.get("nonlinearity") == "relu" else "Tanh"]
    y = b.fresh(f"{n.output[0]}/Y")
    b.op(op_type, [x, w, r, bias, lengths, *initial], [y, *n.output[1:]], **attrs)
    b.op("Squeeze", [y, b.ints([1])], n.output[0])


def _zero_constant(t):
    """A zero initial state made inside the model (ONNX's default initial state is zeros too)."""
    return t._ctx is None and not t.requires_grad and not t.data.any()


def _sequence_lens(b, n, L):
    """ONNX's sequence_lens from the mask of valid steps: the model input it came from, or a constant."""
    mask, mask_b = n.options["mask"], n.options_b["mask"]
    for t, t_b in zip(b.trace.inputs, b.other.inputs):
        lengths, lengths_b = t.data, t_b.data
        if lengths.ndim == 1 and lengths.dtype.kind in "iu" and lengths.shape[0] == mask.shape[1]:
            steps = xp.arange(L)[:, None]
            if xp.array_equal((steps < lengths)[:, :, None], mask) and lengths_b.shape[0] == mask_b.shape[1] \
                    and xp.array_equal((xp.arange(mask_b.shape[0])[:, None] < lengths_b)[:, :, None], mask_b):
                return b.op("Cast", [b.names[id(t)]], to=b.tensor_type(xp.int32))
    counts = mask[:, :, 0].sum(axis=0).astype(xp.int32)
    counts_b = mask_b[:, :, 0].sum(axis=0).astype(xp.int32)
    return b.array_value(n, counts, counts_b, "the sequence lengths")


__all__ = ["EMITTERS", "emits", "emitter_for"]
