"""The networks of the agents: MLPs with the policy and value heads.

Hidden layers are ``Linear → tanh`` (or ReLU for Q-networks) with orthogonal initialisation
(gain √2, biases 0; Saxe et al. 2014), the policy's last layer with gain 0.01 (a near-uniform
first policy) and the value's with gain 1 — the initialisation of the PPO reference
implementations (Engstrom et al. 2020, "Implementation Matters in Deep Policy Gradients").
"""
from __future__ import annotations

import math

import numpy as np

from .. import nn
from ..nn import init
from ..tensor import as_tensor
from .distributions import Categorical, DiagGaussian

__all__ = ["mlp", "PolicyHead", "ValueHead", "QNetwork"]


def mlp(sizes, activation="tanh", last_gain=1.0, orthogonal=True):
    """``Linear(sizes[0], sizes[1]) → act → … → Linear(sizes[-2], sizes[-1])``, orthogonally initialised
    (``orthogonal=False``: Linear's own PyTorch-style uniform initialisation)."""
    act = {"tanh": nn.Tanh, "relu": nn.ReLU}[activation]
    layers = []
    for i in range(len(sizes) - 1):
        lin = nn.Linear(sizes[i], sizes[i + 1])
        last = i == len(sizes) - 2
        if orthogonal:
            init.orthogonal_(lin.weight, gain=last_gain if last else math.sqrt(2.0))
            init.zeros_(lin.bias)
        layers.append(lin)
        if not last:
            layers.append(act())
    return nn.Sequential(*layers)


class PolicyHead(nn.Module):
    """π(·|s): an MLP giving categorical logits ``(B, K)`` or Gaussian means ``(B, D)`` with a learned,
    state-independent ``log_std`` ``(D,)``.

    Args:
        obs_dim: D_obs. kind: ``"discrete"`` or ``"continuous"``. size: K or D. hidden: widths.
    """

    def __init__(self, obs_dim, kind, size, hidden=(64, 64), log_std_init=0.0):
        super().__init__()
        self.kind = kind
        self.body = mlp([obs_dim, *hidden, size], last_gain=0.01)
        if kind == "continuous":
            self.log_std = nn.Parameter(as_tensor(np.full(size, log_std_init, np.float32)))

    def forward(self, obs):
        return self.body(obs)

    def distribution(self, obs):
        """The action distribution for a batch of (normalised) observations ``(B, D_obs)``."""
        out = self.body(obs if not isinstance(obs, np.ndarray) else as_tensor(obs))
        return Categorical(out) if self.kind == "discrete" else DiagGaussian(out, self.log_std)


class ValueHead(nn.Module):
    """V(s): an MLP ``(B, D_obs) → (B,)``."""

    def __init__(self, obs_dim, hidden=(64, 64)):
        super().__init__()
        self.body = mlp([obs_dim, *hidden, 1], last_gain=1.0)

    def forward(self, obs):
        return self.body(obs if not isinstance(obs, np.ndarray) else as_tensor(obs)).squeeze(-1)


class QNetwork(nn.Module):
    """Q(s, ·): an MLP ``(B, D_obs) → (B, K)`` with ReLU hidden layers and Linear's default
    initialisation, as the DQN reference implementation (CleanRL) uses."""

    def __init__(self, obs_dim, num_actions, hidden=(120, 84)):
        super().__init__()
        self.body = mlp([obs_dim, *hidden, num_actions], activation="relu", orthogonal=False)

    def forward(self, obs):
        return self.body(obs if not isinstance(obs, np.ndarray) else as_tensor(obs))
