"""The playground's data: TensorFlow Playground's six 2-D datasets, drawn from the same random stream.

TensorFlow Playground seeds JavaScript's ``Math.random`` with David Bau's ``seedrandom``
(RC4-drop[256] keyed by the seed string) and then draws every point with it. :class:`SeedRandom`
is that generator, number for number, so a playground URL gives here exactly the points it gives
there (``tests/test_playground.py`` holds points produced by the JavaScript original).

Classification labels are ±1; regression labels lie in [−1, 1]. Points lie in about [−6, 6]².
``noise`` is a fraction (the URL's percent ÷ 100).
"""
from __future__ import annotations

import math

import numpy as np

_WIDTH, _MASK = 256, 255
_SIGNIFICANCE, _OVERFLOW, _START_DENOM = 2.0 ** 52, 2.0 ** 53, 256.0 ** 6


class SeedRandom:
    """``Math.seedrandom(seed)`` of seedrandom 2.4 (the ARC4 generator): :meth:`random` in [0, 1).

    The key is the seed string mixed into 256 bytes (``key[j] = (smear ^= key[j]·19) + code(j)``);
    RC4's first 256 outputs are dropped; each double takes six RC4 bytes (more while it has fewer
    than 52 significant bits).
    """

    def __init__(self, seed):
        key, smear = [], 0
        for j, ch in enumerate(str(seed)):
            k = j & _MASK
            while len(key) <= k:
                key.append(None)
            smear ^= (key[k] * 19) if key[k] is not None else 0
            key[k] = (smear + ord(ch)) & _MASK
        key = [0 if k is None else k for k in key] or [0]
        s = list(range(_WIDTH))
        j = 0
        for i in range(_WIDTH):
            j = (j + key[i % len(key)] + s[i]) & _MASK
            s[i], s[j] = s[j], s[i]
        self.s, self.i, self.j = s, 0, 0
        self._bytes(_WIDTH)                      # RC4-drop[256]

    def _bytes(self, count):
        """The next ``count`` RC4 outputs as one big-endian number."""
        s, i, j, r = self.s, self.i, self.j, 0
        for _ in range(count):
            i = (i + 1) & _MASK
            t = s[i]
            j = (j + t) & _MASK
            s[i], s[j] = s[j], t
            r = r * _WIDTH + s[(s[i] + t) & _MASK]
        self.i, self.j = i, j
        return r

    def random(self):
        """The next double in [0, 1), as seedrandom builds it from RC4 bytes."""
        n, d, x = float(self._bytes(6)), _START_DENOM, 0
        while n < _SIGNIFICANCE:
            n = (n + x) * _WIDTH
            d *= _WIDTH
            x = self._bytes(1)
        while n >= _OVERFLOW:
            n /= 2
            d /= 2
            x >>= 1
        return (n + x) / d

    def uniform(self, a, b):
        """``randUniform(a, b)`` = random()·(b − a) + a."""
        return self.random() * (b - a) + a

    def normal(self, mean=0.0, variance=1.0):
        """``normalRandom``: the polar Box–Muller method, one value per accepted pair."""
        while True:
            v1 = 2 * self.random() - 1
            v2 = 2 * self.random() - 1
            s = v1 * v1 + v2 * v2
            if s <= 1:
                break
        return mean + math.sqrt(variance) * (math.sqrt(-2 * math.log(s) / s) * v1)


def circle(rng, n, noise):
    """Points inside radius 2.5 labelled +1 and in the ring 3.5–5 labelled −1 (by the noisy position)."""
    radius, points = 5.0, []
    for r_low, r_high in ((0, radius * 0.5), (radius * 0.7, radius)):
        for _ in range(n // 2):
            r = rng.uniform(r_low, r_high)
            angle = rng.uniform(0, 2 * math.pi)
            x, y = r * math.sin(angle), r * math.cos(angle)
            nx, ny = rng.uniform(-radius, radius) * noise, rng.uniform(-radius, radius) * noise
            points.append((x, y, 1.0 if math.hypot(x + nx, y + ny) < radius * 0.5 else -1.0))
    return points


def xor(rng, n, noise):
    """Uniform points in [−5, 5]² pushed 0.3 away from the axes; label sign(x·y) of the noisy position."""
    points = []
    for _ in range(n):
        x = rng.uniform(-5, 5)
        x += 0.3 if x > 0 else -0.3
        y = rng.uniform(-5, 5)
        y += 0.3 if y > 0 else -0.3
        nx, ny = rng.uniform(-5, 5) * noise, rng.uniform(-5, 5) * noise
        points.append((x, y, 1.0 if (x + nx) * (y + ny) >= 0 else -1.0))
    return points


def gauss(rng, n, noise):
    """Two Gaussian blobs at (2, 2) (+1) and (−2, −2) (−1); the variance grows from 0.5 to 4 with noise."""
    variance = 0.5 + (4 - 0.5) * noise / 0.5
    points = []
    for cx, label in ((2.0, 1.0), (-2.0, -1.0)):
        for _ in range(n // 2):
            x = rng.normal(cx, variance)
            y = rng.normal(cx, variance)
            points.append((x, y, label))
    return points


def spiral(rng, n, noise):
    """Two interleaved spirals (1.75 turns, radius 0 to 5), +1 and −1, jittered by ±noise."""
    points, half = [], n // 2
    for delta, label in ((0.0, 1.0), (math.pi, -1.0)):
        for i in range(half):
            r = i / half * 5
            t = 1.75 * i / half * 2 * math.pi + delta
            x = r * math.sin(t) + rng.uniform(-1, 1) * noise
            y = r * math.cos(t) + rng.uniform(-1, 1) * noise
            points.append((x, y, label))
    return points


def reg_plane(rng, n, noise):
    """Uniform points in [−6, 6]²; label (x + y)/10 of the noisy position, in [−1.2, 1.2]."""
    points = []
    for _ in range(n):
        x, y = rng.uniform(-6, 6), rng.uniform(-6, 6)
        nx, ny = rng.uniform(-6, 6) * noise, rng.uniform(-6, 6) * noise
        points.append((x, y, (x + nx + y + ny) / 10))
    return points


_GAUSSIANS = ((-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1))


def reg_gauss(rng, n, noise):
    """Six signed bumps: the label is the bump of largest magnitude, ±max(0, 1 − distance/2)."""
    def label(x, y):
        best = 0.0
        for cx, cy, sign in _GAUSSIANS:
            value = sign * min(1.0, max(0.0, 1 - math.hypot(x - cx, y - cy) / 2))
            if abs(value) > abs(best):
                best = value
        return best

    points = []
    for _ in range(n):
        x, y = rng.uniform(-6, 6), rng.uniform(-6, 6)
        nx, ny = rng.uniform(-6, 6) * noise, rng.uniform(-6, 6) * noise
        points.append((x, y, label(x + nx, y + ny)))
    return points


GENERATORS = {"circle": circle, "xor": xor, "gauss": gauss, "spiral": spiral,
              "reg-plane": reg_plane, "reg-gauss": reg_gauss}
NUM_SAMPLES = {"classification": 500, "regression": 1200}


def shuffle(rng, points):
    """TensorFlow Playground's in-place Fisher–Yates shuffle (from the end, ``floor(random()·counter)``)."""
    counter = len(points)
    while counter > 0:
        index = int(rng.random() * counter)
        counter -= 1
        points[counter], points[index] = points[index], points[counter]
    return points


def make_data(state):
    """(train, test) for a :class:`~shendu.playground.state.PlaygroundState`, as TensorFlow Playground
    makes them: seed, draw, shuffle, split at ``percTrainData`` %. Each is an array (n, 3): x, y, label.

    Returns also the generator, whose stream then initialises the weights (as in the original).
    """
    rng = SeedRandom(state.seed)
    name = state.dataset if state.problem == "classification" else state.regDataset
    points = shuffle(rng, GENERATORS[name](rng, NUM_SAMPLES[state.problem], state.noise / 100))
    split = int(len(points) * state.percTrainData / 100)
    data = np.array(points, dtype=np.float64).reshape(-1, 3)
    return data[:split], data[split:], rng
