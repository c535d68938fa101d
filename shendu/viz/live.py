"""Live training curves: redraw the loss and accuracy figure after every epoch.

In a notebook (IPython running, ``pip install 'shendu[notebook]'``) the figure is shown once
through an IPython display handle and then updated in place (``handle.update``), so the
cell shows one figure that grows as training goes; elsewhere (a terminal, a script, CI) the
same figure is written to a PNG file after every epoch, which an image viewer reloads.
The figure is :func:`shendu.training.plots.plot_history`'s. (The progress bar of ``fit`` is
``tqdm.auto``'s: in Jupyter with ipywidgets installed it is tqdm's notebook widget.)
"""
from __future__ import annotations

import os

from .._extras import require
from ..training.callbacks import Callback
from ..training.plots import plot_history

DISPLAYS = ("auto", "ipython", "file")


def in_ipython():
    """Whether this process runs under IPython (a notebook kernel or the IPython shell)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None


class LiveCurves(Callback):
    """A callback that redraws the training curves (loss, accuracy; training and validation) after every epoch.

    Args:
        path: the PNG written after every epoch (default ``training_curves.png``).
        display: "auto" (IPython's display when running under IPython, else the file only),
            "ipython" (always; needs IPython) or "file".
        title: the figure's title.

    After training: ``history`` (``{"loss": [...], ...}``), ``updates`` (how many times the
    figure was drawn) and ``handle`` (the IPython display handle, or None).

    Example:
        >>> model.fit(x, y, epochs=20, validation_split=0.1, callbacks=[LiveCurves()])
    """

    def __init__(self, path="training_curves.png", display="auto", title=None):
        if display not in DISPLAYS:
            raise ValueError(f"LiveCurves: display must be one of {DISPLAYS}, got {display!r}")
        self.path, self.display, self.title = os.fspath(path), display, title
        self.history, self.updates, self.handle = {}, 0, None

    def _ipython_display(self):
        if self.display == "ipython":
            return require("IPython.display", "notebook", "LiveCurves(display='ipython')")
        if self.display == "auto" and in_ipython():
            return require("IPython.display", "notebook", "LiveCurves")
        return None

    def on_train_begin(self, logs=None):
        self.history, self.updates, self.handle = {}, 0, None

    def on_epoch_end(self, epoch, logs=None):
        for k, v in (logs or {}).items():
            if isinstance(v, (int, float)):
                self.history.setdefault(k, []).append(float(v))
        plot_history(self.history, self.path, title=self.title)
        self.updates += 1
        ipd = self._ipython_display()
        if ipd is None:
            return
        with open(self.path, "rb") as f:
            image = ipd.Image(data=f.read(), format="png")
        if self.handle is None:
            self.handle = ipd.display(image, display_id=True)
        else:
            self.handle.update(image)
