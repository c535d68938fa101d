"""Convolution layers: PyTorch's ``Conv1d``, ``Conv2d``, ``ConvTranspose2d`` and Keras's lazy ``Conv2D``.

A convolution layer connects every output pixel to a small window of the input
(local connections) with the same kernel at every position (weight sharing):
k_h·k_w·C_in/groups·C_out weights (+ C_out biases) however large the image.
The math lives in :mod:`shendu.functional.conv` (im2col + one GEMM).
"""
from __future__ import annotations

import math
import numbers

from .. import functional as F
from ..functional import conv as C
from ..functional.pooling import pad2d
from ..checks import int_arg, int_tuple
from ..tensor import empty
from . import init
from .lazy import LazyLayer
from .module import Module, Parameter


def _tuple(value, n):
    return (value,) * n if isinstance(value, numbers.Integral) else tuple(value)


class _ConvNd(Module):
    """What Conv1d, Conv2d and ConvTranspose2d share: hyper-parameters, weights, PyTorch's initialisation."""

    _dims = 2
    _transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                 padding_mode="zeros", output_padding=0):
        super().__init__()
        name, n = type(self).__name__, self._dims
        in_channels, out_channels = int_arg(name, "in_channels", in_channels), int_arg(name, "out_channels", out_channels)
        groups, kernel_size = int_arg(name, "groups", groups), int_tuple(name, "kernel_size", kernel_size, n)
        stride, dilation = int_tuple(name, "stride", stride, n), int_tuple(name, "dilation", dilation, n)
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels ({out_channels}) must both "
                             f"be divisible by groups ({groups})")
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ValueError(f"{name}: padding_mode must be 'zeros', 'reflect', 'replicate' or 'circular', "
                             f"got {padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        self.kernel_size, self.stride, self.dilation = _tuple(kernel_size, n), _tuple(stride, n), _tuple(dilation, n)
        self.padding = padding if isinstance(padding, str) else _tuple(padding, n)
        self.output_padding = _tuple(output_padding, n)
        self.padding_mode = padding_mode
        if self._transposed:
            shape = (self.in_channels, self.out_channels // groups, *self.kernel_size)
        else:
            shape = (self.out_channels, self.in_channels // groups, *self.kernel_size)
        self.weight = Parameter(empty(*shape))
        if bias:
            self.bias = Parameter(empty(self.out_channels))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's default: W by kaiming_uniform_(a=√5) (= U(±1/√fan_in)), b ~ U(±1/√fan_in),
        fan_in = weight.shape[1]·k_h·k_w."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = math.prod(self.weight.shape[1:])
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def _check_input(self, x):
        name = type(self).__name__
        if x.ndim != self._dims + 2:
            layout = {1: "(N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}[self._dims]
            raise ValueError(f"{name}: expected input {layout} of {self._dims + 2} dimensions, "
                             f"got shape {tuple(x.shape)}")
        if x.shape[1] != self.in_channels:
            raise ValueError(f"{name}: expected {self.in_channels} input channels, got shape {tuple(x.shape)}")

    def _padded(self, x):
        """For padding_mode != 'zeros': pad explicitly (then the convolution itself pads nothing)."""
        pads = C.conv_padding(self.padding, x.shape[2:], self.kernel_size, self.stride, self.dilation,
                              type(self).__name__)
        if self._dims == 1:
            flat = pad2d(x.reshape(x.shape[0], x.shape[1], 1, x.shape[2]), (*pads[0], 0, 0), self.padding_mode)
            return flat.reshape(flat.shape[0], flat.shape[1], flat.shape[3])
        return pad2d(x, (*pads[1], *pads[0]), self.padding_mode)

    def macs(self, inputs, output):
        """N·(output positions)·C_out·(C_in/groups)·Π kernel; for the transposed conv the input positions
        (every input pixel scatters one kernel of C_out/groups channels)."""
        per_position = (self.in_channels // self.groups) * math.prod(self.kernel_size)
        if self._transposed:
            return inputs[0].numel() * (self.out_channels // self.groups) * math.prod(self.kernel_size)
        return output.numel() * per_position

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding not in ("valid", (0,) * self._dims):
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._dims:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._dims:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode!r}"
        return s


class Conv2d(_ConvNd):
    """2-D convolution layer over NCHW images (PyTorch's ``nn.Conv2d``).

        y[n, o] = b[o] + Σ_{c ∈ group(o)} w[o, c] ⋆ x[n, c]     (⋆: cross-correlation, kernel not flipped)

    Args:
        in_channels, out_channels: C_in and C_out.
        kernel_size: int or (k_h, k_w).
        stride: int or pair (default 1).
        padding: int, (p_h, p_w), ``'valid'`` or ``'same'`` (output ceil(in / stride);
            the odd pixel of an even kernel goes bottom/right, as in PyTorch and TensorFlow) (default 0).
        dilation: spacing between kernel taps (default 1).
        groups: independent convolutions over C_in/groups channels each; ``groups=in_channels`` is depthwise.
        bias: learn b (default True).
        padding_mode: ``'zeros'`` (default), ``'reflect'``, ``'replicate'`` or ``'circular'``.

    Parameters: ``weight`` (C_out, C_in/groups, k_h, k_w), ``bias`` (C_out,); initialised
    as PyTorch does (:meth:`reset_parameters`).

    Shape: input (N, C_in, H, W) -> output (N, C_out, H_out, W_out),
    H_out = floor((H + 2·p_h − d_h·(k_h − 1) − 1) / s_h) + 1 (W alike).

    Example:
        >>> conv = nn.Conv2d(3, 16, 3, padding=1)
        >>> conv(shendu.randn(8, 3, 32, 32)).shape
        (8, 16, 32, 32)
        >>> conv.num_parameters()     # 3·3·3·16 + 16
        448
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros"):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode)

    def forward(self, x, activation=None):
        """The convolution; with ``activation='relu'``, max(conv(x), 0) as one fused op (what
        :class:`~shendu.nn.Sequential` asks for when a ReLU follows this layer)."""
        self._check_input(x)
        padding = self.padding
        if self.padding_mode != "zeros":
            x, padding = self._padded(x), 0
        return F.conv2d(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups, activation)

    #: Sequential may run this layer and a ReLU module after it as one op (``forward(x, activation='relu')``);
    #: only for this exact class: a subclass may change ``forward``.
    fuses_activations = ("relu",)


class Conv1d(_ConvNd):
    """1-D convolution layer over sequences (N, C, L) (PyTorch's ``nn.Conv1d``).

    Args as :class:`Conv2d` with single ints (padding: int, (before, after), ``'valid'`` or ``'same'``).

    Parameters: ``weight`` (C_out, C_in/groups, k), ``bias`` (C_out,).

    Shape: input (N, C_in, L) -> output (N, C_out, L_out), L_out = floor((L + 2p − d·(k − 1) − 1) / s) + 1.

    Example:
        >>> nn.Conv1d(4, 8, 5, padding="same")(shendu.randn(2, 4, 50)).shape
        (2, 8, 50)
    """

    _dims = 1

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros"):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode)

    def forward(self, x):
        self._check_input(x)
        padding = self.padding if isinstance(self.padding, str) else self.padding[0]
        if self.padding_mode != "zeros":
            x, padding = self._padded(x), 0
        return F.conv1d(x, self.weight, self.bias, self.stride[0], padding, self.dilation[0], self.groups)


class _ConvTransposeNd(_ConvNd):
    """What the transposed convolutions share: arguments, ``output_size``, the call of ``_fn``."""

    _transposed = True
    _fn = None

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros"):
        if padding_mode != "zeros" or isinstance(padding, str):
            raise ValueError(f"{type(self).__name__}: only padding_mode='zeros' and int paddings are supported, "
                             f"got padding={padding!r}, padding_mode={padding_mode!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, output_padding)

    def forward(self, x, output_size=None):
        self._check_input(x)
        output_padding = self.output_padding
        if output_size is not None:  # PyTorch's way to pick among the sizes a strided conv maps to one size
            smallest = [(n - 1) * s - 2 * p + d * (k - 1) + 1 for n, s, p, d, k in
                        zip(x.shape[2:], self.stride, self.padding, self.dilation, self.kernel_size)]
            output_padding = tuple(int(o) - m for o, m in zip(tuple(output_size)[-self._dims:], smallest))
        return type(self)._fn(x, self.weight, self.bias, self.stride, self.padding, output_padding, self.groups,
                              self.dilation)


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution (PyTorch's ``nn.ConvTranspose2d``), the adjoint of :class:`Conv2d`:
    each input pixel adds its kernel-weighted copy into the output (learnable upsampling).

    Args:
        in_channels, out_channels, kernel_size, stride, dilation, groups, bias: as :class:`Conv2d`.
        padding: rows/columns removed from each side of the full output (default 0).
        output_padding: rows/columns added at the bottom/right, < max(stride, dilation) (default 0).

    Parameters: ``weight`` (C_in, C_out/groups, k_h, k_w), ``bias`` (C_out,).

    Shape: input (N, C_in, H, W) -> output (N, C_out, H_out, W_out),
    H_out = (H − 1)·s_h − 2·p_h + d_h·(k_h − 1) + output_padding_h + 1 (W alike).

    Example:
        >>> up = nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1)
        >>> up(shendu.randn(1, 16, 7, 7)).shape
        (1, 8, 14, 14)
    """

    _fn = staticmethod(F.conv_transpose2d)


class Conv2D(LazyLayer):
    """Keras's 2-D convolution layer: y = activation(conv(x, W) + b), built on the first call.

    Lifecycle (Keras's): ``__init__`` stores the configuration; :meth:`build`
    creates the weights when the number of input channels is known (the first
    call, ``model.build(input_shape)`` or ``in_channels=``). Create the
    optimizer after that. Data stay NCHW and the weights are stored as in
    :class:`Conv2d` (``weight`` (filters, C_in/groups, k_h, k_w), ``bias``), so
    ``F.conv2d`` does the work and state dicts match PyTorch's layout.

    Args:
        filters: number of output channels.
        kernel_size: int or (k_h, k_w).
        strides: int or pair (default 1).
        padding: ``'valid'`` (default; no padding), ``'same'`` (output ceil(in / stride);
            TensorFlow's padding, the odd pixel at the bottom/right), an int, (p_h, p_w) or
            ((top, bottom), (left, right)).
        dilation_rate: int or pair (default 1).  groups: as in :class:`Conv2d`.
        activation: None, a name resolved by ``shendu.functional.get_activation`` or a callable.
        use_bias: learn b (default True).
        kernel_initializer: default ``'glorot_uniform'`` (Keras's); bias_initializer: ``'zeros'``
            (names of ``shendu.nn.init.get`` or callables).
        kernel_regularizer, bias_regularizer: penalties on W / b that
            ``shendu.nn.regularizers.regularization_loss`` collects.
        in_channels: build immediately for this many input channels.

    Shape: input (N, C_in, H, W) -> output (N, filters, H_out, W_out) with
    'same': H_out = ceil(H / s);  'valid': floor((H − k_eff) / s) + 1;
    explicit: floor((H + p_top + p_bottom − k_eff) / s) + 1, k_eff = d·(k − 1) + 1.

    Example:
        >>> layer = nn.Conv2D(100, 3, padding="same")
        >>> layer(shendu.randn(1, 3, 32, 32)).shape
        (1, 100, 32, 32)
        >>> layer.num_parameters()     # 3·3·3·100 + 100
        2800
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", dilation_rate=1, groups=1,
                 activation=None, use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, in_channels=None):
        super().__init__()
        self.filters, self.groups = int_arg("Conv2D", "filters", filters), int_arg("Conv2D", "groups", groups)
        self.kernel_size, self.strides = int_tuple("Conv2D", "kernel_size", kernel_size, 2), int_tuple("Conv2D", "strides", strides, 2)
        self.dilation_rate = int_tuple("Conv2D", "dilation_rate", dilation_rate, 2)
        self.padding = padding
        C.conv_padding(padding, (1, 1), self.kernel_size, self.strides, self.dilation_rate, "Conv2D")  # validate
        if self.groups < 1 or self.filters % self.groups:
            raise ValueError(f"Conv2D: filters ({filters}) must be divisible by groups ({groups})")
        self.in_channels = None
        self._configure(activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                        bias_regularizer)
        if in_channels is not None:
            self.build((None, in_channels, None, None))

    def build(self, input_shape, dtype=None):
        """Create W (filters, C_in/groups, k_h, k_w) and b (filters,) for inputs (N, C_in, H, W); returns self."""
        c_in = int(input_shape[1])
        if self.built:
            if c_in != self.in_channels:
                raise ValueError(f"Conv2D: already built for {self.in_channels} input channels, cannot take {c_in}")
            return self
        if c_in % self.groups:
            raise ValueError(f"Conv2D: {c_in} input channels are not divisible by groups={self.groups}")
        self.in_channels = c_in
        self._create_weights((self.filters, c_in // self.groups, *self.kernel_size), dtype, in_channels=c_in)
        return self

    def output_size(self, input_size):
        """(H_out, W_out) for an (H, W) input, by the formulas above."""
        pads = C.conv_padding(self.padding, input_size, self.kernel_size, self.strides, self.dilation_rate, "Conv2D")
        return tuple(C.conv_output_size(n, k, s, p, d) for n, k, s, p, d in
                     zip(input_size, self.kernel_size, self.strides, pads, self.dilation_rate))

    def forward(self, x):
        if x.ndim != 4:
            raise ValueError(f"Conv2D: expected input (N, C, H, W) of 4 dimensions, got shape {tuple(x.shape)}")
        self._build_for(x)
        if x.shape[1] != self.in_channels:
            raise ValueError(f"Conv2D: expected {self.in_channels} input channels, got shape {tuple(x.shape)}")
        y = F.conv2d(x, self.weight, self.bias, self.strides, self.padding, self.dilation_rate, self.groups)
        return y if self.activation is None else self.activation(y)

    def macs(self, inputs, output):
        """N·H_out·W_out·filters·(C_in/groups)·k_h·k_w."""
        return output.numel() * (self.in_channels // self.groups) * math.prod(self.kernel_size)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.filters}, kernel_size={self.kernel_size}, strides={self.strides}, "
                f"padding={self.padding!r}, activation={self._activation_name()}")


# --- nn-funcs: Conv3d, ConvTranspose1d, ConvTranspose3d
class Conv3d(_ConvNd):
    """3-D convolution layer over volumes (N, C, D, H, W) (PyTorch's ``nn.Conv3d``).

    Args as :class:`Conv2d` with triples (padding_mode ``'zeros'`` only).

    Parameters: ``weight`` (C_out, C_in/groups, k_d, k_h, k_w), ``bias`` (C_out,).

    Shape: input (N, C_in, D, H, W) -> output (N, C_out, D_out, H_out, W_out),
    D_out = floor((D + 2p − d·(k − 1) − 1) / s) + 1 (H, W alike).

    Example:
        >>> nn.Conv3d(2, 4, 3, padding=1)(shendu.randn(1, 2, 6, 6, 6)).shape
        (1, 4, 6, 6, 6)
    """

    _dims = 3

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros"):
        if padding_mode != "zeros":
            raise NotImplementedError(f"Conv3d: padding_mode={padding_mode!r} is not supported; pad the input "
                                      f"yourself and use padding_mode='zeros' with padding=0")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode)

    def forward(self, x):
        self._check_input(x)
        return F.conv3d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution (PyTorch's ``nn.ConvTranspose1d``); args as :class:`ConvTranspose2d`
    with single ints.

    Parameters: ``weight`` (C_in, C_out/groups, k), ``bias`` (C_out,).

    Shape: input (N, C_in, L) -> output (N, C_out, L_out), L_out = (L − 1)·s − 2p + d·(k − 1) + output_padding + 1.

    Example:
        >>> nn.ConvTranspose1d(4, 2, 4, stride=2, padding=1)(shendu.randn(1, 4, 8)).shape
        (1, 2, 16)
    """

    _dims = 1
    _fn = staticmethod(F.conv_transpose1d)


class ConvTranspose3d(_ConvTransposeNd):
    """3-D transposed convolution (PyTorch's ``nn.ConvTranspose3d``); args as :class:`ConvTranspose2d`
    with triples.

    Parameters: ``weight`` (C_in, C_out/groups, k_d, k_h, k_w), ``bias`` (C_out,).

    Shape: input (N, C_in, D, H, W) -> output (N, C_out, D_out, H_out, W_out),
    D_out = (D − 1)·s − 2p + d·(k − 1) + output_padding + 1 (H, W alike).

    Example:
        >>> nn.ConvTranspose3d(4, 2, 2, stride=2)(shendu.randn(1, 4, 3, 3, 3)).shape
        (1, 2, 6, 6, 6)
    """

    _dims = 3
    _fn = staticmethod(F.conv_transpose3d)
