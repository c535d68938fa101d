"""Movement ops against PyTorch: flip, roll, repeat/tile, repeat_interleave,
tril/triu, diag/diagonal/diag_embed, Tensor.unfold, unflatten, movedim,
swapdims, meshgrid, narrow, contiguous and the ``*_as`` helpers.

Forward values and gradients go through ``harness.check`` (float32 + float64 +
gradcheck); shapes and arguments are drawn with hypothesis.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import array_shapes

import shendu
from harness import check

torch = pytest.importorskip("torch")

few = settings(max_examples=10, deadline=None)
shapes = array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4)


def randn(seed, shape):
    return np.random.default_rng(seed).standard_normal(shape)


def both(fn_sd, fn_t=None):
    """The same expression on shendu and torch (method spellings are shared)."""
    return fn_sd, fn_t or fn_sd


@st.composite
def tensor_and_dims(draw, min_dims=1):
    shape = draw(array_shapes(min_dims=min_dims, max_dims=4, min_side=1, max_side=4))
    dims = draw(st.lists(st.integers(-len(shape), len(shape) - 1), min_size=1, max_size=len(shape),
                         unique_by=lambda d: d % len(shape)))
    return shape, tuple(dims)


@given(case=tensor_and_dims(), seed=st.integers(0, 999))
@few
def test_flip(case, seed):
    shape, dims = case
    x = randn(seed, shape)
    check(lambda t: shendu.flip(t, dims), lambda t: torch.flip(t, dims), [x])
    check(lambda t: t.flip(*dims), lambda t: t.flip(*dims), [x], gradcheck=False)
    check(lambda t: t.flip(dims=dims), lambda t: t.flip(dims=dims), [x], gradcheck=False)


def test_fliplr_flipud():
    x = randn(0, (3, 4, 2))
    check(shendu.fliplr, torch.fliplr, [x])
    check(shendu.flipud, torch.flipud, [x])


@given(case=tensor_and_dims(), seed=st.integers(0, 999), data=st.data())
@few
def test_roll(case, seed, data):
    shape, dims = case
    shifts = tuple(data.draw(st.integers(-6, 6)) for _ in dims)
    x = randn(seed, shape)
    check(lambda t: shendu.roll(t, shifts, dims), lambda t: torch.roll(t, shifts, dims), [x])
    check(lambda t: t.roll(shifts[0]), lambda t: t.roll(shifts[0]), [x])  # no dims: flattened


@given(shape=shapes, seed=st.integers(0, 999), data=st.data())
@few
def test_repeat_is_tile(shape, seed, data):
    extra = data.draw(st.integers(0, 2))
    sizes = tuple(data.draw(st.integers(0, 3)) for _ in range(len(shape) + extra))
    x = randn(seed, shape)
    check(lambda t: t.repeat(*sizes), lambda t: t.repeat(*sizes), [x])
    check(lambda t: shendu.repeat(t, sizes), lambda t: t.repeat(sizes), [x], gradcheck=False)
    fewer = sizes[:max(1, len(shape) - 1)]
    check(lambda t: shendu.tile(t, fewer), lambda t: torch.tile(t, fewer), [x])
    check(lambda t: t.tile(*fewer), lambda t: t.tile(*fewer), [x], gradcheck=False)
    check(lambda t: t.tile(dims=fewer), lambda t: t.tile(dims=fewer), [x], gradcheck=False)


def test_repeat_with_fewer_sizes_than_dims_is_an_error():
    with pytest.raises(ValueError, match="repeat"):
        shendu.zeros(2, 3).repeat(2)


@given(shape=shapes, seed=st.integers(0, 999), data=st.data())
@few
def test_repeat_interleave(shape, seed, data):
    x = randn(seed, shape)
    r = data.draw(st.integers(0, 3))
    check(lambda t: shendu.repeat_interleave(t, r), lambda t: torch.repeat_interleave(t, r), [x])
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    counts = np.random.default_rng(seed).integers(0, 4, shape[dim])
    check(lambda t, c: t.repeat_interleave(c, dim=dim), lambda t, c: t.repeat_interleave(c, dim=dim), [x, counts])
    check(lambda t: t.repeat_interleave(r, dim), lambda t: t.repeat_interleave(r, dim), [x])


def test_repeat_interleave_of_counts_alone():
    c = np.array([2, 0, 3, 1])
    ours = shendu.repeat_interleave(shendu.tensor(c))
    theirs = torch.repeat_interleave(torch.tensor(c))
    assert ours.tolist() == theirs.tolist() and ours.dtype == np.int64


@given(shape=array_shapes(min_dims=2, max_dims=4, min_side=1, max_side=5), seed=st.integers(0, 999),
       k=st.integers(-4, 4))
@few
def test_tril_triu(shape, seed, k):
    x = randn(seed, shape)
    check(lambda t: shendu.tril(t, k), lambda t: torch.tril(t, k), [x])
    check(lambda t: t.triu(diagonal=k), lambda t: t.triu(diagonal=k), [x])


@given(n=st.integers(1, 5), m=st.integers(1, 5), k=st.integers(-5, 5), seed=st.integers(0, 999))
@few
def test_diag_both_ways(n, m, k, seed):
    check(lambda t: shendu.diag(t, k), lambda t: torch.diag(t, k), [randn(seed, (n,))])
    check(lambda t: t.diag(k), lambda t: t.diag(k), [randn(seed, (n, m))])


@st.composite
def diagonal_case(draw, extra=0):
    nd = draw(st.integers(2 - extra, 4 - extra))
    shape = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    total = nd + extra
    d1, d2 = draw(st.lists(st.integers(-total, total - 1), min_size=2, max_size=2, unique_by=lambda d: d % total))
    return shape, draw(st.integers(-4, 4)), d1, d2


@given(case=diagonal_case(), seed=st.integers(0, 999))
@few
def test_diagonal(case, seed):
    shape, offset, d1, d2 = case
    check(lambda t: t.diagonal(offset, d1, d2), lambda t: t.diagonal(offset, d1, d2), [randn(seed, shape)])
    check(lambda t: shendu.diagonal(t, offset=offset, dim1=d1, dim2=d2),
          lambda t: torch.diagonal(t, offset=offset, dim1=d1, dim2=d2), [randn(seed, shape)], gradcheck=False)


@given(case=diagonal_case(extra=1), seed=st.integers(0, 999))
@few
def test_diag_embed(case, seed):
    shape, offset, d1, d2 = case
    check(lambda t: shendu.diag_embed(t, offset, d1, d2), lambda t: torch.diag_embed(t, offset, d1, d2),
          [randn(seed, shape)])
    check(lambda t: t.diag_embed(), lambda t: t.diag_embed(), [randn(seed, shape)], gradcheck=False)


@given(shape=shapes, seed=st.integers(0, 999), data=st.data())
@few
def test_tensor_unfold(shape, seed, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    size = data.draw(st.integers(0, shape[dim]))
    step = data.draw(st.integers(1, 3))
    check(lambda t: t.unfold(dim, size, step), lambda t: t.unfold(dim, size, step), [randn(seed, shape)])


def test_unfold_of_a_0d_tensor_and_bad_sizes():
    check(lambda t: t.unfold(0, 1, 1), lambda t: t.unfold(0, 1, 1), [np.array(2.5)])
    with pytest.raises(ValueError, match="unfold"):
        shendu.zeros(2, 3).unfold(1, 4, 1)


@given(shape=shapes, seed=st.integers(0, 999), data=st.data())
@few
def test_unflatten_movedim_swapdims_narrow(shape, seed, data):
    x = randn(seed, shape)
    nd = len(shape)
    dim = data.draw(st.integers(-nd, nd - 1))
    n = shape[dim]
    sizes = data.draw(st.sampled_from([(n,), (1, n), (n, 1), (-1, 1), (1, -1, 1)]))
    check(lambda t: t.unflatten(dim, sizes), lambda t: t.unflatten(dim, sizes), [x])
    src = data.draw(st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True))
    dst = data.draw(st.permutations(range(nd)))[:len(src)]
    check(lambda t: shendu.movedim(t, src, dst), lambda t: torch.movedim(t, src, dst), [x])
    check(lambda t: t.moveaxis(src[0], dst[0]), lambda t: t.moveaxis(src[0], dst[0]), [x], gradcheck=False)
    other = data.draw(st.integers(-nd, nd - 1))
    check(lambda t: t.swapdims(dim, other), lambda t: t.swapdims(dim, other), [x])
    check(lambda t: shendu.swapaxes(t, dim, other), lambda t: torch.swapaxes(t, dim, other), [x], gradcheck=False)
    start = data.draw(st.integers(-n, n - 1))
    length = data.draw(st.integers(0, n - start % n))
    check(lambda t: t.narrow(dim, start, length), lambda t: t.narrow(dim, start, length), [x])


@given(sizes=st.lists(st.integers(1, 4), min_size=1, max_size=3), seed=st.integers(0, 999),
       indexing=st.sampled_from(["ij", "xy"]))
@few
def test_meshgrid(sizes, seed, indexing):
    xs = [randn(seed + k, (n,)) for k, n in enumerate(sizes)]
    check(lambda *t: shendu.meshgrid(*t, indexing=indexing), lambda *t: torch.meshgrid(*t, indexing=indexing), xs)
    check(lambda *t: shendu.meshgrid(list(t), indexing=indexing), lambda *t: torch.meshgrid(list(t), indexing=indexing),
          xs, gradcheck=False)


def test_as_helpers_and_contiguous():
    x, y = randn(0, (2, 3)), randn(1, (3, 2))
    check(lambda a, b: a.view_as(b), lambda a, b: a.view_as(b), [x, y])
    check(lambda a, b: a.reshape_as(b), lambda a, b: a.reshape_as(b), [x, y])
    check(lambda a, b: a.expand_as(b), lambda a, b: a.expand_as(b), [randn(2, (1, 2)), y])
    check(lambda a, b: a.type_as(b), lambda a, b: a.type_as(b), [x, np.arange(3)], gradcheck=False)
    check(lambda a: a.transpose(0, 1).contiguous() * 2, lambda a: a.transpose(0, 1).contiguous() * 2, [x])
    t = shendu.tensor(x, requires_grad=True)
    assert t.contiguous() is t  # already C-contiguous: itself, as torch
    tt = t.T.contiguous()
    assert tt.data.flags.c_contiguous and tt.requires_grad
    assert shendu.tensor([1, 2]).type_as(shendu.zeros(1, dtype=shendu.float64)).dtype == np.float64
    assert (shendu.tensor([[1, 2], [3, 4]]).view(-1) == shendu.tensor([1, 2, 3, 4])).all()


def test_integer_tensors_move_too():
    a = np.arange(12).reshape(3, 4)
    for fn in (lambda m, t: t.flip(0), lambda m, t: t.roll(1, 1), lambda m, t: t.repeat(2, 1),
               lambda m, t: t.repeat_interleave(2, dim=0), lambda m, t: t.tril(), lambda m, t: m.diag(t),
               lambda m, t: t.unfold(1, 2, 2), lambda m, t: t.diag_embed()):
        ours, theirs = fn(shendu, shendu.tensor(a)), fn(torch, torch.tensor(a))
        assert ours.tolist() == theirs.tolist() and ours.dtype == theirs.numpy().dtype


ERRORS = {
    "flip dim": (lambda: shendu.zeros(2, 3).flip(2), IndexError, "flip"),
    "flip repeated": (lambda: shendu.zeros(2, 3).flip(0, -2), ValueError, "flip"),
    "roll lengths": (lambda: shendu.roll(shendu.zeros(2, 3), (1, 2), 0), ValueError, "roll"),
    "tril 1-D": (lambda: shendu.tril(shendu.zeros(3)), ValueError, "tril"),
    "diag 3-D": (lambda: shendu.diag(shendu.zeros(2, 2, 2)), ValueError, "diag"),
    "narrow": (lambda: shendu.zeros(2, 3).narrow(1, 2, 2), IndexError, "narrow"),
    "unflatten": (lambda: shendu.zeros(2, 6).unflatten(1, (4, 2)), ValueError, "unflatten"),
    "meshgrid 2-D": (lambda: shendu.meshgrid(shendu.zeros(2, 2)), ValueError, "meshgrid"),
    "meshgrid indexing": (lambda: shendu.meshgrid(shendu.zeros(2), indexing="ji"), ValueError, "indexing"),
    "repeat_interleave counts": (lambda: shendu.zeros(3).repeat_interleave(shendu.tensor([1, 2])), ValueError,
                                 "repeat_interleave"),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_name_the_op(name):
    fn, exc, word = ERRORS[name]
    with pytest.raises(exc, match=word):
        fn()
