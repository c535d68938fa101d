"""Image files made to look like a dataset's images: what ``shendu predict`` feeds a trained model.

A user's drawing is not a dataset image. :func:`read_image` applies, in order:

1. **Safe decoding.** Images over :data:`MAX_PIXELS` pixels are refused before they are decoded
   (Pillow's decompression-bomb check is an error too), and a truncated or unreadable file is a
   ``ValueError`` naming it.
2. **Transparency.** An image with an alpha channel is composited on a background that contrasts with
   its ink: a black-ink drawing on a transparent canvas goes on white, a white-ink one on black
   (compositing on black, Pillow's default, turns black ink on transparency into an all-black image).
3. **Grey or colour, and polarity.** Converted to grey (C = 1) or RGB (C = 3). The grey datasets draw
   bright ink on black; a grey image is inverted (x → 1 − x) when ``invert`` is True, or when it is
   None (auto) and the mean of its border pixels is above 0.5 (dark ink on a light background).
4. **Digit recipe** for the digit datasets (:data:`DIGIT_RECIPES`). MNIST's own (LeCun et al.): the
   digit is cropped to its bounding box, scaled to fit a 20×20 box preserving its aspect ratio
   (area-averaged, so anti-aliased) and placed in the 28×28 image so that its centre of mass
   ``(Σ y·a / Σ a, Σ x·a / Σ a)`` is at the centre ``(13.5, 13.5)``. scikit-learn's 8×8 digits
   were made from 32×32 bitmaps whose digit fills the height, counted in 4×4 blocks: the
   digit is scaled to fit the whole 8×8 image and centred the same way.
   Other datasets: the whole image is resized to H×W (area averaging when shrinking, bilinear
   when enlarging).

Returns ``(C, H, W)`` float32 in [0, 1].
"""
from __future__ import annotations

import os
import warnings

import numpy as np

from shendu.backend import xp

#: The most pixels an input image may have (an 8000×8000 photo is 64 M): larger ones are refused
#: before decoding, so a small crafted file cannot expand into gigabytes of memory.
MAX_PIXELS = 64_000_000

#: For each digit dataset: (side of the box the digit is scaled to fit, side of the image).
DIGIT_RECIPES = {"mnist": (20, 28), "digits": (8, 8)}


def read_image(path, image_shape, invert=None, dataset=None):
    """An image file (PNG, JPEG, anything Pillow reads) as ``dataset``'s images are (module docstring).

    Args:
        path: the file. image_shape: ``(C, H, W)`` of the dataset's images (C = 1 or 3).
        invert: True / False / None (auto, grey images only): see step 3.
        dataset: the name of the dataset the model was trained on; ``'mnist'`` and ``'digits'`` get
            their digit recipe.

    Shape: file -> array (C, H, W), float32 in [0, 1].

    Raises:
        ValueError: naming the file, when it is not a readable image, is truncated, or is too large.
    """
    c, h, w = image_shape
    grey = _decode(path, "L" if c == 1 else "RGB")
    if c == 1:
        if invert is None:  # judged on the full-size image, whose border is background
            border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
            invert = bool(border.mean() > 0.5)
        if invert:
            grey = 1 - grey
        recipe = DIGIT_RECIPES.get((dataset or "").lower().replace("-", "_"))
        if recipe is not None and (h, w) == (recipe[1], recipe[1]):
            return xp.asarray(centre_digit(grey, *recipe)[None])
    arr = _resize(grey, h, w)
    return xp.asarray(arr[None] if c == 1 else arr.transpose(2, 0, 1))


def _decode(path, mode):
    """The file's pixels as float32 in [0, 1], (H, W) for mode 'L' or (H, W, 3) for 'RGB',
    transparent images composited on a contrasting background."""
    from PIL import Image, UnidentifiedImageError

    name = os.fspath(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                pixels = img.width * img.height
                if pixels > MAX_PIXELS:
                    raise ValueError(f"predict: {name}: image of {img.width}×{img.height} = {pixels:,} pixels is too "
                                     f"large to decode safely (limit {MAX_PIXELS:,})")
                if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
                    img = _composite(img.convert("RGBA"))
                return np.asarray(img.convert(mode), dtype=np.float32) * np.float32(1 / 255)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValueError(f"predict: {name}: image too large to decode safely ({exc})") from None
    except UnidentifiedImageError:
        raise ValueError(f"predict: {name} is not an image that Pillow can read") from None
    except (OSError, SyntaxError) as exc:  # truncated or corrupt data
        raise ValueError(f"predict: {name}: cannot decode the image ({exc})") from None


def _composite(rgba):
    """Alpha-composite an RGBA image on white if its ink (the opaque pixels) is dark, else on black."""
    from PIL import Image

    a = np.asarray(rgba, dtype=np.float32)
    alpha = a[..., 3]
    ink = (a[..., :3].mean(-1) * alpha).sum() / max(alpha.sum(), 1e-6)  # mean grey level of the ink
    background = (255, 255, 255, 255) if ink < 127.5 else (0, 0, 0, 255)
    return Image.alpha_composite(Image.new("RGBA", rgba.size, background), rgba).convert("RGB")


def _resize(a, h, w):
    """Resize a float image (H, W) or (H, W, 3) to h×w: area averaging when shrinking, bilinear when enlarging."""
    from PIL import Image

    if a.shape[:2] == (h, w):
        return a.astype(np.float32)
    method = Image.Resampling.BOX if a.shape[0] >= h and a.shape[1] >= w else Image.Resampling.BILINEAR
    channels = [a] if a.ndim == 2 else [a[..., k] for k in range(a.shape[2])]
    out = [np.asarray(Image.fromarray(np.ascontiguousarray(ch, dtype=np.float32)).resize((w, h), method))
           for ch in channels]
    return np.clip(out[0] if a.ndim == 2 else np.stack(out, -1), 0, 1).astype(np.float32)


def centre_digit(a, box, size):
    """MNIST's normalisation of a grey digit ``a`` (H, W) with bright ink on a dark background:
    crop to the ink's bounding box, scale to fit ``box``×``box`` preserving the aspect ratio, place in a
    ``size``×``size`` image with the centre of mass at the centre. A blank image is only resized.

    Shape: (H, W) -> (size, size).
    """
    lo, hi = float(a.min()), float(a.max())
    if hi - lo < 1e-3:
        return _resize(a, size, size)
    a = np.clip((a - lo) / (hi - lo), 0, 1)  # background 0, strongest ink 1
    rows, cols = np.nonzero(a > 0.1)
    digit = a[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    scale = box / max(digit.shape)
    dh, dw = (max(1, min(box, round(n * scale))) for n in digit.shape)
    digit = _resize(digit, dh, dw)
    mass = digit.sum()
    yy, xx = np.mgrid[:dh, :dw]
    cy, cx = (yy * digit).sum() / mass, (xx * digit).sum() / mass
    centre = (size - 1) / 2
    top = int(np.clip(round(centre - cy), 0, size - dh))
    left = int(np.clip(round(centre - cx), 0, size - dw))
    out = np.zeros((size, size), dtype=np.float32)
    out[top:top + dh, left:left + dw] = digit
    return out
