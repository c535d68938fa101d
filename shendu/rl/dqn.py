"""Deep Q-Network (Mnih et al. 2015, "Human-level control through deep reinforcement learning",
Nature 518) with Double DQN as an option (van Hasselt et al. 2016, arXiv:1509.06461).

Acting is ε-greedy with ε decayed linearly from ``start_eps`` to ``final_eps`` over the first
``exploration_fraction`` of the run. Every transition goes to a :class:`~shendu.rl.buffers.ReplayBuffer`;
every ``train_freq`` steps (after ``learning_starts``) a minibatch is regressed onto the target
computed with the *target network* θ⁻ (a copy of θ refreshed every ``target_update`` steps)::

    DQN:         y = r + γ (1 − term) max_a' Q_θ⁻(s', a')
    Double DQN:  y = r + γ (1 − term) Q_θ⁻(s', argmax_a' Q_θ(s', a'))
    L(θ) = mean_i w_i · ℓ(Q_θ(s_i, a_i) − y_i)      ℓ(d) = d² ("mse") or huber(d) ("huber")
                                                    (w_i = 1 unless prioritised replay)

A truncated episode is not terminal: its target still bootstraps from the final observation.

Why the squared error is the default: with the CartPole settings below (CleanRL's, which use the
squared error), the Huber loss of the Nature paper makes Q diverge. The only transitions that pin
the scale of Q are the terminal ones (y = r); once Q overestimates, their errors are large, and the
Huber loss caps each one's pull at δ = 1 while the ~96 % bootstrapped transitions keep pushing Q up
through the max-operator's overestimation — Q passed its bound 1/(1 − γ) = 100 within ~1,500
updates (a PyTorch twin behaves the same). The minimiser of the squared error is the mean of the
targets, the Bellman expectation; the Huber regression's is not (on a one-state MDP with true
Q = 3.57 it settles at 7.5: ``tests/test_rl.py::test_dqn_default_loss_regresses_q_onto_the_mean_target``).
"""
from __future__ import annotations

import numpy as np

from ..grad_mode import no_grad
from ..optim.clip import clip_grad_norm_
from ..tensor import as_tensor
from .agent import Agent
from .buffers import ReplayBuffer
from .nets import QNetwork

__all__ = ["DQN", "dqn_targets", "huber"]


def dqn_targets(rewards, terminated, next_q_target, next_q_online=None, gamma=0.99):
    """The regression targets ``y`` (module docstring) as a ``(B,)`` float32 array.

    Args:
        rewards, terminated: ``(B,)``. next_q_target: ``(B, K)`` Q_θ⁻(s', ·).
        next_q_online: ``(B, K)`` Q_θ(s', ·) for Double DQN (None: plain DQN's max).
    """
    nq = np.asarray(next_q_target, np.float64)
    if next_q_online is None:
        bootstrap = nq.max(-1)
    else:
        best = np.asarray(next_q_online).argmax(-1)
        bootstrap = np.take_along_axis(nq, best[:, None], -1)[:, 0]
    y = np.asarray(rewards, np.float64) + gamma * (1.0 - np.asarray(terminated, np.float64)) * bootstrap
    return y.astype(np.float32)


def huber(diff, delta=1.0):
    """Element-wise ``½ d²`` for ``|d| ≤ δ`` else ``δ (|d| − ½ δ)`` (smooth L1 for δ = 1)."""
    a = diff.abs()
    quad = a.clamp(max=delta)
    return 0.5 * quad * quad + delta * (a - quad)


class DQN(Agent):
    """DQN / Double DQN agent (module docstring). Options in ``DEFAULTS`` (CleanRL's CartPole settings)."""

    algo = "dqn"
    DEFAULTS = {"num_envs": 1, "lr": 2.5e-4, "buffer_size": 10_000, "gamma": 0.99, "target_update": 500,
                "batch_size": 128, "start_eps": 1.0, "final_eps": 0.05, "exploration_fraction": 0.5,
                "learning_starts": 10_000, "train_freq": 10, "double": False, "prioritized": False,
                "alpha": 0.6, "beta": 0.4, "hidden": [120, 84], "max_grad_norm": 10.0, "normalize_obs": False,
                "loss": "mse"}

    def __init__(self, obs_dim, kind, size, config=None, **kw):
        super().__init__(obs_dim, kind, size, config, **kw)
        if kind != "discrete":
            raise ValueError("dqn: DQN needs a Discrete action space (its target takes max over actions)")
        c = self.config
        if c["loss"] not in ("mse", "huber"):
            raise ValueError(f"dqn: option loss must be 'mse' or 'huber', got {c['loss']!r}")
        self.q = QNetwork(obs_dim, size, tuple(c["hidden"]))
        self.q_target = QNetwork(obs_dim, size, tuple(c["hidden"]))
        self.sync_target()
        self.modules = {"q": self.q, "q_target": self.q_target}
        self.optimizers = {"adam": self.adam(self.q, lr=c["lr"])}
        self.buffer = ReplayBuffer(c["buffer_size"], (obs_dim,), alpha=c["alpha"] if c["prioritized"] else 0.0,
                                   beta=c["beta"], rng=self.rng)
        self.env_steps = 0

    def epsilon(self, progress):
        c = self.config
        frac = min(progress / max(c["exploration_fraction"], 1e-8), 1.0)
        return c["start_eps"] + frac * (c["final_eps"] - c["start_eps"])

    def _act(self, obs, deterministic):
        return self.q(obs).numpy().argmax(-1)

    def iteration(self, runner, progress):
        c = self.config
        logs = {}
        obs = self.normalizer(runner.obs, update=True)
        eps = self.epsilon(progress)
        with no_grad():
            actions = self.q(obs).numpy().argmax(-1)
        explore = self.rng.random(runner.num_envs) < eps
        actions = np.where(explore, self.rng.integers(0, self.size, runner.num_envs), actions)
        next_obs, rewards, term, _ = runner.step(actions)
        self.buffer.add(obs, actions, rewards, self.normalizer(next_obs), term)
        before, self.env_steps = self.env_steps, runner.steps
        if self.env_steps > c["learning_starts"]:
            if self.env_steps // c["train_freq"] > before // c["train_freq"]:
                logs = self.update()
            if self.env_steps // c["target_update"] > before // c["target_update"]:
                self.sync_target()
        logs["epsilon"] = eps
        return logs

    def sync_target(self):
        """θ⁻ ← θ (a copy: later steps on θ leave θ⁻ alone)."""
        self.q_target.load_state_dict(self.q.state_dict())

    def update(self):
        """One gradient step on a replay minibatch."""
        c = self.config
        batch = self.buffer.sample(c["batch_size"])
        with no_grad():
            next_target = self.q_target(batch["next_obs"]).numpy()
            next_online = self.q(batch["next_obs"]).numpy() if c["double"] else None
        y = dqn_targets(batch["rewards"], batch["terminated"], next_target, next_online, c["gamma"])
        q = self.q(batch["obs"]).gather(-1, as_tensor(batch["actions"][:, None])).squeeze(-1)
        diff = q - as_tensor(y)
        per_sample = diff * diff if c["loss"] == "mse" else huber(diff)
        loss = (per_sample * as_tensor(batch["weights"])).mean()
        opt = self.optimizers["adam"]
        opt.zero_grad()
        loss.backward()
        clip_grad_norm_(self.q.parameters(), c["max_grad_norm"])
        opt.step()
        if c["prioritized"]:
            self.buffer.update_priorities(batch["indices"], diff.detach().numpy())
        self.updates += 1
        return {"loss": float(loss.item()), "q": float(q.detach().numpy().mean())}
