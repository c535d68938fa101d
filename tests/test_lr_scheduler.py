"""Learning-rate schedules against torch.optim.lr_scheduler: the same lr (and momentum) at every step."""
import json
import math

import numpy as np
import pytest

import shendu
from shendu import optim
from shendu.nn import Parameter
from shendu.optim import lr_scheduler as sd_sched

torch = pytest.importorskip("torch")
t_sched = torch.optim.lr_scheduler

LRS = (0.1, 0.04)  # two parameter groups with different learning rates


def _optimizer(lib, name="SGD", **kwargs):
    if lib == "torch":
        params = [torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)]
        return getattr(torch.optim, name)([{"params": [p], "lr": lr} for p, lr in zip(params, LRS)], **kwargs)
    params = [Parameter(shendu.zeros(2)), Parameter(shendu.zeros(3))]
    return getattr(optim, name)([{"params": [p], "lr": lr} for p, lr in zip(params, LRS)], **kwargs)


def _build(spec, lib):
    """spec(mod, opt) builds a scheduler from a module (shendu's or torch's lr_scheduler)."""
    build, opt_kwargs = spec
    opt = _optimizer(lib, **opt_kwargs)
    return opt, build(sd_sched if lib == "shendu" else t_sched, opt)


def _trace(opt, sched, steps, momentum=None):
    """The learning rates (and momentum or β₁ of each group) after construction and after each step."""
    def row():
        lrs = list(sched.get_last_lr())
        assert lrs == [g["lr"] for g in opt.param_groups]
        if momentum == "momentum":
            return lrs + [g["momentum"] for g in opt.param_groups]
        if momentum == "betas":
            return lrs + [g["betas"][0] for g in opt.param_groups]
        return lrs

    rows = [row()]
    for _ in range(steps):
        opt.step()
        sched.step()
        rows.append(row())
    return np.array(rows, dtype=np.float64)


def _seq(mod, opt):
    return mod.SequentialLR(opt, [mod.LinearLR(opt, start_factor=0.1, total_iters=4),
                                  mod.CosineAnnealingLR(opt, T_max=10, eta_min=1e-3)], milestones=[4])


def _chained(mod, opt):
    return mod.ChainedScheduler([mod.ExponentialLR(opt, gamma=0.95), mod.StepLR(opt, step_size=4, gamma=0.5)])


SGD = dict()
SCHEDULES = {
    "StepLR": (lambda m, o: m.StepLR(o, step_size=3, gamma=0.5), SGD),
    "MultiStepLR": (lambda m, o: m.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3), SGD),
    "ExponentialLR": (lambda m, o: m.ExponentialLR(o, gamma=0.9), SGD),
    "CosineAnnealingLR": (lambda m, o: m.CosineAnnealingLR(o, T_max=7, eta_min=1e-3), SGD),
    "LinearLR-warmup": (lambda m, o: m.LinearLR(o, start_factor=0.1, total_iters=6), SGD),
    "LinearLR-decay": (lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=9), SGD),
    "ConstantLR": (lambda m, o: m.ConstantLR(o, factor=0.25, total_iters=4), SGD),
    "PolynomialLR": (lambda m, o: m.PolynomialLR(o, total_iters=8, power=2.0), SGD),
    "LambdaLR-time-based": (lambda m, o: m.LambdaLR(o, lambda t: 1 / (1 + 0.3 * t)), SGD),
    "LambdaLR-per-group": (lambda m, o: m.LambdaLR(o, [lambda t: 0.9 ** t, lambda t: 1 + t]), SGD),
    "MultiplicativeLR": (lambda m, o: m.MultiplicativeLR(o, lambda t: 0.8 if t % 2 else 1.1), SGD),
    "CosineAnnealingWarmRestarts": (lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.01),
                                    SGD),
    "SequentialLR": (_seq, SGD),
    "ChainedScheduler": (_chained, SGD),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_matches_torch(name):
    sd = _trace(*_build(SCHEDULES[name], "shendu"), 25)
    th = _trace(*_build(SCHEDULES[name], "torch"), 25)
    np.testing.assert_allclose(sd, th, rtol=1e-12, atol=1e-15)
    assert len(np.unique(sd[:, 0])) >= 2, "the schedule should change the learning rate"


@pytest.mark.parametrize("name", ["StepLR", "MultiStepLR", "CosineAnnealingLR", "SequentialLR",
                                  "CosineAnnealingWarmRestarts", "LambdaLR-time-based"])
def test_scheduler_state_dict_round_trip_through_json(name):
    opt, sched = _build(SCHEDULES[name], "shendu")
    _trace(opt, sched, 6)
    saved_opt, saved_sched = opt.state_dict(), json.loads(json.dumps(sched.state_dict()))
    opt2, sched2 = _build(SCHEDULES[name], "shendu")
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved_sched)
    np.testing.assert_array_equal(_trace(opt, sched, 10), _trace(opt2, sched2, 10))


def test_closed_form_step_with_epoch():
    for lib, mod in (("shendu", sd_sched), ("torch", t_sched)):
        opt = _optimizer(lib)
        sched = mod.MultiStepLR(opt, milestones=[2, 5], gamma=0.1)
        with pytest.warns(UserWarning) if lib == "torch" else _nothing():
            sched.step(6)
        assert sched.get_last_lr() == pytest.approx([0.1 * 0.01, 0.04 * 0.01])


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_time_based_decay_formula():
    opt = _optimizer("shendu")
    sched = sd_sched.LambdaLR(opt, lambda t: 1 / (1 + 0.5 * t))
    for t in range(1, 6):
        opt.step()
        sched.step()
        assert sched.get_last_lr() == pytest.approx([lr / (1 + 0.5 * t) for lr in LRS], rel=1e-15)


# ---------------------------------------------------------------- OneCycleLR
ONE_CYCLE = [
    ("SGD", dict(momentum=0.9), dict(max_lr=1.0, total_steps=25), "momentum"),
    ("SGD", dict(momentum=0.9), dict(max_lr=[1.0, 0.3], epochs=5, steps_per_epoch=6, pct_start=0.25,
                                     anneal_strategy="linear", three_phase=True), "momentum"),
    ("Adam", dict(), dict(max_lr=0.01, total_steps=30, div_factor=10.0, final_div_factor=100.0,
                          base_momentum=0.8, max_momentum=0.9), "betas"),
    ("Adam", dict(), dict(max_lr=0.01, total_steps=20, three_phase=True), "betas"),
    ("SGD", dict(), dict(max_lr=0.5, total_steps=12, cycle_momentum=False), None),
]


@pytest.mark.parametrize("opt_name,opt_kwargs,kwargs,momentum", ONE_CYCLE)
def test_one_cycle_matches_torch(opt_name, opt_kwargs, kwargs, momentum):
    traces = []
    for lib, mod in (("shendu", sd_sched), ("torch", t_sched)):
        opt = _optimizer(lib, opt_name, **opt_kwargs)
        sched = mod.OneCycleLR(opt, **kwargs)
        total = sched.total_steps
        traces.append(_trace(opt, sched, total - 1, momentum))
    np.testing.assert_allclose(traces[0], traces[1], rtol=1e-12, atol=1e-15)
    lr = traces[0][:, 0]
    assert lr.max() == pytest.approx(np.max(kwargs["max_lr"]), rel=0.1)  # the peak falls between steps


def test_one_cycle_updates_the_optimizer_it_drives():
    opt = _optimizer("shendu", "SGD", momentum=0.9)
    sched = sd_sched.OneCycleLR(opt, max_lr=1.0, total_steps=10)
    assert opt.param_groups[0]["lr"] == pytest.approx(1.0 / 25)
    assert opt.param_groups[0]["momentum"] == pytest.approx(0.95)
    for _ in range(10):
        sched.step()
    with pytest.raises(ValueError, match="tried to step 11 times"):
        sched.step()


def test_one_cycle_rejects_bad_arguments():
    opt = _optimizer("shendu", "Adagrad")
    with pytest.raises(ValueError, match="cycle_momentum needs an optimizer with momentum or betas"):
        sd_sched.OneCycleLR(opt, max_lr=0.1, total_steps=10)
    with pytest.raises(ValueError, match="total_steps or both epochs and steps_per_epoch"):
        sd_sched.OneCycleLR(opt, max_lr=0.1, cycle_momentum=False)
    with pytest.raises(ValueError, match="one value per parameter group"):
        sd_sched.OneCycleLR(opt, max_lr=[0.1, 0.2, 0.3], total_steps=5, cycle_momentum=False)


# ---------------------------------------------------------------- ReduceLROnPlateau
METRICS = [1.0, 0.9, 0.9, 0.91, 0.95, 0.89999, 0.8, 0.8, 0.8, 0.8, 0.8, 0.7, 0.75, 0.75, 0.75, 0.76, 0.6,
           0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6] + [0.6] * 8
PLATEAU = [
    dict(),
    dict(patience=1),
    dict(patience=0, factor=0.5, cooldown=2),
    dict(mode="max", patience=1, threshold=0.01, threshold_mode="abs"),
    dict(patience=1, factor=0.2, min_lr=[0.01, 0.005]),
    dict(patience=0, factor=0.5, min_lr=0.02, eps=1e-3),
    dict(patience=2, threshold=0.2, threshold_mode="rel"),
]


@pytest.mark.parametrize("kwargs", PLATEAU)
def test_reduce_on_plateau_matches_torch(kwargs):
    traces = []
    for lib, mod in (("shendu", sd_sched), ("torch", t_sched)):
        opt = _optimizer(lib)
        sched = mod.ReduceLROnPlateau(opt, **kwargs)
        rows = []
        for m in METRICS:
            opt.step()
            sched.step(m)
            rows.append(list(sched.get_last_lr()) + [sched.num_bad_epochs, sched.cooldown_counter, sched.best])
        traces.append(np.array(rows))
    np.testing.assert_allclose(traces[0], traces[1], rtol=1e-12)
    assert (np.diff(traces[0][:, 0]) < 0).any(), "the scripted metrics should trigger a reduction"


def test_reduce_on_plateau_accepts_a_tensor_metric_and_checks_arguments():
    opt = _optimizer("shendu")
    sched = sd_sched.ReduceLROnPlateau(opt, patience=0)
    sched.step(shendu.tensor(1.0))
    sched.step(shendu.tensor(2.0))
    assert sched.get_last_lr() == pytest.approx([0.01, 0.004])
    with pytest.raises(ValueError, match="expected factor < 1.0, got 1.5"):
        sd_sched.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(ValueError, match="expected mode 'min' or 'max', got 'up'"):
        sd_sched.ReduceLROnPlateau(opt, mode="up")


def test_scheduler_errors():
    with pytest.raises(TypeError, match="expected an Optimizer"):
        sd_sched.StepLR(object(), step_size=2)
    opt = _optimizer("shendu")
    with pytest.raises(KeyError, match="has no 'initial_lr'"):
        sd_sched.StepLR(opt, step_size=2, last_epoch=3)
    with pytest.raises(ValueError, match="expected 1 milestones for 2 schedulers, got 2"):
        sd_sched.SequentialLR(opt, [sd_sched.ConstantLR(opt), sd_sched.ConstantLR(opt)], milestones=[1, 2])
    with pytest.raises(ValueError, match="cannot be combined"):
        sd_sched.ChainedScheduler([sd_sched.ReduceLROnPlateau(opt)])
    assert math.isclose(sd_sched.StepLR(_optimizer("shendu"), 2).get_last_lr()[0], 0.1)
