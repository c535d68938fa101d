"""``keras.datasets``: ``mnist``, ``fashion_mnist``, ``cifar10`` — ``load_data()`` with Keras's
return value ``(x_train, y_train), (x_test, y_test)``, over shendu's datasets.

Keras's layout and types: uint8 pixels, MNIST-like images (N, 28, 28), CIFAR-10
images (N, 32, 32, 3) (channels last) with labels (N, 1); MNIST labels uint8 (N,).
The files come from shendu's cache or mirrors (``shendu.data.datasets``: checksums,
and the same clear error as shendu's when offline); ``root=`` names a directory
that holds them.
"""
from __future__ import annotations

from types import SimpleNamespace

from ..backend import xp
from ..data import datasets as D


def _uint8(x):
    return xp.rint(x * 255).astype(xp.uint8)


def _grey(loader, root):
    def load_data(path=None, root=root):
        parts = loader(root=root)
        x_train, y_train, x_test, y_test = parts
        return ((_uint8(x_train[:, 0]), y_train.astype(xp.uint8)), (_uint8(x_test[:, 0]), y_test.astype(xp.uint8)))
    load_data.__doc__ = (f"``(x_train, y_train), (x_test, y_test)``: uint8 images (N, 28, 28), uint8 labels (N,) "
                         f"(shendu.data.datasets.{loader.__name__}).")
    return load_data


def _cifar10_load_data(path=None, root=None):
    """``(x_train, y_train), (x_test, y_test)``: uint8 images (N, 32, 32, 3), uint8 labels (N, 1)."""
    x_train, y_train, x_test, y_test = D.cifar10(root=root)
    return ((_uint8(x_train.transpose(0, 2, 3, 1)), y_train.astype(xp.uint8)[:, None]),
            (_uint8(x_test.transpose(0, 2, 3, 1)), y_test.astype(xp.uint8)[:, None]))


mnist = SimpleNamespace(load_data=_grey(D.mnist, None))
fashion_mnist = SimpleNamespace(load_data=_grey(D.fashion_mnist, None))
cifar10 = SimpleNamespace(load_data=_cifar10_load_data)
