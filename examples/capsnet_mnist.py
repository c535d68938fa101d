"""Reduced CapsNet against LeNet-5 on real MNIST for the same wall time (the 18,000 / 2,000 split).

    python examples/capsnet_mnist.py [--seconds 300] [--data-dir ../shared/data/mnist]

Both train on the 10,000 training images plus the first 8,000 test images, with shifts of up to
2 pixels (the paper's augmentation), Adam (CapsNet lr 1e-3, LeNet-5 lr 2e-3), batches of 64, until
``--seconds`` of training wall time are spent (checked after each batch); then both are tested on
the last 2,000 test images. CapsNet: ``capsnet(reduced=True)`` — Conv1 64@9×9, 8 primary types of
8 dims, 10×16 digit capsules, 3 routings, decoder — on 28×28 inputs; LeNet-5 (modern) on the
images centred on 32×32. Prints one line per network.
"""
from __future__ import annotations

import argparse
import pathlib
import time

import numpy as np

import shendu
from shendu import functional as F
from shendu.data import DataLoader, RandomCrop, TensorDataset
from shendu.data.idx import read_idx
from shendu.models import capsnet, lenet5
from shendu.models.pretrained import pad_to_32
from shendu.optim import Adam
from shendu.training.pretrain import accuracy

MNIST = pathlib.Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mnist"


def split_18000_2000(d):
    d = pathlib.Path(d)
    x_tr = read_idx(d / "train-images-first10k-idx3-ubyte.gz")
    y_tr = read_idx(d / "train-labels-idx1-ubyte.gz")[:len(x_tr)]
    x_te, y_te = read_idx(d / "t10k-images-idx3-ubyte.gz"), read_idx(d / "t10k-labels-idx1-ubyte.gz")
    x = np.concatenate([x_tr, x_te[:8000]]).astype(np.float32)[:, None] / 255
    y = np.concatenate([y_tr, y_te[:8000]]).astype(np.int64)
    return x, y, x_te[8000:].astype(np.float32)[:, None] / 255, y_te[8000:].astype(np.int64)


def run(name, seconds, data_dir=MNIST, seed=0):
    """Train ``name`` ('capsnet' or 'lenet5') for ``seconds``; returns (test accuracy, images seen, seconds)."""
    x, y, x_te, y_te = split_18000_2000(data_dir)
    shendu.manual_seed(seed)
    if name == "lenet5":
        x, x_te = pad_to_32(x), pad_to_32(x_te)
        net, lr = lenet5(), 2e-3
    else:
        net, lr = capsnet(reduced=True), 1e-3
    opt = Adam(net.parameters(), lr=lr)
    loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, seed=seed,
                        transform=RandomCrop(x.shape[-1], padding=2))
    seen, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        net.train()
        for xb, yb in loader:
            opt.zero_grad()
            loss = net.losses(xb, yb)[0] if name == "capsnet" else F.cross_entropy(net(xb), yb)
            loss.backward()
            opt.step()
            seen += len(xb)
            if time.perf_counter() - start >= seconds:
                break
    spent = time.perf_counter() - start
    return accuracy(net, x_te, y_te), seen, spent


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=300)
    p.add_argument("--data-dir", default=str(MNIST))
    a = p.parse_args()
    for name in ("lenet5", "capsnet"):
        acc, seen, spent = run(name, a.seconds, a.data_dir)
        print(f"{name}: {100 * acc:.2f} % on the last 2,000 test images after {seen:,} training images "
              f"({seen / 18000:.2f} epochs) in {spent:.0f} s", flush=True)
