"""shendu.data: datasets, splits, DataLoader, the IDX and CIFAR-10 parsers."""
import gzip
import hashlib
import importlib.resources
import io
import re
import tarfile
import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import shendu
from shendu.data import (ChecksumError, DataLoader, Dataset, RandomHorizontalFlip, RandomRotation, Subset,
                         TensorDataset, random_split, read_idx, train_val_test_split, write_idx)

MNIST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


# ----------------------------------------------------------------- datasets
def test_digits_embedded_fixed_stratified_split():
    d = shendu.data.digits()
    x_train, y_train, x_test, y_test = d
    assert x_train.shape == (1437, 1, 8, 8) and x_test.shape == (360, 1, 8, 8)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert x_train.min() == 0 and x_train.max() == 1  # 0..16 scaled by 1/16
    counts = np.bincount(np.concatenate([y_train, y_test]))
    assert counts.tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]  # the UCI test set
    np.testing.assert_allclose(np.bincount(y_test) / counts, 0.2, atol=0.006)  # stratified
    again = shendu.data.load("digits")
    np.testing.assert_array_equal(again.x_test, x_test)  # fixed split
    assert len(shendu.data.digits(split="test")) == 360
    assert d.classes == tuple("0123456789") and d.num_classes == 10


def test_digits_file_ships_with_the_package():
    assert importlib.resources.files("shendu.data").joinpath("digits.csv.gz").is_file()


def test_with_validation_keeps_test_and_splits_train():
    d = shendu.data.digits().with_validation(0.1, seed=0)
    assert (len(d.train), len(d.val), len(d.test)) == (1293, 144, 360)
    assert "val=144" in repr(d)


def test_xo_balanced_seeded_and_meaningful():
    d = shendu.data.xo(n_train=300, n_test=100, size=24)
    assert d.x_train.shape == (300, 1, 24, 24) and d.x_train.dtype == np.float32 and d.y_train.dtype == np.int64
    assert 0 <= d.x_train.min() and d.x_train.max() <= 1
    assert np.bincount(np.r_[d.y_train, d.y_test]).tolist() == [200, 200]
    np.testing.assert_array_equal(shendu.data.xo(n_train=300, n_test=100, size=24).x_test, d.x_test)
    x1, _ = shendu.data.make_xo(10, seed=1)
    x2, _ = shendu.data.make_xo(10, seed=2)
    assert not np.array_equal(x1, x2)
    # an X crosses the middle, an O is hollow there
    x, y = shendu.data.make_xo(400, size=28, seed=0, noise=0)
    middle = x[:, 0, 11:17, 11:17].mean(axis=(1, 2))
    assert middle[y == 1].mean() > 3 * middle[y == 0].mean()
    assert shendu.data.xo(split="train", n_train=10, n_test=2).arrays[0].shape == (10, 1, 28, 28)


def test_mnist_test_split_from_shared_files(mnist_dir):
    ds = shendu.data.mnist(split="test", root=mnist_dir, download=False)
    x, y = ds.arrays
    assert x.shape == (10000, 1, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64
    assert 0 == x.min() and x.max() == 1
    assert np.bincount(y).tolist() == MNIST_COUNTS


def test_load_rejects_unknown_names_and_splits():
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'"):
        shendu.data.load("imagenet")
    with pytest.raises(ValueError, match="split must be"):
        shendu.data.digits(split="val")


# ----------------------------------------------------------------- IDX
def test_idx_real_files(mnist_dir):
    images = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert hashlib.md5(b"\x00\x00\x08\x03" + np.array([10000, 28, 28], ">u4").tobytes()
                       + images.tobytes()).hexdigest() == "2646ac647ad5339dbf082846283269ea"
    labels = read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz")
    assert np.bincount(labels).tolist() == MNIST_COUNTS
    train_labels = read_idx(mnist_dir / "train-labels-idx1-ubyte.gz")
    assert train_labels.shape == (60000,) and train_labels.max() == 9


def test_idx_errors_name_the_file(mnist_dir, tmp_path):
    raw = gzip.decompress((mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes())
    cases = {
        "cut": (raw[:5000], "truncated IDX data: shape (10000,) of uint8 needs 10008 bytes, the file has 5000"),
        "long": (raw + b"\x00", "trailing bytes after the IDX data"),
        "magic": (b"\x01\x02" + raw[2:], "bad magic number 0x01020801"),
        "dtype": (b"\x00\x00\x07\x01" + raw[4:], "bad magic number 0x00000701"),
        "header": (raw[:6], "truncated IDX header"),
    }
    for name, (data, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(ValueError, match=re.escape(message)) as e:
            read_idx(path)
        assert str(path) in str(e.value)
    gz = (mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes()
    (tmp_path / "broken.gz").write_bytes(gz[: len(gz) // 2])
    with pytest.raises(ValueError, match="broken.gz: corrupt or truncated gzip"):
        read_idx(tmp_path / "broken.gz")


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_idx_round_trip(tmp_path, dtype, name):
    a = (np.random.default_rng(0).standard_normal((3, 4, 5)) * 50).astype(dtype)
    write_idx(tmp_path / name, a)
    assert ((tmp_path / name).read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")
    b = read_idx(tmp_path / name)
    assert b.dtype == a.dtype and b.dtype.isnative
    np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------- CIFAR-10
def _cifar_records(n, seed):
    r = np.random.default_rng(seed)
    labels = r.integers(0, 10, n).astype(np.uint8)
    pixels = r.integers(0, 256, (n, 3072)).astype(np.uint8)
    return np.concatenate([labels[:, None], pixels], axis=1).tobytes(), labels, pixels


def _cifar_tar(path):
    members = {f"data_batch_{i}.bin": _cifar_records(3, i) for i in range(1, 6)}
    members["test_batch.bin"] = _cifar_records(2, 9)
    with tarfile.open(path, "w:gz") as tar:
        for name, (data, _, _) in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        meta = b"airplane\n"
        info = tarfile.TarInfo("cifar-10-batches-bin/batches.meta.txt")
        info.size = len(meta)
        tar.addfile(info, io.BytesIO(meta))
    return members


def test_cifar10_binary_parser_on_synthetic_archive(tmp_path):
    members = _cifar_tar(tmp_path / "cifar-10-binary.tar.gz")
    parts = shendu.data.read_cifar10_archive(tmp_path / "cifar-10-binary.tar.gz")
    x, y = parts["train"]
    assert x.shape == (15, 3, 32, 32) and x.dtype == np.uint8 and y.dtype == np.int64
    _, labels, pixels = members["data_batch_2.bin"]
    np.testing.assert_array_equal(y[3:6], labels)
    # byte 1 + c·1024 + i·32 + j of a record is channel c, row i, column j
    np.testing.assert_array_equal(x[4, 2, 5, 7], pixels[1, 2 * 1024 + 5 * 32 + 7])
    np.testing.assert_array_equal(x[3:6].reshape(3, -1), pixels)
    assert parts["test"][0].shape == (2, 3, 32, 32)


def test_cifar10_from_extracted_folder_and_checked_archive(tmp_path):
    members = _cifar_tar(tmp_path / "cifar-10-binary.tar.gz")
    # the archive is verified against the canonical sha256: the synthetic one fails
    with pytest.raises(ChecksumError, match="cifar-10-binary.tar.gz"):
        shendu.data.cifar10(root=tmp_path, download=False)
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    for name, (data, _, _) in members.items():
        (folder / name).write_bytes(data)
    d = shendu.data.cifar10(root=tmp_path, download=False)
    assert d.x_train.shape == (15, 3, 32, 32) and d.x_test.shape == (2, 3, 32, 32)
    assert d.x_train.dtype == np.float32 and d.x_train.max() <= 1 and d.classes[0] == "airplane"
    np.testing.assert_allclose(d.x_test.reshape(2, -1) * 255, members["test_batch.bin"][2], atol=1e-4)


def test_cifar10_parser_errors():
    with pytest.raises(ValueError, match="not a whole number of 3073-byte"):
        shendu.data.parse_cifar10_binary(b"\x00" * 3000, "x.bin")
    with pytest.raises(ValueError, match="label 200 out of range"):
        shendu.data.parse_cifar10_binary(bytes([200]) + b"\x00" * 3072, "x.bin")


# ----------------------------------------------------------------- splits
def test_tensor_dataset_and_subset():
    x, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    ds = TensorDataset(x, shendu.tensor(y))
    assert len(ds) == 10 and ds[3][1] == 3
    sub = Subset(ds, [7, 2, 5])
    assert len(sub) == 3 and sub[0][1] == 7
    np.testing.assert_array_equal(sub.get_batch(np.array([2, 0]))[1], [5, 7])
    with pytest.raises(ValueError, match=r"same length along axis 0, got shapes \(10, 2\), \(9,\)"):
        TensorDataset(x, y[:9])


def test_random_split():
    ds = TensorDataset(np.arange(10))
    parts = random_split(ds, [0.5, 0.3, 0.2], seed=0)
    assert [len(p) for p in parts] == [5, 3, 2]
    idx = np.concatenate([p.indices for p in parts])
    assert sorted(idx.tolist()) == list(range(10))
    assert [p.indices.tolist() for p in random_split(ds, [5, 3, 2], seed=0)] == [p.indices.tolist() for p in parts]
    assert [len(p) for p in random_split(ds, [1 / 3] * 3, seed=1)] == [4, 3, 3]
    with pytest.raises(ValueError, match="must sum to the dataset's length 10"):
        random_split(ds, [5, 4])


@given(n=st.integers(30, 300), val=st.floats(0, 0.3), test=st.floats(0.05, 0.3), k=st.integers(2, 6),
       seed=st.integers(0, 100))
def test_train_val_test_split_stratified(n, val, test, k, seed):
    r = np.random.default_rng(seed)
    y = r.integers(0, k, n)
    x = np.arange(n)
    xtr, ytr, xva, yva, xte, yte = train_val_test_split(x, y, val=val, test=test, seed=seed)
    assert (len(xva), len(xte)) == (round(val * n), round(test * n))
    assert sorted(np.concatenate([xtr, xva, xte]).tolist()) == list(range(n))  # a partition
    np.testing.assert_array_equal(y[xtr], ytr)
    counts = np.bincount(y, minlength=k)
    for part, frac in ((yte, test), (yva, val)):
        # each class within one sample of its share (largest-remainder rounding)
        assert np.all(np.abs(np.bincount(part, minlength=k) - frac * counts) < 1 + 1e-9)


def test_train_val_test_split_options():
    x, y = np.arange(100).reshape(50, 2), np.arange(50) % 5
    a = train_val_test_split(x, y, val=10, test=5, seed=3)
    b = train_val_test_split(x, y, val=10, test=5, seed=3)
    assert [len(p) for p in a] == [35, 35, 10, 10, 5, 5]
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert np.bincount(a[3]).tolist() == [2] * 5
    flat = train_val_test_split(x, y, val=0.2, test=0.2, seed=0, stratify=False)
    assert [len(p) for p in flat] == [30, 30, 10, 10, 10, 10]
    with pytest.raises(ValueError, match="leaving some samples to train"):
        train_val_test_split(x, y, val=0.5, test=0.5)
    with pytest.raises(TypeError, match="integer labels"):
        train_val_test_split(x, y * 0.5)


# ----------------------------------------------------------------- DataLoader
def _data(n=103):
    r = np.random.default_rng(0)
    return r.standard_normal((n, 1, 4, 4)), np.arange(n)


def test_loader_batches_cover_each_epoch_once():
    x, y = _data()
    loader = DataLoader((x, y), batch_size=10, shuffle=True, seed=0)
    assert len(loader) == 11
    epochs = []
    for _ in range(2):
        batches = list(loader)
        assert [len(b[1]) for b in batches] == [10] * 10 + [3]
        xb, yb = batches[0]
        assert isinstance(xb, shendu.Tensor) and xb.dtype == np.float32 and yb.dtype == np.int64
        assert xb.shape == (10, 1, 4, 4) and not xb.requires_grad
        order = np.concatenate([b[1].numpy() for b in batches])
        assert sorted(order.tolist()) == list(range(103))
        np.testing.assert_allclose(np.concatenate([b[0].numpy() for b in batches]), x[order].astype(np.float32))
        epochs.append(order)
    assert not np.array_equal(*epochs)  # a new order every epoch
    again = DataLoader((x, y), batch_size=10, shuffle=True, seed=0)
    np.testing.assert_array_equal(np.concatenate([b[1].numpy() for b in again]), epochs[0])


def test_loader_drop_last_and_order_without_shuffle():
    x, y = _data()
    loader = DataLoader(TensorDataset(x, y), batch_size=10, drop_last=True)
    assert len(loader) == 10
    np.testing.assert_array_equal(np.concatenate([b[1].numpy() for b in loader]), np.arange(100))


def test_loader_seeded_by_manual_seed_or_generator():
    x, y = _data()
    shendu.manual_seed(5)
    a = [b[1].numpy() for b in DataLoader((x, y), batch_size=7, shuffle=True)]
    shendu.manual_seed(5)
    b = [b[1].numpy() for b in DataLoader((x, y), batch_size=7, shuffle=True)]
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    # a generator gives the loader its seed once: the same generator state, the same batches
    c = [b[1].numpy() for b in DataLoader((x, y), batch_size=7, shuffle=True, generator=np.random.default_rng(1))]
    d = [b[1].numpy() for b in DataLoader((x, y), batch_size=7, shuffle=True, generator=np.random.default_rng(1))]
    e = [b[1].numpy() for b in DataLoader((x, y), batch_size=7, shuffle=True, seed=1)]
    f = [b[1].numpy() for b in DataLoader((x, y), batch_size=7, shuffle=True, seed=1)]
    assert all(np.array_equal(p, q) for p, q in zip(c, d)) and all(np.array_equal(p, q) for p, q in zip(e, f))
    assert not np.array_equal(np.concatenate(a), np.concatenate(e))


class _NoPerSample(TensorDataset):
    def __getitem__(self, index):
        raise AssertionError("the fast path must not read samples one by one")


def test_loader_fast_path_and_collate_fn():
    x, y = _data(20)
    xb, yb = next(iter(DataLoader(_NoPerSample(x, y), batch_size=8, shuffle=True, seed=0)))
    assert xb.shape == (8, 1, 4, 4)
    seen = []

    def collate(samples):
        seen.append(len(samples))
        return np.stack([s[0] for s in samples]), np.array([s[1] for s in samples])

    batches = list(DataLoader(TensorDataset(x, y), batch_size=8, collate_fn=collate))
    assert seen == [8, 8, 4] and isinstance(batches[0][0], shendu.Tensor)


class _Squares(Dataset):
    def __len__(self):
        return 9

    def __getitem__(self, i):
        if i == 8 and getattr(self, "fail", False):
            raise RuntimeError("sample 8 is broken")
        return np.full((2,), i, np.float32), np.int64(i * i)


def test_loader_on_a_plain_dataset_and_errors():
    xb, yb = list(DataLoader(_Squares(), batch_size=4))[2]
    assert yb.tolist() == [64] and xb.shape == (1, 2)
    with pytest.raises(ValueError, match="batch_size should be a positive integer or None, got 0"):
        DataLoader(_Squares(), batch_size=0)


def test_prefetch_gives_the_same_batches_with_transforms():
    x, y = _data(50)
    x = x.repeat(3, axis=2).repeat(3, axis=3)  # 12 × 12 images
    t = shendu.data.Compose([RandomHorizontalFlip(), RandomRotation(30)])
    plain = DataLoader((x, y), batch_size=8, shuffle=True, seed=2, transform=t)
    fetched = DataLoader((x, y), batch_size=8, shuffle=True, seed=2, transform=t, prefetch=True)
    for _ in range(2):
        for (a, ya), (b, yb) in zip(plain, fetched, strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
            np.testing.assert_array_equal(ya.numpy(), yb.numpy())
    xb, _ = next(iter(plain))
    assert xb.dtype == np.float32 and not np.array_equal(xb.numpy(), x[:8].astype(np.float32))


def _prefetch_threads():
    return [t for t in threading.enumerate() if t.name == "shendu-DataLoader-prefetch"]


def test_prefetch_propagates_errors_and_shuts_down():
    ds = _Squares()
    ds.fail = True
    it = iter(DataLoader(ds, batch_size=4, prefetch=True))
    next(it)
    next(it)
    with pytest.raises(RuntimeError, match="sample 8 is broken"):
        next(it)
    assert not _prefetch_threads()
    x, y = _data(1000)
    for i, _ in enumerate(DataLoader((x, y), batch_size=10, prefetch=True)):
        if i == 2:
            break
    assert not _prefetch_threads()  # leaving the loop early joined the thread
