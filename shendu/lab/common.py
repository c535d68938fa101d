"""What the lab's experiments share: their data (offline) and one training run through ``fit``."""
from __future__ import annotations

import os
import pathlib

from .. import backend
from ..backend import xp


def shared_data_dir():
    """``$SHENDU_SHARED_DATA``, else ``<repository>/../shared/data`` (the MNIST / Fashion-MNIST files of this
    project's machines), when that directory exists; None otherwise."""
    env = os.environ.get("SHENDU_SHARED_DATA")
    candidates = [pathlib.Path(env)] if env else []
    candidates.append(pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "data")
    return next((c for c in candidates if c.is_dir()), None)


def digits(flat=False):
    """The embedded 8×8 digits: ``(x_train, y_train, x_test, y_test)``, 1,437 / 360 images in [0, 1];
    ``flat`` gives rows of 64 pixels instead of ``(N, 1, 8, 8)``."""
    from ..data.datasets import digits as load

    d = load()
    xtr, xte = d.x_train, d.x_test
    if flat:
        xtr, xte = xtr.reshape(len(xtr), -1), xte.reshape(len(xte), -1)
    return xtr, d.y_train, xte, d.y_test


def images(name, n_train, n_test, seed=0):
    """``(label, x_train, y_train, x_test, y_test)`` of 28×28 images from ``../shared/data``: ``name`` is
    ``'mnist'`` or ``'fashion_mnist'``. The training images are ``n_train`` drawn (with ``seed``) from the
    training file, the test images the first ``n_test`` of the test file. None when the files are absent."""
    from ..data.datasets import fashion_mnist, mnist

    root = shared_data_dir()
    folder = {"mnist": "mnist", "fashion_mnist": "fashion-mnist"}[name]
    if root is None or not (root / folder).is_dir():
        return None
    load = mnist if name == "mnist" else fashion_mnist
    try:
        xtr, ytr = load(split="train", root=root / folder, download=False, progress=False).arrays
        xte, yte = load(split="test", root=root / folder, download=False, progress=False).arrays
    except (OSError, ValueError):
        return None
    pick = xp.random.default_rng(seed).permutation(len(xtr))[:n_train]
    label = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}[name]
    return label, xtr[pick], ytr[pick], xte[:n_test], yte[:n_test]


def image_set(name, n_train, n_test, quick):
    """``(label, x_train, y_train, x_test, y_test)``: ``n_train`` / ``n_test`` images of :func:`images` (28×28),
    or — when ``quick`` or the files are absent — the first ``n_train`` embedded 8×8 digits and their 360 test
    images, so that every experiment also runs offline (the label says which)."""
    loaded = None if quick else images(name, n_train, n_test)
    if loaded is not None:
        return loaded
    xtr, ytr, xte, yte = digits()
    return "the embedded 8×8 digits", xtr[:n_train], ytr[:n_train], xte, yte


def seed_all(seed):
    """Seed shendu's generator (initialisation, dropout) for one run."""
    backend.manual_seed(seed)


def fit(model, data, *, optimizer="sgd", lr=0.1, epochs=10, batch_size=32, seed=0, loss="cross_entropy",
        optimizer_options=None, **kwargs):
    """Compile and train ``model`` on ``data = (x_train, y_train, x_test, y_test)`` with the test split as
    validation data; returns the history dict (``loss``, ``accuracy``, ``val_loss``, ``val_accuracy`` per epoch)."""
    xtr, ytr, xte, yte = data
    model.compile(optimizer, loss=loss, metrics=["accuracy"], lr=lr, optimizer_options=optimizer_options)
    history = model.fit(xtr, ytr, epochs=epochs, batch_size=batch_size, validation_data=(xte, yte), seed=seed,
                        verbose=0, **kwargs)
    return history.history


def loss_accuracy_figure(histories):
    """A figure of two panels against the epoch — training loss (log scale) and test accuracy — with one
    :func:`curve_band` per entry of ``histories`` ``{label: {"loss": [curves], "val_accuracy": [curves]}}``."""
    from .page import new_figure

    fig, axes = new_figure(10, 3.6, 1, 2)
    for label, h in histories.items():
        curve_band(axes[0], h["loss"], label)
        curve_band(axes[1], h["val_accuracy"], label)
    axes[0].set_ylabel("training loss")
    axes[0].set_yscale("log")
    axes[1].set_ylabel("test accuracy")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.grid(True, alpha=0.3)
    axes[1].legend()
    return fig


def curve_band(ax, curves, label, x=None, **style):
    """Plot the mean of several curves (lists of equal length) with a shaded ±1 s.d. band against ``x``
    (default 1, 2, …: epochs)."""
    a = xp.asarray(curves, dtype=float)
    m, s = a.mean(0), (a.std(0, ddof=1) if len(a) > 1 else xp.zeros(a.shape[1]))
    x = xp.arange(1, a.shape[1] + 1) if x is None else xp.asarray(x)
    line, = ax.plot(x, m, label=label, **style)
    ax.fill_between(x, m - s, m + s, color=line.get_color(), alpha=0.2, linewidth=0)
    return line
