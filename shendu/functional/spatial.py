"""Rearranging feature maps: ``pixel_shuffle`` / ``pixel_unshuffle`` and ``unfold`` / ``fold``.

* ``pixel_shuffle`` (Shi et al., 2016) moves r×r blocks of channels into space: a reshape and a
  permutation, whose gradient is the inverse permutation (done by autograd of the movement ops).
* ``unfold`` is im2col itself (:func:`shendu.functional.conv.im2col`, every sliding block of the
  input as one column) and ``fold`` its adjoint col2im (overlapping blocks add up); each one's
  backward is the other.
"""
from __future__ import annotations

import numbers

from ..autograd import Function
from ..backend import get_array_module
from ..ops import permute, reshape
from .conv import col2im, conv_geometry, im2col, pad_input


def _factor(value, op):
    if not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{op}: the factor must be a positive int, got {value!r}")
    return int(value)


def pixel_shuffle(input, upscale_factor):
    """(*, C·r², H, W) -> (*, C, H·r, W·r), as ``torch.nn.functional.pixel_shuffle``:

        y[n, c, h·r + i, w·r + j] = x[n, c·r² + i·r + j, h, w]

    Example:
        >>> F.pixel_shuffle(shendu.randn(1, 8, 3, 3), 2).shape
        (1, 2, 6, 6)
    """
    op = "pixel_shuffle"
    r = _factor(upscale_factor, op)
    if input.ndim < 3 or input.shape[-3] % (r * r):
        raise ValueError(f"{op}: expected input (*, C·r², H, W) with C·r² divisible by r² = {r * r}, "
                         f"got shape {tuple(input.shape)}")
    *lead, c, h, w = input.shape
    k = len(lead)
    x = reshape(input, (*lead, c // (r * r), r, r, h, w))
    x = permute(x, (*range(k), k, k + 3, k + 1, k + 4, k + 2))
    return reshape(x, (*lead, c // (r * r), h * r, w * r))


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H·r, W·r) -> (*, C·r², H, W), the inverse of :func:`pixel_shuffle`, as
    ``torch.nn.functional.pixel_unshuffle``.

    Example:
        >>> F.pixel_unshuffle(shendu.randn(1, 2, 6, 6), 2).shape
        (1, 8, 3, 3)
    """
    op = "pixel_unshuffle"
    r = _factor(downscale_factor, op)
    if input.ndim < 3 or input.shape[-2] % r or input.shape[-1] % r:
        raise ValueError(f"{op}: expected input (*, C, H, W) with H and W divisible by {r}, "
                         f"got shape {tuple(input.shape)}")
    *lead, c, h, w = input.shape
    k = len(lead)
    x = reshape(input, (*lead, c, h // r, r, w // r, r))
    x = permute(x, (*range(k), k, k + 2, k + 4, k + 1, k + 3))
    return reshape(x, (*lead, c * r * r, h // r, w // r))


def _blocks(cols, n):
    """im2col's (C·k_h·k_w, N·L) -> unfold's (N, C·k_h·k_w, L)."""
    return get_array_module(cols).ascontiguousarray(cols.reshape(cols.shape[0], n, -1).transpose(1, 0, 2))


def _columns(blocks):
    """unfold's (N, C·k_h·k_w, L) -> im2col's (C·k_h·k_w, N·L)."""
    return blocks.transpose(1, 0, 2).reshape(blocks.shape[1], -1)


def _from_padded(x_pad, geo, shape):
    return x_pad[:, :, geo.pt:geo.pt + shape[2], geo.pl:geo.pl + shape[3]]


class Unfold(Function):
    """y = im2col(x) laid out (N, C·k_h·k_w, L);  dL/dx = col2im(g)."""

    __slots__ = ("geo", "shape")

    def forward(self, x, geo):
        self.geo, self.shape = geo, x.shape
        return _blocks(im2col(pad_input(x, geo), geo), x.shape[0])

    def backward(self, g):
        n, c, h, w = self.shape
        geo = self.geo
        padded = col2im(_columns(g), geo, (n, c, h + geo.pt + geo.pb, w + geo.pl + geo.pr))
        return _from_padded(padded, geo, self.shape)


class Fold(Function):
    """y = col2im(x) (overlapping blocks summed), x laid out (N, C·k_h·k_w, L);  dL/dx = im2col(g)."""

    __slots__ = ("geo",)

    def forward(self, x, geo, shape):
        self.geo = geo
        n, c, h, w = shape
        padded = col2im(_columns(x), geo, (n, c, h + geo.pt + geo.pb, w + geo.pl + geo.pr))
        return get_array_module(x).ascontiguousarray(_from_padded(padded, geo, shape))

    def backward(self, g):
        return _blocks(im2col(pad_input(g, self.geo), self.geo), g.shape[0])


def _pad_pair(padding, op):
    pads = (padding, padding) if isinstance(padding, numbers.Integral) else tuple(padding)
    if len(pads) != 2 or not all(isinstance(p, numbers.Integral) and p >= 0 for p in pads):
        raise ValueError(f"{op}: padding must be a non-negative int or a pair, got {padding!r}")
    return pads


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Every sliding k_h×k_w block of (N, C, H, W) as a column, as ``torch.nn.functional.unfold`` (im2col):

        y[n, (c·k_h + p)·k_w + q, i·W_out + j] = x_pad[n, c, i·s_h + p·d_h, j·s_w + q·d_w]

    Shape: input (N, C, H, W) or (C, H, W) -> (N, C·k_h·k_w, L), L = H_out·W_out with the
    convolution's output sizes.

    Example:
        >>> F.unfold(shendu.randn(2, 3, 5, 5), 3, padding=1).shape
        (2, 27, 25)
    """
    op = "unfold"
    if input.ndim == 3:
        y = unfold(reshape(input, (1, *input.shape)), kernel_size, dilation, padding, stride)
        return reshape(y, y.shape[1:])
    if input.ndim != 4:
        raise ValueError(f"{op}: expected input (N, C, H, W) or (C, H, W), got shape {tuple(input.shape)}")
    geo = conv_geometry(input.shape[2:], kernel_size, stride, _pad_pair(padding, op), dilation, op=op)
    return Unfold.apply(input, geo=geo)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sum sliding blocks back into an image, as ``torch.nn.functional.fold`` (col2im, the adjoint of
    :func:`unfold`): each column is added at the k_h×k_w block it came from, overlaps summed.

    Shape: input (N, C·k_h·k_w, L) or (C·k_h·k_w, L) -> (N, C, H, W) with (H, W) = ``output_size``;
    L must equal the number of blocks that fit.

    Example:
        >>> x = shendu.ones(1, 1, 4, 4)
        >>> F.fold(F.unfold(x, 2, stride=2), (4, 4), 2, stride=2).sum().item()   # disjoint blocks: x back
        16.0
        >>> F.fold(F.unfold(x, 2), (4, 4), 2).sum().item()   # stride 1: inner pixels counted up to 4 times
        36.0
    """
    op = "fold"
    if input.ndim == 2:
        y = fold(reshape(input, (1, *input.shape)), output_size, kernel_size, dilation, padding, stride)
        return reshape(y, y.shape[1:])
    if input.ndim != 3:
        raise ValueError(f"{op}: expected input (N, C·k_h·k_w, L) or (C·k_h·k_w, L), got shape {tuple(input.shape)}")
    size = (output_size, output_size) if isinstance(output_size, numbers.Integral) else tuple(output_size)
    geo = conv_geometry(size, kernel_size, stride, _pad_pair(padding, op), dilation, op=op)
    taps = geo.kh * geo.kw
    if input.shape[1] % taps or input.shape[2] != geo.ho * geo.wo:
        raise ValueError(f"{op}: expected input (N, C·{taps}, {geo.ho * geo.wo}) for kernel {(geo.kh, geo.kw)} and "
                         f"output {size} ({geo.ho}×{geo.wo} blocks), got shape {tuple(input.shape)}")
    return Fold.apply(input, geo=geo, shape=(input.shape[0], input.shape[1] // taps, *size))


__all__ = ["pixel_shuffle", "pixel_unshuffle", "unfold", "fold"]
