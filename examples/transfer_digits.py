"""Transfer learning, measured: LeNet-5 pre-trained on MNIST digits 0–4, then trained on digits 5–9
with 10 or 100 labelled images per class, against the same network trained from scratch on them.

    python examples/transfer_digits.py [--data-dir ../shared/data/mnist] [--seeds 5]

Data: the 10,000 MNIST training images here (``train-images-first10k``) and the 10,000 test images.

1. Pre-training: the training images of digits 0–4 (5,139), the recipe of the shipped weights
   (``shendu.training.pretrain``): Adam 3e-3 with a cosine schedule, 12 epochs, batches of 64,
   shifts of up to 2 pixels, seed 0. Inputs centred on 32×32, normalised with μ, σ of those images.
2. For each seed s and k ∈ {10, 100}: k training images of each digit 5–9 drawn with seed s
   (labels 5–9 → classes 0–4); tested on every test image of digits 5–9 (4,861). Every method
   trains the same 5-class LeNet-5 for the same ``STEPS`` Adam steps (batches of min(32, 5k)), with
   the same shifts of up to 2 pixels, and is tested once at the end (no selection on the test set):

   * ``scratch``: a fresh network, lr 1e-3;
   * ``head only``: every pre-trained layer frozen, a fresh output layer (a linear probe of F6), lr 3e-3;
   * ``frozen conv``: the pre-trained convolutions C1, C3 frozen, C5, F6 and the output fresh, lr 1e-3;
   * ``gradual``: as ``frozen conv`` for the first half of the epochs, then C3 and C1 unfrozen at a
     tenth of the rate (``GradualUnfreezing``, discriminative learning rates);
   * ``fine-tune all``: every pre-trained layer kept and trained (lr 3e-4), a fresh output (1e-3).

Prints a Markdown table of mean ± standard deviation over the seeds (docs/transfer.md).
"""
from __future__ import annotations

import argparse
import pathlib
import time

import numpy as np

import shendu
from shendu.data import Compose, Normalize, RandomCrop
from shendu.models import lenet5
from shendu.models.pretrained import pad_to_32
from shendu.nn.freeze import freeze, param_groups, replace_head
from shendu.optim import Adam
from shendu.training.pretrain import accuracy, mnist_clean_split
from shendu.training.transfer import GradualUnfreezing

HERE = pathlib.Path(__file__).resolve().parent
MNIST = HERE.parent.parent / "shared" / "data" / "mnist"
STEPS = 120
METHODS = ("scratch", "head only", "frozen conv", "gradual", "fine-tune all")
CONV, DENSE = ("c1", "c3"), ("c5", "f6")


def pretrain(x, y, mean, std, epochs=12, lr=3e-3, seed=0):
    """LeNet-5 with 5 outputs trained on (x, y) by the shipped weights' recipe."""
    shendu.manual_seed(seed)
    net = lenet5(num_classes=5)
    net.compile(Adam(net.parameters(), lr=lr), schedule="cosine")
    net.fit(x, y, epochs=epochs, batch_size=64, seed=seed, verbose=0,
            transform=Compose([RandomCrop(32, padding=2), Normalize(mean, std)]))
    return net


def build(method, state, seed):
    """(network, optimizer, callbacks) of one method, the fresh layers drawn with ``seed``."""
    shendu.manual_seed(seed)
    net = lenet5(num_classes=5)
    if method == "scratch":
        return net, Adam(net.parameters(), lr=1e-3), []
    kept = CONV + DENSE if method in ("head only", "fine-tune all") else CONV
    net.load_state_dict({k: (v if k.split(".")[0] in kept else net.state_dict()[k].data) for k, v in state.items()})
    replace_head(net, 5)  # a fresh output layer (the pre-trained one separated digits 0–4)
    if method == "fine-tune all":
        return net, Adam(param_groups(net, {"output": 1e-3}, lr=3e-4)), []
    freeze(net, *kept)
    opt = Adam(param_groups(net, {}), lr=3e-3 if method == "head only" else 1e-3)
    return net, opt, []


def main(data_dir=MNIST, seeds=5, sizes=(10, 100), methods=METHODS, verbose=True, first_seed=0):
    """Returns {(method, k): [test accuracy per seed]} and the pre-trained network's accuracy on digits 0–4."""
    x_tr, y_tr, x_te, y_te = mnist_clean_split(data_dir)
    x_tr, x_te = pad_to_32(x_tr), pad_to_32(x_te)
    low = y_tr < 5
    mean, std = float(x_tr[low].mean()), float(x_tr[low].std())
    x_te = (x_te - mean) / std
    t0 = time.perf_counter()
    base = pretrain(x_tr[low], y_tr[low], mean, std)
    base_acc = accuracy(base, x_te[y_te < 5], y_te[y_te < 5])
    if verbose:
        print(f"pre-trained on digits 0-4: {100 * base_acc:.2f} % on their test images "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)
    state = {k: v.data.copy() for k, v in base.state_dict().items()}
    high = y_te >= 5
    augment = Compose([RandomCrop(32, padding=2), Normalize(mean, std)])
    results = {}
    for k in sizes:
        for seed in range(first_seed, first_seed + seeds):
            rng = np.random.default_rng(seed)
            idx = np.concatenate([rng.choice(np.flatnonzero(y_tr == d), k, replace=False) for d in range(5, 10)])
            x, y = x_tr[idx], y_tr[idx] - 5
            batch = min(32, 5 * k)
            epochs = -(-STEPS // -(-len(x) // batch))
            for method in methods:
                net, opt, callbacks = build(method, state, seed)
                if method == "gradual":
                    callbacks = [GradualUnfreezing([list(CONV[::-1])], start=epochs // 2, lr_factor=0.1)]
                net.compile(opt)
                net.fit(x, y, epochs=epochs, batch_size=batch, seed=seed, verbose=0, transform=augment,
                        callbacks=callbacks)
                acc = accuracy(net, x_te[high], y_te[high] - 5)
                results.setdefault((method, k), []).append(acc)
                if verbose:
                    print(f"k={k} seed={seed} {method}: {100 * acc:.2f} %", flush=True)
    return results, base_acc


def table(results):
    """A Markdown table: mean ± standard deviation (%) per method and labels per class."""
    sizes = sorted({k for _, k in results})
    methods = [m for m in METHODS if any((m, k) in results for k in sizes)]
    lines = ["| labels per class | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    for k in sizes:
        cells = []
        for m in methods:
            a = 100 * np.array(results.get((m, k), [np.nan]))
            cells.append(f"{a.mean():.1f} ± {a.std(ddof=1):.1f}" if len(a) > 1 else f"{a.mean():.1f}")
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default=str(MNIST))
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--sizes", type=int, nargs="+", default=[10, 100], help="labelled images per class")
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    a = p.parse_args()
    res, _ = main(a.data_dir, a.seeds, tuple(a.sizes), tuple(a.methods), first_seed=a.first_seed)
    print(table(res))
