"""Pooling, local response normalisation, resampling and padding of NCHW feature maps.

* ``max_pool2d`` / ``avg_pool2d``: one strided view of the padded input per
  kernel tap (:func:`shendu.functional.conv.window_slices`), combined with
  ``maximum`` / ``+``: k_h·k_w vectorised passes, no Python loop over windows
  (measured several times faster than reducing a 6-D window view, and than the
  reshape trick for non-overlapping windows, in NumPy). Max pooling records in
  forward which tap won each window (a small integer per output), and backward
  sends each gradient to that first maximum of its window (PyTorch's choice on
  ties) with one compare and one multiply per tap.
* ``adaptive_avg_pool2d`` and bilinear ``interpolate`` are linear maps that act
  on rows and columns separately: y = M_h · x · M_wᵀ with small matrices, so
  forward and backward (dx = M_hᵀ · g · M_w) are matrix products.
  Nearest-neighbour ``interpolate`` is the same with 0/1 matrices (measured
  faster than index gathers, whose backward needs a scatter-add). A non-finite
  input value spreads along its row and column (0·∞ is NaN).
* ``local_response_norm`` is a fused op; ``pad2d`` pads with zeros,
  reflection, replication or wrap.
"""
from __future__ import annotations

import math
import numbers

from .. import backend
from ..autograd import Function
from ..backend import get_array_module
from ..ops import mean, pad
from ..parallel import parallel_for
from .conv import ConvGeometry, _pair, pad_input, window_slices


# ----------------------------------------------------------------- max / average pooling
def pool_output_size(size, kernel_size, stride, padding=0, dilation=1, ceil_mode=False):
    """PyTorch's pooled length: floor (or ceil) of (size + 2p − d·(k − 1) − 1) / s, plus 1.

    With ``ceil_mode`` the last window must start inside the input or the left
    padding; otherwise it is dropped.
    """
    span = size + 2 * padding - dilation * (kernel_size - 1) - 1
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def _pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode, op):
    if x.ndim != 4:
        raise ValueError(f"{op}: expected input of 4 dimensions (N, C, H, W), got shape {tuple(x.shape)}")
    kernel = _pair(kernel_size, "kernel_size", op)
    stride = kernel if stride is None or stride == () else _pair(stride, "stride", op)
    dilation = _pair(dilation, "dilation", op)
    pads = (padding, padding) if isinstance(padding, numbers.Integral) else tuple(padding)
    if len(pads) != 2 or any(not 0 <= p <= k // 2 for p, k in zip(pads, kernel)):
        raise ValueError(f"{op}: padding must be between 0 and half the kernel size {kernel}, got {padding!r}")
    out = [pool_output_size(n, k, s, p, d, ceil_mode) for n, k, s, p, d in zip(x.shape[2:], kernel, stride, pads, dilation)]
    fits = all(n + 2 * p >= d * (k - 1) + 1 for n, k, p, d in zip(x.shape[2:], kernel, pads, dilation))
    if min(out) < 1 or not fits:
        raise ValueError(f"{op}: input of spatial size {tuple(x.shape[2:])} is too small for kernel {kernel} "
                         f"(dilation {dilation}, padding {pads}); the output would be {out[0]}×{out[1]}")
    # Bottom/right padding reaches as far as the last window does (ceil_mode may need more than p).
    after = [max(p, (o - 1) * s + d * (k - 1) + 1 - n - p)
             for n, k, s, p, d, o in zip(x.shape[2:], kernel, stride, pads, dilation, out)]
    return ConvGeometry(*kernel, *stride, *dilation, pads[0], after[0], pads[1], after[1], *out, 1)


def _disjoint(geo):
    """True when no two windows overlap (stride ≥ dilated kernel), so backward may assign instead of add."""
    return geo.sh >= geo.dh * (geo.kh - 1) + 1 and geo.sw >= geo.dw * (geo.kw - 1) + 1


def _tiles(geo, padded_shape):
    """True when the windows cover every pixel of the padded input exactly once."""
    return (geo.kh == geo.sh and geo.kw == geo.sw and geo.dh == geo.dw == 1
            and geo.ho * geo.sh == padded_shape[2] and geo.wo * geo.sw == padded_shape[3])


def _scatter(tap_values, geo, padded_shape, dtype, xp):
    """dx_pad: for every tap t, add its values ``tap_values(t, start, stop, out)`` (images start:stop,
    (n, C, H_out, W_out)) at the pixels that tap read. Disjoint windows write them straight into dx
    (``out`` is dx's window; no temporary). Split over the batch across threads."""
    disjoint = _disjoint(geo)
    dx = (xp.empty if disjoint and _tiles(geo, padded_shape) else xp.zeros)(padded_shape, dtype=dtype)

    def scatter(start, stop):
        images = dx[start:stop]
        for tap, (_, _, window) in enumerate(window_slices(geo)):
            if disjoint:
                tap_values(tap, start, stop, images[window])
            else:
                images[window] += tap_values(tap, start, stop, None)

    parallel_for(padded_shape[0], scatter, math.prod(padded_shape), xp)
    return dx[:, :, geo.pt:padded_shape[2] - geo.pb, geo.pl:padded_shape[3] - geo.pr]


class MaxPool2d(Function):
    """y = max over each window;  dL/dx = g at the first maximum of each window, 0 elsewhere.

    Forward records the winning tap of each window (the first one strictly
    greater than all before it), so backward needs neither x nor y.
    """

    __slots__ = ("winner", "padded_shape", "geo")

    def forward(self, x, geo):
        xp = get_array_module(x)
        x_pad = pad_input(x, geo, value=-math.inf)
        y = xp.empty(x.shape[:2] + (geo.ho, geo.wo), dtype=x.dtype)
        winner = xp.zeros(y.shape, dtype=xp.min_scalar_type(geo.kh * geo.kw - 1))

        def pool(start, stop):
            best, won, images = y[start:stop], winner[start:stop], x_pad[start:stop]
            beats, values = xp.empty(best.shape, dtype=bool), xp.empty_like(best)
            for tap, (_, _, window) in enumerate(window_slices(geo)):
                if tap == 0:
                    xp.copyto(best, images[window])
                    continue
                # One strided read into a contiguous buffer: the two compares then run 3–5× faster.
                xp.copyto(values, images[window])
                xp.greater(values, best, out=beats)
                xp.maximum(best, values, out=best)
                xp.maximum(won, beats * won.dtype.type(tap), out=won)  # taps come in increasing order

        parallel_for(x.shape[0], pool, x_pad.size, xp)
        self.winner, self.padded_shape, self.geo = winner, x_pad.shape, geo
        return y

    def backward(self, g):
        xp = get_array_module(g)
        hit = xp.empty(g.shape, dtype=bool)

        def routed(tap, start, stop, out):
            won = xp.equal(self.winner[start:stop], tap, out=hit[start:stop])
            return xp.multiply(g[start:stop], won, out=out)

        return _scatter(routed, self.geo, self.padded_shape, g.dtype, xp)


class AvgPool2d(Function):
    """y = (Σ over each window) / divisor;  dL/dx = g / divisor added at every pixel of the window."""

    __slots__ = ("geo", "divisor", "padded_shape")

    def forward(self, x, geo, divisor):
        xp = get_array_module(x)
        x_pad = pad_input(x, geo)
        y = xp.empty(x.shape[:2] + (geo.ho, geo.wo), dtype=x.dtype)

        def pool(start, stop):
            total, images = y[start:stop], x_pad[start:stop]
            for tap, (_, _, window) in enumerate(window_slices(geo)):
                if tap == 0:
                    xp.copyto(total, images[window])
                else:
                    xp.add(total, images[window], out=total)
            total /= divisor

        parallel_for(x.shape[0], pool, x_pad.size, xp)
        self.geo, self.divisor, self.padded_shape = geo, divisor, x_pad.shape
        return y

    def backward(self, g):
        xp = get_array_module(g)
        share = g / self.divisor

        def spread(tap, start, stop, out):
            return share[start:stop] if out is None else xp.copyto(out, share[start:stop])

        return _scatter(spread, self.geo, self.padded_shape, g.dtype, xp)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """2-D max pooling, as ``torch.nn.functional.max_pool2d``.

        y[n, c, i, j] = max_{p,q} x_pad[n, c, i·s_h + p·d_h, j·s_w + q·d_w]   (padding is −∞)

    Args:
        input: (N, C, H, W) floating.
        kernel_size: int or (k_h, k_w).  stride: default ``kernel_size``.
        padding: implicit −∞ on each side, at most half the kernel.  dilation: spacing of the taps.
        ceil_mode: round the output size up (the last window must still start
            inside the input or the left padding).

    Shape: input (N, C, H, W) -> output (N, C, H_out, W_out),
    H_out = floor((H + 2p − d·(k − 1) − 1) / s) + 1 (ceil with ``ceil_mode``).

    The gradient of each output goes to the first maximum of its window
    (row-major order), as in PyTorch.

    Example:
        >>> F.max_pool2d(shendu.randn(1, 1, 4, 4), 2).shape
        (1, 1, 2, 2)
    """
    geo = _pool_geometry(input, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    if input.dtype.kind != "f":
        raise TypeError(f"max_pool2d: expected a floating input, got dtype {input.dtype}")
    return MaxPool2d.apply(input, geo=geo)


def _window_counts(size, out, k, s, p, count_include_pad):
    """How many pixels each window along one axis averages (PyTorch's pool_size rule)."""
    xp = backend.xp
    start = xp.arange(out) * s - p
    end = xp.minimum(start + k, size + p)  # windows never count beyond the right padding
    if not count_include_pad:
        start, end = xp.maximum(start, 0), xp.minimum(end, size)
    return xp.maximum(end - start, 1)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """2-D average pooling, as ``torch.nn.functional.avg_pool2d``.

        y[n, c, i, j] = Σ_{p,q} x_pad[n, c, i·s_h + p, j·s_w + q] / divisor[i, j]   (padding is 0)

    divisor = k_h·k_w, except that windows cut by the right/bottom edge in
    ``ceil_mode`` count only the pixels inside the padded input, and with
    ``count_include_pad=False`` only the pixels inside the input are counted;
    ``divisor_override`` replaces it.

    Shape: input (N, C, H, W) -> output (N, C, H_out, W_out), H_out as in :func:`max_pool2d`.

    Example:
        >>> F.avg_pool2d(shendu.ones(1, 1, 4, 4), 2, padding=1, count_include_pad=False)[0, 0, 0, 0].item()
        1.0
    """
    geo = _pool_geometry(input, kernel_size, stride, padding, 1, ceil_mode, "avg_pool2d")
    xp = get_array_module(input.data)
    if divisor_override:
        divisor = float(divisor_override)
    else:
        rows = _window_counts(input.shape[2], geo.ho, geo.kh, geo.sh, geo.pt, count_include_pad)
        cols = _window_counts(input.shape[3], geo.wo, geo.kw, geo.sw, geo.pl, count_include_pad)
        divisor = xp.asarray(backend.xp.outer(rows, cols), dtype=input.dtype)
    return AvgPool2d.apply(input, geo=geo, divisor=divisor)


# ----------------------------------------------------------------- separable linear maps
class Resample2d(Function):
    """y = M_h · x · M_wᵀ on the last two axes (each output pixel a weighted sum of input pixels,
    separable in rows and columns);  dL/dx = M_hᵀ · g · M_w."""

    __slots__ = ("m_h", "m_w", "shape")

    def forward(self, x, m_h, m_w):
        self.m_h, self.m_w, self.shape = m_h, m_w, x.shape
        n, c, h, w = x.shape
        rows = backend.matmul(x.reshape(-1, w), m_w.T).reshape(n * c, h, -1)  # resample every row
        return backend.matmul(m_h, rows).reshape(n, c, m_h.shape[0], m_w.shape[0])  # then every column

    def backward(self, g):
        n, c, h, w = self.shape
        rows = backend.matmul(g.reshape(-1, g.shape[3]), self.m_w).reshape(n * c, g.shape[2], w)
        return backend.matmul(self.m_h.T, rows).reshape(n, c, h, w)


def _adaptive_matrix(size, out, dtype):
    """(out, size) averaging matrix: row i averages pixels floor(i·size/out) .. ceil((i+1)·size/out) − 1."""
    xp = backend.xp
    i = xp.arange(out)
    start, end = (i * size) // out, -((-(i + 1) * size) // out)
    j = xp.arange(size)
    inside = (j >= start[:, None]) & (j < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _size_pair(value, in_size, op, what):
    pair = (value, value) if isinstance(value, numbers.Integral) or value is None else tuple(value)
    if len(pair) != 2:
        raise ValueError(f"{op}: {what} must be an int or a pair, got {value!r}")
    return tuple(int(n) if n is not None else m for n, m in zip(pair, in_size))


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed output size, as ``torch.nn.functional.adaptive_avg_pool2d``.

    Output row i averages input rows floor(i·H/H_out) .. ceil((i+1)·H/H_out) − 1
    (columns alike), so windows may differ in size and overlap.

    Args:
        input: (N, C, H, W).
        output_size: int or (H_out, W_out); None in a pair keeps that input size.

    Shape: input (N, C, H, W) -> output (N, C, H_out, W_out).

    Example:
        >>> F.adaptive_avg_pool2d(shendu.randn(2, 8, 7, 5), (3, 2)).shape
        (2, 8, 3, 2)
    """
    if input.ndim != 4:
        raise ValueError(f"adaptive_avg_pool2d: expected input (N, C, H, W), got shape {tuple(input.shape)}")
    h, w = input.shape[2:]
    ho, wo = _size_pair(output_size, (h, w), "adaptive_avg_pool2d", "output_size")
    if ho < 1 or wo < 1:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be positive, got {output_size!r}")
    if (ho, wo) == (h, w):
        return input
    if (ho, wo) == (1, 1):
        return mean(input, axis=(2, 3), keepdims=True)
    xp = get_array_module(input.data)
    m_h = xp.asarray(_adaptive_matrix(h, ho, input.dtype))
    m_w = xp.asarray(_adaptive_matrix(w, wo, input.dtype))
    return Resample2d.apply(input, m_h=m_h, m_w=m_w)


def global_avg_pool2d(input, keepdims=False):
    """Mean over the spatial axes: (N, C, H, W) -> (N, C) (Keras's GlobalAveragePooling2D),
    or (N, C, 1, 1) with ``keepdims=True`` (= ``adaptive_avg_pool2d(x, 1)``)."""
    if input.ndim != 4:
        raise ValueError(f"global_avg_pool2d: expected input (N, C, H, W), got shape {tuple(input.shape)}")
    return mean(input, axis=(2, 3), keepdims=keepdims)


def _source_scale(in_size, out_size, scale_factor, align_corners):
    """PyTorch's area_pixel_compute_scale: the source step per output pixel."""
    if align_corners:
        return (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
    return 1.0 / scale_factor if scale_factor else in_size / out_size


def _bilinear_matrix(in_size, out_size, scale_factor, align_corners, dtype):
    """(out, in) matrix of linear interpolation weights (two non-zeros per row)."""
    xp = backend.xp
    o = xp.arange(out_size, dtype=xp.float64)
    scale = _source_scale(in_size, out_size, scale_factor, align_corners)
    if align_corners:
        src = o * scale
    elif in_size == out_size:
        src = o
    else:
        src = xp.maximum((o + 0.5) * scale - 0.5, 0.0)
    lo = src.astype(xp.int64)
    hi = xp.minimum(lo + 1, in_size - 1)
    frac = xp.clip(src - lo, 0.0, 1.0)
    m = xp.zeros((out_size, in_size))
    rows = xp.arange(out_size)
    m[rows, lo] += 1.0 - frac
    m[rows, hi] += frac
    return m.astype(dtype)


def _nearest_index(in_size, out_size, scale_factor, exact):
    """Source index of every output pixel: floor(o·scale) (``exact``: floor((o + ½)·scale)), with
    PyTorch's float32 rounding of the scale and the product (so the indices match it exactly)."""
    xp = backend.xp
    if in_size == out_size:
        return xp.arange(out_size)
    f32 = xp.float32
    scale = f32(1.0 / scale_factor) if scale_factor else f32(in_size) / f32(out_size)
    o = xp.arange(out_size)
    src = ((o + 0.5) * xp.float64(scale)).astype(f32) if exact else o.astype(f32) * scale
    return xp.minimum(xp.floor(src).astype(xp.int64), in_size - 1)


def _selection_matrix(index, in_size, dtype):
    """(out, in) 0/1 matrix that copies input pixel index[o] to output pixel o."""
    xp = backend.xp
    m = xp.zeros((len(index), in_size), dtype=dtype)
    m[xp.arange(len(index)), index] = 1
    return m


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None):
    """Resize the spatial axes of (N, C, H, W), as ``torch.nn.functional.interpolate``.

    Args:
        size: (H_out, W_out) or an int; or give ``scale_factor`` (float or pair),
            H_out = floor(H · scale_factor).
        mode: ``'nearest'`` (source floor(o · H/H_out)), ``'nearest-exact'``
            (floor((o + ½) · H/H_out)) or ``'bilinear'`` (linear in each axis).
        align_corners: bilinear only. True: corner pixels of input and output
            align, source = o · (H − 1)/(H_out − 1). False (default): pixel
            areas align, source = (o + ½) · H/H_out − ½, clamped at 0.
        recompute_scale_factor: True uses H/H_out instead of 1/scale_factor for the source positions.

    Shape: input (N, C, H, W) -> output (N, C, H_out, W_out).

    Example:
        >>> F.interpolate(shendu.randn(1, 3, 4, 4), scale_factor=2, mode="bilinear").shape
        (1, 3, 8, 8)
    """
    op = "interpolate"
    if input.ndim != 4:
        raise ValueError(f"{op}: expected input (N, C, H, W), got shape {tuple(input.shape)}")
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: give exactly one of size and scale_factor, got size={size!r}, "
                         f"scale_factor={scale_factor!r}")
    h, w = input.shape[2:]
    if size is not None:
        out, scales = _size_pair(size, (h, w), op, "size"), (None, None)
    else:
        scales = (scale_factor, scale_factor) if isinstance(scale_factor, numbers.Real) else tuple(scale_factor)
        out = tuple(int(math.floor(n * s)) for n, s in zip((h, w), scales))
        if recompute_scale_factor:
            scales = (None, None)
    if min(out) < 1:
        raise ValueError(f"{op}: output size {out} from input {(h, w)} is empty")
    if mode in ("nearest", "nearest-exact"):
        if align_corners is not None:
            raise ValueError(f"{op}: align_corners only applies to mode='bilinear', got mode={mode!r}")
        matrices = (_selection_matrix(_nearest_index(n, o, s, mode == "nearest-exact"), n, input.dtype)
                    for n, o, s in zip((h, w), out, scales))
    elif mode == "bilinear":
        matrices = (_bilinear_matrix(n, o, s, bool(align_corners), input.dtype) for n, o, s in zip((h, w), out, scales))
    else:
        raise ValueError(f"{op}: mode must be 'nearest', 'nearest-exact' or 'bilinear', got {mode!r}")
    xp = get_array_module(input.data)
    m_h, m_w = (xp.asarray(m) for m in matrices)
    return Resample2d.apply(input, m_h=m_h, m_w=m_w)


upsample = interpolate


# ----------------------------------------------------------------- local response normalisation
def _channel_window_sum(a, before, after):
    """s[:, c] = Σ a[:, c − before .. c + after] (zeros beyond the channel range)."""
    xp = get_array_module(a)
    c = a.shape[1]
    padded = xp.zeros((a.shape[0], c + before + after) + a.shape[2:], dtype=a.dtype)
    padded[:, before:before + c] = a
    s = padded[:, :c].copy()
    for j in range(1, before + after + 1):
        s += padded[:, j:j + c]
    return s


class LocalResponseNorm(Function):
    """y_c = x_c · d_c^(−β),  d_c = k + (α/n) Σ_{c' ∈ W(c)} x_{c'}²,  W(c) = c − ⌊n/2⌋ .. c + ⌊(n−1)/2⌋;

    dL/dx_j = g_j d_j^(−β) − (2αβ/n) x_j Σ_{c: j ∈ W(c)} g_c x_c d_c^(−β−1).
    """

    __slots__ = ("x", "d", "scale", "size", "alpha", "beta")

    def forward(self, x, size, alpha, beta, k):
        d = k + (alpha / size) * _channel_window_sum(x * x, size // 2, (size - 1) // 2)
        scale = d ** -beta
        self.x, self.d, self.scale, self.size, self.alpha, self.beta = x, d, scale, size, alpha, beta
        return x * scale

    def backward(self, g):
        n = self.size
        t = g * self.x * self.scale / self.d  # g_c x_c d_c^(−β−1)
        # The windows containing channel j are the channels j − ⌊(n−1)/2⌋ .. j + ⌊n/2⌋: the mirror window.
        back = _channel_window_sum(t, (n - 1) // 2, n // 2)
        return g * self.scale - (2 * self.alpha * self.beta / n) * self.x * back


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """Local response normalisation across channels (AlexNet, Krizhevsky et al. 2012), PyTorch's semantics.

        y[n, c] = x[n, c] / (k + α/size · Σ_{c'=c−⌊size/2⌋}^{c+⌊(size−1)/2⌋} x[n, c']²)^β

    (channels outside 0..C−1 count as 0; PyTorch divides α by ``size`` as here,
    AlexNet's paper writes α without it.)

    Shape: input (N, C, *) -> output of the same shape.
    """
    if input.ndim < 3:
        raise ValueError(f"local_response_norm: expected input (N, C, *) of 3 or more dimensions, "
                         f"got shape {tuple(input.shape)}")
    if not isinstance(size, numbers.Integral) or size < 1:
        raise ValueError(f"local_response_norm: size must be a positive int, got {size!r}")
    return LocalResponseNorm.apply(input, size=int(size), alpha=float(alpha), beta=float(beta), k=float(k))


# ----------------------------------------------------------------- padding, joining
def _pad4(padding, op):
    pads = (padding,) * 4 if isinstance(padding, numbers.Integral) else tuple(padding)
    if len(pads) != 4 or not all(isinstance(p, numbers.Integral) and p >= 0 for p in pads):
        raise ValueError(f"{op}: padding must be a non-negative int or (left, right, top, bottom), got {padding!r}")
    return pads


def pad2d(input, padding, mode="constant", value=0.0):
    """Pad the last two axes; ``padding`` = int or (left, right, top, bottom) (PyTorch's order).

    :func:`shendu.pad` (``F.pad``) with four amounts: modes ``'constant'``
    (``value``), ``'reflect'``, ``'replicate'``, ``'circular'``.

    Shape: (*, H, W) -> (*, H + top + bottom, W + left + right).
    """
    return pad(input, _pad4(padding, "pad2d"), mode=mode, value=value if mode == "constant" else None)


def zero_pad2d(input, padding):
    """Zeros around the last two axes; ``padding`` = int or (left, right, top, bottom)."""
    return pad2d(input, padding)


__all__ = ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "global_avg_pool2d", "interpolate", "upsample",
           "local_response_norm", "pad2d", "zero_pad2d", "pool_output_size"]
