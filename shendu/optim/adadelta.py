"""Adadelta: Adagrad without the ever-shrinking step, and with units that match θ."""
from __future__ import annotations

from ..backend import get_array_module
from .optimizer import Optimizer, check_hyper, ema_square_, lazy_state


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012): a moving average of g² instead of Adagrad's sum, scaled by past steps. ::

        g ← ∇f(θ) + λ·θ
        v ← ρ·v + (1 − ρ)·g²                    (square_avg)
        Δ ← √(u + ε) / √(v + ε) · g             (u: acc_delta)
        u ← ρ·u + (1 − ρ)·Δ²
        θ ← θ − γ·Δ

    The ratio √(u + ε)/√(v + ε) gives the step the units of θ, so γ = 1 works
    without tuning.

    Args:
        params: parameters or parameter groups.
        lr (float): γ, a factor on Δ. Default: 1.0.
        rho (float): ρ, the averaging coefficient. Default: 0.9.
        eps (float): ε. Default: 1e-6.
        weight_decay (float): L2 penalty λ. Default: 0.
        maximize (bool): ascend instead of descend. Default: False.

    Example:
        >>> opt = shendu.optim.Adadelta(model.parameters())
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, *, maximize=False):
        check_hyper("Adadelta", lr=(lr, lr >= 0, ">= 0"), rho=(rho, 0 <= rho <= 1, "0 <= rho <= 1"),
                    eps=(eps, eps >= 0, ">= 0"), weight_decay=(weight_decay, weight_decay >= 0, ">= 0"))
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize))

    def _update(self, p, g, state, group):
        rho, eps = float(group["rho"]), float(group["eps"])
        mod, std, delta = get_array_module(p), self._scratch(p), self._scratch(p, 2)
        state["step"] = state.get("step", 0) + 1
        v, u = lazy_state(state, "square_avg", p), lazy_state(state, "acc_delta", p)
        g = self._effective_grad(p, g, float(group["weight_decay"]), group["maximize"])
        ema_square_(v, g, rho, std)
        mod.add(v, eps, out=std)
        mod.sqrt(std, out=std)
        mod.add(u, eps, out=delta)
        mod.sqrt(delta, out=delta)
        delta /= std
        delta *= g
        ema_square_(u, delta, rho, std)
        delta *= float(group["lr"])
        p -= delta
