"""``shendu.gradcheck(module, x)``: every parameter's gradient against finite differences."""
import numpy as np
import pytest

import shendu
from shendu import nn
from shendu.autograd import Function


class Affine(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(shendu.randn(n_out, n_in) * 0.5)
        self.bias = nn.Parameter(shendu.randn(n_out) * 0.1)

    def forward(self, x):
        return shendu.linear(x, self.weight, self.bias)


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = Affine(3, 5)
        self.out = Affine(5, 2)
        self.scale = nn.Parameter(shendu.ones(2))

    def forward(self, x):
        return self.out(self.hidden(x).tanh()) * self.scale


class WrongScale(Function):
    """y = w·x with a deliberately wrong gradient for w (2·g·x instead of g·x); x's is right."""

    __slots__ = ("w", "x")

    def forward(self, w, x):
        self.w, self.x = w, x
        return w * x

    def backward(self, g):
        return (2 * g * self.x).sum(axis=0), g * self.w


class BadScale(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.gain = nn.Parameter(shendu.randn(n))

    def forward(self, x):
        return WrongScale.apply(self.gain, x)


def x64(*shape):
    return shendu.tensor(np.random.default_rng(0).standard_normal(shape))


def test_correct_model_passes_and_is_left_unchanged():
    model = TwoLayer()
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    assert shendu.gradcheck(model, x64(4, 3)) is True
    after = model.state_dict()
    for k, v in before.items():                              # values, dtype restored; gradients cleared
        assert after[k].dtype == np.float32 and np.array_equal(after[k].numpy(), v)
    assert all(p.grad is None for p in model.parameters())


def test_wrong_backward_is_caught_and_the_parameter_named():
    model = nn.Sequential(Affine(3, 3), BadScale(3))
    with pytest.raises(shendu.GradcheckError, match=r"parameter 1\.gain"):
        shendu.gradcheck(model, x64(4, 3))


def test_the_bad_function_alone_is_right_for_its_input_only():
    """The same Function's input gradient is correct: the check above fails because of the parameter."""
    w = shendu.tensor(np.ones(3))
    assert shendu.gradcheck(lambda x: WrongScale.apply(w, x), x64(4, 3))
    with pytest.raises(shendu.GradcheckError, match="input 0"):
        shendu.gradcheck(lambda p: WrongScale.apply(p, x64(4, 3)), shendu.tensor(np.ones(3)))


def test_gradcheck_error_is_an_assertion_error():
    assert issubclass(shendu.GradcheckError, AssertionError)
