"""Learning-rate schedules with PyTorch's names and semantics.

A scheduler changes ``group['lr']`` of every parameter group of an optimizer.
Call ``scheduler.step()`` once per epoch (or per batch for OneCycleLR) *after*
``optimizer.step()``. Constructing a scheduler sets the learning rate of
epoch 0 and records each group's starting value as ``group['initial_lr']``
(``base_lrs``).

Most schedules are *chainable*, as in PyTorch: ``get_lr`` computes the new
learning rate from the current ``group['lr']`` (multiplying it by a ratio), so
two schedulers on one optimizer compose their factors. ``step(epoch)`` (an
explicit epoch) uses the closed form from ``base_lrs`` instead.

Classic decay forms from the literature (t: the step count, lr₀ the base
learning rate)::

    step decay          lr_t = lr₀ · γ^⌊t / step_size⌋          StepLR
    exponential decay   lr_t = lr₀ · γ^t  (= lr₀·e^(−k t), γ = e^(−k))   ExponentialLR
    time-based decay    lr_t = lr₀ / (1 + k·t)                   LambdaLR(opt, lambda t: 1 / (1 + k * t))
    cosine annealing    lr_t = η_min + ½(lr₀ − η_min)(1 + cos(π t / T_max))   CosineAnnealingLR
    linear warm-up      lr_t = lr₀ · (s + (e − s)·min(t, T)/T)   LinearLR
"""
from __future__ import annotations

import math
import types
from bisect import bisect_right

from .optimizer import Optimizer


def _per_group(name, optimizer, value):
    """``value`` repeated for every parameter group, or the list given (checked for its length)."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(f"{name}: expected one value per parameter group ({len(optimizer.param_groups)}), "
                             f"got {len(value)}")
        return list(value)
    return [value] * len(optimizer.param_groups)


def _lrs(optimizer):
    return [group["lr"] for group in optimizer.param_groups]


class LRScheduler:
    """Base class: ``base_lrs``, ``last_epoch``, ``step()``, ``get_last_lr()``, state dicts.

    A subclass implements ``get_lr()`` (the learning rates at ``last_epoch``,
    usually from the current ones) and, where one exists,
    ``_get_closed_form_lr()`` (from ``base_lrs``).

    Args:
        optimizer (Optimizer): the optimizer whose learning rates change.
        last_epoch (int): the index of the last epoch; -1 starts afresh. Resuming
            with ``last_epoch >= 0`` needs ``'initial_lr'`` in every group.
    """

    _is_initial = False

    def __init__(self, optimizer, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"{type(self).__name__}: param_groups[{i}] has no 'initial_lr', needed to resume "
                                   f"with last_epoch={last_epoch}; load the optimizer's state first")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self):
        """Set the learning rate of the first epoch (``last_epoch`` + 1)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement get_lr")

    def step(self, epoch=None):
        """Advance one epoch (or jump to ``epoch``, using the closed form where there is one)."""
        self._step_count += 1
        self._update_lr(epoch)

    def _update_lr(self, epoch=None):
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            values = self._get_closed_form_lr() if hasattr(self, "_get_closed_form_lr") else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = _lrs(self.optimizer)

    def get_last_lr(self):
        """The learning rates the last ``step`` set, one per parameter group."""
        return self._last_lr

    def state_dict(self):
        """Every attribute except the optimizer (plain data)."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)


class LambdaLR(LRScheduler):
    """``lr = base_lr · lr_lambda(epoch)``: any schedule written as a function of the epoch.

    Time-based decay, ``lr_t = lr₀ / (1 + k·t)``, is ``LambdaLR(opt, lambda t: 1 / (1 + k * t))``.

    Args:
        optimizer (Optimizer): the optimizer.
        lr_lambda (callable or list): a function of the epoch giving a factor, or one per group.
        last_epoch (int): see :class:`LRScheduler`. Default: -1.

    Example:
        >>> sched = LambdaLR(opt, lambda epoch: 0.95 ** epoch)
    """

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        self.optimizer = optimizer
        self.lr_lambdas = _per_group("LambdaLR lr_lambda", optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base * fn(self.last_epoch) for fn, base in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self):
        """As the base class, without the functions (which are code, not state)."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else dict(vars(fn))
                               for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict):
        state = dict(state_dict)
        saved = state.pop("lr_lambdas", [None] * len(self.lr_lambdas))
        self.__dict__.update(state)
        for fn, attrs in zip(self.lr_lambdas, saved):
            if attrs is not None:
                vars(fn).update(attrs)


class MultiplicativeLR(LRScheduler):
    """``lr ← lr · lr_lambda(epoch)`` at every step after the first (chainable).

    Args:
        optimizer (Optimizer): the optimizer.
        lr_lambda (callable or list): factor as a function of the epoch, or one per group.
        last_epoch (int): see :class:`LRScheduler`. Default: -1.
    """

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        self.optimizer = optimizer
        self.lr_lambdas = _per_group("MultiplicativeLR lr_lambda", optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return _lrs(self.optimizer)
        return [group["lr"] * fn(self.last_epoch) for fn, group in zip(self.lr_lambdas, self.optimizer.param_groups)]

    state_dict = LambdaLR.state_dict
    load_state_dict = LambdaLR.load_state_dict


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs: ``lr₀ · γ^⌊t / step_size⌋``.

    Args:
        optimizer (Optimizer): the optimizer.
        step_size (int): period of the decay, in epochs.
        gamma (float): factor. Default: 0.1.
        last_epoch (int): see :class:`LRScheduler`. Default: -1.

    Example:
        >>> sched = StepLR(opt, step_size=30, gamma=0.1)   # 0.05 → 0.005 at epoch 30 → ...
    """

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return _lrs(self.optimizer)
        return [lr * self.gamma for lr in _lrs(self.optimizer)]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` at each milestone epoch: ``lr₀ · γ^(milestones passed)``.

    Args:
        optimizer (Optimizer): the optimizer.
        milestones (list of int): increasing epoch indices.
        gamma (float): factor. Default: 0.1.
        last_epoch (int): see :class:`LRScheduler`. Default: -1.

    Example:
        >>> sched = MultiStepLR(opt, milestones=[30, 80], gamma=0.1)
    """

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self.milestones = sorted(milestones)  # a plain list (not torch's Counter) so the state dict is JSON-able
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        hits = self.milestones.count(self.last_epoch)  # a milestone listed twice decays twice
        if hits == 0:
            return _lrs(self.optimizer)
        return [lr * self.gamma ** hits for lr in _lrs(self.optimizer)]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** bisect_right(self.milestones, self.last_epoch) for base in self.base_lrs]


class ConstantLR(LRScheduler):
    """``lr₀ · factor`` for the first ``total_iters`` epochs, then ``lr₀`` (a constant warm-up).

    Args:
        optimizer (Optimizer): the optimizer.
        factor (float): in [0, 1]. Default: 1/3.
        total_iters (int): epochs at the reduced rate. Default: 5.
        last_epoch (int): see :class:`LRScheduler`. Default: -1.
    """

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1):
        if not 0 <= factor <= 1:
            raise ValueError(f"ConstantLR: expected factor in [0, 1], got {factor!r}")
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [lr * self.factor for lr in _lrs(self.optimizer)]
        if self.last_epoch != self.total_iters:
            return _lrs(self.optimizer)
        return [lr * (1.0 / self.factor) for lr in _lrs(self.optimizer)]

    def _get_closed_form_lr(self):
        return [base * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor))
                for base in self.base_lrs]


class LinearLR(LRScheduler):
    """Change the factor on ``lr₀`` linearly from ``start_factor`` to ``end_factor`` over ``total_iters`` epochs.

    ``lr_t = lr₀ · (s + (e − s) · min(t, T) / T)``: with s < e = 1 this is the
    usual linear warm-up.

    Args:
        optimizer (Optimizer): the optimizer.
        start_factor (float): s, in (0, 1]. Default: 1/3.
        end_factor (float): e, in [0, 1]. Default: 1.0.
        total_iters (int): T. Default: 5.
        last_epoch (int): see :class:`LRScheduler`. Default: -1.

    Example:
        >>> sched = LinearLR(opt, start_factor=0.01, total_iters=500)   # warm up over 500 steps
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5, last_epoch=-1):
        if not 0 < start_factor <= 1:
            raise ValueError(f"LinearLR: expected start_factor in (0, 1], got {start_factor!r}")
        if not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: expected end_factor in [0, 1], got {end_factor!r}")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in _lrs(self.optimizer)]
        if self._is_initial or self.last_epoch > self.total_iters:
            return _lrs(self.optimizer)
        slope = self.end_factor - self.start_factor
        ratio = 1.0 + slope / (self.total_iters * self.start_factor + (self.last_epoch - 1) * slope)
        return [lr * ratio for lr in _lrs(self.optimizer)]

    def _get_closed_form_lr(self):
        frac = min(self.total_iters, self.last_epoch) / self.total_iters
        return [base * (self.start_factor + (self.end_factor - self.start_factor) * frac) for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every epoch: ``lr_t = lr₀ · γ^t``.

    Args:
        optimizer (Optimizer): the optimizer.
        gamma (float): factor per epoch.
        last_epoch (int): see :class:`LRScheduler`. Default: -1.
    """

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return _lrs(self.optimizer)
        return [lr * self.gamma for lr in _lrs(self.optimizer)]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


class PolynomialLR(LRScheduler):
    """``lr_t = lr₀ · (1 − min(t, T)/T)^power``: polynomial decay to 0 over ``total_iters`` epochs.

    Args:
        optimizer (Optimizer): the optimizer.
        total_iters (int): T. Default: 5.
        power (float): the exponent. Default: 1.0.
        last_epoch (int): see :class:`LRScheduler`. Default: -1.
    """

    def __init__(self, optimizer, total_iters=5, power=1.0, last_epoch=-1):
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial or self.last_epoch == 0 or self.last_epoch > self.total_iters:
            return _lrs(self.optimizer)
        t, T = self.last_epoch, self.total_iters
        ratio = ((1.0 - t / T) / (1.0 - (t - 1) / T)) ** self.power
        return [lr * ratio for lr in _lrs(self.optimizer)]

    def _get_closed_form_lr(self):
        return [base * (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters) ** self.power
                for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing (Loshchilov & Hutter, 2017, without restarts), chainable as in PyTorch.

    ::

        lr_t = η_min + ½·(lr₀ − η_min)·(1 + cos(π·t / T_max))

    computed recursively from the current learning rate, so that it composes
    with other schedulers; after T_max the cosine continues (the rate rises again).

    Args:
        optimizer (Optimizer): the optimizer.
        T_max (int): half period, in epochs.
        eta_min (float): η_min, the smallest learning rate. Default: 0.
        last_epoch (int): see :class:`LRScheduler`. Default: -1.

    Example:
        >>> sched = CosineAnnealingLR(opt, T_max=100, eta_min=1e-5)
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return _lrs(self.optimizer)
        if self._step_count == 1 and t > 0:
            return [eta_min + (base - eta_min) * (1 + math.cos(t * math.pi / T)) / 2 for base in self.base_lrs]
        if (t - 1 - T) % (2 * T) == 0:  # the bottom of the cosine, where the ratio below is 0 / 0
            return [lr + (base - eta_min) * (1 - math.cos(math.pi / T)) / 2
                    for base, lr in zip(self.base_lrs, _lrs(self.optimizer))]
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [ratio * (lr - eta_min) + eta_min for lr in _lrs(self.optimizer)]

    def _get_closed_form_lr(self):
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing with warm restarts (SGDR, Loshchilov & Hutter, 2017).

    ::

        lr = η_min + ½·(lr₀ − η_min)·(1 + cos(π·T_cur / T_i))

    T_cur counts epochs since the last restart; the period T_i starts at T_0
    and is multiplied by T_mult at each restart. ``step(epoch)`` accepts
    fractional epochs (``epoch + i / batches_per_epoch``).

    Args:
        optimizer (Optimizer): the optimizer.
        T_0 (int): the first period.
        T_mult (int): period growth factor. Default: 1.
        eta_min (float): the smallest learning rate. Default: 0.
        last_epoch (int): see :class:`LRScheduler`. Default: -1.
    """

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        if not isinstance(T_0, int) or T_0 <= 0:
            raise ValueError(f"CosineAnnealingWarmRestarts: expected a positive integer T_0, got {T_0!r}")
        if not isinstance(T_mult, int) or T_mult < 1:
            raise ValueError(f"CosineAnnealingWarmRestarts: expected an integer T_mult >= 1, got {T_mult!r}")
        self.T_0 = self.T_i = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
                for base in self.base_lrs]

    def step(self, epoch=None):
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur %= self.T_i
                self.T_i *= self.T_mult
        elif epoch < 0:
            raise ValueError(f"CosineAnnealingWarmRestarts: expected a non-negative epoch, got {epoch!r}")
        elif epoch >= self.T_0:
            if self.T_mult == 1:
                self.T_cur = epoch % self.T_0
            else:
                n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                self.T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
                self.T_i = self.T_0 * self.T_mult ** n
        else:
            self.T_i, self.T_cur = self.T_0, epoch
        self.last_epoch = math.floor(epoch)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = _lrs(self.optimizer)


class SequentialLR(LRScheduler):
    """Run ``schedulers`` one after the other, switching at the ``milestones`` epochs.

    Warm-up then cosine decay::

        warmup = LinearLR(opt, start_factor=0.01, total_iters=5)
        decay = CosineAnnealingLR(opt, T_max=95)
        sched = SequentialLR(opt, [warmup, decay], milestones=[5])

    Args:
        optimizer (Optimizer): the optimizer all the schedulers drive.
        schedulers (list): the schedulers, in order.
        milestones (list of int): the epochs at which the next one takes over (one fewer than schedulers).
        last_epoch (int): see :class:`LRScheduler`. Default: -1.
    """

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        _check_schedulers("SequentialLR", optimizer, schedulers)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR: expected {len(schedulers) - 1} milestones for {len(schedulers)} "
                             f"schedulers, got {len(milestones)}")
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:  # undo what constructing the schedulers did
            group["lr"] = group["initial_lr"]
        _undo_initial_step(self._schedulers)
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def step(self):
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)  # the next scheduler starts at its epoch 0 (closed form)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self):
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict):
        state = dict(state_dict)
        saved = state.pop("_schedulers")
        self.__dict__.update(state)
        for s, sd in zip(self._schedulers, saved):
            s.load_state_dict(sd)


class ChainedScheduler(LRScheduler):
    """Step several chainable schedulers together, so that their factors multiply.

    Args:
        schedulers (list): the schedulers (of one optimizer).
        optimizer (Optimizer, optional): their optimizer. Default: the first scheduler's.
    """

    def __init__(self, schedulers, optimizer=None):
        optimizer = optimizer or (schedulers[0].optimizer if schedulers else None)
        _check_schedulers("ChainedScheduler", optimizer, schedulers)
        self._schedulers = list(schedulers)
        self.optimizer = optimizer
        self._last_lr = _lrs(optimizer)

    def step(self):
        for s in self._schedulers:
            s.step()
        self._last_lr = _lrs(self.optimizer)

    state_dict = SequentialLR.state_dict
    load_state_dict = SequentialLR.load_state_dict


def _undo_initial_step(schedulers):
    """Take back the step each scheduler (or the schedulers inside a combined one) made when built."""
    for s in schedulers:
        if hasattr(s, "_schedulers"):
            _undo_initial_step(s._schedulers)
        else:
            s.last_epoch -= 1


def _check_schedulers(name, optimizer, schedulers):
    if not schedulers:
        raise ValueError(f"{name}: expected at least one scheduler, got none")
    for i, s in enumerate(schedulers):
        if isinstance(s, ReduceLROnPlateau):
            raise ValueError(f"{name}: ReduceLROnPlateau (index {i}) needs a metric in step() and cannot be combined")
        if getattr(s, "optimizer", None) is not optimizer:
            raise ValueError(f"{name}: scheduler {i} ({type(s).__name__}) drives a different optimizer")


class ReduceLROnPlateau(LRScheduler):
    """Multiply the learning rate by ``factor`` when a metric stops improving for ``patience`` epochs.

    ::

        better(a, best) = a < best·(1 − threshold)   mode 'min', threshold_mode 'rel'
                          a < best − threshold       mode 'min', 'abs'
                          a > best·(1 + threshold)   mode 'max', 'rel'
                          a > best + threshold       mode 'max', 'abs'
        after more than `patience` epochs without a better value:
            lr ← max(lr · factor, min_lr)   (unless that changes lr by less than eps),
            then wait `cooldown` epochs before counting again.

    Args:
        optimizer (Optimizer): the optimizer.
        mode (str): 'min' (a loss) or 'max' (an accuracy). Default: 'min'.
        factor (float): the reduction factor, < 1. Default: 0.1.
        patience (int): epochs without improvement tolerated. Default: 10.
        threshold (float): the least change that counts as an improvement. Default: 1e-4.
        threshold_mode (str): 'rel' or 'abs'. Default: 'rel'.
        cooldown (int): epochs to wait after a reduction. Default: 0.
        min_lr (float or list): lower bound(s) on the learning rate. Default: 0.
        eps (float): smallest reduction applied. Default: 1e-8.

    Example:
        >>> sched = ReduceLROnPlateau(opt, mode="min", patience=3)
        >>> for epoch in range(50):
        ...     train_one_epoch(); sched.step(validation_loss())
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, min_lr=0.0, eps=1e-8):
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: expected factor < 1.0, got {factor!r}")
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"ReduceLROnPlateau: expected an Optimizer, got {type(optimizer).__name__}")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: expected mode 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: expected threshold_mode 'rel' or 'abs', got {threshold_mode!r}")
        self.optimizer = optimizer
        self.factor = factor
        self.default_min_lr = None if isinstance(min_lr, (list, tuple)) else min_lr
        self.min_lrs = _per_group("ReduceLROnPlateau min_lr", optimizer, min_lr)
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.last_epoch = 0
        self._last_lr = _lrs(optimizer)
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def step(self, metrics, epoch=None):
        """Record this epoch's metric (a number or a one-element tensor) and reduce the rate if it plateaued."""
        current = float(metrics)
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during the cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = _lrs(self.optimizer)

    @property
    def in_cooldown(self):
        return self.cooldown_counter > 0

    def _reduce_lr(self):
        if len(self.min_lrs) != len(self.optimizer.param_groups):
            if self.default_min_lr is None:
                raise RuntimeError(f"ReduceLROnPlateau: the optimizer now has {len(self.optimizer.param_groups)} "
                                   f"parameter groups but min_lr lists {len(self.min_lrs)}; update min_lrs")
            self.min_lrs = [self.default_min_lr] * len(self.optimizer.param_groups)
        for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
            old = float(group["lr"])
            new = max(old * self.factor, min_lr)
            if old - new > self.eps:
                group["lr"] = new

    def _is_better(self, a, best):
        if self.mode == "min":
            return a < (best * (1.0 - self.threshold) if self.threshold_mode == "rel" else best - self.threshold)
        return a > (best * (self.threshold + 1.0) if self.threshold_mode == "rel" else best + self.threshold)


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin, 2018): warm up to ``max_lr``, then anneal far below the start.

    Step it after every batch. With ``three_phase=False`` (PyTorch's default)::

        phase 1 (first pct_start of the steps): lr  initial_lr → max_lr,   momentum max_m → base_m
        phase 2 (the rest):                      lr  max_lr → min_lr,       momentum base_m → max_m
        initial_lr = max_lr / div_factor,   min_lr = initial_lr / final_div_factor

    With ``three_phase=True`` phase 2 returns symmetrically to initial_lr and a
    third phase anneals to min_lr. Each phase interpolates with
    ``anneal(a, b, x) = b + (a − b)/2 · (1 + cos(π x))`` ('cos') or
    ``a + (b − a)·x`` ('linear'), x the fraction of the phase done. Momentum
    (SGD's ``momentum`` or Adam's β₁) moves opposite to the learning rate when
    ``cycle_momentum``.

    Args:
        optimizer (Optimizer): the optimizer.
        max_lr (float or list): the peak learning rate(s).
        total_steps (int): the number of steps in the cycle; or give epochs and steps_per_epoch.
        epochs (int), steps_per_epoch (int): total_steps = epochs · steps_per_epoch.
        pct_start (float): the fraction of steps spent increasing the rate. Default: 0.3.
        anneal_strategy (str): 'cos' or 'linear'. Default: 'cos'.
        cycle_momentum (bool): cycle momentum / β₁ inversely. Default: True.
        base_momentum (float or list): the lowest momentum. Default: 0.85.
        max_momentum (float or list): the highest momentum. Default: 0.95.
        div_factor (float): initial_lr = max_lr / div_factor. Default: 25.
        final_div_factor (float): min_lr = initial_lr / final_div_factor. Default: 1e4.
        three_phase (bool): use the three-phase variant. Default: False.
        last_epoch (int): the index of the last batch. Default: -1.

    Example:
        >>> sched = OneCycleLR(opt, max_lr=0.1, epochs=10, steps_per_epoch=len(loader))
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None, pct_start=0.3,
                 anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85, max_momentum=0.95, div_factor=25.0,
                 final_div_factor=1e4, three_phase=False, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"OneCycleLR: expected an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        if total_steps is not None:
            if not isinstance(total_steps, int) or total_steps <= 0:
                raise ValueError(f"OneCycleLR: expected a positive integer total_steps, got {total_steps!r}")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            for key, v in (("epochs", epochs), ("steps_per_epoch", steps_per_epoch)):
                if not isinstance(v, int) or v <= 0:
                    raise ValueError(f"OneCycleLR: expected a positive integer {key}, got {v!r}")
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("OneCycleLR: give either total_steps or both epochs and steps_per_epoch")
        if not 0 <= pct_start <= 1:
            raise ValueError(f"OneCycleLR: expected pct_start in [0, 1], got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: expected anneal_strategy 'cos' or 'linear', got {anneal_strategy!r}")
        self.anneal_strategy = anneal_strategy
        rise_end = float(pct_start * self.total_steps) - 1
        if three_phase:
            self._schedule_phases = [
                dict(end_step=rise_end, start_lr="initial_lr", end_lr="max_lr",
                     start_momentum="max_momentum", end_momentum="base_momentum"),
                dict(end_step=float(2 * pct_start * self.total_steps) - 2, start_lr="max_lr", end_lr="initial_lr",
                     start_momentum="base_momentum", end_momentum="max_momentum"),
                dict(end_step=self.total_steps - 1, start_lr="initial_lr", end_lr="min_lr",
                     start_momentum="max_momentum", end_momentum="max_momentum")]
        else:
            self._schedule_phases = [
                dict(end_step=rise_end, start_lr="initial_lr", end_lr="max_lr",
                     start_momentum="max_momentum", end_momentum="base_momentum"),
                dict(end_step=self.total_steps - 1, start_lr="max_lr", end_lr="min_lr",
                     start_momentum="base_momentum", end_momentum="max_momentum")]
        max_lrs = _per_group("OneCycleLR max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for group, peak in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = peak / div_factor
                group["max_lr"] = peak
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"OneCycleLR: cycle_momentum needs an optimizer with momentum or betas, "
                                 f"{type(optimizer).__name__} has neither")
            self.use_beta1 = "betas" in optimizer.defaults
            max_ms = _per_group("OneCycleLR max_momentum", optimizer, max_momentum)
            base_ms = _per_group("OneCycleLR base_momentum", optimizer, base_momentum)
            if last_epoch == -1:
                for group, hi, lo in zip(optimizer.param_groups, max_ms, base_ms):
                    self._set_momentum(group, hi)
                    group["max_momentum"] = hi
                    group["base_momentum"] = lo
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group, value):
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {step} times; the schedule has total_steps={self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end = phase["end_step"]
                if step <= end or i == len(self._schedule_phases) - 1:
                    pct = (step - start) / (end - start)
                    lrs.append(self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct))
                    if self.cycle_momentum:
                        self._set_momentum(group, self._anneal(group[phase["start_momentum"]],
                                                               group[phase["end_momentum"]], pct))
                    break
                start = end
        return lrs
