"""Metrics for ``fit`` / ``evaluate``: accumulated over batches, reported per epoch.

Classification metrics take the model's scores (N, C) (or probabilities; for
one output column, a score > 0.5 means class 1 when the scores are
probabilities in [0, 1], > 0 for logits) and integer targets (N,).

=================  =============================================================
accuracy           (1/N) Σ [argmax ŷ_n = y_n]
top_k_accuracy     (1/N) Σ [y_n ∈ k largest scores of ŷ_n]
precision (macro)  mean over classes c of TP_c / (TP_c + FP_c)
recall (macro)     mean over classes c of TP_c / (TP_c + FN_c)
f1 (macro)         mean over classes c of 2·P_c·R_c / (P_c + R_c)
confusion_matrix   M[i, j] = #{n : y_n = i, argmax ŷ_n = j}
mse, mae           mean (ŷ − y)², mean |ŷ − y|
=================  =============================================================

Classes absent from both targets and predictions are left out of the macro
averages (as scikit-learn does with ``labels`` given by the data).
"""
from __future__ import annotations

from ..backend import xp


def _np(a):
    return a.numpy() if hasattr(a, "numpy") and not isinstance(a, xp.ndarray) else xp.asarray(a)


def predicted_classes(scores):
    """Class predictions from scores (N, C), or from one column / a vector of binary scores."""
    s = _np(scores)
    if s.ndim == 2 and s.shape[1] > 1:
        return s.argmax(axis=1)
    s = s.reshape(-1)
    threshold = 0.5 if (s.min(initial=0) >= 0 and s.max(initial=0) <= 1) else 0.0
    return (s > threshold).astype(xp.int64)


def _targets(y):
    y = _np(y)
    if y.ndim == 2 and y.shape[1] > 1:  # one-hot or soft targets
        return y.argmax(axis=1)
    return y.reshape(-1).astype(xp.int64)


class Metric:
    """A metric accumulated over batches: ``update(pred, target)``, ``result()``, ``reset()``."""

    name = "metric"

    def reset(self):
        raise NotImplementedError

    def update(self, pred, target):
        raise NotImplementedError

    def result(self):
        raise NotImplementedError


class Accuracy(Metric):
    """Fraction of samples whose predicted class equals the target."""

    name = "accuracy"

    def __init__(self):
        self.reset()

    def reset(self):
        self.correct, self.count = 0, 0

    def update(self, pred, target):
        p, t = predicted_classes(pred), _targets(target)
        self.correct += int((p == t).sum())
        self.count += t.size

    def result(self):
        return self.correct / max(self.count, 1)


class TopKAccuracy(Metric):
    """Fraction of samples whose target is among the k highest scores."""

    def __init__(self, k=5):
        self.k = k
        self.name = f"top{k}_accuracy"
        self.reset()

    def reset(self):
        self.correct, self.count = 0, 0

    def update(self, pred, target):
        s, t = _np(pred), _targets(target)
        k = min(self.k, s.shape[1])
        top = xp.argpartition(-s, k - 1, axis=1)[:, :k]
        self.correct += int((top == t[:, None]).any(axis=1).sum())
        self.count += t.size

    def result(self):
        return self.correct / max(self.count, 1)


class ConfusionMatrix(Metric):
    """The confusion matrix M[true, predicted], grown to the largest class seen."""

    name = "confusion_matrix"

    def __init__(self, num_classes=None):
        self.num_classes = num_classes
        self.reset()

    def reset(self):
        self.matrix = xp.zeros((self.num_classes or 0,) * 2, dtype=xp.int64)

    def update(self, pred, target):
        p, t = predicted_classes(pred), _targets(target)
        n = max(self.matrix.shape[0], int(p.max(initial=-1)) + 1, int(t.max(initial=-1)) + 1)
        if n > self.matrix.shape[0]:
            m = xp.zeros((n, n), dtype=xp.int64)
            k = self.matrix.shape[0]
            m[:k, :k] = self.matrix
            self.matrix = m
        self.matrix += xp.bincount(t * n + p, minlength=n * n).reshape(n, n)

    def result(self):
        return self.matrix.copy()


class _MacroFromConfusion(ConfusionMatrix):
    def _per_class(self):
        m = self.matrix.astype(xp.float64)
        tp = xp.diag(m)
        present = (m.sum(axis=0) + m.sum(axis=1)) > 0
        return tp, m.sum(axis=0), m.sum(axis=1), present

    @staticmethod
    def _safe_div(a, b):
        return xp.divide(a, b, out=xp.zeros_like(a), where=b > 0)


class Precision(_MacroFromConfusion):
    """Macro-averaged precision TP / (TP + FP)."""

    name = "precision"

    def result(self):
        tp, predicted, _, present = self._per_class()
        return float(self._safe_div(tp, predicted)[present].mean()) if present.any() else 0.0


class Recall(_MacroFromConfusion):
    """Macro-averaged recall TP / (TP + FN)."""

    name = "recall"

    def result(self):
        tp, _, actual, present = self._per_class()
        return float(self._safe_div(tp, actual)[present].mean()) if present.any() else 0.0


class F1(_MacroFromConfusion):
    """Macro-averaged F1 = 2PR / (P + R) per class."""

    name = "f1"

    def result(self):
        tp, predicted, actual, present = self._per_class()
        p, r = self._safe_div(tp, predicted), self._safe_div(tp, actual)
        f = self._safe_div(2 * p * r, p + r)
        return float(f[present].mean()) if present.any() else 0.0


class _MeanError(Metric):
    def __init__(self):
        self.reset()

    def reset(self):
        self.total, self.count = 0.0, 0

    def update(self, pred, target):
        p, t = _np(pred).astype(xp.float64), _np(target).astype(xp.float64)
        d = p.reshape(t.shape) - t if p.size == t.size else p - t
        self.total += float(self._err(d).sum())
        self.count += d.size

    def result(self):
        return self.total / max(self.count, 1)


class MeanSquaredError(_MeanError):
    """mean (ŷ − y)²."""

    name = "mse"

    @staticmethod
    def _err(d):
        return d * d


class MeanAbsoluteError(_MeanError):
    """mean |ŷ − y|."""

    name = "mae"

    @staticmethod
    def _err(d):
        return xp.abs(d)


_BY_NAME = {
    "accuracy": Accuracy, "acc": Accuracy, "precision": Precision, "recall": Recall, "f1": F1,
    "confusion_matrix": ConfusionMatrix, "mse": MeanSquaredError, "mae": MeanAbsoluteError,
    "top5": lambda: TopKAccuracy(5), "top_5_accuracy": lambda: TopKAccuracy(5),
    "top_k_accuracy": lambda: TopKAccuracy(5), "top3": lambda: TopKAccuracy(3),
}


def get_metric(spec):
    """A fresh :class:`Metric` from a name ('accuracy', 'top5', 'f1', 'mse', …) or a Metric."""
    if isinstance(spec, Metric):
        spec.reset()
        return spec
    if isinstance(spec, str) and spec.lower() in _BY_NAME:
        return _BY_NAME[spec.lower()]()
    if isinstance(spec, str) and spec.lower().startswith("top") and spec[3:].split("_")[0].isdigit():
        return TopKAccuracy(int(spec[3:].split("_")[0]))
    raise ValueError(f"metrics: unknown metric {spec!r}; expected a Metric or one of {sorted(_BY_NAME)} or 'topK'")


def accuracy(pred, target):
    """Fraction of correct class predictions (a convenience function)."""
    m = Accuracy()
    m.update(pred, target)
    return m.result()


def confusion_matrix(pred, target, num_classes=None):
    """M[true, predicted] counts (a convenience function)."""
    m = ConfusionMatrix(num_classes)
    m.update(pred, target)
    return m.result()
