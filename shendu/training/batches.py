"""The data ``fit``, ``evaluate``, ``lr_find`` and ``tune`` accept, as batches of Tensors.

Arrays ``x`` (and targets ``y``) are cut into batches by :class:`ArrayBatches`, whose
order in epoch e depends only on (seed, e): a resumed run sees exactly the batches an
uninterrupted one would. A Dataset is batched by a DataLoader; a DataLoader (or any
iterable of batches with ``len``) is used as it is.
"""
from __future__ import annotations

from .. import backend
from ..backend import xp
from ..tensor import Tensor


def as_array(a, what):
    """``a`` (a Tensor, an array or nested lists of numbers) as an array; None stays None."""
    if a is None:
        return None
    if isinstance(a, Tensor):
        return a.data
    arr = xp.asarray(a)
    if arr.dtype == object:
        raise TypeError(f"fit: {what} must be numeric array-like, got {type(a).__name__}")
    return arr


def input_tensor(arr, dtype=None):
    """Inputs as a constant tensor; floating inputs take ``dtype`` (the model's: float64 data
    must not silently turn a float32 model's arithmetic into float64)."""
    dtype = dtype or backend.get_default_dtype()
    if arr.dtype.kind == "f" and arr.dtype != dtype:
        arr = arr.astype(dtype)
    return Tensor._wrap(arr, False, None)


def model_dtype(model):
    """The floating dtype of the model's parameters (the default dtype when it has none yet)."""
    for p in model.parameters():
        if p.data.dtype.kind == "f":
            return p.data.dtype
    return backend.get_default_dtype()


def check_batch_size(batch_size, who="fit"):
    """A positive integer, or a ValueError naming ``who``."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, xp.integer)) or batch_size < 1:
        raise ValueError(f"{who}: batch_size must be a positive integer, got {batch_size!r}")
    return int(batch_size)


class ArrayBatches:
    """Batches of arrays: ``(x, y)`` Tensor pairs, or ``x`` Tensors alone when ``y`` is None
    (unsupervised data, for a custom ``train_step``).

    The order of epoch e depends only on (seed, e), so a resumed run sees exactly the
    batches an uninterrupted run would. ``dtype``: floating inputs are cast to it (the
    model's dtype; the Trainer sets it).
    """

    def __init__(self, x, y, batch_size, shuffle, seed, transform=None):
        if y is not None and len(x) != len(y):
            raise ValueError(f"fit: x has {len(x)} samples but y has {len(y)}")
        self.x, self.y, self.batch_size, self.shuffle, self.seed = x, y, check_batch_size(batch_size), shuffle, seed
        self.transform = transform
        self.dtype = None
        self.epoch = 0

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    @property
    def num_samples(self):
        return len(self.x)

    def __iter__(self):
        n = len(self.x)
        order = (xp.random.default_rng([self.seed, self.epoch]).permutation(n) if self.shuffle else None)
        for start in range(0, n, self.batch_size):
            idx = slice(start, start + self.batch_size) if order is None else order[start:start + self.batch_size]
            xb = self.x[idx]
            if self.transform is not None:
                xb = self.transform(xb)
            xb = input_tensor(xp.asarray(xb), self.dtype)
            yield xb if self.y is None else (xb, Tensor._wrap(xp.asarray(self.y[idx]), False, None))


def make_batches(data, y, batch_size, shuffle, seed, transform=None, what="x"):
    """Anything fit/evaluate accepts → an iterable of batches with ``len``: arrays ``data`` and
    ``y`` (``y`` None: inputs alone), an ``(x, y)`` tuple, a Dataset or a DataLoader."""
    check_batch_size(batch_size)
    if y is not None:
        return ArrayBatches(as_array(data, what), as_array(y, "y"), batch_size, shuffle, seed, transform)
    if isinstance(data, (tuple, list)) and len(data) == 2 and not backend.is_array(data):
        return ArrayBatches(as_array(data[0], what), as_array(data[1], "y"), batch_size, shuffle, seed, transform)
    if isinstance(data, Tensor) or backend.is_array(data):
        return ArrayBatches(as_array(data, what), None, batch_size, shuffle, seed, transform)
    if hasattr(data, "__iter__") and hasattr(data, "__len__"):
        if hasattr(data, "__getitem__") and not hasattr(data, "batch_size"):
            from ..data import DataLoader  # a Dataset: batch it
            return DataLoader(data, batch_size=batch_size, shuffle=shuffle)
        return data
    raise TypeError(f"fit: pass arrays x and y, an (x, y) tuple, a Dataset or a DataLoader; got {type(data).__name__}")


def num_samples(loader):
    """The number of samples of a loader, when it can tell (else None)."""
    if hasattr(loader, "num_samples"):
        return loader.num_samples
    ds = getattr(loader, "dataset", None)
    return len(ds) if ds is not None and hasattr(ds, "__len__") else None


def batch_len(batch):
    """The number of samples in a batch (a Tensor, or a tuple/list/dict of them)."""
    first = batch
    while isinstance(first, (tuple, list)) and first:
        first = first[0]
    if isinstance(first, dict) and first:
        first = next(iter(first.values()))
    shape = getattr(first, "shape", None)
    return int(shape[0]) if shape else 1
