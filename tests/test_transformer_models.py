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
