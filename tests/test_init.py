"""Initialisers: statistics against their formulas, orthogonality, gains and fans against PyTorch, seeding."""
import math

import numpy as np
import pytest

import shendu
from shendu.nn import Parameter, init

torch = pytest.importorskip("torch")

DENSE = (300, 400)          # (out, in): fan_in 400, fan_out 300
CONV = (64, 32, 3, 3)       # fan_in 32·9 = 288, fan_out 64·9 = 576


def param(*shape, dtype=shendu.float32):
    return Parameter(shendu.empty(*shape, dtype=dtype))


def fans(shape):
    k = math.prod(shape[2:])
    return shape[1] * k, shape[0] * k


def assert_stats(w, mean, std, what):
    """Sample mean within 5 standard errors, sample std within 2 % (≥ 4 standard errors here)."""
    w = np.asarray(w, dtype=np.float64).ravel()
    assert abs(w.mean() - mean) < 5 * std / math.sqrt(w.size), f"{what}: mean {w.mean():.4g}, expected {mean}"
    assert abs(w.std() / std - 1) < 0.02, f"{what}: std {w.std():.4g}, expected {std:.4g}"


def uniform_cases(shape):
    fi, fo = fans(shape)
    return [  # (name, call, bound b of U(−b, b))
        ("xavier_uniform", lambda w: init.xavier_uniform_(w), math.sqrt(6 / (fi + fo))),
        ("xavier_uniform gain 2", lambda w: init.xavier_uniform_(w, gain=2.0), 2 * math.sqrt(6 / (fi + fo))),
        ("glorot_uniform", lambda w: init.glorot_uniform_(w), math.sqrt(6 / (fi + fo))),
        ("kaiming_uniform", lambda w: init.kaiming_uniform_(w), math.sqrt(2) * math.sqrt(3 / fi)),
        ("kaiming_uniform fan_out relu", lambda w: init.kaiming_uniform_(w, mode="fan_out", nonlinearity="relu"),
         math.sqrt(6 / fo)),
        ("kaiming_uniform a=√5 (torch's Linear/Conv default)", lambda w: init.kaiming_uniform_(w, a=math.sqrt(5)),
         1 / math.sqrt(fi)),
        ("he_uniform", lambda w: init.he_uniform_(w), math.sqrt(6 / fi)),
        ("lecun_uniform", lambda w: init.lecun_uniform_(w), math.sqrt(3 / fi)),
        ("uniform_(-0.3, 0.3)", lambda w: init.uniform_(w, -0.3, 0.3), 0.3),
    ]


def normal_cases(shape):
    fi, fo = fans(shape)
    return [  # (name, call, σ of N(0, σ²))
        ("xavier_normal", lambda w: init.xavier_normal_(w), math.sqrt(2 / (fi + fo))),
        ("glorot_normal gain 5/3", lambda w: init.glorot_normal_(w, gain=5 / 3), 5 / 3 * math.sqrt(2 / (fi + fo))),
        ("kaiming_normal", lambda w: init.kaiming_normal_(w), math.sqrt(2 / fi)),
        ("kaiming_normal fan_out", lambda w: init.kaiming_normal_(w, mode="fan_out"), math.sqrt(2 / fo)),
        ("kaiming_normal leaky 0.5", lambda w: init.kaiming_normal_(w, a=0.5), math.sqrt(2 / (1.25 * fi))),
        ("he_normal", lambda w: init.he_normal_(w), math.sqrt(2 / fi)),
        ("lecun_normal", lambda w: init.lecun_normal_(w), math.sqrt(1 / fi)),
        ("normal_(0, 0.02)", lambda w: init.normal_(w, 0.0, 0.02), 0.02),
    ]


@pytest.mark.parametrize("shape", [DENSE, CONV], ids=["dense", "conv"])
def test_uniform_initialisers_match_their_bounds(shape):
    for name, fill, b in uniform_cases(shape):
        w = param(*shape)
        assert fill(w) is w
        arr = w.numpy()
        assert np.abs(arr).max() <= b * (1 + 1e-6), f"{name}: a value beyond the bound {b}"
        assert np.abs(arr).max() > 0.99 * b, f"{name}: values do not reach the bound {b}"
        assert_stats(arr, 0.0, b / math.sqrt(3), name)


@pytest.mark.parametrize("shape", [DENSE, CONV], ids=["dense", "conv"])
def test_normal_initialisers_match_their_std(shape):
    for name, fill, std in normal_cases(shape):
        w = param(*shape)
        assert fill(w) is w
        assert_stats(w.numpy(), 0.0, std, name)


def test_normal_mean_and_constants():
    w = init.normal_(param(200, 300), mean=1.5, std=0.1)
    assert_stats(w.numpy(), 1.5, 0.1, "normal_(1.5, 0.1)")
    assert (init.zeros_(param(3, 4)).numpy() == 0).all()
    assert (init.ones_(param(3, 4)).numpy() == 1).all()
    assert (init.constant_(param(3, 4), 0.25).numpy() == 0.25).all()


@pytest.mark.parametrize("fill", [init.xavier_uniform_, init.kaiming_normal_, init.orthogonal_, init.zeros_])
def test_initialisers_keep_shape_and_dtype(fill):
    w = param(4, 3, 2, dtype=shendu.float64)
    fill(w)
    assert w.shape == (4, 3, 2) and w.dtype == shendu.float64 and w.requires_grad


@pytest.mark.parametrize("shape", [(5, 8), (8, 5), (6, 3, 2, 2), (7, 7)])
@pytest.mark.parametrize("gain", [1.0, 2.0])
def test_orthogonal(shape, gain):
    w = init.orthogonal_(param(*shape, dtype=shendu.float64), gain=gain).numpy().reshape(shape[0], -1)
    rows, cols = w.shape
    gram = w @ w.T if rows <= cols else w.T @ w
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(min(rows, cols)), atol=1e-12)


def test_orthogonal_is_not_always_the_same_matrix():
    a = init.orthogonal_(param(6, 6)).numpy()
    b = init.orthogonal_(param(6, 6)).numpy()
    assert not np.allclose(a, b)


@pytest.mark.parametrize("name", ["linear", "sigmoid", "tanh", "relu", "selu", "leaky_relu",
                                  "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                                  "conv_transpose3d"])
def test_gains_match_torch(name):
    assert init.calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name), rel=1e-12)


@pytest.mark.parametrize("slope", [0.0, 0.2, math.sqrt(5)])
def test_leaky_relu_gain_matches_torch(slope):
    got = init.calculate_gain("leaky_relu", slope)
    assert got == pytest.approx(torch.nn.init.calculate_gain("leaky_relu", slope), rel=1e-12)


def test_unknown_gain_is_an_error():
    with pytest.raises(ValueError, match="swish"):
        init.calculate_gain("swish")


@pytest.mark.parametrize("shape", [(10, 5), (16, 8, 3, 3), (4, 6, 5), (2, 3, 1, 4, 5)])
def test_fans_match_torch(shape):
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert init._fans(shape) == tuple(expected)


@pytest.mark.parametrize("shape", [(16, 8, 3, 3), (24, 40)])
@pytest.mark.parametrize("sd_fill, torch_fill, uniform", [
    (init.xavier_uniform_, torch.nn.init.xavier_uniform_, True),
    (init.xavier_normal_, torch.nn.init.xavier_normal_, False),
    (lambda w: init.kaiming_uniform_(w, a=math.sqrt(5)), lambda w: torch.nn.init.kaiming_uniform_(w, a=math.sqrt(5)),
     True),
    (lambda w: init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu"),
     lambda w: torch.nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu"), False),
], ids=["xavier_uniform", "xavier_normal", "kaiming_uniform_a_sqrt5", "kaiming_normal_fan_out"])
def test_same_distribution_as_torch(shape, sd_fill, torch_fill, uniform):
    """Many draws of a small (conv-shaped) weight: the pooled std (and bound) equal torch's."""
    torch.manual_seed(0)
    ours = np.concatenate([sd_fill(param(*shape)).numpy().ravel() for _ in range(40)])
    theirs = np.concatenate([torch_fill(torch.empty(shape)).numpy().ravel() for _ in range(40)])
    assert abs(ours.std() / theirs.std() - 1) < 0.03
    if uniform:
        assert abs(np.abs(ours).max() / np.abs(theirs).max() - 1) < 0.01


def test_fans_need_two_dimensions():
    with pytest.raises(ValueError, match=r"shape \(5,\)"):
        init.xavier_uniform_(param(5))
    with pytest.raises(ValueError, match="orthogonal_"):
        init.orthogonal_(param(5))


ALL_RANDOM = [init.uniform_, init.normal_, init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_,
              init.kaiming_normal_, init.lecun_normal_, init.lecun_uniform_, init.orthogonal_]


@pytest.mark.parametrize("fill", ALL_RANDOM, ids=lambda f: f.__name__)
def test_reproducible_under_manual_seed(fill):
    shendu.manual_seed(123)
    a = fill(param(6, 4, 3)).numpy().copy()
    shendu.manual_seed(123)
    b = fill(param(6, 4, 3)).numpy().copy()
    shendu.manual_seed(124)
    c = fill(param(6, 4, 3)).numpy().copy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


# ---------------------------------------------------------------- init.get
@pytest.mark.parametrize("name, fn", [
    ("zeros", init.zeros_), ("ones", init.ones_), ("glorot_uniform", init.xavier_uniform_),
    ("glorot_normal", init.xavier_normal_), ("xavier_uniform_", init.xavier_uniform_),
    ("he_uniform", init.kaiming_uniform_), ("he_normal", init.kaiming_normal_),
    ("Kaiming_Normal", init.kaiming_normal_),
    ("lecun_normal", init.lecun_normal_), ("lecun_uniform", init.lecun_uniform_), ("orthogonal", init.orthogonal_),
])
def test_get_by_name(name, fn):
    assert init.get(name) is fn


def test_get_keras_semantics():
    fi = DENSE[1]
    assert_stats(init.get("he_normal")(param(*DENSE)).numpy(), 0.0, math.sqrt(2 / fi), "he_normal")      # Keras
    assert np.abs(init.get("he_uniform")(param(*DENSE)).numpy()).max() == pytest.approx(math.sqrt(6 / fi), rel=1e-2)
    w = init.get("random_uniform")(param(*DENSE)).numpy()
    assert np.abs(w).max() <= 0.05 and np.abs(w).max() > 0.0499
    assert_stats(init.get("random_normal")(param(*DENSE)).numpy(), 0.0, 0.05, "random_normal")


def test_get_passes_callables_and_rejects_unknown_names():
    custom = lambda w: init.constant_(w, 3.0)  # noqa: E731
    assert init.get(custom) is custom
    with pytest.raises(ValueError, match="glorot_uniform"):   # the message lists the known names
        init.get("glorot_unifrom")
