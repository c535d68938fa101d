"""shendu.rl: deep reinforcement learning on Gymnasium (the ``shendu[rl]`` extra).

Algorithms (one file each, update rule and paper in the docstring): :class:`Reinforce`,
:class:`A2C`, :class:`DQN` (+ Double DQN), :class:`PPO` (discrete and Gaussian policies).
Building blocks: :func:`discounted_returns`, :func:`gae`, :class:`Categorical`,
:class:`DiagGaussian`, :class:`ReplayBuffer`, :class:`RolloutStorage`, :class:`ObsNormalizer`,
:func:`make_vec_env`, :class:`VecRunner`, :func:`seed_everything`. Runs: :func:`train`,
:func:`evaluate`, :func:`save_agent` / :func:`load_agent`. Gymnasium is imported only when an
environment is made. See docs/rl.md.
"""
from .a2c import A2C
from .algorithms import ALGORITHMS
from .buffers import ReplayBuffer, RolloutStorage
from .checkpoint import load_agent, save_agent
from .distributions import Categorical, DiagGaussian
from .dqn import DQN, dqn_targets, huber
from .envs import VecRunner, check_spaces, make_vec_env, seed_everything
from .evaluate import evaluate
from .normalize import ObsNormalizer, RunningMeanStd
from .ppo import PPO, ppo_clip_loss
from .reinforce import Reinforce
from .returns import discounted_returns, gae
from .train import PRESETS, make_agent, train

__all__ = ["A2C", "ALGORITHMS", "Categorical", "DQN", "DiagGaussian", "ObsNormalizer", "PPO", "PRESETS",
           "ReplayBuffer", "Reinforce", "RolloutStorage", "RunningMeanStd", "VecRunner", "check_spaces",
           "discounted_returns", "dqn_targets", "evaluate", "gae", "huber", "load_agent", "make_agent",
           "make_vec_env", "ppo_clip_loss", "save_agent", "seed_everything", "train"]
