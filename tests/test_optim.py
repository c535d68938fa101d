"""Optimizers and gradient clipping against torch.optim / torch.nn.utils, step for step.

Gradients are set directly (``p.grad = shendu.tensor(array)``, the same
array given to torch), so the tests check the update rules exactly.
"""
import copy
import json

import numpy as np
import pytest

import shendu
import shendu.nn.utils
from shendu import optim
from shendu.nn import Parameter

torch = pytest.importorskip("torch")

SHAPES = [(3, 4), (5,), (2, 1, 3)]
STEPS = 20


@pytest.fixture(autouse=True)
def _torch_float64_scalars():
    """torch keeps step counts and NAdam's mu_product in the default dtype: make it float64 like ours."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def _initial(dtype):
    rng = np.random.default_rng(7)
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES]


def _grads(step, dtype):
    """The gradients of one step (deterministic); the last parameter gets none every third step."""
    rng = np.random.default_rng(1000 + step)
    gs = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    if step % 3 == 1:
        gs[-1] = None
    return gs


def _groups(params, groups):
    if groups is None:
        return params
    return [dict(opts, params=[params[i] for i in idx]) for idx, opts in groups]


def _make(name, kwargs, groups, dtype, lib):
    if lib == "torch":
        params = [torch.tensor(a, requires_grad=True) for a in _initial(dtype)]
        return params, getattr(torch.optim, name)(_groups(params, groups), **kwargs)
    params = [Parameter(shendu.tensor(a)) for a in _initial(dtype)]
    return params, getattr(optim, name)(_groups(params, groups), **kwargs)


def _set_grads(params, grads, lib):
    for p, g in zip(params, grads):
        if g is None:
            p.grad = None
        else:
            p.grad = torch.tensor(g) if lib == "torch" else shendu.tensor(g)


def _run(params, opt, lib, steps, dtype=np.float64):
    for step in steps:
        _set_grads(params, _grads(step, dtype), lib)
        opt.step()


def _np(p):
    return p.detach().numpy() if isinstance(p, torch.Tensor) else p.numpy()


TWO_GROUPS = [([0, 1], dict(lr=0.03, weight_decay=0.05)), ([2], dict(lr=0.005))]
CASES = [
    ("SGD", dict(lr=0.1), None),
    ("SGD", dict(lr=0.1, momentum=0.9), None),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.01), None),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.02, maximize=True), None),
    ("SGD", dict(lr=0.1, momentum=0.5), [([0], dict(momentum=0.0)), ([1, 2], dict(lr=0.01, nesterov=True))]),
    ("Adagrad", dict(), None),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.3, eps=1e-6), None),
    ("Adagrad", dict(maximize=True), TWO_GROUPS),
    ("Adadelta", dict(), None),
    ("Adadelta", dict(lr=0.5, rho=0.7, eps=1e-4, weight_decay=0.1, maximize=True), TWO_GROUPS),
    ("RMSprop", dict(), None),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.9, weight_decay=0.05), None),
    ("RMSprop", dict(lr=0.01, centered=True, eps=1e-3), None),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, maximize=True), TWO_GROUPS),
    ("Adam", dict(), None),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1), None),
    ("Adam", dict(lr=0.01, amsgrad=True, maximize=True), TWO_GROUPS),
    ("AdamW", dict(), None),
    ("AdamW", dict(lr=0.01, weight_decay=0.3, amsgrad=True), TWO_GROUPS),
    ("Adamax", dict(), None),
    ("Adamax", dict(lr=0.01, betas=(0.5, 0.9), weight_decay=0.1, maximize=True), TWO_GROUPS),
    ("NAdam", dict(), None),
    ("NAdam", dict(lr=0.01, betas=(0.8, 0.95), weight_decay=0.1, momentum_decay=0.01), None),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True), TWO_GROUPS),
]
IDS = [f"{name}-{i}" for i, (name, _, _) in enumerate(CASES)]


@pytest.mark.parametrize("name,kwargs,groups", CASES, ids=IDS)
def test_matches_torch_float64(name, kwargs, groups):
    sp, so = _make(name, kwargs, groups, np.float64, "shendu")
    tp, to = _make(name, kwargs, groups, np.float64, "torch")
    _run(sp, so, "shendu", range(STEPS))
    _run(tp, to, "torch", range(STEPS))
    for i, (a, b) in enumerate(zip(sp, tp)):
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-10, atol=1e-13, err_msg=f"{name} parameter {i}")
        assert not np.allclose(_np(a), _initial(np.float64)[i]), "the parameter did not move"


@pytest.mark.parametrize("name", ["SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "Adamax", "NAdam"])
def test_float32_keeps_dtype_and_matches_torch(name):
    kwargs = dict(momentum=0.9) if name in ("SGD", "RMSprop") else {}
    sp, so = _make(name, kwargs, None, np.float32, "shendu")
    tp, to = _make(name, kwargs, None, np.float32, "torch")
    _run(sp, so, "shendu", range(STEPS), np.float32)
    _run(tp, to, "torch", range(STEPS), np.float32)
    for a, b in zip(sp, tp):
        assert a.dtype == np.float32
        np.testing.assert_allclose(_np(a), _np(b), rtol=2e-5, atol=2e-6)
    arrays = [v for s in so.state.values() for v in s.values() if isinstance(v, np.ndarray)]
    assert arrays and all(v.dtype == np.float32 for v in arrays)


@pytest.mark.parametrize("name,kwargs,groups", CASES, ids=IDS)
def test_state_dict_round_trip_continues_identically(name, kwargs, groups):
    params, opt = _make(name, kwargs, groups, np.float64, "shendu")
    _run(params, opt, "shendu", range(10))
    saved = opt.state_dict()
    frozen = copy.deepcopy(saved)
    fresh_params = [Parameter(shendu.tensor(p.numpy())) for p in params]
    fresh = getattr(optim, name)(_groups(fresh_params, groups), **kwargs)
    fresh.load_state_dict(saved)
    _run(params, opt, "shendu", range(10, 20))  # the original goes on: 20 steps straight
    _run(fresh_params, fresh, "shendu", range(10, 20))
    for a, b in zip(params, fresh_params):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for k, st in saved["state"].items():  # the state dict is a snapshot, not a view of the live state
        for key, v in st.items():
            np.testing.assert_array_equal(v, frozen["state"][k][key])


def test_state_dict_survives_json_and_references_parameters_by_index():
    params, opt = _make("Adam", dict(lr=0.01), TWO_GROUPS, np.float64, "shendu")
    _run(params, opt, "shendu", range(5))
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert set(sd["state"]) == {0, 1, 2} and sd["state"][0]["step"] == 5 and sd["state"][2]["step"] == 3
    as_json = json.loads(json.dumps({
        "state": {str(k): {key: (v.tolist() if isinstance(v, np.ndarray) else v) for key, v in st.items()}
                  for k, st in sd["state"].items()},
        "param_groups": sd["param_groups"]}))
    as_json["state"] = {k: {key: (np.array(v) if isinstance(v, list) else v) for key, v in st.items()}
                        for k, st in as_json["state"].items()}
    fresh_params = [Parameter(shendu.tensor(p.numpy())) for p in params]
    fresh = optim.Adam(_groups(fresh_params, TWO_GROUPS), lr=0.01)
    fresh.load_state_dict(as_json)
    _run(params, opt, "shendu", range(5, 10))
    _run(fresh_params, fresh, "shendu", range(5, 10))
    for a, b in zip(params, fresh_params):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("name,kwargs", [("Adam", dict(lr=0.01, amsgrad=True)), ("NAdam", dict(lr=0.01)),
                                         ("SGD", dict(lr=0.1, momentum=0.9)), ("RMSprop", dict(centered=True))])
def test_loads_torch_state_dict(name, kwargs):
    tp, to = _make(name, kwargs, TWO_GROUPS, np.float64, "torch")
    _run(tp, to, "torch", range(10))
    sp = [Parameter(shendu.tensor(_np(p))) for p in tp]
    so = getattr(optim, name)(_groups(sp, TWO_GROUPS), **kwargs)
    so.load_state_dict(to.state_dict())
    _run(tp, to, "torch", range(10, 20))
    _run(sp, so, "shendu", range(10, 20))
    for a, b in zip(sp, tp):
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-10, atol=1e-13)


def test_load_state_dict_says_what_differs():
    params, opt = _make("Adam", {}, TWO_GROUPS, np.float64, "shendu")
    _run(params, opt, "shendu", range(2))
    sd = opt.state_dict()
    _, one_group = _make("Adam", {}, None, np.float64, "shendu")
    with pytest.raises(ValueError, match="2 parameter groups, the optimizer has 1"):
        one_group.load_state_dict(sd)
    _, other_sizes = _make("Adam", {}, [([0], {}), ([1, 2], {})], np.float64, "shendu")
    with pytest.raises(ValueError, match="parameter group 0 has 2 parameters in the state dict but 1"):
        other_sizes.load_state_dict(sd)
    swapped = [Parameter(shendu.zeros(*s, dtype="float64")) for s in [(5,), (3, 4), (2, 1, 3)]]
    other_shapes = optim.Adam(_groups(swapped, TWO_GROUPS))
    with pytest.raises(ValueError, match=r"'exp_avg' of parameter 0 has shape \(3, 4\) but the parameter has shape"):
        other_shapes.load_state_dict(sd)


def test_load_state_dict_restores_group_options():
    params, opt = _make("SGD", dict(lr=0.1, momentum=0.9), None, np.float64, "shendu")
    opt.param_groups[0]["lr"] = 0.0123
    fresh_params, fresh = _make("SGD", dict(lr=0.1, momentum=0.9), None, np.float64, "shendu")
    fresh.load_state_dict(opt.state_dict())
    assert fresh.param_groups[0]["lr"] == 0.0123
    assert fresh.param_groups[0]["params"][0] is fresh_params[0]


def test_skips_parameters_without_grad_and_creates_state_lazily():
    params, opt = _make("Adam", {}, None, np.float64, "shendu")
    before = [p.numpy().copy() for p in params]
    params[0].grad = shendu.tensor(np.ones(SHAPES[0]))
    opt.step()
    assert not np.allclose(params[0].numpy(), before[0])
    for p, b in zip(params[1:], before[1:]):
        np.testing.assert_array_equal(p.numpy(), b)
    assert set(opt.state) == {params[0]}


def test_step_does_not_modify_the_gradient():
    params, opt = _make("SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.1, maximize=True), None, np.float64,
                        "shendu")
    g = np.ones(SHAPES[0])
    params[0].grad = shendu.tensor(g)
    opt.step()
    opt.step()
    np.testing.assert_array_equal(params[0].grad.numpy(), g)


def test_zero_grad():
    params, opt = _make("SGD", {}, None, np.float64, "shendu")
    _set_grads(params, _grads(0, np.float64), "shendu")
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in params)
    opt.zero_grad()
    assert all(p.grad is None for p in params)


def test_add_param_group_fills_defaults_and_steps_it():
    a, b = Parameter(shendu.ones(2)), Parameter(shendu.ones(3))
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.5})
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["lr"] == 0.5
    b.grad = shendu.ones(3)
    opt.step()
    np.testing.assert_allclose(b.numpy(), 0.5)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})


def test_accepts_named_parameters():
    a, b = Parameter(shendu.ones(2)), Parameter(shendu.ones(3))
    opt = optim.Adam([("a", a), ("b", b)])
    assert opt.param_groups[0]["param_names"] == ["a", "b"]
    assert "param_names" in opt.state_dict()["param_groups"][0]


def test_closure_is_evaluated_with_grad():
    w = Parameter(shendu.tensor([1.0, 2.0]))
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with shendu.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 5.0
    np.testing.assert_allclose(w.numpy(), [0.5, 1.0])


@pytest.mark.parametrize("call,match", [
    (lambda p: optim.SGD(p, lr=-1), "SGD: invalid lr: expected >= 0, got -1"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov momentum requires momentum > 0"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), r"Adam: invalid betas: expected two values in \[0, 1\)"),
    (lambda p: optim.AdamW(p, weight_decay=-0.1), "AdamW: invalid weight_decay"),
    (lambda p: optim.RMSprop(p, momentum=-0.5), "RMSprop: invalid momentum"),
    (lambda p: optim.Adadelta(p, rho=1.5), "Adadelta: invalid rho"),
    (lambda p: optim.NAdam(p, momentum_decay=-1), "NAdam: invalid momentum_decay"),
    (lambda p: optim.Adagrad(p, lr_decay=-1), "Adagrad: invalid lr_decay"),
    (lambda p: optim.SGD([], lr=0.1), "empty parameter list"),
    (lambda p: optim.SGD([p[0], p[0]], lr=0.1), "the same parameter twice"),
    (lambda p: optim.SGD([p[0] * 2], lr=0.1), "non-leaf"),
])
def test_invalid_arguments_raise_value_error(call, match):
    params = [Parameter(shendu.ones(2))]
    with pytest.raises(ValueError, match=match):
        call(params)


def test_invalid_parameter_types_raise_type_error():
    with pytest.raises(TypeError, match="can only optimize Tensors, got ndarray"):
        optim.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(Parameter(shendu.ones(2)), lr=0.1)
    with pytest.raises(TypeError, match="ordered collection"):
        optim.SGD({Parameter(shendu.ones(2))}, lr=0.1)


def test_repr_lists_groups():
    opt = optim.SGD([Parameter(shendu.ones(2))], lr=0.1)
    assert "Parameter Group 0" in repr(opt) and "lr: 0.1" in repr(opt)


@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.05, momentum=0.9)), ("Adam", dict(lr=0.05)),
                                         ("RMSprop", dict(lr=0.01)), ("NAdam", dict(lr=0.05))])
def test_training_loop_fits_linear_regression(name, kwargs):
    x = shendu.randn(64, 3)
    y = x @ shendu.tensor([[1.0], [-2.0], [0.5]]) + 0.3
    w, b = Parameter(shendu.zeros(3, 1)), Parameter(shendu.zeros(1))
    opt = getattr(optim, name)([w, b], **kwargs)
    for _ in range(300):
        opt.zero_grad()
        loss = ((x @ w + b - y) ** 2).mean()
        loss.backward()
        opt.step()
    assert loss.item() < 1e-3
    np.testing.assert_allclose(w.numpy().ravel(), [1.0, -2.0, 0.5], atol=0.05)


# ---------------------------------------------------------------- clipping
def _clip_pair(max_norm, norm_type, dtype=np.float64):
    rng = np.random.default_rng(3)
    grads = [rng.standard_normal(s).astype(dtype) for s in SHAPES] + [None]
    sp = [Parameter(shendu.zeros(*s, dtype=dtype)) for s in SHAPES + [(2,)]]
    tp = [torch.zeros(*s, dtype=getattr(torch, np.dtype(dtype).name), requires_grad=True) for s in SHAPES + [(2,)]]
    _set_grads(sp, grads, "shendu")
    _set_grads(tp, grads, "torch")
    s_total = shendu.nn.utils.clip_grad_norm_(sp, max_norm, norm_type)
    t_total = torch.nn.utils.clip_grad_norm_(tp, max_norm, norm_type)
    return sp, tp, s_total, t_total


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3, float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(max_norm, norm_type):
    sp, tp, s_total, t_total = _clip_pair(max_norm, norm_type)
    assert isinstance(s_total, shendu.Tensor) and s_total.shape == ()
    np.testing.assert_allclose(s_total.item(), t_total.item(), rtol=1e-12)
    for a, b in zip(sp[:-1], tp[:-1]):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12)
    assert sp[-1].grad is None
    clipped = np.linalg.norm(np.concatenate([a.grad.numpy().ravel() for a in sp[:-1]]), norm_type)
    assert clipped <= max_norm * (1 + 1e-9)


def test_clip_grad_norm_float32_and_single_tensor():
    sp, tp, s_total, t_total = _clip_pair(1.0, 2.0, np.float32)
    assert s_total.dtype == np.float32 and sp[0].grad.dtype == np.float32
    np.testing.assert_allclose(sp[0].grad.numpy(), tp[0].grad.numpy(), rtol=1e-5)
    p = Parameter(shendu.ones(4))
    p.grad = shendu.full((4,), 3.0)
    total = optim.clip_grad_norm_(p, 1.0)
    assert total.item() == pytest.approx(6.0)
    np.testing.assert_allclose(p.grad.numpy(), 0.5, rtol=1e-5)
    assert optim.clip_grad_norm_([Parameter(shendu.ones(2))], 1.0).item() == 0.0


def test_clip_grad_norm_error_if_nonfinite():
    p = Parameter(shendu.ones(2))
    p.grad = shendu.tensor([np.inf, 1.0])
    with pytest.raises(RuntimeError, match="clip_grad_norm_: the total norm"):
        optim.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)


def test_clip_grad_value_matches_torch():
    rng = np.random.default_rng(4)
    grads = [3 * rng.standard_normal(s) for s in SHAPES]
    sp = [Parameter(shendu.zeros(*s, dtype="float64")) for s in SHAPES]
    tp = [torch.zeros(*s, requires_grad=True) for s in SHAPES]
    _set_grads(sp, grads, "shendu")
    _set_grads(tp, grads, "torch")
    shendu.nn.utils.clip_grad_value_(sp, 1.5)
    torch.nn.utils.clip_grad_value_(tp, 1.5)
    for a, b in zip(sp, tp):
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
    assert max(np.abs(a.grad.numpy()).max() for a in sp) == 1.5
