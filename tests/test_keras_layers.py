"""shendu.keras layers against real Keras 3 (torch backend), layer by layer.

Each case builds the same layer in both, copies Keras's weights into shendu's with
``set_weights(get_weights())`` (so the weight layouts must agree), and compares the
outputs, the gradients with respect to the inputs and the gradients with respect
to every trainable weight; parameter counts must agree too.
"""
import numpy as np
import pytest

from keras_reference import compare_layer, rk, sk, torch

import shendu

R = np.random.default_rng(0)


def arr(*shape):
    return R.standard_normal(shape).astype("float32")


X2 = arr(2, 7, 7, 3)      # (N, H, W, C): channels last
X1 = arr(2, 9, 3)         # (N, steps, C)
SEQ = arr(3, 6, 4)

CASES = {
    "dense": (lambda L: L.Dense(5, activation="relu"), [arr(4, 3)]),
    "dense_3d": (lambda L: L.Dense(5, use_bias=False, activation="tanh"), [arr(2, 4, 3)]),
    "conv1d_valid": (lambda L: L.Conv1D(4, 3, activation="relu"), [X1]),
    "conv1d_same_s2": (lambda L: L.Conv1D(4, 3, strides=2, padding="same"), [X1]),
    "conv1d_causal_dilated": (lambda L: L.Conv1D(4, 3, padding="causal", dilation_rate=2), [X1]),
    "conv2d_valid": (lambda L: L.Conv2D(4, 3, activation="relu"), [X2]),
    "conv2d_same_s2": (lambda L: L.Conv2D(4, (3, 2), strides=2, padding="same"), [X2]),
    "conv2d_dilated": (lambda L: L.Conv2D(4, 3, dilation_rate=2, padding="same"), [X2]),
    "conv2d_groups": (lambda L: L.Conv2D(6, 3, groups=3), [X2]),
    "conv2d_channels_first": (lambda L: L.Conv2D(4, 3, data_format="channels_first"), [arr(2, 3, 7, 7)]),
    "conv2dT_same_k3s2": (lambda L: L.Conv2DTranspose(4, 3, strides=2, padding="same"), [X2]),
    "conv2dT_valid_k3s2": (lambda L: L.Conv2DTranspose(4, 3, strides=2, padding="valid"), [X2]),
    "conv2dT_same_k4s2": (lambda L: L.Conv2DTranspose(4, 4, strides=2, padding="same"), [X2]),
    "conv2dT_valid_k1s2": (lambda L: L.Conv2DTranspose(4, 1, strides=2), [X2]),
    "maxpool2d": (lambda L: L.MaxPooling2D(), [X2]),
    "maxpool2d_same": (lambda L: L.MaxPooling2D(3, 2, padding="same"), [X2]),
    "avgpool2d_same": (lambda L: L.AveragePooling2D(3, 2, padding="same"), [X2]),
    "avgpool2d": (lambda L: L.AveragePooling2D((2, 3)), [X2]),
    "maxpool1d_same": (lambda L: L.MaxPooling1D(2, padding="same"), [X1]),
    "avgpool1d": (lambda L: L.AveragePooling1D(3, 2), [X1]),
    "gap2d": (lambda L: L.GlobalAveragePooling2D(), [X2]),
    "gmp2d_keepdims": (lambda L: L.GlobalMaxPooling2D(keepdims=True), [X2]),
    "gap1d": (lambda L: L.GlobalAveragePooling1D(), [X1]),
    "gmp1d": (lambda L: L.GlobalMaxPooling1D(), [X1]),
    "flatten": (lambda L: L.Flatten(), [X2]),
    "reshape": (lambda L: L.Reshape((7, -1)), [X2]),
    "batchnorm_inference": (lambda L: L.BatchNormalization(), [X2]),
    "layernorm": (lambda L: L.LayerNormalization(), [X1]),
    "activation_gelu": (lambda L: L.Activation("gelu"), [X1]),
    "activation_softmax": (lambda L: L.Activation("softmax"), [X1]),
    "activation_hard_sigmoid": (lambda L: L.Activation("hard_sigmoid"), [X1]),
    "activation_leaky": (lambda L: L.Activation("leaky_relu"), [X1]),
    "relu_capped": (lambda L: L.ReLU(max_value=0.8, negative_slope=0.1, threshold=0.2), [X1]),
    "leaky_relu_layer": (lambda L: L.LeakyReLU(), [X1]),
    "softmax_layer": (lambda L: L.Softmax(), [X1]),
    "rescaling": (lambda L: L.Rescaling(1 / 255, offset=-1), [X2]),
    "simple_rnn": (lambda L: L.SimpleRNN(5), [SEQ]),
    "simple_rnn_relu_seq": (lambda L: L.SimpleRNN(5, activation="relu", return_sequences=True), [SEQ]),
    "lstm": (lambda L: L.LSTM(5), [SEQ]),
    "lstm_seq_state": (lambda L: L.LSTM(5, return_sequences=True, return_state=True), [SEQ]),
    "lstm_backwards": (lambda L: L.LSTM(5, go_backwards=True, return_sequences=True), [SEQ]),
    "gru": (lambda L: L.GRU(5, return_sequences=True), [SEQ]),
    "gru_state_backwards": (lambda L: L.GRU(5, return_state=True, go_backwards=True), [SEQ]),
    "bidirectional_lstm": (lambda L: L.Bidirectional(L.LSTM(4, return_sequences=True)), [SEQ]),
    "bidirectional_gru_sum": (lambda L: L.Bidirectional(L.GRU(4), merge_mode="sum"), [SEQ]),
    "time_distributed": (lambda L: L.TimeDistributed(L.Dense(3)), [SEQ]),
    "mha_self": (lambda L: L.MultiHeadAttention(2, 3), [SEQ, SEQ]),
    "mha_cross_value_dim": (lambda L: L.MultiHeadAttention(3, 2, value_dim=5, output_shape=7), [SEQ, arr(3, 4, 5)]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_layer_matches_keras(name):
    make, inputs = CASES[name]
    compare_layer(make, inputs)


def test_embedding_matches_keras():
    ids = R.integers(0, 10, (3, 5))
    ref, mine = rk.layers.Embedding(10, 4), sk.layers.Embedding(10, 4)
    ref(torch.tensor(ids))
    mine.set_weights(ref.get_weights())
    np.testing.assert_allclose(mine(ids).numpy(), ref(torch.tensor(ids)).detach().numpy())
    assert mine.count_params() == ref.count_params() == 40


def test_merge_layers_match_keras():
    a, b = arr(2, 3), arr(2, 3)
    for name in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"):
        ref = getattr(rk.layers, name)()([torch.tensor(a), torch.tensor(b)]).numpy()
        mine = getattr(sk.layers, name)()([a, b]).numpy()
        np.testing.assert_allclose(mine, ref, rtol=1e-6, err_msg=name)


def test_mha_causal_mask_and_scores_match_keras():
    ref, mine = rk.layers.MultiHeadAttention(2, 3), sk.layers.MultiHeadAttention(2, 3)
    ref(torch.tensor(SEQ), torch.tensor(SEQ))
    mine(SEQ, SEQ)
    mine.set_weights(ref.get_weights())
    r_out, r_scores = ref(torch.tensor(SEQ), torch.tensor(SEQ), use_causal_mask=True, return_attention_scores=True)
    m_out, m_scores = mine(SEQ, SEQ, use_causal_mask=True, return_attention_scores=True)
    np.testing.assert_allclose(m_out.numpy(), r_out.detach().numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(m_scores.numpy(), r_scores.detach().numpy(), rtol=1e-4, atol=1e-6)
    mask = R.random((3, 6, 6)) > 0.3
    mask[:, :, 0] = True
    r = ref(torch.tensor(SEQ), torch.tensor(SEQ), attention_mask=torch.tensor(mask)).detach().numpy()
    np.testing.assert_allclose(mine(SEQ, SEQ, attention_mask=mask).numpy(), r, rtol=1e-4, atol=1e-6)


def test_batchnorm_training_step_and_moving_statistics_match_keras():
    ref, mine = compare_layer(lambda L: L.BatchNormalization(momentum=0.9), [X2], training=True)
    # one more training call each: Keras's moving-statistics rule (biased variance, momentum 0.9)
    ref(torch.tensor(X2), training=True)
    mine(shendu.tensor(X2), training=True)
    for a, b in zip(mine.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert [w.shape for w in mine.non_trainable_weights] == [(3,), (3,)]


def test_dropout_scales_in_training_and_is_identity_in_inference():
    x = np.ones((200, 50), "float32")
    layer = sk.layers.Dropout(0.3)
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    y = layer(x, training=True).numpy()
    assert np.all(np.isclose(y, 0) | np.isclose(y, 1 / 0.7))
    assert abs((y == 0).mean() - 0.3) < 0.03


def test_random_flip_and_rotation_are_training_only_augmentations():
    img = np.arange(2 * 4 * 4, dtype="float32").reshape(2, 4, 4, 1)
    flip = sk.layers.RandomFlip("horizontal")
    np.testing.assert_array_equal(flip(img).numpy(), img)
    shendu.manual_seed(3)
    out = flip(img, training=True).numpy()
    for o, i in zip(out, img):
        assert np.array_equal(o, i) or np.array_equal(o, i[:, ::-1])
    rot = sk.layers.RandomRotation((0.25, 0.25), fill_mode="constant", interpolation="nearest")
    np.testing.assert_array_equal(rot(img).numpy(), img)
    turned = rot(img, training=True).numpy()  # a quarter turn counter-clockwise
    np.testing.assert_array_equal(turned[0, :, :, 0], np.rot90(img[0, :, :, 0]))


INITIALIZERS = ["glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "lecun_normal", "lecun_uniform",
                "random_normal", "random_uniform", "truncated_normal", "orthogonal", "zeros", "ones"]


@pytest.mark.parametrize("name", INITIALIZERS)
def test_initializer_statistics_match_keras(name):
    shape = (3, 3, 64, 64)
    ref = rk.initializers.get(name)(shape)
    ref = ref.detach().numpy() if hasattr(ref, "detach") else np.asarray(ref)
    mine = sk.initializers.get(name)(shape)
    assert mine.shape == shape and mine.dtype == np.float32
    # the others are truncated or uniform: compare the range. Not truncated_normal's: Keras's torch backend
    # keeps the 1st of 4 normal draws when all 4 fall outside ±2σ (keras/src/backend/torch/random.py), so its
    # extremes exceed 2σ in some runs; shendu keeps to the documented ±2σ, checked directly below
    # the variance-scaling normals (glorot/he/lecun_normal) draw from that same truncated normal
    truncated = {"truncated_normal": 0.05, "glorot_normal": np.sqrt(2 / (576 + 576)) / 0.87962566103423978,
                 "he_normal": np.sqrt(2 / 576) / 0.87962566103423978,
                 "lecun_normal": np.sqrt(1 / 576) / 0.87962566103423978}
    bounded = name not in ("random_normal", "orthogonal", *truncated)
    if name in truncated:
        sigma = truncated[name]
        assert 1.9 * sigma < np.abs(mine).max() <= 2 * sigma * (1 + 1e-6)
    for stat in (np.mean, np.std) + ((np.min, np.max) if bounded else ()):
        np.testing.assert_allclose(stat(mine), stat(ref), atol=0.01 * max(1.0, float(np.std(ref))) + 2e-3,
                                   rtol=0.03, err_msg=f"{name} {stat.__name__}")


def test_layers_draw_keras_default_initializers():
    dense = sk.layers.Dense(300)
    dense.maybe_build((None, 200))
    limit = np.sqrt(6 / 500)  # Glorot uniform
    k = dense.get_weights()[0]
    assert k.shape == (200, 300) and np.abs(k).max() <= limit and np.abs(k).max() > 0.95 * limit
    assert not dense.get_weights()[1].any()
    lstm = sk.layers.LSTM(8)
    lstm.maybe_build((None, 5, 3))
    kernel, recurrent, bias = lstm.get_weights()
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(8), atol=1e-5)  # orthogonal rows
    np.testing.assert_array_equal(bias, np.r_[np.zeros(8), np.ones(8), np.zeros(16)])  # unit forget bias
    emb = sk.layers.Embedding(1000, 50).get_weights()[0]
    assert np.abs(emb).max() <= 0.05 and emb.std() > 0.025  # U(−0.05, 0.05)
