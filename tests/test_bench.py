"""The benchmark suite (shendu/bench): workloads match PyTorch, the runner interleaves, the JSON has the schema."""
import importlib.util
import json

import pytest

from shendu.bench import main, runner, workloads

HAS_TORCH = importlib.util.find_spec("torch") is not None
needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")

SCHEMA = {"name": str, "shendu_ms": float, "torch_ms": float, "ratio": float, "shendu_peak_mb": float,
          "torch_peak_mb": float, "gflops": float, "gemm_peak_gflops": float}


@needs_torch
def test_main_writes_the_json_schema(tmp_path, monkeypatch):
    # With the malloc variables already set and no variable limiting the instruction set, main runs in this
    # process (no re-run of itself); the timing rounds and the peak-memory measurements run in children.
    for key, value in runner.MALLOC_ENV.items():
        monkeypatch.setenv(key, value)
    for key in runner._isa_env("native"):
        monkeypatch.delenv(key, raising=False)
    out = tmp_path / "out.json"
    assert main(["--only", "xor", "--steps", "3", "--warmup", "1", "--threads", "1", "--gemm-size", "256",
                 "--rounds", "2", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert [r["name"] for r in rows] == ["xor"]
    row = rows[0]
    for key, kind in SCHEMA.items():
        assert isinstance(row[key], kind), (key, row[key])
    assert row["ratio"] == pytest.approx(row["shendu_ms"] / row["torch_ms"])
    assert row["shendu_ms"] > 0 and row["torch_ms"] > 0 and row["gemm_peak_gflops"] > 0
    assert row["torch_peak_mb"] > row["torch_import_mb"] > 0 and row["shendu_peak_mb"] > 0
    assert row["steps"] == 3 and row["rounds"] == 2
    low, high = row["ratio_range"]
    assert low <= row["ratio"] <= high


def test_isa_environment(monkeypatch):
    """--isa native removes every variable that limits a library's instruction set (OPENBLAS_CORETYPE is set on
    some machines); --isa avx2 sets each library's AVX2 value, NumPy's dispatch targets beyond AVX2 disabled."""
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.setenv("OPENBLAS_L2_SIZE", "512")
    native = runner._wanted_env(runner.parse_args(["--only", "xor"]))
    assert not {"OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY"} & set(native)
    assert not runner._env_ready(runner.parse_args([]))  # so main re-runs itself without them
    avx2 = runner._wanted_env(runner.parse_args(["--isa", "avx2"]))
    assert (avx2["OPENBLAS_CORETYPE"], avx2["ONEDNN_MAX_CPU_ISA"], avx2["MKL_ENABLE_INSTRUCTIONS"],
            avx2["ATEN_CPU_CAPABILITY"]) == ("Haswell", "AVX2", "AVX2", "avx2")
    disabled = avx2.get("NPY_DISABLE_CPU_FEATURES", "").split()
    assert all(t == "X86_V4" or t.startswith("AVX512") for t in disabled)
    assert "AVX2" not in disabled and "X86_V3" not in disabled
    assert "OPENBLAS_L2_SIZE" not in avx2


@needs_torch
def test_an_avx2_run_says_so_and_runs_the_avx2_kernels(tmp_path):
    """The run re-executes itself with the AVX2 variables: OpenBLAS reports its Haswell kernel, the header says
    the instruction set was limited."""
    out = tmp_path / "table.md"
    assert main(["--isa", "avx2", "--only", "xor", "--steps", "3", "--warmup", "1", "--threads", "1",
                 "--gemm-size", "128", "--rounds", "1", "--no-memory", "--markdown", str(out)]) == 0
    text = out.read_text()
    assert "instruction set: limited to AVX2 on this CPU" in text and "ONEDNN_MAX_CPU_ISA=AVX2" in text
    assert "kernel Haswell" in text


def test_the_median_round_is_reported_whole():
    rounds = [{"name": "a", "ratio": r, "shendu_ms": 10 * r, "torch_ms": 10} for r in (1.3, 0.9, 1.1)]
    chosen = runner.median_round(rounds)
    assert chosen["ratio"] == 1.1 and chosen["shendu_ms"] == 11  # one round's numbers, not mixed medians
    assert chosen["ratio_range"] == [0.9, 1.3] and chosen["rounds"] == 3
    assert runner.median_round(rounds[:2])["ratio"] == 0.9  # even count: the lower middle


def test_rounds_must_be_positive(capsys):
    with pytest.raises(SystemExit):
        runner.parse_args(["--rounds", "0"])
    assert "--rounds" in capsys.readouterr().err


@needs_torch
@pytest.mark.parametrize("name", ["xor", "mlp", "lenet5", "cnn_bn", "resnet20", "lstm", "gru", "gpt"])
def test_both_frameworks_build_the_same_network(name):
    # Same architecture and the copied weights: the eval-mode outputs agree to float32 rounding.
    assert workloads.check_same_numbers(name) < 1e-5


@needs_torch
def test_resnet18_workload_twins_agree_on_a_small_image():
    """The resnet18 workload's torch twin, given the shendu weights, computes the same logits (64×64 input:
    the 224×224 check would take seconds for nothing more)."""
    import numpy as np
    import torch

    import shendu
    sd, tm = workloads.resnet18(), workloads.torch_resnet18()
    tm.load_state_dict({k: torch.tensor(v.numpy()) for k, v in sd.state_dict().items()})
    sd.eval(), tm.eval()
    x = np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype(np.float32)
    with shendu.no_grad():
        a = sd(shendu.tensor(x)).numpy()
    b = tm(torch.tensor(x)).detach().numpy()
    assert np.abs(a - b).max() / np.abs(b).max() < 1e-5


def test_flops_of_the_mlp_step():
    w = workloads.WORKLOADS["mlp"]
    macs = 784 * 256 + 256 * 128 + 128 * 10
    assert workloads.flops_per_step(w, workloads.mlp()) == 2 * 3 * 128 * macs
    inference = workloads.WORKLOADS["infer_b1024"]
    assert workloads.flops_per_step(inference, workloads.mlp()) == 2 * 1024 * macs


def test_flops_of_the_gpt_step():
    w, model = workloads.WORKLOADS["gpt"], workloads.gpt()
    n = 804_096 - 64 * 128   # every weight but the position table (PaLM's 6·N)
    assert workloads.flops_per_step(w, model) == (6 * n + 12 * 4 * 64 * 128) * 12 * 64


def test_data_is_float32_and_nonzero():
    for w in workloads.WORKLOADS.values():
        x, y = workloads.data(w)
        if w.tokens:  # a language model: ids, the targets being the inputs shifted by one
            assert x.dtype == y.dtype == "int64" and x.shape == y.shape == w.input_shape
            assert (x[:, 1:] == y[:, :-1]).all() and 0 <= x.min() and x.max() < w.num_classes
            continue
        assert x.dtype == "float32" and x.shape == w.input_shape and (x != 0).all()
        assert y.shape[0] == w.input_shape[w.batch_axis]


def test_interleaving_alternates_blocks_in_abba_order():
    calls = []
    steps = {"shendu": lambda: calls.append("s"), "torch": lambda: calls.append("t")}
    times = runner.interleaved(steps, steps=5, block=2)
    assert [len(v) for v in times.values()] == [5, 5]
    assert "".join(calls) == "sstt" + "ttss" + "st"


def test_without_torch_one_line_error(monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    assert main(["--only", "xor"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "PyTorch is not installed" in err


def test_unknown_workload_is_an_error(capsys):
    with pytest.raises(SystemExit):
        runner.parse_args(["--only", "xor,nope"])
    assert "unknown workload(s) nope" in capsys.readouterr().err


def test_a_ratio_that_rounds_to_its_target_gets_a_third_decimal():
    row = {"name": "lenet5", "shendu_ms": 21.46, "torch_ms": 17.81, "ratio": 1.2047, "target": 1.2,
           "cpu_ratio": 1.08, "shendu_peak_mb": None, "torch_peak_mb": None, "memory_target": 1.2,
           "gflops": 14.9, "gemm_peak_gflops": 144.0}
    cells = runner._cells(row)
    assert cells[3] == "1.205" and cells[5] == "≤1.2 MISS"
    assert runner._cells({**row, "ratio": 1.1})[3:6] == ["1.10", "1.10–1.10", "≤1.2 ok"]


def test_profile_times_ops_kernels_and_engine_through_the_profiling_hook():
    import sys

    import shendu
    from shendu.bench import profile

    apply_before, backward_before = shendu.Function.__dict__["apply"], shendu.autograd.backward
    step_seconds, rows = profile.op_breakdown("mlp", steps=2, warmup=1, repeats=1)
    labels = {r[0]: r for r in rows}
    for needed in ("Linear.forward", "Linear.backward", "kernel: GEMM (backend.matmul)", "optimizer.step",
                   "engine: backward bookkeeping"):
        assert needed in labels and labels[needed][1] > 0 and labels[needed][2] >= 1, needed
    assert labels["optimizer.step"][2] == 1  # one step per training step
    timed = sum(r[1] for r in rows[:-1])
    assert abs(timed + rows[-1][1] - step_seconds) < 1e-9  # self times plus the rest make the step
    assert sys.getprofile() is None  # the hook is removed
    assert shendu.Function.__dict__["apply"] is apply_before and shendu.autograd.backward is backward_before
    assert "ms per step" in profile.format_breakdown("mlp", step_seconds, rows)
