"""Each rank's share of every epoch: :class:`DistributedSampler` and the batches ``fit`` cuts from it."""
from __future__ import annotations

from ..backend import xp
from ..tensor import Tensor
from ..training.batches import ArrayBatches, input_tensor
from .world import rank as _rank
from .world import world_size


class DistributedSampler:
    """The indices of rank ``rank``'s shard of a dataset of ``n`` samples, epoch by epoch.

    Epoch e's order is the permutation ``default_rng([seed, e]).permutation(n)`` (the same on every
    rank, and the one ``fit(seed=seed)`` uses in one process; ``shuffle=False``: 0 … n − 1). It is
    made a multiple of N = ``num_replicas``: **padded** by repeating its first samples
    (``drop_last=False``, the default: every sample is seen, ⌈n/N⌉·N − n of them twice) or
    **truncated** (``drop_last=True``: the last n mod N are skipped this epoch). Rank r takes
    positions r, r + N, r + 2N, … so every rank has the same number of samples, ⌈n/N⌉ or ⌊n/N⌋,
    and the k-th batches of b samples of all ranks together are the k-th batch of b·N samples of
    one process over the same order (what makes N ranks train as one process on batches b·N).

    Call :meth:`set_epoch` before each epoch (``fit`` does) or every epoch repeats one order.

    >>> s = DistributedSampler(10, num_replicas=3, rank=1, shuffle=False)
    >>> list(s), len(s)
    ([1, 4, 7, 0], 4)
    """

    def __init__(self, n, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        if hasattr(n, "__len__"):
            n = len(n)
        self.num_replicas = world_size() if num_replicas is None else int(num_replicas)
        self.rank = _rank() if rank is None else int(rank)
        if self.num_replicas < 1 or not 0 <= self.rank < self.num_replicas:
            raise ValueError(f"DistributedSampler: rank must be in 0..num_replicas-1, got rank {self.rank} of "
                             f"{self.num_replicas}")
        if n < (1 if not drop_last else self.num_replicas):
            raise ValueError(f"DistributedSampler: {n} samples cannot be shared by {self.num_replicas} ranks"
                             + (" with drop_last=True" if drop_last else ""))
        self.n, self.shuffle, self.seed, self.drop_last, self.epoch = int(n), shuffle, int(seed), drop_last, 0
        self.num_samples = self.n // self.num_replicas if drop_last else -(-self.n // self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch):
        """Use epoch ``epoch``'s order next (the same ``epoch`` on every rank)."""
        self.epoch = int(epoch)

    def indices(self):
        """This rank's indices for the current epoch, an int array of ``len(self)``."""
        order = xp.random.default_rng([self.seed, self.epoch]).permutation(self.n) if self.shuffle else xp.arange(self.n)
        if self.total_size > self.n:  # pad by repeating the start (several times for tiny datasets)
            order = xp.resize(order, self.total_size)
        return order[:self.total_size][self.rank::self.num_replicas]

    def __iter__(self):
        return iter(self.indices().tolist())

    def __len__(self):
        return self.num_samples


class ShardedBatches(ArrayBatches):
    """``fit``'s batches of arrays on one rank: batches of ``batch_size`` (per rank) from its
    :class:`DistributedSampler` shard; ``len`` is the same on every rank."""

    def __init__(self, batches, drop_last=False):
        super().__init__(batches.x, batches.y, batches.batch_size, batches.shuffle, batches.seed, batches.transform)
        self.dtype = batches.dtype
        self.sampler = DistributedSampler(len(self.x), shuffle=self.shuffle, seed=self.seed, drop_last=drop_last)

    def set_epoch(self, epoch):
        self.epoch = epoch
        self.sampler.set_epoch(epoch)

    def __len__(self):
        return -(-len(self.sampler) // self.batch_size)

    @property
    def num_samples(self):
        return len(self.sampler)

    def __iter__(self):
        idx = self.sampler.indices()
        for start in range(0, len(idx), self.batch_size):
            part = idx[start:start + self.batch_size]
            xb = self.x[part]
            if self.transform is not None:
                xb = self.transform(xb)
            xb = input_tensor(xp.asarray(xb), self.dtype)
            yield xb if self.y is None else (xb, Tensor._wrap(xp.asarray(self.y[part]), False, None))
