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

import contextlib
import csv
import inspect
import io
import json
import math
import os
import socket
import sys
import time
import warnings

from . import backend
from ._extras import require
from .training.callbacks import Callback

SAMPLERS = ("tpe", "random", "grid", "cmaes")
PRUNERS = ("median", "none")
KINDS = ("float", "log", "int", "intlog")
#: The settings of the training loop; any other parameter goes to the model's factory when it
#: takes it (e.g. ``channels`` of ``xo_cnn``), else to the optimizer (``weight_decay``, ``momentum``…).
TRAINING = ("lr", "batch_size", "optimizer", "schedule", "augment")
#: The space ``shendu tune`` searches unless given another: the optimizer, its learning rate and
#: weight decay, and the batch size, around the defaults of ``shendu train`` (Adam, 3e-3, 64).
DEFAULT_SPACE = {"optimizer": ["adam", "adamw", "rmsprop"], "lr": ("log", 1e-4, 3e-2),
                 "weight_decay": ("log", 1e-6, 1e-3), "batch_size": [32, 64, 128]}
#: The same as a grid, for ``--sampler grid`` (27 points).
DEFAULT_GRID = {"optimizer": ["adam", "adamw", "rmsprop"], "lr": [1e-3, 3e-3, 1e-2], "batch_size": [32, 64, 128]}
FILES = {"storage": "study.db", "trials": "trials.csv", "results": "results.json", "history": "history.png",
         "importance": "importance.png"}
FINISHED = ("COMPLETE", "PRUNED")  # the states that count towards n_trials


def _optuna():
    return require("optuna", "tune", "shendu.tune (hyperparameter search)")


# ------------------------------------------------------------------ search spaces
def parse_space(space):
    """Check a dict search space (module docstring) and return it in one form:
    ``{name: ("choice", values) | ("float", low, high, step, log) | ("int", low, high, step, log) |
    ("fixed", value)}``. Raises ValueError naming the parameter and what was wrong."""
    if not isinstance(space, dict) or not space:
        raise ValueError(f"tune: a search space is a non-empty dict (or a function trial -> dict), "
                         f"got {type(space).__name__} {space!r}")
    return {str(name): _parse_entry(str(name), spec) for name, spec in space.items()}


def _parse_entry(name, spec):
    where = f"tune: space[{name!r}]"
    if isinstance(spec, list):
        if not spec:
            raise ValueError(f"{where}: the list of choices is empty")
        return ("choice", list(spec))
    if isinstance(spec, dict):  # JSON form of a range: {"log": [low, high]}, optionally "step"
        kinds = [k for k in spec if k in KINDS]
        if len(kinds) != 1 or set(spec) - {kinds[0], "step"} or not isinstance(spec[kinds[0]], list):
            raise ValueError(f"{where}: a range in JSON is {{kind: [low, high]}} with kind one of {', '.join(KINDS)} "
                             f"and an optional \"step\", got {spec!r}")
        spec = (kinds[0], *spec[kinds[0]], *([spec["step"]] if "step" in spec else []))
    if isinstance(spec, tuple):
        if not (3 <= len(spec) <= 4 and spec[0] in KINDS):
            raise ValueError(f"{where}: a range is (kind, low, high) or (kind, low, high, step) with kind one of "
                             f"{', '.join(KINDS)}; choices are written as a list; got {spec!r}")
        kind, low, high = spec[:3]
        step = spec[3] if len(spec) == 4 else None
        integer = kind in ("int", "intlog")
        number = (int,) if integer else (int, float)
        if not all(isinstance(v, number) and not isinstance(v, bool) for v in (low, high)) or not low < high:
            raise ValueError(f"{where}: expected {'integers' if integer else 'numbers'} low < high, got {spec!r}")
        log = kind in ("log", "intlog")
        if log and (low <= 0 or step is not None):
            raise ValueError(f"{where}: a log range needs low > 0 and no step, got {spec!r}")
        if step is not None and not (isinstance(step, number) and step > 0):
            raise ValueError(f"{where}: the step must be a positive {'integer' if integer else 'number'}, got {step!r}")
        return ("int" if integer else "float", low, high, step, log)
    if spec is None or isinstance(spec, (bool, int, float, str)):
        return ("fixed", spec)
    raise ValueError(f"{where}: expected a list of choices, a range (kind, low, high[, step]) or a fixed value, "
                     f"got {type(spec).__name__} {spec!r}")


def suggest(trial, space):
    """Draw one configuration: ``space`` a dict (module docstring) or a function ``trial -> dict``;
    ``trial`` an Optuna trial. Returns ``{name: value}``, fixed values included."""
    if callable(space):
        params = space(trial)
        if not isinstance(params, dict):
            raise TypeError(f"tune: the space function must return a dict of parameters, got {type(params).__name__}")
        return params
    params = {}
    for name, spec in parse_space(space).items():
        kind = spec[0]
        if kind == "choice":
            params[name] = trial.suggest_categorical(name, spec[1])
        elif kind == "float":
            params[name] = trial.suggest_float(name, spec[1], spec[2], step=spec[3], log=spec[4])
        elif kind == "int":
            params[name] = trial.suggest_int(name, spec[1], spec[2], step=spec[3] or 1, log=spec[4])
        else:
            params[name] = spec[1]
    return params


def grid_of(space):
    """The grid of a dict space, for the grid sampler: ``{name: values}`` of its lists."""
    if callable(space):
        raise ValueError("tune: the grid sampler needs the space as a dict whose searched parameters are lists "
                         "of values, not a function")
    grid = {}
    for name, spec in parse_space(space).items():
        if spec[0] in ("float", "int"):
            raise ValueError(f"tune: the grid sampler needs a list of values for every searched parameter; "
                             f"{name!r} is a range: write e.g. {name!r}: {_example_grid(spec)}")
        if spec[0] == "choice":
            grid[name] = spec[1]
    if not grid:
        raise ValueError("tune: the grid sampler needs at least one parameter with a list of values")
    return grid


def _example_grid(spec):
    _, low, high, _, log = spec
    if log:
        values = [low, math.sqrt(low * high), high]
    else:
        values = [low, (low + high) / 2, high]
    return [round(v) if spec[0] == "int" else float(f"{v:.3g}") for v in values]


def _describe(space):
    """A JSON-able description of a space, to recognise the same search when a study is resumed."""
    if callable(space):
        return f"function {getattr(space, '__module__', '?')}.{getattr(space, '__qualname__', repr(space))}"
    return json.loads(json.dumps({name: list(spec) for name, spec in parse_space(space).items()}, default=repr))


# ------------------------------------------------------------------ samplers, pruners, storage
def make_sampler(name, seed=0, space=None):
    """An Optuna sampler by name: ``'tpe'`` (Bayesian: tree-structured Parzen estimators), ``'random'``,
    ``'grid'`` (the lists of the dict ``space``, in a random order) or ``'cmaes'`` (CMA-ES, for numeric
    parameters; choices are then drawn at random). An Optuna sampler instance is returned as is."""
    optuna = _optuna()
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
    optuna = _optuna()
    if not isinstance(name, str):
        return name
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=warmup_steps)
    if name == "none":
        return optuna.pruners.NopPruner()
    raise ValueError(f"tune: unknown pruner {name!r}; expected one of {', '.join(PRUNERS)} or an Optuna pruner")


def open_storage(storage):
    """An Optuna storage from a URL: ``sqlite:///path.db`` (a file; its directory is created),
    ``postgresql://user:password@host/db`` (or any SQLAlchemy URL), or ``':memory:'`` (None: in memory,
    lost at exit). A database storage keeps a heartbeat for every running trial, so that a trial
    whose process died is marked FAIL once it has been silent for a minute."""
    optuna = _optuna()
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
                    return optuna.storages.RDBStorage(storage, heartbeat_interval=20, grace_period=60)
            except (IntegrityError, ProgrammingError):  # workers started together all create the tables: wait
                if attempt == 2:
                    raise
                time.sleep(1.0 + attempt)
    except ImportError as exc:  # the database's driver
        raise ImportError(f"tune: the storage {safe_url(storage)} needs a database driver that is not installed "
                          f"({exc}); for PostgreSQL: pip install 'psycopg[binary]' (URLs postgresql:// and "
                          f"postgresql+psycopg://) or psycopg2-binary (postgresql+psycopg2://)") from exc


def safe_url(storage):
    """A storage for messages and files: its URL without the password, or its class name."""
    if not isinstance(storage, str):
        return type(storage).__name__
    if "://" not in storage or "@" not in storage:
        return storage
    from sqlalchemy.engine import make_url

    return make_url(storage).render_as_string(hide_password=True)


@contextlib.contextmanager
def _quiet_optuna(optuna):
    """Optuna logs every trial at INFO level; shendu prints its own line per trial instead."""
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(level)


# ------------------------------------------------------------------ trials
class PruningCallback(Callback):
    """A ``fit`` callback that reports ``monitor`` (default ``val_accuracy``) to the trial after every
    epoch (step = epochs done) and stops the training with ``optuna.TrialPruned`` when the pruner says so."""

    def __init__(self, trial, monitor="val_accuracy"):
        self.trial, self.monitor = trial, monitor

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            raise ValueError(f"tune: the epoch's logs have no {self.monitor!r} to report (keys: "
                             f"{', '.join(sorted(logs or {}))}); give fit validation data")
        self.trial.report(value, epoch + 1)


class Trial:
    """What an objective receives besides its parameters.

    ``number`` (the trial's number in the study, from 0), ``report(value, step)`` (an intermediate
    value; raises ``optuna.TrialPruned`` when the pruner stops the trial), ``callback(monitor)``
    (a ``fit`` callback that reports ``monitor`` every epoch), ``optuna`` (the Optuna trial itself).
    """

    def __init__(self, trial):
        self.optuna = trial

    @property
    def number(self):
        return self.optuna.number

    def report(self, value, step):
        """Report ``value`` at ``step``; stop the trial (``optuna.TrialPruned``) if it looks unpromising."""
        value = float(value)
        self.optuna.report(value, step)
        if self.optuna.should_prune():
            raise _optuna().TrialPruned(f"pruned at step {step} with value {value:.4g}")

    def callback(self, monitor="val_accuracy"):
        """A :class:`PruningCallback` for ``fit``."""
        return PruningCallback(self, monitor)


def _worker():
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(pid):
    try:
        os.kill(pid, 0)  # signal 0: only checks that the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    return True


def _fail_interrupted(study):
    """Mark FAIL the RUNNING trials started by a process of this machine that no longer exists (a search
    killed with SIGKILL, by the out-of-memory killer, with its terminal), so that a rerun need not wait
    for their heartbeat to go stale; those of other machines are left to the heartbeat."""
    if os.name != "posix":  # os.kill(pid, 0) would terminate the process on Windows
        return
    optuna = _optuna()
    host = socket.gethostname()
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        where, _, pid = str(t.user_attrs.get("worker", "")).rpartition(":")
        if where == host and pid.isdigit() and not _alive(int(pid)):
            study._storage.set_trial_user_attr(t._trial_id, "interrupted", True)
            study._storage.set_trial_state_values(t._trial_id, state=optuna.trial.TrialState.FAIL)


def _finished(study):
    optuna = _optuna()
    states = tuple(getattr(optuna.trial.TrialState, s) for s in FINISHED)
    return len(study.get_trials(deepcopy=False, states=states))


def _format(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


class SearchResult:
    """The outcome of :func:`search`: the Optuna ``study`` and what to read from it.

    ``best_value``, ``best_params`` (the best trial's whole configuration, fixed values included),
    ``best_number``; ``new_trials`` (the numbers of the trials this call ran); ``rows()`` (one dict per
    trial: number, state, value, epochs, seconds, note, params), ``table()`` (the rows as text),
    ``write_csv(path)``, ``importances()``, ``plot_history(path)``, ``plot_importance(path)``.
    """

    def __init__(self, study, metric="value", new_trials=()):
        self.study, self.metric, self.new_trials = study, metric, list(new_trials)

    def _best(self):
        try:
            return self.study.best_trial
        except ValueError:
            raise ValueError(f"tune: no trial of study {self.study.study_name!r} has completed") from None

    @property
    def best_value(self):
        return self._best().value

    @property
    def best_params(self):
        best = self._best()
        return dict(best.user_attrs.get("config", best.params))

    @property
    def best_number(self):
        return self._best().number

    def rows(self):
        """One dict per trial of the study, in order of number."""
        rows = []
        for t in self.study.get_trials(deepcopy=False):
            state = t.state.name
            value = t.value
            if value is None and t.intermediate_values:  # a pruned trial: its last reported value
                value = t.intermediate_values[max(t.intermediate_values)]
            seconds = t.duration.total_seconds() if t.duration is not None else None
            note = ("diverged" if t.user_attrs.get("diverged") else
                    "interrupted" if t.user_attrs.get("interrupted") else "")
            rows.append({"number": t.number, "state": state, "value": value, "epochs": len(t.intermediate_values),
                         "seconds": seconds, "note": note, "params": dict(t.user_attrs.get("config", t.params))})
        return rows

    def table(self):
        """The trials as an aligned text table; ``*`` marks the best."""
        rows = self.rows()
        names = list(dict.fromkeys(k for r in rows for k in r["params"]))
        try:
            best = self.best_number
        except ValueError:
            best = None
        head = ["trial", "state", self.metric, "steps", "seconds", *names]
        lines = [[f"{r['number']}{'*' if r['number'] == best else ''}",
                  r["state"] + (f" ({r['note']})" if r["note"] else ""),
                  "" if r["value"] is None else f"{r['value']:.4f}", str(r["epochs"]),
                  "" if r["seconds"] is None else f"{r['seconds']:.1f}",
                  *[_format(r["params"].get(n, "")) for n in names]] for r in rows]
        widths = [max(len(x) for x in col) for col in zip(head, *lines)]
        return "\n".join("  ".join(c.rjust(w) if i != 1 else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths)))
                         for row in [head, *lines])

    def write_csv(self, path):
        """The trials as CSV: number, state, value, steps, seconds, note, then one column per parameter."""
        from .serialization import atomic_write

        rows = self.rows()
        names = list(dict.fromkeys(k for r in rows for k in r["params"]))
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["number", "state", self.metric, "steps", "seconds", "note", *names])
        for r in rows:
            w.writerow([r["number"], r["state"], r["value"], r["epochs"], r["seconds"], r["note"],
                        *[r["params"].get(n, "") for n in names]])
        atomic_write(path, lambda f: f.write(buf.getvalue().encode("utf-8")))
        return path

    def importances(self, seed=0):
        """``{parameter: importance}``, summing to 1, by fANOVA (functional ANOVA on a random forest
        fitted to the completed trials; needs scikit-learn), or PED-ANOVA without scikit-learn.
        Empty when fewer than two trials completed or no searched parameter varied."""
        optuna = _optuna()
        try:
            import sklearn  # noqa: F401
            evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
        except ImportError:
            evaluator = optuna.importance.PedAnovaImportanceEvaluator()
        if sum(t.state.name == "COMPLETE" for t in self.study.get_trials(deepcopy=False)) < 2:
            return {}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return {k: float(v) for k, v in optuna.importance.get_param_importances(
                    self.study, evaluator=evaluator).items()}
        except (ValueError, RuntimeError):  # e.g. every completed trial had the same parameters
            return {}

    def plot_history(self, path, baseline=None, title=None):
        """Write a PNG: each trial's value against its number (pruned trials at their last reported
        value), the best value so far, and ``baseline`` (e.g. the default configuration's value) as a
        dashed line. Returns ``path``."""
        from matplotlib.ticker import MaxNLocator

        fig, ax = _figure()
        rows = [r for r in self.rows() if r["value"] is not None]
        sign = 1 if self.study.direction.name == "MAXIMIZE" else -1
        done = [r for r in rows if r["state"] == "COMPLETE"]
        pruned = [r for r in rows if r["state"] == "PRUNED"]
        ax.plot([r["number"] for r in done], [r["value"] for r in done], "o", color="C0", label="completed trial")
        if pruned:
            ax.plot([r["number"] for r in pruned], [r["value"] for r in pruned], "x", color="0.5",
                    label="pruned trial (last value)")
        best, xs, ys = None, [], []
        for r in done:
            if best is None or sign * r["value"] > sign * best:
                best = r["value"]
            xs.append(r["number"])
            ys.append(best)
        if xs:
            ax.step(xs, ys, where="post", color="C1", label="best so far")
        if baseline is not None:
            ax.axhline(baseline, color="C2", linestyle="--", label=f"default configuration ({baseline:.4g})")
        ax.set_xlabel("trial")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(self.metric)
        ax.grid(True, alpha=0.3)
        ax.legend()
        ax.set_title(title or f"optimisation history: {self.study.study_name}")
        return _save(fig, path)

    def plot_importance(self, path, title=None, seed=0):
        """Write a PNG of the parameter importances (:meth:`importances`) as horizontal bars; returns
        ``path``, or None (no file) when there is nothing to measure."""
        imp = self.importances(seed)
        if not imp:
            return None
        fig, ax = _figure()
        names = list(imp)[::-1]
        ax.barh(names, [imp[n] for n in names], color="C0")
        for i, n in enumerate(names):
            ax.text(imp[n], i, f" {imp[n]:.2f}", va="center")
        ax.set_xlim(0, max(imp.values()) * 1.2 or 1)
        ax.set_xlabel("importance (share of the variance of " + self.metric + ")")
        ax.set_title(title or f"parameter importances: {self.study.study_name}")
        return _save(fig, path)

    def __repr__(self):
        try:
            best = f"best_value={self.best_value:.4g}, best_params={self.best_params}"
        except ValueError:
            best = "no completed trial"
        return f"SearchResult({self.study.study_name!r}, {len(self.study.trials)} trials, {best})"


def _figure():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.2), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots()


def _save(fig, path):
    from .serialization import atomic_write

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    atomic_write(path, lambda f: f.write(buf.getvalue()))
    return path


# ------------------------------------------------------------------ search
def search(objective, space, n_trials=20, *, sampler="tpe", pruner="median", warmup_steps=0, storage=None,
           study_name="shendu", direction="maximize", metric="value", seed=0, timeout=None, settings=None,
           verbose=1, stream=None):
    """Search ``space`` for the parameters that maximise (or minimise) ``objective``.

    Args:
        objective: ``objective(params, trial) -> float``, ``params`` a dict drawn from ``space``
            and ``trial`` a :class:`Trial` (report intermediate values through it to allow pruning,
            e.g. ``fit(..., callbacks=[trial.callback("val_accuracy")])``). A ``FloatingPointError``
            (``fit``'s guard against a diverging loss) prunes the trial and marks it ``diverged``.
        space: a dict or a function ``optuna_trial -> dict`` (module docstring).
        n_trials: the number of finished (completed or pruned) trials the study should reach, in all:
            a study that already has k finished trials in ``storage`` runs n_trials − k more, so the
            same call resumes an interrupted search, and workers that share a database stop together.
        sampler: ``'tpe'`` (default), ``'random'``, ``'grid'``, ``'cmaes'`` or an Optuna sampler.
        pruner: ``'median'`` (default), ``'none'`` or an Optuna pruner; ``warmup_steps``: steps a
            trial always runs before the median pruner may stop it.
        storage: a database URL (default ``sqlite:///shendu-tune.db`` in the working directory;
            ``postgresql://…`` for workers on several machines), ``':memory:'`` or an Optuna storage.
        study_name: the study's name in the storage (default ``'shendu'``).
        direction: ``'maximize'`` (default) or ``'minimize'``. metric: the value's name, for tables and plots.
        seed: seeds the sampler (offset by the number of trials already in the study, so that a
            resumed search draws new points; give parallel workers different seeds).
        timeout: stop starting trials after this many seconds.
        settings: a JSON-able dict stored with a new study; resuming it with different settings is an
            error (the values of trials run differently are not comparable). The space is always part.
        verbose: 1 prints one line per trial (and what is resumed); 0 nothing. stream: default stdout.

    Returns:
        :class:`SearchResult`.
    """
    optuna = _optuna()
    if not (isinstance(n_trials, int) and n_trials >= 1):
        raise ValueError(f"tune: n_trials must be a positive integer, got {n_trials!r}")
    if direction not in ("maximize", "minimize"):
        raise ValueError(f"tune: direction must be 'maximize' or 'minimize', got {direction!r}")
    if not callable(space):
        parse_space(space)
    if sampler == "grid":
        size = math.prod(len(v) for v in grid_of(space).values())
        n_trials = min(n_trials, size)  # the grid sampler stops the study when every point is done
    stream = stream or sys.stdout
    url = "sqlite:///shendu-tune.db" if storage is None else storage
    settings = json.loads(json.dumps({**(settings or {}), "space": _describe(space)}, default=repr))
    with _quiet_optuna(optuna):
        study = optuna.create_study(storage=open_storage(url), study_name=study_name, direction=direction,
                                    load_if_exists=True)
        _check_settings(study, settings, direction, safe_url(url))
        _fail_interrupted(study)
        study.sampler = make_sampler(sampler, seed + len(study.trials), space)
        study.pruner = make_pruner(pruner, warmup_steps)
        done = _finished(study)
        remaining = max(0, n_trials - done)
        if verbose:
            where = safe_url(url)
            print(f"tune: study {study_name!r} in {where}: {done} of {n_trials} trials finished"
                  + (f", running {remaining} more" if remaining else ", nothing left to run")
                  + f" (sampler {sampler if isinstance(sampler, str) else type(sampler).__name__})",
                  file=stream, flush=True)
        new = []

        def run_trial(ot):
            ot.set_user_attr("worker", _worker())
            params = suggest(ot, space)
            ot.set_user_attr("config", params)
            new.append(ot.number)
            try:
                return float(objective(params, Trial(ot)))
            except FloatingPointError as exc:  # the loss diverged: as unpromising as a trial gets
                ot.set_user_attr("diverged", True)
                raise optuna.TrialPruned(f"diverged: {exc}") from exc

        def progress(study, t):
            if not verbose:
                return
            steps = len(t.intermediate_values)
            last = t.intermediate_values[max(t.intermediate_values)] if steps else None
            if t.state.name == "COMPLETE":
                what = f"{metric} {t.value:.4f}"
            elif t.state.name == "PRUNED" and t.user_attrs.get("diverged"):
                what = "pruned: diverged"
            elif t.state.name == "PRUNED":
                what = f"pruned after {steps} step{'s' * (steps != 1)}" + (f", {metric} {last:.4f}" if steps else "")
            else:
                what = t.state.name
            params = " ".join(f"{k}={_format(v)}" for k, v in t.user_attrs.get("config", t.params).items())
            seconds = t.duration.total_seconds() if t.duration is not None else 0.0
            print(f"trial {t.number} ({_finished(study)}/{n_trials}): {what}  {params}  ({seconds:.1f} s)",
                  file=stream, flush=True)

        if remaining:
            limit = optuna.study.MaxTrialsCallback(n_trials, states=tuple(
                getattr(optuna.trial.TrialState, s) for s in FINISHED))
            study.optimize(run_trial, n_trials=remaining, timeout=timeout, callbacks=[limit, progress],
                           gc_after_trial=False)
    return SearchResult(study, metric, new)


def _check_settings(study, settings, direction, url):
    if study.direction.name.lower() != direction:
        raise ValueError(f"tune: study {study.study_name!r} in {url} was created to {study.direction.name.lower()}, "
                         f"not to {direction}; choose another study name")
    saved = study.user_attrs.get("settings")
    if saved is None:
        if study.trials:  # a study made elsewhere: adopt it
            return
        study.set_user_attr("settings", settings)
        return
    for key in sorted(set(saved) | set(settings)):
        if saved.get(key) != settings.get(key):
            raise ValueError(f"tune: study {study.study_name!r} in {url} was run with {key}={saved.get(key)!r}, "
                             f"got {key}={settings.get(key)!r}; trials run differently are not comparable: "
                             f"choose another study name (--study) or storage")


# ------------------------------------------------------------------ zoo models on datasets
class _Builder:
    """Builds the model of a configuration: a zoo name (``get_model``) or a factory
    ``factory(num_classes=, in_channels=, **kw)``; knows which keywords the factory takes."""

    def __init__(self, model, num_classes, in_channels, image_shape):
        from .models import model_info

        if isinstance(model, str):
            info = model_info(model)
            self.name, self.factory, self.input_hw = model, info.factory, info.input_shape[1:]
        elif callable(model):
            self.name, self.factory, self.input_hw = getattr(model, "__name__", "model"), model, image_shape[1:]
        else:
            raise TypeError(f"tune: model must be a zoo name or a factory function, got {type(model).__name__}")
        self.num_classes, self.in_channels = num_classes, in_channels
        sig = inspect.signature(self.factory).parameters
        self.any_keyword = any(p.kind == p.VAR_KEYWORD for p in sig.values())
        self.keywords = [k for k in sig if k not in ("num_classes", "in_channels")]

    def takes(self, key):
        return self.any_keyword or key in self.keywords

    def __call__(self, **kw):
        return self.factory(num_classes=self.num_classes, in_channels=self.in_channels, **kw)


def _train_config(builder, x, y, pre, config, epochs, seed, validation=None, callbacks=()):
    """Train ``builder``'s model with ``config`` as ``shendu train`` trains (cosine schedule stepped
    every batch unless ``schedule='constant'``); returns the model and its per-epoch history."""
    from .data import DataLoader
    from .optim.lr_scheduler import CosineAnnealingLR
    from .training import callbacks as cb
    from .training.run import DEFAULTS
    from .training.trainer import resolve_optimizer

    run = {k: config.get(k, DEFAULTS[k]) for k in TRAINING}
    model_kw = {k: v for k, v in config.items() if k not in TRAINING and builder.takes(k)}
    opt_kw = {k: v for k, v in config.items() if k not in TRAINING and k not in model_kw}
    if run["schedule"] not in ("cosine", "constant"):
        raise ValueError(f"tune: schedule must be 'cosine' or 'constant', got {run['schedule']!r}")
    backend.manual_seed(seed)
    net = builder(**model_kw)
    try:
        opt = resolve_optimizer(run["optimizer"], net.parameters(), run["lr"], **opt_kw)
    except TypeError as exc:
        raise ValueError(f"tune: parameters {sorted(opt_kw)} are neither training settings ({', '.join(TRAINING)}), "
                         f"arguments of model {builder.name!r} ({', '.join(builder.keywords) or 'none'}), nor "
                         f"all options of optimizer {run['optimizer']!r} ({exc})") from None
    steps = -(-len(x) // run["batch_size"])
    scheduler = CosineAnnealingLR(opt, T_max=epochs * steps) if run["schedule"] == "cosine" else None
    net.compile(opt, loss="cross_entropy", metrics=["accuracy"], scheduler=scheduler)
    cbs = ([cb.LearningRateScheduler(scheduler, per="batch")] if scheduler is not None else []) + list(callbacks)
    val = DataLoader(validation, batch_size=256, transform=pre) if validation is not None else None
    history = net.fit(x, y, epochs=epochs, batch_size=run["batch_size"], validation_data=val, callbacks=cbs,
                      seed=seed, transform=pre.train_transform(run["augment"]), verbose=0)
    return net, history.history


def tune_model(model="lenet5", dataset="digits", n_trials=20, sampler="tpe", space=None, epochs=None,
               storage=None, study_name=None, out=None, seed=0, sampler_seed=None, val=None, pruner="median",
               metric="val_accuracy", timeout=None, compare_default=True, data_dir=None, verbose=1, stream=None,
               plot=True):
    """Search the training hyperparameters of a zoo model on a dataset; the job of ``shendu tune``.

    The protocol is in the module docstring. Each trial trains with ``epochs`` epochs (default 20, as
    ``shendu train``) and the configuration drawn from ``space``, its other settings those of
    ``shendu train`` (Adam, lr 3e-3, batches of 64, cosine schedule). The files go to ``out``.

    Args:
        model: a zoo name (default ``'lenet5'``) or a factory ``factory(num_classes=, in_channels=, **kw)``
            (its input is the dataset's images as they are).
        dataset: a name (default ``'digits'``) or a :class:`~shendu.data.DatasetSplits`.
        n_trials: finished trials to reach in all (see :func:`search`; default 20).
        sampler: ``'tpe'``, ``'random'``, ``'grid'``, ``'cmaes'``.
        space: a dict or function (default :data:`DEFAULT_SPACE`, or :data:`DEFAULT_GRID` for the grid).
            Keys: training settings (:data:`TRAINING`), keywords of the model's factory, or options
            of the optimizer (``weight_decay``, ``momentum``…).
        epochs: per trial and for the final training (default 20).
        storage: database URL (default ``sqlite:///<out>/study.db``); study_name: default ``<model>-<dataset>``.
        out: the directory of the files (default ``runs/tune-<study name>``): ``study.db`` (with the
            default storage), ``trials.csv``, ``results.json``, ``history.png``, ``importance.png``.
        seed: seeds the split and every trial's initialisation and shuffling (the same for all trials,
            so that they differ only by their parameters); part of the study's settings.
        sampler_seed: seeds the sampler (default ``seed``); workers sharing a study each need their own.
        val: the validation fraction of the training images (default 0.1, as ``shendu train``).
        pruner: ``'median'`` (default; never before a quarter of the epochs) or ``'none'``.
        metric: ``'val_accuracy'`` (default, maximised) or ``'val_loss'`` (minimised).
        timeout: stop starting trials after this many seconds.
        compare_default: also run the default configuration through the protocol (default True).
        verbose: 1 prints one line per trial; stream: where (default stdout). plot: write the PNGs.

    Returns:
        The contents of ``results.json``: ``best`` (trial, params, the validation value, test_accuracy,
        test_loss), ``default`` (the same for the default configuration), ``trials`` (the table's rows),
        ``importances``, the study, storage, sampler, counts, ``files`` and ``seconds``.
    """
    from .training.run import DEFAULTS, Preprocess, load_dataset

    start = time.perf_counter()
    epochs = DEFAULTS["epochs"] if epochs is None else epochs
    val = DEFAULTS["val"] if val is None else val
    if not (isinstance(epochs, int) and epochs >= 1):
        raise ValueError(f"tune: epochs must be a positive integer, got {epochs!r}")
    if not 0 < val < 1:
        raise ValueError(f"tune: val (the validation fraction) must be in (0, 1), got {val!r}")
    if metric not in ("val_accuracy", "val_loss"):
        raise ValueError(f"tune: metric must be 'val_accuracy' or 'val_loss', got {metric!r}")
    if space is None:
        space = DEFAULT_GRID if sampler == "grid" else DEFAULT_SPACE
    splits = dataset if not isinstance(dataset, str) else load_dataset(dataset, data_dir)
    data = splits.with_validation(val, seed=seed)
    builder = _Builder(model, splits.num_classes, splits.x_train.shape[1], splits.x_train.shape[1:])
    study_name = study_name or f"{builder.name}-{splits.name}"
    out = os.path.join("runs", f"tune-{study_name}") if out is None else os.fspath(out)
    if storage is None:
        storage = "sqlite:///" + os.path.abspath(os.path.join(out, FILES["storage"]))
    pre = Preprocess.for_images(data.x_train, builder.input_hw)
    direction = "maximize" if metric == "val_accuracy" else "minimize"

    def objective(params, trial):
        _, history = _train_config(builder, data.x_train, data.y_train, pre, params, epochs, seed,
                                   validation=(data.x_val, data.y_val), callbacks=[trial.callback(metric)])
        return history[metric][-1]

    settings = {"model": builder.name, "dataset": splits.name, "epochs": epochs, "val": val, "seed": seed,
                "metric": metric}
    result = search(objective, space, n_trials, sampler=sampler, pruner=pruner, warmup_steps=max(1, epochs // 4),
                    storage=storage, study_name=study_name, direction=direction, metric=metric,
                    seed=seed if sampler_seed is None else sampler_seed,
                    timeout=timeout, settings=settings, verbose=verbose, stream=stream)

    full_pre = Preprocess.for_images(splits.x_train, builder.input_hw)

    def test(config):  # train on training + validation, evaluate once on test
        net, _ = _train_config(builder, splits.x_train, splits.y_train, full_pre, config, epochs, seed)
        from .data import DataLoader

        res = net.evaluate(DataLoader((splits.x_test, splits.y_test), batch_size=256, transform=full_pre))
        return {"test_accuracy": res["accuracy"], "test_loss": res["loss"]}

    best = {"trial": result.best_number, "params": result.best_params, metric: result.best_value,
            **test(result.best_params)}
    report = {"model": builder.name, "dataset": splits.name, "study": study_name,
              "storage": safe_url(storage),
              "sampler": sampler if isinstance(sampler, str) else type(sampler).__name__, "n_trials": n_trials,
              "finished": _finished(result.study), "new_trials": result.new_trials, "epochs": epochs, "seed": seed,
              "metric": metric, "space": _describe(space), "best": best, "default": None}
    if compare_default:
        config = {k: DEFAULTS[k] for k in TRAINING}
        _, history = _train_config(builder, data.x_train, data.y_train, pre, config, epochs, seed,
                                   validation=(data.x_val, data.y_val))
        report["default"] = {"params": config, metric: history[metric][-1], **test(config)}
    report["importances"] = result.importances(seed)
    report["trials"] = result.rows()
    files = {k: os.path.join(out, f) for k, f in FILES.items() if k != "storage"}
    if storage == "sqlite:///" + os.path.abspath(os.path.join(out, FILES["storage"])):
        files["storage"] = os.path.join(out, FILES["storage"])
    result.write_csv(files["trials"])
    if plot:
        baseline = report["default"][metric] if report["default"] else None
        result.plot_history(files["history"], baseline=baseline,
                            title=f"{builder.name} on {splits.name}: {metric} by trial")
        if result.plot_importance(files["importance"], title=f"{builder.name} on {splits.name}: "
                                                             f"parameter importances", seed=seed) is None:
            del files["importance"]
    else:
        del files["history"], files["importance"]
    report["files"] = files
    report["seconds"] = round(time.perf_counter() - start, 3)
    report["table"] = result.table()
    from .serialization import atomic_write

    atomic_write(files["results"], lambda f: f.write(json.dumps(report, indent=2, default=repr).encode("utf-8")))
    return report


# ------------------------------------------------------------------ the command line
def add_arguments(parser):
    """The arguments of ``shendu tune`` (an argparse parser or sub-parser)."""
    from .data.datasets import DATASETS

    parser.add_argument("model", nargs="?", default="lenet5", metavar="MODEL",
                        help="a name from `shendu models` (default lenet5)")
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="digits", help="default digits")
    parser.add_argument("--trials", type=int, default=20,
                        help="finished trials to reach in the study, in all (default 20)")
    parser.add_argument("--sampler", choices=SAMPLERS, default="tpe", help="default tpe")
    parser.add_argument("--storage", metavar="URL",
                        help="sqlite:///FILE or postgresql://USER:PASSWORD@HOST/DB (default sqlite:///OUT/study.db)")
    parser.add_argument("--study", metavar="NAME", help="the study's name (default MODEL-DATASET)")
    parser.add_argument("--epochs", type=int, help="epochs per trial (default 20)")
    parser.add_argument("--space", metavar="JSON", help="the search space as JSON text or a .json file, e.g. "
                        '\'{"lr": {"log": [1e-4, 1e-1]}, "batch_size": [32, 64]}\' (default: docs/tune.md)')
    parser.add_argument("--pruner", choices=PRUNERS, default="median", help="default median")
    parser.add_argument("--timeout", type=float, metavar="SECONDS", help="start no trial after this many seconds")
    parser.add_argument("--out", metavar="DIR", help="output directory (default runs/tune-STUDY)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seeds the split and the trainings: the same for every worker of a study (default 0)")
    parser.add_argument("--sampler-seed", type=int, help="seeds the sampler (default --seed): one per worker")
    parser.add_argument("--data-dir", metavar="DIR", help="where the mnist / fashion_mnist / cifar10 files are")
    parser.add_argument("--no-default", action="store_true", help="do not run the default configuration to compare")
    parser.add_argument("--quiet", action="store_true", help="print only the summary")
    return parser


def _read_space(text):
    if text is None:
        return None
    if os.path.isfile(text):
        with open(text, encoding="utf-8") as f:
            text = f.read()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"tune: --space is neither a .json file nor JSON text: {exc}") from None


def run(args):
    """Run ``shendu tune`` with parsed ``args``; prints the trials, the best and the default
    configurations, and the files written. Returns the exit status."""
    r = tune_model(model=args.model, dataset=args.dataset, n_trials=args.trials, sampler=args.sampler,
                   space=_read_space(args.space), epochs=args.epochs, storage=args.storage, study_name=args.study,
                   out=args.out, seed=args.seed, sampler_seed=args.sampler_seed, pruner=args.pruner,
                   timeout=args.timeout,
                   compare_default=not args.no_default, data_dir=args.data_dir, verbose=0 if args.quiet else 1)
    m = r["metric"]
    print(r["table"])
    b, d = r["best"], r["default"]
    params = ", ".join(f"{k}={_format(v)}" for k, v in b["params"].items())
    print(f"best: trial {b['trial']}, {m} {b[m]:.4f}; {params}")
    print(f"test accuracy of the best configuration (trained on training + validation): "
          f"{100 * b['test_accuracy']:.2f} %"
          + (f"; of the default configuration: {100 * d['test_accuracy']:.2f} % ({m} {d[m]:.4f})" if d else ""))
    print(f"{r['finished']} trials finished ({len(r['new_trials'])} now) in {r['seconds']:.1f} s; wrote "
          f"{', '.join(r['files'].values())}", flush=True)
    return 0


__all__ = ["search", "tune_model", "SearchResult", "Trial", "PruningCallback", "parse_space", "suggest", "grid_of",
           "make_sampler", "make_pruner", "open_storage", "safe_url", "add_arguments", "run", "DEFAULT_SPACE",
           "DEFAULT_GRID", "TRAINING", "SAMPLERS", "PRUNERS"]
