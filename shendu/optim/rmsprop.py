"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""
from __future__ import annotations

from ..backend import get_array_module
from .optimizer import Optimizer, check_hyper, ema_, ema_square_, lazy_state


class RMSprop(Optimizer):
    """RMSprop (Hinton, lecture 6e, 2012): steps scaled by √(moving average of g²). ::

        g ← ∇f(θ) + λ·θ
        v ← α·v + (1 − α)·g²
        v̂ ← v − ḡ²   with ḡ ← α·ḡ + (1 − α)·g     if centered, else v̂ ← v
        b ← μ·b + g / (√v̂ + ε);   θ ← θ − γ·b     if momentum μ > 0
        θ ← θ − γ · g / (√v̂ + ε)                  otherwise

    Centered RMSprop divides by an estimate of the gradient's variance
    instead of its uncentered second moment.

    Args:
        params: parameters or parameter groups.
        lr (float): γ. Default: 1e-2.
        alpha (float): α, the smoothing constant. Default: 0.99.
        eps (float): ε. Default: 1e-8.
        weight_decay (float): L2 penalty λ. Default: 0.
        momentum (float): μ. Default: 0.
        centered (bool): normalise by the variance estimate. Default: False.
        maximize (bool): ascend instead of descend. Default: False.

    Example:
        >>> opt = shendu.optim.RMSprop(model.parameters(), lr=1e-3)
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False, *,
                 maximize=False):
        check_hyper("RMSprop", lr=(lr, lr >= 0, ">= 0"), alpha=(alpha, alpha >= 0, ">= 0"),
                    eps=(eps, eps >= 0, ">= 0"), weight_decay=(weight_decay, weight_decay >= 0, ">= 0"),
                    momentum=(momentum, momentum >= 0, ">= 0"))
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered, maximize=maximize))

    def _update(self, p, g, state, group):
        alpha, lr, momentum = float(group["alpha"]), float(group["lr"]), float(group["momentum"])
        mod, work = get_array_module(p), self._scratch(p)
        state["step"] = state.get("step", 0) + 1
        v = lazy_state(state, "square_avg", p)
        g = self._effective_grad(p, g, float(group["weight_decay"]), group["maximize"])
        ema_square_(v, g, alpha, work)
        if group["centered"]:
            g_avg = lazy_state(state, "grad_avg", p)
            ema_(g_avg, g, alpha)
            mod.multiply(g_avg, g_avg, out=work)
            mod.subtract(v, work, out=work)
            mod.sqrt(work, out=work)
        else:
            mod.sqrt(v, out=work)
        work += float(group["eps"])
        mod.divide(g, work, out=work)
        if momentum > 0:
            buf = lazy_state(state, "momentum_buffer", p)
            buf *= momentum
            buf += work
            mod.multiply(buf, lr, out=work)
        else:
            work *= lr
        p -= work
