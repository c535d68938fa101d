"""Optimising an image: neural style transfer and texture synthesis (Gatys, Ecker & Bethge 2015, 2016).

The image ``x`` itself is the parameter (a ``Parameter`` of shape (1, 3, H, W))
and the network is fixed. Minimised::

    L(x) = α·Σ_l L_content,l(x) + β·(1/|S|)·Σ_{l∈S} L_style,l(x) + γ·TV(x)

with α = content_weight (0 for a texture), β = style_weight, γ = tv_weight,
the content term against the content image's maps and the style terms
against the style image's Gram matrices (:mod:`shendu.style.losses`).
``optimizer="lbfgs"`` (the papers' choice: :class:`shendu.optim.LBFGS` with the
strong-Wolfe line search, ``steps`` iterations) or ``"adam"`` (``steps``
updates). The pixels are ``x = σ(z)`` and ``z`` is optimised, so the image
stays in (0, 1) (the papers clip afterwards, which undoes part of the fit).
"""
from __future__ import annotations

import time

import numpy as np

from .. import optim
from ..autograd import no_grad
from .. import backend
from ..backend import xp
from ..nn import Parameter
from ..tensor import Tensor
from .losses import content_loss, gram_matrix, style_loss, total_variation
from .nets import random_features

__all__ = ["StyleObjective", "StyleResult", "stylize", "synthesize_texture", "as_image"]


def _host(a):
    """A NumPy array of ``a`` (copied from the GPU when it lives there)."""
    return np.asarray(backend.to_device(a, backend.cpu))


def as_image(image, what="image"):
    """An image as a float32 array (1, 3, H, W) in [0, 1]: from (H, W), (C, H, W) or (1, C, H, W), C = 1 or 3.

    Grey images are repeated over three channels.
    """
    a = _host(image.data if isinstance(image, Tensor) else image)
    a = np.asarray(a, dtype=np.float32)
    if a.ndim == 2:
        a = a[None]
    if a.ndim == 4 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 3 or a.shape[0] not in (1, 3) or min(a.shape[1:]) < 1:
        raise ValueError(f"style: the {what} must be (H, W), (C, H, W) or (1, C, H, W) with C = 1 or 3, "
                         f"got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"style: the {what} has non-finite pixels")
    if a.shape[0] == 1:
        a = np.repeat(a, 3, axis=0)
    return a[None]


class StyleObjective:
    """``L(x)`` of the module docstring for fixed content and style images; ``objective(x)`` → (L, parts).

    Args:
        features: a :class:`~shendu.style.nets.FeatureSpace`.
        style: the style image (any shape :func:`as_image` takes).
        content: the content image, or None (texture synthesis: no content term).
        style_weight (β > 0), content_weight (α ≥ 0), tv_weight (γ ≥ 0).

    ``parts`` holds the unweighted ``content``, ``style`` and ``tv`` values as floats.
    """

    def __init__(self, features, style, content=None, style_weight=None, content_weight=1.0, tv_weight=0.0):
        style_weight = features.default_style_weight if style_weight is None else float(style_weight)
        if not style_weight > 0:
            raise ValueError(f"style: the style weight must be > 0, got {style_weight!r}")
        if content_weight < 0 or tv_weight < 0:
            raise ValueError(f"style: content_weight and tv_weight must be >= 0, got {content_weight!r}, "
                             f"{tv_weight!r}")
        self.features, self.norm = features, features.normalization
        self.style_weight, self.content_weight, self.tv_weight = style_weight, float(content_weight), float(tv_weight)
        with no_grad():
            sf = features(as_image(style, "style image"))
            self.style_targets = {k: gram_matrix(sf[k]).detach() for k in features.style_layers}
            self.content_targets = None
            if content is not None:
                cf = features(as_image(content, "content image"))
                self.content_targets = {k: cf[k].detach() for k in features.content_layers}

    def style_loss(self, feats):
        """The mean over style layers of the per-layer style loss (unweighted)."""
        terms = [style_loss(feats[k], self.style_targets[k], self.norm) for k in self.features.style_layers]
        return sum(terms[1:], terms[0]) / len(terms)

    def content_loss(self, feats):
        """The sum over content layers of the content loss (unweighted)."""
        terms = [content_loss(feats[k], self.content_targets[k], self.norm) for k in self.features.content_layers]
        return sum(terms[1:], terms[0])

    def __call__(self, x):
        feats = self.features(x)
        s = self.style_loss(feats)
        total, parts = self.style_weight * s, {"style": float(s)}
        if self.content_targets is not None and self.content_weight > 0:
            c = self.content_loss(feats)
            total = total + self.content_weight * c
            parts["content"] = float(c)
        if self.tv_weight > 0:
            tv = total_variation(x)
            total = total + self.tv_weight * tv
            parts["tv"] = float(tv)
        parts["total"] = float(total)
        return total, parts

    def evaluate(self, image):
        """``parts`` of an image without gradients (e.g. the content image's own style loss)."""
        with no_grad():
            return self(Tensor(xp.asarray(as_image(image))))[1]


class StyleResult:
    """What :func:`stylize` / :func:`synthesize_texture` return.

    Attributes:
        image: float32 array (3, H, W) in [0, 1].
        history: one ``parts`` dict per objective evaluation (``total``, ``style``, maybe ``content``, ``tv``).
        initial, final: ``parts`` of the starting image and of the result (clipped).
        seconds: wall time of the optimisation. evaluations: objective evaluations.
        features: the feature space's description.
    """

    def __init__(self, image, history, initial, final, seconds, features):
        self.image, self.history, self.initial, self.final = image, history, initial, final
        self.seconds, self.evaluations, self.features = seconds, len(history), features

    def __repr__(self):
        return (f"StyleResult({self.image.shape}, style {self.initial['style']:.3g} -> {self.final['style']:.3g}, "
                f"{self.evaluations} evaluations, {self.seconds:.1f} s)")


def _optimise(objective, start, steps, optimizer, lr, callback):
    """Minimise over ``z`` with the image ``x = σ(z)``: pixels stay in (0, 1) without clipping.

    Clipping an unconstrained optimum afterwards undoes much of it (pixels the
    style pushes past 0 or 1); the logistic parametrisation keeps the optimiser
    inside the displayable range instead.
    """
    if not (isinstance(steps, int) and steps > 0):
        raise ValueError(f"style: steps must be a positive int, got {steps!r}")
    p = np.clip(start, 0.01, 0.99)
    z = Parameter(Tensor(xp.asarray(np.log(p / (1 - p)).astype(np.float32))))
    history = []
    t0 = time.perf_counter()

    def closure():
        opt.zero_grad()
        loss, parts = objective(z.sigmoid())
        loss.backward()
        history.append(parts)
        if callback is not None:
            callback(len(history), parts)
        return loss

    if optimizer == "lbfgs":
        opt = optim.LBFGS([z], lr=1 if lr is None else lr, max_iter=steps, max_eval=steps * 5 // 4,
                          tolerance_change=1e-12, history_size=50, line_search_fn="strong_wolfe")
        opt.step(closure)
    elif optimizer == "adam":
        opt = optim.Adam([z], lr=0.05 if lr is None else lr)
        for _ in range(steps):
            opt.step(closure)
    else:
        raise ValueError(f"style: optimizer must be 'lbfgs' or 'adam', got {optimizer!r}")
    seconds = time.perf_counter() - t0
    with no_grad():
        image = _host(z.sigmoid().data).astype(np.float32)
    return image, history, seconds


def stylize(content, style, features=None, *, style_weight=None, content_weight=1.0, tv_weight=0.0, steps=100,
            optimizer="lbfgs", lr=None, init="content", seed=0, callback=None):
    """The content of ``content`` in the style of ``style`` (Gatys, Ecker & Bethge 2016).

    Args:
        content, style: images (H, W), (C, H, W) or (1, C, H, W) in [0, 1], C = 1 or 3; any sizes
            (the result has the content image's size).
        features: a FeatureSpace (default :func:`~shendu.style.nets.random_features`\\ ``(seed)``;
            :func:`~shendu.style.nets.vgg19_features` with its weights for the papers' quality).
        style_weight: β (> 0; default: the feature space's). content_weight: α. tv_weight: γ.
        steps: L-BFGS iterations or Adam updates. optimizer: "lbfgs" or "adam". lr: its step size.
        init: start from the "content" image or from "noise" (seeded).
        callback: ``callback(evaluation, parts)`` after every objective evaluation.

    Returns:
        :class:`StyleResult` (``image`` (3, H, W)).
    """
    features = random_features(seed) if features is None else features
    objective = StyleObjective(features, style, content, style_weight, content_weight, tv_weight)
    c = as_image(content, "content image")
    start = _start(init, c.shape, seed, c)
    return _run(objective, start, steps, optimizer, lr, callback, features)


def synthesize_texture(style, features=None, *, size=None, steps=100, style_weight=None, tv_weight=0.0,
                       optimizer="lbfgs", lr=None, seed=0, callback=None):
    """A new image with the Gram statistics of ``style`` (Gatys, Ecker & Bethge 2015), from seeded noise.

    Args:
        style: the example texture (any shape :func:`as_image` takes).
        size: (H, W) of the result (default: the example's).
        Others as :func:`stylize`.
    """
    features = random_features(seed) if features is None else features
    objective = StyleObjective(features, style, None, style_weight, 0.0, tv_weight)
    s = as_image(style, "style image")
    h, w = s.shape[2:] if size is None else size
    return _run(objective, _start("noise", (1, 3, int(h), int(w)), seed, None), steps, optimizer, lr, callback,
                features)


def _start(init, shape, seed, content):
    if init == "content":
        return content.copy()
    if init == "noise":
        rng = np.random.default_rng(seed)
        return np.clip(0.5 + 0.1 * rng.standard_normal(shape), 0, 1).astype(np.float32)
    raise ValueError(f"style: init must be 'content' or 'noise', got {init!r}")


def _run(objective, start, steps, optimizer, lr, callback, features):
    initial = objective.evaluate(start)
    image, history, seconds = _optimise(objective, start, steps, optimizer, lr, callback)
    final = objective.evaluate(image)
    return StyleResult(image[0], history, initial, final, seconds, features.description)
