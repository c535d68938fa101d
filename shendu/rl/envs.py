"""Gymnasium environments: creation with clear errors, seeding, and the vectorised runner.

Environments come from Gymnasium's own vector API (``gymnasium.make_vec``) in the *same-step*
autoreset mode: when an environment's episode ends, ``step`` already returns the first observation
of its next episode and puts the final one in ``info["final_obs"]`` — the runner hands that final
observation on as ``next_obs``, so a truncated episode is bootstrapped from the right state.

Seeding: environment ``i`` of a run with seed ``s`` is reset with seed ``s + i`` once (Gymnasium
then draws the later episodes from that generator), its action space with ``s + i``, and
:func:`seed_everything` seeds shendu's generator (network initialisation and action sampling).
"""
from __future__ import annotations

import numpy as np

from .. import backend
from .._extras import require

__all__ = ["gymnasium", "make_vec_env", "check_spaces", "seed_everything", "VecRunner"]


def gymnasium(feature="shendu.rl"):
    """Import Gymnasium or raise an ImportError naming the ``shendu[rl]`` extra."""
    return require("gymnasium", "rl", feature)


def seed_everything(seed):
    """Seed shendu's generator (initial weights, sampled actions) and return a NumPy Generator
    for the run's own draws (replay sampling, minibatch order, ε-greedy)."""
    backend.manual_seed(int(seed))
    return np.random.default_rng(int(seed))


def make_vec_env(env_id, num_envs=1, seed=None, render_mode=None):
    """``gymnasium.make_vec(env_id, num_envs)`` (synchronous, same-step autoreset), reset with seeds
    ``seed + i``.

    Raises:
        ValueError: an unknown environment id (Gymnasium's suggestion included).
        ImportError: Gymnasium is not installed (names the extra).
    """
    gym = gymnasium(f"shendu.rl environment {env_id!r}")
    kwargs = {} if render_mode is None else {"render_mode": render_mode}
    try:
        env = gym.make_vec(env_id, num_envs=int(num_envs), vectorization_mode="sync",
                           vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP}, **kwargs)
    except gym.error.Error as exc:
        raise ValueError(f"unknown environment id {env_id!r}: {exc}") from None
    if seed is not None:
        env.action_space.seed(int(seed))
    return env


def check_spaces(env, algo):
    """Check that ``algo`` can act in ``env`` and return ``(obs_dim, action_kind, action_size)``.

    Observations must be flat boxes ``(D,)`` (the networks are MLPs); actions ``Discrete(K)`` (every
    algorithm) or a 1-D ``Box`` (not DQN: its ``max_a Q`` needs finitely many actions).
    """
    gym = gymnasium()
    obs_space, act_space = env.single_observation_space, env.single_action_space
    name = env.spec.id if getattr(env, "spec", None) is not None else "the environment"
    if not isinstance(obs_space, gym.spaces.Box) or len(obs_space.shape) != 1:
        raise ValueError(f"{algo}: {name} has observations {obs_space}; shendu.rl's MLP networks expect a flat "
                         f"Box of shape (D,) (flatten or embed other observations with a Gymnasium wrapper)")
    if isinstance(act_space, gym.spaces.Discrete):
        return obs_space.shape[0], "discrete", int(act_space.n)
    if isinstance(act_space, gym.spaces.Box) and len(act_space.shape) == 1:
        if algo == "dqn":
            raise ValueError(f"dqn: {name} has continuous actions {act_space}; DQN needs a Discrete action "
                             f"space (its target takes max over actions): use --algo ppo, a2c or reinforce")
        return obs_space.shape[0], "continuous", int(act_space.shape[0])
    raise ValueError(f"{algo}: {name} has actions {act_space}; expected Discrete(K) or a 1-D Box")


class VecRunner:
    """Steps a vector environment, keeps the current observations and records finished episodes.

    Attributes:
        obs: ``(N, D)`` current observations. steps: environment steps so far (N per vector step).
        episode_returns / episode_lengths: one entry per finished episode, in order of finishing.
    """

    def __init__(self, env, seed=0):
        self.env = env
        self.num_envs = env.num_envs
        self.seed = int(seed)
        self.reset()
        self.steps = 0
        self.episode_returns, self.episode_lengths = [], []

    def reset(self, seed=None):
        """Reset every environment (seeds ``seed + i`` the first time; later resets continue the generators)."""
        seeds = [self.seed + i for i in range(self.num_envs)] if seed is None and not hasattr(self, "obs") else None
        self.obs, _ = self.env.reset(seed=seeds)
        self._ret = np.zeros(self.num_envs)
        self._len = np.zeros(self.num_envs, np.int64)
        return self.obs

    def step(self, actions):
        """One vector step: returns ``(next_obs, rewards, terminated, truncated)`` where ``next_obs[i]``
        is the final observation for an environment whose episode just ended (``self.obs`` already
        holds the next episode's first observation)."""
        obs, rewards, terminated, truncated, info = self.env.step(actions)
        done = np.logical_or(terminated, truncated)
        next_obs = np.array(obs, copy=True)
        self._ret += rewards
        self._len += 1
        for i in np.flatnonzero(done):
            next_obs[i] = info["final_obs"][i]
            self.episode_returns.append(float(self._ret[i]))
            self.episode_lengths.append(int(self._len[i]))
            self._ret[i], self._len[i] = 0.0, 0
        self.obs = obs
        self.steps += self.num_envs
        return next_obs, np.asarray(rewards, np.float64), terminated.astype(np.float32), truncated.astype(np.float32)
