"""Gradient clipping: bound the gradients in place before the optimizer step."""
from __future__ import annotations

from .. import backend
from ..backend import get_array_module
from ..tensor import Tensor


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad.data for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale all gradients together so that their global norm is at most ``max_norm``; return that norm.

    ::

        ‖g‖ = ‖(‖g₁‖, ‖g₂‖, …)‖      (the p-norm of every gradient concatenated; p = norm_type)
        gᵢ ← gᵢ · min(1, max_norm / (‖g‖ + 1e-6))

    One factor for all gradients keeps the update's direction and only
    shortens it: the usual guard against exploding gradients in RNNs. The
    factor is computed and applied on the device, with no host
    synchronisation (as PyTorch, it multiplies by 1 when no clipping is needed).

    Args:
        parameters: a Tensor or an iterable of Tensors; those whose ``grad`` is None are skipped.
        max_norm (float): the largest allowed norm.
        norm_type (float): p of the p-norm; ``float('inf')`` for the largest absolute value. Default: 2.
        error_if_nonfinite (bool): raise if the norm is nan or inf (this does synchronise). Default: False.

    Returns:
        Tensor: the total norm before clipping (a 0-d tensor).

    Example:
        >>> loss.backward()
        >>> shendu.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        >>> opt.step()
    """
    grads = _grads(parameters)
    norm_type = float(norm_type)
    if not grads:
        return Tensor._wrap(backend.xp.asarray(0.0, dtype=backend.get_default_dtype()), False, None)
    mod = get_array_module(grads[0])
    norms = [mod.linalg.norm(g.reshape(-1), norm_type) for g in grads]
    total = mod.linalg.norm(mod.stack(norms), norm_type)
    if error_if_nonfinite and not bool(mod.isfinite(total)):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is "
                           f"{float(total)}; set error_if_nonfinite=False to clip anyway")
    scale = mod.minimum(max_norm / (total + 1e-6), 1.0)
    for g in grads:
        g *= scale.astype(g.dtype, copy=False)
    return Tensor._wrap(mod.asarray(total), False, None)


def clip_grad_value_(parameters, clip_value):
    """Clamp every gradient element into ``[−clip_value, clip_value]`` in place.

    Args:
        parameters: a Tensor or an iterable of Tensors; those whose ``grad`` is None are skipped.
        clip_value (float): the largest allowed absolute value.

    Example:
        >>> shendu.nn.utils.clip_grad_value_(model.parameters(), 0.5)
    """
    clip_value = float(clip_value)
    for g in _grads(parameters):
        get_array_module(g).clip(g, -clip_value, clip_value, out=g)
