"""Data: datasets, loaders, splits and augmentation (docs/data.md).

    >>> import shendu
    >>> d = shendu.data.digits()                       # embedded, offline
    >>> loader = shendu.data.DataLoader(d.train, batch_size=64, shuffle=True, seed=0)
    >>> xb, yb = next(iter(loader))                    # shendu Tensors
    >>> xb.shape, yb.dtype
    ((64, 1, 8, 8), dtype('int64'))

* :mod:`~shendu.data.dataset`: :class:`Dataset`, :class:`TensorDataset`,
  :class:`Subset`, :func:`random_split`, :func:`train_val_test_split`;
* :mod:`~shendu.data.loader`: :class:`DataLoader`; :mod:`~shendu.data.sampler`: its samplers;
* :mod:`~shendu.data.augment`: batch transforms (crop, flip, shift,
  rotation, affine, normalisation, compose);
* :mod:`~shendu.data.datasets`: digits, xo, mnist, fashion_mnist, cifar10,
  :func:`load`;
* :mod:`~shendu.data.download`: cache, mirrors, checksums;
  :mod:`~shendu.data.idx`: the IDX format.
"""
from . import augment
from .augment import (Compose, Normalize, RandomAffine, RandomCrop, RandomHorizontalFlip, RandomRotation, RandomShift,
                      Transform)
from .dataset import (ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset, default_collate, random_split,
                      train_val_test_split)
from .datasets import (DATASETS, DatasetSplits, cifar10, digits, fashion_mnist, load, mnist, parse_cifar10_binary,
                       read_cifar10_archive, xo)
from .download import ChecksumError, DataNotFoundError, Resource, cache_dir, fetch
from .idx import read_idx, write_idx
from .loader import DataLoader
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler,
                      WeightedRandomSampler)
from .xo import make_xo
from .text import ByteTokenizer, CharTokenizer, TextWindows, text_splits, tokenizer_from_config
