"""Residual networks (He, Zhang, Ren and Sun 2015): the ImageNet ResNets and the CIFAR-10 ResNets."""
from __future__ import annotations

from ..nn import AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Linear, MaxPool2d, Module, ReLU, Sequential, init
from ..ops import pad
from .registry import register_model


def conv3x3(in_planes, out_planes, stride=1):
    """3×3 convolution, padding 1, no bias (a batch norm follows)."""
    return Conv2d(in_planes, out_planes, 3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes, out_planes, stride=1):
    """1×1 convolution, no bias."""
    return Conv2d(in_planes, out_planes, 1, stride=stride, bias=False)


class BasicBlock(Module):
    """The two-layer residual block of ResNet-18/34 and the CIFAR ResNets (He et al. 2015, Fig. 2).

        y = relu(x' + bn2(conv2(relu(bn1(conv1(x))))))

    with conv1, conv2 3×3 (conv1 of stride ``stride``) and x' = x, or
    ``downsample(x)`` when the shape changes.

    Args:
        inplanes: input channels.  planes: output channels (``expansion`` = 1).
        stride: stride of conv1 (default 1; 2 halves H and W).
        downsample: the shortcut module when stride ≠ 1 or inplanes ≠ planes
            (torchvision's ``Sequential(conv1x1, BatchNorm2d)``, or
            :class:`ZeroPadShortcut`), None for the identity.

    Shape: input (N, inplanes, H, W) -> output (N, planes, ⌈H/stride⌉, ⌈W/stride⌉).

    Example:
        >>> BasicBlock(64, 64)(shendu.randn(1, 64, 8, 8)).shape
        (1, 64, 8, 8)
    """

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = BatchNorm2d(planes)
        self.relu = ReLU()
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(Module):
    """The three-layer bottleneck block of ResNet-50/101/152 (He et al. 2015, Fig. 5 right).

        y = relu(x' + bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))))

    conv1 1×1 reduces to ``planes`` channels, conv2 3×3 (stride ``stride``,
    torchvision's "ResNet v1.5" placement; the paper strides conv1) and conv3
    1×1 expands to 4·planes; x' = x or ``downsample(x)``.

    Args:
        inplanes: input channels.  planes: the bottleneck width (output 4·planes).
        stride: stride of conv2 (default 1).  downsample: as in :class:`BasicBlock`.

    Shape: input (N, inplanes, H, W) -> output (N, 4·planes, ⌈H/stride⌉, ⌈W/stride⌉).

    Example:
        >>> Bottleneck(256, 64)(shendu.randn(1, 256, 8, 8)).shape
        (1, 256, 8, 8)
    """

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv1x1(inplanes, planes)
        self.bn1 = BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = BatchNorm2d(planes * self.expansion)
        self.relu = ReLU()
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ZeroPadShortcut(Module):
    """The parameter-free shortcut of option A (He et al. 2015, Sec. 3.3): subsample, then pad channels with zeros.

        y[:, :C_in] = x[:, :, ::s, ::s],   y[:, C_in:] = 0

    Args:
        in_channels: C_in.  out_channels: C_out ≥ C_in.  stride: s (default 2).

    Shape: input (N, C_in, H, W) -> output (N, C_out, ⌈H/s⌉, ⌈W/s⌉).

    Example:
        >>> ZeroPadShortcut(16, 32)(shendu.randn(1, 16, 8, 8)).shape
        (1, 32, 4, 4)
    """

    def __init__(self, in_channels, out_channels, stride=2):
        super().__init__()
        if out_channels < in_channels:
            raise ValueError(f"ZeroPadShortcut: out_channels must be at least in_channels, got "
                             f"in_channels={in_channels}, out_channels={out_channels}")
        self.in_channels, self.out_channels, self.stride = int(in_channels), int(out_channels), int(stride)

    def forward(self, x):
        s = self.stride
        return pad(x[:, :, ::s, ::s], (0, 0, 0, 0, 0, self.out_channels - self.in_channels))

    def extra_repr(self):
        return f"{self.in_channels}, {self.out_channels}, stride={self.stride}"


def _init_resnet(model, zero_init_residual):
    """torchvision's initialisation: convolutions He-normal (fan-out), batch norms γ = 1, β = 0.

    ``zero_init_residual`` sets the γ of each block's last batch norm to 0, so
    that every block starts as the identity (Goyal et al. 2017).
    """
    for m in model.modules():
        if isinstance(m, Conv2d):
            init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, BatchNorm2d):
            init.ones_(m.weight)
            init.zeros_(m.bias)
    if zero_init_residual:
        for m in model.modules():
            if isinstance(m, Bottleneck):
                init.zeros_(m.bn3.weight)
            elif isinstance(m, BasicBlock):
                init.zeros_(m.bn2.weight)


def _stage(block, inplanes, planes, blocks, stride, shortcut):
    """``blocks`` residual blocks; the first has stride ``stride`` and a shortcut that fits the shapes."""
    downsample = None
    if stride != 1 or inplanes != planes * block.expansion:
        downsample = shortcut(inplanes, planes * block.expansion, stride)
    layers = [block(inplanes, planes, stride, downsample)]
    layers += [block(planes * block.expansion, planes) for _ in range(1, blocks)]
    return Sequential(layers)


def projection_shortcut(in_channels, out_channels, stride):
    """Option B: a 1×1 convolution of stride ``stride`` and a batch norm (torchvision's ``downsample``)."""
    return Sequential(conv1x1(in_channels, out_channels, stride), BatchNorm2d(out_channels))


class ResNet(Module):
    """ResNet for ImageNet: He, Zhang, Ren, Sun (2015), "Deep residual learning for image recognition",
    CVPR 2016 (arXiv:1512.03385).

    Table 1 of the paper (output size for a 224×224 input):

    =======  ========  =============================================================
    stage    output    layers
    =======  ========  =============================================================
    conv1    112×112   7×7, 64, stride 2 → BN → ReLU
    pool     56×56     3×3 max-pool, stride 2
    layer1   56×56     blocks of width 64
    layer2   28×28     blocks of width 128 (first stride 2)
    layer3   14×14     blocks of width 256 (first stride 2)
    layer4   7×7       blocks of width 512 (first stride 2)
             1×1       global average pool → fc num_classes
    =======  ========  =============================================================

    ResNet-18 [2, 2, 2, 2] and -34 [3, 4, 6, 3] :class:`BasicBlock` s; -50
    [3, 4, 6, 3], -101 [3, 4, 23, 3], -152 [3, 8, 36, 3] :class:`Bottleneck` s
    (output 4× the width). Shortcuts are projections (option B) where the shape
    changes. Parameters for 1000 classes: 11,689,512 / 21,797,672 / 25,557,032
    / 44,549,160 / 60,192,808. Module and parameter names, shapes and
    initialisation are torchvision's (``conv1.weight``, ``bn1.running_mean``,
    ``layer1.0.conv1.weight``, ``layer2.0.downsample.0.weight``, ``fc.weight``),
    so that its weights load.

    Args:
        block: :class:`BasicBlock` or :class:`Bottleneck`.
        layers: the number of blocks of each of the four stages.
        num_classes: output units (default 1000).  in_channels: input channels (default 3).
        zero_init_residual: start each block's last batch-norm γ at 0 (default False).

    Shape: input (N, in_channels, H, W), H, W ≥ 32 -> output (N, num_classes).

    Example:
        >>> resnet18(num_classes=10)(shendu.randn(2, 3, 32, 32)).shape
        (2, 10)
    """

    def __init__(self, block, layers, num_classes=1000, in_channels=3, zero_init_residual=False):
        super().__init__()
        self.conv1 = Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = BatchNorm2d(64)
        self.relu = ReLU()
        self.maxpool = MaxPool2d(3, stride=2, padding=1)
        widths, inplanes = (64, 128, 256, 512), 64
        for i, (planes, blocks) in enumerate(zip(widths, layers)):
            stage = _stage(block, inplanes, planes, blocks, 1 if i == 0 else 2, projection_shortcut)
            setattr(self, f"layer{i + 1}", stage)
            inplanes = planes * block.expansion
        self.avgpool = AdaptiveAvgPool2d((1, 1))
        self.fc = Linear(512 * block.expansion, num_classes)
        _init_resnet(self, zero_init_residual)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


class CifarResNet(Module):
    """The CIFAR-10 ResNets of He, Zhang, Ren, Sun (2015), "Deep residual learning for image recognition",
    Section 4.2: depth 6n + 2.

    ==========  =======  =========================================
    stage       output   layers
    ==========  =======  =========================================
    conv1       32×32    3×3, 16 → BN → ReLU
    layer1      32×32    n :class:`BasicBlock` s of width 16
    layer2      16×16    n blocks of width 32 (first stride 2)
    layer3      8×8      n blocks of width 64 (first stride 2)
                1×1      global average pool → fc num_classes
    ==========  =======  =========================================

    n = 3, 5, 7, 9, 18 gives ResNet-20, 32, 44, 56, 110 with 269,722 /
    464,154 / 658,586 / 853,018 / 1,727,962 parameters for 10 classes (the
    paper's 0.27M, 0.46M, 0.66M, 0.85M, 1.7M) using the paper's option-A
    shortcuts (:class:`ZeroPadShortcut`, no parameters); ``shortcut="B"`` uses
    1×1 projections instead.

    Args:
        depth: 6n + 2 (20, 32, 44, 56, 110, …).
        num_classes: output units (default 10).  in_channels: input channels (default 3).
        shortcut: ``"A"`` (zero padding, default) or ``"B"`` (projection) where the shape changes.
        zero_init_residual: start each block's last batch-norm γ at 0 (default False).

    Shape: input (N, in_channels, H, W) -> output (N, num_classes).

    Example:
        >>> CifarResNet(20)(shendu.randn(2, 3, 32, 32)).shape
        (2, 10)
    """

    def __init__(self, depth, num_classes=10, in_channels=3, shortcut="A", zero_init_residual=False):
        super().__init__()
        if depth < 8 or (depth - 2) % 6:
            raise ValueError(f"CifarResNet: depth must be 6n + 2 with n ≥ 1 (20, 32, 44, 56, 110…), got {depth}")
        if shortcut not in ("A", "B"):
            raise ValueError(f"CifarResNet: shortcut must be 'A' (zero padding) or 'B' (projection), got {shortcut!r}")
        n = (depth - 2) // 6
        self.depth, self.shortcut = depth, shortcut
        self.conv1 = conv3x3(in_channels, 16)
        self.bn1 = BatchNorm2d(16)
        self.relu = ReLU()
        make_shortcut = ZeroPadShortcut if shortcut == "A" else projection_shortcut
        self.layer1 = _stage(BasicBlock, 16, 16, n, 1, make_shortcut)
        self.layer2 = _stage(BasicBlock, 16, 32, n, 2, make_shortcut)
        self.layer3 = _stage(BasicBlock, 32, 64, n, 2, make_shortcut)
        self.avgpool = AdaptiveAvgPool2d((1, 1))
        self.fc = Linear(64, num_classes)
        _init_resnet(self, zero_init_residual)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(self.avgpool(x).flatten(1))

    def extra_repr(self):
        return f"depth={self.depth}, shortcut={self.shortcut!r}"


_IMAGENET = dict(input_shape=(3, 224, 224), num_classes=1000)
_CIFAR = dict(input_shape=(3, 32, 32), num_classes=10)


@register_model("resnet18", "ResNet-18, BasicBlock [2,2,2,2] (He et al. 2015)", **_IMAGENET)
def resnet18(num_classes=1000, in_channels=3, **kwargs):
    """ResNet-18: :class:`BasicBlock` × [2, 2, 2, 2]; 11,689,512 parameters for 1000 classes."""
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes, in_channels, **kwargs)


@register_model("resnet34", "ResNet-34, BasicBlock [3,4,6,3] (He et al. 2015)", **_IMAGENET)
def resnet34(num_classes=1000, in_channels=3, **kwargs):
    """ResNet-34: :class:`BasicBlock` × [3, 4, 6, 3]; 21,797,672 parameters for 1000 classes."""
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes, in_channels, **kwargs)


@register_model("resnet50", "ResNet-50, Bottleneck [3,4,6,3] (He et al. 2015)", **_IMAGENET)
def resnet50(num_classes=1000, in_channels=3, **kwargs):
    """ResNet-50: :class:`Bottleneck` × [3, 4, 6, 3]; 25,557,032 parameters for 1000 classes."""
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes, in_channels, **kwargs)


@register_model("resnet101", "ResNet-101, Bottleneck [3,4,23,3] (He et al. 2015)", **_IMAGENET)
def resnet101(num_classes=1000, in_channels=3, **kwargs):
    """ResNet-101: :class:`Bottleneck` × [3, 4, 23, 3]; 44,549,160 parameters for 1000 classes."""
    return ResNet(Bottleneck, [3, 4, 23, 3], num_classes, in_channels, **kwargs)


@register_model("resnet152", "ResNet-152, Bottleneck [3,8,36,3] (He et al. 2015)", **_IMAGENET)
def resnet152(num_classes=1000, in_channels=3, **kwargs):
    """ResNet-152: :class:`Bottleneck` × [3, 8, 36, 3]; 60,192,808 parameters for 1000 classes."""
    return ResNet(Bottleneck, [3, 8, 36, 3], num_classes, in_channels, **kwargs)


@register_model("resnet20", "CIFAR ResNet-20, option-A shortcuts (He et al. 2015)", **_CIFAR)
def resnet20(num_classes=10, in_channels=3, **kwargs):
    """CIFAR ResNet-20 (n = 3): 269,722 parameters for 10 classes (the paper's 0.27M). See :class:`CifarResNet`."""
    return CifarResNet(20, num_classes, in_channels, **kwargs)


@register_model("resnet32", "CIFAR ResNet-32, option-A shortcuts (He et al. 2015)", **_CIFAR)
def resnet32(num_classes=10, in_channels=3, **kwargs):
    """CIFAR ResNet-32 (n = 5): 464,154 parameters for 10 classes (0.46M)."""
    return CifarResNet(32, num_classes, in_channels, **kwargs)


@register_model("resnet44", "CIFAR ResNet-44, option-A shortcuts (He et al. 2015)", **_CIFAR)
def resnet44(num_classes=10, in_channels=3, **kwargs):
    """CIFAR ResNet-44 (n = 7): 658,586 parameters for 10 classes (0.66M)."""
    return CifarResNet(44, num_classes, in_channels, **kwargs)


@register_model("resnet56", "CIFAR ResNet-56, option-A shortcuts (He et al. 2015)", **_CIFAR)
def resnet56(num_classes=10, in_channels=3, **kwargs):
    """CIFAR ResNet-56 (n = 9): 853,018 parameters for 10 classes (0.85M)."""
    return CifarResNet(56, num_classes, in_channels, **kwargs)


@register_model("resnet110", "CIFAR ResNet-110, option-A shortcuts (He et al. 2015)", **_CIFAR)
def resnet110(num_classes=10, in_channels=3, **kwargs):
    """CIFAR ResNet-110 (n = 18): 1,727,962 parameters for 10 classes (1.7M)."""
    return CifarResNet(110, num_classes, in_channels, **kwargs)


__all__ = ["ResNet", "CifarResNet", "BasicBlock", "Bottleneck", "ZeroPadShortcut", "projection_shortcut",
           "conv1x1", "conv3x3", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
           "resnet20", "resnet32", "resnet44", "resnet56", "resnet110"]
