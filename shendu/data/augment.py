"""Image augmentation on whole batches ``(N, C, H, W)``, vectorised and seeded.

The transforms are the ones AlexNet (Krizhevsky, Sutskever and Hinton, 2012)
and its successors train with: random crops of a padded image, horizontal
flips, small shifts and rotations, then normalisation. Each one

* takes a batch array ``x (N, C, H, W)`` and returns a new array (the input is
  never modified); every image of the batch gets its own random parameters,
  drawn at once (no Python loop over images or pixels);
* is seeded: ``t(x, rng=g)`` uses the generator ``g``; without one it uses the
  generator built from its own ``seed=``, else the library generator that
  :func:`shendu.manual_seed` seeds. :class:`~shendu.data.DataLoader`
  passes a per-batch generator, so ``DataLoader(..., transform=t)`` is
  reproducible, with or without prefetching;
* composes: ``Compose([RandomCrop(32, padding=4), RandomHorizontalFlip(),
  Normalize(mean, std)])``.

Geometry (docs/data.md has the derivation): pixel ``(i, j)`` is row ``i``,
column ``j``; points are written in coordinates centred on the image,
``(x, y) = (j − c_x, c_y − i)`` with ``(c_x, c_y) = ((W−1)/2, (H−1)/2)`` and y
up. An affine transform with angle θ (counter-clockwise as displayed), scale
s and translation ``t = (t_x, t_y)`` maps ``p_src -> s·R(θ)·p_src + t``; each
output pixel p samples the source at the inverse,

    p_src = (1/s) · R(−θ) · (p − t),

with nearest or bilinear interpolation and ``fill`` outside the image.
"""
from __future__ import annotations

import math

from shendu.backend import get_array_module
from shendu.checks import int_tuple

from ._rng import generator


def _pair(v, name, arg="size", minimum=0):
    """An int or a pair (h, w) of ints ≥ ``minimum`` as a pair."""
    return int_tuple(name, arg, v, 2, minimum)


def _check_batch(x, name):
    if x.ndim != 4:
        raise ValueError(f"{name}: expected a batch of 4 dimensions (N, C, H, W), got shape {tuple(x.shape)}")
    n, c, h, w = x.shape
    if w in (1, 3, 4) and c > w and h > w and c not in (1, 3, 4):  # (N, H, W, C): an image with C ≤ 4 channels
        raise ValueError(f"{name}: expected channels-first images (N, C, H, W), got shape {tuple(x.shape)}, "
                         f"which looks channels-last (N, H, W, C); use x.transpose(0, 3, 1, 2)")


class Transform:
    """Base class: ``__call__(x, rng=None)`` resolves the generator and calls
    :meth:`apply`. ``seed``: int for a transform with its own stream."""

    def __init__(self, seed=None):
        self._own = None if seed is None else generator(seed)

    def __call__(self, x, rng=None):
        _check_batch(x, type(self).__name__)
        g = rng if rng is not None else (self._own if self._own is not None else generator(None))
        return self.apply(x, g)

    def apply(self, x, rng):
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}({self.extra_repr()})"

    def extra_repr(self):
        return ""


class Compose(Transform):
    """Apply transforms in order: ``Compose([a, b])(x) = b(a(x))``, all drawing
    from the same generator.

    Example:
        >>> t = Compose([RandomCrop(32, padding=4), RandomHorizontalFlip(), Normalize([0.5] * 3, [0.25] * 3)])
    """

    def __init__(self, transforms, seed=None):
        super().__init__(seed)
        self.transforms = list(transforms)

    def apply(self, x, rng):
        for t in self.transforms:
            x = t(x, rng=rng)
        return x

    def __repr__(self):
        return "Compose([" + ", ".join(repr(t) for t in self.transforms) + "])"


def _crop_at(x, top, left, h, w):
    """``out[n] = x[n, :, top[n]:top[n]+h, left[n]:left[n]+w]`` for all n in one
    gather, from the (copy-free) view of all h × w windows."""
    mod = get_array_module(x)
    windows = mod.lib.stride_tricks.sliding_window_view(x, (h, w), axis=(2, 3))  # (N, C, H-h+1, W-w+1, h, w)
    return windows[mod.arange(x.shape[0]), :, top, left]


def _pad(x, ph, pw, fill):
    if ph == 0 and pw == 0:
        return x
    n, c, H, W = x.shape
    out = get_array_module(x).full((n, c, H + 2 * ph, W + 2 * pw), fill, dtype=x.dtype)
    out[:, :, ph:ph + H, pw:pw + W] = x
    return out


class RandomCrop(Transform):
    """Random ``size`` crop of each image after zero-padding it by ``padding``.

    ``out[n] = pad(x[n])[:, a_n : a_n + h, b_n : b_n + w]`` with offsets
    ``a_n ~ U{0 .. H + 2p − h}``, ``b_n ~ U{0 .. W + 2p − w}``.

    Args:
        size: output size, int or (h, w).
        padding: pixels of ``fill`` added on every side first (default 0).
        fill: the padding value (default 0).
        seed: optional int for the transform's own generator.

    Shape:
        ``(N, C, H, W) -> (N, C, h, w)``

    Example:
        >>> RandomCrop(32, padding=4)(cifar_batch).shape   # CIFAR's standard augmentation
        (128, 3, 32, 32)
    """

    def __init__(self, size, padding=0, fill=0.0, seed=None):
        super().__init__(seed)
        self.size = _pair(size, "RandomCrop", "size", minimum=1)
        self.padding = _pair(padding, "RandomCrop", "padding", minimum=0)
        self.fill = fill

    def apply(self, x, rng):
        (h, w), (ph, pw) = self.size, self.padding
        H, W = x.shape[2] + 2 * ph, x.shape[3] + 2 * pw
        if h > H or w > W:
            raise ValueError(f"RandomCrop: crop size {(h, w)} is larger than the padded image {(H, W)}")
        mod = get_array_module(x)
        n = x.shape[0]
        top = mod.asarray(rng.integers(0, H - h + 1, n))
        left = mod.asarray(rng.integers(0, W - w + 1, n))
        return _crop_at(_pad(x, ph, pw, self.fill), top, left, h, w)

    def extra_repr(self):
        return f"size={self.size}, padding={self.padding}"


class RandomShift(Transform):
    """Translate each image by a random whole number of pixels, filling the
    uncovered border: ``out[n, :, i, j] = x[n, :, i − d_n, j − e_n]`` with
    ``d_n, e_n ~ U{−s .. s}`` (exact: no interpolation).

    This is :class:`RandomCrop` with ``size = (H, W)`` and ``padding = s``.

    Args:
        max_shift: s, the largest shift in pixels, int or (s_rows, s_cols).
        fill: the value shifted in (default 0).
        seed: optional int for the transform's own generator.

    Shape:
        ``(N, C, H, W) -> (N, C, H, W)``
    """

    def __init__(self, max_shift, fill=0.0, seed=None):
        super().__init__(seed)
        self.max_shift = _pair(max_shift, "RandomShift", "max_shift")
        self.fill = fill

    def apply(self, x, rng):
        return RandomCrop(x.shape[2:], padding=self.max_shift, fill=self.fill).apply(x, rng)

    def extra_repr(self):
        return f"max_shift={self.max_shift}"


class RandomHorizontalFlip(Transform):
    """Mirror each image left-right with probability ``p``:
    ``out[n] = x[n, :, :, ::-1]`` if ``u_n < p`` else ``x[n]``, ``u_n ~ U[0, 1)``.

    Args:
        p: probability of flipping an image (default 0.5).
        seed: optional int for the transform's own generator.

    Shape:
        ``(N, C, H, W) -> (N, C, H, W)``
    """

    def __init__(self, p=0.5, seed=None):
        super().__init__(seed)
        if not 0 <= p <= 1:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p}")
        self.p = p

    def apply(self, x, rng):
        mod = get_array_module(x)
        flip = mod.asarray(rng.random(x.shape[0]) < self.p)
        return mod.where(flip[:, None, None, None], x[..., ::-1], x)

    def extra_repr(self):
        return f"p={self.p}"


def affine_grid(theta, scale, tx, ty, h, w, mod):
    """Source coordinates (rows, cols), each ``(N, h, w)``, that output pixels
    sample under rotation ``theta`` (radians, counter-clockwise), ``scale`` and
    translation ``(tx, ty)`` (pixels, x right and y up), all ``(N,)`` arrays:
    ``p_src = (1/s) R(−θ) (p − t)`` in centred coordinates, then
    ``row = c_y − y_src``, ``col = c_x + x_src``."""
    cy, cx = (h - 1) / 2, (w - 1) / 2
    x = (mod.arange(w) - cx)[None, None, :] - tx[:, None, None]  # (N, 1, w)
    y = (cy - mod.arange(h))[None, :, None] - ty[:, None, None]  # (N, h, 1)
    cos, sin = (mod.cos(theta) / scale)[:, None, None], (mod.sin(theta) / scale)[:, None, None]
    xs = cos * x + sin * y       # R(−θ) = [[cos, sin], [−sin, cos]]
    ys = -sin * x + cos * y
    return cy - ys, cx + xs


def grid_sample(x, rows, cols, interpolation="bilinear", fill=0.0):
    """Sample ``x (N, C, H, W)`` at fractional points ``rows, cols (N, h, w)``.

    nearest: ``out = x[round(r), round(c)]``; bilinear: with ``r = r0 + a``,
    ``c = c0 + b`` (r0, c0 integers, a, b in [0, 1)),
    ``out = (1−a)(1−b) x[r0, c0] + (1−a) b x[r0, c0+1] + a (1−b) x[r0+1, c0] + a b x[r0+1, c0+1]``.
    Points outside the image read ``fill``. Returns ``(N, C, h, w)``.
    """
    mod = get_array_module(x)
    n, c, H, W = x.shape
    flat = x.reshape(n, c, H * W)

    def gather(r, q):
        inside = (r >= 0) & (r < H) & (q >= 0) & (q < W)
        idx = (mod.clip(r, 0, H - 1) * W + mod.clip(q, 0, W - 1)).reshape(n, 1, -1)
        vals = mod.take_along_axis(flat, idx, axis=2).reshape(n, c, *r.shape[1:])
        return mod.where(inside[:, None], vals, mod.asarray(fill, dtype=x.dtype))

    if interpolation == "nearest":
        return gather(mod.rint(rows).astype(mod.int64), mod.rint(cols).astype(mod.int64))
    if interpolation != "bilinear":
        raise ValueError(f"grid_sample: interpolation must be 'nearest' or 'bilinear', got {interpolation!r}")
    r0, c0 = mod.floor(rows), mod.floor(cols)
    a, b = (rows - r0)[:, None].astype(x.dtype), (cols - c0)[:, None].astype(x.dtype)
    r0, c0 = r0.astype(mod.int64), c0.astype(mod.int64)
    return ((1 - a) * ((1 - b) * gather(r0, c0) + b * gather(r0, c0 + 1))
            + a * ((1 - b) * gather(r0 + 1, c0) + b * gather(r0 + 1, c0 + 1)))


class RandomAffine(Transform):
    """Random rotation, scaling and translation of each image about its centre.

    Per image: ``θ ~ U[−degrees, degrees]``, ``s ~ U[scale]``,
    ``t_x ~ U[−translate·W, translate·W]``, ``t_y ~ U[−translate·H, translate·H]``;
    output pixel p samples the source at ``(1/s) R(−θ) (p − t)`` (centred
    coordinates, y up)
    (see :func:`grid_sample` for the interpolation).

    Args:
        degrees: largest rotation in degrees, or a range (lo, hi).
        translate: largest shift as a fraction of the size (default 0).
        scale: a range (lo, hi) of zoom factors, or None for 1.
        interpolation: ``'bilinear'`` (default) or ``'nearest'``.
        fill: value outside the source image (default 0).
        seed: optional int for the transform's own generator.

    Shape:
        ``(N, C, H, W) -> (N, C, H, W)``
    """

    def __init__(self, degrees=0.0, translate=0.0, scale=None, interpolation="bilinear", fill=0.0, seed=None):
        super().__init__(seed)
        lo, hi = (-abs(degrees), abs(degrees)) if not isinstance(degrees, (tuple, list)) else degrees
        self.degrees = (float(lo), float(hi))
        self.translate = float(translate)
        self.scale = None if scale is None else (float(scale[0]), float(scale[1]))
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"{type(self).__name__}: interpolation must be 'nearest' or 'bilinear', "
                             f"got {interpolation!r}")
        self.interpolation = interpolation
        self.fill = fill

    def apply(self, x, rng):
        mod = get_array_module(x)
        n, _, h, w = x.shape
        theta = mod.asarray(rng.uniform(*self.degrees, n)) * (math.pi / 180)
        s = mod.asarray(rng.uniform(*self.scale, n)) if self.scale else mod.ones(n)
        tx = mod.asarray(rng.uniform(-1, 1, n)) * (self.translate * w)
        ty = mod.asarray(rng.uniform(-1, 1, n)) * (self.translate * h)
        rows, cols = affine_grid(theta, s, tx, ty, h, w, mod)
        return grid_sample(x, rows, cols, self.interpolation, self.fill)

    def extra_repr(self):
        return (f"degrees={self.degrees}, translate={self.translate}, scale={self.scale}, "
                f"interpolation={self.interpolation!r}")


class RandomRotation(RandomAffine):
    """Rotate each image about its centre by ``θ ~ U[−degrees, degrees]``
    (counter-clockwise for positive θ): :class:`RandomAffine` without shift
    or scale. ``RandomRotation((90, 90), interpolation='nearest')`` equals
    ``np.rot90`` on square images.

    Args:
        degrees: largest angle in degrees, or a range (lo, hi).
        interpolation: ``'bilinear'`` (default) or ``'nearest'``.
        fill: value outside the source image (default 0).
        seed: optional int for the transform's own generator.

    Shape:
        ``(N, C, H, W) -> (N, C, H, W)``
    """

    def __init__(self, degrees, interpolation="bilinear", fill=0.0, seed=None):
        super().__init__(degrees, interpolation=interpolation, fill=fill, seed=seed)

    def extra_repr(self):
        return f"degrees={self.degrees}, interpolation={self.interpolation!r}"


class Normalize(Transform):
    """Per-channel standardisation: ``out[:, k] = (x[:, k] − mean[k]) / std[k]``.

    Args:
        mean: one value per channel (or one for all).
        std: one value per channel (or one for all).

    Shape:
        ``(N, C, H, W) -> (N, C, H, W)``

    Example:
        >>> Normalize([0.4914, 0.4822, 0.4465], [0.2470, 0.2435, 0.2616])   # CIFAR-10's statistics
    """

    def __init__(self, mean, std):
        super().__init__()
        self.mean, self.std = mean, std

    def apply(self, x, rng):
        mod = get_array_module(x)
        dtype = x.dtype if x.dtype.kind == "f" else mod.float32
        mean = mod.asarray(self.mean, dtype=dtype).reshape(-1, 1, 1)
        std = mod.asarray(self.std, dtype=dtype).reshape(-1, 1, 1)
        if mean.shape[0] not in (1, x.shape[1]) or std.shape[0] not in (1, x.shape[1]):
            raise ValueError(f"Normalize: expected 1 or {x.shape[1]} values of mean and std, "
                             f"got {mean.shape[0]} and {std.shape[0]}")
        return (x - mean) / std

    def extra_repr(self):
        return f"mean={self.mean}, std={self.std}"
