"""Batch augmentation: exact geometry, seeding, normalisation statistics."""
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import shendu
from shendu.data.augment import (Compose, Normalize, RandomAffine, RandomCrop, RandomHorizontalFlip, RandomRotation,
                                 RandomShift, affine_grid, grid_sample)


def batch(n=6, c=2, h=9, w=9, seed=0):
    return np.random.default_rng(seed).random((n, c, h, w)).astype(np.float32)


def g(seed=0):
    return np.random.default_rng(seed)


def test_flip_is_exact():
    x = batch()
    np.testing.assert_array_equal(RandomHorizontalFlip(p=1)(x, rng=g()), x[..., ::-1])
    np.testing.assert_array_equal(RandomHorizontalFlip(p=0)(x, rng=g()), x)
    x = batch(n=400, c=1, h=3, w=4)
    out = RandomHorizontalFlip(p=0.5)(x, rng=g())
    flipped = np.all(out == x[..., ::-1], axis=(1, 2, 3))
    kept = np.all(out == x, axis=(1, 2, 3))
    assert np.all(flipped ^ kept) and 150 < flipped.sum() < 250


@given(h=st.integers(3, 10), w=st.integers(3, 10), pad=st.integers(0, 3), dh=st.integers(0, 2), dw=st.integers(0, 2))
def test_crop_with_padding_is_a_window_of_the_padded_image(h, w, pad, dh, dw):
    x = batch(n=5, c=2, h=h, w=w)
    size = (h - dh, w - dw)
    out = RandomCrop(size, padding=pad, fill=-1.0)(x, rng=g(7))
    assert out.shape == (5, 2) + size
    # the same offsets, drawn as the transform documents them
    r = g(7)
    top = r.integers(0, h + 2 * pad - size[0] + 1, 5)
    left = r.integers(0, w + 2 * pad - size[1] + 1, 5)
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=-1.0)
    for k in range(5):
        np.testing.assert_array_equal(out[k], padded[k, :, top[k]:top[k] + size[0], left[k]:left[k] + size[1]])


def test_crop_identity_and_too_large():
    x = batch()
    np.testing.assert_array_equal(RandomCrop(9)(x, rng=g()), x)
    with pytest.raises(ValueError, match="RandomCrop: crop size"):
        RandomCrop(12, padding=1)(x, rng=g())


def test_shift_is_crop_of_own_size():
    x = batch(h=7, w=8)
    shifted = RandomShift(2)(x, rng=g(3))
    np.testing.assert_array_equal(shifted, RandomCrop((7, 8), padding=2)(x, rng=g(3)))
    # each image is its source moved by whole pixels with zeros shifted in
    for k in range(len(x)):
        found = [(a, b) for a in range(-2, 3) for b in range(-2, 3)
                 if np.array_equal(shifted[k], _shift(x[k], a, b))]
        assert found


def _shift(img, a, b):
    out = np.zeros_like(img)
    H, W = img.shape[1:]
    dst = (slice(None), slice(max(a, 0), H + min(a, 0)), slice(max(b, 0), W + min(b, 0)))
    out[dst] = img[:, max(-a, 0):H - max(a, 0), max(-b, 0):W - max(b, 0)]
    return out


@pytest.mark.parametrize("n", [5, 8])
@pytest.mark.parametrize("deg, k", [(90, 1), (-90, -1), (180, 2), (270, 3)])
def test_rotation_by_right_angles_equals_rot90(n, deg, k):
    x = batch(h=n, w=n)
    out = RandomRotation((deg, deg), interpolation="nearest")(x, rng=g())
    np.testing.assert_array_equal(out, np.rot90(x, k=k, axes=(2, 3)))


def test_rotation_zero_is_identity_bilinear():
    x = batch(h=6, w=9)
    np.testing.assert_allclose(RandomRotation(0)(x, rng=g()), x, atol=1e-6)


def test_bilinear_reproduces_linear_images():
    """Bilinear interpolation is exact for f(i, j) = a·i + b·j + c wherever the
    source point is inside the image; the sampled point follows the formula
    p_src = (1/s) R(−θ)(p − t) in centred coordinates."""
    H = W = 15
    i, j = np.mgrid[0:H, 0:W]
    x = (0.3 * i - 0.7 * j + 2.0)[None, None].repeat(3, 0).astype(np.float64)
    theta, s = np.array([0.3, -1.1, 2.0]), np.array([1.0, 1.3, 0.8])
    tx, ty = np.array([0.0, 1.5, -2.0]), np.array([0.0, -0.5, 1.0])
    rows, cols = affine_grid(theta, s, tx, ty, H, W, np)
    out = grid_sample(x, rows, cols, "bilinear")
    inside = (rows >= 0) & (rows <= H - 1) & (cols >= 0) & (cols <= W - 1)
    np.testing.assert_allclose(out[:, 0][inside], (0.3 * rows - 0.7 * cols + 2.0)[inside], atol=1e-9)
    # the formula, by hand, for one pixel of image 1: output (2, 11)
    c = (W - 1) / 2
    px, py = 11 - c - tx[1], c - 2 - ty[1]
    xs = (np.cos(theta[1]) * px + np.sin(theta[1]) * py) / s[1]
    ys = (-np.sin(theta[1]) * px + np.cos(theta[1]) * py) / s[1]
    assert np.isclose(rows[1, 2, 11], c - ys) and np.isclose(cols[1, 2, 11], c + xs)


def test_translation_direction():
    x = batch(n=1, h=6, w=7)
    one, zero = np.ones(1), np.zeros(1)
    right = grid_sample(x, *affine_grid(zero, one, 2 * one, zero, 6, 7, np), "nearest")
    np.testing.assert_array_equal(right[..., 2:], x[..., :-2])  # t_x > 0 moves the image right
    assert np.all(right[..., :2] == 0)
    up = grid_sample(x, *affine_grid(zero, one, zero, one, 6, 7, np), "nearest")
    np.testing.assert_array_equal(up[..., :-1, :], x[..., 1:, :])  # t_y > 0 moves it up


def test_rotation_matches_torch_grid_sample():
    torch = pytest.importorskip("torch")
    x = batch(n=4, c=3, h=11, w=11).astype(np.float64)
    deg = np.array([10.0, -33.0, 71.0, 150.0])
    rows, cols = affine_grid(np.radians(deg), np.ones(4), np.zeros(4), np.zeros(4), 11, 11, np)
    ours = grid_sample(x, rows, cols, "bilinear")
    # torch's normalised coordinates have y pointing down: R(−θ) in (x, y-up)
    # becomes [[cos, −sin], [sin, cos]] in (x, y-down)
    t = np.radians(deg)
    theta = np.stack([np.stack([np.cos(t), -np.sin(t), 0 * t], 1), np.stack([np.sin(t), np.cos(t), 0 * t], 1)], 1)
    grid = torch.nn.functional.affine_grid(torch.tensor(theta), (4, 3, 11, 11), align_corners=True)
    ref = torch.nn.functional.grid_sample(torch.tensor(x), grid, mode="bilinear", padding_mode="zeros",
                                          align_corners=True)
    np.testing.assert_allclose(ours, ref.numpy(), atol=1e-10)


def test_affine_shapes_dtype_and_input_untouched():
    x = batch(n=3, c=3, h=10, w=12)
    before = x.copy()
    t = RandomAffine(degrees=15, translate=0.1, scale=(0.9, 1.1))
    out = t(x, rng=g())
    assert out.shape == x.shape and out.dtype == np.float32
    np.testing.assert_array_equal(x, before)


def test_seeding():
    x = batch()
    t = Compose([RandomCrop(9, padding=2), RandomHorizontalFlip(), RandomRotation(20)])
    np.testing.assert_array_equal(t(x, rng=g(5)), t(x, rng=g(5)))
    assert not np.array_equal(t(x, rng=g(5)), t(x, rng=g(6)))
    # the transform's own seed
    a, b = RandomRotation(30, seed=1), RandomRotation(30, seed=1)
    np.testing.assert_array_equal(a(x), b(x))
    # without either: the library generator that manual_seed seeds
    shendu.manual_seed(3)
    u = t(x)
    shendu.manual_seed(3)
    np.testing.assert_array_equal(t(x), u)


def test_normalize_statistics():
    r = g()
    x = (r.standard_normal((500, 3, 4, 4)) * np.array([1.0, 2.0, 0.5])[:, None, None]
         + np.array([0.5, -1.0, 3.0])[:, None, None]).astype(np.float32)
    mean, std = x.mean(axis=(0, 2, 3)), x.std(axis=(0, 2, 3))
    out = Normalize(mean, std)(x)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), 1, atol=1e-5)
    with pytest.raises(ValueError, match="Normalize: expected 1 or 3 values"):
        Normalize([0, 0], [1, 1])(x)


def test_compose_applies_in_order():
    x = batch()
    t = Compose([RandomHorizontalFlip(p=1), Normalize(0.5, 2.0)])
    np.testing.assert_allclose(t(x), (x[..., ::-1] - 0.5) / 2.0)
    assert "RandomHorizontalFlip" in repr(t)


def test_needs_a_4d_batch():
    message = "RandomCrop: expected a batch of 4 dimensions (N, C, H, W), got shape (3, 8, 8)"
    with pytest.raises(ValueError, match=re.escape(message)):
        RandomCrop(8)(np.zeros((3, 8, 8)))
