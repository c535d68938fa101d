"""Capsule layers: Sabour, Frosst & Hinton (2017), "Dynamic Routing Between Capsules", NIPS.

A capsule is a vector whose length is the probability that an entity is present and whose
orientation describes it. Capsules of one layer predict those of the next, û_j|i = W_ij u_i, and
*routing by agreement* (the paper's Procedure 1, :func:`dynamic_routing`) decides how much each
child i sends to each parent j. ``squash`` and ``dynamic_routing`` are fused ops with hand-written
gradients, in :mod:`shendu.functional.capsule`.

    >>> u = PrimaryCaps(256, 32, 8)(shendu.randn(2, 256, 20, 20))      # (2, 1152, 8): 32·6·6 capsules
    >>> v = CapsuleLayer(1152, 8, 10, 16)(u)                            # (2, 10, 16)
    >>> lengths = v.norm(dim=-1)                                        # class scores in [0, 1)

Docs: docs/capsules.md.
"""
from __future__ import annotations

from .. import functional as F
from ..functional.capsule import SQUASH_EPS, dynamic_routing, squash
from ..ops.selection import one_hot
from ..tensor import Tensor, empty
from . import init
from .conv import Conv2d
from .module import Module, Parameter


class PrimaryCaps(Module):
    """Convolutional capsules (the paper's PrimaryCapsules): one convolution with
    ``num_types · dim`` output channels, read as ``num_types`` maps of ``dim``-dimensional capsules,
    each squashed.

        u = squash(reshape(conv(x), (N, T, D, H', W')) → (N, T·H'·W', D))

    Args:
        in_channels: C of the input.
        num_types: T, capsule types (the paper: 32).
        dim: D, the capsule dimension (the paper: 8).
        kernel_size, stride: of the convolution (the paper: 9, 2).

    Shape: (N, C, H, W) -> (N, T·H'·W', D), H' = ⌊(H − k)/s⌋ + 1; capsule index (t, y, x) in that order.
    Parameters: C·T·D·k² + T·D (the paper: 5,308,672).
    """

    def __init__(self, in_channels, num_types=32, dim=8, kernel_size=9, stride=2):
        super().__init__()
        self.num_types, self.dim = int(num_types), int(dim)
        self.conv = Conv2d(in_channels, self.num_types * self.dim, kernel_size, stride=stride)

    def forward(self, x):
        y = self.conv(x)
        n, _, h, w = y.shape
        u = y.reshape(n, self.num_types, self.dim, h, w).permute(0, 1, 3, 4, 2)
        return squash(u.reshape(n, self.num_types * h * w, self.dim))

    def extra_repr(self):
        return f"num_types={self.num_types}, dim={self.dim}"


class CapsuleLayer(Module):
    """A fully connected capsule layer with routing by agreement (the paper's DigitCaps).

        û_j|i = W_ij u_i      (W_ij a D_out × D_in matrix per child i and parent j; no bias)
        v     = dynamic_routing(û, routings)

    Args:
        in_caps: I, the number of child capsules (the paper: 1152 = 32·6·6).
        in_dim: D_in (8).  out_caps: J, the parents (10, one per class).  out_dim: D_out (16).
        routings: routing iterations r (3).

    Shape: (N, I, D_in) -> (N, J, D_out). ``coupling`` holds the last call's coefficients (N, I, J).
    Parameters: ``weight`` (I, J, D_out, D_in), I·J·D_out·D_in (the paper: 1,474,560), initialised
    N(0, 0.01²) as in the authors' code: with I·J large, a wider start puts every |v_j| near 1,
    where squash saturates and the margin loss's gradient vanishes.
    """

    def __init__(self, in_caps, in_dim, out_caps, out_dim, routings=3):
        super().__init__()
        self.in_caps, self.in_dim, self.out_caps, self.out_dim = int(in_caps), int(in_dim), int(out_caps), int(out_dim)
        if isinstance(routings, bool) or not isinstance(routings, int) or routings < 1:
            raise ValueError(f"CapsuleLayer: routings must be an int >= 1, got {routings!r}")
        self.routings = routings
        self.weight = Parameter(empty(self.in_caps, self.out_caps, self.out_dim, self.in_dim))
        self.coupling = None
        self.reset_parameters()

    def reset_parameters(self):
        """W ~ N(0, 0.01²)."""
        init.normal_(self.weight, 0.0, 0.01)

    def forward(self, u):
        if u.ndim != 3 or tuple(u.shape[1:]) != (self.in_caps, self.in_dim):
            raise ValueError(f"CapsuleLayer: expected input capsules of shape (N, {self.in_caps}, {self.in_dim}), "
                             f"got shape {tuple(u.shape)}")
        n, i, j, d, k = u.shape[0], self.in_caps, self.out_caps, self.out_dim, self.in_dim
        # û = einsum("ijdk,nik->nijd", W, u) as one batched matrix product over the children i:
        # (I, N, K) @ (I, K, J·D) runs in BLAS (NumPy's two-operand einsum loops in C, ~15× slower)
        w = self.weight.reshape(i, j * d, k).permute(0, 2, 1)
        u_hat = (u.permute(1, 0, 2) @ w).permute(1, 0, 2).reshape(n, i, j, d)
        v, c = dynamic_routing(u_hat, self.routings)
        self.coupling = c.detach()
        return v

    def macs(self, inputs, output):
        """Per sample: I·J·D_out·D_in for û, then I·J·D_out for each s_j (r times) and each agreement (r − 1)."""
        n, ijd = output.shape[0], self.in_caps * self.out_caps * self.out_dim
        return n * (ijd * self.in_dim + ijd * (2 * self.routings - 1))

    def extra_repr(self):
        return (f"in_caps={self.in_caps}, in_dim={self.in_dim}, out_caps={self.out_caps}, "
                f"out_dim={self.out_dim}, routings={self.routings}")


def margin_loss(lengths, target, m_plus=0.9, m_minus=0.1, lam=0.5, reduction="mean"):
    """The capsule margin loss (Sabour et al. 2017, Eq. 4), summed over the classes k:

        L = Σ_k T_k · max(0, m⁺ − |v_k|)² + λ (1 − T_k) · max(0, |v_k| − m⁻)²

    with T_k = 1 for the target class. The mean over the batch (``reduction='sum'``: the sum,
    ``'none'``: one value per sample).

    Args:
        lengths: |v_k|, shape (N, K).  target: class indices, shape (N,).
        m_plus, m_minus, lam: m⁺ 0.9, m⁻ 0.1, λ 0.5 (the paper's).
    """
    if lengths.ndim != 2:
        raise ValueError(f"margin_loss: expected capsule lengths of shape (N, classes), got {tuple(lengths.shape)}")
    t = one_hot(target if isinstance(target, Tensor) else Tensor(target), lengths.shape[1]).astype(lengths.dtype)
    present = F.relu(m_plus - lengths) ** 2
    absent = F.relu(lengths - m_minus) ** 2
    per_sample = (t * present + lam * (1 - t) * absent).sum(axis=1)
    if reduction == "none":
        return per_sample
    if reduction == "sum":
        return per_sample.sum()
    if reduction != "mean":
        raise ValueError(f"margin_loss: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return per_sample.mean()


class MarginLoss(Module):
    """:func:`margin_loss` as a layer: ``MarginLoss()(lengths, target)``; options m_plus, m_minus, lam."""

    def __init__(self, m_plus=0.9, m_minus=0.1, lam=0.5, reduction="mean"):
        super().__init__()
        self.m_plus, self.m_minus, self.lam, self.reduction = float(m_plus), float(m_minus), float(lam), reduction

    def forward(self, lengths, target):
        return margin_loss(lengths, target, self.m_plus, self.m_minus, self.lam, self.reduction)

    def extra_repr(self):
        return f"m_plus={self.m_plus}, m_minus={self.m_minus}, lam={self.lam}"


__all__ = ["SQUASH_EPS", "CapsuleLayer", "MarginLoss", "PrimaryCaps", "dynamic_routing", "margin_loss", "squash"]
