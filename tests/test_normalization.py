"""BatchNorm1d/2d/3d and LayerNorm: fused forward/backward against torch.nn, the composed version and
finite differences; running statistics over several training steps; train vs eval."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import shendu
import shendu.functional as F
from shendu import nn
from harness import assert_close, check, check_module

torch = pytest.importorskip("torch")
RNG = np.random.default_rng(0)
TIGHT = dict(rtol=1e-10, atol=1e-12)


def randn(*shape, scale=1.0, shift=0.0):
    return RNG.standard_normal(shape) * scale + shift


def randomise(torch_bn):
    """Non-trivial γ, β and running statistics, so that copying them is tested."""
    with torch.no_grad():
        c = torch_bn.num_features
        if torch_bn.affine:
            torch_bn.weight.copy_(torch.tensor(randn(c) * 0.5 + 1))
            torch_bn.bias.copy_(torch.tensor(randn(c)))
        if torch_bn.track_running_stats:
            torch_bn.running_mean.copy_(torch.tensor(randn(c)))
            torch_bn.running_var.copy_(torch.tensor(np.abs(randn(c)) + 0.5))
    return torch_bn


# ---------------------------------------------------------------- BatchNorm against torch
@pytest.mark.parametrize("cls, shape", [("BatchNorm1d", (6, 3)), ("BatchNorm1d", (4, 3, 5)),
                                        ("BatchNorm2d", (4, 3, 2, 5)), ("BatchNorm3d", (2, 3, 2, 2, 3))])
@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("affine, track", [(True, True), (False, True), (True, False)])
@pytest.mark.usefixtures("kernels")
def test_batchnorm_matches_torch(cls, shape, train, affine, track):
    kw = dict(affine=affine, track_running_stats=track)
    ref = randomise(getattr(torch.nn, cls)(shape[1], **kw))
    ours = getattr(nn, cls)(shape[1], **kw)
    check_module(ours, ref, [randn(*shape, scale=2.0, shift=1.0)], train=train)
    if track:  # after one step in train mode, the running statistics moved the same way
        for name, value in ref.state_dict().items():
            assert_close(ours.state_dict()[name].numpy(), value.numpy(), what=name, **TIGHT)


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
@pytest.mark.usefixtures("kernels")
def test_batchnorm_running_statistics_after_several_steps_match_torch(momentum):
    ours, ref = nn.BatchNorm2d(4, momentum=momentum).double(), torch.nn.BatchNorm2d(4, momentum=momentum).double()
    for step in range(5):
        x = randn(3 + step, 4, 3, 2, scale=1 + step, shift=step - 2)
        y = ours(shendu.tensor(x))
        assert_close(y.numpy(), ref(torch.tensor(x)).detach().numpy(), what=f"output of step {step}", **TIGHT)
    for name, value in ref.state_dict().items():
        assert_close(ours.state_dict()[name].numpy(), value.numpy(), what=name, **TIGHT)
    assert int(ours.num_batches_tracked.item()) == 5
    ours.eval(), ref.eval()
    x = randn(2, 4, 3, 3)
    assert_close(ours(shendu.tensor(x)).numpy(), ref(torch.tensor(x)).detach().numpy(), what="eval", **TIGHT)


@pytest.mark.usefixtures("kernels")
def test_batchnorm_train_normalises_and_eval_uses_running_statistics():
    bn = nn.BatchNorm1d(3)
    x = randn(500, 3, scale=3.0, shift=5.0).astype(np.float32)
    y = bn(shendu.tensor(x)).numpy()
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(y.var(0), 1, atol=1e-3)
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.1 * x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.9 + 0.1 * x.var(0, ddof=1), rtol=1e-5)
    bn.eval()
    before = bn.running_mean.numpy().copy()
    one = bn(shendu.tensor(x[:1])).numpy()  # a batch of one is fine in evaluation
    expected = (x[:1] - bn.running_mean.numpy()) / np.sqrt(bn.running_var.numpy() + 1e-5)
    np.testing.assert_allclose(one, expected, rtol=1e-5)
    np.testing.assert_array_equal(bn.running_mean.numpy(), before)
    assert int(bn.num_batches_tracked.item()) == 1


@pytest.mark.usefixtures("kernels")
def test_batchnorm_float32_stays_float32():
    bn = nn.BatchNorm2d(2)
    x = shendu.randn(4, 2, 3, 3, requires_grad=True)
    y = bn(x)
    y.sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32 and bn.weight.grad.dtype == np.float32
    assert bn.running_var.dtype == np.float32
    bn.eval()
    assert bn(x).dtype == np.float32


def test_batchnorm_errors():
    with pytest.raises(ValueError, match=r"^BatchNorm2d: expected input of shape \(N, C, H, W\) with C = 16, "
                                         r"got shape \(8, 3, 4, 4\)$"):
        nn.BatchNorm2d(16)(shendu.randn(8, 3, 4, 4))
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected input of shape \(N, C\) or \(N, C, L\)"):
        nn.BatchNorm1d(3)(shendu.randn(2, 3, 4, 4))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(shendu.randn(1, 3))


def test_batchnorm_reset_and_macs():
    bn = nn.BatchNorm1d(2)
    x = shendu.randn(5, 2) * 3
    y = bn(x)
    bn.reset_running_stats()
    assert np.all(bn.running_mean.numpy() == 0) and np.all(bn.running_var.numpy() == 1)
    assert int(bn.num_batches_tracked.item()) == 0
    assert bn.macs((x,), y) == 10


# ---------------------------------------------------------------- fused vs composed, gradcheck
def composed_batch_norm(x, w, b, eps=1e-5):
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) * (x - mean)).mean(axis=axes, keepdims=True)
    return (x - mean) / (var + eps).sqrt() * w.reshape(shape) + b.reshape(shape)


def composed_layer_norm(x, w, b, k, eps=1e-5):
    axes = tuple(range(x.ndim - k, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) * (x - mean)).mean(axis=axes, keepdims=True)
    return (x - mean) / (var + eps).sqrt() * w + b


@pytest.mark.parametrize("shape", [(5, 3), (3, 2, 4), (2, 3, 2, 3)])
def test_fused_batch_norm_equals_composed_ops(shape):
    x, w, b, g = randn(*shape, scale=2.0), randn(shape[1]), randn(shape[1]), randn(*shape)
    outs, grads = [], []
    for fn in (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), composed_batch_norm):
        ts = [shendu.tensor(a, requires_grad=True) for a in (x, w, b)]
        y = fn(*ts)
        (y * shendu.tensor(g)).sum().backward()
        outs.append(y.numpy())
        grads.append([t.grad.numpy() for t in ts])
    assert_close(outs[0], outs[1], what="output", **TIGHT)
    for name, a, c in zip("xwb", grads[0], grads[1]):
        assert_close(a, c, what=f"gradient of {name}", **TIGHT)


def test_fused_layer_norm_equals_composed_ops():
    x, w, b, g = randn(3, 4, 5), randn(4, 5), randn(4, 5), randn(3, 4, 5)
    outs, grads = [], []
    for fn in (lambda x, w, b: F.layer_norm(x, (4, 5), w, b), lambda x, w, b: composed_layer_norm(x, w, b, 2)):
        ts = [shendu.tensor(a, requires_grad=True) for a in (x, w, b)]
        y = fn(*ts)
        (y * shendu.tensor(g)).sum().backward()
        outs.append(y.numpy())
        grads.append([t.grad.numpy() for t in ts])
    assert_close(outs[0], outs[1], what="output", **TIGHT)
    for name, a, c in zip("xwb", grads[0], grads[1]):
        assert_close(a, c, what=f"gradient of {name}", **TIGHT)


@pytest.mark.parametrize("shape", [(4, 3), (3, 2, 4), (2, 2, 3, 2)])
@pytest.mark.usefixtures("kernels")
def test_batch_norm_functional_matches_torch_float32_and_float64_and_gradcheck(shape):
    check(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
          lambda x, w, b: torch.nn.functional.batch_norm(x, None, None, w, b, training=True),
          [randn(*shape, scale=2.0, shift=1.0), randn(shape[1]), randn(shape[1])])
    rm, rv = randn(shape[1]), np.abs(randn(shape[1])) + 0.5
    check(lambda x, w, b: F.batch_norm(x, shendu.tensor(rm, dtype=x.dtype), shendu.tensor(rv, dtype=x.dtype), w, b),
          lambda x, w, b: torch.nn.functional.batch_norm(x, torch.tensor(rm, dtype=x.dtype),
                                                         torch.tensor(rv, dtype=x.dtype), w, b),
          [randn(*shape), randn(shape[1]), randn(shape[1])])


@pytest.mark.usefixtures("kernels")
def test_batchnorm_module_parameter_gradcheck_train_and_eval():
    x = shendu.tensor(randn(5, 3, 2))
    bn = randomise_ours(nn.BatchNorm1d(3).double())
    assert shendu.gradcheck(bn, x)
    bn.eval()
    assert shendu.gradcheck(bn, x)
    assert shendu.gradcheck(bn, x.double()) and shendu.gradcheck(lambda t: bn(t), x)


def randomise_ours(bn):
    bn.weight.data = randn(bn.num_features) + 1.5
    bn.bias.data = randn(bn.num_features)
    bn.running_mean.data = randn(bn.num_features)
    bn.running_var.data = np.abs(randn(bn.num_features)) + 0.5
    return bn


# ---------------------------------------------------------------- LayerNorm
@pytest.mark.parametrize("normalized_shape, shape", [(5, (3, 5)), ((4, 5), (2, 3, 4, 5)), (3, (3,))])
@pytest.mark.parametrize("affine, bias", [(True, True), (True, False), (False, False)])
def test_layernorm_matches_torch(normalized_shape, shape, affine, bias):
    for train in (True, False):  # no running statistics: the same in both modes
        ref = torch.nn.LayerNorm(normalized_shape, elementwise_affine=affine, bias=bias)
        if affine:
            with torch.no_grad():
                ref.weight.copy_(torch.tensor(randn(*ref.weight.shape)))
                if bias:
                    ref.bias.copy_(torch.tensor(randn(*ref.bias.shape)))
        ours = nn.LayerNorm(normalized_shape, elementwise_affine=affine, bias=bias)
        check_module(ours, ref, [randn(*shape, scale=3.0, shift=-1.0)], train=train)


@settings(max_examples=10)
@given(st.lists(st.integers(1, 3), min_size=1, max_size=2), st.lists(st.integers(2, 4), min_size=1, max_size=2))
def test_layer_norm_functional_against_torch_any_shape(lead, norm):
    # inputs from a generator of this example's own (not the module's, whose state depends on the tests
    # before); float32 tolerance 1e-4: with 2–4 elements per group, dL/dx = (ĝ − mean ĝ − x̂·mean(ĝx̂))/σ
    # cancels to a few ulps of ĝ, and shendu and torch round those differently
    rng = np.random.default_rng([*lead, 0, *norm])
    check(lambda x, w, b: F.layer_norm(x, tuple(norm), w, b),
          lambda x, w, b: torch.nn.functional.layer_norm(x, tuple(norm), w, b),
          [rng.standard_normal((*lead, *norm)), rng.standard_normal(norm), rng.standard_normal(norm)],
          tol={np.float32: dict(rtol=1e-4, atol=1e-4)})


def test_layernorm_gradcheck_and_errors_and_macs():
    ln = nn.LayerNorm((2, 3)).double()
    ln.weight.data, ln.bias.data = randn(2, 3), randn(2, 3)
    x = shendu.tensor(randn(4, 2, 3))
    assert shendu.gradcheck(ln, x) and shendu.gradcheck(lambda t: ln(t), x)
    assert ln.macs((x,), ln(x)) == 24
    with pytest.raises(ValueError, match=r"^LayerNorm: expected input with trailing dimensions \(2, 3\), "
                                         r"got shape \(4, 3, 2\)$"):
        ln(shendu.randn(4, 3, 2))
    with pytest.raises(ValueError, match="trailing dimensions"):
        ln(shendu.randn(3))
    with pytest.raises(ValueError, match=r"^layer_norm: expected input with trailing dimensions \(4,\)"):
        F.layer_norm(shendu.randn(2, 3), 4)
