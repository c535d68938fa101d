"""Attention and the Transformer against PyTorch: scaled_dot_product_attention through the harness (values,
gradients, gradcheck, fully masked rows), MultiheadAttention in every option, the encoder/decoder layers in
both norm_first settings and nn.Transformer — weights loaded by name, outputs and all gradients in float64
to 1e-10, and the round trip back to PyTorch exact."""
from __future__ import annotations

import numpy as np
import pytest

import shendu
import shendu.functional as F
from shendu import nn
from shendu.interop import load_torch_state_dict, to_torch_state_dict

from harness import assert_close, check

torch = pytest.importorskip("torch")
TOL = dict(rtol=1e-10, atol=1e-12)


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ---------------------------------------------------------------- scaled_dot_product_attention
@pytest.mark.parametrize("q_shape, k_shape, v_dim", [((2, 3, 5, 4), (2, 3, 7, 4), 6), ((5, 4), (7, 4), 3),
                                                       ((2, 1, 5, 4), (2, 3, 7, 4), 4)])
def test_sdpa_plain_matches_torch(q_shape, k_shape, v_dim):
    q, k = _rand(*q_shape), _rand(*k_shape, seed=1)
    v = _rand(*k_shape[:-1], v_dim, seed=2)
    check(F.scaled_dot_product_attention, torch.nn.functional.scaled_dot_product_attention, [q, k, v])


def test_sdpa_masks_causal_and_scale_match_torch():
    q, k, v = _rand(2, 2, 5, 4), _rand(2, 2, 6, 4, seed=1), _rand(2, 2, 6, 3, seed=2)
    tf = torch.nn.functional.scaled_dot_product_attention
    bool_mask = np.random.default_rng(3).random((5, 6)) > 0.3
    bool_mask[:, 0] = True  # every query sees a key
    check(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, attn_mask=shendu.tensor(bool_mask)),
          lambda a, b, c: tf(a, b, c, attn_mask=torch.tensor(bool_mask)), [q, k, v])
    float_mask = _rand(2, 1, 5, 6, seed=4)
    check(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, attn_mask=shendu.tensor(float_mask).to(dtype=a.dtype)),
          lambda a, b, c: tf(a, b, c, attn_mask=torch.tensor(float_mask).to(a.dtype)), [q, k, v])
    qs, ks, vs = _rand(2, 6, 4), _rand(2, 6, 4, seed=1), _rand(2, 6, 4, seed=2)
    check(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, is_causal=True, scale=0.3),
          lambda a, b, c: tf(a, b, c, is_causal=True, scale=0.3), [qs, ks, vs])


def test_sdpa_fully_masked_rows_give_zero_not_nan_like_torch():
    q, k, v = _rand(1, 2, 4, 3), _rand(1, 2, 5, 3, seed=1), _rand(1, 2, 5, 3, seed=2)
    mask = np.ones((4, 5), dtype=bool)
    mask[1] = False                                  # query 1 may attend to nothing
    fmask = np.where(mask, 0.0, -np.inf)
    tf = torch.nn.functional.scaled_dot_product_attention
    for m, tm in ((shendu.tensor(mask), torch.tensor(mask)), (shendu.tensor(fmask), torch.tensor(fmask))):
        check(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, attn_mask=m.to(dtype=a.dtype) if m.dtype.kind == "f" else m),
              lambda a, b, c: tf(a, b, c, attn_mask=tm.to(a.dtype) if tm.is_floating_point() else tm), [q, k, v],
              dtypes=(np.float64,))
    out = F.scaled_dot_product_attention(shendu.tensor(q), shendu.tensor(k), shendu.tensor(v),
                                         attn_mask=shendu.tensor(mask))
    assert np.isfinite(out.numpy()).all() and (out.numpy()[:, :, 1] == 0).all()


def test_sdpa_dropout_keeps_the_expectation_and_is_seeded():
    q = k = v = shendu.tensor(_rand(1, 1, 8, 4))
    shendu.manual_seed(0)
    a = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    shendu.manual_seed(0)
    b = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    assert np.array_equal(a.numpy(), b.numpy())
    assert not np.allclose(a.numpy(), F.scaled_dot_product_attention(q, k, v).numpy())
    assert np.allclose(F.scaled_dot_product_attention(q, k, v, dropout_p=0.5, training=False).numpy(),
                       F.scaled_dot_product_attention(q, k, v).numpy())


def test_sdpa_bad_input_names_the_function():
    q = shendu.randn(2, 5, 4)
    with pytest.raises(ValueError, match="scaled_dot_product_attention: expected query"):
        F.scaled_dot_product_attention(q, shendu.randn(2, 5, 3), shendu.randn(2, 5, 3))
    with pytest.raises(ValueError, match="does not broadcast"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=shendu.ones(4, 4, dtype=shendu.bool))
    with pytest.raises(TypeError, match="bool .* or floating"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=shendu.ones(5, 5, dtype=shendu.int64))
    with pytest.raises(ValueError, match="exclusive"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=shendu.ones(5, 5, dtype=shendu.bool), is_causal=True)


# ---------------------------------------------------------------- modules against torch, weights by name
def _load(ours, theirs):
    load_torch_state_dict(ours, theirs.state_dict())


def _compare(ours, theirs, inputs, call=lambda m, *xs: m(*xs), train=False):
    """Same weights, same float64 inputs: outputs and every gradient (inputs and parameters) to 1e-10."""
    theirs = theirs.double().train(train)
    ours.to(dtype=np.float64)
    _load(ours, theirs)
    ours.train(train)
    s_in = [shendu.tensor(a, requires_grad=a.dtype.kind == "f") if isinstance(a, np.ndarray) else a for a in inputs]
    t_in = [torch.tensor(a, requires_grad=a.dtype.kind == "f") if isinstance(a, np.ndarray) else a for a in inputs]
    s_out, t_out = call(ours, *s_in), call(theirs, *t_in)
    s_out = s_out if isinstance(s_out, tuple) else (s_out,)
    t_out = t_out if isinstance(t_out, tuple) else (t_out,)
    rng = np.random.default_rng(7)
    s_total, t_total = 0, 0
    for i, (s, t) in enumerate(zip(s_out, t_out)):
        assert (s is None) == (t is None), f"output {i}: {s} vs torch {t}"
        if t is None:
            continue
        assert_close(s.numpy(), t.detach().numpy(), what=f"output {i}", **TOL)
        w = rng.standard_normal(tuple(t.shape))
        s_total = s_total + (s * shendu.tensor(w)).sum()
        t_total = t_total + (t * torch.tensor(w)).sum()
    s_total.backward()
    t_total.backward()
    for i, (s, t) in enumerate(zip(s_in, t_in)):
        if isinstance(t, torch.Tensor) and t.grad is not None:
            assert_close(s.grad.numpy(), t.grad.numpy(), what=f"input gradient {i}", **TOL)
    mine = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        assert name in mine, f"{name} missing"
        assert p.grad is not None and mine[name].grad is not None, name
        assert_close(mine[name].grad.numpy(), p.grad.numpy(), what=f"gradient of {name}", **TOL)
    back = to_torch_state_dict(ours)  # the round trip to PyTorch is exact
    for name, t in theirs.state_dict().items():
        assert np.array_equal(np.asarray(back[name]), t.numpy()), name


MHA_CASES = {
    "self": (dict(), dict()),
    "no_bias": (dict(bias=False), dict()),
    "bias_kv_zero_attn": (dict(add_bias_kv=True, add_zero_attn=True), dict()),
    "kdim_vdim": (dict(kdim=5, vdim=3), dict()),
    "heads_unaveraged": (dict(), dict(average_attn_weights=False)),
    "no_weights": (dict(), dict(need_weights=False)),
    "padding_bool": (dict(), dict(key_padding_mask="bool")),
    "padding_float": (dict(), dict(key_padding_mask="float")),
    "attn_bool_2d": (dict(), dict(attn_mask="bool2")),
    "attn_float_3d": (dict(), dict(attn_mask="float3")),
    "both_masks_fused": (dict(add_bias_kv=True), dict(attn_mask="bool2", key_padding_mask="bool", need_weights=False)),
    "causal": (dict(), dict(attn_mask="causal", is_causal=True)),
}


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("case", sorted(MHA_CASES))
def test_multihead_attention_matches_torch(case, batch_first):
    kwargs, call_kw = MHA_CASES[case]
    E, H, N, L, S = 8, 2, 3, 4, 6
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(E, H, batch_first=batch_first, **kwargs)
    ours = nn.MultiheadAttention(E, H, batch_first=batch_first, **kwargs)
    kd, vd = kwargs.get("kdim", E), kwargs.get("vdim", E)
    self_attention = "kdim" not in kwargs and case not in ("padding_bool",)
    lay = (lambda n, l, d: (n, l, d)) if batch_first else (lambda n, l, d: (l, n, d))
    q = _rand(*lay(N, L, E), seed=1)
    k = q if self_attention and case in ("self", "causal") else _rand(*lay(N, S, kd), seed=2)
    v = k if k is q else _rand(*lay(N, k.shape[1 if batch_first else 0], vd), seed=3)
    S = k.shape[1 if batch_first else 0]
    rng = np.random.default_rng(4)
    masks = {"bool": rng.random((N, S)) > 0.6, "float": rng.standard_normal((N, S)),
             "bool2": rng.random((L, S)) > 0.6, "float3": rng.standard_normal((N * H, L, S)),
             "causal": np.triu(np.ones((L, S), dtype=bool), k=1)}
    for m in ("bool", "bool2"):
        masks[m][..., 0] = False  # every query keeps one key
    extra = {}
    for name in ("key_padding_mask", "attn_mask"):
        if name in call_kw:
            extra[name] = masks[call_kw[name]]
    flags = {k_: v_ for k_, v_ in call_kw.items() if k_ not in extra}

    def call(m, *xs):
        tensor = shendu.tensor if isinstance(m, nn.Module) else torch.tensor
        kw = {k_: tensor(v_) for k_, v_ in extra.items()}
        if len(xs) == 1:
            xs = xs * 3
        return m(*xs, **kw, **flags)

    inputs = [q] if k is q else [q, k, v]
    _compare(ours, theirs, inputs, call)


def test_multihead_attention_unbatched_and_errors():
    torch.manual_seed(1)
    theirs, ours = torch.nn.MultiheadAttention(6, 3), nn.MultiheadAttention(6, 3)
    x = _rand(5, 6)
    _compare(ours, theirs, [x], lambda m, a: m(a, a, a))
    with pytest.raises(ValueError, match="divisible by num_heads"):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(ValueError, match="key_padding_mask of shape"):
        ours(shendu.randn(5, 2, 6).double(), shendu.randn(5, 2, 6).double(), shendu.randn(5, 2, 6).double(),
             key_padding_mask=shendu.ones(3, 5, dtype=shendu.bool))
    with pytest.raises(ValueError, match="last dimension"):
        ours(shendu.randn(5, 2, 4), shendu.randn(5, 2, 4), shendu.randn(5, 2, 4))
    with pytest.raises(RuntimeError, match="need attn_mask"):
        ours(shendu.randn(5, 6), shendu.randn(5, 6), shendu.randn(5, 6), is_causal=True)


LAYER_CASES = [dict(norm_first=False), dict(norm_first=True), dict(activation="gelu", bias=False),
               dict(norm_first=True, activation=torch.nn.functional.gelu)]


def _same_activation(kw):
    return {**kw, "activation": F.gelu} if callable(kw.get("activation")) else kw


@pytest.mark.parametrize("kw", LAYER_CASES, ids=str)
def test_encoder_layer_matches_torch(kw):
    torch.manual_seed(2)
    theirs = torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=12, dropout=0.0, batch_first=True, **kw)
    ours = nn.TransformerEncoderLayer(8, 2, dim_feedforward=12, dropout=0.0, batch_first=True, **_same_activation(kw))
    x = _rand(3, 5, 8, seed=5)
    pad = np.zeros((3, 5), dtype=bool)
    pad[0, 3:] = True
    mask = nn.Transformer.generate_square_subsequent_mask(5).numpy().astype(np.float64)
    _compare(ours, theirs, [x], lambda m, a: m(a, src_mask=(shendu.tensor if isinstance(m, nn.Module)
                                                             else torch.tensor)(mask),
                                               src_key_padding_mask=(shendu.tensor if isinstance(m, nn.Module)
                                                                     else torch.tensor)(pad)), train=True)


@pytest.mark.parametrize("kw", LAYER_CASES, ids=str)
def test_decoder_layer_matches_torch(kw):
    torch.manual_seed(3)
    theirs = torch.nn.TransformerDecoderLayer(8, 2, dim_feedforward=12, dropout=0.0, **kw)
    ours = nn.TransformerDecoderLayer(8, 2, dim_feedforward=12, dropout=0.0, **_same_activation(kw))
    tgt, mem = _rand(4, 2, 8, seed=6), _rand(6, 2, 8, seed=7)
    mask = np.triu(np.ones((4, 4), dtype=bool), k=1)
    mpad = np.zeros((2, 6), dtype=bool)
    mpad[1, 4:] = True

    def call(m, a, b):
        t = shendu.tensor if isinstance(m, nn.Module) else torch.tensor
        return m(a, b, tgt_mask=t(mask), memory_key_padding_mask=t(mpad), tgt_is_causal=True)

    _compare(ours, theirs, [tgt, mem], call, train=True)


def test_transformer_matches_torch_and_stacks_copy_layers():
    torch.manual_seed(4)
    kw = dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=16, dropout=0.0)
    theirs, ours = torch.nn.Transformer(**kw), nn.Transformer(**kw)
    assert [k for k in ours.state_dict()] == [k for k in theirs.state_dict()]
    src, tgt = _rand(7, 2, 8, seed=8), _rand(5, 2, 8, seed=9)
    mask = nn.Transformer.generate_square_subsequent_mask(5).numpy().astype(np.float64)
    np.testing.assert_array_equal(mask, torch.nn.Transformer.generate_square_subsequent_mask(5).numpy())

    def call(m, a, b):
        t = shendu.tensor if isinstance(m, nn.Module) else torch.tensor
        return m(a, b, tgt_mask=t(mask))

    _compare(ours, theirs, [src, tgt], call, train=True)
    layers = ours.encoder.layers
    assert layers[0].linear1.weight is not layers[1].linear1.weight  # deep copies, as PyTorch
    with pytest.raises(RuntimeError, match="batch number"):
        ours(shendu.randn(7, 2, 8).double(), shendu.randn(5, 3, 8).double())


def test_dropout_in_training_and_none_in_eval():
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.5, batch_first=True)
    x = shendu.randn(2, 5, 8)
    shendu.manual_seed(0)
    a = layer(x)
    shendu.manual_seed(1)
    b = layer(x)
    assert not np.allclose(a.numpy(), b.numpy())
    layer.eval()
    assert np.array_equal(layer(x).numpy(), layer(x).numpy())
