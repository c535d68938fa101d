"""Hyperparameter search on Optuna (the ``shendu[tune]`` extra): search spaces, the grid, random,
TPE and CMA-ES samplers, pruning from the per-epoch validation metric, studies stored in SQLite
(resumable) or PostgreSQL (many workers), and the job behind ``shendu tune`` (docs/tune.md).

    >>> from shendu import tune
    >>> r = tune.tune_model("lenet5", "digits", n_trials=20, sampler="tpe")    # as `shendu tune`
    >>> r["best"]["params"], r["best"]["test_accuracy"], r["default"]["test_accuracy"]

    >>> def objective(params, trial):                    # any objective: params in, a number out
    ...     net = build(params["hidden"])
    ...     net.compile("adam", lr=params["lr"], metrics=["accuracy"])
    ...     h = net.fit(x, y, epochs=10, validation_data=(xv, yv), callbacks=[trial.callback()], verbose=0)
    ...     return h.history["val_accuracy"][-1]
    >>> s = tune.search(objective, {"lr": ("log", 1e-4, 1e-1), "hidden": [32, 64, 128]}, n_trials=30)
    >>> s.best_params, s.best_value; print(s.table())

The protocol of :func:`tune_model`: the training images are split once (stratified, seeded)
into a training and a validation part; every trial trains on the training part and is judged
by the validation metric of its last epoch (and may be pruned on the way, epoch by epoch);
the best configuration is then trained again on training + validation and evaluated once
on the test split, which no trial has seen. The default configuration of ``shendu train``
goes through the same protocol, for comparison.

A search space is a dict from a parameter's name to

* a list: the choices, ``[32, 64, 128]`` or ``["adam", "sgd"]``;
* a tuple ``(kind, low, high)`` or ``(kind, low, high, step)``: a range, with kind ``'float'``
  (uniform), ``'log'`` (log-uniform float), ``'int'`` (uniform integer) or ``'intlog'``
  (log-uniform integer); in JSON write ``{"log": [1e-4, 1e-1]}``, ``{"int": [16, 256], "step": 16}``;
* anything else (a number, a string, a bool, None): a fixed value, passed on, not searched;

or a function ``space(trial) -> dict`` that draws with Optuna's ``trial.suggest_*`` (for
parameters that depend on others, e.g. a momentum only for SGD).
"""
from __future__ import annotations

from .cli import add_arguments, run
from .protocol import FILES, TRAINING, ModelBuilder, train_config, tune_model
from .report import FINISHED, SearchResult
from .samplers import PRUNERS, SAMPLERS, make_pruner, make_sampler, open_storage, safe_url
from .search import PruningCallback, Trial, search
from .space import DEFAULT_GRID, DEFAULT_SPACE, KINDS, describe_space, grid_of, parse_space, suggest

__all__ = ["search", "tune_model", "SearchResult", "Trial", "PruningCallback", "parse_space", "suggest", "grid_of",
           "make_sampler", "make_pruner", "open_storage", "safe_url", "add_arguments", "run", "DEFAULT_SPACE",
           "DEFAULT_GRID", "TRAINING", "SAMPLERS", "PRUNERS", "KINDS", "FILES", "FINISHED", "ModelBuilder",
           "train_config", "describe_space"]
