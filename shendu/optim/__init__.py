"""Optimizers, gradient clipping and learning-rate schedules, with PyTorch's names and update rules.

    >>> opt = shendu.optim.Adam(model.parameters(), lr=1e-3)
    >>> sched = shendu.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100)
    >>> for x, y in batches:
    ...     opt.zero_grad()
    ...     loss = loss_fn(model(x), y)
    ...     loss.backward()
    ...     opt.step()
    ...     sched.step()

See docs/optim.md for the update formulas.
"""
from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .clip import clip_grad_norm_, clip_grad_value_
from .nadam import NAdam
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "Adamax", "NAdam",
           "clip_grad_norm_", "clip_grad_value_", "lr_scheduler"]
from .lbfgs import LBFGS  # noqa: E402  (quasi-Newton with a closure; docs/optim.md "L-BFGS")

__all__ += ["LBFGS"]
