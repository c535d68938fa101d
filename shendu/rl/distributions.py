"""Action distributions of policy heads, written over shendu tensors so that ``log_prob`` and
``entropy`` carry gradients to the network that produced their parameters.

``Categorical(logits)`` (discrete actions): ``log π(a) = logits_a − logsumexp(logits)``,
``H = −Σ_a π(a) log π(a)``.

``DiagGaussian(mean, log_std)`` (continuous actions, independent dimensions, summed over the last
axis of size D): ``log π(a) = Σ_d [−(a_d − μ_d)² / (2σ_d²) − log σ_d − ½ log 2π]``,
``H = Σ_d [log σ_d + ½ (1 + log 2π)]``.

Shapes: logits/mean ``(B, K)``/``(B, D)``; ``log_prob`` and ``entropy`` give ``(B,)``.
``sample()`` draws from shendu's generator (:func:`shendu.manual_seed` makes it reproducible) and
returns a NumPy array (no gradient flows through a sample).
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..functional.activation import log_softmax
from ..tensor import Tensor, as_tensor

__all__ = ["Categorical", "DiagGaussian"]

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


class Categorical:
    """π(a) = softmax(logits)_a over the last axis (see the module docstring).

    Args:
        logits: ``(B, K)`` Tensor of unnormalised log-probabilities.
    """

    def __init__(self, logits):
        if not isinstance(logits, Tensor):
            logits = as_tensor(np.asarray(logits, dtype=np.float32))
        if logits.ndim < 1:
            raise ValueError(f"Categorical: logits need a last axis of categories, got shape {tuple(logits.shape)}")
        self.logits = log_softmax(logits, dim=-1)  # normalised: log π

    @property
    def probs(self):
        """π = exp(log π), ``(B, K)``."""
        return self.logits.exp()

    def log_prob(self, actions):
        """``log π(a)`` for integer actions ``(B,)`` → ``(B,)``."""
        a = np.asarray(actions.numpy() if isinstance(actions, Tensor) else actions).astype(np.int64)
        k = self.logits.shape[-1]
        if a.shape != tuple(self.logits.shape[:-1]) or (a.size and (a.min() < 0 or a.max() >= k)):
            raise ValueError(f"Categorical.log_prob: expected integer actions in [0, {k}) of shape "
                             f"{tuple(self.logits.shape[:-1])}, got shape {a.shape}")
        return self.logits.gather(-1, as_tensor(a[..., None])).squeeze(-1)

    def entropy(self):
        """``H = −Σ_a π(a) log π(a)`` → ``(B,)``."""
        return -(self.probs * self.logits).sum(-1)

    def sample(self):
        """Draw actions ``(B,)`` (int64) by inverse CDF on uniform draws."""
        p = np.exp(self.logits.detach().numpy().astype(np.float64))
        cdf = np.cumsum(p, axis=-1)
        u = backend.rng().random(cdf.shape[:-1] + (1,)) * cdf[..., -1:]
        return np.minimum((u > cdf).sum(-1), p.shape[-1] - 1).astype(np.int64)

    def mode(self):
        """The most probable action ``(B,)`` (greedy evaluation)."""
        return self.logits.detach().numpy().argmax(-1)


class DiagGaussian:
    """N(μ, diag σ²) with σ = exp(log_std) (see the module docstring).

    Args:
        mean: ``(B, D)`` Tensor μ.
        log_std: Tensor broadcastable to ``(B, D)`` (often a learned ``(D,)`` parameter).
    """

    def __init__(self, mean, log_std):
        self.mean = mean if isinstance(mean, Tensor) else as_tensor(np.asarray(mean, dtype=np.float32))
        self.log_std = log_std if isinstance(log_std, Tensor) else as_tensor(np.asarray(log_std, dtype=np.float32))
        if self.mean.ndim < 1:
            raise ValueError(f"DiagGaussian: mean needs a last axis of action dimensions, got shape "
                             f"{tuple(self.mean.shape)}")

    def log_prob(self, actions):
        """``Σ_d log N(a_d; μ_d, σ_d²)`` for actions of the mean's shape → ``(B,)``."""
        a = actions if isinstance(actions, Tensor) else as_tensor(np.asarray(actions, dtype=self.mean.numpy().dtype))
        if tuple(a.shape) != tuple(self.mean.shape):
            raise ValueError(f"DiagGaussian.log_prob: expected actions of shape {tuple(self.mean.shape)}, "
                             f"got {tuple(a.shape)}")
        z = (a - self.mean) * (-self.log_std).exp()
        return (-0.5 * z * z - self.log_std - _HALF_LOG_2PI).sum(-1)

    def entropy(self):
        """``Σ_d (log σ_d + ½ (1 + log 2π))`` → ``(B,)``."""
        return (self.log_std + (0.5 + _HALF_LOG_2PI) + self.mean * 0.0).sum(-1)

    def sample(self):
        """Draw ``μ + σ ε``, ε ~ N(0, I): a NumPy array of the mean's shape."""
        mu = self.mean.detach().numpy()
        sigma = np.exp(self.log_std.detach().numpy())
        return (mu + sigma * backend.rng().standard_normal(mu.shape)).astype(mu.dtype)

    def mode(self):
        """μ (deterministic evaluation)."""
        return self.mean.detach().numpy()
