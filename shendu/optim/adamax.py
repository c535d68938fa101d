"""Adamax: Adam with the infinity norm in place of the second moment."""
from __future__ import annotations

from ..backend import get_array_module
from .adam import check_adam_like
from .optimizer import Optimizer, bias_correction, ema_, lazy_state


class Adamax(Optimizer):
    """Adamax (Kingma & Ba, 2015, section 7.1): Adam's ℓ² scaling replaced by ℓ^∞. ::

        g ← ∇f(θ) + λ·θ
        m ← β₁·m + (1 − β₁)·g
        u ← max(β₂·u, |g| + ε)                   (exponentially weighted infinity norm)
        θ ← θ − γ/(1 − β₁ᵗ) · m / u

    u needs no bias correction: a maximum is not pulled towards its zero start.

    Args:
        params: parameters or parameter groups.
        lr (float): γ. Default: 2e-3.
        betas (tuple): (β₁, β₂). Default: (0.9, 0.999).
        eps (float): ε. Default: 1e-8.
        weight_decay (float): λ. Default: 0.
        maximize (bool): ascend instead of descend. Default: False.

    Example:
        >>> opt = shendu.optim.Adamax(model.parameters())
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, *, maximize=False):
        check_adam_like("Adamax", lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      maximize=maximize))

    def _update(self, p, g, state, group):
        beta1, beta2 = (float(b) for b in group["betas"])
        mod, work = get_array_module(p), self._scratch(p)
        step = state["step"] = state.get("step", 0) + 1
        m, u = lazy_state(state, "exp_avg", p), lazy_state(state, "exp_inf", p)
        g = self._effective_grad(p, g, float(group["weight_decay"]), group["maximize"])
        ema_(m, g, beta1)
        u *= beta2
        mod.abs(g, out=work)
        work += float(group["eps"])
        mod.maximum(u, work, out=u)
        mod.divide(m, u, out=work)
        work *= float(group["lr"]) / bias_correction(beta1, step)
        p -= work
