"""The one place where training is set up and run: :class:`Trainer`.

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

Set-up (:meth:`Trainer.setup`, at the start of ``fit``, ``lr_find``, ``tune``, the
scikit-learn estimators and ``shendu train``): lazy layers are built from a sample
batch, then the optimizers are created over every parameter that exists — eager,
lazy, or added since the last ``fit`` — then the learning-rate schedules.

The step is :meth:`Trainer.train_step`; a model (or a Trainer subclass) that defines
``train_step(self, batch) -> dict of scalar logs`` and ``test_step(self, batch)``
replaces it, with several named optimizers (``self.optimizers[name]``) if it needs
them: a GAN, a VAE, anything ``fit`` cannot express (docs/training.md).

``Module.compile`` / ``fit`` / ``evaluate`` / ``predict`` are methods of
:class:`shendu.nn.Module` that create and call a Trainer (kept as ``model.trainer``).
"""
from __future__ import annotations

import inspect
import math
import sys
import time
import warnings

from .. import backend
from .. import optim as optim_module
from ..autograd import no_grad
from ..backend import xp
from ..nn.regularizers import regularization_loss
from ..optim.lr_scheduler import CosineAnnealingLR
from ..tensor import Tensor
from . import callbacks as cb
from .batches import (ArrayBatches, as_array, batch_len, check_batch_size, input_tensor, make_batches, model_dtype,
                      num_samples)
from .checkpoint import load_checkpoint, model_config, save_checkpoint
from .losses import final_softmax, resolve_loss, takes_logits
from .metrics import get_metric

#: The schedules a Trainer creates itself and steps after every batch.
SCHEDULES = ("cosine", "constant")


class NonFiniteError(FloatingPointError):
    """Raised by ``fit``'s guard when the loss or a gradient stops being finite."""


def optimizer_class(name):
    """The class of ``shendu.optim`` called ``name`` (case-insensitive: 'sgd', 'adam', …)."""
    classes = {n.lower(): cls for n, cls in vars(optim_module).items()
               if isinstance(cls, type) and issubclass(cls, optim_module.Optimizer) and cls is not optim_module.Optimizer}
    cls = classes.get(str(name).lower())
    if cls is None:
        raise ValueError(f"compile: unknown optimizer {name!r}; expected one of {sorted(classes)} or an Optimizer")
    return cls


def resolve_optimizer(spec, params, lr=None, **options):
    """An optimizer over ``params``: ``spec`` a name ('sgd', 'adam', …) created with ``lr`` and
    ``options``, a function ``spec(params, lr=…, **options)`` (an Optimizer class works), or an
    Optimizer (returned as is)."""
    if isinstance(spec, optim_module.Optimizer):
        return spec
    if lr is not None:
        options["lr"] = lr
    cls = optimizer_class(spec) if isinstance(spec, str) else spec
    return cls(params, **options)


def _check_options(spec, options, where):
    """Refuse, at compile time, options the named optimizer does not take."""
    if isinstance(spec, str) and options:
        try:
            inspect.signature(optimizer_class(spec)).bind(None, **options)
        except TypeError:
            raise TypeError(f"{where}: optimizer {spec!r} takes no option(s) "
                            f"{sorted(set(options) - set(inspect.signature(optimizer_class(spec)).parameters))}; "
                            f"its options: {list(inspect.signature(optimizer_class(spec)).parameters)[1:]}") from None


def _custom(obj, base, name):
    """The bound ``name`` method of ``obj`` when its class defines one beyond ``base``'s, else None."""
    method = getattr(type(obj), name, None)
    if method is None or method is getattr(base, name, None):
        return None
    return getattr(obj, name)


class Trainer:
    """The state of a compiled model — optimizers, schedules, loss, metrics — and the loops of
    ``fit``, ``evaluate`` and ``predict``.

    Args:
        model: the Module to train.
        optimizer: a name (``'adam'``, ``'sgd'``, …: created over the model's parameters at the
            start of ``fit``, once lazy layers are built), an Optimizer, a function
            ``optimizer(params, lr=…, **options)``, or a dict of named optimizers for a custom
            ``train_step``: ``{"generator": "adam", "discriminator": ("adam", {"lr": 2e-4})}``;
            a name (or ``(name, options)``) under key k is created over ``model.k.parameters()``.
            None: no training (``predict`` only).
        loss: a name (shendu's, which take logits, or Keras's, which take probabilities:
            :mod:`shendu.training.losses`), a ``(name, options)`` pair, or a callable
            ``loss(output, target)``.
        metrics: names ('accuracy', 'top5', 'precision', 'recall', 'f1', 'mse', 'mae') or Metric objects.
        lr: the learning rate of optimizers given by name.
        scheduler: a learning-rate scheduler (or a dict of them, by optimizer name) to save in
            checkpoints; step it with a ``LearningRateScheduler`` callback.
        schedule: ``'cosine'`` (lr_t = lr · (1 + cos(π t / T)) / 2 over the T batches of the run,
            stepped after every batch, for every optimizer) or ``'constant'`` / None (none).
        optimizer_options: options of optimizers given by name (``weight_decay``, ``momentum``…).

    ``optimizers`` is the dict of optimizers by name (one optimizer is ``"default"``);
    ``optimizer`` the first of them; ``schedulers`` the schedulers by optimizer name.
    """

    def __init__(self, model, optimizer="adam", loss="cross_entropy", metrics=(), lr=None, scheduler=None,
                 schedule=None, optimizer_options=None):
        self.model = model
        specs = optimizer if isinstance(optimizer, dict) else ({} if optimizer is None else {"default": optimizer})
        self.optimizer_specs, self.optimizers, self.created = {}, {}, []
        for name, spec in specs.items():
            if not isinstance(name, str) or not name or "." in name:
                raise ValueError(f"compile: optimizer names must be non-empty strings without dots, got {name!r}")
            options = dict(optimizer_options or {})
            if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], dict):
                spec, more = spec
                options.update(more)
            _check_options(spec, options, "compile")
            self.optimizer_specs[name] = (spec, options)
            if isinstance(spec, optim_module.Optimizer):
                self.optimizers[name] = spec
        self.lr = lr
        self.schedulers = dict(scheduler) if isinstance(scheduler, dict) else (
            {} if scheduler is None else {"default": scheduler})
        if schedule not in (None, *SCHEDULES):
            raise ValueError(f"compile: schedule must be one of {SCHEDULES} or None, got {schedule!r}")
        self.schedule, self.scheduled = schedule, []  # scheduled: the schedules this Trainer steps
        self.loss_fn = None if loss is None else resolve_loss(loss)
        self.loss_name = loss if isinstance(loss, str) else getattr(self.loss_fn, "__name__", type(loss).__name__)
        self.metric_specs = list(metrics or [])
        self.metrics = []
        self.stop_training = False
        self.epochs = self.steps_per_epoch = self.global_step = 0
        self.epoch = self.step = 0
        self.nan_guard, self.last_finite = True, None
        self.distributed = None  # a shendu.distributed.DistributedFit during fit(distributed=True)
        self._warn_softmax()

    @property
    def optimizer(self):
        """The optimizer (the first one when there are several); None before ``setup``."""
        return next(iter(self.optimizers.values()), None)

    @property
    def scheduler(self):
        """The first scheduler, or None."""
        return next(iter(self.schedulers.values()), None)

    def _warn_softmax(self):
        found = final_softmax(self.model) if takes_logits(self.loss_fn) else None
        if found:
            path, kind = found
            warnings.warn(f"compile: the model's last layer {path} ({kind}) applies a softmax, but the loss "
                          f"{self.loss_name!r} takes logits and applies its own softmax, so training stalls at a "
                          f"high loss; remove the softmax from the last layer, or use a loss that takes "
                          f"probabilities: loss='sparse_categorical_crossentropy'", UserWarning, stacklevel=4)

    # ------------------------------------------------------------ set-up
    def setup(self, batch=None, epochs=1, steps_per_epoch=None):
        """Make the model ready to train: build its lazy layers from ``batch`` (a sample batch:
        inputs, or an ``(inputs, targets)`` pair; with a standard step), create the optimizers
        not yet created, hand each one created by name the parameters it does not hold yet
        (lazy ones, or ones added by ``replace``), and create the schedules over
        ``epochs × steps_per_epoch`` batches. Idempotent; returns self."""
        if batch is not None and self.custom_step() is None:
            x = batch[0] if isinstance(batch, (tuple, list)) else batch
            if any(getattr(m, "built", True) is False for m in self.model.modules()):
                was = [(m, m.training) for m in self.model.modules()]
                self.model.eval()
                try:
                    with no_grad():
                        self.model(x[:1])
                finally:
                    for m, mode in was:
                        object.__setattr__(m, "training", mode)
        for name, (spec, options) in self.optimizer_specs.items():
            params = self._params_of(name)
            if name not in self.optimizers:
                options = dict(options)
                self.optimizers[name] = resolve_optimizer(spec, params, options.pop("lr", self.lr), **options)
                self.created.append(name)
            elif name in self.created:
                held = {id(p) for g in self.optimizers[name].param_groups for p in g["params"]}
                missing = [p for p in params if id(p) not in held]
                if missing:
                    self.optimizers[name].add_param_group({"params": missing})
        if self.schedule == "cosine" and steps_per_epoch:
            for name, opt in self.optimizers.items():
                if name not in self.schedulers:
                    self.schedulers[name] = CosineAnnealingLR(opt, T_max=max(1, epochs * steps_per_epoch))
                    self.scheduled.append(name)
        return self

    def _params_of(self, name):
        # frozen parameters (requires_grad False) stay out of the optimizer, and so out of its weight decay
        if name == "default":
            return [p for p in self.model.parameters() if p.requires_grad]
        part = dict(self.model.named_children()).get(name)
        if part is None:
            raise ValueError(f"compile: optimizer {name!r} is given by name, so it trains model.{name}, but "
                             f"{type(self.model).__name__} has no sub-module {name!r}; pass an Optimizer over "
                             f"the parameters it should train")
        return [p for p in part.parameters() if p.requires_grad]

    def custom_step(self):
        """The custom ``train_step`` of the model or of a Trainer subclass, or None (the standard one)."""
        return _custom(self.model, object, "train_step") or _custom(self, Trainer, "train_step")

    # ------------------------------------------------------------ the standard step
    def compute_loss(self, out, y):
        """loss(output, target) plus the penalties of the layers' regularizers."""
        loss = self.loss_fn(out, y)
        penalty = regularization_loss(self.model)
        if penalty.requires_grad:  # a zero constant when no layer has a regularizer
            loss = loss + penalty
        return loss

    def _xy(self, batch, what):
        if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
            raise ValueError(f"{what}: the standard step takes (inputs, targets) batches, got "
                             f"{type(batch).__name__}; pass targets y, or define train_step/test_step on the model "
                             f"for data without targets")
        if self.loss_fn is None:
            raise RuntimeError(f"{what}: no loss; call model.compile(optimizer, loss) first")
        return batch

    def train_step(self, batch):
        """One supervised step on ``(x, y)``: zero the gradients, loss (with regularization) of
        ``model(x)``, backward, the NaN guard, the optimizer's step, the metrics. Returns ``{"loss"}``."""
        x, y = self._xy(batch, "fit")
        if len(self.optimizers) != 1:
            raise ValueError(f"fit: the standard step trains one optimizer, the model has {len(self.optimizers)} "
                             f"({', '.join(self.optimizers)}); define train_step(self, batch) on the model")
        opt = self.optimizer
        opt.zero_grad()
        out = self.model(x)
        loss = self.compute_loss(out, y)
        loss.backward()
        if self.distributed is not None:  # average the gradients over the ranks
            self.distributed.sync_gradients()
        value = loss.item()
        if self.nan_guard:
            self._check_finite(value, x)
        opt.step()
        for m in self.metrics:
            m.update(out.data, y.data)
        return {"loss": value}

    def test_step(self, batch):
        """The loss (without regularization) and metrics of one ``(x, y)`` batch, no graph recorded."""
        x, y = self._xy(batch, "evaluate")
        out = self.model(x)
        for m in self.metrics:
            m.update(out.data, y.data)
        return {"loss": self.loss_fn(out, y).item()}

    # ------------------------------------------------------------ guard
    def _diagnose(self, x):
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
        first_grad = next((name for name, p in self.model.named_parameters()
                           if p.grad is not None and not xp.isfinite(p.grad.data).all()), None)
        return (first_out[0] if first_out else None), first_grad

    def _where(self):
        last = self.last_finite
        return (f"at epoch {self.epoch + 1}, step {self.step + 1}; last finite loss "
                f"{'none yet' if last is None else f'{last:.6g}'}")

    def _check_finite(self, loss_value, x):
        if math.isfinite(loss_value) and all(p.grad is None or xp.isfinite(p.grad.data).all()
                                             for p in self.model.parameters()):
            self.last_finite = loss_value
            return
        layer_out, param_grad = self._diagnose(x)
        what = f"the loss became {loss_value}" if not math.isfinite(loss_value) else "a gradient became non-finite"
        where = []
        if layer_out:
            where.append(f"first non-finite output: {layer_out}")
        if param_grad:
            where.append(f"first non-finite gradient: {param_grad}")
        raise NonFiniteError(
            f"fit: {what} {self._where()}; "
            + ("; ".join(where) if where else "no layer output was non-finite (check the loss inputs)")
            + ". Lower the learning rate, check the data, or pass nan_guard=False to fit to disable this check")

    def _check_logs(self, logs):
        """The guard of a custom step: every log and every parameter finite after the step."""
        bad = next((k for k, v in logs.items() if not math.isfinite(v)), None)
        param = next((n for n, p in self.model.named_parameters() if not xp.isfinite(p.data).all()), None)
        if bad is None and param is None:
            self.last_finite = logs.get("loss", self.last_finite)
            return
        what = f"the log {bad!r} became {logs[bad]}" if bad else f"parameter {param} became non-finite"
        raise NonFiniteError(f"fit: {what} {self._where()}. Lower the learning rates, check the data, or pass "
                             f"nan_guard=False to fit to disable this check")

    # ------------------------------------------------------------ checkpoints
    def _by_name(self, items):
        if not items:
            return None
        return items["default"] if list(items) == ["default"] else dict(items)

    def save_checkpoint(self, path, epoch, logs=None, extra=None):
        """Write the model, every optimizer and schedule, epoch, step and RNG to ``path``."""
        save_checkpoint(path, self.model, self._by_name(self.optimizers), self._by_name(self.schedulers), epoch=epoch,
                        step=self.global_step, logs=logs, config=model_config(self.model), extra=extra)

    def load_checkpoint(self, path):
        """Restore what :meth:`save_checkpoint` wrote (after :meth:`setup`); returns the metadata."""
        meta = load_checkpoint(path, self.model, self._by_name(self.optimizers), self._by_name(self.schedulers))
        self.global_step = meta["step"]
        return meta

    # ------------------------------------------------------------ fit
    def fit(self, x=None, y=None, epochs=1, batch_size=32, validation_data=None, validation_split=0.0,
            callbacks=None, shuffle=True, verbose="auto", initial_epoch=0, seed=None, nan_guard=True,
            transform=None, resume=None, stream=None, distributed=False):
        """Train the model; returns a :class:`~shendu.training.callbacks.History`.

        Args:
            x, y: arrays (or Tensors); ``x`` alone for a model with a custom ``train_step`` (its
                batches are then input Tensors); or ``x`` a DataLoader / Dataset / (x, y) tuple.
            epochs, batch_size: as usual (batch_size a positive integer); ``shuffle`` (default
                True) reshuffles every epoch.
            validation_data: (x_val, y_val), x_val alone (custom ``test_step``) or a loader; or
                ``validation_split``: the last fraction of x, y.
            callbacks: list of Callbacks (EarlyStopping, ModelCheckpoint, LearningRateScheduler, CSVLogger, …).
            verbose: 0 silent, 1 progress bar (plain lines when not a terminal), 2 one line per epoch.
            seed: fixes the shuffling order (each epoch's order depends only on (seed, epoch)).
            nan_guard: stop at the first non-finite loss or gradient, naming the layer (default True).
            transform: a batch transform (augmentation) applied to training inputs.
            resume: a checkpoint path to continue from (model, every optimizer and schedule, epoch, RNG).
            distributed: data-parallel training over the ranks of ``mpirun`` (``batch_size`` per rank;
                see :class:`shendu.distributed.DistributedFit` and docs/distributed.md).
        """
        check_batch_size(batch_size)
        model = self.model
        if seed is None:
            seed = int(backend.rng().integers(2 ** 31))
        if validation_split and validation_data is None:
            if y is None:
                raise ValueError("fit: validation_split needs arrays x and y")
            xa, ya = as_array(x, "x"), as_array(y, "y")
            n_val = int(round(len(xa) * validation_split))
            if not 0 < n_val < len(xa):
                raise ValueError(f"fit: validation_split={validation_split} leaves no training or validation data")
            x, y, validation_data = xa[:-n_val], ya[:-n_val], (xa[-n_val:], ya[-n_val:])
        train = make_batches(x, y, batch_size, shuffle, seed, transform)
        dist = None
        if distributed:
            from ..distributed.fit import DistributedFit
            dist = DistributedFit(self)
            train = dist.shard(train)
            verbose = verbose if dist.main else 0
        val = make_batches(validation_data, None, batch_size, False, seed, what="validation_data") \
            if validation_data is not None else None
        self.epochs, self.steps_per_epoch, self.stop_training = epochs, len(train), False
        self.nan_guard, self.last_finite = nan_guard, None

        first = next(iter(train))
        self.setup(first, epochs, len(train))
        for loader in (train, val):
            if isinstance(loader, ArrayBatches):
                loader.dtype = model_dtype(model)
        if resume is not None:
            initial_epoch = self.load_checkpoint(resume)["epoch"]
        if dist is not None:
            dist.start()
            self.distributed = dist
        history = cb.History()
        cbs = [cb.LearningRateScheduler(self.schedulers[name], per="batch") for name in self.scheduled]
        cbs += list(callbacks or [])
        if verbose == "auto":
            verbose = 1
        if verbose and not any(isinstance(c, cb.ProgressBar) for c in cbs):
            cbs.append(cb.ProgressBar(verbose=verbose, stream=stream))
        cbs.append(history)  # last, so it records what the other callbacks added to the logs (e.g. lr)
        if dist is not None:
            cbs = dist.callbacks(cbs)
        for c in cbs:
            c.set_trainer(self)
        if verbose:
            n_train, n_val = num_samples(train), (num_samples(val) if val is not None else 0)
            first_x = first[0] if isinstance(first, (tuple, list)) else first
            print(f"fit: device {backend.device_of(first_x.data)}, dtype {model_dtype(model)}, "
                  f"{model.num_parameters():,} parameters, {n_train if n_train is not None else '?'} training / "
                  f"{n_val if n_val is not None else '?'} validation samples, {epochs - initial_epoch} epochs "
                  f"from epoch {initial_epoch + 1}", file=stream or sys.stdout, flush=True)
        custom = self.custom_step()
        step_fn = custom or self.train_step
        logs = {}
        for c in cbs:
            c.on_train_begin(logs)
        try:
            for epoch in range(initial_epoch, epochs):
                self.epoch = epoch
                model.train()
                if hasattr(train, "set_epoch"):
                    train.set_epoch(epoch)
                self.metrics = [get_metric(m) for m in self.metric_specs]
                for c in cbs:
                    c.on_epoch_begin(epoch, logs)
                sums, count, start = {}, 0, time.perf_counter()
                for step, batch in enumerate(train):
                    self.step = step
                    for c in cbs:
                        c.on_batch_begin(step, logs)
                    step_logs = {k: float(v) for k, v in step_fn(batch).items()}
                    if nan_guard and custom is not None:
                        self._check_logs(step_logs)
                    self.global_step += 1
                    n = batch_len(batch)
                    count += n
                    for k, v in step_logs.items():
                        sums[k] = sums.get(k, 0.0) + v * n
                    logs = {**{k: s / count for k, s in sums.items()}, **self._metric_results()}
                    for c in cbs:
                        c.on_batch_end(step, logs)
                logs = dict(logs) if dist is None else dist.reduce_logs(logs)
                logs["seconds"] = time.perf_counter() - start
                if val is not None:
                    for k, v in self.run_evaluation(val).items():
                        logs["val_" + k] = v
                for c in cbs:
                    c.on_epoch_end(epoch, logs)
                if dist is not None:
                    self.stop_training = dist.agree_stop(self.stop_training)
                if self.stop_training:
                    break
        except BaseException as exc:
            if dist is not None:  # the other ranks stop at their next collective, naming this one
                dist.fail(exc)
            raise
        finally:  # an exception (a pruned trial, the NaN guard) must not leave a progress bar open
            if dist is not None:
                dist.close()
                self.distributed = None
            for c in cbs:
                if isinstance(c, cb.ProgressBar):
                    c.close()
        for c in cbs:
            c.on_train_end(logs)
        return history

    def _metric_results(self, with_matrix=False):
        out = {}
        for m in self.metrics:
            if m.name == "confusion_matrix" and not with_matrix:
                continue
            r = m.result()
            out[m.name] = r.tolist() if with_matrix and hasattr(r, "tolist") else r
        return out

    # ------------------------------------------------------------ evaluate / predict
    def run_evaluation(self, loader):
        """The mean logs of the test step (the model's ``test_step`` or the standard one) and the
        metrics over a loader, in eval mode, without recording a graph."""
        model = self.model
        if isinstance(loader, ArrayBatches):
            loader.dtype = model_dtype(model)
        step_fn = _custom(model, object, "test_step") or _custom(self, Trainer, "test_step") or self.test_step
        was = model.training
        model.eval()
        self.metrics = [get_metric(m) for m in self.metric_specs]
        sums, count = {}, 0
        try:
            with no_grad():
                for batch in loader:
                    n = batch_len(batch)
                    count += n
                    for k, v in step_fn(batch).items():
                        sums[k] = sums.get(k, 0.0) + float(v) * n
        finally:
            model.train(was)
        if count == 0:
            raise ValueError("evaluate: no samples")
        return {**{k: s / count for k, s in sums.items()}, **self._metric_results(with_matrix=True)}

    def evaluate(self, x=None, y=None, batch_size=256):
        """Loss and metrics over the data, in eval mode, without recording a graph: a dict."""
        check_batch_size(batch_size, "evaluate")
        return self.run_evaluation(make_batches(x, y, batch_size, False, 0))

    def predict(self, x, batch_size=256):
        """The model's outputs for ``x`` (an array, a Tensor, or a loader of batches), in eval mode,
        batch by batch, as an array; 0 samples give an empty array of the outputs' trailing shape."""
        batch_size = check_batch_size(batch_size, "predict")
        model = self.model
        was = model.training
        model.eval()
        outs = []
        try:
            with no_grad():
                if isinstance(x, Tensor) or backend.is_array(x) or isinstance(x, (list, tuple)) and not (x and hasattr(x[0], "data")):
                    arr = as_array(x, "x")
                    dtype = model_dtype(model)
                    if len(arr) == 0:  # the trailing shape, from one sample of zeros
                        one = model(input_tensor(xp.zeros((1, *arr.shape[1:]), arr.dtype), dtype)).numpy()
                        return one[:0]
                    for start in range(0, len(arr), batch_size):
                        outs.append(model(input_tensor(arr[start:start + batch_size], model_dtype(model))).numpy())
                else:
                    for batch in x:
                        xb = batch[0] if isinstance(batch, (tuple, list)) else batch
                        outs.append(model(xb).numpy())
        finally:
            model.train(was)
        if not outs:
            raise ValueError("predict: the loader gave no batch")
        return xp.concatenate(outs, axis=0)
