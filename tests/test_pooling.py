"""Pooling, LRN, resampling, padding and joining layers against PyTorch."""
import numpy as np
import pytest

import shendu
import shendu.functional as F
import shendu.nn as nn
from shendu.functional.pooling import pool_output_size
from harness import check, check_module

torch = pytest.importorskip("torch")
TF = torch.nn.functional
TOL32 = {np.float32: dict(rtol=1e-5, atol=1e-5)}


def rand(rng, *shape):
    return rng.standard_normal(shape)


def windows_see_the_input(n, k, s, p, d, ceil_mode):
    """True when every window has at least one tap inside the input (with dilation some may see only padding)."""
    taps = [o * s - p + j * d for o in range(pool_output_size(n, k, s, p, d, ceil_mode)) for j in range(k)]
    starts = range(0, len(taps), k)
    return all(any(0 <= t < n for t in taps[i:i + k]) for i in starts)


def random_pool_cases(n_cases, seed, dilation):
    """Valid torch pooling configurations: padding ≤ k/2, ceil_mode, strides, odd and tiny inputs."""
    rng = np.random.default_rng(seed)
    cases = []
    while len(cases) < n_cases:
        k = tuple(int(v) for v in rng.integers(1, 5, 2))
        s = tuple(int(v) for v in rng.integers(1, 4, 2))
        p = tuple(int(rng.integers(0, kk // 2 + 1)) for kk in k)
        d = tuple(int(v) for v in rng.integers(1, 3, 2)) if dilation else (1, 1)
        hw = tuple(int(v) for v in rng.integers(1, 10, 2))
        ceil_mode = bool(rng.integers(2))
        if any(n + 2 * pp < dd * (kk - 1) + 1 for n, kk, pp, dd in zip(hw, k, p, d)):
            continue  # the window does not fit the padded input (an error here; PyTorch aborts in ceil_mode)
        if not all(windows_see_the_input(n, kk, ss, pp, dd, ceil_mode) for n, kk, ss, pp, dd in zip(hw, k, s, p, d)):
            continue  # PyTorch routes such a window's gradient to an arbitrary pixel; shendu's output is −∞
        case = dict(kernel_size=k, stride=s, padding=p, ceil_mode=ceil_mode, hw=hw)
        if dilation:
            case["dilation"] = d
        else:
            case["count_include_pad"] = bool(rng.integers(2))
        cases.append(case)
    return cases


@pytest.mark.parametrize("case", random_pool_cases(25, seed=1, dilation=True), ids=str)
@pytest.mark.usefixtures("kernels")
def test_max_pool2d_matches_torch(case):
    kw = {k: v for k, v in case.items() if k != "hw"}
    x = rand(np.random.default_rng(0), 2, 3, *case["hw"])
    check(lambda x: F.max_pool2d(x, **kw), lambda x: TF.max_pool2d(x, **kw), [x], gradcheck=False)


@pytest.mark.parametrize("case", random_pool_cases(25, seed=2, dilation=False), ids=str)
@pytest.mark.usefixtures("kernels")
def test_avg_pool2d_matches_torch(case):
    kw = {k: v for k, v in case.items() if k != "hw"}
    x = rand(np.random.default_rng(0), 2, 3, *case["hw"])
    check(lambda x: F.avg_pool2d(x, **kw), lambda x: TF.avg_pool2d(x, **kw), [x], gradcheck=False)


@pytest.mark.usefixtures("kernels")
def test_pool_gradcheck_and_divisor_override():
    rng = np.random.default_rng(3)
    x = rand(rng, 1, 2, 5, 6)
    check(lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), lambda x: TF.max_pool2d(x, 3, 2, 1, ceil_mode=True), [x])
    check(lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
          lambda x: TF.avg_pool2d(x, 3, 2, 1, count_include_pad=False), [x])
    check(lambda x: F.avg_pool2d(x, 2, divisor_override=3), lambda x: TF.avg_pool2d(x, 2, divisor_override=3), [x],
          gradcheck=False)


@pytest.mark.usefixtures("kernels")
def test_max_pool_ties_send_the_gradient_to_the_first_maximum():
    """Overlapping windows over constant and repeated values: the gradient goes where PyTorch sends it."""
    x = np.array([[[[1.0, 1, 1, 0], [1, 1, 0, 0], [2, 2, 2, 2], [0, 2, 2, 0]]]])
    for kw in (dict(kernel_size=2, stride=1), dict(kernel_size=3, stride=1, padding=1), dict(kernel_size=2)):
        check(lambda x: F.max_pool2d(x, **kw), lambda x: TF.max_pool2d(x, **kw), [x], gradcheck=False)


@pytest.mark.usefixtures("kernels")
def test_max_pool_records_winners_beyond_255_taps():
    """A 17×17 window has 289 taps: the winning tap recorded in forward must not wrap around a byte."""
    x = np.zeros((1, 1, 17, 17))
    x[0, 0, 16, 15] = 1.0  # tap 287
    xs = shendu.tensor(x, requires_grad=True)
    F.max_pool2d(xs, 17).sum().backward()
    np.testing.assert_array_equal(xs.grad.numpy(), x)


@pytest.mark.usefixtures("kernels")
def test_pooling_layers_and_macs():
    rng = np.random.default_rng(4)
    x = rand(rng, 2, 3, 9, 8)
    for sd, t in [(nn.MaxPool2d(3, 2, 1), torch.nn.MaxPool2d(3, 2, 1)),
                  (nn.MaxPool2d((2, 3), ceil_mode=True), torch.nn.MaxPool2d((2, 3), ceil_mode=True)),
                  (nn.AvgPool2d(3, 2, 1, count_include_pad=False), torch.nn.AvgPool2d(3, 2, 1, count_include_pad=False)),
                  (nn.AdaptiveAvgPool2d((4, 3)), torch.nn.AdaptiveAvgPool2d((4, 3))),
                  (nn.LocalResponseNorm(3, 1e-2, 0.75, 2.0), torch.nn.LocalResponseNorm(3, 1e-2, 0.75, 2.0)),
                  (nn.ZeroPad2d((1, 0, 2, 3)), torch.nn.ZeroPad2d((1, 0, 2, 3))),
                  (nn.Upsample(scale_factor=2, mode="bilinear"), torch.nn.Upsample(scale_factor=2, mode="bilinear"))]:
        check_module(sd, t, [x])
    xs = shendu.tensor(x)
    assert nn.MaxPool2d(2).macs((xs,), nn.MaxPool2d(2)(xs)) == 0
    assert nn.LocalResponseNorm(5).macs((xs,), xs) == x.size * 5
    up = nn.Upsample(scale_factor=2, mode="bilinear")
    assert up.macs((xs,), up(xs)) == 4 * 2 * 3 * 18 * 16


@pytest.mark.parametrize("hw,out", [((7, 8), (3, 2)), ((5, 5), (5, 5)), ((6, 9), (4, 4)), ((3, 4), (5, 7)),
                                    ((7, 7), (1, 1)), ((7, 6), (None, 2)), ((1, 9), (1, 4)), ((10, 3), 3)])
def test_adaptive_avg_pool2d_matches_torch(hw, out):
    x = rand(np.random.default_rng(5), 2, 3, *hw)
    check(lambda x: F.adaptive_avg_pool2d(x, out), lambda x: TF.adaptive_avg_pool2d(x, out), [x],
          gradcheck=hw == (6, 9))


def test_global_avg_pool_is_keras_shaped():
    x = rand(np.random.default_rng(6), 2, 5, 4, 3)
    check(lambda x: nn.GlobalAvgPool2d()(x), lambda x: x.mean(dim=(2, 3)), [x], gradcheck=False)
    check(lambda x: nn.GlobalAvgPool2d(keepdims=True)(x), lambda x: TF.adaptive_avg_pool2d(x, 1), [x], gradcheck=False)


@pytest.mark.parametrize("shape,size,alpha,beta,k", [((2, 7, 3, 4), 3, 0.5, 0.75, 2.0), ((2, 6, 3, 3), 4, 1.0, 0.6, 1.0),
                                                     ((1, 3, 5), 5, 1e-4, 0.75, 1.0), ((2, 4, 2, 2), 1, 0.3, 2.0, 0.5),
                                                     ((1, 9, 2, 3), 6, 2.0, 0.5, 1.5)])
def test_local_response_norm_matches_torch(shape, size, alpha, beta, k):
    x = rand(np.random.default_rng(7), *shape)
    check(lambda x: F.local_response_norm(x, size, alpha, beta, k),
          lambda x: TF.local_response_norm(x, size, alpha, beta, k), [x], gradcheck=size == 4)


INTERPOLATE_CASES = [
    dict(scale_factor=2), dict(scale_factor=3, mode="nearest"), dict(size=(5, 13)), dict(scale_factor=(1.7, 0.6)),
    dict(size=(3, 11), mode="nearest-exact"), dict(scale_factor=2, mode="bilinear"),
    dict(scale_factor=2, mode="bilinear", align_corners=True), dict(size=(5, 13), mode="bilinear"),
    dict(size=(5, 13), mode="bilinear", align_corners=True), dict(scale_factor=(1.7, 0.6), mode="bilinear"),
    dict(scale_factor=(1.7, 0.6), mode="bilinear", align_corners=True), dict(size=(7, 8), mode="bilinear"),
    dict(scale_factor=(2.5, 1.3), mode="bilinear", recompute_scale_factor=True), dict(size=(1, 1), mode="bilinear"),
    dict(size=(1, 3), mode="bilinear", align_corners=True), dict(size=(20, 3), mode="nearest"),
]


@pytest.mark.parametrize("kw", INTERPOLATE_CASES, ids=str)
def test_interpolate_matches_torch(kw):
    x = rand(np.random.default_rng(8), 2, 3, 7, 8)
    check(lambda x: F.interpolate(x, **kw), lambda x: TF.interpolate(x, **kw), [x], gradcheck=False)


def test_interpolate_gradcheck_and_upsample_layer():
    rng = np.random.default_rng(9)
    x = rand(rng, 1, 2, 3, 4)
    check(lambda x: F.interpolate(x, size=(5, 3), mode="bilinear"),
          lambda x: TF.interpolate(x, size=(5, 3), mode="bilinear"), [x])
    check(lambda x: F.interpolate(x, scale_factor=2), lambda x: TF.interpolate(x, scale_factor=2), [x])
    for kw in (dict(size=(6, 9), mode="bilinear", align_corners=True), dict(scale_factor=2, mode="nearest")):
        check_module(nn.Upsample(**kw), torch.nn.Upsample(**kw), [rand(rng, 2, 3, 4, 5)])


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad2d_modes_match_torch(mode):
    x = rand(np.random.default_rng(10), 2, 3, 4, 5)
    check(lambda x: F.pad2d(x, (1, 2, 3, 0), mode=mode), lambda x: TF.pad(x, (1, 2, 3, 0), mode=mode), [x],
          gradcheck=mode == "reflect")


def test_concatenate_layer_joins_channels():
    rng = np.random.default_rng(11)
    a, b, c = rand(rng, 2, 3, 4, 4), rand(rng, 2, 1, 4, 4), rand(rng, 2, 2, 4, 4)
    check(lambda a, b, c: nn.Concatenate()([a, b, c]), lambda a, b, c: torch.cat([a, b, c], dim=1), [a, b, c],
          gradcheck=False)
    assert nn.Concatenate(axis=-1)(shendu.zeros(2, 3), shendu.zeros(2, 4)).shape == (2, 7)


def test_output_size_rule_for_ceil_mode():
    # Rounding up would give 4 windows of 2 over 1 + 5 + 1 pixels, but the 4th would start in the right padding.
    assert pool_output_size(5, 2, 2, padding=1, ceil_mode=True) == 3
    assert pool_output_size(5, 2, 2, padding=1, ceil_mode=False) == 3
    assert pool_output_size(6, 3, 2, padding=0, ceil_mode=True) == 3  # the last window hangs over the edge
    assert pool_output_size(6, 3, 2, padding=0, ceil_mode=False) == 2
    assert pool_output_size(112, 3, 2, padding=1) == 56
    for n, k, s, p in [(5, 2, 2, 1), (4, 2, 2, 1), (4, 3, 2, 1), (6, 3, 2, 0), (7, 3, 3, 1)]:
        t = TF.max_pool2d(torch.zeros(1, 1, n, n), k, s, p, ceil_mode=True)
        assert t.shape[-1] == pool_output_size(n, k, s, p, ceil_mode=True)


def test_errors():
    with pytest.raises(ValueError, match="padding must be between 0 and half"):
        F.max_pool2d(shendu.randn(1, 1, 5, 5), 2, padding=2)
    with pytest.raises(ValueError, match="expected input of 4 dimensions"):
        F.avg_pool2d(shendu.randn(1, 5, 5), 2)
    with pytest.raises(ValueError, match="too small"):
        F.max_pool2d(shendu.randn(1, 1, 2, 2), 3)
    with pytest.raises(ValueError, match="too small"):
        F.max_pool2d(shendu.randn(1, 1, 1, 7), (3, 2), stride=3, padding=1, dilation=2, ceil_mode=True)
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        F.interpolate(shendu.randn(1, 1, 2, 2))
    with pytest.raises(ValueError, match="mode 'trilinear' does not apply to 4-D input"):
        F.interpolate(shendu.randn(1, 1, 2, 2), scale_factor=2, mode="trilinear")
    with pytest.raises(ValueError, match="reflect padding"):
        F.pad2d(shendu.randn(1, 1, 2, 2), 2, mode="reflect")
