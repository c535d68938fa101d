"""Every core op against PyTorch (forward and backward, float32 and float64) and
against finite differences (``shendu.gradcheck``), through ``harness.check``.

Shapes are drawn with hypothesis (broadcastable pairs with size-1 axes, random
axes for the reductions); values come from a NumPy generator seeded by a drawn
integer, kept away from the kinks of non-smooth ops where a finite difference
would straddle the kink.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import shendu
from harness import check

torch = pytest.importorskip("torch")

seeds = st.integers(0, 2 ** 16)
pairs = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=1, max_side=3)
triples = mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, min_side=1, max_side=3)
shapes = array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)
fewer = settings(max_examples=12)  # for the costlier cases


def randn(seed, *shapes, low=None):
    """Standard normal arrays; ``low`` pushes |x| to at least ``low`` (away from 0)."""
    r = np.random.default_rng(seed)
    out = []
    for s in shapes:
        a = r.standard_normal(s)
        if low is not None:
            a = np.sign(a + (a == 0)) * (np.abs(a) + low)
        out.append(a)
    return out


def positive(seed, *shapes):
    r = np.random.default_rng(seed)
    return [r.uniform(0.5, 2.0, s) for s in shapes]


def draw_axis(data, ndim):
    """None, an int (maybe negative) or a non-empty tuple of distinct axes."""
    kind = data.draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        return None
    if kind == "int":
        return data.draw(st.integers(-ndim, ndim - 1))
    axes = data.draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(axes)


def torch_axis(axis, ndim):
    return tuple(range(ndim)) if axis is None else axis


# ------------------------------------------------------------------ arithmetic
BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "div": (lambda a, b: a / b, lambda a, b: a / b),
    "maximum": (shendu.maximum, torch.maximum),
    "minimum": (shendu.minimum, torch.minimum),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(shp=pairs, seed=seeds)
def test_binary_broadcasting(name, shp, seed):
    sd_fn, t_fn = BINARY[name]
    a, b = randn(seed, *shp.input_shapes, low=0.3)  # |b| ≥ 0.3 keeps a / b tame
    check(sd_fn, t_fn, [a, b])


@given(shp=pairs, seed=seeds)
def test_pow_of_two_tensors(shp, seed):
    a, = positive(seed, shp.input_shapes[0])
    b, = randn(seed + 1, shp.input_shapes[1])
    check(lambda x, y: x ** y, lambda x, y: x ** y, [a, b])


SCALAR_CASES = {
    "t+2": (lambda x: x + 2, lambda x: x + 2),
    "2+t": (lambda x: 2 + x, lambda x: 2 + x),
    "t-1.5": (lambda x: x - 1.5, lambda x: x - 1.5),
    "1.5-t": (lambda x: 1.5 - x, lambda x: 1.5 - x),
    "t*3": (lambda x: x * 3, lambda x: x * 3),
    "0.5*t": (lambda x: 0.5 * x, lambda x: 0.5 * x),
    "t/4": (lambda x: x / 4, lambda x: x / 4),
    "2/t": (lambda x: 2 / x, lambda x: 2 / x),
    "-t": (lambda x: -x, lambda x: -x),
    "t**2": (lambda x: x ** 2, lambda x: x ** 2),
    "t**3": (lambda x: x ** 3, lambda x: x ** 3),
    "t**-1": (lambda x: x ** -1, lambda x: x ** -1),
    "t**0.5": (lambda x: x.abs() ** 0.5, lambda x: x.abs() ** 0.5),
    "t**0": (lambda x: x ** 0, lambda x: x ** 0),
    "2**t": (lambda x: 2 ** x, lambda x: 2 ** x),
    "pow method": (lambda x: x.pow(3), lambda x: x.pow(3)),
}


@pytest.mark.parametrize("name", sorted(SCALAR_CASES))
@given(shape=array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3), seed=seeds)
@fewer
def test_python_scalars_on_either_side(name, shape, seed):
    sd_fn, t_fn = SCALAR_CASES[name]
    x, = randn(seed, shape, low=0.3)
    check(sd_fn, t_fn, [x])


def test_pow_gradients_at_zero_are_finite():
    # d/da a^b at a = 0: 0 for b = 0 (a⁰ = 1), and d/db a^b = 0 at a = 0, b > 0 (PyTorch's choice)
    check(lambda a, b: a ** b, lambda a, b: a ** b, [np.array([0.0, 0.0, 1.5]), np.array([0.0, 2.0, 0.0])],
          gradcheck=False)
    check(lambda a: a ** 0, lambda a: a ** 0, [np.array([0.0, 1.0])], gradcheck=False)


# ------------------------------------------------------------------ matmul
@st.composite
def matmul_shapes(draw):
    m, k, n = (draw(st.integers(1, 3)) for _ in range(3))
    batch = draw(mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, min_side=1, max_side=3))
    a = batch.input_shapes[0] + (m, k)
    b = batch.input_shapes[1] + (k, n)
    if draw(st.booleans()):
        a = (k,)  # NumPy's vector rules: a 1-D left operand is a row vector
    elif draw(st.booleans()):
        b = (k,)
    return a, b


@given(ab=matmul_shapes(), seed=seeds)
def test_matmul_batched_broadcasting_and_vectors(ab, seed):
    a, b = randn(seed, *ab)
    check(lambda x, y: x @ y, lambda x, y: x @ y, [a, b])


def test_matmul_vector_dot_vector():
    a, b = randn(3, (4,), (4,))
    check(shendu.matmul, torch.matmul, [a, b])


@given(seed=seeds, lead=array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3), bias=st.booleans())
@fewer
def test_linear(seed, lead, bias):
    x, w, b = randn(seed, lead + (3,), (2, 3), (2,))
    if bias:
        check(shendu.linear, torch.nn.functional.linear, [x, w, b])
    else:
        check(shendu.linear, torch.nn.functional.linear, [x, w])


# ------------------------------------------------------------------ element-wise
UNARY = {
    "exp": (shendu.exp, torch.exp, "normal"),
    "log": (shendu.log, torch.log, "positive"),
    "sqrt": (shendu.sqrt, torch.sqrt, "positive"),
    "abs": (shendu.abs, torch.abs, "normal"),
    "tanh": (shendu.tanh, torch.tanh, "normal"),
    "sigmoid": (shendu.sigmoid, torch.sigmoid, "normal"),
    "relu": (shendu.relu, torch.relu, "normal"),
    "neg": (shendu.neg, torch.neg, "normal"),
    "clip": (lambda x: x.clip(-0.5, 0.7), lambda x: x.clamp(-0.5, 0.7), "normal"),
    "clip min only": (lambda x: shendu.clip(x, min=0.2), lambda x: torch.clamp(x, min=0.2), "normal"),
    "clamp max only": (lambda x: x.clamp(max=-0.2), lambda x: x.clamp(max=-0.2), "normal"),
    "exp method chain": (lambda x: (x.tanh() * x.sigmoid()).exp(), lambda x: (x.tanh() * x.sigmoid()).exp(), "normal"),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(shape=array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3), seed=seeds)
@fewer
def test_unary(name, shape, seed):
    sd_fn, t_fn, domain = UNARY[name]
    x, = positive(seed, shape) if domain == "positive" else randn(seed, shape, low=0.05)
    if name.startswith("cl"):  # keep every value off the clip bounds
        x = np.where(np.abs(np.abs(x) - 0.5) < 0.05, x + 0.1, x)
        x = np.where(np.abs(np.abs(x) - 0.7) < 0.05, x + 0.1, x)
        x = np.where(np.abs(np.abs(x) - 0.2) < 0.05, x + 0.1, x)
    check(sd_fn, t_fn, [x])


@given(shp=triples, seed=seeds)
@fewer
def test_clip_with_tensor_bounds(shp, seed):
    x, lo, hi = randn(seed, shp.result_shape, *shp.input_shapes[1:])  # torch wants x in the full shape
    lo, hi = lo - 0.5, np.abs(hi) + 0.5  # lo < hi
    check(lambda t, a, b: t.clip(a, b), lambda t, a, b: torch.clamp(t, a, b), [x, lo, hi])
    check(lambda t, a: shendu.clamp(t, min=a), lambda t, a: torch.clamp(t, min=a), [x, lo], gradcheck=False)


def test_clip_and_relu_subgradients_match_torch_at_the_kinks():
    x = np.array([-1.0, -0.5, 0.0, 0.7, 2.0])
    check(lambda t: t.clip(-0.5, 0.7), lambda t: t.clamp(-0.5, 0.7), [x], gradcheck=False)
    check(shendu.relu, torch.relu, [x], gradcheck=False)
    check(shendu.abs, torch.abs, [x], gradcheck=False)


def test_maximum_minimum_ties_split_the_gradient_like_torch():
    a, b = np.array([1.0, 2.0, 3.0]), np.array([1.0, 5.0, 3.0])
    check(shendu.maximum, torch.maximum, [a, b], gradcheck=False)
    check(shendu.minimum, torch.minimum, [a, b], gradcheck=False)
    x = shendu.tensor([2.0], requires_grad=True)
    shendu.maximum(x, 2.0).backward()
    assert x.grad.item() == 0.5


@given(shp=triples, seed=seeds)
def test_where_broadcasts_condition_and_both_branches(shp, seed):
    c_shape, a_shape, b_shape = shp.input_shapes
    a, b = randn(seed, a_shape, b_shape)
    cond = np.random.default_rng(seed).random(c_shape) > 0.5
    check(lambda c, x, y: shendu.where(c, x, y), lambda c, x, y: torch.where(c, x, y), [cond, a, b])


def test_where_and_maximum_with_a_python_number():
    x, = randn(1, (2, 3))
    check(lambda t: shendu.where(t > 0, t, 0.1 * t), lambda t: torch.where(t > 0, t, 0.1 * t), [x])
    check(lambda t: shendu.maximum(t, 0.25), lambda t: torch.clamp(t, min=0.25), [x])


COMPARISONS = {
    "==": (lambda a, b: a == b, np.equal), "!=": (lambda a, b: a != b, np.not_equal),
    "<": (lambda a, b: a < b, np.less), "<=": (lambda a, b: a <= b, np.less_equal),
    ">": (lambda a, b: a > b, np.greater), ">=": (lambda a, b: a >= b, np.greater_equal),
}


@pytest.mark.parametrize("name", sorted(COMPARISONS))
@given(shp=pairs, seed=seeds)
@fewer
def test_comparisons_return_bool_tensors_without_gradient(name, shp, seed):
    sd_fn, np_fn = COMPARISONS[name]
    r = np.random.default_rng(seed)
    a, b = (r.integers(0, 3, s).astype(np.float32) for s in shp.input_shapes)  # many ties
    x = shendu.tensor(a, requires_grad=True)
    out = sd_fn(x, shendu.tensor(b))
    assert out.dtype == np.bool_ and not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), np_fn(a, b))
    np.testing.assert_array_equal(sd_fn(x, 1.0).numpy(), np_fn(a, 1.0))  # a Python number on the right


def test_logical_ops_and_predicates():
    a, b = shendu.tensor([True, False, True]), shendu.tensor([True, True, False])
    assert (a & b).tolist() == [True, False, False]
    assert (a | b).tolist() == [True, True, True]
    assert (~a).tolist() == [False, True, False]
    x = shendu.tensor([1.0, float("nan"), float("inf"), -2.0])
    assert shendu.isnan(x).tolist() == [False, True, False, False]
    assert shendu.isfinite(x).tolist() == [True, False, False, True]
    assert shendu.sign(shendu.tensor([-3.0, 0.0, 2.0])).tolist() == [-1.0, 0.0, 1.0]
    assert shendu.isfinite(shendu.tensor(1.0)).data.shape == ()  # an array, never a NumPy scalar


# ------------------------------------------------------------------ reductions
REDUCTIONS = {
    "sum": (lambda x, a, k: x.sum(axis=a, keepdims=k), lambda x, a, k: x.sum(dim=a, keepdim=k)),
    "mean": (lambda x, a, k: x.mean(axis=a, keepdims=k), lambda x, a, k: x.mean(dim=a, keepdim=k)),
    "amax": (lambda x, a, k: x.amax(axis=a, keepdims=k), lambda x, a, k: torch.amax(x, dim=a, keepdim=k)),
    "amin": (lambda x, a, k: shendu.amin(x, a, k), lambda x, a, k: torch.amin(x, dim=a, keepdim=k)),
    "var": (lambda x, a, k: x.var(axis=a, keepdims=k), lambda x, a, k: x.var(dim=a, keepdim=k, correction=0)),
    "var ddof=1": (lambda x, a, k: x.var(axis=a, ddof=1, keepdims=k),
                   lambda x, a, k: x.var(dim=a, keepdim=k, correction=1)),
    "std": (lambda x, a, k: x.std(axis=a, keepdims=k), lambda x, a, k: x.std(dim=a, keepdim=k, correction=0)),
    "logsumexp": (lambda x, a, k: x.logsumexp(axis=a, keepdims=k),
                  lambda x, a, k: torch.logsumexp(x, dim=a, keepdim=k)),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@given(data=st.data(), shape=shapes, seed=seeds, keepdims=st.booleans())
def test_reductions_with_axis_and_keepdims(name, data, shape, seed, keepdims):
    axis = draw_axis(data, len(shape))
    n = int(np.prod([shape[a] for a in (range(len(shape)) if axis is None else np.atleast_1d(axis))]))
    if name.startswith(("var", "std")) and n < 2:
        return  # one element: std's gradient is 1/0 and ddof=1 divides by 0, as in torch
    sd_fn, t_fn = REDUCTIONS[name]
    x, = randn(seed, shape)
    ta = torch_axis(axis, len(shape))
    check(lambda t: sd_fn(t, axis, keepdims), lambda t: t_fn(t, ta, keepdims), [x])


def test_torch_spellings_of_reduction_keywords():
    x, = randn(0, (3, 4))
    check(lambda t: t.sum(dim=1, keepdim=True), lambda t: t.sum(dim=1, keepdim=True), [x])
    check(lambda t: shendu.mean(t, dim=(0, 1)), lambda t: t.mean(dim=(0, 1)), [x])
    check(lambda t: t.var(dim=0, unbiased=True), lambda t: t.var(dim=0, unbiased=True), [x])
    check(lambda t: t.std(dim=[0], correction=1, keepdim=True), lambda t: t.std(dim=0, correction=1, keepdim=True), [x])
    check(lambda t: shendu.amax(t, dim=-1), lambda t: torch.amax(t, dim=-1), [x])


def test_var_defaults_to_numpys_ddof_0_not_torchs_unbiased():
    x = np.array([1.0, 2.0, 4.0])
    assert shendu.tensor(x).var().item() == pytest.approx(np.var(x))
    assert shendu.tensor(x).var(ddof=1).item() == pytest.approx(torch.tensor(x).var().item())
    assert shendu.tensor(x).std().item() == pytest.approx(np.std(x))
    assert shendu.tensor([1, 2, 4]).var().dtype == shendu.float32  # integers are averaged as floats
    assert shendu.tensor([1, 2, 4]).mean().dtype == shendu.float32


@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1)])
def test_max_min_ties_share_the_gradient_evenly_like_torch_amax(axis):
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    ta = torch_axis(axis, 2)
    check(lambda t: t.amax(axis=axis), lambda t: torch.amax(t, dim=ta), [x], gradcheck=False)
    check(lambda t: t.amin(axis=axis), lambda t: torch.amin(t, dim=ta), [x], gradcheck=False)


def test_max_of_all_gives_each_tied_element_an_equal_share():
    x = shendu.tensor([1.0, 3.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0, 1 / 3, 1 / 3, 1 / 3])


@given(data=st.data(), shape=shapes, seed=seeds, keepdims=st.booleans())
@fewer
def test_argmax_argmin_match_numpy_and_carry_no_gradient(data, shape, seed, keepdims):
    axis = data.draw(st.none() | st.integers(-len(shape), len(shape) - 1))
    x, = randn(seed, shape)
    t = shendu.tensor(x, requires_grad=True)
    for sd_fn, np_fn in ((shendu.argmax, np.argmax), (shendu.argmin, np.argmin)):
        out = sd_fn(t, axis=axis, keepdims=keepdims)
        assert out.dtype == np.int64 and not out.requires_grad
        np.testing.assert_array_equal(out.numpy(), np_fn(x, axis=axis, keepdims=keepdims))
    if axis is not None:
        assert t.argmax(dim=axis).tolist() == torch.tensor(x).argmax(dim=axis).tolist()


def test_reduction_of_a_scalar_tensor():
    check(lambda t: t.sum(), lambda t: t.sum(), [np.array(1.5)])
    check(lambda t: t.max(), lambda t: t.amax(), [np.array(1.5)])


# ------------------------------------------------------------------ shape ops
@given(shape=shapes, seed=seeds, data=st.data())
@fewer
def test_reshape_flatten_and_view(shape, seed, data):
    x, = randn(seed, shape)
    n = x.size
    new = data.draw(st.sampled_from([(n,), (1, n), (n, 1), (-1,), (1, -1, 1)]))
    check(lambda t: t.reshape(new), lambda t: t.reshape(new), [x])
    check(lambda t: t.reshape(*new), lambda t: t.reshape(*new), [x], gradcheck=False)
    check(lambda t: t.view(new), lambda t: t.view(new), [x], gradcheck=False)
    start = data.draw(st.integers(0, len(shape) - 1))
    check(lambda t: t.flatten(start), lambda t: t.flatten(start), [x])
    check(lambda t: shendu.flatten(t, 0, start), lambda t: torch.flatten(t, 0, start), [x], gradcheck=False)


@given(shape=shapes, seed=seeds, data=st.data())
@fewer
def test_transpose_permute_and_swapaxes(shape, seed, data):
    x, = randn(seed, shape)
    perm = tuple(data.draw(st.permutations(range(len(shape)))))
    check(lambda t: t.permute(perm), lambda t: t.permute(perm), [x])
    check(lambda t: shendu.transpose(t, perm), lambda t: t.permute(perm), [x], gradcheck=False)
    check(lambda t: t.permute(*perm), lambda t: t.permute(*perm), [x], gradcheck=False)
    a, b = data.draw(st.integers(-len(shape), len(shape) - 1)), data.draw(st.integers(-len(shape), len(shape) - 1))
    check(lambda t: t.transpose(a, b), lambda t: t.transpose(a, b), [x])
    check(lambda t: shendu.swapaxes(t, a, b), lambda t: torch.swapaxes(t, a, b), [x], gradcheck=False)
    check(lambda t: t.T, lambda t: t.permute(*reversed(range(t.ndim))), [x], gradcheck=False)


def test_transpose_of_two_ints_swaps_like_torch_while_a_tuple_permutes_like_numpy():
    x = shendu.arange(6.0).reshape(2, 3)
    assert x.transpose(0, 1).shape == (3, 2)  # PyTorch's transpose(dim0, dim1); NumPy would give the identity
    assert x.transpose((0, 1)).shape == (2, 3)  # NumPy's permutation
    y = shendu.zeros(2, 3, 4)
    assert y.transpose(0, 2).shape == (4, 3, 2)
    assert y.transpose(2, 0, 1).shape == (4, 2, 3)
    assert y.transpose().shape == y.T.shape == (4, 3, 2)


@given(shape=array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=2), seed=seeds, data=st.data())
@fewer
def test_squeeze_and_unsqueeze(shape, seed, data):
    x, = randn(seed, shape)
    check(lambda t: t.squeeze(), lambda t: t.squeeze(), [x])
    ones = [i for i, n in enumerate(shape) if n == 1]
    if ones:
        a = data.draw(st.sampled_from(ones))
        check(lambda t: t.squeeze(a), lambda t: t.squeeze(a), [x], gradcheck=False)
        check(lambda t: shendu.squeeze(t, dim=a), lambda t: t.squeeze(dim=a), [x], gradcheck=False)
    u = data.draw(st.integers(-len(shape) - 1, len(shape)))
    check(lambda t: t.unsqueeze(u), lambda t: t.unsqueeze(u), [x])
    check(lambda t: t.unsqueeze(dim=u), lambda t: t.unsqueeze(dim=u), [x], gradcheck=False)
    check(lambda t: shendu.expand_dims(t, u), lambda t: t.unsqueeze(u), [x], gradcheck=False)


@given(shp=pairs, seed=seeds)
def test_expand_and_broadcast_to_sum_the_gradient_back(shp, seed):
    src = shp.input_shapes[0]
    target = shp.result_shape
    x, = randn(seed, src)
    check(lambda t: shendu.broadcast_to(t, target), lambda t: torch.broadcast_to(t, target), [x])
    check(lambda t: t.expand(target), lambda t: t.expand(target), [x], gradcheck=False)
    if target:  # torch's expand() needs at least one size
        check(lambda t: t.expand(*target), lambda t: t.expand(*target), [x], gradcheck=False)
    keep = (-1,) * len(src)
    lead = target[:len(target) - len(src)]
    check(lambda t: t.expand(lead + keep), lambda t: t.expand(lead + keep), [x], gradcheck=False)


# ------------------------------------------------------------------ indexing
BASIC_KEYS = [
    0, -1, slice(1, 3), (slice(None), 1), (Ellipsis, 0), (None, slice(0, 2)), (1, slice(None, None, 2)),
    (slice(None), None, slice(1, None)), (Ellipsis, None), (slice(0, 0),),
]


@pytest.mark.parametrize("key", BASIC_KEYS, ids=repr)
def test_basic_indexing(key):
    x, = randn(0, (3, 4))
    check(lambda t: t[key], lambda t: t[key], [x])


def test_negative_step_slices_scatter_back_in_place():
    # PyTorch has no negative steps: compare with NumPy and finite differences
    x = shendu.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = x[:, ::-1]
    np.testing.assert_array_equal(y.numpy(), np.arange(6.0).reshape(2, 3)[:, ::-1])
    (y * shendu.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[3, 2, 1], [6, 5, 4]])
    shendu.gradcheck(lambda t: t[::-2, ::-1], shendu.randn(3, 3, dtype=shendu.float64))


@pytest.mark.parametrize("case", ["rows", "columns", "pairs", "2-d index", "mixed", "negative"])
def test_integer_array_indexing_adds_repeated_gradients(case):
    x, = randn(1, (4, 3))
    rows = np.array([0, 2, 0, 3, 0])  # row 0 three times: its gradient is the sum of three
    cols = np.array([1, 1, 2, 0, 1])
    fn = {
        "rows": lambda t, i, j: t[i],
        "columns": lambda t, i, j: t[:, j[:2]],
        "pairs": lambda t, i, j: t[i, j],
        "2-d index": lambda t, i, j: t[i.reshape(5, 1), j[:2].reshape(1, 2)],
        "mixed": lambda t, i, j: t[i, 1:],
        "negative": lambda t, i, j: t[-i - 1],
    }[case]
    check(fn, fn, [x, rows, cols])


@given(shape=shapes, seed=seeds)
@fewer
def test_boolean_mask_indexing(shape, seed):
    x, = randn(seed, shape)
    mask = np.random.default_rng(seed).random(shape) > 0.4
    check(lambda t, m: t[m], lambda t, m: t[m], [x, mask])
    row_mask = mask.reshape(shape[0], -1)[:, 0]
    check(lambda t, m: t[m], lambda t, m: t[m], [x, row_mask], gradcheck=False)


def test_indexing_with_lists_and_python_ints_from_tensors():
    x, = randn(2, (4, 3))
    check(lambda t: t[[0, 0, 3]], lambda t: t[[0, 0, 3]], [x])
    t = shendu.tensor(x, requires_grad=True)
    i = shendu.tensor(2)
    np.testing.assert_array_equal(t[i].numpy(), x[2])
    np.testing.assert_array_equal(t[x[:, 0] > 0].numpy(), x[x[:, 0] > 0])  # a NumPy mask works too


def test_take_and_masked_fill():
    x, = randn(3, (3, 4))
    idx = np.array([3, 0, 3])
    check(lambda t, i: shendu.take(t, i, axis=1), lambda t, i: torch.index_select(t, 1, i), [x, idx])
    mask = x > 0
    check(lambda t, m: shendu.masked_fill(t, m, -1.0), lambda t, m: t.masked_fill(m, -1.0), [x, mask])


# ------------------------------------------------------------------ join / split / pad
@given(seed=seeds, data=st.data(), shape=array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3))
@fewer
def test_concatenate_and_stack(seed, data, shape):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    sizes = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    parts = [tuple(s if i == axis % len(shape) else n for i, n in enumerate(shape)) for s in sizes]
    arrays = randn(seed, *parts)
    check(lambda *ts: shendu.concatenate(ts, axis=axis), lambda *ts: torch.cat(ts, dim=axis), arrays)
    check(lambda *ts: shendu.cat(list(ts), dim=axis), lambda *ts: torch.cat(ts, dim=axis), arrays, gradcheck=False)
    same = randn(seed, *[shape] * len(sizes))
    new_axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    check(lambda *ts: shendu.stack(ts, axis=new_axis), lambda *ts: torch.stack(ts, dim=new_axis), same)
    check(lambda *ts: shendu.stack(ts, dim=new_axis), lambda *ts: torch.stack(ts, dim=new_axis), same, gradcheck=False)


def test_concatenate_promotes_mixed_dtypes_and_gives_each_input_its_dtype_back():
    a = shendu.ones(2, dtype=shendu.float32, requires_grad=True)
    b = shendu.ones(3, dtype=shendu.float64, requires_grad=True)
    y = shendu.concatenate([a, b, shendu.tensor([1, 2])])
    assert y.dtype == shendu.float64 and y.shape == (7,)
    y.sum().backward()
    assert a.grad.dtype == shendu.float32 and b.grad.dtype == shendu.float64


@pytest.mark.parametrize("how", ["tensor_split sections", "tensor_split indices", "sizes", "size", "chunk"])
def test_split_and_chunk(how):
    x, = randn(4, (6, 2))
    if how == "tensor_split sections":
        sd_fn, t_fn = (lambda t: tuple(shendu.tensor_split(t, 4))), (lambda t: torch.tensor_split(t, 4))
    elif how == "tensor_split indices":
        sd_fn, t_fn = (lambda t: tuple(t.tensor_split([1, 4]))), (lambda t: torch.tensor_split(t, [1, 4]))
    elif how == "sizes":
        sd_fn, t_fn = (lambda t: tuple(t.split([2, 4]))), (lambda t: torch.split(t, [2, 4]))
    elif how == "size":
        sd_fn, t_fn = (lambda t: tuple(shendu.split(t, 4, dim=0))), (lambda t: torch.split(t, 4, dim=0))
    else:
        sd_fn, t_fn = (lambda t: tuple(shendu.chunk(t, 4))), (lambda t: torch.chunk(t, 4))
    check(sd_fn, t_fn, [x])
    check(lambda t: tuple(shendu.split(t, 1, axis=1)), lambda t: torch.split(t, 1, dim=1), [x],
          gradcheck=False)


def test_only_some_split_pieces_used_still_gives_a_full_gradient():
    x = shendu.randn(4, 3, requires_grad=True)
    a, b = shendu.split(x, 2)
    (b * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0] * 3] * 2 + [[2] * 3] * 2)


@pytest.mark.parametrize("pad", [(1, 2), (0, 2, 3, 1), (2, 0, 1, 1)])
def test_pad_takes_pytorchs_pairs_last_dimension_first(pad):
    x, = randn(5, (2, 3))
    check(lambda t: shendu.pad(t, pad, value=0.5), lambda t: torch.nn.functional.pad(t, pad, value=0.5), [x])


# ------------------------------------------------------------------ dtypes through ops
def test_mixed_dtype_ops_promote_and_gradients_keep_each_inputs_dtype():
    a = shendu.randn(2, 3, requires_grad=True)                       # float32
    b = shendu.randn(3, dtype=shendu.float64, requires_grad=True)   # float64
    y = a * b + shendu.arange(3)                                     # + int64
    assert y.dtype == shendu.float64
    y.sum().backward()
    assert a.grad.dtype == shendu.float32 and a.grad.shape == (2, 3)
    assert b.grad.dtype == shendu.float64 and b.grad.shape == (3,)
    np.testing.assert_allclose(b.grad.numpy(), a.numpy().sum(0), rtol=1e-6)


def test_cast_between_floating_dtypes_is_differentiable():
    x, = randn(6, (2, 2))
    for src, dst in ((shendu.float32, shendu.float64), (shendu.float64, shendu.float32)):
        t = shendu.tensor(x, dtype=src, requires_grad=True)
        tt = torch.tensor(x.astype(src), requires_grad=True)
        y = (t.astype(dst) * 3).exp()
        ty = (tt.to(getattr(torch, dst.name)) * 3).exp()
        assert y.dtype == dst
        y.sum().backward()
        ty.sum().backward()
        assert t.grad.dtype == src
        np.testing.assert_allclose(t.grad.numpy(), tt.grad.numpy(), rtol=1e-6)
    assert shendu.tensor([1.7, -2.2]).long().tolist() == [1, -2]
    assert not shendu.tensor([1.5], requires_grad=True).long().requires_grad  # integers carry no gradient


# ------------------------------------------------------------------ numerical safety
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_tanh_logsumexp_stay_finite_for_extreme_inputs(dtype):
    big = 3e38 if dtype == np.float32 else 1e300
    values = np.array([-big, -1e4, -100.0, -88.8, -30.0, 0.0, 30.0, 88.8, 100.0, 1e4, big], dtype=dtype)
    with np.errstate(invalid="raise", divide="raise", over="ignore"):  # no NaN made, no division by zero
        for fn in (shendu.sigmoid, shendu.tanh, lambda t: t.logsumexp(),
                   lambda t: t.reshape(1, -1).logsumexp(axis=1), lambda t: shendu.stack([t, -t]).logsumexp(axis=0)):
            x = shendu.tensor(values, requires_grad=True)
            y = fn(x)
            assert np.isfinite(y.numpy()).all(), y
            y.backward(shendu.ones_like(y))
            assert np.isfinite(x.grad.numpy()).all(), x.grad
    s = shendu.sigmoid(shendu.tensor(values)).numpy()
    assert s[0] == 0 and s[-1] == 1 and np.all(np.diff(s) >= 0)
    np.testing.assert_allclose(s, torch.sigmoid(torch.tensor(values)).numpy(), rtol=1e-6, atol=1e-30)


def test_logsumexp_matches_torch_on_large_and_very_negative_values():
    x = np.array([[1000.0, 1000.0, -1000.0], [-1e5, -1e5 + 1, -1e5 + 2]])
    check(lambda t: t.logsumexp(axis=1), lambda t: torch.logsumexp(t, dim=1), [x], gradcheck=False)
    with np.errstate(divide="ignore"):
        lse = shendu.tensor([-np.inf, -np.inf]).logsumexp()  # log Σ 0 = −∞, exactly (no NaN)
    assert lse.item() == -np.inf


def test_sigmoid_of_large_negative_float32_does_not_underflow_to_nan_gradient():
    x = shendu.tensor([-200.0, 200.0], requires_grad=True)
    x.sigmoid().sum().backward()
    assert np.isfinite(x.grad.numpy()).all() and (x.grad.numpy() >= 0).all()


# ------------------------------------------------------------------ error messages
ERRORS = [
    (lambda: shendu.zeros(32, 784) @ shendu.zeros(512, 10), ValueError,
     r"^matmul: cannot multiply \(32, 784\) by \(512, 10\)$"),
    (lambda: shendu.zeros(2, 3, 4) @ shendu.zeros(3, 4, 5), ValueError,
     r"matmul: cannot multiply \(2, 3, 4\) by \(3, 4, 5\)"),
    (lambda: shendu.zeros(2) @ shendu.tensor(1.0), ValueError, r"matmul: .*at least one dimension.*\(2,\).*\(\)"),
    (lambda: shendu.zeros(2, 3) + shendu.zeros(4), ValueError, r"^add: .*\(2, 3\).*\(4,\)"),
    (lambda: shendu.zeros(2, 3) * shendu.ones(3, 2), ValueError, r"^mul: .*\(2, 3\).*\(3, 2\)"),
    (lambda: shendu.maximum(shendu.zeros(2), shendu.zeros(3)), ValueError, r"^maximum: .*\(2,\).*\(3,\)"),
    (lambda: shendu.zeros(2, 3).reshape(4), ValueError, r"^reshape: cannot reshape a tensor of shape \(2, 3\) into \(4,\)"),
    (lambda: shendu.zeros(2, 3).expand(4, 5), ValueError, r"^broadcast_to: cannot broadcast .*\(2, 3\) to \(4, 5\)"),
    (lambda: shendu.zeros(3).expand(-1, 3), ValueError, r"^expand: cannot expand a tensor of shape \(3,\) to \(-1, 3\)"),
    (lambda: shendu.cat([shendu.zeros(2, 3), shendu.zeros(2, 4)]), ValueError,
     r"^concatenate: shapes \(2, 3\), \(2, 4\) must agree except along axis 0"),
    (lambda: shendu.stack([shendu.zeros(2), shendu.zeros(3)]), ValueError, r"^stack: .*\(2,\), \(3,\)"),
    (lambda: shendu.stack([shendu.zeros(2)], axis=3), IndexError, r"^stack: axis 3 is out of range"),
    (lambda: shendu.linear(shendu.zeros(2, 3), shendu.zeros(4, 5)), ValueError,
     r"^linear: input of shape \(2, 3\) does not fit weight of shape \(4, 5\)"),
    (lambda: shendu.linear(shendu.zeros(2, 3), shendu.zeros(4, 3), shendu.zeros(5)), ValueError,
     r"^linear: bias of shape \(5,\) does not fit weight of shape \(4, 3\)"),
    (lambda: shendu.zeros(3)[5], IndexError, r"^getitem: index 5 does not fit a tensor of shape \(3,\)"),
    (lambda: shendu.zeros(2, 3).sum(axis=2), IndexError, r"^sum: axis 2 is out of range for a tensor of 2 dimensions"),
    (lambda: shendu.zeros(2, 3).max(dim=-3), IndexError, r"^max: axis -3 is out of range"),
    (lambda: shendu.zeros(2, 3).max(dim=(0, 1)), TypeError, r"^max: dim must be an int.*shendu.amax"),
    (lambda: shendu.ones(2, 2, dtype=shendu.bool_) @ shendu.ones(2, 2, dtype=shendu.bool_), RuntimeError,
     r"^matmul: not implemented for bool tensors \(got bool @ bool\)"),
    (lambda: shendu.zeros(2, 3).permute(0, 0), ValueError, r"^permute: axes \(0, 0\) are not a permutation"),
    (lambda: shendu.split(shendu.zeros(5), [2, 2]), ValueError, r"^split: sizes \[2, 2\] must be non-negative and add up to 5"),
    (lambda: shendu.split(shendu.zeros(5), 0), ValueError, r"^split: split_size must be a positive int, got 0"),
    (lambda: shendu.split(shendu.zeros(5), 2, axis=1), IndexError, r"^split: axis 1 is out of range"),
    (lambda: shendu.pad(shendu.zeros(2, 2), (1, 1, 1, 1, 1, 1)), ValueError, r"^pad: expected an even number"),
    (lambda: shendu.clip(shendu.zeros(2)), ValueError, r"^clip: at least one of min and max"),
    (lambda: shendu.zeros(2).sum(axis=0, foo=1), TypeError, r"^sum: unexpected keyword arguments \['foo'\]"),
]


@pytest.mark.parametrize("fn,exc,pattern", ERRORS, ids=[p for _, _, p in ERRORS])
def test_errors_name_the_op_and_the_shapes(fn, exc, pattern):
    with pytest.raises(exc, match=pattern):
        fn()


def test_forward_errors_keep_the_original_exception_as_cause():
    with pytest.raises(ValueError) as info:
        shendu.zeros(2, 3) + shendu.zeros(4)
    assert isinstance(info.value.__cause__, ValueError)


def test_pad_refuses_numpys_per_axis_pairs():
    with pytest.raises(ValueError, match="last dimension backwards"):
        shendu.pad(shendu.zeros(2, 2), ((1, 1), (2, 2)))


def test_relu_of_minus_infinity_is_zero_not_nan():
    for n in (5, 50_000):  # the small inference path and the training path
        t = shendu.tensor(np.resize(np.array([-np.inf, -1.0, 0.0, 2.0, np.inf], np.float32), n), requires_grad=True)
        y = t.relu()
        assert not np.isnan(y.numpy()).any() and y.numpy()[0] == 0 and y.numpy()[4] == np.inf
        y.sum().backward()
        assert np.array_equal(t.grad.numpy()[:5], [0, 0, 0, 1, 1])


# ------------------------------------------------------------------ core: var/std edge cases, promotion, sign, bool @
@pytest.mark.parametrize("op", ["var", "std"])
@pytest.mark.parametrize("dim", [None, 1])
def test_std_of_a_constant_has_zero_gradient_and_var_matches(op, dim):
    x = np.array([[3.0, 3.0, 3.0], [1.0, 2.0, 4.0]])
    check(lambda t: getattr(t, op)(dim=dim, correction=1) if dim is not None else getattr(t[:1], op)(correction=1),
          lambda t: getattr(t, op)(dim=dim, correction=1) if dim is not None else getattr(t[:1], op)(correction=1),
          [x], gradcheck=False)  # finite differences straddle the kink of |x| at zero variance
    t = shendu.tensor([2.0, 2.0, 2.0], requires_grad=True)
    t.std().backward()
    assert t.grad.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.filterwarnings("ignore:.*degrees of freedom is <= 0")
@pytest.mark.parametrize("values,correction", [([1.0, 2.0], 2), ([1.0, 2.0], 3), ([5.0], 1), ([5.0, 5.0], 2)])
def test_var_std_with_no_more_elements_than_the_correction_are_undefined_as_torch(values, correction):
    for op in ("var", "std"):
        s = getattr(shendu.tensor(values, dtype=shendu.float64), op)(correction=correction)
        t = getattr(torch.tensor(values, dtype=torch.float64), op)(correction=correction)
        np.testing.assert_array_equal(s.numpy(), t.numpy())  # inf or nan, never a finite number
    x = shendu.tensor(values, dtype=shendu.float64, requires_grad=True)
    x.std(correction=correction).backward()
    tx = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    tx.std(correction=correction).backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())  # NaN: no silent number


def test_var_spellings_ddof_correction_unbiased_agree_and_do_not_mix():
    x = shendu.tensor([1.0, 2.0, 4.0, 8.0])
    t = torch.tensor([1.0, 2.0, 4.0, 8.0])
    assert x.var(ddof=1).item() == pytest.approx(t.var(correction=1).item())
    assert x.var(correction=0).item() == pytest.approx(t.var(correction=0).item())
    assert x.std(unbiased=True).item() == pytest.approx(t.std(unbiased=True).item())
    assert x.std(unbiased=False).item() == pytest.approx(t.std(unbiased=False).item())
    with pytest.raises(TypeError, match=r"^var: give one of ddof=, correction= and unbiased="):
        x.var(ddof=1, correction=1)


FLOATING_ONLY = {
    "exp": (shendu.exp, torch.exp), "log": (shendu.log, torch.log), "sqrt": (shendu.sqrt, torch.sqrt),
    "sigmoid": (shendu.sigmoid, torch.sigmoid), "tanh": (shendu.tanh, torch.tanh),
    "logsumexp": (lambda t: shendu.logsumexp(t, dim=0), lambda t: torch.logsumexp(t, dim=0)),
    # torch refuses integers for these; shendu promotes them as its other floating ops: compare on floats
    "softmax": (lambda t: shendu.functional.softmax(t, dim=0), lambda t: torch.softmax(t.float(), dim=0)),
    "log_softmax": (lambda t: shendu.functional.log_softmax(t, dim=0), lambda t: torch.log_softmax(t.float(), 0)),
    "gelu": (shendu.functional.gelu, lambda t: torch.nn.functional.gelu(t.float())),
    "silu": (shendu.functional.silu, lambda t: torch.nn.functional.silu(t.float())),
    "elu": (shendu.functional.elu, lambda t: torch.nn.functional.elu(t.float())),
    "softplus": (shendu.functional.softplus, lambda t: torch.nn.functional.softplus(t.float())),
    "erf": (shendu.functional.erf, torch.erf),
}


@pytest.mark.filterwarnings("ignore:divide by zero encountered in log")
@pytest.mark.parametrize("name", sorted(FLOATING_ONLY))
@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_integer_inputs_of_floating_ops_give_the_default_float_dtype(name, dtype):
    sd_fn, t_fn = FLOATING_ONLY[name]
    values = np.array([1, 2, 3]) if dtype != "bool" else np.array([True, False, True])
    values = values.astype(dtype)
    out = sd_fn(shendu.tensor(values))
    assert out.dtype == shendu.float32
    np.testing.assert_allclose(out.numpy(), t_fn(torch.tensor(values)).numpy(), rtol=1e-6, atol=1e-7)
    shendu.set_default_dtype(shendu.float64)
    try:
        assert sd_fn(shendu.tensor(values)).dtype == shendu.float64
    finally:
        shendu.set_default_dtype(shendu.float32)


def test_sign_takes_part_in_autograd_with_a_zero_gradient():
    check(lambda t: shendu.sign(t) * t, lambda t: torch.sign(t) * t, [np.array([1.5, -2.0, 0.0, 3.0])],
          gradcheck=False)  # |x| = sign(x)·x; sign's own share is 0
    x = shendu.tensor([1.0, -2.0, 0.0], requires_grad=True)
    y = shendu.sign(x)
    assert y.requires_grad and type(y._ctx).__name__ == "Sign"
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]
    assert shendu.sign(shendu.tensor([3, -1])).dtype == torch.sign(torch.tensor([3, -1])).numpy().dtype


def test_bool_matmul_is_refused_as_in_torch_and_other_dtypes_still_multiply():
    b = np.array([[True, False], [True, True]])
    with pytest.raises(NotImplementedError):
        torch.tensor(b) @ torch.tensor(b)
    with pytest.raises(RuntimeError, match=r"^matmul: not implemented for bool tensors \(got bool @ bool\)"):
        shendu.tensor(b) @ shendu.tensor(b)
    assert (shendu.tensor(b).int() @ shendu.tensor(b).int()).tolist() == \
        (torch.tensor(b).int() @ torch.tensor(b).int()).tolist()
