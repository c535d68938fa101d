"""Linear, Dense, Identity, Flatten, Dropout and Embedding, checked against torch.nn."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import shendu
import shendu.functional as F
from shendu import nn
from harness import check, check_module

torch = pytest.importorskip("torch")
RNG = np.random.default_rng(0)


def randn(*shape):
    return RNG.standard_normal(shape)


# ---------------------------------------------------------------- Linear
@given(st.lists(st.integers(1, 4), min_size=0, max_size=2), st.integers(1, 5), st.integers(1, 5), st.booleans())
def test_linear_matches_torch(lead, n_in, n_out, bias):
    check_module(nn.Linear(n_in, n_out, bias=bias), torch.nn.Linear(n_in, n_out, bias=bias),
                 [randn(*lead, n_in)])


def test_linear_default_init_is_torch_kaiming_uniform():
    fc = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)  # kaiming_uniform_(a=√5): gain √(2/6), b = gain·√(3/400) = 1/√400
    w, b = fc.weight.numpy(), fc.bias.numpy()
    assert fc.weight.shape == (300, 400) and fc.bias.shape == (300,)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound  # the std of U(−b, b)
    assert np.abs(b).max() <= bound and abs(b.mean()) < 0.1 * bound


def test_linear_is_one_fused_node_and_counts_macs():
    fc = nn.Linear(4, 3)
    x = shendu.randn(2, 5, 4)
    y = fc(x)
    assert type(y._ctx).__name__ == "Linear"
    assert fc.macs((x,), y) == 2 * 5 * 4 * 3


def test_linear_rejects_wrong_input_shape():
    with pytest.raises(ValueError, match=r"^Linear: expected input with last dimension 4, got shape \(2, 3\)$"):
        nn.Linear(4, 3)(shendu.randn(2, 3))
    with pytest.raises(ValueError, match=r"got shape \(\)"):
        nn.Linear(4, 3)(shendu.tensor(1.0))


# ---------------------------------------------------------------- Dense
def test_dense_builds_on_first_call():
    layer = nn.Dense(10)
    assert layer.num_parameters() == 0 and list(layer.parameters()) == [] and not layer.built
    y = layer(shendu.randn(3, 5))
    assert y.shape == (3, 10) and layer.built and layer.in_features == 5
    assert layer.num_parameters() == 60  # 5·10 + 10
    assert layer.weight.shape == (10, 5) and layer.bias.shape == (10,)
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    with pytest.raises(ValueError, match=r"^Dense: expected input with last dimension 5, got shape \(3, 4\)$"):
        layer(shendu.randn(3, 4))


def test_dense_build_input_dim_and_keras_initialisers():
    a = nn.Dense(10, input_dim=5)
    b = nn.Dense(10).build((None, 5))
    assert a.num_parameters() == b.num_parameters() == 60
    big = nn.Dense(300, input_dim=400)
    bound = math.sqrt(6 / (400 + 300))  # glorot_uniform
    w = big.weight.numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert np.all(big.bias.numpy() == 0)
    nobias = nn.Dense(3, use_bias=False, kernel_initializer="zeros", input_dim=2)
    assert nobias.bias is None and nobias.num_parameters() == 6 and np.all(nobias.weight.numpy() == 0)
    with pytest.raises(ValueError, match="already built for input dimension 5"):
        a.build((None, 6))


def test_dense_matches_torch_linear_with_activation():
    layer = nn.Dense(4, activation=shendu.tanh, input_dim=3)
    ref = torch.nn.Linear(3, 4).double()
    layer.load_state_dict(ref.state_dict())
    layer.double()
    x = randn(6, 3)
    out = layer(shendu.tensor(x)).numpy()
    np.testing.assert_allclose(out, torch.tanh(ref(torch.tensor(x))).detach().numpy(), rtol=1e-10, atol=1e-12)
    plain = nn.Dense(4, input_dim=3)
    check_module(plain, torch.nn.Linear(3, 4), [randn(5, 3)])


def test_dense_activation_by_name():
    layer = nn.Dense(3, activation="relu", input_dim=2)
    y = layer(shendu.randn(50, 2))
    assert y.numpy().min() >= 0
    assert "activation=relu" in repr(layer)


def test_dense_builds_in_the_input_dtype_and_stores_regularizers():
    layer = nn.Dense(2, kernel_regularizer="l2", bias_regularizer=abs)
    layer(shendu.randn(3, 4, dtype=shendu.float64))
    assert layer.weight.dtype == np.float64
    assert layer.kernel_regularizer == "l2" and layer.bias_regularizer is abs


def test_dense_config_and_recorded_constructor_call_rebuild_the_built_layer():
    layer = nn.Dense(7, activation="tanh", kernel_initializer="he_normal")
    layer(shendu.randn(2, 3))
    cfg = layer.get_config()
    assert cfg["units"] == 7 and cfg["activation"] == "tanh" and cfg["kernel_initializer"] == "he_normal"
    cls, args, kwargs = layer._init_call
    twin = cls(*args, **kwargs)
    assert twin.built and twin.weight.shape == (7, 3)
    twin.load_state_dict(layer.state_dict())


# ---------------------------------------------------------------- Identity, Flatten
def test_identity_and_flatten_match_torch():
    x = randn(2, 3, 4, 5)
    check_module(nn.Identity(), torch.nn.Identity(), [x])
    check_module(nn.Flatten(), torch.nn.Flatten(), [x])
    check_module(nn.Flatten(0, 2), torch.nn.Flatten(0, 2), [x])
    check_module(nn.Flatten(-3, -2), torch.nn.Flatten(-3, -2), [x])
    with pytest.raises(ValueError, match=r"Flatten: axes 1..-1 do not exist in an input of shape \(8,\)"):
        nn.Flatten()(shendu.randn(8))


# ---------------------------------------------------------------- Dropout
def test_dropout_mask_statistics_and_scaling_match_torch():
    p, n = 0.3, 200_000
    ours = nn.Dropout(p)(shendu.ones(n)).numpy()
    theirs = torch.nn.Dropout(p)(torch.ones(n)).numpy()
    for y in (ours, theirs):
        kept = y[y != 0]
        np.testing.assert_allclose(kept, 1 / (1 - p), rtol=1e-6)  # survivors scaled by 1/(1 − p)
        assert abs((y == 0).mean() - p) < 4 * math.sqrt(p * (1 - p) / n)  # drop rate p, within 4σ
        assert abs(y.mean() - 1) < 0.01  # E[y] = x
    assert ours.dtype == np.float32


def test_dropout_eval_is_identity_and_same_seed_same_mask():
    drop = nn.Dropout(0.5)
    x = shendu.randn(64, 32)
    assert drop.eval()(x) is x
    drop.train()
    shendu.manual_seed(7)
    a = drop(x).numpy()
    shendu.manual_seed(7)
    b = drop(x).numpy()
    c = drop(x).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_dropout_gradient_is_the_scaled_mask():
    x = shendu.randn(10, 10, dtype=shendu.float64, requires_grad=True)
    y = F.dropout(x, p=0.4)
    y.sum().backward()
    mask = y.numpy() / x.numpy()
    np.testing.assert_allclose(x.grad.numpy(), mask, rtol=1e-12)
    assert set(np.round(np.unique(mask), 12)) <= {0.0, round(1 / 0.6, 12)}


def test_dropout_edge_probabilities_and_errors():
    x = shendu.randn(5, 5)
    assert F.dropout(x, 0.0) is x
    assert np.all(F.dropout(x, 1.0).numpy() == 0)
    with pytest.raises(ValueError, match=r"p must be a probability in \[0, 1\], received p=1.5"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match="received p=-0.1"):
        F.dropout(x, -0.1)


# ---------------------------------------------------------------- Embedding
def test_embedding_matches_torch_with_repeated_ids_and_padding():
    ids = np.array([[1, 3, 3, 0], [3, 2, 0, 1]])
    check_module(nn.Embedding(5, 4), torch.nn.Embedding(5, 4), [ids])
    check_module(nn.Embedding(5, 4, padding_idx=3), torch.nn.Embedding(5, 4, padding_idx=3), [ids])
    check_module(nn.Embedding(5, 4, padding_idx=-1), torch.nn.Embedding(5, 4, padding_idx=-1), [np.array([4, 4, 1])])


def test_embedding_gradient_adds_up_repeated_ids():
    emb = nn.Embedding(6, 2)
    emb(shendu.tensor([2, 2, 2, 5, 0, 2])).sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.numpy()[:, 0], [1, 0, 4, 0, 0, 1])


def test_embedding_init_padding_row_and_errors():
    emb = nn.Embedding(1000, 8, padding_idx=0)
    w = emb.weight.numpy()
    assert np.all(w[0] == 0) and abs(w[1:].std() - 1) < 0.05
    with pytest.raises(TypeError, match="Embedding: expected integer ids, got dtype float32"):
        emb(shendu.randn(3))
    with pytest.raises(IndexError, match="out of range"):
        emb(shendu.tensor([1000]))
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(3, 2, padding_idx=3)
    assert F.embedding([[0, 1]], emb.weight).shape == (1, 2, 8)


def test_embedding_from_pretrained_freezes():
    table = shendu.randn(4, 3)
    emb = nn.Embedding.from_pretrained(table)
    assert not emb.weight.requires_grad and emb.num_parameters(trainable_only=True) == 0
    np.testing.assert_array_equal(emb(shendu.tensor([2])).numpy()[0], table.numpy()[2])


def test_functional_embedding_against_torch():
    ids = np.array([[0, 2, 2], [1, 1, 0]])
    check(lambda w, i: F.embedding(i, w), lambda w, i: torch.nn.functional.embedding(i, w), [randn(3, 4), ids])
