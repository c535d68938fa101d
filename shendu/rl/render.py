"""Frames of classic-control scenes drawn with Pillow from the environment's state, so that
``shendu rl play --gif`` needs no display library (Gymnasium's own renderer needs pygame).

Scenes (400 × 300 pixels, world → pixel scale fixed per environment):
CartPole (cart at ``x``, pole at angle ``θ`` from vertical), Acrobot (two links at angles ``θ₁``,
``θ₁ + θ₂`` from hanging straight down, the goal line one link above the pivot), Pendulum (rod at
angle ``θ`` from upright) and MountainCar (the hill ``y = sin(3x)``, the car at ``x``, the flag at
0.5). Other environments: Gymnasium's ``rgb_array`` rendering when it works.
"""
from __future__ import annotations

import io
import math

import numpy as np

from ..serialization import atomic_write

__all__ = ["draw_frame", "write_gif", "SCENES"]

W, H = 400, 300


def _cartpole(draw, s):
    x, _, theta, _ = s
    scale = W / 4.8  # the track spans x ∈ [−2.4, 2.4]
    ground = 200
    cx = W / 2 + x * scale
    draw.line([(0, ground), (W, ground)], fill=(0, 0, 0), width=1)
    draw.rectangle([cx - 25, ground - 15, cx + 25, ground + 15], fill=(40, 40, 40))
    length = scale * 1.0  # the pole's full length is 2 × half-length 0.5
    tip = (cx + length * math.sin(theta), ground - 15 - length * math.cos(theta))
    draw.line([(cx, ground - 15), tip], fill=(202, 152, 101), width=8)
    draw.ellipse([cx - 4, ground - 19, cx + 4, ground - 11], fill=(129, 132, 203))


def _acrobot(draw, s):
    t1, t2 = s[0], s[1]
    scale, cx, cy = 60, W / 2, H / 2
    draw.line([(0, cy - 2 * scale * 0.5 - scale), (W, cy - scale)], fill=(0, 0, 0))  # goal: tip one link above
    p1 = (cx + scale * math.sin(t1), cy + scale * math.cos(t1))
    p2 = (p1[0] + scale * math.sin(t1 + t2), p1[1] + scale * math.cos(t1 + t2))
    for a, b in (((cx, cy), p1), (p1, p2)):
        draw.line([a, b], fill=(0, 204, 204), width=10)
    for px, py in ((cx, cy), p1):
        draw.ellipse([px - 5, py - 5, px + 5, py + 5], fill=(204, 204, 0))


def _pendulum(draw, s):
    th = s[0]
    scale, cx, cy = 100, W / 2, H / 2
    tip = (cx + scale * math.sin(th), cy - scale * math.cos(th))
    draw.line([(cx, cy), tip], fill=(204, 77, 77), width=14)
    draw.ellipse([cx - 6, cy - 6, cx + 6, cy + 6], fill=(0, 0, 0))


def _mountaincar(draw, s):
    pos = s[0]
    lo, hi = -1.2, 0.6
    scale = W / (hi - lo)

    def to_px(x):
        return ((x - lo) * scale, H - 40 - (math.sin(3 * x) * 0.45 + 0.55) * scale * 0.9)

    xs = np.linspace(lo, hi, 100)
    draw.line([to_px(x) for x in xs], fill=(0, 0, 0), width=2)
    fx, fy = to_px(0.5)
    draw.line([(fx, fy), (fx, fy - 40)], fill=(0, 0, 0), width=2)
    draw.polygon([(fx, fy - 40), (fx + 20, fy - 35), (fx, fy - 30)], fill=(204, 204, 0))
    px, py = to_px(pos)
    draw.ellipse([px - 12, py - 24, px + 12, py], fill=(60, 60, 60))


SCENES = {"CartPole": _cartpole, "Acrobot": _acrobot, "Pendulum": _pendulum, "MountainCar": _mountaincar}


def draw_frame(env):
    """An RGB ``PIL.Image`` of a (non-vector) Gymnasium environment's current state."""
    from PIL import Image, ImageDraw

    base = env.unwrapped
    name = type(base).__name__.replace("Env", "").replace("Continuous_", "").replace("Continuous", "")
    scene = SCENES.get(name)
    if scene is None:
        frame = env.render() if getattr(env, "render_mode", None) == "rgb_array" else None
        if frame is None:
            raise ValueError(f"no scene drawer for {type(base).__name__}; shendu.rl draws {sorted(SCENES)} "
                             f"(other environments need render_mode='rgb_array' to work in Gymnasium)")
        return Image.fromarray(np.asarray(frame, np.uint8))
    img = Image.new("RGB", (W, H), (255, 255, 255))
    scene(ImageDraw.Draw(img), np.asarray(base.state, np.float64))
    return img


def write_gif(frames, path, fps=30):
    """Write PIL frames as an animated GIF (atomically)."""
    if not frames:
        raise ValueError("write_gif: no frames")
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=int(1000 / fps), loop=0)
    atomic_write(path, lambda f: f.write(buf.getvalue()))
    return path
