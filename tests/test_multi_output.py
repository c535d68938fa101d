"""Operations with several outputs: max/min(dim), split, chunk, tensor_split, the recurrent layers.

Each is one node of the graph with several output tensors; the harness
compares values, indices and gradients with PyTorch (float32 and float64)
and runs gradcheck.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import shendu
from harness import check
from shendu.autograd import graph_order

torch = pytest.importorskip("torch")


def distinct(seed, shape):
    """Values without ties (a max's index is then unique: the same in both libraries)."""
    rng = np.random.default_rng(seed)
    return rng.permutation(int(np.prod(shape))).reshape(shape).astype(np.float64) / 7 - 1


# ---------------------------------------------------------------- max / min along a dim
@pytest.mark.parametrize("op", ["max", "min"])
@given(data=st.data(), ndim=st.integers(1, 3), keepdim=st.booleans(), seed=st.integers(0, 99))
@settings(max_examples=15, deadline=None)
def test_max_min_along_a_dim_give_values_and_indices_like_torch(op, data, ndim, keepdim, seed):
    shape = tuple(data.draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim)))
    dim = data.draw(st.integers(-ndim, ndim - 1))
    check(lambda t: tuple(getattr(t, op)(dim=dim, keepdim=keepdim)),
          lambda t: tuple(getattr(t, op)(dim=dim, keepdim=keepdim)), [distinct(seed, shape)])


def test_max_returns_a_named_tuple_and_the_idioms_work():
    out = shendu.tensor([[1.0, 5.0, 2.0], [4.0, 0.0, 3.0]]).max(1)
    assert type(out).__name__ == "max" and out.values.tolist() == [5.0, 4.0] and out.indices.tolist() == [1, 0]
    _, pred = shendu.tensor([[0.1, 0.9], [0.8, 0.2]]).max(1)  # the classic accuracy idiom
    assert pred.tolist() == [1, 0] and pred.dtype == shendu.int64
    values, indices = shendu.min(shendu.tensor([[1.0, 5.0], [4.0, 0.0]]), dim=0, keepdim=True)
    assert values.shape == (1, 2) and indices.tolist() == [[0, 1]]
    assert not indices.requires_grad


def test_max_of_two_tensors_is_the_elementwise_maximum_and_of_all_a_scalar():
    a, b = np.array([1.0, 5.0, 2.0]), np.array([3.0, 2.0, 2.5])
    check(lambda x, y: shendu.max(x, y), lambda x, y: torch.max(x, y), [a, b])
    check(lambda x, y: x.min(y), lambda x, y: x.min(y), [a, b])
    check(lambda x: x.max(), lambda x: x.max(), [distinct(1, (2, 3))])
    check(lambda x: shendu.min(x), lambda x: torch.min(x), [distinct(2, (2, 3))])


def test_values_and_indices_come_from_one_node_and_feed_a_topk_like_selection():
    x = distinct(3, (4, 5))

    def top2(lib):
        def f(t):
            first = t.max(dim=1)
            masked = t - 100 * (lib.arange(5)[None, :] == first.indices[:, None])  # knock out the top one
            second = masked.max(dim=1)
            return first.values, second.values, first.indices, second.indices
        return f

    check(top2(shendu), top2(torch), [x])
    values, indices = shendu.tensor(x, requires_grad=True).max(dim=0)
    assert values._ctx is not None and indices._ctx is None
    assert [type(t._ctx).__name__ for t in graph_order([values.sum()])] == ["ExtremumDim", "Sum"]


def test_ties_send_the_gradient_to_one_element_as_torch_max_dim():
    x = np.array([[2.0, 2.0, 1.0], [0.0, 3.0, 3.0]])
    check(lambda t: t.max(dim=1).values, lambda t: t.max(dim=1).values, [x], gradcheck=False)


@pytest.mark.parametrize("dim", [0, -1])
def test_reductions_of_a_0d_tensor_accept_dim_0_and_minus_1(dim):
    x = np.array(2.5)
    check(lambda t: tuple(t.max(dim=dim)), lambda t: tuple(t.max(dim=dim)), [x])
    check(lambda t: tuple(t.min(dim=dim, keepdim=True)), lambda t: tuple(t.min(dim=dim, keepdim=True)), [x])
    for name in ["sum", "mean", "amax", "logsumexp"]:
        check(lambda t: getattr(t, name)(dim=dim), lambda t: getattr(t, name)(dim=dim), [x])
    assert shendu.tensor(x).argmax(dim=dim).item() == torch.tensor(x).argmax(dim=dim).item() == 0
    with pytest.raises(IndexError, match="axis 1 is out of range"):
        shendu.tensor(x).sum(dim=1)


# ---------------------------------------------------------------- split, chunk, tensor_split
@pytest.mark.parametrize("sizes", [2, 3, 5, 7, [3, 4], [0, 5, 2], [7]])
def test_split_takes_a_size_or_a_list_of_sizes_as_torch(sizes):
    x = distinct(4, (7, 3))
    check(lambda t: tuple(t.split(sizes)), lambda t: tuple(t.split(sizes)), [x])
    check(lambda t: tuple(shendu.split(t.T, sizes, dim=1)), lambda t: tuple(torch.split(t.T, sizes, dim=1)), [x])


@pytest.mark.parametrize("chunks", [1, 2, 3, 4, 6, 8])
def test_chunk_matches_torch_including_fewer_pieces(chunks):
    x = distinct(5, (2, 6))
    check(lambda t: tuple(t.chunk(chunks, dim=1)), lambda t: tuple(t.chunk(chunks, dim=1)), [x])


@pytest.mark.parametrize("how", [3, 4, [1, 4], [4, 1, 6], [-2]])
def test_tensor_split_keeps_numpys_meaning_under_torchs_name(how):
    x = distinct(6, (5, 2))
    check(lambda t: tuple(t.tensor_split(how)), lambda t: tuple(t.tensor_split(how)), [x])


def test_split_is_one_node_and_pieces_nobody_uses_get_a_zero_gradient():
    x = shendu.tensor(distinct(7, (6, 2)), requires_grad=True)
    a, b, c = shendu.split(x, 2)
    assert a._ctx is b._ctx is c._ctx
    loss = (b * 3).sum()
    del a, c  # dropped pieces: their gradient is None in the node's backward
    assert [type(t._ctx).__name__ for t in graph_order([loss])] == ["Split", "Mul", "Sum"]
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 0]] * 2 + [[3, 3]] * 2 + [[0, 0]] * 2)


def test_split_errors_name_the_op_and_what_came():
    with pytest.raises(ValueError, match=r"split: sizes \[3, 3\] must be non-negative and add up to 7"):
        shendu.split(shendu.zeros(7), [3, 3])
    with pytest.raises(ValueError, match=r"chunk: chunks must be a positive int, got 0"):
        shendu.chunk(shendu.zeros(7), 0)
    with pytest.raises(TypeError, match=r"split: unexpected keyword arguments \['foo'\]"):
        shendu.split(shendu.zeros(7), 2, foo=1)


# ---------------------------------------------------------------- recurrent layers
@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_a_recurrent_layer_is_one_node_whose_outputs_are_the_sequence_and_the_final_states(mode):
    rnn = getattr(shendu.nn, mode)(3, 4)
    x = shendu.randn(5, 2, 3, requires_grad=True)
    y, state = rnn(x)
    states = state if mode == "LSTM" else (state,)
    assert all(s._ctx is y._ctx for s in states) and y._ctx.outputs is not None
    # only the final state used: the sequence's gradient is None inside the node, the result still right
    t_rnn = getattr(torch.nn, mode)(3, 4)
    t_rnn.load_state_dict({k: torch.tensor(v.numpy()) for k, v in rnn.state_dict().items()})
    tx = torch.tensor(x.numpy(), requires_grad=True)
    t_states = t_rnn(tx)[1]
    t_states = t_states if mode == "LSTM" else (t_states,)
    sum(s.sum() for s in states).backward()
    sum(s.sum() for s in t_states).backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_sort_and_topk_are_one_node_with_two_outputs():
    x = shendu.tensor([[3.0, 1.0, 2.0, 1.0]], requires_grad=True)
    values, indices = shendu.topk(x, 3)
    assert type(values._ctx).__name__ == "SortAlong" and indices.dtype == np.int64 and not indices.requires_grad
    assert values.tolist() == [[3.0, 2.0, 1.0]] and indices.tolist() == [[0, 2, 1]]
    (values * shendu.tensor([[1.0, 10.0, 100.0]])).sum().backward()
    assert x.grad.tolist() == [[1.0, 100.0, 10.0, 0.0]]   # the tied 1.0 at index 3 was not taken
    s = shendu.sort(x, descending=True)
    assert type(s.values._ctx).__name__ == "SortAlong" and s.indices.tolist() == [[0, 2, 1, 3]]
