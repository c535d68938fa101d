"""The search loop: :func:`search` runs an objective over a space with a sampler and a pruner in
a (resumable) study; :class:`Trial` and :class:`PruningCallback` report intermediate values."""
from __future__ import annotations

import json
import math
import os
import socket
import sys
import zlib

from ..training.callbacks import Callback
from .report import FINISHED, SearchResult, finished_count, format_value
from .samplers import make_pruner, make_sampler, open_storage, optuna_module, quiet_optuna, safe_url
from .space import describe_space, grid_of, parse_space, suggest

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
            raise optuna_module().TrialPruned(f"pruned at step {step} with value {value:.4g}")

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
    optuna = optuna_module()
    host = socket.gethostname()
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        where, _, pid = str(t.user_attrs.get("worker", "")).rpartition(":")
        if where == host and pid.isdigit() and not _alive(int(pid)):
            study._storage.set_trial_user_attr(t._trial_id, "interrupted", True)
            study._storage.set_trial_state_values(t._trial_id, state=optuna.trial.TrialState.FAIL)



def sampler_seed(seed, done):
    """The sampler's seed for a study with ``done`` finished trials, run with ``seed``: a 31-bit hash of
    both, so that different ``(seed, done)`` pairs (workers with their own seeds, joining at any
    time) draw unrelated streams instead of sharing one shifted by a trial."""
    return zlib.crc32(f"shendu-tune:{seed}:{done}".encode()) & 0x7FFFFFFF


def search(objective, space, n_trials=20, *, sampler="tpe", pruner="median", warmup_steps=0, storage=None,
           study_name="shendu", direction="maximize", metric="value", seed=0, timeout=None, settings=None,
           verbose=1, stream=None, worker=False, create_only=False, heartbeat=20):
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
        seed: seeds the sampler, mixed with the number of finished trials already in the study (a
            hash of both, :func:`sampler_seed`), so that a resumed search draws new points, the same ones
            whether or not the kill interrupted a trial; give parallel workers different seeds (a plain
            ``seed + done`` would let worker 0 started after one trial draw worker 1's points).
        timeout: stop starting trials after this many seconds.
        settings: a JSON-able dict stored with a new study; resuming it with different settings is an
            error (the values of trials run differently are not comparable). The space is always part.
        verbose: 1 prints one line per trial (and what is resumed); 0 nothing. stream: default stdout.
        worker: one of several processes sharing the study (:mod:`shendu.tune.workers`): trials are
            taken under a lock of the study, so that all workers together run exactly ``n_trials``;
            a trial whose worker died (no heartbeat for 3 × ``heartbeat`` seconds) is marked FAIL
            and its parameters run again. Needs a database storage; not with the grid sampler.
        create_only: create the study (with its settings) and return: run it once before the
            workers start (Optuna's first creation of a study races between processes).

    Returns:
        :class:`SearchResult`.
    """
    optuna = optuna_module()
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
    if worker and sampler == "grid":
        raise ValueError("tune: the grid sampler stops the study from inside Optuna's optimize loop, which "
                         "workers do not use; run the grid in one process, or use --sampler random / tpe")
    url = "sqlite:///shendu-tune.db" if storage is None else storage
    settings = json.loads(json.dumps({**(settings or {}), "space": describe_space(space)}, default=repr))
    with quiet_optuna(optuna):
        study = optuna.create_study(storage=open_storage(url, heartbeat, retry=worker), study_name=study_name,
                                    direction=direction, load_if_exists=True)
        _check_settings(study, settings, direction, safe_url(url))
        if create_only:
            return SearchResult(study, metric, [])
        if not worker:  # workers leave dead workers' trials to the heartbeat, which queues them again
            _fail_interrupted(study)
        done = finished_count(study)
        study.sampler = make_sampler(sampler, sampler_seed(seed, done), space)
        study.pruner = make_pruner(pruner, warmup_steps)
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
            params = " ".join(f"{k}={format_value(v)}" for k, v in t.user_attrs.get("config", t.params).items())
            seconds = t.duration.total_seconds() if t.duration is not None else 0.0
            print(f"trial {t.number} ({finished_count(study)}/{n_trials}): {what}  {params}  ({seconds:.1f} s)",
                  file=stream, flush=True)

        if worker:
            from .workers import StudyLock, work

            lock = StudyLock(url, study_name)
            try:
                work(study, run_trial, n_trials, lock, heartbeat, timeout, on_trial=progress)
            finally:
                lock.close()
        elif remaining:
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
