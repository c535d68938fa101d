"""Element-wise math against PyTorch: trigonometric/hyperbolic, exp/log variants,
rounding, division and modulo, erf/erfc/erfinv, lerp/hypot/copysign/logaddexp,
predicates, bitwise operators, and the dtypes of integer and bool inputs.

Values and gradients go through ``harness.check`` (float32 + float64 + gradcheck)
on hypothesis shapes; each op draws inputs inside its domain.
"""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import shendu
from harness import check

torch = pytest.importorskip("torch")

seeds = st.integers(0, 2 ** 16)
shapes = array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)
pairs = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=1, max_side=3)
triples = mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, min_side=1, max_side=3)
few = settings(max_examples=8, deadline=None)

DOMAINS = {  # (low, high) of a uniform draw, inside each function's domain
    "any": (-3.0, 3.0), "unit": (-0.9, 0.9), "positive": (0.3, 3.0), "above1": (1.2, 3.0),
    "above-1": (-0.8, 3.0), "tan": (-1.3, 1.3), "nonzero": None,
}


def draw(seed, shape, domain):
    r = np.random.default_rng(seed)
    if domain == "nonzero":
        a = r.standard_normal(shape)
        return np.sign(a + (a == 0)) * (np.abs(a) + 0.3)
    return r.uniform(*DOMAINS[domain], shape)


def torch_fn(name):
    return getattr(torch, name)


UNARY = {
    "sin": "any", "cos": "any", "tan": "tan", "asin": "unit", "acos": "unit", "atan": "any",
    "sinh": "any", "cosh": "any", "asinh": "any", "acosh": "above1", "atanh": "unit",
    "log2": "positive", "log10": "positive", "log1p": "above-1", "exp2": "any", "expm1": "any",
    "rsqrt": "positive", "reciprocal": "nonzero", "square": "any", "erf": "any", "erfc": "any",
    "erfinv": "unit", "frac": "any", "floor": "any", "ceil": "any", "trunc": "any", "round": "any",
    "arcsin": "unit", "arccos": "unit", "arctan": "any", "arcsinh": "any", "arccosh": "above1", "arctanh": "unit",
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(shape=shapes, seed=seeds)
@few
def test_unary_function_and_method(name, shape, seed):
    x = draw(seed, shape, UNARY[name])
    check(getattr(shendu, name), torch_fn(name), [x])
    check(lambda t: getattr(t, name)(), lambda t: getattr(t, name)(), [x], gradcheck=False)


@pytest.mark.parametrize("decimals", [1, 2, -1])
def test_round_decimals(decimals):
    x = np.random.default_rng(decimals + 5).uniform(-300, 300, (4, 5))
    check(lambda t: shendu.round(t, decimals=decimals), lambda t: torch.round(t, decimals=decimals), [x])
    check(lambda t: t.round(decimals=decimals), lambda t: t.round(decimals=decimals), [x], gradcheck=False)


def test_erfinv_accuracy_in_float64():
    # the whole range, the tails close to ±1 and tiny values: 1e-12 relative against torch
    y = np.concatenate([np.linspace(-0.999, 0.999, 2001), 1 - np.logspace(-16, -3, 40),
                        -(1 - np.logspace(-16, -3, 40)), np.logspace(-300, -1, 30), [0.0, -0.0]])
    ours = shendu.erfinv(shendu.tensor(y)).numpy()
    theirs = torch.erfinv(torch.tensor(y)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)
    assert np.array_equal(np.signbit(ours), np.signbit(theirs))
    # and erf(erfinv(y)) = y
    np.testing.assert_allclose(shendu.erf(shendu.tensor(ours)).numpy()[:2001], y[:2001], rtol=1e-14, atol=1e-16)


def test_erf_erfc_tails_in_float64():
    x = np.concatenate([np.linspace(-8, 8, 801), [30.0, -30.0, 1e-300]])
    for name in ("erf", "erfc"):
        ours = getattr(shendu, name)(shendu.tensor(x)).numpy()
        np.testing.assert_allclose(ours, getattr(torch, name)(torch.tensor(x)).numpy(), rtol=1e-13, atol=1e-300)


BINARY = {  # name: (domain of a, domain of b)
    "atan2": ("any", "any"), "hypot": ("any", "any"), "copysign": ("nonzero", "nonzero"),
    "logaddexp": ("any", "any"), "logaddexp2": ("any", "any"), "fmod": ("any", "nonzero"),
    "remainder": ("any", "nonzero"), "arctan2": ("any", "any"),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(shp=pairs, seed=seeds)
@few
def test_binary_broadcasting(name, shp, seed):
    da, db = BINARY[name]
    a, b = draw(seed, shp.input_shapes[0], da), draw(seed + 1, shp.input_shapes[1], db)
    if name in ("fmod", "remainder"):  # keep a/b away from integers, where the result jumps
        q = a / b
        a = np.where(np.abs(q - np.round(q)) < 0.05, a + 0.1 * b, a)
    check(getattr(shendu, name), torch_fn(name), [a, b])
    check(lambda x, y: getattr(x, name)(y), lambda x, y: getattr(x, name)(y), [a, b], gradcheck=False)


@given(shp=pairs, seed=seeds)
@few
def test_operators_mod_and_floordiv_on_floats(shp, seed):
    a, b = draw(seed, shp.input_shapes[0], "any"), draw(seed + 1, shp.input_shapes[1], "nonzero")
    q = a / b
    a = np.where(np.abs(q - np.round(q)) < 0.05, a + 0.1 * b, a)
    check(lambda x, y: x % y, lambda x, y: x % y, [a, b])
    check(lambda x, y: x // y, lambda x, y: x // y, [a, b], grad=False)  # torch has no derivative for //
    for mode in ("floor", "trunc", None):
        check(lambda x, y: shendu.div(x, y, rounding_mode=mode), lambda x, y: torch.div(x, y, rounding_mode=mode),
              [a, b], gradcheck=mode is None)
    check(lambda x: 2.5 % x, lambda x: 2.5 % x, [b], grad=False)  # torch: no derivative for number % tensor
    check(lambda x: x % -1.5, lambda x: x % -1.5, [a], gradcheck=False)


@given(shp=triples, seed=seeds)
@few
def test_lerp_with_tensor_weight(shp, seed):
    s, e, w = (draw(seed + k, shape, "any") for k, shape in enumerate(shp.input_shapes))
    check(shendu.lerp, torch.lerp, [s, e, w])


@given(shp=pairs, seed=seeds, weight=st.sampled_from([0.0, 0.25, 0.5, 0.8, 1.5]))
@few
def test_lerp_with_number_weight(shp, seed, weight):
    s, e = draw(seed, shp.input_shapes[0], "any"), draw(seed + 1, shp.input_shapes[1], "any")
    check(lambda a, b: a.lerp(b, weight), lambda a, b: a.lerp(b, weight), [s, e])


@given(shp=triples, seed=seeds)
@few
def test_clamp_with_tensor_bounds(shp, seed):
    lo, hi = (draw(seed + k, shape, "any") for k, shape in enumerate(shp.input_shapes[1:]))
    x = draw(seed, shp.result_shape, "any")  # torch's clamp does not broadcast its input up
    hi = np.abs(hi) + 0.1
    lo = -np.abs(lo) - 0.1
    check(lambda a, b, c: shendu.clamp(a, min=b, max=c), lambda a, b, c: torch.clamp(a, min=b, max=c), [x, lo, hi])
    check(lambda a, b: a.clamp(min=b), lambda a, b: a.clamp(min=b), [x, lo])


# ------------------------------------------------------------------ dtypes of integer and bool inputs
def same(ours, theirs):
    """Same dtype and values (NaN = NaN, and the sign of zeros)."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, shendu.Tensor), f"expected a tensor, got {ours!r}"
        t = theirs.numpy()
        assert ours.numpy().dtype == t.dtype, f"dtype {ours.numpy().dtype} != torch {t.dtype}"
        np.testing.assert_allclose(ours.numpy(), t, rtol=1e-6, atol=1e-12, equal_nan=True)
        if t.dtype.kind == "f":  # the sign of zeros and infinities
            real = (t == 0) | np.isinf(t)
            assert np.array_equal(np.signbit(ours.numpy())[real], np.signbit(t)[real]), (ours, theirs)
    else:
        assert type(ours) is type(theirs) and ours == theirs, (ours, theirs)


INTS = np.array([5, -7, 3, 0, -1, 12])
NONZERO_INTS = np.array([5, -7, 3, 2, -1, 12])
BOOLS = np.array([True, False, True, True, False, False])

DTYPE_CASES = {
    "sin(int)": lambda m, i, b: m.sin(i), "sin(bool)": lambda m, i, b: m.sin(b),
    "exp2(int)": lambda m, i, b: m.exp2(i), "reciprocal(int)": lambda m, i, b: m.reciprocal(i),
    "rsqrt(int)": lambda m, i, b: m.rsqrt(i), "erf(int)": lambda m, i, b: m.erf(i),
    "atan2(int,int)": lambda m, i, b: m.atan2(i, i), "copysign(int,-1)": lambda m, i, b: m.copysign(i, -1),
    "floor(int)": lambda m, i, b: m.floor(i), "ceil(int)": lambda m, i, b: m.ceil(i),
    "round(int)": lambda m, i, b: m.round(i), "trunc(int)": lambda m, i, b: m.trunc(i),
    "square(int)": lambda m, i, b: m.square(i), "square(bool)": lambda m, i, b: m.square(b),
    "int%-2": lambda m, i, b: i % -2, "int//-2": lambda m, i, b: i // -2, "-2//int": lambda m, i, b: -2 // i,
    "5%int": lambda m, i, b: 5 % i, "2.5%int": lambda m, i, b: 2.5 % i, "int//2.0": lambda m, i, b: i // 2.0,
    "int%int": lambda m, i, b: i % (-i), "fmod(int,-2)": lambda m, i, b: m.fmod(i, -2),
    "remainder(int,-3)": lambda m, i, b: m.remainder(i, -3),
    "div floor": lambda m, i, b: m.div(i, -2, rounding_mode="floor"),
    "div trunc": lambda m, i, b: m.div(i, -2, rounding_mode="trunc"), "div": lambda m, i, b: m.div(i, 2),
    "true_divide": lambda m, i, b: m.true_divide(i, i), "floor_divide": lambda m, i, b: m.floor_divide(i, 4),
    "isinf(int)": lambda m, i, b: m.isinf(i), "isneginf(int)": lambda m, i, b: m.isneginf(i),
    "isposinf(int)": lambda m, i, b: m.isposinf(i), "isclose(int)": lambda m, i, b: m.isclose(i, i + 1, atol=1),
    "clamp(int, min=float tensor)": lambda m, i, b: m.clamp(i, min=m.tensor(0.5)),
}


@pytest.mark.parametrize("name", sorted(DTYPE_CASES))
def test_dtypes_of_integer_and_bool_inputs(name):
    fn = DTYPE_CASES[name]
    divisor_safe = NONZERO_INTS if "%" in name or "//" in name else INTS
    with np.errstate(all="ignore"):  # rsqrt(0), 0/0: inf and NaN on both sides
        same(fn(shendu, shendu.tensor(divisor_safe), shendu.tensor(BOOLS)),
             fn(torch, torch.tensor(divisor_safe), torch.tensor(BOOLS)))


EDGES = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 2.5, -2.5, 0.5, -0.5, 1.5])
EDGE_UNARY = ["sin", "cos", "tan", "atan", "sinh", "cosh", "asinh", "exp2", "expm1", "erf", "erfc", "erfinv",
              "floor", "ceil", "round", "trunc", "frac", "reciprocal", "rsqrt", "log1p", "log2", "log10", "square",
              "isnan", "isinf", "isfinite", "isposinf", "isneginf", "asin", "acos", "atanh", "acosh"]


@pytest.mark.parametrize("name", EDGE_UNARY)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_edge_values(name, dtype):
    x = EDGES.astype(dtype)
    with np.errstate(all="ignore"):
        same(getattr(shendu, name)(shendu.tensor(x)), getattr(torch, name)(torch.tensor(x)))


@pytest.mark.parametrize("name", ["atan2", "hypot", "copysign", "logaddexp", "logaddexp2", "fmod", "remainder",
                                  "floor_divide"])
def test_edge_values_binary(name):
    a = np.repeat(EDGES, len(EDGES))
    b = np.tile(EDGES, len(EDGES))
    with np.errstate(all="ignore"):
        same(getattr(shendu, name)(shendu.tensor(a), shendu.tensor(b)),
             getattr(torch, name)(torch.tensor(a), torch.tensor(b)))


# ------------------------------------------------------------------ predicates
def test_isclose_allclose_equal():
    a = np.array([1.0, np.nan, np.inf, -np.inf, 1e-9, 100.0])
    b = np.array([1.0 + 1e-6, np.nan, np.inf, np.inf, 0.0, 100.1])
    for kw in ({}, dict(equal_nan=True), dict(rtol=1e-2), dict(atol=0.0)):
        same(shendu.isclose(shendu.tensor(a), shendu.tensor(b), **kw),
             torch.isclose(torch.tensor(a), torch.tensor(b), **kw))
        same(shendu.tensor(a).isclose(shendu.tensor(b), **kw), torch.tensor(a).isclose(torch.tensor(b), **kw))
        same(shendu.allclose(shendu.tensor(a[:1]), shendu.tensor(b[:1]), **kw),
             torch.allclose(torch.tensor(a[:1]), torch.tensor(b[:1]), **kw))
    x = shendu.tensor([[1.0, 2.0]])
    assert shendu.equal(x, shendu.tensor([[1.0, 2.0]])) is True
    assert x.equal(shendu.tensor([[1.0, 2.5]])) is False
    assert shendu.equal(x, shendu.tensor([1.0, 2.0])) is False  # same values, other shape: not equal (torch)
    assert shendu.equal(shendu.tensor([np.nan]), shendu.tensor([np.nan])) is False
    assert (x == shendu.tensor([[1.0, 5.0]])).tolist() == [[True, False]]  # element-wise stays eq / ==


# ------------------------------------------------------------------ bitwise
INT_DTYPES = [np.int64, np.int32, np.int16, np.int8, np.uint8]


@pytest.mark.parametrize("dtype", INT_DTYPES)
@given(seed=seeds, shp=pairs)
@few
def test_bitwise_operators_on_integers(dtype, seed, shp):
    r = np.random.default_rng(seed)
    info = np.iinfo(dtype)
    a = r.integers(max(info.min, -1000), min(info.max, 1000), shp.input_shapes[0]).astype(dtype)
    b = r.integers(max(info.min, -1000), min(info.max, 1000), shp.input_shapes[1]).astype(dtype)
    sa, sb, ta, tb = shendu.tensor(a), shendu.tensor(b), torch.tensor(a), torch.tensor(b)
    for op in (lambda x, y: x & y, lambda x, y: x | y, lambda x, y: x ^ y, lambda x, y: ~x,
               lambda x, y: x & 6, lambda x, y: 6 | x, lambda x, y: 3 ^ y, lambda x, y: x.bitwise_and(y),
               lambda x, y: x.bitwise_not()):
        same(op(sa, sb), op(ta, tb))
    counts = r.integers(-2, 9 * info.bits // 8, shp.input_shapes[1]).astype(dtype)
    for op in (lambda x, y: x << y, lambda x, y: x >> y):
        same(op(sa, shendu.tensor(counts)), op(ta, torch.tensor(counts)))
    same(sa << 2, ta << 2)
    same(sa >> 1, ta >> 1)


def test_bitwise_on_bools_is_logical_and_mixes_with_ints():
    b, c = np.array([True, False, True, False]), np.array([True, True, False, False])
    i = np.array([5, -7, 3, 0])
    for op in (lambda x, y, k: x & y, lambda x, y, k: x | y, lambda x, y, k: x ^ y, lambda x, y, k: ~x,
               lambda x, y, k: x & 1, lambda x, y, k: k & True, lambda x, y, k: k ^ x, lambda x, y, k: x | True,
               lambda x, y, k: x << 1, lambda x, y, k: x.logical_xor(k)):
        same(op(shendu.tensor(b), shendu.tensor(c), shendu.tensor(i)),
             op(torch.tensor(b), torch.tensor(c), torch.tensor(i)))


def test_shifts_out_of_range_follow_torch():
    a = np.array([5, -7, 1, -1, 123456789, -2 ** 62])
    for count in (-1, 0, 1, 62, 63, 64, 100):
        same(shendu.tensor(a) << count, torch.tensor(a) << count)
        same(shendu.tensor(a) >> count, torch.tensor(a) >> count)
    same(2 << shendu.tensor([1, 5, 10]), 2 << torch.tensor([1, 5, 10]))


def test_in_place_operators():
    for op in ("&=", "|=", "^=", "<<=", ">>=", "%=", "//="):
        s, t = shendu.tensor([5, -7, 3, 12]), torch.tensor([5, -7, 3, 12])
        exec(f"s {op} 3; t {op} 3")
        same(s, t)
    s, t = shendu.tensor([5.5, -7.25]), torch.tensor([5.5, -7.25])
    s %= 2
    t %= 2
    same(s, t)


# ------------------------------------------------------------------ errors PyTorch raises too
ERRORS = {
    "float & float": (lambda: shendu.tensor([1.0]) & shendu.tensor([1.0]), TypeError, "bitwise_and"),
    "~float": (lambda: ~shendu.tensor([1.0]), TypeError, "bitwise_not"),
    "float << 1": (lambda: shendu.tensor([1.0]) << 1, TypeError, "left_shift"),
    "-bool": (lambda: -shendu.tensor([True]), TypeError, "bool"),
    "bool - bool": (lambda: shendu.tensor([True]) - shendu.tensor([False]), TypeError, "bool"),
    "int // 0": (lambda: shendu.tensor([1, 2]) // 0, ZeroDivisionError, "floor_divide"),
    "int % 0": (lambda: shendu.tensor([1, 2]) % shendu.tensor([1, 0]), ZeroDivisionError, "remainder"),
    "fmod(int, 0)": (lambda: shendu.fmod(shendu.tensor([1]), 0), ZeroDivisionError, "fmod"),
    "bool // bool": (lambda: shendu.tensor([True]) // shendu.tensor([True]), TypeError, "floor_divide"),
    "frac(int)": (lambda: shendu.frac(shendu.tensor([1])), TypeError, "frac"),
    "trunc(bool)": (lambda: shendu.trunc(shendu.tensor([True])), TypeError, "trunc"),
    "round(int, decimals)": (lambda: shendu.round(shendu.tensor([1]), decimals=1), TypeError, "round"),
    "hypot(int)": (lambda: shendu.hypot(shendu.tensor([1]), shendu.tensor([1])), TypeError, "hypot"),
    "div mode": (lambda: shendu.div(shendu.tensor([1.0]), 2, rounding_mode="ceil"), ValueError, "rounding_mode"),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_name_the_op(name):
    fn, exc, word = ERRORS[name]
    with pytest.raises(exc, match=word):
        fn()


def test_rounding_ops_have_zero_gradient_as_torch():
    x = np.array([0.3, -1.7, 2.5, 4.0])
    for name in ("floor", "ceil", "round", "trunc"):
        check(getattr(shendu, name), getattr(torch, name), [x], gradcheck=False)
    check(lambda a: a.frac(), lambda a: a.frac(), [x], gradcheck=False)
    assert math.isclose(float(shendu.frac(shendu.tensor(-2.25))), -0.25)


def test_clamp_tensor_bounds_at_ties_and_crossed_bounds():
    # ties go to the input; where min > max the result is max and max gets the gradient (torch)
    x = np.array([1.0, 2.0, 3.0, 0.0])
    lo = np.array([1.0, 0.0, 4.0, 1.0])
    hi = np.array([5.0, 2.0, 3.5, 0.5])
    check(lambda a, b, c: a.clamp(b, c), lambda a, b, c: a.clamp(b, c), [x, lo, hi], gradcheck=False)
    check(lambda a, b: a.clamp(min=b), lambda a, b: a.clamp(min=b), [x, lo], gradcheck=False)
    check(lambda a, c: a.clamp(max=c), lambda a, c: a.clamp(max=c), [x, hi], gradcheck=False)
