"""Samplers: the order in which a :class:`~shendu.data.DataLoader` visits a dataset (PyTorch's names and meanings).

A sampler is an iterable of indices; a batch sampler an iterable of lists of
indices. The loader draws from a :class:`BatchSampler` over a
:class:`SequentialSampler` (``shuffle=False``) or a :class:`RandomSampler`
(``shuffle=True``) unless it is given its own.

Randomness is counter-based: a random sampler holds one ``seed`` and draws
epoch ``e`` from ``default_rng((seed, e))``, then moves on to ``e + 1``.
``set_epoch(e)`` chooses the epoch, so a run resumed at epoch ``e`` sees exactly
the orders an uninterrupted run saw (what ``DistributedSampler.set_epoch`` is
for in PyTorch).
"""
from __future__ import annotations

import math
import numbers

from shendu.backend import xp

from ._rng import derive_seed, generator


def seed_from(seed=None, gen=None):
    """One 63-bit seed: ``seed`` if given, else drawn once from ``gen`` (a NumPy ``Generator``), else from the
    library generator that :func:`shendu.manual_seed` seeds."""
    if seed is not None:
        if not isinstance(seed, numbers.Integral) or seed < 0:
            raise ValueError(f"sampler: seed must be a non-negative integer, got {seed!r}")
        return int(seed)
    return derive_seed(generator(gen))


class Sampler:
    """Base class: an iterable of dataset indices with a length (``__iter__``, ``__len__``)."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")


class _EpochRandom(Sampler):
    """A sampler whose epoch ``e`` is drawn from ``default_rng((seed, e))``; ``set_epoch`` picks ``e``."""

    def __init__(self, generator=None, seed=None):
        self.seed = seed_from(seed, generator)
        self.epoch = 0

    def set_epoch(self, epoch):
        """Make the next ``iter()`` draw epoch ``epoch``'s order (a resumed run calls this with its epoch)."""
        if not isinstance(epoch, numbers.Integral) or epoch < 0:
            raise ValueError(f"{type(self).__name__}.set_epoch: expected a non-negative integer, got {epoch!r}")
        self.epoch = int(epoch)

    def _next_rng(self):
        rng = xp.random.default_rng((self.seed, self.epoch))
        self.epoch += 1
        return rng


class SequentialSampler(Sampler):
    """``0, 1, …, len(data_source) − 1``."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(_EpochRandom):
    """A random order of the dataset each epoch: a permutation, or ``num_samples`` draws with replacement.

    Args:
        data_source: the dataset.
        replacement: draw with replacement (then ``num_samples`` may exceed the length).
        num_samples: how many indices an epoch yields (default ``len(data_source)``).
        generator: a NumPy ``Generator`` the sampler takes its seed from once.
        seed: an int seed instead (shendu's spelling; wins over ``generator``).

    Example:
        >>> list(RandomSampler(range(5), seed=0)) != list(range(5))
        True
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None, seed=None):
        super().__init__(generator, seed)
        self.data_source = data_source
        self.replacement = bool(replacement)
        self._num_samples = num_samples
        if num_samples is not None and (not isinstance(num_samples, numbers.Integral) or num_samples <= 0):
            raise ValueError(f"RandomSampler: num_samples should be a positive integer, got {num_samples!r}")

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else int(self._num_samples)

    def __iter__(self):
        rng, n = self._next_rng(), len(self.data_source)
        if self.replacement:
            return iter(rng.integers(0, n, size=self.num_samples).tolist())
        # without replacement, num_samples > n repeats whole permutations, as PyTorch does
        reps = -(-self.num_samples // n) if n else 0
        order = xp.concatenate([rng.permutation(n) for _ in range(reps)]) if reps else xp.arange(0)
        return iter(order[:self.num_samples].tolist())

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(_EpochRandom):
    """The given ``indices`` in a random order each epoch.

    Example:
        >>> sorted(SubsetRandomSampler([7, 3, 5], seed=0))
        [3, 5, 7]
    """

    def __init__(self, indices, generator=None, seed=None):
        super().__init__(generator, seed)
        self.indices = list(indices)

    def __iter__(self):
        perm = self._next_rng().permutation(len(self.indices))
        return iter([self.indices[i] for i in perm])

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(_EpochRandom):
    """``num_samples`` indices drawn with probability ``p_i = w_i / Σ w``.

    Args:
        weights: one non-negative weight per index (need not sum to 1).
        num_samples: indices per epoch.
        replacement: with replacement (default, as PyTorch); without, no index repeats.

    Example (rebalancing two classes 9 : 1):
        >>> w = [1 / 9] * 9 + [1.0]
        >>> s = WeightedRandomSampler(w, num_samples=1000, seed=0)
        >>> 400 < sum(i == 9 for i in s) < 600
        True
    """

    def __init__(self, weights, num_samples, replacement=True, generator=None, seed=None):
        super().__init__(generator, seed)
        w = xp.asarray(weights.numpy() if hasattr(weights, "numpy") else weights, dtype=xp.float64)
        if w.ndim != 1 or not xp.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise ValueError(f"WeightedRandomSampler: weights must be a 1-d sequence of finite non-negative numbers "
                             f"with a positive sum, got shape {w.shape}")
        if not isinstance(num_samples, numbers.Integral) or num_samples <= 0:
            raise ValueError(f"WeightedRandomSampler: num_samples should be a positive integer, got {num_samples!r}")
        if not replacement and num_samples > int((w > 0).sum()):
            raise ValueError(f"WeightedRandomSampler: cannot draw {num_samples} samples without replacement "
                             f"from {int((w > 0).sum())} indices of non-zero weight")
        self.weights, self.num_samples, self.replacement = w, int(num_samples), bool(replacement)

    def __iter__(self):
        p = self.weights / self.weights.sum()
        idx = self._next_rng().choice(len(p), size=self.num_samples, replace=self.replacement, p=p)
        return iter(idx.tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size`` (the last one shorter unless ``drop_last``).

    Example:
        >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
        [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler, batch_size, drop_last):
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size <= 0:
            raise ValueError(f"BatchSampler: batch_size should be a positive integer, got {batch_size!r}")
        self.sampler, self.batch_size, self.drop_last = sampler, int(batch_size), bool(drop_last)

    def set_epoch(self, epoch):
        """Passed on to the sampler when it has epochs (random samplers)."""
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)

    def __iter__(self):
        batch = []
        for i in self.sampler:
            batch.append(int(i))
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)


__all__ = ["seed_from", "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler"]
