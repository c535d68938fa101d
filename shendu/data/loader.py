"""``DataLoader``: batches of shendu Tensors from a dataset (PyTorch's ``DataLoader``, signature and meaning).

Each epoch (each ``iter(loader)``) the loader

1. takes the epoch's batches of indices from its batch sampler — by default a
   :class:`~shendu.data.BatchSampler` of ``batch_size`` over a
   :class:`~shendu.data.RandomSampler` (``shuffle=True``) or a
   :class:`~shendu.data.SequentialSampler`;
2. gathers each batch with ``dataset.get_batch(indices)`` (one fancy index per
   array for :class:`~shendu.data.TensorDataset`) or, with a ``collate_fn``,
   by reading the samples one by one and collating them;
3. applies ``transform`` to the batch's first field (the inputs ``x``), with a
   generator of its own for that batch;
4. wraps the arrays as Tensors (floating data in the default dtype, integer
   data as int64).

With ``num_workers > 0`` (or ``prefetch=True``) steps 2–4 of the next batch run
on one background thread while the caller trains on the current one.

Randomness is counter-based: the loader holds one ``seed``; epoch ``e``'s order
comes from ``default_rng((seed, e))`` and batch ``b``'s transform from
``default_rng((seed, e, b))``. ``set_epoch(e)`` picks the epoch, so a run
resumed at epoch ``e`` sees exactly the batches an uninterrupted run saw, and
prefetching never changes them.
"""
from __future__ import annotations

import numbers
import queue
import threading

from shendu import backend
from shendu.backend import is_array
from shendu.tensor import Tensor

from .dataset import IterableDataset, TensorDataset, default_collate
from .sampler import BatchSampler, RandomSampler, SequentialSampler, seed_from

_DONE = object()


class _Failure:
    """An exception raised on the prefetch thread, carried to the caller."""

    __slots__ = ("exc",)

    def __init__(self, exc):
        self.exc = exc


class DataLoader:
    """Iterate over a dataset in batches of shendu Tensors.

    Args (PyTorch's, in its order):
        dataset: a :class:`~shendu.data.Dataset`, anything with ``len`` and
            indexing, an :class:`~shendu.data.IterableDataset`, or a tuple
            ``(x, y, ...)`` of arrays (wrapped in a :class:`~shendu.data.TensorDataset`).
        batch_size: samples per batch (default 1, as PyTorch); None yields single samples.
        shuffle: a new random order every epoch.
        sampler: an iterable of indices (excludes ``shuffle``).
        batch_sampler: an iterable of lists of indices (excludes ``batch_size``,
            ``shuffle``, ``sampler``, ``drop_last``).
        num_workers: > 0 prepares the next batch on a background thread (one
            thread, whatever the number: NumPy releases the GIL in its loops);
            the batches are the same as with 0.
        collate_fn: ``list of samples -> batch``; given, the samples are read
            one by one (default: ``dataset.get_batch``, else
            :func:`~shendu.data.default_collate`).
        pin_memory: accepted; nothing to pin on the CPU.
        drop_last: drop the last batch when it is shorter than ``batch_size``.
        timeout, prefetch_factor, persistent_workers: accepted for PyTorch
            code; they change nothing here.
        worker_init_fn: called as ``worker_init_fn(0)`` on the background thread
            before its first batch (with ``num_workers > 0``).
        generator: a NumPy ``Generator`` the loader takes its seed from once.

    shendu's additions (keywords): ``transform`` — ``transform(x, rng=generator) -> x``
    applied to the first field of every batch (see :mod:`shendu.data.augment`);
    ``prefetch`` — the background thread without workers; ``seed`` — an int seed
    (wins over ``generator``; with neither, the seed is drawn from the library
    generator when the loader is built, so :func:`shendu.manual_seed` makes it
    reproducible); ``device`` — move every batch there.

    ``len(loader)`` is the number of batches: ``ceil(N / batch_size)``, or
    ``floor(N / batch_size)`` with ``drop_last``.

    Example:
        >>> loader = shendu.data.DataLoader((x, y), batch_size=64, shuffle=True, seed=0)
        >>> for xb, yb in loader:
        ...     loss = F.cross_entropy(model(xb), yb)
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None, generator=None,
                 *, prefetch_factor=None, persistent_workers=False, transform=None, prefetch=False, seed=None,
                 device=None):
        if isinstance(dataset, (tuple, list)) and dataset and all(_is_array_like(a) for a in dataset):  # (x, y)
            dataset = TensorDataset(*dataset)
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral)
                                       or batch_size <= 0):
            raise ValueError(f"DataLoader: batch_size should be a positive integer or None, got {batch_size!r}")
        if isinstance(num_workers, bool) or not isinstance(num_workers, numbers.Integral) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers should be a non-negative integer, got {num_workers!r}")
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None or drop_last):
            raise ValueError("DataLoader: batch_sampler option is mutually exclusive with batch_size, shuffle, "
                             "sampler, and drop_last")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn
        self.transform = transform
        self.num_workers = int(num_workers)
        self.worker_init_fn = worker_init_fn
        self.prefetch = bool(prefetch) or self.num_workers > 0
        self.pin_memory, self.timeout, self.prefetch_factor = pin_memory, timeout, prefetch_factor
        self.persistent_workers = persistent_workers
        self.device = None if device is None else backend.Device(device)
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable and (shuffle or sampler is not None or batch_sampler is not None):
            raise ValueError("DataLoader: an IterableDataset gives its own order; shuffle, sampler and "
                             "batch_sampler do not apply")
        self.seed = seed_from(seed, generator)
        self.epoch = 0
        if sampler is None and not self._iterable:
            sampler = RandomSampler(dataset, seed=self.seed) if shuffle else SequentialSampler(dataset)
        self.sampler = sampler
        if batch_sampler is None and batch_size is not None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, self.drop_last)
        self.batch_sampler = batch_sampler

    @property
    def shuffle(self):
        """Whether the default random sampler orders the epochs."""
        return isinstance(self.sampler, RandomSampler)

    def set_epoch(self, epoch):
        """Make the next ``iter(loader)`` produce epoch ``epoch`` (its order and its transforms' random numbers).

        Epochs otherwise count up by one per ``iter``; a run resumed after ``epoch`` finished epochs calls
        ``set_epoch(epoch)`` to see the same batches as a run that never stopped (PyTorch's samplers have
        the same method). Passed on to the sampler and batch sampler when they have it.
        """
        if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral) or epoch < 0:
            raise ValueError(f"DataLoader.set_epoch: expected a non-negative integer, got {epoch!r}")
        self.epoch = int(epoch)
        for s in (self.batch_sampler, self.sampler):
            if hasattr(s, "set_epoch"):
                s.set_epoch(epoch)
                break  # a BatchSampler passes it on to its sampler

    def __len__(self):
        if self._iterable:
            n = len(self.dataset)  # TypeError for an iterable dataset without a length, as PyTorch
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self.batch_sampler) if self.batch_sampler is not None else len(self.sampler)

    def __iter__(self):
        # Everything random about this epoch is fixed here, on the caller's thread: the sampler's
        # order for this epoch, and (seed, epoch) from which batch b's transform generator is made.
        epoch, self.epoch = self.epoch, self.epoch + 1
        if hasattr(self.batch_sampler, "set_epoch"):
            self.batch_sampler.set_epoch(epoch)
        elif hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)
        if self._iterable:
            batches = _batched(iter(self.dataset), self.batch_size, self.drop_last)
            jobs = ((b, samples, epoch, True) for b, samples in enumerate(batches))
        else:
            batches = self.batch_sampler if self.batch_sampler is not None else ([i] for i in self.sampler)
            jobs = ((b, indices, epoch, False) for b, indices in enumerate(batches))
        if not self.prefetch:
            return (self._make_batch(*job) for job in jobs)
        return _prefetching(self._make_batch, jobs, self.worker_init_fn)

    def _make_batch(self, b, indices, epoch, are_samples):
        ds, collate = self.dataset, self.collate_fn or default_collate
        unbatched = self.batch_size is None and self.batch_sampler is None
        if are_samples:  # an IterableDataset's samples themselves
            batch = indices[0] if unbatched else collate(indices)
        elif unbatched:  # batch_size=None: single samples, not collated (PyTorch's meaning)
            batch = ds[int(indices[0])]
            batch = self.collate_fn(batch) if self.collate_fn is not None else batch
        elif self.collate_fn is None and hasattr(ds, "get_batch"):
            batch = ds.get_batch(backend.xp.asarray(indices, dtype=backend.int64))
        else:
            batch = collate([ds[int(i)] for i in indices])
        if self.transform is not None:
            rng = backend.xp.random.default_rng((self.seed, epoch, b))
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


def _batched(samples, batch_size, drop_last):
    """Lists of ``batch_size`` consecutive samples of an iterator (single-sample lists when it is None)."""
    size = batch_size or 1
    batch = []
    for s in samples:
        batch.append(s)
        if len(batch) == size:
            yield batch
            batch = []
    if batch and not drop_last:
        yield batch


def _prefetching(make, jobs, worker_init_fn=None):
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
            if worker_init_fn is not None:
                worker_init_fn(0)
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
