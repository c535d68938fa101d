"""``shendu tune --workers N``: the study is created once, N worker processes share it, and the
calling process then trains and tests the best configuration once (docs/distributed.md)."""
from __future__ import annotations

import signal
import subprocess
import sys

from .protocol import tune_model

#: The options a worker is started with, as ``shendu tune`` spells them (the study's shared settings).
SHARED = (("dataset", "--dataset"), ("trials", "--trials"), ("sampler", "--sampler"), ("storage", "--storage"),
          ("study", "--study"), ("epochs", "--epochs"), ("space", "--space"), ("pruner", "--pruner"),
          ("timeout", "--timeout"), ("out", "--out"), ("seed", "--seed"), ("data_dir", "--data-dir"),
          ("heartbeat", "--heartbeat"))


def worker_argv(args, index):
    """The ``shendu tune`` arguments of worker ``index`` (0, 1, …): the shared options, ``--worker`` and
    its own sampler seed (``--sampler-seed`` or ``--seed``, plus 1 + index)."""
    argv = [args.model]
    for key, flag in SHARED:
        value = getattr(args, key, None)
        if value is not None:
            argv += [flag, str(value)]
    base = args.seed if args.sampler_seed is None else args.sampler_seed
    argv += ["--worker", "--sampler-seed", str(base + 1 + index)]
    return argv + (["--quiet"] if args.quiet else [])


def run_workers(args, options, stream=None):
    """Create the study, run ``args.workers`` worker processes of ``shendu tune`` on it and wait for them.
    A worker that dies is reported by its number and exit; its trial is failed by the heartbeat and run
    again by another worker (or by the final step, which runs whatever is left). Returns the exit codes."""
    stream = stream or sys.stdout
    if not (isinstance(args.workers, int) and args.workers >= 1):
        raise ValueError(f"tune: --workers must be a positive integer, got {args.workers!r}")
    if args.worker or args.create_study:
        raise ValueError("tune: --workers starts its own workers; it does not go with --worker or --create-study")
    created = tune_model(**options, create_only=True)
    print(f"tune: study {created['study']!r} in {created['storage']}: starting {args.workers} workers", file=stream,
          flush=True)
    procs = [subprocess.Popen([sys.executable, "-m", "shendu", "tune", *worker_argv(args, i)])
             for i in range(args.workers)]
    codes = [p.wait() for p in procs]
    for i, (p, code) in enumerate(zip(procs, codes)):
        if code:
            how = f"signal {signal.Signals(-code).name}" if code < 0 else f"status {code}"
            print(f"tune: worker {i} (pid {p.pid}) ended with {how}; its running trial is failed and run again",
                  file=stream, flush=True)
    return codes
