"""oneDNN kernels for shendu's heavy ops, on the binding of :mod:`shendu.backends.onednn`.

Every function takes and returns NumPy arrays with the same meaning as the NumPy
reference it replaces (named in its docstring), and returns **None** when it
cannot run the call — a dtype other than float32, a configuration oneDNN
rejects, the library missing — so that the op runs its NumPy code instead: a
fallback is never an error and never a different answer.

Layout: activations are handed to oneDNN channels-last (logical NCHW, memory
NHWC; a copy only when the array is not already so) and results come back
channels-last, because oneDNN's direct (brgemm) convolutions run on that layout
while plain NCHW makes them fall back to im2col + GEMM (issue 22's probe;
docs/onednn.md). NumPy's element-wise ops keep strides, so a network stays
channels-last between layers without reorders. Weights are given to the
convolution in the layout it asks for (``format_tag any``), reordered from the
user's plain (O, I/G, k_h, k_w) array on each call (weights are small).
"""
from __future__ import annotations

import ctypes
import os
import time
from collections import Counter

import numpy

from ..backend import flat_view
from . import onednn as dnn
from . import onednn_rnn

_F32 = numpy.dtype("float32")

#: Calls per kernel that ran on oneDNN, and per ``"<kernel> fallback"`` that declined (NumPy ran instead):
#: what ``shendu bench`` reports and the tests check.
counts = Counter()


def _ran(name, result):
    counts[name if result is not None else name + " fallback"] += 1
    return result


def _supported(*arrays):
    """float32 NumPy arrays only (oneDNN's CPU kernels have no float64)."""
    return dnn.library() is not None and all(a is None or (isinstance(a, numpy.ndarray) and a.dtype == _F32)
                                             for a in arrays)


def _contiguous_weights(w):
    return w if w.flags.c_contiguous else numpy.ascontiguousarray(w)


# ---------------------------------------------------------------- convolution
def _weights_shape(w_shape, groups):
    """(O, I/G, k_h, k_w) -> oneDNN's grouped (G, O/G, I/G, k_h, k_w) (unchanged for one group)."""
    if groups == 1:
        return tuple(w_shape)
    return (groups, w_shape[0] // groups) + tuple(w_shape[1:])


def _conv_dims(geo):
    """oneDNN's strides, dilations (d − 1), left and right paddings of a ConvGeometry."""
    return (dnn.dims((geo.sh, geo.sw)), dnn.dims((geo.dh - 1, geo.dw - 1)),
            dnn.dims((geo.pt, geo.pl)), dnn.dims((geo.pb, geo.pr)))


class _ConvPlan:
    """One convolution pass: its primitive and the reorder between the user's weights and its own.

    ``kind``: 'fwd' (y = conv(x, w)), 'bwd_data' (dx = convᵀ(g, w)) or 'bwd_weights' (dw, db from x, g).
    ``src_any``: the source's layout is left to oneDNN (:func:`_small_data_plan`); ``blocked``: the source's
    and the destination's are, and the user's arrays are reordered in (:func:`_blocked_weights_plan`).
    """

    def __init__(self, kind, src_shape, src_strides, w_shape, dst_shape, dst_strides, bias, geo, src_any=False,
                 blocked=False):
        lib, engine = dnn.library(), dnn.engine()
        self.src_any = src_any  # read by the tests that check which layout oneDNN was left to pick
        src = dnn.Desc(src_shape, None if src_any or blocked else src_strides)
        dst = dnn.Desc(dst_shape, None if blocked else dst_strides)
        g_shape = _weights_shape(w_shape, geo.groups)
        w_any = dnn.Desc(g_shape, None)
        self.user_w = dnn.Desc(g_shape, dnn.plain_strides(g_shape))
        b = dnn.Desc((dst_shape[1],), (1,)) if bias else None
        strides, dilates, pad_l, pad_r = _conv_dims(geo)
        prop = dnn.FORWARD_TRAINING if kind != "fwd" or bias == "train" else dnn.FORWARD_INFERENCE

        def forward(attr, bias_desc=None):
            pd = dnn.Handle()
            dnn.check(lib.dnnl_convolution_forward_primitive_desc_create(
                ctypes.byref(pd), engine, prop, dnn.CONVOLUTION_DIRECT, src.handle, w_any.handle,
                None if bias_desc is None else bias_desc.handle, dst.handle, strides, dilates, pad_l, pad_r, attr),
                "convolution forward")
            return pd

        if kind == "fwd":
            self.prim = dnn.Primitive(lambda attr: forward(attr, b), keep=(src, dst, w_any, b))
            self.arg = dnn.ARG_WEIGHTS
        else:
            self.hint = dnn.Primitive(forward)
            if kind == "bwd_data":
                def make(attr):
                    pd = dnn.Handle()
                    dnn.check(lib.dnnl_convolution_backward_data_primitive_desc_create(
                        ctypes.byref(pd), engine, dnn.CONVOLUTION_DIRECT, src.handle, w_any.handle, dst.handle,
                        strides, dilates, pad_l, pad_r, self.hint.pd, attr), "convolution backward data")
                    return pd
                self.arg = dnn.ARG_WEIGHTS
            else:
                def make(attr):
                    pd = dnn.Handle()
                    dnn.check(lib.dnnl_convolution_backward_weights_primitive_desc_create(
                        ctypes.byref(pd), engine, dnn.CONVOLUTION_DIRECT, src.handle, w_any.handle,
                        None if b is None else b.handle, dst.handle, strides, dilates, pad_l, pad_r,
                        self.hint.pd, attr), "convolution backward weights")
                    return pd
                self.arg = dnn.ARG_DIFF_WEIGHTS
            self.prim = dnn.Primitive(make, keep=(src, dst, w_any, b))
        chosen = self.prim.arg_desc(self.arg)
        self.w_bytes = dnn.library().dnnl_memory_desc_get_size(chosen)
        self.reorder = None
        if not lib.dnnl_memory_desc_equal(chosen, self.user_w.handle):
            self.reorder = (dnn.reorder(chosen, self.user_w.handle) if kind == "bwd_weights"
                            else dnn.reorder(self.user_w.handle, chosen))
        # blocked: the weights pass reads x and g in the layouts it chose; the user's are reordered in
        self.inputs_in = {}  # ARG_* -> (reorder, bytes, the user's descriptor kept alive)
        for arg, shape, strides in (((dnn.ARG_SRC, src_shape, src_strides), (dnn.ARG_DIFF_DST, dst_shape, dst_strides))
                                    if blocked else ()):
            user, chosen = dnn.Desc(shape, strides), self.prim.arg_desc(arg)
            if not lib.dnnl_memory_desc_equal(chosen, user.handle):
                self.inputs_in[arg] = (dnn.reorder(user.handle, chosen), lib.dnnl_memory_desc_get_size(chosen), user)

    def input_in(self, arg, a):
        """The user's array ``a`` for argument ``arg`` in the layout the primitive chose (a itself when equal)."""
        entry = self.inputs_in.get(arg)
        if entry is None:
            return a
        reorder, size, _ = entry
        out = numpy.empty(size, numpy.uint8)
        reorder.execute((dnn.ARG_SRC, a), (dnn.ARG_DST, out))
        return out

    def weights_in(self, w):
        """The user's weights in the primitive's layout (w itself when they agree)."""
        if self.reorder is None:
            return w
        out = numpy.empty(self.w_bytes, numpy.uint8)
        self.reorder.execute((dnn.ARG_SRC, w), (dnn.ARG_DST, out))
        return out

    def weights_out(self, buffer, w_shape):
        """The primitive's weight-gradient buffer as the user's (O, I/G, k_h, k_w) array."""
        if self.reorder is None:
            return buffer.view(numpy.float32).reshape(w_shape)
        out = numpy.empty(w_shape, numpy.float32)
        self.reorder.execute((dnn.ARG_SRC, buffer), (dnn.ARG_DST, out))
        return out


def _layout(a):
    """(shape, strides in elements) of an array."""
    return tuple(a.shape), tuple(s // a.itemsize for s in a.strides)


def _channels_last_layout(shape):
    return tuple(shape), tuple(dnn.channels_last_strides(shape))


#: Below this many input channels a backward-data pass lets oneDNN pick dx's layout and kernel
#: (format ``any``): it then takes its jit kernel, which ran LeNet-5's 6-channel dx in 0.57 ms against
#: 0.84 ms for the brgemm kernel it picks for explicit channels-last strides; from 64 channels up the
#: brgemm one wins (bench/NOTES.md §14). The layout it picks is channels-last all the same (checked).
SMALL_DATA_CHANNELS = 16


def _plan(kind, src, w_shape, dst, bias, geo):
    """The cached :class:`_ConvPlan` for the src and dst (shape, strides) layouts (None when oneDNN
    rejects the configuration)."""
    key = ("conv", kind, src, tuple(w_shape), dst, bias, geo)
    return dnn.cached(key, lambda: _small_data_plan(kind, src, w_shape, dst, bias, geo)
                      or _blocked_weights_plan(kind, src, w_shape, dst, bias, geo)
                      or _ConvPlan(kind, *src, w_shape, *dst, bias, geo))


#: From this many input channels, on a CPU where oneDNN has no AVX-512 kernels, the weights gradient reads
#: x and g in the blocked layouts it picks (nChw8c), reordered from channels-last: its AVX2 kernel for
#: channels-last ran resnet18's weight gradients in 178 ms a step against 139 ms blocked, which is PyTorch's
#: layout (bench/NOTES.md §15; measured with ``shendu bench --isa avx2``). With AVX-512 its brgemm kernels
#: read channels-last directly, faster than any reorder.
BLOCKED_WEIGHTS_CHANNELS = 16


def _blocked_weights_plan(kind, src, w_shape, dst, bias, geo):
    """A weights-gradient plan on x and g in the layouts oneDNN picks, on CPUs without AVX-512 (see
    :data:`BLOCKED_WEIGHTS_CHANNELS`); else None."""
    if kind != "bwd_weights" or src[0][1] < BLOCKED_WEIGHTS_CHANNELS or dnn.has_avx512():
        return None
    try:
        return _ConvPlan(kind, *src, w_shape, *dst, bias, geo, blocked=True)
    except dnn.OneDNNError:
        return None


def _small_data_plan(kind, src, w_shape, dst, bias, geo):
    """A backward-data plan with dx's layout left to oneDNN (:data:`SMALL_DATA_CHANNELS`), when it picks
    ``src``'s own; else None."""
    if kind != "bwd_data" or src[0][1] >= SMALL_DATA_CHANNELS:
        return None
    try:
        plan = _ConvPlan(kind, *src, w_shape, *dst, bias, geo, src_any=True)
    except dnn.OneDNNError:  # then the plan with explicit strides decides
        return None
    return plan if plan.prim.same(dnn.QUERY_DIFF_SRC, dnn.Desc(*src)) else None


def conv2d_forward(x, w, bias, geo, training=True):
    """y = conv(x, w) + bias, as :func:`shendu.functional.conv.conv_forward` (result channels-last)."""
    if not _supported(x, w, bias):
        return None
    x = dnn.as_channels_last(x)
    shape = (x.shape[0], w.shape[0], geo.ho, geo.wo)
    plan = _plan("fwd", _layout(x), w.shape, _channels_last_layout(shape),
                 None if bias is None else ("train" if training else "infer"), geo)
    if plan is None:
        return _ran("conv2d_forward", None)
    y = dnn.empty_channels_last(shape)
    args = [(dnn.ARG_SRC, x), (dnn.ARG_WEIGHTS, plan.weights_in(_contiguous_weights(w))), (dnn.ARG_DST, y)]
    if bias is not None:
        args.append((dnn.ARG_BIAS, numpy.ascontiguousarray(bias)))
    plan.prim.execute(*args)
    return _ran("conv2d_forward", y)


def conv2d_backward_data(g, w, geo, x_shape):
    """dL/dx (``x_shape``) = convᵀ(g, w), as :func:`shendu.functional.conv.conv_grad_input` (channels-last)."""
    if not _supported(g, w):
        return None
    g = dnn.as_channels_last(g)
    plan = _plan("bwd_data", _channels_last_layout(x_shape), w.shape, _layout(g), None, geo)
    if plan is None:
        return _ran("conv2d_backward_data", None)
    dx = dnn.empty_channels_last(x_shape)
    plan.prim.execute((dnn.ARG_DIFF_DST, g), (dnn.ARG_WEIGHTS, plan.weights_in(_contiguous_weights(w))),
                      (dnn.ARG_DIFF_SRC, dx))
    return _ran("conv2d_backward_data", dx)


def conv2d_backward_weights(g, x, geo, w_shape, with_bias=False):
    """(dL/dw, dL/db) = (g · im2col(x)ᵀ, Σ g), as :func:`shendu.functional.conv.conv_grad_weight`;
    dL/db is None unless ``with_bias``."""
    if not _supported(g, x):
        return None
    x, g = dnn.as_channels_last(x), dnn.as_channels_last(g)
    plan = _plan("bwd_weights", _layout(x), w_shape, _layout(g), with_bias, geo)
    if plan is None:
        return _ran("conv2d_backward_weights", None)
    dw = numpy.empty(plan.w_bytes, numpy.uint8)
    args = [(dnn.ARG_SRC, plan.input_in(dnn.ARG_SRC, x)), (dnn.ARG_DIFF_DST, plan.input_in(dnn.ARG_DIFF_DST, g)),
            (dnn.ARG_DIFF_WEIGHTS, dw)]
    db = numpy.empty(w_shape[0] if with_bias else 0, numpy.float32)
    if with_bias:
        args.append((dnn.ARG_DIFF_BIAS, db))
    plan.prim.execute(*args)
    return _ran("conv2d_backward_weights", (plan.weights_out(dw, tuple(w_shape)), db if with_bias else None))


# ---------------------------------------------------------------- pooling
_POOLING = {"max": dnn.POOLING_MAX, "avg_include_pad": dnn.POOLING_AVG_INCLUDE,
            "avg_exclude_pad": dnn.POOLING_AVG_EXCLUDE}


class _PoolPlan:
    """Forward (training: max pooling keeps its workspace, the winning taps) and, on first need,
    backward primitives of one pooling configuration, all channels-last."""

    def __init__(self, alg, x_shape, geo):
        lib, engine = dnn.library(), dnn.engine()
        y_shape = (x_shape[0], x_shape[1], geo.ho, geo.wo)
        self.src, self.dst = dnn.Desc(x_shape, dnn.channels_last_strides(x_shape)), \
            dnn.Desc(y_shape, dnn.channels_last_strides(y_shape))
        self.dims = (dnn.dims((geo.sh, geo.sw)), dnn.dims((geo.kh, geo.kw)), dnn.dims((geo.dh - 1, geo.dw - 1)),
                     dnn.dims((geo.pt, geo.pl)), dnn.dims((geo.pb, geo.pr)))
        self.alg, self.y_shape, self.backward = _POOLING[alg], y_shape, None

        def make(attr):
            pd = dnn.Handle()
            dnn.check(lib.dnnl_pooling_forward_primitive_desc_create(
                ctypes.byref(pd), engine, dnn.FORWARD_TRAINING, self.alg, self.src.handle, self.dst.handle,
                *self.dims, attr), "pooling forward")
            return pd
        self.forward = dnn.Primitive(make)
        self.workspace_bytes = self.forward.size(dnn.QUERY_WORKSPACE)

    def backward_primitive(self):
        if self.backward is None:
            lib, engine = dnn.library(), dnn.engine()

            def make(attr):
                pd = dnn.Handle()
                dnn.check(lib.dnnl_pooling_backward_primitive_desc_create(
                    ctypes.byref(pd), engine, self.alg, self.src.handle, self.dst.handle, *self.dims,
                    self.forward.pd, attr), "pooling backward")
                return pd
            self.backward = dnn.Primitive(make)
        return self.backward


def _pool_plan(alg, x_shape, geo):
    return dnn.cached(("pool", alg, tuple(x_shape), geo), lambda: _PoolPlan(alg, tuple(x_shape), geo))


def pool2d_forward(x, geo, alg):
    """(y, workspace) of max pooling (``alg='max'``, first maximum of each window, as
    :class:`shendu.functional.pooling.MaxPool2d`) or average pooling (``'avg_include_pad'``: divisor
    k_h·k_w; ``'avg_exclude_pad'``: the pixels inside the input), channels-last; None to fall back."""
    if not _supported(x):
        return None
    plan = _pool_plan(alg, x.shape, geo)
    if plan is None:
        return _ran("pool2d_forward", None)
    x = dnn.as_channels_last(x)
    y = dnn.empty_channels_last(plan.y_shape)
    args = [(dnn.ARG_SRC, x), (dnn.ARG_DST, y)]
    workspace = numpy.empty(plan.workspace_bytes, numpy.uint8) if plan.workspace_bytes else None
    if workspace is not None:
        args.append((dnn.ARG_WORKSPACE, workspace))
    plan.forward.execute(*args)
    return _ran("pool2d_forward", (y, workspace))


def pool2d_backward(g, geo, alg, x_shape, workspace):
    """dL/dx of :func:`pool2d_forward` (``workspace``: what it returned), channels-last; None to fall back."""
    if not _supported(g):
        return None
    plan = _pool_plan(alg, x_shape, geo)
    backward = None if plan is None else dnn.cached(("pool bwd", alg, tuple(x_shape), geo), plan.backward_primitive)
    if backward is None:
        return _ran("pool2d_backward", None)
    dx = dnn.empty_channels_last(x_shape)
    args = [(dnn.ARG_DIFF_DST, dnn.as_channels_last(g)), (dnn.ARG_DIFF_SRC, dx)]
    if workspace is not None:
        args.append((dnn.ARG_WORKSPACE, workspace))
    backward.execute(*args)
    return _ran("pool2d_backward", dx)


# ---------------------------------------------------------------- batch normalisation
def _dense_layout(a):
    """``a`` itself when it is C-contiguous or channels-last (both are layouts oneDNN's batch norm
    reads fast), else a channels-last copy."""
    if a.flags.c_contiguous or (a.ndim > 2 and dnn.is_channels_last(a)):
        return a
    return dnn.as_channels_last(a)


def _like(a):
    """An uninitialised float32 array of ``a``'s shape and memory order (C or channels-last)."""
    return numpy.empty_like(a, order="K")


class _NormPlan:
    """Batch-norm forward (training: batch statistics out; inference: the given statistics in) and,
    on first need, its backward, for one layout."""

    def __init__(self, layout, affine, global_stats, eps):
        lib, engine = dnn.library(), dnn.engine()
        self.data = dnn.Desc(*layout)
        self.flags = ((dnn.USE_SCALE | dnn.USE_SHIFT) if affine else 0) | (dnn.USE_GLOBAL_STATS if global_stats else 0)
        self.eps, self.affine, self.backward = eps, affine, None
        prop = dnn.FORWARD_INFERENCE if global_stats else dnn.FORWARD_TRAINING

        def make(attr):
            pd = dnn.Handle()
            dnn.check(lib.dnnl_batch_normalization_forward_primitive_desc_create(
                ctypes.byref(pd), engine, prop, self.data.handle, self.data.handle, self.eps, self.flags, attr),
                "batch normalization forward")
            return pd
        self.forward = dnn.Primitive(make)
        # the hint of backward must be a training forward (inference keeps no workspace, so one hint serves)
        self.hint = self.forward if not global_stats else None

    def backward_primitive(self):
        if self.backward is None:
            lib, engine = dnn.library(), dnn.engine()
            if self.hint is None:
                def make_hint(attr):
                    pd = dnn.Handle()
                    dnn.check(lib.dnnl_batch_normalization_forward_primitive_desc_create(
                        ctypes.byref(pd), engine, dnn.FORWARD_TRAINING, self.data.handle, self.data.handle,
                        self.eps, self.flags, attr), "batch normalization forward (hint)")
                    return pd
                self.hint = dnn.Primitive(make_hint)
            prop = dnn.BACKWARD if self.affine else dnn.BACKWARD_DATA

            def make(attr):
                pd = dnn.Handle()
                dnn.check(lib.dnnl_batch_normalization_backward_primitive_desc_create(
                    ctypes.byref(pd), engine, prop, self.data.handle, self.data.handle, self.data.handle,
                    self.eps, self.flags, self.hint.pd, attr), "batch normalization backward")
                return pd
            self.backward = dnn.Primitive(make)
        return self.backward


def _norm_plan(x, affine, global_stats, eps):
    key = ("batch_norm", _layout(x), affine, global_stats, float(eps))
    return dnn.cached(key, lambda: _NormPlan(_layout(x), affine, global_stats, float(eps)))


def _vector(a):
    return numpy.ascontiguousarray(a, dtype=_F32)


def batch_norm_forward(x, weight, bias, stats, eps):
    """(y, x, μ, σ²) of :class:`shendu.functional.normalization.BatchNorm`'s forward:
    y = γ·(x − μ)/√(σ² + ε) + β per channel (axis 1). ``stats``: None (training: μ and the biased σ²
    of the batch come back) or the (μ, σ²) to use; ``x`` comes back in the layout the kernel read
    (keep it for :func:`batch_norm_backward`). None to fall back."""
    if not (_supported(x, weight, bias) and 2 <= x.ndim <= 5 and (stats is None or _supported(*stats))):
        return None
    x = _dense_layout(x)
    plan = _norm_plan(x, weight is not None, stats is not None, eps)
    if plan is None:
        return _ran("batch_norm_forward", None)
    y = _like(x)
    if stats is None:
        mean, var = numpy.empty(x.shape[1], _F32), numpy.empty(x.shape[1], _F32)
    else:
        mean, var = (_vector(s) for s in stats)
    args = [(dnn.ARG_SRC, x), (dnn.ARG_DST, y), (dnn.ARG_MEAN, mean), (dnn.ARG_VARIANCE, var)]
    if weight is not None:
        args += [(dnn.ARG_SCALE, _vector(weight)), (dnn.ARG_SHIFT, _vector(bias))]
    plan.forward.execute(*args)
    return _ran("batch_norm_forward", (y, x, mean, var))


def batch_norm_backward(g, x, weight, mean, var, eps, global_stats):
    """(dL/dx, dL/dγ, dL/dβ) of :func:`batch_norm_forward` (dL/dγ, dL/dβ None without γ); with
    ``global_stats`` μ and σ² were constants. None to fall back."""
    if not _supported(g, x, weight):
        return None
    plan = _norm_plan(x, weight is not None, global_stats, eps)
    backward = None if plan is None else dnn.cached(
        ("batch_norm bwd", _layout(x), weight is not None, global_stats, float(eps)), plan.backward_primitive)
    if backward is None:
        return _ran("batch_norm_backward", None)
    if _layout(g) != _layout(x):
        g_same = _like(x)
        numpy.copyto(g_same, g)
        g = g_same
    dx = _like(x)
    args = [(dnn.ARG_SRC, x), (dnn.ARG_MEAN, mean), (dnn.ARG_VARIANCE, var), (dnn.ARG_DIFF_DST, g),
            (dnn.ARG_DIFF_SRC, dx)]
    dw = db = None
    if weight is not None:
        dw, db = numpy.empty(x.shape[1], _F32), numpy.empty(x.shape[1], _F32)
        args += [(dnn.ARG_SCALE, _vector(weight)), (dnn.ARG_DIFF_SCALE, dw), (dnn.ARG_DIFF_SHIFT, db)]
    backward.execute(*args)
    return _ran("batch_norm_backward", (dx, dw, db))


# ---------------------------------------------------------------- dense layers
class _MatmulPlan:
    """c (M, N) = a (M, K) · b (K, N) [+ bias (N,)]: oneDNN's matmul, the bias fused in its epilogue; a and b
    are read with their strides, so a transposed operand (wᵀ, gᵀ) is a view, never a copy. (No ReLU post-op:
    oneDNN's ReLU turns a NaN into 0, where PyTorch keeps it and a diverging run must show; the dense layer
    runs NumPy's ``maximum`` in place after it.)"""

    def __init__(self, a_layout, b_layout, bias):
        lib, engine = dnn.library(), dnn.engine()
        (m, _), (_, n) = a_layout[0], b_layout[0]
        self.src, self.wt = dnn.Desc(*a_layout), dnn.Desc(*b_layout)
        self.dst = dnn.Desc((m, n), (n, 1))
        self.bias = dnn.Desc((1, n), (n, 1)) if bias else None

        def make(attr):
            pd = dnn.Handle()
            dnn.check(lib.dnnl_matmul_primitive_desc_create(
                ctypes.byref(pd), engine, self.src.handle, self.wt.handle,
                None if self.bias is None else self.bias.handle, self.dst.handle, attr), "matmul")
            return pd
        self.prim = dnn.Primitive(make)
        self.faster = {}  # thread count -> True when oneDNN won the race against NumPy's BLAS (see RACE)


#: Below this many rows or columns of the product the dense layer stays on NumPy's BLAS: measured (loaded
#: 2-core machine) batch 1 × 784 → 256 at 12 µs there against 400 µs CPU on oneDNN, 64 × 1600 → 10 slower too,
#: while 64–1024 × 784 → 256 ran 1.3–15× faster on oneDNN (its bias fused, no spinning BLAS threads).
MIN_LINEAR_ROWS = 64


#: Whether each product's first call times oneDNN against NumPy's BLAS and keeps the faster for that
#: product (shapes, strides, bias, thread count): ``SHENDU_MATMUL_RACE=1``. Which library wins depends on the
#: CPU — on an AVX2 EPYC OpenBLAS ran the GPT's dW = gᵀx products 25–40 % faster than oneDNN and its other
#: products as fast (bench/NOTES.md §12). Off by default: the two libraries round differently and a race's
#: winner can change from one process to the next under load, so a resumed or repeated run would no longer be
#: bit-for-bit the same; off, every product from 64 rows and columns runs oneDNN in every process.
RACE = os.environ.get("SHENDU_MATMUL_RACE", "0").strip() == "1"
_RACE_REPEATS = 3


def _race(plan, a, b, bias):
    """True when oneDNN ran this product faster than NumPy's BLAS: the best of a few alternating calls each
    (the best is the call least disturbed by other processes)."""
    best = {True: float("inf"), False: float("inf")}
    for _ in range(_RACE_REPEATS):
        for on_dnn in (True, False):
            t0 = time.perf_counter()
            _execute(plan, a, b, bias) if on_dnn else _blas(a, b, bias)
            best[on_dnn] = min(best[on_dnn], time.perf_counter() - t0)
    return best[True] <= best[False]


def _blas(a, b, bias):
    c = a @ b
    if bias is not None:
        c += bias
    return c


def _execute(plan, a, b, bias):
    c = numpy.empty((a.shape[0], b.shape[1]), _F32)
    args = [(dnn.ARG_SRC, a), (dnn.ARG_WEIGHTS, b), (dnn.ARG_DST, c)]
    if bias is not None:
        args.append((dnn.ARG_BIAS, numpy.ascontiguousarray(bias)))
    plan.prim.execute(*args)
    return c


def matmul(a, b, bias=None, name="matmul"):
    """c = a · b (+ bias) for a (M, K), b (K, N), bias (N,) or None, float32 with any strides. None to fall
    back (float64, a product with fewer than :data:`MIN_LINEAR_ROWS` rows or columns, a layout oneDNN
    rejects, a product NumPy's BLAS ran faster in the :data:`RACE`). ``name``: the counter it is recorded
    under (``"<name> fallback"`` when NumPy runs it)."""
    if a.ndim != 2 or b.ndim != 2 or min(a.shape[0], b.shape[1]) < MIN_LINEAR_ROWS:
        return None  # small products: OpenBLAS's call costs less than oneDNN's (bench/NOTES.md §9); checked first
    if not _supported(a, b, bias):
        return None
    key = ("matmul", _layout(a), _layout(b), bias is not None)
    plan = dnn.cached(key, lambda: _MatmulPlan(key[1], key[2], bias is not None))
    if plan is None:
        return _ran(name, None)
    if RACE:
        from .. import parallel  # lazy: parallel imports backend, which loads this module lazily
        threads = parallel.get_num_threads()
        faster = plan.faster.get(threads)
        if faster is None:
            faster = plan.faster[threads] = _race(plan, a, b, bias)
        if not faster:
            return _ran(name, None)
    return _ran(name, _execute(plan, a, b, bias))


def linear_forward(x, w, bias):
    """y = x wᵀ + b for x (M, K), w (N, K), b (N,) or None, as :class:`shendu.ops.linalg.Linear`'s forward.
    None to fall back."""
    if x.shape[0] < MIN_LINEAR_ROWS or w.ndim != 2 or w.shape[0] < MIN_LINEAR_ROWS:
        return None  # checked here first, inline: batch-1 inference pays no further call (bench/NOTES.md §11)
    return matmul(x, w.T, bias, "linear_forward")


def linear_backward(g, x, w, need_x, need_w):
    """(dL/dx = g w, dL/dw = gᵀ x) of :func:`linear_forward` for g (M, N), x (M, K), w (N, K), each only
    when asked for; either may be None (that product falls back to NumPy's BLAS)."""
    if x.shape[1] < MIN_LINEAR_ROWS:  # both products have K columns: too few for either (checked inline, first)
        return None, None
    gx = matmul(g, w, None, "linear_backward_data") if need_x else None
    gw = matmul(g.T, x, None, "linear_backward_weights") if need_w else None
    return gx, gw


# ---------------------------------------------------------------- recurrent layers
def rnn_forward(cell, x, states, w_ih, w_hh, b_ih, b_hh, reverse, training):
    """One recurrent layer in one direction over the whole sequence, as
    :class:`shendu.functional.recurrent._Recurrence`'s forward: ``cell`` 'lstm', 'gru', 'rnn_tanh' or
    'rnn_relu'; x (L, N, in), ``states`` the initial (N, H) arrays (h; h and c), PyTorch's weights and
    biases (None without). Returns (y (L, N, H), [final states (1, N, H)], saved) — ``saved`` (for
    :func:`rnn_backward`) only when ``training`` — or None to fall back (:mod:`.onednn_rnn`)."""
    if not _supported(x, w_ih, w_hh, b_ih, b_hh, *states):
        return None
    return _ran("rnn_forward", onednn_rnn.forward(cell, x, states, w_ih, w_hh, b_ih, b_hh, reverse, training))


def rnn_backward(saved, gy, g_states):
    """(dx, [d initial states], dW_ih, dW_hh, db_ih, db_hh) of a training :func:`rnn_forward` from the
    gradients of its outputs (any may be None: zero)."""
    return _ran("rnn_backward", onednn_rnn.backward(saved, gy, g_states))


# ---------------------------------------------------------------- element-wise: GELU
class _EltwisePlan:
    """Forward and backward of one element-wise function over a dense float32 vector of ``size`` numbers
    (the shape does not matter to an element-wise kernel, so one plan serves every shape of that size)."""

    def __init__(self, alg, size):
        lib, engine = dnn.library(), dnn.engine()
        self.data = dnn.Desc((size,), (1,))

        def forward(attr):
            pd = dnn.Handle()
            dnn.check(lib.dnnl_eltwise_forward_primitive_desc_create(
                ctypes.byref(pd), engine, dnn.FORWARD_TRAINING, alg, self.data.handle, self.data.handle, 0.0, 0.0,
                attr), "eltwise forward")
            return pd
        self.forward = dnn.Primitive(forward)

        def backward(attr):
            pd = dnn.Handle()
            dnn.check(lib.dnnl_eltwise_backward_primitive_desc_create(
                ctypes.byref(pd), engine, alg, self.data.handle, self.data.handle, self.data.handle, 0.0, 0.0,
                self.forward.pd, attr), "eltwise backward")
            return pd
        self.backward = dnn.Primitive(backward)


#: Below this many numbers GELU stays on NumPy: oneDNN's call (OpenMP start included) then costs more
#: than NumPy's few passes.
MIN_ELTWISE_SIZE = 4096
_GELU = {"none": dnn.ELTWISE_GELU_ERF, "tanh": dnn.ELTWISE_GELU_TANH}


def _eltwise_plan(approximate, size):
    return dnn.cached(("eltwise", approximate, size), lambda: _EltwisePlan(_GELU[approximate], size))


def gelu_forward(x, approximate):
    """y = x·Φ(x) (``approximate='none'``, oneDNN's gelu_erf) or ½x(1 + tanh(√(2/π)(x + 0.044715x³)))
    (``'tanh'``), as :class:`shendu.functional.activation.Gelu`; None to fall back (float64, small arrays)."""
    if not (_supported(x) and x.size >= MIN_ELTWISE_SIZE):
        return None
    plan = _eltwise_plan(approximate, x.size)
    if plan is None:
        return _ran("gelu_forward", None)
    x = numpy.ascontiguousarray(x)
    y = numpy.empty(x.shape, _F32)
    plan.forward.execute((dnn.ARG_SRC, x), (dnn.ARG_DST, y))
    return _ran("gelu_forward", y)


def gelu_backward(x, g, approximate):
    """dL/dx = g · dGELU/dx (x), from the forward's input — after a :func:`gelu_forward` that ran (its plan
    exists, so this never declines)."""
    plan = _eltwise_plan(approximate, x.size)
    dx = numpy.empty(x.shape, _F32)
    plan.backward.execute((dnn.ARG_SRC, numpy.ascontiguousarray(x)),
                          (dnn.ARG_DIFF_DST, numpy.ascontiguousarray(g, dtype=_F32)), (dnn.ARG_DIFF_SRC, dx))
    return _ran("gelu_backward", dx)


# ---------------------------------------------------------------- element-wise: ReLU
def _relu_plan(size):
    return dnn.cached(("relu", size), lambda: _EltwisePlan(dnn.ELTWISE_RELU, size))


def relu_backward(y, g):
    """dL/dx = 0 where y ≤ 0, else g, for y = relu(x) = max(x, 0) (y ≤ 0 exactly where x ≤ 0; a NaN passes
    g, as in PyTorch), in y's memory layout, in one pass: oneDNN's ReLU backward with y as its source.
    None to fall back (float64, small, strided or differently laid-out arrays). The forward stays
    NumPy's ``maximum``: oneDNN's forward turns NaN into 0, which would hide a diverging run."""
    if not (_supported(y, g) and y.size >= MIN_ELTWISE_SIZE and g.strides == y.strides):
        return None
    dy, src = flat_view(g), flat_view(y)  # a dense array's memory as a vector: all an element-wise kernel needs
    if dy is None or src is None:
        return None
    dx = numpy.empty_like(y)
    _relu_plan(y.size).backward.execute((dnn.ARG_SRC, src), (dnn.ARG_DIFF_DST, dy), (dnn.ARG_DIFF_SRC, flat_view(dx)))
    return _ran("relu_backward", dx)


# ---------------------------------------------------------------- softmax
class _SoftmaxPlan:
    """Softmax forward along the last axis of a dense (rows, C) float32 array (in place allowed)."""

    def __init__(self, rows, C):
        lib, engine = dnn.library(), dnn.engine()
        self.data = dnn.Desc((rows, C), (C, 1))

        def forward(attr):
            pd = dnn.Handle()
            dnn.check(lib.dnnl_softmax_forward_primitive_desc_create(
                ctypes.byref(pd), engine, dnn.FORWARD_TRAINING, dnn.SOFTMAX_ACCURATE, self.data.handle,
                self.data.handle, 1, attr), "softmax forward")
            return pd
        self.forward = dnn.Primitive(forward)


def softmax_(x):
    """x ← softmax(x) along the last axis, in place, for a C-contiguous float32 ``x`` whose rows each hold a
    finite number (a row of −inf only would give NaN: the caller keeps such rows on NumPy, which gives 0).
    Returns x, or None to fall back (float64, a non-contiguous or small array). One pass that keeps the row in
    registers (max, exp, sum, scale) against NumPy's five; its backward stays NumPy's (oneDNN 3.2's softmax
    backward ran a reference kernel on AVX2, 20× slower: bench/NOTES.md §12)."""
    if not (_supported(x) and x.ndim >= 1 and x.flags.c_contiguous and x.size >= MIN_ELTWISE_SIZE):
        return None
    C = x.shape[-1]
    plan = dnn.cached(("softmax", x.size // C, C), lambda: _SoftmaxPlan(x.size // C, C))
    if plan is None:
        return _ran("softmax_forward", None)
    plan.forward.execute((dnn.ARG_SRC, x), (dnn.ARG_DST, x))
    return _ran("softmax_forward", x)


# ---------------------------------------------------------------- layer normalisation
class _LayerNormPlan:
    """Layer-norm forward (training: the per-row mean and variance come out) and backward over
    (rows, C), C the product of the normalised trailing axes."""

    def __init__(self, rows, C, affine, eps):
        lib, engine = dnn.library(), dnn.engine()
        self.data, self.stat = dnn.Desc((rows, C), (C, 1)), dnn.Desc((rows,), (1,))
        flags = (dnn.USE_SCALE | dnn.USE_SHIFT) if affine else 0

        def forward(attr):
            pd = dnn.Handle()
            dnn.check(lib.dnnl_layer_normalization_forward_primitive_desc_create(
                ctypes.byref(pd), engine, dnn.FORWARD_TRAINING, self.data.handle, self.data.handle, self.stat.handle,
                eps, flags, attr), "layer normalization forward")
            return pd
        self.forward = dnn.Primitive(forward)

        def backward(attr):
            pd = dnn.Handle()
            dnn.check(lib.dnnl_layer_normalization_backward_primitive_desc_create(
                ctypes.byref(pd), engine, dnn.BACKWARD if affine else dnn.BACKWARD_DATA, self.data.handle,
                self.data.handle, self.data.handle, self.stat.handle, eps, flags, self.forward.pd, attr),
                "layer normalization backward")
            return pd
        self.backward = dnn.Primitive(backward)


def _layer_norm_plan(rows, C, affine, eps):
    return dnn.cached(("layer_norm", rows, C, affine, eps), lambda: _LayerNormPlan(rows, C, affine, eps))


def layer_norm_forward(x, weight, bias, k, eps):
    """(y, saved) of :class:`shendu.functional.normalization.LayerNorm`: y = γ·(x − μ)/√(σ² + ε) + β with μ,
    σ² (biased) over the last ``k`` axes; γ, β of those axes' shape, or both None. ``saved`` is for
    :func:`layer_norm_backward`. None to fall back."""
    if not (_supported(x, weight, bias) and x.ndim >= k):
        return None
    C = int(numpy.prod(x.shape[x.ndim - k:]))
    rows = x.size // C
    plan = _layer_norm_plan(rows, C, weight is not None, float(eps))
    if plan is None:
        return _ran("layer_norm_forward", None)
    x2 = numpy.ascontiguousarray(x).reshape(rows, C)
    y = numpy.empty((rows, C), _F32)
    mean, var = numpy.empty(rows, _F32), numpy.empty(rows, _F32)
    args = [(dnn.ARG_SRC, x2), (dnn.ARG_DST, y), (dnn.ARG_MEAN, mean), (dnn.ARG_VARIANCE, var)]
    if weight is not None:
        args += [(dnn.ARG_SCALE, _vector(weight).reshape(-1)), (dnn.ARG_SHIFT, _vector(bias).reshape(-1))]
    plan.forward.execute(*args)
    return _ran("layer_norm_forward", (y.reshape(x.shape), (plan, x2, weight, bias, mean, var)))


def layer_norm_backward(saved, g):
    """(dL/dx, dL/dγ, dL/dβ) of :func:`layer_norm_forward` (the last two None without γ, β)."""
    plan, x2, weight, bias, mean, var = saved
    dx = numpy.empty(x2.shape, _F32)
    args = [(dnn.ARG_SRC, x2), (dnn.ARG_MEAN, mean), (dnn.ARG_VARIANCE, var),
            (dnn.ARG_DIFF_DST, numpy.ascontiguousarray(g, dtype=_F32).reshape(x2.shape)), (dnn.ARG_DIFF_SRC, dx)]
    dw = db = None
    if weight is not None:
        dw, db = numpy.empty(x2.shape[1], _F32), numpy.empty(x2.shape[1], _F32)
        # β does not enter the gradients, but oneDNN 3.2's backward asks for it when the shift is in use
        args += [(dnn.ARG_SCALE, _vector(weight).reshape(-1)), (dnn.ARG_SHIFT, _vector(bias).reshape(-1)),
                 (dnn.ARG_DIFF_SCALE, dw), (dnn.ARG_DIFF_SHIFT, db)]
    plan.backward.execute(*args)
    if weight is not None:
        dw, db = dw.reshape(weight.shape), db.reshape(weight.shape)
    return _ran("layer_norm_backward", (dx.reshape(g.shape), dw, db))
