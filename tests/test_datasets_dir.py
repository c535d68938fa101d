"""MNIST-style datasets from any directory of IDX files (``root=`` / ``--data-dir``), Fashion-MNIST
from Debian's package directory, and the content checksums of recompressed files."""
import gzip
import hashlib
import os

import numpy as np
import pytest

import shendu
from shendu.data import ChecksumError, DataNotFoundError, datasets, write_idx



def _write_set(d, images_name, labels_name, n_images, n_labels, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n_images, 5, 4), dtype=np.uint8)
    y = rng.integers(0, 10, n_labels).astype(np.uint8)
    write_idx(d / images_name, x, compress=images_name.endswith(".gz"))
    write_idx(d / labels_name, y, compress=labels_name.endswith(".gz"))
    return x, y


def test_any_directory_of_idx_files_reads_under_other_names(tmp_path):
    xtr, ytr = _write_set(tmp_path, "train-images-first6-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 6, 9)
    xte, yte = _write_set(tmp_path, "test-images.idx3", "test-labels.idx1", 3, 3, seed=1)
    d = shendu.data.mnist(root=tmp_path, download=False)
    assert d.x_train.shape == (6, 1, 5, 4) and d.x_test.shape == (3, 1, 5, 4)
    np.testing.assert_array_equal(d.y_train, ytr[:6])  # fewer images than labels: the first labels
    np.testing.assert_array_equal(d.y_test, yte)
    np.testing.assert_allclose(d.x_train[:, 0], xtr / np.float32(255), rtol=1e-6)
    assert d.x_train.dtype == np.float32 and d.y_train.dtype == np.int64
    one = shendu.data.fashion_mnist(split="test", root=tmp_path, download=False)
    assert len(one) == 3


def test_missing_or_mismatched_idx_files_say_what_is_there(tmp_path):
    _write_set(tmp_path, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 3, 3)
    with pytest.raises(DataNotFoundError, match=r"train-images-idx3-ubyte.gz"):  # no training pair: the canonical name
        shendu.data.mnist(root=tmp_path, download=False)
    (tmp_path / "train-images-idx3").write_bytes((tmp_path / "t10k-images-idx3-ubyte").read_bytes())
    with pytest.raises(DataNotFoundError, match=r"no IDX labels file for the train split.*train-images-idx3"):
        shendu.data.mnist(root=tmp_path, download=False)
    _write_set(tmp_path, "train-images-idx3", "train-labels-idx1", 5, 4)
    with pytest.raises(ValueError, match=r"mnist: train-images-idx3 \(5, 5, 4\) and train-labels-idx1 \(4,\)"):
        shendu.data.mnist(split="train", root=tmp_path, download=False)
    (tmp_path / "train-images-copy").write_bytes((tmp_path / "train-images-idx3").read_bytes())
    with pytest.raises(DataNotFoundError, match="2 candidate IDX images files"):
        shendu.data.mnist(split="train", root=tmp_path, download=False)


def test_a_known_partial_file_is_checked(tmp_path):
    _write_set(tmp_path, "train-images-first10k-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 4, 4)
    with pytest.raises(ChecksumError, match="train-images-first10k-idx3-ubyte.gz.*2889698e"):
        shendu.data.mnist(split="train", root=tmp_path, download=False)


def test_fashion_mnist_checks_the_content_of_files_in_the_system_directory(tmp_path, monkeypatch):
    system = tmp_path / "usr-share-datasets-fashion-mnist"
    system.mkdir()
    _write_set(system, "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", 3, 3)
    monkeypatch.setenv("SHENDU_DATA", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(datasets, "FASHION_MNIST_SYSTEM_DIRS", (str(system),))
    with pytest.raises(ChecksumError, match=str(system) + ".*t10k-images.*5b4141f0"):
        shendu.data.fashion_mnist(split="test", download=False)
    monkeypatch.setattr(datasets, "FASHION_MNIST_SYSTEM_DIRS", (str(tmp_path / "absent"),))
    with pytest.raises(DataNotFoundError, match="empty-cache"):  # not found anywhere: the cache is named
        shendu.data.fashion_mnist(split="test", download=False)


@pytest.fixture
def fashion_dir(mnist_dir):
    """../shared/data/fashion-mnist, next to the mnist_dir fixture's directory; skipped when absent."""
    d = mnist_dir.parent / "fashion-mnist"
    if not (d / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip("../shared/data/fashion-mnist is not present")
    return d


def test_debian_fashion_mnist_files_are_found_and_accepted(tmp_path, monkeypatch, fashion_dir):
    """The same four files as Debian's dataset-fashion-mnist package (../shared's copies, whose gzip
    headers differ from the canonical download), linked into a stand-in for /usr/share/datasets."""
    shared = fashion_dir
    system = tmp_path / "fashion-mnist"
    system.mkdir()
    for f in shared.iterdir():
        os.symlink(f, system / f.name)
    monkeypatch.setenv("SHENDU_DATA", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(datasets, "FASHION_MNIST_SYSTEM_DIRS", ("/nonexistent", str(system)))
    test = shendu.data.fashion_mnist(split="test", download=False)
    x, y = test.arrays
    assert x.shape == (10000, 1, 28, 28) and np.bincount(y).tolist() == [1000] * 10
    compressed = datasets.FASHION_MNIST_FILES["test"][0].sha256  # accepted by content, not by the gzip sum
    assert hashlib.sha256((shared / "t10k-images-idx3-ubyte.gz").read_bytes()).hexdigest() != compressed
    with gzip.open(shared / "t10k-images-idx3-ubyte.gz") as f:
        assert len(f.read()) == 7840016


def test_the_partial_real_mnist_directory(mnist_dir):
    d = shendu.data.mnist(root=mnist_dir, download=False)
    assert d.x_train.shape == (10000, 1, 28, 28) and d.x_test.shape == (10000, 1, 28, 28)
    assert d.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]  # MNIST's first training labels
    assert np.bincount(d.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert d.x_train.min() == 0 and d.x_train.max() == 1
