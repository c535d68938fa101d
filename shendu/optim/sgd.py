"""Stochastic gradient descent, with momentum and Nesterov momentum."""
from __future__ import annotations

from ..backend import get_array_module
from .optimizer import Optimizer, check_hyper


_SMALL = 4096  # numbers: up to this size an update's temporary costs less than the lookup of a scratch array


class SGD(Optimizer):
    """Gradient descent: step against the gradient, optionally with momentum.

    Batch, mini-batch and stochastic gradient descent are this same optimizer:
    they differ only in how many examples the loss that produced the gradient
    averaged (all, a few dozen, one). ::

        g ← ∇f(θ) + λ·θ                  (−∇f(θ) when maximize; λ = weight_decay)
        b ← μ·b + (1 − τ)·g              (μ = momentum, τ = dampening; b ← g at the first step)
        g ← g + μ·b   if nesterov  else  b
        θ ← θ − γ·g                      (γ = lr)

    Momentum averages successive gradients: components that keep their sign
    add up (faster along a valley floor), components that alternate cancel
    (less zig-zag across it). Nesterov momentum (Sutskever et al., 2013)
    evaluates the step as if the momentum move had already been made.

    Args:
        params: parameters or parameter groups (see :class:`Optimizer`).
        lr (float): learning rate γ. Default: 1e-3 (PyTorch's).
        momentum (float): momentum factor μ. Default: 0.
        dampening (float): dampening τ of the gradient added to the momentum. Default: 0.
        weight_decay (float): L2 penalty λ added to the gradient. Default: 0.
        nesterov (bool): Nesterov momentum (needs momentum > 0 and dampening 0). Default: False.
        maximize (bool): ascend the objective instead of descending. Default: False.

    Example:
        >>> opt = shendu.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, *,
                 maximize=False):
        check_hyper("SGD", lr=(lr, lr >= 0, ">= 0"), momentum=(momentum, momentum >= 0, ">= 0"),
                    weight_decay=(weight_decay, weight_decay >= 0, ">= 0"))
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(f"SGD: Nesterov momentum requires momentum > 0 and dampening 0, "
                             f"got momentum={momentum!r}, dampening={dampening!r}")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize))

    parallel_updates = True  # _update uses only its arguments and scratch arrays

    def _update(self, p, g, state, group):
        plain = not (group["momentum"] or group["weight_decay"] or group["maximize"])  # θ ← θ − γ·g
        if plain and p.size <= _SMALL:  # a temporary is cheaper than finding the scratch array (Python-bound)
            p -= g * float(group["lr"])
            return
        work = self._scratch(p)
        if not plain:
            g = self._direction(p, g, state, group, work)
        get_array_module(p).multiply(g, float(group["lr"]), out=work)
        p -= work

    def _direction(self, p, g, state, group, work):
        """The g of θ ← θ − γ·g with weight decay, maximize and momentum (the class docstring's lines 1–3)."""
        mod, momentum = get_array_module(p), float(group["momentum"])
        g = self._effective_grad(p, g, float(group["weight_decay"]), group["maximize"])
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = g.copy()
            else:
                mod.multiply(g, 1.0 - float(group["dampening"]), out=work)
                buf *= momentum
                buf += work
            if group["nesterov"]:
                mod.multiply(buf, momentum, out=work)
                work += g
                g = work
            else:
                g = buf
        return g
