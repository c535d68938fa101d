"""Restricted Boltzmann machines: the CD-1 update by hand, free energies by enumeration and
gradcheck, the explicit update against autograd, persistent chains, learning, bad input."""
import copy
import itertools
import math

import numpy as np
import pytest

import shendu
from shendu.models.rbm import BernoulliRBM, GaussianBernoulliRBM, bernoulli_free_energy, gaussian_free_energy

W = [[0.5, -0.2, 0.1], [0.3, 0.4, -0.6]]  # 2 hidden × 3 visible
B = [0.1, -0.1, 0.2]
C = [-0.3, 0.2]


class FixedUniforms:
    """Stands in for a NumPy Generator: ``random(shape)`` returns the given numbers in order, so
    that every Bernoulli draw (u < p) of a Gibbs step is known beforehand."""

    def __init__(self, *draws):
        self.draws = [np.asarray(d, dtype=np.float64) for d in draws]

    def random(self, shape):
        d = self.draws.pop(0)
        assert d.shape == tuple(shape)
        return d


def small_rbm(cls=BernoulliRBM, **kw):
    rbm = cls(2, 3, **kw)
    rbm.weight.data[...] = W
    rbm.visible_bias.data[...] = B
    rbm.hidden_bias.data[...] = C
    return rbm


def sig(x):
    return 1 / (1 + math.exp(-x))


def test_cd1_update_matches_the_hand_computed_reference():
    rbm = small_rbm(learning_rate=0.1)
    v0 = np.array([[1.0, 0.0, 1.0]], dtype=np.float32)
    # positive phase: p(h|v0) = σ(c + W v0) = σ(−0.3 + 0.5 + 0.1), σ(0.2 + 0.3 − 0.6)
    hp = [sig(0.3), sig(-0.1)]                       # 0.574443, 0.475021
    # h ~ (u < p) with u = 0.2, 0.9  ->  h = (1, 0);  p(v|h) = σ(b + W[0]) = σ(0.6, −0.3, 0.3)
    # v ~ (u < p) with u = 0.7, 0.1, 0.5 -> v1 = (0, 1, 1) (0.7 > 0.6457, 0.1 < 0.4256, 0.5 < 0.5744)
    v1 = [0.0, 1.0, 1.0]
    hn = [sig(-0.3 - 0.2 + 0.1), sig(0.2 + 0.4 - 0.6)]  # σ(−0.4) = 0.401312, σ(0) = 0.5
    neg = rbm.cd_step(v0, rng=FixedUniforms([[0.2, 0.9]], [[0.7, 0.1, 0.5]]))
    np.testing.assert_array_equal(neg, [v1])
    dw = [[0.1 * (hp[j] * v0[0, i] - hn[j] * v1[i]) for i in range(3)] for j in range(2)]
    # = 0.1 × [[0.574443, −0.401312, 0.173131], [0.475021, −0.5, −0.024979]]
    np.testing.assert_allclose(rbm.weight.data - np.array(W), dw, atol=1e-6)
    np.testing.assert_allclose(rbm.visible_bias.data - np.array(B), [0.1, -0.1, 0.0], atol=1e-6)
    np.testing.assert_allclose(rbm.hidden_bias.data - np.array(C), [0.1 * (hp[0] - hn[0]), 0.1 * (hp[1] - hn[1])],
                               atol=1e-6)
    np.testing.assert_allclose(np.asarray(dw) * 10, [[0.574443, -0.401312, 0.173131], [0.475021, -0.5, -0.024979]],
                               atol=1e-6)


def test_momentum_and_weight_decay_enter_the_step():
    rbm = small_rbm(learning_rate=0.1, momentum=0.5, weight_decay=0.01)
    v = np.array([[1.0, 0.0, 1.0]], dtype=np.float32)
    draws = ([[0.2, 0.9]], [[0.7, 0.1, 0.5]])
    w0 = rbm.weight.data.copy()
    g1 = rbm.contrastive_gradient(v, rbm.gibbs(v, 1, random_state=FixedUniforms(*draws)))[0]
    rbm.cd_step(v, rng=FixedUniforms(*draws))
    step1 = 0.1 * (g1 - 0.01 * w0)  # Δ = momentum·0 + lr·(g − decay·W)
    np.testing.assert_allclose(rbm.weight.data - w0, step1, atol=1e-6)
    w1 = rbm.weight.data.copy()
    g2 = rbm.contrastive_gradient(v, rbm.gibbs(v, 1, random_state=FixedUniforms(*draws)))[0]
    rbm.cd_step(v, rng=FixedUniforms(*draws))
    np.testing.assert_allclose(rbm.weight.data - w1, 0.5 * step1 + 0.1 * (g2 - 0.01 * w1), atol=1e-6)


def enumerate_free_energy(v, w, b, c):
    """F(v) = −log Σ_h e^(−E(v, h)), summing over the 2^H hidden states."""
    total = 0.0
    for h in itertools.product([0, 1], repeat=len(c)):
        h = np.array(h, dtype=np.float64)
        energy = -(b @ v) - (c @ h) - h @ w @ v
        total += math.exp(-energy)
    return -math.log(total)


def test_free_energy_is_minus_log_of_the_sum_over_hidden_states():
    rbm = small_rbm()
    w, b, c = (np.array(a, dtype=np.float64) for a in (W, B, C))
    vs = np.array([[1, 0, 1], [0, 1, 1], [0.3, 0.7, 0.1]], dtype=np.float32)
    got = rbm.free_energy(vs).numpy()
    np.testing.assert_allclose(got, [enumerate_free_energy(v, w, b, c) for v in vs.astype(np.float64)], rtol=1e-5)
    h = np.array([[1, 0], [0, 1], [1, 1]], dtype=np.float32)
    e = rbm.energy(vs, h).numpy()
    np.testing.assert_allclose(e, [-(b @ v) - (c @ hh) - hh @ w @ v for v, hh in zip(vs, h)], rtol=1e-5)


def test_gaussian_free_energy_integrates_the_hidden_units_out():
    rbm = small_rbm(GaussianBernoulliRBM, sigma=0.5)
    w, b, c = (np.array(a, dtype=np.float64) for a in (W, B, C))
    v = np.array([[0.4, -1.2, 2.0]], dtype=np.float32)
    s = 0.5
    total = 0.0
    for h in itertools.product([0, 1], repeat=2):
        h = np.array(h, dtype=np.float64)
        vv = v[0].astype(np.float64)
        energy = ((vv - b) ** 2).sum() / (2 * s * s) - c @ h - h @ w @ (vv / s)
        total += math.exp(-energy)
        np.testing.assert_allclose(rbm.energy(v, h[None].astype(np.float32)).numpy(), [energy], rtol=1e-5)
    np.testing.assert_allclose(rbm.free_energy(v).numpy(), [-math.log(total)], rtol=1e-5)


@pytest.mark.parametrize("fn", [bernoulli_free_energy, gaussian_free_energy])
def test_free_energy_passes_gradcheck(fn):
    rng = np.random.default_rng(0)
    v = shendu.tensor(rng.random((4, 5)), dtype=shendu.float64, requires_grad=True)
    w = shendu.tensor(rng.normal(size=(3, 5)), dtype=shendu.float64, requires_grad=True)
    b = shendu.tensor(rng.normal(size=5), dtype=shendu.float64, requires_grad=True)
    c = shendu.tensor(rng.normal(size=3), dtype=shendu.float64, requires_grad=True)
    assert shendu.gradcheck(fn, v, w, b, c)


@pytest.mark.parametrize("cls", [BernoulliRBM, GaussianBernoulliRBM])
def test_the_explicit_cd_gradient_is_minus_the_free_energy_difference_gradient(cls):
    rng = np.random.default_rng(1)
    rbm = cls(4, 6, random_state=0)
    if cls is GaussianBernoulliRBM:
        rbm.sigma = 0.7
    rbm.visible_bias.data[...] = rng.normal(size=6)
    rbm.hidden_bias.data[...] = rng.normal(size=4)
    rbm.weight.data[...] = rng.normal(size=(4, 6))
    v_pos = rng.random((5, 6)).astype(np.float32)
    v_neg = (rng.random((5, 6)) < 0.5).astype(np.float32)
    gw, gb, gc = rbm.contrastive_gradient(v_pos, v_neg)
    (rbm.free_energy(v_pos).mean() - rbm.free_energy(v_neg).mean()).backward()
    np.testing.assert_allclose(gw, -rbm.weight.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(gb, -rbm.visible_bias.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(gc, -rbm.hidden_bias.grad.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("persistent", [False, True])
def test_negative_chains_start_from_the_data_or_persist(persistent):
    rbm = BernoulliRBM(3, 6, learning_rate=0.0, persistent=persistent, random_state=0)
    rbm.weight.data[...] = np.random.default_rng(2).normal(size=(3, 6))
    v = (np.random.default_rng(3).random((4, 6)) < 0.5).astype(np.float32)
    g = np.random.default_rng(7)
    neg1 = rbm.cd_step(v, rng=g)
    twin = copy.deepcopy(g)
    neg2 = rbm.cd_step(v, rng=g)
    start = neg1 if persistent else v  # PCD continues its chains; CD restarts at the data
    np.testing.assert_array_equal(neg2, rbm.gibbs(start, 1, random_state=twin))


@pytest.mark.parametrize("persistent", [False, True])
def test_an_rbm_learns_two_patterns_and_samples_them(persistent):
    patterns = np.array([[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1]], dtype=np.float32)
    x = np.repeat(patterns, 200, axis=0)
    rbm = BernoulliRBM(8, learning_rate=0.1, persistent=persistent, epochs=50, batch_size=20, random_state=0).fit(x)
    pl = [row["pseudo_likelihood"] for row in rbm.history]
    assert pl[-1] > pl[0] and pl[-1] > -1.0, pl  # near 0: each bit follows from the others
    samples = rbm.sample(200, steps=200, random_state=1)
    match = ((samples[:, None, :] == patterns[None]).all(axis=2)).any(axis=1)
    assert match.mean() > 0.9, match.mean()
    counts = [(samples == p).all(axis=1).sum() for p in patterns]
    assert min(counts) > 30, counts  # both modes
    feats = rbm.transform(patterns)
    assert np.abs(feats[0] - feats[1]).max() > 0.5  # the hidden code tells them apart


def test_gaussian_rbm_reduces_its_reconstruction_error_on_standardised_digits():
    x = shendu.data.load("digits").x_train.reshape(-1, 64)
    z = (x - x.mean(0)) / (x.std(0) + 1e-3)
    rbm = GaussianBernoulliRBM(32, learning_rate=0.01, epochs=4, random_state=0).fit(z)
    errors = [row["reconstruction_error"] for row in rbm.history]
    assert errors[-1] < 0.7 * errors[0], errors
    assert "pseudo_likelihood" not in rbm.history[0]
    assert rbm.sample(3, steps=5, random_state=0).shape == (3, 64)


def test_transform_forward_and_the_estimator_protocol():
    x = (shendu.data.load("digits").x_train.reshape(-1, 64))
    rbm = BernoulliRBM(16, epochs=2, random_state=0)
    feats = rbm.fit_transform(x)
    assert feats.shape == (1437, 16) and feats.min() >= 0 and feats.max() <= 1
    np.testing.assert_allclose(rbm(shendu.tensor(x[:5])).numpy(), feats[:5], rtol=1e-5, atol=1e-6)
    again = BernoulliRBM(**rbm.get_params()).set_params(n_visible=None).fit(x)  # same seed, same model
    np.testing.assert_array_equal(again.weight.data, rbm.weight.data)
    assert set(rbm.state_dict()) == {"weight", "visible_bias", "hidden_bias"}
    assert rbm.pseudo_likelihood(x[:10]).shape == (10,)


def test_in_a_scikit_learn_pipeline():
    pytest.importorskip("sklearn")
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    d = shendu.data.load("digits")
    xtr, xte = d.x_train.reshape(-1, 64), d.x_test.reshape(-1, 64)
    pipe = Pipeline([("rbm", BernoulliRBM(64, learning_rate=0.06, epochs=5, random_state=0)),
                     ("logistic", LogisticRegression(C=100, max_iter=500))])
    acc = clone(pipe).fit(xtr, d.y_train).score(xte, d.y_test)
    assert acc > 0.85, acc


def test_bad_input_is_named():
    rbm = BernoulliRBM(4, 3)
    with pytest.raises(ValueError, match=r"BernoulliRBM.fit: Bernoulli visible units need data in \[0, 1\].*"
                                         r"\[-0.5, 2\].*GaussianBernoulliRBM"):
        rbm.fit(np.array([[0.0, -0.5, 2.0]]))
    with pytest.raises(ValueError, match=r"expected 3 visible units per sample, got 4"):
        rbm.transform(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        rbm.transform(np.array([[0.0, np.nan, 1.0]]))
    with pytest.raises(ValueError, match=r"expected a batch \(N, V\)"):
        rbm.transform(np.zeros(3))
    with pytest.raises(RuntimeError, match="BernoulliRBM.transform: not fitted yet"):
        BernoulliRBM(4).transform(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="k must be a positive integer, got 0"):
        BernoulliRBM(4, k=0).fit(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="sigma must be a finite number > 0"):
        GaussianBernoulliRBM(4, sigma=0)
    with pytest.raises(ValueError, match="pseudo-likelihood of flipped bits needs binary visible units"):
        GaussianBernoulliRBM(4, 3).pseudo_likelihood(np.zeros((2, 3)))
    GaussianBernoulliRBM(4, 3).transform(np.array([[-3.0, 0.5, 9.0]]))  # any real value is fine
