"""shendu.data.images: a user's drawing becomes an image like the dataset's (issue #12 §5)."""
import numpy as np
import pytest
from PIL import Image, ImageDraw

import shendu
from shendu.data.images import centre_digit, read_image


def centre_of_mass(a):
    yy, xx = np.mgrid[:a.shape[0], :a.shape[1]]
    return (yy * a).sum() / a.sum(), (xx * a).sum() / a.sum()


def draw_L(path, ink=(0, 0, 0, 255)):
    """An off-centre 'L' drawn with black ink on a transparent 240×180 canvas (a tablet drawing)."""
    img = Image.new("RGBA", (240, 180), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.line([(150, 20), (150, 140)], fill=ink, width=12)   # the upright, 120 px tall
    d.line([(150, 140), (210, 140)], fill=ink, width=12)  # the foot, 60 px wide
    img.save(path)
    return path


def test_black_ink_on_transparency_becomes_a_centred_mnist_digit(tmp_path):
    a = read_image(draw_L(tmp_path / "l.png"), (1, 28, 28), dataset="mnist")[0]
    assert a.shape == (28, 28) and a.dtype == np.float32
    assert a.max() > 0.9 and a[0].max() == 0 and a[:, 0].max() == 0 and a[-1].max() == 0  # bright ink, black border
    rows, cols = np.nonzero(a > 0.1)
    assert rows.max() - rows.min() + 1 in (20, 21, 22) and cols.max() - cols.min() + 1 < 16  # 20 px tall box
    top, left = rows.min(), cols.min()
    assert a[top:top + 18, left:left + 2].min() > 0.3  # ink down the upright
    assert a[rows.max() - 1, left:cols.max() + 1].mean() > 0.5  # and along the foot
    assert a[top:top + 10, cols.max() - 3:cols.max() + 1].max() < 0.1  # background above the foot's end
    cy, cx = centre_of_mass(a)
    assert abs(cy - 13.5) <= 1 and abs(cx - 13.5) <= 1
    # without the recipe (another dataset) the canvas is only resized: the drawing stays off-centre
    plain = read_image(tmp_path / "l.png", (1, 28, 28))[0]
    assert 0.1 < plain.max() and centre_of_mass(plain)[1] > 16


def test_white_ink_on_transparency_and_a_blank_image(tmp_path):
    white = read_image(draw_L(tmp_path / "w.png", ink=(255, 255, 255, 255)), (1, 28, 28), dataset="mnist")[0]
    black = read_image(tmp_path / "l.png" if (tmp_path / "l.png").exists() else draw_L(tmp_path / "l.png"),
                       (1, 28, 28), dataset="mnist")[0]
    np.testing.assert_allclose(white, black, atol=1e-6)
    Image.new("RGBA", (50, 50), (0, 0, 0, 0)).save(tmp_path / "blank.png")
    assert read_image(tmp_path / "blank.png", (1, 28, 28), dataset="mnist").max() == 0


def test_digits_recipe_fills_the_8x8_image():
    a = np.zeros((100, 100), np.float32)
    a[10:50, 60:80] = 1.0  # a 40×20 bar in a corner
    d = centre_digit(a, 8, 8)
    assert d.shape == (8, 8) and d[:, 2:6].min() > 0.9 and d[:, [0, 1, 6, 7]].max() == 0


def test_mnist_images_redrawn_as_large_transparent_pngs_come_back(mnist_dir, tmp_path):
    x = shendu.data.mnist(split="test", root=mnist_dir).arrays[0][:40, 0]
    best = []
    for i, img in enumerate(x):
        # black ink whose opacity is the pixel's intensity, 4× larger, off-centre on a 300×200 canvas
        ink = Image.fromarray((255 * img).astype(np.uint8)).resize((112, 112), Image.Resampling.BILINEAR)
        rgba = np.zeros((200, 300, 4), np.uint8)
        rgba[20:132, 170:282, 3] = np.asarray(ink)
        Image.fromarray(rgba, "RGBA").save(tmp_path / f"{i}.png")
        back = read_image(tmp_path / f"{i}.png", (1, 28, 28), dataset="mnist")[0]
        cy, cx = centre_of_mass(back)
        assert abs(cy - 13.5) <= 1 and abs(cx - 13.5) <= 1
        # MNIST's own centring rounds to whole pixels: compare up to a one-pixel shift
        best.append(max(np.corrcoef(np.roll(back, (dy, dx), (0, 1)).ravel(), img.ravel())[0, 1]
                        for dy in (-1, 0, 1) for dx in (-1, 0, 1)))
    assert min(best) > 0.85 and np.mean(best) > 0.93, best
