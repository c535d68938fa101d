"""Scans, reductions and norms against PyTorch (forward and gradients in float32/float64, gradcheck):
cumsum, cumprod, cummax, cummin, logcumsumexp, prod, sum/mean(dtype=), var_mean, std_mean,
count_nonzero, all, any, median, mode, quantile, norm, linalg.vector_norm/matrix_norm/norm.
"""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import array_shapes

import shendu
from harness import check
from test_ops_selection import draw_dim, fewer, rng, seeds, shapes

torch = pytest.importorskip("torch")

def with_zeros(r, shape, p=0.3):
    """Normal values with some exact zeros (where products' gradients need care)."""
    a = r.standard_normal(shape)
    return np.where(r.random(shape) < p, 0.0, a)


# ------------------------------------------------------------------ scans
@given(shape=shapes, seed=seeds, data=st.data())
def test_cumsum_logcumsumexp(shape, seed, data):
    r = rng(seed)
    dim = draw_dim(data, len(shape))
    x = r.standard_normal(shape)
    check(lambda x: shendu.cumsum(x, dim), lambda x: torch.cumsum(x, dim), [x])
    check(lambda x: x.logcumsumexp(dim), lambda x: x.logcumsumexp(dim), [x])


@given(shape=shapes, seed=seeds, data=st.data())
def test_cumprod_gradient_with_zeros(shape, seed, data):
    r = rng(seed)
    dim = draw_dim(data, len(shape))
    check(lambda x: shendu.cumprod(x, dim), lambda x: torch.cumprod(x, dim), [with_zeros(r, shape)],
          gradcheck=False)  # finite differences straddle the zeros; torch's analytic gradient is the reference
    check(lambda x: x.cumprod(dim), lambda x: x.cumprod(dim), [r.uniform(0.5, 1.5, shape)])


def test_cumprod_zero_positions():
    x = np.array([[2.0, 0.0, 3.0, 0.0, 4.0], [0.0, 1.5, 2.0, 0.5, 1.0], [1.0, 2.0, 3.0, 4.0, 0.0]])
    check(lambda x: shendu.cumprod(x, 1), lambda x: torch.cumprod(x, 1), [x], gradcheck=False)


def test_logcumsumexp_is_stable():
    x = np.array([1000.0, 1000.0, -1000.0, 0.0, 800.0])
    check(lambda x: shendu.logcumsumexp(x, 0), lambda x: torch.logcumsumexp(x, 0), [x], gradcheck=False)
    x = np.array([-1000.0, -1001.0, -999.0])  # torch's float32 gradient is the less exact one here
    check(lambda x: shendu.logcumsumexp(x, 0), lambda x: torch.logcumsumexp(x, 0), [x], gradcheck=False,
          tol={np.float32: dict(rtol=1e-4, atol=1e-6)})


@given(shape=shapes, seed=seeds, data=st.data())
def test_cummax_cummin(shape, seed, data):
    r = rng(seed)
    dim = draw_dim(data, len(shape))
    x = r.standard_normal(shape)
    check(lambda x: shendu.cummax(x, dim), lambda x: torch.cummax(x, dim), [x])
    check(lambda x: x.cummin(dim), lambda x: x.cummin(dim), [x])


def test_cummax_ties_take_the_last_index():
    a = np.array([[1.0, 3.0, 3.0, 2.0, 3.0, 0.0], [2.0, 1.0, 1.0, 3.0, 1.0, 1.0]])
    for op in ["cummax", "cummin"]:
        got, want = getattr(shendu, op)(shendu.tensor(a), 1), getattr(torch, op)(torch.tensor(a), 1)
        np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
        np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
        assert got.indices.dtype == np.int64


def test_scan_dtypes():
    i32 = np.array([[1, 2], [3, 4]], dtype=np.int32)
    for op in ["cumsum", "cumprod"]:
        got, want = getattr(shendu, op)(shendu.tensor(i32), 0), getattr(torch, op)(torch.tensor(i32), 0)
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        assert str(got.dtype) == str(want.dtype).replace("torch.", "")
        got = getattr(shendu, op)(shendu.tensor(i32), 1, dtype=shendu.float64)
        assert got.dtype == np.float64
    assert shendu.cumsum(shendu.tensor([True, True]), 0).tolist() == [1, 2]
    assert shendu.cumsum(shendu.tensor(3.0), dim=-1).item() == 3.0
    assert shendu.cumsum(shendu.zeros(0, 3), 1).shape == (0, 3)
    with pytest.raises(IndexError, match="cumsum"):
        shendu.cumsum(shendu.zeros(2), 1)


# ------------------------------------------------------------------ prod, sum/mean dtype, var_mean
@given(shape=shapes, seed=seeds, data=st.data())
def test_prod(shape, seed, data):
    r = rng(seed)
    dim = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)))
    keepdim = data.draw(st.booleans()) and dim is not None
    t_fn = (lambda x: torch.prod(x)) if dim is None else (lambda x: torch.prod(x, dim, keepdim=keepdim))
    check(lambda x: shendu.prod(x, dim, keepdim=keepdim), t_fn, [r.uniform(0.5, 1.5, shape)])
    check(lambda x: shendu.prod(x, dim, keepdim=keepdim), t_fn, [with_zeros(r, shape, 0.4)], gradcheck=False)


def test_prod_one_and_two_zeros():
    x = np.array([[1.5, 0.0, 2.0], [0.0, 0.0, 3.0], [1.0, 2.0, 3.0]])
    check(lambda x: shendu.prod(x, 1), lambda x: torch.prod(x, 1), [x], gradcheck=False)
    check(lambda x: shendu.prod(x), lambda x: torch.prod(x), [x[:1]], gradcheck=False)
    assert shendu.prod(shendu.tensor([2, 3], dtype="int32")).dtype == np.int64
    assert shendu.prod(shendu.zeros(0)).item() == 1.0


def test_sum_and_mean_dtype():
    i = np.array([[1, 2], [3, 4]], dtype=np.int32)
    for dt, tdt in [(shendu.float64, torch.float64), (shendu.int64, torch.int64), (shendu.float32, torch.float32)]:
        got, want = shendu.sum(shendu.tensor(i), 0, dtype=dt), torch.sum(torch.tensor(i), 0, dtype=tdt)
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        assert got.dtype == np.dtype(str(want.dtype).replace("torch.", ""))
    got = shendu.tensor(i).mean(dim=1, dtype=shendu.float64)
    np.testing.assert_array_equal(got.numpy(), torch.tensor(i).mean(dim=1, dtype=torch.float64).numpy())
    assert got.dtype == np.float64
    x = shendu.tensor(rng(0).standard_normal((2, 3)).astype(np.float32), requires_grad=True)
    xt = torch.tensor(x.numpy(), requires_grad=True)
    y, yt = x.sum(dim=1, dtype=shendu.float64), xt.sum(dim=1, dtype=torch.float64)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-6)
    (y * shendu.tensor([1.0, 2.0], dtype="float64")).sum().backward()
    (yt * torch.tensor([1.0, 2.0], dtype=torch.float64)).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())


@given(shape=shapes, seed=seeds, data=st.data())
def test_var_mean_std_mean(shape, seed, data):
    r = rng(seed)
    dim = draw_dim(data, len(shape))
    correction = data.draw(st.sampled_from([0, 1]))
    keepdim = data.draw(st.booleans())
    x = r.standard_normal(shape)
    if shape[dim] > correction:
        check(lambda x: shendu.var_mean(x, dim, correction=correction, keepdim=keepdim),
              lambda x: torch.var_mean(x, dim, correction=correction, keepdim=keepdim), [x])
    if shape[dim] > 1:
        check(lambda x: shendu.std_mean(x, dim, keepdim=keepdim), lambda x: torch.std_mean(x, dim, keepdim=keepdim),
              [x + 0.0])
    if x.size > 1:
        check(lambda x: shendu.std_mean(x, unbiased=False), lambda x: torch.std_mean(x, unbiased=False), [x])
        check(lambda x: shendu.var_mean(x), lambda x: torch.var_mean(x), [x])


# ------------------------------------------------------------------ all, any, count_nonzero
@given(shape=array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3), seed=seeds, data=st.data())
def test_all_any_count_nonzero(shape, seed, data):
    a = rng(seed).integers(0, 2, shape).astype(np.float32)
    dims = st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)) if shape else st.none()
    dim = data.draw(dims)
    keepdim = data.draw(st.booleans())
    s, t = shendu.tensor(a), torch.tensor(a)
    if dim is None:
        pairs = [(shendu.all(s), torch.all(t)), (shendu.any(s), torch.any(t)), (s.all(), t.all()),
                 (shendu.count_nonzero(s), torch.count_nonzero(t))]
    else:
        pairs = [(shendu.all(s, dim, keepdim), torch.all(t, dim, keepdim)),
                 (s.any(dim=dim, keepdim=keepdim), t.any(dim=dim, keepdim=keepdim)),
                 (s.count_nonzero(dim), t.count_nonzero(dim))]
    for got, want in pairs:
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        assert str(got.dtype) == str(want.dtype).replace("torch.", "")


def test_all_any_numpy_aliases():
    s = shendu.tensor([[1.0, 0.0], [1.0, 1.0]])
    assert s.all(axis=1, keepdims=True).tolist() == [[False], [True]]
    assert s.any(1).tolist() == [True, True]


# ------------------------------------------------------------------ median, mode, quantile
@given(shape=shapes, seed=seeds, data=st.data())
def test_median(shape, seed, data):
    r = rng(seed)
    dim = draw_dim(data, len(shape))
    keepdim = data.draw(st.booleans())
    x = r.standard_normal(shape)
    check(lambda x: shendu.median(x), lambda x: torch.median(x), [x])
    check(lambda x: x.median(dim, keepdim=keepdim), lambda x: x.median(dim, keepdim=keepdim), [x])


def test_median_is_the_lower_one_and_nan():
    x = shendu.tensor([4.0, 1.0, 3.0, 2.0])
    assert shendu.median(x).item() == 2.0 == torch.median(torch.tensor([4.0, 1.0, 3.0, 2.0])).item()
    a = np.array([[1.0, np.nan, 2.0], [3.0, 1.0, 2.0]])
    got, want = shendu.median(shendu.tensor(a), 1), torch.median(torch.tensor(a), 1)
    np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
    np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
    assert math.isnan(shendu.median(shendu.tensor(a)).item())


@given(shape=shapes, seed=seeds, data=st.data())
def test_mode(shape, seed, data):
    r = rng(seed)
    dim = draw_dim(data, len(shape))
    keepdim = data.draw(st.booleans())
    x = r.integers(0, 3, shape).astype(np.float64)  # repeated values
    got, want = shendu.mode(shendu.tensor(x), dim, keepdim), torch.mode(torch.tensor(x), dim, keepdim)
    np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
    np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
    xs = shendu.tensor(x, requires_grad=True)
    xs.mode(dim).values.sum().backward()
    xt = torch.tensor(x, requires_grad=True)
    xt.mode(dim).values.sum().backward()
    np.testing.assert_array_equal(xs.grad.numpy(), xt.grad.numpy())


@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "midpoint", "nearest"])
@fewer
@given(shape=shapes, seed=seeds, data=st.data())
def test_quantile(interpolation, shape, seed, data):
    r = rng(seed)
    x = r.standard_normal(shape)
    dim = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)))
    keepdim = data.draw(st.booleans())
    as_tensor = data.draw(st.booleans())
    q = r.random(3) if as_tensor else float(r.random())
    kw = dict(dim=dim, keepdim=keepdim, interpolation=interpolation)
    q_sd = shendu.tensor(q) if as_tensor else q
    q_t = torch.tensor(q) if as_tensor else q
    check(lambda x: shendu.quantile(x, q_sd.double() if as_tensor and x.dtype == np.float64 else q_sd, **kw),
          lambda x: torch.quantile(x, q_t.to(x.dtype) if as_tensor else q_t, **kw), [x])


def test_quantile_ends_and_errors():
    x = shendu.tensor([1.0, 2.0, 3.0, 4.0])
    assert shendu.quantile(x, shendu.tensor([0.0, 0.25, 1.0])).tolist() == [1.0, 1.75, 4.0]
    for n, q in [(4, 0.5), (2, 0.5), (6, 0.5), (6, 0.1)]:  # rank q(n-1) rounded half to even, as torch
        want = torch.quantile(torch.arange(1.0, n + 1), q, interpolation="nearest").item()
        assert shendu.quantile(shendu.arange(1.0, n + 1), q, interpolation="nearest").item() == want
    assert math.isnan(shendu.quantile(shendu.tensor([1.0, float("nan")]), 0.5).item())
    with pytest.raises(RuntimeError, match="quantile: q values must be in the range"):
        shendu.quantile(x, 1.5)
    with pytest.raises(ValueError, match="quantile: interpolation must be one of"):
        shendu.quantile(x, 0.5, interpolation="cubic")


# ------------------------------------------------------------------ norms
ORDS = [2, 1, 0, 3, 0.5, math.inf, -math.inf]


@pytest.mark.parametrize("ord", ORDS)
@fewer
@given(shape=shapes, seed=seeds, data=st.data())
def test_vector_norm(ord, shape, seed, data):
    r = rng(seed)
    x = r.standard_normal(shape)
    x = np.sign(x) * (np.abs(x) + 0.1)  # away from 0, where |x|^(p-1) has a kink
    dim = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)))
    keepdim = data.draw(st.booleans())
    check(lambda x: shendu.linalg.vector_norm(x, ord, dim, keepdim),
          lambda x: torch.linalg.vector_norm(x, ord, dim, keepdim), [x], gradcheck=ord != 0)
    if dim is not None:
        check(lambda x: shendu.norm(x, ord, dim, keepdim), lambda x: torch.norm(x, ord, dim, keepdim), [x],
              gradcheck=False)


@pytest.mark.parametrize("ord", [2, 1, 3, math.inf])
def test_vector_norm_gradient_at_zero_is_zero(ord):
    x = np.zeros((2, 3))
    x[1] = [0.0, 3.0, -4.0]
    check(lambda x: shendu.linalg.vector_norm(x, ord, dim=1), lambda x: torch.linalg.vector_norm(x, ord, dim=1),
          [x], gradcheck=False)


@pytest.mark.parametrize("ord", ["fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf])
@pytest.mark.parametrize("shape,dim", [((3, 4), (-2, -1)), ((2, 4, 3), (-2, -1)), ((3, 2, 4), (2, 0))])
@pytest.mark.parametrize("keepdim", [False, True])
def test_matrix_norm(ord, shape, dim, keepdim):
    x = rng(7).standard_normal(shape)
    check(lambda x: shendu.linalg.matrix_norm(x, ord, dim, keepdim),
          lambda x: torch.linalg.matrix_norm(x, ord, dim, keepdim), [x],
          tol={np.float32: dict(rtol=1e-4, atol=1e-5)})


def test_norm_spellings():
    x = rng(1).standard_normal((3, 4))
    check(lambda x: shendu.norm(x), lambda x: torch.norm(x), [x])
    check(lambda x: x.norm(p="nuc"), lambda x: x.norm(p="nuc"), [x], tol={np.float32: dict(rtol=1e-4, atol=1e-5)})
    check(lambda x: shendu.linalg.norm(x), lambda x: torch.linalg.norm(x), [x])
    check(lambda x: shendu.linalg.norm(x, 1), lambda x: torch.linalg.norm(x, 1), [x])
    check(lambda x: shendu.linalg.norm(x, 3, dim=1), lambda x: torch.linalg.norm(x, 3, dim=1), [x])
    check(lambda x: shendu.linalg.norm(x[0], math.inf), lambda x: torch.linalg.norm(x[0], math.inf), [x])
    assert shendu.norm(shendu.tensor([3.0, 4.0])).item() == 5.0
    with pytest.raises(ValueError, match="vector_norm: ord must be a number"):
        shendu.linalg.vector_norm(shendu.zeros(3), "fro")
    with pytest.raises(RuntimeError, match="matrix_norm: expected a tensor of at least 2"):
        shendu.linalg.matrix_norm(shendu.zeros(3))


def test_nan_placement_as_torch():
    a = np.array([1.0, np.nan, 3.0, np.nan, 0.0])
    s, t = shendu.tensor(a), torch.tensor(a)
    pairs = [(shendu.cummax(s, 0), torch.cummax(t, 0)), (shendu.cummin(s, 0), torch.cummin(t, 0)),
             (shendu.sort(s, descending=True), torch.sort(t, descending=True, stable=True)),
             (shendu.sort(s), torch.sort(t, stable=True)), (shendu.topk(s, 2), torch.topk(t, 2))]
    for got, want in pairs:
        np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
        np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
    assert math.isnan(shendu.median(s).item())


EMPTY_CASES = {
    "cumsum": lambda m, x: m.cumsum(x, 1), "cumprod": lambda m, x: m.cumprod(x, 1),
    "logcumsumexp": lambda m, x: m.logcumsumexp(x, 1), "cummax": lambda m, x: m.cummax(x, 1).indices,
    "sort": lambda m, x: m.sort(x, 1).indices, "topk": lambda m, x: m.topk(x, 0, 1).values,
    "prod": lambda m, x: m.prod(x, 1), "count_nonzero": lambda m, x: m.count_nonzero(x, 1),
    "all": lambda m, x: m.all(x, 1), "any": lambda m, x: m.any(x, 1),
    "vector_norm": lambda m, x: m.linalg.vector_norm(x, 2, 1), "unique": lambda m, x: m.unique(x),
    "nonzero": lambda m, x: m.nonzero(x), "var_mean": lambda m, x: m.var_mean(x, 0)[1],
    "median": lambda m, x: m.median(x, 0).values, "mode": lambda m, x: m.mode(x, 0).values,
}


@pytest.mark.filterwarnings("ignore:var_mean")  # torch warns that 0 elements leave no degrees of freedom
@pytest.mark.parametrize("name", sorted(EMPTY_CASES))
def test_empty_tensors_as_torch(name):
    a = np.zeros((2, 0))
    got, want = EMPTY_CASES[name](shendu, shendu.tensor(a)), EMPTY_CASES[name](torch, torch.tensor(a))
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert got.shape == tuple(want.shape)
