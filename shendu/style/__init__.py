"""Neural style transfer and texture synthesis by optimising an image (docs/style.md).

    >>> from shendu import style
    >>> out = style.stylize(content_img, style_img, steps=100)          # random multi-scale features
    >>> tex = style.synthesize_texture(texture_img, size=(128, 128))
    >>> style.save_image(out.image, "out.png")

Losses (:mod:`.losses`): Gram-matrix style loss, content loss, total variation.
Feature spaces (:mod:`.nets`): random multi-scale filters (offline) or VGG-19
with torchvision weights. Optimisation (:mod:`.synthesis`): L-BFGS or Adam on
the pixels. Images (:mod:`.images`): Pillow reading and atomic PNG writing.
"""
from .images import load_image, save_image
from .losses import content_loss, gram_matrix, style_loss, total_variation
from .nets import FeatureSpace, RandomMultiScaleNet, VGG19Features, random_features, vgg19_features
from .synthesis import StyleObjective, StyleResult, as_image, stylize, synthesize_texture

__all__ = ["load_image", "save_image", "content_loss", "gram_matrix", "style_loss", "total_variation",
           "FeatureSpace", "RandomMultiScaleNet", "VGG19Features", "random_features", "vgg19_features",
           "StyleObjective", "StyleResult", "as_image", "stylize", "synthesize_texture", "gram_distance"]


def gram_distance(features, a, b):
    """``Σ_l ‖G_l(a) − G_l(b)‖² / ‖G_l(b)‖²`` over the style layers of ``features``: how far a's texture is from b's.

    Shape: images as :func:`as_image` takes them -> float.
    """
    from ..autograd import no_grad

    with no_grad():
        fa, fb = features(as_image(a)), features(as_image(b))
        return sum(float(style_loss(fa[k], gram_matrix(fb[k]), "relative")) for k in features.style_layers)
