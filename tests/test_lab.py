"""The lab (`shendu lab`, docs/lab/): every experiment's quick version through the command line, its page, its
figures and the sanity of its numbers (not whether the claim holds: the quick scale may not show it)."""
import json
import math
import os
import pathlib
import subprocess
import sys

import pytest

from shendu import lab
from shendu.cli import main

ROOT = pathlib.Path(__file__).resolve().parent.parent
NAMES = ["loss", "optimizers", "learning_rate", "batchnorm", "regularization", "augmentation", "depth", "gradients",
         "recurrent", "search", "lenet", "batch_size", "attention", "gan", "exploration"]


def finite_numbers(value):
    """Every number inside nested dicts / lists."""
    if isinstance(value, dict):
        return [v for x in value.values() for v in finite_numbers(x)]
    if isinstance(value, (list, tuple)):
        return [v for x in value for v in finite_numbers(x)]
    return [value] if isinstance(value, (int, float)) and not isinstance(value, bool) else []


def fractions(value):
    """True when every number inside is a fraction in [0, 1]."""
    return all(0.0 <= v <= 1.0 for v in finite_numbers(value))


def test_list_names_every_experiment(capsys):
    assert main(["lab", "list"]) == 0
    out = capsys.readouterr().out
    listed = [line.split()[0] for line in out.splitlines()]
    assert listed[:len(NAMES)] == NAMES
    assert [e.name for e in lab.list_experiments()] == listed
    assert all(e.claim.endswith(".") and e.title for e in lab.list_experiments())


def test_bad_names_are_a_usage_error_before_anything_runs(capsys, tmp_path):
    assert main(["lab", "run", "loss", "nope", "--quick", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no experiment named 'nope'" in err and "batch_size" in err and len(err.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())  # the valid name before it did not run
    assert main(["lab", "run", "batchnrom", "--out", str(tmp_path)]) == 2
    assert "did you mean batchnorm" in capsys.readouterr().err
    assert main(["lab"]) == 2
    assert main(["lab", "run", "loss", "--seeds", "0"]) == 2
    with pytest.raises(ValueError, match="seeds"):
        lab.run_experiment("loss", quick=True, out=str(tmp_path), seeds=[])


@pytest.fixture(scope="module")
def quick_pages(tmp_path_factory):
    """`shendu lab run all --quick` once, in a subprocess as a user runs it (one OpenMP thread: on a machine shared
    by other jobs, spinning OpenMP threads make the small batch norms of oneDNN very slow)."""
    out = tmp_path_factory.mktemp("lab")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "shendu", "lab", "run", "all", "--quick", "--out", str(out)],
                          capture_output=True, text=True, env=env, cwd=str(out), timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc.stdout


def test_run_all_quick_writes_every_page(quick_pages):
    out, stdout = quick_pages
    assert stdout.count(": wrote ") == len(NAMES) and "index.md" in stdout
    index = (out / "index.md").read_text()
    for name in NAMES:
        page = (out / f"{name}.md").read_text()
        assert f"({name}.md)" in index
        for heading in ("**The claim.**", "## Set-up", "## Results", "## Verdict", "## How this page was made"):
            assert heading in page, (name, heading)
        assert "*quick* version" in page and f"`shendu lab run {name} --quick`" in page
        assert "```python" not in page  # tests/test_docs.py must never execute a lab page
        images = [line.split("](img/")[1].split(")")[0] for line in page.splitlines() if "](img/" in line]
        assert images, name
        for image in images:
            head = (out / "img" / image).read_bytes()[:8]
            assert head.startswith(b"\x89PNG") or head.startswith(b"GIF8"), image
        data = json.loads((out / "data" / f"{name}.json").read_text())
        assert data["quick"] and data["seeds"] == [0, 1] and data["verdict"] in ("yes", "partly", "no")
        assert data["seconds"] > 0 and data["reason"]


def numbers(out, name):
    return json.loads((out / "data" / f"{name}.json").read_text())["numbers"]


def test_quick_numbers_are_sane(quick_pages):
    out, _ = quick_pages
    n = numbers(out, "loss")
    assert n["grad_ce_at_-10"] == pytest.approx(-1.0, abs=1e-4)  # σ(−10) − 1
    assert 0 > n["grad_mse_at_-10"] > -1e-3
    assert fractions({k: v for k, v in n.items() if k.startswith("accuracy")})
    n = numbers(out, "optimizers")
    assert all(v >= 0 for v in n["final_f"].values())
    assert math.isfinite(n["final_f"]["narrow valley/momentum"]) and fractions(n["network_accuracy"])
    n = numbers(out, "learning_rate")
    assert all(0 < v < 100 for v in n["suggestions"])
    assert fractions({k: v for k, v in n.items() if k.startswith("accuracy")})
    assert fractions(numbers(out, "batchnorm")["accuracy"])
    n = numbers(out, "regularization")
    assert all(-1 <= v <= 1 for v in finite_numbers(n["gap"])) and fractions(n["fraction_below_1e-2"])
    assert fractions(numbers(out, "augmentation")["test_accuracy"])
    n = numbers(out, "depth")
    assert all(0 < v < 20 for v in finite_numbers(n["final_loss"])) and fractions(n["test_error"])
    n = numbers(out, "gradients")
    assert all(0 < v < 1 for v in n["ratio_first_last"]["sigmoid/Xavier"])  # six sigmoid layers shrink it
    assert fractions(n["accuracy"])
    n = numbers(out, "recurrent")
    assert all(0 < v < 10 for v in finite_numbers(n["adding"])) and fractions(n["copy"])
    n = numbers(out, "search")
    assert fractions(n["best"]) and all(len(v) == 2 for v in n["best"].values())
    assert fractions(numbers(out, "lenet")["accuracy"])
    n = numbers(out, "batch_size")
    assert fractions(n["accuracy"]) and all(v > 0 for v in finite_numbers(n["seconds_per_epoch"]))
    n = numbers(out, "attention")
    assert fractions(n["accuracy"]) and fractions(n["mirror_mass"])
    assert all(abs(v - 1 / 6) < 0.05 for v in n["mirror_mass"]["before"])  # near-uniform at initialisation
    n = numbers(out, "gan")
    assert all(0 < v < 10 for v in n["final"]["d_loss"]) and fractions({k: n["final"][k] for k in ("d_real", "d_fake")})
    assert all(0 <= m <= 8 for m in n["modes"]) and fractions(n["good"])
    n = numbers(out, "exploration")
    assert all(v in (0, 1) for v in finite_numbers(n["solved/4x4/greedy (ε = 0)"]))
    assert fractions({k: v for k, v in n.items() if k.startswith(("solved", "train_goal_fraction"))})
    assert all(1 <= v <= 16 for v in finite_numbers({k: v for k, v in n.items() if k.startswith("cells_visited")}))
    firsts = [f for k, v in n.items() if k.startswith("first_goal") for f in v if f is not None]
    assert all(0 < v <= 1000 for v in firsts)


def test_exploration_counts_every_cell_stood_on():
    """The visit counts of a run: the start once, then one cell per step and the start of every new episode."""
    pytest.importorskip("gymnasium")
    from shendu.lab import exploration

    run = exploration.train_run(exploration.lake("4x4"), (1.0, 1.0), 300, seed=0, evals=3)
    visits = run["visits"]
    assert visits.sum() == 1 + 300 + len(run["returns"]) and len(run["ends"]) == len(run["returns"])
    rows = "".join(exploration.grid("4x4"))
    holes = [i for i, c in enumerate(rows) if c == "H"]
    assert visits[0] >= len(run["returns"]) + 1  # every episode starts on S (index 0)
    assert visits[holes].sum() > 0  # a random walk falls into holes: the final cells are counted
    assert len(run["greedy"]) == 3 and set(run["greedy"]) <= {0.0, 1.0}


def test_committed_pages_are_full_runs():
    """The pages in docs/lab/ come from `shendu lab run NAME` without --quick, and each says its verdict."""
    docs = ROOT / "docs" / "lab"
    for name in NAMES:
        page = (docs / f"{name}.md").read_text()
        assert "*quick* version" not in page and f"`shendu lab run {name}`" in page
        assert "## Verdict" in page and "```python" not in page
        for line in page.splitlines():
            if "](img/" in line:
                assert (docs / "img" / line.split("](img/")[1].split(")")[0]).is_file()
