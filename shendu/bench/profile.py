"""Where a shendu training step spends its time: per op, per kernel, engine and optimizer.

    python -m shendu.bench.profile lenet5 [--steps 20] [--threads 2] [--cpu] [--pyinstrument]

Times, through Python's profiling hook (``sys.setprofile``: nothing is
replaced or wrapped), every call of the ``forward`` and ``backward`` of each
:class:`shendu.autograd.Function` subclass, of the heavy kernels (the GEMM
``backend.matmul``, ``im2col``, ``col2im`` and ``pad_input`` of convolutions),
of the backward engine and of the optimizers. Each is reported with its self
time: the timed calls inside it (a kernel inside an op) are counted apart. The
report gives the time per step of each, and what is left: Python in modules,
``apply`` and the engine's bookkeeping. The hook runs on every Python call
(about 0.3 µs each), so on workloads of many tiny ops the "left" line is
overstated; compare the total with an unprofiled step. ``--cpu`` times with the
process's CPU clock (``time.process_time``, all threads) instead of the wall clock:
on a shared machine, where a step waits for a core, that is the figure that still
means something (with ``--threads 1``, where no thread waits for another).

``--pyinstrument`` runs the steps under pyinstrument (a sampling profiler,
``pip install pyinstrument``) instead and prints its call tree.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict


def _subclasses(cls):
    out, todo = [], [cls]
    while todo:
        c = todo.pop()
        for s in c.__subclasses__():
            out.append(s)
            todo.append(s)
    return out


def _labels():
    """{code object: label} of the functions the profile times."""
    from shendu import autograd, backend
    from shendu.functional import conv
    from shendu.optim import Optimizer
    labels = {}
    for cls in _subclasses(autograd.Function):
        for attr in ("forward", "backward"):
            if attr in cls.__dict__:
                labels[cls.__dict__[attr].__code__] = f"{cls.__name__}.{attr}"
    labels[backend.matmul.__code__] = "kernel: GEMM (backend.matmul)"
    for fn in ("im2col", "col2im", "pad_input"):
        labels[getattr(conv, fn).__code__] = f"kernel: conv {fn}"
    for cls in [Optimizer, *_subclasses(Optimizer)]:
        for attr in ("step", "zero_grad"):
            if attr in cls.__dict__:
                labels[cls.__dict__[attr].__code__] = f"optimizer.{attr}"
    labels[autograd.backward.__code__] = "engine: backward bookkeeping"
    return labels


class _Timers:
    """Seconds (self time) and call counts per label, from the interpreter's call and return events."""

    def __init__(self, labels, clock=time.perf_counter):
        self.seconds, self.calls = defaultdict(float), defaultdict(int)
        labels, stack = labels, []
        seconds, calls = self.seconds, self.calls

        def hook(frame, event, arg):
            if event == "call":
                label = labels.get(frame.f_code)
                if label is not None:
                    stack.append([label, frame, clock(), 0.0])
            elif event == "return" and stack and stack[-1][1] is frame:
                label, _, t0, inner = stack.pop()
                dt = clock() - t0
                seconds[label] += dt - inner  # self time: the timed calls inside are counted apart
                calls[label] += 1
                if stack:
                    stack[-1][3] += dt

        self.hook = hook


def op_breakdown(name, steps=20, warmup=5, threads=None, repeats=5, clock=time.perf_counter):
    """Run ``repeats`` × ``steps`` shendu steps of workload ``name`` with every op and kernel timed.

    Returns ``(step_seconds, rows)`` for the fastest of the repeats (on a shared
    machine the fastest run is the one least disturbed by other processes), on ``clock``: rows
    are ``(label, seconds per step, calls per step)`` sorted by time, the last row
    being the untimed remainder.
    """
    step = _warm_step(name, warmup, threads)
    return min((_timed_run(step, steps, clock) for _ in range(repeats)), key=lambda r: r[0])


def _timed_run(step, steps, clock=time.perf_counter):
    timers = _Timers(_labels(), clock)
    t0 = clock()
    sys.setprofile(timers.hook)
    try:
        for _ in range(steps):
            step()
    finally:
        sys.setprofile(None)
    total = clock() - t0
    rows = sorted(((k, s / steps, timers.calls[k] / steps) for k, s in timers.seconds.items()), key=lambda r: -r[1])
    timed = sum(r[1] for r in rows)
    rows.append(("left: modules, Function.apply, Tensor wrapping (forward)", total / steps - timed, 0))
    return total / steps, rows


def _limit(threads):
    """Set shendu's kernels and NumPy's BLAS to ``threads`` threads (the BLAS's limit is returned, to keep)."""
    from .. import parallel
    parallel.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=threads, user_api="blas")


def format_breakdown(name, step_seconds, rows, clock="wall"):
    lines = [f"{name}: {step_seconds * 1e3:.3f} ms per step ({clock} clock, fastest timed run, profiling hook included)",
             f"{'where':58s} {'ms/step':>9s} {'%':>6s} {'calls/step':>10s}"]
    for label, sec, calls in rows:
        lines.append(f"{label:58s} {sec * 1e3:9.3f} {100 * sec / step_seconds:6.1f} {calls:10.0f}")
    return "\n".join(lines)


def pyinstrument_report(name, steps=20, warmup=5, threads=None):
    """The pyinstrument call tree (text) of ``steps`` shendu steps of workload ``name``."""
    from pyinstrument import Profiler
    step = _warm_step(name, warmup, threads)
    profiler = Profiler(interval=0.0002)
    profiler.start()
    for _ in range(steps):
        step()
    profiler.stop()
    return profiler.output_text(unicode=True, color=False, show_all=False)


def main(argv=None):
    from .workloads import WORKLOADS
    p = argparse.ArgumentParser(prog="python -m shendu.bench.profile",
                                description="Per-op time breakdown of one shendu workload's step.")
    p.add_argument("names", nargs="+", choices=list(WORKLOADS))
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--repeats", type=int, default=5, help="report the fastest of this many runs (default 5)")
    p.add_argument("--cpu", action="store_true", help="time with the process's CPU clock, not the wall clock")
    p.add_argument("--pyinstrument", action="store_true", help="print pyinstrument's call tree instead")
    args = p.parse_args(argv)
    keep = _limit(args.threads) if args.threads else None  # noqa: F841
    for name in args.names:
        if args.pyinstrument:
            print(pyinstrument_report(name, args.steps, args.warmup))
        else:
            clock = time.process_time if args.cpu else time.perf_counter
            rows = op_breakdown(name, args.steps, args.warmup, repeats=args.repeats, clock=clock)
            print(format_breakdown(name, *rows, clock="CPU" if args.cpu else "wall"))
            print()
    return 0


def _warm_step(name, warmup, threads):
    """The shendu training step of workload ``name``, built and run ``warmup`` times."""
    from .workloads import build

    if threads:
        _limit(threads)
    _, fns, _ = build(name, frameworks=("shendu",))
    step = fns["shendu"]
    for _ in range(warmup):
        step()
    return step


if __name__ == "__main__":
    raise SystemExit(main())

