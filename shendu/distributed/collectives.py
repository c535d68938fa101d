"""Collectives over the world: broadcast, all-reduce and all-gather of tensors, arrays and
JSON-able objects (objects travel as JSON text, never pickled: receiving runs no code).

With one process every collective returns (a copy of) its input. With N they are MPI's
``Ibcast`` / ``Iallreduce`` / ``Iallgather``, started non-blocking and polled by
:func:`~shendu.distributed.world.wait` (a failed or silent rank raises instead of hanging).
"""
from __future__ import annotations

import json

from ..backend import xp
from ..tensor import Tensor
from .world import wait, world

OPS = ("sum", "mean", "max", "min")


def _array(x, who):
    if isinstance(x, Tensor):
        return x.data
    if hasattr(x, "dtype") and hasattr(x, "shape"):
        return x
    raise TypeError(f"distributed.{who}: expected a Tensor or an array, got {type(x).__name__}")


def _contiguous(a):
    return a if a.flags.c_contiguous else xp.ascontiguousarray(a)


def broadcast(value, root=0):
    """Rank ``root``'s ``value`` on every rank.

    A Tensor or array is overwritten in place with root's values (it must have root's shape and
    dtype on every rank) and returned; any other value must be JSON-able and is returned (root's).
    """
    w = world()
    if not 0 <= root < w.size:
        raise ValueError(f"distributed.broadcast: root must be a rank in 0..{w.size - 1}, got {root}")
    if isinstance(value, Tensor) or (hasattr(value, "dtype") and hasattr(value, "shape")):
        a = _array(value, "broadcast")
        if w.size > 1:
            buf = _contiguous(a)
            wait(w.comm.Ibcast(buf, root=root), f"broadcast of an array of shape {a.shape} from rank {root}")
            if buf is not a:
                a[...] = buf
        return value
    if w.size == 1:
        return json.loads(json.dumps(value))
    data = xp.frombuffer(json.dumps(value).encode("utf-8"), dtype=xp.uint8) if w.rank == root else None
    n = xp.array([0 if data is None else data.size], dtype=xp.int64)
    wait(w.comm.Ibcast(n, root=root), f"broadcast of an object's size from rank {root}")
    buf = data.copy() if data is not None else xp.empty(int(n[0]), dtype=xp.uint8)
    wait(w.comm.Ibcast(buf, root=root), f"broadcast of an object from rank {root}")
    return json.loads(buf.tobytes().decode("utf-8"))


def all_reduce(value, op="sum"):
    """Combine ``value`` (a Tensor, an array or a number) element-wise over the ranks.

    ``op``: ``'sum'`` Σ_r x_r, ``'mean'`` (1/N) Σ_r x_r, ``'max'``, ``'min'``. A Tensor or array is
    overwritten in place and returned; a number comes back as a float. Shapes must agree on every rank.
    """
    if op not in OPS:
        raise ValueError(f"distributed.all_reduce: op must be one of {', '.join(OPS)}, got {op!r}")
    w = world()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        a = xp.array([float(value)])
        return float(all_reduce(a, op)[0])
    a = _array(value, "all_reduce")
    if w.size > 1:
        mpi_op = {"sum": w.mpi.SUM, "mean": w.mpi.SUM, "max": w.mpi.MAX, "min": w.mpi.MIN}[op]
        buf = _contiguous(a)
        wait(w.comm.Iallreduce(w.mpi.IN_PLACE, buf, op=mpi_op), f"all_reduce({op}) of shape {a.shape}")
        if op == "mean":
            buf /= w.size
        if buf is not a:
            a[...] = buf
    return value


def all_gather(value):
    """Every rank's ``value``, in rank order: a Tensor/array gives an array of shape (N, *shape)
    (the same shape on every rank); any other JSON-able value gives a list of N values."""
    if isinstance(value, Tensor) or (hasattr(value, "dtype") and hasattr(value, "shape")):
        a = _contiguous(_array(value, "all_gather"))
        w = world()
        out = xp.empty((w.size, *a.shape), dtype=a.dtype)
        if w.size == 1:
            out[0] = a
        else:
            wait(w.comm.Iallgather(a, out), f"all_gather of shape {a.shape}")
        return out
    return all_gather_object(value)


def all_gather_object(value):
    """Every rank's JSON-able ``value``, as a list in rank order."""
    w = world()
    if w.size == 1:
        return [json.loads(json.dumps(value))]
    data = xp.frombuffer(json.dumps(value).encode("utf-8"), dtype=xp.uint8).copy()
    sizes = all_gather(xp.array([data.size], dtype=xp.int64))[:, 0]
    width = int(sizes.max())
    padded = xp.zeros(width, dtype=xp.uint8)
    padded[:data.size] = data
    rows = all_gather(padded)
    return [json.loads(rows[r, :int(sizes[r])].tobytes().decode("utf-8")) for r in range(w.size)]


def barrier():
    """Wait until every rank has reached this point (with the timeout of every collective)."""
    w = world()
    if w.size > 1:
        wait(w.comm.Ibarrier(), "barrier")


class PendingReduce:
    """An all-reduce (sum) of one flat buffer, started and not yet waited for (a gradient bucket)."""

    __slots__ = ("buffer", "request", "what")

    def __init__(self, buffer, what):
        w = world()
        self.buffer, self.what = buffer, what
        self.request = w.comm.Iallreduce(w.mpi.IN_PLACE, buffer, op=w.mpi.SUM) if w.size > 1 else None

    def wait(self):
        """Block (polling, with the timeout) until the sum is in ``buffer``; returns it."""
        if self.request is not None:
            wait(self.request, self.what)
            self.request = None
        return self.buffer
