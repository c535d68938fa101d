"""LeNet-5 on real MNIST: trained on the first 8,000 images of the MNIST test set, tested on the last 2,000.

Only the two t10k files are needed (``../shared/data/mnist`` in this project's checkout, or any
directory holding ``t10k-images-idx3-ubyte.gz`` and ``t10k-labels-idx1-ubyte.gz``):

1. read the 10,000 test images (28×28, [0, 1]) and cut them 8,000 / 2,000, in file order;
2. preprocess as LeCun et al. (1998) did: centre each 28×28 image in a 32×32 field of
   background (zeros), then normalise, x' = (x − μ) / σ, with μ, σ of the training images;
3. train the modern LeNet-5 (``shendu.models.lenet5``: ReLU, max-pooling, 61,706
   parameters) with Adam, lr 3·10⁻³ following a cosine schedule over every batch,
   lr_t = 3·10⁻³ · (1 + cos(π t / T)) / 2, batches of 64, cross-entropy;
4. report the accuracy on the 2,000 held-out images (docs/training.md records a run).

Run:  python examples/mnist_lenet5.py [--data-dir ../shared/data/mnist] [--epochs 12]
"""
import argparse
import pathlib
import time

import shendu
from shendu.data import mnist
from shendu.models import get_model
from shendu.optim import Adam
from shendu.optim.lr_scheduler import CosineAnnealingLR
from shendu.training import LearningRateScheduler
from shendu.training.run import Preprocess

HERE = pathlib.Path(__file__).resolve().parent


def main(data_dir=HERE.parent.parent / "shared" / "data" / "mnist", epochs=12, batch_size=64, lr=3e-3, seed=0):
    """Train and test; returns ``(test accuracy, epochs, seconds of training)``."""
    shendu.manual_seed(seed)
    x, y = mnist(split="test", root=data_dir, download=False).arrays
    x_train, y_train, x_test, y_test = x[:8000], y[:8000], x[8000:], y[8000:]

    pre = Preprocess.for_images(x_train, (32, 32))        # 28×28 centred in 32×32, then normalised
    model = get_model("lenet5", num_classes=10)
    optimizer = Adam(model.parameters(), lr=lr)
    steps = epochs * -(-len(x_train) // batch_size)
    schedule = CosineAnnealingLR(optimizer, T_max=steps)   # stepped after every batch
    model.compile(optimizer, loss="cross_entropy", metrics=["accuracy"], scheduler=schedule)

    start = time.perf_counter()
    model.fit(pre(x_train), y_train, epochs=epochs, batch_size=batch_size, seed=seed,
              callbacks=[LearningRateScheduler(schedule, per="batch")], verbose=2)
    seconds = time.perf_counter() - start
    result = model.evaluate(pre(x_test), y_test)
    print(f"LeNet-5, MNIST t10k[:8000] -> t10k[8000:]: test accuracy {100 * result['accuracy']:.2f} % "
          f"({round(result['accuracy'] * len(y_test))}/{len(y_test)}), loss {result['loss']:.4f}; "
          f"{epochs} epochs in {seconds:.1f} s")
    return result["accuracy"], epochs, seconds


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=HERE.parent.parent / "shared" / "data" / "mnist")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    main(a.data_dir, epochs=a.epochs, seed=a.seed)
