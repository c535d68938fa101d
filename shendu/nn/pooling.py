"""Pooling, resampling and joining layers for NCHW feature maps.

Thin wrappers over :mod:`shendu.functional.pooling`, with PyTorch's names and
arguments. None of them has parameters. ``macs`` counts multiply-accumulates
only: max and average pooling, padding and concatenation report 0 (their
comparisons and additions, N·C·H_out·W_out·k_h·k_w, are not multiplies).
"""
from __future__ import annotations

from .. import functional as F
from ..functional import pooling as P
from .module import Module


class _Pool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False):
        super().__init__()
        self.kernel_size, self.stride, self.padding, self.ceil_mode = kernel_size, stride, padding, ceil_mode
        if stride is None:
            self.stride = kernel_size

    def macs(self, inputs, output):
        """0: pooling does comparisons / additions, no multiply-accumulates."""
        return 0


class MaxPool2d(_Pool2d):
    """Max pooling over k_h×k_w windows (PyTorch's ``nn.MaxPool2d``).

        y[n, c, i, j] = max_{p,q} x_pad[n, c, i·s_h + p·d_h, j·s_w + q·d_w]   (padding is −∞)

    Args:
        kernel_size: int or pair.  stride: default ``kernel_size``.
        padding: −∞ on each side, at most half the kernel (default 0).  dilation: default 1.
        return_indices: also return the flat in-plane index of each maximum (for :class:`MaxUnpool2d`).
        ceil_mode: round the output size up; the last window must start inside the input or
            the left padding (default False).

    Shape: input (N, C, H, W) -> output (N, C, H_out, W_out),
    H_out = floor((H + 2p − d·(k − 1) − 1) / s) + 1 (ceil with ``ceil_mode``).
    The gradient goes to the first maximum of each window.

    Example:
        >>> nn.MaxPool2d(3, stride=2, padding=1)(shendu.randn(1, 64, 112, 112)).shape
        (1, 64, 56, 56)
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__(kernel_size, stride, padding, ceil_mode)
        self.dilation, self.return_indices = dilation, return_indices

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(_Pool2d):
    """Average pooling over k_h×k_w windows (PyTorch's ``nn.AvgPool2d``).

    Args:
        kernel_size, stride, padding, ceil_mode: as :class:`MaxPool2d` (zero padding).
        count_include_pad: divide by the window size including padded zeros (default True)
            or by the number of real pixels.
        divisor_override: divide by this instead.

    Shape: input (N, C, H, W) -> output (N, C, H_out, W_out) as :class:`MaxPool2d`.

    Example:
        >>> nn.AvgPool2d(2)(shendu.randn(1, 6, 28, 28)).shape
        (1, 6, 14, 14)
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__(kernel_size, stride, padding, ceil_mode)
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                            self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size (PyTorch's ``nn.AdaptiveAvgPool2d``): output row i averages
    input rows floor(i·H/H_out) .. ceil((i+1)·H/H_out) − 1 (columns alike).

    Args:
        output_size: int or (H_out, W_out); None keeps that input size.

    Shape: input (N, C, H, W) -> output (N, C, H_out, W_out).

    Example:
        >>> nn.AdaptiveAvgPool2d((1, 1))(shendu.randn(2, 512, 7, 7)).shape
        (2, 512, 1, 1)
    """

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)

    def macs(self, inputs, output):
        """0 (averages are additions and one scaling)."""
        return 0

    def extra_repr(self):
        return f"output_size={self.output_size}"


class GlobalAvgPool2d(Module):
    """Mean over all spatial positions, Keras-style: (N, C, H, W) -> (N, C).

    Equal to ``AdaptiveAvgPool2d(1)`` followed by ``Flatten()``; ``keepdims=True``
    keeps (N, C, 1, 1). Used in place of large fully connected heads (NiN,
    GoogLeNet, ResNet).

    Example:
        >>> nn.GlobalAvgPool2d()(shendu.randn(2, 512, 7, 7)).shape
        (2, 512)
    """

    def __init__(self, keepdims=False):
        super().__init__()
        self.keepdims = keepdims

    def forward(self, x):
        return F.global_avg_pool2d(x, self.keepdims)

    def macs(self, inputs, output):
        """0 (additions only)."""
        return 0

    def extra_repr(self):
        return f"keepdims={self.keepdims}" if self.keepdims else ""


class LocalResponseNorm(Module):
    """Local response normalisation across channels (AlexNet; PyTorch's ``nn.LocalResponseNorm``).

        y[n, c] = x[n, c] / (k + α/size · Σ_{c'=c−⌊size/2⌋}^{c+⌊(size−1)/2⌋} x[n, c']²)^β

    Args:
        size: number of neighbouring channels.  alpha: default 1e-4.  beta: default 0.75.  k: default 1.

    Shape: input (N, C, *) -> output of the same shape.

    Example:
        >>> nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)(shendu.randn(1, 96, 55, 55)).shape
        (1, 96, 55, 55)
    """

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x):
        return F.local_response_norm(x, self.size, self.alpha, self.beta, self.k)

    def macs(self, inputs, output):
        """size per element for the windowed sum of squares (the power and division are not counted)."""
        return inputs[0].numel() * self.size

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class ZeroPad2d(Module):
    """Zeros around the image (PyTorch's ``nn.ZeroPad2d``).

    Args:
        padding: int (all sides) or (left, right, top, bottom), PyTorch's order.

    Shape: input (N, C, H, W) -> output (N, C, H + top + bottom, W + left + right).

    Example:
        >>> nn.ZeroPad2d((1, 1, 2, 0))(shendu.randn(1, 1, 3, 3)).shape
        (1, 1, 5, 5)
    """

    def __init__(self, padding):
        super().__init__()
        self.padding = padding
        P.pad4(padding, "ZeroPad2d")  # validate now

    def forward(self, x):
        return F.zero_pad2d(x, self.padding)

    def macs(self, inputs, output):
        return 0

    def extra_repr(self):
        return f"padding={self.padding}"


class Upsample(Module):
    """Resize feature maps (PyTorch's ``nn.Upsample``): nearest neighbour, (bi/tri)linear or bicubic.

    Args:
        size: the output's spatial size (int or one per axis); or scale_factor: float or one per axis
            (out = floor(in·scale)).
        mode: ``'nearest'`` (default), ``'nearest-exact'``, ``'linear'`` (1-D), ``'bilinear'``,
            ``'bicubic'`` (2-D), ``'trilinear'`` (3-D).
        align_corners: linear and cubic modes only; see :func:`shendu.functional.interpolate`.

    Shape: input (N, C, *in) -> output (N, C, *out), 1 to 3 spatial axes.

    Example:
        >>> nn.Upsample(scale_factor=2, mode="bilinear")(shendu.randn(1, 3, 8, 8)).shape
        (1, 3, 16, 16)
    """

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None):
        super().__init__()
        self.size, self.scale_factor, self.mode, self.align_corners = size, scale_factor, mode, align_corners

    def forward(self, x):
        return F.interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners)

    def macs(self, inputs, output):
        """Weighted neighbours per output value: linear 2, bilinear 4, trilinear 8, bicubic 16; nearest: 0."""
        return {"linear": 2, "bilinear": 4, "trilinear": 8, "bicubic": 16}.get(self.mode, 0) * output.numel()

    def extra_repr(self):
        what = f"size={self.size}" if self.size is not None else f"scale_factor={self.scale_factor}"
        return f"{what}, mode={self.mode!r}"


class Concatenate(Module):
    """Join tensors along ``axis`` (default 1, the channels of NCHW), e.g. Inception's branches.

    Called with a list of tensors or with the tensors as separate arguments.

    Shape: inputs (N, C_i, H, W) -> output (N, Σ C_i, H, W).

    Example:
        >>> a, b = shendu.randn(2, 64, 28, 28), shendu.randn(2, 32, 28, 28)
        >>> nn.Concatenate()([a, b]).shape
        (2, 96, 28, 28)
    """

    def __init__(self, axis=1):
        super().__init__()
        self.axis = axis

    def forward(self, *tensors):
        if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
            tensors = tuple(tensors[0])
        return F.concatenate(list(tensors), axis=self.axis)

    def macs(self, inputs, output):
        return 0

    def extra_repr(self):
        return f"axis={self.axis}"


# --- nn-funcs: 1-D and 3-D pooling, unpooling
class MaxPool1d(MaxPool2d):
    """Max pooling over windows of k along L (PyTorch's ``nn.MaxPool1d``); args as :class:`MaxPool2d`
    with single ints.

    Shape: input (N, C, L) -> output (N, C, L_out), L_out = floor((L + 2p − d·(k − 1) − 1) / s) + 1.
    """

    def forward(self, x):
        return F.max_pool1d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)


class MaxPool3d(MaxPool2d):
    """Max pooling over k_d×k_h×k_w boxes (PyTorch's ``nn.MaxPool3d``); args as :class:`MaxPool2d`
    with triples (``return_indices`` is not supported).

    Shape: input (N, C, D, H, W) -> output (N, C, D_out, H_out, W_out).

    Example:
        >>> nn.MaxPool3d(2)(shendu.randn(1, 2, 4, 4, 4)).shape
        (1, 2, 2, 2, 2)
    """

    def forward(self, x):
        return F.max_pool3d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)


class AvgPool1d(_Pool2d):
    """Average pooling over windows of k along L (PyTorch's ``nn.AvgPool1d``).

    Args: kernel_size, stride (default kernel_size), padding, ceil_mode, count_include_pad as :class:`AvgPool2d`.

    Shape: input (N, C, L) -> output (N, C, L_out).
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__(kernel_size, stride, padding, ceil_mode)
        self.count_include_pad = count_include_pad

    def forward(self, x):
        return F.avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)


class AvgPool3d(AvgPool2d):
    """Average pooling over k_d×k_h×k_w boxes (PyTorch's ``nn.AvgPool3d``); args as :class:`AvgPool2d`
    with triples.

    Shape: input (N, C, D, H, W) -> output (N, C, D_out, H_out, W_out).
    """

    def forward(self, x):
        return F.avg_pool3d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                            self.divisor_override)


class MaxUnpool2d(Module):
    """The partial inverse of :class:`MaxPool2d` (PyTorch's ``nn.MaxUnpool2d``): values go back to the
    positions their indices name, zeros elsewhere.

    Args: kernel_size, stride (default kernel_size), padding: those of the pooling.

    Call: ``unpool(x, indices, output_size=None)``.

    Shape: input (N, C, H, W) -> output (N, C, H_out, W_out), H_out = (H − 1)·s − 2p + k (or output_size).

    Example:
        >>> pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
        >>> y, i = pool(shendu.randn(1, 1, 4, 4))
        >>> unpool(y, i).shape
        (1, 1, 4, 4)
    """

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, kernel_size if stride is None else stride, padding

    def forward(self, x, indices, output_size=None):
        return F.max_unpool2d(x, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
