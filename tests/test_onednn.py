"""The oneDNN kernel path (shendu/backends/onednn*.py): the switch, the fallbacks, and every kernel against
the NumPy reference and PyTorch (forward and gradients, float32, relative 1e-5)."""
import contextlib
import subprocess
import sys

import numpy as np
import pytest

import shendu
import shendu.functional as F
from shendu import backend
from shendu.backends import onednn

torch = pytest.importorskip("torch")
TF = torch.nn.functional

needs_onednn = pytest.mark.skipif(not onednn.available(), reason=f"oneDNN not available: {onednn.load_error()}")


def kernels_module():
    from shendu.backends import onednn_kernels
    return onednn_kernels


@pytest.fixture(autouse=True)
def products_on_onednn(monkeypatch):
    """Every dense product from 64 rows and columns on oneDNN, not on whichever library won its race (the tests
    check which kernels ran); test_matmul_race checks the race itself."""
    monkeypatch.setattr(kernels_module(), "RACE", False)


def run_both(fn, arrays):
    """fn(*tensors) and the gradients of sum(out · r) on each kernel path; also the oneDNN calls it made."""
    results = {}
    for name in ("numpy", "onednn"):
        with backend.use_kernels(name):
            before = dict(kernels_module().counts)
            ts = [shendu.tensor(a, requires_grad=True) for a in arrays]
            out = fn(*ts)
            r = np.random.default_rng(5).standard_normal(out.shape).astype(np.float32)
            (out * shendu.tensor(r)).sum().backward()
            calls = {k: v - before.get(k, 0) for k, v in kernels_module().counts.items() if v - before.get(k, 0)}
            results[name] = ([out.numpy()] + [t.grad.numpy() for t in ts], calls)
    return results


def torch_reference(fn, arrays, shape_of_out):
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*ts)
    r = np.random.default_rng(5).standard_normal(shape_of_out).astype(np.float32)
    (out * torch.tensor(r)).sum().backward()
    return [out.detach().numpy()] + [t.grad.numpy() for t in ts]


def assert_rel(a, b, what, rel=1e-5):
    scale = max(float(np.abs(b).max()), 1e-30)
    err = float(np.abs(a - b).max()) / scale
    assert err <= rel, f"{what}: max error {err:.2e} relative to max |ref| {scale:.3g}"


def compare(sd_fn, torch_fn, arrays, expect_kernels):
    """oneDNN vs NumPy vs PyTorch; and the oneDNN run really called oneDNN for ``expect_kernels``."""
    arrays = [np.asarray(a, np.float32) for a in arrays]
    both = run_both(sd_fn, arrays)
    (ref, _), (fast, calls) = both["numpy"], both["onednn"]
    theirs = torch_reference(torch_fn, arrays, ref[0].shape)
    names = ["output"] + [f"gradient of input {i}" for i in range(len(arrays))]
    for what, a, b, t in zip(names, fast, ref, theirs):
        assert a.shape == b.shape == t.shape, what
        assert_rel(a, b, f"{what}: oneDNN vs NumPy")
        assert_rel(a, t, f"{what}: oneDNN vs PyTorch")
    for name in expect_kernels:
        assert calls.get(name), f"{name} did not run on oneDNN (calls: {calls})"
    return calls


# ---------------------------------------------------------------- the switch and the fallback
def test_switch_and_context_manager():
    saved = backend._kernel_choice()
    try:
        backend.set_kernels("numpy")
        assert backend.get_kernels() == "numpy" and backend.fast_kernels() is None
        with backend.use_kernels("auto"):
            assert backend.get_kernels() == ("onednn" if onednn.available() else "numpy")
        assert backend.get_kernels() == "numpy"
        with pytest.raises(ValueError, match="set_kernels: expected one of"):
            backend.set_kernels("mkl")
    finally:
        backend.set_kernels(saved)


def test_environment_variable_forces_a_path():
    code = "import shendu; print(shendu.backend.get_kernels())"
    for value, expected in (("numpy", "numpy"), ("onednn", "onednn" if onednn.available() else "numpy")):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env={**__import__("os").environ, "SHENDU_KERNELS": value}, check=True)
        assert out.stdout.strip() == expected


def test_importing_shendu_shortens_libgomps_spin():
    """GOMP_SPINCOUNT is in the environment from ``import shendu`` on, before PyTorch or libdnnl can load libgomp
    (which reads it once); a user's GOMP_SPINCOUNT or OMP_WAIT_POLICY is kept."""
    code = "import os, shendu; print(os.environ.get('GOMP_SPINCOUNT'))"
    base = {k: v for k, v in __import__("os").environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    for extra, expected in (({}, onednn.GOMP_SPINCOUNT), ({"GOMP_SPINCOUNT": "7"}, "7"),
                            ({"OMP_WAIT_POLICY": "passive"}, "None")):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**base, **extra},
                             check=True)
        assert out.stdout.strip() == expected, extra


def test_missing_library_warns_once_and_runs_numpy(tmp_path):
    """A broken libdnnl: one warning naming the library and the reason, then NumPy's answer."""
    code = ("import warnings, numpy as np, shendu, shendu.functional as F\n"
            "warnings.simplefilter('always')\n"
            "with warnings.catch_warnings(record=True) as w:\n"
            "    x = shendu.randn(1, 2, 5, 5); k = shendu.randn(3, 2, 3, 3)\n"
            "    y1 = F.conv2d(x, k); y2 = F.conv2d(x, k)\n"
            "print(len([m for m in w if 'oneDNN' in str(m.message)]), shendu.backend.get_kernels())\n"
            "print(str(w[0].message))\n")
    bogus = tmp_path / "libdnnl.so.3"
    bogus.write_text("not a library")
    env = {**__import__("os").environ, "SHENDU_KERNELS": "onednn", "SHENDU_ONEDNN_LIBRARY": str(bogus)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    first, message = out.stdout.splitlines()[:2]
    assert first == "1 numpy"
    assert "libdnnl.so.3" in message and "NumPy kernels" in message


@needs_onednn
def test_float64_falls_back_to_numpy_with_the_same_answer():
    x, w = np.random.default_rng(0).standard_normal((2, 3, 6, 6)), np.ones((4, 3, 3, 3))
    with backend.use_kernels("onednn"):
        y = F.conv2d(shendu.tensor(x), shendu.tensor(w), padding=1)
    with backend.use_kernels("numpy"):
        ref = F.conv2d(shendu.tensor(x), shendu.tensor(w), padding=1)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y.numpy(), ref.numpy())


@needs_onednn
def test_primitives_are_cached_by_configuration():
    onednn.clear_cache()
    x, w = shendu.randn(2, 4, 8, 8), shendu.randn(4, 4, 3, 3)
    with backend.use_kernels("onednn"):
        F.conv2d(x, w, padding=1)
        size = onednn.cache_size()
        F.conv2d(shendu.randn(2, 4, 8, 8), w, padding=1)
        assert onednn.cache_size() == size, "the same configuration built a second primitive"
        F.conv2d(x, w, padding=2)
        assert onednn.cache_size() > size


# ---------------------------------------------------------------- convolution
CONV_CASES = [  # (N, C_in, H, W, C_out, kernel, stride, padding, dilation, groups)
    (2, 3, 9, 8, 4, (3, 3), 1, 1, 1, 1),
    (2, 4, 9, 7, 6, (3, 2), 2, ((1, 2), (0, 1)), 1, 2),
    (2, 4, 10, 9, 4, (3, 3), (2, 1), 2, 2, 4),  # depthwise, dilated
    (3, 6, 11, 10, 8, (5, 5), 3, 0, 1, 2),
    (2, 8, 6, 6, 16, (1, 1), 1, 0, 1, 1),       # pointwise
    (2, 8, 7, 7, 4, (1, 1), 2, 0, 1, 1),        # strided pointwise
    (1, 3, 12, 12, 5, (4, 4), 1, "same", (2, 1), 1),
]


@needs_onednn
@pytest.mark.parametrize("activation", [None, "relu"])
@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_conv2d(case, activation):
    """The convolution (and, with activation='relu', the Conv2dReLU node: the ReLU in place on its result)
    against NumPy and PyTorch: output and the gradients of x, w and b (oneDNN's b from the weights pass)."""
    n, c, h, w, o, k, s, p, d, g = case
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((n, c, h, w)), rng.standard_normal((o, c // g, *k)), rng.standard_normal(o)]
    pads = F.conv.conv_padding(p, (h, w), k, (s, s) if isinstance(s, int) else s, (d, d) if isinstance(d, int) else d)
    (pt, pb), (pl, pr) = pads
    after = TF.relu if activation else (lambda y: y)
    compare(lambda x, wt, b: F.conv2d(x, wt, b, stride=s, padding=p, dilation=d, groups=g, activation=activation),
            lambda x, wt, b: after(TF.conv2d(TF.pad(x, (pl, pr, pt, pb)), wt, b, stride=s, dilation=d, groups=g)),
            arrays, ["conv2d_forward", "conv2d_backward_data", "conv2d_backward_weights"])


@pytest.mark.parametrize("layout", ["nchw", "channels_last", "strided"])
def test_bias_grad_sums_every_layout(layout):
    """dL/db = Σ over (N, H, W): a matrix-vector product over a channels-last g, NumPy's sum otherwise."""
    g = np.random.default_rng(4).standard_normal((5, 6, 7, 8)).astype(np.float32)
    if layout == "channels_last":
        g = np.ascontiguousarray(g.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    elif layout == "strided":
        g = np.random.default_rng(4).standard_normal((5, 6, 14, 8)).astype(np.float32)[:, :, ::2]
    np.testing.assert_allclose(F.conv.bias_grad(g), g.astype(np.float64).sum(axis=(0, 2, 3)), rtol=1e-5)


def test_conv2d_bad_activation():
    x, w = shendu.randn(1, 2, 5, 5), shendu.randn(3, 2, 3, 3)
    with pytest.raises(ValueError, match="conv2d: activation must be 'relu' or None, got 'tanh'"):
        F.conv2d(x, w, activation="tanh")


@needs_onednn
def test_conv1d_runs_as_a_2d_convolution():
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal((2, 4, 17)), rng.standard_normal((6, 2, 3)), rng.standard_normal(6)]
    compare(lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=2, dilation=2, groups=2),
            lambda x, w, b: TF.conv1d(x, w, b, stride=2, padding=2, dilation=2, groups=2),
            arrays, ["conv2d_forward", "conv2d_backward_data", "conv2d_backward_weights"])


@needs_onednn
@pytest.mark.parametrize("kw", [dict(stride=2, padding=1, output_padding=1), dict(stride=(1, 2), groups=2),
                                dict(stride=3, padding=(1, 0), dilation=2, output_padding=(1, 0))], ids=str)
def test_conv_transpose2d_is_the_backward_data_pass(kw):
    rng = np.random.default_rng(3)
    g = kw.get("groups", 1)
    arrays = [rng.standard_normal((2, 4, 5, 6)), rng.standard_normal((4, 6 // g, 3, 3)), rng.standard_normal(6)]
    compare(lambda x, w, b: F.conv_transpose2d(x, w, b, **kw), lambda x, w, b: TF.conv_transpose2d(x, w, b, **kw),
            arrays, ["conv2d_backward_data", "conv2d_forward", "conv2d_backward_weights"])


@needs_onednn
def test_output_is_channels_last_and_reads_like_nchw():
    x, w = shendu.randn(2, 3, 8, 8), shendu.randn(5, 3, 3, 3)
    with backend.use_kernels("onednn"):
        y = F.conv2d(x, w, padding=1)
    assert y.shape == (2, 5, 8, 8) and onednn.is_channels_last(y.numpy())
    with backend.use_kernels("numpy"):
        ref = F.conv2d(x, w, padding=1)
    np.testing.assert_allclose(y.reshape(2, -1).numpy(), ref.reshape(2, -1).numpy(), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- pooling
POOL_CASES = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=(3, 2), stride=(1, 2)),
              dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)]


@needs_onednn
@pytest.mark.parametrize("kw", POOL_CASES + [dict(kernel_size=3, stride=1, padding=1, dilation=2)], ids=str)
def test_max_pool2d(kw):
    x = np.random.default_rng(4).standard_normal((2, 5, 9, 8))
    x[0, 0] = 0.0  # ties (as after a ReLU): the gradient goes to the first maximum, as in PyTorch
    compare(lambda x: F.max_pool2d(x, **kw), lambda x: TF.max_pool2d(x, **kw), [x],
            ["pool2d_forward", "pool2d_backward"])


@needs_onednn
@pytest.mark.parametrize("kw", POOL_CASES + [dict(kernel_size=3, padding=1, count_include_pad=False),
                                             dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                                  count_include_pad=False)], ids=str)
def test_avg_pool2d(kw):
    x = np.random.default_rng(5).standard_normal((2, 5, 9, 8))
    expect = [] if kw.get("ceil_mode") and kw.get("count_include_pad", True) else ["pool2d_forward", "pool2d_backward"]
    compare(lambda x: F.avg_pool2d(x, **kw), lambda x: TF.avg_pool2d(x, **kw), [x], expect)


@needs_onednn
def test_max_pool_with_indices_runs_numpy_and_agrees():
    x = shendu.randn(2, 3, 8, 8)
    with backend.use_kernels("onednn"):
        y, idx = F.max_pool2d(x, 2, return_indices=True)
    ty, tidx = TF.max_pool2d(torch.tensor(x.numpy()), 2, return_indices=True)
    np.testing.assert_array_equal(y.numpy(), ty.numpy())
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())


# ---------------------------------------------------------------- batch normalisation
@needs_onednn
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (2, 4, 5, 6)], ids=str)
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_training(shape, affine):
    rng = np.random.default_rng(6)
    arrays = [rng.standard_normal(shape) * 3 + 1] + ([rng.standard_normal(shape[1]), rng.standard_normal(shape[1])]
                                                      if affine else [])
    compare(lambda x, *wb: F.batch_norm(x, None, None, *wb, training=True),
            lambda x, *wb: TF.batch_norm(x, None, None, *wb, training=True),
            arrays, ["batch_norm_forward", "batch_norm_backward"])


@needs_onednn
def test_batch_norm_inference_and_running_statistics():
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((4, 3, 5, 5)) * 2 + 1).astype(np.float32)
    mean, var = rng.standard_normal(3).astype(np.float32), (rng.random(3) + 0.5).astype(np.float32)
    w, b = rng.standard_normal(3), rng.standard_normal(3)
    compare(lambda x, w, b: F.batch_norm(x, shendu.tensor(mean), shendu.tensor(var), w, b, training=False),
            lambda x, w, b: TF.batch_norm(x, torch.tensor(mean), torch.tensor(var), w, b, training=False),
            [x, w, b], ["batch_norm_forward", "batch_norm_backward"])
    runs = {}
    for name in ("numpy", "onednn"):
        with backend.use_kernels(name):
            rm, rv = shendu.tensor(mean.copy()), shendu.tensor(var.copy())
            F.batch_norm(shendu.tensor(x), rm, rv, training=True, momentum=0.3)
            runs[name] = (rm.numpy(), rv.numpy())
    tm, tv = torch.tensor(mean.copy()), torch.tensor(var.copy())
    TF.batch_norm(torch.tensor(x), tm, tv, training=True, momentum=0.3)
    for got, want in zip(runs["onednn"], (tm.numpy(), tv.numpy())):
        assert_rel(got, want, "running statistics")


@needs_onednn
def test_channels_last_network_trains_like_numpy():
    """conv → BN → ReLU → max-pool → conv → avg-pool → dense, five SGD steps: the same losses on both paths."""
    from shendu import nn
    losses = {}
    for name in ("numpy", "onednn"):
        with backend.use_kernels(name):
            shendu.manual_seed(3)
            model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=2), nn.ReLU(), nn.AvgPool2d(2),
                                  nn.Flatten(), nn.Linear(8 * 2 * 2, 5))
            opt = shendu.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
            rng = np.random.default_rng(0)
            x = shendu.tensor(rng.standard_normal((8, 3, 16, 16)).astype(np.float32))
            t = shendu.tensor(rng.integers(0, 5, 8))
            curve = []
            for _ in range(5):
                opt.zero_grad()
                loss = F.cross_entropy(model(x), t)
                loss.backward()
                opt.step()
                curve.append(loss.item())
            losses[name] = curve
    np.testing.assert_allclose(losses["onednn"], losses["numpy"], rtol=1e-5)


# ---------------------------------------------------------------- dense layers
@needs_onednn
@pytest.mark.parametrize("shape", [(64, 30), (3, 40, 30)], ids=str)
def test_linear_fuses_the_bias(shape):
    rng = np.random.default_rng(8)
    arrays = [rng.standard_normal(shape), rng.standard_normal((70, 30)), rng.standard_normal(70)]
    compare(lambda x, w, b: F.linear(x, w, b), lambda x, w, b: TF.linear(x, w, b), arrays, ["linear_forward"])


@needs_onednn
def test_small_linear_stays_on_blas():
    before = kernels_module().counts["linear_forward"]
    with backend.use_kernels("onednn"):
        F.linear(shendu.randn(1, 784), shendu.randn(256, 784), shendu.randn(256))
    assert kernels_module().counts["linear_forward"] == before


@needs_onednn
@pytest.mark.parametrize("in_channels, small", [(6, True), (3, True), (32, False)])
def test_backward_data_leaves_small_channel_layouts_to_onednn(in_channels, small):
    """Below SMALL_DATA_CHANNELS input channels dx's layout is oneDNN's pick (channels-last all the same); the
    result is the NumPy reference's and PyTorch's either way."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, in_channels, 12, 12), dtype=np.float32)
    w = rng.standard_normal((16, in_channels, 5, 5), dtype=np.float32)
    fn = lambda a, b: F.conv2d(a, b, padding=1)   # noqa: E731
    res = run_both(fn, [x, w])
    assert res["onednn"][1].get("conv2d_backward_data") == 1
    for got, want, what in zip(res["onednn"][0], torch_reference(lambda a, b: TF.conv2d(a, b, padding=1), [x, w],
                                                                    res["numpy"][0][0].shape), ("y", "dx", "dw")):
        assert_rel(got, want, what)
    K = kernels_module()
    plans = [p for key, p in onednn._cache.items()
             if isinstance(key, tuple) and key[:2] == ("conv", "bwd_data") and key[2][0] == x.shape and p is not None]
    assert plans and plans[-1].src_any == small == (in_channels < K.SMALL_DATA_CHANNELS)
    assert plans[-1].prim.same(onednn.QUERY_DIFF_SRC, onednn.Desc(*K._channels_last_layout(x.shape)))


@pytest.mark.parametrize("kernels", ["numpy", "onednn"])
def test_sequential_fuses_conv_relu_with_the_same_gradients(kernels):
    """nn.Sequential records Conv2d→ReLU as one Conv2dReLU node: the loss and every gradient equal the
    unfused graph's (nn.no_fusion) and PyTorch's; a hooked ReLU keeps its own node."""
    if kernels == "onednn" and not onednn.available():
        pytest.skip("oneDNN not available")
    from shendu import autograd, nn
    shendu.manual_seed(5)
    model = nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.AvgPool2d(2), nn.Conv2d(6, 4, 3, padding=1), nn.ReLU(),
                          nn.Flatten(), nn.Linear(4 * 6 * 6, 3))
    t_model = torch.nn.Sequential(torch.nn.Conv2d(1, 6, 5), torch.nn.ReLU(), torch.nn.AvgPool2d(2),
                                  torch.nn.Conv2d(6, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(),
                                  torch.nn.Linear(4 * 6 * 6, 3))
    t_model.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((16, 1, 16, 16)).astype(np.float32), rng.integers(0, 3, 16)
    runs = {}
    with backend.use_kernels(kernels):
        for fused in (True, False):
            model.zero_grad()
            with contextlib.nullcontext() if fused else nn.no_fusion():
                loss = F.cross_entropy(model(shendu.tensor(x)), shendu.tensor(y))
            ops = [type(t._ctx).__name__ for t in autograd.graph_order((loss,))]
            loss.backward()
            runs[fused] = (ops, loss.item(), [p.grad.numpy() for p in model.parameters()])
        handle = model[4].register_forward_hook(lambda m, a, out: None)
        hooked = [type(t._ctx).__name__ for t in autograd.graph_order((model(shendu.tensor(x)).sum(),))]
        handle.remove()
    assert runs[True][0][:3] == ["Conv2dReLU", "AvgPool2d", "Conv2dReLU"], runs[True][0]
    assert runs[False][0][:5] == ["Conv2d", "Relu", "AvgPool2d", "Conv2d", "Relu"], runs[False][0]
    assert hooked[:4] == ["Conv2dReLU", "AvgPool2d", "Conv2d", "Relu"], hooked
    t_loss = TF.cross_entropy(t_model(torch.tensor(x)), torch.tensor(y))
    t_loss.backward()
    for fused in (True, False):
        np.testing.assert_allclose(runs[fused][1], t_loss.item(), rtol=1e-5)
        for ours, (name, p) in zip(runs[fused][2], t_model.named_parameters()):
            np.testing.assert_allclose(ours, p.grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=name)


_AVX2_WEIGHTS_SCRIPT = r"""
import numpy as np, torch, shendu
import shendu.functional as F
from shendu import backend
from shendu.backends import onednn, onednn_kernels as K
rng = np.random.default_rng(7)
x = rng.standard_normal((4, 24, 9, 9)).astype(np.float32)
w = rng.standard_normal((32, 24, 3, 3)).astype(np.float32) * 0.2
b = rng.standard_normal(32).astype(np.float32)
grads = {}
for kernels in ("numpy", "onednn"):
    with backend.use_kernels(kernels):
        X, W, B = (shendu.tensor(a, requires_grad=True) for a in (x, w, b))
        y = F.conv2d(X, W, B, stride=1, padding=1)
        (y * y).sum().backward()
        grads[kernels] = [t.grad.numpy() for t in (X, W, B)]
tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
ty = torch.nn.functional.conv2d(tx, tw, tb, padding=1)
(ty * ty).sum().backward()
theirs = [t.grad.numpy() for t in (tx, tw, tb)]
rel = max(float(np.abs(a - c).max() / np.abs(c).max()) for a, c in zip(grads["onednn"], theirs))
rel_np = max(float(np.abs(a - c).max() / np.abs(c).max()) for a, c in zip(grads["onednn"], grads["numpy"]))
blocked = any(getattr(p, "inputs_in", None) for p in onednn._cache.values())
print(onednn.has_avx512(), blocked, K.counts.get("conv2d_backward_weights", 0), rel, rel_np)
"""


@needs_onednn
def test_weights_gradient_reads_blocked_layouts_without_avx512():
    """With oneDNN limited to AVX2 (ONEDNN_MAX_CPU_ISA, read when the library loads: a child process), the
    weights gradient of a convolution with ≥ 16 input channels reads x and g reordered into the blocked layouts
    oneDNN picks; every gradient still equals PyTorch's and NumPy's."""
    env = {**__import__("os").environ, "ONEDNN_MAX_CPU_ISA": "AVX2", "SHENDU_KERNELS": "auto"}
    out = subprocess.run([sys.executable, "-c", _AVX2_WEIGHTS_SCRIPT], capture_output=True, text=True, env=env,
                         check=True).stdout.split()
    avx512, blocked, calls, rel, rel_np = out[0] == "True", out[1] == "True", int(out[2]), float(out[3]), float(out[4])
    assert not avx512 and blocked and calls >= 1
    assert rel < 1e-5 and rel_np < 1e-5, (rel, rel_np)
