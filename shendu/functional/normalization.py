"""Batch and layer normalisation, each one fused node (forward + backward).

Both standardise x with a mean μ and variance σ² and then scale and shift:

    x̂ = (x − μ) / √(σ² + ε),    y = γ·x̂ + β

Batch norm takes μ, σ² per channel over the batch (and spatial) axes in
training, and from running averages in evaluation; layer norm takes them per
sample over the last axes. With n values per statistic, the backward pass in
its compact form (the terms through μ and σ² folded in) is

    dL/dβ = Σ g,    dL/dγ = Σ g·x̂,
    dL/dx = γ/√(σ² + ε) · (g − (Σ g)/n − x̂·(Σ g·x̂)/n)

and, when μ and σ² are constants (batch norm in evaluation), dL/dx = γ·g/√(σ² + ε).
"""
from __future__ import annotations

import numbers

from .. import backend
from ..autograd import Function
from ..backend import get_array_module
from ..parallel import parallel_batch
from ..tensor import Tensor

_SPATIAL = "defghijklm"


def _channel_sum(*arrays):
    """Σ over every axis but axis 1 (the channels) of the product of ``arrays``: (N, C, *) -> (C,)."""
    sub = "nc" + _SPATIAL[:arrays[0].ndim - 2]
    return get_array_module(arrays[0]).einsum(",".join([sub] * len(arrays)) + "->c", *arrays)


def _centred(x, mean):
    """x − μ, split over the batch across threads."""
    xp = get_array_module(x)
    xc = xp.empty(x.shape, dtype=xp.result_type(x, mean))
    parallel_batch(lambda x, xc: xp.subtract(x, mean, out=xc), x, xc)
    return xc


def _update_running(running_mean, running_var, mean, var, momentum, n):
    """r_μ ← (1 − m)·r_μ + m·μ_B,  r_σ² ← (1 − m)·r_σ² + m·σ²_B·n/(n − 1), in place of the tensors' data."""
    running_mean.data = ((1 - momentum) * running_mean.data + momentum * mean).astype(running_mean.dtype)
    running_var.data = ((1 - momentum) * running_var.data + momentum * var * (n / (n - 1))).astype(running_var.dtype)


class BatchNorm(Function):
    """Batch normalisation over axis 1 of (N, C, *) — see the module docstring for the formulas.

    In training, the batch statistics also update the running ones in place:
    r_μ ← (1 − m)·r_μ + m·μ_B,  r_σ² ← (1 − m)·r_σ² + m·σ²_B·n/(n − 1).
    """

    __slots__ = ("xc", "inv_std", "weight", "batch_stats", "kernels", "x", "mean", "var", "eps")

    def forward(self, x, weight=None, bias=None, *, running_mean, running_var, batch_stats, momentum, eps):
        xp = get_array_module(x)
        shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        self.kernels, self.weight, self.batch_stats, self.eps = backend.fast_kernels(), weight, batch_stats, eps
        stats = None if batch_stats else (running_mean.data, running_var.data)
        out = None if self.kernels is None else self.kernels.batch_norm_forward(x, weight, bias, stats, eps)
        if out is not None:  # backward needs x, μ, σ² (not x − μ): what the kernel library takes
            y, self.x, self.mean, self.var = out
            if batch_stats and running_mean is not None:
                _update_running(running_mean, running_var, self.mean, self.var, momentum, x.size // x.shape[1])
            return y
        self.kernels = None
        if batch_stats:
            n = x.size // x.shape[1]
            mean = _channel_sum(x) / n
            xc = _centred(x, mean.reshape(shape))
            var = _channel_sum(xc, xc) / n  # biased, for normalising (as PyTorch)
            if running_mean is not None:
                _update_running(running_mean, running_var, mean, var, momentum, n)
        else:
            xc = _centred(x, running_mean.data.astype(x.dtype, copy=False).reshape(shape))
            var = running_var.data
        inv_std = (1 / xp.sqrt(var + eps)).astype(x.dtype, copy=False)
        # x − μ and 1/σ are kept rather than x̂: x̂ would cost one more pass over x, and backward
        # needs it only inside per-channel sums and one product, where 1/σ folds into the constants.
        self.xc, self.inv_std, self.weight, self.batch_stats = xc, inv_std, weight, batch_stats
        scale = (inv_std if weight is None else inv_std * weight).reshape(shape)  # γ/σ
        y = xp.empty(x.shape, dtype=xp.result_type(xc, scale))

        def affine(xc, y):  # y = γ/σ·(x − μ) + β, one pass
            xp.multiply(xc, scale, out=y)
            if bias is not None:
                y += bias.reshape(shape)

        parallel_batch(affine, xc, y)
        return y

    def backward(self, g):
        xp = get_array_module(g)
        shape = (1, g.shape[1]) + (1,) * (g.ndim - 2)
        if self.kernels is not None:
            out = self.kernels.batch_norm_backward(g, self.x, self.weight, self.mean, self.var, self.eps,
                                                   not self.batch_stats)
            if out is not None:
                return out[0] if self.weight is None else out
            self.xc = _centred(self.x, self.mean.reshape(shape))  # the NumPy path's saved values
            self.inv_std = (1 / xp.sqrt(self.var + self.eps)).astype(g.dtype, copy=False)
        xc, inv_std = self.xc, self.inv_std
        scale = inv_std if self.weight is None else inv_std * self.weight
        gb = _channel_sum(g)
        gw = _channel_sum(g, xc) * inv_std  # Σ g·x̂
        if self.batch_stats:  # in place, no temporary: gx = (g − Σg/n − x̂·Σg·x̂/n)·γ/√(σ² + ε)
            n = g.size // g.shape[1]
            slope = (-gw * inv_std / n).reshape(shape)  # x̂·Σg·x̂ = (x − μ)·(1/σ)·Σg·x̂
            gb_mean, scale = (gb / n).reshape(shape), scale.reshape(shape)
            gx = xp.empty(g.shape, dtype=xp.result_type(xc, slope))

            def grad(xc, g, gx):
                xp.multiply(xc, slope, out=gx)
                gx += g
                gx -= gb_mean
                gx *= scale

            parallel_batch(grad, xc, g, gx)
        else:
            scale = scale.reshape(shape)
            gx = xp.empty(g.shape, dtype=xp.result_type(g, scale))
            parallel_batch(lambda g, gx: xp.multiply(g, scale, out=gx), g, gx)
        return gx if self.weight is None else (gx, gw, gb)

    @classmethod
    def describe_error(cls, shapes, options, exc):
        return f"batch_norm: input of shape {shapes[0]} with parameters of shapes {shapes[1:]}: {exc}"


def batch_norm(x, running_mean=None, running_var=None, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-5):
    """Batch normalisation: y = γ·(x − μ)/√(σ² + ε) + β per channel (axis 1). PyTorch's ``F.batch_norm``.

    Training (or no running statistics): μ, σ² are the batch mean and biased
    variance over every axis but 1, and the running statistics, when given,
    are updated in place with ``momentum`` (unbiased variance, as PyTorch).
    Evaluation: μ, σ² are the running statistics.

    Args:
        x: (N, C) or (N, C, *).
        running_mean, running_var: (C,) tensors, or None.
        weight, bias: γ and β, (C,), or None (γ = 1, β = 0).
        training: use (and update) batch statistics.
        momentum: the weight m of the new batch in the running averages (a
            number, or a 0-d array such as 1/num_batches for a cumulative average).
        eps: ε added to the variance.

    Shape: x (N, C, *) -> y of the same shape.

    Example:
        >>> y = F.batch_norm(shendu.randn(8, 3), training=True)   # each column: mean 0, variance ≈ 1
    """
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected input of at least 2 dimensions (N, C, *), got shape {x.shape}")
    batch_stats = training or running_mean is None
    if batch_stats and x.numel() == x.shape[1]:
        raise ValueError(f"batch_norm: expected more than 1 value per channel in training, "
                         f"got input of shape {x.shape}")
    if weight is None and bias is None:
        return BatchNorm.apply(x, running_mean=running_mean, running_var=running_var, batch_stats=batch_stats,
                               momentum=momentum, eps=eps)
    weight, bias = _affine(weight, bias, x.shape[1], x)
    return BatchNorm.apply(x, weight, bias, running_mean=running_mean, running_var=running_var,
                           batch_stats=batch_stats, momentum=momentum, eps=eps)


class LayerNorm(Function):
    """Layer normalisation over the last ``k`` axes — see the module docstring for the formulas."""

    __slots__ = ("xhat", "inv_std", "weight", "axes", "fast")

    def forward(self, x, weight=None, bias=None, *, k, eps):
        kernels = backend.fast_kernels()
        out = None if kernels is None else kernels.layer_norm_forward(x, weight, bias, k, eps)
        if out is not None:  # oneDNN's layer normalisation, forward and backward (docs/onednn.md)
            y, saved = out
            self.fast = (kernels, saved)
            return y
        self.fast = None
        axes = tuple(range(x.ndim - k, x.ndim))
        mean = x.mean(axis=axes, keepdims=True)
        xc = x - mean
        inv_std = 1 / get_array_module(x).sqrt((xc * xc).mean(axis=axes, keepdims=True) + eps)
        xc *= inv_std
        self.xhat, self.inv_std, self.weight, self.axes = xc, inv_std, weight, axes
        if weight is None:
            return xc
        return xc * weight + bias

    def backward(self, g):
        if self.fast is not None:
            kernels, saved = self.fast
            gx, gw, gb = kernels.layer_norm_backward(saved, g)
            return gx if gw is None else (gx, gw, gb)
        xhat, axes, w = self.xhat, self.axes, self.weight
        gxhat = g if w is None else g * w
        gx = (gxhat - gxhat.mean(axis=axes, keepdims=True)
              - xhat * (gxhat * xhat).mean(axis=axes, keepdims=True)) * self.inv_std
        if w is None:
            return gx
        lead = g.reshape((-1,) + w.shape)
        return gx, (lead * xhat.reshape(lead.shape)).sum(axis=0), lead.sum(axis=0)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer normalisation: y = γ·(x − μ)/√(σ² + ε) + β, μ and σ² (biased) over the last axes.

    PyTorch's ``F.layer_norm``: the statistics are taken per sample over the
    trailing axes given by ``normalized_shape`` (an int or a tuple).

    Args:
        x: (*, *normalized_shape).
        weight, bias: γ and β of shape ``normalized_shape``, or None.
        eps: ε added to the variance.

    Shape: x (*, *normalized_shape) -> y of the same shape.

    Example:
        >>> y = F.layer_norm(shendu.randn(4, 10), 10)   # each row: mean 0, variance ≈ 1
    """
    normalized_shape = _as_shape(normalized_shape)
    k = len(normalized_shape)
    if x.ndim < k or tuple(x.shape[x.ndim - k:]) != normalized_shape:
        raise ValueError(f"layer_norm: expected input with trailing dimensions {normalized_shape}, got shape {x.shape}")
    if weight is None and bias is None:
        return LayerNorm.apply(x, k=k, eps=eps)
    weight, bias = _affine(weight, bias, normalized_shape, x)
    return LayerNorm.apply(x, weight, bias, k=k, eps=eps)


def _as_shape(shape):
    return (int(shape),) if isinstance(shape, numbers.Integral) else tuple(int(n) for n in shape)


def _affine(weight, bias, shape, x):
    """(γ, β) with a constant 1 or 0 standing in for whichever of the two is None."""
    xp = get_array_module(x.data)
    if weight is None:
        weight = Tensor._wrap(xp.ones(shape, dtype=bias.dtype), False, None)
    if bias is None:
        bias = Tensor._wrap(xp.zeros(shape, dtype=weight.dtype), False, None)
    return weight, bias


# --- nn-funcs: group, instance and RMS normalisation, composed from the fused nodes above
def _channel_shape(x):
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def _scale_shift(y, weight, bias, shape):
    """γ·y + β with γ, β of shape (C,) broadcast as ``shape``; either may be None."""
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Group normalisation (Wu & He, 2018), as ``F.group_norm``: the C channels are split into
    ``num_groups`` groups, each sample's group standardised over its channels and positions:

        x̂[n, g] = (x[n, g] − μ_ng) / √(σ²_ng + ε),    y[n, c] = γ_c·x̂[n, c] + β_c

    (μ_ng, σ²_ng: mean and biased variance of the C/G·(H·W…) values of group g of sample n;
    computed by the layer-norm node on the input seen as (N, G, C/G·H·W…)).

    Shape: input (N, C, *) -> the same; weight, bias (C,) or None.

    Example:
        >>> F.group_norm(shendu.randn(2, 6, 4, 4), 3).shape
        (2, 6, 4, 4)
    """
    if input.ndim < 2 or not isinstance(num_groups, numbers.Integral) or num_groups < 1 \
            or input.shape[1] % num_groups:
        raise ValueError(f"group_norm: expected input (N, C, *) with C divisible by num_groups={num_groups!r}, "
                         f"got shape {tuple(input.shape)}")
    grouped = input.reshape(input.shape[0], num_groups, -1)
    y = LayerNorm.apply(grouped, k=1, eps=eps).reshape(input.shape)
    return _scale_shift(y, weight, bias, _channel_shape(input))


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    """Instance normalisation (Ulyanov et al., 2016), as ``F.instance_norm``: every (sample, channel)
    map standardised over its own positions, x̂[n, c] = (x[n, c] − μ_nc)/√(σ²_nc + ε), y = γ_c·x̂ + β_c.

    With ``use_input_stats`` the running statistics (if given) move towards the batch averages
    r_μ ← (1 − m)·r_μ + m·mean_n μ_nc, r_σ² ← (1 − m)·r_σ² + m·mean_n σ²_nc·L/(L − 1) (L positions);
    without it the running statistics normalise (as batch norm in evaluation).

    Shape: input (N, C, *) with at least one spatial axis -> the same.
    """
    if input.ndim < 3:
        raise ValueError(f"instance_norm: expected input (N, C, L) or (N, C, H, W…), got shape {tuple(input.shape)}")
    if not use_input_stats:
        if running_mean is None:
            raise ValueError("instance_norm: use_input_stats=False needs running_mean and running_var")
        return batch_norm(input, running_mean, running_var, weight, bias, training=False, eps=eps)
    positions = input.numel() // (input.shape[0] * input.shape[1])
    if positions == 1:
        raise ValueError(f"instance_norm: expected more than 1 spatial element per channel, "
                         f"got input of shape {tuple(input.shape)}")
    flat = input.reshape(1, input.shape[0] * input.shape[1], -1)
    y = BatchNorm.apply(flat, running_mean=None, running_var=None, batch_stats=True, momentum=momentum,
                        eps=eps).reshape(input.shape)
    if running_mean is not None:
        x = flat.data[0]
        mean, var = x.mean(axis=1), x.var(axis=1) * (positions / (positions - 1))
        c = input.shape[1]
        running_mean.data = ((1 - momentum) * running_mean.data
                             + momentum * mean.reshape(-1, c).mean(axis=0)).astype(running_mean.dtype)
        running_var.data = ((1 - momentum) * running_var.data
                            + momentum * var.reshape(-1, c).mean(axis=0)).astype(running_var.dtype)
    return _scale_shift(y, weight, bias, _channel_shape(input))


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """Root-mean-square normalisation (Zhang & Sennrich, 2019), as ``F.rms_norm``:

        y = x / √(mean(x²) + ε) · γ    (the mean over the trailing ``normalized_shape`` axes)

    ``eps=None`` takes the machine epsilon of the input's dtype (PyTorch's default).

    Shape: input (*, *normalized_shape) -> the same; weight of shape ``normalized_shape`` or None.
    """
    normalized_shape = _as_shape(normalized_shape)
    k = len(normalized_shape)
    if input.ndim < k or tuple(input.shape[input.ndim - k:]) != normalized_shape:
        raise ValueError(f"rms_norm: expected input with trailing dimensions {normalized_shape}, "
                         f"got shape {tuple(input.shape)}")
    if eps is None:
        eps = float(get_array_module(input.data).finfo(input.dtype).eps)
    axes = tuple(range(input.ndim - k, input.ndim))
    y = input * ((input * input).mean(axis=axes, keepdims=True) + eps) ** -0.5
    return y if weight is None else y * weight
