"""Adagrad: per-coordinate learning rates from the sum of squared gradients."""
from __future__ import annotations

from ..backend import get_array_module
from .optimizer import Optimizer, check_hyper, lazy_state


class Adagrad(Optimizer):
    """Adagrad (Duchi, Hazan & Singer, 2011): each coordinate's step shrinks with its gradient history. ::

        g ← ∇f(θ) + λ·θ
        γₜ ← γ / (1 + (t − 1)·η)                 (η = lr_decay)
        s ← s + g²                               (s₀ = initial_accumulator_value)
        θ ← θ − γₜ · g / (√s + ε)

    Rare features (small accumulated s) get large steps, frequent ones small
    steps; but s only grows, so the steps eventually vanish (what Adadelta
    and RMSprop fix).

    Args:
        params: parameters or parameter groups.
        lr (float): learning rate γ. Default: 1e-2.
        lr_decay (float): η. Default: 0.
        weight_decay (float): L2 penalty λ. Default: 0.
        initial_accumulator_value (float): s₀. Default: 0.
        eps (float): ε. Default: 1e-10.
        maximize (bool): ascend instead of descend. Default: False.

    Example:
        >>> opt = shendu.optim.Adagrad(model.parameters(), lr=0.01)
    """

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10,
                 *, maximize=False):
        check_hyper("Adagrad", lr=(lr, lr >= 0, ">= 0"), lr_decay=(lr_decay, lr_decay >= 0, ">= 0"),
                    weight_decay=(weight_decay, weight_decay >= 0, ">= 0"), eps=(eps, eps >= 0, ">= 0"),
                    initial_accumulator_value=(initial_accumulator_value, initial_accumulator_value >= 0, ">= 0"))
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, eps=eps,
                                      initial_accumulator_value=initial_accumulator_value, maximize=maximize))

    def _update(self, p, g, state, group):
        mod, work = get_array_module(p), self._scratch(p)
        step = state["step"] = state.get("step", 0) + 1
        total = lazy_state(state, "sum", p, float(group["initial_accumulator_value"]))
        g = self._effective_grad(p, g, float(group["weight_decay"]), group["maximize"])
        lr_t = float(group["lr"]) / (1 + (step - 1) * float(group["lr_decay"]))
        mod.multiply(g, g, out=work)
        total += work
        mod.sqrt(total, out=work)
        work += float(group["eps"])
        mod.divide(g, work, out=work)
        work *= lr_t
        p -= work
