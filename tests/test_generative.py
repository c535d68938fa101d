"""Autoencoders, VAEs, GANs, generative metrics and the generative CLI (quick tests; the targets
on real MNIST are in tests/test_generative_targets.py)."""
import json

import numpy as np
import pytest
import torch

import shendu
from shendu.gradcheck import gradcheck
from shendu.models.autoencoder import AutoEncoder, ConvAutoEncoder, Corruption, kl_sparsity
from shendu.models.gan import DCGAN, GAN, ConditionalGAN
from shendu.models.vae import VAE, ConditionalVAE, reparameterize, vae_loss
from shendu.nn.saving import load, save
from shendu.training.generative_metrics import class_coverage, frechet_distance, inception_score
from shendu.training.generative_run import image_grid, sample_run, train_generative, write_png

RNG = np.random.default_rng(0)


def _leaf(a):
    return shendu.tensor(a.copy(), requires_grad=True), torch.tensor(a.copy(), requires_grad=True)


@pytest.mark.parametrize("decoder", ["bernoulli", "gaussian"])
def test_vae_loss_and_gradients_match_torch(decoder):
    n, d, k = 5, 7, 3
    x = RNG.uniform(0, 1, (n, d))
    mu_s, mu_t = _leaf(RNG.normal(size=(n, k)))
    lv_s, lv_t = _leaf(RNG.normal(size=(n, k)) * 0.5)
    dec_s, dec_t = _leaf(RNG.normal(size=(n, d)))
    ldv_s, ldv_t = _leaf(RNG.normal(size=(n, d)) * 0.3)
    xt = torch.tensor(x)
    kld_t = -0.5 * torch.sum(1 + lv_t - mu_t.pow(2) - lv_t.exp())
    if decoder == "bernoulli":
        rec_t = torch.nn.functional.binary_cross_entropy_with_logits(dec_t, xt, reduction="sum")
        decoded = dec_s
    else:
        rec_t = -torch.distributions.Normal(dec_t, (0.5 * ldv_t).exp()).log_prob(xt).sum()
        decoded = (dec_s, ldv_s)
    loss_t = (rec_t + kld_t) / n
    loss_t.backward()
    loss, rec, kl = vae_loss(decoded, shendu.tensor(x), mu_s, lv_s, decoder)
    loss.backward()
    np.testing.assert_allclose(loss.item(), loss_t.item(), rtol=1e-10)
    np.testing.assert_allclose(kl.item(), kld_t.item() / n, rtol=1e-10)
    for s, t in [(mu_s, mu_t), (lv_s, lv_t), (dec_s, dec_t)] + ([(ldv_s, ldv_t)] if decoder == "gaussian" else []):
        np.testing.assert_allclose(s.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_reparameterised_sampling_matches_torch():
    mu_s, mu_t = _leaf(RNG.normal(size=(4, 3)))
    lv_s, lv_t = _leaf(RNG.normal(size=(4, 3)))
    eps = RNG.normal(size=(4, 3))
    z_t = mu_t + torch.exp(0.5 * lv_t) * torch.tensor(eps)   # PyTorch example's reparameterize
    (z_t ** 2).sum().backward()
    z = reparameterize(mu_s, lv_s, shendu.tensor(eps))
    (z ** 2).sum().backward()
    np.testing.assert_allclose(z.numpy(), z_t.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(lv_s.grad.numpy(), lv_t.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(mu_s.grad.numpy(), mu_t.grad.numpy(), rtol=1e-10)
    # drawn noise: z has the moments of N(μ, σ²)
    mu, lv = shendu.full((20000, 2), 1.5, dtype=shendu.float64), shendu.full((20000, 2), np.log(4.0), dtype=shendu.float64)
    draws = reparameterize(mu, lv).numpy()
    assert abs(draws.mean() - 1.5) < 0.05 and abs(draws.std() - 2.0) < 0.05


def test_gradcheck_losses_and_penalties():
    mu, lv = shendu.randn(3, 2, dtype=shendu.float64), shendu.randn(3, 2, dtype=shendu.float64)
    logits, x = shendu.randn(3, 5, dtype=shendu.float64), shendu.rand(3, 5, dtype=shendu.float64)
    assert gradcheck(lambda m, v, ll: vae_loss(ll, x, m, v)[0], mu, lv, logits)
    assert gradcheck(lambda m, v, mean, s: vae_loss((mean, s), x, m, v, "gaussian")[0], mu, lv, logits, lv[:, :1] + 0 * logits)
    assert gradcheck(lambda h: kl_sparsity(h.sigmoid(), 0.1), shendu.randn(6, 4, dtype=shendu.float64))
    cae = AutoEncoder((5, 3), code_activation="sigmoid", contractive=0.5).to(shendu.float64)
    assert gradcheck(lambda inp: cae.loss(inp)[0], x)
    assert gradcheck(cae, x)                              # every parameter, through the whole network


def test_contractive_penalty_is_the_jacobian_norm():
    ae = AutoEncoder((4, 3), code_activation="sigmoid", contractive=1.0).to(shendu.float64)
    x = np.random.default_rng(1).uniform(0, 1, (2, 4))
    code = ae.encode(shendu.tensor(x))
    expected = 0.0
    w = ae.encoder[1].weight.numpy()
    for n in range(2):                                 # J = diag(h(1−h)) W, by hand per sample
        h = code.numpy()[n]
        expected += (((h * (1 - h))[:, None] * w) ** 2).sum() / 2
    np.testing.assert_allclose(ae._jacobian_norm(shendu.tensor(x), code).item(), expected, rtol=1e-10)
    with pytest.raises(ValueError, match="one-layer sigmoid encoder"):
        AutoEncoder((4, 3, 2), contractive=1.0)


def test_corruption_only_in_training_mode():
    x = shendu.ones(200, 50)
    for kind in ("gaussian", "masking"):
        c = Corruption(kind, 0.3)
        assert not np.array_equal(c(x).numpy(), x.numpy())
        c.eval()
        assert np.array_equal(c(x).numpy(), x.numpy())
    m = Corruption("masking", 0.3)(x).numpy()
    assert abs((m == 0).mean() - 0.3) < 0.03
    ae = AutoEncoder((50, 8), noise="masking", noise_level=0.5)
    ae.eval()
    np.testing.assert_array_equal(ae(x).numpy(), ae.decode(ae.encode(x)).numpy())


def _blobs(n=256, side=8):
    """Images of a bright square at one of 4 places (4 classes), values in [0, 1]."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, n)
    x = np.zeros((n, 1, side, side), np.float32)
    for i, c in enumerate(y):
        r, q = divmod(int(c), 2)
        x[i, 0, r * 4:r * 4 + 4, q * 4:q * 4 + 4] = 1
    return np.clip(x + rng.uniform(0, 0.1, x.shape).astype(np.float32), 0, 1), y


@pytest.mark.parametrize("make", [lambda: AutoEncoder((64, 32, 8), input_shape=(1, 8, 8)),
                                  lambda: AutoEncoder((64, 16), input_shape=(1, 8, 8), code_activation="sigmoid",
                                                      sparse="kl", sparsity_weight=0.1, noise="gaussian"),
                                  lambda: ConvAutoEncoder((1, 8, 8), code=8, width=4, sparse="l1"),
                                  lambda: VAE((1, 8, 8), hidden=32, latent=4),
                                  lambda: VAE((1, 8, 8), hidden=32, latent=4, decoder="gaussian")])
def test_autoencoders_and_vaes_learn(make):
    x, _ = _blobs()
    model = make().compile("adam", lr=3e-3)
    h = model.fit(x, epochs=8, batch_size=32, seed=0, verbose=0).history
    assert h["loss"][-1] < 0.8 * h["loss"][0]


def test_vae_sample_interpolate_and_conditional():
    x, y = _blobs()
    vae = ConditionalVAE((1, 8, 8), hidden=32, latent=2, num_classes=4).compile("adam", lr=3e-3)
    h = vae.fit(x, y, epochs=10, batch_size=32, seed=0, verbose=0).history
    assert h["loss"][-1] < h["loss"][0]
    s = vae.sample(40, y=np.repeat(np.arange(4), 10))
    assert s.shape == (40, 1, 8, 8) and 0 <= s.min() and s.max() <= 1
    # the label picks the quadrant: class c's samples are brightest in quadrant c
    quad = s.reshape(4, 10, 2, 4, 2, 4).mean(axis=(1, 3, 5)).reshape(4, 4)
    assert (quad.argmax(1) == np.arange(4)).all()
    path = vae.interpolate(x[0], x[1], steps=5, y=y[:1])
    assert path.shape == (5, 1, 8, 8)
    ends = vae.reconstruct(x[:2], y=np.repeat(y[:1], 2))
    np.testing.assert_allclose(path[0], ends[0], atol=1e-6)


@pytest.mark.parametrize("make", [lambda: GAN((1, 8, 8), latent=8, hidden=32, label_smoothing=0.1),
                                  lambda: DCGAN((1, 8, 8), latent=8, width=8)])
def test_gans_train_with_two_optimizers(make):
    x, _ = _blobs()
    gan = make()
    gan.compile(gan.optimizers_spec(lr=2e-3))
    h = gan.fit(x, epochs=3, batch_size=32, seed=0, verbose=0).history
    assert {"d_loss", "g_loss", "d_real", "d_fake"} <= set(h)
    assert all(np.isfinite(h["d_loss"]))
    s = gan.sample(5)
    assert s.shape == (5, 1, 8, 8) and s.min() >= 0 and s.max() <= 1


def test_one_sided_label_smoothing_changes_only_the_real_target():
    x, _ = _blobs(32)
    losses = []
    for s in (0.0, 0.2):
        shendu.manual_seed(3)
        gan = GAN((1, 8, 8), latent=4, hidden=8, label_smoothing=s)
        gan.compile(gan.optimizers_spec()).trainer.setup(shendu.tensor(x))     # builds the named optimizers
        shendu.manual_seed(4)
        losses.append(gan.train_step(shendu.tensor(x)))
    assert losses[0]["d_fake"] == losses[1]["d_fake"] and losses[0]["d_real"] == losses[1]["d_real"]
    assert losses[1]["d_loss"] > losses[0]["d_loss"]   # a target of 0.8 for real images costs more than 1 does


def test_dcgan_follows_radford():
    g = DCGAN((1, 28, 28), latent=100, width=64)
    from shendu import nn

    assert not any(isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)) for m in g.modules())
    assert isinstance(g.generator[-1], nn.Tanh) and not isinstance(g.generator[-2], nn.BatchNorm2d)
    assert not isinstance(g.discriminator[1], nn.BatchNorm2d)            # no batch norm on D's input layer
    assert all(m.negative_slope == 0.2 for m in g.modules() if isinstance(m, nn.LeakyReLU))
    w = g.generator[4].weight.numpy()
    assert abs(w.std() - 0.02) < 0.002 and abs(w.mean()) < 0.002
    assert g(shendu.randn(2, 100)).shape == (2, 1, 28, 28)
    assert g.discriminator(shendu.randn(2, 1, 28, 28)).shape == (2, 1)
    spec = DCGAN.optimizers_spec()
    assert spec["generator"] == ("adam", {"lr": 2e-4, "betas": (0.5, 0.999)})


def test_dcgan_adds_a_stage_per_doubling_of_the_image():
    """28 → 7 in two stride-2 stages; 32 → 4 in three, 64 → 4 in four (channels doubling towards the base)."""
    from shendu import nn

    for side, stages, base in ((28, (14, 28), 7), (32, (8, 16, 32), 4), (64, (8, 16, 32, 64), 4)):
        g = DCGAN((1, side, side), latent=8, width=4)
        n = len(stages)
        assert g.stages == stages
        up = [m for m in g.generator if isinstance(m, nn.ConvTranspose2d)]
        down = [m for m in g.discriminator if isinstance(m, nn.Conv2d)]
        assert [m.out_channels for m in up] == [4 << i for i in range(n, 0, -1)] + [1]
        assert up[0].kernel_size == (base, base) and down[-1].kernel_size == (base, base)
        assert [m.out_channels for m in down] == [4 << i for i in range(n)] + [1]
        assert g(shendu.randn(2, 8)).shape == (2, 1, side, side)
        assert g.discriminator(shendu.randn(2, 1, side, side)).shape == (2, 1)


def test_dcgan_on_a_larger_canvas():
    """canvas=12 for 8-pixel images: G's 12×12 output is cropped to its centre, D sees images padded with −1."""
    shendu.manual_seed(0)
    gan = DCGAN((1, 8, 8), latent=4, width=2, canvas=12)
    assert gan.stages == (6, 12) and gan.margin == 2
    z = shendu.randn(3, 4)
    full_canvas = gan.generator(z)
    assert full_canvas.shape == (3, 1, 12, 12)
    np.testing.assert_array_equal(gan.generate(z).numpy(), full_canvas.numpy()[:, :, 2:10, 2:10])
    x = np.random.default_rng(0).uniform(-1, 1, (3, 1, 8, 8)).astype(np.float32)
    padded = np.full((3, 1, 12, 12), -1.0, np.float32)
    padded[:, :, 2:10, 2:10] = x
    np.testing.assert_allclose(gan.discriminate(shendu.tensor(x)).numpy(),
                               gan.discriminator(shendu.tensor(padded)).numpy(), rtol=1e-6)
    gan.compile(gan.optimizers_spec())
    h = gan.fit(np.random.default_rng(1).uniform(0, 1, (32, 1, 8, 8)).astype(np.float32), epochs=1, batch_size=16,
                verbose=0).history
    assert np.isfinite(h["d_loss"]).all() and gan.sample(2).shape == (2, 1, 8, 8)
    with pytest.raises(ValueError, match="canvas must be a multiple of 4 at least the image side 8, got 6"):
        DCGAN((1, 8, 8), canvas=6)


def _torch_dcgan(c, s, latent, w):
    """DCGAN's generator and discriminator as torch.nn.Sequential twins (the same layer indices)."""
    nn = torch.nn
    g = nn.Sequential(nn.Unflatten(1, (latent, 1, 1)), nn.ConvTranspose2d(latent, 4 * w, s, 1, 0, bias=False),
                      nn.BatchNorm2d(4 * w), nn.ReLU(), nn.ConvTranspose2d(4 * w, 2 * w, 4, 2, 1, bias=False),
                      nn.BatchNorm2d(2 * w), nn.ReLU(), nn.ConvTranspose2d(2 * w, c, 4, 2, 1), nn.Tanh())
    d = nn.Sequential(nn.Conv2d(c, w, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(w, 2 * w, 4, 2, 1, bias=False),
                      nn.BatchNorm2d(2 * w), nn.LeakyReLU(0.2), nn.Conv2d(2 * w, 1, s, 1, 0), nn.Flatten())
    return g.double(), d.double()


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_dcgan_train_steps_match_a_pytorch_twin(opt):
    # Two full train_steps (D step, then G step against the updated D; batch norm in training mode)
    # against PyTorch's DCGAN recipe written out, from equal weights and equal noise, in float64.
    # With SGD the weight changes are the gradients; with Adam (β₁ 0.5) the recipe's own optimizer.
    shendu.manual_seed(0)
    gan = DCGAN((1, 8, 8), latent=6, width=4).double()
    spec = gan.optimizers_spec(lr=1e-2) if opt == "adam" else {k: ("sgd", {"lr": 0.1}) for k in
                                                                ("generator", "discriminator")}
    x = RNG.uniform(0, 1, (5, 1, 8, 8))
    gan.compile(spec).trainer.setup(shendu.tensor(x))
    tg, td = _torch_dcgan(1, 2, 6, 4)
    for part, twin in ((gan.generator, tg), (gan.discriminator, td)):
        twin.load_state_dict({k: torch.tensor(v) for k, v in part.state_dict().items()
                              for v in [v.numpy() if hasattr(v, "numpy") else v]})
    make = (lambda ps: torch.optim.Adam(ps, lr=1e-2, betas=(0.5, 0.999))) if opt == "adam" else \
        (lambda ps: torch.optim.SGD(ps, lr=0.1))
    g_opt, d_opt = make(tg.parameters()), make(td.parameters())
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    gan.train()
    for step in range(2):
        shendu.manual_seed(10 + step)
        z = torch.tensor(shendu.randn(5, 6, dtype=shendu.float64).numpy())
        shendu.manual_seed(10 + step)                              # train_step draws the same z
        logs = gan.train_step(shendu.tensor(x))
        real, fake = torch.tensor(x) * 2 - 1, tg(z)
        d_opt.zero_grad()
        d_loss = bce(td(real), torch.ones(5, 1, dtype=torch.float64)) + \
            bce(td(fake.detach()), torch.zeros(5, 1, dtype=torch.float64))
        d_loss.backward()
        d_opt.step()
        g_opt.zero_grad()
        g_loss = bce(td(fake), torch.ones(5, 1, dtype=torch.float64))
        g_loss.backward()
        g_opt.step()
        assert logs["d_loss"] == pytest.approx(d_loss.item(), rel=1e-10)
        assert logs["g_loss"] == pytest.approx(g_loss.item(), rel=1e-10)
    for part, twin in ((gan.generator, tg), (gan.discriminator, td)):
        ours = part.state_dict()
        for k, v in twin.state_dict().items():
            np.testing.assert_allclose(np.asarray(ours[k].numpy() if hasattr(ours[k], "numpy") else ours[k]),
                                       v.numpy(), rtol=1e-8, atol=1e-10, err_msg=k)


def test_conditional_gan_uses_labels():
    x, y = _blobs(64)
    gan = ConditionalGAN((1, 8, 8), latent=4, hidden=8, num_classes=4)
    gan.compile(gan.optimizers_spec())
    gan.fit(x, y, epochs=1, batch_size=32, verbose=0)
    z = shendu.randn(2, 4)
    assert not np.allclose(gan.sample(2, y=[0, 0], z=z), gan.sample(2, y=[3, 3], z=z))
    with pytest.raises(ValueError, match="needs labels"):
        gan.sample(2)


def test_autoencoder_cross_entropy_loss_and_batch_norm_match_torch():
    # loss="bce": the training loss is the summed binary cross-entropy of the sigmoid output per
    # sample (on its logits), "reconstruction" still the squared error; checked against torch.
    shendu.manual_seed(0)
    ae = AutoEncoder((16, 8, 3), input_shape=(1, 4, 4), loss="bce", batch_norm=True)
    assert [type(m).__name__ for m in ae.encoder] == ["Flatten", "Linear", "BatchNorm1d", "ReLU", "Linear"]
    assert [type(m).__name__ for m in ae.decoder] == ["Linear", "BatchNorm1d", "ReLU", "Linear", "Sigmoid",
                                                      "Unflatten"]
    x = RNG.uniform(0, 1, (6, 1, 4, 4)).astype(np.float32)
    total, logs = ae.loss(shendu.tensor(x))
    recon = ae(shendu.tensor(x)).numpy().astype(np.float64)
    # torch on the same network output, in float64 (the logits are the output's inverse sigmoid)
    logits = torch.tensor(np.log(recon) - np.log1p(-recon))
    ref = torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.tensor(x, dtype=torch.float64),
                                                               reduction="sum") / 6
    assert total.item() == pytest.approx(ref.item(), rel=1e-4)
    assert logs["reconstruction"] == pytest.approx(((recon - x) ** 2).sum() / 6, rel=1e-4)
    with pytest.raises(ValueError, match=r"AutoEncoder \(loss='bce'\): expected data in \[0, 1\].*\[-1, 1\]"):
        ae.loss(shendu.tensor(np.linspace(-1, 1, 32, dtype=np.float32).reshape(2, 1, 4, 4)))
    with pytest.raises(ValueError, match="loss must be 'mse' or 'bce', got 'l1'"):
        AutoEncoder((16, 4), loss="l1")


def test_loading_weights_of_another_latent_size_is_one_error():
    for small, big, name in ((VAE((1, 8, 8), hidden=8, latent=2), VAE((1, 8, 8), hidden=8, latent=3), "VAE"),
                             (GAN((1, 8, 8), latent=2, hidden=8), GAN((1, 8, 8), latent=3, hidden=8), "GAN"),
                             (ConditionalGAN((1, 8, 8), latent=2, hidden=8, num_classes=3),
                              ConditionalGAN((1, 8, 8), latent=3, hidden=8, num_classes=3), "ConditionalGAN"),
                             (DCGAN((1, 8, 8), latent=2, width=2), DCGAN((1, 8, 8), latent=3, width=2), "DCGAN")):
        with pytest.raises(ValueError, match=rf"{name}.load_state_dict: the state dict's latent size is 2, "
                                             rf"this model's is 3"):
            big.load_state_dict(small.state_dict())
        big.load_state_dict(type(big)(**{"latent": 3, **_size_kwargs(big)}).state_dict())   # same size: loads


def _size_kwargs(m):
    if isinstance(m, VAE):
        return {"input_shape": (1, 8, 8), "hidden": 8}
    if isinstance(m, DCGAN):
        return {"image_shape": (1, 8, 8), "width": 2}
    return {"image_shape": (1, 8, 8), "hidden": 8, **({"num_classes": 3} if m.num_classes else {})}


def test_bad_input_errors():
    vae = VAE((1, 8, 8), hidden=8, latent=2).compile("adam")
    with pytest.raises(ValueError, match=r"VAE: expected data in \[0, 1\].*\[-1, 2\]"):
        vae.fit(np.linspace(-1, 2, 128, dtype=np.float32).reshape(2, 1, 8, 8), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"expected codes of shape \(N, 2\), got \(3, 5\)"):
        vae.decode(shendu.randn(3, 5))
    with pytest.raises(ValueError, match=r"expected samples of shape \(1, 8, 8\), got \(1, 7, 7\)"):
        vae.encode(np.zeros((1, 1, 7, 7), np.float32))
    gan = GAN((1, 8, 8), latent=4, hidden=8)
    with pytest.raises(ValueError, match=r"expected noise of shape \(N, 4\), got \(2, 3\)"):
        gan.generate(shendu.randn(2, 3))
    gan.compile(gan.optimizers_spec())
    with pytest.raises(ValueError, match=r"GAN: expected training images in \[0, 1\]"):
        gan.train_step(shendu.full((2, 1, 8, 8), 3.0))
    with pytest.raises(ValueError, match="multiple of 4"):
        DCGAN((1, 10, 10))
    with pytest.raises(ValueError, match="label_smoothing"):
        GAN(label_smoothing=1.0)


def test_models_save_and_load(tmp_path):
    for m in (AutoEncoder((64, 8), input_shape=(1, 8, 8)), VAE((1, 8, 8), hidden=8, latent=2),
              DCGAN((1, 8, 8), latent=4, width=2)):
        m.eval()
        save(m, tmp_path / "m.safetensors")
        back = load(tmp_path / "m.safetensors")
        back.eval()
        inp = shendu.rand(2, 4) if isinstance(m, DCGAN) else shendu.rand(2, 1, 8, 8)
        out, out2 = m(inp), back(inp)
        out, out2 = (out[0], out2[0]) if isinstance(out, tuple) else (out, out2)
        if not isinstance(m, VAE):
            np.testing.assert_array_equal(out.numpy(), out2.numpy())
        assert type(back) is type(m)


def test_inception_score_frechet_distance_and_coverage():
    eye = np.eye(10)
    assert inception_score(eye[np.arange(100) % 10]) == pytest.approx(10, rel=1e-6)   # confident and diverse
    assert inception_score(np.tile(eye[3], (50, 1))) == pytest.approx(1, rel=1e-6)     # one class only
    assert inception_score(np.full((20, 10), 0.1)) == pytest.approx(1, rel=1e-9)       # unsure
    assert class_coverage(eye[[1, 1, 4, 7]]) == 3
    a, b = RNG.normal(size=(500, 6)), RNG.normal(size=(400, 6)) * 2 + 1
    assert frechet_distance(a, a) == pytest.approx(0, abs=1e-6)
    from scipy import linalg

    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    ref = ((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(sa + sb - 2 * linalg.sqrtm(sa @ sb).real)
    assert frechet_distance(a, b) == pytest.approx(ref, rel=1e-8)
    with pytest.raises(ValueError, match="frechet_distance"):
        frechet_distance(a, b[:, :3])


def test_png_writer_round_trips():
    from PIL import Image
    import io

    imgs = np.random.default_rng(0).uniform(0, 1, (5, 1, 4, 3)).astype(np.float32)
    grid = image_grid(imgs, columns=3)
    assert grid.shape == (2 * 5 + 1, 3 * 4 + 1, 1)
    path = "grid.png"
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        write_png(os.path.join(d, path), grid)
        back = np.asarray(Image.open(io.BytesIO(open(os.path.join(d, path), "rb").read())))
    np.testing.assert_array_equal(back, grid[:, :, 0])
    np.testing.assert_array_equal(grid[1:5, 1:4, 0], np.round(imgs[0, 0] * 255).astype(np.uint8))


def test_cli_train_vae_then_sample(tmp_path, capsys):
    from shendu.cli import main

    out = tmp_path / "run"
    assert main(["train", "vae", "--dataset", "digits", "--epochs", "1", "--out", str(out), "--quiet"]) == 0
    line = capsys.readouterr().out
    assert "test neg elbo nats" in line
    for f in ("last.ckpt", "curves.png", "metrics.json", "reconstructions.png", "samples.png"):
        assert (out / f).exists(), f
    m = json.loads((out / "metrics.json").read_text())
    assert m["test_neg_elbo_nats"] == m["history"]["val_loss"][-1]
    assert main(["sample", str(out / "last.ckpt"), "-n", "7", "--out", str(tmp_path / "s.npy"), "--seed", "1"]) == 0
    s = np.load(tmp_path / "s.npy")
    assert s.shape == (7, 1, 8, 8) and s.dtype == np.float32 and 0 <= s.min() and s.max() <= 1
    assert main(["sample", str(out / "last.ckpt"), "-n", "7", "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["sample", str(out / "last.ckpt"), "-n", "2", "--out", str(tmp_path / "x.npy"), "--latent", "3"]) == 2
    assert "latent size is 20, got 3" in capsys.readouterr().err


def test_gan_run_writes_a_grid_every_epoch_and_autoencoder_cannot_sample(tmp_path):
    m = train_generative("gan", "digits", epochs=2, limit=128, out=str(tmp_path / "g"), verbose=0)
    assert (tmp_path / "g" / "epoch_1.png").exists() and (tmp_path / "g" / "epoch_2.png").exists()
    assert m["files"]["samples"].endswith("samples.png")
    assert sample_run(m["files"]["checkpoint"], 3, str(tmp_path / "a.npy"))
    a = train_generative("autoencoder", "digits", epochs=1, limit=128, out=str(tmp_path / "a"), verbose=0)
    assert a["test_reconstruction_error"] > 0
    with pytest.raises(ValueError, match="autoencoder model, which cannot sample"):
        sample_run(a["files"]["checkpoint"], 3, str(tmp_path / "b.png"))
    with pytest.raises(ValueError, match="not a generative model's checkpoint"):
        sample_run(_plain(tmp_path), 3, str(tmp_path / "b.png"))


def test_train_dcgan_uses_the_next_power_of_two_as_canvas():
    from shendu.training.generative_run import build_generative

    assert build_generative("dcgan", (1, 28, 28)).canvas == 32          # MNIST: three stages, not two
    assert build_generative("dcgan", (1, 8, 8)).canvas == 8
    assert build_generative("dcgan", (3, 32, 32)).canvas == 32


def _plain(tmp_path):
    p = tmp_path / "plain.safetensors"
    save(AutoEncoder((4, 2)), p)
    return str(p)
