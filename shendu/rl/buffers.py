"""Experience storage: the replay buffer of DQN and the rollout storage of on-policy methods.

:class:`ReplayBuffer` is a ring of fixed capacity: transition ``i`` (counted from the first) lives
in slot ``i mod capacity``, so once full the oldest transition is overwritten first. Sampling is
uniform, or — with ``alpha > 0`` — *prioritised* (Schaul et al. 2016, arXiv:1511.05952,
proportional variant): ``P(i) = p_i^α / Σ_j p_j^α`` with importance weights
``w_i = (n P(i))^{−β} / max_j w_j`` that undo the bias in the loss. New transitions get the largest
priority seen so far; :meth:`ReplayBuffer.update_priorities` sets ``p_i = |δ_i| + ε``. (The
probabilities are normalised over the whole ring at each draw — O(capacity), which for the tens of
thousands of transitions of classic control costs less than one network step; a sum tree would
make it O(log capacity).)
"""
from __future__ import annotations

import numpy as np

__all__ = ["ReplayBuffer", "RolloutStorage"]


class ReplayBuffer:
    """Fixed-capacity ring of transitions ``(obs, action, reward, next_obs, terminated)``.

    ``next_obs`` is the observation that followed the action (the *final* one when the episode
    ended); ``terminated`` is 1 only for a terminal state — a truncated episode keeps its
    bootstrap ``γ max_a Q(next_obs, a)``.

    Args:
        capacity: number of transitions kept.
        obs_shape: shape of one observation. action_shape: ``()`` for discrete actions.
        alpha: priority exponent α; 0 = uniform sampling. beta: importance-weight exponent β.
        eps: ε added to |δ| in the priorities.
        rng: a ``numpy.random.Generator`` (seeded for reproducible draws).
    """

    def __init__(self, capacity, obs_shape, action_shape=(), action_dtype=np.int64, alpha=0.0, beta=0.4,
                 eps=1e-6, rng=None):
        if int(capacity) < 1:
            raise ValueError(f"ReplayBuffer: capacity must be a positive integer, got {capacity!r}")
        self.capacity = int(capacity)
        self.obs_shape, self.action_shape = tuple(obs_shape), tuple(action_shape)
        self.obs = np.zeros((self.capacity, *self.obs_shape), np.float32)
        self.next_obs = np.zeros_like(self.obs)
        self.actions = np.zeros((self.capacity, *self.action_shape), action_dtype)
        self.rewards = np.zeros(self.capacity, np.float32)
        self.terminated = np.zeros(self.capacity, np.float32)
        self.alpha, self.beta, self.eps = float(alpha), float(beta), float(eps)
        self.priorities = np.zeros(self.capacity, np.float64)
        self.added = 0  # transitions ever added; the next one goes to slot added % capacity
        self.rng = rng if rng is not None else np.random.default_rng()

    def __len__(self):
        return min(self.added, self.capacity)

    def add(self, obs, action, reward, next_obs, terminated):
        """Store a batch of ``B`` transitions (leading axis B: one per environment)."""
        obs = np.asarray(obs, np.float32).reshape(-1, *self.obs_shape)
        b = len(obs)
        slots = (self.added + np.arange(b)) % self.capacity
        self.obs[slots] = obs
        self.next_obs[slots] = np.asarray(next_obs, np.float32).reshape(b, *self.obs_shape)
        self.actions[slots] = np.asarray(action).reshape(b, *self.action_shape)
        self.rewards[slots] = np.asarray(reward, np.float32).reshape(b)
        self.terminated[slots] = np.asarray(terminated, np.float32).reshape(b)
        top = self.priorities[:len(self)].max() if len(self) else 1.0
        self.priorities[slots] = top if top > 0 else 1.0
        self.added += b

    def sample(self, batch_size):
        """Draw ``batch_size`` transitions (with replacement).

        Returns:
            dict of arrays ``obs, actions, rewards, next_obs, terminated, indices, weights``
            (``weights`` all 1 for uniform sampling).
        """
        n = len(self)
        if n == 0:
            raise ValueError("ReplayBuffer.sample: the buffer is empty; add transitions first")
        if self.alpha > 0:
            p = self.priorities[:n] ** self.alpha
            p = p / p.sum()
            idx = self.rng.choice(n, size=batch_size, p=p)
            w = (n * p[idx]) ** (-self.beta)
            weights = (w / w.max()).astype(np.float32)
        else:
            idx = self.rng.integers(0, n, size=batch_size)
            weights = np.ones(batch_size, np.float32)
        return {"obs": self.obs[idx], "actions": self.actions[idx], "rewards": self.rewards[idx],
                "next_obs": self.next_obs[idx], "terminated": self.terminated[idx], "indices": idx,
                "weights": weights}

    def update_priorities(self, indices, td_errors):
        """``p_i = |δ_i| + ε`` for the sampled ``indices``."""
        self.priorities[np.asarray(indices)] = np.abs(np.asarray(td_errors, np.float64)) + self.eps

    def statistics(self):
        """Small JSON-able summary kept in checkpoints (size, capacity, transitions added)."""
        return {"size": len(self), "capacity": self.capacity, "added": int(self.added),
                "prioritised": self.alpha > 0}


class RolloutStorage:
    """``T`` steps of ``N`` parallel environments for one on-policy update.

    Fields (leading axes ``(T, N)``): ``obs``, ``actions``, ``log_probs``, ``values``, ``rewards``,
    ``terminated``, ``truncated`` and ``next_obs`` — the observation after each step (the final one
    where an episode ended), whose values bootstrap :func:`shendu.rl.returns.gae`.
    """

    def __init__(self, steps, num_envs, obs_shape, action_shape=(), action_dtype=np.int64):
        self.steps, self.num_envs = int(steps), int(num_envs)
        tn = (self.steps, self.num_envs)
        self.obs = np.zeros((*tn, *obs_shape), np.float32)
        self.next_obs = np.zeros_like(self.obs)
        self.actions = np.zeros((*tn, *action_shape), action_dtype)
        self.log_probs = np.zeros(tn, np.float32)
        self.values = np.zeros(tn, np.float32)
        self.rewards = np.zeros(tn, np.float32)
        self.terminated = np.zeros(tn, np.float32)
        self.truncated = np.zeros(tn, np.float32)
        self.t = 0

    def add(self, obs, actions, log_probs, values, rewards, terminated, truncated, next_obs):
        """Store step ``t`` for all N environments; raises when the storage is full."""
        if self.t >= self.steps:
            raise ValueError(f"RolloutStorage.add: full ({self.steps} steps); call reset() after the update")
        t = self.t
        self.obs[t], self.actions[t], self.log_probs[t], self.values[t] = obs, actions, log_probs, values
        self.rewards[t], self.terminated[t], self.truncated[t], self.next_obs[t] = (
            rewards, terminated, truncated, next_obs)
        self.t += 1

    def reset(self):
        """Start the next rollout (the arrays are overwritten in place)."""
        self.t = 0

    def flat(self, *names):
        """The named fields with ``(T, N)`` merged into one batch axis ``T·N``."""
        return [getattr(self, n).reshape(self.steps * self.num_envs, *getattr(self, n).shape[2:]) for n in names]
