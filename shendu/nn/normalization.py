"""Normalisation layers: ``BatchNorm1d``, ``BatchNorm2d``, ``BatchNorm3d`` and ``LayerNorm``.

Both kinds standardise and then scale and shift, x̂ = (x − μ)/√(σ² + ε),
y = γ·x̂ + β, through one fused node each (:mod:`shendu.functional.normalization`).
"""
from __future__ import annotations

from .. import functional as F
from ..backend import int64
from ..tensor import ones, tensor, zeros
from .module import Module, Parameter


class _BatchNorm(Module):
    """Batch normalisation over axis 1 (the features / channels); subclasses fix the input rank.

    Training: μ_B, σ²_B are the mean and biased variance of each channel over
    the batch (and spatial) axes, n values each; the running statistics move
    towards them, r ← (1 − m)·r + m·s, with the unbiased variance σ²_B·n/(n − 1)
    for r_σ² (PyTorch's convention); ``momentum=None`` averages all batches
    so far equally (m = 1/num_batches_tracked). Evaluation: μ, σ² are the
    running statistics, so a sample's output does not depend on its batch.

    Args:
        num_features: C, the number of channels.
        eps: ε added to the variance (default 1e-5).
        momentum: m (default 0.1), or None for a cumulative average.
        affine: learn γ (``weight``, init 1) and β (``bias``, init 0) (default True).
        track_running_stats: keep ``running_mean`` (init 0), ``running_var``
            (init 1) and ``num_batches_tracked`` buffers (default True); without
            them batch statistics are used in evaluation too.
    """

    _ranks = ()
    _layout = ""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True):
        super().__init__()
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), momentum
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        if affine:
            self.weight = Parameter(ones(self.num_features))
            self.bias = Parameter(zeros(self.num_features))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(self.num_features))
            self.register_buffer("running_var", ones(self.num_features))
            self.register_buffer("num_batches_tracked", tensor(0, dtype=int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        """Running mean 0, running variance 1, no batch seen."""
        if self.track_running_stats:
            self.running_mean.data.fill(0)
            self.running_var.data.fill(1)
            self.num_batches_tracked.data.fill(0)

    def forward(self, x):
        shape = x.shape
        if len(shape) not in self._ranks or shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}: expected input of shape {self._layout} with "
                             f"C = {self.num_features}, got shape {tuple(shape)}")
        momentum = self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1  # in place: a 0-d array plus 1 would be a NumPy scalar
            if momentum is None:
                momentum = 1.0 / self.num_batches_tracked.data
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            training=self.training, momentum=momentum, eps=self.eps)

    def macs(self, inputs, output):
        """One multiply-add per element (normalise, scale and shift folded together)."""
        return inputs[0].numel()

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) features or (N, C, L) sequences (Ioffe & Szegedy 2015).

    x̂ = (x − μ_B)/√(σ²_B + ε), y = γ·x̂ + β per channel; statistics over N (and L).
    See the base class for the running statistics and the Args
    (num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True).

    Shape: input (N, C) or (N, C, L) -> output, the same.

    Example:
        >>> bn = nn.BatchNorm1d(16)
        >>> bn(shendu.randn(32, 16)).shape
        (32, 16)
    """

    _ranks = (2, 3)
    _layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of images (N, C, H, W), per channel over N, H, W (Ioffe & Szegedy 2015).

    x̂ = (x − μ_B)/√(σ²_B + ε), y = γ·x̂ + β. Args as :class:`BatchNorm1d`.

    Shape: input (N, C, H, W) -> output, the same.

    Example:
        >>> nn.BatchNorm2d(3)(shendu.randn(8, 3, 32, 32)).shape
        (8, 3, 32, 32)
    """

    _ranks = (4,)
    _layout = "(N, C, H, W)"


class BatchNorm3d(_BatchNorm):
    """Batch normalisation of volumes (N, C, D, H, W). Args as :class:`BatchNorm1d`.

    Shape: input (N, C, D, H, W) -> output, the same.
    """

    _ranks = (5,)
    _layout = "(N, C, D, H, W)"


class LayerNorm(Module):
    """Layer normalisation (Ba et al. 2016): each sample standardised over its last axes.

    x̂ = (x − μ)/√(σ² + ε), y = γ ⊙ x̂ + β, with μ and σ² (biased) over the
    trailing ``normalized_shape`` axes of each sample; the same in training and
    evaluation (no running statistics).

    Args:
        normalized_shape: int or tuple, the trailing shape to normalise over.
        eps: ε (default 1e-5).
        elementwise_affine: learn γ (``weight``, init 1) and β (``bias``, init 0) (default True).
        bias: learn β (default True; PyTorch's argument).

    Shape: input (*, *normalized_shape) -> output, the same.

    Example:
        >>> ln = nn.LayerNorm(64)
        >>> ln(shendu.randn(8, 10, 64)).shape
        (8, 10, 64)
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
        self.normalized_shape = tuple(int(n) for n in shape)
        self.eps, self.elementwise_affine = float(eps), bool(elementwise_affine)
        if elementwise_affine:
            self.weight = Parameter(ones(self.normalized_shape))
            if bias:
                self.bias = Parameter(zeros(self.normalized_shape))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        k = len(self.normalized_shape)
        if x.ndim < k or x.shape[x.ndim - k:] != self.normalized_shape:
            raise ValueError(f"LayerNorm: expected input with trailing dimensions {self.normalized_shape}, "
                             f"got shape {tuple(x.shape)}")
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def macs(self, inputs, output):
        """One multiply-add per element (normalise, scale and shift folded together)."""
        return inputs[0].numel()

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


# --- nn-funcs: GroupNorm, InstanceNorm1d/2d/3d, RMSNorm
class GroupNorm(Module):
    """Group normalisation (Wu & He, 2018; ``torch.nn.GroupNorm``): each sample's channels split into
    groups, each group standardised over its channels and positions, then γ_c·x̂ + β_c per channel.

    Args:
        num_groups: G, dividing num_channels.  num_channels: C.
        eps: ε (default 1e-5).  affine: learn ``weight`` (init 1) and ``bias`` (init 0) of shape (C,) (default True).

    Shape: input (N, C, *) -> output, the same.

    Example:
        >>> nn.GroupNorm(2, 8)(shendu.randn(4, 8, 5, 5)).shape
        (4, 8, 5, 5)
    """

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True):
        super().__init__()
        if num_groups < 1 or num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        self.num_groups, self.num_channels = int(num_groups), int(num_channels)
        self.eps, self.affine = float(eps), bool(affine)
        if affine:
            self.weight = Parameter(ones(self.num_channels))
            self.bias = Parameter(zeros(self.num_channels))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm: expected input (N, {self.num_channels}, *), got shape {tuple(x.shape)}")
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class _InstanceNorm(_BatchNorm):
    """Instance normalisation (Ulyanov et al., 2016; PyTorch's ``InstanceNorm*d``): each (sample, channel)
    map standardised over its own positions, then γ_c·x̂ + β_c when ``affine``.

    Args:
        num_features: C.  eps: ε (default 1e-5).  momentum: of the running statistics (default 0.1).
        affine: learn ``weight`` and ``bias`` (C,) (default False, as PyTorch).
        track_running_stats: keep running averages of the instance statistics and use them in
            evaluation (default False: instance statistics in evaluation too).

    An unbatched input (C, *) is accepted, as in PyTorch.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False):
        super().__init__(num_features, eps, momentum, affine, track_running_stats)

    def forward(self, x):
        shape = x.shape
        if len(shape) == self._ranks[0] - 1:  # unbatched (C, *)
            return self.forward(x.reshape((1,) + tuple(shape))).reshape(shape)
        if len(shape) not in self._ranks or shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}: expected input of shape {self._layout} with "
                             f"C = {self.num_features}, got shape {tuple(shape)}")
        use_input_stats = self.training or not self.track_running_stats
        # as PyTorch: momentum None means 0, and num_batches_tracked is kept but never counted
        momentum = 0.0 if self.momentum is None else self.momentum
        return F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                               use_input_stats=use_input_stats, momentum=momentum, eps=self.eps)


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of sequences (N, C, L) (see :class:`_InstanceNorm`).

    Shape: input (N, C, L) or (C, L) -> the same.
    """

    _ranks = (3,)
    _layout = "(N, C, L)"


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of images (N, C, H, W) (see :class:`_InstanceNorm`).

    Shape: input (N, C, H, W) or (C, H, W) -> the same.

    Example:
        >>> nn.InstanceNorm2d(3, affine=True)(shendu.randn(2, 3, 8, 8)).shape
        (2, 3, 8, 8)
    """

    _ranks = (4,)
    _layout = "(N, C, H, W)"


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation of volumes (N, C, D, H, W) (see :class:`_InstanceNorm`).

    Shape: input (N, C, D, H, W) or (C, D, H, W) -> the same.
    """

    _ranks = (5,)
    _layout = "(N, C, D, H, W)"


class RMSNorm(Module):
    """Root-mean-square normalisation (Zhang & Sennrich, 2019; ``torch.nn.RMSNorm``):
    y = x / √(mean(x²) + ε) ⊙ γ over the trailing ``normalized_shape`` axes (no centring, no β).

    Args:
        normalized_shape: int or tuple.
        eps: ε; None (default) takes the machine epsilon of the input's dtype, as PyTorch.
        elementwise_affine: learn γ (``weight``, init 1) (default True).

    Shape: input (*, *normalized_shape) -> output, the same.

    Example:
        >>> nn.RMSNorm(16)(shendu.randn(2, 5, 16)).shape
        (2, 5, 16)
    """

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
        self.normalized_shape = tuple(int(n) for n in shape)
        self.eps, self.elementwise_affine = (None if eps is None else float(eps)), bool(elementwise_affine)
        if elementwise_affine:
            self.weight = Parameter(ones(self.normalized_shape))
        else:
            self.register_parameter("weight", None)

    def forward(self, x):
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
