"""``shendu.utils.data``: PyTorch's ``torch.utils.data`` path to shendu's data pipeline.

Everything here is :mod:`shendu.data`'s own (one implementation), under the names
PyTorch code imports::

    from shendu.utils.data import DataLoader, Dataset, TensorDataset, random_split

Example:
    >>> import numpy as np
    >>> from shendu.utils.data import DataLoader, TensorDataset
    >>> loader = DataLoader(TensorDataset(np.zeros((10, 3), np.float32), np.arange(10)), batch_size=4)
    >>> [len(y) for _, y in loader]
    [4, 4, 2]
"""
from ..data.dataset import ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset, default_collate, random_split
from ..data.loader import DataLoader
from ..data.sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler,
                            WeightedRandomSampler)

__all__ = ["BatchSampler", "ConcatDataset", "DataLoader", "Dataset", "IterableDataset", "RandomSampler", "Sampler",
           "SequentialSampler", "Subset", "SubsetRandomSampler", "TensorDataset", "WeightedRandomSampler",
           "default_collate", "random_split"]
