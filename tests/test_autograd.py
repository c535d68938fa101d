"""The backward engine: topological order, accumulation, graph release, no_grad,
broadcasting-aware gradients, error messages, and deep graphs."""
import gc

import numpy as np
import pytest

import shendu
from shendu.autograd import RELEASED, Function, graph_order, unbroadcast


class CountingIdentity(Function):
    """y = x, counting how often backward runs (the engine must visit each node once)."""

    __slots__ = ()
    calls = 0

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        type(self).calls += 1
        return g


# ------------------------------------------------------------------ accumulation and order
def test_diamond_graph_sums_both_paths():
    x = shendu.tensor([1.0, -2.0], requires_grad=True)
    a, b = x * 2, x * 3          # two paths from x ...
    y = (a * b).sum()           # ... joined again: y = 6x², dy/dx = 12x
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [12.0, -24.0])


def test_diamond_through_a_shared_intermediate_runs_its_backward_once():
    CountingIdentity.calls = 0
    x = shendu.tensor([0.5, 1.5], requires_grad=True)
    h = CountingIdentity.apply(x.exp())
    y = (h * h + h + h.tanh()).sum()  # three consumers of h
    y.backward()
    e = np.exp(x.numpy())
    np.testing.assert_allclose(x.grad.numpy(), (2 * e + 1 + (1 - np.tanh(e) ** 2)) * e, rtol=1e-6)
    assert CountingIdentity.calls == 1


def test_a_tensor_reused_in_one_op_gets_both_gradients():
    x = shendu.tensor([3.0], requires_grad=True)
    (x * x * x).backward()
    assert x.grad.item() == 27.0
    z = shendu.tensor([2.0], requires_grad=True)
    (z + z).backward()
    assert z.grad.item() == 2.0


def test_gradients_accumulate_across_backward_calls_until_reset():
    x = shendu.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 6.0])
    x.grad = None
    (x * 5).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 5.0])
    x.zero_grad()
    assert x.grad is None


def test_only_leaves_that_require_grad_get_a_gradient():
    x = shendu.tensor([1.0], requires_grad=True)
    c = shendu.tensor([5.0])
    h = x * c
    (h * 2).backward()
    assert c.grad is None and h.grad is None and x.grad.item() == 10.0


def test_backward_may_skip_gradients_of_inputs_that_do_not_require_them():
    seen = []

    class Probe(Function):
        __slots__ = ()

        def forward(self, a, b):
            return a * b

        def backward(self, g):
            seen.append(tuple(t.requires_grad for t in self.inputs))
            return (g if self.inputs[0].requires_grad else None, g if self.inputs[1].requires_grad else None)

    a, b = shendu.ones(2, requires_grad=True), shendu.ones(2)
    Probe.apply(a, b).sum().backward()
    assert seen == [(True, False)] and a.grad is not None and b.grad is None


def test_graph_order_puts_each_tensor_after_its_inputs():
    x, c = shendu.tensor([1.0, 2.0], requires_grad=True), shendu.tensor([3.0, 4.0])
    h = x * c
    y, z = (h + h.exp()).sum(), h.mean()
    nodes = graph_order([y, z])
    assert [type(t._ctx).__name__ for t in nodes] == ["Mul", "Exp", "Add", "Sum", "Mean"]
    full = graph_order([y, z], leaves=True)  # the ONNX exporter's view: the leaves x and c too
    position = {id(t): i for i, t in enumerate(full)}
    assert len(position) == len(full) == 7 and id(x) in position and id(c) in position
    assert all(position[id(p)] < position[id(t)] for t in nodes for p in t._ctx.inputs)
    assert [t for t in full if t._ctx is not None] == nodes


def test_a_non_leaf_whose_requires_grad_is_switched_off_stops_backward_even_once_freed():
    x = shendu.tensor([1.0, 2.0], requires_grad=True)
    w = shendu.tensor([3.0, 3.0], requires_grad=True)
    h = x * 2
    h.sum().backward()                  # frees the graph under h
    h.requires_grad_(False)             # h is now a constant of the next graph
    (h * w).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [2.0, 4.0])
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])  # from the first backward only


def test_a_function_may_return_a_gradient_in_the_broadcast_shape_and_another_dtype():
    class Scale(Function):
        __slots__ = ()

        def forward(self, x, s):
            return x * s

        def backward(self, g):
            return g * 2.0, g.astype(np.float64)  # s's gradient comes back as (2, 3) float64

    x = shendu.ones(2, 3, requires_grad=True)
    s = shendu.ones(1, 3, requires_grad=True)
    Scale.apply(x, s).sum().backward()
    assert s.grad.shape == (1, 3) and s.grad.dtype == shendu.float32
    np.testing.assert_array_equal(s.grad.numpy(), [[2, 2, 2]])


# ------------------------------------------------------------------ broadcasting
@pytest.mark.parametrize("shape", [(), (1,), (3,), (1, 3), (2, 1), (2, 3), (1, 1, 3), (4, 2, 3)])
def test_gradients_of_broadcast_inputs_are_summed_back_to_their_shape(shape):
    big = shendu.ones(4, 2, 3, requires_grad=True)
    small = shendu.ones(*shape, requires_grad=True)
    (big * small).sum().backward()
    assert small.grad.shape == shape and big.grad.shape == (4, 2, 3)
    copies = 24 // int(np.prod(shape))
    np.testing.assert_array_equal(small.grad.numpy(), np.full(shape, copies))


def test_unbroadcast():
    g = np.ones((4, 2, 3))
    assert unbroadcast(g, (4, 2, 3)) is g
    np.testing.assert_array_equal(unbroadcast(g, (2, 1)), np.full((2, 1), 12))
    np.testing.assert_array_equal(unbroadcast(g, ()), 24)
    np.testing.assert_array_equal(unbroadcast(np.array(2.0), (2, 2)), np.full((2, 2), 2.0))


# ------------------------------------------------------------------ graph release
def test_graph_is_released_after_backward():
    x = shendu.ones(2, requires_grad=True)
    h = x.exp()
    y = (h * 3).sum()
    y.backward()
    assert y._ctx is RELEASED and h._ctx is RELEASED and x.is_leaf


def test_second_backward_through_a_released_graph_says_what_to_do():
    x = shendu.ones(2, requires_grad=True)
    y = (x.exp() * 3).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"already freed; call the first backward\(retain_graph=True\)"):
        y.backward()
    z = x.exp().sum()
    w = z * 2
    w.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        (z * 3).backward()  # a new graph that reaches into the freed one


def test_retain_graph_allows_a_second_backward():
    x = shendu.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    assert y._ctx is not RELEASED
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])


def test_two_losses_sharing_a_trunk_with_retain_graph():
    x = shendu.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    (h * 2).sum().backward(retain_graph=True)
    (h * h).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6 + 18.0, 6 + 36.0])


# ------------------------------------------------------------------ errors
def test_backward_of_a_non_scalar_without_grad_says_what_to_do():
    y = shendu.ones(2, 3, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"only for a scalar output, got shape \(2, 3\); call \.sum\(\) or \.mean\(\)"):
        y.backward()


def test_backward_with_an_explicit_grad():
    x = shendu.ones(2, 3, requires_grad=True)
    y = x * 2
    y.backward(shendu.full((2, 3), 0.5), retain_graph=True)
    np.testing.assert_allclose(x.grad.numpy(), np.ones((2, 3)))
    y.backward(np.ones((2, 3)))  # a plain array (or nested lists) works too
    np.testing.assert_allclose(x.grad.numpy(), 3 * np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"backward: grad has shape \(3,\) but the tensor has shape \(2, 3\)"):
        (x * 2).backward(shendu.ones(3))


def test_backward_of_a_tensor_that_does_not_require_grad_says_what_to_do():
    with pytest.raises(RuntimeError, match="does not require grad .* requires_grad=True"):
        shendu.ones(2).sum().backward()
    x = shendu.ones(2, requires_grad=True)
    with shendu.no_grad():
        y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="under no_grad"):
        y.backward()


def test_backward_on_a_leaf_and_explicit_grads_are_copied_not_aliased():
    x = shendu.ones(2, requires_grad=True)
    g = shendu.tensor([1.0, 2.0])
    x.backward(g)
    g.data[0] = 100.0
    assert x.grad.tolist() == [1.0, 2.0]
    a, b = shendu.ones(2, requires_grad=True), shendu.ones(2, requires_grad=True)
    (a + b).sum().backward()
    a.grad.data *= 10  # e.g. gradient clipping in place
    assert b.grad.tolist() == [1.0, 1.0]


# ------------------------------------------------------------------ no_grad
def test_no_grad_records_nothing():
    x = shendu.ones(2, requires_grad=True)
    with shendu.no_grad() as ctx:
        assert not shendu.is_grad_enabled() and isinstance(ctx, shendu.no_grad)
        y = (x * 2).exp().sum()
    assert shendu.is_grad_enabled()
    assert not y.requires_grad and y._ctx is None and y.is_leaf


def test_no_inputs_requiring_grad_means_no_node():
    y = (shendu.ones(2) * shendu.ones(2)).exp()
    assert not y.requires_grad and y._ctx is None


def test_no_grad_as_decorator_with_and_without_parentheses():
    x = shendu.ones(2, requires_grad=True)

    @shendu.no_grad()
    def step(t):
        """Doc."""
        return t * 2

    @shendu.no_grad
    def bare(t):
        return t * 3

    assert not step(x).requires_grad and not bare(x).requires_grad
    assert step.__name__ == "step" and step.__doc__ == "Doc." and bare.__name__ == "bare"
    assert (x * 2).requires_grad  # grad mode is back after each call


def test_enable_grad_as_decorator_records_inside_no_grad():
    x = shendu.ones(2, requires_grad=True)

    @shendu.enable_grad()
    def f(t):
        return t * 2

    with shendu.no_grad():
        assert f(x).requires_grad
        assert not (x * 2).requires_grad


def test_no_grad_restores_the_mode_after_an_exception_and_nests():
    with pytest.raises(KeyError):
        with shendu.no_grad():
            raise KeyError
    assert shendu.is_grad_enabled()
    x = shendu.ones(1, requires_grad=True)
    with shendu.no_grad():
        with shendu.no_grad():
            pass
        assert not shendu.is_grad_enabled()
        with shendu.enable_grad():
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad
    assert shendu.is_grad_enabled()


# ------------------------------------------------------------------ gradient dtype and retain_grad
@pytest.mark.parametrize("dtype", [shendu.float32, shendu.float64, shendu.float16])
def test_gradient_has_the_leafs_dtype(dtype):
    x = shendu.ones(3, dtype=dtype, requires_grad=True)
    w = shendu.ones(3, dtype=shendu.float64, requires_grad=True)
    (x * w * 0.5).sum().backward()
    assert x.grad.dtype == dtype and w.grad.dtype == shendu.float64
    assert isinstance(x.grad, shendu.Tensor) and not x.grad.requires_grad


def test_a_scalar_leaf_gets_an_array_gradient():
    x = shendu.tensor(2.0, requires_grad=True)
    (x.exp() * x).backward()
    assert isinstance(x.grad.data, np.ndarray) and x.grad.shape == ()
    assert x.grad.item() == pytest.approx(3 * np.exp(2.0), rel=1e-6)


def test_retain_grad_keeps_the_gradient_of_an_intermediate():
    x = shendu.tensor([1.0, 2.0], requires_grad=True)
    h = (x * 3).retain_grad()
    k = h * h
    k.sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), 2 * h.numpy())
    assert k.grad is None
    np.testing.assert_allclose(x.grad.numpy(), 18 * x.numpy())


def test_higher_order_gradients_are_out_of_scope_grads_carry_no_graph():
    x = shendu.tensor([1.0], requires_grad=True)
    (x ** 3).backward()
    assert x.grad.item() == 3.0 and not x.grad.requires_grad and x.grad._ctx is None


# ------------------------------------------------------------------ deep graphs
def test_a_chain_of_5000_ops_needs_no_recursion():
    x = shendu.tensor([1.0], dtype=shendu.float64, requires_grad=True)
    y = x
    for _ in range(2500):
        y = y * 1.0001
        y = y + 0.001
    y.sum().backward()
    assert x.grad.item() == pytest.approx(1.0001 ** 2500, rel=1e-9)
    del y
    gc.collect()


def test_a_deep_chain_with_retain_graph_and_teardown():
    x = shendu.ones(2, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y.tanh() * 1.0
    loss = y.sum()
    loss.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)
    del loss, y  # freeing 5000 nested nodes must not blow the C stack either
    gc.collect()


def test_one_gradient_array_returned_for_two_leaves_is_not_shared():
    """A backward that returns the same new array for two inputs must not make the
    two leaves share one .grad array (in-place clipping would scale both)."""
    class Twice(shendu.Function):
        __slots__ = ()

        def forward(self, a, b):
            return a + b

        def backward(self, g):
            ig = 2 * g
            return ig, ig

    a = shendu.ones(3, requires_grad=True)
    b = shendu.ones(3, requires_grad=True)
    Twice.apply(a, b).sum().backward()
    assert a.grad.data is not b.grad.data
    a.grad.data *= 0
    assert np.all(b.grad.data == 2)


def test_grad_mode_is_per_thread():
    """Two threads that enter no_grad and leave in the other order must not leave recording off.

    A process-wide flag fails this: thread B saves A's False on entry and restores it
    after A has left (the playground trains one thread per browser tab)."""
    import threading

    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def thread_a():
        with shendu.no_grad():
            a_in.set()
            b_in.wait(5)
        a_out.set()

    def thread_b():
        a_in.wait(5)
        with shendu.no_grad():
            b_in.set()
            a_out.wait(5)
            seen["inside"] = shendu.is_grad_enabled()
        seen["after"] = shendu.is_grad_enabled()

    threads = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    with shendu.no_grad():  # the main thread's switch is its own too
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert not shendu.is_grad_enabled()
    assert shendu.is_grad_enabled()
    assert seen == {"inside": False, "after": True}
    x = shendu.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]
