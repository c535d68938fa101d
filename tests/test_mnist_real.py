"""LeNet-5 on the real MNIST files in ../shared/data/mnist (slow; skipped without them).

Trained on the first 8,000 images of the MNIST test set, tested on the last 2,000, through
the same library function as `shendu train` (train_run with a DatasetSplits, no validation
split), then checked again through `shendu evaluate`-style loading and the example script.
"""
import importlib.util
import json
import pathlib

import pytest

from shendu.data import DatasetSplits, TensorDataset, mnist
from shendu.data.datasets import MNIST_CLASSES
from shendu.training.run import load_run, train_run

pytestmark = pytest.mark.slow
ROOT = pathlib.Path(__file__).resolve().parent.parent


def first_8000_last_2000(mnist_dir):
    x, y = mnist(split="test", root=mnist_dir, download=False).arrays
    assert x.shape == (10000, 1, 28, 28)
    return DatasetSplits("mnist-t10k-8000-2000", TensorDataset(x[:8000], y[:8000]), TensorDataset(x[8000:], y[8000:]),
                         MNIST_CLASSES)


def test_lenet5_reaches_98_percent_on_real_mnist(mnist_dir, tmp_path):
    splits = first_8000_last_2000(mnist_dir)
    m = train_run("lenet5", splits, epochs=12, val=0, out=tmp_path, verbose=0)
    print(f"LeNet-5 on MNIST t10k[:8000] -> t10k[8000:]: {100 * m['test_accuracy']:.2f} % "
          f"in {m['epochs']} epochs, {m['seconds']:.1f} s")
    assert m["test_samples"] == 2000 and m["epochs"] == 12
    assert m["test_accuracy"] >= 0.98
    assert m["preprocess"]["resize"] == "pad" and m["preprocess"]["input_shape"] == [1, 32, 32]
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["test_accuracy"] == m["test_accuracy"]
    model, info = load_run(tmp_path / "last.ckpt")
    assert info["dataset"] == "mnist-t10k-8000-2000" and info["epoch"] == 12


def test_example_script_reaches_98_percent(mnist_dir):
    spec = importlib.util.spec_from_file_location("mnist_lenet5", ROOT / "examples" / "mnist_lenet5.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    accuracy, epochs, seconds = example.main(mnist_dir, epochs=12)
    assert accuracy >= 0.98
