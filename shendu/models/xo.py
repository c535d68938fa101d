"""The X-versus-O classifier: the smallest convolutional network that learns something (examples/xo_walkthrough.py)."""
from __future__ import annotations

from collections import OrderedDict

from ..nn import Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential
from .registry import register_model


class XONet(Sequential):
    """A tiny CNN that tells X from O: convolution → ReLU → max-pool → dense.

    The network of Brandon Rohrer's walkthrough "How do convolutional neural
    networks work?" (2016), which explains a CNN on images of X and O: a few
    filters respond to the strokes (diagonals, curves), ReLU keeps the matches,
    pooling makes them tolerant to small shifts, and a dense layer votes.

    ========  ==========================================  =========================
    layer     what                                        output (28×28 input)
    ========  ==========================================  =========================
    conv      ``channels`` k×k filters, padding k // 2    channels@28×28
    relu      max(x, 0)                                   channels@28×28
    pool      2×2 max-pool                                channels@14×14
    flatten                                               channels·14·14
    fc        dense, num_classes votes                    num_classes
    ========  ==========================================  =========================

    With the defaults (4 filters of 5×5, 28×28 images, 2 classes): 104 + 1,570
    = 1,674 parameters. Images come from :func:`shendu.data.make_xo`.

    Args:
        num_classes: outputs (default 2: O, X).  in_channels: input channels (default 1).
        image_size: the side of the square input (default 28, ``make_xo``'s).
        channels: the number of filters (default 4).  kernel_size: their odd side (default 5).

    Shape: input (N, in_channels, image_size, image_size) -> output (N, num_classes).

    Example:
        >>> net = XONet()
        >>> net(shendu.zeros(2, 1, 28, 28)).shape, net.num_parameters()
        ((2, 2), 1674)
    """

    def __init__(self, num_classes=2, in_channels=1, image_size=28, channels=4, kernel_size=5):
        pooled = image_size // 2
        super().__init__(OrderedDict([
            ("conv", Conv2d(in_channels, channels, kernel_size, padding=kernel_size // 2)),
            ("relu", ReLU()),
            ("pool", MaxPool2d(2)),
            ("flatten", Flatten()),
            ("fc", Linear(channels * pooled * pooled, num_classes))]))


@register_model("xo_cnn", "The tiny X-vs-O CNN: conv → ReLU → max-pool → dense (Rohrer 2016)",
                input_shape=(1, 28, 28), num_classes=2)
def xo_cnn(num_classes=2, in_channels=1, image_size=28, channels=4, kernel_size=5):
    """The X-versus-O classifier. See :class:`XONet`."""
    return XONet(num_classes=num_classes, in_channels=in_channels, image_size=image_size, channels=channels,
                 kernel_size=kernel_size)


__all__ = ["XONet", "xo_cnn"]
