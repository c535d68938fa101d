"""LeNet-5 (LeCun, Bottou, Bengio and Haffner 1998), as in the paper and in its modern form.

The paper's network has three layers of its own, defined here as reusable
layers: the scaled hyperbolic tangent :class:`ScaledTanh`, the trainable
subsampling :class:`Subsampling2d` (S2, S4) and the partially connected
convolution :class:`ConnectionTableConv2d` (C3 with Table I).
"""
from __future__ import annotations

import math
from collections import OrderedDict

from .. import functional as F
from ..backend import int64, xp
from ..ops import concatenate, take
from ..tensor import Tensor, empty, zeros
from ..nn import Conv2d, Flatten, Linear, MaxPool2d, Module, Parameter, ReLU, Sequential, init
from .registry import register_model

#: LeCun et al. 1998, Table I: the S2 feature maps each C3 feature map combines.
#: Maps 0–5 see 3 contiguous maps, 6–11 see 4 contiguous maps, 12–14 see 4
#: non-contiguous maps, 15 sees all 6; 60 connections in all.
LENET5_C3_TABLE = ((0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
                   (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
                   (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
                   (0, 1, 2, 3, 4, 5))


class ScaledTanh(Module):
    """The squashing function of LeNet-5: f(a) = A·tanh(S·a), by default A = 1.7159, S = 2/3.

    With these constants f(±1) = ±1, the second derivative is largest at
    ±1 and the gain near 0 is about 1 (LeCun et al. 1998, Appendix A).

    Args:
        amplitude: A (default 1.7159).  slope: S (default 2/3).

    Shape: input (*) -> output (*), the same.

    Example:
        >>> round(ScaledTanh()(shendu.tensor([1.0])).item(), 4)     # f(1) ≈ 1
        1.0
    """

    def __init__(self, amplitude=1.7159, slope=2 / 3):
        super().__init__()
        self.amplitude, self.slope = float(amplitude), float(slope)

    def forward(self, x):
        return F.tanh(x * self.slope) * self.amplitude

    def extra_repr(self):
        return f"amplitude={self.amplitude}, slope={self.slope:.6g}"


class Subsampling2d(Module):
    """LeNet-5's trainable subsampling (S2, S4): y = b_c + w_c · Σ_{k×k window} x, per map c.

    Each map has one coefficient w_c (``weight``) and one bias b_c (``bias``);
    the windows do not overlap (stride = kernel size). In the paper the sum is
    then passed through the squashing function (a separate layer here). It
    is a depthwise convolution whose k×k kernel repeats one trainable value,
    computed as such by :func:`shendu.functional.conv2d`.

    Args:
        num_channels: C, the number of maps.
        kernel_size: k (default 2, the paper's 2×2 receptive field).

    Shape: input (N, C, H, W) -> output (N, C, ⌊H/k⌋, ⌊W/k⌋).
    Parameters: ``weight`` (C,), ``bias`` (C,); 2C in all (S2: 12, S4: 32).
    Connections: (k² + 1) per output unit (S2: 5·6·14·14 = 5,880).

    Example:
        >>> Subsampling2d(6)(shendu.randn(1, 6, 28, 28)).shape
        (1, 6, 14, 14)
    """

    def __init__(self, num_channels, kernel_size=2):
        super().__init__()
        self.num_channels, self.kernel_size = int(num_channels), int(kernel_size)
        self.weight = Parameter(empty(self.num_channels))
        self.bias = Parameter(empty(self.num_channels))
        self.reset_parameters()

    def reset_parameters(self):
        """w, b ~ U(±1/√k²), PyTorch's default bound for a unit of fan-in k²."""
        bound = 1 / self.kernel_size
        init.uniform_(self.weight, -bound, bound)
        init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        c, k = self.num_channels, self.kernel_size
        if x.ndim != 4 or x.shape[1] != c:
            raise ValueError(f"Subsampling2d: expected input (N, {c}, H, W), got shape {tuple(x.shape)}")
        kernel = self.weight.reshape(c, 1, 1, 1).expand(c, 1, k, k)
        return F.conv2d(x, kernel, self.bias, stride=k, groups=c)

    def macs(self, inputs, output):
        """k² multiply-adds per output unit (the coefficient shared by the window)."""
        return output.numel() * self.kernel_size ** 2

    def connections(self, inputs, output):
        """k² inputs and a bias per output unit."""
        return output.numel() * (self.kernel_size ** 2 + 1)

    def extra_repr(self):
        return f"{self.num_channels}, kernel_size={self.kernel_size}"


class ConnectionTableConv2d(Module):
    """A convolution in which output map o sees only the input maps ``table[o]`` (LeNet-5's C3).

        y[n, o] = b[o] + Σ_{c ∈ table[o]} w[o, c] ⋆ x[n, c]

    One k×k kernel is stored per connection (o, c) of the table, in the
    table's order; forward scatters them into a dense (C_out, C_in, k, k)
    kernel whose absent connections are zero and runs one ordinary
    convolution, so the parameters are exactly those of the paper.

    Args:
        in_channels: C_in.
        table: one sequence of input maps per output map (C_out = len(table)).
        kernel_size: k (int).
        stride, padding: as in :class:`shendu.nn.Conv2d` (default 1, 0).
        bias: learn one bias per output map (default True).

    Shape: input (N, C_in, H, W) -> output (N, C_out, H_out, W_out),
    H_out = ⌊(H + 2p − k)/s⌋ + 1.
    Parameters: ``weight`` (connections, k, k), ``bias`` (C_out,).
    C3 of LeNet-5: 60·25 + 16 = 1,516 parameters and 1,516·10·10 = 151,600 connections.

    Example:
        >>> c3 = ConnectionTableConv2d(6, LENET5_C3_TABLE, 5)
        >>> c3(shendu.randn(1, 6, 14, 14)).shape, c3.num_parameters()
        ((1, 16, 10, 10), 1516)
    """

    def __init__(self, in_channels, table, kernel_size, stride=1, padding=0, bias=True):
        super().__init__()
        self.in_channels, self.kernel_size = int(in_channels), int(kernel_size)
        self.table = tuple(tuple(int(c) for c in row) for row in table)
        self.out_channels, self.stride, self.padding = len(self.table), stride, padding
        for o, row in enumerate(self.table):
            if not row or len(set(row)) != len(row) or not all(0 <= c < self.in_channels for c in row):
                raise ValueError(f"ConnectionTableConv2d: table[{o}] = {row} must list distinct input maps in "
                                 f"0..{self.in_channels - 1}")
        n = sum(len(row) for row in self.table)
        # slot[o·C_in + c] = the row of `weight` holding kernel (o, c), or n (a row of zeros) when absent
        slot = xp.full(self.out_channels * self.in_channels, n, dtype=int64)
        slot[[o * self.in_channels + c for o, row in enumerate(self.table) for c in row]] = xp.arange(n)
        self.register_buffer("slot", Tensor(slot), persistent=False)
        self.weight = Parameter(empty(n, self.kernel_size, self.kernel_size))
        if bias:
            self.bias = Parameter(empty(self.out_channels))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def fan_in(self):
        """The fan-in k²·|table[o]| of each output map o."""
        return [len(row) * self.kernel_size ** 2 for row in self.table]

    def reset_parameters(self):
        """PyTorch's convolution default, per output map: w, b ~ U(±1/√fan_in)."""
        self.uniform_per_map_(lambda fan: 1 / xp.sqrt(fan))

    def uniform_per_map_(self, bound):
        """Draw each map's kernels and bias from U(±bound(F)), F its fan-in (``bound`` maps an array of fan-ins)."""
        fans = xp.asarray(self.fan_in(), dtype=xp.float64)
        per_connection = xp.asarray([f for f, row in zip(fans, self.table) for _ in row])
        for p, fan in ((self.weight, per_connection), (self.bias, fans)):
            if p is not None:
                init.uniform_(p, -1, 1)
                p.data = (p.data * bound(fan).reshape(-1, *(1,) * (p.ndim - 1))).astype(p.dtype)

    def dense_weight(self):
        """The (C_out, C_in, k, k) kernel with zeros for the connections the table leaves out."""
        k = self.kernel_size
        rows = concatenate([self.weight, zeros(1, k, k, dtype=self.weight.dtype)], axis=0)
        return take(rows, self.slot, axis=0).reshape(self.out_channels, self.in_channels, k, k)

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"ConnectionTableConv2d: expected input (N, {self.in_channels}, H, W), "
                             f"got shape {tuple(x.shape)}")
        return F.conv2d(x, self.dense_weight(), self.bias, stride=self.stride, padding=self.padding)

    def macs(self, inputs, output):
        """k² multiply-adds per connection and output position (absent connections cost nothing)."""
        positions = output.numel() // self.out_channels
        return positions * self.weight.numel()

    def connections(self, inputs, output):
        """The MACs plus one bias per output unit."""
        return self.macs(inputs, output) + (output.numel() if self.bias is not None else 0)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"connections={self.weight.shape[0]}, bias={self.bias is not None}")


class LeNet5(Sequential):
    """LeNet-5: LeCun, Bottou, Bengio, Haffner (1998), "Gradient-based learning applied to document
    recognition", Proc. IEEE 86(11).

    ``classic=True``, the paper's network (Section II.B) on a 32×32 input:

    ======  ===========================================  ============  ===========  ===========
    layer   what                                         output        parameters   connections
    ======  ===========================================  ============  ===========  ===========
    C1      conv 5×5, 6 maps                             6@28×28       156          122,304
    S2      subsampling 2×2: coefficient + bias per map  6@14×14       12           5,880
    C3      conv 5×5, 16 maps, Table I connections       16@10×10      1,516        151,600
    S4      subsampling 2×2                              16@5×5        32           2,000
    C5      conv 5×5, 120 maps (fully connected to S4)   120@1×1       48,120       48,120
    F6      fully connected, 84 units                    84            10,164       10,164
    output  fully connected, num_classes units           num_classes   850 (10)     850
    ======  ===========================================  ============  ===========  ===========

    Every layer up to F6 is followed by the squashing function 1.7159·tanh(2a/3)
    (:class:`ScaledTanh`); 60,000 trainable parameters up to F6 as in the paper.
    The paper's output layer is 10 Euclidean RBF units with fixed (hand-chosen)
    parameter vectors; here it is the trainable equivalent, a linear layer to be
    used with cross-entropy. Weights start as in Appendix C, uniform in
    ±2.4/F_i for a unit of fan-in F_i.

    ``classic=False``, the modern variant: conv 6@5×5 → ReLU → max-pool 2 →
    conv 16@5×5 (all 6 maps) → ReLU → max-pool 2 → flatten → 120 → ReLU → 84 →
    ReLU → num_classes; 61,706 parameters for 10 classes on 1×32×32, PyTorch's
    default initialisation.

    Both take a 32×32 input (the flattened features must have 120, resp. 400,
    entries). The layers are named after the paper (``c1``, ``s2``, …,
    ``output``), with ``act<i>`` the activation after layer i.

    Args:
        num_classes: output units (default 10).
        in_channels: input maps (default 1).
        classic: the paper's network (True) or the modern variant (False, default).

    Shape: input (N, in_channels, 32, 32) -> output (N, num_classes).

    Example:
        >>> net = LeNet5(classic=True)
        >>> net(shendu.randn(2, 1, 32, 32)).shape
        (2, 10)
    """

    def __init__(self, num_classes=10, in_channels=1, classic=False):
        layers = _classic_layers(num_classes, in_channels) if classic else _modern_layers(num_classes, in_channels)
        super().__init__(OrderedDict(layers))
        self.classic = bool(classic)
        if classic:
            lecun1998_init_(self)

    def extra_repr(self):
        return f"classic={self.classic}"


def _classic_layers(num_classes, in_channels):
    return [("c1", Conv2d(in_channels, 6, 5)), ("act1", ScaledTanh()),
            ("s2", Subsampling2d(6)), ("act2", ScaledTanh()),
            ("c3", ConnectionTableConv2d(6, LENET5_C3_TABLE, 5)), ("act3", ScaledTanh()),
            ("s4", Subsampling2d(16)), ("act4", ScaledTanh()),
            ("c5", Conv2d(16, 120, 5)), ("act5", ScaledTanh()),
            ("flatten", Flatten()),
            ("f6", Linear(120, 84)), ("act6", ScaledTanh()),
            ("output", Linear(84, num_classes))]


def _modern_layers(num_classes, in_channels):
    return [("c1", Conv2d(in_channels, 6, 5)), ("act1", ReLU()), ("s2", MaxPool2d(2)),
            ("c3", Conv2d(6, 16, 5)), ("act3", ReLU()), ("s4", MaxPool2d(2)),
            ("flatten", Flatten()),
            ("c5", Linear(16 * 5 * 5, 120)), ("act5", ReLU()),
            ("f6", Linear(120, 84)), ("act6", ReLU()),
            ("output", Linear(84, num_classes))]


def lecun1998_init_(model):
    """Draw every weight and bias uniformly in ±2.4/F_i, F_i the fan-in of its unit (LeCun et al. 1998, Appendix C).

    Knows :class:`shendu.nn.Conv2d`, :class:`shendu.nn.Linear`,
    :class:`Subsampling2d` and :class:`ConnectionTableConv2d`; other modules are left alone.
    Returns the model.
    """
    for m in model.modules():
        if isinstance(m, ConnectionTableConv2d):
            m.uniform_per_map_(lambda fan: 2.4 / fan)
            continue
        if isinstance(m, Subsampling2d):
            fan = m.kernel_size ** 2
        elif isinstance(m, (Conv2d, Linear)):
            fan = math.prod(m.weight.shape[1:])
        else:
            continue
        for p in (m.weight, m.bias):
            if p is not None:
                init.uniform_(p, -2.4 / fan, 2.4 / fan)
    return model


@register_model("lenet5", "LeNet-5, modern: ReLU, max-pooling, full C3 (LeCun et al. 1998)",
                input_shape=(1, 32, 32), num_classes=10)
def lenet5(num_classes=10, in_channels=1, classic=False, pretrained=None):
    """LeNet-5 (LeCun et al. 1998): the paper's network with ``classic=True``, else the modern variant.

    See :class:`LeNet5`. Example: ``lenet5(classic=True).num_parameters()`` is 60,850 (60,000 up to F6).
    ``pretrained="mnist"``: the modern network with the weights shendu ships, in eval mode
    (:mod:`shendu.models.pretrained`; inputs via ``pretrained.preprocess``).
    """
    net = LeNet5(num_classes=num_classes, in_channels=in_channels, classic=classic)
    if pretrained is not None:
        from .pretrained import load_pretrained  # on use: reads a file
        load_pretrained(net, "lenet5" if not classic else "lenet5_classic", pretrained)
    return net


@register_model("lenet5_classic", "LeNet-5 as in LeCun et al. 1998: scaled tanh, trainable subsampling, "
                "Table I C3", input_shape=(1, 32, 32), num_classes=10)
def lenet5_classic(num_classes=10, in_channels=1):
    """The paper's LeNet-5, ``lenet5(classic=True)``."""
    return LeNet5(num_classes=num_classes, in_channels=in_channels, classic=True)


__all__ = ["LeNet5", "lenet5", "lenet5_classic", "ScaledTanh", "Subsampling2d", "ConnectionTableConv2d",
           "LENET5_C3_TABLE", "lecun1998_init_"]
