"""Advantage actor–critic, the synchronous form of A3C (Mnih et al. 2016, arXiv:1602.01783), with
generalised advantage estimation (Schulman et al. 2016, arXiv:1506.02438).

Each iteration runs ``N`` environments for ``T`` steps, computes ``Â_t`` = GAE-λ and the critic's
targets ``R_t = Â_t + V(s_t)`` (:func:`shendu.rl.returns.gae`, bootstrapped at truncations and at the
rollout's end), and takes ONE gradient step on::

    L = −mean(log π_θ(a_t|s_t) Â_t) + c_V · ½ mean((V_θ(s_t) − R_t)²) − c_H · mean(H(π_θ(·|s_t)))

(global gradient norm clipped; learning rate annealed linearly to 0).
"""
from __future__ import annotations

import numpy as np

from .ppo import PPO

__all__ = ["A2C"]


class A2C(PPO):
    """A2C agent: PPO's rollout and networks with the plain policy gradient, one step per rollout.

    With one epoch and one minibatch, π_θ = π_old at the step, so the surrogate's gradient is the
    policy gradient above; the loss is written out here rather than through the clipped objective.
    """

    algo = "a2c"
    DEFAULTS = {**PPO.DEFAULTS, "num_envs": 8, "rollout_steps": 32, "lr": 7e-4, "gae_lambda": 0.95,
                "ent_coef": 0.01, "epochs": 1, "minibatches": 1, "normalize_advantages": True}

    def update(self, obs, actions, logp_old, adv, ret):
        from ..optim.clip import clip_grad_norm_
        from ..tensor import as_tensor

        c = self.config
        if c["normalize_advantages"] and len(adv) > 1:
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        dist = self.policy.distribution(obs)
        pg = -(dist.log_prob(actions) * as_tensor(adv.astype(np.float32))).mean()
        diff = self.value(obs) - as_tensor(ret)
        vloss = 0.5 * (diff * diff).mean()
        ent = dist.entropy().mean()
        loss = pg + c["vf_coef"] * vloss - c["ent_coef"] * ent
        opt = self.optimizers["adam"]
        opt.zero_grad()
        loss.backward()
        clip_grad_norm_([p for m in self.modules.values() for p in m.parameters()], c["max_grad_norm"])
        opt.step()
        self.updates += 1
        return {"policy_loss": float(pg.item()), "value_loss": float(vloss.item()), "entropy": float(ent.item())}
