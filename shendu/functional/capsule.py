"""Capsule ops with hand-written gradients (Sabour, Frosst & Hinton 2017): squash and routing by agreement.

Both are fused because a profile showed it matters: composed from tensor ops, three routing
iterations recorded ~25 autograd nodes, and the gradient of the predictions û was five full-size
outer products (one per use of û) added one by one; here it is one batched matrix product.
The layers that use them, and the docs, are in :mod:`shendu.nn.capsule`; the tests check both
ops against Procedure 1, against the composed ops and by gradcheck (tests/test_capsnet.py).
"""
from __future__ import annotations

from ..autograd import Function
from ..backend import get_array_module
from .activation import Softmax

#: The ε under the square root of |s|² in :func:`squash`: the gradient stays finite at s = 0.
SQUASH_EPS = 1e-8


class Squash(Function):
    """v = f(q)·s with q = |s|² along ``axis``, f(q) = q·h, h = 1 / ((1 + q)·√(q + ε));

    dL/ds = f(q)·g + 2 f'(q)·(g·s)·s,  f'(q) = h·(1/(1 + q) − q / (2(q + ε)))   (finite at q = 0).
    """

    __slots__ = ("axis", "eps", "h", "q", "s")

    def forward(self, s, axis=-1, eps=SQUASH_EPS):
        xp = get_array_module(s)
        q = (s * s).sum(axis=axis, keepdims=True)
        h = 1.0 / ((1.0 + q) * xp.sqrt(q + eps))
        self.s, self.q, self.h, self.axis, self.eps = s, q, h, axis, eps
        return s * (q * h)

    def backward(self, g):
        s, q, h = self.s, self.q, self.h
        df = h * (1.0 / (1.0 + q) - q / (2.0 * (q + self.eps)))
        return g * (q * h) + (2.0 * df * (g * s).sum(axis=self.axis, keepdims=True)) * s


class DynamicRouting(Function):
    """Procedure 1 (see :func:`dynamic_routing`), with votes V = û laid out (N, J, I, D) (a view):

        c = softmax_j(b)      s = c @ V  ((N, J, 1, I) @ (N, J, I, D))      v = squash(s)
        b ← b + V @ v         ((N, J, I, D) @ (N, J, D, 1))

    Backward runs the iterations in reverse, with γ = dL/db of the iteration after:
    dL/dv = γ @ V (the agreement) except for the output v; dL/ds = squash'; dL/dc = V @ dL/ds;
    dL/db = γ + softmax'(dL/dc). û's gradient sums one outer product per use of û,
    Σ_r c_r ⊗ dL/ds_r + Σ_r γ_r ⊗ v_r, computed as one matrix product (N, J, I, 2r−1) @ (N, J, 2r−1, D).
    """

    __slots__ = ("steps", "votes")

    def forward(self, u_hat, iterations=3):
        xp = get_array_module(u_hat)
        votes = u_hat.transpose(0, 2, 1, 3)
        n, j, i, _ = votes.shape
        b = xp.zeros((n, j, i), dtype=u_hat.dtype)
        self.votes, self.steps = votes, []
        for r in range(iterations):
            softmax, squash_ = Softmax(), Squash()
            c = softmax.forward(b, 1)                                  # over the parents j
            s = (c[:, :, None, :] @ votes)[:, :, 0]
            v = squash_.forward(s)
            self.steps.append((softmax, squash_, v))
            if r < iterations - 1:
                b = b + (votes @ v[..., None])[..., 0]
        return v, c.transpose(0, 2, 1)

    def backward(self, gv, gc):
        xp = get_array_module(self.votes)
        votes, last = self.votes, len(self.steps) - 1
        left, right = [], []        # û's gradient: Σ left_k ⊗ right_k over the uses of û
        gamma = None                # dL/db of the iteration after the current one
        for r in range(last, -1, -1):
            softmax, squash_, v = self.steps[r]
            if r == last:
                g_v = xp.zeros_like(v) if gv is None else gv
            else:                   # b_{r+1} = b_r + V @ v_r
                g_v = (gamma[:, :, None, :] @ votes)[:, :, 0]
                left.append(gamma)
                right.append(v)
            g_s = squash_.backward(g_v)
            left.append(softmax.y)
            right.append(g_s)
            if r == 0:              # b_0 = 0 is a constant
                break
            g_c = (votes @ g_s[..., None])[..., 0]
            if r == last and gc is not None:
                g_c = g_c + gc.transpose(0, 2, 1)
            g_b = softmax.backward(g_c)
            gamma = g_b if gamma is None else gamma + g_b
        # written in û's own memory order (empty_like keeps it), so that a caller's reshapes of û stay views
        g_u_hat = xp.empty_like(self.votes.transpose(0, 2, 1, 3))
        xp.matmul(xp.stack(left, axis=-1), xp.stack(right, axis=-2), out=g_u_hat.transpose(0, 2, 1, 3))
        return g_u_hat


def squash(s, dim=-1, eps=SQUASH_EPS):
    """The capsule non-linearity (Sabour et al. 2017, Eq. 1): short vectors shrink to ~0, long ones to ~1.

        v = |s|² / (1 + |s|²) · s / |s|      (|s| computed as √(|s|² + ε))

    Args:
        s: a tensor of capsules, the capsule vector along ``dim``.
        dim: the capsule axis (default −1).
        eps: ε (default 1e-8).

    Shape: (*) -> (*), the same; |v| = |s|²/(1 + |s|²) < 1.
    """
    return Squash.apply(s, axis=dim, eps=eps)


def dynamic_routing(u_hat, iterations=3):
    """Routing by agreement, the paper's Procedure 1.

        b_ij ← 0                                       for every child i and parent j
        repeat r times:
            c_i  ← softmax_j(b_i)                      (over the PARENTS j: Σ_j c_ij = 1)
            s_j  ← Σ_i c_ij û_j|i
            v_j  ← squash(s_j)
            b_ij ← b_ij + û_j|i · v_j                  (not after the last iteration: it is unused)
        return v

    The coupling coefficients of child i are a softmax over the parents, so each child divides
    its vote among them; normalising over the children instead (a common slip in ports) makes
    every parent take a weighted mean of all children and routing loses its meaning.
    The gradient flows through every iteration, as the procedure is written (:class:`DynamicRouting`).

    Args:
        u_hat: the predictions û, shape (N, I, J, D): N samples, I children, J parents, D dims.
        iterations: r ≥ 1 (the paper uses 3).

    Returns:
        (v, c): the parent capsules v, shape (N, J, D), and the coupling coefficients c of the
        last iteration, shape (N, I, J).
    """
    if u_hat.ndim != 4:
        raise ValueError(f"dynamic_routing: expected predictions u_hat of shape (N, children, parents, dims), "
                         f"got shape {tuple(u_hat.shape)}")
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
        raise ValueError(f"dynamic_routing: iterations must be an int >= 1, got {iterations!r}")
    return DynamicRouting.apply(u_hat, iterations=iterations)


__all__ = ["SQUASH_EPS", "DynamicRouting", "Squash", "dynamic_routing", "squash"]
