"""Several workers on one study (PostgreSQL for several machines, SQLite on one): trials are handed
out under a lock of the study, kept alive by heartbeats, and a dead worker's trial is failed and
run again (Optuna's heartbeat and retry callback).

Each worker loops: under :class:`StudyLock` it fails the stale trials (running trials whose
heartbeat is older than the grace period: their worker died; Optuna's retry callback queues
their parameters again), counts the trials that are finished, running or queued, and takes a
trial (a queued one first) only while that count is below ``n_trials`` — so N workers together
run exactly ``n_trials`` trials, none twice, and none is lost. While it runs a trial, a thread
records its heartbeat every ``heartbeat`` seconds. When the count is reached it waits for the
others' running trials (one of them may die and come back as a queued retry), then stops.
"""
from __future__ import annotations

import os
import threading
import time
import warnings
import zlib

from .samplers import optuna_module

#: The states a worker counts as taken: a trial in one of them needs no other worker.
TAKEN = ("COMPLETE", "PRUNED", "RUNNING", "WAITING")


class StudyLock:
    """A lock of one study shared by every worker: a PostgreSQL advisory lock (any machine), a file
    lock next to a SQLite file (one machine), or a thread lock (a study in memory). Re-entrant use is
    not supported. Use it as ``with lock: …``."""

    def __init__(self, url, study_name):
        self.key = zlib.crc32(f"shendu-tune:{study_name}".encode()) & 0x7FFFFFFF
        self.kind, self.conn, self.file, self.thread = "thread", None, None, threading.Lock()
        if isinstance(url, str) and url.split(":", 1)[0].split("+", 1)[0] in ("postgresql", "postgres"):
            from sqlalchemy.engine import make_url

            from .._extras import require

            psycopg = require("psycopg", "postgres", "shendu tune workers on PostgreSQL")
            conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
            self.kind, self.conn = "postgres", psycopg.connect(conninfo, autocommit=True)
        elif isinstance(url, str) and url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            self.kind, self.file = "file", url[len("sqlite:///"):] + ".lock"

    def __enter__(self):
        if self.kind == "postgres":
            self.conn.execute("SELECT pg_advisory_lock(%s)", (self.key,))
        elif self.kind == "file":
            import fcntl

            self.fd = os.open(self.file, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        else:
            self.thread.acquire()
        return self

    def __exit__(self, *exc):
        if self.kind == "postgres":
            self.conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
        elif self.kind == "file":
            os.close(self.fd)  # closing the descriptor releases the lock
        else:
            self.thread.release()
        return False

    def close(self):
        if self.conn is not None:
            self.conn.close()


class Heartbeat:
    """``with Heartbeat(storage, trial_id, seconds):`` records the trial's heartbeat every ``seconds``
    in a thread (what Optuna's ``optimize`` does for its own trials), so other workers see it alive."""

    def __init__(self, storage, trial_id, seconds):
        self.storage, self.trial_id, self.seconds = storage, trial_id, seconds
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True, name=f"heartbeat-{trial_id}")

    def _beat(self):
        while True:
            self.storage.record_heartbeat(self.trial_id)
            if self.stop.wait(self.seconds):
                return

    def __enter__(self):
        if hasattr(self.storage, "record_heartbeat"):
            self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()
        return False


def work(study, run_trial, n_trials, lock, heartbeat, timeout=None, on_trial=None):
    """Run trials of ``study`` until it has ``n_trials`` finished ones (with every other worker doing the
    same); ``run_trial(optuna_trial) -> value`` may raise ``optuna.TrialPruned``. Returns the numbers of
    the trials this worker ran. ``on_trial(study, frozen_trial)`` is called after each."""
    optuna = optuna_module()
    states = optuna.trial.TrialState
    start, new = time.monotonic(), []
    while timeout is None or time.monotonic() - start < timeout:
        with lock, warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            # ask() warns that heartbeats are meant for optimize(); this loop records them itself (Heartbeat)
            warnings.filterwarnings("ignore", message="Heartbeat of storage", category=UserWarning)
            optuna.storages.fail_stale_trials(study)  # dead workers' trials: FAIL, and queued again
            counts = {}
            for t in study.get_trials(deepcopy=False):
                counts[t.state.name] = counts.get(t.state.name, 0) + 1
            taken = sum(counts.get(s, 0) for s in TAKEN)
            trial = study.ask() if counts.get("WAITING") or taken < n_trials else None
        if trial is None:
            if not counts.get("RUNNING"):
                break
            time.sleep(min(1.0, heartbeat / 2))  # another worker's trial may die and come back queued
            continue
        new.append(trial.number)
        with Heartbeat(study._storage, trial._trial_id, heartbeat):
            try:
                value, state = run_trial(trial), states.COMPLETE
            except optuna.TrialPruned:
                value, state = None, states.PRUNED
            except BaseException:
                study.tell(trial, state=states.FAIL)
                raise
        if state == states.COMPLETE:
            study.tell(trial, value)
        else:
            study.tell(trial, state=state)
        if on_trial is not None:
            on_trial(study, study._storage.get_trial(trial._trial_id))
    return new


def retry_callback(max_retry=2):
    """Optuna's callback that queues a failed (stale) trial's parameters again, up to ``max_retry`` times."""
    optuna = optuna_module()
    cls = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None)
    if cls is not None:
        return {"heartbeat_stale_trial_callback": cls(max_retry=max_retry)}
    return {"failed_trial_callback": optuna.storages.RetryFailedTrialCallback(max_retry=max_retry)}
