"""Keras-style training on any Module: ``compile``, ``fit``, ``evaluate``, ``predict``.

``fit`` runs the loop every textbook writes — and that stays just as easy to
write by hand (docs/training.md shows both side by side)::

    for epoch in range(epochs):
        for x, y in batches(shuffled training data):
            optimizer.zero_grad()
            loss = loss_fn(model(x), y) + regularization penalties
            loss.backward()
            optimizer.step()
        validate; call the callbacks

plus a progress bar, metrics, validation, callbacks, checkpoints and a guard
that stops the run at the first non-finite loss or gradient and names the
first layer where it appeared.

Importing :mod:`shendu.training` gives every :class:`~shendu.nn.Module` the
methods ``compile``, ``fit``, ``evaluate`` and ``predict`` (the dependency points
upward: ``shendu.nn`` knows nothing of training).
"""
from __future__ import annotations

import math
import sys
import time

from .. import backend
from .. import functional as F
from .. import optim as optim_module
from ..autograd import no_grad
from ..backend import xp
from ..nn.module import Module
from ..nn.regularizers import regularization_loss
from ..tensor import Tensor
from . import callbacks as cb
from .checkpoint import load_checkpoint, model_config, save_checkpoint
from .metrics import get_metric

_LOSS_ALIASES = {
    "cross_entropy": "cross_entropy", "categorical_crossentropy": "cross_entropy",
    "sparse_categorical_crossentropy": "cross_entropy", "ce": "cross_entropy",
    "mse": "mse_loss", "mean_squared_error": "mse_loss", "mse_loss": "mse_loss",
    "mae": "l1_loss", "mean_absolute_error": "l1_loss", "l1": "l1_loss", "l1_loss": "l1_loss",
    "bce": "binary_cross_entropy", "binary_crossentropy": "binary_cross_entropy",
    "binary_cross_entropy": "binary_cross_entropy",
    "bce_with_logits": "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits": "binary_cross_entropy_with_logits",
    "huber": "huber_loss", "huber_loss": "huber_loss", "smooth_l1": "smooth_l1_loss",
    "nll": "nll_loss", "nll_loss": "nll_loss", "hinge": "hinge_loss", "kl_div": "kl_div",
}


class NonFiniteError(FloatingPointError):
    """Raised by ``fit``'s guard when the loss or a gradient stops being finite."""


def resolve_loss(spec):
    """A loss function from a name ('cross_entropy', 'mse', 'bce', Keras names…), a callable or a Module."""
    if callable(spec):
        return spec
    if isinstance(spec, str):
        name = _LOSS_ALIASES.get(spec.lower())
        fn = getattr(F, name, None) if name else None
        if fn is not None:
            return fn
    raise ValueError(f"compile: unknown loss {spec!r}; expected a callable or one of {sorted(_LOSS_ALIASES)}")


def resolve_optimizer(spec, params, lr=None, **options):
    """An optimizer instance from a name ('sgd', 'adam', …) and its options, or an instance (returned as is)."""
    if not isinstance(spec, str):
        return spec
    classes = {name.lower(): cls for name, cls in vars(optim_module).items()
               if isinstance(cls, type) and issubclass(cls, optim_module.Optimizer) and cls is not optim_module.Optimizer}
    cls = classes.get(spec.lower())
    if cls is None:
        raise ValueError(f"compile: unknown optimizer {spec!r}; expected one of {sorted(classes)} or an Optimizer")
    if lr is not None:
        options["lr"] = lr
    return cls(params, **options)


def _as_array(a, what):
    if a is None:
        return None
    if isinstance(a, Tensor):
        return a.data
    arr = xp.asarray(a)
    if arr.dtype == object:
        raise TypeError(f"fit: {what} must be numeric array-like, got {type(a).__name__}")
    return arr


def _x_tensor(arr, dtype=None):
    """Inputs as a constant tensor; floating inputs take the model's dtype (float64 data
    must not silently turn a float32 model's arithmetic into float64)."""
    dtype = dtype or backend.get_default_dtype()
    if arr.dtype.kind == "f" and arr.dtype != dtype:
        arr = arr.astype(dtype)
    return Tensor._wrap(arr, False, None)


def _model_dtype(model):
    for p in model.parameters():
        if p.data.dtype.kind == "f":
            return p.data.dtype
    return backend.get_default_dtype()


class _ArrayBatches:
    """Batches of (x, y) arrays; the order of epoch e depends only on (seed, e), so a
    resumed run sees exactly the batches a straight run would."""

    def __init__(self, x, y, batch_size, shuffle, seed, transform=None):
        if len(x) != len(y):
            raise ValueError(f"fit: x has {len(x)} samples but y has {len(y)}")
        self.x, self.y, self.batch_size, self.shuffle, self.seed = x, y, int(batch_size), shuffle, seed
        self.transform = transform
        self.dtype = None  # floating inputs are cast to this (the model's dtype; set by the Trainer)
        self.epoch = 0

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    @property
    def num_samples(self):
        return len(self.x)

    def __iter__(self):
        n = len(self.x)
        order = (xp.random.default_rng([self.seed, self.epoch]).permutation(n) if self.shuffle else None)
        for start in range(0, n, self.batch_size):
            if order is None:
                xb, yb = self.x[start:start + self.batch_size], self.y[start:start + self.batch_size]
            else:
                idx = order[start:start + self.batch_size]
                xb, yb = self.x[idx], self.y[idx]
            if self.transform is not None:
                xb = self.transform(xb)
            yield _x_tensor(xp.asarray(xb), self.dtype), Tensor._wrap(xp.asarray(yb), False, None)


def _loader_from(data, y, batch_size, shuffle, seed, transform=None, what="x"):
    """Anything fit/evaluate accepts → an iterable of (x, y) Tensor batches with ``len``."""
    if y is not None:
        return _ArrayBatches(_as_array(data, what), _as_array(y, "y"), batch_size, shuffle, seed, transform)
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return _ArrayBatches(_as_array(data[0], what), _as_array(data[1], "y"), batch_size, shuffle, seed, transform)
    if hasattr(data, "__iter__") and hasattr(data, "__len__") and not backend.is_array(data):
        if hasattr(data, "__getitem__") and not hasattr(data, "batch_size"):
            from ..data import DataLoader  # a Dataset: batch it
            return DataLoader(data, batch_size=batch_size, shuffle=shuffle)
        return data
    raise TypeError(f"fit: pass arrays x and y, an (x, y) tuple, a Dataset or a DataLoader; got {type(data).__name__}")


def _num_samples(loader):
    for attr in ("num_samples",):
        if hasattr(loader, attr):
            return getattr(loader, attr)
    ds = getattr(loader, "dataset", None)
    return len(ds) if ds is not None and hasattr(ds, "__len__") else None


class Trainer:
    """The state of a compiled model: optimizer, loss, metrics; runs fit / evaluate / predict."""

    def __init__(self, model, optimizer="adam", loss="cross_entropy", metrics=(), lr=None, scheduler=None):
        self.model = model
        self.optimizer_spec, self.lr = optimizer, lr
        self.optimizer = optimizer if not isinstance(optimizer, str) else None
        self.loss_fn = resolve_loss(loss)
        self.loss_name = loss if isinstance(loss, str) else getattr(loss, "__name__", type(loss).__name__)
        self.metric_specs = list(metrics or [])
        self.scheduler = scheduler
        self.stop_training = False
        self.epochs = 0
        self.steps_per_epoch = 0
        self.global_step = 0

    # ------------------------------------------------------------ pieces
    def _ensure_optimizer(self, first_x):
        if self.optimizer is None:
            if not list(self.model.parameters()):  # lazily built layers (Dense, Conv2D)
                with no_grad():
                    was = self.model.training
                    self.model.eval()
                    self.model(first_x[:1])
                    self.model.train(was)
            self.optimizer = resolve_optimizer(self.optimizer_spec, self.model.parameters(), self.lr)

    def compute_loss(self, out, y):
        """loss(output, target) plus the penalties of the layers' regularizers."""
        loss = self.loss_fn(out, y)
        penalty = regularization_loss(self.model)
        if penalty.requires_grad:  # a zero constant when no layer has a regularizer
            loss = loss + penalty
        return loss

    def save_checkpoint(self, path, epoch, logs=None, extra=None):
        save_checkpoint(path, self.model, self.optimizer, self.scheduler, epoch=epoch, step=self.global_step,
                        logs=logs, config=model_config(self.model), extra=extra)

    # ------------------------------------------------------------ guard
    def _diagnose(self, x, y):
        """Find the first layer whose output, then the first whose parameter gradient, is non-finite."""
        first_out = []
        handles = []
        for name, m in self.model.named_modules():
            if m is self.model:
                continue

            def hook(mod, inputs, output, name=name):
                outs = output if isinstance(output, (tuple, list)) else (output,)
                if not first_out and any(isinstance(o, Tensor) and not xp.isfinite(o.data).all() for o in outs):
                    first_out.append(f"{name} ({type(mod).__name__})")
            handles.append(m.register_forward_hook(hook))
        try:
            with no_grad():
                self.model(x)
        finally:
            for h in handles:
                h.remove()
        first_grad = None
        for name, p in self.model.named_parameters():
            if p.grad is not None and not xp.isfinite(p.grad.data).all():
                first_grad = name
                break
        return (first_out[0] if first_out else None), first_grad

    def _check_finite(self, loss_value, x, y, epoch, step, last_finite):
        bad_grad = False
        if math.isfinite(loss_value):
            for p in self.model.parameters():
                if p.grad is not None and not xp.isfinite(p.grad.data).all():
                    bad_grad = True
                    break
            if not bad_grad:
                return
        layer_out, param_grad = self._diagnose(x, y)
        what = f"the loss became {loss_value}" if not math.isfinite(loss_value) else "a gradient became non-finite"
        where = []
        if layer_out:
            where.append(f"first non-finite output: {layer_out}")
        if param_grad:
            where.append(f"first non-finite gradient: {param_grad}")
        raise NonFiniteError(
            f"fit: {what} at epoch {epoch + 1}, step {step + 1}; last finite loss "
            f"{'none yet' if last_finite is None else f'{last_finite:.6g}'}; "
            + ("; ".join(where) if where else "no layer output was non-finite (check the loss inputs)")
            + ". Lower the learning rate, check the data, or pass nan_guard=False to fit to disable this check")

    # ------------------------------------------------------------ fit
    def fit(self, x=None, y=None, epochs=1, batch_size=32, validation_data=None, validation_split=0.0,
            callbacks=None, shuffle=True, verbose="auto", initial_epoch=0, seed=None, nan_guard=True,
            transform=None, resume=None, stream=None):
        model = self.model
        if seed is None:
            seed = int(backend.rng().integers(2 ** 31))
        if validation_split and validation_data is None:
            if y is None:
                raise ValueError("fit: validation_split needs arrays x and y")
            xa, ya = _as_array(x, "x"), _as_array(y, "y")
            n_val = int(round(len(xa) * validation_split))
            if not 0 < n_val < len(xa):
                raise ValueError(f"fit: validation_split={validation_split} leaves no training or validation data")
            x, y, validation_data = xa[:-n_val], ya[:-n_val], (xa[-n_val:], ya[-n_val:])
        train = _loader_from(x, y, batch_size, shuffle, seed, transform)
        val = _loader_from(validation_data, None, batch_size, False, seed, what="validation_data") \
            if validation_data is not None else None
        history = cb.History()
        if verbose == "auto":
            verbose = 1
        cbs = list(callbacks or [])
        if verbose and not any(isinstance(c, cb.ProgressBar) for c in cbs):
            cbs.append(cb.ProgressBar(verbose=verbose, stream=stream))
        cbs.append(history)  # last, so it records what the other callbacks added to the logs (e.g. lr)
        for c in cbs:
            c.set_trainer(self)
        self.epochs, self.steps_per_epoch, self.stop_training = epochs, len(train), False

        first = next(iter(train))
        self._ensure_optimizer(first[0])
        for loader in (train, val):
            if isinstance(loader, _ArrayBatches):
                loader.dtype = _model_dtype(model)
        if resume is not None:
            meta = load_checkpoint(resume, model, self.optimizer, self.scheduler)
            initial_epoch, self.global_step = meta["epoch"], meta["step"]
        if verbose:
            n_train, n_val = _num_samples(train), (_num_samples(val) if val is not None else 0)
            dtype = next(iter(model.parameters())).dtype if list(model.parameters()) else backend.get_default_dtype()
            print(f"fit: device {backend.device_of(first[0].data)}, dtype {dtype}, "
                  f"{model.num_parameters():,} parameters, {n_train if n_train is not None else '?'} training / "
                  f"{n_val if n_val is not None else '?'} validation samples, {epochs - initial_epoch} epochs "
                  f"from epoch {initial_epoch + 1}", file=stream or sys.stdout, flush=True)
        logs = {}
        for c in cbs:
            c.on_train_begin(logs)
        last_finite = None
        try:
            for epoch in range(initial_epoch, epochs):
                model.train()
                if hasattr(train, "set_epoch"):
                    train.set_epoch(epoch)
                metrics = [get_metric(m) for m in self.metric_specs]
                for c in cbs:
                    c.on_epoch_begin(epoch, logs)
                total, count, start = 0.0, 0, time.perf_counter()
                for step, (xb, yb) in enumerate(train):
                    for c in cbs:
                        c.on_batch_begin(step, logs)
                    self.optimizer.zero_grad()
                    out = model(xb)
                    loss = self.compute_loss(out, yb)
                    loss.backward()
                    value = loss.item()
                    if nan_guard:
                        self._check_finite(value, xb, yb, epoch, step, last_finite)
                    last_finite = value
                    self.optimizer.step()
                    self.global_step += 1
                    n = len(yb.data)
                    total, count = total + value * n, count + n
                    for m in metrics:
                        m.update(out.data, yb.data)
                    logs = {"loss": total / count,
                            **{m.name: m.result() for m in metrics if m.name != "confusion_matrix"}}
                    for c in cbs:
                        c.on_batch_end(step, logs)
                logs = dict(logs)
                logs["seconds"] = time.perf_counter() - start
                if val is not None:
                    for k, v in self._evaluate(val).items():
                        logs["val_" + k] = v
                for c in cbs:
                    c.on_epoch_end(epoch, logs)
                if self.stop_training:
                    break
        finally:  # an exception (a pruned trial, the NaN guard) must not leave a progress bar open
            for c in cbs:
                if isinstance(c, cb.ProgressBar):
                    c.close()
        for c in cbs:
            c.on_train_end(logs)
        return history

    # ------------------------------------------------------------ evaluate / predict
    def _evaluate(self, loader):
        model = self.model
        if isinstance(loader, _ArrayBatches):
            loader.dtype = _model_dtype(model)
        was = model.training
        model.eval()
        metrics = [get_metric(m) for m in self.metric_specs]
        total, count = 0.0, 0
        try:
            with no_grad():
                for xb, yb in loader:
                    out = model(xb)
                    n = len(yb.data)
                    total += self.loss_fn(out, yb).item() * n
                    count += n
                    for m in metrics:
                        m.update(out.data, yb.data)
        finally:
            model.train(was)
        if count == 0:
            raise ValueError("evaluate: no samples")
        res = {"loss": total / count}
        for m in metrics:
            r = m.result()
            res[m.name] = r.tolist() if hasattr(r, "tolist") else r
        return res

    def evaluate(self, x=None, y=None, batch_size=256):
        """Loss and metrics over the data, in eval mode, without recording a graph."""
        return self._evaluate(_loader_from(x, y, batch_size, False, 0))

    def predict(self, x, batch_size=256):
        """The model's outputs for ``x`` (a NumPy array), in eval mode, batch by batch."""
        model = self.model
        was = model.training
        model.eval()
        outs = []
        try:
            with no_grad():
                if isinstance(x, Tensor) or backend.is_array(x) or isinstance(x, (list, tuple)) and not hasattr(x[0], "data"):
                    arr = _as_array(x, "x")
                    for start in range(0, len(arr), batch_size):
                        outs.append(model(_x_tensor(arr[start:start + batch_size], _model_dtype(model))).numpy())
                else:
                    for batch in x:
                        xb = batch[0] if isinstance(batch, (tuple, list)) else batch
                        outs.append(model(xb).numpy())
        finally:
            model.train(was)
        return xp.concatenate(outs, axis=0)


# -------------------------------------------------------------------- Module methods
def compile(self, optimizer="adam", loss="cross_entropy", metrics=(), lr=None, scheduler=None):
    """Configure training (Keras-style).

    Args:
        optimizer: an Optimizer, or a name ('sgd', 'adam', 'rmsprop', …) created
            over ``model.parameters()`` at the start of ``fit`` (after lazy layers are built).
        loss: a callable ``loss(output, target)`` or a name ('cross_entropy', 'mse', 'bce', …).
        metrics: names ('accuracy', 'top5', 'precision', 'recall', 'f1', 'mse', 'mae') or Metric objects.
        lr: the learning rate for an optimizer given by name.
        scheduler: an lr scheduler to save in checkpoints (step it with a LearningRateScheduler callback).
    """
    object.__setattr__(self, "_trainer", Trainer(self, optimizer, loss, metrics, lr, scheduler))
    return self


def _trainer(self):
    t = self.__dict__.get("_trainer")
    if t is None:
        raise RuntimeError(f"{type(self).__name__}: call model.compile(optimizer, loss, metrics) before fit/evaluate")
    return t


def fit(self, x=None, y=None, epochs=1, batch_size=32, **kwargs):
    """Train the compiled model; returns a :class:`~shendu.training.callbacks.History`.

    Args:
        x, y: arrays (or Tensors); or ``x`` a DataLoader / Dataset / (x, y) tuple and ``y`` None.
        epochs, batch_size: as usual; ``shuffle`` (default True) reshuffles every epoch.
        validation_data: (x_val, y_val) or a loader; or ``validation_split``: the last fraction of x, y.
        callbacks: list of Callbacks (EarlyStopping, ModelCheckpoint, LearningRateScheduler, CSVLogger, …).
        verbose: 0 silent, 1 progress bar (plain lines when not a terminal), 2 one line per epoch.
        seed: fixes the shuffling order (each epoch's order depends only on (seed, epoch)).
        nan_guard: stop at the first non-finite loss or gradient, naming the layer (default True).
        transform: a batch transform (augmentation) applied to training inputs.
        resume: a checkpoint path to continue from (model, optimizer, scheduler, epoch, RNG).
    """
    return _trainer(self).fit(x, y, epochs=epochs, batch_size=batch_size, **kwargs)


def evaluate(self, x=None, y=None, batch_size=256):
    """Loss and metrics of the compiled model on (x, y) or a loader: a dict."""
    return _trainer(self).evaluate(x, y, batch_size)


def predict(self, x, batch_size=256):
    """The outputs for ``x`` in eval mode, as a NumPy array (works without compile)."""
    t = self.__dict__.get("_trainer") or Trainer(self, optimizer=None, loss=lambda o, t: o)
    return t.predict(x, batch_size)


Module.compile = compile
Module.fit = fit
Module.evaluate = evaluate
Module.predict = predict
