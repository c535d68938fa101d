"""Dropout (Srivastava et al. 2014), in its inverted form.

In training each element is kept with probability 1 − p and scaled by
1/(1 − p), so that the expected output equals the input and evaluation needs
no rescaling:

    y = x·m/(1 − p),  m ~ Bernoulli(1 − p) element-wise;   dL/dx = g·m/(1 − p)

In evaluation y = x.
"""
from __future__ import annotations

from .. import backend
from ..autograd import Function
from ..backend import get_array_module


class Dropout(Function):
    """y = x·mask, the mask holding 0 or 1/(1 − p);  dL/dx = g·mask."""

    __slots__ = ("mask",)

    def forward(self, x, mask):
        self.mask = mask
        return x * mask

    def backward(self, g):
        return g * self.mask


def dropout(x, p=0.5, training=True):
    """Zero each element with probability ``p`` and scale the rest by 1/(1 − p) (identity unless training).

    The mask comes from the generator that ``shendu.manual_seed`` seeds, so
    the same seed gives the same mask.

    Args:
        x: any shape. p: the drop probability, in [0, 1] (default 0.5).
        training: drop only when True (PyTorch's ``F.dropout`` default).

    Shape: x (*) -> y (*), the same.

    Example:
        >>> y = F.dropout(shendu.ones(1000), p=0.2)   # ~800 values of 1.25, ~200 zeros
    """
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be a probability in [0, 1], received p={p}")
    if not training or p == 0:
        return x
    return Dropout.apply(x, mask=_mask(x, x.shape, p))


def _mask(x, shape, p):
    """A mask of ``shape`` (broadcastable to x) holding 0 with probability p and 1/(1 − p) elsewhere."""
    dtype = x.dtype if x.dtype.kind == "f" else backend.get_default_dtype()
    draw = backend.rng().random(shape, dtype=backend.float64 if dtype == backend.float64 else backend.float32)
    keep = get_array_module(x.data).asarray(draw >= p)
    return keep.astype(dtype) * dtype.type(0 if p == 1 else 1 / (1 - p))


# --- nn-funcs: channel-wise dropout
def _channel_dropout(x, p, training, dims, op):
    if not 0 <= p <= 1:
        raise ValueError(f"{op}: p must be a probability in [0, 1], received p={p}")
    if x.ndim not in (dims + 1, dims + 2):
        raise ValueError(f"{op}: expected input (N, C, {dims} spatial dims) or (C, {dims} spatial dims), "
                         f"got shape {tuple(x.shape)}")
    if not training or p == 0:
        return x
    channels = x.ndim - dims  # the leading axes: (N, C) or (C,)
    return Dropout.apply(x, mask=_mask(x, tuple(x.shape[:channels]) + (1,) * dims, p))


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, L) with probability ``p``, scale the rest by 1/(1 − p), as
    ``torch.nn.functional.dropout1d``: y = x·m/(1 − p), m[n, c] ~ Bernoulli(1 − p) shared along L.
    ``inplace`` is accepted and ignored.

    Shape: (N, C, L) or (C, L) -> the same.
    """
    return _channel_dropout(input, p, training, 1, "dropout1d")


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole feature maps of (N, C, H, W) with probability ``p`` (Tompson et al., 2015), scale the
    rest by 1/(1 − p), as ``torch.nn.functional.dropout2d``: m[n, c] ~ Bernoulli(1 − p) shared over H, W.
    A 3-D input is taken as (N, C, L), as PyTorch does. ``inplace`` is accepted and ignored.

    Shape: (N, C, H, W) or (N, C, L) -> the same.

    Example:
        >>> y = F.dropout2d(shendu.ones(2, 8, 3, 3), p=0.5)   # each 3×3 map all 0 or all 2
    """
    if input.ndim == 3:  # PyTorch reads 3-D input to dropout2d as (N, C, L)
        return _channel_dropout(input, p, training, 1, "dropout2d")
    return _channel_dropout(input, p, training, 2, "dropout2d")


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole (D, H, W) volumes with probability ``p``, as ``torch.nn.functional.dropout3d``.

    Shape: (N, C, D, H, W) or (C, D, H, W) -> the same.
    """
    return _channel_dropout(input, p, training, 3, "dropout3d")
