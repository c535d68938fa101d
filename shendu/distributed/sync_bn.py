"""Batch normalisation whose batch statistics are those of the global batch (every rank's samples)."""
from __future__ import annotations

from ..autograd import Function
from ..backend import xp
from ..nn.normalization import BatchNorm1d, BatchNorm2d, BatchNorm3d
from .collectives import all_reduce


def _sums(a, axes):
    return a.sum(axis=axes)


class SyncBatchNormFunction(Function):
    """y = γ·(x − μ)/√(σ² + ε) + β with μ, σ² (biased) over the N ranks' batches together.

    Forward: two all-reduces, [Σx, n] then Σ(x − μ)², over axes (0, 2, …) of every rank's
    (n_r, C, *) input; n = Σ_r n_r values per channel. Backward: with g = ∂L_r/∂y on each rank and
    x̂ = (x − μ)/σ, one all-reduce of [Σg, Σg·x̂] gives the global sums and
    ∂x = γ/σ · (g − Σ_all g / n − x̂ · Σ_all g·x̂ / n); ∂γ = Σ_local g·x̂ and ∂β = Σ_local g stay
    local, for the gradient all-reduce of data parallelism to average (which also divides the
    N-times-larger per-rank loss gradient back). Running statistics move as in ``BatchNorm`` with
    the global μ and the unbiased σ²·n/(n − 1), identically on every rank.
    """

    __slots__ = ("xc", "inv_std", "weight", "n")

    def forward(self, x, weight=None, bias=None, *, running_mean, running_var, momentum, eps):
        c = x.shape[1]
        axes = (0, *range(2, x.ndim))
        shape = (1, c) + (1,) * (x.ndim - 2)
        first = xp.concatenate([_sums(x, axes), [x.size // c]]).astype(xp.float64)
        all_reduce(first, "sum")
        n = first[-1]
        mean = (first[:c] / n).astype(x.dtype)
        xc = x - mean.reshape(shape)
        var = _sums(xc * xc, axes).astype(xp.float64)
        all_reduce(var, "sum")
        var = (var / n).astype(x.dtype)
        if running_mean is not None:
            running_mean.data = ((1 - momentum) * running_mean.data + momentum * mean).astype(running_mean.dtype)
            running_var.data = ((1 - momentum) * running_var.data
                                + momentum * var * (n / (n - 1))).astype(running_var.dtype)
        inv_std = (1 / xp.sqrt(var + eps)).astype(x.dtype)
        self.xc, self.inv_std, self.weight, self.n = xc, inv_std, weight, n
        y = xc * (inv_std if weight is None else inv_std * weight).reshape(shape)
        return y if bias is None else y + bias.reshape(shape)

    def backward(self, g):
        c = g.shape[1]
        axes = (0, *range(2, g.ndim))
        shape = (1, c) + (1,) * (g.ndim - 2)
        gb = _sums(g, axes)
        gw = _sums(g * self.xc, axes) * self.inv_std  # Σ g·x̂ on this rank
        total = xp.concatenate([gb, gw]).astype(xp.float64)
        all_reduce(total, "sum")
        gb_all, gw_all = total[:c].astype(g.dtype), total[c:].astype(g.dtype)
        scale = self.inv_std if self.weight is None else self.inv_std * self.weight
        xhat = self.xc * self.inv_std.reshape(shape)
        gx = (g - (gb_all / self.n).reshape(shape) - xhat * (gw_all / self.n).reshape(shape)) * scale.reshape(shape)
        return gx if self.weight is None else (gx, gw, gb)


class SyncBatchNorm(BatchNorm1d):
    """``BatchNorm`` over the global batch of data-parallel training (PyTorch's ``nn.SyncBatchNorm``).

    In training, μ and σ² of each channel are computed over the samples of every rank together
    (:class:`SyncBatchNormFunction`), so N ranks with batches of b normalise as one process with
    batches of N·b; in evaluation (or with one process) it is ``BatchNorm``. Input (N, C, *)
    with any number of trailing axes (2 to 5 dimensions). Args as :class:`~shendu.nn.BatchNorm1d`.
    Build one from a model's batch norms with :func:`convert_sync_batchnorm`.
    """

    _ranks = (2, 3, 4, 5)
    _layout = "(N, C, *)"

    def forward(self, x):
        if not self.training:
            return super().forward(x)
        shape = x.shape
        if len(shape) not in self._ranks or shape[1] != self.num_features:
            raise ValueError(f"SyncBatchNorm: expected input of shape (N, C, *) with C = {self.num_features}, "
                             f"got shape {tuple(shape)}")
        momentum = self.momentum
        running = (self.running_mean, self.running_var) if self.track_running_stats else (None, None)
        if self.track_running_stats:
            self.num_batches_tracked.data += 1
            if momentum is None:
                momentum = 1.0 / self.num_batches_tracked.data
        opts = dict(running_mean=running[0], running_var=running[1], momentum=momentum, eps=self.eps)
        if self.weight is None:
            return SyncBatchNormFunction.apply(x, **opts)
        return SyncBatchNormFunction.apply(x, self.weight, self.bias, **opts)


def convert_sync_batchnorm(model):
    """Replace every ``BatchNorm1d/2d/3d`` of ``model`` by a :class:`SyncBatchNorm` with the same
    parameters, buffers and settings (in place); returns the model (a lone batch norm: its replacement)."""
    kinds = (BatchNorm1d, BatchNorm2d, BatchNorm3d)

    def convert(bn):
        new = SyncBatchNorm(bn.num_features, eps=bn.eps, momentum=bn.momentum, affine=bn.affine,
                            track_running_stats=bn.track_running_stats)
        dtype = next((t.dtype for t in [*bn.parameters(), *bn.buffers()] if t.data.dtype.kind == "f"), None)
        if dtype is not None:  # keep a float64 model float64
            new.to(dtype=dtype)
        new.load_state_dict(bn.state_dict())
        new.train(bn.training)
        return new

    if isinstance(model, kinds) and not isinstance(model, SyncBatchNorm):
        return convert(model)
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, kinds) and not isinstance(child, SyncBatchNorm):
                parent.add_module(name, convert(child))
    return model
