"""``DataLoader``: batches of shendu Tensors from a dataset.

Each epoch (each ``iter(loader)``) the loader

1. draws the order of the samples (a permutation from its own seeded
   generator when ``shuffle``, else ``0..N-1``),
2. cuts it into batches of ``batch_size`` indices (the last one shorter, or
   dropped with ``drop_last``),
3. gathers each batch with ``dataset.get_batch(indices)`` (one fancy index per
   array for :class:`~shendu.data.TensorDataset`) or, with a ``collate_fn``,
   by reading the samples one by one and collating them,
4. applies ``transform`` to the batch's first field (the inputs ``x``), with a
   generator of its own for that batch,
5. wraps the arrays as Tensors (floating data in the default dtype, integer
   data as int64).

With ``prefetch=True`` steps 3–5 of the next batch run on one background
thread while the caller trains on the current one. Every batch's random
numbers are fixed when the epoch starts, so prefetching never changes the
batches.
"""
from __future__ import annotations

import queue
import threading

from shendu import backend
from shendu.backend import is_array
from shendu.tensor import Tensor

from ._rng import derive_seed, generator
from .dataset import TensorDataset, default_collate

_DONE = object()


class _Failure:
    """An exception raised on the prefetch thread, carried to the caller."""

    __slots__ = ("exc",)

    def __init__(self, exc):
        self.exc = exc


class DataLoader:
    """Iterate over a dataset in batches of shendu Tensors.

    Args:
        dataset: a :class:`~shendu.data.Dataset`, anything with ``len`` and
            indexing, or a tuple ``(x, y, ...)`` of arrays (wrapped in a
            :class:`~shendu.data.TensorDataset`).
        batch_size: samples per batch (default 32; PyTorch's default is 1).
        shuffle: a new random order every epoch.
        drop_last: drop the last batch when it is shorter than ``batch_size``.
        collate_fn: ``list of samples -> batch``; given, the samples are read
            one by one (default: ``dataset.get_batch``, else
            :func:`~shendu.data.default_collate`).
        transform: ``transform(x, rng=generator) -> x`` applied to the first
            field of every batch (see :mod:`shendu.data.augment`).
        prefetch: prepare the next batch on a background thread.
        seed: int seed of the loader's generator.
        generator: a NumPy ``Generator`` to use instead (wins over ``seed``).
            With neither, the loader draws its seed from the library generator
            when it is built, so :func:`shendu.manual_seed` makes it
            reproducible.
        device: move every batch there (``'cpu'`` or ``'cuda'``); None keeps
            the dataset's arrays where they are.

    ``len(loader)`` is the number of batches: ``ceil(N / batch_size)``, or
    ``floor(N / batch_size)`` with ``drop_last``.

    Example:
        >>> loader = shendu.data.DataLoader((x, y), batch_size=64, shuffle=True, seed=0)
        >>> for xb, yb in loader:
        ...     loss = F.cross_entropy(model(xb), yb)
    """

    def __init__(self, dataset, batch_size=32, shuffle=False, drop_last=False, collate_fn=None, transform=None,
                 prefetch=False, seed=None, generator=None, device=None):
        if isinstance(dataset, (tuple, list)) and dataset and all(_is_array_like(a) for a in dataset):  # (x, y)
            dataset = TensorDataset(*dataset)
        if not (isinstance(batch_size, int) and batch_size > 0):
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got {batch_size!r}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn
        self.transform = transform
        self.prefetch = bool(prefetch)
        self.device = None if device is None else backend.Device(device)
        self.generator = generator if generator is not None else _seeded(seed)

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        # Everything random about this epoch is drawn here, on the caller's
        # thread, in a fixed order: the permutation, then one seed from which
        # batch b's transform generator is made as default_rng((seed, b)).
        n = len(self.dataset)
        order = self.generator.permutation(n) if self.shuffle else backend.xp.arange(n)
        epoch_seed = derive_seed(self.generator)
        stop = n - n % self.batch_size if self.drop_last else n
        starts = range(0, stop, self.batch_size)
        jobs = ((b, order[s:s + self.batch_size], epoch_seed) for b, s in enumerate(starts))
        if not self.prefetch:
            return (self._make_batch(*job) for job in jobs)
        return _prefetching(self._make_batch, jobs)

    def _make_batch(self, b, indices, epoch_seed):
        ds = self.dataset
        if self.collate_fn is not None:
            batch = self.collate_fn([ds[int(i)] for i in indices])
        elif hasattr(ds, "get_batch"):
            batch = ds.get_batch(indices)
        else:
            batch = default_collate([ds[int(i)] for i in indices])
        if self.transform is not None:
            rng = backend.xp.random.default_rng((epoch_seed, b))
            if isinstance(batch, tuple):
                batch = (self.transform(batch[0], rng=rng),) + batch[1:]
            else:
                batch = self.transform(batch, rng=rng)
        return self._to_tensors(batch)

    def _to_tensors(self, batch):
        if isinstance(batch, (tuple, list)):
            return type(batch)(self._to_tensors(b) for b in batch)
        if isinstance(batch, dict):
            return {k: self._to_tensors(v) for k, v in batch.items()}
        if isinstance(batch, Tensor):
            return batch if self.device is None else batch.to(self.device)
        if is_array(batch):
            if batch.dtype.kind == "f":
                batch = batch.astype(backend.get_default_dtype(), copy=False)
            elif batch.dtype.kind in "iu":
                batch = batch.astype(backend.int64, copy=False)
            if self.device is not None:
                batch = backend.to_device(batch, self.device)
            return Tensor._wrap(batch, False, None)
        return batch

    def __repr__(self):
        return (f"DataLoader({self.dataset!r}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, prefetch={self.prefetch})")


def _is_array_like(a):
    return is_array(a) or isinstance(a, Tensor)


def _seeded(seed):
    return generator(seed) if seed is not None else backend.xp.random.default_rng(derive_seed(backend.rng()))


def _prefetching(make, jobs):
    """Yield ``make(*job)`` for each job, computing the next one on a
    background thread (a queue of one slot) while the caller uses the current
    one. An exception on the thread is re-raised here; leaving the loop early
    (break, exception, garbage collection) stops and joins the thread."""
    slot = queue.Queue(maxsize=1)
    stopping = threading.Event()

    def put(item):
        while not stopping.is_set():
            try:
                slot.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            for job in jobs:
                if not put(make(*job)):
                    return
            put(_DONE)
        except BaseException as exc:  # noqa: BLE001 - carried to the caller and re-raised there
            put(_Failure(exc))

    worker = threading.Thread(target=produce, name="shendu-DataLoader-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = slot.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item
    finally:
        stopping.set()
        worker.join()
