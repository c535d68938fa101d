"""Loss functions: regression, binary and multi-class classification, margins, divergences.

Names, argument order ``(input, target)`` and semantics follow
``torch.nn.functional``; the Keras-only losses (``msle``, ``mape``, hinge,
squared hinge, cosine-similarity loss) keep Keras' formulas with the same
``(input, target, reduction=)`` calling convention. Every loss takes
``reduction``: ``'mean'`` (the default; the average over all elements, or the
weighted average for class-weighted losses), ``'sum'`` or ``'none'`` (the
per-element loss, shaped like the target).

The classification hot path, softmax cross-entropy on integer targets, is one
fused :class:`~shendu.autograd.Function` (:class:`SoftmaxCrossEntropy`): its
backward is (softmax − one-hot) · scale, without building the log-softmax
graph. The binary losses are fused too (their naive compositions are unstable
or slow); the rest is composed from differentiable ops.
"""
from __future__ import annotations

import contextlib
import warnings

from ..autograd import Function
from ..backend import get_array_module
from ..ops import abs, clip, exp, log, relu, sum, where
from ..tensor import Tensor
from ..ops.elementwise import sigmoid_array
from .activation import log_softmax

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction, op, extra=()):
    if reduction not in _REDUCTIONS and reduction not in extra:
        valid = ", ".join(repr(r) for r in _REDUCTIONS + tuple(extra))
        raise ValueError(f"{op}: reduction must be one of {valid}, got {reduction!r}")


def _reduce(loss, reduction, op):
    """Apply ``reduction`` to the element-wise ``loss``."""
    _check_reduction(reduction, op)
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _as_target(target, like):
    """``target`` as a tensor of ``like``'s floating dtype (lists, arrays and int tensors accepted)."""
    if not isinstance(target, Tensor):
        target = Tensor(target, dtype=like.dtype)
    elif target.dtype != like.dtype:
        target = target.astype(like.dtype) if not target.requires_grad else target
    return target


def _check_same_shape(input, target, op, strict):
    if input.shape == target.shape:
        return
    msg = (f"{op}: target shape {tuple(target.shape)} differs from input shape {tuple(input.shape)}")
    if strict:
        raise ValueError(msg + "; give the target the input's shape")
    warnings.warn(msg + "; they are broadcast, which is rarely intended (e.g. (N, 1) against (N,) gives (N, N))",
                  stacklevel=3)


# --------------------------------------------------------------------- regression
def mse_loss(input, target, reduction="mean"):
    """Mean squared error ℓ = (x − y)²;  ∂ℓ/∂x = 2(x − y).

    Shape: input (*), target (*) (broadcast, with a warning if the shapes differ) ->
    scalar, or (*) with ``reduction='none'``.

    Example:
        >>> F.mse_loss(shendu.tensor([1.0, 2.0]), shendu.tensor([1.0, 4.0]))     # 2.0
    """
    target = _as_target(target, input)
    _check_same_shape(input, target, "mse_loss", strict=False)
    d = input - target
    return _reduce(d * d, reduction, "mse_loss")


def l1_loss(input, target, reduction="mean"):
    """Mean absolute error ℓ = |x − y|;  ∂ℓ/∂x = sign(x − y) (0 at 0). Keras: MAE."""
    target = _as_target(target, input)
    _check_same_shape(input, target, "l1_loss", strict=False)
    return _reduce(abs(input - target), reduction, "l1_loss")


class Huber(Function):
    """ℓ = ½d² for |d| < δ, δ(|d| − ½δ) otherwise (d = x − y);  ∂ℓ/∂d = clip(d, −δ, δ)."""

    __slots__ = ("d", "delta")

    def forward(self, d, delta):
        xp = get_array_module(d)
        self.d, self.delta = d, delta
        a = xp.abs(d)
        return xp.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))

    def backward(self, g):
        return g * get_array_module(g).clip(self.d, -self.delta, self.delta)


def huber_loss(input, target, reduction="mean", delta=1.0):
    """Huber loss: squared error for |x − y| < δ, linear (slope δ) beyond; robust to outliers.

    ℓ = ½(x − y)² if |x − y| < δ else δ(|x − y| − ½δ);  ∂ℓ/∂x = clip(x − y, −δ, δ).
    """
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got delta={delta}")
    target = _as_target(target, input)
    _check_same_shape(input, target, "huber_loss", strict=False)
    return _reduce(Huber.apply(input - target, delta=delta), reduction, "huber_loss")


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """Smooth L1 (Fast R-CNN): ½(x − y)²/β if |x − y| < β else |x − y| − ½β; = huber_loss(δ=β)/β.

    ∂ℓ/∂x = clip((x − y)/β, −1, 1); ``beta=0`` is the L1 loss.
    """
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got beta={beta}")
    if beta == 0:
        return l1_loss(input, target, reduction)
    target = _as_target(target, input)
    _check_same_shape(input, target, "smooth_l1_loss", strict=False)
    return _reduce(Huber.apply(input - target, delta=beta) * (1.0 / beta), reduction, "smooth_l1_loss")


_KERAS_EPSILON = 1e-7


def msle(input, target, reduction="mean"):
    """Mean squared logarithmic error (Keras): ℓ = (log(1 + max(x, ε)) − log(1 + max(y, ε)))², ε = 1e-7.

    For positive targets spanning orders of magnitude (counts, prices): it
    penalises ratios, not differences. ∂ℓ/∂x = 2(log(1+x) − log(1+y)) / (1 + x) for x > ε.
    Alias: ``mean_squared_logarithmic_error``.
    """
    target = _as_target(target, input)
    _check_same_shape(input, target, "msle", strict=False)
    d = log(clip(input, min=_KERAS_EPSILON) + 1.0) - log(clip(target, min=_KERAS_EPSILON) + 1.0)
    return _reduce(d * d, reduction, "msle")


def mape(input, target, reduction="mean"):
    """Mean absolute percentage error (Keras): ℓ = 100 · |y − x| / max(|y|, ε), ε = 1e-7.

    ∂ℓ/∂x = 100 · sign(x − y) / max(|y|, ε). Alias: ``mean_absolute_percentage_error``.
    """
    target = _as_target(target, input)
    _check_same_shape(input, target, "mape", strict=False)
    return _reduce(abs(target - input) / clip(abs(target), min=_KERAS_EPSILON) * 100.0, reduction, "mape")


mean_squared_logarithmic_error = msle
mean_absolute_percentage_error = mape


# --------------------------------------------------------------------- binary classification
class BinaryCrossEntropy(Function):
    """ℓ = −(y·max(log p, −100) + (1 − y)·max(log(1 − p), −100)) on probabilities p, then the
    ``reduction`` ('none', 'sum' or 'mean' over all n elements) in the same node.

    ∂ℓ/∂p = (p − y) / max(p(1 − p), 1e-12);  ∂ℓ/∂y = max(log(1 − p), −100) − max(log p, −100)
    (PyTorch's clamps, so that p = 0 or 1 gives a large finite loss, not inf; PyTorch's ∂ℓ/∂y
    is the unclamped −logit(p), ±inf at p = 0 or 1, where this is the derivative of the clamped loss),
    times 1/n after a mean. The reduction is inside the node because a small network's step is
    Python-bound: a separate mean node cost a tenth of the XOR step (bench/NOTES.md §15).
    """

    __slots__ = ("p", "y", "log_ratio", "scale")

    def forward(self, p, y, reduction="none"):
        xp = get_array_module(p)
        self.p, self.y = p, y
        # log(0) = −inf is expected and clamped just below; a NaN (p outside [0, 1]) is reported by
        # binary_cross_entropy with the values, not warned about here
        with _log_warnings_off(xp):
            log_p = xp.maximum(xp.log(p), -100)
            log_q = xp.maximum(xp.log1p(-p), -100)
        # −ℓ = y·log p + (1 − y)·log(1 − p) = log(1 − p) + y·(log p − log(1 − p)): one pass fewer, and
        # the difference is ∂ℓ/∂y's (with the opposite sign)
        self.log_ratio = xp.subtract(log_p, log_q, out=log_p)
        neg_loss = xp.add(xp.multiply(y, self.log_ratio), log_q, out=log_q)
        if reduction == "none":
            self.scale = None
            return xp.negative(neg_loss, out=neg_loss)
        self.scale = -1 / neg_loss.size if reduction == "mean" else -1
        return neg_loss.sum() * self.scale

    def backward(self, g):
        xp = get_array_module(g)
        ip, iy = self.inputs
        p = self.p
        if self.scale is not None:  # a reduced loss: g is a scalar, times 1/n for a mean (its −1 undone)
            g = g * -self.scale
        gp = None
        if ip.requires_grad:  # in place: one array, not six (a small network's step is Python-bound)
            gp, q = p - self.y, 1 - p
            q *= p
            gp /= xp.maximum(q, 1e-12, out=q)
            gp *= g
        gy = g * -self.log_ratio if iy.requires_grad else None
        return gp, gy


def _log_warnings_off(xp):
    """NumPy's errstate(divide='ignore', invalid='ignore') where the backend has one (CuPy has none and
    never warns)."""
    errstate = getattr(xp, "errstate", None)
    return errstate(divide="ignore", invalid="ignore") if errstate is not None else contextlib.nullcontext()


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """Binary cross-entropy on probabilities: ℓ = −w[y log p + (1 − y) log(1 − p)].

    The logs are clamped at −100 as in PyTorch. Prefer
    :func:`binary_cross_entropy_with_logits` on raw scores: it is exact where
    the sigmoid saturates.

    Args:
        input: probabilities p in [0, 1]. target: y in [0, 1], same shape.
        weight: optional rescaling w, broadcast against the input.

    Shape: input (*), target (*) -> scalar, or (*) with ``reduction='none'``.
    """
    _check_reduction(reduction, "binary_cross_entropy")
    target = _as_target(target, input)
    _check_same_shape(input, target, "binary_cross_entropy", strict=True)
    if weight is not None or reduction == "none":
        _check_probabilities(input.data)
        loss = BinaryCrossEntropy.apply(input, target)
        if weight is not None:
            loss = loss * _as_target(weight, input)
        return _reduce(loss, reduction, "binary_cross_entropy")
    loss = BinaryCrossEntropy.apply(input, target, reduction=reduction)
    if loss.data != loss.data:  # a NaN: p outside [0, 1] gives one (log of a negative); check only then
        _check_probabilities(input.data)
    return loss


def _check_probabilities(p):
    """Raise unless every element of ``p`` is in [0, 1] (NaN fails both comparisons, as in PyTorch)."""
    if p.size and not bool(((p >= 0) & (p <= 1)).all()):
        raise ValueError(f"binary_cross_entropy: all elements of input should be between 0 and 1 (probabilities; "
                         f"use binary_cross_entropy_with_logits on raw scores), got values in "
                         f"[{float(p.min())}, {float(p.max())}]")


class BinaryCrossEntropyWithLogits(Function):
    """ℓ = (1 − y)·x + (1 + (w₊ − 1)·y)·softplus(−x) on logits x (w₊ = pos_weight, default 1);
    softplus(−x) = max(−x, 0) + log1p(e^(−|x|)) never overflows.

    ∂ℓ/∂x = (1 − y) − (1 + (w₊ − 1)y)·(1 − σ(x))   (= σ(x) − y when w₊ = 1)
    ∂ℓ/∂y = (w₊ − 1)·softplus(−x) − x;   ∂ℓ/∂w₊ = y·softplus(−x)
    """

    __slots__ = ("x", "y", "pw", "sp")

    def forward(self, x, y, pos_weight=None):
        xp = get_array_module(x)
        self.x, self.y, self.pw = x, y, pos_weight
        self.sp = xp.maximum(-x, 0) + xp.log1p(xp.exp(-xp.abs(x)))
        if pos_weight is None:
            return (1 - y) * x + self.sp
        return (1 - y) * x + (1 + (pos_weight - 1) * y) * self.sp

    def backward(self, g):
        ins = self.inputs
        x, y, pw, sp = self.x, self.y, self.pw, self.sp
        gx = gy = gw = None
        if ins[0].requires_grad:
            s = sigmoid_array(x)
            gx = g * (s - y) if pw is None else g * ((1 - y) - (1 + (pw - 1) * y) * (1 - s))
        if ins[1].requires_grad:
            gy = -g * x if pw is None else g * ((pw - 1) * sp - x)
        if pw is not None and ins[2].requires_grad:
            gw = g * y * sp
        return (gx, gy) if pw is None else (gx, gy, gw)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """Sigmoid + binary cross-entropy in one stable step, on logits x:

        ℓ = −w[w₊ · y · log σ(x) + (1 − y) · log(1 − σ(x))];   ∂ℓ/∂x = w(σ(x) − y) for w₊ = 1.

    Exact for logits of any magnitude (no log of a saturated sigmoid).

    Args:
        input: logits x. target: y in [0, 1], same shape.
        weight: per-element rescaling w (broadcast). pos_weight: w₊, the weight of
            positive examples, broadcast along the last (class) axis; > 1 raises recall.

    Shape: input (*), target (*) -> scalar, or (*) with ``reduction='none'``.
    """
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    target = _as_target(target, input)
    _check_same_shape(input, target, "binary_cross_entropy_with_logits", strict=True)
    if pos_weight is None:
        loss = BinaryCrossEntropyWithLogits.apply(input, target)
    else:
        loss = BinaryCrossEntropyWithLogits.apply(input, target, _as_target(pos_weight, input))
    if weight is not None:
        loss = loss * _as_target(weight, input)
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


# --------------------------------------------------------------------- multi-class classification
def _classes_last(a):
    """(N, C, d₁, …) -> (N·d₁·…, C); (C,) -> (1, C); (N, C) unchanged."""
    if a.ndim == 2:
        return a
    if a.ndim == 1:
        return a.reshape(1, -1)
    return get_array_module(a).moveaxis(a, 1, -1).reshape(-1, a.shape[1])


def _classes_back(g, shape):
    """The inverse of :func:`_classes_last` for a gradient of the input's ``shape``."""
    if len(shape) <= 2:
        return g.reshape(shape)
    moved = (shape[0],) + tuple(shape[2:]) + (shape[1],)
    return get_array_module(g).moveaxis(g.reshape(moved), -1, 1)


def _target_weights(t, weight, ignore_index, dtype):
    """For flat class indices t: (t with ignored entries replaced by 0, w[t] · [t ≠ ignore_index])."""
    xp = get_array_module(t)
    valid = t != ignore_index
    t_safe = xp.where(valid, t, 0)
    coef = valid.astype(dtype) if weight is None else xp.where(valid, weight[t_safe], 0).astype(dtype)
    return t_safe, coef


def _reduce_classwise(loss, coef, reduction, t_shape):
    """'none' -> the loss shaped like the target; 'sum'; 'mean' = Σ loss / Σ w[t] (PyTorch's weighted mean)."""
    xp = get_array_module(loss)
    if reduction == "none":
        return loss.reshape(t_shape), None
    if reduction == "sum":
        return xp.asarray(loss.sum()), None
    denom = coef.sum()
    return xp.asarray(loss.sum() / denom), 1 / denom


def _row_grad(g, reduction, scale, n):
    """The upstream gradient as one factor per (flattened) sample."""
    if reduction == "none":
        return g.reshape(n)
    return g * scale if scale is not None else g


class NegativeLogLikelihood(Function):
    """ℓᵢ = −w[tᵢ]·x[i, tᵢ] (0 where tᵢ = ignore_index) on log-probabilities x;
    ∂ℓᵢ/∂x[i, c] = −w[tᵢ]·[c = tᵢ]."""

    __slots__ = ("shape", "t", "coef", "scale", "reduction")

    def forward(self, x, t, weight, ignore_index, reduction):
        xp = get_array_module(x)
        x2, t1 = _classes_last(x), t.reshape(-1)
        self.t, self.coef = _target_weights(t1, weight, ignore_index, x.dtype)
        loss = -self.coef * x2[xp.arange(t1.size), self.t]
        self.shape, self.reduction = x.shape, reduction
        out, self.scale = _reduce_classwise(loss, self.coef, reduction, t.shape)
        return out

    def backward(self, g):
        xp = get_array_module(g)
        n = self.t.size
        r = _row_grad(g, self.reduction, self.scale, n)
        gx = xp.zeros((n, self.shape[1] if len(self.shape) > 1 else self.shape[0]), dtype=g.dtype)
        gx[xp.arange(n), self.t] = -r * self.coef
        return _classes_back(gx, self.shape)


class SoftmaxCrossEntropy(Function):
    """Cross-entropy of softmax(x) against class indices t, with class weights w,
    ignore_index and label smoothing ε, as one node. With logp = log_softmax(x):

        ℓᵢ = −aᵢ·logp[i, tᵢ] − bᵢ·Σ_c w_c·logp[i, c],  aᵢ = (1 − ε)·w[tᵢ],  bᵢ = ε/C
        ∂ℓᵢ/∂x[i, c] = (aᵢ + bᵢ·Σw)·softmax[i, c] − aᵢ·[c = tᵢ] − bᵢ·w_c

    (aᵢ = bᵢ = 0 for ignored samples; w = 1 without weights.) With ε = 0 and no
    weights the gradient is the familiar softmax − one-hot. ``'mean'`` divides
    by Σᵢ w[tᵢ] over the non-ignored samples, as PyTorch.
    logsumexp is m + log Σ e^(x − m), m = max: finite for logits of any size.
    """

    __slots__ = ("shape", "t", "a", "b", "w", "e", "s", "scale", "reduction")

    def forward(self, x, t, weight, ignore_index, reduction, label_smoothing):
        xp = get_array_module(x)
        x2, t1 = _classes_last(x), t.reshape(-1)
        n, c = x2.shape
        rows = xp.arange(n)
        shifted = x2 - x2.max(axis=1, keepdims=True)
        self.e = xp.exp(shifted)
        self.s = self.e.sum(axis=1, keepdims=True)
        log_s = xp.log(self.s)[:, 0]
        self.t, coef = _target_weights(t1, weight, ignore_index, x.dtype)
        self.a = coef * (1 - label_smoothing) if label_smoothing else coef
        loss = self.a * (log_s - shifted[rows, self.t])
        self.b = self.w = None
        if label_smoothing:
            valid = (t1 != ignore_index).astype(x.dtype)
            self.b = valid * (label_smoothing / c)
            self.w = xp.ones(c, dtype=x.dtype) if weight is None else weight.astype(x.dtype)
            # Σ_c w_c·(−logp[i, c]) = Σw·log s − Σ_c w_c·shifted[i, c]
            loss = loss + self.b * (self.w.sum() * log_s - shifted @ self.w)
        self.shape, self.reduction = x.shape, reduction
        out, self.scale = _reduce_classwise(loss, coef, reduction, t.shape)
        return out

    def backward(self, g):
        xp = get_array_module(g)
        n = self.t.size
        r = _row_grad(g, self.reduction, self.scale, n)
        a = self.a * r
        total = a if self.b is None else a + (r * self.b) * self.w.sum()
        gx = self.e * (total[:, None] / self.s)
        gx[xp.arange(n), self.t] -= a
        if self.b is not None:
            gx -= (r * self.b)[:, None] * self.w
        return _classes_back(gx, self.shape)


def _check_class_target(input, target, op, ignore_index):
    """Class-index targets: the input's batch shape, integers, each in [0, C) or equal to ignore_index."""
    if input.ndim == 0:
        raise ValueError(f"{op}: expected input of shape (C,), (N, C) or (N, C, d1, ...), got a scalar")
    want = () if input.ndim == 1 else (input.shape[0],) + tuple(input.shape[2:])
    if tuple(target.shape) != want:
        raise ValueError(f"{op}: expected class-index target of shape {want} for input of shape "
                         f"{tuple(input.shape)} (classes on axis {0 if input.ndim == 1 else 1}), "
                         f"got {tuple(target.shape)}")
    if target.dtype.kind not in "iu":
        raise TypeError(f"{op}: class-index targets must be integers, got dtype {target.dtype}")
    t = target.data
    n_classes = input.shape[0 if input.ndim == 1 else 1]
    bad = t[((t < 0) | (t >= n_classes)) & (t != ignore_index)]
    if bad.size:
        raise IndexError(f"{op}: class-index targets must be in [0, {n_classes}) for input with {n_classes} "
                         f"classes (or equal ignore_index={ignore_index}), got {int(bad.min())}"
                         + (f" and {int(bad.max())}" if bad.size > 1 and bad.max() != bad.min() else "")
                         + f" ({bad.size} target(s) out of range)")


def _weight_array(weight, input, op):
    if weight is None:
        return None
    w = weight.data if isinstance(weight, Tensor) else get_array_module(input.data).asarray(weight)
    n_classes = input.shape[0 if input.ndim == 1 else 1]
    if w.shape != (n_classes,):
        raise ValueError(f"{op}: weight must have shape ({n_classes},), one per class, got {tuple(w.shape)}")
    return w


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of class indices: ℓᵢ = −w[tᵢ]·input[i, tᵢ].

    ``input`` holds log-probabilities (e.g. from :func:`log_softmax`);
    ``cross_entropy(x, t)`` equals ``nll_loss(log_softmax(x, 1), t)``.

    Args:
        weight: per-class weights (C,). ignore_index: a target value whose samples
            contribute neither loss nor gradient (default -100).
        reduction: 'mean' is Σ ℓᵢ / Σ w[tᵢ] over the non-ignored samples.

    Shape: input (N, C) or (N, C, d1, ...) or (C,); target (N,) or (N, d1, ...) or ();
    integer class indices in [0, C).
    """
    _check_reduction(reduction, "nll_loss")
    target = target if isinstance(target, Tensor) else Tensor(target)
    _check_class_target(input, target, "nll_loss", ignore_index)
    w = _weight_array(weight, input, "nll_loss")
    return NegativeLogLikelihood.apply(input, target, weight=w, ignore_index=ignore_index, reduction=reduction)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Softmax cross-entropy of logits against class indices or class probabilities.

    Class indices t (integers):   ℓᵢ = −w[tᵢ]·log softmax(xᵢ)[tᵢ]  (one fused node; gradient
    softmax(xᵢ) − onehot(tᵢ)). Probabilities q (floats, the input's shape, e.g. one-hot or
    soft labels):  ℓᵢ = −Σ_c w_c·q[i, c]·log softmax(xᵢ)[c].
    Label smoothing ε replaces the target distribution by (1 − ε)·target + ε/C.

    Args:
        input: logits (unnormalised scores); the classes are on axis 1 (axis 0 for (C,)).
        target: class indices or probabilities (see Shape).
        weight: per-class weights (C,). ignore_index: skipped class-index target (default -100).
        reduction: 'mean' (Σ ℓᵢ / Σ w[tᵢ] for class indices, the plain average for
            probabilities), 'sum' or 'none'.
        label_smoothing: ε in [0, 1] (default 0).

    Shape: input (N, C), (N, C, d1, ...) or (C,); target (N,), (N, d1, ...) or () of class
    indices, or the input's shape for probabilities -> scalar, or the target's batch shape
    with ``reduction='none'``.

    Example:
        >>> logits = shendu.tensor([[2.0, 0.5, -1.0]], requires_grad=True)
        >>> F.cross_entropy(logits, shendu.tensor([0]))      # 0.2413
    """
    _check_reduction(reduction, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    target = target if isinstance(target, Tensor) else Tensor(target)
    w = _weight_array(weight, input, "cross_entropy")
    if target.dtype.kind == "f":
        return _soft_cross_entropy(input, target, weight, reduction, label_smoothing)
    _check_class_target(input, target, "cross_entropy", ignore_index)
    return SoftmaxCrossEntropy.apply(input, target, weight=w, ignore_index=ignore_index, reduction=reduction,
                                     label_smoothing=float(label_smoothing))


def _soft_cross_entropy(input, target, weight, reduction, label_smoothing):
    """Cross-entropy against class probabilities, composed (the target may need a gradient)."""
    if target.shape != input.shape:
        raise ValueError(f"cross_entropy: probability targets must have the input's shape {tuple(input.shape)}, "
                         f"got {tuple(target.shape)}")
    axis = 0 if input.ndim == 1 else 1
    n_classes = input.shape[axis]
    target = target if target.dtype == input.dtype else target.astype(input.dtype)
    if label_smoothing:
        target = target * (1 - label_smoothing) + label_smoothing / n_classes
    weighted = log_softmax(input, axis) * target
    if weight is not None:
        shape = [1] * input.ndim
        shape[axis] = n_classes
        weighted = weighted * _as_target(weight, input).reshape(shape)
    return _reduce(-sum(weighted, axis=axis), reduction, "cross_entropy")


# --------------------------------------------------------------------- margins
def hinge_loss(input, target, reduction="mean"):
    """Hinge loss (Keras ``hinge``, SVMs): ℓ = max(0, 1 − y·f) with labels y ∈ {−1, 1}.

    ∂ℓ/∂f = −y where y·f < 1, else 0. Convert 0/1 labels with ``2 * y - 1``.
    Alias: ``hinge``.
    """
    target = _as_target(target, input)
    _check_same_shape(input, target, "hinge_loss", strict=False)
    return _reduce(relu(1.0 - target * input), reduction, "hinge_loss")


def squared_hinge_loss(input, target, reduction="mean"):
    """Squared hinge loss (Keras ``squared_hinge``): ℓ = max(0, 1 − y·f)², y ∈ {−1, 1};
    ∂ℓ/∂f = −2y·max(0, 1 − y·f). Alias: ``squared_hinge``."""
    target = _as_target(target, input)
    _check_same_shape(input, target, "squared_hinge_loss", strict=False)
    m = relu(1.0 - target * input)
    return _reduce(m * m, reduction, "squared_hinge_loss")


hinge = hinge_loss
squared_hinge = squared_hinge_loss


def exponential_loss(input, target, reduction="mean"):
    """Exponential loss of AdaBoost: ℓ = e^(−y·f), y ∈ {−1, 1};  ∂ℓ/∂f = −y·e^(−y·f)."""
    target = _as_target(target, input)
    _check_same_shape(input, target, "exponential_loss", strict=False)
    return _reduce(exp(-(target * input)), reduction, "exponential_loss")


def hinge_embedding_loss(input, target, margin=1.0, reduction="mean"):
    """PyTorch's hinge embedding loss: ℓ = x where y = 1, max(0, margin − x) where y = −1.

    ``input`` is typically a distance between two embeddings.
    """
    target = _as_target(target, input)
    _check_same_shape(input, target, "hinge_embedding_loss", strict=False)
    pos = where(target != -1, input, 0.0)
    neg = where(target != 1, relu(margin - input), 0.0)
    return _reduce(pos + neg, reduction, "hinge_embedding_loss")


# --------------------------------------------------------------------- divergences and similarities
class KLDiv(Function):
    """ℓ = y·(log y − x) (0 where y = 0), or e^y·(y − x) with log_target, on log-probabilities x.

    ∂ℓ/∂x = −y (or −e^y);  ∂ℓ/∂y = log y + 1 − x (or e^y·(y − x + 1)).
    """

    __slots__ = ("x", "y", "log_target")

    def forward(self, x, y, log_target):
        xp = get_array_module(x)
        self.x, self.y, self.log_target = x, y, log_target
        if log_target:
            return xp.exp(y) * (y - x)
        # xlogy: y·log y is 0 at y = 0 (the limit), as PyTorch's xlogy.
        y_log_y = xp.where(y == 0, 0, y * xp.log(xp.where(y == 0, 1, y)))
        return y_log_y - y * x

    def backward(self, g):
        xp = get_array_module(g)
        ix, iy = self.inputs
        x, y = self.x, self.y
        gx = gy = None
        if ix.requires_grad:
            gx = -g * (xp.exp(y) if self.log_target else y)
        if iy.requires_grad:
            gy = g * (xp.exp(y) * (y - x + 1) if self.log_target else xp.log(y) + 1 - x)
        return gx, gy


def kl_div(input, target, reduction="mean", log_target=False):
    """Kullback-Leibler divergence KL(target ‖ model) with ``input`` = log q (model log-probabilities):

        ℓ = target · (log target − input)   (PyTorch's ``kl_div``; ``log_target=True``: target is log p)

    Args:
        reduction: ``'batchmean'`` (Σ ℓ / N: the true KL divergence per sample;
            use it), ``'mean'`` (Σ ℓ / number of elements, PyTorch's default),
            ``'sum'`` or ``'none'``.

    Shape: input (N, *), target (N, *) -> scalar, or (N, *) with ``reduction='none'``.
    """
    _check_reduction(reduction, "kl_div", extra=("batchmean",))
    target = _as_target(target, input)
    _check_same_shape(input, target, "kl_div", strict=False)
    loss = KLDiv.apply(input, target, log_target=log_target)
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.ndim else loss.sum()
    return _reduce(loss, reduction, "kl_div")


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """cos(x1, x2) = Σ x1·x2 / (max(‖x1‖, ε)·max(‖x2‖, ε)) along ``dim``, as ``torch.nn.functional``.

    Shape: x1 (*), x2 (*) broadcastable -> the broadcast shape without ``dim``.
    """
    n1 = clip(sum(x1 * x1, axis=dim, keepdims=True), min=eps * eps).sqrt()
    n2 = clip(sum(x2 * x2, axis=dim, keepdims=True), min=eps * eps).sqrt()
    return sum((x1 / n1) * (x2 / n2), axis=dim)


def cosine_similarity_loss(input, target, dim=-1, eps=1e-8, reduction="mean"):
    """Keras' ``cosine_similarity`` loss: ℓ = −cos(input, target) along ``dim`` (−1 = perfect alignment).

    Minimising it aligns directions and ignores lengths (embeddings, word vectors).

    Shape: input (N, D), target (N, D) (any shapes, reduced along ``dim``) -> scalar,
    or (N,) with ``reduction='none'``.
    """
    target = _as_target(target, input)
    _check_same_shape(input, target, "cosine_similarity_loss", strict=False)
    return _reduce(-cosine_similarity(input, target, dim=dim, eps=eps), reduction, "cosine_similarity_loss")


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction="mean"):
    """PyTorch's cosine embedding loss: ℓ = 1 − cos(x1, x2) where y = 1, max(0, cos(x1, x2) − m) where y = −1.

    Shape: input1 (N, D), input2 (N, D), target (N,) -> scalar, or (N,) with ``reduction='none'``.
    """
    cos = cosine_similarity(input1, input2, dim=-1, eps=1e-8)
    target = _as_target(target, cos)
    loss = where(target == 1, 1.0 - cos, 0.0) + where(target == -1, relu(cos - margin), 0.0)
    return _reduce(loss, reduction, "cosine_embedding_loss")


__all__ = [
    "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "msle", "mape", "mean_squared_logarithmic_error",
    "mean_absolute_percentage_error", "binary_cross_entropy", "binary_cross_entropy_with_logits", "nll_loss",
    "cross_entropy", "hinge_loss", "squared_hinge_loss", "hinge", "squared_hinge", "exponential_loss",
    "hinge_embedding_loss", "kl_div", "cosine_similarity", "cosine_similarity_loss", "cosine_embedding_loss",
]
