"""What every agent shares: configuration, observation normalisation, acting, state dicts.

An agent is built from ``(obs_dim, kind, size)`` — what :func:`shendu.rl.envs.check_spaces` reads
from the environment — and a configuration dict (the algorithm's defaults updated by the caller).
Subclasses name their networks in ``self.modules`` and optimizers in ``self.optimizers``, and
implement :meth:`Agent.iteration` (collect experience with a :class:`~shendu.rl.envs.VecRunner`
and update) and :meth:`Agent.act`.
"""
from __future__ import annotations

import numpy as np

from .. import optim
from ..grad_mode import no_grad
from .nets import PolicyHead, ValueHead
from .normalize import ObsNormalizer

__all__ = ["Agent"]


class Agent:
    """Base class of the four algorithms (see the module docstring).

    Args:
        obs_dim: length of an observation. kind: ``"discrete"`` / ``"continuous"``.
        size: number of actions K or action dimensions D.
        config: overrides of the class's ``DEFAULTS`` (unknown keys are refused).
        action_low, action_high: bounds of continuous actions (actions are clipped to them
            before they reach the environment; the policy's log-probabilities use the unclipped
            sample).
        rng: NumPy Generator for the agent's own draws.
    """

    algo = "agent"
    DEFAULTS: dict = {}

    def __init__(self, obs_dim, kind, size, config=None, action_low=None, action_high=None, rng=None):
        unknown = sorted(set(config or {}) - set(self.DEFAULTS))
        if unknown:
            raise ValueError(f"{self.algo}: unknown option(s) {unknown}; known: {sorted(self.DEFAULTS)}")
        self.config = {**self.DEFAULTS, **(config or {})}
        self.obs_dim, self.kind, self.size = int(obs_dim), kind, int(size)
        self.action_low = None if action_low is None else np.asarray(action_low, np.float32)
        self.action_high = None if action_high is None else np.asarray(action_high, np.float32)
        self.rng = rng if rng is not None else np.random.default_rng()
        self.normalizer = ObsNormalizer((self.obs_dim,), enabled=self.config.get("normalize_obs", False))
        self.modules, self.optimizers = {}, {}
        self.updates = 0

    def adam(self, *modules, lr):
        """One Adam optimizer (ε = 1e-5 as the reference implementations) over the modules' parameters."""
        params = [p for m in modules for p in m.parameters()]
        return optim.Adam(params, lr=lr, eps=1e-5)

    def build_actor_critic(self):
        """The policy and value networks of the policy-gradient agents (REINFORCE, A2C, PPO), each with the
        ``hidden`` layers of the configuration, set as ``self.policy`` / ``self.value`` and named in
        ``self.modules``."""
        c = self.config
        self.policy = PolicyHead(self.obs_dim, self.kind, self.size, tuple(c["hidden"]), c["log_std_init"])
        self.value = ValueHead(self.obs_dim, tuple(c["hidden"]))
        self.modules = {"policy": self.policy, "value": self.value}

    def set_lr(self, lr):
        for opt in self.optimizers.values():
            for group in opt.param_groups:
                group["lr"] = lr

    def to_env(self, actions):
        """Actions as the environment takes them (continuous ones clipped to the box)."""
        if self.kind == "continuous" and self.action_low is not None:
            return np.clip(actions, self.action_low, self.action_high)
        return actions

    def act(self, obs, deterministic=True):
        """Actions for a batch of raw observations ``(B, D)``; the greedy/mean action when deterministic."""
        with no_grad():
            return self._act(self.normalizer(obs), deterministic)

    def _act(self, obs, deterministic):  # pragma: no cover - abstract
        raise NotImplementedError

    def iteration(self, runner, progress):
        """Collect experience from ``runner`` and update; ``progress`` ∈ [0, 1) is the fraction of the
        run done (for schedules). Returns a dict of scalar logs."""
        raise NotImplementedError  # pragma: no cover - abstract

    # ---------------------------------------------------------------- state
    def state_dict(self):
        """Networks, optimizers, normaliser statistics and counters (arrays and plain values only)."""
        return {"modules": {k: m.state_dict() for k, m in self.modules.items()},
                "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
                "normalizer": self.normalizer.state_dict(), "updates": int(self.updates)}

    def load_state_dict(self, state, optimizers=True):
        for k, m in self.modules.items():
            m.load_state_dict(state["modules"][k])
        if optimizers:
            for k, o in self.optimizers.items():
                o.load_state_dict(state["optimizers"][k])
        self.normalizer.load_state_dict(state["normalizer"])
        self.updates = int(np.asarray(state.get("updates", 0)))
