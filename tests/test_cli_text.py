"""`shendu train gpt --text FILE` and `shendu generate CKPT`: a small language model end to end, in a subprocess."""
import os
import subprocess
import sys

import pytest


def _shendu(*args, cwd):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.run([sys.executable, "-m", "shendu", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("lm")
    (d / "t.txt").write_text("abcabcabd " * 300, encoding="utf-8")
    r = _shendu("train", "gpt", "--text", "t.txt", "--steps", "40", "--block-size", "8", "--out", "run", "--quiet",
                cwd=d)
    assert r.returncode == 0, r.stderr
    return d, r.stdout


def test_train_writes_a_checkpoint_and_reports_the_validation_loss(trained):
    d, out = trained
    assert "validation loss" in out and "gpt (" in out and (d / "run" / "last.ckpt").exists()
    loss = float(out.split("validation loss ")[1].split()[0])
    assert loss < 1.0   # the pattern is learnt: log(5) = 1.61 nats is chance


def test_generate_streams_a_seeded_continuation(trained):
    d, _ = trained
    a = _shendu("generate", "run/last.ckpt", "--prompt", "abc", "--tokens", "12", "--seed", "3", "--top-k", "2",
                cwd=d)
    b = _shendu("generate", "run/last.ckpt", "--prompt", "abc", "--tokens", "12", "--seed", "3", "--top-k", "2",
                cwd=d)
    assert a.returncode == 0 and a.stdout == b.stdout and a.stdout.startswith("abc")
    assert len(a.stdout.rstrip("\n")) == 15 and set(a.stdout.strip()) <= set("abcd ")


def test_bad_prompts_and_arguments_are_one_line_errors(trained):
    d, _ = trained
    r = _shendu("generate", "run/last.ckpt", "--prompt", "xyz", cwd=d)
    assert r.returncode == 2 and r.stdout == "" and "'x' (U+0078) at position 0 is not in the vocabulary" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = _shendu("train", "gpt", cwd=d)
    assert r.returncode == 2 and "shendu train gpt --text FILE" in r.stderr
    r = _shendu("generate", "t.txt", cwd=d)
    assert r.returncode == 2
