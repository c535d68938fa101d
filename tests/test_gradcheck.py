"""shendu.gradcheck: passes on correct gradients, and on a wrong one raises a
GradcheckError naming the worst element (input, index, analytic, numeric)."""
import re

import numpy as np
import pytest

import shendu
from shendu import Function, GradcheckError, gradcheck


class WrongSquare(Function):
    """y = x², with a deliberately wrong backward: 2x everywhere except one
    element, which gets 1 added to its gradient."""

    __slots__ = ("x",)
    bad_index = (1, 2)

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, g):
        gx = g * 2 * self.x
        gx[self.bad_index] += 1.0
        return gx


class ForgetsSecondInput(Function):
    """y = a · b whose backward forgets b's gradient (returns None for it)."""

    __slots__ = ("a", "b")

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        return g * self.b, None


def test_passes_on_correct_ops_and_returns_true():
    x = shendu.randn(3, 4, dtype=shendu.float64)
    w = shendu.randn(4, 2)
    assert gradcheck(lambda t: (t * t.sigmoid()).sum(axis=1), x) is True
    assert gradcheck(lambda t, u: (t @ u).tanh(), x, w) is True
    assert gradcheck(lambda t: t.logsumexp(axis=0, keepdims=True) - t.max(), x) is True


def test_tuple_outputs_and_non_floating_inputs():
    x = shendu.randn(2, 3)
    idx = shendu.tensor([0, 2])
    assert gradcheck(lambda t, i: (t[:, i], t.exp().mean(axis=0)), x, idx)
    with pytest.raises(ValueError, match="gradcheck: no floating tensor among the inputs"):
        gradcheck(lambda i: i * 2, idx)


def test_inputs_are_not_modified_and_noncontiguous_inputs_work():
    x = shendu.randn(3, 4)
    before = x.numpy().copy()
    assert gradcheck(lambda t: t.exp(), x.T)  # a transposed view: perturbed through a C-ordered copy
    np.testing.assert_array_equal(x.numpy(), before)
    assert x.grad is None and x.dtype == shendu.float32


def test_a_constant_output_has_a_zero_gradient():
    x = shendu.randn(3)
    assert gradcheck(lambda t: shendu.argmax(t) * 1.0, x)


def _parse(message):
    m = re.search(r"gradient of input (\d+) element \(([\d, ]*)\): analytic gradient (\S+), numeric (\S+)", message)
    assert m, message
    index = tuple(int(i) for i in m.group(2).split(",") if i.strip())
    return int(m.group(1)), index, float(m.group(3)), float(m.group(4))


def test_a_wrong_gradient_is_reported_at_its_worst_element():
    x = shendu.randn(3, 4, dtype=shendu.float64)
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda t: WrongSquare.apply(t), x)
    which, index, analytic, numeric = _parse(str(info.value))
    assert which == 0 and index == WrongSquare.bad_index
    # gradcheck projects the output on a fixed random v: the true gradient there is v·2x
    v = np.random.default_rng(0).standard_normal((3, 4))
    expected = v[index] * 2 * x.numpy()[index]
    assert numeric == pytest.approx(expected, rel=1e-6, abs=1e-8)
    assert analytic == pytest.approx(expected + 1.0, rel=1e-6)
    assert isinstance(info.value, AssertionError)  # so that pytest shows it as a failed check


def test_a_missing_gradient_of_the_second_input_names_that_input():
    a, b = shendu.randn(2, 2), shendu.randn(2, 2)
    with pytest.raises(GradcheckError, match=r"gradient of input 1 element \(\d, \d\): analytic gradient 0,"):
        gradcheck(ForgetsSecondInput.apply, a, b)


def test_nan_gradients_fail():
    class NanGrad(Function):
        __slots__ = ()

        def forward(self, x):
            return x * 1.0

        def backward(self, g):
            return g * np.nan

    with pytest.raises(GradcheckError, match="analytic gradient nan"):
        gradcheck(NanGrad.apply, shendu.randn(3))


def test_tolerances_are_honoured():
    class SlightlyOff(Function):
        __slots__ = ()

        def forward(self, x):
            return x * 3.0

        def backward(self, g):
            return g * 3.0 * (1 + 1e-4)  # relative error 1e-4

    x = shendu.randn(4)
    assert gradcheck(SlightlyOff.apply, x)  # within the default rtol 1e-3
    with pytest.raises(GradcheckError):
        gradcheck(SlightlyOff.apply, x, rtol=1e-6, atol=0)
    assert gradcheck(SlightlyOff.apply, x, eps=1e-4, rtol=1e-3)


def test_modules_check_every_parameter_and_are_restored():
    nn = pytest.importorskip("shendu.nn")

    class Affine(nn.Module):
        def __init__(self, wrong=False):
            super().__init__()
            self.weight = nn.Parameter(shendu.randn(2, 3))
            self.bias = nn.Parameter(shendu.randn(2))
            self.wrong = wrong

        def forward(self, x):
            if self.wrong:
                return ForgetsSecondInput.apply(x @ self.weight.T, shendu.ones(2) + self.bias)
            return shendu.linear(x, self.weight, self.bias).tanh()

    m = Affine()
    before = m.weight.numpy().copy()
    assert gradcheck(m, shendu.randn(4, 3))
    assert m.weight.dtype == shendu.float32 and m.weight.grad is None
    np.testing.assert_array_equal(m.weight.numpy(), before)
    with pytest.raises(GradcheckError, match="gradient of parameter bias element"):
        gradcheck(Affine(wrong=True), shendu.randn(4, 3))
