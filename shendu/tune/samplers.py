"""Optuna's samplers and pruners by name, and the storages of studies (SQLite, PostgreSQL, memory)."""
from __future__ import annotations

import contextlib
import importlib.util
import os
import time
import warnings

from .._extras import require
from .space import grid_of

SAMPLERS = ("tpe", "random", "grid", "cmaes")
PRUNERS = ("median", "none")


def optuna_module():
    """The optuna package, or an ImportError naming the ``shendu[tune]`` extra."""
    return require("optuna", "tune", "shendu.tune (hyperparameter search)")


def make_sampler(name, seed=0, space=None):
    """An Optuna sampler by name: ``'tpe'`` (Bayesian: tree-structured Parzen estimators), ``'random'``,
    ``'grid'`` (the lists of the dict ``space``, in a random order) or ``'cmaes'`` (CMA-ES, for numeric
    parameters; choices are then drawn at random). An Optuna sampler instance is returned as is."""
    optuna = optuna_module()
    if not isinstance(name, str):
        return name
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "grid":
        return optuna.samplers.GridSampler(grid_of(space), seed=seed)
    if name == "cmaes":
        require("cmaes", "tune", "the CMA-ES sampler")
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    raise ValueError(f"tune: unknown sampler {name!r}; expected one of {', '.join(SAMPLERS)} or an Optuna sampler")


def make_pruner(name, warmup_steps=0):
    """``'median'``: stop a trial whose reported value at a step is worse than the median of the
    earlier trials at that step (after 5 finished trials and ``warmup_steps`` steps); ``'none'``.
    An Optuna pruner instance is returned as is."""
    optuna = optuna_module()
    if not isinstance(name, str):
        return name
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=warmup_steps)
    if name == "none":
        return optuna.pruners.NopPruner()
    raise ValueError(f"tune: unknown pruner {name!r}; expected one of {', '.join(PRUNERS)} or an Optuna pruner")


def open_storage(storage, heartbeat=20, retry=False):
    """An Optuna storage from a URL: ``sqlite:///path.db`` (a file; its directory is created),
    ``postgresql://user:password@host/db`` (or any SQLAlchemy URL; ``postgresql://`` uses psycopg 3
    when psycopg2 is not installed), or ``':memory:'`` (None: in memory, lost at exit). A database
    storage keeps a heartbeat for every running trial, recorded every ``heartbeat`` seconds (default
    20), so that a trial whose process died is marked FAIL once it has been silent for three
    heartbeats; ``retry``: such a trial's parameters are then queued to run again (up to twice)."""
    optuna = optuna_module()
    if not isinstance(storage, str):
        return storage
    if storage == ":memory:":
        return None
    if storage.startswith("sqlite:///"):
        path = storage[len("sqlite:///"):]
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    from sqlalchemy.exc import IntegrityError, ProgrammingError

    try:
        for attempt in range(3):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # "experimental" heartbeats
                    from .workers import retry_callback

                    return optuna.storages.RDBStorage(_driver(storage), heartbeat_interval=int(heartbeat),
                                                      grace_period=3 * int(heartbeat),
                                                      **(retry_callback() if retry else {}))
            except (IntegrityError, ProgrammingError):  # workers started together all create the tables: wait
                if attempt == 2:
                    raise
                time.sleep(1.0 + attempt)
    except ImportError as exc:  # the database's driver
        raise ImportError(f"tune: the storage {safe_url(storage)} needs a database driver that is not installed "
                          f"({exc}); for PostgreSQL: pip install 'psycopg[binary]' (URLs postgresql:// and "
                          f"postgresql+psycopg://) or psycopg2-binary (postgresql+psycopg2://)") from exc


def _driver(url):
    """``postgresql://`` means psycopg2 to SQLAlchemy; with only psycopg 3 installed, use it."""
    scheme, _, rest = url.partition("://")
    if scheme in ("postgresql", "postgres") and importlib.util.find_spec("psycopg2") is None \
            and importlib.util.find_spec("psycopg") is not None:
        return "postgresql+psycopg://" + rest
    return url


def safe_url(storage):
    """A storage for messages and files: its URL without the password, or its class name."""
    if not isinstance(storage, str):
        return type(storage).__name__
    if "://" not in storage or "@" not in storage:
        return storage
    from sqlalchemy.engine import make_url

    return make_url(storage).render_as_string(hide_password=True)


@contextlib.contextmanager
def quiet_optuna(optuna):
    """Optuna logs every trial at INFO level; shendu prints its own line per trial instead."""
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(level)
