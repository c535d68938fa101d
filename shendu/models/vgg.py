"""VGG (Simonyan and Zisserman 2014): configurations A, B, D, E with and without batch normalisation."""
from __future__ import annotations

from ..nn import AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Dropout, Linear, MaxPool2d, Module, ReLU, Sequential, init
from .registry import register_model

#: Table 1 of the paper: the width of each 3×3 convolution, "M" for a 2×2 max-pool of stride 2.
CONFIGS = {
    11: (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),                       # A
    13: (64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),              # B
    16: (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"),  # D
    19: (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
         512, 512, 512, 512, "M"),                                                               # E
}


def make_layers(config, in_channels=3, batch_norm=False):
    """The convolutional part of a VGG: each width w → Conv2d(3×3, pad 1) [→ BatchNorm2d] → ReLU; "M" → MaxPool2d(2).

    Returns a :class:`shendu.nn.Sequential` indexed as torchvision's ``features``.
    """
    layers = []
    for v in config:
        if v == "M":
            layers.append(MaxPool2d(2, stride=2))
            continue
        layers.append(Conv2d(in_channels, v, 3, padding=1))
        if batch_norm:
            layers.append(BatchNorm2d(v))
        layers.append(ReLU())
        in_channels = v
    return Sequential(layers)


class VGG(Module):
    """VGG: Simonyan, Zisserman (2014), "Very deep convolutional networks for large-scale image
    recognition", ICLR 2015 (arXiv:1409.1556).

    Table 1 of the paper (conv3-w: a 3×3 convolution of w maps, padding 1, then ReLU):

    ==========  ==========  ==========  ==========  ==========
    stage       A (11)      B (13)      D (16)      E (19)
    ==========  ==========  ==========  ==========  ==========
    1           conv3-64    conv3-64×2  conv3-64×2  conv3-64×2
    2           conv3-128   conv3-128×2 conv3-128×2 conv3-128×2
    3           conv3-256×2 conv3-256×2 conv3-256×3 conv3-256×4
    4           conv3-512×2 conv3-512×2 conv3-512×3 conv3-512×4
    5           conv3-512×2 conv3-512×2 conv3-512×3 conv3-512×4
    ==========  ==========  ==========  ==========  ==========

    each stage ending in 2×2 max-pooling, then FC-4096, FC-4096 (ReLU and
    dropout 0.5 each) and FC-num_classes. Parameters for 1000 classes: vgg11
    132,863,336, vgg13 133,047,848, vgg16 138,357,544, vgg19 143,667,240
    (``batch_norm=True`` adds 2 per channel: +5,504, +5,888, +8,448, +11,008).

    Structure, names and initialisation are torchvision's (``features.N``,
    ``avgpool`` = ``AdaptiveAvgPool2d(7)``, the identity on 224×224 inputs,
    ``classifier.N``), so that its weights load. Batch normalisation after each
    convolution is not in the paper (Ioffe and Szegedy 2015); it is torchvision's
    ``vgg*_bn``.

    Args:
        features: the convolutional layers (:func:`make_layers`).
        num_classes: output units (default 1000).
        dropout: drop probability in the classifier (default 0.5).
        init_weights: torchvision's initialisation — convolutions He-normal
            (fan-out), linear layers N(0, 0.01²), biases 0 (default True).

    Shape: input (N, C, H, W), H, W ≥ 32 -> output (N, num_classes).

    Example:
        >>> vgg11(num_classes=10)(shendu.randn(1, 3, 32, 32)).shape
        (1, 10)
    """

    def __init__(self, features, num_classes=1000, dropout=0.5, init_weights=True):
        super().__init__()
        self.features = features
        self.avgpool = AdaptiveAvgPool2d((7, 7))
        self.classifier = Sequential(
            Linear(512 * 7 * 7, 4096), ReLU(), Dropout(dropout),
            Linear(4096, 4096), ReLU(), Dropout(dropout),
            Linear(4096, num_classes))
        if init_weights:
            for m in self.modules():
                if isinstance(m, Conv2d):
                    init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    if m.bias is not None:
                        init.zeros_(m.bias)
                elif isinstance(m, BatchNorm2d):
                    init.ones_(m.weight)
                    init.zeros_(m.bias)
                elif isinstance(m, Linear):
                    init.normal_(m.weight, 0.0, 0.01)
                    init.zeros_(m.bias)

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def _vgg(depth, num_classes, in_channels, batch_norm, **kwargs):
    return VGG(make_layers(CONFIGS[depth], in_channels, batch_norm), num_classes=num_classes, **kwargs)


_IMAGENET = dict(input_shape=(3, 224, 224), num_classes=1000)


@register_model("vgg11", "VGG-11, configuration A (Simonyan & Zisserman 2014)", **_IMAGENET)
def vgg11(num_classes=1000, in_channels=3, batch_norm=False, **kwargs):
    """VGG-11 (configuration A), 132,863,336 parameters for 1000 classes. See :class:`VGG`."""
    return _vgg(11, num_classes, in_channels, batch_norm, **kwargs)


@register_model("vgg11_bn", "VGG-11 with batch normalisation", **_IMAGENET)
def vgg11_bn(num_classes=1000, in_channels=3, **kwargs):
    """VGG-11 with batch normalisation, ``vgg11(batch_norm=True)``."""
    return _vgg(11, num_classes, in_channels, True, **kwargs)


@register_model("vgg13", "VGG-13, configuration B (Simonyan & Zisserman 2014)", **_IMAGENET)
def vgg13(num_classes=1000, in_channels=3, batch_norm=False, **kwargs):
    """VGG-13 (configuration B), 133,047,848 parameters for 1000 classes. See :class:`VGG`."""
    return _vgg(13, num_classes, in_channels, batch_norm, **kwargs)


@register_model("vgg13_bn", "VGG-13 with batch normalisation", **_IMAGENET)
def vgg13_bn(num_classes=1000, in_channels=3, **kwargs):
    """VGG-13 with batch normalisation, ``vgg13(batch_norm=True)``."""
    return _vgg(13, num_classes, in_channels, True, **kwargs)


@register_model("vgg16", "VGG-16, configuration D (Simonyan & Zisserman 2014)", **_IMAGENET)
def vgg16(num_classes=1000, in_channels=3, batch_norm=False, **kwargs):
    """VGG-16 (configuration D), 138,357,544 parameters for 1000 classes. See :class:`VGG`."""
    return _vgg(16, num_classes, in_channels, batch_norm, **kwargs)


@register_model("vgg16_bn", "VGG-16 with batch normalisation", **_IMAGENET)
def vgg16_bn(num_classes=1000, in_channels=3, **kwargs):
    """VGG-16 with batch normalisation, ``vgg16(batch_norm=True)``."""
    return _vgg(16, num_classes, in_channels, True, **kwargs)


@register_model("vgg19", "VGG-19, configuration E (Simonyan & Zisserman 2014)", **_IMAGENET)
def vgg19(num_classes=1000, in_channels=3, batch_norm=False, **kwargs):
    """VGG-19 (configuration E), 143,667,240 parameters for 1000 classes. See :class:`VGG`."""
    return _vgg(19, num_classes, in_channels, batch_norm, **kwargs)


@register_model("vgg19_bn", "VGG-19 with batch normalisation", **_IMAGENET)
def vgg19_bn(num_classes=1000, in_channels=3, **kwargs):
    """VGG-19 with batch normalisation, ``vgg19(batch_norm=True)``."""
    return _vgg(19, num_classes, in_channels, True, **kwargs)


__all__ = ["VGG", "make_layers", "CONFIGS", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn",
           "vgg19", "vgg19_bn"]
