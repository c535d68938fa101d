"""The recipes of the weights shendu ships (:mod:`shendu.models.pretrained`), one command each:

    python -m shendu.training.pretrain lenet5-mnist --data-dir ../shared/data/mnist --out lenet5_mnist.safetensors

``lenet5-mnist``: the modern LeNet-5 (``shendu.models.lenet5()``) trained on the 10,000 MNIST
training images available here (``train-images-first10k``), tested on the 10,000 test images.
Inputs: the 28×28 images in [0, 1] centred on a 32×32 zero canvas, then (x − μ)/σ with μ, σ of
the padded training images (:func:`shendu.models.pretrained.preprocess`). Adam, lr 3e-3 with a
cosine schedule over the run, batches of 64, 8 epochs, shifts of up to 2 pixels, seed 0.
The file gets the recipe, μ, σ and the test accuracy in its metadata; its SHA-256 goes into
:data:`shendu.models.pretrained.WEIGHTS`.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import time

from .. import backend
from ..backend import xp
from ..data import DataLoader, RandomCrop, TensorDataset
from ..data.idx import read_idx
from ..models import lenet5
from ..models.pretrained import pad_to_32, sha256_of
from ..optim import Adam
from ..optim.lr_scheduler import CosineAnnealingLR
from ..serialization import save_file
from .. import functional as F
from ..grad_mode import no_grad
from ..tensor import Tensor

RECIPES = {"lenet5-mnist": {"epochs": 8, "batch_size": 64, "lr": 3e-3, "seed": 0, "shift": 2}}


def mnist_clean_split(data_dir):
    """(x_train, y_train, x_test, y_test) of the MNIST files here: the first 10,000 training images
    and the 10,000 test images, x float32 (N, 1, 28, 28) in [0, 1], y int64."""
    d = pathlib.Path(data_dir)
    x_tr = read_idx(d / "train-images-first10k-idx3-ubyte.gz")
    y_tr = read_idx(d / "train-labels-idx1-ubyte.gz")[:len(x_tr)]
    x_te, y_te = read_idx(d / "t10k-images-idx3-ubyte.gz"), read_idx(d / "t10k-labels-idx1-ubyte.gz")
    f = lambda a: (a.astype(xp.float32)[:, None] / 255)  # noqa: E731
    return f(x_tr), y_tr.astype(xp.int64), f(x_te), y_te.astype(xp.int64)


def accuracy(model, x, y, batch_size=500):
    """The fraction of ``x`` (model inputs) that ``model`` classifies as ``y``, in eval mode."""
    model.eval()
    hits = 0
    with no_grad():
        for i in range(0, len(x), batch_size):
            hits += int((model(Tensor(x[i:i + batch_size])).data.argmax(1) == y[i:i + batch_size]).sum())
    return hits / len(x)


def train_lenet5_mnist(data_dir, epochs=12, batch_size=64, lr=3e-3, seed=0, shift=2, verbose=True):
    """Train the ``lenet5-mnist`` weights; returns ``(model, info)`` with info the file's metadata."""
    backend.manual_seed(seed)
    x_tr, y_tr, x_te, y_te = mnist_clean_split(data_dir)
    x_tr, x_te = pad_to_32(x_tr), pad_to_32(x_te)
    mean, std = float(x_tr.mean()), float(x_tr.std())
    x_te = (x_te - mean) / std
    model = lenet5()
    opt = Adam(model.parameters(), lr=lr)
    # shifts of up to `shift` pixels on the raw images (zero background), normalised after
    loader = DataLoader(TensorDataset(x_tr, y_tr), batch_size=batch_size, shuffle=True, seed=seed,
                        transform=RandomCrop(32, padding=shift) if shift else None)
    schedule = CosineAnnealingLR(opt, T_max=epochs * len(loader))
    start = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        for xb, yb in loader:
            loss = F.cross_entropy(model((xb - mean) / std), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            schedule.step()
        if verbose:
            print(f"epoch {epoch + 1}/{epochs}: loss {loss.item():.4f}", flush=True)
    seconds = time.perf_counter() - start
    acc = accuracy(model, x_te, y_te)
    info = {"model": "lenet5", "dataset": "mnist", "test_accuracy": acc, "test_samples": len(x_te),
            "train_samples": len(x_tr), "seconds": round(seconds, 1), "mean": mean, "std": std,
            "recipe": {"epochs": epochs, "batch_size": batch_size, "optimizer": "adam", "lr": lr,
                       "schedule": "cosine", "shift": shift, "seed": seed},
            "command": "python -m shendu.training.pretrain lenet5-mnist --data-dir ../shared/data/mnist"}
    return model, info


def save_weights(model, info, path):
    """Write ``model``'s state dict and ``info`` (JSON metadata) to ``path``; returns its SHA-256."""
    save_file({k: v.data for k, v in model.state_dict().items()}, path,
              metadata={"shendu-pretrained": json.dumps(info)})
    return sha256_of(path)


def main(argv=None):
    """``python -m shendu.training.pretrain RECIPE``: train a shipped-weights recipe and write its file."""
    p = argparse.ArgumentParser(prog="python -m shendu.training.pretrain", description=__doc__.split("\n\n")[0])
    p.add_argument("recipe", choices=sorted(RECIPES))
    p.add_argument("--data-dir", default="../shared/data/mnist")
    p.add_argument("--out", default=None, help="the weights file (default <recipe>.safetensors)")
    a = p.parse_args(argv)
    model, info = train_lenet5_mnist(a.data_dir, **RECIPES[a.recipe])
    out = a.out or a.recipe.replace("-", "_") + ".safetensors"
    digest = save_weights(model, info, out)
    print(f"{a.recipe}: test accuracy {100 * info['test_accuracy']:.2f} % on {info['test_samples']} images, "
          f"{info['seconds']} s; wrote {out} (sha256 {digest})")


if __name__ == "__main__":
    main()
