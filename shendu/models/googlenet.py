"""GoogLeNet, Inception v1 (Szegedy et al. 2014), built from the reusable :class:`Inception` layer."""
from __future__ import annotations

from collections import namedtuple

from ..nn import (AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Dropout, Identity, Linear, LocalResponseNorm, MaxPool2d,
                  Module, ReLU, Sequential)
from ..ops import concatenate
from .registry import register_model

GoogLeNetOutputs = namedtuple("GoogLeNetOutputs", "logits aux_logits2 aux_logits1")
GoogLeNetOutputs.__doc__ = """What GoogLeNet returns in training with auxiliary classifiers (torchvision's order)."""


class BasicConv2d(Module):
    """Convolution → [batch norm] → ReLU, the unit every GoogLeNet layer is made of.

    Without batch norm (the paper) the convolution has a bias; with it
    (torchvision's ``BasicConv2d``) the convolution has none and the batch
    norm has ε = 0.001.

    Args:
        in_channels, out_channels: channels.  batch_norm: add BatchNorm2d (default False).
        **kwargs: ``kernel_size``, ``stride``, ``padding`` of :class:`shendu.nn.Conv2d`.

    Shape: input (N, in_channels, H, W) -> output (N, out_channels, H_out, W_out).
    """

    def __init__(self, in_channels, out_channels, batch_norm=False, **kwargs):
        super().__init__()
        self.conv = Conv2d(in_channels, out_channels, bias=not batch_norm, **kwargs)
        self.bn = BatchNorm2d(out_channels, eps=0.001) if batch_norm else Identity()
        self.relu = ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class Inception(Module):
    """The Inception module (Szegedy et al. 2014, Fig. 2b): four branches concatenated along the channels.

        y = concat(branch1(x), branch2(x), branch3(x), branch4(x))

    * branch1: 1×1 convolution, ``ch1x1`` maps;
    * branch2: 1×1 reduction to ``ch3x3red`` maps, then 3×3 convolution (pad 1), ``ch3x3`` maps;
    * branch3: 1×1 reduction to ``ch5x5red`` maps, then 5×5 convolution (pad 2), ``ch5x5`` maps;
    * branch4: 3×3 max-pool (stride 1, pad 1), then 1×1 projection to ``pool_proj`` maps;

    each convolution followed by ReLU (a :class:`BasicConv2d`). The 1×1
    reductions keep the 3×3 and 5×5 convolutions cheap.

    Args:
        in_channels: input maps.
        ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj: the columns of the paper's Table 1.
        batch_norm: batch norm after each convolution (default False; torchvision's GoogLeNet has it).

    Shape: input (N, in_channels, H, W) -> output (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W).

    Example:
        >>> block = Inception(192, 64, 96, 128, 16, 32, 32)     # inception (3a)
        >>> block(shendu.randn(1, 192, 28, 28)).shape
        (1, 256, 28, 28)
    """

    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj, batch_norm=False):
        super().__init__()
        bn = batch_norm
        self.branch1 = BasicConv2d(in_channels, ch1x1, bn, kernel_size=1)
        self.branch2 = Sequential(BasicConv2d(in_channels, ch3x3red, bn, kernel_size=1),
                                  BasicConv2d(ch3x3red, ch3x3, bn, kernel_size=3, padding=1))
        self.branch3 = Sequential(BasicConv2d(in_channels, ch5x5red, bn, kernel_size=1),
                                  BasicConv2d(ch5x5red, ch5x5, bn, kernel_size=5, padding=2))
        self.branch4 = Sequential(MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                  BasicConv2d(in_channels, pool_proj, bn, kernel_size=1))

    def forward(self, x):
        return concatenate([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], axis=1)


class InceptionAux(Module):
    """An auxiliary classifier (Szegedy et al. 2014, Sec. 5): pool to 4×4 → 1×1 conv 128 → fc 1024 → dropout 0.7 → fc.

    The paper pools 5×5 with stride 3, which gives 4×4 on the 14×14 maps of a
    224×224 input; ``AdaptiveAvgPool2d(4)`` (torchvision's choice) gives 4×4 on
    any input.

    Args:
        in_channels: input maps.  num_classes: outputs.
        batch_norm: as in :class:`BasicConv2d`.  dropout: drop probability (default 0.7).

    Shape: input (N, in_channels, H, W) -> output (N, num_classes).
    """

    def __init__(self, in_channels, num_classes, batch_norm=False, dropout=0.7):
        super().__init__()
        self.avgpool = AdaptiveAvgPool2d((4, 4))
        self.conv = BasicConv2d(in_channels, 128, batch_norm, kernel_size=1)
        self.fc1 = Linear(2048, 1024)
        self.relu = ReLU()
        self.dropout = Dropout(dropout)
        self.fc2 = Linear(1024, num_classes)

    def forward(self, x):
        x = self.conv(self.avgpool(x)).flatten(1)
        return self.fc2(self.dropout(self.relu(self.fc1(x))))


class GoogLeNet(Module):
    """GoogLeNet (Inception v1): Szegedy, Liu, Jia, Sermanet, Reed, Anguelov, Erhan, Vanhoucke, Rabinovich
    (2014), "Going deeper with convolutions", CVPR 2015 (arXiv:1409.4842).

    Table 1 of the paper (output size for a 224×224 input; #1×1, #3×3 reduce,
    #3×3, #5×5 reduce, #5×5, pool proj for the Inception modules):

    ===============  ==========  ===========================================
    layer            output      configuration
    ===============  ==========  ===========================================
    conv1            112×112×64  7×7 /2
    maxpool1 (+LRN)  56×56×64    3×3 /2
    conv2, conv3     56×56×192   1×1, 64; 3×3, 192 (+LRN)
    maxpool2         28×28×192   3×3 /2
    inception3a      28×28×256   64, 96, 128, 16, 32, 32
    inception3b      28×28×480   128, 128, 192, 32, 96, 64
    maxpool3         14×14×480   3×3 /2
    inception4a      14×14×512   192, 96, 208, 16, 48, 64   (→ aux1)
    inception4b–4d   14×14×528   160…112, 112…144, 224…288, 24…32, 64, 64
    inception4e      14×14×832   256, 160, 320, 32, 128, 128 (aux2 before it)
    maxpool4         7×7×832     2×2 /2
    inception5a      7×7×832     256, 160, 320, 32, 128, 128
    inception5b      7×7×1024    384, 192, 384, 48, 128, 128
    avgpool          1×1×1024    global average, dropout 0.4, fc num_classes
    ===============  ==========  ===========================================

    Parameters for 1000 classes: 6,998,552 as in the paper (biases, local
    response normalisation, no batch norm); 7,005,832 with ``batch_norm=True``,
    which is torchvision's ``googlenet`` (6,624,904) with the paper's 5×5
    convolutions in branch 3 where torchvision has 3×3 ones. The auxiliary
    classifiers add 3,188,968 + 3,191,016 (with batch norm) parameters. Module
    and parameter names are torchvision's (``conv1.conv.weight``,
    ``inception3a.branch2.1.conv.weight``, ``aux1.fc2.weight``, ``fc.weight``).

    With ``aux_logits=True`` the model returns, in training,
    ``GoogLeNetOutputs(logits, aux_logits2, aux_logits1)``; the paper adds the
    auxiliary losses with weight 0.3. In evaluation it returns the logits only.

    Args:
        num_classes: output units (default 1000).  in_channels: input channels (default 3).
        aux_logits: build the two auxiliary classifiers (default False).
        batch_norm: batch norm after every convolution instead of LRN (default False, the paper).
        dropout: before the last layer (default 0.4, the paper's).  aux_dropout: in the auxiliary classifiers (0.7).

    Shape: input (N, in_channels, H, W), H, W ≥ 32 -> output (N, num_classes).

    Example:
        >>> googlenet(num_classes=10)(shendu.randn(1, 3, 32, 32)).shape
        (1, 10)
    """

    def __init__(self, num_classes=1000, in_channels=3, aux_logits=False, batch_norm=False, dropout=0.4,
                 aux_dropout=0.7):
        super().__init__()
        bn, self.aux_logits, self.batch_norm = batch_norm, bool(aux_logits), bool(batch_norm)
        self.conv1 = BasicConv2d(in_channels, 64, bn, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = MaxPool2d(3, stride=2, ceil_mode=True)
        self.lrn1 = Identity() if bn else LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)
        self.conv2 = BasicConv2d(64, 64, bn, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, bn, kernel_size=3, padding=1)
        self.lrn2 = Identity() if bn else LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)
        self.maxpool2 = MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32, bn)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64, bn)
        self.maxpool3 = MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64, bn)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64, bn)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64, bn)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64, bn)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128, bn)
        self.maxpool4 = MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128, bn)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128, bn)
        if aux_logits:
            self.aux1 = InceptionAux(512, num_classes, bn, aux_dropout)
            self.aux2 = InceptionAux(528, num_classes, bn, aux_dropout)
        else:
            self.aux1 = self.aux2 = None
        self.avgpool = AdaptiveAvgPool2d((1, 1))
        self.dropout = Dropout(dropout)
        self.fc = Linear(1024, num_classes)

    def forward(self, x):
        x = self.maxpool1(self.conv1(x))
        x = self.lrn1(x)
        x = self.maxpool2(self.lrn2(self.conv3(self.conv2(x))))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux1 = self.aux1(x) if self.aux1 is not None and self.training else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if self.aux2 is not None and self.training else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        logits = self.fc(self.dropout(self.avgpool(x).flatten(1)))
        if aux1 is None:
            return logits
        return GoogLeNetOutputs(logits, aux2, aux1)

    def extra_repr(self):
        return f"aux_logits={self.aux_logits}, batch_norm={self.batch_norm}"


@register_model("googlenet", "GoogLeNet / Inception v1 (Szegedy et al. 2014)",
                input_shape=(3, 224, 224), num_classes=1000)
def googlenet(num_classes=1000, in_channels=3, aux_logits=False, batch_norm=False, **kwargs):
    """GoogLeNet (Inception v1, Szegedy et al. 2014). See :class:`GoogLeNet`."""
    return GoogLeNet(num_classes=num_classes, in_channels=in_channels, aux_logits=aux_logits,
                     batch_norm=batch_norm, **kwargs)


__all__ = ["GoogLeNet", "GoogLeNetOutputs", "Inception", "InceptionAux", "BasicConv2d", "googlenet"]
