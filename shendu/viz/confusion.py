"""The confusion matrix as a heat map with its counts written in the cells.

M[i, j] = #{n : y_n = i, ŷ_n = j} (rows: true class, columns: predicted class), computed by
:func:`shendu.training.metrics.confusion_matrix`. ``normalize`` has scikit-learn's meaning:
"true" divides each row by its sum (recall on the diagonal), "pred" each column (precision
on the diagonal), "all" the whole matrix.
"""
from __future__ import annotations

from ..backend import xp
from ..training.metrics import confusion_matrix
from ._figure import draw_or_save
from ._model_eval import as_array

NORMALIZE = (None, "true", "pred", "all")


def normalized_confusion(matrix, normalize=None):
    """``matrix`` (C, C) as floats divided as ``normalize`` says (module docstring); an empty row
    or column stays 0."""
    if normalize not in NORMALIZE:
        raise ValueError(f"plot_confusion_matrix: normalize must be one of {NORMALIZE}, got {normalize!r}")
    m = xp.asarray(matrix, dtype=xp.float64)
    if normalize is None:
        return m
    total = {"true": m.sum(axis=1, keepdims=True), "pred": m.sum(axis=0, keepdims=True), "all": m.sum()}[normalize]
    return m / xp.where(total > 0, total, 1)


def plot_confusion_matrix(pred, target=None, path=None, *, ax=None, labels=None, normalize=None, num_classes=None,
                          cmap="Blues", title=None):
    """Draw the confusion matrix of predictions against targets (or a matrix given as it is).

    Args:
        pred: scores (N, C), one binary score (N,) or class indices (N,) (integers) — or, with ``target=None``, the matrix (C, C).
        target: the true classes (N,) or one-hot (N, C).
        path: the file to write (PNG/SVG); or ``ax``: a matplotlib Axes to draw into.
        labels: the class names (C of them); default 0 … C−1.
        normalize: None (counts), "true", "pred" or "all" (module docstring).
        num_classes: the matrix's size when some classes never occur.

    Returns:
        ``path`` (or ``ax``).

    Example:
        >>> plot_confusion_matrix(model.predict(x_test), y_test, "confusion.png", labels=class_names)
    """
    if target is None:
        matrix = as_array(pred)
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
            raise ValueError(f"plot_confusion_matrix: without targets, pred must be a square matrix (C, C), "
                             f"got shape {tuple(matrix.shape)}")
    else:
        scores = as_array(pred)
        if scores.ndim == 1 and scores.dtype.kind in "iu":  # class indices: one-hot, so they are not read as
            n = max(int(scores.max(initial=0)) + 1, num_classes or 0)  # binary scores
            scores = xp.eye(n)[scores]
        matrix = confusion_matrix(scores, target, num_classes)
    m = normalized_confusion(matrix, normalize)
    n = len(m)
    names = [str(c) for c in (labels if labels is not None else range(n))]
    if len(names) != n:
        raise ValueError(f"plot_confusion_matrix: {len(names)} labels for a {n}×{n} matrix")

    def draw(a):
        image = a.imshow(m, cmap=cmap, vmin=0, vmax=m.max() if m.max() > 0 else 1, interpolation="nearest")
        a.figure.colorbar(image, ax=a, fraction=0.046, pad=0.04)
        a.set_xticks(range(n), names, rotation=45 if max(map(len, names)) > 3 else 0, ha="right" if
                     max(map(len, names)) > 3 else "center")
        a.set_yticks(range(n), names)
        a.set(xlabel="predicted class", ylabel="true class")
        if n <= 30:  # beyond that the numbers no longer fit in the cells
            for i in range(n):
                for j in range(n):
                    text = f"{m[i, j]:.2f}" if normalize else f"{int(m[i, j])}"
                    a.text(j, i, text, ha="center", va="center", fontsize=8 if n > 10 else 10,
                           color="white" if m[i, j] > 0.6 * m.max() else "black")
        a.set_title(title if title is not None else "confusion matrix" + (f" (normalised by {normalize})"
                                                                          if normalize else ""))

    size = 3 + 0.45 * n
    return draw_or_save(draw, path, ax, "plot_confusion_matrix", (size + 1, size))
