"""Peak resident memory of one workload and one framework, measured in a fresh process.

    python -m shendu.bench.memory NAME FRAMEWORK STEPS THREADS

builds the workload for FRAMEWORK alone (``shendu`` never imports torch), runs
STEPS steps and prints one JSON line ``{"peak_mb", "import_mb"}``: the process's
high-water mark of resident memory (``VmHWM``) and its resident memory after
the imports, before the model was built (both in MiB, 2²⁰ bytes). The parent
(:mod:`shendu.bench.runner`) starts one such process per workload and framework
with its own environment (malloc settings, thread counts).
"""
from __future__ import annotations

import json
import os
import sys

from .. import parallel


def _status_mb(field):
    """A memory field of /proc/self/status (``VmHWM``, ``VmRSS``) in MiB, or None off Linux."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return None


def peak_mb():
    """This process's peak resident memory in MiB (VmHWM; ru_maxrss where /proc is missing)."""
    hwm = _status_mb("VmHWM")
    if hwm is not None:
        return hwm
    import resource
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss / 2**20 if sys.platform == "darwin" else maxrss / 1024  # bytes on macOS, kB elsewhere


def current_mb():
    """Resident memory now, in MiB (the peak so far where /proc is missing)."""
    rss = _status_mb("VmRSS")
    return peak_mb() if rss is None else rss


def measure(name, framework, steps, threads):
    """Run ``steps`` steps of workload ``name`` for ``framework`` in this process; return the memory figures."""
    from . import workloads
    if framework == "torch":
        import torch
        torch.set_num_threads(threads)
        # The first optimizer imports torch._dynamo (~70 MB): count it with the imports, not the workload.
        torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    _limit_blas(threads)
    parallel.set_num_threads(threads)
    import_mb = current_mb()
    _, step_fns, _ = workloads.build(name, frameworks=(framework,))
    step = step_fns[framework]
    for _ in range(steps):
        step()
    return {"peak_mb": peak_mb(), "import_mb": import_mb}


def _limit_blas(threads):
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # the parent set OPENBLAS_NUM_THREADS / OMP_NUM_THREADS in our environment
        return None
    return threadpool_limits(limits=threads, user_api="blas")


def main(argv=None):
    name, framework, steps, threads = (sys.argv[1:] if argv is None else argv)
    print(json.dumps(measure(name, framework, int(steps), int(threads))))
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown: nothing to flush, and it is slow with torch loaded


if __name__ == "__main__":
    main()
