"""The world of processes: MPI's ``COMM_WORLD`` when launched by ``mpirun``, else one process.

:func:`init` reads the MPI environment (the variables ``mpirun`` sets: ``OMPI_COMM_WORLD_SIZE``,
``PMIX_RANK``, ``PMI_SIZE``); without them the world is this process alone (rank 0 of 1) and
every collective returns its input, so code written for N processes runs unchanged on one.

Faults never hang: every collective is started non-blocking and polled (:func:`wait`) until it
completes, a peer reports a failure (a rank that raises sends "rank r failed: …" to the others
on a separate communicator before it exits, :func:`report_fault`), or the timeout passes
(``init(timeout=)``, default 300 s, or the environment variable ``SHENDU_DIST_TIMEOUT``): then
:class:`DistributedError` names the rank(s). A rank killed by a signal is reported by ``mpirun``
itself ("prterun noticed that process rank 1 … exited on signal 9"), which ends the others.
"""
from __future__ import annotations

import atexit
import os
import socket
import sys
import time

from .._extras import require

_ENV = ("OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK")
_FAULT_TAG = 7301
DEFAULT_TIMEOUT = 300.0


class DistributedError(RuntimeError):
    """A collective that could not complete: a rank failed, was killed, or did not answer in time."""


class _World:
    __slots__ = ("mpi", "comm", "faults", "rank", "size", "timeout", "peers", "count", "broken")

    def __init__(self):
        self.mpi = self.comm = self.faults = None
        self.rank, self.size, self.timeout, self.peers, self.count, self.broken = 0, 1, DEFAULT_TIMEOUT, [], 0, False


_world = None


def launched_by_mpi():
    """True when this process was started by ``mpirun`` / ``mpiexec`` (their environment variables are set)."""
    return any(k in os.environ for k in _ENV)


def init(timeout=None):
    """Join the world: MPI's ``COMM_WORLD`` under ``mpirun``, else a one-process world (no MPI needed).

    Idempotent; returns ``(rank, world_size)``. ``timeout``: seconds a collective may wait for the
    others before :class:`DistributedError` (default ``SHENDU_DIST_TIMEOUT`` or 300). Needs the
    ``shendu[mpi]`` extra (mpi4py, Open MPI) only when launched by ``mpirun``.
    """
    global _world
    if timeout is not None and not (isinstance(timeout, (int, float)) and timeout > 0):
        raise ValueError(f"distributed.init: timeout must be a positive number of seconds, got {timeout!r}")
    if _world is None:
        w = _World()
        w.timeout = float(os.environ.get("SHENDU_DIST_TIMEOUT", DEFAULT_TIMEOUT))
        if launched_by_mpi():
            # MPI_Finalize after a fault would wait forever for the dead rank: shendu finalizes itself
            os.environ.setdefault("MPI4PY_RC_FINALIZE", "0")
            w.mpi = require("mpi4py.MPI", "mpi", "shendu.distributed under mpirun")
            w.comm = w.mpi.COMM_WORLD
            w.faults = w.comm.Dup()  # fault reports travel apart from the collectives
            w.rank, w.size = w.comm.Get_rank(), w.comm.Get_size()
            atexit.register(_finalize)
        _world = w
        if w.size > 1:
            from .collectives import all_gather_object

            w.peers = all_gather_object([socket.gethostname(), os.getpid()])
    if timeout is not None:
        _world.timeout = float(timeout)
    return _world.rank, _world.size


def world():
    """The world (initialised on first use)."""
    if _world is None:
        init()
    return _world


def rank():
    """This process's rank, 0 … world_size() − 1 (0 without MPI)."""
    return world().rank


def world_size():
    """The number of processes N (1 without MPI)."""
    return world().size


def is_main():
    """True on rank 0: the rank that prints, plots and writes checkpoints."""
    return world().rank == 0


def is_distributed():
    """True when the world has more than one process."""
    return world().size > 1


def set_timeout(seconds):
    """Change the collective timeout (seconds); returns the previous one."""
    w = world()
    previous = w.timeout
    init(timeout=seconds)
    return previous


def wait(request, what):
    """Poll a non-blocking MPI request until it completes; raise :class:`DistributedError` naming
    the rank when a peer reports a fault or ``timeout`` seconds pass (never a silent hang)."""
    w = world()
    w.count += 1
    deadline = time.monotonic() + w.timeout
    pause = 0.0
    while not request.Test():
        check_faults(what)
        if time.monotonic() > deadline:
            w.broken = True
            raise DistributedError(f"distributed: rank {w.rank}: {what} did not complete within {w.timeout:g} s "
                                   f"(collective #{w.count}); {_suspects(w)}. Raise the timeout with "
                                   f"shendu.distributed.init(timeout=...) or SHENDU_DIST_TIMEOUT if the ranks "
                                   f"are only slow")
        time.sleep(pause)
        pause = min(1e-3, pause + 2e-5)  # spin first (small all-reduces finish in µs), then yield the core


def check_faults(what="distributed"):
    """Raise :class:`DistributedError` if another rank has reported a failure."""
    w = world()
    if w.faults is None:
        return
    status = w.mpi.Status()
    if w.faults.Iprobe(source=w.mpi.ANY_SOURCE, tag=_FAULT_TAG, status=status):
        buf = bytearray(status.Get_count(w.mpi.BYTE))
        w.faults.Recv([buf, w.mpi.BYTE], source=status.Get_source(), tag=_FAULT_TAG)
        w.broken = True
        raise DistributedError(f"distributed: rank {w.rank} stops during {what}: rank {status.Get_source()} "
                               f"failed: {buf.decode('utf-8', 'replace')}")


def report_fault(exc):
    """Tell every other rank that this one failed with ``exc`` (so that they stop at their next
    collective instead of waiting for the timeout); marks the world broken (no MPI_Finalize)."""
    w = world()
    w.broken = True
    if w.faults is None or isinstance(exc, DistributedError):
        return
    msg = f"{type(exc).__name__}: {exc}".encode("utf-8")[:4000]
    requests = [w.faults.Isend([msg, w.mpi.BYTE], dest=r, tag=_FAULT_TAG) for r in range(w.size) if r != w.rank]
    deadline = time.monotonic() + 2.0
    while requests and time.monotonic() < deadline:  # best effort: a dead peer never receives
        requests = [r for r in requests if not r.Test()]
        time.sleep(1e-3)


def _suspects(w):
    """Which ranks look dead: those on this host whose process is gone; else 'a rank did not answer'."""
    host = socket.gethostname()
    dead = [r for r, (h, pid) in enumerate(w.peers) if r != w.rank and h == host and not _alive(pid)]
    if dead:
        return f"rank{'s' * (len(dead) > 1)} {', '.join(map(str, dead))} ended (process gone)"
    return "one of the other ranks is stuck or unreachable (each rank prints its own state)"


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rpartition(")")[2].split()[0] not in ("Z", "X")  # a zombie has ended
    except OSError:
        return False


def _finalize():
    w = _world
    if w is not None and w.mpi is not None and not w.broken and not w.mpi.Is_finalized():
        w.mpi.Finalize()


def guard_exit(exc):
    """Report ``exc`` to the other ranks and print it with this rank's number (for the command line)."""
    report_fault(exc)
    print(f"shendu.distributed: rank {rank()} of {world_size()} failed: {type(exc).__name__}: {exc}",
          file=sys.stderr, flush=True)
