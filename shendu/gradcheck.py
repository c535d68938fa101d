"""``gradcheck``: compare analytic gradients with central finite differences.

For a function f and inputs x, the check draws a fixed random projection v of
the output and compares, for every input element x_i,

    analytic   ∂(Σ v·f(x)) / ∂x_i       (one backward pass)
    numeric    (Σ v·f(x + ε e_i) − Σ v·f(x − ε e_i)) / 2ε

in float64, and passes when |analytic − numeric| ≤ atol + rtol·|numeric| for
every element (a NaN on either side fails). On failure it reports the worst
element. An output that does not depend on the inputs has analytic gradient 0.
"""
from __future__ import annotations

from . import autograd
from .backend import xp as _np
from .tensor import Tensor


class GradcheckError(AssertionError):
    """Raised by :func:`gradcheck` when analytic and numeric gradients disagree."""


def _float64_copy(array):
    """A C-ordered float64 copy: _compare perturbs it in place through a flat view."""
    return _np.array(array, dtype=_np.float64, order="C")


def _as_float64_inputs(inputs):
    out = []
    for x in inputs:
        if isinstance(x, Tensor) and x.dtype.kind == "f":
            t = Tensor(_float64_copy(x.data), requires_grad=True)
            out.append(t)
        else:
            out.append(x)
    return out


def _scalar_objective(fn, inputs, projections):
    out = fn(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    total = None
    for o, v in zip(outs, projections):
        term = (o * Tensor._wrap(v, False, None)).sum()
        total = term if total is None else total + term
    return total


def _projections(fn, inputs, seed):
    with autograd.no_grad():
        out = fn(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    r = _np.random.default_rng(seed)
    return [r.standard_normal(o.shape).astype(_np.float64) for o in outs]


def _compare(targets, analytic_of, objective, eps, atol, rtol, what):
    """Perturb every element of every target array in place and compare."""
    worst = None
    for ti, (name, arr) in enumerate(targets):
        analytic = analytic_of(ti)
        flat = arr.reshape(-1)
        numeric = _np.empty(flat.size)
        for i in range(flat.size):
            orig = flat[i]
            flat[i] = orig + eps
            fp = objective()
            flat[i] = orig - eps
            fm = objective()
            flat[i] = orig
            numeric[i] = (fp - fm) / (2 * eps)
        a = _np.zeros(flat.size) if analytic is None else _np.asarray(analytic, dtype=_np.float64).reshape(-1)
        err = _np.abs(a - numeric) - (atol + rtol * _np.abs(numeric))
        err[_np.isnan(err)] = _np.inf  # a NaN on either side is a failure, never a pass
        if err.size and (worst is None or err.max() > worst[0]):
            j = int(err.argmax())
            worst = (float(err.max()), name, _np.unravel_index(j, arr.shape), a[j], numeric[j])
    if worst is not None and worst[0] > 0:
        _, name, idx, a, n = worst
        raise GradcheckError(
            f"gradcheck: {what} {name} element {tuple(int(i) for i in idx)}: analytic gradient {a:.10g}, "
            f"numeric {n:.10g} (difference {abs(a - n):.3g})")
    return True


def gradcheck(fn, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Check ``fn``'s gradients against central finite differences in float64.

    Args:
        fn: a function of the inputs returning a tensor (or tuple of tensors)
            of any shape; or an :class:`shendu.nn.Module`, in which case the
            gradients of all its parameters are checked for the given input.
        *inputs: tensors; every floating one is checked (converted to float64).
        eps: the finite-difference step; atol, rtol: tolerances.

    Returns:
        True. Raises :class:`GradcheckError` naming the worst element
        (input, index, analytic, numeric) when a gradient is wrong.

    Example:
        >>> x = shendu.randn(3, 4, dtype=shendu.float64)
        >>> shendu.gradcheck(lambda t: (t * t.sigmoid()).sum(axis=1), x)
        True
    """
    if hasattr(fn, "parameters") and hasattr(fn, "named_parameters"):
        return _gradcheck_module(fn, inputs, eps, atol, rtol, seed)
    xs = _as_float64_inputs(inputs)
    checked = [i for i, x in enumerate(xs) if isinstance(x, Tensor) and x.dtype.kind == "f"]
    if not checked:
        raise ValueError("gradcheck: no floating tensor among the inputs")
    v = _projections(fn, xs, seed)
    for i in checked:
        xs[i].grad = None
    obj = _scalar_objective(fn, xs, v)
    if obj.requires_grad:  # else the output does not depend on the inputs: analytic gradient 0
        obj.backward()
    grads = [xs[i].grad.data if xs[i].grad is not None else None for i in checked]

    def objective():
        with autograd.no_grad():
            return float(_scalar_objective(fn, xs, v).data)

    targets = [(f"input {i}", xs[i].data) for i in checked]
    return _compare(targets, lambda t: grads[t], objective, eps, atol, rtol, "gradient of")


def _gradcheck_module(module, inputs, eps, atol, rtol, seed):
    """Check every parameter's gradient of ``module`` for ``inputs`` in float64."""
    params = list(module.named_parameters())
    saved = [(p, p.data) for _, p in params]
    xs = [Tensor(_float64_copy(x.data)) if isinstance(x, Tensor) and x.dtype.kind == "f" else x for x in inputs]
    try:
        for _, p in params:
            p.data = _float64_copy(p.data)
            p.grad = None
        fn = lambda *a: module(*a)  # noqa: E731
        v = _projections(fn, xs, seed)
        obj = _scalar_objective(fn, xs, v)
        if obj.requires_grad:
            obj.backward()
        grads = [p.grad.data if p.grad is not None else None for _, p in params]

        def objective():
            with autograd.no_grad():
                return float(_scalar_objective(fn, xs, v).data)

        targets = [(name, p.data) for name, p in params]
        return _compare(targets, lambda t: grads[t], objective, eps, atol, rtol, "gradient of parameter")
    finally:
        for p, data in saved:
            p.data = data
            p.grad = None


__all__ = ["gradcheck", "GradcheckError"]
