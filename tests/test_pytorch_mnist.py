"""PyTorch's official MNIST CNN script (tests/pytorch_scripts/mnist_cnn.py) run on shendu with only its imports changed.

The script is PyTorch code; these tests replace its ``import torch…`` lines by
their shendu twins and run the rest unchanged: a quick run on synthetic data
(every idiom executes), and — marked slow, skipped without ../shared — the
real MNIST run that must reach at least 97 % test accuracy.
"""
from __future__ import annotations

import pathlib
import types

import numpy as np
import pytest

import shendu
from shendu.data.idx import read_idx

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "pytorch_scripts" / "mnist_cnn.py"

#: The only lines that change: PyTorch's imports -> shendu's.
IMPORTS = {
    "import torch\n": "import shendu as torch\n",
    "import torch.nn as nn\n": "import shendu.nn as nn\n",
    "import torch.nn.functional as F\n": "import shendu.nn.functional as F\n",
    "import torch.optim as optim\n": "import shendu.optim as optim\n",
    "from torch.optim.lr_scheduler import StepLR\n": "from shendu.optim.lr_scheduler import StepLR\n",
    "from torch.utils.data import DataLoader, TensorDataset\n": "from shendu.utils.data import DataLoader, TensorDataset\n",
}


def load_script():
    """The script as a module, its import lines swapped for shendu's and nothing else changed."""
    text = SCRIPT.read_text()
    lines = text.splitlines(keepends=True)
    for old, new in IMPORTS.items():
        assert lines.count(old) == 1, f"expected the line {old!r} once in {SCRIPT.name}"
        lines[lines.index(old)] = new
    changed = [(a, b) for a, b in zip(text.splitlines(keepends=True), lines) if a != b]
    assert len(changed) == len(IMPORTS) and not any("torch" in b and "shendu" not in b for _, b in changed)
    module = types.ModuleType("mnist_cnn_on_shendu")
    exec(compile("".join(lines), str(SCRIPT), "exec"), module.__dict__)
    return module


def test_the_script_is_pytorch_code_with_torch_imports_only():
    text = SCRIPT.read_text()
    code = text.split('"""', 2)[2]  # after the module docstring
    assert "shendu" not in code
    assert sum(line.startswith(("import torch", "from torch")) for line in text.splitlines()) == len(IMPORTS)


def test_the_script_runs_on_synthetic_digits(tmp_path, monkeypatch, capsys):
    """Two batches of random images: every idiom of the script runs, and the saved state dict loads back."""
    monkeypatch.chdir(tmp_path)
    script = load_script()
    rng = np.random.default_rng(0)
    images = shendu.tensor(rng.random((96, 1, 28, 28)), dtype=shendu.float32)
    labels = shendu.tensor(rng.integers(0, 10, 96))
    before = script.Net()
    accuracy = script.main(images[:64], labels[:64], images[64:], labels[64:],
                           ["--epochs", "2", "--batch-size", "32", "--test-batch-size", "16", "--log-interval", "1",
                            "--save-model"])
    out = capsys.readouterr().out
    assert "Train Epoch: 2 [32/64 (50%)]" in out and "Test set: Average loss:" in out
    assert 0.0 <= accuracy <= 1.0
    state = shendu.load(tmp_path / "mnist_cnn.pt")
    assert list(state) == list(before.state_dict())
    assert [tuple(t.shape) for t in state.values()] == [tuple(t.shape) for t in before.state_dict().values()]
    before.load_state_dict(state)  # the trained weights, through shendu.load
    np.testing.assert_array_equal(before.fc2.weight.numpy(), state["fc2.weight"].numpy())


def _mnist_split(mnist):
    """The data README's convention: train on the 10,000 training images + the first 8,000 test images, test on the last 2,000."""
    train_x = read_idx(mnist / "train-images-first10k-idx3-ubyte.gz")
    train_y = read_idx(mnist / "train-labels-idx1-ubyte.gz")[:10_000]
    test_x = read_idx(mnist / "t10k-images-idx3-ubyte.gz")
    test_y = read_idx(mnist / "t10k-labels-idx1-ubyte.gz")
    x = np.concatenate([train_x, test_x[:8000]])
    y = np.concatenate([train_y, test_y[:8000]])

    def images(a):
        return shendu.tensor(a[:, None].astype(np.float32) / 255.0)

    def labels(a):
        return shendu.tensor(a.astype(np.int64))
    return images(x), labels(y), images(test_x[8000:]), labels(test_y[8000:])


@pytest.mark.slow
def test_the_script_reaches_97_percent_on_real_mnist(mnist_dir, tmp_path, monkeypatch):
    """One epoch (~10 CPU minutes on 2 busy cores); measured: 98.6 % (1972/2000)."""
    monkeypatch.chdir(tmp_path)
    script = load_script()
    accuracy = script.main(*_mnist_split(mnist_dir), ["--epochs", "1", "--log-interval", "100", "--save-model"])
    assert accuracy >= 0.97, f"test accuracy {accuracy:.4f} on the last 2,000 MNIST test images"
    model = script.Net()
    model.load_state_dict(shendu.load(tmp_path / "mnist_cnn.pt"))
