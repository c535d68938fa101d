"""Keras's losses: ``loss(y_true, y_pred, sample_weight=None)`` with Keras's meanings.

Probabilities unless ``from_logits=True`` (crossentropies); the class axis is the
last one (Keras's). Each loss computes per-sample values ℓ (the mean over the
last axis for the regression losses) and reduces them Keras's way,
``'sum_over_batch_size'``: Σ w·ℓ / (number of values) — a sample weight scales a
sample's term, the divisor stays the count. Probabilities are clipped to
[ε, 1 − ε], ε = 1e-7 (Keras's ``epsilon()``), before a logarithm.

=================================  ==================================================
categorical_crossentropy           −Σ_c y_c log p_c,  p = clip(p / Σ p)
sparse_categorical_crossentropy    −log p_t (t an integer class)
binary_crossentropy                mean_last −[y log p + (1 − y) log(1 − p)]
mean_squared_error (mse)           mean_last (y − ŷ)²;  mae: mean_last |y − ŷ|
mean_absolute_percentage_error     100 · mean_last |y − ŷ| / max(|y|, ε)
mean_squared_logarithmic_error     mean_last (log(1 + ŷ) − log(1 + y))²  (ŷ, y clipped at ε)
huber                              ½d² for |d| ≤ δ, δ(|d| − ½δ) beyond
log_cosh                           mean_last log cosh(ŷ − y)
hinge / squared_hinge              mean_last max(1 − y·ŷ, 0) (^2), y in {−1, 1} (0/1 mapped)
kl_divergence                      Σ y log(y / ŷ) (both clipped to [ε, 1])
poisson                            mean_last ŷ − y log(ŷ + ε)
cosine_similarity                  −Σ ŷ̂·ŷ over the last axis of the L2-normalised y and ŷ
=================================  ==================================================
"""
from __future__ import annotations

from .. import functional as F
from ..backend import xp
from ..tensor import Tensor
from ..training.losses import EPSILON
from .engine import snake_case
from .errors import unsupported


def _tensor(v, like=None):
    if isinstance(v, Tensor):
        return v
    arr = xp.asarray(v)
    if arr.dtype.kind == "f" or (like is not None and arr.dtype.kind in "iub" and like == "float"):
        arr = arr.astype(xp.float32)
    return Tensor(arr)


def _float_target(y_true, y_pred):
    y = _tensor(y_true)
    if y.dtype != y_pred.dtype:
        y = y.to(dtype=y_pred.dtype)
    if tuple(y.shape) != tuple(y_pred.shape) and y.ndim == y_pred.ndim - 1:
        y = y.reshape(*y.shape, 1)  # (N,) targets of an (N, 1) output
    return y


def _clip(p):
    return p.clip(EPSILON, 1.0 - EPSILON)


# ---------------------------------------------------------------- per-sample functions
def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Per-sample −Σ_c y_c log p_c over ``axis`` (one-hot or soft targets of y_pred's shape)."""
    y = _float_target(y_true, y_pred)
    if tuple(y.shape) != tuple(y_pred.shape):
        raise ValueError(f"Arguments `target` and `output` must have the same shape. Received: target.shape="
                         f"{tuple(y.shape)}, output.shape={tuple(y_pred.shape)} (class indices take "
                         f"sparse_categorical_crossentropy)")
    if label_smoothing:
        y = y * (1 - label_smoothing) + label_smoothing / y_pred.shape[axis]
    if from_logits:
        return -(y * F.log_softmax(y_pred, axis)).sum(axis=axis)
    p = _clip(y_pred / y_pred.sum(axis=axis, keepdims=True))
    return -(y * p.log()).sum(axis=axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Per-sample −log p_t, t the integer class (y_true of y_pred's shape without the class axis, or
    with a trailing 1)."""
    if ignore_class is not None:
        raise unsupported("sparse_categorical_crossentropy(ignore_class=…)", "pass sample_weight 0 for those")
    t = y_true.data if isinstance(y_true, Tensor) else xp.asarray(y_true)
    if t.ndim == y_pred.ndim and t.shape[-1] == 1:
        t = t[..., 0]
    c = y_pred.shape[axis]
    if t.shape != tuple(y_pred.shape[:-1]):
        raise ValueError(f"Arguments `target` and `output` must have the same shape up until the last dimension: "
                         f"target.shape={t.shape}, output.shape={tuple(y_pred.shape)}")
    t = t.astype(xp.int64)
    if t.size and (t.min() < 0 or t.max() >= c):
        raise ValueError(f"sparse_categorical_crossentropy: class indices must be in [0, {c}), got values in "
                         f"[{t.min()}, {t.max()}]")
    onehot = Tensor(xp.eye(c, dtype=y_pred.dtype)[t])
    return categorical_crossentropy(onehot, y_pred, from_logits=from_logits, axis=axis)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Per-sample mean over the last axis of −[y log p + (1 − y) log(1 − p)]."""
    y = _float_target(y_true, y_pred)
    if label_smoothing:
        y = y * (1 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        values = F.binary_cross_entropy_with_logits(y_pred, y, reduction="none")
    else:
        p = _clip(y_pred)
        values = -(y * p.log() + (1 - y) * (1 - p).log())
    return values.mean(axis=axis)


def mean_squared_error(y_true, y_pred):
    """mean over the last axis of (y − ŷ)²."""
    d = y_pred - _float_target(y_true, y_pred)
    return (d * d).mean(axis=-1)


def mean_absolute_error(y_true, y_pred):
    """mean over the last axis of |y − ŷ|."""
    return (y_pred - _float_target(y_true, y_pred)).abs().mean(axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """100 · mean |y − ŷ| / max(|y|, ε)."""
    y = _float_target(y_true, y_pred)
    return ((y - y_pred).abs() / y.abs().clip(EPSILON, None)).mean(axis=-1) * 100.0


def mean_squared_logarithmic_error(y_true, y_pred):
    """mean (log(1 + max(ŷ, ε)) − log(1 + max(y, ε)))²."""
    y = _float_target(y_true, y_pred)
    d = (y_pred.clip(EPSILON, None) + 1).log() - (y.clip(EPSILON, None) + 1).log()
    return (d * d).mean(axis=-1)


def huber(y_true, y_pred, delta=1.0):
    """½d² where |d| ≤ δ, δ(|d| − ½δ) beyond; mean over the last axis."""
    d = (y_pred - _float_target(y_true, y_pred)).abs()
    quad = d.clip(None, delta)
    return (quad * quad * 0.5 + (d - quad) * delta).mean(axis=-1)


def log_cosh(y_true, y_pred):
    """mean log cosh(ŷ − y), as x + softplus(−2x) − log 2 (stable)."""
    x = y_pred - _float_target(y_true, y_pred)
    return (x + F.softplus(x * -2.0) - float(xp.log(2.0))).mean(axis=-1)


def _signed(y_true, y_pred):
    y = _float_target(y_true, y_pred)
    if y.numel() and set(xp.unique(y.data).tolist()) <= {0.0, 1.0}:
        y = y * 2.0 - 1.0  # Keras maps 0/1 labels to −1/1
    return y


def hinge(y_true, y_pred):
    """mean max(1 − y·ŷ, 0), labels 0/1 mapped to −1/1."""
    return F.relu(1.0 - _signed(y_true, y_pred) * y_pred).mean(axis=-1)


def squared_hinge(y_true, y_pred):
    """mean max(1 − y·ŷ, 0)²."""
    h = F.relu(1.0 - _signed(y_true, y_pred) * y_pred)
    return (h * h).mean(axis=-1)


def kl_divergence(y_true, y_pred):
    """Σ y log(y / ŷ) over the last axis, both clipped to [ε, 1]."""
    y = _float_target(y_true, y_pred).clip(EPSILON, 1.0)
    p = y_pred.clip(EPSILON, 1.0)
    return (y * (y / p).log()).sum(axis=-1)


def poisson(y_true, y_pred):
    """mean ŷ − y log(ŷ + ε)."""
    y = _float_target(y_true, y_pred)
    return (y_pred - y * (y_pred + EPSILON).log()).mean(axis=-1)


def cosine_similarity(y_true, y_pred, axis=-1):
    """−Σ ŷ·y over ``axis`` of the L2-normalised vectors (Keras's loss is the negative similarity)."""
    y = _float_target(y_true, y_pred)
    yn = y / ((y * y).sum(axis=axis, keepdims=True) + 1e-12).sqrt()
    pn = y_pred / ((y_pred * y_pred).sum(axis=axis, keepdims=True) + 1e-12).sqrt()
    return -(yn * pn).sum(axis=axis)


# ---------------------------------------------------------------- reduction and classes
def reduce(values, sample_weight=None, reduction="sum_over_batch_size"):
    """Keras's reduction of per-sample ``values``: Σ w·ℓ / count ('sum_over_batch_size'), Σ w·ℓ
    ('sum') or the weighted values themselves ('none' / None)."""
    if sample_weight is not None:
        w = _tensor(sample_weight, "float")
        if w.dtype != values.dtype:
            w = w.to(dtype=values.dtype)
        while w.ndim < values.ndim:
            w = w.unsqueeze(-1)
        values = values * w
    if reduction in (None, "none"):
        return values
    if reduction == "sum":
        return values.sum()
    if reduction == "sum_over_batch_size":
        return values.sum() / max(values.numel(), 1)
    raise ValueError(f"Invalid value for argument `reduction`. Expected one of 'sum', 'sum_over_batch_size', "
                     f"'none'. Received: reduction={reduction!r}")


class Loss:
    """Base class: ``loss(y_true, y_pred, sample_weight=None)`` → a scalar Tensor (Keras's
    ``'sum_over_batch_size'`` reduction). Subclasses implement ``call(y_true, y_pred)`` → per-sample values."""

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or snake_case(type(self).__name__)
        self.reduction = reduction

    def call(self, y_true, y_pred):  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, y_true, y_pred, sample_weight=None):
        return reduce(self.call(y_true, y_pred), sample_weight, self.reduction)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}


class LossFunctionWrapper(Loss):
    """A per-sample function ``fn(y_true, y_pred, **options)`` as a Loss."""

    def __init__(self, fn, name=None, reduction="sum_over_batch_size", **options):
        super().__init__(name or fn.__name__, reduction)
        self.fn, self.options = fn, options

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self.options)

    def get_config(self):
        return {**super().get_config(), **self.options}


def _loss_class(name, fn, defaults=(), doc=None):
    defaults = dict(defaults)

    def __init__(self, *args, reduction="sum_over_batch_size", name=snake_case(name), dtype=None, **options):
        names = list(defaults)
        for key, value in zip(names, args):
            options[key] = value
        unknown = set(options) - set(defaults)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unexpected arguments {sorted(unknown)}")
        LossFunctionWrapper.__init__(self, fn, name, reduction, **{**defaults, **options})

    return type(name, (LossFunctionWrapper,), {"__init__": __init__, "__doc__": doc or fn.__doc__,
                                               "__module__": __name__})


CategoricalCrossentropy = _loss_class("CategoricalCrossentropy", categorical_crossentropy,
                                      {"from_logits": False, "label_smoothing": 0.0, "axis": -1})
SparseCategoricalCrossentropy = _loss_class("SparseCategoricalCrossentropy", sparse_categorical_crossentropy,
                                            {"from_logits": False, "ignore_class": None, "axis": -1})
BinaryCrossentropy = _loss_class("BinaryCrossentropy", binary_crossentropy,
                                 {"from_logits": False, "label_smoothing": 0.0, "axis": -1})
MeanSquaredError = _loss_class("MeanSquaredError", mean_squared_error)
MeanAbsoluteError = _loss_class("MeanAbsoluteError", mean_absolute_error)
MeanAbsolutePercentageError = _loss_class("MeanAbsolutePercentageError", mean_absolute_percentage_error)
MeanSquaredLogarithmicError = _loss_class("MeanSquaredLogarithmicError", mean_squared_logarithmic_error)
Huber = _loss_class("Huber", huber, {"delta": 1.0})
LogCosh = _loss_class("LogCosh", log_cosh)
Hinge = _loss_class("Hinge", hinge)
SquaredHinge = _loss_class("SquaredHinge", squared_hinge)
KLDivergence = _loss_class("KLDivergence", kl_divergence)
Poisson = _loss_class("Poisson", poisson)
CosineSimilarity = _loss_class("CosineSimilarity", cosine_similarity, {"axis": -1})

mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kl_divergence
logcosh = log_cosh

_BY_NAME = {
    "categorical_crossentropy": CategoricalCrossentropy, "sparse_categorical_crossentropy":
        SparseCategoricalCrossentropy, "binary_crossentropy": BinaryCrossentropy, "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError, "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError, "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError, "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "huber": Huber, "huber_loss": Huber, "log_cosh": LogCosh, "logcosh": LogCosh, "hinge": Hinge,
    "squared_hinge": SquaredHinge, "kld": KLDivergence, "kl_divergence": KLDivergence, "poisson": Poisson,
    "cosine_similarity": CosineSimilarity,
}
_CLASSES = {cls.__name__: cls for cls in set(_BY_NAME.values())}


def get(identifier):
    """A Loss from a name (``'sparse_categorical_crossentropy'``, ``'mse'``…), a Loss, a class, or
    a function ``fn(y_true, y_pred)`` (per-sample values or a scalar), wrapped with Keras's reduction."""
    if identifier is None:
        return None
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower()) or _CLASSES.get(identifier)
        if cls is None:
            raise ValueError(f"Could not interpret loss identifier: {identifier!r}; known: "
                             f"{', '.join(sorted(_BY_NAME))}")
        return cls()
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if isinstance(identifier, dict) and identifier.get("class_name") in _CLASSES:
        return _CLASSES[identifier["class_name"]](**identifier.get("config", {}))
    if callable(identifier):
        return LossFunctionWrapper(identifier, getattr(identifier, "__name__", "loss"))
    raise ValueError(f"Could not interpret loss identifier: {identifier!r}")


def serialize(loss):
    """``{"class_name", "config"}`` for the losses of this module (what a saved model stores), else None."""
    if type(loss).__name__ in _CLASSES and type(loss) is _CLASSES[type(loss).__name__]:
        config = {k: v for k, v in loss.get_config().items()}
        return {"class_name": type(loss).__name__, "config": config}
    return None
