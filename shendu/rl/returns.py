"""Discounted returns and generalised advantage estimation (GAE-λ), as plain NumPy functions.

Gymnasium separates the two ways an episode stops: ``terminated`` (the MDP reached a terminal
state: nothing follows, the value of the next state is 0) and ``truncated`` (a time limit or the
end of a rollout cut the episode: the next state has a value, estimated by the critic). Both
functions take, for every step ``t``, the value ``next_values[t]`` = V(s_{t+1}) of the state that
followed step ``t`` (for an episode that ended at ``t`` this is the *final* observation, not the
reset one), so one formula covers every case::

    G_t = r_t + γ (1 − term_t) · ( cont_t · G_{t+1} + (1 − cont_t) · V(s_{t+1}) )
    δ_t = r_t + γ (1 − term_t) · V(s_{t+1}) − V(s_t)
    A_t = δ_t + γ λ · cont_t · A_{t+1}

where ``cont_t = 1`` when the same episode goes on at ``t + 1`` inside the rollout (not terminated,
not truncated, ``t < T − 1``). Arrays are ``(T,)`` or ``(T, N)`` (N parallel environments).
"""
from __future__ import annotations

import numpy as np

__all__ = ["discounted_returns", "gae"]


def _prepare(rewards, terminated, truncated, next_values, name):
    r = np.asarray(rewards, dtype=np.float64)
    if r.ndim not in (1, 2):
        raise ValueError(f"{name}: rewards must be (T,) or (T, N), got shape {r.shape}")
    arrays = []
    for label, a, default in (("terminated", terminated, 0.0), ("truncated", truncated, 0.0),
                              ("next_values", next_values, 0.0)):
        a = np.full(r.shape, default) if a is None else np.asarray(a, dtype=np.float64)
        if a.shape != r.shape:
            raise ValueError(f"{name}: {label} must have the shape of rewards {r.shape}, got {a.shape}")
        arrays.append(a)
    term, trunc, nv = arrays
    # the episode continues into step t + 1 inside the rollout; the last step is always cut
    cont = 1.0 - np.maximum(term, trunc)
    cont[-1] = 0.0
    return r, term, cont, nv


def discounted_returns(rewards, terminated=None, truncated=None, next_values=None, gamma=0.99):
    """Reward-to-go ``G_t = Σ_k γ^k r_{t+k}`` up to the episode's end, bootstrapped where it was cut.

    ``G_t = r_t + γ (1 − term_t) (cont_t G_{t+1} + (1 − cont_t) V(s_{t+1}))`` (module docstring).
    Without ``next_values`` (all zeros) a truncated episode is summed as if it had terminated:
    the plain Monte Carlo return.

    Args:
        rewards: ``(T,)`` or ``(T, N)`` rewards ``r_t``.
        terminated: same shape, 1 where step ``t`` ended the episode in a terminal state.
        truncated: same shape, 1 where step ``t`` was cut (time limit); the rollout's last step is
            always treated as cut.
        next_values: same shape, V(s_{t+1}) used where the episode was cut (ignored elsewhere).
        gamma: discount γ.

    Returns:
        ``(T,)`` or ``(T, N)`` float64 returns.

    Example:
        >>> discounted_returns([1, 1, 1], terminated=[0, 0, 1], gamma=0.5).tolist()
        [1.75, 1.5, 1.0]
    """
    r, term, cont, nv = _prepare(rewards, terminated, truncated, next_values, "discounted_returns")
    out = np.zeros_like(r)
    following = np.zeros_like(r[0])
    for t in range(len(r) - 1, -1, -1):
        following = r[t] + gamma * (1.0 - term[t]) * (cont[t] * following + (1.0 - cont[t]) * nv[t])
        out[t] = following
    return out


def gae(rewards, values, next_values, terminated=None, truncated=None, gamma=0.99, lam=0.95):
    """Generalised advantage estimation (Schulman et al. 2016, arXiv:1506.02438).

    ``δ_t = r_t + γ (1 − term_t) V(s_{t+1}) − V(s_t)``, ``A_t = δ_t + γ λ cont_t A_{t+1}``;
    λ = 1 gives ``G_t − V(s_t)`` (:func:`discounted_returns` bootstrapped at the cut), λ = 0 the
    one-step TD error. The critic's regression target is ``A_t + V(s_t)``.

    Args:
        rewards, values, next_values: ``(T,)`` or ``(T, N)``: r_t, V(s_t), V(s_{t+1}).
        terminated, truncated: same shape, 0/1 (module docstring).
        gamma: discount γ. lam: λ ∈ [0, 1].

    Returns:
        ``(advantages, returns)``, both float64 of the rewards' shape.

    Example:
        >>> adv, ret = gae([1.0, 1.0], values=[0.0, 0.0], next_values=[0.0, 2.0], gamma=0.5, lam=1.0)
        >>> adv.tolist()
        [2.0, 2.0]
    """
    r, term, cont, nv = _prepare(rewards, terminated, truncated, next_values, "gae")
    v = np.asarray(values, dtype=np.float64)
    if v.shape != r.shape:
        raise ValueError(f"gae: values must have the shape of rewards {r.shape}, got {v.shape}")
    delta = r + gamma * (1.0 - term) * nv - v
    adv = np.zeros_like(r)
    following = np.zeros_like(r[0])
    for t in range(len(r) - 1, -1, -1):
        following = delta[t] + gamma * lam * cont[t] * following
        adv[t] = following
    return adv, adv + v
