"""Reading images for style transfer (any size, RGB or grey, alpha composited) and writing PNGs atomically."""
from __future__ import annotations

import io
import os

import numpy as np

from ..data.images import MAX_PIXELS, read_image
from ..serialization import atomic_write

__all__ = ["load_image", "save_image"]


def load_image(path, size=None):
    """An image file as float32 (3, H, W) in [0, 1], its longer side resized to ``size`` (kept when None).

    Reading is :func:`shendu.data.images.read_image`'s: Pillow decodes any
    format it knows, refuses decompression bombs, converts grey and palette
    images to RGB and composites transparent ones on a background that
    contrasts with their content.

    Raises:
        ValueError: naming the file, when it is missing, not an image, or corrupt; or ``size`` < 1.
    """
    from PIL import Image, UnidentifiedImageError

    name = os.fspath(path)
    if size is not None and (not isinstance(size, int) or size < 1):
        raise ValueError(f"style: size must be a positive int (pixels of the longer side), got {size!r}")
    try:
        with Image.open(path) as img:
            w, h = img.size
    except FileNotFoundError:
        raise ValueError(f"style: {name}: no such file") from None
    except UnidentifiedImageError:
        raise ValueError(f"style: {name} is not an image that Pillow can read") from None
    except OSError as exc:
        raise ValueError(f"style: {name}: cannot read the image ({exc})") from None
    if w * h > MAX_PIXELS:
        raise ValueError(f"style: {name}: image of {w}×{h} pixels is too large (limit {MAX_PIXELS:,})")
    if size is not None:
        scale = size / max(w, h)
        w, h = max(1, round(w * scale)), max(1, round(h * scale))
    try:
        return np.asarray(read_image(path, (3, h, w)), dtype=np.float32)
    except ValueError as exc:
        raise ValueError(f"style: {str(exc).removeprefix('predict: ')}") from None


def save_image(image, path):
    """Write an image (3, H, W), (1, 3, H, W) or (H, W) in [0, 1] as 8-bit PNG (or the extension's format), atomically."""
    from PIL import Image

    from .synthesis import as_image

    a = as_image(image)[0].transpose(1, 2, 0)
    pixels = (np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8)
    ext = os.path.splitext(os.fspath(path))[1].lower()
    fmt = Image.registered_extensions().get(ext)
    if fmt is None:
        raise ValueError(f"style: cannot tell the image format of {os.fspath(path)!r} from its extension "
                         f"(use .png or .jpg)")
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format=fmt)
    atomic_write(path, lambda f: f.write(buf.getvalue()))
