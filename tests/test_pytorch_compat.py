"""PyTorch's meanings and idioms (issue 14 §2, §3): each checked against torch where torch has the behaviour."""
from __future__ import annotations

import io
import math
import types

import numpy as np
import pytest

import shendu
import shendu.nn as nn
import shendu.nn.functional as F
from shendu import backend
from harness import check, check_module, torch_or_skip

torch = torch_or_skip()
TF = torch.nn.functional


# ------------------------------------------------------------------ size(), numel(), squeeze(dim)
def test_size_is_a_method_returning_a_size_and_size_dim_an_int():
    s, t = shendu.zeros(2, 3, 4), torch.zeros(2, 3, 4)
    assert s.size() == t.size() and isinstance(s.size(), tuple) and isinstance(s.size(), shendu.Size)
    assert [s.size(d) for d in range(-3, 3)] == [t.size(d) for d in range(-3, 3)]
    assert s.numel() == t.numel() == s.size().numel() == 24 and shendu.numel(s) == 24
    assert repr(s.size()) == "shendu.Size([2, 3, 4])" and isinstance(s.size()[1:], shendu.Size)
    assert shendu.tensor(5.0).size() == () and s.dim() == 3
    with pytest.raises(IndexError, match="size: dimension 3 is out of range for a tensor of 3 dimensions"):
        s.size(3)


@pytest.mark.parametrize("dim", [0, 1, 2, -1, (0, 1), (1, 2), (0, 2), (-3, 1, -1)])
def test_squeeze_dim_leaves_non_1_dimensions_alone(dim):
    x = np.random.default_rng(0).standard_normal((1, 3, 1))
    check(lambda t: t.squeeze(dim), lambda t: t.squeeze(dim), [x])
    check(lambda t: shendu.squeeze(t, dim=dim), lambda t: torch.squeeze(t, dim=dim), [x])


# ------------------------------------------------------------------ F.pad
@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape,pad", [((2, 3, 5), (2, 1)), ((1, 2, 4, 5), (1, 2, 3, 0)),
                                       ((1, 2, 3, 4, 5), (1, 0, 2, 1, 0, 2))])
def test_pad_matches_torch_in_every_mode(mode, shape, pad):
    x = np.random.default_rng(1).standard_normal(shape)
    kw = {"value": 0.5} if mode == "constant" else {}
    check(lambda t: F.pad(t, pad, mode=mode, **kw), lambda t: TF.pad(t, pad, mode=mode, **kw), [x])


def test_pad_pads_the_last_dimension_first_and_negative_amounts_crop():
    x = np.random.default_rng(2).standard_normal((2, 3, 4, 5))
    for pad in [(1, 1), (0, 2, 1, 0, 1, 1), (-1, 2, 0, -2), (1, 1, 1, 1, 1, 1, 1, 1)]:
        check(lambda t: F.pad(t, pad), lambda t: TF.pad(t, pad), [x])
    assert F.pad(shendu.zeros(1, 2, 3, 4), (1, 1)).shape == (1, 2, 3, 6)  # not every axis


@pytest.mark.parametrize("call,pattern", [
    (lambda: F.pad(shendu.zeros(2, 3), (1, 1, 1)), "expected an even number"),
    (lambda: F.pad(shendu.zeros(2, 3), (1, 1, 1, 1, 1, 1)), "at most 2 per dimension"),
    (lambda: F.pad(shendu.zeros(2, 3), ((1, 1), (1, 1))), "last dimension backwards"),
    (lambda: F.pad(shendu.zeros(2, 3), (3, 0), mode="reflect"), "reflect padding .* smaller than"),
    (lambda: F.pad(shendu.zeros(2, 3), (1, 0), mode="wrap"), "mode must be"),
    (lambda: F.pad(shendu.zeros(2, 3), (1, 0), mode="replicate", value=2.0), "value= applies to mode='constant'"),
])
def test_pad_errors(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


# ------------------------------------------------------------------ mixed advanced indexing
KEYS = [
    (slice(None), [0, 1], slice(None), [1, 2]),
    (0, slice(None), [0, 1]),
    (slice(None), 0, slice(None), [0, 1]),
    ([0, 1], slice(None), 0),
    (Ellipsis, [0, 1], 0),
    (0, [0, 1], [1, 2]),
    ([1, 0], 1, [1, 2]),
    (None, 0, slice(None), [1, 2]),
    (0, Ellipsis, [1, 2]),
    (slice(None), [True, False, True], slice(None), 0),
    (-1, slice(None), [0, 3], None),
    (1, Ellipsis, [0, 1], 2),
]


@pytest.mark.parametrize("key", KEYS, ids=[str(k) for k in KEYS])
def test_mixed_advanced_indexing_places_dimensions_as_torch(key):
    x = np.random.default_rng(3).standard_normal((2, 3, 4, 5))
    check(lambda t: t[key], lambda t: t[key], [x])


# ------------------------------------------------------------------ arange / linspace
@pytest.mark.parametrize("args,dtype", [
    ((0, 10, 3), "int64"), ((0.5, 5, 1), "int64"), ((1, 2.5, 0.3), "int32"), ((-3.7, 2, 1.1), "int64"),
    ((2.9, 7.1, 1.5), "int64"), ((2.9, 7.1, 1.5), "int32"), ((5, -3.2, -1.5), "int64"), ((5, -3.2, -1.5), "int16"),
    ((0, 5, 1.5), None), ((7,), None), ((2.5,), "int64"),
])
def test_arange_with_integer_dtypes_rounds_as_torch(args, dtype):
    t = torch.arange(*args, dtype=getattr(torch, dtype) if dtype else None)
    s = shendu.arange(*args, dtype=dtype)
    assert s.tolist() == t.tolist() and str(s.dtype) == str(t.dtype).removeprefix("torch.")


def test_arange_float_steps_and_errors():
    np.testing.assert_allclose(shendu.arange(0, 1, 0.1).numpy(), torch.arange(0, 1, 0.1).numpy(), rtol=1e-6)
    assert shendu.arange(0, end=4).tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="step 0.7 truncates to 0 for dtype int64"):
        shendu.arange(0, 5, 0.7, dtype="int64")
    with pytest.raises(ValueError, match="step must be nonzero"):
        shendu.arange(0, 5, 0)


@pytest.mark.parametrize("start,end,steps,dtype", [
    (0, 10, 4, "int64"), (-1, 1, 5, "int64"), (0, 9.9, 7, "int32"), (0.5, -5.5, 6, "int64"), (-2.5, 2.5, 6, "int64"),
    (3, 3, 1, "int64"), (0, 7, 8, "uint8"), (0, 1, 5, None), (-3, 11, 9, "float64"),
])
def test_linspace_matches_torch(start, end, steps, dtype):
    t = torch.linspace(start, end, steps, dtype=getattr(torch, dtype) if dtype else None)
    s = shendu.linspace(start, end, steps=steps, dtype=dtype)
    np.testing.assert_allclose(s.numpy(), t.numpy(), rtol=1e-6)
    assert str(s.dtype) == str(t.dtype).removeprefix("torch.")


# ------------------------------------------------------------------ devices, cuda, accelerator, backends
def test_device_objects_as_torch():
    for spec in ["cpu", "cuda", "cuda:0", "cuda:1"]:
        s, t = shendu.device(spec), torch.device(spec)
        assert (s.type, s.index, str(s), repr(s)) == (t.type, t.index, str(t), repr(t))
    assert shendu.device("cuda", 1) == shendu.device("cuda:1") == "cuda:1" and shendu.device("cpu") != "cuda"
    assert shendu.zeros(2).device == shendu.device("cpu")
    with pytest.raises(ValueError, match="Device: expected 'cpu', 'cuda' or 'cuda:<index>', got 'cuda:x'"):
        shendu.device("cuda:x")


def test_cuda_is_available_only_when_a_device_answers(monkeypatch):
    """#13 §5: an importable CuPy with no usable device is not CUDA."""
    no_gpu = types.SimpleNamespace(cuda=types.SimpleNamespace(is_available=lambda: False))
    monkeypatch.setattr(backend, "_cupy", no_gpu)
    assert not backend.cuda_available() and not shendu.cuda.is_available() and shendu.cuda.device_count() == 0
    assert shendu.accelerator.current_accelerator() is None and not shendu.accelerator.is_available()
    with pytest.raises(RuntimeError, match="no CUDA device answers"):
        shendu.zeros(2).cuda()
    monkeypatch.setattr(backend, "_cupy", None)
    assert not shendu.cuda.is_available()
    with pytest.raises(RuntimeError, match="CUDA needs CuPy, which is not installed"):
        shendu.zeros(2).to("cuda:0")


def test_creation_functions_take_device():
    cpu = shendu.device("cpu")
    made = [shendu.tensor([1.0], device="cpu"), shendu.as_tensor([1], device=cpu), shendu.zeros(2, device=cpu),
            shendu.ones(2, device="cpu"), shendu.empty(2, device="cpu"), shendu.full((2,), 3, device="cpu"),
            shendu.arange(3, device="cpu"), shendu.linspace(0, 1, 3, device="cpu"), shendu.eye(2, device="cpu"),
            shendu.rand(2, device="cpu"), shendu.randn(2, device="cpu"), shendu.randint(0, 3, (2,), device="cpu"),
            shendu.zeros_like(shendu.ones(2), device="cpu"), shendu.full_like(shendu.ones(2), 2, device="cpu")]
    assert all(t.device == cpu for t in made)
    assert shendu.zeros(2, device="cpu", requires_grad=True).requires_grad
    if not shendu.cuda.is_available():
        with pytest.raises(RuntimeError, match="cuda"):
            shendu.zeros(2, device="cuda")


def test_cpu_only_queries_and_switches():
    if backend._cupy is None:
        assert shendu.accelerator.current_accelerator() is None and shendu.accelerator.device_count() == 0
    shendu.backends.cudnn.benchmark = True
    shendu.backends.cudnn.deterministic = True
    assert shendu.backends.cudnn.benchmark and not shendu.backends.mps.is_available()
    shendu.backends.cudnn.benchmark = shendu.backends.cudnn.deterministic = False


# ------------------------------------------------------------------ conversions and copies
def test_to_accepts_device_dtype_tensor_and_keywords():
    t = shendu.ones(2, 3)
    assert t.to("cpu") is t and t.to(shendu.device("cpu"), non_blocking=True) is t
    assert t.to(shendu.float64).dtype == shendu.float64 and t.to("cpu", shendu.int64).dtype == shendu.int64
    assert t.to(shendu.zeros(1, dtype=shendu.float16)).dtype == shendu.float16
    assert t.to(dtype=shendu.double).dtype == shendu.float64
    c = t.to("cpu", copy=True)
    assert c is not t and not np.shares_memory(c.numpy(), t.numpy())
    with pytest.raises(NotImplementedError, match="memory_format"):
        t.to(memory_format="channels_last")


def test_cast_methods_and_type_names_as_torch():
    x = np.arange(6.0).reshape(2, 3)
    s, t = shendu.tensor(x), torch.tensor(x)
    for name in ["float", "double", "half", "long", "int", "bool"]:
        assert str(getattr(s, name)().dtype) == str(getattr(t, name)().dtype).removeprefix("torch.")
    assert s.float().type() == "shendu.FloatTensor" and t.float().type() == "torch.FloatTensor"
    assert s.type(shendu.long).dtype == shendu.int64 and s.long().type() == "shendu.LongTensor"
    assert shendu.is_tensor(s) and not shendu.is_tensor(x) and s.is_floating_point() and not s.long().is_floating_point()
    assert shendu.is_floating_point(s)


def test_from_numpy_shares_memory_and_as_tensor():
    a = np.zeros(3, dtype=np.float64)
    t = shendu.from_numpy(a)
    a[0] = 5
    t[1] = 7
    assert t.tolist() == [5, 7, 0] and a.tolist() == [5, 7, 0] and t.dtype == shendu.float64
    with pytest.raises(TypeError, match="from_numpy: expected a NumPy ndarray, got list"):
        shendu.from_numpy([1, 2])
    assert shendu.as_tensor(t) is t and shendu.as_tensor([1, 2]).dtype == shendu.int64


def test_clone_is_a_differentiable_copy():
    x = np.random.default_rng(4).standard_normal((2, 3))
    check(lambda t: t.clone() * 2, lambda t: t.clone() * 2, [x])
    s = shendu.tensor(x)
    c = s.clone()
    c[0, 0] = 100.0
    assert s[0, 0].item() == x[0, 0]


def test_in_place_methods():
    t = shendu.ones(2, 3)
    assert t.fill_(2.5) is t and t.tolist() == [[2.5] * 3] * 2
    assert t.zero_() is t and t.sum().item() == 0
    assert t.copy_(shendu.tensor([1, 2, 3])) is t and t.tolist() == [[1, 2, 3]] * 2 and t.dtype == shendu.float32
    t.copy_(np.full((2, 3), 4.0))
    assert t.tolist() == [[4.0] * 3] * 2
    with pytest.raises(ValueError, match=r"copy_: a source of shape \(4,\) does not broadcast to \(2, 3\)"):
        t.copy_(shendu.zeros(4))
    w = shendu.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place assignment into a tensor that requires grad"):
        w.zero_()
    with shendu.no_grad():
        w.fill_(3.0)  # what optimizers and init code do
    assert w.tolist() == [3.0, 3.0] and w.requires_grad
    y = w * 2
    assert y.detach_() is y and not y.requires_grad and y.is_leaf
    assert shendu.zeros(2).requires_grad_().requires_grad


def test_set_grad_enabled_and_inference_mode():
    x = shendu.ones(2, requires_grad=True)
    with shendu.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad
    shendu.set_grad_enabled(False)
    try:
        assert not (x * 2).requires_grad and not shendu.is_grad_enabled()
    finally:
        shendu.set_grad_enabled(True)
    assert shendu.is_grad_enabled()

    @shendu.inference_mode()
    def f():
        return (x * 2).requires_grad

    @shendu.inference_mode
    def g():
        return (x * 2).requires_grad

    assert not f() and not g() and (x * 2).requires_grad
    with shendu.inference_mode():
        assert not (x * 2).requires_grad and shendu.is_inference_mode_enabled()
    with shendu.inference_mode(False):
        assert (x * 2).requires_grad
    with pytest.raises(TypeError, match="set_grad_enabled: mode must be True or False"):
        shendu.set_grad_enabled("no")


# ------------------------------------------------------------------ nn.functional, inplace flags
def test_nn_functional_is_shendu_functional():
    import shendu.functional

    assert F.relu is shendu.functional.relu and F.conv2d is shendu.functional.conv2d
    assert nn.functional.cross_entropy is shendu.functional.cross_entropy
    assert "max_pool2d" in dir(F)
    with pytest.raises(AttributeError, match="no attribute 'no_such_function'"):
        F.no_such_function


@pytest.mark.parametrize("name,args", [("relu", ()), ("leaky_relu", (0.1,)), ("elu", (1.0,)), ("selu", ()),
                                       ("hardtanh", (-1.0, 1.0)), ("relu6", ()), ("hardsigmoid", ()),
                                       ("hardswish", ()), ("silu", ()), ("threshold", (0.1, -2.0))])
def test_inplace_flag_is_accepted_and_gives_the_same_values(name, args):
    x = np.random.default_rng(5).standard_normal((3, 4))
    tol = {np.float64: dict(rtol=1e-7, atol=1e-12)}  # torch's hardsigmoid backward uses a float32 1/6
    check(lambda t: getattr(F, name)(t, *args, inplace=True), lambda t: getattr(TF, name)(t, *args), [x], tol=tol)


# ------------------------------------------------------------------ nn.init
def test_new_init_spellings():
    w = nn.Parameter(shendu.empty(4, 6))
    assert nn.init.eye_(w) is w and np.array_equal(w.numpy(), torch.nn.init.eye_(torch.empty(4, 6)).numpy())
    for groups, shape in [(1, (4, 3, 3, 3)), (2, (4, 2, 3)), (1, (2, 3, 3, 3, 3))]:
        s, t = nn.Parameter(shendu.empty(*shape)), torch.empty(*shape)
        nn.init.dirac_(s, groups)
        torch.nn.init.dirac_(t, groups)
        np.testing.assert_array_equal(s.numpy(), t.numpy())
    big = nn.Parameter(shendu.empty(200, 200))
    nn.init.trunc_normal_(big, mean=1.0, std=2.0, a=-1.0, b=2.0)
    v = big.numpy()
    assert v.min() >= -1.0 and v.max() <= 2.0 and v.dtype == np.float32
    t = torch.nn.init.trunc_normal_(torch.empty(200, 200, dtype=torch.float64), 1.0, 2.0, -1.0, 2.0).numpy()
    assert abs(v.mean() - t.mean()) < 0.03 and abs(v.std() / t.std() - 1) < 0.03  # the same distribution
    for name in ["xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "zeros_", "ones_",
                 "uniform_", "normal_", "orthogonal_", "trunc_normal_", "eye_", "dirac_", "constant_"]:
        assert callable(getattr(nn.init, name))


# ------------------------------------------------------------------ Module idioms
class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
        self.head = nn.Linear(4, 2)
        self.register_buffer("steps", shendu.zeros(1))
        self.register_buffer("cache", shendu.zeros(2), persistent=False)

    def forward(self, x):
        return self.head(self.body(x))


class TinyTorch(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU())
        self.head = torch.nn.Linear(4, 2)
        self.register_buffer("steps", torch.zeros(1))
        self.register_buffer("cache", torch.zeros(2), persistent=False)

    def forward(self, x):
        return self.head(self.body(x))


def test_module_traversal_apply_and_buffers_as_torch():
    s, t = Tiny(), TinyTorch()
    assert [n for n, _ in s.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in s.named_children()] == [n for n, _ in t.named_children()]
    assert [type(m).__name__ for m in s.modules()] == [type(m).__name__.replace("TinyTorch", "Tiny")
                                                       for m in t.modules()]
    assert list(s.state_dict()) == list(t.state_dict())  # the non-persistent buffer stays out
    assert [n for n, _ in s.named_buffers()] == [n for n, _ in t.named_buffers()]
    seen = []
    s.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "ReLU", "Sequential", "Linear", "Tiny"]

    def init(m):
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.weight, 0.5)
            nn.init.zeros_(m.bias)
    assert s.apply(init) is s and float(s.head.weight.sum()) == 4.0


def test_module_to_takes_device_dtype_or_tensor():
    lin = nn.Linear(2, 2)
    assert lin.to(shendu.float64) is lin and lin.weight.dtype == shendu.float64
    lin.to("cpu", shendu.float32, non_blocking=True)
    assert lin.weight.dtype == shendu.float32
    lin.to(shendu.zeros(1, dtype=shendu.float64))
    assert lin.bias.dtype == shendu.float64 and lin.weight.device == "cpu"


def test_forward_pre_hook_and_forward_hook():
    s = nn.Linear(3, 2)
    calls = []
    h1 = s.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    h2 = s.register_forward_hook(lambda m, args, out: calls.append(tuple(out.shape)))
    np.testing.assert_allclose(s(shendu.ones(4, 3)).numpy(), np.broadcast_to(s.bias.numpy(), (4, 2)))
    h1.remove()
    h2.remove()
    assert calls == [(4, 2)] and abs(s(shendu.ones(1, 3)) - s.bias).sum().item() > 0


def test_full_backward_hook_sees_the_gradients_torch_sees():
    x = np.random.default_rng(6).standard_normal((5, 3))
    results = {}
    for lib, module in [("torch", torch.nn.Linear(3, 2).double()), ("shendu", nn.Linear(3, 2).double())]:
        if lib == "shendu":
            module.load_state_dict({k: v.detach().numpy() for k, v in results["module"].state_dict().items()})
        results["module"] = module
        seen = []
        module.register_full_backward_hook(lambda m, gi, go: seen.append((gi, go)))
        mk = torch.tensor if lib == "torch" else shendu.tensor
        inp = mk(x, requires_grad=True)
        (module(inp) ** 2).sum().backward()
        results[lib] = [[None if g is None else np.asarray(g.detach().numpy()) for g in gs] for gs in seen[0]]
    for (gi_s, go_s), (gi_t, go_t) in [(results["shendu"], results["torch"])]:
        np.testing.assert_allclose(gi_s[0], gi_t[0], rtol=1e-10)
        np.testing.assert_allclose(go_s[0], go_t[0], rtol=1e-10)


def test_backward_hook_can_replace_the_input_gradient_and_fires_without_input_grads():
    lin = nn.Linear(3, 2)
    lin.register_full_backward_hook(lambda m, gi, go: (gi[0] * 0,))
    x = shendu.ones(4, 3, requires_grad=True)
    lin(x).sum().backward()
    assert x.grad.abs().sum().item() == 0 and lin.weight.grad.abs().sum().item() > 0
    seen = []
    lin2 = nn.Linear(3, 2)
    lin2.register_backward_hook(lambda m, gi, go: seen.append((gi, tuple(go[0].shape))))
    lin2(shendu.ones(4, 3)).sum().backward()
    assert seen == [((None,), (4, 2))]


def test_flatten_unflatten_as_torch():
    x = np.random.default_rng(7).standard_normal((2, 3, 4, 5))
    check_module(nn.Flatten(), torch.nn.Flatten(), [x])
    check_module(nn.Flatten(0, 2), torch.nn.Flatten(0, 2), [x])
    check_module(nn.Unflatten(1, (3, 1)), torch.nn.Unflatten(1, (3, 1)), [x])
    check_module(nn.Unflatten(-1, (5, -1)), torch.nn.Unflatten(-1, (5, -1)), [x])
    with pytest.raises(ValueError, match="Unflatten: axis 4 does not exist"):
        nn.Unflatten(4, (2, 2))(shendu.tensor(x))


def test_lstm_cell_in_a_python_loop_as_torch():
    seq = np.random.default_rng(8).standard_normal((6, 3, 4))
    t_cell = torch.nn.LSTMCell(4, 5).double()
    s_cell = nn.LSTMCell(4, 5).to(dtype=shendu.float64)
    s_cell.load_state_dict({k: v.detach().numpy() for k, v in t_cell.state_dict().items()})
    outs = {}
    for lib, cell in [(torch, t_cell), (shendu, s_cell)]:
        h, c = lib.zeros(3, 5, dtype=lib.float64), lib.zeros(3, 5, dtype=lib.float64)
        x = lib.tensor(seq, requires_grad=True)
        hs = []
        for i in range(x.size(0)):
            h, c = cell(x[i], (h, c))
            hs.append(h)
        lib.stack(hs).sum().backward()
        outs[lib.__name__] = (np.asarray(lib.stack(hs).detach().numpy()), x.grad.numpy())
    np.testing.assert_allclose(outs["shendu"][0], outs["torch"][0], rtol=1e-10)
    np.testing.assert_allclose(outs["shendu"][1], outs["torch"][1], rtol=1e-10)


def test_parameters_to_vector_and_back():
    t = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    s = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    s.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    vs = nn.utils.parameters_to_vector(s.parameters())
    vt = torch.nn.utils.parameters_to_vector(t.parameters())
    np.testing.assert_allclose(vs.numpy(), vt.detach().numpy())
    (vs ** 2).sum().backward()
    np.testing.assert_allclose(s[0].weight.grad.numpy(), 2 * s[0].weight.numpy(), rtol=1e-6)
    nn.utils.vector_to_parameters(shendu.arange(vs.numel(), dtype=shendu.float32), s.parameters())
    torch.nn.utils.vector_to_parameters(torch.arange(vt.numel(), dtype=torch.float32), t.parameters())
    for (ks, ps), (kt, pt) in zip(s.named_parameters(), t.named_parameters()):
        assert ks == kt and np.array_equal(ps.numpy(), pt.detach().numpy())
    with pytest.raises(ValueError, match="expected a vector of 26 elements"):
        nn.utils.vector_to_parameters(shendu.zeros(5), s.parameters())


def test_data_parallel_is_a_pass_through_on_one_device():
    lin = nn.Linear(3, 2)
    x = shendu.randn(4, 3)
    wrapped = nn.DataParallel(lin)
    np.testing.assert_array_equal(wrapped(x).numpy(), lin(x).numpy())
    np.testing.assert_array_equal(nn.parallel.data_parallel(lin, x).numpy(), lin(x).numpy())
    assert list(wrapped.state_dict()) == list(torch.nn.DataParallel(torch.nn.Linear(3, 2)).state_dict())
    with pytest.raises(NotImplementedError, match="several devices"):
        nn.DataParallel(lin, device_ids=[0, 1])


# ------------------------------------------------------------------ shendu.save / shendu.load
def test_save_and_load_a_state_dict(tmp_path):
    model = Tiny()
    shendu.save(model.state_dict(), tmp_path / "tiny.pt")
    state = shendu.load(tmp_path / "tiny.pt")
    assert list(state) == list(model.state_dict()) and type(state).__name__ == "OrderedDict"
    other = Tiny()
    assert other.load_state_dict(shendu.load(tmp_path / "tiny.pt")) == ([], [])
    for (k, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert (tmp_path / "tiny.pt").read_bytes()[8:9] == b"{"  # a safetensors header, not a pickle


def test_save_and_load_a_checkpoint_with_an_optimizer(tmp_path):
    model = Tiny()
    opt = shendu.optim.Adam(model.parameters(), lr=1e-3)
    model(shendu.randn(4, 3)).sum().backward()
    opt.step()
    checkpoint = {"epoch": 3, "model_state_dict": model.state_dict(), "optimizer_state_dict": opt.state_dict(),
                  "loss": 0.25, "best": float("inf"), "history": [1.5, None, True, "text"], "shape": (2, 3),
                  "ids": {0: "a", (1, 2): "b"}, "dtype": shendu.float64, "device": shendu.device("cpu"),
                  "mask": np.array([True, False])}
    shendu.save(checkpoint, tmp_path / "ckpt.pt")
    back = shendu.load(tmp_path / "ckpt.pt", map_location="cpu", weights_only=True)
    assert back["epoch"] == 3 and back["loss"] == 0.25 and math.isinf(back["best"])
    assert back["history"] == [1.5, None, True, "text"] and back["shape"] == (2, 3)
    assert back["ids"] == {0: "a", (1, 2): "b"} and back["dtype"] == shendu.float64 and back["device"] == "cpu"
    assert back["mask"].tolist() == [True, False] and isinstance(back["mask"], np.ndarray)
    fresh = Tiny()
    fresh.load_state_dict(back["model_state_dict"])
    opt2 = shendu.optim.Adam(fresh.parameters(), lr=1e-3)
    opt2.load_state_dict(back["optimizer_state_dict"])
    assert opt2.state_dict()["param_groups"] == opt.state_dict()["param_groups"]
    x = shendu.randn(4, 3)
    for m, o in [(model, opt), (fresh, opt2)]:  # the restored pair takes the same next step
        o.zero_grad()
        m(x).sum().backward()
        o.step()
    np.testing.assert_array_equal(model.head.weight.numpy(), fresh.head.weight.numpy())


def test_save_keeps_requires_grad_parameters_and_shared_tensors(tmp_path):
    w = shendu.randn(3, requires_grad=True)
    p = nn.Parameter(shendu.ones(2))
    shendu.save([w, w, p, shendu.tensor(3)], tmp_path / "list.pt")
    a, b, q, n = shendu.load(tmp_path / "list.pt")
    assert a is b and a.requires_grad and isinstance(q, nn.Parameter) and n.item() == 3 and n.dtype == shendu.int64


def test_save_and_load_through_file_objects_and_whole_modules(tmp_path):
    model = Tiny()
    buf = io.BytesIO()
    shendu.save(model.state_dict(), buf)
    buf.seek(0)
    assert list(shendu.load(buf)) == list(TinyTorch().state_dict()) == ["steps", "body.0.weight", "body.0.bias",
                                                                        "head.weight", "head.bias"]
    seq = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    shendu.save(seq, tmp_path / "whole.pt")  # a whole module: architecture + weights, as before
    again = shendu.load(tmp_path / "whole.pt")
    assert isinstance(again, nn.Sequential)
    np.testing.assert_array_equal(again[0].weight.numpy(), seq[0].weight.numpy())
    shendu.save_weights(seq, tmp_path / "weights.safetensors")  # a plain safetensors file reads as a state dict
    seq.load_state_dict(shendu.load(tmp_path / "weights.safetensors"))


def test_load_refuses_pickles_and_save_refuses_arbitrary_objects(tmp_path):
    torch.save({"w": torch.ones(2)}, tmp_path / "torch.pt")
    with pytest.raises(ValueError, match="PyTorch's own .pt files are pickles, which shendu never loads"):
        shendu.load(tmp_path / "torch.pt")
    with pytest.raises(TypeError, match=r"save: obj\['f'\] is a function"):
        shendu.save({"f": lambda: 0}, tmp_path / "x.pt")
    with pytest.raises(TypeError, match="save module.state_dict\\(\\) there"):
        shendu.save({"model": nn.Linear(2, 2)}, tmp_path / "x.pt")
    with pytest.raises(NotImplementedError, match="pickle options"):
        shendu.save({}, tmp_path / "x.pt", pickle_protocol=2)
    shendu.save({}, tmp_path / "x.pt")
    with pytest.raises(NotImplementedError, match="map_location"):
        shendu.load(tmp_path / "x.pt", map_location=lambda storage, loc: storage)
    with pytest.raises(TypeError, match="weights_only must be True, False or None"):
        shendu.load(tmp_path / "x.pt", weights_only="yes")
    assert shendu.load(tmp_path / "x.pt") == {}


# ------------------------------------------------------------------ unsupported features say so
@pytest.mark.parametrize("name", ["compile", "jit", "autocast", "sparse_coo_tensor", "bfloat16", "fx"])
def test_unsupported_pytorch_features_raise_not_implemented_naming_an_alternative(name):
    with pytest.raises(NotImplementedError, match=rf"shendu.{name}: PyTorch's torch.{name} is not supported .* instead: "):
        getattr(shendu, name)
    assert not hasattr(shendu, name)  # an AttributeError too: feature checks in scripts keep working


def test_unsupported_tensor_and_parallel_features():
    t = shendu.zeros(2)
    assert not t.is_cuda and not t.is_sparse
    with pytest.raises(NotImplementedError, match="to_sparse: shendu has no sparse tensors"):
        t.to_sparse()
    with pytest.raises(NotImplementedError, match="DistributedDataParallel is not supported"):
        nn.parallel.DistributedDataParallel
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        shendu.no_such_name
