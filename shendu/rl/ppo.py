"""Proximal Policy Optimization with the clipped objective (Schulman et al. 2017, arXiv:1707.06347).

Each iteration collects ``T`` steps of ``N`` environments with the current policy π_old, computes
GAE-λ advantages (:func:`shendu.rl.returns.gae`), then runs ``epochs`` passes of minibatch Adam
steps on::

    r_t(θ) = π_θ(a_t|s_t) / π_old(a_t|s_t) = exp(log π_θ − log π_old)
    L_clip = −E[min(r_t Â_t, clip(r_t, 1 − ε, 1 + ε) Â_t)]          (Â normalised per minibatch)
    L_V    = ½ E[(V_θ(s_t) − R_t)²],  R_t = Â_t + V_old(s_t)
    L      = L_clip + c_V L_V − c_H E[H(π_θ(·|s_t))]

with the global gradient norm clipped and the learning rate annealed linearly to 0 — the details
of the reference implementation (CleanRL's ``ppo.py`` / ``ppo_continuous_action.py``). Discrete
actions use a categorical policy, continuous ones a diagonal Gaussian with learned log σ.
"""
from __future__ import annotations

import numpy as np

from ..grad_mode import no_grad
from ..ops.elementwise import minimum
from ..optim.clip import clip_grad_norm_
from ..tensor import as_tensor
from .agent import Agent
from .buffers import RolloutStorage
from .returns import gae

__all__ = ["PPO", "ppo_clip_loss"]


def ppo_clip_loss(log_prob, old_log_prob, advantages, clip=0.2):
    """``−mean(min(r Â, clip(r, 1−ε, 1+ε) Â))`` with ``r = exp(log_prob − old_log_prob)``.

    Args:
        log_prob: ``(B,)`` Tensor log π_θ(a|s) (carries the gradient).
        old_log_prob, advantages: ``(B,)`` arrays or Tensors (constants).
        clip: ε.

    Returns:
        A scalar Tensor.
    """
    old = as_tensor(np.asarray(old_log_prob, np.float32))
    adv = as_tensor(np.asarray(advantages, np.float32))
    ratio = (log_prob - old).exp()
    return -minimum(ratio * adv, ratio.clamp(1.0 - clip, 1.0 + clip) * adv).mean()


class PPO(Agent):
    """PPO-clip agent (module docstring). Options in ``DEFAULTS``."""

    algo = "ppo"
    DEFAULTS = {"num_envs": 4, "rollout_steps": 128, "lr": 2.5e-4, "anneal_lr": True, "gamma": 0.99,
                "gae_lambda": 0.95, "minibatches": 4, "epochs": 4, "clip": 0.2, "ent_coef": 0.01,
                "vf_coef": 0.5, "max_grad_norm": 0.5, "hidden": [64, 64], "normalize_obs": False,
                "normalize_advantages": True, "log_std_init": 0.0, "reward_scale": 1.0}

    def __init__(self, obs_dim, kind, size, config=None, **kw):
        super().__init__(obs_dim, kind, size, config, **kw)
        c = self.config
        self.build_actor_critic()
        self.optimizers = {"adam": self.adam(self.policy, self.value, lr=c["lr"])}
        self.storage = None

    def _act(self, obs, deterministic):
        dist = self.policy.distribution(obs)
        return self.to_env(dist.mode() if deterministic else dist.sample())

    def iteration(self, runner, progress):
        c = self.config
        if self.storage is None:
            shape = () if self.kind == "discrete" else (self.size,)
            self.storage = RolloutStorage(c["rollout_steps"], runner.num_envs, (self.obs_dim,), shape,
                                          np.int64 if self.kind == "discrete" else np.float32)
        if c["anneal_lr"]:
            self.set_lr(c["lr"] * (1.0 - progress))
        st = self.storage
        st.reset()
        with no_grad():
            for _ in range(st.steps):
                obs = self.normalizer(runner.obs, update=True)
                dist = self.policy.distribution(obs)
                actions = dist.sample()
                logp = dist.log_prob(actions).numpy()
                values = self.value(obs).numpy()
                next_obs, rewards, term, trunc = runner.step(self.to_env(actions))
                st.add(obs, actions, logp, values, rewards * c["reward_scale"], term, trunc,
                       self.normalizer(next_obs))
            next_values = self.value(st.next_obs.reshape(-1, self.obs_dim)).numpy().reshape(st.rewards.shape)
        adv, ret = gae(st.rewards, st.values, next_values, st.terminated, st.truncated, c["gamma"], c["gae_lambda"])
        obs, actions, logp_old = st.flat("obs", "actions", "log_probs")
        adv, ret = adv.reshape(-1).astype(np.float32), ret.reshape(-1).astype(np.float32)
        return self.update(obs, actions, logp_old, adv, ret)

    def update(self, obs, actions, logp_old, adv, ret):
        """The ``epochs × minibatches`` gradient steps on one rollout (flattened ``(T·N, …)`` arrays)."""
        c = self.config
        params = [p for m in self.modules.values() for p in m.parameters()]
        opt = self.optimizers["adam"]
        n = len(obs)
        mb = max(1, n // c["minibatches"])
        logs = {"policy_loss": 0.0, "value_loss": 0.0, "entropy": 0.0, "clip_fraction": 0.0}
        count = 0
        for _ in range(c["epochs"]):
            order = self.rng.permutation(n)
            for start in range(0, n - mb + 1, mb):
                i = order[start:start + mb]
                a = adv[i]
                if c["normalize_advantages"] and len(i) > 1:
                    a = (a - a.mean()) / (a.std() + 1e-8)
                dist = self.policy.distribution(obs[i])
                logp = dist.log_prob(actions[i])
                pg = ppo_clip_loss(logp, logp_old[i], a, c["clip"])
                v = self.value(obs[i])
                diff = v - as_tensor(ret[i])
                vloss = 0.5 * (diff * diff).mean()
                ent = dist.entropy().mean()
                loss = pg + c["vf_coef"] * vloss - c["ent_coef"] * ent
                opt.zero_grad()
                loss.backward()
                clip_grad_norm_(params, c["max_grad_norm"])
                opt.step()
                ratio = np.exp(logp.detach().numpy() - logp_old[i])
                logs["policy_loss"] += float(pg.item())
                logs["value_loss"] += float(vloss.item())
                logs["entropy"] += float(ent.item())
                logs["clip_fraction"] += float((np.abs(ratio - 1.0) > c["clip"]).mean())
                count += 1
        self.updates += 1
        return {k: v / max(count, 1) for k, v in logs.items()}
