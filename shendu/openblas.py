"""NumPy's OpenBLAS threads, and how long they spin when idle.

After every multi-threaded GEMM, OpenBLAS's worker threads busy-wait for
2^28 CPU cycles (~0.1 s) before they sleep. In a training loop GEMMs come more
often than that, so the workers hold the other cores all the time, and any
other thread that wants them — shendu's own kernels (:mod:`shendu.parallel`),
or PyTorch's in a benchmark — fights them: splitting shendu's kernels over two
threads measured 5–12 % *slower* than one thread, and PyTorch's steps up to 2×
slower right after shendu's (bench/NOTES.md §8).

``OPENBLAS_THREAD_TIMEOUT=16`` (2^16 cycles, ~25 µs) frees the cores at once
and still keeps back-to-back GEMMs warm. OpenBLAS reads the variable when it
loads, so:

* :func:`before_numpy` (called by :mod:`shendu.backend` before it imports
  NumPy) puts it in the environment when NumPy is not loaded yet;
* :func:`frees_cores` (called right after) checks what the loaded library
  really uses, and when NumPy had loaded it earlier, makes it re-read the
  environment and stop its threads (they restart with the short timeout on
  the next threaded GEMM: the path OpenBLAS itself takes after a ``fork``).

A timeout the user set is never changed. Nothing here imports NumPy.
"""
from __future__ import annotations

import ctypes
import os
import sys

TIMEOUT_VAR = "OPENBLAS_THREAD_TIMEOUT"
#: log2 of the cycles an idle OpenBLAS thread spins before it sleeps (OpenBLAS clamps to 4..30; default 28).
TIMEOUT = 16
#: Timeouts up to this (2^20 cycles, ~0.4 ms) leave the cores to other threads between GEMMs.
MAX_FREEING_TIMEOUT = 20

_user_timeout = os.environ.get(TIMEOUT_VAR)


def before_numpy():
    """Put ``OPENBLAS_THREAD_TIMEOUT=16`` in the environment if NumPy is not loaded and the user set none."""
    if _user_timeout is None and "numpy" not in sys.modules:
        os.environ[TIMEOUT_VAR] = str(TIMEOUT)


def library():
    """The OpenBLAS this process has loaded, as a ``ctypes.CDLL`` (found in /proc/self/maps), or None."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.rsplit("/", 1)[-1] and ".so" in line}
    except OSError:  # not Linux
        return None
    for path in sorted(paths):
        try:
            return ctypes.CDLL(path)  # the loaded library's handle: dlopen of a loaded path does not load it again
        except OSError:
            continue
    return None


def _call(lib, *names, restype=ctypes.c_int):
    """Call the first of ``names`` that ``lib`` exports (no arguments); None when it has none of them."""
    for name in names:
        fn = getattr(lib, name, None)
        if fn is not None:
            fn.restype = restype
            return fn()
    return None


def frees_cores():
    """True when NumPy's BLAS leaves the cores to other threads soon after a GEMM.

    That is an OpenBLAS that is single-threaded (built so, or limited to one
    thread), or that uses pthreads and a timeout ≤ 2^20 cycles — after this
    function shortened it, where NumPy loaded it before shendu and the user set
    none. False for anything else (MKL, Accelerate, OpenMP builds of OpenBLAS,
    a long timeout the user chose): :mod:`shendu.parallel` then keeps shendu's
    kernels on one thread.
    """
    lib = library()
    if lib is None:
        return False
    parallel = _call(lib, "openblas_get_parallel", "scipy_openblas_get_parallel64_", "scipy_openblas_get_parallel")
    threads = _call(lib, "openblas_get_num_threads", "scipy_openblas_get_num_threads64_",
                    "scipy_openblas_get_num_threads")
    if parallel == 0 or threads == 1:  # no worker threads
        return True
    timeout = _call(lib, "openblas_thread_timeout")
    if parallel != 1 or timeout is None:
        return False
    if not 0 < timeout <= MAX_FREEING_TIMEOUT and _user_timeout is None:
        has_restart = all(getattr(lib, name, None) is not None for name in ("openblas_read_env", "blas_thread_shutdown_"))
        if has_restart:
            os.environ[TIMEOUT_VAR] = str(TIMEOUT)
            _call(lib, "openblas_read_env", restype=None)
            _call(lib, "blas_thread_shutdown_")
            timeout = _call(lib, "openblas_thread_timeout")
    return 0 < timeout <= MAX_FREEING_TIMEOUT
