"""The losses of neural style transfer and texture synthesis (Gatys, Ecker & Bethge 2015, 2016).

A feature map ``F`` of a layer (N, C, H, W) is read as C vectors of M = H·W
positions. Its **Gram matrix** ``G = F·Fᵀ / M`` (C × C) holds the correlations
between channels averaged over positions: where things are is lost, which
patterns occur together is kept — a texture's statistics.

Two normalisations of the per-layer losses:

* ``"gatys"`` (the papers', for VGG-19): content ``½·Σ(F − P)²``; style
  ``Σ(Ĝ − Â)² / (4·C²·M²)`` with the unnormalised Gram ``Ĝ = F·Fᵀ``
  (equal to ``Σ(G − A)² / (4·C²)`` with ``G = Ĝ / M``);
* ``"relative"`` (for random-weight networks, whose layers' activation scales
  differ by orders of magnitude): each layer's error divided by the target's
  squared norm, ``‖F − P‖² / ‖P‖²`` and ``‖G − A‖² / ‖A‖²``, so every layer
  counts equally and the weights are scale-free (Ustyuzhaninov et al. 2017 and
  He et al. 2016 likewise rescale each layer's term).
"""
from __future__ import annotations

__all__ = ["gram_matrix", "content_loss", "style_loss", "total_variation", "NORMALIZATIONS"]

NORMALIZATIONS = ("gatys", "relative")


def _check(normalization):
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"style loss: normalization must be one of {NORMALIZATIONS}, got {normalization!r}")


def gram_matrix(features):
    """``G = F·Fᵀ / M``: channel correlations averaged over the M = H·W positions.

    Shape: (N, C, H, W) -> (N, C, C).
    """
    if features.ndim != 4:
        raise ValueError(f"gram_matrix: expected features (N, C, H, W), got shape {tuple(features.shape)}")
    n, c, h, w = features.shape
    f = features.reshape(n, c, h * w)
    return (f @ f.transpose(1, 2)) / (h * w)


def content_loss(features, target, normalization="relative"):
    """Content loss of one layer: ``½·Σ(F − P)²`` ("gatys") or ``‖F − P‖² / ‖P‖²`` ("relative").

    Shape: features and target (N, C, H, W) of equal shape -> scalar.
    """
    _check(normalization)
    if tuple(features.shape) != tuple(target.shape):
        raise ValueError(f"content_loss: features {tuple(features.shape)} and target {tuple(target.shape)} "
                         f"differ in shape (the content image and the image being optimised must be the same size)")
    err = ((features - target) ** 2).sum()
    if normalization == "gatys":
        return 0.5 * err
    return err / (float((target.detach() ** 2).sum()) + 1e-12)


def style_loss(features, target_gram, normalization="relative"):
    """Style loss of one layer against the style image's Gram matrix ``A`` (from :func:`gram_matrix`).

    ``Σ(G − A)² / (4·C²)`` ("gatys", equal to the paper's ``Σ(Ĝ − Â)²/(4C²M²)``)
    or ``‖G − A‖² / ‖A‖²`` ("relative"), with ``G = gram_matrix(features)``.

    Shape: features (N, C, H, W), target_gram (1 or N, C, C) -> scalar.
    """
    _check(normalization)
    g = gram_matrix(features)
    if tuple(g.shape[1:]) != tuple(target_gram.shape[1:]):
        raise ValueError(f"style_loss: features have {g.shape[1]} channels but the target Gram matrix is "
                         f"{tuple(target_gram.shape[1:])}")
    err = ((g - target_gram) ** 2).sum()
    if normalization == "gatys":
        return err / (4.0 * g.shape[1] ** 2)
    return err / (float((target_gram.detach() ** 2).sum()) + 1e-12)


def total_variation(image):
    """Total variation ``Σ (x[i+1, j] − x[i, j])² + (x[i, j+1] − x[i, j])²`` over channels, averaged per pixel.

    A smoothness prior: penalises pixel-to-pixel jumps (high-frequency noise).

    Shape: (N, C, H, W) -> scalar.
    """
    if image.ndim != 4:
        raise ValueError(f"total_variation: expected an image batch (N, C, H, W), got shape {tuple(image.shape)}")
    dh = image[:, :, 1:, :] - image[:, :, :-1, :]
    dw = image[:, :, :, 1:] - image[:, :, :, :-1]
    n, _, h, w = image.shape
    return ((dh ** 2).sum() + (dw ** 2).sum()) / (n * h * w)
