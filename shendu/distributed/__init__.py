"""Data-parallel training over MPI (the ``shendu[mpi]`` extra: mpi4py with Open MPI), launched by
``mpirun -n N python script.py`` or ``mpirun -n N shendu train MODEL --distributed``.

Every rank runs the same program on its own shard of the data; rank 0's initial weights and
optimizer state are broadcast, the gradients are averaged with bucketed all-reduces started during
backward, and only rank 0 prints and writes files (docs/distributed.md)::

    from shendu import distributed as dist
    dist.init()                                  # a one-process world without mpirun
    model.compile("sgd", lr=0.1 * dist.world_size())          # linear scaling (Goyal et al.)
    model.fit(x, y, batch_size=32, epochs=5, distributed=True)  # 32 per rank

The pieces, for a loop of one's own: :func:`init`, :func:`rank`, :func:`world_size`,
:func:`is_main`, :func:`barrier`, :func:`broadcast`, :func:`all_reduce`, :func:`all_gather`,
:class:`DistributedSampler`, :class:`DistributedDataParallel` (then ``ddp.sync_gradients()``
between ``backward`` and ``step``), :class:`SyncBatchNorm` and :func:`convert_sync_batchnorm`.
A failed or killed rank stops the others with :class:`DistributedError` naming it.
"""
from .collectives import all_gather, all_reduce, barrier, broadcast
from .ddp import DistributedDataParallel, GradientReducer, broadcast_module, broadcast_optimizer_state, broadcast_state
from .fit import DistributedFit
from .sampler import DistributedSampler, ShardedBatches
from .sync_bn import SyncBatchNorm, SyncBatchNormFunction, convert_sync_batchnorm
from .world import (DistributedError, init, is_distributed, is_main, launched_by_mpi, rank, report_fault, set_timeout,
                    world_size)

__all__ = ["init", "rank", "world_size", "is_main", "is_distributed", "launched_by_mpi", "barrier", "broadcast",
           "all_reduce", "all_gather", "set_timeout", "report_fault", "DistributedError", "DistributedSampler",
           "ShardedBatches", "DistributedDataParallel", "GradientReducer", "broadcast_module",
           "broadcast_optimizer_state", "broadcast_state", "SyncBatchNorm", "SyncBatchNormFunction",
           "convert_sync_batchnorm", "DistributedFit"]
