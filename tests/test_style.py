"""Style transfer and texture synthesis (shendu.style): losses, measured targets, images, CLI, VGG-19 path.

Photographs and textures are scikit-image's (a test extra). The measured
targets run on small images (40 px) to keep the default run short; the docs'
figures (docs/style.md) come from the same code at 128 px.
"""
import numpy as np
import pytest

import shendu
from shendu import style as st
from shendu.cli import main

skimage_data = pytest.importorskip("skimage.data")
torch = pytest.importorskip("torch")


def _sk(name, size, box=None):
    """A scikit-image picture as (C, H, W) float32 in [0, 1], cropped to ``box`` (y0, y1, x0, x1), resized."""
    from PIL import Image

    a = getattr(skimage_data, name)()
    if box is not None:
        a = a[box[0]:box[1], box[2]:box[3]]
    a = np.asarray(Image.fromarray(a).resize((size, size), Image.Resampling.BOX), dtype=np.float32) / 255
    return a.transpose(2, 0, 1) if a.ndim == 3 else a[None]


# ---------------------------------------------------------------- losses
def test_gram_and_losses_match_their_formulas():
    rng = np.random.default_rng(0)
    f, p = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, 3, 4, 5))
    tf, tp = torch.tensor(f), torch.tensor(p)
    g = st.gram_matrix(shendu.tensor(f))
    ft = tf.reshape(2, 3, 20)
    gt = ft @ ft.transpose(1, 2) / 20
    np.testing.assert_allclose(g.numpy(), gt.numpy(), rtol=1e-12)
    a = (tp.reshape(2, 3, 20) @ tp.reshape(2, 3, 20).transpose(1, 2) / 20)
    sl = st.style_loss(shendu.tensor(f), shendu.tensor(a.numpy()), "gatys")
    # the paper's E = Σ(Ĝ − Â)² / (4 C² M²) with unnormalised Gram matrices
    ghat, ahat = gt * 20, a * 20
    assert float(sl) == pytest.approx(float(((ghat - ahat) ** 2).sum() / (4 * 9 * 400)), rel=1e-10)
    rel = st.style_loss(shendu.tensor(f), shendu.tensor(a.numpy()), "relative")
    assert float(rel) == pytest.approx(float(((gt - a) ** 2).sum() / (a ** 2).sum()), rel=1e-10)
    cl = st.content_loss(shendu.tensor(f), shendu.tensor(p), "gatys")
    assert float(cl) == pytest.approx(0.5 * ((f - p) ** 2).sum(), rel=1e-10)
    tv = st.total_variation(shendu.tensor(f))
    want = ((np.diff(f, axis=2) ** 2).sum() + (np.diff(f, axis=3) ** 2).sum()) / (2 * 4 * 5)
    assert float(tv) == pytest.approx(want, rel=1e-10)


def test_losses_gradcheck():
    rng = np.random.default_rng(1)
    x = shendu.tensor(rng.standard_normal((1, 2, 3, 3)), requires_grad=True)
    a = st.gram_matrix(shendu.tensor(rng.standard_normal((1, 2, 3, 3))))
    p = shendu.tensor(rng.standard_normal((1, 2, 3, 3)))
    for fn in (lambda x: st.style_loss(x, a, "gatys"), lambda x: st.style_loss(x, a, "relative"),
               lambda x: st.content_loss(x, p, "relative"), st.total_variation):
        assert shendu.gradcheck(fn, x)


def test_loss_errors():
    with pytest.raises(ValueError, match="gram_matrix: expected features"):
        st.gram_matrix(shendu.randn(3, 4))
    with pytest.raises(ValueError, match="content_loss: features .* differ in shape"):
        st.content_loss(shendu.randn(1, 2, 3, 3), shendu.randn(1, 2, 4, 4))
    with pytest.raises(ValueError, match="normalization must be one of"):
        st.style_loss(shendu.randn(1, 2, 3, 3), shendu.randn(1, 2, 2), "l2")


# ---------------------------------------------------------------- measured targets
def test_style_loss_falls_100x_from_the_content_images():
    content, style = _sk("astronaut", 40), _sk("coffee", 40)
    r = st.stylize(content, style, style_weight=1e4, steps=60)
    assert r.initial["content"] == 0.0  # it starts from the content image
    assert r.final["style"] <= r.initial["style"] / 100, (r.initial, r.final)
    assert r.image.shape == (3, 40, 40) and r.image.min() >= 0 and r.image.max() <= 1


def test_texture_is_identified_by_a_held_out_network():
    """A texture made from brick (one crop) is nearest, by Gram distance under another seed's network,
    to a different crop of brick, not to grass or gravel."""
    size = 40
    brick_a = _sk("brick", size, (0, 256, 0, 256))
    brick_b = _sk("brick", size, (256, 512, 256, 512))
    grass, gravel = _sk("grass", size, (0, 256, 0, 256)), _sk("gravel", size, (0, 256, 0, 256))
    tex = st.synthesize_texture(brick_a, st.random_features(seed=0), steps=40).image
    judge = st.random_features(seed=12345)  # held out: never used to synthesise
    d = {name: st.gram_distance(judge, tex, ref) for name, ref in
         [("brick", brick_b), ("grass", grass), ("gravel", gravel)]}
    assert min(d, key=d.get) == "brick", d
    # and the texture is not the noise it started from: the held-out distance fell
    noise = np.clip(0.5 + 0.1 * np.random.default_rng(0).standard_normal((3, size, size)), 0, 1)
    assert d["brick"] < st.gram_distance(judge, noise, brick_b) / 10


def test_adam_also_lowers_the_loss():
    r = st.synthesize_texture(_sk("gravel", 24), steps=15, optimizer="adam", lr=0.1)
    assert r.final["style"] < r.initial["style"] / 2


def test_bad_arguments():
    img = np.full((3, 16, 16), 0.5, np.float32)
    for w in (0, -1.0):
        with pytest.raises(ValueError, match="style weight must be > 0"):
            st.stylize(img, img, style_weight=w)
    with pytest.raises(ValueError, match="optimizer must be"):
        st.stylize(img, img, steps=1, optimizer="sgd")
    with pytest.raises(ValueError, match=r"content image must be \(H, W\)"):
        st.stylize(np.zeros((4, 5, 6, 7)), img)
    with pytest.raises(ValueError, match="at least 4×4 pixels"):
        st.synthesize_texture(np.zeros((3, 3, 3)), steps=1)


# ---------------------------------------------------------------- images and the command line
def test_load_image_modes_and_sizes(tmp_path):
    from PIL import Image

    rgba = np.zeros((30, 60, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:, :30, 3] = 255  # left half opaque red, right half transparent
    Image.fromarray(rgba).save(tmp_path / "a.png")
    Image.fromarray(np.full((50, 20), 128, np.uint8)).save(tmp_path / "g.jpg")
    a = st.load_image(tmp_path / "a.png", size=32)
    assert a.shape == (3, 16, 32) and a.dtype == np.float32
    np.testing.assert_allclose(a[:, 8, 2], [1, 0, 0], atol=0.02)  # opaque red stays red
    assert np.allclose(a[:, 8, 30], a[:, 8, 30][0], atol=0.02)  # transparency became a grey-level background
    g = st.load_image(tmp_path / "g.jpg")
    assert g.shape == (3, 50, 20) and abs(float(g.mean()) - 128 / 255) < 0.02
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(ValueError, match="bad.png is not an image"):
        st.load_image(tmp_path / "bad.png")
    with pytest.raises(ValueError, match="no such file"):
        st.load_image(tmp_path / "missing.png")
    st.save_image(a, tmp_path / "out.png")
    np.testing.assert_allclose(st.load_image(tmp_path / "out.png"), a, atol=1 / 255)


def test_cli_style_and_texture(tmp_path, capsys):
    from PIL import Image

    Image.fromarray(skimage_data.astronaut()[::8, ::8]).save(tmp_path / "c.png")
    Image.fromarray(skimage_data.brick()[::8, ::8]).save(tmp_path / "s.png")  # grey
    out = tmp_path / "o.png"
    assert main(["style", str(tmp_path / "c.png"), str(tmp_path / "s.png"), "--out", str(out), "--size", "24",
                 "--steps", "3", "--style-weight", "100", "--quiet"]) == 0
    assert Image.open(out).size == (24, 24) and "style loss" in capsys.readouterr().out
    assert main(["texture", str(tmp_path / "s.png"), "--out", str(tmp_path / "t.png"), "--size", "16",
                 "--steps", "2", "--quiet"]) == 0
    assert Image.open(tmp_path / "t.png").size == (16, 16)
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    assert main(["style", str(tmp_path / "c.png"), str(tmp_path / "bad.png"), "--out", str(out)]) == 2
    assert "bad.png" in capsys.readouterr().err
    assert main(["texture", str(tmp_path / "s.png"), "--out", str(out), "--style-weight", "-3"]) == 2
    assert "style weight must be > 0" in capsys.readouterr().err


# ---------------------------------------------------------------- VGG-19 with torchvision-named weights
def test_vgg19_features_match_torch_with_torchvision_names():
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"]
    layers, c = [], 3
    for v in cfg:  # torchvision's vgg19().features, built with torch.nn (torchvision is not needed)
        if v == "M":
            layers.append(torch.nn.MaxPool2d(2, 2))
        else:
            layers += [torch.nn.Conv2d(c, v, 3, padding=1), torch.nn.ReLU()]
            c = v
    torch.manual_seed(0)
    tfeat = torch.nn.Sequential(*layers)
    sd = {f"features.{k}": v for k, v in tfeat.state_dict().items()}
    sd["classifier.0.weight"] = torch.zeros(2, 2)  # a full checkpoint's classifier entries are ignored
    space = st.vgg19_features(sd)
    x = np.random.default_rng(0).random((1, 3, 32, 32)).astype(np.float32)
    ours = space(x)
    mean, std = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    h = (torch.tensor(x) - mean) / std
    want = {}
    for i, layer in enumerate(tfeat):
        h = layer(h)
        want[i] = h.detach().numpy()
    for idx, name in [(1, "relu1_1"), (11, "relu3_1"), (22, "content"), (29, "relu5_1")]:
        name = "relu4_2" if name == "content" else name
        np.testing.assert_allclose(ours[name].numpy(), want[idx], rtol=1e-3, atol=1e-4 * np.abs(want[idx]).max())
    with pytest.raises(KeyError, match="vgg19_features: the weights lack"):
        st.vgg19_features({k: v for k, v in sd.items() if k != "features.0.weight"})


@pytest.mark.slow
def test_128px_transfer_as_in_the_docs():
    """docs/style.md's 128-px figure: style loss falls ≥ 100× (measured 4 650×) in 100 L-BFGS iterations."""
    r = st.stylize(_sk("astronaut", 128), _sk("coffee", 128), style_weight=1e3, steps=100)
    assert r.final["style"] <= r.initial["style"] / 100, (r.initial, r.final)
    assert r.final["content"] < 0.5
