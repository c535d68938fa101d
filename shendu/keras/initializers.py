"""Keras's initializers, drawn in Keras's weight layout with Keras's formulas.

Each is a callable ``init(shape, dtype=None) -> numpy array``. Fans of a kernel of
shape ``(..., fan_in_axis, fan_out_axis)`` (Keras's layout: the last axis is the
output): receptive = ∏ shape[:-2], fan_in = shape[-2]·receptive,
fan_out = shape[-1]·receptive; a vector has fan_in = fan_out = its length.

====================  ==========================================================
GlorotUniform         U(−l, l),  l = √(6 / (fan_in + fan_out))
GlorotNormal          truncated N(0, σ²) (|x| ≤ 2σ before scaling), σ = √(2 / (fan_in + fan_out)) / 0.8796…
HeNormal / HeUniform  σ = √(2 / fan_in) / 0.8796… truncated, or l = √(6 / fan_in)
LecunNormal / …       σ = √(1 / fan_in) / 0.8796… truncated, or l = √(3 / fan_in)
VarianceScaling       the general form: scale / n, n = fan_in, fan_out or their mean
RandomNormal          N(mean, stddev²), stddev 0.05;  RandomUniform U(−0.05, 0.05)
TruncatedNormal       N(mean, stddev²) redrawn outside 2 stddev
Orthogonal            Q of the QR decomposition of a normal matrix, signs fixed by diag(R)
Zeros, Ones, Constant
====================  ==========================================================

0.8796… = 0.87962566103423978 is the standard deviation of a unit normal truncated
at ±2, so that the truncated draw has the requested variance. Draws use shendu's
generator (``shendu.manual_seed``).
"""
from __future__ import annotations

import math

from .. import backend
from ..backend import xp

_TRUNC_STD = 0.87962566103423978


def _fans(shape):
    shape = tuple(int(s) for s in shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def _dtype(dtype):
    return xp.dtype(dtype or backend.get_default_dtype())


def _truncated(shape, mean, stddev):
    """N(mean, stddev²) redrawn where |x − mean| > 2·stddev."""
    rng = backend.rng()
    out = rng.standard_normal(shape)
    bad = xp.abs(out) > 2
    while bad.any():
        out[bad] = rng.standard_normal(int(bad.sum()))
        bad = xp.abs(out) > 2
    return mean + stddev * out


class Initializer:
    """Base class: ``init(shape, dtype=None)`` returns an array; ``get_config()`` its arguments."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


class Zeros(Initializer):
    """All zeros."""

    def __call__(self, shape, dtype=None):
        return xp.zeros(shape, _dtype(dtype))


class Ones(Initializer):
    """All ones."""

    def __call__(self, shape, dtype=None):
        return xp.ones(shape, _dtype(dtype))


class Constant(Initializer):
    """Every entry ``value``."""

    def __init__(self, value=0.0):
        self.value = float(value)

    def __call__(self, shape, dtype=None):
        return xp.full(shape, self.value, _dtype(dtype))

    def get_config(self):
        return {"value": self.value}


class RandomNormal(Initializer):
    """N(mean, stddev²), stddev 0.05 by default (Keras's)."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = float(mean), float(stddev), seed

    def __call__(self, shape, dtype=None):
        return (self.mean + self.stddev * backend.rng().standard_normal(shape)).astype(_dtype(dtype))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    """U(minval, maxval), (−0.05, 0.05) by default (Keras's)."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = float(minval), float(maxval), seed

    def __call__(self, shape, dtype=None):
        return backend.rng().uniform(self.minval, self.maxval, shape).astype(_dtype(dtype))

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class TruncatedNormal(RandomNormal):
    """N(mean, stddev²) with draws beyond 2·stddev redrawn."""

    def __call__(self, shape, dtype=None):
        return _truncated(shape, self.mean, self.stddev).astype(_dtype(dtype))


class VarianceScaling(Initializer):
    """Variance scale / n with n = fan_in, fan_out or (fan_in + fan_out) / 2 (``mode``), drawn
    from a truncated normal (σ = √(scale/n) / 0.8796…), an untruncated normal (σ = √(scale/n))
    or a uniform U(−√(3·scale/n), √(3·scale/n)) (``distribution``)."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: mode must be 'fan_in', 'fan_out' or 'fan_avg', got {mode!r}")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(f"VarianceScaling: distribution must be 'truncated_normal', 'untruncated_normal' or "
                             f"'uniform', got {distribution!r}")
        self.scale, self.mode, self.distribution, self.seed = float(scale), mode, distribution, seed

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = _fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        var = self.scale / max(1.0, n)
        if self.distribution == "uniform":
            limit = math.sqrt(3 * var)
            out = backend.rng().uniform(-limit, limit, shape)
        elif self.distribution == "untruncated_normal":
            out = math.sqrt(var) * backend.rng().standard_normal(shape)
        else:
            out = _truncated(shape, 0.0, math.sqrt(var) / _TRUNC_STD)
        return out.astype(_dtype(dtype))

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed}


def _scaling(name, scale, mode, distribution, doc):
    def __init__(self, seed=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self):
        return {"seed": self.seed}

    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config, "__doc__": doc,
                                           "__module__": __name__})


GlorotUniform = _scaling("GlorotUniform", 1.0, "fan_avg", "uniform", "U(−l, l), l = √(6 / (fan_in + fan_out)).")
GlorotNormal = _scaling("GlorotNormal", 1.0, "fan_avg", "truncated_normal",
                        "Truncated normal, σ = √(2 / (fan_in + fan_out)) / 0.8796….")
HeUniform = _scaling("HeUniform", 2.0, "fan_in", "uniform", "U(−l, l), l = √(6 / fan_in).")
HeNormal = _scaling("HeNormal", 2.0, "fan_in", "truncated_normal", "Truncated normal, σ = √(2 / fan_in) / 0.8796….")
LecunUniform = _scaling("LecunUniform", 1.0, "fan_in", "uniform", "U(−l, l), l = √(3 / fan_in).")
LecunNormal = _scaling("LecunNormal", 1.0, "fan_in", "truncated_normal",
                       "Truncated normal, σ = √(1 / fan_in) / 0.8796….")


class Orthogonal(Initializer):
    """gain · Q, Q from the QR decomposition of a normal (rows = ∏ shape[:-1], cols = shape[-1])
    matrix (of its transpose when rows < cols), columns' signs fixed by diag(R)."""

    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = float(gain), seed

    def __call__(self, shape, dtype=None):
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = backend.rng().standard_normal((max(rows, cols), min(rows, cols)))
        q, r = xp.linalg.qr(a)
        q = q * xp.sign(xp.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q).reshape(shape).astype(_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


_BY_NAME = {
    "zeros": Zeros, "ones": Ones, "constant": Constant, "random_normal": RandomNormal,
    "random_uniform": RandomUniform, "uniform": RandomUniform, "normal": RandomNormal,
    "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling, "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal, "he_uniform": HeUniform, "he_normal": HeNormal, "lecun_uniform": LecunUniform,
    "lecun_normal": LecunNormal, "orthogonal": Orthogonal,
}
_CLASSES = {cls.__name__: cls for cls in set(_BY_NAME.values())}


def get(identifier):
    """An Initializer from a name (``'glorot_uniform'``, ``'he_normal'``, ``'zeros'``…), a
    ``{"class_name": …, "config": {…}}`` dict, an Initializer, or a callable ``f(shape, dtype)``."""
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _BY_NAME and identifier in _CLASSES:
            return _CLASSES[identifier]()
        if key not in _BY_NAME:
            raise ValueError(f"Could not interpret initializer identifier: {identifier!r}; known: "
                             f"{', '.join(sorted(_BY_NAME))}")
        return _BY_NAME[key]()
    if isinstance(identifier, dict) and identifier.get("class_name") in _CLASSES:
        return _CLASSES[identifier["class_name"]].from_config(identifier.get("config", {}))
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret initializer identifier: {identifier!r}")


def serialize(initializer):
    """The JSON form a saved model stores: the class name and its config."""
    if isinstance(initializer, str):
        return initializer
    if isinstance(initializer, Initializer) and type(initializer).__name__ in _CLASSES:
        return {"class_name": type(initializer).__name__, "config": initializer.get_config()}
    return initializer  # a plain function: refused by the saver, with its message
