"""The one way shendu.viz makes and writes a matplotlib figure.

Figures use matplotlib's object API on an Agg canvas (no pyplot, no global state, no
display), so they draw the same in a terminal, a notebook, a server or a test. The file
format follows the path's suffix (``.png``, ``.svg``, ``.pdf``) and the file is written
atomically (:func:`shendu.serialization.atomic_write`).
"""
from __future__ import annotations

import io
import os

from .._extras import require
from ..serialization import atomic_write


def new_figure(feature, figsize=(6, 4.5), dpi=100):
    """A matplotlib ``Figure`` on an Agg canvas; ``feature`` names the caller in the message
    raised when matplotlib is missing."""
    figure = require("matplotlib.figure", "viz", feature)
    agg = require("matplotlib.backends.backend_agg", "viz", feature)
    fig = figure.Figure(figsize=figsize, dpi=dpi, layout="constrained")
    agg.FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path):
    """Write ``fig`` to ``path`` atomically, in the format named by its suffix; returns ``path``."""
    suffix = os.path.splitext(os.fspath(path))[1].lower().lstrip(".") or "png"
    buf = io.BytesIO()
    fig.savefig(buf, format=suffix)
    atomic_write(path, lambda f: f.write(buf.getvalue()))
    return path


def draw_or_save(draw, path, ax, feature, figsize=(6, 4.5)):
    """Call ``draw(ax)`` on the given Axes (returning it), or on a new figure written to ``path``
    (returning ``path``). Exactly one of ``path`` and ``ax`` is needed."""
    if ax is not None:
        draw(ax)
        return ax
    if path is None:
        raise ValueError(f"{feature}: give a file path to write, or an Axes to draw into (ax=...)")
    fig = new_figure(feature, figsize)
    draw(fig.add_subplot(1, 1, 1))
    return save_figure(fig, path)
