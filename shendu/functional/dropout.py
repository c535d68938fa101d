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
    dtype = x.dtype if x.dtype.kind == "f" else backend.get_default_dtype()
    draw = backend.rng().random(x.shape, dtype=backend.float64 if dtype == backend.float64 else backend.float32)
    keep = get_array_module(x.data).asarray(draw >= p)
    mask = keep.astype(dtype) * dtype.type(0 if p == 1 else 1 / (1 - p))
    return Dropout.apply(x, mask=mask)
