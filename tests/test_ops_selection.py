"""Indexing and selection ops against PyTorch (forward and gradients in float32/float64, gradcheck):
gather, take_along_dim, index_select, masked_select, nonzero, where(cond), scatter, scatter_add,
scatter_reduce, index_add, sort, argsort, topk, unique, bincount, one_hot.

Shapes and dims are drawn with hypothesis; values come from a generator seeded by a drawn integer
(continuous values, so no ties unless a test makes them on purpose).
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import array_shapes

import shendu
import shendu.functional as F
from harness import check

torch = pytest.importorskip("torch")

seeds = st.integers(0, 2 ** 16)
shapes = array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)
fewer = settings(max_examples=12)


def rng(seed):
    return np.random.default_rng(seed)


def draw_dim(data, ndim):
    return data.draw(st.integers(-ndim, ndim - 1))


def random_index(r, x_shape, dim, size):
    """An int64 index for gather/scatter: ``size`` along dim, at most x's size elsewhere."""
    shape = [r.integers(1, n + 1) for n in x_shape]
    shape[dim] = size
    return r.integers(0, x_shape[dim], shape).astype(np.int64)


def unique_index(r, x_shape, dim):
    """A scatter index without repeated targets: a permutation prefix along dim in every lane."""
    d = dim % len(x_shape)
    k = r.integers(1, x_shape[d] + 1)
    perm = np.argsort(r.random(x_shape), axis=d)
    return np.take(perm, np.arange(k), axis=d).astype(np.int64)


# ------------------------------------------------------------------ gather and friends
@given(shape=shapes, seed=seeds, data=st.data())
def test_gather(shape, seed, data):
    r = rng(seed)
    dim = draw_dim(data, len(shape))
    idx = random_index(r, shape, dim % len(shape), data.draw(st.integers(1, 5)))
    check(lambda x, i: shendu.gather(x, dim, i), lambda x, i: torch.gather(x, dim, i),
          [r.standard_normal(shape), idx])


@given(shape=shapes, seed=seeds, data=st.data())
def test_take_along_dim(shape, seed, data):
    r = rng(seed)
    dim = draw_dim(data, len(shape))
    ishape = list(shape)
    ishape[dim] = data.draw(st.integers(1, 4))
    ishape = [n if data.draw(st.booleans()) else 1 for n in ishape]  # broadcast the index
    ishape[dim] = max(ishape[dim], 1)
    idx = r.integers(0, shape[dim], ishape).astype(np.int64)
    check(lambda x, i: shendu.take_along_dim(x, i, dim), lambda x, i: torch.take_along_dim(x, i, dim),
          [r.standard_normal(shape), idx])
    flat = r.integers(0, int(np.prod(shape)), (3, 2)).astype(np.int64)
    check(lambda x, i: shendu.take_along_dim(x, i), lambda x, i: torch.take_along_dim(x, i),
          [r.standard_normal(shape), flat], gradcheck=False)


def test_take_along_dim_broadcasts_input():
    r = rng(0)
    x, idx = r.standard_normal((1, 5)), np.array([[0, 4], [2, 2], [1, 3]])
    check(lambda x, i: shendu.take_along_dim(x, i, 1), lambda x, i: torch.take_along_dim(x, i, 1), [x, idx])


@given(shape=shapes, seed=seeds, data=st.data())
def test_index_select(shape, seed, data):
    r = rng(seed)
    dim = draw_dim(data, len(shape))
    idx = r.integers(0, shape[dim], data.draw(st.integers(0, 5))).astype(np.int64)  # repeats allowed
    check(lambda x, i: shendu.index_select(x, dim, i), lambda x, i: torch.index_select(x, dim, i),
          [r.standard_normal(shape), idx])


@given(shape=shapes, seed=seeds, data=st.data())
def test_masked_select(shape, seed, data):
    r = rng(seed)
    mshape = tuple(n if data.draw(st.booleans()) else 1 for n in shape)[data.draw(st.integers(0, len(shape))):]
    mask = r.random(mshape) > 0.5
    check(lambda x, m: shendu.masked_select(x, m), lambda x, m: torch.masked_select(x, m),
          [r.standard_normal(shape), mask])


@given(shape=array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4), seed=seeds)
def test_nonzero_and_where_one_argument(shape, seed):
    a = rng(seed).integers(0, 2, shape).astype(np.float32)
    np.testing.assert_array_equal(shendu.nonzero(shendu.tensor(a)).numpy(), torch.nonzero(torch.tensor(a)).numpy())
    assert shendu.nonzero(shendu.tensor(a)).dtype == np.int64
    for got, want in [(shendu.nonzero(shendu.tensor(a), as_tuple=True), torch.nonzero(torch.tensor(a), as_tuple=True)),
                      (shendu.where(shendu.tensor(a)), torch.where(torch.tensor(a)))]:
        assert len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g.numpy(), w.numpy())
    np.testing.assert_array_equal(shendu.argwhere(shendu.tensor(a)).numpy(), torch.argwhere(torch.tensor(a)).numpy())


def test_where_three_arguments_unchanged():
    c = np.array([True, False, True])
    got = shendu.where(shendu.tensor(c), shendu.tensor([1.0, 2.0, 3.0]), 0.0)
    np.testing.assert_array_equal(got.numpy(), [1.0, 0.0, 3.0])


# ------------------------------------------------------------------ scatter family
@given(shape=shapes, seed=seeds, data=st.data())
def test_scatter_and_scatter_add(shape, seed, data):
    r = rng(seed)
    dim = draw_dim(data, len(shape))
    idx = unique_index(r, shape, dim)  # scatter with repeated targets is undefined in torch
    x, src = r.standard_normal(shape), r.standard_normal(idx.shape)
    check(lambda x, i, s: shendu.scatter(x, dim, i, s), lambda x, i, s: torch.scatter(x, dim, i, s), [x, idx, src])
    big = r.standard_normal(tuple(n + 1 for n in idx.shape))  # src may be larger than index (torch: forward only)
    check(lambda x, i, s: shendu.scatter(x, dim, i, s), lambda x, i, s: torch.scatter(x, dim, i, s), [x, idx, big],
          grad=False)
    check(lambda x, i: x.scatter(dim, i, 1.5), lambda x, i: x.scatter(dim, i, 1.5), [x, idx])
    rep = random_index(r, shape, dim % len(shape), 5)  # repeats add up
    src = r.standard_normal(rep.shape)
    check(lambda x, i, s: shendu.scatter_add(x, dim, i, s), lambda x, i, s: torch.scatter_add(x, dim, i, s),
          [x, rep, src])


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
@fewer
@given(shape=shapes, seed=seeds, data=st.data())
def test_scatter_reduce(reduce, include_self, shape, seed, data):
    r = rng(seed)
    dim = draw_dim(data, len(shape))
    idx = random_index(r, shape, dim % len(shape), data.draw(st.integers(1, 6)))
    x, src = r.uniform(0.5, 2.0, shape), r.uniform(0.5, 2.0, idx.shape)
    check(lambda x, i, s: shendu.scatter_reduce(x, dim, i, s, reduce, include_self=include_self),
          lambda x, i, s: torch.scatter_reduce(x, dim, i, s, reduce, include_self=include_self), [x, idx, src])


@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_prod_gradient_with_zeros(include_self):
    x = np.array([[0.0, 2.0, 3.0, 0.5], [1.0, 0.0, 4.0, 2.0]])
    src = np.array([[1.5, 0.0, 2.0], [0.0, 3.0, 0.0]])
    idx = np.array([[0, 1, 2], [1, 1, 2]])
    check(lambda x, i, s: shendu.scatter_reduce(x, 1, i, s, "prod", include_self=include_self),
          lambda x, i, s: torch.scatter_reduce(x, 1, i, s, "prod", include_self=include_self), [x, idx, src],
          gradcheck=False)


@pytest.mark.parametrize("reduce", ["amax", "amin"])
def test_scatter_reduce_ties_share_the_gradient(reduce):
    x = np.array([1.0, 2.0, 5.0])
    src = np.array([2.0, 2.0, 1.0, 5.0])
    idx = np.array([1, 1, 0, 2])
    check(lambda x, i, s: shendu.scatter_reduce(x, 0, i, s, reduce),
          lambda x, i, s: torch.scatter_reduce(x, 0, i, s, reduce), [x, idx, src], gradcheck=False)


@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
def test_scatter_reduce_integers_and_legacy_reduce():
    x = np.array([[1, 2, 3], [4, 5, 6]])
    idx, src = np.array([[0, 0, 2]]), np.array([[7, 8, 9]])
    for reduce in ["sum", "prod", "mean", "amax", "amin"]:
        got = shendu.scatter_reduce(shendu.tensor(x), 1, shendu.tensor(idx), shendu.tensor(src), reduce,
                                    include_self=False)
        want = torch.scatter_reduce(torch.tensor(x), 1, torch.tensor(idx), torch.tensor(src), reduce,
                                    include_self=False)
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    for reduce in ["add", "multiply"]:
        got = shendu.tensor(x).scatter(1, shendu.tensor(idx), shendu.tensor(src), reduce=reduce)
        want = torch.tensor(x).scatter(1, torch.tensor(idx), torch.tensor(src), reduce=reduce)
        np.testing.assert_array_equal(got.numpy(), want.numpy())


@given(shape=shapes, seed=seeds, data=st.data())
def test_index_add(shape, seed, data):
    r = rng(seed)
    dim = draw_dim(data, len(shape))
    n = data.draw(st.integers(0, 5))
    idx = r.integers(0, shape[dim], n).astype(np.int64)
    sshape = list(shape)
    sshape[dim] = n
    alpha = data.draw(st.sampled_from([1, 2.5]))
    check(lambda x, i, s: shendu.index_add(x, dim, i, s, alpha=alpha),
          lambda x, i, s: torch.index_add(x, dim, i, s, alpha=alpha),
          [r.standard_normal(shape), idx, r.standard_normal(sshape)])


# ------------------------------------------------------------------ sorting
@given(shape=shapes, seed=seeds, data=st.data())
def test_sort_argsort_topk(shape, seed, data):
    r = rng(seed)
    dim = draw_dim(data, len(shape))
    desc = data.draw(st.booleans())
    x = r.standard_normal(shape)
    check(lambda x: shendu.sort(x, dim, descending=desc), lambda x: torch.sort(x, dim, descending=desc), [x])
    check(lambda x: shendu.argsort(x, dim, descending=desc), lambda x: torch.argsort(x, dim, descending=desc),
          [x], grad=False)
    k = data.draw(st.integers(0, shape[dim]))
    largest = data.draw(st.booleans())
    check(lambda x: shendu.topk(x, k, dim, largest=largest), lambda x: torch.topk(x, k, dim, largest=largest), [x])


@pytest.mark.parametrize("descending", [False, True])
def test_sort_ties_keep_their_order_as_torch_stable(descending):
    a = np.array([[2, 1, 2, 3, 1, 2, np.nan, 1], [0, 0, 0, 0, 1, 1, 1, 1]], dtype=np.float32)
    got = shendu.tensor(a).sort(dim=1, descending=descending)
    want = torch.sort(torch.tensor(a), dim=1, descending=descending, stable=True)
    np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
    np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
    assert got.indices.dtype == np.int64
    ints = shendu.tensor(a[1].astype(np.int64)).sort(descending=descending)
    np.testing.assert_array_equal(ints.indices.numpy(),
                                  torch.sort(torch.tensor(a[1].astype(np.int64)), descending=descending,
                                             stable=True).indices.numpy())


def test_sort_named_results_and_edges():
    values, indices = shendu.tensor([3.0, 1.0, 2.0]).sort()
    assert values.tolist() == [1.0, 2.0, 3.0] and indices.tolist() == [1, 2, 0]
    top = shendu.tensor([3.0, 1.0, 2.0]).topk(2)
    assert top.values.tolist() == [3.0, 2.0] and top.indices.tolist() == [0, 2]
    assert shendu.sort(shendu.zeros(0)).values.shape == (0,)
    s = shendu.sort(shendu.tensor(4.0), dim=-1)
    assert s.values.item() == 4.0 and s.indices.item() == 0
    with pytest.raises(RuntimeError, match="topk"):
        shendu.topk(shendu.zeros(3), 4)
    with pytest.raises(IndexError, match="sort"):
        shendu.sort(shendu.zeros(3), dim=1)


# ------------------------------------------------------------------ unique, bincount, one_hot
@pytest.mark.parametrize("dim", [None, 0, 1])
def test_unique(dim):
    a = rng(3).integers(0, 3, (6, 2))
    got = shendu.unique(shendu.tensor(a), return_inverse=True, return_counts=True, dim=dim)
    want = torch.unique(torch.tensor(a), return_inverse=True, return_counts=True, dim=dim)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g.numpy(), w.numpy())
        assert g.dtype == np.dtype(str(w.dtype).replace("torch.", ""))
    np.testing.assert_array_equal(shendu.tensor(a).unique().numpy(), torch.tensor(a).unique().numpy())
    out, inv = shendu.unique(shendu.tensor(a), return_inverse=True)
    np.testing.assert_array_equal(out.numpy()[inv.numpy()], a)


def test_bincount():
    a = np.array([0, 3, 3, 1, 7])
    for kw in [{}, {"minlength": 10}, {"weights": np.array([0.5, 1, 2, 3, 4], np.float32)},
               {"weights": np.array([0.5, 1, 2, 3, 4])}, {"weights": np.array([1, 2, 3, 4, 5])}]:
        got = shendu.bincount(shendu.tensor(a), **{k: shendu.tensor(v) if k == "weights" else v for k, v in kw.items()})
        want = torch.bincount(torch.tensor(a), **{k: torch.tensor(v) if k == "weights" else v for k, v in kw.items()})
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        assert got.dtype == np.dtype(str(want.dtype).replace("torch.", ""))
    assert shendu.bincount(shendu.tensor(np.zeros(0, np.int64))).shape == (0,)
    with pytest.raises(RuntimeError, match="bincount"):
        shendu.bincount(shendu.tensor([1, -1]))


def test_one_hot():
    a = np.array([[0, 2], [1, 4]])
    for n in [-1, 6]:
        got = F.one_hot(shendu.tensor(a), n)
        want = torch.nn.functional.one_hot(torch.tensor(a), n)
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        assert got.dtype == np.int64
    with pytest.raises(RuntimeError, match="one_hot"):
        F.one_hot(shendu.tensor([0, 3]), 3)
    with pytest.raises(TypeError, match="one_hot"):
        F.one_hot(shendu.tensor([0.0, 1.0]))


# ------------------------------------------------------------------ errors and edges
def test_index_errors_name_the_op():
    x = shendu.zeros(2, 3)
    with pytest.raises(IndexError, match="gather: index 3 is out of bounds for dimension 1 with size 3"):
        shendu.gather(x, 1, shendu.tensor([[3]]))
    with pytest.raises(IndexError, match="gather: index -1"):
        x.gather(0, shendu.tensor([[-1]]))
    with pytest.raises(IndexError, match="index_select"):
        x.index_select(0, shendu.tensor([2]))
    with pytest.raises(IndexError, match="scatter_add"):
        x.scatter_add(1, shendu.tensor([[5]]), shendu.ones(1, 1))
    with pytest.raises(IndexError, match="index_add"):
        x.index_add(0, shendu.tensor([0, 9]), shendu.ones(2, 3))
    with pytest.raises(IndexError, match="gather: axis 2 is out of range"):
        x.gather(2, shendu.tensor([[0]]))
    with pytest.raises(TypeError, match="gather: index must be an integer tensor"):
        x.gather(0, shendu.tensor([[0.0]]))
    with pytest.raises(RuntimeError, match="gather: index must have as many dimensions"):
        x.gather(0, shendu.tensor([0]))
    with pytest.raises(RuntimeError, match="scatter: src must have the input's dtype"):
        x.scatter(0, shendu.tensor([[0]]), shendu.ones(1, 1, dtype="float64"))
    with pytest.raises(ValueError, match="scatter_reduce: reduce must be one of"):
        x.scatter_reduce(0, shendu.tensor([[0]]), shendu.ones(1, 1), "max")


def test_zero_dim_and_empty():
    s = shendu.tensor(2.0, requires_grad=True)
    g = shendu.gather(s, 0, shendu.tensor(0))
    g.backward()
    assert g.item() == 2.0 and s.grad.item() == 1.0
    assert torch.gather(torch.tensor(2.0), 0, torch.tensor(0)).item() == g.item()
    out = shendu.scatter(shendu.tensor(1.0), -1, shendu.tensor(0), shendu.tensor(5.0))
    assert out.shape == () and out.item() == 5.0
    e = shendu.gather(shendu.zeros(2, 3), 1, shendu.tensor(np.zeros((2, 0), np.int64)))
    assert e.shape == (2, 0)
    assert shendu.masked_select(shendu.zeros(2, 3), shendu.zeros(2, 3, dtype="bool")).shape == (0,)


def test_in_place_scatter_family():
    labels = np.array([2, 0, 1])
    got = shendu.zeros(3, 4).scatter_(1, shendu.tensor(labels)[:, None], 1.0)  # the one-hot idiom
    want = torch.zeros(3, 4).scatter_(1, torch.tensor(labels)[:, None], 1.0)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    t, tt = shendu.ones(3), torch.ones(3)
    assert t.scatter_add_(0, shendu.tensor([0, 0]), shendu.tensor([1.0, 2.0])) is t
    tt.scatter_add_(0, torch.tensor([0, 0]), torch.tensor([1.0, 2.0]))
    t.index_add_(0, shendu.tensor([2]), shendu.tensor([5.0]), alpha=2)
    tt.index_add_(0, torch.tensor([2]), torch.tensor([5.0]), alpha=2)
    t.scatter_reduce_(0, shendu.tensor([1]), shendu.tensor([7.0]), "amax")
    tt.scatter_reduce_(0, torch.tensor([1]), torch.tensor([7.0]), "amax")
    np.testing.assert_array_equal(t.numpy(), tt.numpy())
    with pytest.raises(RuntimeError, match="requires grad"):
        shendu.zeros(3, requires_grad=True).scatter_(0, shendu.tensor([0]), 1.0)
    with shendu.no_grad():
        p = shendu.zeros(3, requires_grad=True)
        p.scatter_(0, shendu.tensor([1]), 2.0)
    assert p.tolist() == [0.0, 2.0, 0.0]
