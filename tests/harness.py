"""One harness for every op test: compare against PyTorch and finite differences.

A test states a case; this module does the work::

    check(lambda x, y: x * y, lambda x, y: x * y, [randn(2, 3), randn(3)])

``check`` feeds the same NumPy arrays to shendu and to torch, compares the
forward outputs, back-propagates the same random upstream gradient through
both and compares every input gradient, in float32 (rtol 1e-5) and float64
(rtol 1e-10); then it runs ``shendu.gradcheck`` in float64. Integer arrays
among the inputs are passed through unchanged (indices, labels).
"""
from __future__ import annotations

import numpy as np
import pytest

import shendu

TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}


def torch_or_skip():
    return pytest.importorskip("torch")


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _to_np(t):
    if isinstance(t, shendu.Tensor):
        return np.asarray(t.numpy())
    return t.detach().cpu().numpy()


def assert_close(actual, expected, rtol, atol, what):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != torch {expected.shape}"
    if not np.allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True):
        diff = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
        i = np.unravel_index(np.nanargmax(diff), diff.shape) if diff.size else ()
        raise AssertionError(f"{what}: max abs diff {np.nanmax(diff):.3g} at {i}: shendu {actual[i]!r}, torch {expected[i]!r}")


def check(sd_fn, torch_fn, arrays, dtypes=(np.float32, np.float64), grad=True, gradcheck=True,
          tol=None, gradcheck_kw=None, grad_inputs=None):
    """Check ``sd_fn`` against ``torch_fn`` (forward and backward) and gradcheck.

    Args:
        sd_fn, torch_fn: functions of the inputs (shendu tensors / torch tensors).
        arrays: NumPy arrays; floating ones are cast to each dtype and get gradients.
        grad: compare gradients as well as outputs.
        gradcheck: also run ``shendu.gradcheck`` in float64.
        tol: {dtype: dict(rtol=, atol=)} overrides.
        grad_inputs: indices of the floating inputs that get gradients (default: all).
    """
    torch = torch_or_skip()
    tol = {**TOL, **(tol or {})}
    floating = [i for i, a in enumerate(arrays) if np.asarray(a).dtype.kind == "f"]
    if grad_inputs is None:
        grad_inputs = floating
    for dt in dtypes:
        sd_in, t_in = [], []
        for i, a in enumerate(arrays):
            a = np.asarray(a)
            if i in floating:
                a = a.astype(dt)
                g = grad and i in grad_inputs
                sd_in.append(shendu.tensor(a, requires_grad=g))
                t_in.append(torch.tensor(a, requires_grad=g))
            else:
                sd_in.append(shendu.tensor(a))
                t_in.append(torch.tensor(a))
        sd_out = _as_tuple(sd_fn(*sd_in))
        t_out = _as_tuple(torch_fn(*t_in))
        assert len(sd_out) == len(t_out), f"{len(sd_out)} outputs vs torch {len(t_out)}"
        for k, (s, t) in enumerate(zip(sd_out, t_out)):
            assert_close(_to_np(s), _to_np(t), what=f"forward output {k} ({np.dtype(dt).name})", **tol[dt])
            if s.dtype.kind == "f":
                assert s.dtype == np.dtype(dt), f"output {k} has dtype {s.dtype}, expected {np.dtype(dt)}"
        if not grad or not grad_inputs:
            continue
        rng = np.random.default_rng(1)
        sd_total, t_total = None, None
        for s, t in zip(sd_out, t_out):
            if not getattr(t, "requires_grad", False):
                continue
            v = rng.standard_normal(_to_np(t).shape).astype(dt)
            a = (s * shendu.tensor(v)).sum()
            b = (t * torch.tensor(v)).sum()
            sd_total = a if sd_total is None else sd_total + a
            t_total = b if t_total is None else t_total + b
        if sd_total is None:
            continue
        sd_total.backward()
        t_total.backward()
        for i in grad_inputs:
            tg = t_in[i].grad
            sg = sd_in[i].grad
            if tg is None:
                assert sg is None or np.all(_to_np(sg) == 0), f"input {i}: torch has no gradient, shendu has one"
                continue
            assert sg is not None, f"input {i}: shendu has no gradient"
            assert sg.dtype == np.dtype(dt), f"gradient of input {i} has dtype {sg.dtype}, expected {np.dtype(dt)}"
            assert_close(_to_np(sg), _to_np(tg), what=f"gradient of input {i} ({np.dtype(dt).name})", **tol[dt])
    if gradcheck and grad and grad_inputs:
        ins = [shendu.tensor(np.asarray(a).astype(np.float64)) if i in grad_inputs else shendu.tensor(np.asarray(a))
               for i, a in enumerate(arrays)]
        idx = list(grad_inputs)

        def f(*checked):
            full = list(ins)
            for j, c in zip(idx, checked):
                full[j] = c
            return sd_fn(*full)

        shendu.gradcheck(f, *[ins[j] for j in idx], **(gradcheck_kw or {}))


def check_module(sd_module, torch_module, arrays, train=True, dtypes=(np.float64,), tol=None, copy_params=True):
    """Copy ``torch_module``'s parameters into ``sd_module`` by name, then compare
    outputs, input gradients and parameter gradients."""
    torch = torch_or_skip()
    tol = {**TOL, **(tol or {})}
    for dt in dtypes:
        torch_module = torch_module.to(torch.float64 if dt == np.float64 else torch.float32)
        torch_module.zero_grad()
        sd_module.to(dtype=dt)
        if copy_params:
            sd_module.load_state_dict({k: v.detach().numpy() for k, v in torch_module.state_dict().items()}, strict=False)
        sd_module.train(train)
        torch_module.train(train)
        sd_in = [shendu.tensor(np.asarray(a).astype(dt), requires_grad=True) if np.asarray(a).dtype.kind == "f"
                 else shendu.tensor(a) for a in arrays]
        t_in = [torch.tensor(np.asarray(a).astype(dt), requires_grad=True) if np.asarray(a).dtype.kind == "f"
                else torch.tensor(a) for a in arrays]
        s_out, t_out = _as_tuple(sd_module(*sd_in)), _as_tuple(torch_module(*t_in))
        rng = np.random.default_rng(2)
        sd_total = t_total = 0
        for k, (s, t) in enumerate(zip(s_out, t_out)):
            assert_close(_to_np(s), _to_np(t), what=f"output {k}", **tol[dt])
            v = rng.standard_normal(_to_np(t).shape).astype(dt)
            sd_total = sd_total + (s * shendu.tensor(v)).sum()
            t_total = t_total + (t * torch.tensor(v)).sum()
        sd_total.backward()
        t_total.backward()
        for i, (s, t) in enumerate(zip(sd_in, t_in)):
            if t.grad is not None:
                assert_close(_to_np(s.grad), _to_np(t.grad), what=f"input gradient {i}", **tol[dt])
        sd_params = dict(sd_module.named_parameters())
        for name, p in torch_module.named_parameters():
            assert name in sd_params, f"parameter {name} missing in shendu module"
            if p.grad is not None:
                assert_close(_to_np(sd_params[name].grad), _to_np(p.grad), what=f"gradient of {name}", **tol[dt])
        sd_module.zero_grad()
