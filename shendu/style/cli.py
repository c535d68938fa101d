"""``shendu style CONTENT STYLE --out OUT.png`` and ``shendu texture STYLE --out OUT.png``.

Registered in :mod:`shendu.cli`; this module only builds the two parsers and runs them.
"""
from __future__ import annotations

import argparse
import time


def _style_weight(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"the style weight must be > 0, got {v:g}")
    return v


def _common(p):
    p.add_argument("--out", required=True, metavar="OUT.png", help="the image to write (PNG or JPEG)")
    p.add_argument("--size", type=int, default=128,  # checked by load_image
                   help="pixels of the longer side the images are resized to (default 128)")
    p.add_argument("--steps", type=int, default=100, help="L-BFGS iterations (default 100)")  # checked by stylize
    p.add_argument("--style-weight", type=_style_weight,
                   help="weight of the style loss, > 0 (default 10 with random features, 1e6 with --vgg19)")
    p.add_argument("--tv-weight", type=float, default=0.0, help="total-variation weight (default 0)")
    p.add_argument("--optimizer", choices=("lbfgs", "adam"), default="lbfgs")
    p.add_argument("--vgg19", metavar="WEIGHTS.pth",
                   help="use VGG-19 features with these torchvision weights (default: random multi-scale features)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random features and of the initial noise")
    p.add_argument("--quiet", action="store_true", help="print only the final line")


def add_style_arguments(p):
    """The arguments of ``shendu style``."""
    p.add_argument("content", metavar="CONTENT", help="the content image (any format Pillow reads)")
    p.add_argument("style", metavar="STYLE", help="the style image")
    p.add_argument("--content-weight", type=float, default=1.0, help="weight of the content loss (default 1)")
    _common(p)


def add_texture_arguments(p):
    """The arguments of ``shendu texture``."""
    p.add_argument("style", metavar="STYLE", help="the example texture (any format Pillow reads)")
    _common(p)


def _features(a):
    from .nets import random_features, vgg19_features

    return vgg19_features(a.vgg19) if a.vgg19 else random_features(a.seed)


def _report(a, kind, result):
    from .images import save_image

    save_image(result.image, a.out)
    i, f = result.initial, result.final
    print(f"{kind}: {a.out} ({result.image.shape[2]}×{result.image.shape[1]}), style loss {i['style']:.4g} -> "
          f"{f['style']:.4g}" + (f", content loss {f['content']:.4g}" if "content" in f else "") +
          f", {result.evaluations} evaluations in {result.seconds:.1f} s; features: {result.features}")
    return 0


def _progress(a):
    if a.quiet:
        return None
    start = time.perf_counter()

    def show(n, parts):
        if n % 10 == 0:
            print(f"  evaluation {n}: " + ", ".join(f"{k} {v:.4g}" for k, v in parts.items()) +
                  f" ({time.perf_counter() - start:.1f} s)", flush=True)
    return show


def run_style(a):
    """``shendu style``: stylize CONTENT with STYLE and write OUT."""
    from .images import load_image
    from .synthesis import stylize

    content, style = load_image(a.content, a.size), load_image(a.style, a.size)
    result = stylize(content, style, _features(a), style_weight=a.style_weight, content_weight=a.content_weight,
                     tv_weight=a.tv_weight, steps=a.steps, optimizer=a.optimizer, seed=a.seed,
                     callback=_progress(a))
    return _report(a, "style", result)


def run_texture(a):
    """``shendu texture``: synthesise a texture like STYLE (its size after --size) and write OUT."""
    from .images import load_image
    from .synthesis import synthesize_texture

    style = load_image(a.style, a.size)
    result = synthesize_texture(style, _features(a), steps=a.steps, style_weight=a.style_weight,
                                tv_weight=a.tv_weight, optimizer=a.optimizer, seed=a.seed, callback=_progress(a))
    return _report(a, "texture", result)
