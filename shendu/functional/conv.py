"""Convolution as im2col + one GEMM: ``conv1d``, ``conv2d``, ``conv_transpose2d``.

Deep learning's "convolution" is cross-correlation (the kernel is not flipped)::

    y[n, o, i, j] = b[o] + Σ_{c, p, q} w[o, c, p, q] · x_pad[n, g·C_g + c, i·s_h + p·d_h, j·s_w + q·d_w]

for output channel o of group g (C_g = C_in / groups input channels per group).

How it is computed (docs/conv.md has the shapes drawn out):

1. pad x with zeros (one copy, only when there is padding);
2. **im2col**: a strided *view* (no copy) of the padded input with shape
   (C_in, k_h, k_w, N, H_out, W_out), whose element (c, p, q, n, i, j) is the
   input pixel that tap (p, q) of channel c sees at output position (n, i, j);
   reshaping it to the column matrix (C_in·k_h·k_w, N·H_out·W_out) is the one copy;
3. **one GEMM per group**: W (C_out/G, C_g·k_h·k_w) @ cols (C_g·k_h·k_w, N·H_out·W_out),
   all groups in one batched ``backend.matmul``.

A 1×1 convolution without padding needs no im2col at all: it is the GEMM
W (C_out, C_in) @ x (N, C_in, H·W) on the (strided) input, already NCHW.

Backward is two more GEMMs: dW = g · colsᵀ and dcols = Wᵀ · g, both with g laid
out once as (C_out, N·H_out·W_out). The forward's columns are kept for dW while
they fit in :data:`MAX_KEPT_COLUMN_BYTES` (one im2col less per step) and
released by backward; larger ones are recomputed from the saved input, with the
same numbers. dcols is folded back onto the input by **col2im**, the adjoint of im2col:
k_h·k_w vectorised strided adds, one per kernel tap. For stride 1, dx is itself
a convolution of g with the flipped kernel, which is faster (see
:func:`conv_grad_input`). A transposed convolution is exactly the
backward-data pass of a convolution, so it reuses the same kernels with the
roles swapped.

Memory: the column buffer is C_in·k_h·k_w·N·H_out·W_out elements. When it would
exceed :data:`MAX_COLUMN_BYTES` the batch is processed in chunks (the results
are identical; only the peak memory changes).
"""
from __future__ import annotations

import itertools
import math
import numbers
from collections import namedtuple

from .. import backend
from ..autograd import Function
from ..backend import get_array_module
from ..ops.elementwise import Relu, relu_grad, relu_in_place
from ..parallel import parallel_for

#: Largest column buffer (bytes) one im2col may allocate; bigger batches are split
#: into chunks of whole images. 256 MiB holds ResNet-18's largest buffer at batch 32
#: in float32 (conv1: 147 × 401,408 floats = 236 MB, see docs/conv.md).
MAX_COLUMN_BYTES = 256 * 2**20

#: Largest column buffer (bytes) one convolution keeps from its forward pass for its weight
#: gradient, from forward until its backward runs; larger buffers are recomputed in backward.
#: Keeping removes one of the three im2col of a training step (resnet20: 19 of 54, −10 % of its
#: step time, bench/NOTES.md) and costs the buffer's memory between the passes: resnet20 at
#: batch 32 keeps 3.5–19 MB per layer, 185 MiB in all (its peak resident memory: 182 → 347 MiB).
MAX_KEPT_COLUMN_BYTES = 64 * 2**20

ConvGeometry = namedtuple("ConvGeometry", "kh kw sh sw dh dw pt pb pl pr ho wo groups")
ConvGeometry.__doc__ = """Everything about a convolution but the data: kernel (kh, kw), stride (sh, sw),
dilation (dh, dw), zero padding top/bottom/left/right, output size (ho, wo) and groups."""


# ----------------------------------------------------------------- sizes and padding
def pair(value, what, op):
    """An int or a pair of ints as a pair of positive ints."""
    pair = (value, value) if isinstance(value, numbers.Integral) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, numbers.Integral) and v >= 1 for v in pair):
        raise ValueError(f"{op}: {what} must be a positive int or a pair of positive ints, got {value!r}")
    return int(pair[0]), int(pair[1])


def _single(value, what, op="conv1d"):
    """An int or a 1-tuple as a 1-tuple of a positive int."""
    single = (value,) if isinstance(value, numbers.Integral) else tuple(value)
    if len(single) != 1 or not isinstance(single[0], numbers.Integral) or single[0] < 1:
        raise ValueError(f"{op}: {what} must be a positive int, got {value!r}")
    return (int(single[0]),)


def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    """floor((size + pad_before + pad_after − d·(k − 1) − 1) / stride) + 1.

    ``padding`` is the padding on each side (int) or a (before, after) pair.

    Example:
        >>> conv_output_size(32, 3, padding=1), conv_output_size(224, 7, stride=2, padding=3)
        (32, 112)
    """
    before, after = (padding, padding) if isinstance(padding, numbers.Integral) else padding
    return (size + before + after - dilation * (kernel_size - 1) - 1) // stride + 1


def same_padding(size, kernel_size, stride=1, dilation=1):
    """(before, after) padding that makes the output ceil(size / stride) long.

    TensorFlow's rule: total = max((ceil(size/s) − 1)·s + d·(k − 1) + 1 − size, 0),
    before = total // 2 and the odd pixel goes after (bottom / right). For
    stride 1 this is PyTorch's ``padding='same'`` too (total = d·(k − 1)).
    """
    total = max((-(-size // stride) - 1) * stride + dilation * (kernel_size - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def conv_padding(padding, sizes, kernel, stride, dilation, op="conv"):
    """Resolve a padding argument into one (before, after) pair per spatial axis.

    Accepts ``'valid'`` (none), ``'same'`` (see :func:`same_padding`), an int
    (every side), one entry per axis where each entry is an int (both sides) or
    a (before, after) pair, e.g. ``(1, 2)`` or Keras's ``((top, bottom), (left, right))``.
    """
    n = len(sizes)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding == "same":
            return tuple(same_padding(*a) for a in zip(sizes, kernel, stride, dilation))
        raise ValueError(f"{op}: padding must be 'valid', 'same', an int or pairs of ints, got {padding!r}")
    entries = (padding,) * n if isinstance(padding, numbers.Integral) else tuple(padding)
    if n == 1 and len(entries) == 2 and all(isinstance(e, numbers.Integral) for e in entries):
        entries = (entries,)  # conv1d's (before, after)
    if len(entries) != n:
        raise ValueError(f"{op}: padding needs {n} entries (one per spatial axis), got {padding!r}")
    pads = tuple((e, e) if isinstance(e, numbers.Integral) else tuple(e) for e in entries)
    if not all(len(p) == 2 and all(isinstance(v, numbers.Integral) and v >= 0 for v in p) for p in pads):
        raise ValueError(f"{op}: paddings must be non-negative ints or (before, after) pairs, got {padding!r}")
    return tuple((int(a), int(b)) for a, b in pads)


def conv_geometry(in_size, kernel_size, stride=1, padding=0, dilation=1, groups=1, op="conv2d"):
    """The :class:`ConvGeometry` of a 2-D convolution of an (H, W) input."""
    kernel = pair(kernel_size, "kernel_size", op)
    stride = pair(stride, "stride", op)
    dilation = pair(dilation, "dilation", op)
    (pt, pb), (pl, pr) = conv_padding(padding, in_size, kernel, stride, dilation, op)
    ho = conv_output_size(in_size[0], kernel[0], stride[0], (pt, pb), dilation[0])
    wo = conv_output_size(in_size[1], kernel[1], stride[1], (pl, pr), dilation[1])
    if ho < 1 or wo < 1:
        raise ValueError(f"{op}: input of spatial size {tuple(in_size)} is too small for kernel {kernel} with "
                         f"dilation {dilation} and padding {((pt, pb), (pl, pr))} (the output would be {ho}×{wo})")
    return ConvGeometry(*kernel, *stride, *dilation, pt, pb, pl, pr, ho, wo, groups)


# ----------------------------------------------------------------- the kernels
def window_slices(geo):
    """For every kernel tap (p, q): the index of the (H_out, W_out) input pixels it meets.

    ``x_pad[..., rows, cols]`` with these slices is a strided view; im2col's
    adjoint (col2im) and pooling add or compare one such view per tap.
    """
    for p in range(geo.kh):
        for q in range(geo.kw):
            rows = slice(p * geo.dh, p * geo.dh + geo.sh * (geo.ho - 1) + 1, geo.sh)
            cols = slice(q * geo.dw, q * geo.dw + geo.sw * (geo.wo - 1) + 1, geo.sw)
            yield p, q, (Ellipsis, rows, cols)


def pad_input(x, geo, value=0):
    """x (N, C, H, W) inside a (N, C, H + pt + pb, W + pl + pr) frame of ``value`` (x itself without padding)."""
    if not (geo.pt or geo.pb or geo.pl or geo.pr):
        return x
    xp = get_array_module(x)
    n, c, h, w = x.shape
    out = xp.full((n, c, h + geo.pt + geo.pb, w + geo.pl + geo.pr), value, dtype=x.dtype)
    out[:, :, geo.pt:geo.pt + h, geo.pl:geo.pl + w] = x
    return out


def im2col(x_pad, geo):
    """Padded input (N, C, H_p, W_p) -> columns (C·k_h·k_w, N·H_out·W_out).

    Row (c, p, q) holds, for every output position (n, i, j), the pixel
    x_pad[n, c, i·s_h + p·d_h, j·s_w + q·d_w]: a 6-D strided view of x_pad
    (C, k_h, k_w, N, H_out, W_out) costs nothing, and copying it into the
    columns is the one pass, split over the batch across threads
    (:func:`shendu.parallel.parallel_for`).
    """
    xp = get_array_module(x_pad)
    n, c = x_pad.shape[:2]
    s_n, s_c, s_h, s_w = x_pad.strides
    cols = xp.empty((c * geo.kh * geo.kw, n * geo.ho * geo.wo), dtype=x_pad.dtype)
    taps = cols.reshape(c, geo.kh, geo.kw, n, geo.ho, geo.wo)

    def copy(start, stop):
        view = xp.lib.stride_tricks.as_strided(
            x_pad[start:stop], (c, geo.kh, geo.kw, stop - start, geo.ho, geo.wo),
            (s_c, s_h * geo.dh, s_w * geo.dw, s_n, s_h * geo.sh, s_w * geo.sw), writeable=False)
        xp.copyto(taps[:, :, :, start:stop], view)

    parallel_for(n, copy, cols.size, xp)
    return cols


def col2im(cols, geo, padded_shape):
    """The adjoint of :func:`im2col`: columns (C·k_h·k_w, N·H_out·W_out) -> padded (N, C, H_p, W_p).

    Every entry is added back at the input pixel it was read from; pixels seen
    by several taps (overlapping windows) sum their contributions. One strided
    add per tap (k_h·k_w vectorised adds), accumulated channel-major (measured
    faster than adding into NCHW directly), split over the batch across
    threads; the result is a transposed view.
    """
    xp = get_array_module(cols)
    n, c, hp, wp = padded_shape
    cols = cols.reshape(c, geo.kh, geo.kw, n, geo.ho, geo.wo)
    out = xp.zeros((c, n, hp, wp), dtype=cols.dtype)

    def add(start, stop):
        images = out[:, start:stop]
        for p, q, window in window_slices(geo):
            images[window] += cols[:, p, q, start:stop]

    parallel_for(n, add, cols.size, xp)
    return out.transpose(1, 0, 2, 3)


def _chunks(n, bytes_per_image):
    """Batch slices whose column buffers stay under MAX_COLUMN_BYTES (at least one image each)."""
    step = max(1, MAX_COLUMN_BYTES // max(bytes_per_image, 1))
    return [slice(i, min(i + step, n)) for i in range(0, n, step)]


def _column_bytes(channels, geo, itemsize):
    return channels * geo.kh * geo.kw * geo.ho * geo.wo * itemsize


def _columns(x, geo):
    """x (n, C, H, W) -> its column matrix (C·k_h·k_w, n·H_out·W_out)."""
    return im2col(pad_input(x, geo), geo)


def _keeps_columns(x, geo):
    """True when the whole batch's columns are one buffer within MAX_KEPT_COLUMN_BYTES (and MAX_COLUMN_BYTES)."""
    size = x.shape[0] * _column_bytes(x.shape[1], geo, x.itemsize)
    return not _is_pointwise(geo) and size <= min(MAX_KEPT_COLUMN_BYTES, MAX_COLUMN_BYTES)


def _batch_parts(x, geo, cols):
    """The batch slices to process: all of x when its columns ``cols`` are at hand, else :func:`_chunks`."""
    if cols is not None:
        return [slice(0, x.shape[0])]
    return _chunks(x.shape[0], _column_bytes(x.shape[1], geo, x.itemsize))


def _part(g_mat, part, geo):
    """The columns of images ``part`` in a (G, C/G, N·H_out·W_out) matrix."""
    positions = geo.ho * geo.wo
    return g_mat[..., part.start * positions:part.stop * positions]


def _grouped(g, groups):
    """Output gradient chunk (n, C_out, H_out, W_out) -> (G, C_out/G, n·H_out·W_out) for the GEMMs:
    one transposing copy, split over the batch across threads."""
    xp = get_array_module(g)
    n, c_out = g.shape[:2]
    g_mat = xp.empty((c_out, n, math.prod(g.shape[2:])), dtype=g.dtype)

    def copy(start, stop):
        xp.copyto(g_mat[:, start:stop], g[start:stop].reshape(stop - start, c_out, -1).transpose(1, 0, 2))

    parallel_for(n, copy, g.size, xp)
    return g_mat.reshape(groups, c_out // groups, -1)


def _is_pointwise(geo):
    """A 1×1 kernel without padding: the convolution is a plain GEMM over channels, no im2col."""
    return geo.kh == geo.kw == 1 and not (geo.pt or geo.pb or geo.pl or geo.pr)


def _visited(geo):
    """The (rows, cols) slices of the pixels a 1×1 kernel visits."""
    return slice(0, (geo.ho - 1) * geo.sh + 1, geo.sh), slice(0, (geo.wo - 1) * geo.sw + 1, geo.sw)


def _pointwise_input(x, geo):
    """x (N, C, H, W) -> the visited pixels as (N, G, C/G, H_out·W_out)."""
    rows, cols = _visited(geo)
    return x[:, :, rows, cols].reshape(x.shape[0], geo.groups, x.shape[1] // geo.groups, -1)


def conv_forward(x, w, geo, bias=None, cols=None):
    """y (N, C_out, H_out, W_out) = cross-correlation of x (N, C_in, H, W) with w (C_out, C_in/G, k_h, k_w),
    plus ``bias`` (C_out,) when given; ``cols``: the whole batch's columns, when the caller already has them."""
    fast = backend.fast_kernels()
    y = None if fast is None else fast.conv2d_forward(x, w, bias, geo)
    if y is not None:
        return y
    xp = get_array_module(x)
    n, c_out, g = x.shape[0], w.shape[0], geo.groups
    w_mat = w.reshape(g, c_out // g, -1)  # (G, C_out/G, C_g·k_h·k_w)
    if _is_pointwise(geo):  # (G, C_out/G, C_g) @ (N, G, C_g, P): already NCHW
        y = backend.matmul(w_mat, _pointwise_input(x, geo)).reshape(n, c_out, geo.ho, geo.wo)
        if bias is not None:
            y += bias.reshape(1, -1, 1, 1)
        return y
    y = xp.empty((n, c_out, geo.ho * geo.wo), dtype=x.dtype)
    for part in _batch_parts(x, geo, cols):
        part_cols = _columns(x[part], geo) if cols is None else cols
        out = backend.matmul(w_mat, part_cols.reshape(g, -1, part_cols.shape[-1]))  # (G, C_out/G, n·H_out·W_out)
        _to_nchw(out.reshape(c_out, -1, geo.ho * geo.wo), y[part], bias)
    return y.reshape(n, c_out, geo.ho, geo.wo)


def _to_nchw(out, y, bias=None):
    """y (n, C_out, P) = the GEMM's out (C_out, n, P) transposed, plus ``bias`` (C_out,) in the same pass;
    split over the batch across threads."""
    xp = get_array_module(y)

    def copy(start, stop):
        part = out[:, start:stop].transpose(1, 0, 2)
        if bias is None:
            xp.copyto(y[start:stop], part)
        else:
            xp.add(part, bias.reshape(-1, 1), out=y[start:stop])

    parallel_for(y.shape[0], copy, y.size, xp)


def _flipped_geometry(geo, x_shape):
    """For stride 1: the geometry of dx = conv(g, flipped kernel), output (H, W).

    g is padded by d·(k − 1) − p_top on top and by H − H_out + p_top at the bottom
    (= d·(k − 1) − p_bottom for an ordinary convolution; more when a transposed
    convolution's output_padding adds rows no window reaches); None when a
    padding would be negative (padding larger than the dilated kernel).
    """
    if geo.sh != 1 or geo.sw != 1:
        return None
    pads = (geo.dh * (geo.kh - 1) - geo.pt, x_shape[2] - geo.ho + geo.pt,
            geo.dw * (geo.kw - 1) - geo.pl, x_shape[3] - geo.wo + geo.pl)
    if min(pads) < 0:
        return None
    return geo._replace(pt=pads[0], pb=pads[1], pl=pads[2], pr=pads[3], ho=x_shape[2], wo=x_shape[3])


def _flipped_kernel(w, groups):
    """w (C_out, C_g, k_h, k_w) -> (C_in, C_out/G, k_h, k_w): in/out channels swapped per group, taps reversed."""
    c_out, c_g, kh, kw = w.shape
    w = w.reshape(groups, c_out // groups, c_g, kh, kw).transpose(0, 2, 1, 3, 4)[..., ::-1, ::-1]
    return w.reshape(groups * c_g, c_out // groups, kh, kw)


def conv_grad_input(g, w, geo, x_shape, g_mat=None):
    """dL/dx (``x_shape``) = col2im(Wᵀ · g): the backward-data pass, and the forward of conv_transpose2d.

    For stride 1 this equals a convolution of g (padded by about d·(k − 1) − p) with the
    flipped kernel, computed by :func:`conv_forward`. Its column buffer has C_out
    rows per tap where col2im's has C_in, and a copy costs less than a strided
    add: measured 1.6–2× faster with C_out = C_in, break-even near C_out = 1.5·C_in,
    so that path is taken when C_out ≤ 1.5·C_in. ``g_mat``: g as :func:`_grouped` lays it out, if the
    caller has it already.
    """
    fast = backend.fast_kernels()
    dx = None if fast is None else fast.conv2d_backward_data(g, w, geo, x_shape)
    if dx is not None:
        return dx
    xp = get_array_module(g)
    n, c, h, wd = x_shape
    groups = geo.groups
    w_t = w.reshape(groups, w.shape[0] // groups, -1).transpose(0, 2, 1)  # (G, C_g·k_h·k_w, C_out/G)
    if _is_pointwise(geo):
        dx_visited = backend.matmul(w_t, g.reshape(n, groups, -1, geo.ho * geo.wo)).reshape(n, c, geo.ho, geo.wo)
        if dx_visited.shape == tuple(x_shape):
            return dx_visited
        dx = xp.zeros(x_shape, dtype=g.dtype)  # a strided 1×1 conv never sees the other pixels
        dx[(Ellipsis, *_visited(geo))] = dx_visited
        return dx
    flipped = _flipped_geometry(geo, x_shape)
    if flipped is not None and 2 * w.shape[0] <= 3 * c:
        return conv_forward(g, _flipped_kernel(w, groups), flipped)
    dx = xp.empty(x_shape, dtype=g.dtype)
    g_mat = _grouped(g, groups) if g_mat is None else g_mat
    for part in _chunks(n, _column_bytes(c, geo, g.itemsize)):
        dcols = backend.matmul(w_t, _part(g_mat, part, geo))  # (G, C_g·k_h·k_w, n·H_out·W_out)
        padded = (part.stop - part.start, c, h + geo.pt + geo.pb, wd + geo.pl + geo.pr)
        dx[part] = col2im(dcols.reshape(c * geo.kh * geo.kw, -1), geo, padded)[
            :, :, geo.pt:geo.pt + h, geo.pl:geo.pl + wd]
    return dx


def conv_grad_weight(g, x, geo, w_shape, cols=None, g_mat=None, with_bias=False):
    """dL/dw (``w_shape``) = g · colsᵀ summed over the batch; with ``with_bias``, the pair (dL/dw, dL/db)
    (oneDNN computes dL/db in the same pass over g, else :func:`bias_grad`).

    ``cols``: the whole batch's columns kept from forward (else recomputed from x
    chunk by chunk); ``g_mat``: g as :func:`_grouped` lays it out, if the caller has it.
    """
    fast = backend.fast_kernels()
    grads = None if fast is None else fast.conv2d_backward_weights(g, x, geo, w_shape, with_bias)
    if grads is not None:
        return grads if with_bias else grads[0]
    dw = _numpy_grad_weight(g, x, geo, w_shape, cols, g_mat)
    return (dw, bias_grad(g)) if with_bias else dw


def bias_grad(g):
    """dL/db = Σ_{n,i,j} g[n, :, i, j] for g (N, C, H, W), in g's memory order: for a channels-last g, a
    matrix-vector product 1ᵀ·G over G (N·H·W, C), a view of g. (NumPy's sum over axes (0, 2, 3) there
    reduces with C as its innermost loop: 1.15 ms for LeNet-5's first layer, 6 channels, against 0.06 ms.)"""
    if g.ndim == 4 and g.transpose(0, 2, 3, 1).flags.c_contiguous:
        return backend.sum_rows(g.transpose(0, 2, 3, 1).reshape(-1, g.shape[1]))
    return g.sum(axis=(0, 2, 3))


def _numpy_grad_weight(g, x, geo, w_shape, cols, g_mat):
    """:func:`conv_grad_weight`'s dL/dw on NumPy: GEMMs against the columns, batch part by part."""
    xp = get_array_module(g)
    groups = geo.groups
    if _is_pointwise(geo):  # Σ_n g[n] · x[n]ᵀ per group
        g_per_group = g.reshape(g.shape[0], groups, w_shape[0] // groups, -1)
        return backend.matmul(g_per_group, _pointwise_input(x, geo).transpose(0, 1, 3, 2)).sum(axis=0).reshape(w_shape)
    g_mat = _grouped(g, groups) if g_mat is None else g_mat
    dw = xp.zeros((groups, w_shape[0] // groups, math.prod(w_shape[1:])), dtype=g.dtype)
    for part in _batch_parts(x, geo, cols):
        part_cols = _columns(x[part], geo) if cols is None else cols
        part_cols = part_cols.reshape(groups, -1, part_cols.shape[-1])
        dw += backend.matmul(_part(g_mat, part, geo), part_cols.transpose(0, 2, 1))
    return dw.reshape(w_shape)


# ----------------------------------------------------------------- differentiable ops
class Conv2d(Function):
    """y = conv(x, W) + b;  dL/dx = col2im(Wᵀ·g),  dL/dW = g·im2col(x)ᵀ,  dL/db = Σ_{n,i,j} g.

    ``keep_columns``: keep im2col(x) from forward for dL/dW when it fits in
    :data:`MAX_KEPT_COLUMN_BYTES` (backward releases it).
    """

    __slots__ = ("x", "w", "geo", "has_bias", "cols")

    def forward(self, x, w, b=None, geo=None, keep_columns=False):
        self.x, self.w, self.geo, self.has_bias = x, w, geo, b is not None
        keep = keep_columns and backend.fast_kernels() is None and _keeps_columns(x, geo)
        self.cols = _columns(x, geo) if keep else None
        return conv_forward(x, w, geo, b, self.cols)

    def backward(self, g):
        ix, iw, geo = self.inputs[0], self.inputs[1], self.geo
        # g laid out as (G, C_out/G, N·H_out·W_out) once, for dW and (the col2im path of) dx
        g_mat = (_grouped(g, geo.groups) if iw.requires_grad and not _is_pointwise(geo)
                 and backend.fast_kernels() is None else None)
        need_b = self.has_bias and self.inputs[2].requires_grad
        # dW first, so that the kept columns are released before dx allocates its own buffers
        dw = db = None
        if iw.requires_grad and need_b:  # both from one pass over g on oneDNN
            dw, db = conv_grad_weight(g, self.x, geo, self.w.shape, self.cols, g_mat, with_bias=True)
        elif iw.requires_grad:
            dw = conv_grad_weight(g, self.x, geo, self.w.shape, self.cols, g_mat)
        elif need_b:
            db = bias_grad(g)
        self.cols = None
        dx = conv_grad_input(g, self.w, geo, self.x.shape, g_mat) if ix.requires_grad else None
        return (dx, dw, db) if self.has_bias else (dx, dw)


class Conv2dReLU(Conv2d):
    """y = max(conv(x, W) + b, 0): a convolution and the ReLU after it as one node, the ReLU in place on the
    convolution's result (no second array, no second node; NumPy's ``maximum``, which keeps a NaN).

    dL/dz = g · [not y ≤ 0] (z = conv(x, W) + b; y ≤ 0 exactly where z ≤ 0), then :class:`Conv2d`'s
    gradients of z. Same options as :class:`Conv2d`.
    """

    __slots__ = ("y",)
    saves_output = True  # backward reads y
    #: the activation's own Function (what an exporter shows after the convolution)
    activation = Relu

    def forward(self, x, w, b=None, geo=None, keep_columns=False):
        self.y = relu_in_place(super().forward(x, w, b, geo, keep_columns))
        return self.y

    def backward(self, g):
        return super().backward(relu_grad(g, self.y))


class ConvTranspose2d(Function):
    """y = convᵀ(x, W) + b (the adjoint of a convolution);  dL/dx = conv(g, W),  dL/dW = x·im2col(g)ᵀ."""

    __slots__ = ("x", "w", "geo", "has_bias", "out_shape")

    def forward(self, x, w, b=None, geo=None, out_shape=None):
        self.x, self.w, self.geo, self.has_bias, self.out_shape = x, w, geo, b is not None, out_shape
        y = conv_grad_input(x, w, geo, out_shape)
        if b is not None:
            y += b.reshape(1, -1, 1, 1)
        return y

    def backward(self, g):
        ix, iw = self.inputs[0], self.inputs[1]
        dx = conv_forward(g, self.w, self.geo) if ix.requires_grad else None
        dw = conv_grad_weight(self.x, g, self.geo, self.w.shape) if iw.requires_grad else None
        if not self.has_bias:
            return dx, dw
        return dx, dw, bias_grad(g) if self.inputs[2].requires_grad else None


# ----------------------------------------------------------------- public functions
def _check(x, w, b, groups, in_channels_axis, op, x_ndim):
    if x.ndim != x_ndim or w.ndim != x_ndim:
        names = {3: "(N, C, L)", 4: "(N, C, H, W)", 5: "(N, C, D, H, W)"}.get(x_ndim, f"of {x_ndim} dimensions")
        raise ValueError(f"{op}: expected input {names} and weight of {x_ndim} dimensions, "
                         f"got input of shape {tuple(x.shape)} and weight of shape {tuple(w.shape)}")
    if x.dtype.kind != "f" or x.dtype != w.dtype or (b is not None and b.dtype != w.dtype):
        raise TypeError(f"{op}: input, weight and bias must share one floating dtype, got {x.dtype} and "
                        f"{w.dtype}{'' if b is None else ' and ' + str(b.dtype)} (use .float() / .double())")
    if not isinstance(groups, numbers.Integral) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    expected = w.shape[1] * groups if in_channels_axis == 1 else w.shape[0]
    if x.shape[1] != expected:
        raise ValueError(f"{op}: weight of shape {tuple(w.shape)} with groups={groups} expects {expected} input "
                         f"channels, got input of shape {tuple(x.shape)}")
    c_out = w.shape[0] if in_channels_axis == 1 else w.shape[1] * groups
    if (w.shape[0] % groups) or (b is not None and b.shape != (c_out,)):
        raise ValueError(f"{op}: weight of shape {tuple(w.shape)} and bias of shape "
                         f"{None if b is None else tuple(b.shape)} do not fit groups={groups}")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, activation=None):
    """2-D convolution (cross-correlation) over an NCHW batch, as ``torch.nn.functional.conv2d``.

        y[n, o, i, j] = b[o] + Σ_{c,p,q} w[o, c, p, q] · x_pad[n, g·C_g + c, i·s_h + p·d_h, j·s_w + q·d_w]

    Args:
        input: (N, C_in, H, W).
        weight: (C_out, C_in / groups, k_h, k_w).
        bias: (C_out,) or None.
        stride, dilation: int or (h, w) pair (default 1).
        padding: int, (p_h, p_w), ((top, bottom), (left, right)), ``'valid'``
            or ``'same'`` (output ceil(in / stride); extra pixel bottom/right).
        groups: split the channels into this many independent convolutions
            (``groups = C_in`` is depthwise).
        activation: None, or ``'relu'``: max(y, 0) in the same node (:class:`Conv2dReLU`), equal to
            ``relu(conv2d(...))`` with the same gradients (what :class:`shendu.nn.Sequential` asks for when
            a ReLU follows a Conv2d). Not PyTorch's: an extension.

    Shape: input (N, C_in, H, W) -> output (N, C_out, H_out, W_out),
    H_out = floor((H + p_top + p_bottom − d_h·(k_h − 1) − 1) / s_h) + 1 (W alike).

    Example:
        >>> x, w = shendu.randn(8, 3, 32, 32), shendu.randn(16, 3, 3, 3)
        >>> F.conv2d(x, w, padding=1).shape
        (8, 16, 32, 32)
    """
    _check(input, weight, bias, groups, 1, "conv2d", 4)
    fn = _CONV2D_ACTIVATIONS.get(activation)
    if fn is None:
        raise ValueError(f"conv2d: activation must be 'relu' or None, got {activation!r}")
    geo = conv_geometry(input.shape[2:], weight.shape[2:], stride, padding, dilation, groups)
    tensors = (input, weight) if bias is None else (input, weight, bias)
    return fn.apply(*tensors, geo=geo, keep_columns=weight.requires_grad)


#: The activations :func:`conv2d` can fuse (``activation=``), and the Function of each.
_CONV2D_ACTIVATIONS = {None: Conv2d, "relu": Conv2dReLU}


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution over sequences (N, C_in, L), as ``torch.nn.functional.conv1d``.

    y[n, o, t] = b[o] + Σ_{c,p} w[o, c, p] · x_pad[n, g·C_g + c, t·s + p·d]; computed as a
    conv2d of height 1. ``padding``: int, (before, after), ``'valid'`` or ``'same'``.

    Shape: input (N, C_in, L) -> output (N, C_out, L_out), L_out = floor((L + p_before + p_after − d·(k − 1) − 1) / s) + 1;
    weight (C_out, C_in / groups, k).
    """
    _check(input, weight, bias, groups, 1, "conv1d", 3)
    (s,), (d,) = (_single(v, what) for v, what in ((stride, "stride"), (dilation, "dilation")))
    pad = conv_padding(padding, input.shape[2:], weight.shape[2:], (s,), (d,), "conv1d")[0]
    n, c, length = input.shape
    x = input.reshape(n, c, 1, length)
    w = weight.reshape(*weight.shape[:2], 1, weight.shape[2])
    y = conv2d(x, w, bias, stride=(1, s), padding=((0, 0), pad), dilation=(1, d), groups=groups)
    return y.reshape(n, y.shape[1], y.shape[3])


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """2-D transposed convolution ("deconvolution"), as ``torch.nn.functional.conv_transpose2d``.

    The adjoint of conv2d: every input pixel scatters its kernel-weighted copy
    into the output, y[n, o, i·s + p·d − pad, ...] += w[c, o, p, q] · x[n, c, i, j];
    the gradient of a conv2d with respect to its input is exactly this map.

    Args:
        input: (N, C_in, H, W).  weight: (C_in, C_out / groups, k_h, k_w).  bias: (C_out,) or None.
        stride, padding, dilation: int or (h, w) pair; ``padding`` removes that many rows/cols on each side.
        output_padding: extra rows/cols added on the bottom/right (0 ≤ output_padding < max(stride, dilation)),
            to reach a size a strided convolution maps to the same H.

    Shape: input (N, C_in, H, W) -> output (N, C_out, H_out, W_out),
    H_out = (H − 1)·s_h − 2·p_h + d_h·(k_h − 1) + output_padding_h + 1 (W alike).

    Example:
        >>> F.conv_transpose2d(shendu.randn(1, 16, 7, 7), shendu.randn(16, 8, 3, 3), stride=2, padding=1,
        ...                    output_padding=1).shape
        (1, 8, 14, 14)
    """
    op = "conv_transpose2d"
    _check(input, weight, bias, groups, 0, op, 4)
    kernel, s, d = weight.shape[2:], pair(stride, "stride", op), pair(dilation, "dilation", op)
    p = (padding, padding) if isinstance(padding, numbers.Integral) else tuple(padding)
    op_pad = (output_padding, output_padding) if isinstance(output_padding, numbers.Integral) else tuple(output_padding)
    if any(not 0 <= a < max(si, di) for a, si, di in zip(op_pad, s, d)):
        raise ValueError(f"{op}: output_padding {op_pad} must be smaller than either stride {s} or dilation {d}")
    out_hw = tuple((n - 1) * si - 2 * pi + di * (k - 1) + a + 1
                   for n, si, pi, di, k, a in zip(input.shape[2:], s, p, d, kernel, op_pad))
    if min(out_hw) < 1:
        raise ValueError(f"{op}: input of spatial size {tuple(input.shape[2:])} gives an empty output {out_hw}")
    geo = ConvGeometry(*kernel, *s, *d, p[0], p[0], p[1], p[1], *input.shape[2:], groups)
    out_shape = (input.shape[0], weight.shape[1] * groups, *out_hw)
    tensors = (input, weight) if bias is None else (input, weight, bias)
    return ConvTranspose2d.apply(*tensors, geo=geo, out_shape=out_shape)


# ----------------------------------------------------------------- nn-funcs: N spatial dimensions
# The same im2col + GEMM scheme for any number of spatial axes (3-D volumes use it); 2-D keeps the
# tuned kernels above (threads, 1×1 and flipped-kernel shortcuts, chunking), which the benchmarks time.
GeometryNd = namedtuple("GeometryNd", "kernel stride dilation pads out groups")
GeometryNd.__doc__ = """A convolution over n spatial axes: kernel, stride, dilation (n-tuples), zero padding
((before, after) per axis), output size (n-tuple) and groups."""


def _ntuple(value, n, what, op, minimum=1):
    """An int or an n-sequence of ints (each ≥ ``minimum``) as an n-tuple."""
    out = (value,) * n if isinstance(value, numbers.Integral) else tuple(value)
    if len(out) != n or not all(isinstance(v, numbers.Integral) and v >= minimum for v in out):
        raise ValueError(f"{op}: {what} must be an int ≥ {minimum} or {n} of them, got {value!r}")
    return tuple(int(v) for v in out)


def _taps_view(x_pad, geo):
    """The strided view (C, *kernel, N, *out) of x_pad (N, C, *padded): element (c, *p, n, *o) is
    x_pad[n, c, o_i·s_i + p_i·d_i …]."""
    xp = get_array_module(x_pad)
    s_n, s_c, *s_sp = x_pad.strides
    shape = (x_pad.shape[1], *geo.kernel, x_pad.shape[0], *geo.out)
    strides = (s_c, *(s * d for s, d in zip(s_sp, geo.dilation)), s_n, *(s * t for s, t in zip(s_sp, geo.stride)))
    return xp.lib.stride_tricks.as_strided(x_pad, shape, strides, writeable=False)


def im2col_nd(x_pad, geo):
    """Padded input (N, C, *padded) -> columns (C·Π kernel, N·Π out): one copy of a strided view."""
    xp = get_array_module(x_pad)
    return xp.ascontiguousarray(_taps_view(x_pad, geo)).reshape(
        x_pad.shape[1] * math.prod(geo.kernel), -1)


def col2im_nd(cols, geo, padded_shape):
    """The adjoint of :func:`im2col_nd`: columns -> padded (N, C, *padded), one strided add per kernel tap."""
    xp = get_array_module(cols)
    n, c = padded_shape[:2]
    taps = cols.reshape(c, *geo.kernel, n, *geo.out)
    out = xp.zeros((c, n) + tuple(padded_shape[2:]), dtype=cols.dtype)
    for tap in itertools.product(*(range(k) for k in geo.kernel)):
        window = tuple(slice(p * d, p * d + s * (o - 1) + 1, s)
                       for p, d, s, o in zip(tap, geo.dilation, geo.stride, geo.out))
        out[(slice(None), slice(None)) + window] += taps[(slice(None),) + tap]
    return out.swapaxes(0, 1)


def _pad_nd(x, pads):
    if not any(a or b for a, b in pads):
        return x
    return get_array_module(x).pad(x, ((0, 0), (0, 0)) + tuple(pads))


def conv_forward_nd(x, w, geo, bias=None):
    """y (N, C_out, *out) = cross-correlation of x (N, C_in, *in) with w (C_out, C_in/G, *kernel) (+ bias)."""
    n, c_out, g = x.shape[0], w.shape[0], geo.groups
    cols = im2col_nd(_pad_nd(x, geo.pads), geo)
    y = backend.matmul(w.reshape(g, c_out // g, -1), cols.reshape(g, -1, cols.shape[-1]))  # (G, C_out/G, N·P)
    y = y.reshape(c_out, n, -1).swapaxes(0, 1)
    if bias is not None:
        y = y + bias.reshape(1, -1, 1)
    return get_array_module(x).ascontiguousarray(y).reshape(n, c_out, *geo.out)


def _grouped_nd(g, groups):
    """g (N, C_out, *out) -> (G, C_out/G, N·Π out)."""
    return g.reshape(g.shape[0], g.shape[1], -1).swapaxes(0, 1).reshape(groups, g.shape[1] // groups, -1)


def conv_grad_input_nd(g, w, geo, x_shape):
    """dL/dx (``x_shape``) = col2im(Wᵀ · g): the backward-data pass, and conv_transpose's forward."""
    groups = geo.groups
    w_t = w.reshape(groups, w.shape[0] // groups, -1).swapaxes(1, 2)  # (G, C_g·Π k, C_out/G)
    dcols = backend.matmul(w_t, _grouped_nd(g, groups)).reshape(x_shape[1] * math.prod(geo.kernel), -1)
    padded = tuple(x_shape[:2]) + tuple(n + a + b for n, (a, b) in zip(x_shape[2:], geo.pads))
    dx = col2im_nd(dcols, geo, padded)
    return dx[(slice(None), slice(None)) + tuple(slice(a, a + n) for n, (a, _) in zip(x_shape[2:], geo.pads))]


def conv_grad_weight_nd(g, x, geo, w_shape):
    """dL/dw (``w_shape``) = g · im2col(x)ᵀ, summed over the batch."""
    groups = geo.groups
    cols = im2col_nd(_pad_nd(x, geo.pads), geo)
    dw = backend.matmul(_grouped_nd(g, groups), cols.reshape(groups, -1, cols.shape[-1]).swapaxes(1, 2))
    return dw.reshape(w_shape)


class ConvNd(Function):
    """y = conv(x, W) + b over n spatial axes;  dL/dx = col2im(Wᵀ·g),  dL/dW = g·im2col(x)ᵀ,  dL/db = Σ g."""

    __slots__ = ("x", "w", "geo", "has_bias")

    def forward(self, x, w, b=None, geo=None):
        self.x, self.w, self.geo, self.has_bias = x, w, geo, b is not None
        return conv_forward_nd(x, w, geo, b)

    def backward(self, g):
        ix, iw = self.inputs[0], self.inputs[1]
        dx = conv_grad_input_nd(g, self.w, self.geo, self.x.shape) if ix.requires_grad else None
        dw = conv_grad_weight_nd(g, self.x, self.geo, self.w.shape) if iw.requires_grad else None
        if not self.has_bias:
            return dx, dw
        return dx, dw, g.sum(axis=(0,) + tuple(range(2, g.ndim))) if self.inputs[2].requires_grad else None


class ConvTransposeNd(Function):
    """y = convᵀ(x, W) + b over n spatial axes (the adjoint of ConvNd);  dL/dx = conv(g, W),  dL/dW = x·im2col(g)ᵀ."""

    __slots__ = ("x", "w", "geo", "has_bias")

    def forward(self, x, w, b=None, geo=None, out_shape=None):
        self.x, self.w, self.geo, self.has_bias = x, w, geo, b is not None
        y = conv_grad_input_nd(x, w, geo, out_shape)
        if b is not None:
            y = y + b.reshape((1, -1) + (1,) * (y.ndim - 2))
        return y

    def backward(self, g):
        ix, iw = self.inputs[0], self.inputs[1]
        dx = conv_forward_nd(g, self.w, self.geo) if ix.requires_grad else None
        dw = conv_grad_weight_nd(self.x, g, self.geo, self.w.shape) if iw.requires_grad else None
        if not self.has_bias:
            return dx, dw
        return dx, dw, g.sum(axis=(0,) + tuple(range(2, g.ndim))) if self.inputs[2].requires_grad else None


def conv_nd(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, op="convNd"):
    """Convolution over ``input.ndim − 2`` spatial axes by the N-d kernels (see :func:`conv3d`)."""
    dims = input.ndim - 2
    _check(input, weight, bias, groups, 1, op, input.ndim)
    stride, dilation = _ntuple(stride, dims, "stride", op), _ntuple(dilation, dims, "dilation", op)
    pads = conv_padding(padding, input.shape[2:], weight.shape[2:], stride, dilation, op)
    out = tuple(conv_output_size(n, k, s, p, d)
                for n, k, s, p, d in zip(input.shape[2:], weight.shape[2:], stride, pads, dilation))
    if min(out) < 1:
        raise ValueError(f"{op}: input of spatial size {tuple(input.shape[2:])} is too small for kernel "
                         f"{tuple(weight.shape[2:])} with dilation {dilation} and padding {pads} (output {out})")
    geo = GeometryNd(tuple(weight.shape[2:]), stride, dilation, pads, out, groups)
    tensors = (input, weight) if bias is None else (input, weight, bias)
    return ConvNd.apply(*tensors, geo=geo)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution (cross-correlation) over volumes, as ``torch.nn.functional.conv3d``.

        y[n, o, i, j, l] = b[o] + Σ_{c,p,q,r} w[o, c, p, q, r] · x_pad[n, g·C_g + c, i·s_d + p·d_d, j·s_h + q·d_h, l·s_w + r·d_w]

    Args as :func:`conv2d` with triples: stride, dilation (int or 3 ints), padding (int, 3 ints,
    3 (before, after) pairs, ``'valid'`` or ``'same'``), groups.

    Shape: input (N, C_in, D, H, W), weight (C_out, C_in/groups, k_d, k_h, k_w) -> output
    (N, C_out, D_out, H_out, W_out), D_out = floor((D + p_before + p_after − d·(k − 1) − 1) / s) + 1 (H, W alike).

    Example:
        >>> F.conv3d(shendu.randn(2, 3, 8, 8, 8), shendu.randn(4, 3, 3, 3, 3), padding=1).shape
        (2, 4, 8, 8, 8)
    """
    if input.ndim != 5:
        raise ValueError(f"conv3d: expected input (N, C, D, H, W), got shape {tuple(input.shape)}")
    return conv_nd(input, weight, bias, stride, padding, dilation, groups, "conv3d")


def _transposed_geometry(input, weight, stride, padding, output_padding, dilation, groups, op):
    """(geometry, output shape) of a transposed convolution over ``input.ndim − 2`` axes."""
    dims = input.ndim - 2
    s, d = _ntuple(stride, dims, "stride", op), _ntuple(dilation, dims, "dilation", op)
    p = _ntuple(padding, dims, "padding", op, minimum=0)
    op_pad = _ntuple(output_padding, dims, "output_padding", op, minimum=0)
    if any(not a < max(si, di) for a, si, di in zip(op_pad, s, d)):
        raise ValueError(f"{op}: output_padding {op_pad} must be smaller than either stride {s} or dilation {d}")
    kernel = tuple(weight.shape[2:])
    out = tuple((n - 1) * si - 2 * pi + di * (k - 1) + a + 1
                for n, si, pi, di, k, a in zip(input.shape[2:], s, p, d, kernel, op_pad))
    if min(out) < 1:
        raise ValueError(f"{op}: input of spatial size {tuple(input.shape[2:])} gives an empty output {out}")
    geo = GeometryNd(kernel, s, d, tuple((pi, pi) for pi in p), tuple(input.shape[2:]), groups)
    return geo, (input.shape[0], weight.shape[1] * groups, *out)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """3-D transposed convolution, as ``torch.nn.functional.conv_transpose3d``: the adjoint of conv3d.

    Args as :func:`conv_transpose2d` with triples.  weight: (C_in, C_out/groups, k_d, k_h, k_w).

    Shape: input (N, C_in, D, H, W) -> output (N, C_out, D_out, H_out, W_out),
    D_out = (D − 1)·s − 2·p + d·(k − 1) + output_padding + 1 (H, W alike).

    Example:
        >>> F.conv_transpose3d(shendu.randn(1, 4, 3, 3, 3), shendu.randn(4, 2, 2, 2, 2), stride=2).shape
        (1, 2, 6, 6, 6)
    """
    op = "conv_transpose3d"
    _check(input, weight, bias, groups, 0, op, 5)
    geo, out_shape = _transposed_geometry(input, weight, stride, padding, output_padding, dilation, groups, op)
    tensors = (input, weight) if bias is None else (input, weight, bias)
    return ConvTransposeNd.apply(*tensors, geo=geo, out_shape=out_shape)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """1-D transposed convolution, as ``torch.nn.functional.conv_transpose1d``; computed as a
    conv_transpose2d of height 1.

    Shape: input (N, C_in, L), weight (C_in, C_out/groups, k) -> output (N, C_out, L_out),
    L_out = (L − 1)·s − 2·p + d·(k − 1) + output_padding + 1.

    Example:
        >>> F.conv_transpose1d(shendu.randn(2, 4, 10), shendu.randn(4, 3, 3), stride=2).shape
        (2, 3, 21)
    """
    op = "conv_transpose1d"
    _check(input, weight, bias, groups, 0, op, 3)
    (s,), (p,), (a,), (d,) = (_ntuple(v, 1, what, op, minimum)
                              for v, what, minimum in ((stride, "stride", 1), (padding, "padding", 0),
                                                       (output_padding, "output_padding", 0), (dilation, "dilation", 1)))
    n, c, length = input.shape
    y = conv_transpose2d(input.reshape(n, c, 1, length), weight.reshape(*weight.shape[:2], 1, weight.shape[2]), bias,
                         stride=(1, s), padding=(0, p), output_padding=(0, a), groups=groups, dilation=(1, d))
    return y.reshape(n, y.shape[1], y.shape[3])


__all__ = ["conv1d", "conv2d", "conv_transpose2d", "conv_output_size", "same_padding", "conv_padding",
           "conv_geometry", "im2col", "col2im", "MAX_COLUMN_BYTES", "MAX_KEPT_COLUMN_BYTES",
           # nn-funcs
           "conv3d", "conv_transpose1d", "conv_transpose3d", "conv_nd", "im2col_nd", "col2im_nd"]
