"""Channels-last activations keep their layout through the ops between convolutions (ReLU, the ResNet
shortcut's slicing and padding), and ReLU's gradient matches PyTorch's on both kernel paths, special
values included (a NaN passes its gradient, as in PyTorch)."""
import numpy as np
import pytest
import torch

import shendu
from shendu.ops._util import empty_in_layout_of, memory_order


def channels_last(a):
    """The same values, laid out N, H, W, C in memory (what a oneDNN convolution returns)."""
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def is_channels_last(a):
    return a.transpose(0, 2, 3, 1).flags.c_contiguous and not a.flags.c_contiguous


def leaf(a):
    """A leaf tensor on the array itself (shendu.tensor would copy it into C order)."""
    return shendu.Tensor._wrap(a, True, None)


@pytest.mark.parametrize("shape", [(8, 6, 28, 28), (3, 5, 4, 4)])   # above and below oneDNN's size threshold
def test_relu_matches_pytorch_with_special_values_and_keeps_the_layout(kernels, shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape, dtype=np.float32)
    x.flat[:6] = [np.inf, -np.inf, np.nan, 0.0, -0.0, 1.0]
    x = channels_last(x)
    g = channels_last(rng.standard_normal(shape, dtype=np.float32))
    t = leaf(x)
    y = t.relu()
    y.backward(shendu.Tensor._wrap(g, False, None))
    tx = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
    ty = torch.relu(tx)
    ty.backward(torch.tensor(np.ascontiguousarray(g)))
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
    np.testing.assert_array_equal(t.grad.numpy(), tx.grad.numpy())   # NaN: g passes; −∞, 0, −0: 0
    assert is_channels_last(y.data) and is_channels_last(t.grad.data)


def test_relu_gradient_when_g_comes_in_another_layout(kernels):
    rng = np.random.default_rng(1)
    x = channels_last(rng.standard_normal((4, 8, 16, 16), dtype=np.float32))
    g = rng.standard_normal((4, 8, 16, 16), dtype=np.float32)    # C order: oneDNN's one-pass kernel declines
    t = leaf(x)
    t.relu().backward(shendu.Tensor._wrap(g, False, None))
    np.testing.assert_array_equal(t.grad.numpy(), g * (x > 0))


def test_pad_and_slicing_keep_channels_last(kernels):
    """The option-A shortcut of a CIFAR ResNet: x[:, :, ::2, ::2] padded with zero channels."""
    rng = np.random.default_rng(2)
    x = channels_last(rng.standard_normal((2, 4, 8, 8), dtype=np.float32))
    t = leaf(x)
    y = shendu.functional.pad(t[:, :, ::2, ::2], (0, 0, 0, 0, 2, 2))
    assert y.shape == (2, 8, 4, 4) and is_channels_last(y.data)
    np.testing.assert_array_equal(y.numpy(), np.pad(x[:, :, ::2, ::2], ((0, 0), (2, 2), (0, 0), (0, 0))))
    g = rng.standard_normal(y.shape, dtype=np.float32)
    y.backward(shendu.Tensor._wrap(g, False, None))
    expected = np.zeros_like(x)
    expected[:, :, ::2, ::2] = g[:, 2:6]
    np.testing.assert_array_equal(t.grad.numpy(), expected)
    assert is_channels_last(t.grad.data)


def test_pad_keeps_c_order_and_other_values():
    x = np.arange(6, dtype=np.float64).reshape(2, 3)
    y = shendu.functional.pad(shendu.tensor(x), (1, 2), value=-1.5)
    np.testing.assert_array_equal(y.numpy(), np.pad(x, ((0, 0), (1, 2)), constant_values=-1.5))
    assert y.data.flags.c_contiguous
    yi = shendu.functional.pad(shendu.tensor(np.arange(4, dtype=np.int64)), (2, 0), value=7)
    np.testing.assert_array_equal(yi.numpy(), [7, 7, 0, 1, 2, 3])


def test_empty_in_layout_of():
    a = np.zeros((2, 3, 4, 5), np.float32)
    assert memory_order(a) is None and empty_in_layout_of(a, (2, 3, 6, 7)).flags.c_contiguous
    b = channels_last(a)
    assert memory_order(b) == [0, 2, 3, 1]
    e = empty_in_layout_of(b, (2, 3, 6, 7), np.float64)
    assert e.shape == (2, 3, 6, 7) and e.dtype == np.float64 and is_channels_last(e)


def test_linear_under_no_grad_is_the_graph_forward():
    """nn.Linear's inference path (no node) gives the same numbers as the recorded forward, fused ReLU too."""
    shendu.manual_seed(0)
    net = shendu.nn.Sequential(shendu.nn.Linear(7, 5), shendu.nn.ReLU(), shendu.nn.Linear(5, 3))
    x = shendu.randn(4, 7)
    recorded = net(x)
    with shendu.no_grad():
        inferred = net(x)
        single = net[0](x)
    assert recorded.requires_grad and not inferred.requires_grad
    np.testing.assert_array_equal(inferred.numpy(), recorded.numpy())
    np.testing.assert_array_equal(single.numpy(), net[0](x).numpy())
    with shendu.no_grad(), pytest.raises(ValueError, match="Linear: expected input with last dimension 7"):
        net[0](shendu.randn(4, 6))


@pytest.mark.parametrize("layout", ["c_order", "channels_last", "strided", "mixed"])
def test_relu_into_chunks_equal_numpys_maximum(layout):
    """relu_into compares dense memory with a cached zeros vector, 64k numbers at a time (NumPy's maximum
    against a scalar is several times slower): the same values as np.maximum(x, 0), NaN and ±inf included,
    across chunk boundaries, in every layout; y keeps x's layout."""
    from shendu.ops.elementwise import _RELU_CHUNK, relu_into
    rng = np.random.default_rng(0)
    shape = (3, 5, 97, 93)  # 135,315 numbers: two full chunks and a partial one
    x = rng.standard_normal(shape).astype(np.float32)
    x.reshape(-1)[[0, _RELU_CHUNK - 1, _RELU_CHUNK, 100_000]] = [np.nan, -np.inf, np.inf, -0.0]
    if layout == "channels_last":
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    elif layout == "strided":
        x = x[:, :, ::2]
    y = np.empty_like(x)
    if layout == "mixed":  # x C-order, y channels-last: one plain call
        y = np.empty(x.transpose(0, 2, 3, 1).shape, np.float32).transpose(0, 3, 1, 2)
    expected = np.maximum(x, np.float32(0))
    assert relu_into(x, y) is y
    np.testing.assert_array_equal(y, expected)
    assert x.size > 4096
    z = x.copy(order="K")
    relu_into(z, z)  # in place
    np.testing.assert_array_equal(z, expected)
