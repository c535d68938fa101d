"""Transfer learning, measured: LeNet-5 pre-trained on MNIST digits 0–4, fine-tuned on digits 5–9
with 10 or 100 labelled images per class, against the same network trained from scratch on them.

    python examples/transfer_digits.py [--data-dir ../shared/data/mnist] [--seeds 5]

Data: the 10,000 MNIST training images here (``train-images-first10k``) and the 10,000 test images.
1. Pre-training: every training image of digits 0–4 (5,139), 4 epochs, Adam 1e-3, seed 0.
2. For each seed s and k ∈ {10, 100}: k training images of each digit 5–9 drawn with seed s
   (labels 5–9 → classes 0–4); test on every test image of digits 5–9 (4,861).
   * scratch: a fresh LeNet-5 with 5 outputs;
   * fine-tune: the pre-trained network with a fresh 5-way head (``replace_head``), every layer
     trained, the pre-trained layers at lr 3e-4 and the head at 1e-3 (``param_groups``);
   * frozen: the pre-trained features frozen (``freeze``), only the new head trained (lr 3e-3).
   The same steps for all: batches of min(32, 5k), ⌈240 / batches per epoch⌉ epochs.
Prints a Markdown table of mean ± standard deviation over the seeds (docs/transfer.md).
"""
from __future__ import annotations

import argparse
import pathlib
import time

import numpy as np

import shendu
from shendu import functional as F
from shendu.data import DataLoader, TensorDataset
from shendu.models import lenet5
from shendu.models.pretrained import pad_to_32
from shendu.nn.freeze import freeze, param_groups, replace_head
from shendu.optim import Adam
from shendu.training.pretrain import accuracy, mnist_clean_split

HERE = pathlib.Path(__file__).resolve().parent
MNIST = HERE.parent.parent / "shared" / "data" / "mnist"
STEPS = 240


def train(model, x, y, optimizer, epochs, batch_size, seed):
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True, seed=seed)
    for _ in range(epochs):
        model.train()
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model


def main(data_dir=MNIST, seeds=5, sizes=(10, 100), verbose=True, first_seed=0):
    """Returns {(method, k): [accuracy per seed]} and the pre-trained network's accuracy on digits 0–4."""
    x_tr, y_tr, x_te, y_te = mnist_clean_split(data_dir)
    x_tr, x_te = pad_to_32(x_tr), pad_to_32(x_te)
    low = y_tr < 5
    mean, std = float(x_tr[low].mean()), float(x_tr[low].std())
    x_tr, x_te = (x_tr - mean) / std, (x_te - mean) / std
    shendu.manual_seed(0)
    t0 = time.perf_counter()
    base = lenet5(num_classes=5)
    base = train(base, x_tr[low], y_tr[low], Adam(base.parameters(), lr=1e-3), 4, 64, 0)
    base_acc = accuracy(base, x_te[y_te < 5], y_te[y_te < 5])
    if verbose:
        print(f"pre-trained on digits 0-4: {100 * base_acc:.2f} % on their test images ({time.perf_counter() - t0:.0f} s)")
    state = {k: v.data.copy() for k, v in base.state_dict().items()}
    high_te = y_te >= 5
    results = {}
    for k in sizes:
        for seed in range(first_seed, first_seed + seeds):
            rng = np.random.default_rng(seed)
            idx = np.concatenate([rng.choice(np.flatnonzero(y_tr == d), k, replace=False) for d in range(5, 10)])
            x, y = x_tr[idx], y_tr[idx] - 5
            batch = min(32, 5 * k)
            epochs = -(-STEPS // -(-len(x) // batch))
            for method in ("scratch", "fine-tune", "frozen"):
                shendu.manual_seed(seed)
                net = lenet5(num_classes=5)
                if method == "scratch":
                    opt = Adam(net.parameters(), lr=1e-3)
                else:
                    net.load_state_dict(state)
                    replace_head(net, 5)
                    if method == "frozen":
                        freeze(net, "c1", "c3", "c5", "f6")
                        opt = Adam(param_groups(net, {}), lr=3e-3)
                    else:
                        opt = Adam(param_groups(net, {"output": 1e-3}, lr=3e-4))
                train(net, x, y, opt, epochs, batch, seed)
                acc = accuracy(net, x_te[high_te], y_te[high_te] - 5)
                results.setdefault((method, k), []).append(acc)
                if verbose:
                    print(f"k={k} seed={seed} {method}: {100 * acc:.2f} %", flush=True)
    return results, base_acc


def table(results):
    """A Markdown table: mean ± standard deviation (%) per method and labels per class."""
    sizes = sorted({k for _, k in results})
    lines = ["| labels per class | " + " | ".join(m for m in ("scratch", "fine-tune", "frozen")) + " |",
             "|---|" + "---|" * 3]
    for k in sizes:
        cells = []
        for m in ("scratch", "fine-tune", "frozen"):
            a = 100 * np.array(results[(m, k)])
            cells.append(f"{a.mean():.1f} ± {a.std(ddof=1):.1f}")
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default=str(MNIST))
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--sizes", type=int, nargs="+", default=[10, 100], help="labelled images per class")
    a = p.parse_args()
    res, _ = main(a.data_dir, a.seeds, tuple(a.sizes), first_seed=a.first_seed)
    print(table(res))
