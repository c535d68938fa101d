"""Random image augmentation layers (training only; the identity in inference):
RandomFlip and RandomRotation, on channels-last images (N, H, W, C).

They transform the input data, so no gradient flows through the random
geometry (RandomRotation's resampling is computed on the arrays); RandomFlip is
an index permutation, exact either way. Draws use shendu's generator.
"""
from __future__ import annotations

import math

from ... import backend
from ...backend import xp
from ...ops import where
from ...tensor import Tensor
from .base import Layer


class RandomFlip(Layer):
    """Each image flipped left-right (``'horizontal'``), up-down (``'vertical'``) or each of
    the two independently (``'horizontal_and_vertical'``, default) with probability ½."""

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if mode not in ("horizontal", "vertical", "horizontal_and_vertical"):
            raise ValueError(f"RandomFlip layer {self.name} received an unknown mode argument {mode}")
        self.mode, self.seed = mode, seed

    def call(self, inputs, training=None):
        if not training:
            return inputs
        x = inputs
        n = x.shape[0]
        for axis, used in ((2, "horizontal" in self.mode), (1, "vertical" in self.mode)):
            if used:
                flip = backend.rng().random(n) < 0.5
                mask = Tensor(flip.reshape(n, *([1] * (x.ndim - 1))))
                x = where(mask, x.flip(axis), x)
        return x


def _fill_index(coord, size, mode):
    """Map coordinates outside [0, size − 1] into it (``reflect``: d c b a | a b c d | d c b a)."""
    if mode == "reflect":
        period = 2 * size
        c = xp.mod(coord, period)
        return xp.where(c >= size, period - 1 - c, c)
    if mode == "wrap":
        return xp.mod(coord, size)
    return xp.clip(coord, 0, size - 1)  # nearest, and constant (masked afterwards)


class RandomRotation(Layer):
    """Rotates each image by an angle θ ~ U(lo·2π, hi·2π) about its centre, where ``factor`` is
    (lo, hi) or f for (−f, f); positive θ turns counter-clockwise. The source pixel of an output
    pixel is read by ``interpolation`` ('bilinear' or 'nearest'), points outside the image filled by
    ``fill_mode`` ('reflect' default, 'wrap', 'nearest', 'constant' with ``fill_value``)."""

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 data_format=None, **kwargs):
        super().__init__(**kwargs)
        lo, hi = (-factor, factor) if isinstance(factor, (int, float)) else tuple(factor)
        if lo > hi:
            raise ValueError(f"Factor cannot have negative values, got {factor}")
        if fill_mode not in ("reflect", "wrap", "nearest", "constant"):
            raise ValueError(f"Unknown `fill_mode` {fill_mode}. Expected of one ['reflect', 'wrap', 'constant', "
                             f"'nearest'].")
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"Unknown `interpolation` {interpolation}; expected 'bilinear' or 'nearest'")
        self.lower, self.upper = float(lo), float(hi)
        self.fill_mode, self.interpolation, self.fill_value = fill_mode, interpolation, float(fill_value)

    def call(self, inputs, training=None):
        if not training:
            return inputs
        x = inputs.data
        n, h, w = x.shape[:3]
        theta = backend.rng().uniform(self.lower, self.upper, n) * 2 * math.pi
        ys, xs = xp.meshgrid(xp.arange(h, dtype=xp.float64), xp.arange(w, dtype=xp.float64), indexing="ij")
        cy, cx = (h - 1) / 2, (w - 1) / 2
        cos, sin = xp.cos(theta)[:, None, None], xp.sin(theta)[:, None, None]
        # the inverse rotation: where each output pixel comes from (image rows grow downwards)
        src_x = cos * (xs - cx) - sin * (ys - cy) + cx
        src_y = sin * (xs - cx) + cos * (ys - cy) + cy
        out = self._sample(x, src_y, src_x)
        return Tensor(out.astype(x.dtype))

    def _sample(self, x, sy, sx):
        n, h, w = x.shape[:3]
        batch = xp.arange(n)[:, None, None]
        outside = (sy < -0.5) | (sy > h - 0.5) | (sx < -0.5) | (sx > w - 0.5)
        if self.interpolation == "nearest":
            iy = _fill_index(xp.rint(sy).astype(int), h, self.fill_mode)
            ix = _fill_index(xp.rint(sx).astype(int), w, self.fill_mode)
            out = x[batch, iy, ix]
        else:
            y0, x0 = xp.floor(sy).astype(int), xp.floor(sx).astype(int)
            wy, wx = (sy - y0)[..., None], (sx - x0)[..., None]
            out = 0
            for dy, fy in ((0, 1 - wy), (1, wy)):
                for dx, fx in ((0, 1 - wx), (1, wx)):
                    iy = _fill_index(y0 + dy, h, self.fill_mode)
                    ix = _fill_index(x0 + dx, w, self.fill_mode)
                    out = out + fy * fx * x[batch, iy, ix]
        if self.fill_mode == "constant":
            out = xp.where(outside[..., None], self.fill_value, out)
        return out
