"""GPT, ViT, positional encodings and the text pipeline: against a PyTorch twin built the same way (weights
by name, float64), and the properties that define them (causality, weight tying, relative positions)."""
from __future__ import annotations

import math

import numpy as np
import pytest

import shendu
import shendu.functional as F
from shendu import nn
from shendu.data import ByteTokenizer, CharTokenizer, DataLoader, TextWindows, text_splits, tokenizer_from_config
from shendu.bench.workloads import torch_gpt  # the PyTorch twin the benchmark runs
from shendu.models import GPT, ViT

from harness import assert_close

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("bias", [False, True])
def test_gpt_matches_a_pytorch_twin_in_float64(bias):
    shendu.manual_seed(0)
    ours = GPT(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8, bias=bias)
    ours.to(dtype=np.float64)
    theirs = torch_gpt(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8, bias=bias).double()
    sd = {k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()}
    theirs.load_state_dict(sd)
    assert set(sd) == set(theirs.state_dict())
    idx = np.random.default_rng(0).integers(0, 11, (3, 8))
    y = np.random.default_rng(1).integers(0, 11, (3, 8))
    a = ours(shendu.tensor(idx))
    b = theirs(torch.tensor(idx))
    assert_close(a.numpy(), b.detach().numpy(), 1e-10, 1e-12, "logits")
    F.cross_entropy(a.reshape(-1, 11), shendu.tensor(y.reshape(-1))).backward()
    torch.nn.functional.cross_entropy(b.reshape(-1, 11), torch.tensor(y.reshape(-1))).backward()
    mine = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        assert_close(mine[name].grad.numpy(), p.grad.numpy(), 1e-10, 1e-12, f"gradient of {name}")


def test_gpt_size_tying_causality_and_bad_input():
    model = GPT(vocab_size=65, block_size=64)
    assert model.num_parameters() == 804_096        # the 4 × 4 × 128 character model
    assert model.lm_head.weight is model.transformer["wte"].weight
    small = GPT(vocab_size=7, block_size=6, n_layer=1, n_head=2, n_embd=8)
    idx = np.array([[1, 2, 3, 4, 5, 6]])
    changed = idx.copy()
    changed[0, 4] = 0
    a, b = small(shendu.tensor(idx)).numpy(), small(shendu.tensor(changed)).numpy()
    np.testing.assert_array_equal(a[:, :4], b[:, :4])   # the past never sees the future
    assert not np.allclose(a[:, 4:], b[:, 4:])
    with pytest.raises(ValueError, match="block size is 6"):
        small(shendu.tensor(np.zeros((1, 7), dtype=np.int64)))
    with pytest.raises(ValueError, match="integer dtype"):
        small(shendu.randn(1, 3))
    with pytest.raises(ValueError, match="divisible"):
        GPT(vocab_size=7, block_size=6, n_head=3, n_embd=8)


def test_gpt_generate_is_seeded_streams_and_crops_the_context():
    model = GPT(vocab_size=9, block_size=4, n_layer=1, n_head=1, n_embd=8)
    shendu.manual_seed(3)
    a = model.generate([1, 2], 10, temperature=0.8, top_k=3)
    shendu.manual_seed(3)
    seen = []
    b = model.generate([1, 2], 10, temperature=0.8, top_k=3, stream=lambda ids: seen.append(int(ids[0])))
    assert a.tolist() == b.tolist() and seen == b[2:].tolist() and len(b) == 12
    greedy = model.generate([[1, 2], [3, 4]], 5, greedy=True)
    assert greedy.shape == (2, 7) and greedy.tolist() == model.generate([[1, 2], [3, 4]], 5, top_k=1).tolist()
    with pytest.raises(ValueError, match=r"prompt ids must be in \[0, 9\)"):
        model.generate([1, 12], 3)
    with pytest.raises(ValueError, match="temperature must be positive"):
        model.generate([1], 3, temperature=0)


def test_gpt_learns_a_pattern_with_rotary_positions():
    shendu.manual_seed(0)
    model = GPT(vocab_size=5, block_size=8, n_layer=1, n_head=2, n_embd=16, rotary=True)
    seq = np.tile(np.array([0, 1, 2, 3, 4]), 4)
    x, y = seq[None, :8].repeat(4, 0), seq[None, 1:9].repeat(4, 0)
    opt = shendu.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(60):
        loss = F.cross_entropy(model(shendu.tensor(x)).reshape(-1, 5), shendu.tensor(y.reshape(-1)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05
    assert model.generate([0, 1], 6, greedy=True).tolist() == [0, 1, 2, 3, 4, 0, 1, 2]


def test_vit_shapes_gradients_and_errors():
    vit = ViT(image_size=28, patch_size=7, dim=16, depth=1, heads=2, mlp_dim=32)
    x = shendu.randn(3, 1, 28, 28)
    out = vit(x)
    assert out.shape == (3, 10)
    out.sum().backward()
    assert all(p.grad is not None for p in vit.parameters())
    assert vit.pos_embed.shape == (1, 17, 16)
    with pytest.raises(ValueError, match="not divisible"):
        ViT(image_size=28, patch_size=5)
    with pytest.raises(ValueError, match=r"expected images \(N, 1, 28, 28\)"):
        vit(shendu.randn(3, 1, 32, 32))


def test_sinusoidal_table_is_the_papers_formula():
    pe = nn.SinusoidalPositionalEncoding(6, max_len=10)
    table = pe.pe.numpy()
    for pos in (0, 3, 9):
        for i in range(3):
            angle = pos / 10000 ** (2 * i / 6)
            assert math.isclose(table[pos, 2 * i], math.sin(angle), rel_tol=1e-6, abs_tol=1e-7)
            assert math.isclose(table[pos, 2 * i + 1], math.cos(angle), rel_tol=1e-6, abs_tol=1e-7)
    x = shendu.zeros(2, 4, 6)
    np.testing.assert_allclose(pe(x).numpy()[1], table[:4], rtol=1e-6)
    with pytest.raises(ValueError, match="longer than the positional table"):
        pe(shendu.zeros(1, 11, 6))
    learned = nn.LearnedPositionalEmbedding(5, 6)
    assert learned(shendu.zeros(2, 5, 6)).shape == (2, 5, 6)


def test_rotary_scores_depend_only_on_relative_position():
    rope = nn.RotaryEmbedding(8, max_len=16)
    rope.to(dtype=np.float64)
    rng = np.random.default_rng(0)
    q, k = rng.standard_normal(8), rng.standard_normal(8)

    def score(i, j):  # q at position i, k at position j
        seq_q = np.zeros((16, 8)); seq_q[i] = q
        seq_k = np.zeros((16, 8)); seq_k[j] = k
        return float(rope(shendu.tensor(seq_q)).numpy()[i] @ rope(shendu.tensor(seq_k)).numpy()[j])

    assert math.isclose(score(5, 2), score(12, 9), rel_tol=1e-10)
    assert not math.isclose(score(5, 2), score(5, 3), rel_tol=1e-3)
    assert math.isclose(score(0, 0), float(q @ k), rel_tol=1e-10)   # position 0 is no rotation
    shendu.gradcheck(lambda t: rope(t), shendu.tensor(rng.standard_normal((2, 5, 8))))


def test_tokenizers_and_windows(tmp_path):
    tok = CharTokenizer("hello world")
    assert tok.decode(tok.encode("low rod")) == "low rod"
    with pytest.raises(ValueError, match=r"'z' \(U\+007A\) at position 2 is not in the vocabulary"):
        tok.encode("hez")
    assert tokenizer_from_config(tok.get_config()).chars == tok.chars
    b = ByteTokenizer()
    assert b.decode(b.encode("深度 ok")) == "深度 ok" and b.vocab_size == 256
    ds = TextWindows(np.arange(20), block_size=5)
    xb, yb = next(iter(DataLoader(ds, batch_size=4, shuffle=True, seed=0)))
    np.testing.assert_array_equal(yb.numpy()[:, :-1], xb.numpy()[:, 1:])
    np.testing.assert_array_equal(xb.numpy()[:, 1:] - xb.numpy()[:, :-1], 1)
    path = tmp_path / "t.txt"
    path.write_text("abcdefghij" * 10, encoding="utf-8")
    train, val, tok = text_splits(path, block_size=4)
    assert len(train) == 90 - 4 and len(val) == 10 - 4 and tok.vocab_size == 10
    assert tok.decode(val.ids) == ("abcdefghij" * 10)[90:]


# ---------------------------------------------------------------- Bahdanau and Luong attention
def _np_softmax(e):
    e = np.exp(e - e.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_additive_attention_is_bahdanaus_formula_and_masks():
    shendu.manual_seed(0)
    att = nn.AdditiveAttention(query_dim=3, key_dim=4, hidden_dim=5)
    att.to(dtype=np.float64)
    rng = np.random.default_rng(0)
    q, k = rng.standard_normal((2, 3)), rng.standard_normal((2, 6, 4))
    mask = np.ones((2, 6), dtype=bool)
    mask[1, 4:] = False
    context, weights = att(shendu.tensor(q), shendu.tensor(k), mask=shendu.tensor(mask))
    Wq, Wk, bk, v = (att.query_proj.weight.numpy(), att.key_proj.weight.numpy(), att.key_proj.bias.numpy(),
                     att.v.weight.numpy()[0])
    e = np.tanh((q @ Wq.T)[:, None, :] + k @ Wk.T + bk) @ v          # (2, 6)
    e = np.where(mask, e, -np.inf)
    alpha = _np_softmax(e)
    np.testing.assert_allclose(weights.numpy(), alpha, rtol=1e-12)
    np.testing.assert_allclose(context.numpy(), np.einsum("ns,nsd->nd", alpha, k), rtol=1e-12)
    assert (weights.numpy()[1, 4:] == 0).all()
    shendu.gradcheck(lambda a, b: att(a, b)[0], shendu.tensor(q), shendu.tensor(k))
    ctx3, w3 = att(shendu.tensor(rng.standard_normal((2, 5, 3))), shendu.tensor(k))   # a query per output step
    assert ctx3.shape == (2, 5, 4) and w3.shape == (2, 5, 6)


def test_luong_dot_and_general_attention():
    rng = np.random.default_rng(1)
    q, k, vals = rng.standard_normal((2, 4)), rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 3))
    dot = nn.DotProductAttention(4, 4)
    context, weights = dot(shendu.tensor(q), shendu.tensor(k), shendu.tensor(vals))
    alpha = _np_softmax(np.einsum("nd,nsd->ns", q, k))
    np.testing.assert_allclose(weights.numpy(), alpha, rtol=1e-12)
    np.testing.assert_allclose(context.numpy(), np.einsum("ns,nsd->nd", alpha, vals), rtol=1e-12)
    general = nn.DotProductAttention(4, 6, mode="general", scaled=True)
    general.to(dtype=np.float64)
    k6 = rng.standard_normal((2, 5, 6))
    W = general.weight.weight.numpy()                                  # (4, 6): q · W k
    _, w = general(shendu.tensor(q), shendu.tensor(k6))
    np.testing.assert_allclose(w.numpy(), _np_softmax(np.einsum("nd,de,nse->ns", q, W, k6) / np.sqrt(6)),
                               rtol=1e-12)
    with pytest.raises(ValueError, match="use mode='general'"):
        nn.DotProductAttention(4, 6)
    with pytest.raises(ValueError, match="expected a bool mask"):
        dot(shendu.tensor(q), shendu.tensor(k), mask=shendu.ones(2, 4, dtype=shendu.bool))


def test_transformer_classifier_ignores_padding_and_learns():
    from shendu.models import TransformerClassifier
    shendu.manual_seed(0)
    model = TransformerClassifier(vocab_size=8, num_classes=2, max_len=12, d_model=16, nhead=2, num_layers=1,
                                  dropout=0.0)
    ids = np.array([[5, 7, 3, 0], [3, 2, 0, 0]])
    longer = np.pad(ids, ((0, 0), (0, 3)))
    model.eval()
    np.testing.assert_allclose(model(shendu.tensor(ids)).numpy(), model(shendu.tensor(longer)).numpy(), atol=1e-6)
    np.testing.assert_allclose(model(shendu.tensor(ids), lengths=[3, 2]).numpy(),
                               model(shendu.tensor(ids)).numpy(), atol=1e-6)
    rng = np.random.default_rng(0)                     # the class: does token 1 occur?
    x = rng.integers(2, 8, (256, 10))
    y = rng.integers(0, 2, 256)
    x[y == 1, rng.integers(0, 10, int(y.sum()))] = 1
    model.train()
    opt = shendu.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(40):
        loss = F.cross_entropy(model(shendu.tensor(x)), shendu.tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    assert (model(shendu.tensor(x)).numpy().argmax(1) == y).mean() > 0.95
    with pytest.raises(ValueError, match="integer dtype"):
        model(shendu.randn(2, 3))
