"""The measured targets of issue 18 on the real MNIST files in ../shared (slow; skipped without them).

* transfer: LeNet-5 pre-trained on digits 0–4 beats the same network trained from scratch on
  10 labelled images per digit 5–9 (examples/transfer_digits.py; docs/transfer.md);
* capsules: the reduced CapsNet reaches LeNet-5's accuracy on the 18,000 / 2,000 split for the
  same wall time (examples/capsnet_mnist.py; docs/capsules.md).
"""
import importlib.util
import pathlib

import numpy as np
import pytest

pytestmark = pytest.mark.slow
EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"
CAPSNET_SECONDS = 2100
LENET5_RECIPES = ("lenet5", "lenet5-noshift")


def example(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_transfer_beats_scratch_at_10_labels_per_class(mnist_dir):
    demo = example("transfer_digits")
    results, base = demo.main(mnist_dir, seeds=3, sizes=(10,), methods=("scratch", "frozen conv"), verbose=False)
    print(demo.table(results))
    assert base >= 0.98
    scratch, transfer = np.array(results[("scratch", 10)]), np.array(results[("frozen conv", 10)])
    # clearly: better on every seed, by at least 2 points on average
    assert (transfer > scratch).all() and transfer.mean() >= scratch.mean() + 0.02


@pytest.fixture(scope="module")
def capsnet_against_lenet5(mnist_dir):
    """One concurrent run of the networks (2,100 s of training each, one process each), shared by the tests below."""
    res = example("capsnet_mnist").run(CAPSNET_SECONDS, mnist_dir, verbose=True, concurrent=True,
                                       names=LENET5_RECIPES + ("capsnet",))
    for name, (acc, seen, spent) in res.items():
        print(f"{name}: {100 * acc:.2f} % after {seen:,} images in {spent:.0f} s")
    return res


def test_reduced_capsnet_and_lenet5_both_learn(capsnet_against_lenet5):
    # measured 2026-12-07 (2,100 s each, concurrently): LeNet-5 99.50 % (without shifts 99.10 %),
    # CapsNet 99.50 % (docs/capsules.md)
    assert all(capsnet_against_lenet5[name][0] >= 0.98 for name in LENET5_RECIPES)
    assert capsnet_against_lenet5["capsnet"][0] >= 0.97


def test_reduced_capsnet_reaches_lenet5_for_the_same_wall_time(capsnet_against_lenet5):
    # held to the better of LeNet-5's two recipes (with and without the shifts); measured a tie at
    # 2,100 s (99.50 % each, 10 errors of 2,000), so one image decides it: docs/capsules.md
    assert capsnet_against_lenet5["capsnet"][0] >= max(capsnet_against_lenet5[name][0] for name in LENET5_RECIPES)
