"""Evaluation episodes: the agent acts deterministically (greedy / mean action), observations are
normalised with frozen statistics, and ``episodes`` episodes are shared evenly among parallel
environments so that short episodes are not over-counted (each environment plays exactly its
share; an environment's extra episodes are ignored)."""
from __future__ import annotations

import numpy as np

from .envs import make_vec_env

__all__ = ["evaluate"]


def evaluate(agent, env_id, episodes=10, seed=10_000, num_envs=None, deterministic=True):
    """Returns of ``episodes`` evaluation episodes (list of floats, grouped by environment).

    Args:
        agent: an :class:`~shendu.rl.agent.Agent`. env_id: Gymnasium id.
        episodes: number of episodes. seed: seed of the evaluation environments (``seed + i``).
        num_envs: parallel environments (default: the largest divisor of ``episodes`` ≤ 10).
    """
    episodes = int(episodes)
    if episodes < 1:
        raise ValueError(f"evaluate: episodes must be a positive integer, got {episodes}")
    if num_envs is None:
        num_envs = max(d for d in range(1, 11) if episodes % d == 0)
    share = -(-episodes // num_envs)
    env = make_vec_env(env_id, num_envs=num_envs, seed=seed)
    try:
        obs, _ = env.reset(seed=[seed + i for i in range(num_envs)])
        done_count = np.zeros(num_envs, np.int64)
        ret = np.zeros(num_envs)
        returns = [[] for _ in range(num_envs)]
        while sum(len(r) for r in returns) < episodes and (done_count < share).any():
            obs, rewards, term, trunc, _ = env.step(agent.act(obs, deterministic=deterministic))
            ret += rewards
            for i in np.flatnonzero(np.logical_or(term, trunc)):
                if done_count[i] < share:
                    returns[i].append(float(ret[i]))
                done_count[i] += 1
                ret[i] = 0.0
    finally:
        env.close()
    return [r for env_returns in returns for r in env_returns][:episodes]
