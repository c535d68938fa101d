"""oneDNN kernels of the dense / transformer ops (shendu/backends/onednn_kernels.py): GELU (eltwise gelu_erf and
gelu_tanh), layer normalisation and the dense layer's forward and backward, each against the NumPy reference and
PyTorch (forward and every gradient, float32, relative 1e-5), and a GPT that trains alike on both paths."""
import numpy as np
import pytest

import shendu
import shendu.functional as F
from shendu import backend
from test_onednn import compare, kernels_module, needs_onednn, onednn, products_on_onednn  # noqa: F401 (autouse)

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _data(shape, seed=0, scale=3.0):
    """Normal data spread wide enough (σ = 3) to reach GELU's tails and LayerNorm's large rows."""
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32) * scale


# ---------------------------------------------------------------- GELU
@needs_onednn
@pytest.mark.parametrize("shape", [(768, 512), (5, 7, 300), (4096,)], ids=str)
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu(shape, approximate):
    compare(lambda x: F.gelu(x, approximate=approximate), lambda x: TF.gelu(x, approximate=approximate),
            [_data(shape)], ["gelu_forward", "gelu_backward"])


@needs_onednn
def test_small_gelu_stays_on_numpy():
    """Below MIN_ELTWISE_SIZE numbers the NumPy passes cost less than oneDNN's call: the same answer, no kernel."""
    calls = compare(F.gelu, TF.gelu, [_data((7, 9))], [])
    assert not calls.get("gelu_forward")
    assert 7 * 9 < kernels_module().MIN_ELTWISE_SIZE


@needs_onednn
def test_gelu_float64_falls_back():
    x = _data((100, 100)).astype(np.float64)
    with backend.use_kernels("onednn"):
        y = F.gelu(shendu.tensor(x)).numpy()
    np.testing.assert_allclose(y, TF.gelu(torch.tensor(x)).numpy(), rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------- layer normalisation
LN_CASES = [((12, 64, 128), 1, True), ((12, 64, 128), 1, False), ((4, 6, 5), 2, True), ((30,), 1, True),
            ((3, 2, 4, 5), 3, True), ((8, 3), 1, True)]


@needs_onednn
@pytest.mark.parametrize("shape, k, affine", LN_CASES, ids=str)
def test_layer_norm(shape, k, affine):
    normalized = shape[len(shape) - k:]
    arrays = [_data(shape) + 1.5]
    if affine:
        arrays += [_data(normalized, 1, 1.0), _data(normalized, 2, 1.0)]

    def ours(x, *wb):
        return F.layer_norm(x, normalized, *wb, eps=1e-5)

    def theirs(x, *wb):
        return TF.layer_norm(x, normalized, *wb, eps=1e-5)
    compare(ours, theirs, arrays, ["layer_norm_forward", "layer_norm_backward"])


@needs_onednn
def test_layer_norm_module_with_bias_false():
    """nn.LayerNorm(bias=False) (the GPT's): the missing β is a constant 0 and gets no gradient."""
    x = _data((6, 32))
    layer = shendu.nn.LayerNorm(32, bias=False)
    t_layer = torch.nn.LayerNorm(32, bias=False)
    with backend.use_kernels("onednn"):
        y = layer(shendu.tensor(x))
        y.sum().backward()
    ty = t_layer(torch.tensor(x))
    ty.sum().backward()
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.weight.grad.numpy(), t_layer.weight.grad.numpy(), rtol=1e-5, atol=1e-4)


# ---------------------------------------------------------------- dense layers, forward and backward
LINEAR_CASES = [((128, 784), 256, True), ((3, 40, 64), 96, True), ((100, 70), 80, False), ((128, 128), 10, True)]


@needs_onednn
@pytest.mark.parametrize("x_shape, out_features, bias", LINEAR_CASES, ids=str)
def test_linear_forward_and_backward(x_shape, out_features, bias):
    """y = x Wᵀ + b, dx = g W, dW = gᵀ x on oneDNN's matmul (transposes read as strided views)."""
    arrays = [_data(x_shape, 0, 1.0), _data((out_features, x_shape[-1]), 1, 0.1)]
    if bias:
        arrays.append(_data((out_features,), 2, 1.0))
    expect = ["linear_backward_data"]
    if out_features >= kernels_module().MIN_LINEAR_ROWS:  # narrow layers keep forward and dW on OpenBLAS
        expect += ["linear_forward", "linear_backward_weights"]
    calls = compare(F.linear, TF.linear, arrays, expect)
    if out_features < kernels_module().MIN_LINEAR_ROWS:
        assert not calls.get("linear_forward") and not calls.get("linear_backward_weights")


@needs_onednn
def test_linear_of_a_transposed_input():
    """A non-contiguous x (a transposed view) is read with its strides, forward and backward."""
    x = _data((96, 128), 3, 1.0)
    w = _data((80, 96), 4, 0.1)
    compare(lambda x, w: F.linear(x.T, w), lambda x, w: TF.linear(x.T, w), [x, w],
            ["linear_forward", "linear_backward_data", "linear_backward_weights"])


@needs_onednn
def test_gpt_trains_like_numpy():
    """Three AdamW steps of a small GPT (GELU, LayerNorm, dense layers on oneDNN): the same losses as NumPy."""
    from shendu.models import GPT
    rng = np.random.default_rng(5)
    idx = rng.integers(0, 20, size=(4, 17))
    losses = {}
    for name in ("numpy", "onednn"):
        shendu.manual_seed(0)
        model = GPT(vocab_size=20, block_size=16, n_layer=2, n_head=2, n_embd=64, bias=False)
        opt = shendu.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
        with backend.use_kernels(name):
            before = dict(kernels_module().counts)
            losses[name] = []
            for _ in range(3):
                opt.zero_grad()
                logits = model(shendu.tensor(idx[:, :-1]))
                loss = F.cross_entropy(logits.reshape(-1, 20), shendu.tensor(idx[:, 1:].reshape(-1)))
                loss.backward()
                opt.step()
                losses[name].append(float(loss.numpy()))
            ran = {k for k, v in kernels_module().counts.items() if v != before.get(k, 0)}
    np.testing.assert_allclose(losses["onednn"], losses["numpy"], rtol=1e-5)
    assert {"gelu_forward", "layer_norm_backward", "linear_backward_data"} <= ran, ran


# ---------------------------------------------------------------- dense layer + ReLU as one op
@needs_onednn
@pytest.mark.parametrize("x_shape, out_features, bias", LINEAR_CASES, ids=str)
def test_linear_relu_fused(x_shape, out_features, bias):
    """max(x Wᵀ + b, 0) as one node, the ReLU in place on oneDNN's (or NumPy's) product: output and every
    gradient equal relu(linear(…)) in PyTorch."""
    arrays = [_data(x_shape, 0, 1.0), _data((out_features, x_shape[-1]), 1, 0.1)]
    if bias:
        arrays.append(_data((out_features,), 2, 1.0))
    wide = out_features >= kernels_module().MIN_LINEAR_ROWS
    calls = compare(lambda *t: F.linear(*t, activation="relu"), lambda *t: TF.relu(TF.linear(*t)), arrays,
                    ["linear_forward", "linear_backward_data"] if wide else ["linear_backward_data"])
    assert bool(calls.get("linear_forward")) == wide


@pytest.mark.parametrize("kernels", ["numpy", "onednn"])
@pytest.mark.parametrize("layer", ["linear", "conv2d"])
def test_fused_relu_keeps_nan_like_pytorch(kernels, layer):
    """A NaN before the fused ReLU stays NaN, as PyTorch's relu keeps it (oneDNN's ReLU post-op would turn it
    into 0 and hide a diverging run), and its gradient passes, on both kernel paths."""
    if kernels == "onednn" and not onednn.available():
        pytest.skip("oneDNN not available")
    if layer == "linear":
        arrays = [_data((128, 100), 0, 1.0), _data((80, 100), 1, 0.1), _data((80,), 2, 1.0)]
        ours = lambda x, w, b: F.linear(x, w, b, activation="relu")  # noqa: E731
        theirs = lambda x, w, b: TF.relu(TF.linear(x, w, b))  # noqa: E731
    else:
        arrays = [_data((8, 3, 12, 12), 0, 1.0), _data((16, 3, 3, 3), 1, 0.3), _data((16,), 2, 1.0)]
        ours = lambda x, w, b: F.conv2d(x, w, b, padding=1, activation="relu")  # noqa: E731
        theirs = lambda x, w, b: TF.relu(TF.conv2d(x, w, b, padding=1))  # noqa: E731
    arrays[0].reshape(-1)[5] = np.nan
    with backend.use_kernels(kernels):
        tensors = [shendu.tensor(a, requires_grad=True) for a in arrays]
        y = ours(*tensors)
        y.sum().backward()
    t_tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    t_y = theirs(*t_tensors)
    t_y.sum().backward()
    assert np.isnan(y.numpy()).sum() == np.isnan(t_y.detach().numpy()).sum() > 0
    np.testing.assert_allclose(y.numpy(), t_y.detach().numpy(), rtol=1e-5, atol=1e-5, equal_nan=True)
    np.testing.assert_allclose(tensors[0].grad.numpy(), t_tensors[0].grad.numpy(), rtol=1e-4, atol=1e-5,
                               equal_nan=True)


def test_linear_relu_float64_and_bad_activation():
    """float64 runs NumPy's in-place ReLU (oneDNN has no float64) to float64 precision; an activation that
    cannot be fused is refused by name."""
    x, w, b = _data((70, 30), 3).astype(np.float64), _data((80, 30), 4).astype(np.float64), _data((80,), 5)
    y = F.linear(shendu.tensor(x), shendu.tensor(w), shendu.tensor(b.astype(np.float64)), activation="relu")
    ty = TF.relu(TF.linear(torch.tensor(x), torch.tensor(w), torch.tensor(b.astype(np.float64))))
    np.testing.assert_allclose(y.numpy(), ty.numpy(), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="linear: activation must be one of .'relu', 'sigmoid', 'tanh'. or None, "
                                         "got 'gelu'"):
        F.linear(shendu.tensor(x), shendu.tensor(w), activation="gelu")
    with pytest.raises(ValueError, match="Linear: cannot fuse activation 'gelu'"):
        shendu.nn.Linear(30, 5)(shendu.tensor(x), activation="gelu")


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
@pytest.mark.parametrize("x_shape, out_features, bias", [((4, 2), 8, True), ((3, 5, 7), 6, False),
                                                         ((128, 100), 70, True)], ids=str)
def test_linear_then_activation_fused(activation, x_shape, out_features, bias):
    """f(x Wᵀ + b) as one node (LinearTanh, LinearSigmoid, LinearReLU): output and every gradient equal
    f(linear(…)) in PyTorch, on both kernel paths; inputs wide enough to saturate tanh and σ, and a zero
    pre-activation for ReLU's edge."""
    arrays = [_data(x_shape, 0, 2.0), _data((out_features, x_shape[-1]), 1, 1.0)]
    if bias:
        arrays.append(_data((out_features,), 2, 1.0))
    arrays[0].reshape(-1, x_shape[-1])[0] = 0.0  # a zero row: z = b (or 0 without bias) there
    torch_fn = getattr(torch, activation)
    compare(lambda *t: F.linear(*t, activation=activation), lambda *t: torch_fn(TF.linear(*t)), arrays, [])


def _mlp_pair(seed=0):
    """The benchmark's MLP in shendu and the same weights in PyTorch."""
    from shendu.bench.workloads import copy_weights, mlp, torch_mlp
    shendu.manual_seed(seed)
    model, t_model = mlp(), torch_mlp()
    copy_weights(model, t_model)
    return model.eval(), t_model.eval()


@pytest.mark.parametrize("kernels", ["numpy", "onednn"])
@pytest.mark.parametrize("batch", [1, 200])
def test_sequential_fuses_linear_relu_under_no_grad(kernels, batch):
    """Under no_grad nn.Sequential runs each Linear→ReLU pair as one LinearReLU op (the kernel without a
    node): the same numbers as the graph-recording forward and as PyTorch, on either kernel path."""
    if kernels == "onednn" and not onednn.available():
        pytest.skip("oneDNN not available")
    model, t_model = _mlp_pair()
    x = _data((batch, 784), 6, 1.0)
    with backend.use_kernels(kernels):
        before = dict(kernels_module().counts)
        with shendu.no_grad():
            fused = model(shendu.tensor(x)).numpy()
        ran = {k: v - before.get(k, 0) for k, v in kernels_module().counts.items() if v != before.get(k, 0)}
        plain = model(shendu.tensor(x)).detach().numpy()
    with torch.no_grad():
        theirs = t_model(torch.tensor(x)).numpy()
    np.testing.assert_allclose(fused, plain, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fused, theirs, rtol=1e-5, atol=1e-5)
    if kernels == "onednn":  # the two wide layers' products on oneDNN (batch 200), none below MIN_LINEAR_ROWS rows
        assert ran.get("linear_forward", 0) == (2 if batch >= kernels_module().MIN_LINEAR_ROWS else 0), ran


def test_sequential_does_not_fuse_around_hooks_or_subclasses():
    """A forward hook on either module must see that module's own input and output, and a subclass of
    Linear or a forward set on the instance may have changed what the layer does: those pairs run unfused
    (and give the same numbers)."""
    from shendu import nn

    class Scaled(nn.Linear):
        def forward(self, x):
            return super().forward(x) * 2.0

    seen = []
    for first, hook_on in ((nn.Linear, 1), (nn.Linear, 0), (Scaled, None), (nn.Linear, "forward")):
        shendu.manual_seed(1)
        model = nn.Sequential(first(20, 30), nn.ReLU(), nn.Linear(30, 4))
        if hook_on == "forward":  # a forward set on the instance replaces the class's (no activation= argument)
            layer = model[0]
            layer.forward = lambda x: nn.Linear.forward(layer, x) - 1.0
        elif hook_on is not None:
            model[hook_on].register_forward_hook(lambda m, args, out: seen.append((type(m).__name__, out.numpy())))
        x = shendu.tensor(_data((5, 20), 7, 1.0))
        with shendu.no_grad():
            y = model(x).numpy()
        np.testing.assert_allclose(y, model(x).detach().numpy(), rtol=1e-6)
    # the ReLU's hook saw non-negative outputs of its own; the Linear's hook saw pre-activations (some < 0)
    assert seen[0][0] == "ReLU" and seen[0][1].min() >= 0
    assert seen[2][0] == "Linear" and seen[2][1].min() < 0



# ---------------------------------------------------------------- attention's softmax
def _heads(qkv, n_head):
    """q, k, v (N, h, T, d) split off a packed (N, T, 3E) projection, as the GPT's attention does (views)."""
    E = qkv.shape[-1] // 3
    N, T = qkv.shape[:2]
    return [t.reshape(N, T, n_head, E // n_head).transpose(1, 2) for t in qkv.split(E, dim=2)]


def _merge(y):
    N, h, T, d = y.shape
    return y.transpose(1, 2).reshape(N, T, h * d)


@needs_onednn
@pytest.mark.parametrize("mask", ["causal", "float", None])
def test_attention_softmax_on_onednn(mask):
    """The GPT's attention (heads of a packed projection, 12 × 4 heads of 64 × 32): oneDNN's softmax forward,
    NumPy's backward; the same as the NumPy path and PyTorch."""
    fmask = _data((64, 64), 3, 1.0)
    kw = dict(is_causal=True) if mask == "causal" else dict(attn_mask=fmask) if mask == "float" else {}
    sd_kw = dict(kw, attn_mask=shendu.tensor(fmask)) if mask == "float" else kw
    t_kw = dict(kw, attn_mask=torch.tensor(fmask)) if mask == "float" else kw
    compare(lambda x: _merge(F.scaled_dot_product_attention(*_heads(x, 4), **sd_kw)),
            lambda x: _merge(TF.scaled_dot_product_attention(*_heads(x, 4), **t_kw)),
            [_data((12, 64, 384), 0, 1.0)], ["softmax_forward"])


@needs_onednn
def test_attention_with_an_empty_row_stays_on_numpy():
    """A query that may attend to no key: oneDNN's softmax would give 0/0, so NumPy's runs and gives 0."""
    mask = np.tril(np.ones((64, 64), bool))
    mask[5] = False
    calls = compare(lambda x: _merge(F.scaled_dot_product_attention(*_heads(x, 4), attn_mask=shendu.tensor(mask))),
                    lambda x: _merge(TF.scaled_dot_product_attention(*_heads(x, 4), attn_mask=torch.tensor(mask))),
                    [_data((3, 64, 384), 0, 1.0)], [])
    assert not calls.get("softmax_forward")


def test_attention_output_merges_heads_without_a_copy():
    """The output lies in memory like the query: heads split off (N, T, 3E) come back as (N, T, h, d), so the
    merge to (N, T, E) is a view; so are the gradients of q, k, v (one concatenate in the split's backward)."""
    x = shendu.tensor(_data((2, 8, 48), 0, 1.0), requires_grad=True)
    q, k, v = _heads(x, 4)
    y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    merged = _merge(y)
    assert np.shares_memory(merged.data, y.data)
    merged.sum().backward()
    assert x.grad.shape == x.shape


@needs_onednn
def test_matmul_race_keeps_the_faster_library_per_product(monkeypatch):
    """With the race on, a product's first call times both libraries and every later call takes the winner; either
    way the answer is the product's."""
    monkeypatch.setattr(kernels_module(), "RACE", True)
    backend.fast_kernels()  # loads the library
    x, w = _data((768, 128), 0, 1.0), _data((512, 128), 1, 0.1)
    with backend.use_kernels("onednn"):
        first = kernels_module().matmul(x, w.T)
        plan = next(p for k, p in onednn_cache().items() if k[0] == "matmul" and p.faster)
        winner = next(iter(plan.faster.values()))
        before = dict(kernels_module().counts)
        again = kernels_module().matmul(x, w.T, name="race_check")
    ran = {k for k, v in kernels_module().counts.items() if v != before.get(k, 0)}
    assert ran == {"race_check" if winner else "race_check fallback"}
    assert (again is None) == (not winner) and (first is None) == (not winner)
    if winner:
        np.testing.assert_allclose(again, x @ w.T, rtol=1e-5, atol=1e-5)


def onednn_cache():
    from shendu.backends import onednn
    return onednn._cache


@pytest.mark.parametrize("kernels", ["numpy", "onednn"])
def test_sequential_fuses_in_training_with_the_same_gradients(kernels):
    """With grad recording on, nn.Sequential records each Linear→ReLU / Tanh / Sigmoid pair as one node; the
    loss and every parameter's gradient equal the unfused graph's (nn.no_fusion) and PyTorch's."""
    if kernels == "onednn" and not onednn.available():
        pytest.skip("oneDNN not available")
    from shendu import autograd, nn
    shendu.manual_seed(3)
    model = nn.Sequential(nn.Linear(6, 80), nn.Tanh(), nn.Linear(80, 70), nn.ReLU(), nn.Linear(70, 1),
                          nn.Sigmoid())
    t_model = torch.nn.Sequential(torch.nn.Linear(6, 80), torch.nn.Tanh(), torch.nn.Linear(80, 70),
                                  torch.nn.ReLU(), torch.nn.Linear(70, 1), torch.nn.Sigmoid())
    t_model.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    x, y = _data((100, 6), 8, 1.0), (_data((100, 1), 9) > 0).astype(np.float32)
    runs = {}
    with backend.use_kernels(kernels):
        for fused in (True, False):
            model.zero_grad()
            if fused:
                loss = F.binary_cross_entropy(model(shendu.tensor(x)), shendu.tensor(y))
            else:
                with nn.no_fusion():
                    loss = F.binary_cross_entropy(model(shendu.tensor(x)), shendu.tensor(y))
            ops = [type(t._ctx).__name__ for t in autograd.graph_order((loss,))]
            loss.backward()
            runs[fused] = (ops, float(loss.item()), [p.grad.numpy() for p in model.parameters()])
    assert runs[True][0] == ["LinearTanh", "LinearReLU", "LinearSigmoid", "BinaryCrossEntropy"]
    assert runs[False][0] == ["Linear", "Tanh", "Linear", "Relu", "Linear", "Sigmoid", "BinaryCrossEntropy"]
    t_loss = TF.binary_cross_entropy(t_model(torch.tensor(x)), torch.tensor(y))
    t_loss.backward()
    t_grads = [p.grad.numpy() for p in t_model.parameters()]
    for fused in (True, False):
        np.testing.assert_allclose(runs[fused][1], t_loss.item(), rtol=1e-5)
        for ours, theirs in zip(runs[fused][2], t_grads):
            np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)
    for a, b in zip(runs[True][2], runs[False][2]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_fused_sequential_names_the_failing_layer():
    """The fused pair's layer is called without Module.__call__, yet its error names it as before."""
    from shendu import nn
    model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(5, 2), nn.Sigmoid())
    with pytest.raises(ValueError, match=r"^2 \(Linear\): expected input with last dimension 5, got shape \(2, 3\); "
                                         r"shapes so far: input \(2, 4\) → 0 \(2, 3\) → 1 \(2, 3\)$"):
        model(shendu.randn(2, 4))
    with pytest.raises(TypeError, match="Linear: expected shendu Tensors as input, got numpy.ndarray"):
        model(np.zeros((2, 4), np.float32))
