"""Data parallelism: :class:`DistributedDataParallel` averages the gradients of N replicas with
bucketed all-reduces started during backward; :func:`broadcast_state` makes the replicas equal."""
from __future__ import annotations

from ..autograd import is_grad_enabled
from ..backend import xp
from ..nn.module import Module
from ..tensor import Tensor
from .collectives import PendingReduce, broadcast
from .world import world, world_size

DEFAULT_BUCKET_MB = 25.0  # PyTorch's bucket_cap_mb


class _Bucket:
    """Consecutive parameters (in reverse registration order, the order backward reaches them) whose
    gradients travel together in one flat buffer: [grad_0 | grad_1 | … | present_0 … present_k]."""

    __slots__ = ("index", "params", "offsets", "dtype", "size", "pending", "seen")

    def __init__(self, index, params):
        self.index, self.params, self.dtype = index, params, params[0].data.dtype
        self.offsets, total = [], 0
        for p in params:
            self.offsets.append((total, total + p.data.size))
            total += p.data.size
        self.size, self.pending, self.seen = total, None, None

    def launch(self, count):
        """Copy the gradients into a fresh flat buffer and start its non-blocking sum over the ranks."""
        buf = xp.zeros(self.size + len(self.params), dtype=self.dtype)
        self.seen = []
        for i, (p, (a, b)) in enumerate(zip(self.params, self.offsets)):
            g = p.grad
            if g is not None:  # an unused parameter contributes zeros, and a 0 to its presence count
                buf[a:b] = g.data.reshape(-1)
                buf[self.size + i] = 1
            self.seen.append((g, None if g is None else g.data))
        self.pending = PendingReduce(buf, f"gradient all-reduce of bucket {self.index} "
                                          f"({len(self.params)} parameters, {buf.nbytes} bytes, step {count})")

    def stale(self):
        """True when a gradient was (re)accumulated after the launch (``_accumulate`` makes a new array)."""
        return any(p.grad is not g or (g is not None and g.data is not d) for p, (g, d) in zip(self.params, self.seen))

    def finish(self, n):
        buf = self.pending.wait()
        self.pending = None
        for i, (p, (a, b)) in enumerate(zip(self.params, self.offsets)):
            if buf[self.size + i] == 0:  # no rank computed a gradient for it: leave it None, as one process would
                continue
            g = buf[a:b].reshape(p.data.shape)
            g /= n
            if p.grad is None:
                p.grad = Tensor._wrap(g, False, None)
            else:
                p.grad.data = g


class DistributedDataParallel(Module):
    """Wraps a model for data-parallel training over the world's N ranks (Horovod's and PyTorch's scheme).

    At construction rank 0's parameters and buffers are broadcast (every replica starts equal).
    During each backward the gradients are summed over the ranks in **buckets** of about
    ``bucket_cap_mb`` MB: a bucket's all-reduce (``MPI_Iallreduce``, non-blocking, one flat buffer)
    starts as soon as the backward hooks of the modules owning its parameters have fired (backward
    reaches the last layers first, so their buckets travel while the first layers' gradients are
    computed); :meth:`sync_gradients` starts the rest, waits for all and divides by N, so that
    every replica holds ḡ = (1/N) Σ_r g_r — the gradient of the mean loss over the global batch
    when every rank's batch has the same size. Call it after ``loss.backward()`` and before
    ``optimizer.step()`` (``fit(distributed=True)`` does). A gradient accumulated again after its
    bucket left (a parameter shared by two layers) is detected and its bucket re-sent, so the
    result never depends on the order backward happens to take.

    ``forward`` is the wrapped model's; ``module`` is the model (save and load it, not the wrapper).
    Buffers other than SyncBatchNorm's statistics are not synchronised after the start (as PyTorch
    with ``broadcast_buffers=False``).

    Shapes: as the wrapped model. Args: ``module``; ``bucket_cap_mb`` (default 25).
    """

    def __init__(self, module, bucket_cap_mb=DEFAULT_BUCKET_MB):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected a shendu Module, got {type(module).__name__}")
        if not bucket_cap_mb > 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be positive, got {bucket_cap_mb!r}")
        self.module = module
        object.__setattr__(self, "_ddp", GradientReducer(module, bucket_cap_mb))

    def forward(self, *args, **kwargs):
        self._ddp.new_step()
        return self.module(*args, **kwargs)

    def sync_gradients(self):
        """Finish the gradient all-reduce: every gradient becomes the mean over the ranks."""
        self._ddp.sync()

    @property
    def buckets(self):
        """The buckets: lists of parameter shapes, in the order they are sent."""
        return [[tuple(p.shape) for p in b.params] for b in self._ddp.buckets]

    @property
    def stats(self):
        """Counts so far: ``steps``, ``buckets`` (per step), ``launched_in_backward`` (buckets that left
        from a backward hook, before backward ended) and ``resent`` (gradient changed after leaving)."""
        r = self._ddp
        return {"steps": r.steps, "buckets": len(r.buckets), "launched_in_backward": r.early, "resent": r.late}

    def remove_hooks(self):
        """Unregister the backward hooks (the model trains alone again)."""
        self._ddp.remove()


class GradientReducer:
    """The gradient all-reduce of data parallelism for ``model`` (what :class:`DistributedDataParallel`
    and ``fit(distributed=True)`` use): broadcasts rank 0's parameters and buffers, cuts the
    parameters into buckets of ``bucket_cap_mb`` MB in reverse order, launches a bucket's
    ``Iallreduce`` from the modules' backward hooks once all its gradients are in, and
    :meth:`sync` launches the rest, waits, and leaves ḡ = (1/N) Σ_r g_r in every ``.grad``.
    ``late`` counts buckets re-sent because a gradient changed after they left."""

    def __init__(self, model, bucket_cap_mb):
        broadcast_module(model)
        params = [p for p in model.parameters() if p.requires_grad]
        cap = int(bucket_cap_mb * 2 ** 20)
        self.buckets, current, size = [], [], 0
        for p in reversed(params):
            if current and (size + p.data.nbytes > cap or p.data.dtype != current[0].data.dtype):
                self.buckets.append(_Bucket(len(self.buckets), current))
                current, size = [], 0
            current.append(p)
            size += p.data.nbytes
        if current:
            self.buckets.append(_Bucket(len(self.buckets), current))
        self.bucket_of = {id(p): b for b in self.buckets for p in b.params}
        self.handles, self.owner_calls, self.fired, self.ready = [], {}, {}, set()
        self.next, self.steps, self.late, self.early = 0, 0, 0, 0
        self.active = world_size() > 1
        if self.active:
            for mod in model.modules():
                own = [p for p in mod.parameters(recurse=False) if id(p) in self.bucket_of]
                if own:
                    self.handles.append(mod.register_forward_hook(self._forward_hook))
                    self.handles.append(mod.register_full_backward_hook(self._make_backward_hook(own)))

    def new_step(self):
        if self.next or self.ready:  # a forward without sync: forget what the previous backward launched
            for b in self.buckets:
                if b.pending is not None:
                    b.pending.wait()
                    b.pending = None
        self.owner_calls.clear()
        self.fired.clear()
        self.ready.clear()
        self.next = 0

    def _forward_hook(self, module, inputs, output):
        if not is_grad_enabled():  # evaluation forwards have no backward to wait for
            return
        self.owner_calls[id(module)] = self.owner_calls.get(id(module), 0) + 1

    def _make_backward_hook(self, own):
        def hook(module, grad_input, grad_output):
            k = id(module)
            self.fired[k] = self.fired.get(k, 0) + 1
            if self.fired[k] >= self.owner_calls.get(k, 1):  # every call of the module is through backward
                self.ready.update(id(p) for p in own if p.grad is not None)
                self._launch_ready()
        return hook

    def _launch_ready(self):
        # buckets leave in index order, the same on every rank (MPI matches collectives by order)
        while self.next < len(self.buckets) and all(id(p) in self.ready for p in self.buckets[self.next].params):
            self.buckets[self.next].launch(self.steps)
            self.next += 1
            self.early += 1

    def sync(self):
        """Launch the buckets not yet sent, wait for all, and store the mean gradients."""
        if not self.active:
            return
        while self.next < len(self.buckets):
            self.buckets[self.next].launch(self.steps)
            self.next += 1
        n = world().size
        for b in self.buckets:
            b.pending.wait()
            if b.stale():  # deterministic, hence the same on every rank: re-send it whole
                self.late += 1
                b.launch(self.steps)
            b.finish(n)
        self.steps += 1
        self.owner_calls.clear()
        self.fired.clear()
        self.ready.clear()
        self.next = 0

    def remove(self):
        """Unregister the hooks."""
        for h in self.handles:
            h.remove()
        self.handles = []


def broadcast_module(model, root=0):
    """Overwrite every parameter and buffer with rank ``root``'s (in place)."""
    for p in model.parameters():
        broadcast(p.data, root)
    for b in model.buffers():
        if b is not None:
            broadcast(b.data, root)


def broadcast_optimizer_state(optimizer, root=0):
    """Give every rank rank ``root``'s optimizer state (its arrays, step counts and hyperparameters)."""
    if world_size() == 1:
        return
    sd = optimizer.state_dict()
    arrays = []

    def pack(v):
        if hasattr(v, "dtype") and hasattr(v, "shape") and getattr(v, "ndim", 0) > 0:
            arrays.append(v)
            return {"__array__": len(arrays) - 1, "shape": list(v.shape), "dtype": str(v.dtype)}
        if hasattr(v, "item") and getattr(v, "ndim", 1) == 0:
            return v.item()
        return v

    skeleton = broadcast({str(k): {key: pack(v) for key, v in s.items()} for k, s in sd["state"].items()}, root)
    state = {}
    for k, s in skeleton.items():
        entry = {}
        for key, v in s.items():
            if isinstance(v, dict) and "__array__" in v:
                a = arrays[v["__array__"]] if world().rank == root else xp.empty(v["shape"], dtype=v["dtype"])
                entry[key] = broadcast(xp.ascontiguousarray(a), root)
            else:
                entry[key] = v
        state[int(k)] = entry
    optimizer.load_state_dict({"state": state, "param_groups": sd["param_groups"]})  # hyperparameters: local


def broadcast_state(model, optimizers=(), root=0):
    """Rank ``root``'s parameters, buffers and optimizer states on every rank (the start of data parallelism)."""
    broadcast_module(model, root)
    for opt in optimizers:
        broadcast_optimizer_state(opt, root)
