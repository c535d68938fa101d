"""AlexNet (Krizhevsky, Sutskever and Hinton 2012): torchvision's single tower and the paper's two-GPU form."""
from __future__ import annotations

from ..nn import (AdaptiveAvgPool2d, Conv2d, Dropout, Linear, LocalResponseNorm, MaxPool2d, Module, ReLU,
                  Sequential)
from .registry import register_model


class AlexNet(Module):
    """AlexNet: Krizhevsky, Sutskever, Hinton (2012), "ImageNet classification with deep convolutional
    neural networks", NeurIPS 25.

    ====================  ===============================  =====================================
    layer                 single tower (default)           ``original=True`` (the paper)
    ====================  ===============================  =====================================
    conv1                 64@11×11 /4, pad 2, ReLU         96@11×11 /4, pad 2, ReLU, LRN
    pool1                 max 3×3 /2                       max 3×3 /2 (overlapping)
    conv2                 192@5×5, pad 2, ReLU             256@5×5, pad 2, groups 2, ReLU, LRN
    pool2                 max 3×3 /2                       max 3×3 /2
    conv3                 384@3×3, pad 1, ReLU             384@3×3, pad 1, ReLU (across GPUs)
    conv4                 256@3×3, pad 1, ReLU             384@3×3, pad 1, groups 2, ReLU
    conv5                 256@3×3, pad 1, ReLU             256@3×3, pad 1, groups 2, ReLU
    pool5                 max 3×3 /2 → 6×6 on 224×224      max 3×3 /2 → 6×6
    fc6, fc7              4096, ReLU, dropout 0.5          4096, ReLU, dropout 0.5
    fc8                   num_classes                      num_classes
    parameters (1000)     61,100,840                       60,965,224
    ====================  ===============================  =====================================

    The single tower is torchvision's ``alexnet`` (the layout of Krizhevsky's
    2014 "One weird trick" paper), with its module and parameter names
    (``features.0.weight``, ``classifier.1.weight``…). ``original=True`` is the
    paper's network: its split over two GPUs is ``groups=2`` in conv2, conv4 and
    conv5 (each half of the maps sees only the maps of its own GPU), local
    response normalisation after the first two ReLUs with the paper's k = 2,
    n = 5, α = 10⁻⁴, β = 0.75 (``LocalResponseNorm(5, alpha=5e-4, k=2)``, whose
    α is divided by n), and overlapping 3×3 max-pooling of stride 2; dropout
    follows fc6 and fc7. Both end with ``AdaptiveAvgPool2d(6)`` (the identity on
    a 224×224 input) so that smaller inputs, down to 63×63, also work.

    Args:
        num_classes: output units (default 1000).
        in_channels: input channels (default 3).
        original: the paper's two-GPU network instead of the single tower (default False).
        dropout: drop probability before/after the fully connected layers (default 0.5).

    Shape: input (N, in_channels, H, W), H, W ≥ 63 -> output (N, num_classes).

    Example:
        >>> AlexNet(num_classes=10)(shendu.randn(1, 3, 63, 63)).shape
        (1, 10)
    """

    def __init__(self, num_classes=1000, in_channels=3, original=False, dropout=0.5):
        super().__init__()
        self.original = bool(original)
        if original:
            self.features = Sequential(
                Conv2d(in_channels, 96, 11, stride=4, padding=2), ReLU(), _paper_lrn(), MaxPool2d(3, stride=2),
                Conv2d(96, 256, 5, padding=2, groups=2), ReLU(), _paper_lrn(), MaxPool2d(3, stride=2),
                Conv2d(256, 384, 3, padding=1), ReLU(),
                Conv2d(384, 384, 3, padding=1, groups=2), ReLU(),
                Conv2d(384, 256, 3, padding=1, groups=2), ReLU(), MaxPool2d(3, stride=2))
            self.avgpool = AdaptiveAvgPool2d((6, 6))
            self.classifier = Sequential(
                Linear(256 * 6 * 6, 4096), ReLU(), Dropout(dropout),
                Linear(4096, 4096), ReLU(), Dropout(dropout), Linear(4096, num_classes))
        else:  # torchvision's layout, index for index
            self.features = Sequential(
                Conv2d(in_channels, 64, 11, stride=4, padding=2), ReLU(), MaxPool2d(3, stride=2),
                Conv2d(64, 192, 5, padding=2), ReLU(), MaxPool2d(3, stride=2),
                Conv2d(192, 384, 3, padding=1), ReLU(),
                Conv2d(384, 256, 3, padding=1), ReLU(),
                Conv2d(256, 256, 3, padding=1), ReLU(), MaxPool2d(3, stride=2))
            self.avgpool = AdaptiveAvgPool2d((6, 6))
            self.classifier = Sequential(
                Dropout(dropout), Linear(256 * 6 * 6, 4096), ReLU(),
                Dropout(dropout), Linear(4096, 4096), ReLU(), Linear(4096, num_classes))

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))

    def extra_repr(self):
        return f"original={self.original}"


def _paper_lrn():
    """b = a / (k + α·Σ_{n neighbours} a²)^β with the paper's k = 2, n = 5, α = 10⁻⁴, β = 0.75."""
    return LocalResponseNorm(5, alpha=5 * 1e-4, beta=0.75, k=2.0)


@register_model("alexnet", "AlexNet, single tower as torchvision (Krizhevsky et al. 2012)",
                input_shape=(3, 224, 224), num_classes=1000)
def alexnet(num_classes=1000, in_channels=3, original=False, dropout=0.5):
    """AlexNet (Krizhevsky et al. 2012); ``original=True`` for the paper's two-GPU form. See :class:`AlexNet`."""
    return AlexNet(num_classes=num_classes, in_channels=in_channels, original=original, dropout=dropout)


@register_model("alexnet_original", "AlexNet as in the paper: groups=2 in conv2/4/5, LRN, overlapping pooling",
                input_shape=(3, 224, 224), num_classes=1000)
def alexnet_original(num_classes=1000, in_channels=3, dropout=0.5):
    """The paper's two-GPU AlexNet, ``alexnet(original=True)``."""
    return AlexNet(num_classes=num_classes, in_channels=in_channels, original=True, dropout=dropout)


__all__ = ["AlexNet", "alexnet", "alexnet_original"]
