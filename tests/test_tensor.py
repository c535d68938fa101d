"""shendu.Tensor: construction, dtypes and promotion, creation functions, repr,
conversions, devices, seeding and the rules for in-place updates."""
import math

import numpy as np
import pytest

import shendu
from shendu import backend


# ------------------------------------------------------------------ construction and dtypes
@pytest.mark.parametrize("data,dtype", [
    (1.5, np.float32), ([1.0, 2.0], np.float32), ([[1, 2], [3, 4]], np.int64), (3, np.int64),
    ([True, False], np.bool_), (True, np.bool_), ([], np.float32), ([1, 2.5], np.float32),
    (np.array([1.0], dtype=np.float64), np.float64), (np.array([1, 2], dtype=np.int32), np.int32),
    (np.arange(3, dtype=np.uint8), np.uint8), (np.float64(2.0), np.float64), (np.float16(1), np.float16),
])
def test_default_dtypes(data, dtype):
    t = shendu.tensor(data)
    assert t.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(t.numpy(), np.asarray(data, dtype=dtype))


@pytest.mark.parametrize("dtype", [np.float64, "float64", shendu.float64, np.dtype("float64")])
def test_numpy_dtypes_are_accepted(dtype):
    assert shendu.tensor([1, 2], dtype=dtype).dtype == shendu.float64
    assert shendu.zeros(2, dtype=dtype).dtype == shendu.float64


def test_dtype_names_are_numpy_dtypes():
    assert shendu.float32 == np.float32 and shendu.int64 == np.int64 and shendu.bool == np.bool_
    assert shendu.get_default_dtype() == shendu.float32


def test_set_default_dtype_changes_new_floating_tensors_only():
    try:
        shendu.set_default_dtype(shendu.float64)
        assert shendu.tensor([1.5]).dtype == shendu.float64
        assert shendu.randn(2).dtype == shendu.float64
        assert shendu.tensor([1]).dtype == shendu.int64
    finally:
        shendu.set_default_dtype(shendu.float32)
    with pytest.raises(TypeError, match="set_default_dtype: expected a floating dtype, got int64"):
        shendu.set_default_dtype(shendu.int64)


def test_unsupported_data_raises_a_clear_error():
    with pytest.raises(TypeError, match="tensor: cannot make a tensor from data of dtype"):
        shendu.tensor("abc")
    with pytest.raises(TypeError, match="tensor: cannot make a tensor"):
        shendu.tensor([1 + 2j])


def test_only_floating_tensors_can_require_grad():
    with pytest.raises(TypeError, match="only floating tensors can require grad, got dtype int64"):
        shendu.tensor([1, 2], requires_grad=True)
    for make in (lambda: shendu.zeros(2, dtype=shendu.int64, requires_grad=True),
                 lambda: shendu.arange(3, requires_grad=True),
                 lambda: shendu.full((2,), 3, requires_grad=True),
                 lambda: shendu.tensor([1, 2]).requires_grad_()):
        with pytest.raises(TypeError, match="only floating tensors can require grad"):
            make()
    assert shendu.arange(3.0, requires_grad=True).requires_grad


def test_tensor_copies_and_as_tensor_shares_memory():
    a = np.zeros(3, dtype=np.float32)
    t, s = shendu.tensor(a), shendu.as_tensor(a)
    a[0] = 7
    assert t.numpy()[0] == 0 and s.numpy()[0] == 7
    assert shendu.as_tensor(s) is s
    assert shendu.tensor(s).data is not s.data
    assert shendu.tensor([shendu.tensor(1.0), shendu.tensor(2.0)]).tolist() == [1.0, 2.0]


# ------------------------------------------------------------------ promotion
@pytest.mark.parametrize("a,b,expected", [
    (shendu.float32, shendu.float64, shendu.float64),
    (shendu.float16, shendu.float32, shendu.float32),
    (shendu.float32, shendu.int64, shendu.float32),   # PyTorch's rule: NumPy would widen to float64
    (shendu.int64, shendu.float16, shendu.float16),
    (shendu.float32, shendu.bool_, shendu.float32),
    (shendu.int32, shendu.int64, shendu.int64),
    (shendu.uint8, shendu.int16, shendu.int16),
    (shendu.bool_, shendu.int8, shendu.int8),
    (shendu.bool_, shendu.bool_, shendu.bool_),
])
def test_promotion_rules(a, b, expected):
    assert backend.result_type(a, b) == expected
    assert backend.result_type(b, a) == expected
    x, y = shendu.ones(2, dtype=a), shendu.ones(2, dtype=b)
    assert (x + y).dtype == expected and (y * x).dtype == expected


@pytest.mark.parametrize("tensor_dtype,number,expected", [
    (shendu.float32, 2, shendu.float32), (shendu.float32, 0.5, shendu.float32),
    (shendu.float64, 0.5, shendu.float64), (shendu.int64, 2, shendu.int64),
    (shendu.int64, 0.5, shendu.float32), (shendu.int32, 3, shendu.int32),
    (shendu.bool_, 1, shendu.int64), (shendu.bool_, 1.5, shendu.float32),
])
def test_python_numbers_take_the_tensors_dtype(tensor_dtype, number, expected):
    t = shendu.ones(2, dtype=tensor_dtype)
    assert (t * number).dtype == expected and (number + t).dtype == expected


def test_numpy_scalars_count_as_numbers_and_numpy_arrays_as_tensors():
    x = shendu.ones(2)
    assert (x * np.float64(2.0)).dtype == shendu.float32
    assert (x + np.ones(2)).dtype == shendu.float64
    assert (x + np.ones(2, dtype=np.float32)).dtype == shendu.float32


def test_integer_division_and_mean_give_floats():
    assert (shendu.tensor([1, 2]) / 2).dtype == shendu.float32
    assert (shendu.tensor([1, 2]) / shendu.tensor([2, 2])).tolist() == [0.5, 1.0]
    assert shendu.tensor([1, 2]).mean().item() == 1.5
    assert (shendu.tensor([1, 2]) ** 2).dtype == shendu.int64
    assert (shendu.tensor([1, 2]) ** -1).dtype == shendu.float32


# ------------------------------------------------------------------ creation
def test_creation_functions():
    assert shendu.zeros(2, 3).shape == (2, 3) and shendu.zeros((2, 3)).shape == (2, 3)
    assert shendu.zeros([4]).numpy().sum() == 0 and shendu.zeros(2, 3).dtype == shendu.float32
    assert shendu.ones(3).tolist() == [1.0, 1.0, 1.0]
    assert shendu.zeros(()).shape == () and shendu.ones().shape == ()
    assert shendu.full((2, 2), 1.5).tolist() == [[1.5, 1.5], [1.5, 1.5]]
    assert shendu.full((2,), 3).dtype == shendu.int64 and shendu.full(2, True).dtype == shendu.bool_
    assert shendu.full(3, 2.0, dtype=shendu.float64).dtype == shendu.float64
    assert shendu.arange(4).tolist() == [0, 1, 2, 3] and shendu.arange(4).dtype == shendu.int64
    assert shendu.arange(1, 7, 2).tolist() == [1, 3, 5]
    assert shendu.arange(0, 1, 0.25).dtype == shendu.float32 and shendu.arange(0, 1, 0.25).shape == (4,)
    assert shendu.arange(3.0).dtype == shendu.float32
    np.testing.assert_array_equal(shendu.eye(3).numpy(), np.eye(3))
    assert shendu.eye(2, 3).shape == (2, 3)
    np.testing.assert_allclose(shendu.linspace(0, 1, 5).numpy(), [0, 0.25, 0.5, 0.75, 1])
    assert shendu.empty(2, 2).shape == (2, 2)
    assert shendu.zeros(2, requires_grad=True).requires_grad


def test_like_functions_take_shape_and_dtype():
    t = shendu.zeros(2, 3, dtype=shendu.float64)
    for fn in (shendu.zeros_like, shendu.ones_like, shendu.empty_like, shendu.rand_like, shendu.randn_like):
        out = fn(t)
        assert out.shape == (2, 3) and out.dtype == shendu.float64, fn.__name__
    assert shendu.ones_like(t, dtype=shendu.float32).dtype == shendu.float32
    assert shendu.zeros_like(shendu.tensor([1, 2])).dtype == shendu.int64
    assert shendu.full_like(t, 7.0).numpy().sum() == 42
    assert shendu.ones_like(t, requires_grad=True).requires_grad
    with pytest.raises(TypeError, match="rand: expected a floating dtype, got int64"):
        shendu.rand_like(shendu.tensor([1, 2]))


def test_random_tensors_have_the_right_distribution():
    u = shendu.rand(10000)
    assert u.dtype == shendu.float32 and 0 <= u.numpy().min() and u.numpy().max() < 1
    n = shendu.randn(10000, dtype=shendu.float64)
    assert n.dtype == shendu.float64 and abs(n.numpy().mean()) < 0.05 and abs(n.numpy().std() - 1) < 0.05
    assert shendu.randn(3, dtype=shendu.float16).dtype == shendu.float16
    i = shendu.randint(3, 7, (1000,))
    assert i.dtype == shendu.int64 and set(i.tolist()) == {3, 4, 5, 6}
    assert shendu.randint(5, size=3).shape == (3,)


@pytest.mark.parametrize("make", [
    lambda: shendu.rand(3, 4), lambda: shendu.randn(5), lambda: shendu.randint(0, 100, (6,)),
    lambda: shendu.rand_like(shendu.zeros(2, 2)), lambda: shendu.randn_like(shendu.zeros(3)),
])
def test_manual_seed_makes_random_ops_reproducible(make):
    shendu.manual_seed(123)
    first, second = make().numpy(), make().numpy()
    shendu.manual_seed(123)
    again = make().numpy()
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, second)  # the stream moves on between calls
    shendu.manual_seed(124)
    assert not np.array_equal(first, make().numpy())


def test_rng_state_round_trips():
    shendu.manual_seed(5)
    state = backend.get_rng_state()
    a = shendu.randn(4).numpy()
    backend.set_rng_state(state)
    np.testing.assert_array_equal(a, shendu.randn(4).numpy())


# ------------------------------------------------------------------ attributes and conversion
def test_attributes():
    t = shendu.zeros(2, 3, 4)
    assert t.shape == (2, 3, 4) and t.ndim == 3 and t.size() == (2, 3, 4) and t.size(1) == 3 and t.numel() == 24
    assert t.dtype == shendu.float32 and len(t) == 2 and t.is_leaf and t.grad is None
    assert t.T.shape == (4, 3, 2)
    assert shendu.zeros(2, 3).T.shape == (3, 2)
    assert not t.requires_grad and t.device == "cpu" and t.device == shendu.Device("cpu")


def test_data_is_assignable_and_always_an_array():
    t = shendu.ones(3, requires_grad=True)
    t.data = np.zeros(3, dtype=np.float32)
    assert t.tolist() == [0, 0, 0] and t.requires_grad
    assert isinstance(t[0].data, np.ndarray)  # a 0-d array, never a NumPy scalar
    assert isinstance((shendu.tensor(2.0) * 3).exp().data, np.ndarray)
    assert isinstance(shendu.tensor(2.0).sum().data, np.ndarray)


def test_item_numpy_tolist_and_python_conversions():
    t = shendu.tensor([[2.5]])
    assert t.item() == 2.5 and isinstance(t.item(), float)
    assert shendu.tensor(3).item() == 3 and isinstance(shendu.tensor(3).item(), int)
    assert float(t) == 2.5 and int(shendu.tensor(3.7)) == 3 and bool(shendu.tensor([1]))
    assert [1, 2, 3][shendu.tensor(1)] == 2  # integer one-element tensors work as an index
    with pytest.raises(ValueError, match=r"item: only one-element tensors can be converted, got shape \(2,\)"):
        shendu.zeros(2).item()
    with pytest.raises(ValueError, match="ambiguous"):
        bool(shendu.zeros(2))
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(shendu.tensor(1.0))
    a = shendu.ones(3)
    assert a.numpy() is a.data or np.shares_memory(a.numpy(), a.data)  # no copy on the CPU
    assert np.asarray(a).dtype == np.float32 and np.asarray(a, dtype=np.float64).dtype == np.float64
    assert shendu.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert [x.item() for x in shendu.tensor([1.0, 2.0])] == [1.0, 2.0]


def test_format_spec_formats_one_element_tensors_as_numbers():
    assert f"{shendu.tensor(math.pi):.3f}" == "3.142"
    assert f"{shendu.tensor([2.0]):.1f}" == "2.0"
    assert f"{shendu.tensor(1.0)}" == "tensor(1.)"


def test_detach_shares_data_and_cuts_the_graph():
    x = shendu.randn(3, requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.is_leaf and d.data is y.data
    (d * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), d.numpy())  # no path through d


def test_to_cpu_dtype_and_a_clear_error_for_cuda():
    t = shendu.ones(2, requires_grad=True)
    assert t.to("cpu") is t and t.cpu() is t and t.to(shendu.Device("cpu")) is t
    assert t.to(dtype=shendu.float64).dtype == shendu.float64
    assert t.to(shendu.float64).dtype == shendu.float64  # a dtype where the device goes, as in torch
    assert t.to("cpu", shendu.float16).dtype == shendu.float16
    assert t.double().dtype == shendu.float64 and t.float().dtype == shendu.float32
    assert t.int().dtype == shendu.int32 and t.bool().dtype == shendu.bool_
    with pytest.raises(ValueError, match="Device: expected 'cpu', 'cuda' or 'cuda:<index>', got 'tpu'"):
        t.to("tpu")
    if backend._cupy is None:
        with pytest.raises(RuntimeError, match="CuPy, which is not installed"):
            t.to("cuda")


def test_device_objects():
    assert str(shendu.Device("cuda:1")) == "cuda:1" and repr(shendu.Device()) == "device(type='cpu')"
    assert shendu.Device("cpu") == shendu.Device("cpu") != shendu.Device("cuda")
    assert len({shendu.Device("cpu"), shendu.Device("cpu")}) == 1


# ------------------------------------------------------------------ repr
@pytest.mark.parametrize("make,text", [
    (lambda: shendu.tensor([1.0, 2.5]), "tensor([1. , 2.5])"),
    (lambda: shendu.tensor([[1.0, 2.0], [3.0, 4.0]]), "tensor([[1., 2.],\n        [3., 4.]])"),
    (lambda: shendu.tensor(3.0), "tensor(3.)"),
    (lambda: shendu.tensor([1, 2]), "tensor([1, 2])"),
    (lambda: shendu.tensor([True, False]), "tensor([ True, False])"),
    (lambda: shendu.tensor([1.0], dtype=shendu.float64), "tensor([1.], dtype=float64)"),
    (lambda: shendu.tensor([1, 2], dtype=shendu.int32), "tensor([1, 2], dtype=int32)"),
    (lambda: shendu.tensor([1.0], requires_grad=True), "tensor([1.], requires_grad=True)"),
    (lambda: shendu.tensor([1.0], requires_grad=True) * 2, "tensor([2.], grad_fn=<Mul>)"),
    (lambda: shendu.tensor([1 / 3]), "tensor([0.3333])"),
])
def test_repr(make, text):
    assert repr(make()) == text


def test_repr_of_a_large_tensor_is_summarised_and_of_a_released_node_says_so():
    assert "..." in repr(shendu.zeros(5000))
    y = (shendu.ones(2, requires_grad=True) * 2).sum()
    y.backward()
    assert repr(y) == "tensor(4., grad_fn=<released>)"


# ------------------------------------------------------------------ operators
def test_operators_with_numpy_arrays_and_scalars_on_the_left():
    t = shendu.tensor([1.0, 2.0])
    for out in (np.ones(2, dtype=np.float32) + t, np.float32(2) * t, 3 - t, 2 ** t, np.ones((1, 2)) @ t):
        assert isinstance(out, shendu.Tensor)
    assert (np.float32(2) * t).tolist() == [2.0, 4.0] and (3 - t).tolist() == [2.0, 1.0]
    assert (+t) is t and (-t).tolist() == [-1.0, -2.0] and abs(-t).tolist() == [1.0, 2.0]


def test_comparison_operators_return_bool_tensors_and_hash_by_identity():
    a, b = shendu.tensor([1.0, 2.0]), shendu.tensor([2.0, 2.0])
    assert (a == b).tolist() == [False, True] and (a != b).tolist() == [True, False]
    assert (a < b).dtype == shendu.bool_ and (a >= 2).tolist() == [False, True]
    assert len({a, b}) == 2 and {a: 1}[a] == 1
    assert (a == None) is False and (a != None) is True  # noqa: E711  (as in torch)


# ------------------------------------------------------------------ in-place rules
def test_inplace_update_without_graph_keeps_identity_array_and_dtype():
    t = shendu.zeros(3)
    data = t.data
    t += 1
    t *= shendu.tensor([1.0, 2.0, 3.0], dtype=shendu.float64)  # stored back as float32
    t -= 0.5
    t /= 2
    assert t.data is data and t.dtype == shendu.float32
    np.testing.assert_allclose(t.numpy(), [0.25, 0.75, 1.25])


def test_inplace_update_of_a_parameter_under_no_grad_or_on_data():
    w = shendu.ones(2, requires_grad=True)
    (w * 3).sum().backward()
    with shendu.no_grad():
        same = w
        w -= 0.1 * w.grad
    assert w is same and w.is_leaf and w.requires_grad
    np.testing.assert_allclose(w.numpy(), [0.7, 0.7])
    w.data -= 0.1 * w.grad.data
    np.testing.assert_allclose(w.numpy(), [0.4, 0.4])


def test_inplace_update_of_a_leaf_that_requires_grad_is_refused_with_grad_enabled():
    w = shendu.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"\+=: in-place update of a leaf tensor that requires grad"):
        w += 1
    assert w.tolist() == [1.0, 1.0]


def test_inplace_on_a_graph_tensor_rebinds_and_keeps_the_gradient():
    x = shendu.ones(2, requires_grad=True)
    h = x * 2
    node = h
    h += x        # h is a new tensor: h = h + x
    h *= 3
    assert h is not node
    h.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [9.0, 9.0])


def test_accumulating_a_loss_into_a_plain_tensor_keeps_the_graph():
    w = shendu.ones(1, requires_grad=True)
    total = shendu.zeros(1)
    for k in range(3):
        total += w * k
    assert total.requires_grad
    total.sum().backward()
    assert w.grad.item() == 3.0


def test_inplace_dtype_and_shape_errors():
    t = shendu.tensor([1, 2])
    with pytest.raises(TypeError, match=r"\+=: the result has dtype float32, which cannot be stored in place"):
        t += 0.5
    t += 2
    assert t.tolist() == [3, 4] and t.dtype == shendu.int64
    with pytest.raises(ValueError, match=r"\+=: cannot update a tensor of shape \(2,\) in place"):
        t += shendu.ones(3, 2, dtype=shendu.int64)


def test_setitem_rules():
    t = shendu.zeros(2, 3)
    t[0] = 1.0
    t[1, shendu.tensor([0, 2])] = shendu.tensor([5.0, 6.0])
    t[shendu.tensor([[False, True, False], [False, False, False]])] = 9
    assert t.tolist() == [[1, 9, 1], [5, 0, 6]]
    w = shendu.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="setitem: in-place assignment into a tensor that requires grad"):
        w[0] = 1.0
    with shendu.no_grad():
        w[0] = 1.0
    assert w.tolist() == [1, 0, 0]
    with pytest.raises(RuntimeError, match="setitem: assigning a tensor that requires grad .* drop"):
        t[0] = w * 2
    t[0] = (w * 2).detach()
    assert t[0].tolist() == [2, 0, 0]
