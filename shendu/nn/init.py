"""Weight initialisers (in place, PyTorch's names and formulas).

fan_in / fan_out of a weight of shape (out, in, *kernel) are in·k and out·k
with k = Π kernel. Gains: linear/sigmoid 1, tanh 5/3, relu √2,
leaky_relu √(2 / (1 + a²)), selu 3/4.

=====================  ==========================================================
zeros_ / ones_         w = 0 / 1
constant_(val)         w = val
uniform_(a, b)         w ~ U(a, b)
normal_(mean, std)     w ~ N(mean, std²)
xavier_uniform_        w ~ U(−b, b),  b = gain·√(6 / (fan_in + fan_out))   (Glorot & Bengio 2010)
xavier_normal_         w ~ N(0, σ²), σ = gain·√(2 / (fan_in + fan_out))
kaiming_uniform_       w ~ U(−b, b),  b = gain·√(3 / fan)                   (He et al. 2015)
kaiming_normal_        w ~ N(0, σ²), σ = gain / √fan
lecun_normal_          w ~ N(0, 1 / fan_in)                                  (LeCun et al. 1998)
orthogonal_            w = gain·Q from the QR decomposition of a normal matrix (Saxe et al. 2014)
trunc_normal_          w ~ N(mean, std²) truncated to [a, b]
eye_ / dirac_          w = I / the identity convolution
=====================  ==========================================================

Every function fills ``tensor.data`` from the generator that
``shendu.manual_seed`` seeds, and returns the tensor. Inside ``with skip():`` they
leave the data as it is (see :func:`skip`).
"""
from __future__ import annotations

import math

import contextlib

from .. import backend
from ..backend import xp

_skipping = False  # True inside `with skip():`


@contextlib.contextmanager
def skip():
    """Inside this context every initialiser returns its tensor untouched (no draw, no write).

    For building a model only to read its shapes: a layer's ``empty`` weights are
    never written, so the memory is never touched and building VGG-16 takes
    milliseconds instead of seconds (``shendu models`` counts parameters this way).
    The weights hold arbitrary values afterwards: initialise them before use.
    :func:`shendu.nn.utils.skip_init` is PyTorch's spelling for one module.

    Example:
        >>> with shendu.nn.init.skip():
        ...     layer = shendu.nn.Linear(4096, 4096)
        >>> layer.weight.shape
        (4096, 4096)
    """
    global _skipping
    saved, _skipping = _skipping, True
    try:
        yield
    finally:
        _skipping = saved


def _fans(shape):
    if len(shape) < 2:
        raise ValueError(f"init: fan in/out need a weight with at least 2 dimensions, got shape {tuple(shape)}")
    receptive = 1
    for n in shape[2:]:
        receptive *= n
    return shape[1] * receptive, shape[0] * receptive


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity (PyTorch's table)."""
    if nonlinearity in ("linear", "identity", "sigmoid", "conv1d", "conv2d", "conv3d",
                        "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        a = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + a * a))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}")


def _fill(tensor, values):
    if _skipping:
        return tensor
    tensor.data = xp.asarray(values, dtype=tensor.data.dtype).reshape(tensor.data.shape)
    return tensor


def zeros_(tensor):
    """w = 0."""
    return _fill(tensor, xp.zeros(tensor.data.shape))


def ones_(tensor):
    """w = 1."""
    return _fill(tensor, xp.ones(tensor.data.shape))


def constant_(tensor, val):
    """w = val."""
    return _fill(tensor, xp.full(tensor.data.shape, val))


def _draw_dtype(tensor):
    """Draw float32 weights in float32 (half the memory traffic of drawing float64 and casting)."""
    return tensor.data.dtype if tensor.data.dtype in (backend.float32, backend.float64) else backend.float64


def uniform_(tensor, a=0.0, b=1.0):
    """w ~ U(a, b)."""
    if _skipping:
        return tensor
    u = backend.rng().random(tensor.data.shape, dtype=_draw_dtype(tensor))
    u *= b - a
    u += a
    return _fill(tensor, u)


def normal_(tensor, mean=0.0, std=1.0):
    """w ~ N(mean, std²)."""
    if _skipping:
        return tensor
    n = backend.rng().standard_normal(tensor.data.shape, dtype=_draw_dtype(tensor))
    n *= std
    n += mean
    return _fill(tensor, n)


def xavier_uniform_(tensor, gain=1.0):
    """Glorot uniform: U(−b, b) with b = gain·√(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(tensor.data.shape)
    b = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -b, b)


def xavier_normal_(tensor, gain=1.0):
    """Glorot normal: N(0, σ²) with σ = gain·√(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(tensor.data.shape)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """He uniform: U(−b, b) with b = gain·√(3 / fan), gain = calculate_gain(nonlinearity, a)."""
    fan = _fans(tensor.data.shape)[0 if mode == "fan_in" else 1]
    b = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return uniform_(tensor, -b, b)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """He normal: N(0, σ²) with σ = gain / √fan."""
    fan = _fans(tensor.data.shape)[0 if mode == "fan_in" else 1]
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan))


def lecun_normal_(tensor):
    """LeCun normal: N(0, 1 / fan_in) (the initialiser SELU networks need)."""
    fan_in, _ = _fans(tensor.data.shape)
    return normal_(tensor, 0.0, 1.0 / math.sqrt(fan_in))


def lecun_uniform_(tensor):
    """LeCun uniform: U(−b, b) with b = √(3 / fan_in)."""
    fan_in, _ = _fans(tensor.data.shape)
    b = math.sqrt(3.0 / fan_in)
    return uniform_(tensor, -b, b)


def orthogonal_(tensor, gain=1.0):
    """A (semi-)orthogonal matrix, scaled by ``gain``; extra axes are flattened into columns."""
    shape = tensor.data.shape
    if len(shape) < 2:
        raise ValueError(f"orthogonal_: need at least 2 dimensions, got shape {shape}")
    if _skipping:
        return tensor
    rows = shape[0]
    cols = int(math.prod(shape[1:]))
    a = backend.rng().standard_normal((max(rows, cols), min(rows, cols)))
    q, r = xp.linalg.qr(a)
    q = q * xp.sign(xp.diag(r))  # make the decomposition unique (uniform over orthogonal matrices)
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q[:rows, :cols])


# --- torch-idioms: the rest of torch.nn.init's in-place spellings
def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0):
    """w ~ N(mean, std²) truncated to [a, b] (absolute bounds, as PyTorch): values outside are redrawn."""
    if not a < b:
        raise ValueError(f"trunc_normal_: expected a < b, got a={a}, b={b}")
    shape = tensor.data.shape
    w = mean + std * backend.rng().standard_normal(shape)
    bad = (w < a) | (w > b)
    while bad.any():
        w[bad] = mean + std * backend.rng().standard_normal(int(bad.sum()))
        bad = (w < a) | (w > b)
    return _fill(tensor, w)


def eye_(tensor):
    """w = I (a 2-D weight: ones on the diagonal, zeros elsewhere)."""
    if tensor.data.ndim != 2:
        raise ValueError(f"eye_: expected a 2-D tensor, got shape {tuple(tensor.data.shape)}")
    return _fill(tensor, xp.eye(*tensor.data.shape))


def dirac_(tensor, groups=1):
    """The identity convolution: w[g·o + i, i, centre] = 1 for i < min(out/groups, in), 0 elsewhere."""
    shape = tensor.data.shape
    if len(shape) not in (3, 4, 5) or shape[0] % groups:
        raise ValueError(f"dirac_: expected a 3-, 4- or 5-D weight whose dim 0 divides by groups={groups}, "
                         f"got shape {tuple(shape)}")
    w = xp.zeros(shape)
    per = shape[0] // groups
    centre = tuple(n // 2 for n in shape[2:])
    for g in range(groups):
        for i in range(min(per, shape[1])):
            w[(g * per + i, i) + centre] = 1
    return _fill(tensor, w)


# Keras-style names.
glorot_uniform_ = xavier_uniform_
glorot_normal_ = xavier_normal_
he_uniform_ = kaiming_uniform_
he_normal_ = kaiming_normal_


# ---------------------------------------------------------------- lookup by name
def _keras_random_uniform(tensor):
    return uniform_(tensor, -0.05, 0.05)


def _keras_random_normal(tensor):
    return normal_(tensor, 0.0, 0.05)


_BY_NAME = {
    "zeros": zeros_, "ones": ones_,
    "uniform": _keras_random_uniform, "random_uniform": _keras_random_uniform,
    "normal": _keras_random_normal, "random_normal": _keras_random_normal,
    "glorot_uniform": xavier_uniform_, "xavier_uniform": xavier_uniform_,
    "glorot_normal": xavier_normal_, "xavier_normal": xavier_normal_,
    "he_uniform": kaiming_uniform_, "kaiming_uniform": kaiming_uniform_,
    "he_normal": kaiming_normal_, "kaiming_normal": kaiming_normal_,
    "lecun_uniform": lecun_uniform_, "lecun_normal": lecun_normal_,
    "orthogonal": orthogonal_,
}


def get(name):
    """The initialiser called ``name`` (Keras-style), or ``name`` itself when it is callable.

    Names: ``zeros``, ``ones``, ``random_uniform`` / ``uniform`` (U(−0.05, 0.05),
    Keras's default), ``random_normal`` / ``normal`` (N(0, 0.05²)), ``glorot_uniform``,
    ``glorot_normal``, ``he_uniform``, ``he_normal``, ``lecun_uniform``,
    ``lecun_normal``, ``orthogonal``; the PyTorch spellings ``xavier_*`` /
    ``kaiming_*`` too, with or without the trailing underscore, any case.
    ``he_*`` use gain √2 (ReLU), as Keras does; Keras's ``*_normal`` draw from a
    normal truncated at 2σ, these from the plain normal of the same σ.

    Example:
        >>> w = shendu.nn.Parameter(shendu.empty(10, 5))
        >>> shendu.nn.init.get("glorot_uniform")(w) is w
        True
    """
    if callable(name):
        return name
    key = str(name).lower().rstrip("_")
    if key not in _BY_NAME:
        raise ValueError(f"init.get: unknown initialiser {name!r}; known: {', '.join(sorted(_BY_NAME))}")
    return _BY_NAME[key]
