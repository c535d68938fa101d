"""``shendu bench``: time one training step of each workload in shendu and PyTorch, interleaved.

For every workload (see :mod:`shendu.bench.workloads`) the runner

1. builds both models with the same weights and the same float32 batch;
2. runs ``--warmup`` steps of each, then ``--steps`` timed steps of each,
   **interleaved**: alternating blocks of a few steps of one framework and of
   the other, in the order ABBA ABBA… so that a slow phase of a noisy machine
   hits both sides alike; every step is timed on its own and the figure is the
   median;
3. measures each framework's peak resident memory in a fresh subprocess
   (:mod:`shendu.bench.memory`), so that the two never share a heap;
4. reports the achieved GFLOP/s (2·MACs of the forward pass × 3 for a training
   step, from the layers' ``macs``) against the float32 GEMM peak of NumPy's
   BLAS measured at the start of the run.

glibc's malloc returns big blocks to the system after every step by default,
which made PyTorch's timings move by up to 1.8× between processes; the run
sets ``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_`` for itself
(re-running itself in a child process when they are not already set) and
says so in its header. ``--no-malloc-env`` measures with the default malloc.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time

from .. import parallel

#: glibc malloc settings that keep big arrays mapped between steps (both are needed: only one is worse).
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "1073741824"}
#: What each library reads to limit its instruction set (at load), and the value that means AVX2:
#: ``--isa avx2`` sets them all, so that a machine with AVX-512 times both frameworks as an AVX2 one would
#: (the same cores and caches: an emulation of the instruction set only); ``--isa native`` removes them all.
#: NumPy's dispatch targets beyond AVX2 are found at run time (:func:`_numpy_avx512_targets`).
ISA_ENV = {"OPENBLAS_CORETYPE": "Haswell", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
           "ATEN_CPU_CAPABILITY": "avx2", "NPY_DISABLE_CPU_FEATURES": None}
#: OpenBLAS's cache-size override, set on some machines: not an instruction set, but it changes the kernel's
#: blocking, so every run removes it.
_NATIVE_UNSET = ("OPENBLAS_L2_SIZE",)
#: Set in the re-executed child, so that a child never re-executes again.
_CHILD_MARK = "SHENDU_BENCH_CHILD"
#: Auto step count: at least this many timed steps, and about this many seconds per framework.
MIN_STEPS, MIN_SECONDS, MAX_STEPS = 30, 0.5, 2000
GEMM_SIZE = 2048
#: Timing rounds, each in a fresh process (the median round is reported).
ROUNDS = 3


# ------------------------------------------------------------------ arguments
def parse_args(argv):
    from .workloads import WORKLOADS
    p = argparse.ArgumentParser(
        prog="shendu bench",
        description="Median wall time of one training step per workload, shendu vs PyTorch (CPU, float32), "
                    "interleaved in one run; peak memory in fresh subprocesses; GFLOP/s against the GEMM peak.")
    p.add_argument("--only", default=None,
                   help=f"comma-separated workloads (default all: {','.join(WORKLOADS)})")
    p.add_argument("--json", metavar="FILE", default=None, help="write the results as a JSON list to FILE")
    p.add_argument("--markdown", metavar="FILE", default=None,
                   help="write the table and the machine as Markdown to FILE (for the README)")
    p.add_argument("--threads", type=int, default=parallel.usable_cpus(),
                   help="threads for NumPy's BLAS, shendu's kernels and PyTorch (default: the CPUs this process may use, "
                        f"{parallel.usable_cpus()})")
    p.add_argument("--steps", type=int, default=0,
                   help=f"timed steps per framework (default: at least {MIN_STEPS}, more for fast workloads, "
                        f"about {MIN_SECONDS} s each)")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps per framework first (default 5)")
    p.add_argument("--block", type=int, default=0,
                   help="steps per interleaved block (default: steps/10, at least 1)")
    p.add_argument("--rounds", type=int, default=ROUNDS,
                   help=f"timing rounds, each in a fresh process; the table shows the round with the median "
                        f"ratio (default {ROUNDS}: a process can land in a faster or slower mode for its whole life)")
    p.add_argument("--gemm-size", type=int, default=GEMM_SIZE,
                   help=f"n of the n×n float32 GEMM that measures the peak (default {GEMM_SIZE})")
    p.add_argument("--kernels", choices=("auto", "numpy", "onednn", "both"), default="auto",
                   help="shendu's CPU kernels (SHENDU_KERNELS in the measuring processes): 'both' times every "
                        "workload on the NumPy and the oneDNN kernels, rows marked [numpy] / [onednn] (default auto)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    p.add_argument("--isa", choices=("native", "avx2"), default="native",
                   help="instruction set of every library in the run: 'native' (default) removes the variables "
                        "that limit it (OPENBLAS_CORETYPE, ONEDNN_MAX_CPU_ISA, MKL_ENABLE_INSTRUCTIONS, "
                        "ATEN_CPU_CAPABILITY, NPY_DISABLE_CPU_FEATURES; OPENBLAS_L2_SIZE); 'avx2' sets them to "
                        "AVX2 (OpenBLAS Haswell kernels, oneDNN and MKL AVX2, PyTorch's avx2 kernels, NumPy "
                        "without its AVX-512 loops): an AVX-512 machine timed as an AVX2 one")
    p.add_argument("--no-malloc-env", action="store_true",
                   help="measure with glibc's default malloc instead of " +
                        " ".join(f"{k}={v}" for k, v in MALLOC_ENV.items()))
    args = p.parse_args(argv)
    names = list(WORKLOADS) if args.only is None else [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        p.error(f"unknown workload(s) {', '.join(unknown)}; known: {', '.join(WORKLOADS)}")
    if args.threads < 1 or args.gemm_size < 1 or args.rounds < 1 or min(args.steps, args.warmup, args.block) < 0:
        p.error("--threads, --rounds and --gemm-size must be ≥ 1, --steps, --warmup and --block ≥ 0")
    args.names = names
    return args


# ------------------------------------------------------------------ environment
def _isa_env(isa):
    """``{variable: value, or None to remove it}`` for ``--isa``."""
    if isa == "native":
        return {k: None for k in (*ISA_ENV, *_NATIVE_UNSET)}
    env = {**ISA_ENV, **{k: None for k in _NATIVE_UNSET}}
    env["NPY_DISABLE_CPU_FEATURES"] = " ".join(_numpy_avx512_targets()) or None
    return env


def _numpy_avx512_targets():
    """NumPy's SIMD dispatch targets beyond AVX2 (names differ between NumPy versions: X86_V4 in 2.4,
    AVX512_SKX before), the ones NPY_DISABLE_CPU_FEATURES may name."""
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__
    except ImportError:  # pragma: no cover - NumPy < 2
        from numpy.core._multiarray_umath import __cpu_dispatch__
    return [t for t in __cpu_dispatch__ if t == "X86_V4" or t.startswith("AVX512")]


def _wanted_env(args):
    """The environment the measuring process must have: malloc settings, thread counts, instruction set."""
    env = dict(os.environ)
    for k, v in _isa_env(args.isa).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    for k, v in MALLOC_ENV.items():
        if args.no_malloc_env:
            env.pop(k, None)
        else:
            env[k] = v
    # Read by OpenBLAS / OpenMP when they load; threadpoolctl and torch.set_num_threads also set them at run time.
    for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "SHENDU_NUM_THREADS"):
        env[k] = str(args.threads)
    kernels = getattr(args, "kernels_now", args.kernels)
    if kernels != "both":
        env["SHENDU_KERNELS"] = kernels
    return env


def kernels_report(choice):
    """Which kernels a measuring process with ``SHENDU_KERNELS=choice`` runs, e.g. 'oneDNN 3.2.0'."""
    from ..backends import onednn
    if choice == "numpy":
        return "NumPy (forced)"
    if onednn.available():
        return (f"oneDNN {onednn.version()} (conv, pooling, batch norm, dense, RNN/LSTM/GRU, GELU, layer norm, "
                "attention's softmax; "
                "NumPy for the rest)")
    return f"NumPy (oneDNN unavailable: {onednn.load_error()})"


def _env_ready(args):
    """True when this process already runs with the wanted malloc settings and instruction set (glibc,
    OpenBLAS, oneDNN and NumPy read them at start-up)."""
    return (all((os.environ.get(k) == v) != args.no_malloc_env for k, v in MALLOC_ENV.items())
            and all(os.environ.get(k) == v for k, v in _isa_env(args.isa).items()))


def _rerun(argv, args):
    """Run the benchmark again in a child process with the wanted environment; return its exit status."""
    env = _wanted_env(args)
    env[_CHILD_MARK] = "1"
    what = "unset" if args.no_malloc_env else "set"
    isa = "limited to AVX2" if args.isa == "avx2" else "native"
    print(f"shendu bench: re-running itself with {' and '.join(MALLOC_ENV)} {what} and the instruction set "
          f"{isa} (glibc and the libraries read them only at start-up)", flush=True)
    return subprocess.run([sys.executable, "-m", "shendu.bench", *argv], env=env).returncode


# ------------------------------------------------------------------ machine report
def machine():
    """One line naming the CPU, its core count and widest SIMD extension, and the OS."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model in ("", platform.machine()):
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    simd = next((s for s in ("avx512f", "avx2", "avx", "neon", "asimd") if s in flags), "")
    simd = {"avx512f": "AVX-512"}.get(simd, simd.upper())
    return (f"{model}, {os.cpu_count()} CPUs{', ' + simd if simd else ''}; "
            f"{platform.system()} {platform.release()}; Python {platform.python_version()}")


def _isa_report(isa):
    """The header's line on the instruction set the libraries were allowed."""
    if isa == "native":
        return "native (every library picks its widest kernels)"
    return ("limited to AVX2 on this CPU (an emulation: the same cores and caches): " +
            ", ".join(f"{k}={v}" for k, v in _isa_env(isa).items() if v is not None))


def _load():
    """The 1, 5 and 15-minute load averages (other processes competing for the CPUs), or "unknown"."""
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except (AttributeError, OSError):  # Windows
        return "unknown"


def blas_report():
    """NumPy's BLAS as threadpoolctl sees it: library, version, kernel (``architecture``), threads."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    import numpy  # noqa: F401  (loaded anyway; makes sure its BLAS is listed)
    infos = [i for i in threadpool_info() if i.get("user_api") == "blas" and "numpy" in i.get("filepath", "")]
    if not infos:
        infos = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    if not infos:
        return "unknown"
    i = infos[0]
    return (f"{i.get('internal_api', '?')} {i.get('version') or ''} kernel {i.get('architecture') or 'unknown'}, "
            f"{_threads(i.get('num_threads'))}").replace("  ", " ")


def blas_env():
    """The environment variables that change OpenBLAS's kernel choice, as they are in this run."""
    return ", ".join(f"{k}={os.environ[k]}" if k in os.environ else f"{k} unset"
                     for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"))


def limit_threads(threads):
    """Set NumPy's BLAS, shendu's kernels and torch to ``threads`` threads; returns a function that restores them."""
    import torch
    torch_before, shendu_before = torch.get_num_threads(), parallel.get_num_threads()
    torch.set_num_threads(threads)
    parallel.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # OPENBLAS_NUM_THREADS from _wanted_env applies in a re-run child
        limits = None
    else:
        limits = threadpool_limits(limits=threads, user_api="blas")

    def restore():
        torch.set_num_threads(torch_before)
        parallel.set_num_threads(shendu_before)
        if limits is not None:
            limits.restore_original_limits()

    return restore


def gemm_peak(n=GEMM_SIZE, reps=5, budget_s=1.0):
    """Best float32 GEMM rate (GFLOP/s, 2n³ per product) of NumPy's BLAS and of torch, n×n by n×n."""
    import numpy
    import torch
    gen = numpy.random.default_rng(0)
    a, b = (gen.standard_normal((n, n), dtype=numpy.float32) for _ in range(2))
    out = numpy.empty((n, n), numpy.float32)
    ta, tb, tout = torch.from_numpy(a), torch.from_numpy(b), torch.empty(n, n)

    def best(fn):
        fn()  # warm-up: threads started, pages touched
        times, start = [], time.perf_counter()
        while len(times) < reps and (time.perf_counter() - start < budget_s or len(times) < 2):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return 2 * n**3 / min(times) / 1e9

    return best(lambda: numpy.matmul(a, b, out=out)), best(lambda: torch.mm(ta, tb, out=tout))


# ------------------------------------------------------------------ timing
def _timed(step, count, into):
    clock = time.perf_counter
    for _ in range(count):
        t0 = clock()
        step()
        into.append(clock() - t0)


def auto_steps(sd_step, torch_step, warmup):
    """Warm both up and pick the number of timed steps: ≥ MIN_STEPS and ≈ MIN_SECONDS for the slower side."""
    probe = {"shendu": [], "torch": []}
    for name, step in (("shendu", sd_step), ("torch", torch_step)):
        _timed(step, max(warmup, 1), probe[name])
    slowest = max(statistics.median(v) for v in probe.values())
    return max(MIN_STEPS, min(MAX_STEPS, math.ceil(MIN_SECONDS / max(slowest, 1e-9))))


def interleaved(steps_by_framework, steps, block, cpu=None):
    """Time ``steps`` steps of each framework in alternating blocks of ``block`` steps (ABBA order).

    Returns ``{framework: [wall seconds per step]}``. When ``cpu`` is a dict, it
    receives ``{framework: [CPU seconds per step, one mean per block]}`` (the
    process's CPU time, all threads: insensitive to waiting for a busy CPU; read
    once per block because the clock costs microseconds here).
    """
    names = list(steps_by_framework)
    times = {n: [] for n in names}
    if cpu is not None:
        cpu.update({n: [] for n in names})
    round_ = 0
    while min(len(v) for v in times.values()) < steps:
        order = names if round_ % 2 == 0 else names[::-1]
        for n in order:
            count = min(block, steps - len(times[n]))
            if count == 0:
                continue
            c0 = time.process_time()
            _timed(steps_by_framework[n], count, times[n])
            if cpu is not None:
                cpu[n].append((time.process_time() - c0) / count)
        round_ += 1
    return times


def _quartiles(values):
    q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return q[0], q[2]


def peak_memory(name, framework, steps, threads, env):
    """Run :mod:`shendu.bench.memory` for one workload and framework in a fresh process; returns its dict."""
    proc = subprocess.run([sys.executable, "-m", "shendu.bench.memory", name, framework, str(steps), str(threads)],
                          env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"shendu bench: the peak-memory child for {name} ({framework}) failed:\n"
                           f"{proc.stderr.strip()}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def time_workload(name, args):
    """Time one workload in this process (one round): the interleaved medians, CPU times, steps and FLOPs."""
    from .workloads import build, flops_per_step
    workload, step_fns, sd_model = build(name)
    flops = flops_per_step(workload, sd_model)
    if args.steps:
        for fn in step_fns.values():
            _timed(fn, args.warmup, [])
        steps = args.steps
    else:
        steps = auto_steps(step_fns["shendu"], step_fns["torch"], args.warmup)
    block = args.block or max(1, steps // 10)
    cpu = {}
    times = interleaved(step_fns, steps, block, cpu)
    sd_ms, t_ms = (statistics.median(times[f]) * 1e3 for f in ("shendu", "torch"))
    sd_cpu, t_cpu = (statistics.median(cpu[f]) * 1e3 for f in ("shendu", "torch"))
    return {"name": name, "shendu_ms": sd_ms, "torch_ms": t_ms, "ratio": sd_ms / t_ms,
            "flops_per_step": flops, "steps": steps,
            "shendu_iqr_ms": [q * 1e3 for q in _quartiles(times["shendu"])],
            "torch_iqr_ms": [q * 1e3 for q in _quartiles(times["torch"])],
            "shendu_cpu_ms": sd_cpu, "torch_cpu_ms": t_cpu, "cpu_ratio": sd_cpu / t_cpu}


def timing_round(args, env):
    """One round: every workload timed in one fresh process (:mod:`shendu.bench.timing`); a list of dicts."""
    argv = ["--only", ",".join(args.names), "--threads", str(args.threads), "--steps", str(args.steps),
            "--warmup", str(args.warmup), "--block", str(args.block)]
    proc = subprocess.run([sys.executable, "-m", "shendu.bench.timing", *argv], env=env, stdout=subprocess.PIPE,
                          text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"shendu bench: the timing child failed (exit status {proc.returncode}); "
                           f"its error is above")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def median_round(rounds):
    """Of one workload's rounds, the one with the median ratio (the lower middle for an even count),
    with ``ratio_range`` [min, max] over all rounds and their number."""
    by_ratio = sorted(rounds, key=lambda r: r["ratio"])
    chosen = dict(by_ratio[(len(by_ratio) - 1) // 2])
    chosen["ratio_range"] = [by_ratio[0]["ratio"], by_ratio[-1]["ratio"]]
    chosen["rounds"] = len(rounds)
    return chosen


def finish_workload(timing, gemm_gflops, args, env):
    """The result dict of a workload (the issue's JSON schema plus extras): its median round's timing,
    the rate against the GEMM peak, targets, and the peak memory of each framework in fresh processes."""
    from .workloads import MEMORY_TARGET, WORKLOADS
    result = {"name": timing["name"], "shendu_ms": timing["shendu_ms"], "torch_ms": timing["torch_ms"],
              "ratio": timing["ratio"], "shendu_peak_mb": None, "torch_peak_mb": None,
              "gflops": timing["flops_per_step"] / (timing["shendu_ms"] * 1e6), "gemm_peak_gflops": gemm_gflops,
              # extras (not in the schema): spread, targets, torch's rate, step count
              "torch_gflops": timing["flops_per_step"] / (timing["torch_ms"] * 1e6),
              **{k: v for k, v in timing.items() if k not in ("name", "shendu_ms", "torch_ms", "ratio")},
              "target": WORKLOADS[timing["name"]].target, "memory_target": MEMORY_TARGET}
    if not args.no_memory:
        mem_steps = args.warmup + min(timing["steps"], 10)
        for fw in ("shendu", "torch"):
            m = peak_memory(timing["name"], fw, mem_steps, args.threads, env)
            result[f"{fw}_peak_mb"] = m["peak_mb"]
            result[f"{fw}_import_mb"] = m["import_mb"]
    return result


# ------------------------------------------------------------------ output
_COLUMNS = ("workload", "shendu ms", "torch ms", "ratio", "range", "target", "cpu ratio", "shendu MB", "torch MB", "mem",
            "GFLOP/s", "% peak")


def _cells(r):
    ok = "ok" if r["ratio"] <= r["target"] else "MISS"
    mem = "—"
    if r["shendu_peak_mb"] is not None:
        mem_ratio = r["shendu_peak_mb"] / r["torch_peak_mb"]
        mem = f"{mem_ratio:.2f}{'' if mem_ratio <= r['memory_target'] else ' MISS'}"
    fmt_mb = (lambda v: "—" if v is None else f"{v:.0f}")
    low, high = r.get("ratio_range", (r["ratio"], r["ratio"]))
    # a third decimal where two would print the target itself next to "MISS" (1.2047 is not ≤ 1.2)
    ratio = f"{r['ratio']:.3f}" if round(r["ratio"], 2) == r["target"] else f"{r['ratio']:.2f}"
    return [r["name"], _fmt_ms(r["shendu_ms"]), _fmt_ms(r["torch_ms"]), ratio,
            f"{low:.2f}–{high:.2f}", f"≤{r['target']:g} {ok}", f"{r['cpu_ratio']:.2f}",
            fmt_mb(r["shendu_peak_mb"]), fmt_mb(r["torch_peak_mb"]), mem,
            _fmt_rate(r["gflops"]), _fmt_rate(100 * r["gflops"] / r["gemm_peak_gflops"])]


def _fmt_rate(x):
    return f"{x:.1f}" if x >= 10 else f"{x:.2f}" if x >= 0.1 else f"{x:.2g}"


def _threads(n):
    return f"{n} thread{'' if n == 1 else 's'}"


def _fmt_ms(ms):
    return f"{ms:.3f}" if ms < 1 else f"{ms:.2f}" if ms < 100 else f"{ms:.1f}"


def format_row(r, widths):
    cells = _cells(r)
    return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))


_WIDTHS = (12, 10, 10, 6, 10, 11, 9, 10, 9, 9, 8, 7)


def format_table(results):
    """The terminal table: one row per workload."""
    header = "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(_COLUMNS, _WIDTHS)))
    return "\n".join([header, *(format_row(r, _WIDTHS) for r in results)])


def format_markdown(results, header_lines):
    """The table in Markdown, preceded by the machine description (for the README)."""
    lines = [*(f"{h}  " for h in header_lines), "",
             "| " + " | ".join(_COLUMNS) + " |", "|" + "---|" * len(_COLUMNS)]
    lines += ["| " + " | ".join(_cells(r)) + " |" for r in results]
    return "\n".join(lines) + "\n"


def _header(args, gemm_np, gemm_torch):
    import numpy
    import torch

    import shendu
    n = args.gemm_size
    malloc = (" ".join(f"{k}={os.environ.get(k)}" for k in MALLOC_ENV) +
              (" (set by shendu bench for its own process)" if os.environ.get(_CHILD_MARK) else ""))
    if args.no_malloc_env:
        malloc = "glibc defaults (--no-malloc-env): expect noisier, process-dependent timings"
    onednn = torch.backends.mkldnn.is_available()
    return [f"shendu {shendu.__version__} bench, {time.strftime('%Y-%m-%d %H:%M %Z')}: float32, "
            f"{_threads(args.threads)}, median per step after {args.warmup} warm-up steps, "
            f"shendu and PyTorch interleaved in blocks (ABBA)",
            f"machine: {machine()}",
            f"instruction set: {_isa_report(args.isa)}",
            f"load average at start: {_load()}",
            f"NumPy {numpy.__version__}, BLAS: {blas_report()}; {blas_env()}",
            f"shendu kernels: {_threads(parallel.get_num_threads())} (shendu.parallel); idle BLAS threads "
            f"{'free the cores' if shendu.backend.blas_frees_cores else 'spin on the cores'} "
            f"(OPENBLAS_THREAD_TIMEOUT={os.environ.get('OPENBLAS_THREAD_TIMEOUT', 'unset')})",
            f"PyTorch {torch.__version__} (MKL {'yes' if torch.backends.mkl.is_available() else 'no'}, "
            f"oneDNN {'yes' if onednn else 'no'}), {_threads(torch.get_num_threads())}",
            f"malloc: {malloc}",
            "shendu CPU kernels: " + "; ".join(f"[{c}] {kernels_report(c)}" for c in _kernel_runs(args)),
            f"float32 GEMM peak ({n}×{n}, best of 5): NumPy {gemm_np:.0f} GFLOP/s, "
            f"PyTorch {gemm_torch:.0f} GFLOP/s"]


# ------------------------------------------------------------------ entry point
def main(argv=None):
    """``shendu bench [--only a,b] [--json FILE] [--threads N] ...``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if importlib.util.find_spec("torch") is None:  # find_spec: importing torch takes seconds
        print("shendu bench: PyTorch is not installed; the benchmark compares against it "
              "(pip install 'shendu[test]' installs torch==2.13.0)", file=sys.stderr)
        return 2
    args = parse_args(argv)
    if not _env_ready(args) and not os.environ.get(_CHILD_MARK):
        return _rerun(argv, args)
    restore = limit_threads(args.threads)
    try:
        results, header = [], None
        for choice in _kernel_runs(args):  # --kernels both: the whole benchmark once per kernel library
            args.kernels_now = choice
            part, header = _run(args, _wanted_env(args), header)
            if args.kernels == "both":
                for r in part:
                    r["kernels"], r["name"] = choice, f"{r['name']}[{choice}]"
            results += part
    finally:
        restore()  # main may run inside another program (the tests): leave its thread settings as they were
    from ..serialization import atomic_write
    if args.json:
        atomic_write(args.json, lambda f: f.write(json.dumps(results, indent=1).encode("utf-8")))
    if args.markdown:
        atomic_write(args.markdown, lambda f: f.write(format_markdown(results, header).encode("utf-8")))
    return 0


def _kernel_runs(args):
    """The SHENDU_KERNELS values to run the benchmark with."""
    return ["numpy", "onednn"] if args.kernels == "both" else [args.kernels]


def _run(args, env, header=None):
    """Measure the GEMM peak, the timing rounds and the memory, printing as it goes; returns
    ``(results, header lines)`` (``header``: the lines of an earlier run, printed once)."""
    gemm_np, gemm_torch = gemm_peak(args.gemm_size)
    if header is None:
        header = _header(args, gemm_np, gemm_torch)
        print("\n".join(header), flush=True)
    print(f"shendu kernels: {env.get('SHENDU_KERNELS', 'auto')}", flush=True)
    rounds = []
    for i in range(args.rounds):
        rounds.append(timing_round(args, env))
        print(f"round {i + 1}/{args.rounds} (fresh process), ratios: " +
              ", ".join(f"{r['name']} {r['ratio']:.2f}" for r in rounds[-1]), flush=True)
    print(format_table([]), flush=True)
    results = []
    for k, name in enumerate(args.names):
        results.append(finish_workload(median_round([r[k] for r in rounds]), gemm_np, args, env))
        print(format_row(results[-1], _WIDTHS), flush=True)
    print(f"load average at end: {_load()}")
    print(f"ratio = shendu ms ÷ PyTorch ms, medians of wall time per step (lower is better), from the round (of "
          f"{args.rounds}, each a fresh process) with the median ratio; range: the lowest and highest ratio over "
          "the rounds; cpu ratio = the same with the process's CPU time (all threads), which waiting for a busy "
          "CPU does not inflate; mem = shendu peak RSS ÷ PyTorch's (each in a fresh process, imports included); "
          "GFLOP/s and % peak: shendu's rate against NumPy's GEMM peak")
    return results, header
