"""Losses by name for ``compile``, and Keras's probability losses.

shendu's own names take **logits** (``'cross_entropy'``, ``'bce_with_logits'``): the
softmax or sigmoid is part of the loss, exact where it saturates. Keras's names keep
Keras's meaning: ``'categorical_crossentropy'``, ``'sparse_categorical_crossentropy'`` and
``'binary_crossentropy'`` take **probabilities** (a model ending in a softmax or a sigmoid)
unless ``from_logits=True``:

    compile(loss="sparse_categorical_crossentropy")                          # probabilities
    compile(loss=SparseCategoricalCrossentropy(from_logits=True))            # logits
    compile(loss=("sparse_categorical_crossentropy", {"from_logits": True}))  # the same

Probabilities are clipped to [ε, 1 − ε] with ε = 1e-7 (Keras's ``epsilon()``) before the
logarithm, so that a probability of exactly 0 or 1 gives a large finite loss, not inf.
The class axis is axis 1, as in every shendu loss (Keras: the last axis; the same for
``(N, C)`` outputs).
"""
from __future__ import annotations

from .. import functional as F

EPSILON = 1e-7

#: shendu's names (and PyTorch-like short ones) for the functions of shendu.functional.
FUNCTIONAL = {
    "cross_entropy": "cross_entropy", "ce": "cross_entropy",
    "mse": "mse_loss", "mean_squared_error": "mse_loss", "mse_loss": "mse_loss",
    "mae": "l1_loss", "mean_absolute_error": "l1_loss", "l1": "l1_loss", "l1_loss": "l1_loss",
    "bce": "binary_cross_entropy", "binary_cross_entropy": "binary_cross_entropy",
    "bce_with_logits": "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits": "binary_cross_entropy_with_logits",
    "huber": "huber_loss", "huber_loss": "huber_loss", "smooth_l1": "smooth_l1_loss",
    "nll": "nll_loss", "nll_loss": "nll_loss", "hinge": "hinge_loss", "kl_div": "kl_div",
}


class KerasLoss:
    """Base of Keras's cross-entropies: ``from_logits`` picks the logits or the probabilities formula."""

    def __init__(self, from_logits=False):
        if not isinstance(from_logits, bool):
            raise TypeError(f"{type(self).__name__}: from_logits must be True or False, got {from_logits!r}")
        self.from_logits = from_logits

    @property
    def __name__(self):  # what fit's logs and messages call the loss
        return self.name

    def __repr__(self):
        return f"{type(self).__name__}(from_logits={self.from_logits})"


def _clipped(p):
    return p.clip(EPSILON, 1.0 - EPSILON)


class CategoricalCrossentropy(KerasLoss):
    """Keras's categorical cross-entropy of one-hot (or soft) targets q, shape (N, C):

        probabilities p:  ℓᵢ = −Σ_c q[i, c] · log clip(p[i, c] / Σ_c' p[i, c'], ε, 1 − ε)
        from_logits=True: ℓᵢ = −Σ_c q[i, c] · log softmax(xᵢ)[c]

    and the loss is the mean of ℓᵢ over the batch. Class indices take
    :class:`SparseCategoricalCrossentropy`.
    """

    name = "categorical_crossentropy"

    def __call__(self, output, target):
        if target.dtype.kind != "f" or target.shape != output.shape:
            raise ValueError(f"categorical_crossentropy: expected one-hot (or soft) float targets of the output's "
                             f"shape {tuple(output.shape)}, got {target.dtype} targets of shape {tuple(target.shape)}; "
                             f"class indices take 'sparse_categorical_crossentropy'")
        if self.from_logits:
            return F.cross_entropy(output, target)
        p = _clipped(output / output.sum(dim=1, keepdim=True))
        return -(target * p.log()).sum(dim=1).mean()


class SparseCategoricalCrossentropy(KerasLoss):
    """Keras's sparse categorical cross-entropy of class indices t:

        probabilities p:  ℓᵢ = −log clip(p[i, tᵢ] / Σ_c p[i, c], ε, 1 − ε)
        from_logits=True: ℓᵢ = −log softmax(xᵢ)[tᵢ]   (= shendu's ``cross_entropy``)

    and the loss is the mean of ℓᵢ. Shapes: output (N, C) or (N, C, d…), target (N) or (N, d…).
    """

    name = "sparse_categorical_crossentropy"

    def __call__(self, output, target):
        if self.from_logits:
            return F.cross_entropy(output, target)
        p = _clipped(output / output.sum(dim=1, keepdim=True))
        return F.nll_loss(p.log(), target)


class BinaryCrossentropy(KerasLoss):
    """Keras's binary cross-entropy of targets y in [0, 1]:

        probabilities p:  ℓ = −[y · log clip(p, ε, 1 − ε) + (1 − y) · log(1 − clip(p, ε, 1 − ε))]
        from_logits=True: ℓ = −[y · log σ(x) + (1 − y) · log(1 − σ(x))]   (exact for any x)

    averaged over every element. Shapes: output and target alike.
    """

    name = "binary_crossentropy"

    def __call__(self, output, target):
        target = target.to(dtype=output.dtype) if target.dtype != output.dtype else target
        if self.from_logits:
            return F.binary_cross_entropy_with_logits(output, target)
        p = _clipped(output)
        return -(target * p.log() + (1 - target) * (1 - p).log()).mean()


KERAS = {"categorical_crossentropy": CategoricalCrossentropy,
         "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
         "binary_crossentropy": BinaryCrossentropy}


def resolve_loss(spec):
    """A loss function ``loss(output, target)`` from a name (shendu's or Keras's, module docstring),
    a ``(name, options)`` pair (``("binary_crossentropy", {"from_logits": True})``), a callable
    or a Module (returned as they are)."""
    if callable(spec):
        return spec
    name, options = (spec if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], dict)
                     else (spec, None))
    if isinstance(name, str):
        key = name.lower()
        if key in KERAS:
            return KERAS[key](**(options or {}))
        fn = getattr(F, FUNCTIONAL.get(key, ""), None) if options is None else None
        if fn is not None:
            return fn
        if key in FUNCTIONAL:
            raise ValueError(f"compile: loss {name!r} takes no options; options such as from_logits belong to "
                             f"{', '.join(sorted(KERAS))}")
    raise ValueError(f"compile: unknown loss {spec!r}; expected a callable, one of {sorted({*FUNCTIONAL, *KERAS})} "
                     f"or a (name, options) pair")


def takes_logits(loss):
    """Whether ``loss`` applies a softmax itself (so the model must output logits): shendu's
    ``cross_entropy`` and the Keras losses with ``from_logits=True``."""
    return loss is F.cross_entropy or (isinstance(loss, (CategoricalCrossentropy, SparseCategoricalCrossentropy))
                                       and loss.from_logits)


def final_softmax(model):
    """The path and type of the model's last layer when it is a softmax (an ``nn.Softmax``,
    or a layer with ``activation='softmax'``), else None."""
    from ..nn import Sequential, Softmax

    path, layer = "", model
    while isinstance(layer, Sequential) and len(layer):
        path, layer = f"{path}.{len(layer) - 1}".lstrip("."), layer[len(layer) - 1]
    if isinstance(layer, Softmax):
        return path or type(layer).__name__, type(layer).__name__
    act = getattr(layer, "activation", None)
    if act is F.softmax or getattr(layer, "activation_spec", None) in ("softmax", "Softmax"):
        return path or type(layer).__name__, type(layer).__name__
    return None
