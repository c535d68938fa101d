"""Convolutions (shendu.functional.conv, shendu.nn.conv) against PyTorch, a direct loop and the literature."""
import math

import numpy as np
import pytest

import shendu
import shendu.functional as F
import shendu.nn as nn
from shendu.functional import conv as conv_module
from harness import check, check_module

torch = pytest.importorskip("torch")
TF = torch.nn.functional
# float32 sums of ~100 products round to ~1e-6 absolute; float64 is held to rtol 1e-10.
TOL32 = {np.float32: dict(rtol=1e-5, atol=1e-5)}


def rand(rng, *shape):
    return rng.standard_normal(shape)


def tf_same(size, k, s, d):
    """TensorFlow's 'same' padding, written out independently of shendu's helper."""
    out = math.ceil(size / s)
    total = max((out - 1) * s + d * (k - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def random_conv2d_cases(n_cases, seed):
    """Random valid conv2d configurations: every padding form, strides, dilations, groups, odd shapes."""
    rng = np.random.default_rng(seed)
    cases = []
    while len(cases) < n_cases:
        groups = int(rng.choice([1, 1, 2, 3]))
        c_in, c_out = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
        k = tuple(int(v) for v in rng.integers(1, 5, 2))
        s = tuple(int(v) for v in rng.integers(1, 4, 2))
        d = tuple(int(v) for v in rng.integers(1, 3, 2))
        hw = tuple(int(v) for v in rng.integers(1, 10, 2))
        form = rng.integers(5)
        padding = [int(rng.integers(0, 3)), tuple(int(v) for v in rng.integers(0, 3, 2)),
                   tuple(tuple(int(v) for v in rng.integers(0, 3, 2)) for _ in range(2)), "valid", "same"][form]
        if padding == "same":
            pads = [tf_same(n, kk, ss, dd) for n, kk, ss, dd in zip(hw, k, s, d)]
        elif isinstance(padding, str):
            pads = [(0, 0), (0, 0)]
        elif isinstance(padding, int):
            pads = [(padding, padding)] * 2
        elif isinstance(padding[0], int):
            pads = [(p, p) for p in padding]
        else:
            pads = list(padding)
        out = [(n + a + b - dd * (kk - 1) - 1) // ss + 1 for n, (a, b), kk, ss, dd in zip(hw, pads, k, s, d)]
        if min(out) < 1:
            continue
        cases.append(dict(n=int(rng.integers(1, 3)), c_in=c_in, c_out=c_out, hw=hw, k=k, stride=s, dilation=d,
                          groups=groups, padding=padding, pads=pads, bias=bool(rng.integers(2)), out=tuple(out)))
    return cases


def case_id(c):
    return f"c{c['c_in']}-{c['c_out']}g{c['groups']}k{c['k']}s{c['stride']}d{c['dilation']}p{c['padding']}hw{c['hw']}"


CONV2D_CASES = random_conv2d_cases(30, seed=1)


@pytest.mark.parametrize("case", CONV2D_CASES, ids=case_id)
@pytest.mark.usefixtures("kernels")
def test_conv2d_matches_torch(case):
    rng = np.random.default_rng(0)
    x = rand(rng, case["n"], case["c_in"], *case["hw"])
    w = rand(rng, case["c_out"], case["c_in"] // case["groups"], *case["k"])
    arrays = [x, w] + ([rand(rng, case["c_out"])] if case["bias"] else [])
    (pt, pb), (pl, pr) = case["pads"]
    kw = dict(stride=case["stride"], dilation=case["dilation"], groups=case["groups"])

    def sd(x, w, b=None):
        y = F.conv2d(x, w, b, padding=case["padding"], **kw)
        assert y.shape[2:] == case["out"]
        return y

    def reference(x, w, b=None):  # explicit (possibly asymmetric) zero padding, then an unpadded conv
        return TF.conv2d(TF.pad(x, (pl, pr, pt, pb)), w, b, **kw)

    check(sd, reference, arrays, gradcheck=False, tol=TOL32)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_conv2d_same_padding_agrees_with_torch_same():
    """Stride 1 'same' (even kernels, dilation) against PyTorch's own padding='same'."""
    rng = np.random.default_rng(2)
    for k, d in [((2, 4), (1, 1)), ((3, 2), (2, 3)), ((4, 4), (1, 2))]:
        x, w = rand(rng, 2, 3, 7, 6), rand(rng, 4, 3, *k)
        check(lambda x, w: F.conv2d(x, w, padding="same", dilation=d),
              lambda x, w: TF.conv2d(x, w, padding="same", dilation=d), [x, w], gradcheck=False, tol=TOL32)


@pytest.mark.parametrize("kw", [dict(stride=2, padding=1), dict(padding=(1, 0), dilation=2, groups=2)], ids=str)
def test_conv2d_gradcheck(kw):
    rng = np.random.default_rng(3)
    arrays = [rand(rng, 2, 2, 5, 4), rand(rng, 2, 2 // kw.get("groups", 1), 3, 2), rand(rng, 2)]
    check(lambda x, w, b: F.conv2d(x, w, b, **kw), lambda x, w, b: TF.conv2d(x, w, b, **kw), arrays, tol=TOL32)


def test_conv2d_is_cross_correlation_by_definition():
    """The defining sum, written as loops, on a small case with stride, padding, dilation and groups."""
    rng = np.random.default_rng(4)
    x, w, b = rand(rng, 2, 4, 6, 5), rand(rng, 6, 2, 2, 3), rand(rng, 6)
    s, p, d, g = (2, 1), (1, 2), (2, 1), 2
    y = F.conv2d(shendu.tensor(x), shendu.tensor(w), shendu.tensor(b), stride=s, padding=p, dilation=d, groups=g)
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    ref = np.zeros(y.shape)
    for n, o, i, j in np.ndindex(*ref.shape):
        group = o // (6 // g)
        for c, u, v in np.ndindex(2, 2, 3):
            ref[n, o, i, j] += w[o, c, u, v] * xp[n, group * 2 + c, i * s[0] + u * d[0], j * s[1] + v * d[1]]
        ref[n, o, i, j] += b[o]
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-12, atol=1e-12)


@pytest.mark.usefixtures("kernels")
def test_depthwise_and_pointwise_layers_match_torch():
    rng = np.random.default_rng(5)
    for sd_layer, t_layer, shape in [
        (nn.Conv2d(4, 8, 3, padding=1, groups=4), torch.nn.Conv2d(4, 8, 3, padding=1, groups=4), (2, 4, 6, 7)),
        (nn.Conv2d(4, 4, 3, stride=2, padding=1, groups=4, bias=False),
         torch.nn.Conv2d(4, 4, 3, stride=2, padding=1, groups=4, bias=False), (2, 4, 7, 7)),
        (nn.Conv2d(6, 5, 1), torch.nn.Conv2d(6, 5, 1), (2, 6, 4, 5)),
        (nn.Conv2d(6, 4, 1, stride=2, groups=2), torch.nn.Conv2d(6, 4, 1, stride=2, groups=2), (2, 6, 5, 5)),
    ]:
        check_module(sd_layer, t_layer, [rand(rng, *shape)])


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv2d_layer_padding_modes(mode):
    rng = np.random.default_rng(6)
    check_module(nn.Conv2d(3, 4, (3, 2), padding=(1, 2), padding_mode=mode),
                 torch.nn.Conv2d(3, 4, (3, 2), padding=(1, 2), padding_mode=mode), [rand(rng, 2, 3, 5, 6)])
    check_module(nn.Conv1d(3, 4, 3, padding=2, padding_mode=mode),
                 torch.nn.Conv1d(3, 4, 3, padding=2, padding_mode=mode), [rand(rng, 2, 3, 7)])


def random_conv1d_cases(n_cases, seed):
    rng = np.random.default_rng(seed)
    cases = []
    while len(cases) < n_cases:
        groups = int(rng.choice([1, 2]))
        k, s, d, length = int(rng.integers(1, 5)), int(rng.integers(1, 4)), int(rng.integers(1, 3)), int(rng.integers(1, 12))
        padding = [int(rng.integers(0, 3)), "valid", "same"][rng.integers(3)]
        if padding == "same" and s > 1:
            padding = 1
        p = 0 if padding == "valid" else padding
        if padding != "same" and (length + 2 * p - d * (k - 1) - 1) < 0:
            continue
        cases.append(dict(c_in=groups * int(rng.integers(1, 3)), c_out=groups * int(rng.integers(1, 3)), k=k,
                          stride=s, dilation=d, groups=groups, padding=padding, length=length))
    return cases


@pytest.mark.parametrize("case", random_conv1d_cases(12, seed=7), ids=str)
@pytest.mark.usefixtures("kernels")
def test_conv1d_matches_torch(case):
    rng = np.random.default_rng(8)
    arrays = [rand(rng, 2, case["c_in"], case["length"]), rand(rng, case["c_out"], case["c_in"] // case["groups"], case["k"]),
              rand(rng, case["c_out"])]
    kw = dict(stride=case["stride"], padding=case["padding"], dilation=case["dilation"], groups=case["groups"])
    check(lambda x, w, b: F.conv1d(x, w, b, **kw), lambda x, w, b: TF.conv1d(x, w, b, **kw), arrays,
          gradcheck=False, tol=TOL32)


def random_transpose_cases(n_cases, seed):
    rng = np.random.default_rng(seed)
    cases = []
    while len(cases) < n_cases:
        groups = int(rng.choice([1, 2]))
        k = tuple(int(v) for v in rng.integers(1, 4, 2))
        s = tuple(int(v) for v in rng.integers(1, 4, 2))
        d = tuple(int(v) for v in rng.integers(1, 3, 2))
        p = tuple(int(v) for v in rng.integers(0, 3, 2))
        op = tuple(int(rng.integers(0, max(ss, dd))) for ss, dd in zip(s, d))
        hw = tuple(int(v) for v in rng.integers(1, 6, 2))
        out = [(n - 1) * ss - 2 * pp + dd * (kk - 1) + o + 1 for n, ss, pp, dd, kk, o in zip(hw, s, p, d, k, op)]
        if min(out) < 1:
            continue
        cases.append(dict(c_in=groups * int(rng.integers(1, 3)), c_out=groups * int(rng.integers(1, 3)), k=k,
                          stride=s, padding=p, output_padding=op, dilation=d, groups=groups, hw=hw))
    return cases


@pytest.mark.parametrize("case", random_transpose_cases(15, seed=9), ids=str)
@pytest.mark.usefixtures("kernels")
def test_conv_transpose2d_matches_torch(case):
    rng = np.random.default_rng(10)
    arrays = [rand(rng, 2, case["c_in"], *case["hw"]), rand(rng, case["c_in"], case["c_out"] // case["groups"], *case["k"]),
              rand(rng, case["c_out"])]
    kw = {k: case[k] for k in ("stride", "padding", "output_padding", "groups", "dilation")}
    check(lambda x, w, b: F.conv_transpose2d(x, w, b, **kw), lambda x, w, b: TF.conv_transpose2d(x, w, b, **kw),
          arrays, gradcheck=False, tol=TOL32)


@pytest.mark.usefixtures("kernels")
def test_conv_transpose2d_gradcheck_and_layer():
    rng = np.random.default_rng(11)
    kw = dict(stride=2, padding=1, output_padding=1)
    check(lambda x, w: F.conv_transpose2d(x, w, **kw), lambda x, w: TF.conv_transpose2d(x, w, **kw),
          [rand(rng, 1, 2, 3, 2), rand(rng, 2, 2, 3, 3)], tol=TOL32)
    check_module(nn.ConvTranspose2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 0), output_padding=(1, 0), groups=2,
                                    dilation=(1, 2)),
                 torch.nn.ConvTranspose2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 0), output_padding=(1, 0), groups=2,
                                          dilation=(1, 2)), [rand(rng, 2, 4, 4, 3)])
    for kw in (dict(stride=2, output_padding=1), dict(stride=(1, 3), dilation=2, output_padding=(1, 2))):  # 1×1
        check(lambda x, w: F.conv_transpose2d(x, w, **kw), lambda x, w: TF.conv_transpose2d(x, w, **kw),
              [rand(rng, 2, 4, 3, 2), rand(rng, 4, 3, 1, 1)], gradcheck=False, tol=TOL32)
    up = nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1)
    assert up(shendu.randn(1, 3, 5, 5), output_size=(10, 10)).shape == (1, 2, 10, 10)


def test_chunked_batches_give_the_same_result(monkeypatch):
    """A tiny column-buffer budget forces one image per chunk: same outputs and gradients."""
    rng = np.random.default_rng(12)
    x, w, b = rand(rng, 5, 4, 9, 8), rand(rng, 6, 2, 3, 3), rand(rng, 6)
    kw = dict(stride=(1, 2), padding=1, groups=2)

    def run():
        xs, ws, bs = (shendu.tensor(a, requires_grad=True) for a in (x, w, b))
        y = F.conv2d(xs, ws, bs, **kw)
        (y * y).sum().backward()
        yt = F.conv_transpose2d(xs, shendu.tensor(w.reshape(4, 3, 3, 3)), stride=2)
        return [y.numpy(), xs.grad.numpy(), ws.grad.numpy(), bs.grad.numpy(), yt.numpy()]

    whole = run()
    seen = []
    real_chunks = conv_module._chunks
    monkeypatch.setattr(conv_module, "MAX_COLUMN_BYTES", 4 * 9 * 9 * 8 * 8)  # about one image's columns
    monkeypatch.setattr(conv_module, "_chunks", lambda n, b: seen.append(real_chunks(n, b)) or seen[-1])
    chunked = run()
    assert max(len(c) for c in seen) == 5, "the batch was not split into single images"
    for a, b_ in zip(whole, chunked):
        np.testing.assert_allclose(a, b_, rtol=1e-12, atol=1e-12)


def test_columns_kept_from_forward_give_the_same_gradients_bit_for_bit(monkeypatch, numpy_kernels):
    """dW from the forward's kept columns or from columns recomputed in backward: the same bits;
    backward releases the kept columns, and a second backward (retain_graph) recomputes them."""
    rng = np.random.default_rng(13)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((3, 4, 9, 8), (6, 2, 3, 3), (6,)))
    calls = []
    real_columns = conv_module._columns
    monkeypatch.setattr(conv_module, "_columns", lambda *a: calls.append(1) or real_columns(*a))

    def run():
        xs, ws, bs = (shendu.tensor(a, requires_grad=True) for a in (x, w, b))
        y = F.conv2d(xs, ws, bs, stride=(1, 2), padding=1, groups=2)  # stride 2: dx by col2im, no im2col of g
        loss = (y * y).sum()
        loss.backward(retain_graph=True)
        grads = [xs.grad.numpy().copy(), ws.grad.numpy().copy(), bs.grad.numpy().copy()]
        assert y._ctx.cols is None
        loss.backward()
        np.testing.assert_array_equal(ws.grad.numpy(), 2 * grads[1])
        return [y.numpy()] + grads

    kept = run()
    assert len(calls) == 2, "forward kept its columns: one im2col, plus one for the second backward"
    monkeypatch.setattr(conv_module, "MAX_KEPT_COLUMN_BYTES", 0)
    recomputed = run()
    assert len(calls) == 5, "nothing kept: one im2col in forward and one in each backward"
    for a, b_ in zip(kept, recomputed):
        np.testing.assert_array_equal(a, b_)


def test_conv_layer_defaults_follow_torch():
    conv = nn.Conv2d(16, 32, 3, groups=2)
    assert conv.weight.shape == (32, 8, 3, 3) and conv.bias.shape == (32,)
    bound = 1 / math.sqrt(8 * 9)  # kaiming_uniform_(a=√5) gives U(±1/√fan_in), as the bias
    for p in (conv.weight, conv.bias):
        assert np.abs(p.numpy()).max() <= bound and np.abs(p.numpy()).max() > 0.9 * bound
    assert list(conv.state_dict()) == list(torch.nn.Conv2d(16, 32, 3, groups=2).state_dict())
    assert nn.ConvTranspose2d(4, 6, 3, groups=2).weight.shape == (4, 3, 3, 3)
    assert nn.Conv1d(4, 6, 5).weight.shape == (6, 4, 5)
    assert nn.Conv2d(3, 8, 3, bias=False).bias is None


def test_macs():
    x = shendu.randn(2, 4, 9, 8)
    for layer, expected in [(nn.Conv2d(4, 6, 3, stride=2, groups=2), 2 * 4 * 3 * 6 * 2 * 9),
                            (nn.Conv2D(6, (3, 2), padding="same"), 2 * 9 * 8 * 6 * 4 * 6),
                            (nn.ConvTranspose2d(4, 6, 3, groups=2), 2 * 9 * 8 * 4 * 3 * 9)]:
        y = layer(x)
        assert layer.macs((x,), y) == expected
    seq = shendu.randn(2, 4, 10)
    conv1 = nn.Conv1d(4, 5, 3)
    assert conv1.macs((seq,), conv1(seq)) == 2 * 8 * 5 * 4 * 3


# ----------------------------------------------------------------- Keras's Conv2D
def keras_out(n, k, s, padding, d):
    k_eff = d * (k - 1) + 1
    if padding == "same":
        return math.ceil(n / s)
    if padding == "valid":
        return (n - k_eff) // s + 1
    return (n + padding[0] + padding[1] - k_eff) // s + 1


@pytest.mark.parametrize("seed", range(12))
def test_keras_conv2d_output_sizes_and_values(seed):
    rng = np.random.default_rng(100 + seed)
    k, s, d = (tuple(int(v) for v in rng.integers(lo, hi, 2)) for lo, hi in ((1, 5), (1, 4), (1, 3)))
    hw = tuple(int(v) for v in rng.integers(6, 12, 2))
    padding = ["same", "valid", tuple(tuple(int(v) for v in rng.integers(0, 3, 2)) for _ in range(2))][seed % 3]
    layer = nn.Conv2D(4, k, strides=s, padding=padding, dilation_rate=d, groups=2)
    x = rand(rng, 2, 6, *hw)
    y = layer(shendu.tensor(x))
    pads = ([tf_same(n, kk, ss, dd) for n, kk, ss, dd in zip(hw, k, s, d)] if padding == "same"
            else [(0, 0)] * 2 if padding == "valid" else list(padding))
    expected = tuple(keras_out(n, kk, ss, padding if isinstance(padding, str) else pp, dd)
                     for n, kk, ss, dd, pp in zip(hw, k, s, d, pads))
    assert y.shape == (2, 4) + expected and layer.output_size(hw) == expected
    assert layer.weight.shape == (4, 3) + k  # built on the first call, torch's OIHW layout
    (pt, pb), (pl, pr) = pads
    ref = TF.conv2d(TF.pad(torch.tensor(x), (pl, pr, pt, pb)), torch.tensor(layer.weight.numpy().astype(np.float64)),
                    torch.tensor(layer.bias.numpy().astype(np.float64)), stride=s, dilation=d, groups=2)
    np.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=1e-5, atol=1e-5)


def test_keras_conv2d_lifecycle():
    layer = nn.Conv2D(8, 3, activation=lambda t: t * 0, kernel_regularizer="l2")
    assert not layer.built and layer.num_parameters() == 0
    y = layer(shendu.randn(2, 5, 7, 7))
    assert layer.built and layer.in_channels == 5 and y.shape == (2, 8, 5, 5) and float(np.abs(y.numpy()).max()) == 0
    assert layer.kernel_regularizer == "l2" and layer.bias_regularizer is None
    assert np.all(layer.bias.numpy() == 0)  # Keras's zeros bias; glorot_uniform kernel
    assert np.abs(layer.weight.numpy()).max() <= math.sqrt(6 / (5 * 9 + 8 * 9))
    with pytest.raises(ValueError, match="expected 5 input channels"):
        layer(shendu.randn(2, 3, 7, 7))
    eager = nn.Conv2D(4, 3, in_channels=2)
    assert eager.built and eager.weight.shape == (4, 2, 3, 3)


def test_literature_worked_examples():
    # A 3×3 window under a vertical-edge kernel with bias 1 gives 1 (CS231n-style worked example).
    window = shendu.tensor([[[[1.0, 0, 2], [5, 4, 2], [3, 4, 5]]]])
    kernel = shendu.tensor([[[[-1.0, 0, 1], [-1, 0, 1], [-1, 0, 1]]]])
    assert F.conv2d(window, kernel, shendu.tensor([1.0])).item() == 1.0
    # 100 'same' 3×3 filters on 32×32×3: 3·3·3·100 + 100 = 2,800 parameters, output 32×32×100.
    layer = nn.Conv2D(100, 3, padding="same")
    assert layer(shendu.randn(1, 3, 32, 32)).shape == (1, 100, 32, 32)
    assert layer.num_parameters() == 2800
    # 64 3×3 filters on 224×224×3: 3·3·3·64 + 64 = 1,792 parameters.
    assert nn.Conv2d(3, 64, 3).num_parameters() == 1792


def test_errors_name_the_op_and_the_shapes():
    x, w = shendu.randn(2, 3, 8, 8), shendu.randn(4, 2, 3, 3)
    with pytest.raises(ValueError, match=r"conv2d: weight of shape \(4, 2, 3, 3\) with groups=1 expects 2 input"):
        F.conv2d(x, w)
    with pytest.raises(ValueError, match="expected input"):
        F.conv2d(shendu.randn(3, 8, 8), w)
    with pytest.raises(ValueError, match="too small"):
        F.conv2d(shendu.randn(1, 2, 2, 2), w)
    with pytest.raises(TypeError, match="dtype"):
        F.conv2d(shendu.randn(1, 2, 5, 5).double(), w)
    with pytest.raises(ValueError, match="expected 3 input channels"):
        nn.Conv2d(3, 4, 3)(shendu.randn(1, 4, 5, 5))
    with pytest.raises(ValueError, match="output_padding"):
        F.conv_transpose2d(shendu.randn(1, 4, 3, 3), shendu.randn(4, 2, 3, 3), stride=2, output_padding=2)
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
