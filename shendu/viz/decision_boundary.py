"""Decision boundaries of a classifier of 2-D points, drawn under the points.

The plane around the points is sampled on an R×R grid, the model's scores s(x) at each grid
point give the predicted class ĉ(x) (argmax over C classes, or s > 0.5 / s > 0 for one binary
score, as :func:`shendu.training.metrics.predicted_classes` decides) and its confidence
p̂(x) = max_c softmax(s(x))_c (or max(p, 1 − p) with p = s or σ(s) for a binary score).
Each region is painted in its class's colour, paler where the model is less sure.
"""
from __future__ import annotations

from .._extras import require
from ..backend import xp
from ..training.metrics import predicted_classes
from ._figure import draw_or_save
from ._model_eval import as_array, predict_array

CLASS_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                 "#bcbd22", "#17becf"]  # matplotlib's tab10, so regions and points match without a colormap call


def _confidence(scores):
    """max-probability of each row of scores (M, C) or (M,) / (M, 1) binary scores."""
    if scores.ndim == 2 and scores.shape[1] > 1:
        probs_given = scores.min() >= 0 and xp.allclose(scores.sum(axis=1), 1, atol=1e-4)
        if not probs_given:
            e = xp.exp(scores - scores.max(axis=1, keepdims=True))
            scores = e / e.sum(axis=1, keepdims=True)
        return scores.max(axis=1)
    s = scores.reshape(-1)
    p = s if (s.min(initial=0) >= 0 and s.max(initial=0) <= 1) else 1 / (1 + xp.exp(-s))
    return xp.maximum(p, 1 - p)


def decision_grid(model, x, resolution=200, padding=0.1):
    """Evaluate a 2-D classifier on a grid covering the points ``x``.

    Args:
        model: a Module or any callable mapping a Tensor (M, 2) to scores (M, C), (M, 1) or (M,).
        x: the points, (N, 2) (Tensor or array); the grid spans their box widened by
            ``padding`` × its size on each side.
        resolution: R, the grid points along each axis.

    Returns:
        ``(xs, ys, classes, confidence)``: xs (R,) and ys (R,) the axis coordinates,
        classes (R, R) int (row i is ys[i]), confidence (R, R) in [1/C, 1].
    """
    pts = as_array(x).astype(xp.float64)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"decision_grid: expected points of shape (N, 2), got {tuple(pts.shape)}")
    if int(resolution) < 2:
        raise ValueError(f"decision_grid: resolution must be at least 2, got {resolution!r}")
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    span = xp.where(hi > lo, hi - lo, 1.0)
    lo, hi = lo - padding * span, hi + padding * span
    xs, ys = xp.linspace(lo[0], hi[0], resolution), xp.linspace(lo[1], hi[1], resolution)
    gx, gy = xp.meshgrid(xs, ys)
    grid = xp.stack([gx.reshape(-1), gy.reshape(-1)], axis=1)
    scores = predict_array(model, grid).astype(xp.float64)
    if scores.shape[0] != grid.shape[0] or scores.ndim > 2:
        raise ValueError(f"decision_grid: the model should map (M, 2) points to scores (M, C) or (M,), "
                         f"it returned shape {tuple(scores.shape)} for M={grid.shape[0]}")
    classes = predicted_classes(scores).reshape(resolution, resolution)
    return xs, ys, classes, _confidence(scores).reshape(resolution, resolution)


def _blend(classes, confidence):
    """RGB image: each class's colour mixed with white, weight 0.2 (unsure) … 0.75 (certain)."""
    to_rgb = require("matplotlib.colors", "viz", "plot_decision_boundary").to_rgb
    n = max(int(classes.max()) + 1, 2)
    palette = xp.array([to_rgb(CLASS_COLOURS[i % len(CLASS_COLOURS)]) for i in range(n)])
    w = 0.2 + 0.55 * xp.clip((confidence - 1 / n) / (1 - 1 / n), 0, 1)
    return palette[classes] * w[..., None] + (1 - w[..., None])


def plot_decision_boundary(model, x, y=None, path=None, *, ax=None, resolution=200, padding=0.1, title=None):
    """Draw a 2-D classifier's decision regions with the points ``x`` coloured by their labels ``y``.

    Args:
        model, x, resolution, padding: as in :func:`decision_grid`.
        y: the labels (N,) (ints, or one-hot (N, C)); None draws the points in black.
        path: write the figure there (PNG/SVG by suffix) and return ``path``; or
        ax: a matplotlib Axes to draw into (returned).
        title: the axes title.

    Example:
        >>> plot_decision_boundary(model, x, y, "xor.png")
    """
    xs, ys, classes, confidence = decision_grid(model, x, resolution, padding)
    pts = as_array(x).astype(xp.float64)
    labels = None if y is None else as_array(y)
    if labels is not None and labels.ndim == 2 and labels.shape[1] > 1:
        labels = labels.argmax(axis=1)
    if labels is not None and len(labels) != len(pts):
        raise ValueError(f"plot_decision_boundary: {len(pts)} points but {len(labels)} labels")

    def draw(a):
        a.imshow(_blend(classes, confidence), origin="lower", extent=(xs[0], xs[-1], ys[0], ys[-1]),
                 aspect="auto", interpolation="nearest")
        if classes.min() != classes.max():
            a.contour(xs, ys, classes, levels=xp.arange(classes.max()) + 0.5, colors="k", linewidths=0.8)
        colours = "k" if labels is None else [CLASS_COLOURS[int(c) % len(CLASS_COLOURS)] for c in labels.reshape(-1)]
        a.scatter(pts[:, 0], pts[:, 1], c=colours, s=14, edgecolors="k", linewidths=0.5)
        a.set(xlim=(xs[0], xs[-1]), ylim=(ys[0], ys[-1]), xlabel="x₁", ylabel="x₂")
        if title:
            a.set_title(title)

    return draw_or_save(draw, path, ax, "plot_decision_boundary", figsize=(5, 4.5))
