"""Adam and AdamW: momentum plus per-coordinate scaling, with bias correction."""
from __future__ import annotations

import math

from ..backend import get_array_module
from .optimizer import Optimizer, bias_correction, check_hyper, ema_, ema_square_, lazy_state


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015): moving averages of g and g², corrected for their zero start. ::

        g ← ∇f(θ) + λ·θ                         (L2; AdamW instead decays θ directly)
        m ← β₁·m + (1 − β₁)·g                   (first moment)
        v ← β₂·v + (1 − β₂)·g²                  (second moment)
        v ← max(v_max, v)                        (amsgrad only, Reddi et al., 2018)
        m̂ = m / (1 − β₁ᵗ),   v̂ = v / (1 − β₂ᵗ)  (bias correction: m and v start at 0)
        θ ← θ − γ · m̂ / (√v̂ + ε)

    The last two lines are computed as the paper suggests (section 2), with
    one pass fewer over the arrays: ``θ ← θ − γₜ·m / (√v + ε̂)`` where
    ``γₜ = γ·√(1 − β₂ᵗ)/(1 − β₁ᵗ)`` and ``ε̂ = ε·√(1 − β₂ᵗ)``.

    Args:
        params: parameters or parameter groups.
        lr (float): γ. Default: 1e-3.
        betas (tuple): (β₁, β₂). Default: (0.9, 0.999).
        eps (float): ε. Default: 1e-8.
        weight_decay (float): λ. Default: 0.
        amsgrad (bool): use the running maximum of v (AMSGrad). Default: False.
        maximize (bool): ascend instead of descend. Default: False.
        decoupled_weight_decay (bool): decay θ directly as AdamW does. Default: False.

    Example:
        >>> opt = shendu.optim.Adam(model.parameters(), lr=1e-3)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, *,
                 maximize=False, decoupled_weight_decay=False):
        check_adam_like(type(self).__name__, lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay))

    parallel_updates = True  # _update uses only its arguments and scratch arrays

    def _update(self, p, g, state, group):
        lr, weight_decay = float(group["lr"]), float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        mod, work = get_array_module(p), self._scratch(p)
        step = state["step"] = state.get("step", 0) + 1
        m, v = lazy_state(state, "exp_avg", p), lazy_state(state, "exp_avg_sq", p)
        if group["decoupled_weight_decay"]:
            p *= 1.0 - lr * weight_decay
            weight_decay = 0.0
        g = self._effective_grad(p, g, weight_decay, group["maximize"])
        ema_(m, g, beta1)
        ema_square_(v, g, beta2, work)
        if group["amsgrad"]:
            v_max = lazy_state(state, "max_exp_avg_sq", p)
            mod.maximum(v_max, v, out=v_max)
            v = v_max
        root_c2 = math.sqrt(bias_correction(beta2, step))
        mod.sqrt(v, out=work)
        work += float(group["eps"]) * root_c2
        mod.divide(m, work, out=work)
        work *= lr * root_c2 / bias_correction(beta1, step)
        p -= work


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter, 2019): Adam with weight decay decoupled from the gradient. ::

        θ ← θ − γ·λ·θ                            (before the Adam step; λ = weight_decay)
        m, v, θ ← Adam step with g = ∇f(θ)       (no λ·θ in g)

    With L2 in the gradient (plain Adam) the decay is divided by √v̂ like the
    rest of the gradient, so weights with large gradients are barely
    regularised; decoupling decays every weight at the same rate γ·λ.

    Args: as :class:`Adam`, with weight_decay defaulting to 1e-2.

    Example:
        >>> opt = shendu.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)


def check_adam_like(name, lr, betas, eps, weight_decay):
    check_hyper(name, lr=(lr, lr >= 0, ">= 0"), eps=(eps, eps >= 0, ">= 0"),
                weight_decay=(weight_decay, weight_decay >= 0, ">= 0"),
                betas=(betas, len(betas) == 2 and all(0 <= b < 1 for b in betas), "two values in [0, 1)"))
