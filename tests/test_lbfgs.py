"""optim.LBFGS against torch.optim.LBFGS in float64: the same iterates, evaluation counts and state.

Both optimizers get the same closure (Rosenbrock's function, or a small
network's mean squared error on fixed data) and the parameters are compared
after every ``step``; any difference in the two-loop recursion, the stopping
rules or the strong-Wolfe search would show as a different iterate.
"""
import numpy as np
import pytest

import shendu
import shendu.nn as snn
from shendu import optim
from shendu.nn import Parameter

torch = pytest.importorskip("torch")


def rosenbrock(x, y, lib):
    """f(x, y) = Σ (1 − xᵢ)² + 100·(yᵢ − xᵢ²)²; minimum 0 at x = y = 1 (two parameters: tests the flattening)."""
    return ((1 - x) ** 2 + 100 * (y - x * x) ** 2).sum()


def _rosen_setup(lib, lbfgs_kwargs):
    start = [np.array([-1.5, 0.5, -1.2]), np.array([2.0, -0.5, 1.0])]
    if lib == "torch":
        params = [torch.tensor(a, requires_grad=True) for a in start]
        opt = torch.optim.LBFGS(params, **lbfgs_kwargs)
    else:
        params = [Parameter(shendu.tensor(a)) for a in start]
        opt = optim.LBFGS(params, **lbfgs_kwargs)

    def closure():
        opt.zero_grad()
        loss = rosenbrock(*params, lib)
        loss.backward()
        return loss
    return params, opt, closure


def _values(params):
    return [np.array(p.detach().numpy(), dtype=np.float64) for p in params]


CONFIGS = [
    dict(),
    dict(line_search_fn="strong_wolfe"),
    dict(lr=0.1, max_iter=7, history_size=3),
    dict(history_size=2, max_iter=5, max_eval=9, line_search_fn="strong_wolfe"),
    dict(lr=0.5, tolerance_change=1e-4, history_size=4),
]


def _resync(sp, sopt, tp, topt):
    """Start shendu's next step from torch's exact point and memory (so rounding cannot accumulate)."""
    for p, a in zip(sp, _values(tp)):
        p.data = a.copy()
    sopt.load_state_dict(topt.state_dict())


def _compare(sp, sopt, tp, topt, rtol, what):
    for a, b in zip(_values(sp), _values(tp)):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-12, err_msg=what)
    ts, ss = topt.state[tp[0]], sopt.state[sp[0]]
    assert (ss["func_evals"], ss["n_iter"]) == (ts["func_evals"], ts["n_iter"]), what
    assert len(ss["old_dirs"]) == len(ts["old_dirs"]), what
    np.testing.assert_allclose(ss["d"], ts["d"].numpy(), rtol=rtol, atol=1e-12, err_msg=what)


@pytest.mark.parametrize("kwargs", CONFIGS, ids=[str(sorted(c.items())) for c in CONFIGS])
def test_rosenbrock_same_iterates_as_torch(kwargs):
    """Iteration for iteration (``max_iter=1``), each from torch's exact point and memory, for 40 iterations.

    Rosenbrock's valley amplifies rounding (a 1e-16 difference in a dot
    product's summation order grows by up to ~300× over a 20-iteration step),
    so long runs are compared from a shared state at every iteration.
    """
    kwargs = dict(kwargs, max_iter=1)
    tp, topt, tclosure = _rosen_setup("torch", kwargs)
    sp, sopt, sclosure = _rosen_setup("shendu", kwargs)
    for it in range(40):
        if it:
            _resync(sp, sopt, tp, topt)
        tl = float(topt.step(tclosure).detach())
        sl = float(sopt.step(sclosure))
        assert sl == pytest.approx(tl, rel=1e-12, abs=1e-14), f"iteration {it}: loss"
        _compare(sp, sopt, tp, topt, 1e-9, f"iteration {it}")


@pytest.mark.parametrize("kwargs", CONFIGS, ids=[str(sorted(c.items())) for c in CONFIGS])
def test_rosenbrock_whole_steps_as_torch(kwargs):
    """Three whole steps (up to max_iter iterations and max_eval evaluations each), never resynchronised."""
    tp, topt, tclosure = _rosen_setup("torch", kwargs)
    sp, sopt, sclosure = _rosen_setup("shendu", kwargs)
    start = float(sclosure())
    for step in range(3):
        tl = float(topt.step(tclosure).detach())
        sl = float(sopt.step(sclosure))
        assert sl == pytest.approx(tl, rel=1e-6), f"step {step}: loss"
        _compare(sp, sopt, tp, topt, 1e-6, f"step {step}")
    if kwargs == {"line_search_fn": "strong_wolfe"}:
        assert float(sclosure()) < start / 100  # 60 iterations with the search: near the minimum


def _net_setup(lib, kwargs):
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((16, 4)), rng.standard_normal((16, 2))
    w1, b1 = rng.standard_normal((8, 4)) * 0.5, rng.standard_normal(8) * 0.1
    w2, b2 = rng.standard_normal((2, 8)) * 0.5, rng.standard_normal(2) * 0.1
    if lib == "torch":
        net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2)).double()
        with torch.no_grad():
            for p, a in zip(net.parameters(), (w1, b1, w2, b2)):
                p.copy_(torch.tensor(a))
        xs, ys, mse, opt_cls = torch.tensor(x), torch.tensor(y), torch.nn.functional.mse_loss, torch.optim.LBFGS
    else:
        net = snn.Sequential(snn.Linear(4, 8), snn.Tanh(), snn.Linear(8, 2))
        for p, a in zip(net.parameters(), (w1, b1, w2, b2)):
            p.data = np.array(a)
        xs, ys, mse, opt_cls = shendu.tensor(x), shendu.tensor(y), shendu.nn.functional.mse_loss, optim.LBFGS
    opt = opt_cls(net.parameters(), **kwargs)

    def closure():
        opt.zero_grad()
        loss = mse(net(xs), ys)
        loss.backward()
        return loss
    return list(net.parameters()), opt, closure


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_small_network_same_iterates_as_torch(line_search_fn):
    kwargs = dict(lr=1, max_iter=10, history_size=5, line_search_fn=line_search_fn)
    tp, topt, tclosure = _net_setup("torch", kwargs)
    sp, sopt, sclosure = _net_setup("shendu", kwargs)
    first = None
    for step in range(5):
        if step >= 2:
            _resync(sp, sopt, tp, topt)
        tl, sl = float(topt.step(tclosure).detach()), float(sopt.step(sclosure))
        first = first if first is not None else sl
        assert sl == pytest.approx(tl, rel=1e-8), f"step {step}"
        for a, b in zip(_values(sp), _values(tp)):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, err_msg=f"step {step}")
    assert float(sclosure()) < 0.5 * first


def test_state_dict_round_trip_continues_the_same_run():
    kwargs = dict(history_size=4, max_iter=4, line_search_fn="strong_wolfe")
    p1, o1, c1 = _rosen_setup("shendu", kwargs)
    o1.step(c1)
    saved = o1.state_dict()
    o1.step(c1)  # a snapshot: later steps do not change it
    p2, o2, c2 = _rosen_setup("shendu", kwargs)
    for p, a in zip(p2, _values(p1)):
        p.data = a.copy()
    # rewind run 1 to after its first step, through the saved state
    p1b, o1b, c1b = _rosen_setup("shendu", kwargs)
    o1b.step(c1b)
    o2.load_state_dict(saved)
    for p, a in zip(p2, _values(p1b)):
        p.data = a.copy()
    o1b.step(c1b)
    o2.step(c2)
    for a, b in zip(_values(p2), _values(p1b)):
        np.testing.assert_array_equal(a, b)


def test_loads_torch_state_dict():
    kwargs = dict(history_size=4, max_iter=3)
    tp, topt, tclosure = _rosen_setup("torch", kwargs)
    topt.step(tclosure)
    sp, sopt, sclosure = _rosen_setup("shendu", kwargs)
    for p, a in zip(sp, _values(tp)):
        p.data = a.copy()
    sopt.load_state_dict(topt.state_dict())
    topt.step(tclosure)
    sopt.step(sclosure)
    for a, b in zip(_values(sp), _values(tp)):
        np.testing.assert_allclose(a, b, rtol=1e-9)


def test_needs_a_closure_and_one_group():
    x = Parameter(shendu.tensor(np.ones(3)))
    opt = optim.LBFGS([x])
    with pytest.raises(TypeError, match="LBFGS.step: needs a closure"):
        opt.step()
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": [x]}, {"params": [Parameter(shendu.tensor(np.ones(2)))]}])
    with pytest.raises(ValueError, match="line_search_fn"):
        optim.LBFGS([x], line_search_fn="backtracking")
    with pytest.raises(ValueError, match="lr"):
        optim.LBFGS([x], lr=-1)


def test_stops_at_once_when_the_gradient_is_zero():
    x = Parameter(shendu.tensor(np.ones(3)))
    opt = optim.LBFGS([x])
    calls = []

    def closure():
        calls.append(1)
        opt.zero_grad()
        loss = ((x - 1) ** 2).sum()
        loss.backward()
        return loss
    assert float(opt.step(closure)) == 0.0
    assert len(calls) == 1 and opt.state[x]["n_iter"] == 0
