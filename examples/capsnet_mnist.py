"""Reduced CapsNet against LeNet-5 on real MNIST for the same wall time (the 18,000 / 2,000 split).

    nice -n 10 python examples/capsnet_mnist.py [--seconds 1200] [--data-dir ../shared/data/mnist]

Both train on the 10,000 training images plus the first 8,000 test images, with shifts of up to
2 pixels (the paper's augmentation; shendu's own LeNet-5 recipe has them too), Adam, batches of
64, for ``--seconds`` of training wall time each, the learning rate following a cosine over the
elapsed fraction of that budget (each network ends its budget annealed); then both are tested on
the last 2,000 test images.

* CapsNet: ``capsnet(reduced=True)`` — Conv1 64@9×9, 8 primary types of 8 dims, 10×16 digit
  capsules, 3 routings, decoder — on the 28×28 images, margin + 0.0005 × reconstruction loss,
  lr 2e-3 (the paper's 1e-3 is meant for many more steps: CapsNet alone, 300 batches with a
  cosine over them, reached 98.15 % with 2e-3 and 97.70 % with 1e-3; docs/capsules.md);
* LeNet-5 (modern) on the images centred on 32×32, cross-entropy, lr 2e-3;
  ``--networks lenet5-noshift`` adds it without the shifts.

On a machine shared with other work the load changes from minute to minute, so the two never
train one after the other. By default they train **interleaved** in one process: turns of
``--slice`` seconds, each given to the network that has spent less so far, until both have spent
their budget. With ``--concurrent`` each trains in its own process at the same time (same threads,
same niceness): the same load for half the wall time. Only training steps are timed (batches
drawn, forward, backward, update), not the tests. Prints one line per network.
"""
from __future__ import annotations

import argparse
import math
import multiprocessing
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
    """(x, y, x_test, y_test): the 10,000 training + first 8,000 test images, the last 2,000 test
    images; x float32 (N, 1, 28, 28) in [0, 1]."""
    d = pathlib.Path(d)
    x_tr = read_idx(d / "train-images-first10k-idx3-ubyte.gz")
    y_tr = read_idx(d / "train-labels-idx1-ubyte.gz")[:len(x_tr)]
    x_te, y_te = read_idx(d / "t10k-images-idx3-ubyte.gz"), read_idx(d / "t10k-labels-idx1-ubyte.gz")
    x = np.concatenate([x_tr, x_te[:8000]]).astype(np.float32)[:, None] / 255
    y = np.concatenate([y_tr, y_te[:8000]]).astype(np.int64)
    return x, y, x_te[8000:].astype(np.float32)[:, None] / 255, y_te[8000:].astype(np.int64)


#: Each network's own recipe: Adam's learning rate (then a cosine over the budget), batch size,
#: shifts of up to ``shift`` pixels. ``lenet5-noshift`` is LeNet-5's classic recipe without the
#: augmentation, measured beside the one with it (``--networks``).
RECIPES = {
    "lenet5": {"lr": 2e-3, "batch": 64, "shift": 2},
    "lenet5-noshift": {"lr": 2e-3, "batch": 64, "shift": 0},
    "capsnet": {"lr": 2e-3, "batch": 64, "shift": 2},
}


class Run:
    """One network trained step by step against its own wall-time budget, with its recipe (:data:`RECIPES`)."""

    def __init__(self, name, seconds, data, seed=0):
        x, y, x_te, y_te = data
        recipe = RECIPES[name]
        shendu.manual_seed(seed)
        if name.startswith("lenet5"):
            x, x_te = pad_to_32(x), pad_to_32(x_te)
            self.net = lenet5()
        else:
            self.net = capsnet(reduced=True)
        self.name, self.seconds, self.test, self.lr = name, float(seconds), (x_te, y_te), recipe["lr"]
        self.opt = Adam(self.net.parameters(), lr=self.lr)
        shift = RandomCrop(x.shape[-1], padding=recipe["shift"]) if recipe["shift"] else None
        self.loader = DataLoader(TensorDataset(x, y), batch_size=recipe["batch"], shuffle=True, seed=seed,
                                 transform=shift)
        self.batches, self.seen, self.spent = iter(()), 0, 0.0

    @property
    def done(self):
        return self.spent >= self.seconds

    def train_for(self, seconds):
        """Train until ``seconds`` more are spent (or the budget is); steps are never cut short."""
        self.net.train()
        stop = min(self.spent + seconds, self.seconds)
        while self.spent < stop:
            start = time.perf_counter()
            xb, yb = self._next()
            for group in self.opt.param_groups:   # cosine over the elapsed fraction of the budget
                group["lr"] = self.lr * 0.5 * (1 + math.cos(math.pi * min(self.spent / self.seconds, 1.0)))
            self.opt.zero_grad()
            loss = self.net.losses(xb, yb)[0] if self.name == "capsnet" else F.cross_entropy(self.net(xb), yb)
            loss.backward()
            self.opt.step()
            self.seen += len(xb)
            self.spent += time.perf_counter() - start

    def _next(self):
        try:
            return next(self.batches)
        except StopIteration:
            self.batches = iter(self.loader)
            return next(self.batches)

    def accuracy(self):
        return accuracy(self.net, *self.test)


def run(seconds, data_dir=MNIST, seed=0, slice_seconds=10.0, verbose=False, concurrent=False,
        names=("lenet5", "capsnet")):
    """Train the networks ``names`` (keys of :data:`RECIPES`) for ``seconds`` each, interleaved in this
    process or (``concurrent``) one process each, all at once; returns {name: (test accuracy, images
    seen, seconds spent)}."""
    if concurrent:
        # forked Processes, not a Pool: a Pool pickles its function by module name, and this file is
        # often loaded from its path (the slow test), where the children could not import it
        ctx = multiprocessing.get_context("fork")
        results = ctx.Queue()
        procs = [ctx.Process(target=_alone, args=(name, seconds, data_dir, seed, verbose, results)) for name in names]
        for proc in procs:
            proc.start()
        out = dict(results.get() for _ in procs)
        for proc in procs:
            proc.join()
        failed = [r for r in out.values() if isinstance(r, BaseException)]
        if failed:
            raise failed[0]
        return {name: out[name] for name in names}
    data = split_18000_2000(data_dir)
    runs = [Run(name, seconds, data, seed) for name in names]
    while not all(r.done for r in runs):
        # the turn goes to the network that has spent less: steps overrun their turn (a CapsNet step
        # takes seconds), and fixed alternation let one finish first and the other train on alone
        min((r for r in runs if not r.done), key=lambda r: r.spent).train_for(slice_seconds)
        if verbose:
            print("  " + ", ".join(f"{r.name} {r.spent:.0f} s {r.seen:,} images" for r in runs), flush=True)
    return {r.name: (r.accuracy(), r.seen, r.spent) for r in runs}


def _alone(name, seconds, data_dir, seed, verbose, results, report_every=60.0):
    """One network's whole budget in this (child) process; puts (name, (test accuracy, images seen,
    seconds spent)) on the queue ``results``."""
    try:
        r = Run(name, seconds, split_18000_2000(data_dir), seed)
        while not r.done:
            r.train_for(report_every)
            if verbose:
                print(f"  {r.name} {r.spent:.0f} s {r.seen:,} images", flush=True)
        results.put((name, (r.accuracy(), r.seen, r.spent)))
    except BaseException as e:  # the parent waits on the queue: tell it, or it would wait forever
        results.put((name, RuntimeError(f"capsnet_mnist: training {name} failed: {e!r}")))
        raise


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=1200)
    p.add_argument("--slice", type=float, default=10.0, help="seconds per turn of one network")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", default=str(MNIST))
    p.add_argument("--concurrent", action="store_true", help="one process per network, at the same time")
    p.add_argument("--networks", nargs="+", default=["lenet5", "capsnet"], choices=sorted(RECIPES))
    a = p.parse_args()
    results = run(a.seconds, a.data_dir, a.seed, a.slice, True, a.concurrent, tuple(a.networks))
    for name, (acc, seen, spent) in results.items():
        print(f"{name}: {100 * acc:.2f} % on the last 2,000 test images after {seen:,} training images "
              f"({seen / 18000:.2f} epochs) in {spent:.0f} s", flush=True)
