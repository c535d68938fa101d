"""REINFORCE with reward-to-go and a learned baseline (Williams 1992, "Simple statistical
gradient-following algorithms for connectionist reinforcement learning", Machine Learning 8).

Each iteration plays complete episodes with the current policy until at least ``batch_steps``
steps are collected (the run's first iteration starts fresh episodes; partial episodes are not
used), then::

    G_t = Σ_{k≥t} γ^{k−t} r_k                    (reward-to-go; bootstrapped by V only where a time
                                                  limit truncated the episode)
    Â_t = G_t − V_φ(s_t)                          (the baseline lowers the variance, not the mean)
    ∇_θ J ≈ (1/|B|) Σ_t ∇_θ log π_θ(a_t|s_t) Â_t  (one Adam step on −mean(log π Â), Â normalised)
    φ ← argmin Σ_t (V_φ(s_t) − G_t)²             (``value_iters`` Adam steps)
"""
from __future__ import annotations

import numpy as np

from ..grad_mode import no_grad
from ..tensor import as_tensor
from .agent import Agent
from .returns import discounted_returns

__all__ = ["Reinforce"]


class Reinforce(Agent):
    """REINFORCE agent (module docstring). Options in ``DEFAULTS``."""

    algo = "reinforce"
    DEFAULTS = {"num_envs": 1, "batch_steps": 2000, "lr": 5e-3, "value_lr": 1e-3, "value_iters": 20,
                "gamma": 0.99, "hidden": [64, 64], "normalize_obs": False, "normalize_advantages": True,
                "log_std_init": 0.0, "anneal_lr": True}

    def __init__(self, obs_dim, kind, size, config=None, **kw):
        super().__init__(obs_dim, kind, size, config, **kw)
        c = self.config
        self.build_actor_critic()
        self.optimizers = {"policy": self.adam(self.policy, lr=c["lr"]),
                           "value": self.adam(self.value, lr=c["value_lr"])}
        self._fresh = True

    def _act(self, obs, deterministic):
        dist = self.policy.distribution(obs)
        return self.to_env(dist.mode() if deterministic else dist.sample())

    def collect(self, runner):
        """Complete episodes of ≥ ``batch_steps`` steps in total: a dict of ``(S, …)`` arrays."""
        if self._fresh:  # episodes in progress were played by an older policy
            runner.reset()
            self._fresh = False
        n = runner.num_envs
        partial = [[] for _ in range(n)]
        done_steps = []
        with no_grad():
            while sum(len(e) for e in done_steps) < self.config["batch_steps"]:
                obs = self.normalizer(runner.obs, update=True)
                actions = self.policy.distribution(obs).sample()
                next_obs, rewards, term, trunc = runner.step(self.to_env(actions))
                next_obs = self.normalizer(next_obs)
                for i in range(n):
                    partial[i].append((obs[i], actions[i], rewards[i], term[i], trunc[i], next_obs[i]))
                    if term[i] or trunc[i]:
                        done_steps.append(partial[i])
                        partial[i] = []
        self._fresh = any(partial)  # with several environments some episodes are left unfinished
        rows = [step for episode in done_steps for step in episode]
        cols = list(zip(*rows))
        return {k: np.asarray(v) for k, v in zip(("obs", "actions", "rewards", "terminated", "truncated",
                                                  "next_obs"), cols)}

    def iteration(self, runner, progress):
        c = self.config
        if c["anneal_lr"]:
            self.optimizers["policy"].param_groups[0]["lr"] = c["lr"] * (1.0 - progress)
        b = self.collect(runner)
        with no_grad():
            next_values = self.value(b["next_obs"].astype(np.float32)).numpy()
        # each episode ends in a terminated or truncated step, so one pass over the concatenation works
        returns = discounted_returns(b["rewards"], b["terminated"], b["truncated"], next_values, c["gamma"])
        obs = b["obs"].astype(np.float32)
        ret = returns.astype(np.float32)
        with no_grad():
            adv = ret - self.value(obs).numpy()
        if c["normalize_advantages"] and len(adv) > 1:
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        logp = self.policy.distribution(obs).log_prob(b["actions"])
        policy_loss = -(logp * as_tensor(adv.astype(np.float32))).mean()
        opt = self.optimizers["policy"]
        opt.zero_grad()
        policy_loss.backward()
        opt.step()
        target = as_tensor(ret)
        for _ in range(c["value_iters"]):
            diff = self.value(obs) - target
            value_loss = (diff * diff).mean()
            self.optimizers["value"].zero_grad()
            value_loss.backward()
            self.optimizers["value"].step()
        self.updates += 1
        return {"policy_loss": float(policy_loss.item()), "value_loss": float(value_loss.item())}
