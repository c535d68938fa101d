"""Ready-made datasets: digits (default, embedded), xo (generated), mnist,
fashion_mnist and cifar10 (downloaded).

Every loader returns images as float32 in [0, 1] shaped ``(N, C, H, W)`` and
labels as int64 ``(N,)``: with ``split=None`` a :class:`DatasetSplits`
(``.train``, ``.test``, and the arrays ``x_train, y_train, x_test, y_test``),
with ``split='train'`` or ``'test'`` that one :class:`TensorDataset`.

    >>> d = shendu.data.load("digits")
    >>> x_train, y_train, x_test, y_test = d
    >>> x_train.shape, x_test.shape
    ((1437, 1, 8, 8), (360, 1, 8, 8))

Sources, licences, sizes and checksums: docs/data.md.
"""
from __future__ import annotations

import gzip
import importlib.resources
import os
import pathlib

from shendu.backend import xp

from .dataset import TensorDataset, train_val_test_split
from .download import DataNotFoundError, Resource, cache_dir, fetch, local_copy, verify
from .idx import read_idx
from .xo import CLASSES as XO_CLASSES
from .xo import make_xo


class DatasetSplits:
    """A dataset's train and test parts (and optionally validation).

    Attributes:
        name: the dataset's name.
        train, test: :class:`TensorDataset` ``(x, y)``.
        val: a validation :class:`TensorDataset`, or None (see :meth:`with_validation`).
        classes: the class names, indexed by label.

    ``x_train, y_train, x_test, y_test = splits`` unpacks the arrays.
    """

    def __init__(self, name, train, test, classes, val=None):
        self.name, self.train, self.test, self.val, self.classes = name, train, test, val, tuple(classes)

    x_train = property(lambda self: self.train.arrays[0])
    y_train = property(lambda self: self.train.arrays[1])
    x_test = property(lambda self: self.test.arrays[0])
    y_test = property(lambda self: self.test.arrays[1])
    x_val = property(lambda self: None if self.val is None else self.val.arrays[0])
    y_val = property(lambda self: None if self.val is None else self.val.arrays[1])

    def __iter__(self):
        return iter((self.x_train, self.y_train, self.x_test, self.y_test))

    @property
    def num_classes(self):
        return len(self.classes)

    def with_validation(self, val=0.1, seed=0, stratify=True):
        """A copy whose ``val`` part is taken from ``train`` (a fraction or a
        count, stratified by class, seeded); ``test`` is left untouched."""
        xtr, ytr, xva, yva, _, _ = train_val_test_split(self.x_train, self.y_train, val=val, test=0, seed=seed,
                                                        stratify=stratify)
        return DatasetSplits(self.name, TensorDataset(xtr, ytr), self.test, self.classes, TensorDataset(xva, yva))

    def __repr__(self):
        parts = [f"train={len(self.train)}"] + ([f"val={len(self.val)}"] if self.val is not None else [])
        shape = tuple(self.x_train.shape[1:])
        return (f"DatasetSplits({self.name!r}, {', '.join(parts)}, test={len(self.test)}, x{shape}, "
                f"{self.num_classes} classes)")


def _result(name, parts, split, classes):
    """``parts``: {split name: (x, y)} -> one TensorDataset or a DatasetSplits."""
    if split is not None:
        return TensorDataset(*parts[split])
    return DatasetSplits(name, TensorDataset(*parts["train"]), TensorDataset(*parts["test"]), classes)


def _check_split(split, where):
    if split not in (None, "train", "test"):
        raise ValueError(f"{where}: split must be None (both), 'train' or 'test', got {split!r}")
    return ("train", "test") if split is None else (split,)


def _images(u8):
    """uint8 pixels -> float32 in [0, 1]."""
    return u8.astype(xp.float32) * xp.float32(1 / 255)


# ----------------------------------------------------------------- digits
DIGITS_CLASSES = tuple("0123456789")


def digits(split=None, test=360, seed=0):
    """scikit-learn's 8×8 handwritten digits, embedded: works offline.

    1,797 images of 8×8 pixels with values 0..16 (scaled here to [0, 1]),
    10 classes. The file ``shendu/data/digits.csv.gz`` is copied from
    scikit-learn (BSD-3-Clause), which took it from the UCI "Optical
    Recognition of Handwritten Digits" data set (E. Alpaydin, C. Kaynak,
    1998; CC BY 4.0): 64 pixel columns then the label, one image a row.

    The split is fixed: stratified by class, ``test`` images (360) for test,
    the other 1,437 for training, drawn with ``seed`` (0).

    Args:
        split: None (both), ``'train'`` or ``'test'``.
        test: number (int) or fraction (float) of test images.
        seed: the seed of the split.

    Returns:
        :class:`DatasetSplits` or :class:`TensorDataset`, x ``(N, 1, 8, 8)``.
    """
    _check_split(split, "digits")
    with importlib.resources.files(__package__).joinpath("digits.csv.gz").open("rb") as f:
        table = xp.loadtxt(gzip.open(f), delimiter=",", dtype=xp.int64)
    x = (table[:, :64].astype(xp.float32) / xp.float32(16)).reshape(-1, 1, 8, 8)
    y = table[:, 64]
    xtr, ytr, _, _, xte, yte = train_val_test_split(x, y, val=0, test=test, seed=seed)
    return _result("digits", {"train": (xtr, ytr), "test": (xte, yte)}, split, DIGITS_CLASSES)


# ----------------------------------------------------------------- xo
def xo(split=None, n_train=2000, n_test=500, size=28, seed=0, noise=0.05):
    """Generated images of the letters X (label 1) and O (label 0): see
    :func:`~shendu.data.make_xo` for how they are drawn.

    Train and test are cut from one seeded draw of ``n_train + n_test``
    images, so they follow the same distribution.

    Args:
        split: None (both), ``'train'`` or ``'test'``.
        n_train, n_test: sizes (default 2000 and 500).
        size: image side (default 28).
        seed: seed of the draw (default 0: the same images every time).
        noise: largest noise standard deviation.

    Returns:
        :class:`DatasetSplits` or :class:`TensorDataset`, x ``(N, 1, size, size)``.
    """
    _check_split(split, "xo")
    x, y = make_xo(n_train + n_test, size=size, seed=seed, noise=noise)
    parts = {"train": (x[:n_train], y[:n_train]), "test": (x[n_train:], y[n_train:])}
    return _result("xo", parts, split, XO_CLASSES)


# ----------------------------------------------------------------- MNIST family
# SHA-256 of the canonical gzip files (and of their decompressed content), with
# their sizes in bytes. docs/data.md says which were checked on real files here.
MNIST_FILES = {
    "train": (Resource("train-images-idx3-ubyte.gz", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                       9912422, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
              Resource("train-labels-idx1-ubyte.gz", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                       28881, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5")),
    "test": (Resource("t10k-images-idx3-ubyte.gz", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                      1648877, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
             Resource("t10k-labels-idx1-ubyte.gz", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                      4542, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2")),
}
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
MNIST_CLASSES = DIGITS_CLASSES

# The compressed sums are the canonical download's; the content sums (of the decompressed
# files) are those of ../shared/data/README.md, whose gzip files, like those of Debian's
# dataset-fashion-mnist package, have other gzip headers but the same content.
FASHION_MNIST_FILES = {
    "train": (Resource("train-images-idx3-ubyte.gz", "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                       26421880, "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
              Resource("train-labels-idx1-ubyte.gz", "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                       29515, "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9")),
    "test": (Resource("t10k-images-idx3-ubyte.gz", "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                      4422102, "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
             Resource("t10k-labels-idx1-ubyte.gz", "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
                      5148, "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34")),
}
FASHION_MNIST_MIRRORS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
)
# Where Debian's dataset-fashion-mnist package installs the four files (looked at after the cache).
FASHION_MNIST_SYSTEM_DIRS = ("/usr/share/datasets/fashion-mnist",)
# IDX files known by their decompressed content besides the canonical ones: the partial real
# MNIST of ../shared/data (its first 10,000 training images), so that it is checked when read.
KNOWN_IDX_CONTENT = {
    "train-images-first10k-idx3-ubyte.gz": "2889698e6bc3614913e76901316712919d1998fc2b44512451bfe65bc1e668b1",
}
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                         "Ankle boot")


def _has_split_files(directory, files, splits):
    return all(local_copy(r, directory) is not None for s in splits for r in files[s])


def _idx_directory(name, files, root, splits, system_dirs):
    """Where to read a split's files: ``root`` if given; else the cache, unless the cache lacks
    them and a system directory (a distribution's package) has them all."""
    if root is not None:
        return pathlib.Path(root)
    cache = cache_dir(name)
    if not _has_split_files(cache, files, splits):
        for d in system_dirs:
            if _has_split_files(pathlib.Path(d), files, splits):
                return pathlib.Path(d)
    return cache


IDX_PREFIXES = {"train": ("train",), "test": ("t10k", "test")}


def find_idx_pair(directory, split):
    """The (images, labels) IDX files of ``split`` in ``directory`` under any MNIST-style
    names: ``<prefix>-images*`` and ``<prefix>-labels*`` with prefix ``train`` for the
    training split and ``t10k`` or ``test`` for the test split (``.gz`` or not), e.g.
    ``train-images-first10k-idx3-ubyte.gz``. Raises DataNotFoundError naming what is there."""
    directory = pathlib.Path(directory)
    found = {}
    for kind in ("images", "labels"):
        hits = sorted(p for pre in IDX_PREFIXES[split] for p in directory.glob(f"{pre}-{kind}*")
                      if p.is_file() and not p.name.startswith("."))
        if len(hits) != 1:
            listed = ", ".join(sorted(p.name for p in directory.iterdir())) if directory.is_dir() else "no directory"
            what = "no IDX {kind} file" if not hits else f"{len(hits)} candidate IDX {kind} files"
            raise DataNotFoundError(f"{directory}: {what.format(kind=kind)} for the {split} split (expected one "
                                    f"{' or '.join(p + '-' + kind + '*' for p in IDX_PREFIXES[split])}); "
                                    f"found: {listed}")
        found[kind] = hits[0]
    return found["images"], found["labels"]


def _idx_pair_or_none(directory, split):
    """find_idx_pair when ``directory`` holds any ``<prefix>-images*`` file (so an ambiguous
    or half pair is an error), else None."""
    if any(p.is_file() for pre in IDX_PREFIXES[split] for p in pathlib.Path(directory).glob(f"{pre}-images*")):
        return find_idx_pair(directory, split)
    return None


def _read_idx_pair(name, directory, split):
    """A split from any MNIST-style pair of IDX files (:func:`find_idx_pair`). Files with a known
    content checksum are verified. When the images are fewer than the labels, the images are
    the first ones of the set (as ../shared's first 10,000 MNIST training images) and take the
    first labels."""
    images, labels = find_idx_pair(directory, split)
    if images.name in KNOWN_IDX_CONTENT:
        content = KNOWN_IDX_CONTENT[images.name]
        verify(images, Resource(images.name, content, None, content))
    x, y = read_idx(images), read_idx(labels)
    if x.ndim != 3 or y.ndim != 1 or len(x) > len(y):
        raise ValueError(f"{name}: {images.name} {x.shape} and {labels.name} {y.shape} do not match "
                         f"(expected images (N, H, W) and at least N labels)")
    return x, y[:len(x)]


def _idx_dataset(name, files, default_mirrors, classes, root, split, download, mirrors, progress, system_dirs=()):
    splits = _check_split(split, name)
    directory = _idx_directory(name, files, root, splits, system_dirs)
    mirrors = default_mirrors if mirrors is None else tuple(mirrors)
    parts = {}
    for s in splits:
        if root is not None and not _has_split_files(directory, files, (s,)) and _idx_pair_or_none(directory, s):
            x, y = _read_idx_pair(name, directory, s)  # a directory of IDX files under other names
        else:
            x, y = (read_idx(fetch(r, directory, mirrors, download, progress, dataset=name)) for r in files[s])
            if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
                raise ValueError(f"{name}: {s} images {x.shape} and labels {y.shape} do not match "
                                 f"(expected (N, 28, 28) and (N,))")
        parts[s] = (_images(x)[:, None], y.astype(xp.int64))
    return _result(name, parts, split, classes)


def mnist(split=None, root=None, download=True, mirrors=None, progress=True):
    """MNIST handwritten digits (LeCun, Cortes, Burges; CC BY-SA 3.0).

    60,000 training and 10,000 test images of 28×28 grey pixels, 10 classes.
    The four IDX files are looked for in ``root`` (else the cache,
    ``$SHENDU_DATA/mnist`` or ``~/.cache/shendu/mnist``) and downloaded from
    the mirrors when absent and ``download`` is True. Only the files of the
    requested ``split`` are needed: ``mnist(split='test', root=d)`` works
    with just the two ``t10k-*`` files in ``d``.

    Any directory of MNIST-style IDX files can be ``root``: when a split's
    canonical files are absent there but one pair ``train-images*`` /
    ``train-labels*`` (``t10k-*`` or ``test-*`` for test) is present, it is
    read whatever its exact names, unchecked unless known (:func:`find_idx_pair`),
    and nothing is downloaded; images fewer
    than labels take the first labels. So ``mnist(root='../shared/data/mnist')``
    gives the 10,000 training images there and the 10,000 test images.

    Args:
        split: None (both), ``'train'`` or ``'test'``.
        root: directory that holds (or receives) the files.
        download: download missing files.
        mirrors: base URLs to try instead of :data:`MNIST_MIRRORS`.
        progress: show a download progress bar (with tqdm).

    Returns:
        :class:`DatasetSplits` or :class:`TensorDataset`, x ``(N, 1, 28, 28)``.
    """
    return _idx_dataset("mnist", MNIST_FILES, MNIST_MIRRORS, MNIST_CLASSES, root, split, download, mirrors, progress)


def fashion_mnist(split=None, root=None, download=True, mirrors=None, progress=True):
    """Fashion-MNIST (Xiao, Rasul, Vollgraf 2017; MIT licence): 28×28 grey
    images of clothes in 10 classes, 60,000 train and 10,000 test, in the
    same IDX format and file names as MNIST. Arguments as :func:`mnist`
    (cache ``~/.cache/shendu/fashion_mnist``).

    Without ``root``, when the cache lacks the files, the directory of
    Debian's ``dataset-fashion-mnist`` package (:data:`FASHION_MNIST_SYSTEM_DIRS`,
    ``/usr/share/datasets/fashion-mnist/``) is used if it holds them. Files
    are accepted by the SHA-256 of the canonical gzip file or of their
    decompressed content (recompressed copies such as Debian's and
    ../shared/data's differ only in their gzip headers)."""
    return _idx_dataset("fashion_mnist", FASHION_MNIST_FILES, FASHION_MNIST_MIRRORS, FASHION_MNIST_CLASSES,
                        root, split, download, mirrors, progress, FASHION_MNIST_SYSTEM_DIRS)


# ----------------------------------------------------------------- CIFAR-10
CIFAR10_FILE = Resource("cifar-10-binary.tar.gz", "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
                        170052171)
CIFAR10_MIRRORS = ("https://www.cs.toronto.edu/~kriz/",)
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR10_MEMBERS = {"train": tuple(f"data_batch_{i}.bin" for i in range(1, 6)), "test": ("test_batch.bin",)}
CIFAR10_DIR = "cifar-10-batches-bin"
CIFAR10_RECORD = 1 + 3 * 32 * 32  # one label byte, then 1024 red, 1024 green, 1024 blue bytes (rows of 32)


def parse_cifar10_binary(data: bytes, name="<bytes>"):
    """Records of the CIFAR-10 binary format -> (x uint8 ``(N, 3, 32, 32)``, y int64 ``(N,)``).

    Each record is 3,073 bytes: the label (0..9), then the red, green and
    blue planes of the 32×32 image, row by row. No pickle is involved.
    """
    if len(data) % CIFAR10_RECORD:
        raise ValueError(f"{name}: {len(data)} bytes is not a whole number of {CIFAR10_RECORD}-byte CIFAR-10 records")
    records = xp.frombuffer(data, dtype=xp.uint8).reshape(-1, CIFAR10_RECORD)
    y = records[:, 0].astype(xp.int64)
    if len(y) and y.max() > 9:
        raise ValueError(f"{name}: label {int(y.max())} out of range 0..9: not CIFAR-10 binary data")
    return records[:, 1:].reshape(-1, 3, 32, 32).copy(), y


def read_cifar10_archive(path, splits=("train", "test")):
    """Read ``cifar-10-binary.tar.gz`` (without extracting it) -> {split: (x uint8, y)}."""
    import tarfile  # here, not at the top: `import shendu` stays quick

    wanted = {m: s for s in splits for m in CIFAR10_MEMBERS[s]}
    chunks = {}
    with tarfile.open(path, "r:gz") as tar:
        for member in tar:
            base = os.path.basename(member.name)
            if member.isfile() and base in wanted:
                chunks[base] = parse_cifar10_binary(tar.extractfile(member).read(), f"{path}:{member.name}")
    missing = sorted(set(wanted) - set(chunks))
    if missing:
        raise ValueError(f"{path}: not a CIFAR-10 binary archive: {', '.join(missing)} missing")
    return {s: _concat([chunks[m] for m in CIFAR10_MEMBERS[s]]) for s in splits}


def _concat(pairs):
    return xp.concatenate([p[0] for p in pairs]), xp.concatenate([p[1] for p in pairs])


def cifar10(split=None, root=None, download=True, mirrors=None, progress=True):
    """CIFAR-10 (Krizhevsky 2009): 32×32 colour images in 10 classes, 50,000
    train and 10,000 test, from the pickle-free binary version
    ``cifar-10-binary.tar.gz`` (162 MiB).

    Looked for in ``root`` (else ``~/.cache/shendu/cifar10``): either the
    archive, read without extracting it, or its extracted folder
    ``cifar-10-batches-bin/`` with ``data_batch_1.bin`` … ``data_batch_5.bin``
    and ``test_batch.bin``. Arguments as :func:`mnist`.

    Returns:
        :class:`DatasetSplits` or :class:`TensorDataset`, x ``(N, 3, 32, 32)``.
    """
    splits = _check_split(split, "cifar10")
    directory = pathlib.Path(root) if root is not None else cache_dir("cifar10")
    extracted = directory / CIFAR10_DIR
    members = [m for s in splits for m in CIFAR10_MEMBERS[s]]
    if all((extracted / m).is_file() for m in members):
        raw = {s: _concat([parse_cifar10_binary((extracted / m).read_bytes(), str(extracted / m))
                           for m in CIFAR10_MEMBERS[s]]) for s in splits}
    else:
        mirrors = CIFAR10_MIRRORS if mirrors is None else tuple(mirrors)
        archive = fetch(CIFAR10_FILE, directory, mirrors, download, progress, dataset="cifar10")
        raw = read_cifar10_archive(archive, splits)
    parts = {s: (_images(x), y) for s, (x, y) in raw.items()}
    return _result("cifar10", parts, split, CIFAR10_CLASSES)


# ----------------------------------------------------------------- by name
DATASETS = {"digits": digits, "xo": xo, "mnist": mnist, "fashion_mnist": fashion_mnist, "cifar10": cifar10}


def load(name="digits", **kwargs):
    """Load a dataset by name: ``'digits'`` (the default, offline), ``'xo'``,
    ``'mnist'``, ``'fashion_mnist'``, ``'cifar10'``; keyword arguments go to
    its loader (e.g. ``split='test'``, ``root=...``)."""
    key = name.lower().replace("-", "_")
    if key not in DATASETS:
        raise ValueError(f"load: unknown dataset {name!r}; expected one of {', '.join(DATASETS)}")
    return DATASETS[key](**kwargs)
