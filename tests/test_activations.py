"""Activations (shendu.functional.activation, shendu.nn.activation) against PyTorch.

Every activation is checked forward and backward in float32 and float64 (the
harness) on random inputs plus extreme values (|x| up to 1e4, values near
zero), with finite differences away from kinks; the kinks themselves are
compared with PyTorch's sub-gradient choice separately.
"""
import math

import numpy as np
import pytest

import shendu
import shendu.functional as F
import shendu.nn as nn
from harness import assert_close, check, check_module

torch = pytest.importorskip("torch")
TF = torch.nn.functional

EXTREMES = np.array([1e4, -1e4, 50.0, -50.0, 8.0, -8.0, 1e-8, -1e-8, 0.3, -0.3])


def inputs(kinks=(), n=14, seed=0):
    """Random values (spread over ±4) and EXTREMES, none within 1e-3 of a kink."""
    x = np.concatenate([np.random.default_rng(seed).uniform(-4, 4, n), EXTREMES])
    for k in kinks:
        near = np.abs(x - k) < 1e-3
        x[near] = k + 0.01
    return x.reshape(4, -1)


# (name, shendu function, torch function, kinks to avoid in finite differences)
CASES = [
    ("relu", F.relu, TF.relu, (0,)),
    ("sigmoid", F.sigmoid, torch.sigmoid, ()),
    ("tanh", F.tanh, torch.tanh, ()),
    ("leaky_relu", F.leaky_relu, TF.leaky_relu, (0,)),
    ("leaky_relu_0.2", lambda x: F.leaky_relu(x, negative_slope=0.2), lambda x: TF.leaky_relu(x, 0.2), (0,)),
    ("elu", F.elu, TF.elu, (0,)),
    ("elu_alpha", lambda x: F.elu(x, alpha=0.5), lambda x: TF.elu(x, alpha=0.5), (0,)),
    ("selu", F.selu, TF.selu, (0,)),
    ("gelu", F.gelu, TF.gelu, ()),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), lambda x: TF.gelu(x, approximate="tanh"), ()),
    ("silu", F.silu, TF.silu, ()),
    ("swish", F.swish, TF.silu, ()),
    ("softplus", F.softplus, TF.softplus, (20,)),
    ("softplus_beta", lambda x: F.softplus(x, beta=2.0, threshold=10.0),
     lambda x: TF.softplus(x, beta=2.0, threshold=10.0), (5,)),
    ("softsign", F.softsign, TF.softsign, ()),
    ("hardsigmoid", F.hardsigmoid, TF.hardsigmoid, (-3, 3)),
    ("hard_sigmoid", F.hard_sigmoid, TF.hardsigmoid, (-3, 3)),
    ("hardswish", F.hardswish, TF.hardswish, (-3, 3)),
    ("hardtanh", F.hardtanh, TF.hardtanh, (-1, 1)),
    ("hardtanh_range", lambda x: F.hardtanh(x, -2.0, 0.5), lambda x: TF.hardtanh(x, -2.0, 0.5), (-2, 0.5)),
    ("relu6", F.relu6, TF.relu6, (0, 6)),
    ("threshold", lambda x: F.threshold(x, 0.5, -2.0), lambda x: TF.threshold(x, 0.5, -2.0), (0.5,)),
    ("identity", F.identity, lambda x: x * 1, ()),
    ("erf", F.erf, torch.erf, ()),
]


# PyTorch's CPU hardsigmoid backward multiplies by the float32 constant 1.0f/6.0f even in
# float64 (aten/src/ATen/native/cpu/Activation.cpp), a relative error of 3e-8; shendu uses 1/6.
LOOSER = {"hardsigmoid": {np.float64: dict(rtol=1e-7, atol=1e-12)}}
LOOSER["hard_sigmoid"] = LOOSER["hardsigmoid"]


@pytest.mark.parametrize("name,sd_fn,torch_fn,kinks", CASES, ids=[c[0] for c in CASES])
def test_activation_matches_torch(name, sd_fn, torch_fn, kinks):
    check(sd_fn, torch_fn, [inputs(kinks)], tol=LOOSER.get(name))


KINK_POINTS = np.array([-6.0, -3.0, -2.0, -1.0, 0.0, 0.5, 1.0, 3.0, 5.0, 6.0, 20.0, -0.0])


@pytest.mark.parametrize("name,sd_fn,torch_fn,kinks", [c for c in CASES if c[3]], ids=[c[0] for c in CASES if c[3]])
def test_subgradient_at_kinks_matches_torch(name, sd_fn, torch_fn, kinks):
    check(sd_fn, torch_fn, [KINK_POINTS], gradcheck=False, tol=LOOSER.get(name))


@pytest.mark.parametrize("dim,shape", [(-1, (3, 5)), (0, (3, 5)), (1, (2, 3, 4)), (2, (2, 3, 4))])
@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax_family_over_any_axis(fn, dim, shape):
    x = np.random.default_rng(1).standard_normal(shape) * 3
    check(lambda t: getattr(F, fn)(t, dim=dim), lambda t: getattr(TF, fn)(t, dim=dim), [x])


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax_family_is_finite_for_huge_logits(fn):
    x = np.array([[1e4, -1e4, 0.0, 5e3, 1.0], [-1e4, -1e4 + 1, -1e4 + 2, -1e4 + 3, -1e4 + 4]])
    check(lambda t: getattr(F, fn)(t, dim=1), lambda t: getattr(TF, fn)(t, dim=1), [x])
    y = getattr(F, fn)(shendu.tensor(x), dim=1).numpy()
    assert np.all(np.isfinite(y))


def test_log_softmax_keeps_minus_inf_masks():
    x = np.array([[0.0, -np.inf, 1.0]])
    sd = shendu.tensor(x, requires_grad=True)
    tt = torch.tensor(x, requires_grad=True)
    F.log_softmax(sd, dim=1)[:, [0, 2]].sum().backward()
    TF.log_softmax(tt, dim=1)[:, [0, 2]].sum().backward()
    assert_close(F.log_softmax(shendu.tensor(x), 1).numpy(), TF.log_softmax(torch.tensor(x), 1).numpy(),
                 1e-12, 0, "log_softmax with -inf")
    assert_close(sd.grad.numpy(), tt.grad.numpy(), 1e-12, 1e-15, "gradient with -inf")


def test_softmax_rows_sum_to_one():
    x = shendu.randn(4, 7, dtype=shendu.float64) * 30
    assert np.allclose(F.softmax(x, dim=1).numpy().sum(axis=1), 1.0, rtol=0, atol=1e-14)
    assert np.allclose(F.log_softmax(x, dim=1).exp().numpy(), F.softmax(x, dim=1).numpy(), rtol=1e-12)


def test_erf_is_precise_over_its_range():
    x = np.concatenate([np.linspace(-7, 7, 3001), [0.0, 1e-300, -1e-12, 26.0, -30.0, np.inf, -np.inf]])
    expected = torch.erf(torch.tensor(x)).numpy()
    assert_close(F.erf(shendu.tensor(x)).numpy(), expected, rtol=2e-15, atol=0, what="erf")


def test_gelu_left_tail_stays_accurate():
    # x·Φ(x) for x = -10 is -7.6e-23; 1 + erf(x/√2) would cancel to 0.
    y = F.gelu(shendu.tensor(np.array([-10.0]))).item()
    assert y == pytest.approx(-7.619853024160527e-23, rel=1e-12)


def test_float32_erfc_and_gelu_keep_relative_precision():
    # float32 GELU takes the cheaper Chebyshev erfc: relative error near float32's own, tails included
    from shendu.ops.special import erfc_nonnegative_fast
    # (references at the float32-rounded inputs; z² rounded to float32 costs up to 0.5 ulp(z²) in the exponent)
    z = np.linspace(0, 9, 4001).astype(np.float32)
    exact = np.array([math.erfc(v) for v in z.astype(np.float64)])
    relative = np.abs(erfc_nonnegative_fast(z) / exact - 1)
    assert np.max(relative[z <= 3]) < 2e-6 and np.max(relative) < 1e-5
    x = np.linspace(-9, 9, 4001).astype(np.float32).astype(np.float64)
    y32 = F.gelu(shendu.tensor(x.astype(np.float32))).numpy().astype(np.float64)
    y64 = F.gelu(shendu.tensor(x)).numpy()
    nonzero = y64 != 0
    assert np.max(np.abs(y32[nonzero] / y64[nonzero] - 1)) < 1e-5
    t32 = shendu.tensor(x.astype(np.float32), requires_grad=True)
    t64 = shendu.tensor(x, requires_grad=True)
    F.gelu(t32).sum().backward()
    F.gelu(t64).sum().backward()
    assert np.max(np.abs(t32.grad.numpy() - t64.grad.numpy())) < 1e-6


@pytest.mark.parametrize("shape", [(130, 600), (70001,), (3, 40000)], ids=str)
def test_float32_gelu_in_cache_sized_pieces_covers_every_number(shape):
    """NumPy's float32 GELU runs in pieces of ~2¹⁵ numbers (a partial last piece, rows wider than a piece,
    1-d input): every number as the float64 reference."""
    x = np.random.default_rng(0).standard_normal(shape) * 3
    with shendu.backend.use_kernels("numpy"):
        y32 = F.gelu(shendu.tensor(x.astype(np.float32))).numpy().astype(np.float64)
        y64 = F.gelu(shendu.tensor(x.astype(np.float32).astype(np.float64))).numpy()
    assert np.max(np.abs(y32 - y64) / np.maximum(np.abs(y64), 1e-3)) < 1e-5


def test_sigmoid_and_softplus_do_not_overflow():
    x = shendu.tensor(np.array([-1e4, -800.0, 800.0, 1e4]), requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s = F.softplus(x, threshold=1e9)
        (s.sum() + F.sigmoid(x).sum() + F.silu(x).sum()).backward()
    assert np.allclose(s.numpy(), [0.0, 0.0, 800.0, 1e4], rtol=1e-15, atol=0)
    assert np.all(np.isfinite(x.grad.numpy()))


def test_step_and_heaviside():
    x = np.array([-2.0, -1e-9, 0.0, 1e-9, 3.0])
    t = shendu.tensor(x, requires_grad=True)
    y = F.step(t)
    assert y.numpy().tolist() == [0, 0, 0, 1, 1]
    y.sum().backward()
    assert np.all(t.grad.numpy() == 0)
    assert F.step(shendu.tensor(x), threshold=1.0).numpy().tolist() == [0, 0, 0, 0, 1]
    for v in (0.0, 0.5, 1.0):
        expected = torch.heaviside(torch.tensor(x), torch.tensor(v, dtype=torch.float64)).numpy()
        assert F.heaviside(shendu.tensor(x), v).numpy().tolist() == expected.tolist()


LAYERS = [
    (nn.ReLU(), torch.nn.ReLU()), (nn.Sigmoid(), torch.nn.Sigmoid()), (nn.Tanh(), torch.nn.Tanh()),
    (nn.LeakyReLU(0.1), torch.nn.LeakyReLU(0.1)), (nn.ELU(alpha=0.7), torch.nn.ELU(alpha=0.7)),
    (nn.SELU(), torch.nn.SELU()), (nn.GELU(), torch.nn.GELU()), (nn.GELU("tanh"), torch.nn.GELU("tanh")),
    (nn.SiLU(), torch.nn.SiLU()), (nn.Softplus(beta=0.5), torch.nn.Softplus(beta=0.5)),
    (nn.Softsign(), torch.nn.Softsign()), (nn.Hardsigmoid(), torch.nn.Hardsigmoid()),
    (nn.Hardswish(), torch.nn.Hardswish()), (nn.Hardtanh(-2.0, 2.0), torch.nn.Hardtanh(-2.0, 2.0)),
    (nn.ReLU6(), torch.nn.ReLU6()), (nn.Threshold(0.1, 20.0), torch.nn.Threshold(0.1, 20.0)),
    (nn.Softmax(dim=1), torch.nn.Softmax(dim=1)), (nn.LogSoftmax(dim=0), torch.nn.LogSoftmax(dim=0)),
]


@pytest.mark.parametrize("sd_layer,torch_layer", LAYERS, ids=[type(p[0]).__name__ for p in LAYERS])
def test_layer_matches_torch(sd_layer, torch_layer):
    tol = LOOSER["hardsigmoid"] if isinstance(sd_layer, nn.Hardsigmoid) else None
    check_module(sd_layer, torch_layer, [np.random.default_rng(3).uniform(-5, 5, (3, 4))], tol=tol)
    assert repr(sd_layer) == repr(torch_layer)


def test_step_layer():
    layer = nn.Step(threshold=0.5)
    assert layer(shendu.tensor([0.2, 0.5, 0.7])).numpy().tolist() == [0, 0, 1]
    assert repr(layer) == "Step(threshold=0.5)"


def test_layers_compose_in_a_sequential():
    net = nn.Sequential(nn.Tanh(), nn.GELU(), nn.Softmax(dim=1))
    assert shendu.gradcheck(lambda t: net(t), shendu.randn(2, 3, dtype=shendu.float64))


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "softmax", "linear", "swish", "gelu", "elu", "selu",
                                  "softplus", "softsign", "hard_sigmoid", "leaky_relu", "RELU"])
def test_get_activation_names(name):
    fn = F.get_activation(name)
    x = shendu.tensor(inputs()[:, :5])
    reference = {"linear": F.identity, "swish": F.silu, "hard_sigmoid": F.hardsigmoid}.get(
        name.lower(), getattr(F, name.lower(), None))
    assert np.array_equal(fn(x).numpy(), reference(x).numpy())


def test_get_activation_none_callable_and_errors():
    x = shendu.tensor([1.0, -2.0])
    assert F.get_activation(None)(x) is x
    layer = nn.ReLU()
    assert F.get_activation(layer) is layer
    assert F.get_activation(F.gelu) is F.gelu
    with pytest.raises(ValueError, match="unknown activation 'relu7'.*valid names:.*hard_sigmoid.*softmax"):
        F.get_activation("relu7")
    with pytest.raises(TypeError, match="get_activation"):
        F.get_activation(3)


def test_option_errors_name_the_function():
    x = shendu.tensor([1.0])
    with pytest.raises(ValueError, match="gelu: approximate"):
        F.gelu(x, approximate="sigmoid")
    with pytest.raises(ValueError, match="hardtanh: min_val"):
        F.hardtanh(x, 2.0, 1.0)
    with pytest.raises(IndexError, match="softmax: dim 2"):
        F.softmax(shendu.tensor([[1.0, 2.0]]), dim=2)
