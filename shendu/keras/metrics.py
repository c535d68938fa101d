"""Keras's metrics: stateful objects with ``update_state(y_true, y_pred, sample_weight=None)``,
``result()`` and ``reset_state()``; accumulated over an epoch by ``fit`` / ``evaluate``.

They are :class:`shendu.training.metrics.Metric` objects too, so shendu's Trainer
resets and reports them. ``result()`` returns a Python float.

Mean metrics (weighted mean of per-sample values v, weights w): Σ w·v / Σ w.

===============================  =============================================
sparse_categorical_accuracy      [argmax ŷ = y]
categorical_accuracy             [argmax ŷ = argmax y]
binary_accuracy                  mean over the last axis of [(ŷ > 0.5) = y]
accuracy (the class)             [ŷ = y] exactly
top_k_categorical_accuracy       [argmax y among the k largest ŷ] (k = 5)
mse / mae / mape / rmse          as the losses; rmse = √(Σ w (y − ŷ)² / Σ w)
precision / recall               TP / (TP + FP), TP / (TP + FN) of ŷ > 0.5
===============================  =============================================

``metrics=["accuracy"]`` in ``compile`` picks Keras's accuracy for the targets
it sees: binary when ŷ has one column, sparse categorical when y has one axis
less than ŷ (or a trailing 1), categorical otherwise.
"""
from __future__ import annotations

import math

from ..backend import xp
from ..tensor import Tensor
from ..training.metrics import Metric as ShenduMetric
from . import losses as L
from .engine import snake_case
from .errors import unsupported


def _np(v):
    if isinstance(v, Tensor):
        return v.data
    return xp.asarray(v)


class Metric(ShenduMetric):
    """Base class of Keras's metrics (``update_state`` / ``result`` / ``reset_state``)."""

    def __init__(self, name=None, dtype=None):
        self.name = name or snake_case(type(self).__name__)
        self.reset_state()

    def reset_state(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None):  # pragma: no cover - abstract
        raise NotImplementedError

    # shendu's Metric protocol
    def reset(self):
        self.reset_state()

    def update(self, pred, target):
        self.update_state(target, pred)

    def get_config(self):
        return {"name": self.name}

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class Mean(Metric):
    """The weighted mean of the values given to ``update_state(values, sample_weight=None)``."""

    def reset_state(self):
        self.total, self.count = 0.0, 0.0

    def _add(self, values, sample_weight):
        v = _np(values).astype(xp.float64)
        if sample_weight is None:
            self.total += float(v.sum())
            self.count += v.size
            return
        w = _np(sample_weight).astype(xp.float64)
        w = w.reshape(w.shape + (1,) * (v.ndim - w.ndim))
        w = xp.broadcast_to(w, v.shape)
        self.total += float((v * w).sum())
        self.count += float(w.sum())

    def update_state(self, values, sample_weight=None):
        self._add(values, sample_weight)

    def result(self):
        return self.total / self.count if self.count else 0.0


class Sum(Mean):
    """The weighted sum of the values."""

    def result(self):
        return self.total


class MeanMetricWrapper(Mean):
    """The weighted mean of ``fn(y_true, y_pred)`` per sample."""

    def __init__(self, fn, name=None, dtype=None, **options):
        self.fn, self.options = fn, options
        super().__init__(name or fn.__name__, dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        self._add(self.fn(y_true, y_pred, **self.options), sample_weight)


# ---------------------------------------------------------------- per-sample functions (NumPy)
def _class_targets(y_true, y_pred):
    t = _np(y_true)
    if t.ndim == _np(y_pred).ndim and t.shape[-1] == 1:
        t = t[..., 0]
    return t


def sparse_categorical_accuracy(y_true, y_pred):
    """[argmax ŷ = y] per sample."""
    return (_np(y_pred).argmax(-1) == _class_targets(y_true, y_pred).astype(xp.int64)).astype(xp.float64)


def categorical_accuracy(y_true, y_pred):
    """[argmax ŷ = argmax y] per sample."""
    return (_np(y_pred).argmax(-1) == _np(y_true).argmax(-1)).astype(xp.float64)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """mean over the last axis of [(ŷ > threshold) = y]."""
    p, t = _np(y_pred), _np(y_true)
    if t.ndim == p.ndim - 1:
        t = t[..., None]
    return ((p > threshold).astype(xp.float64) == t.astype(xp.float64)).mean(axis=-1)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """[the true class among the k largest scores] (one-hot y)."""
    return sparse_top_k_categorical_accuracy(_np(y_true).argmax(-1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """[y among the k largest scores] (integer y)."""
    p = _np(y_pred)
    t = _class_targets(y_true, y_pred).astype(xp.int64)
    k = min(k, p.shape[-1])
    top = xp.argpartition(-p, k - 1, axis=-1)[..., :k]
    return (top == t[..., None]).any(axis=-1).astype(xp.float64)


def _loss_metric(fn):
    def metric(y_true, y_pred, **options):
        pred = y_pred if isinstance(y_pred, Tensor) else Tensor(_np(y_pred).astype(xp.float32))
        out = fn(y_true, pred, **options)
        return out.data if isinstance(out, Tensor) else xp.asarray(out)
    metric.__name__ = fn.__name__
    return metric


class _Wrapped(MeanMetricWrapper):
    fn_, defaults = None, {}

    def __init__(self, name=None, dtype=None, **options):
        unknown = set(options) - set(self.defaults)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unexpected arguments {sorted(unknown)}")
        super().__init__(type(self).fn_, name or snake_case(type(self).__name__), dtype,
                         **{**self.defaults, **options})


def _metric_class(name, fn, defaults=(), doc=None):
    return type(name, (_Wrapped,), {"fn_": staticmethod(fn), "defaults": dict(defaults),
                                    "__doc__": doc or fn.__doc__, "__module__": __name__})


class Accuracy(Mean):
    """[ŷ = y] exactly (for class predictions; ``metrics=["accuracy"]`` picks the right accuracy)."""

    def update_state(self, y_true, y_pred, sample_weight=None):
        self._add((_np(y_true).astype(xp.float64) == _np(y_pred).astype(xp.float64)).astype(xp.float64),
                  sample_weight)


SparseCategoricalAccuracy = _metric_class("SparseCategoricalAccuracy", sparse_categorical_accuracy)
CategoricalAccuracy = _metric_class("CategoricalAccuracy", categorical_accuracy)
BinaryAccuracy = _metric_class("BinaryAccuracy", binary_accuracy, {"threshold": 0.5})
TopKCategoricalAccuracy = _metric_class("TopKCategoricalAccuracy", top_k_categorical_accuracy, {"k": 5})
SparseTopKCategoricalAccuracy = _metric_class("SparseTopKCategoricalAccuracy", sparse_top_k_categorical_accuracy,
                                              {"k": 5})
MeanSquaredError = _metric_class("MeanSquaredError", _loss_metric(L.mean_squared_error))
MeanAbsoluteError = _metric_class("MeanAbsoluteError", _loss_metric(L.mean_absolute_error))
MeanAbsolutePercentageError = _metric_class("MeanAbsolutePercentageError",
                                            _loss_metric(L.mean_absolute_percentage_error))
CategoricalCrossentropy = _metric_class("CategoricalCrossentropy", _loss_metric(L.categorical_crossentropy),
                                        {"from_logits": False, "label_smoothing": 0.0})
SparseCategoricalCrossentropy = _metric_class("SparseCategoricalCrossentropy",
                                              _loss_metric(L.sparse_categorical_crossentropy), {"from_logits": False})
BinaryCrossentropy = _metric_class("BinaryCrossentropy", _loss_metric(L.binary_crossentropy),
                                   {"from_logits": False, "label_smoothing": 0.0})


class RootMeanSquaredError(MeanSquaredError):
    """√(Σ w (y − ŷ)² / Σ w)."""

    def result(self):
        return math.sqrt(super().result())


class _Confusion(Metric):
    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        if top_k is not None or class_id is not None or (thresholds is not None and not isinstance(thresholds,
                                                                                                   (int, float))):
            raise unsupported(f"{type(self).__name__}(top_k=/class_id=/several thresholds)",
                              "use one threshold (default 0.5) on binary outputs")
        self.threshold = 0.5 if thresholds is None else float(thresholds)
        super().__init__(name, dtype)

    def reset_state(self):
        self.tp = self.fp = self.fn = 0.0

    def update_state(self, y_true, y_pred, sample_weight=None):
        p = (_np(y_pred) > self.threshold)
        t = _np(y_true).astype(bool).reshape(p.shape) if _np(y_true).size == p.size else _np(y_true).astype(bool)
        w = xp.ones(p.shape) if sample_weight is None else xp.broadcast_to(
            _np(sample_weight).reshape(_np(sample_weight).shape + (1,) * (p.ndim - _np(sample_weight).ndim)), p.shape)
        self.tp += float((w * (p & t)).sum())
        self.fp += float((w * (p & ~t)).sum())
        self.fn += float((w * (~p & t)).sum())


class Precision(_Confusion):
    """TP / (TP + FP) of the predictions ŷ > threshold (0.5) against binary targets."""

    def result(self):
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0


class Recall(_Confusion):
    """TP / (TP + FN) of the predictions ŷ > threshold (0.5) against binary targets."""

    def result(self):
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0


class AutoAccuracy(Mean):
    """What the string ``"accuracy"`` means in ``compile``: Keras's accuracy for the targets seen
    (binary for one output column, sparse categorical for class indices, categorical otherwise)."""

    def update_state(self, y_true, y_pred, sample_weight=None):
        t, p = _np(y_true), _np(y_pred)
        if p.shape[-1] == 1:
            fn = binary_accuracy
        elif t.ndim < p.ndim or (t.ndim == p.ndim and t.shape[-1] == 1):
            fn = sparse_categorical_accuracy
        else:
            fn = categorical_accuracy
        self._add(fn(t, p), sample_weight)


mse = MSE = _loss_metric(L.mean_squared_error)
mae = MAE = _loss_metric(L.mean_absolute_error)

_BY_NAME = {
    "sparse_categorical_accuracy": SparseCategoricalAccuracy, "categorical_accuracy": CategoricalAccuracy,
    "binary_accuracy": BinaryAccuracy, "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy, "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError, "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError, "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "rmse": RootMeanSquaredError, "root_mean_squared_error": RootMeanSquaredError, "precision": Precision,
    "recall": Recall, "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy, "binary_crossentropy": BinaryCrossentropy,
}
_CLASSES = {cls.__name__: cls for cls in [*set(_BY_NAME.values()), Accuracy, Mean, Sum]}


def get(identifier):
    """A Metric from a name (logged under that name, as Keras does), a Metric, a class, or a
    function ``fn(y_true, y_pred)`` of per-sample values."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in ("accuracy", "acc"):
            return AutoAccuracy(name=identifier)
        if key == "auc":
            raise unsupported("the AUC metric", "use 'accuracy', Precision() and Recall()")
        cls = _BY_NAME.get(key) or _CLASSES.get(identifier)
        if cls is None:
            raise ValueError(f"Could not interpret metric identifier: {identifier!r}; known: 'accuracy', "
                             f"{', '.join(repr(k) for k in sorted(_BY_NAME))}")
        return cls(name=identifier)
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, dict) and identifier.get("class_name") in _CLASSES:
        return _CLASSES[identifier["class_name"]](**identifier.get("config", {}))
    if callable(identifier):
        return MeanMetricWrapper(_loss_metric(identifier) if not getattr(identifier, "__module__", "").endswith(
            "keras.metrics") else identifier, getattr(identifier, "__name__", "metric"))
    raise ValueError(f"Could not interpret metric identifier: {identifier!r}")


def serialize(metric):
    """The name or ``{"class_name", "config"}`` a saved model stores for ``metric`` (None when it cannot)."""
    if isinstance(metric, AutoAccuracy):
        return metric.name
    cls = _CLASSES.get(type(metric).__name__)
    if cls is type(metric):
        config = dict(getattr(metric, "options", {}))
        config["name"] = metric.name
        return {"class_name": cls.__name__, "config": config}
    return None
