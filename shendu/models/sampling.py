"""Drawing the next token from a language model's scores: temperature, top-k, greedy."""
from __future__ import annotations

from .. import backend
from ..backend import xp


def next_token(logits, temperature=1.0, top_k=None, greedy=False, who="sample"):
    """One id per row of ``logits`` (N, V): drawn from softmax(logits / temperature) restricted to the
    ``top_k`` largest scores, or the argmax with ``greedy``.

    The uniform numbers come from the generator that :func:`shendu.manual_seed` seeds, so a seed fixes
    the text. Lower temperatures sharpen the distribution (safer, more repetitive text); top-k cuts its
    long tail.

    Returns: an int64 array (N,).

    Example:
        >>> next_token(np.array([[0.0, 10.0, 0.0]]), greedy=True)
        array([1])
    """
    if temperature <= 0:
        raise ValueError(f"{who}: temperature must be positive, received temperature={temperature}")
    scores = xp.asarray(logits, dtype=backend.float64)
    if greedy:
        return scores.argmax(axis=1).astype(backend.int64)
    scores = scores / temperature
    if top_k is not None:
        if not 1 <= int(top_k):
            raise ValueError(f"{who}: top_k must be a positive integer, received top_k={top_k}")
        k = min(int(top_k), scores.shape[1])
        kth = xp.partition(scores, scores.shape[1] - k, axis=1)[:, scores.shape[1] - k:].min(axis=1, keepdims=True)
        scores = xp.where(scores < kth, -xp.inf, scores)
    scores = scores - scores.max(axis=1, keepdims=True)
    p = xp.exp(scores)
    p /= p.sum(axis=1, keepdims=True)
    u = backend.rng().random((p.shape[0], 1))
    return xp.minimum((p.cumsum(axis=1) < u).sum(axis=1), p.shape[1] - 1).astype(backend.int64)


__all__ = ["next_token"]
