"""NAdam: Adam with Nesterov momentum."""
from __future__ import annotations

from ..backend import get_array_module
from .adam import check_adam_like
from .optimizer import Optimizer, bias_correction, check_hyper, ema_, ema_square_, lazy_state


class NAdam(Optimizer):
    """NAdam (Dozat, 2016): Adam whose momentum looks one step ahead, as PyTorch computes it. ::

        g ← ∇f(θ) + λ·θ                          (or θ ← θ(1 − γλ) with decoupled_weight_decay)
        μₜ = β₁·(1 − ½·0.96^(t·ψ))               (momentum schedule; ψ = momentum_decay)
        Πₜ = μ₁·μ₂···μₜ                          (mu_product)
        m ← β₁·m + (1 − β₁)·g
        v ← β₂·v + (1 − β₂)·g²
        d = √(v / (1 − β₂ᵗ)) + ε
        θ ← θ − γ·(1 − μₜ)/(1 − Πₜ) · g/d − γ·μₜ₊₁/(1 − Πₜ·μₜ₊₁) · m/d

    The first term is the current gradient's share, the second the momentum's
    share evaluated at the next step's schedule value (the Nesterov look-ahead).

    Args:
        params: parameters or parameter groups.
        lr (float): γ. Default: 2e-3.
        betas (tuple): (β₁, β₂). Default: (0.9, 0.999).
        eps (float): ε. Default: 1e-8.
        weight_decay (float): λ. Default: 0.
        momentum_decay (float): ψ. Default: 4e-3.
        decoupled_weight_decay (bool): decay θ directly as AdamW does (NAdamW). Default: False.
        maximize (bool): ascend instead of descend. Default: False.

    Example:
        >>> opt = shendu.optim.NAdam(model.parameters())
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, maximize=False):
        check_adam_like("NAdam", lr, betas, eps, weight_decay)
        check_hyper("NAdam", momentum_decay=(momentum_decay, momentum_decay >= 0, ">= 0"))
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize))

    def _update(self, p, g, state, group):
        lr, weight_decay, psi = float(group["lr"]), float(group["weight_decay"]), float(group["momentum_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        mod, denom, work = get_array_module(p), self._scratch(p), self._scratch(p, 2)
        step = state["step"] = state.get("step", 0) + 1
        m, v = lazy_state(state, "exp_avg", p), lazy_state(state, "exp_avg_sq", p)
        if group["decoupled_weight_decay"]:
            p *= 1.0 - lr * weight_decay
            weight_decay = 0.0
        g = self._effective_grad(p, g, weight_decay, group["maximize"])
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * psi))
        mu_product = state["mu_product"] = state.get("mu_product", 1.0) * mu
        ema_(m, g, beta1)
        ema_square_(v, g, beta2, work)
        mod.divide(v, bias_correction(beta2, step), out=denom)
        mod.sqrt(denom, out=denom)
        denom += float(group["eps"])
        mod.divide(g, denom, out=work)
        work *= lr * (1.0 - mu) / (1.0 - mu_product)
        p -= work
        mod.divide(m, denom, out=work)
        work *= lr * mu_next / (1.0 - mu_product * mu_next)
        p -= work
