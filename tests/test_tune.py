"""Hyperparameter search (shendu.tune, on Optuna): spaces, samplers, pruning, resuming, the
protocol of tune_model, the plots, the command line, and the acceptance run (slow)."""
import argparse
import contextlib
import json
import os
import pathlib
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

import pytest

optuna = pytest.importorskip("optuna")

from shendu import nn, tune  # noqa: E402


@pytest.fixture
def tmp_path(tmp_path):
    """A temporary directory in memory (/dev/shm) where there is one: SQLite syncs every commit to disk,
    which on a busy disk costs more than the trials of these tests."""
    if not os.path.isdir("/dev/shm") or not os.access("/dev/shm", os.W_OK):
        yield tmp_path
        return
    path = pathlib.Path(tempfile.mkdtemp(prefix="shendu-test-tune-", dir="/dev/shm"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def mlp(num_classes=10, in_channels=1, hidden=16):
    """A tiny factory for tune_model: trains an epoch of digits in milliseconds."""
    return nn.Sequential(nn.Flatten(), nn.Linear(64 * in_channels, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))


def _quadratic(params, trial):
    return -(params["x"] - 0.3) ** 2 - (0.0 if params.get("c", "a") == "a" else 0.5)


def _states(result):
    return [r["state"] for r in result.rows()]


# ------------------------------------------------------------------ spaces
def test_space_grammar():
    s = tune.parse_space({"lr": ("log", 1e-4, 1e-1), "bs": [32, 64], "h": ("int", 16, 256, 16), "d": ("float", 0, 0.5),
                          "n": ("intlog", 1, 64), "w": {"log": [1e-6, 1e-2]}, "k": {"int": [1, 9], "step": 2},
                          "opt": "adam", "flag": True})
    assert s["lr"] == ("float", 1e-4, 1e-1, None, True)
    assert s["bs"] == ("choice", [32, 64])
    assert s["h"] == ("int", 16, 256, 16, False)
    assert s["d"] == ("float", 0, 0.5, None, False)
    assert s["n"] == ("int", 1, 64, None, True)
    assert s["w"] == ("float", 1e-6, 1e-2, None, True)
    assert s["k"] == ("int", 1, 9, 2, False)
    assert s["opt"] == ("fixed", "adam") and s["flag"] == ("fixed", True)


@pytest.mark.parametrize("space, message", [
    ({"lr": ("lg", 1e-4, 1e-1)}, "kind one of"),
    ({"lr": (1e-4, 1e-1)}, "choices are written as a list"),
    ({"lr": ("log", 0.0, 1.0)}, "low > 0"),
    ({"lr": ("float", 1.0, 0.5)}, "low < high"),
    ({"h": ("int", 1.5, 4)}, "integers"),
    ({"h": ("int", 1, 9, 0)}, "step must be a positive"),
    ({"bs": []}, "empty"),
    ({"w": {"log": [1e-6, 1e-2], "extra": 1}}, "in JSON"),
    ({"f": {1, 2}}, "expected a list of choices"),
    ({}, "non-empty dict"),
])
def test_space_errors_name_the_parameter(space, message):
    with pytest.raises(ValueError, match=message):
        tune.parse_space(space)


def test_suggest_draws_inside_the_space():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    space = {"lr": ("log", 1e-4, 1e-1), "bs": [32, 64], "h": ("int", 16, 64, 16), "fixed": 7}
    for _ in range(20):
        p = tune.suggest(study.ask(), space)
        assert 1e-4 <= p["lr"] <= 1e-1 and p["bs"] in (32, 64) and p["h"] in (16, 32, 48, 64) and p["fixed"] == 7


def test_grid_needs_lists():
    assert tune.grid_of({"a": [1, 2], "b": "fixed"}) == {"a": [1, 2]}
    with pytest.raises(ValueError, match="'lr' is a range: write e.g. 'lr': \\[0.0001, 0.00316, 0.1\\]"):
        tune.grid_of({"lr": ("log", 1e-4, 1e-1)})
    with pytest.raises(ValueError, match="not a function"):
        tune.grid_of(lambda trial: {})


# ------------------------------------------------------------------ search
@pytest.mark.parametrize("sampler", tune.SAMPLERS)
def test_samplers_on_a_function(sampler):
    space = {"x": [0.0, 0.3, 0.6], "c": ["a", "b"]} if sampler == "grid" else \
        {"x": ("float", 0.0, 1.0), "c": ["a", "b"]}
    r = tune.search(_quadratic, space, n_trials=8, sampler=sampler, storage=":memory:", verbose=0)
    assert _states(r) == ["COMPLETE"] * (6 if sampler == "grid" else 8)  # the grid has 6 points
    if sampler == "grid":
        assert sorted((p["x"], p["c"]) for p in (row["params"] for row in r.rows())) == \
            [(x, c) for x in (0.0, 0.3, 0.6) for c in "ab"]
        assert r.best_params == {"x": 0.3, "c": "a"} and r.best_value == 0.0
    else:
        assert r.best_value > -0.5 and 0.0 <= r.best_params["x"] <= 1.0


def test_tpe_beats_random_start():
    """After its random start-up trials, TPE samples near the optimum."""
    r = tune.search(_quadratic, {"x": ("float", 0.0, 1.0), "c": ["a", "b"]}, n_trials=30, sampler="tpe",
                    storage=":memory:", verbose=0)
    late = [row for row in r.rows() if row["number"] >= 10]
    assert sum(abs(row["params"]["x"] - 0.3) < 0.15 for row in late) >= 10
    assert r.best_value > -0.005


@pytest.mark.parametrize("sampler", tune.SAMPLERS)
def test_samplers_tune_a_tiny_model(sampler, tmp_path):
    space = {"lr": [0.01, 0.03], "hidden": [8, 16]} if sampler == "grid" else \
        {"lr": ("log", 3e-3, 1e-1), "hidden": ("int", 8, 24)}
    r = tune.tune_model(mlp, "digits", n_trials=5, sampler=sampler, space=space, epochs=2, out=tmp_path,
                        pruner="none", compare_default=False, plot=False, verbose=0)
    assert r["finished"] == (4 if sampler == "grid" else 5)
    assert r["best"]["val_accuracy"] == max(t["value"] for t in r["trials"])
    assert r["best"]["test_accuracy"] > 0.5
    assert set(r["best"]["params"]) == {"lr", "hidden"}
    assert os.path.exists(tmp_path / "study.db") and os.path.exists(tmp_path / "trials.csv")


def test_function_space_for_conditional_parameters():
    def space(trial):
        opt = trial.suggest_categorical("optimizer", ["adam", "sgd"])
        params = {"optimizer": opt, "lr": trial.suggest_float("lr", 1e-3, 1e-1, log=True)}
        if opt == "sgd":
            params["momentum"] = trial.suggest_float("momentum", 0.5, 0.99)
        return params

    seen = []
    tune.search(lambda p, t: seen.append(p) or 0.0, space, n_trials=12, storage=":memory:", verbose=0)
    assert all(("momentum" in p) == (p["optimizer"] == "sgd") for p in seen)
    assert {p["optimizer"] for p in seen} == {"adam", "sgd"}


def test_median_pruning_stops_unpromising_trials():
    def objective(params, trial):
        for step in range(1, 11):
            trial.report(params["x"] * step, step)
        return params["x"] * 10

    r = tune.search(objective, {"x": ("float", 0.0, 1.0)}, n_trials=20, sampler="random", pruner="median",
                    storage=":memory:", verbose=0)
    rows = r.rows()
    pruned = [row for row in rows if row["state"] == "PRUNED"]
    assert len(pruned) >= 3 and all(row["number"] >= 5 for row in pruned)  # 5 start-up trials run in full
    assert all(row["epochs"] < 10 for row in pruned)
    done = sorted(row["value"] for row in rows if row["state"] == "COMPLETE")
    assert r.best_value == done[-1]
    none = tune.search(objective, {"x": ("float", 0.0, 1.0)}, n_trials=20, sampler="random", pruner="none",
                       storage=":memory:", verbose=0)
    assert set(_states(none)) == {"COMPLETE"}


def test_pruning_callback_in_fit_and_divergence(tmp_path):
    def space(trial):  # five useful learning rates (the pruner's start-up trials), then hopeless ones
        low, high = (1e-2, 5e-2) if trial.number < 5 else (1e-7, 1e-6)
        return {"lr": trial.suggest_float("lr", low, high, log=True)}

    r = tune.tune_model(mlp, "digits", n_trials=8, sampler="random", epochs=4, out=tmp_path, seed=1,
                        storage=":memory:", space=space, compare_default=False, plot=False, verbose=0)
    pruned = [t for t in r["trials"] if t["state"] == "PRUNED"]
    assert [t["number"] for t in pruned] == [5, 6, 7] and all(t["epochs"] < 4 for t in pruned)

    def diverges(params, trial):
        raise FloatingPointError("fit: the loss became nan")

    s = tune.search(diverges, {"x": [1, 2]}, n_trials=2, storage=":memory:", verbose=0)
    assert _states(s) == ["PRUNED", "PRUNED"] and {row["note"] for row in s.rows()} == {"diverged"}
    with pytest.raises(ValueError, match="no trial .* has completed"):
        s.best_params


def test_resume_continues_where_it_stopped(tmp_path):
    url = f"sqlite:///{tmp_path}/study.db"
    first = tune.search(_quadratic, {"x": ("float", 0.0, 1.0)}, n_trials=3, storage=url, study_name="s", verbose=0)
    assert first.new_trials == [0, 1, 2]
    again = tune.search(_quadratic, {"x": ("float", 0.0, 1.0)}, n_trials=6, storage=url, study_name="s", verbose=0)
    assert again.new_trials == [3, 4, 5] and len(again.study.trials) == 6
    xs = [row["params"]["x"] for row in again.rows()]
    assert len(set(xs)) == 6  # the resumed sampler does not repeat the first draws
    done = tune.search(_quadratic, {"x": ("float", 0.0, 1.0)}, n_trials=6, storage=url, study_name="s", verbose=0)
    assert done.new_trials == [] and len(done.study.trials) == 6


def test_interrupted_search_resumes_after_the_finished_trials(tmp_path):
    """Ctrl-C during trial 3: trials 0-2 are kept, 3 is marked FAIL, the rerun runs 3 more (4, 5, 6)."""
    url = f"sqlite:///{tmp_path}/study.db"

    def interrupted(params, trial):
        if trial.number == 3:
            raise KeyboardInterrupt
        return params["x"]

    with pytest.raises(KeyboardInterrupt):
        tune.search(interrupted, {"x": ("float", 0.0, 1.0)}, n_trials=6, storage=url, verbose=0)
    r = tune.search(interrupted, {"x": ("float", 0.0, 1.0)}, n_trials=6, storage=url, verbose=0)
    assert r.new_trials == [4, 5, 6]
    assert _states(r) == ["COMPLETE"] * 3 + ["FAIL"] + ["COMPLETE"] * 3


def test_trials_of_a_killed_process_are_marked_failed(tmp_path):
    """A RUNNING trial whose process (on this machine) is gone is marked FAIL when the search is run again;
    one whose process is alive (another worker) is left alone."""
    url = f"sqlite:///{tmp_path}/study.db"
    tune.search(_quadratic, {"x": ("float", 0.0, 1.0)}, n_trials=1, storage=url, study_name="k", verbose=0)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    study = optuna.load_study(study_name="k", storage=url)
    for pid in (int(dead.stdout), os.getpid()):
        study.ask().set_user_attr("worker", f"{socket.gethostname()}:{pid}")
    r = tune.search(_quadratic, {"x": ("float", 0.0, 1.0)}, n_trials=2, storage=url, study_name="k", verbose=0)
    assert [(row["state"], row["note"]) for row in r.rows()] == [
        ("COMPLETE", ""), ("FAIL", "interrupted"), ("RUNNING", ""), ("COMPLETE", "")]
    assert "FAIL (interrupted)" in r.table()


def test_resuming_with_other_settings_is_an_error(tmp_path):
    url = f"sqlite:///{tmp_path}/study.db"
    tune.search(_quadratic, {"x": ("float", 0.0, 1.0)}, n_trials=1, storage=url, settings={"epochs": 5}, verbose=0)
    with pytest.raises(ValueError, match="was run with epochs=5, got epochs=6"):
        tune.search(_quadratic, {"x": ("float", 0.0, 1.0)}, n_trials=2, storage=url, settings={"epochs": 6},
                    verbose=0)
    with pytest.raises(ValueError, match="was run with space="):
        tune.search(_quadratic, {"x": ("float", 0.0, 2.0)}, n_trials=2, storage=url, settings={"epochs": 5},
                    verbose=0)
    with pytest.raises(ValueError, match="created to maximize, not to minimize"):
        tune.search(_quadratic, {"x": ("float", 0.0, 1.0)}, n_trials=2, storage=url, settings={"epochs": 5},
                    direction="minimize", verbose=0)


def test_progress_lines_and_table(tmp_path, capsys):
    r = tune.search(_quadratic, {"x": ("float", 0.0, 1.0), "c": ["a", "b"]}, n_trials=3,
                    storage=f"sqlite:///{tmp_path}/s.db", metric="score")
    out = capsys.readouterr().out
    assert "0 of 3 trials finished, running 3 more (sampler tpe)" in out
    assert "trial 2 (3/3): score " in out
    table = r.table().splitlines()
    assert table[0].split() == ["trial", "state", "score", "steps", "seconds", "x", "c"]
    assert len(table) == 4 and sum("*" in line.split()[0] for line in table[1:]) == 1


def test_password_is_hidden_in_messages():
    assert tune.safe_url("postgresql://me:secret@db.example/tune") == "postgresql://me:***@db.example/tune"
    assert tune.safe_url("sqlite:///a.db") == "sqlite:///a.db"


def test_missing_database_driver_names_it():
    pytest.importorskip("sqlalchemy")
    try:
        import psycopg  # noqa: F401
        pytest.skip("psycopg is installed")
    except ImportError:
        pass
    with pytest.raises(ImportError, match=r"postgresql://me:\*\*\*@.*needs a database driver.*psycopg\[binary\]"):
        tune.open_storage("postgresql://me:secret@127.0.0.1:1/tune")


def test_missing_extra_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(ImportError, match=r"pip install 'shendu\[tune\]'"):
        tune.search(_quadratic, {"x": [1, 2]}, n_trials=1, storage=":memory:")
    monkeypatch.setitem(sys.modules, "cmaes", None)
    monkeypatch.delitem(sys.modules, "optuna")
    with pytest.raises(ImportError, match=r"CMA-ES sampler needs cmaes.*shendu\[tune\]"):
        tune.make_sampler("cmaes")


# ------------------------------------------------------------------ tune_model
def test_tune_model_protocol_and_files(tmp_path):
    r = tune.tune_model(mlp, "digits", n_trials=6, epochs=3, out=tmp_path, space={"lr": ("log", 1e-3, 1e-1),
                        "hidden": [8, 32], "weight_decay": ("log", 1e-6, 1e-3)}, verbose=0)
    # the split: 1,437 training images of digits = 1,293 for training + 144 for validation; 360 for test
    assert r["best"]["params"]["hidden"] in (8, 32)
    assert r["default"]["params"] == {"lr": 3e-3, "batch_size": 64, "optimizer": "adam", "schedule": "cosine",
                                      "augment": False}
    assert 0 < r["default"]["test_accuracy"] <= 1 and 0 < r["best"]["test_accuracy"] <= 1
    assert r["best"]["val_accuracy"] == max(t["value"] for t in r["trials"] if t["state"] == "COMPLETE")
    assert set(r["importances"]) == {"lr", "hidden", "weight_decay"}
    assert sum(r["importances"].values()) == pytest.approx(1.0)
    for key in ("history", "importance"):
        assert (tmp_path / tune.FILES[key]).read_bytes()[:4] == b"\x89PNG"
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["best"] == json.loads(json.dumps(r["best"])) and saved["finished"] == 6
    lines = (tmp_path / "trials.csv").read_text().splitlines()
    assert lines[0] == "number,state,val_accuracy,steps,seconds,note,lr,hidden,weight_decay" and len(lines) == 7


def test_same_best_from_the_same_seed(tmp_path):
    kw = dict(n_trials=4, epochs=2, space={"lr": ("log", 1e-3, 1e-1)}, storage=":memory:", compare_default=False,
              plot=False, verbose=0)
    a = tune.tune_model(mlp, "digits", out=tmp_path / "a", **kw)
    b = tune.tune_model(mlp, "digits", out=tmp_path / "b", **kw)
    assert [t["value"] for t in a["trials"]] == [t["value"] for t in b["trials"]]
    assert a["best"] == b["best"]


def test_unknown_parameter_is_named(tmp_path):
    with pytest.raises(ValueError, match=r"\['colour'\] are neither training settings .* model 'mlp' \(hidden\)"):
        tune.tune_model(mlp, "digits", n_trials=1, epochs=1, out=tmp_path, space={"colour": ["red"]}, verbose=0)


# ------------------------------------------------------------------ command line
def _parse(*argv):
    return tune.add_arguments(argparse.ArgumentParser()).parse_args(list(argv))


def test_command_line(tmp_path, capsys):
    space = json.dumps({"lr": {"log": [1e-3, 3e-2]}})
    args = _parse("xo_cnn", "--dataset", "digits", "--trials", "2", "--epochs", "1", "--sampler", "random",
                  "--space", space, "--out", str(tmp_path), "--study", "cli", "--no-default", "--quiet")
    assert args.storage is None and args.pruner == "median" and args.seed == 0 and args.sampler_seed is None
    assert tune.run(args) == 0
    out = capsys.readouterr().out
    assert "best: trial" in out and "test accuracy of the best configuration" in out
    assert "2 trials finished (2 now)" in out and "default configuration" not in out
    assert (tmp_path / "study.db").exists() and (tmp_path / "history.png").exists()
    with pytest.raises(ValueError, match="grid sampler needs a list of values"):
        tune.run(_parse("xo_cnn", "--sampler", "grid", "--space", space, "--out", str(tmp_path / "g")))
    with pytest.raises(ValueError, match="neither a .json file nor JSON text"):
        tune.run(_parse("--space", "{lr: 1", "--out", str(tmp_path / "j")))


# ------------------------------------------------------------------ the acceptance run
def _finished(path):
    """Finished trials in an Optuna SQLite file, read with sqlite3 (opening it with Optuna from here could
    race the search's process in creating the tables)."""
    if not os.path.exists(path):
        return 0
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=30)) as db:
            return db.execute("SELECT COUNT(*) FROM trials WHERE state IN ('COMPLETE', 'PRUNED')").fetchone()[0]
    except sqlite3.OperationalError:  # the tables do not exist yet
        return 0


@pytest.mark.slow
def test_acceptance_tpe_on_digits_killed_and_resumed(tmp_path):
    """TPE, 20 trials, LeNet-5 on digits as `shendu tune lenet5 --dataset digits --trials 20`: the search
    is killed (SIGKILL) once 10 trials have finished, rerun with the same storage, and continues with
    trials 11-20; the best configuration is at least as good as the default one on validation."""
    out, study = tmp_path / "run", "lenet5-digits"
    url = "sqlite:///" + str(out / "study.db")
    code = ("from shendu.tune import tune_model; "
            f"tune_model('lenet5', 'digits', n_trials=20, sampler='tpe', out={str(out)!r})")
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        while _finished(out / "study.db") < 10:
            assert proc.poll() is None, proc.stdout.read().decode()
            time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    killed = optuna.load_study(study_name=study, storage=url).get_trials(deepcopy=False)
    finished_at_kill = sum(t.state.name in ("COMPLETE", "PRUNED") for t in killed)
    assert finished_at_kill == 10

    r = tune.tune_model("lenet5", "digits", n_trials=20, sampler="tpe", out=out, verbose=1)
    seconds = time.perf_counter() - start
    assert r["finished"] == 20
    running = [t for t in killed if t.state.name == "RUNNING"]  # the trial the kill interrupted, if any
    assert all((r["trials"][t.number]["state"], r["trials"][t.number]["note"]) == ("FAIL", "interrupted")
               for t in running)
    assert min(r["new_trials"]) == len(killed)  # numbering continues after the trials of the first run
    new_finished = [t for t in r["trials"] if t["number"] in r["new_trials"] and t["state"] in ("COMPLETE", "PRUNED")]
    assert len(new_finished) == 10  # trials 11 to 20 of the search
    assert r["best"]["val_accuracy"] >= r["default"]["val_accuracy"]
    print(f"\nacceptance: best trial {r['best']['trial']} {r['best']['params']}: val {r['best']['val_accuracy']:.4f}, "
          f"test {r['best']['test_accuracy']:.4f}; default: val {r['default']['val_accuracy']:.4f}, "
          f"test {r['default']['test_accuracy']:.4f}; {sum(t['state'] == 'PRUNED' for t in r['trials'])} pruned; "
          f"{seconds:.0f} s in all")
    print(r["table"])


def test_worker_sampler_seeds_never_share_a_stream():
    """Workers get seeds 1, 2, … and each mixes in the finished trials it finds when it joins; with a plain
    ``seed + done`` a worker 0 joining after one trial drew worker 1's points (configurations run twice)."""
    from shendu.tune.search import sampler_seed

    seeds = [sampler_seed(worker_seed, done) for worker_seed in range(1, 5) for done in range(50)]
    assert len(set(seeds)) == len(seeds)
    assert all(0 <= s < 2 ** 31 for s in seeds)
    assert sampler_seed(3, 7) == sampler_seed(3, 7)  # a resumed search with the same seed draws the same points
