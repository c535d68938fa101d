"""The learning-rate range test: shendu.lr_find, its suggestion rule, its plot, `shendu lr-find`."""
import argparse
import math
import subprocess
import sys

import numpy as np
import pytest

import shendu
from shendu import nn
from shendu.lr_finder import LRFinderResult, add_arguments, lr_find, run


def _data(n=256, seed=0):
    d = shendu.data.digits()
    return d.x_train[:n], d.y_train[:n]


def _mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))


def _snapshot(model):
    return {k: t.data.copy() for k, t in model.state_dict().items()}


def test_lrs_are_log_spaced_from_start_to_end():
    r = lr_find(_mlp(), _data(), start_lr=1e-5, end_lr=1e-1, num_steps=21, diverge_threshold=1e9)
    lrs = np.asarray(r.lrs)
    assert len(lrs) == 21
    assert lrs[0] == pytest.approx(1e-5) and lrs[-1] == pytest.approx(1e-1)
    np.testing.assert_allclose(lrs[1:] / lrs[:-1], 10 ** (4 / 20))


def test_smoothing_is_a_bias_corrected_moving_average():
    r = lr_find(_mlp(), _data(), num_steps=30, smooth=0.2, end_lr=1e-2)
    beta, avg = 0.8, 0.0
    for i, (raw, smoothed) in enumerate(zip(r.raw_losses, r.losses)):
        avg = beta * avg + (1 - beta) * raw
        assert smoothed == pytest.approx(avg / (1 - beta ** (i + 1)))
    assert r.losses[0] == pytest.approx(r.raw_losses[0])  # the correction removes the bias towards 0


@pytest.mark.parametrize("optimizer", ["sgd", "adam_instance", "factory"])
def test_model_and_optimizer_are_restored(optimizer):
    model = _mlp()
    x, y = _data()
    opt = None
    if optimizer == "adam_instance":  # an optimizer with state: its moments must survive the test
        opt = shendu.optim.Adam(model.parameters(), lr=1e-3)
        model.compile(opt, metrics=[])
        model.fit(x, y, epochs=1, batch_size=64, verbose=0, seed=0)
        spec = opt
    elif optimizer == "factory":
        spec = lambda params: shendu.optim.SGD(params, lr=0.1, momentum=0.9)  # noqa: E731
    else:
        spec = "sgd"
    model.eval()
    before = _snapshot(model)
    opt_before = opt.state_dict() if opt is not None else None
    grads = [p.grad for p in model.parameters()]
    rng_before = shendu.backend.get_rng_state()
    r = lr_find(model, (x, y), optimizer=spec, num_steps=40, end_lr=1.0)
    assert len(r.lrs) > 5
    after = _snapshot(model)
    assert before.keys() == after.keys()
    for k in before:
        np.testing.assert_array_equal(before[k], after[k], err_msg=k)
    assert model.training is False
    assert [p.grad for p in model.parameters()] == grads
    assert shendu.backend.get_rng_state() == rng_before
    if opt is not None:
        restored = opt.state_dict()
        assert restored["param_groups"] == opt_before["param_groups"]
        for i, s in opt_before["state"].items():
            for key, v in s.items():
                np.testing.assert_array_equal(restored["state"][i][key], v)


def test_the_weights_do_change_during_the_test():
    """The restore test above would pass vacuously if nothing trained: the loss must fall."""
    r = lr_find(_mlp(), _data(), optimizer="adam", start_lr=1e-4, end_lr=0.1, num_steps=60, diverge_threshold=1e9)
    assert min(r.losses) < r.losses[0] - 0.3


def test_divergence_stops_the_test_early():
    r = lr_find(_mlp(), _data(), optimizer="sgd", start_lr=1e-4, end_lr=1e4, num_steps=100)
    assert r.diverged and len(r.lrs) < 100
    assert r.losses[-1] > 4.0 * min(r.losses) or not math.isfinite(r.raw_losses[-1])


def test_suggestion_is_the_steepest_descent_before_the_minimum():
    lrs = list(np.logspace(-6, 0, 61))
    t = np.log10(lrs)
    # falls fastest at lr = 1e-3 (the centre of the sigmoid), lowest near 1e-1, then rises
    losses = list(2.3 - 2.0 / (1 + np.exp(-4 * (t + 3))) + np.where(t > -1, 3 * (t + 1) ** 2, 0))
    r = LRFinderResult(lrs, losses, losses, diverged=False)
    assert r.rule == "steepest"
    assert r.suggestion == pytest.approx(1e-3, rel=0.3)
    assert r.lr_min == pytest.approx(1e-1, rel=0.3)


def test_no_descent_falls_back_to_a_tenth_of_the_minimum():
    lrs = list(np.logspace(-3, 0, 20))
    losses = list(1.0 + np.arange(20.0))  # rises from the start
    r = LRFinderResult(lrs, losses, losses, diverged=True)
    assert r.rule == "min/10" and r.suggestion == pytest.approx(1e-4)


def test_plot_writes_a_png(tmp_path):
    r = lr_find(_mlp(), _data(), num_steps=30)
    path = r.plot(tmp_path / "lr.png")
    assert (tmp_path / "lr.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path == tmp_path / "lr.png"
    assert "suggestion" in repr(r)


def test_loader_input_and_lazy_layers():
    x, y = _data()
    loader = shendu.data.DataLoader((x, y), batch_size=32, shuffle=True, seed=0)
    model = nn.Sequential(nn.Flatten(), nn.Dense(16), nn.ReLU(), nn.Dense(10))  # weights built on first call
    r = lr_find(model, loader, optimizer="adam", num_steps=30)  # more steps than the loader has batches
    assert len(r.lrs) == 30 and len(list(model.parameters())) == 4


@pytest.mark.parametrize("kwargs, message", [
    ({"start_lr": 1.0, "end_lr": 0.1}, "start_lr < end_lr"),
    ({"num_steps": 1}, "num_steps"),
    ({"smooth": 0.0}, "smooth"),
    ({"diverge_threshold": 1.0}, "diverge_threshold"),
    ({"optimizer": 3}, "optimizer must be"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        lr_find(_mlp(), _data(64), **kwargs)


def test_command_line(tmp_path, capsys):
    parser = add_arguments(argparse.ArgumentParser())
    args = parser.parse_args(["xo_cnn", "--dataset", "digits", "--steps", "20", "--out", str(tmp_path)])
    assert run(args) == 0
    out = capsys.readouterr().out
    assert "suggested learning rate" in out and "xo_cnn on digits with adam" in out
    assert (tmp_path / "lr_find.png").exists() and (tmp_path / "lr_find.json").exists()


def test_import_does_not_load_optuna():
    code = "import sys, shendu; shendu.lr_find; print('optuna' in sys.modules, 'shendu.tune' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
