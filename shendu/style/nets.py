"""Feature spaces for style transfer: a random multi-scale network (offline) and VGG-19 (with its weights).

A :class:`FeatureSpace` is a network, the layers whose Gram matrices describe
style, the layer(s) whose maps describe content, the input normalisation and
the loss normalisation that suits it.
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ..backend import xp
from ..ops import concatenate
from ..models.features import feature_extractor
from ..models.vgg import CONFIGS, make_layers
from ..tensor import Tensor
from .losses import NORMALIZATIONS

__all__ = ["FeatureSpace", "RandomMultiScaleNet", "random_features", "vgg19_features", "VGG19Features", "VGG19_STYLE_LAYERS",
           "VGG19_CONTENT_LAYER"]

#: Gatys et al.'s style layers of VGG-19 (relu1_1, relu2_1, relu3_1, relu4_1, relu5_1) by torchvision index.
VGG19_STYLE_LAYERS = {"features.1": "relu1_1", "features.6": "relu2_1", "features.11": "relu3_1",
                      "features.20": "relu4_1", "features.29": "relu5_1"}
#: Their content layer, relu4_2.
VGG19_CONTENT_LAYER = {"features.22": "relu4_2"}
_IMAGENET_MEAN, _IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class FeatureSpace:
    """A network seen through named layers, as the style objective uses it.

    Args:
        model: a :class:`shendu.nn.Module` taking images (N, C, H, W).
        style_layers, content_layers: lists of dotted sub-module paths (or
            ``{path: short name}`` dicts), as for :func:`shendu.models.feature_extractor`.
        mean, std: per-channel input normalisation ``(x − mean) / std`` applied
            to images in [0, 1] before the model.
        normalization: ``"gatys"`` or ``"relative"`` (see :mod:`shendu.style.losses`).
        default_style_weight: the style weight that suits this space (``shendu style`` default).
        description: one line saying what the features are (printed by the CLI, quoted in the docs).

    Calling it returns ``{short name: features}`` for every style and content layer.
    """

    def __init__(self, model, style_layers, content_layers, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0),
                 normalization="relative", default_style_weight=1.0, description=""):
        if normalization not in NORMALIZATIONS:
            raise ValueError(f"FeatureSpace: normalization must be one of {NORMALIZATIONS}, got {normalization!r}")
        style = _as_dict(style_layers)
        content = _as_dict(content_layers)
        self.model = model.eval()
        for p in model.parameters():  # the network is fixed: only the image is optimised
            p.requires_grad_(False)
        self.style_layers, self.content_layers = list(style.values()), list(content.values())
        self._names = list(style.items()) + list(content.items())  # a layer may serve both (path → two names)
        self.extractor = feature_extractor(model, list(dict.fromkeys(path for path, _ in self._names)))
        self.mean = xp.asarray(mean, dtype=np.float32).reshape(1, -1, 1, 1)
        self.std = xp.asarray(std, dtype=np.float32).reshape(1, -1, 1, 1)
        self.normalization = normalization
        self.default_style_weight = float(default_style_weight)
        self.description = description

    def __call__(self, images):
        """Features of ``images`` (N, C, H, W) in [0, 1]: ``{short name: (N, C_l, H_l, W_l)}``."""
        if not isinstance(images, Tensor):
            images = Tensor(xp.asarray(images, dtype=np.float32))
        if images.ndim != 4:
            raise ValueError(f"FeatureSpace: expected images (N, C, H, W), got shape {tuple(images.shape)}")
        c = self.mean.shape[1]
        if images.shape[1] != c:
            raise ValueError(f"FeatureSpace: the network takes {c}-channel images, got {images.shape[1]} channels")
        out = self.extractor((images - Tensor(self.mean)) / Tensor(self.std))
        return {name: out[path] for path, name in self._names}

    def __repr__(self):
        return f"FeatureSpace({self.description or type(self.model).__name__})"


def _as_dict(layers):
    return dict(layers) if isinstance(layers, dict) else {str(n): str(n) for n in layers}


class RandomMultiScaleNet(nn.Module):
    """One convolutional layer of random filters at several scales, each followed by ReLU.

    After Ustyuzhaninov, Brendel, Gatys & Bethge (2017), "What does it take to
    generate natural textures?" (ICLR), whose best random model is a single
    layer of multi-scale filters (3×3 … 55×55, 128 of each). shendu's default
    is a CPU-sized version: 32 filters of each size 3, 5, 7, 11 on the image,
    and, for the large scales, 32 filters of 7×7 on the image average-pooled
    by 2 and by 4 (receptive fields 14 and 28 pixels at a quarter and a
    sixteenth of the cost of 14×14 and 28×28 filters). Every filter
    ``w ~ N(0, 1)`` is rescaled to unit L2 norm so that all scales respond with
    comparable magnitude; there are no biases. The input is expected centred
    (``FeatureSpace`` subtracts 0.5).

    Sub-modules ``scale3``, ``scale5``, … (Conv2d with "same" padding → ReLU) and
    ``pool2``, ``pool4``, … (AvgPool2d → Conv2d → ReLU) are the feature layers;
    ``forward`` returns their maps flattened and concatenated (N, Σ C·H·W).

    Args:
        sizes: odd filter sizes applied to the image. pooled: pooling factors of the
            extra 7×7 layers. filters: filters per layer. in_channels: 3.
        seed: the random weights' seed (a different seed is a different network).

    Shape: (N, in_channels, H, W) -> (N, F) with F the sum of the layers' C·H·W.
    """

    def __init__(self, sizes=(3, 5, 7, 11), pooled=(2, 4), filters=32, in_channels=3, seed=0):
        super().__init__()
        sizes, pooled = tuple(int(k) for k in sizes), tuple(int(f) for f in pooled)
        if not sizes + pooled or any(k < 1 or k % 2 == 0 for k in sizes) or any(f < 2 for f in pooled):
            raise ValueError(f"RandomMultiScaleNet: sizes must be odd filter sizes and pooled factors >= 2, "
                             f"got sizes={sizes}, pooled={pooled}")
        rng = np.random.default_rng(seed)
        self.layer_names = [f"scale{k}" for k in sizes] + [f"pool{f}" for f in pooled]
        for k in sizes:
            self.add_module(f"scale{k}", nn.Sequential(_random_conv(rng, in_channels, filters, k), nn.ReLU()))
        for f in pooled:
            self.add_module(f"pool{f}", nn.Sequential(nn.AvgPool2d(f), _random_conv(rng, in_channels, filters, 7),
                                                      nn.ReLU()))

    def forward(self, x):
        smallest = max((int(n[4:]) for n in self.layer_names if n.startswith("pool")), default=1)
        if min(x.shape[2:]) < smallest:
            raise ValueError(f"RandomMultiScaleNet: images must be at least {smallest}×{smallest} pixels "
                             f"(it pools by {smallest}), got {tuple(x.shape[2:])}")
        return concatenate([getattr(self, name)(x).flatten(1) for name in self.layer_names], axis=1)


def _random_conv(rng, in_channels, filters, k):
    """A bias-free k×k convolution ("same" padding) with unit-norm N(0, 1) filters drawn from ``rng``."""
    conv = nn.Conv2d(in_channels, filters, k, padding=k // 2, bias=False)
    w = rng.standard_normal((filters, in_channels, k, k))
    w /= np.sqrt((w ** 2).sum(axis=(1, 2, 3), keepdims=True))
    conv.weight.data = xp.asarray(w, dtype=np.float32)
    return conv


def random_features(seed=0, sizes=(3, 5, 7, 11), pooled=(2, 4), filters=32, content_layer="scale5"):
    """The offline feature space: :class:`RandomMultiScaleNet` with "relative" per-layer normalisation.

    Style: the Gram matrices of every layer; content: the maps of
    ``content_layer``. No weights to download: a seed defines the network.
    """
    net = RandomMultiScaleNet(sizes, pooled, filters, seed=seed)
    if content_layer not in net.layer_names:
        raise ValueError(f"random_features: content_layer {content_layer!r} is not one of {net.layer_names}")
    return FeatureSpace(net, net.layer_names, {content_layer: "content"}, mean=(0.5, 0.5, 0.5),
                        normalization="relative", default_style_weight=10.0,
                        description=f"random multi-scale filters (sizes {sizes}, pooled {pooled}, {filters} each), "
                                    f"seed {seed}")


def vgg19_features(weights):
    """VGG-19's convolutional part with torchvision-named weights (``features.N.weight`` …), Gatys's layers.

    Args:
        weights: a ``.pth`` file or a state dict of ``torchvision.models.vgg19``
            (``vgg19-dcbb9e9d.pth``; only the ``features.*`` entries are used),
            read through :func:`shendu.interop.load_torch_state_dict` (never unpickled).

    Style layers relu1_1 … relu5_1, content relu4_2, ImageNet input
    normalisation, the papers' loss normalisation (default style weight 1e6
    for content weight 1, i.e. α/β = 1e-6 on these scales).
    """
    from ..interop import load_torch_state_dict  # noqa: PLC0415 - imports torch only for a file

    net = VGG19Features()
    result = load_torch_state_dict(net, weights, strict=False)  # the classifier's entries are not needed
    if result.missing_keys:
        raise KeyError(f"vgg19_features: the weights lack {result.missing_keys[:4]}"
                       f"{' …' if len(result.missing_keys) > 4 else ''} (expected torchvision's vgg19 names, "
                       f"features.0.weight … features.34.bias)")
    return FeatureSpace(net, VGG19_STYLE_LAYERS, VGG19_CONTENT_LAYER, mean=_IMAGENET_MEAN, std=_IMAGENET_STD,
                        normalization="gatys", default_style_weight=1e6,
                        description="VGG-19 (torchvision weights), style relu1_1…relu5_1, content relu4_2")


class VGG19Features(nn.Module):
    """VGG-19's ``features`` (16 convolutions, torchvision's indices), without pooling to 7×7 or the classifier.

    Shape: (N, 3, H, W) -> (N, 512, H/32, W/32).
    """

    def __init__(self):
        super().__init__()
        self.features = make_layers(CONFIGS[19])

    def forward(self, x):
        return self.features(x)
