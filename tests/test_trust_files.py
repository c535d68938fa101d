"""Files are data, never code: crafted configs are refused, bytes are checksummed, headers validated,
killed saves leave no orphans (issue 12 §1, §2)."""
import json
import os
import signal
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import shendu
from shendu import nn
from shendu.nn import config
from shendu.serialization import SafetensorsError, load_file, save_file
from shendu.training.checkpoint import read_checkpoint, save_checkpoint
from shendu.training.run import load_run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------- helpers: real files, rewritten headers
def read_header(path):
    blob = open(path, "rb").read()
    (n,) = struct.unpack("<Q", blob[:8])
    return json.loads(blob[8:8 + n]), blob[8 + n:]


def write_raw(path, header, data=b"", length=None):
    raw = json.dumps(header).encode() if not isinstance(header, bytes) else header
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw) if length is None else length) + raw + data)


def rewrite_metadata(path, change):
    """Rewrite the ``__metadata__`` of a real safetensors file in place, keeping its tensors (and checksums)."""
    header, data = read_header(path)
    change(header["__metadata__"])
    write_raw(path, header, data)


def small_model():
    return nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))


def crafted_model_file(path, cfg):
    shendu.save(small_model(), path)
    rewrite_metadata(path, lambda meta: meta.__setitem__("shendu_config", json.dumps(cfg)))
    return path


def crafted_checkpoint(path, cfg):
    extra = {"dataset": "digits", "classes": [str(i) for i in range(2)], "model": "lenet5",
             "preprocess": {"image_shape": [1, 8, 8], "input_shape": [1, 8, 8], "mean": [0.0], "std": [1.0]}}
    save_checkpoint(path, small_model(), extra=extra)

    def change(meta):
        inner = json.loads(meta["shendu"])
        inner["config"] = cfg
        meta["shendu"] = json.dumps(inner)

    rewrite_metadata(path, change)
    return path


# Each gadget, if built, would create `marker` (run a shell command, run Python, or write a file).
# Old configs could reach them: `_scalar_objective(fn, inputs, ...)` calls fn(*inputs).
def gadgets(marker):
    m = str(marker)
    call = lambda fn, args: {"class": "shendu.gradcheck._scalar_objective",  # noqa: E731
                             "args": [{"__function__": fn}, args, []], "kwargs": {}}
    return {
        "os.system via shendu.cli": (call("shendu.cli:os.system", [f"touch '{m}'"]),
                                     "shendu.gradcheck._scalar_objective"),
        "subprocess via shendu.bench.runner": (call("shendu.bench.runner:subprocess.run", [["touch", m]]),
                                               "shendu.gradcheck._scalar_objective"),
        "builtins.exec via shendu.ops.join": (call("shendu.ops.join:builtins.exec", [f"open({m!r}, 'w').close()"]),
                                              "shendu.gradcheck._scalar_objective"),
        "os.system as the class": ({"class": "shendu.cli:os.system", "args": [f"touch '{m}'"]}, "shendu.cli:os.system"),
        "os module directly": ({"class": "os.system", "args": [f"touch '{m}'"]}, "os.system"),
        "writer save_file": ({"class": "shendu.serialization.save_file", "args": [{"__dict__": {}}, m]},
                             "shendu.serialization.save_file"),
        "non-Module shendu callable": ({"class": "shendu.ops.elementwise.relu", "args": []},
                                       "shendu.ops.elementwise.relu"),
        "function value in a real layer": ({"class": "shendu.nn.linear.Dense", "args": [2], "kwargs": {
            "activation": {"__function__": "shendu.cli:os.system"}}}, "shendu.cli:os.system"),
        "activation name": ({"class": "shendu.nn.linear.Dense", "args": [2], "kwargs": {
            "activation": {"__activation__": "os.system"}}}, "os.system"),
        "initialiser name": ({"class": "shendu.nn.linear.Dense", "args": [2], "kwargs": {
            "kernel_initializer": {"__initializer__": "shendu.serialization.save_file"}}},
                             "shendu.serialization.save_file"),
        "regularizer name": ({"class": "shendu.nn.linear.Dense", "args": [2], "kwargs": {
            "kernel_regularizer": {"__regularizer__": {"class_name": "os.system", "config": {}}}}}, "os.system"),
        "nested in Sequential": ({"class": "shendu.nn.module.Sequential", "args": [
            {"__module__": {"class": "shendu.nn.linear.Linear", "args": [4, 3]}},
            {"__module__": {"class": "shendu.serialization.save_file", "args": [{"__dict__": {}}, m]}}]},
                                 "shendu.serialization.save_file"),
    }


GADGETS = sorted(gadgets("m"))


def assert_refused(exc, path, name):
    text = str(exc)
    assert isinstance(exc, ValueError) and isinstance(exc, config.UnsafeConfigError)
    assert str(path) in text and repr(name) in text and "\n" not in text


# ---------------------------------------------------------------- §1 through the Python API
@pytest.mark.parametrize("gadget", GADGETS)
def test_model_file_gadgets_are_refused_and_nothing_runs(tmp_path, gadget):
    marker = tmp_path / "marker"
    cfg, name = gadgets(marker)[gadget]
    path = crafted_model_file(tmp_path / "evil.safetensors", cfg)
    for load in (shendu.load, shendu.nn.saving.load):
        with pytest.raises(config.UnsafeConfigError) as info:
            load(path)
        assert_refused(info.value, path, name)
        assert str(info.value).startswith(f"shendu.load: {path}: ")
        assert not marker.exists()


@pytest.mark.parametrize("gadget", GADGETS)
def test_checkpoint_gadgets_are_refused_and_nothing_runs(tmp_path, gadget):
    marker = tmp_path / "marker"
    cfg, name = gadgets(marker)[gadget]
    path = crafted_checkpoint(tmp_path / "evil.ckpt", cfg)
    with pytest.raises(config.UnsafeConfigError) as info:
        load_run(path)
    assert_refused(info.value, path, name)
    with pytest.raises(config.UnsafeConfigError):
        config.from_config(read_checkpoint(path)[2]["config"])
    assert not marker.exists()


def test_a_refused_name_anywhere_stops_the_file_before_any_constructor_runs(tmp_path):
    built = []

    @nn.register(name="test_trust_files.Counting")
    class Counting(nn.Module):
        def __init__(self):
            super().__init__()
            built.append(1)

    cfg = {"class": "shendu.nn.module.Sequential", "args": [
        {"__module__": {"class": "test_trust_files.Counting"}},
        {"__module__": {"class": "shendu.gradcheck._scalar_objective", "args": []}}]}
    with pytest.raises(config.UnsafeConfigError, match="_scalar_objective"):
        shendu.load(crafted_model_file(tmp_path / "m.safetensors", cfg))
    assert built == []
    cfg["args"].pop()
    assert isinstance(config.from_config(cfg)[0], Counting)
    assert built == [1]


# ---------------------------------------------------------------- §1 through the command line
def run_cli(*argv):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "shendu", *map(str, argv)], capture_output=True, text=True,
                          env=env, timeout=120)


@pytest.mark.parametrize("command,gadget", [("summary", g) for g in GADGETS[::3]] + [
    ("evaluate", "os.system via shendu.cli"), ("predict", "builtins.exec via shendu.ops.join"),
    ("evaluate", "writer save_file"), ("predict", "subprocess via shendu.bench.runner")])
def test_cli_refuses_crafted_checkpoints_in_one_line_exit_2(tmp_path, command, gadget):
    marker = tmp_path / "marker"
    cfg, name = gadgets(marker)[gadget]
    path = crafted_checkpoint(tmp_path / "evil.ckpt", cfg)
    done = run_cli(command, path, *([tmp_path / "digit.png"] if command == "predict" else []))
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and repr(name) in lines[0], done.stderr
    assert not marker.exists()


# ---------------------------------------------------------------- §1 what a file may name; registering
def test_zoo_and_layers_with_named_objects_round_trip(tmp_path):
    model = nn.Sequential(nn.Dense(5, activation=shendu.functional.relu, kernel_initializer=nn.init.kaiming_normal_,
                                   kernel_regularizer=nn.regularizers.L2(1e-3), input_dim=4),
                          nn.Dense(2, activation="softmax", bias_initializer=nn.init.ones_, input_dim=5))
    shendu.save(model, tmp_path / "m.safetensors")
    back = shendu.load(tmp_path / "m.safetensors")
    x = shendu.randn(3, 4)
    assert np.allclose(back(x).numpy(), model(x).numpy())
    assert back[0].activation is shendu.functional.relu and back[0].kernel_initializer is nn.init.kaiming_normal_
    assert isinstance(back[0].kernel_regularizer, nn.regularizers.L2) and back[0].kernel_regularizer.l == 1e-3
    resnet = shendu.models.resnet20()
    shendu.save(resnet, tmp_path / "r.safetensors")
    assert type(shendu.load(tmp_path / "r.safetensors")) is type(resnet)


def test_files_of_the_earlier_function_encoding_still_load(tmp_path):
    cfg = {"class": "shendu.nn.linear.Dense", "args": [3], "kwargs": {
        "activation": {"__function__": f"{shendu.functional.relu.__module__}:relu"},
        "kernel_initializer": {"__function__": "shendu.nn.init:kaiming_normal_"}}}
    model = config.from_config({"class": "shendu.nn.module.Sequential", "args": [{"__module__": cfg}]})
    assert model[0].activation is shendu.functional.relu


def test_unregistered_user_module_fails_at_save_time_and_registered_round_trips(tmp_path):
    class Net(nn.Module):
        def __init__(self, hidden=3):
            super().__init__()
            self.fc = nn.Linear(4, hidden)

        def forward(self, x):
            return self.fc(x)

    with pytest.raises(TypeError, match="@shendu.nn.register") as info:
        shendu.save(nn.Sequential(Net()), tmp_path / "net.safetensors")
    assert "save_weights" in str(info.value) and "Net" in str(info.value)
    assert os.listdir(tmp_path) == []
    shendu.save_weights(Net(), tmp_path / "w.safetensors")  # weights only still work

    shendu.nn.register(Net)
    model = Net(hidden=5)
    shendu.save(model, tmp_path / "net.safetensors")
    back = shendu.load(tmp_path / "net.safetensors")
    assert type(back) is Net and back.fc.weight.shape == (5, 4)
    assert np.array_equal(back.fc.weight.numpy(), model.fc.weight.numpy())


def test_register_rejects_non_modules_and_clashing_names():
    with pytest.raises(TypeError, match="Module subclass"):
        nn.register(len)
    with pytest.raises(TypeError, match="Module subclass"):
        nn.register(int)

    @nn.register(name="test_trust_files.Same")
    class A(nn.Module):
        pass

    assert nn.register(name="test_trust_files.Same")(A) is A  # the same class again is fine

    class B(nn.Module):
        pass

    with pytest.raises(ValueError, match="already taken"):
        nn.register(name="test_trust_files.Same")(B)
    with pytest.raises(ValueError, match="already taken"):
        nn.register(name="shendu.nn.linear.Linear")(B)


def test_checkpoint_of_an_unregistered_model_keeps_its_weights_without_architecture(tmp_path):
    class Local(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)

    save_checkpoint(tmp_path / "c.ckpt", Local())
    state, _, meta = read_checkpoint(tmp_path / "c.ckpt")
    assert meta["config"] is None and set(state) == {"fc.weight", "fc.bias"}


# ---------------------------------------------------------------- §2 checksums
def flip_byte_of(path, tensor):
    header, _ = read_header(path)
    begin, _ = header[tensor]["data_offsets"]
    blob = bytearray(open(path, "rb").read())
    (n,) = struct.unpack("<Q", blob[:8])
    blob[8 + n + begin + 1] ^= 0x10
    open(path, "wb").write(bytes(blob))


def test_files_record_a_sha256_per_tensor_and_stay_readable_by_safetensors(tmp_path):
    st = pytest.importorskip("safetensors")
    import safetensors.numpy

    path = tmp_path / "m.safetensors"
    model = small_model()
    shendu.save(model, path)
    theirs = safetensors.numpy.load_file(str(path))
    assert np.array_equal(theirs["0.weight"], model[0].weight.numpy())
    with st.safe_open(str(path), framework="numpy") as f:
        sums = json.loads(f.metadata()["shendu.sha256"])
    import hashlib
    assert sums["0.weight"] == hashlib.sha256(model[0].weight.numpy().tobytes()).hexdigest()
    assert set(sums) == set(model.state_dict())
    assert "shendu.sha256" not in load_file(path, with_metadata=True)[1]  # the checksums are not user metadata


def test_a_flipped_byte_is_refused_naming_file_and_tensor(tmp_path):
    path = tmp_path / "m.safetensors"
    shendu.save(small_model(), path)
    flip_byte_of(path, "2.weight")
    with pytest.raises(SafetensorsError, match=r"m\.safetensors: tensor '2\.weight': .*sha256"):
        shendu.load(path)
    ckpt = tmp_path / "c.ckpt"
    save_checkpoint(ckpt, small_model())
    flip_byte_of(ckpt, "model.0.bias")
    with pytest.raises(SafetensorsError, match=r"c\.ckpt: tensor 'model\.0\.bias'"):
        read_checkpoint(ckpt)
    done = run_cli("summary", ckpt)
    assert done.returncode == 2 and "model.0.bias" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_checksums_must_cover_exactly_the_tensors(tmp_path):
    path = tmp_path / "t.safetensors"
    save_file({"a": np.ones(2, np.float32), "b": np.zeros(3)}, path)
    rewrite_metadata(path, lambda m: m.__setitem__("shendu.sha256", json.dumps({"a": "0" * 64})))
    with pytest.raises(SafetensorsError, match="shendu.sha256"):
        load_file(path)


def test_files_without_checksums_still_load(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    t = {"w": np.arange(6, dtype=np.float32).reshape(2, 3)}
    st.save_file(t, str(tmp_path / "theirs.safetensors"))
    assert np.array_equal(load_file(tmp_path / "theirs.safetensors")["w"], t["w"])
    path = tmp_path / "old.safetensors"
    shendu.save(small_model(), path)
    rewrite_metadata(path, lambda m: m.pop("shendu.sha256"))  # as written before checksums existed
    assert isinstance(shendu.load(path), nn.Sequential)


# ---------------------------------------------------------------- §2 killed saves leave no orphan
HANGING_WRITER = textwrap.dedent("""
    import sys, time
    import numpy as np
    from shendu.serialization import atomic_write

    def write(f):
        f.write(np.ones(1 << 20, np.float32).tobytes())
        f.flush()
        print("writing", flush=True)
        time.sleep(600)

    atomic_write(sys.argv[1], write)
""")


def test_sigkill_mid_write_leaves_no_orphan_after_the_next_save(tmp_path):
    path = tmp_path / "model.safetensors"
    script = tmp_path / "writer.py"
    script.write_text(HANGING_WRITER)
    env = dict(os.environ, PYTHONPATH=ROOT)
    seen = []
    for _ in range(2):  # the second killed save removes the first one's orphan before leaving its own
        proc = subprocess.Popen([sys.executable, str(script), str(path)], stdout=subprocess.PIPE, text=True, env=env)
        try:
            assert proc.stdout.readline().strip() == "writing"
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        orphans = [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
        assert len(orphans) == 1 and orphans[0].startswith(f".model.safetensors.{proc.pid}-")
        assert os.path.getsize(tmp_path / orphans[0]) == 4 << 20
        seen += orphans
    assert len(set(seen)) == 2
    # files that are not temporary files of this target are never touched
    keep = [".model.safetensors.backup", ".other.safetensors.1-abcdef01.tmp", "model.safetensors.1-abcdef01.tmp",
            ".model.safetensors.1.2-abcdef01.tmp"]
    for name in keep:
        (tmp_path / name).write_bytes(b"x")
    shendu.save(small_model(), path)
    assert sorted(p for p in os.listdir(tmp_path) if p.startswith(".") or p.endswith(".tmp")) == sorted(keep)
    assert isinstance(shendu.load(path), nn.Sequential)


def test_the_temporary_file_of_a_running_save_is_kept(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        live = tmp_path / f".w.safetensors.{sleeper.pid}-0123abcd.tmp"
        live.write_bytes(b"in progress")
        save_file({"a": np.ones(2)}, tmp_path / "w.safetensors")
        assert live.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    save_file({"a": np.ones(2)}, tmp_path / "w.safetensors")
    assert not live.exists()  # its writer is gone now


def test_old_style_temporary_files_are_removed_once_stale(tmp_path):
    old = tmp_path / ".w.safetensors.k3_x9a0q.tmp"  # tempfile.mkstemp's name, used before
    fresh = tmp_path / ".w.safetensors.p0q1r2s3.tmp"
    other = tmp_path / ".w.safetensors.1.abcdefgh.tmp"  # the old name of target w.safetensors.1
    for f in (old, fresh, other):
        f.write_bytes(b"x")
        os.utime(f, (1e9, 1e9) if f != fresh else None)
    save_file({"a": np.ones(2)}, tmp_path / "w.safetensors")
    assert not old.exists() and fresh.exists() and other.exists()  # a recent one may be a write in progress


# ---------------------------------------------------------------- §2 malformed headers: one test per field
def good_header():
    return {"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
            "b": {"dtype": "F32", "shape": [3], "data_offsets": [24, 36]}}


def refused(tmp_path, header, field, data=bytes(40), length=None):
    path = tmp_path / "bad.safetensors"
    write_raw(path, header, data, length)
    with pytest.raises(SafetensorsError) as info:
        load_file(path)
    assert str(path) in str(info.value) and field in str(info.value), str(info.value)
    return str(info.value)


def test_good_header_loads(tmp_path):
    write_raw(tmp_path / "ok.safetensors", good_header(), bytes(36))
    assert load_file(tmp_path / "ok.safetensors")["w"].shape == (2, 3)


def test_negative_dimension_is_refused(tmp_path):
    h = good_header()
    h["w"]["shape"] = [-2, -3]
    refused(tmp_path, h, "'shape'")


def test_unknown_dtype_is_refused(tmp_path):
    h = good_header()
    h["w"]["dtype"] = "F33"
    refused(tmp_path, h, "'dtype' 'F33'")


def test_offsets_outside_the_file_are_refused(tmp_path):
    h = good_header()
    h["b"]["data_offsets"] = [24, 36]
    refused(tmp_path, h, "'data_offsets' [24, 36]", data=bytes(30))


def test_overlapping_offsets_are_refused(tmp_path):
    h = good_header()
    h["b"]["data_offsets"] = [12, 24]
    refused(tmp_path, h, "overlap")


def test_offsets_not_matching_shape_times_itemsize_are_refused(tmp_path):
    h = good_header()
    h["w"]["shape"] = [2, 4]
    assert "needs 32" in refused(tmp_path, h, "'data_offsets'")


def test_header_length_larger_than_the_file_is_refused(tmp_path):
    refused(tmp_path, good_header(), "header length", data=bytes(36), length=10_000)


def test_non_json_header_is_refused(tmp_path):
    refused(tmp_path, b"{not json at all", "not valid JSON")


def test_missing_data_offsets_is_refused(tmp_path):
    h = good_header()
    del h["b"]["data_offsets"]
    refused(tmp_path, h, "tensor 'b': missing field 'data_offsets'")


def test_wrong_constructor_arguments_and_deep_nesting_are_clear_errors(tmp_path):
    path = crafted_model_file(tmp_path / "bad.safetensors",
                              {"class": "shendu.nn.linear.Linear", "args": [4], "kwargs": {"nope": 1}})
    with pytest.raises(config.ConfigError, match=r"bad\.safetensors: shendu\.nn\.linear\.Linear: .*nope"):
        shendu.load(path)
    deep = []
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(config.UnsafeConfigError, match="nested too deeply"):
        config.from_config({"class": "shendu.nn.linear.Identity", "args": [deep]}, source="deep.safetensors")
