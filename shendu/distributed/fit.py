"""What ``fit(..., distributed=True)`` adds to the training loop (see :class:`DistributedFit`)."""
from __future__ import annotations

from ..backend import xp
from ..training import callbacks as cb
from ..training.batches import ArrayBatches
from .collectives import all_reduce
from .ddp import DEFAULT_BUCKET_MB, GradientReducer, broadcast_optimizer_state
from .sampler import ShardedBatches
from .world import init, is_main, report_fault

#: Callbacks that write files or print: rank 0 alone runs them.
MAIN_ONLY = (cb.ProgressBar, cb.ModelCheckpoint, cb.CSVLogger)


class DistributedFit:
    """Data-parallel training inside ``Trainer.fit`` (one object per ``fit`` call).

    * the training arrays are sharded by a :class:`~shendu.distributed.DistributedSampler`
      (``batch_size`` is per rank: the global batch is N × batch_size; the order of epoch e is
      the one ``fit(seed=)`` uses in one process, so N ranks with batches of b train exactly
      as one process with batches of N·b when N·b divides the number of samples);
    * after set-up (and ``resume``) rank 0's weights, buffers and optimizer states are broadcast;
    * after every backward the gradients are averaged (bucketed all-reduce, started during backward);
    * the epoch's training logs are averaged over the ranks before the callbacks see them (exact
      for means such as loss and accuracy: every rank has as many samples), the validation data
      is evaluated whole on every rank, and a stop decision (EarlyStopping) is taken if any rank
      takes it — so every rank sees the same logs and stops at the same epoch;
    * only rank 0 prints and runs :data:`MAIN_ONLY` callbacks (or any with ``main_only = True``);
    * an exception on one rank is reported to the others, which stop with a message naming it.
    """

    def __init__(self, trainer, bucket_cap_mb=DEFAULT_BUCKET_MB, drop_last=False):
        init()
        self.trainer, self.bucket_cap_mb, self.drop_last = trainer, bucket_cap_mb, drop_last
        self.main, self.reducer = is_main(), None

    def shard(self, batches):
        """This rank's batches of the training data (arrays only)."""
        if not isinstance(batches, ArrayBatches):
            raise TypeError(f"fit(distributed=True): shards training data given as arrays x, y (or an (x, y) "
                            f"tuple); got {type(batches).__name__}: pass the arrays, or iterate a "
                            f"shendu.distributed.DistributedSampler's indices yourself")
        return ShardedBatches(batches, drop_last=self.drop_last)

    def start(self):
        """Broadcast rank 0's state and install the gradient hooks (after setup and resume)."""
        self.reducer = GradientReducer(self.trainer.model, self.bucket_cap_mb)
        for opt in self.trainer.optimizers.values():
            broadcast_optimizer_state(opt)

    def callbacks(self, cbs):
        """The callbacks this rank runs."""
        if self.main:
            return cbs
        return [c for c in cbs if not (isinstance(c, MAIN_ONLY) or getattr(c, "main_only", False))]

    def sync_gradients(self):
        self.reducer.sync()

    def reduce_logs(self, logs):
        """The mean over the ranks of every number in ``logs`` (the same keys on every rank)."""
        keys = sorted(k for k, v in logs.items() if isinstance(v, (int, float)) and k != "seconds")
        values = all_reduce(xp.array([float(logs[k]) for k in keys] or [0.0]), "mean")
        return {**logs, **{k: float(v) for k, v in zip(keys, values)}}

    def agree_stop(self, stop):
        """True on every rank when any rank wants to stop."""
        return bool(all_reduce(float(bool(stop)), "max"))

    def fail(self, exc):
        report_fault(exc)

    def close(self):
        if self.reducer is not None:
            self.reducer.remove()
