"""What a convolutional layer sees: its feature maps for an input, and its filters, as image grids.

* feature maps: the layer's output a[c] (C, H, W) for one input, each map scaled on its own
  to [0, 1] by (a − min a) / (max a − min a), tiled in a grid (a constant map is drawn mid-grey);
* filters: the weight W (C_out, C_in, kh, kw); with 3 input channels each filter is one RGB
  image scaled to [0, 1] on its own; otherwise one row per output filter, one tile per input
  channel, drawn with a diverging colormap centred on 0 (w / 2 max|W_f| + ½: red positive,
  blue negative) so the sign of each weight shows.
"""
from __future__ import annotations

from ..backend import xp
from ..tensor import Tensor
from ..training.generative_run import image_grid
from ._figure import draw_or_save
from ._model_eval import as_array, predict_array


def _layer(model, layer):
    try:
        return model.get_submodule(layer)
    except AttributeError as exc:
        names = [n for n, _ in model.named_modules() if n]
        raise ValueError(f"{type(model).__name__} has no layer {layer!r}; its layers are {names[:30]}") from exc


def feature_maps(model, layer, x):
    """The output of ``model``'s sub-module ``layer`` (a dotted path, e.g. ``"features.0"``) for one input.

    Args:
        model: a :class:`shendu.nn.Module`; run in eval mode without recording a graph.
        layer: the path of a layer whose output is (N, C, H, W).
        x: one input (C_in, H_in, W_in) or a batch (N, C_in, H_in, W_in) whose first sample is used.

    Returns:
        The maps, a float array (C, H, W).
    """
    module = _layer(model, layer)
    a = as_array(x)
    captured = []
    handle = module.register_forward_hook(lambda m, inputs, out: captured.append(as_array(out)))
    try:
        predict_array(model, a[None] if a.ndim == 3 else a[:1])
    finally:
        handle.remove()
    if not captured:
        raise ValueError(f"feature_maps: layer {layer!r} ({type(module).__name__}) was not called by "
                         f"{type(model).__name__}'s forward")
    out = captured[0]
    if out.ndim != 4:
        raise ValueError(f"feature_maps: layer {layer!r} ({type(module).__name__}) outputs shape {tuple(out.shape)}; "
                         f"feature maps need (N, C, H, W)")
    return out[0]


def _scaled(maps):
    """Each map (…, H, W) scaled to [0, 1] on its own; constant maps become ½."""
    lo = maps.min(axis=(-2, -1), keepdims=True)
    hi = maps.max(axis=(-2, -1), keepdims=True)
    span = hi - lo
    return xp.where(span > 0, (maps - lo) / xp.where(span > 0, span, 1), 0.5)


def _tiles(images, columns):
    """The grid of ``images`` (N, 1 | 3, H, W) in [0, 1]; for one channel, a masked (H', W') array whose
    gaps between tiles are masked, so they are drawn white whatever the colormap."""
    grid = image_grid(images, columns=columns)
    if grid.shape[-1] != 1:
        return grid
    gaps = image_grid(xp.ones_like(images), columns=columns)[..., 0] != 255
    return xp.ma.masked_array(grid[..., 0], mask=gaps)


def _show(ax, grid, cmap, title):
    ax.imshow(grid, cmap=cmap if grid.ndim == 2 else None, interpolation="nearest", vmin=0, vmax=255)
    ax.set_facecolor("white")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)


def _figsize(grid):
    h, w = grid.shape[:2]
    scale = 8 / max(h, w)
    return (max(w * scale, 3), max(h * scale, 3) + 0.4)


def plot_feature_maps(model, layer, x, path=None, *, ax=None, max_maps=64, columns=None, cmap="viridis",
                      title=None):
    """Draw the first ``max_maps`` feature maps of ``layer`` for the input ``x`` as a grid.

    Args:
        model, layer, x: as in :func:`feature_maps`.
        path: the file to write (PNG/SVG); or ``ax``: a matplotlib Axes to draw into.
        max_maps: at most this many maps; columns: tiles per row (default ⌈√n⌉).
        cmap: the matplotlib colormap of the scaled maps. title: default "layer (C maps H×W)".

    Returns:
        ``path`` (or ``ax``).
    """
    maps = feature_maps(model, layer, x)[:max_maps].astype(xp.float64)
    grid = _tiles(_scaled(maps)[:, None], columns)
    c, h, w = maps.shape
    text = title if title is not None else f"{layer} ({c} maps {h}×{w})"
    return draw_or_save(lambda a: _show(a, grid, cmap, text), path, ax, "plot_feature_maps", _figsize(grid))


def filter_images(weight, max_filters=64, max_channels=8):
    """The tiles :func:`plot_filters` draws: ``(images (N, 1 or 3, kh, kw) in [0, 1], columns)``.

    With 3 input channels: one RGB image per filter, min-max scaled on its own. Otherwise
    ``w / (2 max|W_f|) + ½`` per output filter f, one tile per (filter, input channel), the
    first ``max_channels`` channels in a row per filter."""
    w = as_array(weight).astype(xp.float64)
    if w.ndim != 4:
        raise ValueError(f"plot_filters: expected a convolution weight (C_out, C_in, kh, kw), got shape {w.shape}")
    w = w[:max_filters]
    if w.shape[1] == 3:
        flat = w.reshape(len(w), -1)
        lo, hi = flat.min(axis=1), flat.max(axis=1)
        span = xp.where(hi > lo, hi - lo, 1)
        return (w - lo[:, None, None, None]) / span[:, None, None, None], None
    w = w[:, :max_channels]
    peak = xp.abs(w).max(axis=(1, 2, 3), keepdims=True)
    scaled = w / (2 * xp.where(peak > 0, peak, 1)) + 0.5
    return scaled.reshape(-1, 1, *w.shape[2:]), w.shape[1]


def plot_filters(model, layer, path=None, *, ax=None, max_filters=64, max_channels=8, title=None):
    """Draw the filters of the convolution ``layer`` of ``model`` (module docstring).

    Args:
        model: a Module; layer: the path of a layer with a 4-D ``weight`` (C_out, C_in, kh, kw),
            e.g. a :class:`shendu.nn.Conv2d`. (``model`` may be the layer itself with ``layer=""``.)
        path / ax: where to draw, as in :func:`plot_feature_maps`.
        max_filters: the first output filters drawn; max_channels: input channels per filter.

    Returns:
        ``path`` (or ``ax``).
    """
    module = _layer(model, layer)
    weight = getattr(module, "weight", None)
    if not isinstance(weight, Tensor) or weight.ndim != 4:
        shape = None if weight is None else tuple(weight.shape)
        raise ValueError(f"plot_filters: layer {layer!r} ({type(module).__name__}) has no 4-D convolution weight "
                         f"(C_out, C_in, kh, kw); its weight: {shape}")
    images, columns = filter_images(weight, max_filters, max_channels)
    grid = _tiles(images, columns)
    o, i, kh, kw = weight.shape
    text = title if title is not None else f"{layer or type(module).__name__} filters ({o}×{i}, {kh}×{kw})"
    return draw_or_save(lambda a: _show(a, grid, "RdBu_r", text), path, ax, "plot_filters", _figsize(grid))
