"""L-BFGS (Nocedal 1980; Liu & Nocedal 1989), PyTorch's variant: same iterates, same stopping rules.

The optimizer works on one flat vector ``x`` made of every parameter (in
order) and asks a *closure* for ``f(x)`` and ``∇f(x)`` as often as it needs.
Each iteration

1. builds a descent direction ``d = −H·g`` from the last ``m`` (= history_size)
   pairs ``s = x₊ − x``, ``y = g₊ − g`` with the two-loop recursion::

       q ← −g
       for i = newest … oldest:   αᵢ = ρᵢ·sᵢᵀq;   q ← q − αᵢ·yᵢ        (ρᵢ = 1 / yᵢᵀsᵢ)
       r ← γ·q                                                    (γ = sᵀy / yᵀy, newest pair)
       for i = oldest … newest:   βᵢ = ρᵢ·yᵢᵀr;   r ← r + (αᵢ − βᵢ)·sᵢ
       d ← r

   (a pair enters the memory only when yᵀs > 1e-10, which keeps H positive
   definite; the first direction is −g);
2. takes the step ``x ← x + t·d`` with ``t = lr`` (the first ever step
   ``t = min(1, 1/‖g‖₁)·lr``), or with the ``t`` of a strong-Wolfe line search
   (``line_search_fn="strong_wolfe"``: More & Thuente's bracketing and zoom
   with cubic interpolation, as in minFunc) satisfying
   ``f(x + t·d) ≤ f(x) + c₁·t·gᵀd`` and ``|∇f(x + t·d)ᵀd| ≤ −c₂·gᵀd``
   (c₁ = 1e-4, c₂ = 0.9).

One call of :meth:`LBFGS.step` runs up to ``max_iter`` iterations and stops
early when ``max|g| ≤ tolerance_grad``, the closure has been called
``max_eval`` times, ``gᵀd > −tolerance_change``, ``max|t·d| ≤
tolerance_change`` or ``|f − f_prev| < tolerance_change``. Its memory
persists between calls (a second ``step`` continues the same run).
"""
from __future__ import annotations

import math

from .. import backend
from ..autograd import bump_version, enable_grad
from ..backend import get_array_module
from ..tensor import Tensor
from .optimizer import Optimizer, check_hyper

_LIST_KEYS = ("old_dirs", "old_stps", "ro", "al")


class LBFGS(Optimizer):
    """Limited-memory BFGS with PyTorch's options, closure protocol and state (one parameter group).

    Args:
        params: the parameters (one group only: L-BFGS works on their concatenation).
        lr (float): the step length factor. Default: 1.
        max_iter (int): iterations per :meth:`step`. Default: 20.
        max_eval (int): closure calls per :meth:`step`. Default: ``max_iter * 5 // 4``.
        tolerance_grad (float): stop when ``max|∇f| ≤`` this. Default: 1e-7.
        tolerance_change (float): stop when the loss, the step or the directional
            derivative changes less than this. Default: 1e-9.
        history_size (int): pairs ``(s, y)`` kept (memory m). Default: 100.
        line_search_fn (str or None): ``"strong_wolfe"`` or None (fixed step ``lr``).

    Shapes: any parameter shapes; the state holds vectors of their total size n
    (``d``, ``prev_flat_grad``; ``old_dirs``/``old_stps``: up to m vectors).

    Example:
        >>> opt = shendu.optim.LBFGS([x], lr=1, line_search_fn="strong_wolfe")
        >>> def closure():
        ...     opt.zero_grad()
        ...     loss = f(x)
        ...     loss.backward()
        ...     return loss
        >>> opt.step(closure)
    """

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
                 history_size=100, line_search_fn=None):
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        check_hyper("LBFGS", lr=(lr, lr >= 0, ">= 0"),
                    max_iter=(max_iter, isinstance(max_iter, int) and max_iter > 0, "an int > 0"),
                    max_eval=(max_eval, isinstance(max_eval, int) and max_eval > 0, "an int > 0"),
                    history_size=(history_size, isinstance(history_size, int) and history_size > 0, "an int > 0"),
                    line_search_fn=(line_search_fn, line_search_fn in (None, "strong_wolfe"),
                                    "None or 'strong_wolfe'"))
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change, history_size=history_size,
                                      line_search_fn=line_search_fn))
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups): "
                             f"got {len(self.param_groups)} groups, expected 1")
        self._params = self.param_groups[0]["params"]

    def add_param_group(self, param_group):
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups): it optimises "
                             "one flat vector of all parameters")
        super().add_param_group(param_group)

    # ------------------------------------------------------------ the flat vector
    def _flat_grad(self):
        mod = get_array_module(self._params[0].data)
        return mod.concatenate([p.grad.data.reshape(-1) if p.grad is not None else mod.zeros(p.data.size, p.dtype)
                                for p in self._params])

    def _flat_params(self):
        return [p.data.copy() for p in self._params]

    def _add(self, t, d):
        """``x ← x + t·d``, in place on every parameter."""
        offset = 0
        for p in self._params:
            n = p.data.size
            p.data += t * d[offset:offset + n].reshape(p.data.shape)
            offset += n
            bump_version(p)

    def _set(self, saved):
        for p, a in zip(self._params, saved):
            p.data[...] = a
            bump_version(p)

    def _evaluate(self, closure, x, t, d):
        """``f`` and ``∇f`` at ``x + t·d``; the parameters are put back to ``x`` afterwards."""
        self._add(t, d)
        loss = float(closure())
        g = self._flat_grad()
        self._set(x)
        return loss, g

    # ------------------------------------------------------------ the step
    def step(self, closure=None):
        """Run up to ``max_iter`` L-BFGS iterations; returns the loss of the first closure call.

        Args:
            closure: a function that clears the gradients, computes the loss,
                calls ``backward`` and returns the loss (required: L-BFGS
                evaluates the function several times per step). It runs with
                gradients enabled.
        """
        if closure is None or not callable(closure):
            raise TypeError("LBFGS.step: needs a closure (a function that zeroes the gradients, computes the "
                            f"loss, calls loss.backward() and returns the loss), got {closure!r}")

        def evaluate():
            with enable_grad():
                loss = closure()
            if not isinstance(loss, Tensor) and not isinstance(loss, (int, float)) and not backend.is_array(loss):
                raise TypeError(f"LBFGS.step: the closure must return the loss, got {type(loss).__name__}")
            return loss

        group = self.param_groups[0]
        lr, max_iter, max_eval = float(group["lr"]), group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history_size, line_search = group["history_size"], group["line_search_fn"]
        if line_search not in (None, "strong_wolfe"):
            raise RuntimeError(f"LBFGS.step: line_search_fn must be None or 'strong_wolfe', got {line_search!r}")

        # The state is global; kept on the first parameter, as PyTorch does (so state dicts match).
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = evaluate()
        loss = float(orig_loss)
        evals = 1
        state["func_evals"] += 1
        g = self._flat_grad()
        mod = get_array_module(g)
        opt_cond = float(mod.abs(g).max()) <= tol_grad
        if opt_cond:
            return orig_loss

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        h_diag, prev_g, prev_loss = state.get("H_diag"), state.get("prev_flat_grad"), state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # --- direction
            if state["n_iter"] == 1:
                d = -g
                old_dirs, old_stps, ro, h_diag = [], [], [], 1.0
            else:
                y = g - prev_g
                s = d * t
                ys = float(y @ s)
                if ys > 1e-10:  # curvature condition: keeps the inverse-Hessian estimate positive definite
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / float(y @ y)
                if "al" not in state:
                    state["al"] = [None] * history_size
                al = state["al"]
                q = -g
                for i in range(len(old_dirs) - 1, -1, -1):
                    al[i] = float(old_stps[i] @ q) * ro[i]
                    q -= al[i] * old_dirs[i]
                d = q * h_diag
                for i in range(len(old_dirs)):
                    be_i = float(old_dirs[i] @ d) * ro[i]
                    d += (al[i] - be_i) * old_stps[i]

            prev_g = g.copy()
            prev_loss = loss

            # --- step length
            t = min(1.0, 1.0 / float(mod.abs(g).sum())) * lr if state["n_iter"] == 1 else lr
            gtd = float(g @ d)
            if gtd > -tol_change:  # not a descent direction (any more)
                break

            ls_evals = 0
            if line_search == "strong_wolfe":
                x0 = self._flat_params()
                loss, g, t, ls_evals = strong_wolfe(lambda x, t_, d_: self._evaluate(evaluate, x, t_, d_),
                                                    x0, t, d, loss, g, gtd, max_ls=max_eval - evals)
                self._add(t, d)
                opt_cond = float(mod.abs(g).max()) <= tol_grad
            else:
                self._add(t, d)
                if n_iter != max_iter:  # the last iteration's point is evaluated by the next step's first call
                    loss = float(evaluate())
                    g = self._flat_grad()
                    opt_cond = float(mod.abs(g).max()) <= tol_grad
                    ls_evals = 1
            evals += ls_evals
            state["func_evals"] += ls_evals

            # --- stopping rules
            if n_iter == max_iter or evals >= max_eval or opt_cond:
                break
            if float(mod.abs(d * t).max()) <= tol_change:
                break
            if abs(loss - prev_loss) < tol_change:
                break

        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=h_diag,
                     prev_flat_grad=prev_g, prev_loss=prev_loss)
        return orig_loss

    # ------------------------------------------------------------ state dicts
    def state_dict(self):
        """As :meth:`Optimizer.state_dict`, with the history lists copied too (PyTorch's keys)."""
        sd = super().state_dict()
        for s in sd["state"].values():
            for key in _LIST_KEYS:
                if s.get(key) is not None:
                    s[key] = [v.copy() if backend.is_array(v) else v for v in s[key]]
        return sd

    def load_state_dict(self, state_dict):
        """Load a state from :meth:`state_dict` (shendu's or ``torch.optim.LBFGS``'s: tensors become arrays)."""
        saved = {int(k): dict(v) for k, v in state_dict["state"].items()}
        super().load_state_dict(dict(state_dict, state={}))
        params = self._params
        like = params[0].data
        mod = get_array_module(like)
        for k, s in saved.items():
            if k >= len(params):
                raise ValueError(f"LBFGS.load_state_dict: state for parameter {k}, but the optimizer has "
                                 f"{len(params)} parameters")
            self.state[params[k]] = {key: _as_value(v, like, mod) for key, v in s.items()}


def _as_value(value, like, mod):
    """A saved state entry as L-BFGS keeps it: vectors as arrays of the parameters' dtype, scalars as floats."""
    if isinstance(value, (list, tuple)):
        return [_as_value(v, like, mod) for v in value]
    if isinstance(value, Tensor):
        value = value.data
    elif value is not None and not backend.is_array(value) and hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    if backend.is_array(value) or hasattr(value, "ndim"):
        if value.ndim == 0:
            return value.item()
        return mod.array(backend.to_device(value, backend.device_of(like)), dtype=like.dtype, copy=True)
    return value


def cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through ``(x1, f1, f1' = g1)`` and ``(x2, f2, g2)``, clipped to ``bounds``::

        d₁ = g₁ + g₂ − 3·(f₁ − f₂)/(x₁ − x₂);   d₂ = √(d₁² − g₁·g₂)
        x* = x₂ − (x₂ − x₁)·(g₂ + d₂ − d₁)/(g₂ − g₁ + 2·d₂)        (x₁ ≤ x₂; symmetric otherwise)

    Without a real minimiser (d₁² < g₁g₂) it returns the middle of the bounds
    (default bounds: the interval between x₁ and x₂).
    """
    lo, hi = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 * d1 - g1 * g2
    if d2_square < 0:
        return (lo + hi) / 2.0
    d2 = math.sqrt(d2_square)
    if x1 <= x2:
        x = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        x = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(x, lo), hi)


def strong_wolfe(obj, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """A step ``t`` along ``d`` satisfying the strong Wolfe conditions (minFunc's / PyTorch's search).

    ``obj(x, t, d)`` returns ``(f(x + t·d), ∇f(x + t·d))``. Phase 1 (bracketing)
    grows ``t`` by cubic extrapolation within ``[t + 0.01·(t − t_prev), 10·t]``
    until the Armijo condition fails, the loss stops falling, the slope turns
    non-negative (a bracket) or the curvature condition holds (done). Phase 2
    (zoom) shrinks the bracket by cubic interpolation, moving a trial point that
    lands within 10 % of an end to 10 % inside it (when progress stalls).

    Returns ``(f_new, g_new, t, evaluations)``.
    """
    d_norm = float(abs(d).max())
    f_new, g_new = obj(x, t, d)
    evals = 1
    gtd_new = float(g_new @ d)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    ls_iter = 0
    bracket = None
    while ls_iter < max_ls:
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
            bracket, bf, bg, bgtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bf, bg, bgtd = [t], [f_new], [g_new], [gtd_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bf, bg, bgtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new]
            break
        t_next = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                                   bounds=(t + 0.01 * (t - t_prev), t * 10))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = t_next
        f_new, g_new = obj(x, t, d)
        evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
    if ls_iter == max_ls:  # no bracket found: the interval from 0 to the last trial
        bracket, bf, bg = [0.0, t], [f, f_new], [g, g_new]
        bgtd = None  # as in PyTorch, never read: the zoom loop below does not run

    low, high = (0, 1) if bf[0] <= bf[-1] else (1, 0)
    insufficient = False
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = cubic_interpolate(bracket[0], bf[0], bgtd[0], bracket[1], bf[1], bgtd[1])
        # A trial too close to an end of the bracket makes little progress: move it 10 % inside.
        top, bottom = max(bracket), min(bracket)
        eps = 0.1 * (top - bottom)
        if min(top - t, t - bottom) < eps:
            if insufficient or t >= top or t <= bottom:
                t = top - eps if abs(t - top) < abs(t - bottom) else bottom + eps
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        f_new, g_new = obj(x, t, d)
        evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
        if f_new > f + c1 * t * gtd or f_new >= bf[low]:
            bracket[high], bf[high], bg[high], bgtd[high] = t, f_new, g_new, gtd_new
            low, high = (0, 1) if bf[0] <= bf[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                bracket[high], bf[high], bg[high], bgtd[high] = bracket[low], bf[low], bg[low], bgtd[low]
            bracket[low], bf[low], bg[low], bgtd[low] = t, f_new, g_new, gtd_new
    return bf[low], bg[low], bracket[low], evals
