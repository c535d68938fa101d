"""Weight penalties added to the loss (Keras's regularizers).

=================  ==========================================
L1(l=0.01)         R(w) = l·Σ|w|
L2(l=0.01)         R(w) = l·Σw²            (no ½, as Keras)
L1L2(l1, l2)       R(w) = l1·Σ|w| + l2·Σw²
any callable       R(w) = fn(w), a scalar tensor
=================  ==========================================

A layer opts in through two attributes, ``kernel_regularizer`` (applied to its
``weight``) and ``bias_regularizer`` (applied to its ``bias``), holding a
regularizer, a callable, a name (``'l1'``, ``'l2'``, ``'l1_l2'``) or None.
:func:`regularization_loss` sums every penalty of a model in one differentiable
scalar, to be added to the data loss::

    loss = F.cross_entropy(model(x), y) + regularizers.regularization_loss(model)

L2 and weight decay: the gradient of l·Σw² is 2l·w, so SGD with ``weight_decay=λ``
(which adds λ·w to the gradient, as in PyTorch) equals an L2 penalty with
l = λ/2. (For Adam the two differ; AdamW decouples the decay.)
"""
from __future__ import annotations

from ..tensor import zeros


class Regularizer:
    """Base class: a callable ``R(weight) -> scalar tensor`` with a JSON-able ``get_config()``."""

    def __call__(self, weight):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(weight)")

    def get_config(self):
        return {}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class _Factor(Regularizer):
    """A penalty scaled by one factor ``l`` (L1, L2)."""

    def __init__(self, l=0.01):  # noqa: E741  (Keras's name)
        self.l = float(l)

    def get_config(self):
        return {"l": self.l}


class L1(_Factor):
    """L1 penalty R(w) = l·Σ|w| (drives weights to exactly zero: sparsity).

    Args:
        l: the factor (default 0.01, as Keras).

    Example:
        >>> L1(0.1)(shendu.tensor([1.0, -2.0]))
        tensor(0.3)
    """

    def __call__(self, weight):
        return weight.abs().sum() * self.l


class L2(_Factor):
    """L2 penalty R(w) = l·Σw² (Keras's: no ½; gradient 2l·w; SGD weight_decay λ = L2 with l = λ/2).

    Args:
        l: the factor (default 0.01, as Keras).

    Example:
        >>> L2(0.1)(shendu.tensor([1.0, -2.0]))
        tensor(0.5)
    """

    def __call__(self, weight):
        return (weight * weight).sum() * self.l


class L1L2(Regularizer):
    """Both penalties, R(w) = l1·Σ|w| + l2·Σw² (elastic net).

    Args:
        l1, l2: the factors (default 0.01 each, as Keras's ``l1_l2``; Keras's
            class defaults to 0).
    """

    def __init__(self, l1=0.01, l2=0.01):
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, weight):
        return L1(self.l1)(weight) + L2(self.l2)(weight)

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


# Keras's lower-case aliases.
l1, l2, l1_l2 = L1, L2, L1L2

_BY_NAME = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2}


def get(spec):
    """Resolve a regularizer specification into a callable (or None).

    Args:
        spec: None; a name ``'l1'``, ``'l2'``, ``'l1_l2'`` (default factors
            0.01); a config dict ``{'class_name': 'L2', 'config': {'l': 1e-4}}``;
            or any callable ``fn(weight) -> scalar tensor``, returned as is.

    Example:
        >>> get("l2")
        L2(l=0.01)
    """
    if spec is None or callable(spec):
        return spec
    if isinstance(spec, str):
        key = spec.lower()
        if key not in _BY_NAME:
            raise ValueError(f"regularizers.get: unknown regularizer {spec!r}; known: 'l1', 'l2', 'l1_l2'")
        return _BY_NAME[key]()
    if isinstance(spec, dict) and "class_name" in spec:
        key = str(spec["class_name"]).lower()
        if key not in _BY_NAME:
            raise ValueError(f"regularizers.get: unknown class_name {spec['class_name']!r}; known: L1, L2, L1L2")
        return _BY_NAME[key](**spec.get("config", {}))
    raise TypeError(f"regularizers.get: expected None, a name, a config dict or a callable, got {spec!r}")


#: (attribute holding the regularizer, parameter it applies to)
_ATTACHMENTS = (("kernel_regularizer", "weight"), ("bias_regularizer", "bias"))


def regularization_loss(model):
    """Σ over the modules of ``model`` of R(module.weight) + R(module.bias), as one scalar tensor.

    Every module (the model itself included) with a ``kernel_regularizer`` /
    ``bias_regularizer`` attribute contributes the penalty of its ``weight`` /
    ``bias`` parameter (a layer not yet built, whose parameter does not exist
    yet, contributes nothing). Differentiable; a zero tensor when no module has
    a regularizer.

    Example:
        >>> loss = loss_fn(model(x), y) + regularization_loss(model)
    """
    total = None
    for _, module in model.named_modules():
        for attr, param_name in _ATTACHMENTS:
            reg = get(getattr(module, attr, None))
            param = module._parameters.get(param_name)
            if reg is None or param is None:
                continue
            penalty = reg(param)
            total = penalty if total is None else total + penalty
    if total is None:
        total = zeros((), dtype=_first_float_dtype(model))
    return total


def _first_float_dtype(model):
    for p in model.parameters():
        if p.dtype.kind == "f":
            return p.dtype
    return None


__all__ = ["Regularizer", "L1", "L2", "L1L2", "l1", "l2", "l1_l2", "get", "regularization_loss"]
