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
from ..tensor import Tensor
from .conv import ConvGeometry, pad_input, pair, window_slices


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
    kernel = pair(kernel_size, "kernel_size", op)
    stride = kernel if stride is None or stride == () else pair(stride, "stride", op)
    dilation = pair(dilation, "dilation", op)
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

    __slots__ = ("winner", "padded_shape", "geo", "kernels", "x")

    def forward(self, x, geo, winners=None):
        self.geo, self.kernels = geo, backend.fast_kernels() if winners is None else None
        out = None if self.kernels is None else self.kernels.pool2d_forward(x, geo, "max")
        if out is not None:  # oneDNN's workspace (its record of the winning taps) stands for the winners
            self.x, (y, self.winner) = x, out
            return y
        self.kernels = None
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
        if winners is not None:  # return_indices: the caller turns the winning taps into indices
            winners.append(winner)
        return y

    def backward(self, g):
        if self.kernels is not None:
            dx = self.kernels.pool2d_backward(g, self.geo, "max", self.x.shape, self.winner)
            if dx is not None:
                return dx
            self.forward(self.x, self.geo, winners=[])  # NumPy's winners, to route g by
        xp = get_array_module(g)
        hit = xp.empty(g.shape, dtype=bool)

        def routed(tap, start, stop, out):
            won = xp.equal(self.winner[start:stop], tap, out=hit[start:stop])
            return xp.multiply(g[start:stop], won, out=out)

        return _scatter(routed, self.geo, self.padded_shape, g.dtype, xp)


class AvgPool2d(Function):
    """y = (Σ over each window) / divisor;  dL/dx = g / divisor added at every pixel of the window."""

    __slots__ = ("geo", "divisor", "padded_shape", "kernels", "algorithm", "x_shape")

    def forward(self, x, geo, divisor, algorithm=None):
        """``algorithm``: how a kernel library names this divisor ('avg_include_pad': k_h·k_w,
        'avg_exclude_pad': the pixels inside the input), None when only the NumPy code computes it."""
        self.geo, self.divisor, self.algorithm, self.x_shape = geo, divisor, algorithm, x.shape
        self.kernels = None if algorithm is None else backend.fast_kernels()
        out = None if self.kernels is None else self.kernels.pool2d_forward(x, geo, algorithm)
        if out is not None:
            self.padded_shape = None
            return out[0]
        self.kernels = None
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
        if self.kernels is not None:
            dx = self.kernels.pool2d_backward(g, self.geo, self.algorithm, self.x_shape, None)
            if dx is not None:
                return dx
        xp = get_array_module(g)
        if self.padded_shape is None:
            self.padded_shape = (*self.x_shape[:2], self.x_shape[2] + self.geo.pt + self.geo.pb,
                                 self.x_shape[3] + self.geo.pl + self.geo.pr)
        share = g / self.divisor

        def spread(tap, start, stop, out):
            return share[start:stop] if out is None else xp.copyto(out, share[start:stop])

        return _scatter(spread, self.geo, self.padded_shape, g.dtype, xp)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
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
    (row-major order), as in PyTorch. With ``return_indices`` it also returns
    where each maximum is, as the flat index h·W + w in its (H, W) plane (int64,
    PyTorch's convention, for :func:`max_unpool2d`).

    Example:
        >>> F.max_pool2d(shendu.randn(1, 1, 4, 4), 2).shape
        (1, 1, 2, 2)
    """
    geo = _pool_geometry(input, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    if input.dtype.kind != "f":
        raise TypeError(f"max_pool2d: expected a floating input, got dtype {input.dtype}")
    if not return_indices:
        return MaxPool2d.apply(input, geo=geo)
    winners = []
    y = MaxPool2d.apply(input, geo=geo, winners=winners)
    return y, Tensor._wrap(_winner_indices(winners[0], geo, input.shape[3]), False, None)


def _winner_indices(winner, geo, width):
    """The flat in-plane index (h·W + w) of each window's winning tap."""
    xp = get_array_module(winner)
    tap = winner.astype(xp.int64)
    rows = xp.arange(geo.ho).reshape(-1, 1) * geo.sh + (tap // geo.kw) * geo.dh - geo.pt
    cols = xp.arange(geo.wo) * geo.sw + (tap % geo.kw) * geo.dw - geo.pl
    return rows * width + cols


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
    # a kernel library's two divisors: k_h·k_w (when no window reaches past the padding) or the pixels inside
    within = geo.pb == geo.pt and geo.pr == geo.pl
    algorithm = None if divisor_override else (
        "avg_exclude_pad" if not count_include_pad else "avg_include_pad" if within else None)
    return AvgPool2d.apply(input, geo=geo, divisor=divisor, algorithm=algorithm)


# ----------------------------------------------------------------- nn-funcs: 1-D and 3-D pooling, unpooling
def _unbatched(input, dims, op, fn):
    """Apply ``fn`` to a batch; an unbatched input (C, *spatial) goes through as a batch of one."""
    if input.ndim == dims + 1:
        out = fn(input.reshape((1,) + tuple(input.shape)))
        return tuple(t.reshape(t.shape[1:]) for t in out) if isinstance(out, tuple) else out.reshape(out.shape[1:])
    if input.ndim != dims + 2:
        layout = {1: "(N, C, L)", 3: "(N, C, D, H, W)"}[dims]
        raise ValueError(f"{op}: expected input {layout} (or without N), got shape {tuple(input.shape)}")
    return fn(input)


def _rows(input):
    """(N, C, L) seen as images of one row, (N, C, 1, L)."""
    return input.reshape(input.shape[0], input.shape[1], 1, input.shape[2])


def _one(value, what, op, minimum=1):
    single = value if isinstance(value, numbers.Integral) else tuple(value)
    if isinstance(single, tuple):
        if len(single) != 1:
            raise ValueError(f"{op}: {what} must be an int or a 1-tuple, got {value!r}")
        single = single[0]
    if not isinstance(single, numbers.Integral) or single < minimum:
        raise ValueError(f"{op}: {what} must be an int ≥ {minimum}, got {value!r}")
    return int(single)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """1-D max pooling, as ``torch.nn.functional.max_pool1d``: y[n, c, t] = max_p x_pad[n, c, t·s + p·d]
    (padding −∞); computed as a max_pool2d of height 1 (indices: positions along L).

    Shape: input (N, C, L) or (C, L) -> (N, C, L_out), L_out = floor((L + 2p − d·(k − 1) − 1) / s) + 1
    (ceil with ``ceil_mode``).

    Example:
        >>> F.max_pool1d(shendu.randn(2, 3, 10), 2).shape
        (2, 3, 5)
    """
    op = "max_pool1d"
    k = _one(kernel_size, "kernel_size", op)
    s = k if stride is None or stride == () else _one(stride, "stride", op)
    p, d = _one(padding, "padding", op, 0), _one(dilation, "dilation", op)

    def pool(x):
        out = max_pool2d(_rows(x), (1, k), (1, s), (0, p), (1, d), ceil_mode, return_indices)
        return tuple(t.reshape(t.shape[0], t.shape[1], t.shape[3]) for t in out) if return_indices \
            else out.reshape(out.shape[0], out.shape[1], out.shape[3])
    return _unbatched(input, 1, op, pool)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """1-D average pooling, as ``torch.nn.functional.avg_pool1d``: y[n, c, t] = Σ_p x_pad[n, c, t·s + p] / divisor
    (divisor as :func:`avg_pool2d`); computed as an avg_pool2d of height 1.

    Shape: input (N, C, L) or (C, L) -> (N, C, L_out), L_out as :func:`max_pool1d`.
    """
    op = "avg_pool1d"
    k = _one(kernel_size, "kernel_size", op)
    s = k if stride is None or stride == () else _one(stride, "stride", op)
    p = _one(padding, "padding", op, 0)

    def pool(x):
        out = avg_pool2d(_rows(x), (1, k), (1, s), (0, p), ceil_mode, count_include_pad)
        return out.reshape(out.shape[0], out.shape[1], out.shape[3])
    return _unbatched(input, 1, op, pool)


def _triple(value, what, op, minimum=1):
    out = (value,) * 3 if isinstance(value, numbers.Integral) else tuple(value)
    if len(out) != 3 or not all(isinstance(v, numbers.Integral) and v >= minimum for v in out):
        raise ValueError(f"{op}: {what} must be an int ≥ {minimum} or 3 of them, got {value!r}")
    return tuple(int(v) for v in out)


def _pool3d_args(kernel_size, stride, padding, dilation, op):
    k = _triple(kernel_size, "kernel_size", op)
    s = k if stride is None or stride == () else _triple(stride, "stride", op)
    p, d = _triple(padding, "padding", op, 0), _triple(dilation, "dilation", op)
    if any(pi > ki // 2 for pi, ki in zip(p, k)):
        raise ValueError(f"{op}: padding must be between 0 and half the kernel size {k}, got {padding!r}")
    return k, s, p, d


def _separable_3d(x, plane_pool, depth_pool):
    """A 3-D box pooling as a pooling of every (H, W) plane, then of every column along D:
    both max and average over a box factor that way (the average's divisor is a product too)."""
    n, c, depth, h, w = x.shape
    planes = plane_pool(x.reshape(n, c * depth, h, w))
    ho, wo = planes.shape[2:]
    columns = depth_pool(planes.reshape(n, c, depth, ho * wo))
    return columns.reshape(n, c, columns.shape[2], ho, wo)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """3-D max pooling, as ``torch.nn.functional.max_pool3d``:
    y[n, c, i, j, l] = max_{p,q,r} x_pad[n, c, i·s_d + p·d_d, j·s_h + q·d_h, l·s_w + r·d_w] (padding −∞).

    The max over a box is the max over depth of the max over each (H, W) window, so it is two
    max_pool2d passes; the gradient still goes to the first maximum in (d, h, w) order, as PyTorch's.

    Shape: input (N, C, D, H, W) or (C, D, H, W) -> (N, C, D_out, H_out, W_out), sizes as :func:`max_pool2d`.

    Example:
        >>> F.max_pool3d(shendu.randn(1, 2, 4, 6, 6), 2).shape
        (1, 2, 2, 3, 3)
    """
    op = "max_pool3d"
    if return_indices:
        raise NotImplementedError(f"{op}: return_indices=True is not supported; max_pool2d has it")
    (kd, kh, kw), (sd, sh, sw), (pd, ph, pw), (dd, dh, dw) = _pool3d_args(kernel_size, stride, padding, dilation, op)
    return _unbatched(input, 3, op, lambda x: _separable_3d(
        x, lambda t: max_pool2d(t, (kh, kw), (sh, sw), (ph, pw), (dh, dw), ceil_mode),
        lambda t: max_pool2d(t, (kd, 1), (sd, 1), (pd, 0), (dd, 1), ceil_mode)))


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """3-D average pooling, as ``torch.nn.functional.avg_pool3d``: the sum over each k_d×k_h×k_w box
    divided by its size (the rules of :func:`avg_pool2d`, per axis), or by ``divisor_override``.

    Computed as an average over each (H, W) window, then over depth (sum, then divide, with
    ``divisor_override``).

    Shape: input (N, C, D, H, W) or (C, D, H, W) -> (N, C, D_out, H_out, W_out).
    """
    op = "avg_pool3d"
    (kd, kh, kw), (sd, sh, sw), (pd, ph, pw), _ = _pool3d_args(kernel_size, stride, padding, 1, op)
    first, then = (1, divisor_override) if divisor_override else (None, None)
    return _unbatched(input, 3, op, lambda x: _separable_3d(
        x, lambda t: avg_pool2d(t, (kh, kw), (sh, sw), (ph, pw), ceil_mode, count_include_pad, first),
        lambda t: avg_pool2d(t, (kd, 1), (sd, 1), (pd, 0), ceil_mode, count_include_pad, then)))


class MaxUnpool(Function):
    """y (N, C, P_out) = 0 except y[n, c, index] = x[n, c, i] (the inverse placement of max pooling);
    dL/dx[n, c, i] = g[n, c, index[n, c, i]]."""

    __slots__ = ("index", "shape")

    def forward(self, x, index, out_size):
        xp = get_array_module(x)
        n, c = x.shape[:2]
        self.index, self.shape = index.reshape(n, c, -1), x.shape
        y = xp.zeros((n, c, out_size), dtype=x.dtype)
        xp.put_along_axis(y, self.index, x.reshape(n, c, -1), axis=2)
        return y

    def backward(self, g):
        xp = get_array_module(g)
        return xp.take_along_axis(g, self.index, axis=2).reshape(self.shape)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of :func:`max_pool2d`, as ``torch.nn.functional.max_unpool2d``: every value
    goes back to the position its index names (flat h·W_out + w in its plane), zeros elsewhere.

    Args:
        input: the pooled (N, C, H, W).  indices: from ``max_pool2d(..., return_indices=True)``
            (or PyTorch's), same shape.
        kernel_size, stride, padding: those of the pooling (stride defaults to kernel_size).
        output_size: (H_out, W_out) (a longer size's last two entries are taken); default
            H_out = (H − 1)·s − 2p + k (W alike).

    Shape: (N, C, H, W) or (C, H, W) -> (N, C, H_out, W_out).

    Example:
        >>> y, i = F.max_pool2d(shendu.randn(1, 1, 4, 4), 2, return_indices=True)
        >>> F.max_unpool2d(y, i, 2).shape
        (1, 1, 4, 4)
    """
    op = "max_unpool2d"
    if input.ndim not in (3, 4) or tuple(indices.shape) != tuple(input.shape):
        raise ValueError(f"{op}: expected input (N, C, H, W) and indices of the same shape, got "
                         f"{tuple(input.shape)} and {tuple(indices.shape)}")
    if indices.dtype.kind not in "iu":
        raise TypeError(f"{op}: expected integer indices, got dtype {indices.dtype}")
    k = pair(kernel_size, "kernel_size", op)
    s = k if stride is None or stride == () else pair(stride, "stride", op)
    p = (padding, padding) if isinstance(padding, numbers.Integral) else tuple(padding)
    if output_size is None:
        out = tuple((n - 1) * si - 2 * pi + ki for n, si, pi, ki in zip(input.shape[-2:], s, p, k))
    else:
        out = tuple(int(v) for v in tuple(output_size)[-2:])
    if min(out) < 1:
        raise ValueError(f"{op}: output size {out} is empty")
    plane = out[0] * out[1]
    index = indices.data
    if index.size and (int(index.min()) < 0 or int(index.max()) >= plane):
        bad = int(index.min()) if index.min() < 0 else int(index.max())
        raise ValueError(f"{op}: found an invalid max index {bad} for an output of size {out} "
                         f"({plane} positions per plane)")
    batched = input if input.ndim == 4 else input.reshape((1,) + tuple(input.shape))
    y = MaxUnpool.apply(batched, index=index.reshape(batched.shape), out_size=plane)
    return y.reshape(tuple(input.shape[:-2]) + out)


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


class ResampleAxis(Function):
    """y = M · x along one axis (x seen as (pre, n, post), y as (pre, m, post));  dL/dx = Mᵀ · g."""

    __slots__ = ("m", "shape", "axis")

    def forward(self, x, m, axis):
        self.m, self.shape, self.axis = m, x.shape, axis
        pre, post = math.prod(x.shape[:axis]), math.prod(x.shape[axis + 1:])
        y = backend.matmul(m, x.reshape(pre, x.shape[axis], post))
        return y.reshape(x.shape[:axis] + (m.shape[0],) + x.shape[axis + 1:])

    def backward(self, g):
        pre, post = math.prod(g.shape[:self.axis]), math.prod(g.shape[self.axis + 1:])
        return backend.matmul(self.m.T, g.reshape(pre, g.shape[self.axis], post)).reshape(self.shape)


def _cubic_matrix(in_size, out_size, scale_factor, align_corners, dtype, a=-0.75):
    """(out, in) matrix of bicubic weights (Keys' cubic convolution, a = −0.75 as PyTorch): four taps
    around the source position, indices clamped to the input (so border taps add up)."""
    xp = backend.xp
    o = xp.arange(out_size, dtype=xp.float64)
    scale = _source_scale(in_size, out_size, scale_factor, align_corners)
    src = o * scale if align_corners else (o + 0.5) * scale - 0.5  # not clamped at 0 for cubic
    base = xp.floor(src)
    t = src - base

    def near(d):  # |d| ≤ 1
        return ((a + 2) * d - (a + 3)) * d * d + 1

    def far(d):  # 1 < |d| < 2
        return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a

    m = xp.zeros((out_size, in_size))
    rows = xp.arange(out_size)
    for k, w in enumerate((far(t + 1), near(t), near(1 - t), far(2 - t))):
        cols = xp.clip(base.astype(xp.int64) - 1 + k, 0, in_size - 1)
        xp.add.at(m, (rows, cols), w)
    return m.astype(dtype)


def _fixed_point_resample(x, matrices):
    """uint8 images resampled as PyTorch does on the CPU: per axis with a changed size (last axis
    first), weights rounded to int16 with the most precision bits that fit, integer sums rounded
    and clipped to 0..255 between the passes (Pillow's scheme; verified equal to torch 2.x)."""
    xp = get_array_module(x)
    y = x
    for axis in reversed(range(len(matrices))):
        m = matrices[axis]
        if m is None:
            continue
        bits = 0
        while m.max() * (1 << (bits + 1)) < (1 << 15) and bits < 22:
            bits += 1
        scaled = m * (1 << bits)
        q = xp.where(scaled < 0, xp.trunc(scaled - 0.5), xp.trunc(scaled + 0.5)).astype(xp.int64)
        summed = xp.moveaxis(xp.tensordot(y.astype(xp.int64), q, axes=([axis + 2], [1])), -1, axis + 2)
        y = xp.clip((summed + (1 << (bits - 1))) >> bits, 0, 255).astype(xp.uint8)
    return y


_INTERPOLATE_MODES = {1: ("nearest", "nearest-exact", "linear"), 2: ("nearest", "nearest-exact", "bilinear", "bicubic"),
                      3: ("nearest", "nearest-exact", "trilinear")}


def _interpolation_matrix(mode, in_size, out_size, scale, align_corners, dtype):
    if mode in ("nearest", "nearest-exact"):
        return _selection_matrix(_nearest_index(in_size, out_size, scale, mode == "nearest-exact"), in_size, dtype)
    if mode == "bicubic":
        return _cubic_matrix(in_size, out_size, scale, align_corners, dtype)
    return _bilinear_matrix(in_size, out_size, scale, align_corners, dtype)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial axes of (N, C, L), (N, C, H, W) or (N, C, D, H, W), as ``torch.nn.functional.interpolate``.

    Every mode is separable: each spatial axis is resampled by a small (out, in) matrix
    (y = M · x along that axis), so forward and backward (Mᵀ · g) are matrix products.

    Args:
        size: the output's spatial size (an int for every axis, or one per axis); or give
            ``scale_factor`` (float or one per axis), out = floor(in · scale_factor).
        mode: ``'nearest'`` (source floor(o · in/out)), ``'nearest-exact'`` (floor((o + ½) · in/out)),
            ``'linear'`` (1-D), ``'bilinear'`` (2-D), ``'trilinear'`` (3-D): linear in each axis;
            ``'bicubic'`` (2-D): Keys' cubic convolution with a = −0.75 over four taps, borders clamped.
        align_corners: linear and cubic modes only. True: corner pixels of input and output
            align, source = o · (in − 1)/(out − 1). False (default): pixel areas align,
            source = (o + ½) · in/out − ½ (clamped at 0 for the linear modes).
        recompute_scale_factor: True uses in/out instead of 1/scale_factor for the source positions.
        antialias: only False (PyTorch's default) is supported.

    Integer inputs: ``uint8`` 2-D images give ``uint8`` results as PyTorch computes them
    (bilinear/bicubic weights in floating point, rounded to fixed point, rounded sums clipped
    to 0..255); nearest modes copy values; other integer dtypes are refused, as in PyTorch.

    Shape: input (N, C, *in) -> output (N, C, *out).

    Example:
        >>> F.interpolate(shendu.randn(1, 3, 4, 4), scale_factor=2, mode="bilinear").shape
        (1, 3, 8, 8)
        >>> F.interpolate(shendu.randn(2, 4, 10), size=15, mode="linear").shape
        (2, 4, 15)
    """
    op = "interpolate"
    dims = input.ndim - 2
    if dims not in _INTERPOLATE_MODES:
        raise ValueError(f"{op}: expected input (N, C, L), (N, C, H, W) or (N, C, D, H, W), "
                         f"got shape {tuple(input.shape)}")
    if mode not in _INTERPOLATE_MODES[dims]:
        raise ValueError(f"{op}: mode {mode!r} does not apply to {input.ndim}-D input of shape {tuple(input.shape)}; "
                         f"modes for it: {', '.join(_INTERPOLATE_MODES[dims])}")
    if antialias:
        raise NotImplementedError(f"{op}: antialias=True is not supported; resize in steps of at most 2×, "
                                  f"or average-pool first (F.avg_pool2d / F.adaptive_avg_pool2d)")
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: give exactly one of size and scale_factor, got size={size!r}, "
                         f"scale_factor={scale_factor!r}")
    if align_corners is not None and mode.startswith("nearest"):
        raise ValueError(f"{op}: align_corners only applies to the linear and cubic modes, got mode={mode!r}")
    in_size = tuple(input.shape[2:])
    if size is not None:
        sizes = (size,) * dims if isinstance(size, numbers.Integral) else tuple(size)
        if len(sizes) != dims:
            raise ValueError(f"{op}: size needs {dims} entries for input of shape {tuple(input.shape)}, got {size!r}")
        out, scales = tuple(int(n) for n in sizes), (None,) * dims
    else:
        scales = (scale_factor,) * dims if isinstance(scale_factor, numbers.Real) else tuple(scale_factor)
        if len(scales) != dims:
            raise ValueError(f"{op}: scale_factor needs {dims} entries for input of shape {tuple(input.shape)}, "
                             f"got {scale_factor!r}")
        out = tuple(int(math.floor(n * s)) for n, s in zip(in_size, scales))
        if recompute_scale_factor:
            scales = (None,) * dims
    if min(out) < 1:
        raise ValueError(f"{op}: output size {out} from input {in_size} is empty")
    integer = input.dtype.kind in "iub"
    if integer and not (input.dtype == backend.uint8 and (mode.startswith("nearest") or dims == 2)):
        raise NotImplementedError(f"{op}: mode {mode!r} on {input.dtype} input of {dims} spatial dimensions is not "
                                  f"supported (as in PyTorch); convert with .float() first")
    xp = get_array_module(input.data)
    dtype = backend.float64 if integer else input.dtype
    matrices = [None if (o == n and s in (None, 1)) and not mode.startswith("nearest") and mode != "bicubic"
                else xp.asarray(_interpolation_matrix(mode, n, o, s, bool(align_corners), dtype))
                for n, o, s in zip(in_size, out, scales)]
    if integer:
        if mode.startswith("nearest"):
            index = xp.ix_(*[m.argmax(axis=1) for m in matrices])
            return Tensor._wrap(xp.ascontiguousarray(input.data[(Ellipsis,) + index]), False, None)
        return Tensor._wrap(_fixed_point_resample(input.data, matrices), False, None)
    eye = [xp.eye(n, dtype=dtype) if m is None else m for n, m in zip(in_size, matrices)]
    if dims == 2:
        return Resample2d.apply(input, m_h=eye[0], m_w=eye[1])
    if dims == 1:
        return ResampleAxis.apply(input, m=eye[0], axis=2)
    n, c, d, h, w = input.shape
    plane = Resample2d.apply(input.reshape(n, c * d, h, w), m_h=eye[1], m_w=eye[2])
    y = ResampleAxis.apply(plane.reshape(n, c, d, out[1] * out[2]), m=eye[0], axis=2)
    return y.reshape(n, c, *out)


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
def pad4(padding, op):
    """``padding`` (an int, or (left, right, top, bottom)) as four non-negative ints; ValueError naming ``op``."""
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
    return pad(input, pad4(padding, "pad2d"), mode=mode, value=value if mode == "constant" else None)


def zero_pad2d(input, padding):
    """Zeros around the last two axes; ``padding`` = int or (left, right, top, bottom)."""
    return pad2d(input, padding)


__all__ = ["max_pool1d", "max_pool3d", "avg_pool1d", "avg_pool3d", "max_unpool2d",  # nn-funcs
           "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "global_avg_pool2d", "interpolate", "upsample",
           "local_response_norm", "pad2d", "zero_pad2d", "pool_output_size"]
