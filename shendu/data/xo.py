"""Generated images of the letters X and O: a small, offline vision task.

Each image is drawn from distance fields, for the whole batch at once
(arrays ``(N, H, W)``, no loop over images or pixels). For pixel p and a
shape's centre c (randomly shifted), rotation θ, size r and stroke width w:

* O, an ellipse of radii ``(r·a, r/a)``: in the rotated frame
  ``(u, v) = R(−θ)(p − c)``, ``d_O = | sqrt((u/a)² + (v·a)²) − r |``;
* X, two strokes through c at angles ``θ ± 45°`` (each jittered), half
  length r: for a unit direction e, ``t = clip((p − c)·e, −r, r)`` and
  ``d = ‖p − c − t e‖``; ``d_X = min(d_1, d_2)``;
* ink ``= clip(w/2 + 1/2 − d, 0, 1)`` (a stroke of width w with a one-pixel
  anti-aliased edge), times a random brightness, plus Gaussian noise, clipped
  to [0, 1].

Labels: 0 = O, 1 = X, balanced (exactly N/2 of each for even N).
"""
from __future__ import annotations

import math

from shendu.backend import xp

from ._rng import generator

CLASSES = ("O", "X")


def make_xo(n, size=28, seed=None, noise=0.05, max_shift=0.12, max_rotation=20.0):
    """Draw ``n`` images of X and O.

    Args:
        n: number of images.
        size: side in pixels (default 28).
        seed: int or ``Generator``; None draws from the library generator.
        noise: largest standard deviation of the added Gaussian noise
            (each image draws its own in ``[0, noise]``).
        max_shift: largest shift of the centre, as a fraction of ``size``.
        max_rotation: largest rotation in degrees.

    Returns:
        ``x`` float32 ``(n, 1, size, size)`` in [0, 1] and ``y`` int64 ``(n,)``
        (0 = O, 1 = X).

    Example:
        >>> x, y = shendu.data.make_xo(100, size=16, seed=0)
        >>> x.shape, y.sum()
        ((100, 1, 16, 16), 50)
    """
    g = generator(seed)
    y = g.permutation(xp.arange(n) % 2).astype(xp.int64)

    def per_image(lo, hi):  # one random value per image, shaped to broadcast over (n, H, W)
        return g.uniform(lo, hi, n)[:, None, None]

    centre = (size - 1) / 2
    cx = centre + per_image(-max_shift, max_shift) * size
    cy = centre + per_image(-max_shift, max_shift) * size
    theta = per_image(-max_rotation, max_rotation) * (math.pi / 180)
    r = per_image(0.22, 0.34) * size
    width = per_image(0.07, 0.14) * size
    dx = xp.arange(size, dtype=xp.float64)[None, None, :] - cx  # (n, 1, size)
    dy = xp.arange(size, dtype=xp.float64)[None, :, None] - cy  # (n, size, 1)

    # O: distance to an ellipse of aspect a, rotated by theta
    a = per_image(0.8, 1.2)
    u = dx * xp.cos(theta) + dy * xp.sin(theta)
    v = -dx * xp.sin(theta) + dy * xp.cos(theta)
    d_o = xp.abs(xp.hypot(u / a, v * a) - r)

    # X: distance to the nearer of two strokes
    def stroke(phi):
        ex, ey = xp.cos(phi), xp.sin(phi)
        t = xp.clip(dx * ex + dy * ey, -r, r)
        return xp.hypot(dx - t * ex, dy - t * ey)

    jitter = 10 * math.pi / 180
    d_x = xp.minimum(stroke(theta + math.pi / 4 + per_image(-jitter, jitter)),
                     stroke(theta - math.pi / 4 + per_image(-jitter, jitter)))

    d = xp.where((y == 1)[:, None, None], d_x, d_o)
    ink = xp.clip(width / 2 + 0.5 - d, 0, 1) * per_image(0.7, 1.0)
    img = ink + g.standard_normal(ink.shape) * per_image(0, noise)
    return xp.clip(img, 0, 1).astype(xp.float32)[:, None], y
