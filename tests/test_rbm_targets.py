"""The RBM and DBN targets of docs/rbm.md (slow): RBM-100 features + logistic regression on
scikit-learn's digits with the "nudged" augmentation, and DBN pre-training against random
initialisation with 100 labels per class on the real MNIST of ../shared."""
import numpy as np
import pytest

pytestmark = pytest.mark.slow


def nudged_digits():
    """scikit-learn's 1,797 8×8 digits, scaled to [0, 1] (min-max as its RBM example), plus four
    copies moved by one pixel left, right, up and down (zero fill): 8,985 images, (N, 64)."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x - x.min(0)) / (x.max(0) + 1e-4)  # scikit-learn's example's minmax_scale
    img = x.reshape(-1, 8, 8)
    moved = [img]
    for axis, step in ((2, -1), (2, 1), (1, -1), (1, 1)):
        m = np.roll(img, step, axis=axis)
        edge = [slice(None)] * 3
        edge[axis] = 0 if step == 1 else -1
        m[tuple(edge)] = 0
        moved.append(m)
    return np.concatenate(moved).reshape(-1, 64).astype(np.float32), np.tile(y, 5)


def test_nudging_moves_each_image_by_one_pixel():
    x, y = nudged_digits()
    assert x.shape == (8985, 64) and len(y) == 8985 and x.min() >= 0 and x.max() <= 1
    img, right = x[0].reshape(8, 8), x[2 * 1797].reshape(8, 8)
    np.testing.assert_array_equal(right[:, 1:], img[:, :-1])
    assert (right[:, 0] == 0).all()


def test_rbm_features_reach_93_percent_on_nudged_digits():
    pytest.importorskip("sklearn")
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import Pipeline

    from shendu.models.rbm import BernoulliRBM

    x, y = nudged_digits()
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.2, random_state=0)
    pipe = Pipeline([("rbm", BernoulliRBM(100, learning_rate=0.06, epochs=10, random_state=0)),
                     ("logistic", LogisticRegression(C=6000, max_iter=1000))])
    acc = pipe.fit(xtr, ytr).score(xte, yte)
    raw = LogisticRegression(C=100, max_iter=1000).fit(xtr, ytr).score(xte, yte)
    print(f"RBM-100 + logistic {acc:.4f}, raw pixels {raw:.4f}")
    assert acc >= 0.93 and acc > raw + 0.05


def test_dbn_pretraining_beats_random_initialisation_with_100_labels_per_class(mnist_dir):
    import shendu
    from shendu.training.dbn_run import pretraining_gap

    d = shendu.data.mnist(root=mnist_dir, download=False)  # 10,000 training images, 10,000 test
    r = pretraining_gap(d, hidden=(256, 256), labels_per_class=100, seeds=(0, 1, 2, 3, 4), pretrain_epochs=3,
                        epochs=30, lr=0.05, rbm_lr=0.1, rbm_batch_size=50)
    print(r)
    assert r["mean_gap"] > 0.02 and min(r["gap"]) > 0
