"""shendu.utils.data: PyTorch's data API (samplers, DataLoader options, ConcatDataset, IterableDataset, set_epoch),
compared with torch.utils.data where the result is deterministic."""
from __future__ import annotations

import numpy as np
import pytest

import shendu
from shendu.data import augment
from shendu.utils import data as sud

torch = pytest.importorskip("torch")
tud = torch.utils.data


def _xy(n=23):
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    return x, np.arange(n)


def _batches(loader):
    return [tuple(t.numpy() if hasattr(t, "numpy") else np.asarray(t) for t in b) for b in loader]


def test_the_torch_path_holds_shendus_own_objects():
    assert sud.DataLoader is shendu.data.DataLoader and sud.TensorDataset is shendu.data.TensorDataset
    from shendu.utils.data import (BatchSampler, ConcatDataset, Dataset, IterableDataset, RandomSampler,  # noqa: F401
                                   Sampler, SequentialSampler, Subset, SubsetRandomSampler, WeightedRandomSampler,
                                   random_split)


@pytest.mark.parametrize("batch_size, drop_last", [(1, False), (4, False), (4, True), (23, False), (30, True)])
def test_sequential_batches_and_lengths_match_torch(batch_size, drop_last):
    x, y = _xy()
    ours = sud.DataLoader(sud.TensorDataset(x, y), batch_size=batch_size, drop_last=drop_last)
    theirs = tud.DataLoader(tud.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=batch_size,
                            drop_last=drop_last)
    assert len(ours) == len(theirs)
    a, b = _batches(ours), [tuple(t.numpy() for t in bt) for bt in theirs]
    assert len(a) == len(b)
    for (xa, ya), (xb, yb) in zip(a, b):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
        assert xa.dtype == xb.dtype and ya.dtype == yb.dtype


def test_default_batch_size_is_one_and_none_gives_single_samples():
    x, y = _xy(5)
    first = next(iter(sud.DataLoader(sud.TensorDataset(x, y))))
    assert first[0].shape == (1, 2) and first[1].shape == (1,)
    single = list(sud.DataLoader(sud.TensorDataset(x, y), batch_size=None))
    assert len(single) == 5 and np.asarray(single[3][0]).shape == (2,)
    theirs = list(tud.DataLoader(tud.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=None))
    assert theirs[3][0].shape == (2,)


def test_samplers_and_batch_sampler():
    assert list(sud.SequentialSampler(range(4))) == list(tud.SequentialSampler(range(4)))
    for drop_last in (False, True):
        ours = list(sud.BatchSampler(sud.SequentialSampler(range(10)), 3, drop_last))
        assert ours == list(tud.BatchSampler(tud.SequentialSampler(range(10)), 3, drop_last))
        assert len(sud.BatchSampler(sud.SequentialSampler(range(10)), 3, drop_last)) == len(ours)
    perm = list(sud.RandomSampler(range(50), seed=3))
    assert sorted(perm) == list(range(50)) and perm != list(range(50))
    more = list(sud.RandomSampler(range(5), num_samples=12, seed=0))  # whole permutations, then a part
    assert len(more) == 12 and sorted(more[:5]) == list(range(5)) and sorted(more[5:10]) == list(range(5))
    repl = list(sud.RandomSampler(range(3), replacement=True, num_samples=100, seed=0))
    assert len(repl) == 100 and set(repl) == {0, 1, 2}
    assert sorted(sud.SubsetRandomSampler([9, 4, 7], seed=1)) == [4, 7, 9]
    w = sud.WeightedRandomSampler([0.0, 1.0, 3.0], num_samples=4000, seed=0)
    counts = np.bincount(list(w), minlength=3)
    assert counts[0] == 0 and 0.7 < counts[2] / 4000 < 0.8
    assert sorted(sud.WeightedRandomSampler([1, 1, 1], 3, replacement=False, seed=0)) == [0, 1, 2]
    with pytest.raises(ValueError, match="without replacement"):
        sud.WeightedRandomSampler([1, 0, 0], 2, replacement=False)
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        sud.BatchSampler(sud.SequentialSampler(range(3)), 0, False)


def test_loader_with_samplers_and_torchs_exclusivity_errors():
    x, y = _xy(10)
    ds = sud.TensorDataset(x, y)
    ys = [b[1].tolist() for b in sud.DataLoader(ds, batch_size=4, sampler=[9, 8, 7, 6, 5])]
    assert ys == [[9, 8, 7, 6], [5]]
    ys = [b[1].tolist() for b in sud.DataLoader(ds, batch_sampler=[[1, 2], [0]])]
    assert ys == [[1, 2], [0]]
    for kwargs, theirs_kwargs in [(dict(sampler=[0, 1], shuffle=True), dict(sampler=[0, 1], shuffle=True)),
                                  (dict(batch_sampler=[[0]], batch_size=2), dict(batch_sampler=[[0]], batch_size=2))]:
        with pytest.raises(ValueError) as ours:
            sud.DataLoader(ds, **kwargs)
        with pytest.raises(ValueError) as theirs:
            tud.DataLoader(tud.TensorDataset(torch.from_numpy(x)), **theirs_kwargs)
        assert str(theirs.value).split()[:3] == str(ours.value).split()[1:4]  # "sampler option is" ...


def test_weighted_sampler_rebalances_a_loader():
    y = np.array([0] * 90 + [1] * 10)
    weights = np.where(y == 1, 9.0, 1.0)
    loader = sud.DataLoader(sud.TensorDataset(y), batch_size=50,
                            sampler=sud.WeightedRandomSampler(weights, num_samples=2000, seed=0))
    share = np.concatenate([b[0].numpy() for b in loader]).mean()
    assert 0.4 < share < 0.6


def test_set_epoch_reproduces_an_epoch_with_its_transforms():
    x = np.random.default_rng(0).normal(size=(40, 1, 6, 6)).astype(np.float32)
    y = np.arange(40)
    make = lambda: sud.DataLoader(sud.TensorDataset(x, y), batch_size=8, shuffle=True, seed=11,  # noqa: E731
                                  transform=augment.RandomShift(1))
    loader = make()
    epochs = [_batches(loader) for _ in range(4)]
    assert not np.array_equal(epochs[1][0][1], epochs[2][0][1])  # a new order every epoch
    resumed = make()
    resumed.set_epoch(2)
    for got, want in zip(_batches(resumed), epochs[2]):
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
    assert [b[1].tolist() for b in _batches(resumed)] == [b[1].tolist() for b in epochs[3]]  # then counts on
    with pytest.raises(ValueError, match="set_epoch"):
        resumed.set_epoch(-1)


def test_workers_prefetch_the_same_batches_and_run_worker_init_fn():
    x, y = _xy(30)
    seen = []
    plain = _batches(sud.DataLoader(sud.TensorDataset(x, y), batch_size=7, shuffle=True, seed=2))
    threaded = _batches(sud.DataLoader(sud.TensorDataset(x, y), batch_size=7, shuffle=True, seed=2, num_workers=2,
                                       pin_memory=True, persistent_workers=True, worker_init_fn=seen.append))
    assert seen == [0]
    for a, b in zip(plain, threaded):
        np.testing.assert_array_equal(a[1], b[1])


class _Stream(sud.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter([(np.float32(i), np.int64(i * i)) for i in range(self.n)])


class _TorchStream(tud.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter([(np.float32(i), np.int64(i * i)) for i in range(self.n)])


@pytest.mark.parametrize("batch_size, drop_last", [(3, False), (3, True), (None, False)])
def test_iterable_dataset_batches_like_torch(batch_size, drop_last):
    ours = list(sud.DataLoader(_Stream(8), batch_size=batch_size, drop_last=drop_last))
    theirs = list(tud.DataLoader(_TorchStream(8), batch_size=batch_size, drop_last=drop_last))
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(np.asarray(a[1].numpy() if hasattr(a[1], "numpy") else a[1]),
                                      np.asarray(b[1]))
    with pytest.raises(ValueError, match="IterableDataset"):
        sud.DataLoader(_Stream(3), shuffle=True)
    with pytest.raises(TypeError, match="without a length"):
        len(sud.DataLoader(_Stream(3)))


def test_concat_dataset_indexes_like_torch():
    a, b = sud.TensorDataset(np.arange(3)), sud.TensorDataset(np.arange(10, 15))
    ours = sud.ConcatDataset([a, b])
    theirs = tud.ConcatDataset([tud.TensorDataset(torch.arange(3)), tud.TensorDataset(torch.arange(10, 15))])
    assert len(ours) == len(theirs) and ours.cumulative_sizes == theirs.cumulative_sizes
    for i in list(range(-8, 8)):
        assert int(ours[i][0]) == int(theirs[i][0]), i
    with pytest.raises(IndexError, match="out of range"):
        ours[8]
    assert len(a + b) == 8
    ys = np.concatenate([t[0].numpy() for t in sud.DataLoader(ours, batch_size=3)])
    np.testing.assert_array_equal(ys, [0, 1, 2, 10, 11, 12, 13, 14])
    with pytest.raises(ValueError, match="empty"):
        sud.ConcatDataset([])


def test_random_split_takes_torchs_generator_keyword():
    ds = sud.TensorDataset(np.arange(20))
    p1, q1 = sud.random_split(ds, [15, 5], generator=np.random.default_rng(4))
    p2, q2 = sud.random_split(ds, [0.75, 0.25], generator=np.random.default_rng(4))
    assert p1.indices.tolist() == p2.indices.tolist() and len(q1) == 5
    assert sorted(p1.indices.tolist() + q1.indices.tolist()) == list(range(20))
