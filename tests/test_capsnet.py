"""Capsule networks (Sabour et al. 2017): squash, routing by agreement, margin loss, CapsNet."""
from __future__ import annotations

import numpy as np
import pytest

import shendu
from shendu import functional as F
from shendu.models import CapsNet, capsnet, count_parameters
from shendu.nn import init
from shendu.nn.capsule import CapsuleLayer, PrimaryCaps, dynamic_routing, margin_loss, squash


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ------------------------------------------------------------------ squash
def test_squash_is_eq1():
    s = _rand(4, 7, 5)
    v = squash(shendu.tensor(s)).data
    norm = np.linalg.norm(s, axis=-1, keepdims=True)
    np.testing.assert_allclose(v, norm ** 2 / (1 + norm ** 2) * s / norm, rtol=1e-6)
    assert (np.linalg.norm(v, axis=-1) < 1).all()
    # short vectors shrink towards 0, long ones towards length 1
    assert np.linalg.norm(squash(shendu.tensor([[1e-3, 0.0]])).data) < 1e-5
    assert np.linalg.norm(squash(shendu.tensor([[1e3, 0.0]])).data) > 0.999


def test_squash_gradcheck_and_zero_vector():
    assert shendu.gradcheck(lambda t: squash(t, dim=1), shendu.tensor(_rand(3, 4, 2)))
    z = shendu.zeros(2, 3, dtype=shendu.float64, requires_grad=True)
    squash(z).sum().backward()
    assert np.isfinite(z.grad.data).all()


# ------------------------------------------------------------------ routing
def procedure1(u_hat, r):
    """Procedure 1 of Sabour et al. (2017), transcribed line by line with loops (one sample)."""
    n_in, n_out, d = u_hat.shape
    b = np.zeros((n_in, n_out))
    for _ in range(r):
        c = np.zeros_like(b)
        for i in range(n_in):                      # c_i ← softmax(b_i): over the parents j
            e = np.exp(b[i] - b[i].max())
            c[i] = e / e.sum()
        v = np.zeros((n_out, d))
        for j in range(n_out):
            s_j = sum(c[i, j] * u_hat[i, j] for i in range(n_in))
            n2 = s_j @ s_j
            v[j] = n2 / (1 + n2) * s_j / np.sqrt(n2)
        for i in range(n_in):
            for j in range(n_out):
                b[i, j] = b[i, j] + u_hat[i, j] @ v[j]
    return v, c


@pytest.mark.parametrize("r", [1, 2, 3, 5])
def test_routing_matches_procedure1(r):
    u_hat = _rand(2, 6, 4, 3, seed=r)
    v, c = dynamic_routing(shendu.tensor(u_hat), r)
    for n in range(2):
        v_ref, c_ref = procedure1(u_hat[n], r)
        np.testing.assert_allclose(v.data[n], v_ref, rtol=1e-6, atol=1e-8)  # ε = 1e-8 under the root
        np.testing.assert_allclose(c.data[n], c_ref, rtol=1e-6, atol=1e-8)  # ε = 1e-8 under the root


def test_coupling_of_each_child_sums_to_one_over_parents():
    _, c = dynamic_routing(shendu.tensor(_rand(3, 7, 5, 4)), 3)
    np.testing.assert_allclose(c.data.sum(axis=2), 1.0, rtol=1e-12)     # over the parents j
    assert not np.allclose(c.data.sum(axis=1), 1.0)                       # not over the children i


def test_routing_sends_a_child_to_the_parent_it_agrees_with():
    # Children 0-3 all predict the same vector for parent 0 and noise for parent 1: routing couples them to 0.
    rng = np.random.default_rng(1)
    u_hat = np.zeros((1, 4, 2, 3))
    u_hat[0, :, 0] = [1.0, 0.5, 0.0]
    u_hat[0, :, 1] = rng.standard_normal((4, 3)) * 0.5
    _, c1 = dynamic_routing(shendu.tensor(u_hat), 1)
    _, c3 = dynamic_routing(shendu.tensor(u_hat), 3)
    np.testing.assert_allclose(c1.data, 0.5)
    assert (c3.data[0, :, 0] > 0.6).all()


def test_routing_gradcheck():
    assert shendu.gradcheck(lambda t: dynamic_routing(t, 3)[0], shendu.tensor(_rand(2, 5, 3, 4)))


def composed_squash(s, dim=-1, eps=1e-8):
    """Eq. 1 composed from tensor ops (autograd differentiates it): the reference of the fused Squash."""
    sq = (s * s).sum(axis=dim, keepdims=True)
    return s * (sq / ((sq + 1.0) * (sq + eps).sqrt()))


def composed_routing(u_hat, r):
    """Procedure 1 composed from tensor ops (autograd differentiates it): the reference of the fused
    DynamicRouting's hand-written backward."""
    b = shendu.zeros(*u_hat.shape[:3], dtype=u_hat.dtype)
    for k in range(r):
        c = F.softmax(b, dim=2)
        v = composed_squash(F.einsum("nij,nijd->njd", c, u_hat))
        if k < r - 1:
            b = b + F.einsum("nijd,njd->nij", u_hat, v)
    return v, c


@pytest.mark.parametrize("r", [1, 2, 3, 4])
def test_routing_gradient_matches_the_composed_ops(r):
    rng = np.random.default_rng(10 + r)
    u_hat = rng.standard_normal((3, 7, 4, 5))
    gv, gc = rng.standard_normal((3, 4, 5)), rng.standard_normal((3, 7, 4))
    grads = []
    for routing in (dynamic_routing, composed_routing):
        t = shendu.tensor(u_hat, requires_grad=True)
        v, c = routing(t, r)
        ((v * shendu.tensor(gv)).sum() + (c * shendu.tensor(gc)).sum()).backward()
        grads.append((v.data, c.data, t.grad.data))
    for fused, composed in zip(*grads):
        np.testing.assert_allclose(fused, composed, rtol=1e-10, atol=1e-12)


def test_squash_matches_the_composed_ops():
    s = _rand(4, 3, 6)
    g = _rand(4, 3, 6, seed=1)
    for dim in (-1, 1):
        grads = []
        for f in (squash, composed_squash):
            t = shendu.tensor(s, requires_grad=True)
            y = f(t, dim=dim)
            (y * shendu.tensor(g)).sum().backward()
            grads.append((y.data, t.grad.data))
        for fused, composed in zip(*grads):
            np.testing.assert_allclose(fused, composed, rtol=1e-10, atol=1e-12)


def test_routing_gradcheck_of_the_coupling_coefficients():
    assert shendu.gradcheck(lambda t: dynamic_routing(t, 3)[1], shendu.tensor(_rand(2, 5, 3, 4)))


def test_routing_float32_stays_float32():
    v, c = dynamic_routing(shendu.randn(2, 6, 3, 4), 3)
    assert v.dtype == shendu.float32 and c.dtype == shendu.float32


def test_routing_bad_input():
    with pytest.raises(ValueError, match="dynamic_routing: expected predictions"):
        dynamic_routing(shendu.randn(2, 3, 4), 3)
    with pytest.raises(ValueError, match="iterations must be an int >= 1"):
        dynamic_routing(shendu.randn(1, 2, 3, 4), 0)
    with pytest.raises(ValueError, match="CapsuleLayer: routings"):
        CapsuleLayer(4, 2, 3, 2, routings=0)
    with pytest.raises(ValueError, match=r"CapsuleLayer: expected input capsules of shape \(N, 4, 2\)"):
        CapsuleLayer(4, 2, 3, 2)(shendu.randn(1, 5, 2))


# ------------------------------------------------------------------ margin loss
def test_margin_loss_is_eq4():
    lengths = np.random.default_rng(2).uniform(0, 1, (5, 4))
    y = np.array([0, 3, 1, 1, 2])
    t = np.eye(4)[y]
    ref = (t * np.maximum(0, 0.9 - lengths) ** 2 + 0.5 * (1 - t) * np.maximum(0, lengths - 0.1) ** 2).sum(1)
    got = margin_loss(shendu.tensor(lengths), shendu.tensor(y), reduction="none").data
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    assert margin_loss(shendu.tensor(lengths), y).item() == pytest.approx(ref.mean())
    assert margin_loss(shendu.tensor(lengths), y, reduction="sum").item() == pytest.approx(ref.sum())
    # the zero-loss region: present ≥ 0.9, absent ≤ 0.1
    assert margin_loss(shendu.tensor([[0.95, 0.05]]), [0]).item() == 0.0


def test_margin_loss_gradcheck():
    y = shendu.tensor([2, 0, 1])
    assert shendu.gradcheck(lambda t: margin_loss(squash(t).norm(dim=-1), y), shendu.tensor(_rand(3, 3, 4)))


# ------------------------------------------------------------------ the network
def test_paper_configuration_parameter_count():
    assert count_parameters("capsnet") == 8_215_568
    assert count_parameters("capsnet", decoder=False) == 6_804_224
    with init.skip():
        net = capsnet()
    assert net.digitcaps.weight.shape == (1152, 10, 16, 8)
    assert net.primary.conv.weight.shape == (256, 256, 9, 9)


def test_summary_says_8215568(capsys):
    net = capsnet()                                      # drawn weights: summary runs one forward pass
    net.summary((1, 28, 28))
    assert "Total params:          8,215,568" in capsys.readouterr().out


def test_reduced_configuration():
    net = capsnet(reduced=True)
    assert (net.conv1.out_channels, net.primary.num_types, net.primary.dim) == (64, 8, 8)
    assert (net.digitcaps.in_caps, net.digitcaps.out_caps, net.digitcaps.out_dim, net.digitcaps.routings) == \
        (8 * 6 * 6, 10, 16, 3)
    assert net.decoder is not None and net.num_parameters() == 2_117_072
    out = net(shendu.rand(2, 1, 28, 28))
    assert out.shape == (2, 10) and ((out.data >= 0) & (out.data < 1)).all()


def tiny(**kw):
    return CapsNet(num_classes=3, input_size=19, conv_channels=2, primary_types=2, primary_dim=2, digit_dim=3,
                   decoder_sizes=(4, 5), **kw)


def test_capsnet_gradcheck_whole_network():
    shendu.manual_seed(0)
    net = tiny().double()
    x = shendu.tensor(np.random.default_rng(3).uniform(0, 1, (2, 1, 19, 19)))
    assert shendu.gradcheck(net, x)                       # the lengths, w.r.t. every parameter

    class Loss(shendu.nn.Module):                         # margin + reconstruction, through the decoder
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            return self.net.losses(x, shendu.tensor([0, 2]))[0]

    assert shendu.gradcheck(Loss(net), x)


def test_reconstruction_masks_all_but_one_capsule():
    shendu.manual_seed(0)
    net = tiny()
    v = shendu.randn(2, 3, 3)
    a = net.reconstruct(v, [1, 1]).data
    v2 = v.data.copy()
    v2[:, [0, 2]] = 123.0                                # the masked capsules do not matter
    np.testing.assert_allclose(net.reconstruct(shendu.tensor(v2), [1, 1]).data, a)
    longest = shendu.tensor(np.array([[[0, 0, 0], [5, 0, 0], [0, 1, 0]]] * 2, dtype=np.float32))
    np.testing.assert_allclose(net.reconstruct(longest).data, net.reconstruct(longest, [1, 1]).data)
    total, margin, rec, _ = net.losses(shendu.rand(2, 1, 19, 19), shendu.tensor([0, 1]))
    assert total.item() == pytest.approx(margin.item() + rec.item())
    assert rec.item() > 0


def test_fit_trains_with_the_capsule_losses():
    # two classes: a bright left or right half; a few steps of fit lower the loss
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 0.2, (32, 1, 25, 25)).astype(np.float32)
    y = np.arange(32) % 2
    x[y == 0, :, :, :12] += 0.8
    x[y == 1, :, :, 13:] += 0.8
    shendu.manual_seed(0)
    net = CapsNet(num_classes=2, input_size=25, conv_channels=4, primary_types=2, primary_dim=4, digit_dim=4,
                  decoder_sizes=(16, 32))
    net.compile("adam", lr=1e-2)
    before = net.evaluate(x, y)
    history = net.fit(x, y, epochs=6, batch_size=16, verbose=0, seed=0)
    after = net.evaluate(x, y)
    assert set(history.history) >= {"loss", "margin_loss", "reconstruction_loss", "accuracy"}
    assert after["loss"] < before["loss"] and after["accuracy"] == 1.0


def test_capsnet_bad_input_and_head():
    net = tiny()
    with pytest.raises(ValueError, match=r"CapsNet: expected input of shape \(N, 1, 19, 19\)"):
        net(shendu.rand(1, 1, 28, 28))
    with pytest.raises(ValueError, match="input_size must be at least 17"):
        CapsNet(input_size=16)
    with pytest.raises(ValueError, match="built with decoder=False"):
        tiny(decoder=False).reconstruct(shendu.randn(1, 3, 3))
    net.replace_head(5)
    assert net(shendu.rand(1, 1, 19, 19)).shape == (1, 5) and net.decoder[0].in_features == 15


def test_primary_caps_layout():
    layer = PrimaryCaps(3, num_types=2, dim=4, kernel_size=3, stride=2)
    x = shendu.randn(1, 3, 7, 7)
    u = layer(x)
    assert u.shape == (1, 2 * 3 * 3, 4)
    raw = layer.conv(x).data.reshape(1, 2, 4, 3, 3)          # capsule (t, y, x) = channels t·D … t·D + D − 1
    np.testing.assert_allclose(u.data[0, 1 * 9 + 2 * 3 + 1], squash(shendu.tensor(raw[0, 1, :, 2, 1])).data,
                               rtol=1e-5)
