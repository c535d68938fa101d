"""Training curves as a PNG: loss and accuracy per epoch, training and validation.

Drawn with matplotlib's object API on an Agg canvas (no pyplot, no global state, no
display needed), so it works the same in a terminal, a notebook or a server.
"""
from __future__ import annotations

import io

from ..serialization import atomic_write


def plot_history(history, path, title=None):
    """Write ``path`` (PNG): two panels, loss and accuracy against the epoch, each with the
    training curve and, when logged, the validation curve.

    Args:
        history: ``{"loss": [...], "val_loss": [...], "accuracy": [...], "val_accuracy": [...]}``,
            e.g. ``model.fit(...).history``; missing keys are left out.
        path: the PNG file to write (atomically).
        title: a title over both panels.

    Example:
        >>> h = model.fit(x, y, epochs=5, validation_split=0.1).history
        >>> plot_history(h, "curves.png", title="LeNet-5 on digits")
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(9, 3.6), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    for ax, key, label in zip(fig.subplots(1, 2), ("loss", "accuracy"), ("loss", "accuracy")):
        for prefix, name, style in (("", "training", "-"), ("val_", "validation", "--")):
            values = history.get(prefix + key) or []
            if values:
                ax.plot(range(1, len(values) + 1), values, style, marker="o", markersize=3, label=name)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        if key == "loss" and all(v > 0 for p in ("", "val_") for v in history.get(p + key) or []):
            ax.set_yscale("log")
        if ax.lines:
            ax.legend()
    if title:
        fig.suptitle(title)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    atomic_write(path, lambda f: f.write(buf.getvalue()))
    return path
