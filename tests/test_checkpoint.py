"""Checkpoints and safetensors files: exact round trips, atomic writes, no pickle."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import shendu
from shendu import nn
from shendu.serialization import load_file, save_file
from shendu.training.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint


def test_safetensors_round_trip_all_dtypes(tmp_path):
    r = np.random.default_rng(0)
    tensors = {"f32": r.standard_normal((3, 4)).astype(np.float32), "f64": r.standard_normal(5),
               "i64": np.arange(6).reshape(2, 3), "u8": np.arange(7, dtype=np.uint8), "b": np.array([True, False]),
               "empty": np.zeros((0, 3), np.float32), "scalar": np.array(2.5)}
    save_file(tensors, tmp_path / "a.safetensors", metadata={"k": "v"})
    back, meta = load_file(tmp_path / "a.safetensors", with_metadata=True)
    assert meta == {"k": "v"}
    for k, v in tensors.items():
        assert back[k].dtype == v.dtype and np.array_equal(back[k], v), k


def test_interoperates_with_the_reference_safetensors_package(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    t = {"w": np.arange(12, dtype=np.float32).reshape(3, 4), "n": np.array([1, 2], np.int64)}
    save_file(t, tmp_path / "ours.safetensors")
    theirs = st.load_file(str(tmp_path / "ours.safetensors"))
    assert all(np.array_equal(theirs[k], t[k]) for k in t)
    st.save_file(t, str(tmp_path / "theirs.safetensors"))
    ours = load_file(tmp_path / "theirs.safetensors")
    assert all(np.array_equal(ours[k], t[k]) for k in t)


def test_truncated_or_foreign_files_are_clear_errors(tmp_path):
    save_file({"w": np.ones((100, 100), np.float32)}, tmp_path / "ok.safetensors")
    data = (tmp_path / "ok.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated"):
        load_file(tmp_path / "cut.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"\x80\x04\x95 not a safetensors file at all")
    with pytest.raises(ValueError):
        load_file(tmp_path / "junk.safetensors")
    with pytest.raises(ValueError, match="not a shendu checkpoint"):
        read_checkpoint(tmp_path / "ok.safetensors")


def test_checkpoint_restores_model_optimizer_and_rng(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    opt = shendu.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(3):
        opt.zero_grad()
        model(shendu.randn(5, 3)).sum().backward()
        opt.step()
    save_checkpoint(tmp_path / "c.ckpt", model, opt, epoch=4, step=12)
    expected_next = shendu.randn(3).numpy()
    shendu.manual_seed(99)
    model2 = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    opt2 = shendu.optim.Adam(model2.parameters(), lr=0.01)
    meta = load_checkpoint(tmp_path / "c.ckpt", model2, opt2)
    assert meta["epoch"] == 4 and meta["step"] == 12
    assert np.array_equal(shendu.randn(3).numpy(), expected_next)
    for (n, p), (_, q) in zip(model.named_parameters(), model2.named_parameters()):
        assert np.array_equal(p.data, q.data), n
    x = shendu.randn(5, 3)
    for o, m in ((opt, model), (opt2, model2)):
        o.zero_grad()
        m(x).sum().backward()
        o.step()
    for (n, p), (_, q) in zip(model.named_parameters(), model2.named_parameters()):
        assert np.array_equal(p.data, q.data), n


WRITER = textwrap.dedent("""
    import sys
    import shendu
    from shendu import nn
    from shendu.training.checkpoint import save_checkpoint
    model = nn.Linear(1500, 1500)
    i = 0
    while True:
        i += 1
        for p in model.parameters():
            p.data[...] = i
        save_checkpoint(sys.argv[1], model, epoch=i, step=i)
        print(i, flush=True)
""")


def test_sigkill_during_checkpoint_write_leaves_a_loadable_checkpoint(tmp_path):
    path = tmp_path / "last.ckpt"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    for attempt in range(3):
        proc = subprocess.Popen([sys.executable, str(script), str(path)], stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline().strip()  # at least one complete checkpoint exists
            time.sleep(0.05 + 0.1 * attempt)  # then kill it, very likely in the middle of a write
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        model = nn.Linear(1500, 1500)
        meta = load_checkpoint(path, model, restore_rng=False)
        value = meta["epoch"]
        assert np.all(model.weight.data == value) and np.all(model.bias.data == value)
    leftovers = [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    assert all(p.startswith(".last.ckpt.") for p in leftovers)  # only ever temporary names, never the target
