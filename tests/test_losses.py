"""Losses (shendu.functional.loss, shendu.nn.loss) against PyTorch, for every reduction.

Forward and the gradients of every floating input are compared in float32 and
float64 by the harness, which also runs finite differences. Keras-only losses
are compared with their formula written in torch. The fused softmax
cross-entropy is also compared with its composed form, and logits of magnitude
1e4 must give finite, exact losses and gradients.
"""
import numpy as np
import pytest

import shendu
import shendu.functional as F
import shendu.nn as nn
from harness import assert_close, check

torch = pytest.importorskip("torch")
TF = torch.nn.functional

REDUCTIONS = ["mean", "sum", "none"]


def randn(*shape, scale=1.0, seed=0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


def labels(*shape, seed=0):
    """±1 labels as floats."""
    return np.where(np.random.default_rng(seed).random(shape) < 0.5, -1.0, 1.0)


def torch_msle(x, y, reduction):
    d = (torch.log(torch.clamp(x, min=1e-7) + 1) - torch.log(torch.clamp(y, min=1e-7) + 1)) ** 2
    return _torch_reduce(d, reduction)


def torch_mape(x, y, reduction):
    return _torch_reduce(100 * (y - x).abs() / torch.clamp(y.abs(), min=1e-7), reduction)


def _torch_reduce(loss, reduction):
    return {"mean": loss.mean, "sum": loss.sum, "none": lambda: loss}[reduction]()


# --------------------------------------------------------------------- regression and margins
ELEMENTWISE = [
    ("mse_loss", F.mse_loss, TF.mse_loss, lambda: [randn(3, 4), randn(3, 4, seed=1)]),
    ("l1_loss", F.l1_loss, TF.l1_loss, lambda: [randn(3, 4), randn(3, 4, seed=1)]),
    ("huber_loss", lambda x, y, reduction: F.huber_loss(x, y, reduction, delta=0.7),
     lambda x, y, reduction: TF.huber_loss(x, y, reduction=reduction, delta=0.7),
     lambda: [randn(3, 4), randn(3, 4, seed=1)]),
    ("smooth_l1_loss", lambda x, y, reduction: F.smooth_l1_loss(x, y, reduction, beta=0.6),
     lambda x, y, reduction: TF.smooth_l1_loss(x, y, reduction=reduction, beta=0.6),
     lambda: [randn(3, 4), randn(3, 4, seed=1)]),
    ("smooth_l1_beta0", lambda x, y, reduction: F.smooth_l1_loss(x, y, reduction, beta=0.0),
     lambda x, y, reduction: TF.smooth_l1_loss(x, y, reduction=reduction, beta=0.0),
     lambda: [randn(3, 4), randn(3, 4, seed=1)]),
    ("msle", F.msle, torch_msle, lambda: [np.abs(randn(3, 4)) * 5 + 0.01, np.abs(randn(3, 4, seed=1)) * 5]),
    ("mape", F.mape, torch_mape, lambda: [randn(3, 4), randn(3, 4, seed=1) + 3]),
    ("hinge_loss", F.hinge_loss, lambda x, y, reduction: _torch_reduce(torch.clamp(1 - y * x, min=0), reduction),
     lambda: [randn(3, 4), labels(3, 4)]),
    ("squared_hinge_loss", F.squared_hinge_loss,
     lambda x, y, reduction: _torch_reduce(torch.clamp(1 - y * x, min=0) ** 2, reduction),
     lambda: [randn(3, 4), labels(3, 4)]),
    ("exponential_loss", F.exponential_loss, lambda x, y, reduction: _torch_reduce(torch.exp(-y * x), reduction),
     lambda: [randn(3, 4), labels(3, 4)]),
    ("cosine_similarity_loss", F.cosine_similarity_loss,
     lambda x, y, reduction: _torch_reduce(-TF.cosine_similarity(x, y, dim=-1), reduction),
     lambda: [randn(3, 4), randn(3, 4, seed=1)]),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,sd_fn,torch_fn,make", ELEMENTWISE, ids=[c[0] for c in ELEMENTWISE])
def test_elementwise_loss_matches_torch(name, sd_fn, torch_fn, make, reduction):
    check(lambda x, y: sd_fn(x, y, reduction=reduction), lambda x, y: torch_fn(x, y, reduction=reduction), make())


def test_huber_and_smooth_l1_at_the_switch_point():
    x = np.array([0.0, 0.7, -0.7, 1.0, -1.0, 0.2])
    y = np.zeros(6)
    check(lambda a, b: F.huber_loss(a, b, delta=0.7), lambda a, b: TF.huber_loss(a, b, delta=0.7), [x, y],
          gradcheck=False)
    check(lambda a, b: F.smooth_l1_loss(a, b, beta=1.0), lambda a, b: TF.smooth_l1_loss(a, b, beta=1.0), [x, y],
          gradcheck=False)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_hinge_embedding_loss(reduction):
    check(lambda x, y: F.hinge_embedding_loss(x, y, margin=0.5, reduction=reduction),
          lambda x, y: TF.hinge_embedding_loss(x, y, margin=0.5, reduction=reduction),
          [np.abs(randn(8)) + 0.05, labels(8)], grad_inputs=[0])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cosine_embedding_loss(reduction):
    check(lambda a, b, y: F.cosine_embedding_loss(a, b, y, margin=0.1, reduction=reduction),
          lambda a, b, y: TF.cosine_embedding_loss(a, b, y, margin=0.1, reduction=reduction),
          [randn(5, 3), randn(5, 3, seed=1), labels(5)], grad_inputs=[0, 1])


def test_mismatched_regression_shapes_warn_and_broadcast():
    x, y = shendu.randn(4, 1), shendu.randn(4)
    with pytest.warns(UserWarning, match=r"mse_loss: target shape \(4,\) differs from input shape \(4, 1\)"):
        assert F.mse_loss(x, y, reduction="none").shape == (4, 4)


def test_bad_reduction_is_an_error():
    x = shendu.randn(3)
    with pytest.raises(ValueError, match="mse_loss: reduction must be one of 'mean', 'sum', 'none', got 'avg'"):
        F.mse_loss(x, x, reduction="avg")
    with pytest.raises(ValueError, match="cross_entropy: reduction"):
        F.cross_entropy(shendu.randn(2, 3), shendu.tensor([0, 1]), reduction="batchmean")
    with pytest.raises(ValueError, match="MSELoss: reduction"):
        nn.MSELoss(reduction="avg")


# --------------------------------------------------------------------- binary classification
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy(reduction, weighted):
    p = np.random.default_rng(0).uniform(0.02, 0.98, (3, 4))
    y = np.random.default_rng(1).uniform(0, 1, (3, 4))
    w = np.random.default_rng(2).uniform(0.5, 2, (4,))
    if weighted:
        check(lambda a, b, c: F.binary_cross_entropy(a, b, weight=c, reduction=reduction),
              lambda a, b, c: TF.binary_cross_entropy(a, b, weight=c, reduction=reduction), [p, y, w],
              grad_inputs=[0, 1])
    else:
        check(lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction),
              lambda a, b: TF.binary_cross_entropy(a, b, reduction=reduction), [p, y])


def test_binary_cross_entropy_clamps_saturated_probabilities():
    p = np.array([0.0, 1.0, 0.0, 1.0, 1e-30, 1 - 1e-16])
    y = np.array([1.0, 0.0, 0.0, 1.0, 0.5, 0.5])
    # PyTorch's gradient floor p(1 − p) ≥ 1e-12 is the float32 constant 1e-12f (= 1e-12·(1 − 4e-9)).
    # Its target gradient −logit(p) is not clamped (±inf at p = 0, 1); shendu differentiates the
    # clamped forward instead, so only the input gradient is compared here.
    check(lambda a, b: F.binary_cross_entropy(a, b, reduction="none"),
          lambda a, b: TF.binary_cross_entropy(a, b, reduction="none"), [p, y], gradcheck=False,
          dtypes=(np.float64,), tol={np.float64: dict(rtol=1e-8, atol=0)}, grad_inputs=[0])
    t = shendu.tensor(y, requires_grad=True)
    F.binary_cross_entropy(shendu.tensor(p), t, reduction="sum").backward()
    assert np.all(np.isfinite(t.grad.numpy()))
    assert F.binary_cross_entropy(shendu.tensor(p), shendu.tensor(y), reduction="sum").item() < 1e3


LOGITS = np.array([[1e4, -1e4, 50.0, -50.0], [0.3, -0.7, 1e-8, 2.0], [-3.0, 4.0, -1e4 + 1, 1e4 - 1]])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", ["plain", "weight", "pos_weight", "both"])
def test_binary_cross_entropy_with_logits(reduction, options):
    y = np.random.default_rng(1).uniform(0, 1, LOGITS.shape)
    w = np.random.default_rng(2).uniform(0.5, 2, (3, 1))
    pw = np.random.default_rng(3).uniform(0.5, 3, (4,))
    kw = lambda c, d: dict(weight=c if options in ("weight", "both") else None,  # noqa: E731
                           pos_weight=d if options in ("pos_weight", "both") else None, reduction=reduction)
    check(lambda a, b, c, d: F.binary_cross_entropy_with_logits(a, b, **kw(c, d)),
          lambda a, b, c, d: TF.binary_cross_entropy_with_logits(a, b, **kw(c, d)),
          [LOGITS, y, w, pw], grad_inputs=[0, 1])


def test_bce_with_logits_pos_weight_gradient():
    x, y = randn(3, 4, scale=3), np.random.default_rng(1).uniform(0, 1, (3, 4))
    pw = shendu.tensor(np.random.default_rng(3).uniform(0.5, 3, (4,)), dtype=shendu.float64)
    assert shendu.gradcheck(lambda p: F.binary_cross_entropy_with_logits(shendu.tensor(x), shendu.tensor(y),
                                                                         pos_weight=p, reduction="sum"), pw)


def test_binary_losses_demand_matching_shapes():
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: target shape \(4,\) differs"):
        F.binary_cross_entropy_with_logits(shendu.randn(4, 1), shendu.rand(4))
    with pytest.raises(ValueError, match="binary_cross_entropy: target shape"):
        F.binary_cross_entropy(shendu.rand(4, 1), shendu.rand(4))


# --------------------------------------------------------------------- multi-class classification
def class_case(shape, seed=0, scale=2.0, ignore=False):
    """Logits of ``shape`` (classes on axis 1, or axis 0 for 1-d) and integer targets."""
    r = np.random.default_rng(seed)
    c = shape[0] if len(shape) == 1 else shape[1]
    t_shape = () if len(shape) == 1 else (shape[0],) + tuple(shape[2:])
    t = r.integers(0, c, t_shape)
    if ignore and t.ndim:
        t.reshape(-1)[::3] = -100
    return r.standard_normal(shape) * scale, t, r.uniform(0.3, 2.0, c)


SHAPES = [(5, 4), (2, 3, 2, 2), (4,)]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("weighted,ignore,smoothing", [(False, False, 0.0), (True, True, 0.0), (False, True, 0.2),
                                                       (True, False, 0.1), (True, True, 0.3)])
def test_cross_entropy_with_class_indices(shape, reduction, weighted, ignore, smoothing):
    x, t, w = class_case(shape, ignore=ignore)
    kw = dict(reduction=reduction, label_smoothing=smoothing)
    if weighted:
        check(lambda a, b, c: F.cross_entropy(a, b, weight=c, **kw),
              lambda a, b, c: TF.cross_entropy(a, b, weight=c, **kw), [x, t, w], grad_inputs=[0])
    else:
        check(lambda a, b: F.cross_entropy(a, b, **kw), lambda a, b: TF.cross_entropy(a, b, **kw), [x, t])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss(shape, reduction, weighted):
    x, t, w = class_case(shape, ignore=weighted)
    x = TF.log_softmax(torch.tensor(x), dim=0 if len(shape) == 1 else 1).numpy()
    if weighted:
        check(lambda a, b, c: F.nll_loss(a, b, weight=c, reduction=reduction),
              lambda a, b, c: TF.nll_loss(a, b, weight=c, reduction=reduction), [x, t, w], grad_inputs=[0])
    else:
        check(lambda a, b: F.nll_loss(a, b, ignore_index=1, reduction=reduction),
              lambda a, b: TF.nll_loss(a, b, ignore_index=1, reduction=reduction), [x, t])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted,smoothing", [(False, 0.0), (True, 0.0), (True, 0.25)])
def test_cross_entropy_with_probability_targets(reduction, weighted, smoothing):
    x, _, w = class_case((2, 3, 2))
    q = TF.softmax(torch.tensor(randn(2, 3, 2, seed=4)), dim=1).numpy()
    kw = dict(reduction=reduction, label_smoothing=smoothing)
    if weighted:
        check(lambda a, b, c: F.cross_entropy(a, b, weight=c, **kw),
              lambda a, b, c: TF.cross_entropy(a, b, weight=c, **kw), [x, q, w], grad_inputs=[0, 1])
    else:
        check(lambda a, b: F.cross_entropy(a, b, **kw), lambda a, b: TF.cross_entropy(a, b, **kw), [x, q])


def test_one_hot_targets_equal_class_indices():
    x, t, _ = class_case((6, 5), seed=3)
    one_hot = np.eye(5)[t]
    a = F.cross_entropy(shendu.tensor(x), shendu.tensor(t), label_smoothing=0.1).item()
    b = F.cross_entropy(shendu.tensor(x), shendu.tensor(one_hot), label_smoothing=0.1).item()
    assert a == pytest.approx(b, rel=1e-14)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_fused_cross_entropy_equals_composed(reduction):
    x, t, w = class_case((2, 4, 3), seed=5, ignore=True)
    ws = shendu.tensor(w)
    outs, grads = [], []
    for fused in (True, False):
        xs = shendu.tensor(x, requires_grad=True)
        if fused:
            loss = F.cross_entropy(xs, shendu.tensor(t), weight=ws, reduction=reduction)
            assert isinstance(loss._ctx, F.loss.SoftmaxCrossEntropy)  # one node: the hot path
        else:
            loss = F.nll_loss(F.log_softmax(xs, dim=1), shendu.tensor(t), weight=ws, reduction=reduction)
        (loss * shendu.tensor(randn(*loss.shape, seed=7))).sum().backward()
        outs.append(loss.numpy())
        grads.append(xs.grad.numpy())
    assert_close(outs[0], outs[1], 1e-13, 1e-15, "fused vs composed loss")
    assert_close(grads[0], grads[1], 1e-13, 1e-15, "fused vs composed gradient")


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_huge_logits_stay_finite_and_exact(smoothing):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4 - 1], [3e3, -5e3, 2e3]])
    t = np.array([1, 2, 0])
    check(lambda a, b: F.cross_entropy(a, b, reduction="none", label_smoothing=smoothing),
          lambda a, b: TF.cross_entropy(a, b, reduction="none", label_smoothing=smoothing), [x, t])
    xs = shendu.tensor(x, requires_grad=True)
    loss = F.cross_entropy(xs, shendu.tensor(t))
    loss.backward()
    assert np.isfinite(loss.item()) and np.all(np.isfinite(xs.grad.numpy()))


def test_cross_entropy_gradient_is_softmax_minus_one_hot():
    x, t, _ = class_case((4, 3), seed=2)
    xs = shendu.tensor(x, requires_grad=True)
    F.cross_entropy(xs, shendu.tensor(t), reduction="sum").backward()
    expected = F.softmax(shendu.tensor(x), dim=1).numpy() - np.eye(3)[t]
    assert_close(xs.grad.numpy(), expected, 1e-14, 1e-16, "softmax - onehot")


def test_class_target_errors():
    x = shendu.randn(4, 3)
    with pytest.raises(ValueError, match=r"cross_entropy: expected class-index target of shape \(4,\).*got \(4, 1\)"):
        F.cross_entropy(x, shendu.tensor([[0], [1], [2], [0]]))
    with pytest.raises(ValueError, match=r"probability targets must have the input's shape \(4, 3\)"):
        F.cross_entropy(x, shendu.rand(4, 2))
    with pytest.raises(ValueError, match=r"nll_loss: weight must have shape \(3,\)"):
        F.nll_loss(x, shendu.tensor([0, 1, 2, 0]), weight=shendu.ones(4))
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(x, shendu.tensor([0, 1, 2, 0]), label_smoothing=1.5)


# --------------------------------------------------------------------- divergences
@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides the total loss")  # torch's advice
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    x = TF.log_softmax(torch.tensor(randn(3, 4)), dim=1).numpy()
    y = TF.softmax(torch.tensor(randn(3, 4, seed=1)), dim=1).numpy()
    if log_target:
        y = np.log(y)
    check(lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target),
          lambda a, b: TF.kl_div(a, b, reduction=reduction, log_target=log_target), [x, y])


def test_kl_div_with_zero_target_probabilities():
    x = TF.log_softmax(torch.tensor(randn(2, 3)), dim=1).numpy()
    y = np.array([[0.0, 0.3, 0.7], [1.0, 0.0, 0.0]])
    check(lambda a, b: F.kl_div(a, b, reduction="batchmean"), lambda a, b: TF.kl_div(a, b, reduction="batchmean"),
          [x, y], grad_inputs=[0])


# --------------------------------------------------------------------- class forms
LOSS_LAYERS = [
    (nn.MSELoss, torch.nn.MSELoss, {}, lambda: [randn(3, 2), randn(3, 2, seed=1)]),
    (nn.L1Loss, torch.nn.L1Loss, {"reduction": "sum"}, lambda: [randn(3, 2), randn(3, 2, seed=1)]),
    (nn.HuberLoss, torch.nn.HuberLoss, {"delta": 0.5}, lambda: [randn(3, 2), randn(3, 2, seed=1)]),
    (nn.SmoothL1Loss, torch.nn.SmoothL1Loss, {"beta": 0.5}, lambda: [randn(3, 2), randn(3, 2, seed=1)]),
    (nn.BCELoss, torch.nn.BCELoss, {}, lambda: [np.random.default_rng(0).uniform(0.1, 0.9, (3, 2)),
                                               np.random.default_rng(1).uniform(0, 1, (3, 2))]),
    (nn.BCEWithLogitsLoss, torch.nn.BCEWithLogitsLoss, {"reduction": "none"},
     lambda: [randn(3, 2, scale=3), np.random.default_rng(1).uniform(0, 1, (3, 2))]),
    (nn.NLLLoss, torch.nn.NLLLoss, {"ignore_index": 2}, lambda: [randn(4, 3), np.array([0, 2, 1, 1])]),
    (nn.CrossEntropyLoss, torch.nn.CrossEntropyLoss, {"label_smoothing": 0.1},
     lambda: [randn(4, 3), np.array([0, 2, 1, 1])]),
    (nn.KLDivLoss, torch.nn.KLDivLoss, {"reduction": "batchmean"},
     lambda: [TF.log_softmax(torch.tensor(randn(3, 4)), 1).numpy(), TF.softmax(torch.tensor(randn(3, 4)), 1).numpy()]),
    (nn.HingeEmbeddingLoss, torch.nn.HingeEmbeddingLoss, {"margin": 2.0}, lambda: [randn(6) + 3, labels(6)]),
]


@pytest.mark.parametrize("sd_cls,torch_cls,kw,make", LOSS_LAYERS, ids=[c[0].__name__ for c in LOSS_LAYERS])
def test_loss_layer_matches_torch(sd_cls, torch_cls, kw, make):
    sd, tm = sd_cls(**kw), torch_cls(**kw)
    check(lambda a, b: sd(a, b), lambda a, b: tm(a, b), make(), grad_inputs=[0])


def test_weighted_loss_layers_keep_weights_as_torch_named_buffers():
    w, pw = np.array([1.0, 2.0, 0.5]), np.array([3.0, 1.0])
    ce = nn.CrossEntropyLoss(weight=w, ignore_index=0)
    assert list(ce.state_dict()) == list(torch.nn.CrossEntropyLoss(weight=torch.tensor(w)).state_dict()) == ["weight"]
    bce = nn.BCEWithLogitsLoss(pos_weight=pw)
    assert list(bce.state_dict()) == list(torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pw)).state_dict())
    x, t = randn(4, 3), np.array([0, 2, 1, 1])
    expected = torch.nn.CrossEntropyLoss(weight=torch.tensor(w), ignore_index=0)(torch.tensor(x), torch.tensor(t))
    assert ce(shendu.tensor(x), shendu.tensor(t)).item() == pytest.approx(expected.item(), rel=1e-12)
    assert nn.MSELoss().state_dict() == {}


@pytest.mark.parametrize("cls,fn", [(nn.HingeLoss, F.hinge_loss), (nn.SquaredHingeLoss, F.squared_hinge_loss),
                                    (nn.ExponentialLoss, F.exponential_loss), (nn.MSLELoss, F.msle),
                                    (nn.MAPELoss, F.mape), (nn.CosineSimilarityLoss, F.cosine_similarity_loss)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_keras_loss_layers_call_their_function(cls, fn, reduction):
    x, y = shendu.tensor(np.abs(randn(3, 2)) + 0.1), shendu.tensor(labels(3, 2) + 2)
    assert np.array_equal(cls(reduction=reduction)(x, y).numpy(), fn(x, y, reduction=reduction).numpy())


def test_cosine_embedding_loss_layer():
    a, b, y = randn(4, 3), randn(4, 3, seed=1), labels(4)
    sd = nn.CosineEmbeddingLoss(margin=0.2)(shendu.tensor(a), shendu.tensor(b), shendu.tensor(y)).item()
    tm = torch.nn.CosineEmbeddingLoss(margin=0.2)(torch.tensor(a), torch.tensor(b), torch.tensor(y)).item()
    assert sd == pytest.approx(tm, rel=1e-10)


def test_loss_layer_options_are_keyword_only():
    with pytest.raises(TypeError):
        nn.CrossEntropyLoss(None, None, -100)  # PyTorch's positional (weight, size_average, ignore_index)
    assert repr(nn.CrossEntropyLoss(reduction="sum")) == "CrossEntropyLoss(reduction='sum')"


def test_classification_training_step_decreases_the_loss():
    x, t, _ = class_case((16, 4), seed=9)
    w = shendu.tensor(np.zeros((4, 4)), requires_grad=True)
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    for _ in range(5):
        loss = loss_fn(shendu.tensor(x) @ w, shendu.tensor(t))
        w.grad = None
        loss.backward()
        w.data -= 0.5 * w.grad.data
        losses.append(loss.item())
    assert losses[0] == pytest.approx(np.log(4)) and all(b < a for a, b in zip(losses, losses[1:]))
