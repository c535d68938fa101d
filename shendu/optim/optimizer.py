"""``Optimizer``: the base class of every update rule (PyTorch's design).

An optimizer holds

* ``param_groups``: a list of dicts, each with ``'params'`` (a list of
  parameters) and its own options (``'lr'``, ``'weight_decay'``...); options a
  group does not set come from ``defaults``. Schedulers change ``group['lr']``;
* ``state``: per-parameter state (moment estimates, step counts), keyed by the
  parameter and created lazily by the first step that sees its gradient.

A subclass writes one method, ``_update(p, g, state, group)``, that applies the
paper's formula in place to the arrays ``p`` (the parameter's data) and ``g``
(its gradient). :meth:`Optimizer.step` calls it for every parameter whose
gradient is not None, then bumps the parameter's version counter (an in-place
change, as in PyTorch: a graph that saved the parameter refuses ``backward``).
"""
from __future__ import annotations

import threading
from collections import defaultdict

from .. import backend, parallel
from ..autograd import bump_version, enable_grad
from ..backend import get_array_module, xp
from ..tensor import Tensor


class Optimizer:
    """Base class: parameter groups, lazily created state, ``step``, ``zero_grad``, state dicts.

    Args:
        params: an iterable of parameters (Tensors that require grad), of
            ``(name, parameter)`` pairs, or of dicts that define parameter
            groups: ``[{'params': body.parameters()}, {'params': head.parameters(), 'lr': 1e-2}]``.
        defaults: the options of a group that does not set them.
    """

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = defaultdict(dict)
        self.param_groups = []
        self._scratch_arrays = {}
        if isinstance(params, Tensor):
            raise TypeError(f"{type(self).__name__}: params should be an iterable of Tensors or dicts, "
                            f"got a single Tensor; pass [tensor] or model.parameters()")
        groups = _ordered(params, type(self).__name__)
        if not groups:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------ groups
    def add_param_group(self, param_group):
        """Add a group of parameters with its own options (e.g. layers unfrozen while fine-tuning)."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}.add_param_group: expected a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else _ordered(params, name)
        if params and all(isinstance(p, tuple) for p in params):
            group["param_names"] = [n for n, _ in params]
            params = [p for _, p in params]
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: can only optimize Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor (one computed from others)")
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{name}: a parameter group contains the same parameter twice")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        group["params"] = params
        for key, default in self.defaults.items():
            group.setdefault(key, default)
        self.param_groups.append(group)

    # ------------------------------------------------------------ stepping
    def zero_grad(self, set_to_none=True):
        """Forget the gradients: set them to None (default) or fill them with zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.data.fill(0)

    def step(self, closure=None):
        """Update every parameter that has a gradient; returns ``closure()`` when given.

        Args:
            closure: an optional function that re-evaluates the model, calls
                ``backward`` and returns the loss (run with gradients enabled).
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        work = []
        for gi, group in enumerate(self.param_groups):
            for i, p in enumerate(group["params"]):
                grad = p.grad
                if grad is not None:
                    if grad.data.shape != p.data.shape:
                        raise self._grad_shape_error(gi, i, p)
                    work.append((p.data, grad.data, self.state[p], group))
                    bump_version(p)  # an in-place change, as PyTorch's step: a graph that saved p refuses backward
        self._run_updates(work)
        return loss

    #: True when :meth:`_update` touches nothing but its arguments and :meth:`_scratch` arrays, so that
    #: :meth:`step` may update several parameters at once on :mod:`shendu.parallel`'s threads. Honoured only
    #: in the class that defines ``_update`` (a subclass that overrides it runs serially unless it says so).
    parallel_updates = False

    def _run_updates(self, work):
        """``_update(p, g, state, group)`` for each entry of ``work``. With ``parallel_updates`` and enough
        numbers, the parameters are dealt to the threads in parts of about equal size (largest first, each to
        the lightest part) — PyTorch's per-tensor kernels use every core the same way. Each parameter is
        updated by exactly one thread with the same operations: the result does not depend on the thread count."""
        total, threads = sum(p.size for p, _, _, _ in work), 1
        if len(work) >= 2 and total >= parallel.MIN_PARALLEL_WORK:  # asked first: a small step is Python-bound
            owner = next(c for c in type(self).__mro__ if "_update" in c.__dict__)
            threads = parallel.get_num_threads() if owner.__dict__.get("parallel_updates", False) else 1
        if threads <= 1:
            for entry in work:
                self._update(*entry)
            return
        parts, sizes = [[] for _ in range(min(threads, len(work)))], [0] * min(threads, len(work))
        for entry in sorted(work, key=lambda e: -e[0].size):
            k = sizes.index(min(sizes))
            parts[k].append(entry)
            sizes[k] += entry[0].size

        def run(start, stop):
            for part in parts[start:stop]:
                for entry in part:
                    self._update(*entry)

        parallel.parallel_for(len(parts), run, total, get_array_module(work[0][0]))

    def _grad_shape_error(self, gi, i, p):
        names = self.param_groups[gi].get("param_names")
        which = repr(names[i]) if names else f"{i} of parameter group {gi}"
        return RuntimeError(f"{type(self).__name__}.step: parameter {which} has shape {tuple(p.shape)} but its "
                            f".grad has shape {tuple(p.grad.shape)}; set .grad to None or to a tensor of the "
                            f"parameter's shape")

    def _update(self, p, g, state, group):  # pragma: no cover - abstract
        """Apply one step to the array ``p`` in place, given its gradient array ``g``."""
        raise NotImplementedError(f"{type(self).__name__} must implement _update")

    # ------------------------------------------------------------ helpers for _update
    def _scratch(self, like, slot=0):
        """A reusable work array shaped like ``like`` (one per shape, dtype and slot; never saved).

        Updates write their intermediate results here instead of allocating a
        temporary array per operation.
        """
        # type: the array library's (NumPy's, CuPy's); the thread: parameters updated at once need their own
        key = (like.shape, like.dtype, slot, type(like), threading.get_ident())
        buf = self._scratch_arrays.get(key)
        if buf is None:
            buf = self._scratch_arrays[key] = get_array_module(like).empty_like(like)
        return buf

    def _effective_grad(self, p, g, weight_decay, maximize):
        """The gradient an update uses: ``±g + weight_decay · θ`` (``−g`` to maximize; L2 regularisation).

        Returns ``g`` itself (never modified) when neither option applies, else
        writes into scratch slot 1 (fetched only then) and returns it.
        """
        if weight_decay == 0 and not maximize:
            return g
        out, mod = self._scratch(p, 1), get_array_module(p)
        if weight_decay == 0:
            return mod.negative(g, out=out)
        mod.multiply(p, weight_decay, out=out)
        if maximize:
            out -= g
        else:
            out += g
        return out

    # ------------------------------------------------------------ state dicts
    def state_dict(self):
        """The optimizer's state as plain data: ``{'state': {index: {...}}, 'param_groups': [...]}``.

        As in PyTorch, parameters are referred to by their index in the order
        of the groups (0, 1, ...); state arrays are copies, so the dict is a
        snapshot that later steps do not change.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {}
        for p, s in self.state.items():
            state[index[id(p)]] = {k: v.copy() if backend.is_array(v) else v for k, v in s.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Load a state saved by :meth:`state_dict` (shendu's or PyTorch's, whose tensors become arrays).

        The groups must match this optimizer's in number and sizes; each state
        array must have its parameter's shape. Arrays are copied and cast to
        the parameter's dtype and device.
        """
        name = type(self).__name__
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state dict has {len(saved_groups)} parameter groups, "
                             f"the optimizer has {len(self.param_groups)}")
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{name}.load_state_dict: parameter group {i} has {len(saved['params'])} "
                                 f"parameters in the state dict but {len(group['params'])} in the optimizer")
        params = {k: p for saved, group in zip(saved_groups, self.param_groups)
                  for k, p in zip(saved["params"], group["params"])}
        state = defaultdict(dict)
        for k, s in state_dict["state"].items():
            k = int(k)
            if k not in params:
                raise ValueError(f"{name}.load_state_dict: state for parameter {k}, which no group lists")
            p = params[k]
            state[p] = {key: _load_value(v, p, k, key, name) for key, v in s.items()}
        new_groups = []
        for saved, group in zip(saved_groups, self.param_groups):
            new = {k: v for k, v in saved.items() if k != "params"}
            new["params"] = group["params"]
            for key, default in self.defaults.items():
                new.setdefault(key, default)
            new_groups.append(new)
        self.state = state
        self.param_groups = new_groups

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k not in ("params", "param_names")]
        return "\n".join(lines) + "\n)"


def _ordered(params, name):
    if isinstance(params, (set, frozenset)):
        raise TypeError(f"{name}: parameters must be an ordered collection (a set's order changes "
                        f"between runs); use a list")
    return list(params)


def _load_value(value, p, index, key, name):
    """A state entry as the optimizer keeps it: arrays on ``p``'s device with its dtype, numbers as numbers."""
    if isinstance(value, Tensor):
        value = value.data
    elif not backend.is_array(value) and hasattr(value, "numpy"):  # e.g. a torch tensor
        value = value.detach().cpu().numpy() if hasattr(value, "detach") else value.numpy()
    if not backend.is_array(value) and not isinstance(value, xp.generic):
        return value
    if value.ndim == 0:  # step counts and products such as NAdam's mu_product
        return value.item()
    if tuple(value.shape) != tuple(p.shape):
        raise ValueError(f"{name}.load_state_dict: state {key!r} of parameter {index} has shape "
                         f"{tuple(value.shape)} but the parameter has shape {tuple(p.shape)}")
    dtype = p.dtype if value.dtype.kind == "f" else value.dtype
    return get_array_module(p.data).array(backend.to_device(value, p.device), dtype=dtype, copy=True)


def lazy_state(state, key, p, fill=0.0):
    """``state[key]``, created on first use as an array shaped like ``p`` filled with ``fill``."""
    buf = state.get(key)
    if buf is None:
        buf = state[key] = get_array_module(p).full_like(p, fill)
    return buf


def ema_(avg, x, beta):
    """``avg ← β·avg + (1 − β)·x`` in place, as ``avg ← β·(avg − x) + x`` (no temporary array)."""
    avg -= x
    avg *= beta
    avg += x


def ema_square_(avg, x, beta, work):
    """``avg ← β·avg + (1 − β)·x²`` in place; ``work`` is a scratch array shaped like ``avg``."""
    get_array_module(avg).multiply(x, x, out=work)
    work *= 1.0 - beta
    avg *= beta
    avg += work


def check_hyper(name, **conditions):
    """Raise ``ValueError`` naming the optimizer, option, the rule and the received value when a rule fails.

    ``conditions`` maps an option name to ``(value, ok, rule)``.
    """
    for key, (value, ok, rule) in conditions.items():
        if not ok:
            raise ValueError(f"{name}: invalid {key}: expected {rule}, got {value!r}")


def bias_correction(beta, step):
    """``1 − βᵗ``: the factor that removes the bias of a zero-initialised moving average."""
    return 1.0 - beta ** step

