"""Regularizers: values, gradients (PyTorch, finite differences), lookup, collection from a model."""
import numpy as np
import pytest

import shendu
from shendu import nn
from shendu.nn import regularizers as R
from harness import check

torch = pytest.importorskip("torch")


def weights(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ---------------------------------------------------------------- penalties
@pytest.mark.parametrize("shape", [(7,), (4, 5), (3, 2, 3, 3)])
@pytest.mark.parametrize("reg, torch_fn", [
    (R.L1(0.3), lambda w: 0.3 * w.abs().sum()),
    (R.L2(0.3), lambda w: 0.3 * (w * w).sum()),
    (R.L1L2(0.2, 0.7), lambda w: 0.2 * w.abs().sum() + 0.7 * (w * w).sum()),
    (R.L1(), lambda w: 0.01 * w.abs().sum()),
    (R.l2(), lambda w: 0.01 * (w * w).sum()),
], ids=["l1", "l2", "l1l2", "l1_default", "l2_default"])
def test_penalty_and_gradient_match_torch(shape, reg, torch_fn):
    check(reg, torch_fn, [weights(*shape)])


def test_formulas_by_hand():
    w = shendu.tensor([1.0, -2.0, 0.5], dtype=shendu.float64)
    assert R.L1(0.1)(w).item() == pytest.approx(0.1 * 3.5, rel=1e-15)
    assert R.L2(0.1)(w).item() == pytest.approx(0.1 * 5.25, rel=1e-15)      # no ½, as Keras
    assert R.L1L2(0.1, 0.2)(w).item() == pytest.approx(0.35 + 1.05, rel=1e-15)
    assert R.L2()(w).item() == pytest.approx(0.0525, rel=1e-15)             # Keras default l = 0.01


def test_l2_equals_sgd_weight_decay_with_half_the_factor():
    """One SGD step: torch's weight_decay=λ on the data loss == our L2(λ/2) added to the loss."""
    lam, lr = 0.1, 0.5
    w0, c = weights(3, 4), weights(3, 4, seed=1)
    w = nn.Parameter(shendu.tensor(w0, dtype=shendu.float64))
    loss = (w * shendu.tensor(c)).sum() + R.L2(lam / 2)(w)
    loss.backward()
    ours = w0 - lr * w.grad.numpy()
    wt = torch.tensor(w0, requires_grad=True)
    opt = torch.optim.SGD([wt], lr=lr, weight_decay=lam)
    (wt * torch.tensor(c)).sum().backward()
    opt.step()
    np.testing.assert_allclose(ours, wt.detach().numpy(), rtol=1e-12)


def test_l1_gradient_at_zero_is_zero_like_torch():
    w = shendu.tensor([0.0, 1.0, -1.0], dtype=shendu.float64, requires_grad=True)
    R.L1(1.0)(w).backward()
    np.testing.assert_array_equal(w.grad.numpy(), [0.0, 1.0, -1.0])


# ---------------------------------------------------------------- get
def test_get():
    assert R.get(None) is None
    assert isinstance(R.get("l1"), R.L1) and R.get("L1").l == 0.01
    assert isinstance(R.get("l2"), R.L2)
    assert isinstance(R.get("l1_l2"), R.L1L2) and (R.get("l1_l2").l1, R.get("l1_l2").l2) == (0.01, 0.01)
    custom = lambda w: w.sum()  # noqa: E731
    assert R.get(custom) is custom
    reg = R.L2(1e-4)
    assert R.get(reg) is reg
    again = R.get({"class_name": type(reg).__name__, "config": reg.get_config()})
    assert isinstance(again, R.L2) and again.l == 1e-4
    assert repr(R.L1L2(0.5, 0.25)) == "L1L2(l1=0.5, l2=0.25)"


def test_get_errors_name_what_came():
    with pytest.raises(ValueError, match="'l3'"):
        R.get("l3")
    with pytest.raises(ValueError, match="'L9'"):
        R.get({"class_name": "L9"})
    with pytest.raises(TypeError, match="42"):
        R.get(42)


# ---------------------------------------------------------------- collection from a model
class Affine(nn.Module):
    """A minimal layer (no dependency on Dense): y = x Wᵀ + b, with Keras-style regularizer attributes."""

    def __init__(self, n_in, n_out, kernel_regularizer=None, bias_regularizer=None, seed=0):
        super().__init__()
        self.weight = nn.Parameter(shendu.tensor(weights(n_out, n_in, seed=seed)))
        self.bias = nn.Parameter(shendu.tensor(weights(n_out, seed=seed + 10)))
        self.kernel_regularizer = kernel_regularizer
        self.bias_regularizer = bias_regularizer

    def forward(self, x):
        return shendu.linear(x, self.weight, self.bias)


def make_model(dtype=shendu.float64):
    return nn.Sequential(
        Affine(3, 4, kernel_regularizer="l2", bias_regularizer=R.L1(0.1), seed=0),
        Affine(4, 4, seed=1),                                             # no regularizer
        Affine(4, 2, kernel_regularizer=lambda w: 0.5 * (w.sum() ** 2), seed=2),   # a custom one
    ).to(dtype=dtype)


def expected_penalty(model):
    w0, b0, w2 = (m.numpy() for m in (model[0].weight, model[0].bias, model[2].weight))
    return 0.01 * (w0 ** 2).sum() + 0.1 * np.abs(b0).sum() + 0.5 * w2.sum() ** 2


def test_regularization_loss_value_and_method():
    model = make_model()
    loss = R.regularization_loss(model)
    assert loss.shape == ()
    assert loss.item() == pytest.approx(expected_penalty(model), rel=1e-12)
    assert model.regularization_loss().item() == loss.item()


def test_regularization_loss_gradients_match_torch():
    model = make_model()
    R.regularization_loss(model).backward()
    tw0, tb0, tw2 = (torch.tensor(m.numpy(), requires_grad=True)
                     for m in (model[0].weight, model[0].bias, model[2].weight))
    (0.01 * (tw0 ** 2).sum() + 0.1 * tb0.abs().sum() + 0.5 * tw2.sum() ** 2).backward()
    for ours, theirs in ((model[0].weight, tw0), (model[0].bias, tb0), (model[2].weight, tw2)):
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert model[1].weight.grad is None and model[2].bias.grad is None   # unregularised: untouched


class Penalised(nn.Module):
    """A data loss plus the penalty: what a training step differentiates."""

    def __init__(self):
        super().__init__()
        self.body = make_model()

    def forward(self, x):
        return (self.body(x) ** 2).mean() + self.regularization_loss()


def test_regularization_loss_passes_gradcheck():
    assert shendu.gradcheck(Penalised(), shendu.tensor(weights(5, 3, seed=7)))


def test_no_regularizer_gives_a_zero_tensor():
    model = nn.Sequential(Affine(3, 2)).to(dtype=shendu.float64)
    loss = R.regularization_loss(model)
    assert isinstance(loss, shendu.Tensor) and loss.shape == () and loss.item() == 0.0
    assert loss.dtype == shendu.float64
    total = (model(shendu.ones(1, 3, dtype=shendu.float64)) ** 2).sum() + loss
    total.backward()                                  # adding it to a loss is harmless
    assert model[0].weight.grad is not None


def test_unbuilt_layer_contributes_nothing():
    """A lazy layer whose weight does not exist yet (before its first call) is skipped."""
    model = nn.Sequential(Affine(2, 2, kernel_regularizer="l1"))
    model[0].register_parameter("weight", None)
    model[0].bias_regularizer = "l2"
    assert R.regularization_loss(model).item() == pytest.approx(0.01 * (model[0].bias.numpy() ** 2).sum(), rel=1e-6)


def test_regularizer_on_the_model_itself_and_shared_modules():
    layer = Affine(2, 2, kernel_regularizer=R.L1(1.0))
    model = nn.Sequential(layer, layer)               # a shared layer is penalised once
    assert R.regularization_loss(model).item() == pytest.approx(np.abs(layer.weight.numpy()).sum(), rel=1e-6)
    assert R.regularization_loss(layer).item() == pytest.approx(np.abs(layer.weight.numpy()).sum(), rel=1e-6)


def test_with_dense_if_available():
    Dense = getattr(nn, "Dense", None)
    if Dense is None:
        pytest.skip("shendu.nn.Dense is not written yet")
    layer = Dense(3, kernel_regularizer="l2", bias_regularizer=R.L1(0.1))
    layer(shendu.ones(2, 4))                          # builds the weights
    w, b = layer.weight.numpy(), layer.bias.numpy()
    expected = 0.01 * (w.astype(np.float64) ** 2).sum() + 0.1 * np.abs(b.astype(np.float64)).sum()
    assert R.regularization_loss(nn.Sequential(layer)).item() == pytest.approx(expected, rel=1e-5)
