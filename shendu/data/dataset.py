"""Datasets (indexable collections of samples) and how to split them.

* :class:`Dataset`: the protocol, ``len(ds)`` and ``ds[i] -> sample``; its
  :meth:`~Dataset.get_batch` gathers many samples at once (per sample here;
  array-backed datasets override it with one fancy index);
* :class:`TensorDataset`: arrays of equal length, sample ``i`` is
  ``(a[i], b[i], ...)``;
* :class:`Subset`: a view on some indices of another dataset;
* :class:`ConcatDataset`: datasets one after another (``a + b``);
* :class:`IterableDataset`: a stream of samples (``__iter__``) instead of indexing;
* :func:`random_split`: a dataset cut into random disjoint subsets;
* :func:`train_val_test_split`: arrays cut into train / validation / test,
  stratified by label.
"""
from __future__ import annotations

import bisect
import math
import numbers

from shendu.backend import get_array_module, is_array, xp
from shendu.tensor import Tensor

from ._rng import generator as _generator


def _as_array(a):
    """Tensors and array-likes to a backend array (Tensors share their data)."""
    if isinstance(a, Tensor):
        return a.data
    return a if is_array(a) else xp.asarray(a)


def default_collate(samples):
    """Stack a list of samples into a batch, field by field.

    ``[(x0, y0), (x1, y1), ...] -> (stack([x0, x1, ...]), stack([y0, y1, ...]))``;
    a list of single arrays becomes one stacked array.
    """
    first = samples[0]
    if isinstance(first, (tuple, list)):
        return tuple(default_collate([s[k] for s in samples]) for k in range(len(first)))
    if isinstance(first, dict):
        return {k: default_collate([s[k] for s in samples]) for k in first}
    arrays = [_as_array(s) for s in samples]
    return get_array_module(arrays[0]).stack(arrays)


class Dataset:
    """A collection of samples: subclasses define ``__len__`` and ``__getitem__``.

    ``ds[i]`` returns one sample, usually a tuple ``(x, y)`` of arrays.
    :meth:`get_batch` is what :class:`~shendu.data.DataLoader` calls; the
    default reads the samples one by one and stacks them with
    :func:`default_collate`.

    Example:
        >>> class Squares(shendu.data.Dataset):
        ...     def __len__(self): return 10
        ...     def __getitem__(self, i): return (np.float32(i), np.int64(i * i))
        >>> Squares().get_batch([2, 3])
        (array([2., 3.], dtype=float32), array([4, 9]))
    """

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def get_batch(self, indices):
        """The samples at ``indices`` (a 1-d integer array), collated into a batch."""
        return default_collate([self[int(i)] for i in indices])

    def __add__(self, other):
        """``a + b``: a :class:`ConcatDataset` of the two, as in PyTorch."""
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset that is a stream: subclasses define ``__iter__`` (yielding samples) instead of indexing.

    A :class:`~shendu.data.DataLoader` batches the samples in the order the stream gives them
    (``shuffle`` and samplers do not apply, as in PyTorch); ``len`` is optional.

    Example:
        >>> class Counting(shendu.data.IterableDataset):
        ...     def __iter__(self): return iter(range(5))
        >>> [b.tolist() for b in shendu.data.DataLoader(Counting(), batch_size=2)]
        [[0, 1], [2, 3], [4]]
    """

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __getitem__(self, index):
        raise TypeError(f"{type(self).__name__} is an IterableDataset: iterate over it instead of indexing it")

    def __len__(self):
        raise TypeError(f"{type(self).__name__} is an IterableDataset without a length (define __len__ to give one)")


class TensorDataset(Dataset):
    """Samples made of arrays that share their first dimension.

    Args:
        *arrays: NumPy arrays, shendu Tensors or nested lists, all of the same
            length ``N`` along axis 0 (typically ``x (N, ...)`` and ``y (N,)``).

    ``ds[i] == (arrays[0][i], arrays[1][i], ...)``; :meth:`get_batch` gathers a
    whole batch with one fancy index per array (no per-sample Python loop).

    Example:
        >>> ds = shendu.data.TensorDataset(np.zeros((5, 3)), np.arange(5))
        >>> len(ds), ds[2][1]
        (5, 2)
    """

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("TensorDataset: expected at least one array, got none")
        self.arrays = tuple(_as_array(a) for a in arrays)
        n = len(self.arrays[0])
        bad = [a.shape for a in self.arrays if a.ndim == 0 or len(a) != n]
        if bad:
            shapes = ", ".join(str(a.shape) for a in self.arrays)
            raise ValueError(f"TensorDataset: all arrays must have the same length along axis 0, got shapes {shapes}")

    def __len__(self):
        return len(self.arrays[0])

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)

    def get_batch(self, indices):
        return tuple(a[indices] for a in self.arrays)

    def __repr__(self):
        return f"TensorDataset({', '.join(f'{a.dtype}{list(a.shape)}' for a in self.arrays)})"


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order.

    Args:
        dataset: any dataset.
        indices: integer indices into it.
    """

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = xp.asarray(indices, dtype=xp.int64)

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[index])]

    def get_batch(self, indices):
        inner = self.indices[indices]
        if hasattr(self.dataset, "get_batch"):
            return self.dataset.get_batch(inner)
        return default_collate([self.dataset[int(i)] for i in inner])

    def __repr__(self):
        return f"Subset({len(self)} of {self.dataset!r})"


class ConcatDataset(Dataset):
    """The samples of several datasets one after another: index ``i`` falls in the first dataset whose
    cumulative length exceeds it.

    Args:
        datasets: a non-empty sequence of datasets (not iterable-only ones).

    Example:
        >>> ds = shendu.data.ConcatDataset([TensorDataset(np.arange(3)), TensorDataset(np.arange(10, 12))])
        >>> len(ds), ds[3], ds.cumulative_sizes
        (5, (np.int64(10),), [3, 5])
    """

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        if any(isinstance(d, IterableDataset) for d in self.datasets):
            raise ValueError("ConcatDataset: does not support IterableDataset")
        self.cumulative_sizes = []
        total = 0
        for d in self.datasets:
            total += len(d)
            self.cumulative_sizes.append(total)

    def __len__(self):
        return self.cumulative_sizes[-1]

    def _locate(self, index):
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"ConcatDataset: index {index} is out of range for {n} samples")
        index = index + n if index < 0 else index
        k = bisect.bisect_right(self.cumulative_sizes, index)
        return k, index - (self.cumulative_sizes[k - 1] if k else 0)

    def __getitem__(self, index):
        k, i = self._locate(int(index))
        return self.datasets[k][i]

    def __repr__(self):
        return f"ConcatDataset({', '.join(map(repr, self.datasets))})"


def _lengths(n, lengths, where):
    """Integer lengths summing to ``n`` from ints or from fractions summing to 1
    (fractions are floored, then the remainder goes one by one to the first
    parts, as in PyTorch)."""
    lengths = list(lengths)
    if all(isinstance(v, numbers.Integral) for v in lengths):
        if sum(lengths) != n:
            raise ValueError(f"{where}: the lengths must sum to the dataset's length {n}, "
                             f"got {lengths} (sum {sum(lengths)})")
        return lengths
    if any(v < 0 for v in lengths) or not math.isclose(sum(lengths), 1.0, abs_tol=1e-6):
        raise ValueError(f"{where}: expected integer lengths summing to {n} or fractions summing to 1, got {lengths}")
    counts = [int(math.floor(n * f)) for f in lengths]
    for k in range(n - sum(counts)):
        counts[k % len(counts)] += 1
    return counts


def random_split(dataset, lengths, generator=None, seed=None):
    """Split ``dataset`` into random disjoint :class:`Subset` s.

    Args:
        dataset: a dataset (or anything with ``len`` and indexing).
        lengths: the sizes, integers summing to ``len(dataset)``, or fractions
            summing to 1 (``[0.8, 0.2]``).
        generator: a NumPy ``Generator`` for the permutation (PyTorch's keyword).
        seed: an int seed instead (shendu's keyword); with neither, the
            library generator (:func:`shendu.manual_seed`) draws it.

    Returns:
        a list of :class:`Subset`, one per length.

    Example:
        >>> train, val = shendu.data.random_split(ds, [0.9, 0.1], seed=0)
    """
    n = len(dataset)
    counts = _lengths(n, lengths, "random_split")
    perm = _generator(seed if seed is not None else generator).permutation(n)
    bounds = [0]
    for c in counts:
        bounds.append(bounds[-1] + c)
    return [Subset(dataset, perm[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def _quotas(class_counts, fraction, total):
    """Per-class counts close to ``fraction * count`` that sum exactly to
    ``total`` (largest remainders get the leftover units)."""
    want = class_counts * fraction
    quota = xp.floor(want).astype(xp.int64)
    leftover = int(total - quota.sum())
    if leftover > 0:
        order = xp.argsort(-(want - quota), kind="stable")
        quota[order[:leftover]] += 1
    return quota


def train_val_test_split(x, y, val=0.1, test=0.1, seed=None, stratify=True):
    """Split arrays into train, validation and test parts at random.

    Stratified (the default): every class keeps its proportion in each part,
    ``count_c(part) ≈ fraction · count_c``, with the per-class counts rounded so
    that each part has exactly ``round(fraction · N)`` samples (or the count
    asked for). Within each
    part the samples come in random order.

    The protocol (docs/data.md): train on the train part, choose
    hyperparameters on the validation part, report once on the test part.

    Args:
        x: samples ``(N, ...)`` (array or Tensor).
        y: labels ``(N,)`` (integers when ``stratify``).
        val: fraction (float) or number (int) of the samples for validation
            (0 for none).
        test: fraction (float) or number (int) of the samples for test.
        seed: int or ``Generator``; None draws from the library generator.
        stratify: keep the class proportions (needs integer labels).

    Returns:
        ``(x_train, y_train, x_val, y_val, x_test, y_test)`` arrays.

    Example:
        >>> xtr, ytr, xva, yva, xte, yte = shendu.data.train_val_test_split(x, y, val=0.1, test=0.2, seed=0)
    """
    x, y = _as_array(x), _as_array(y)
    n = len(x)
    if len(y) != n:
        raise ValueError(f"train_val_test_split: x and y must have the same length, got {len(x)} and {len(y)}")
    # ints are counts, floats fractions of n
    n_val, n_test = (v if isinstance(v, numbers.Integral) else round(v * n) for v in (val, test))
    if not (0 <= n_val and 0 <= n_test and n_val + n_test < n and val >= 0 and test >= 0):
        raise ValueError(f"train_val_test_split: expected val, test >= 0 leaving some samples to train "
                         f"(fractions or counts), got val={val}, test={test} for {n} samples")
    g = _generator(seed)
    perm = g.permutation(n)
    part = xp.zeros(n, dtype=xp.int8)  # 0 train, 1 validation, 2 test; indexed like perm
    if stratify:
        if y.dtype.kind not in "iub":
            raise TypeError(f"train_val_test_split: stratify=True needs integer labels, got dtype {y.dtype}")
        # Group the shuffled indices by class; a sample's rank inside its class
        # group decides its part: the first quota_test ranks go to test, the
        # next quota_val to validation.
        classes, inverse, counts = xp.unique(y[perm], return_inverse=True, return_counts=True)
        order = xp.argsort(inverse, kind="stable")
        starts = xp.concatenate([xp.zeros(1, xp.int64), xp.cumsum(counts)[:-1]])
        rank = xp.empty(n, dtype=xp.int64)
        rank[order] = xp.arange(n) - starts[inverse[order]]
        q_test = _quotas(counts, n_test / n, n_test)[inverse]
        q_val = _quotas(counts, n_val / n, n_val)[inverse]
        part[rank < q_test + q_val] = 1
        part[rank < q_test] = 2
    else:
        part[:n_test] = 2
        part[n_test:n_test + n_val] = 1
    idx = [perm[part == k] for k in range(3)]
    return (x[idx[0]], y[idx[0]], x[idx[1]], y[idx[1]], x[idx[2]], y[idx[2]])
