"""The loss landscape around trained weights along two random filter-normalised directions
(Li, Xu, Taylor, Studer & Goldstein, "Visualizing the Loss Landscape of Neural Nets", 2018).

For weights θ and two random directions δ, η (Gaussian, one entry per weight),

    f(α, β) = L(θ + α δ + β η)          on a grid α, β ∈ [−span, span]

Filter normalisation makes the picture comparable across networks: every filter (a slice
along the first axis of a weight: a row of a dense layer, an output channel of a
convolution) of the direction is rescaled to the norm of the same filter of θ,

    d_{i} ← d_{i} / ‖d_{i}‖ · ‖θ_{i}‖

and, as in Li et al.'s plots, the directions are 0 on one-dimensional parameters (biases,
normalisation scales and shifts), which keep their trained values.
"""
from __future__ import annotations

from typing import NamedTuple

from .._extras import require
from ..backend import xp
from ..tensor import Tensor
from ..autograd import no_grad
from ..training.losses import resolve_loss
from ._figure import draw_or_save
from ._model_eval import as_array, predict_array


def filter_normalized_direction(model, rng, ignore_1d=True):
    """A random direction, one array per parameter of ``model`` (same order as ``parameters()``),
    filter-normalised as in the module docstring. ``rng``: a ``numpy.random.Generator``."""
    out = []
    for p in model.parameters():
        w = xp.asarray(p.data, dtype=xp.float64)
        if w.ndim <= 1:
            out.append(xp.zeros_like(w) if ignore_1d else w.copy())  # Li et al.: biases/BN ignored, or θ itself
            continue
        d = rng.standard_normal(w.shape)
        axes = tuple(range(1, w.ndim))
        d_norm = xp.sqrt((d * d).sum(axis=axes, keepdims=True))
        w_norm = xp.sqrt((w * w).sum(axis=axes, keepdims=True))
        out.append(d / xp.where(d_norm > 0, d_norm, 1) * w_norm)
    return out


class LossLandscape(NamedTuple):
    """``alphas`` (R,), ``betas`` (R,), ``losses`` (R, R) with losses[i, j] = f(alphas[j], betas[i])."""
    alphas: object
    betas: object
    losses: object


def loss_landscape(model, x, y, loss="cross_entropy", *, resolution=21, span=1.0, seed=0, batch_size=1024):
    """Evaluate the loss of ``model`` on ``(x, y)`` around its weights (module docstring).

    Args:
        model: a Module (its weights are put back afterwards; evaluated in eval mode).
        x, y: the data the loss is measured on (keep it small: R² full passes).
        loss: a loss name or function ``loss(output, target)`` (as ``compile`` takes).
        resolution: R grid points per axis; span: the grid covers α, β ∈ [−span, span].
        seed: the seed of the two random directions.

    Returns:
        A :class:`LossLandscape`; at α = β = 0 (the centre, R odd) the loss is the model's own.
    """
    loss_fn = resolve_loss(loss)
    params = list(model.parameters())
    if not params:
        raise ValueError(f"loss_landscape: {type(model).__name__} has no parameters")
    rng = xp.random.default_rng(seed)
    d1, d2 = filter_normalized_direction(model, rng), filter_normalized_direction(model, rng)
    saved = [p.data for p in params]
    xs, target = as_array(x), Tensor(as_array(y))
    grid = xp.linspace(-span, span, int(resolution))
    losses = xp.empty((len(grid), len(grid)))
    try:
        for i, b in enumerate(grid):
            for j, a in enumerate(grid):
                for p, w, u, v in zip(params, saved, d1, d2):
                    p.data = (w + a * u + b * v).astype(w.dtype)
                out = predict_array(model, xs, chunk=batch_size)
                with no_grad():
                    losses[i, j] = float(loss_fn(Tensor(out), target).data)
    finally:
        for p, w in zip(params, saved):
            p.data = w
    return LossLandscape(grid, grid.copy(), losses)


def plot_loss_landscape(landscape, path=None, *, ax=None, levels=30, log=True, title=None):
    """Draw a :class:`LossLandscape` as filled contours (log-spaced levels when ``log`` and all
    losses are positive), with the trained weights marked at the centre.

    Returns:
        ``path`` (or ``ax``).
    """
    alphas, betas, losses = landscape
    z = xp.asarray(losses, dtype=xp.float64)
    finite = z[xp.isfinite(z)]
    if finite.size == 0:
        raise ValueError("plot_loss_landscape: every loss on the grid is NaN or infinite")
    z = xp.where(xp.isfinite(z), z, finite.max())
    use_log = log and finite.min() > 0 and finite.max() > finite.min()
    marks = (xp.geomspace(finite.min(), finite.max(), levels) if use_log
             else xp.linspace(finite.min(), finite.max() + 1e-12, levels))

    def draw(a):
        norm = None
        if use_log:
            norm = require("matplotlib.colors", "viz", "plot_loss_landscape").LogNorm(finite.min(), finite.max())
        filled = a.contourf(alphas, betas, z, levels=marks, cmap="viridis", norm=norm)
        a.contour(alphas, betas, z, levels=marks[::3], colors="white", linewidths=0.5, alpha=0.6)
        a.figure.colorbar(filled, ax=a, label="loss", format="%.3g")
        a.plot([0], [0], marker="*", color="red", markersize=12, label="trained weights")
        a.set(xlabel="α (direction 1)", ylabel="β (direction 2)", aspect="equal")
        a.legend(loc="upper right", fontsize=8)
        a.set_title(title if title is not None else "loss landscape (filter-normalised directions)")

    return draw_or_save(draw, path, ax, "plot_loss_landscape", (6, 5))
