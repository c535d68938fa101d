"""Several ``shendu tune`` workers on one study in PostgreSQL (the server that .ci/run starts; its URL in
``SHENDU_TEST_POSTGRES_URL``): exactly the trials asked for, none twice, none lost, even when a worker is
killed in the middle of a trial (its trial is failed by the heartbeat and run again by the other)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid

import pytest

optuna = pytest.importorskip("optuna")
psycopg = pytest.importorskip("psycopg", reason="the shendu[postgres] extra (psycopg) is not installed")

from shendu import tune  # noqa: E402

URL = os.environ.get("SHENDU_TEST_POSTGRES_URL")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRIALS = 12


@pytest.fixture(scope="module")
def url():
    if not URL:
        pytest.skip("no PostgreSQL server for the tests: set SHENDU_TEST_POSTGRES_URL=postgresql://USER@HOST/DB "
                    "(.ci/run starts one)")
    try:
        psycopg.connect(URL, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        pytest.skip(f"the PostgreSQL server of SHENDU_TEST_POSTGRES_URL cannot be reached: {exc}")
    return URL


def command(url, study, out, epochs=1):
    space = '{"lr": {"log": [0.001, 0.03]}, "batch_size": 128}'  # a fixed batch of 128: fast trials
    return [sys.executable, "-m", "shendu", "tune", "xo_cnn", "--dataset", "digits", "--trials", str(TRIALS),
            "--epochs", str(epochs), "--sampler", "random", "--pruner", "none", "--space", space, "--storage", url,
            "--study", study, "--workers", "2", "--heartbeat", "1", "--no-default", "--out", str(out), "--quiet"]


def env():
    return {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), "OMP_NUM_THREADS": "1"}


def load(url, study):
    return optuna.load_study(study_name=study, storage=tune.open_storage(url))


def test_two_workers_share_a_study(url, tmp_path):
    study = f"test-{uuid.uuid4().hex[:10]}"
    p = subprocess.run(command(url, study, tmp_path), capture_output=True, text=True, env=env(), timeout=600)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    trials = load(url, study).trials
    assert [t.number for t in trials] == list(range(TRIALS))  # none lost, no surplus
    assert all(t.state.name == "COMPLETE" for t in trials)
    configs = [t.params["lr"] for t in trials]
    assert len(set(configs)) == TRIALS  # none run twice
    workers = {t.user_attrs["worker"] for t in trials}
    assert 1 <= len(workers) <= 2 and all(w.startswith(socket.gethostname() + ":") for w in workers)
    assert p.stdout.count("best: trial") == 1 and p.stdout.count("test accuracy of the best") == 1
    assert p.stdout.count("this worker ran trials") == 2
    # the study was created before the workers started: a second creation would have failed a worker
    assert "starting 2 workers" in p.stdout


def test_a_killed_worker_leaves_its_trial_failed(url, tmp_path):
    study = f"test-{uuid.uuid4().hex[:10]}"
    # 10 epochs (~1 s a trial): a trial seen running is still running when its worker is killed a moment later
    proc = subprocess.Popen(command(url, study, tmp_path, epochs=10), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env())
    try:
        victim = None
        deadline = time.monotonic() + 300
        while victim is None and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            try:
                running = load(url, study).get_trials(states=(optuna.trial.TrialState.RUNNING,))
            except KeyError:  # the study is not created yet
                continue
            victim = next((t for t in running if t.number >= 2 and "worker" in t.user_attrs), None)
        assert victim is not None, "no trial was seen running"
        os.kill(int(victim.user_attrs["worker"].rpartition(":")[2]), 9)
        out, _ = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out[-3000:]
    trials = load(url, study).trials
    failed = [t for t in trials if t.state.name == "FAIL"]
    # the trial the killed worker was running: the one seen running (or, should that one have finished in the
    # moment between the look and the kill, the next one the same worker had started)
    assert len(failed) == 1 and failed[0].user_attrs["worker"] == victim.user_attrs["worker"], \
        [(t.number, t.state.name, t.user_attrs.get("worker")) for t in trials]
    victim = failed[0]
    finished = [t for t in trials if t.state.name == "COMPLETE"]
    assert len(finished) == TRIALS and len(trials) == TRIALS + 1  # the failed one, run again under a new number
    retried = [t for t in finished
               if optuna.storages.RetryFailedTrialCallback.retried_trial_number(t) == victim.number]
    assert len(retried) == 1 and retried[0].params == victim.params
    assert "ended with signal SIGKILL" in out and out.count("best: trial") == 1
