"""Splitting a heavy array kernel over the CPU's cores.

NumPy runs its element-wise loops and strided copies on one core, while the
BLAS under ``matmul`` already uses them all. Most of a convolutional training
step that is not GEMM — im2col's copies, col2im's adds, pooling, batch norm,
ReLU — is such a loop over a large array, and splits cleanly along the batch
axis: every sample is independent. NumPy releases the GIL inside those loops,
so plain Python threads, each given a contiguous slice of the batch, run them
on separate cores at once.

:func:`parallel_for` is that split, and nothing more: the kernels that use it
stay ordinary NumPy written for a slice ``[start, stop)`` of the batch, so the
math reads the same and the one-thread result is bit-identical to the
many-thread one (each output element is computed by exactly one thread, in the
same order of operations).

The thread count is :func:`get_num_threads`: ``SHENDU_NUM_THREADS``, else
``OMP_NUM_THREADS``, else the CPUs this process may use — but 1 when NumPy's
BLAS keeps its idle threads spinning on the cores (:mod:`shendu.openblas`
shortens OpenBLAS's spin; MKL, OpenMP builds or a long timeout the user set
keep it): splitting against them measured slower than not splitting. Only NumPy arrays are split; with CuPy
the GPU is already parallel and the body runs once.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

from . import backend
from .backend import get_array_module
from .backend import xp as _cpu_xp

#: Below this many elements of work a kernel runs on the calling thread alone:
#: handing a part to another thread costs ~20–40 µs, the time NumPy needs for
#: a simple pass over ~50 000 float32 values.
MIN_PARALLEL_WORK = 1 << 17


def usable_cpus():
    """The number of CPUs this process may run on (its affinity mask; ``os.cpu_count()`` off Linux)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _positive_int_env(var):
    """The positive integer in environment variable ``var``, or None."""
    value = os.environ.get(var, "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def _default_threads():
    """``SHENDU_NUM_THREADS``; else 1 when the BLAS's idle threads hold the cores
    (:data:`shendu.backend.blas_frees_cores` is False: splitting then measured slower);
    else ``OMP_NUM_THREADS``, else the CPUs this process may use."""
    explicit = _positive_int_env("SHENDU_NUM_THREADS")
    if explicit is not None:
        return explicit
    if not backend.blas_frees_cores:
        return 1
    return _positive_int_env("OMP_NUM_THREADS") or usable_cpus()


_threads = _default_threads()
_executor = None
_executor_lock = threading.Lock()
_inside = threading.local()  # set in a worker: a nested parallel_for runs serially instead of deadlocking


def get_num_threads():
    """The number of threads :func:`parallel_for` splits a kernel over (PyTorch's ``get_num_threads``)."""
    return _threads


def set_num_threads(n):
    """Split heavy kernels over ``n`` threads (1: everything on the calling thread).

    This governs shendu's own kernels. NumPy's BLAS (the GEMMs) keeps its own
    count: set ``OPENBLAS_NUM_THREADS`` before start-up, or use
    ``threadpoolctl.threadpool_limits`` at run time.
    """
    global _threads, _executor
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {n!r}")
    with _executor_lock:
        if n != _threads and _executor is not None:
            _executor.shutdown(wait=True)
            _executor = None
        _threads = n


def _pool():
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=_threads - 1, thread_name_prefix="shendu",
                                           initializer=setattr, initargs=(_inside, "active", True))
        return _executor


def parallel_for(n, body, work, xp=_cpu_xp):
    """Call ``body(start, stop)`` on contiguous parts of ``range(n)``, one part per thread, concurrently.

    The calling thread runs the first part itself and then waits for the
    others; the results come back in order. The parts must write disjoint
    outputs (typically ``out[start:stop]`` of a batch). Runs ``body(0, n)``
    once, on the calling thread, when there is one thread, when ``work`` (the
    number of elements the kernel touches) is below :data:`MIN_PARALLEL_WORK`,
    when the arrays are not NumPy's (``xp``), or inside another parallel_for.

    Returns:
        list: ``body``'s results, part by part.
    """
    threads = min(_threads, n)
    if threads <= 1 or work < MIN_PARALLEL_WORK or xp is not _cpu_xp or getattr(_inside, "active", False):
        return [body(0, n)]
    bounds = [n * i // threads for i in range(threads + 1)]
    pool = _pool()
    futures = [pool.submit(body, a, b) for a, b in zip(bounds[1:-1], bounds[2:])]
    try:
        first = body(bounds[0], bounds[1])
    finally:  # never return (or raise) while another thread still writes into the caller's arrays
        wait(futures)
    return [first] + [f.result() for f in futures]


def parallel_batch(body, *arrays):
    """``body(*parts)`` with ``parts`` the same rows ``[start:stop]`` (axis 0) of every array, concurrently.

    The common case of :func:`parallel_for`: an element-wise kernel whose
    inputs and preallocated outputs share their first axis, e.g.
    ``parallel_batch(lambda x, y: numpy.maximum(x, 0, out=y), x, y)``.
    A 0-d array is passed whole.
    """
    first = arrays[0]
    if first.ndim == 0:
        return [body(*arrays)]
    return parallel_for(first.shape[0], lambda start, stop: body(*(a[start:stop] for a in arrays)),
                        first.size, get_array_module(first))
