"""Running observation normalisation: ``x̂ = clip((x − μ) / √(σ² + ε), −c, c)``.

μ and σ² are the mean and variance of every observation seen so far, merged batch by batch with
the parallel-variance formula (Chan et al. 1979): for counts ``n_a, n_b``, means ``μ_a, μ_b`` and
``δ = μ_b − μ_a``: ``μ = μ_a + δ n_b / n``, ``M2 = M2_a + M2_b + δ² n_a n_b / n``, ``σ² = M2 / n``.
The statistics are part of the agent: they are saved in checkpoints and frozen at evaluation.
"""
from __future__ import annotations

import numpy as np

__all__ = ["RunningMeanStd", "ObsNormalizer"]


class RunningMeanStd:
    """Mean and variance of a stream of ``(B, *shape)`` batches (module docstring)."""

    def __init__(self, shape=()):
        self.mean = np.zeros(shape, np.float64)
        self.var = np.ones(shape, np.float64)
        self.count = 1e-4  # a tiny prior count so the first batch defines the statistics

    def update(self, batch):
        batch = np.asarray(batch, np.float64)
        b_mean, b_var, b_count = batch.mean(0), batch.var(0), batch.shape[0]
        delta = b_mean - self.mean
        total = self.count + b_count
        m2 = self.var * self.count + b_var * b_count + delta ** 2 * self.count * b_count / total
        self.mean = self.mean + delta * b_count / total
        self.var = m2 / total
        self.count = total

    def state_dict(self):
        return {"mean": self.mean.copy(), "var": self.var.copy(), "count": float(self.count)}

    def load_state_dict(self, state):
        self.mean = np.asarray(state["mean"], np.float64)
        self.var = np.asarray(state["var"], np.float64)
        self.count = float(state["count"])


class ObsNormalizer:
    """Normalise observations by running statistics, or pass them through when ``enabled=False``.

    Args:
        shape: one observation's shape. enabled: normalise or not. clip: c. eps: ε.
    """

    def __init__(self, shape, enabled=True, clip=10.0, eps=1e-8):
        self.enabled, self.clip, self.eps = bool(enabled), float(clip), float(eps)
        self.rms = RunningMeanStd(shape)

    def __call__(self, obs, update=False):
        """``x̂`` of a ``(B, *shape)`` batch (float32); ``update=True`` first adds the batch to the statistics."""
        obs = np.asarray(obs, np.float32)
        if not self.enabled:
            return obs
        if update:
            self.rms.update(obs)
        z = (obs - self.rms.mean) / np.sqrt(self.rms.var + self.eps)
        return np.clip(z, -self.clip, self.clip).astype(np.float32)

    def state_dict(self):
        return {"enabled": int(self.enabled), **self.rms.state_dict()}

    def load_state_dict(self, state):
        self.enabled = bool(int(np.asarray(state["enabled"])))
        self.rms.load_state_dict(state)
