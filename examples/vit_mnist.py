"""A small Vision Transformer on real MNIST: the 18,000 / 2,000 split of ``../shared/data/mnist``.

1. train on the first 10,000 training images and the first 8,000 test images (18,000), test on the last
   2,000 test images; pixels in [0, 1] normalised with the training mean and deviation;
2. ``models.ViT``: 7×7 patches (16 tokens and a class token), width 64, 4 pre-norm layers of 4 heads,
   MLP 128 (about 0.14 M parameters);
3. AdamW (lr 2·10⁻³, weight decay 0.05) on a cosine schedule over every batch, batches of 128,
   random shifts of up to 2 pixels;
4. the accuracy on the 2,000 held-out images (docs/attention.md records a run).

Run:  python examples/vit_mnist.py [--data-dir ../shared/data/mnist] [--epochs 10]
"""
import argparse
import pathlib
import time

import numpy as np

import shendu
import shendu.functional as F
from shendu.data import DataLoader, RandomShift, TensorDataset, read_idx
from shendu.models import ViT
from shendu.optim import AdamW
from shendu.optim.lr_scheduler import CosineAnnealingLR

HERE = pathlib.Path(__file__).resolve().parent
MNIST = HERE.parent.parent / "shared" / "data" / "mnist"


def split_18000_2000(data_dir):
    """(x_train, y_train, x_test, y_test): x float32 (N, 1, 28, 28) in [0, 1], y int64."""
    d = pathlib.Path(data_dir)
    x_tr = read_idx(d / "train-images-first10k-idx3-ubyte.gz")
    y_tr = read_idx(d / "train-labels-idx1-ubyte.gz")[:len(x_tr)]
    x_te, y_te = read_idx(d / "t10k-images-idx3-ubyte.gz"), read_idx(d / "t10k-labels-idx1-ubyte.gz")
    x = np.concatenate([x_tr, x_te[:8000]]).astype(np.float32)[:, None] / 255
    y = np.concatenate([y_tr, y_te[:8000]]).astype(np.int64)
    return x, y, (x_te[8000:].astype(np.float32)[:, None] / 255), y_te[8000:].astype(np.int64)


def main(data_dir=MNIST, epochs=10, batch_size=128, lr=2e-3, seed=0):
    """Train and test; returns ``(test accuracy, seconds of training, parameters)``."""
    shendu.manual_seed(seed)
    x, y, x_test, y_test = split_18000_2000(data_dir)
    mean, std = float(x.mean()), float(x.std())
    x, x_test = (x - mean) / std, (x_test - mean) / std
    model = ViT(image_size=28, patch_size=7, num_classes=10, dim=64, depth=4, heads=4, mlp_dim=128)
    optimizer = AdamW(model.parameters(), lr=lr, weight_decay=0.05)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True, seed=seed,
                        transform=RandomShift(2))
    schedule = CosineAnnealingLR(optimizer, T_max=epochs * len(loader))
    t0 = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
    seconds = time.perf_counter() - t0
    model.eval()
    with shendu.no_grad():
        pred = np.concatenate([model(xb).argmax(axis=1).numpy()
                               for xb, in DataLoader(TensorDataset(x_test), batch_size=500)])
    return float((pred == y_test).mean()), seconds, model.num_parameters()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=str(MNIST))
    p.add_argument("--epochs", type=int, default=10)
    a = p.parse_args()
    acc, seconds, params = main(a.data_dir, a.epochs)
    print(f"ViT ({params:,} parameters) on MNIST 18,000 / 2,000: test accuracy {acc:.2%}, trained in {seconds:.0f} s")
