"""Version counters, integer tensors that may not require grad, and .grad of the wrong shape.

Every in-place change bumps a tensor's ``_version``; backward refuses a node
whose saved tensor changed since it was recorded — exactly where PyTorch
refuses (each case runs in both libraries and must agree).
"""
from __future__ import annotations

import numpy as np
import pytest

import shendu
import shendu.functional as F
from shendu.autograd import graph_order

torch = pytest.importorskip("torch")


class Lib:
    """The few names a case needs, in shendu or in torch."""

    def __init__(self, lib):
        self.lib = lib
        self.torch = lib is torch
        self.F = torch.nn.functional if self.torch else F

    def t(self, values, grad=False):
        return self.lib.tensor(np.asarray(values, dtype=np.float64), requires_grad=grad)

    def no_grad(self):
        return self.lib.no_grad()

    def linear(self, x, w, b):
        return self.F.linear(x, w, b)

    def conv2d(self, x, w, b):
        return self.F.conv2d(x, w, b)

    def sgd(self, params):
        return self.lib.optim.SGD(params, lr=0.1)


def _mul_input(L):
    w, x = L.t([1.0, 2.0, 3.0], True), L.t([1.0, 1.0, 1.0])
    y = (w * x).sum()
    x += 10
    return y, [w]


def _add_input(L):
    w, x = L.t([1.0, 2.0, 3.0], True), L.t([1.0, 1.0, 1.0])
    y = (w + x).sum()
    x += 1
    return y, [w]


def _matmul_input(L):
    w, x = L.t(np.ones((2, 3)), True), L.t(np.arange(6.0).reshape(3, 2))
    y = (w @ x).sum()
    x *= 2
    return y, [w]


def _matmul_unsaved_side(L):  # x does not require grad: w's array is not needed by any gradient
    w, x = L.t(np.ones((2, 3)), True), L.t(np.arange(6.0).reshape(3, 2))
    h = w * 1.0
    y = (x.T @ h.T).sum()
    with L.no_grad():
        h -= 1
    return y, [w]


def _exp_input(L):  # exp saves its output, not its input
    w = L.t([0.5, 1.0], True)
    h = w * 2.0
    y = h.exp().sum()
    with L.no_grad():
        h += 1
    return y, [w]


def _exp_output(L):
    w = L.t([0.5, 1.0], True)
    e = (w * 2.0).exp()
    y = e.sum()
    with L.no_grad():
        e += 1
    return y, [w]


def _sigmoid_output(L):
    w = L.t([0.5, -1.0], True)
    s = w.sigmoid()
    y = s.sum()
    with L.no_grad():
        s *= 2
    return y, [w]


def _relu_input(L):
    w = L.t([0.5, -1.0], True)
    h = w * 1.0
    y = h.relu().sum()
    with L.no_grad():
        h += 5
    return y, [w]


def _relu_output(L):
    w = L.t([0.5, -1.0], True)
    r = (w * 1.0).relu()
    y = (r * r).sum()
    with L.no_grad():
        r += 5
    return y, [w]


def _linear_input(L):
    w, b, x = L.t(np.ones((2, 3)), True), L.t([0.0, 1.0], True), L.t(np.ones((4, 3)))
    y = L.linear(x, w, b).sum()
    x[0] = 7.0
    return y, [w, b]


def _linear_bias(L):  # the bias is never saved
    w, b, x = L.t(np.ones((2, 3)), True), L.t([0.0, 1.0], True), L.t(np.ones((4, 3)))
    y = L.linear(x, w, b).sum()
    with L.no_grad():
        b -= 1
    return y, [w, b]


def _conv2d_weight(L):
    x = L.t(np.arange(32.0).reshape(1, 2, 4, 4), True)
    w, b = L.t(np.ones((3, 2, 3, 3)), True), L.t([0.0, 1.0, 2.0], True)
    y = L.conv2d(x, w, b).sum()
    with L.no_grad():
        w *= 0.5
    return y, [x, w, b]


def _getitem_input(L):
    w = L.t([1.0, 2.0, 3.0], True)
    h = w * 1.0
    y = (h[1:] * 3.0).sum()
    with L.no_grad():
        h += 1
    return y, [w]


def _reshape_input(L):
    w = L.t([1.0, 2.0, 3.0, 4.0], True)
    h = w * 1.0
    y = h.reshape(2, 2).sum()
    with L.no_grad():
        h += 1
    return y, [w]


def _optimizer_step(L):  # a parameter used by a graph, stepped before that graph's backward
    p = L.t([1.0, 2.0], True)
    y = (p * p).sum()
    p.grad = L.t([1.0, 1.0])
    L.sgd([p]).step()
    return y, [p]


def _optimizer_step_unsaved(L):  # the graph does not save p: the step does no harm
    p = L.t([1.0, 2.0], True)
    y = (p + 1.0).sum()
    p.grad = L.t([1.0, 1.0])
    L.sgd([p]).step()
    return y, [p]


CASES = {f.__name__[1:]: f for f in [
    _mul_input, _add_input, _matmul_input, _matmul_unsaved_side, _exp_input, _exp_output, _sigmoid_output,
    _relu_input, _relu_output, _linear_input, _linear_bias, _conv2d_weight, _getitem_input, _reshape_input,
    _optimizer_step, _optimizer_step_unsaved]}


def _outcome(lib, case):
    L = Lib(lib)
    y, leaves = case(L)
    try:
        y.backward()
    except RuntimeError as exc:
        return "raised", str(exc)
    return "ran", [np.asarray(p.grad.detach().numpy() if L.torch else p.grad.numpy()) for p in leaves]


@pytest.mark.parametrize("name", sorted(CASES))
def test_backward_after_an_inplace_change_raises_where_torch_does(name):
    ours, theirs = _outcome(shendu, CASES[name]), _outcome(torch, CASES[name])
    assert ours[0] == theirs[0], f"{name}: shendu {ours[0]} ({ours[1]!s:.200}), torch {theirs[0]}"
    if ours[0] == "ran":
        for a, b in zip(ours[1], theirs[1]):
            np.testing.assert_allclose(a, b, rtol=1e-12)


def test_the_error_names_the_op_the_tensor_and_the_versions():
    w, x = shendu.tensor([1.0, 2.0, 3.0], requires_grad=True), shendu.tensor([1.0, 1.0, 1.0])
    y = (w * x).sum()
    x += 10
    with pytest.raises(RuntimeError, match=r"modified by an in-place operation: input 1 of Mul, a float32 tensor "
                                           r"of shape \(3,\), is at version 1, changed after the op saved it"):
        y.backward()
    assert w.grad is None  # Mul refused before any gradient reached the leaf


def test_versions_count_inplace_changes_as_torch():
    def steps(lib, t):
        seen = [t._version]
        t += 1
        seen.append(t._version)
        t *= 2
        t -= 1
        t /= 2
        seen.append(t._version)
        t[0] = 5.0
        seen.append(t._version)
        t.data = t.data * 1  # replacing .data is not an in-place change (PyTorch's meaning too)
        seen.append(t._version)
        return seen
    assert steps(shendu, shendu.zeros(3)) == steps(torch, torch.zeros(3))


def test_every_optimizer_step_bumps_the_version():
    for name in ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam"]:
        p = shendu.tensor([1.0, 2.0], requires_grad=True)
        opt = getattr(shendu.optim, name)([p])
        opt.step()  # no gradient: no update, no bump
        assert p._version == 0
        p.grad = shendu.tensor([0.5, 0.5])
        opt.step()
        assert p._version == 1, name


def test_changes_to_other_tensors_or_before_recording_do_not_disturb_backward():
    w, x, other = shendu.tensor([1.0, 2.0], requires_grad=True), shendu.tensor([3.0, 4.0]), shendu.zeros(2)
    x += 1  # before the node is recorded: the node saves the new values
    y = (w * x).sum()
    other += 1  # after, but not saved by any node of this graph
    y.backward()
    assert w.grad.tolist() == [4.0, 5.0]
    assert x._version == 1 and other._version == 1


# ---------------------------------------------------------------- integer tensors may not require grad
@pytest.mark.parametrize("make", [
    lambda: shendu.tensor([1, 2], requires_grad=True),
    lambda: shendu.tensor([True, False], requires_grad=True),
    lambda: shendu.zeros(2, dtype=shendu.int64, requires_grad=True),
    lambda: shendu.arange(3, requires_grad=True),
    lambda: shendu.tensor([1, 2]).requires_grad_(),
])
def test_integer_and_bool_tensors_cannot_require_grad(make):
    with pytest.raises(TypeError, match="only floating tensors can require grad"):
        make()


def test_an_integer_leaf_forced_to_require_grad_is_refused_at_backward():
    t = shendu.tensor([1, 2])
    t.requires_grad = True  # the attribute is a plain slot (the hot path reads it); backward checks
    with pytest.raises(TypeError, match=r"only floating tensors can have gradients.*int64"):
        (t * 2).sum().backward()


# ---------------------------------------------------------------- .grad of the wrong shape
def test_a_grad_of_the_wrong_shape_is_refused_at_backward():
    w = shendu.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w.grad = shendu.zeros(2)
    with pytest.raises(RuntimeError, match=r"the \.grad of a leaf tensor of shape \(3,\) has shape \(2,\)"):
        (w * w).sum().backward()


def test_a_grad_of_the_wrong_shape_is_refused_at_optimizer_step_naming_the_parameter():
    model = shendu.nn.Linear(3, 2)
    opt = shendu.optim.SGD(model.parameters(), lr=0.1)
    model.bias.grad = shendu.zeros(3)
    with pytest.raises(RuntimeError, match=r"SGD.step: parameter 1 of parameter group 0 has shape \(2,\) but its "
                                           r"\.grad has shape \(3,\)"):
        opt.step()
    named = shendu.optim.Adam(model.named_parameters())
    with pytest.raises(RuntimeError, match=r"Adam.step: parameter 'bias' has shape \(2,\)"):
        named.step()


# ---------------------------------------------------------------- several-output nodes in the engine
def test_a_node_with_several_outputs_runs_its_backward_once_with_none_for_unused_outputs():
    calls = []

    class SinCos(shendu.Function):
        """(sin x, cos x);  dL/dx = g_sin cos x − g_cos sin x."""

        __slots__ = ("x",)

        def forward(self, x):
            self.x = x
            return np.sin(x), np.cos(x)

        def backward(self, g_sin, g_cos):
            calls.append((g_sin is None, g_cos is None))
            gx = np.zeros_like(self.x)
            if g_sin is not None:
                gx = gx + g_sin * np.cos(self.x)
            if g_cos is not None:
                gx = gx - g_cos * np.sin(self.x)
            return gx

    x = shendu.tensor([0.3, 1.2], dtype=shendu.float64, requires_grad=True)
    s, c = SinCos.apply(x)
    assert s._ctx is c._ctx and len(graph_order([(s * c).sum()])) == 3  # SinCos once, Mul, Sum
    (s * 2 + c * s).sum().backward()
    tx = torch.tensor([0.3, 1.2], dtype=torch.float64, requires_grad=True)
    (tx.sin() * 2 + tx.cos() * tx.sin()).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    x.grad = None
    _, c = SinCos.apply(x)  # the sine is dropped at once: its gradient is None
    c.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), -np.sin([0.3, 1.2]), rtol=1e-12)
    assert calls == [(False, False), (True, False)]
    assert shendu.gradcheck(lambda t: SinCos.apply(t), x)


def test_keep_options_records_the_forward_options_only_when_asked():
    x = shendu.tensor([[1.0, 2.0]], requires_grad=True)
    y = x.sum(axis=1)
    assert not hasattr(y._ctx, "options")
    with shendu.autograd.keep_options():
        y = x.sum(axis=1)
    assert y._ctx.options == {"axis": 1, "keepdims": False}
