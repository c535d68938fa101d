"""Evaluate a model (or any function of a tensor) on a NumPy batch: eval mode, no graph, in chunks."""
from __future__ import annotations

from .. import autograd, backend
from ..backend import xp
from ..tensor import Tensor


def _output_array(out):
    out = out[0] if isinstance(out, (tuple, list)) else out
    return xp.asarray(out.data if isinstance(out, Tensor) else out)


def predict_array(model, inputs, chunk=8192):
    """``model(inputs)`` as a NumPy array, in eval mode (restored after) and without recording a graph.

    ``inputs`` is an array (N, …) in the default float dtype; it is cut into chunks of ``chunk`` rows."""
    was_training = getattr(model, "training", None)
    if was_training:
        model.eval()
    try:
        with autograd.no_grad():
            parts = [_output_array(model(Tensor(xp.asarray(inputs[i:i + chunk], dtype=backend.get_default_dtype()))))
                     for i in range(0, len(inputs), chunk)]
    finally:
        if was_training:
            model.train()
    return xp.concatenate(parts, axis=0)


def as_array(a):
    """A NumPy array from a Tensor, an array or a nested list."""
    return xp.asarray(a.data if isinstance(a, Tensor) else a)
