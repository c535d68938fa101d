"""``fit`` / ``evaluate`` / ``predict`` with Keras's arguments and return values, run by shendu's Trainer.

The Keras model defines ``train_step`` / ``test_step`` (Trainer's custom-step hook):
loss = loss_fn(y, model(x), sample_weight) + Σ regularization penalties, backward,
the optimizer's step, the metrics. Data: arrays (a list or dict of them for several
inputs), or an iterable of ``(x, y)`` batches with ``len`` (a shendu DataLoader).

Keras's rules kept here: ``batch_size`` 32; ``validation_split`` takes the *last*
fraction of the samples, before shuffling (split at ⌊n·(1 − split)⌋);
``class_weight`` turns each sample's class into a sample weight; ``evaluate``
returns the loss alone without metrics, else ``[loss, metric…]`` (a dict with
``return_dict``); ``predict`` returns NumPy arrays.
"""
from __future__ import annotations

import math
import sys
import time

from .. import backend
from ..autograd import no_grad
from ..backend import xp
from ..tensor import Tensor
from . import callbacks as cbs
from .engine import flatten, map_structure
from .errors import unsupported
from .layers.base import as_tensor
from .progbar import Progbar, line


def to_array(a, what):
    """``a`` (a Tensor, list, array) as an array; ``what`` names it in errors."""
    if isinstance(a, Tensor):
        return a.data
    if isinstance(a, (list, tuple)) and a and not backend.is_array(a[0]) and not isinstance(a[0], Tensor):
        return xp.asarray(a)
    if backend.is_array(a):
        return a
    raise TypeError(f"{what}: expected NumPy arrays (or a list/dict of them for several inputs), got "
                    f"{type(a).__name__}")


def standardize(x, what="x"):
    """Arrays, lists of arrays (several inputs), dicts of arrays → the same structure of NumPy arrays."""
    if x is None:
        return None
    if isinstance(x, dict):
        return {k: to_array(v, what) for k, v in x.items()}
    if isinstance(x, (list, tuple)) and x and (backend.is_array(x[0]) or isinstance(x[0], Tensor)):
        return [to_array(v, what) for v in x]
    return to_array(x, what)


def num_samples(x):
    """The number of samples of ``x`` (the first axis of its first array, inputs may be nested)."""
    return len(flatten(x)[0])


def take(x, idx):
    """The samples ``idx`` of every array in (nested) ``x``."""
    return map_structure(lambda a: a[idx], x)


class Batches:
    """Batches of (x, y[, sample_weight]) from array structures: ``len``, ``num_samples``,
    reshuffled per epoch from (seed, epoch)."""

    def __init__(self, x, y, sample_weight, batch_size, shuffle, seed):
        self.x, self.y, self.sw = x, y, sample_weight
        n = num_samples(x)
        for part, name in ((y, "y"), (sample_weight, "sample_weight")):
            if part is not None and num_samples(part) != n:
                raise ValueError(f"Data cardinality is ambiguous: x sizes: {n}, {name} sizes: {num_samples(part)}. "
                                 f"Make sure all arrays contain the same number of samples.")
        self.n, self.batch_size, self.shuffle, self.seed, self.epoch = n, batch_size, shuffle, seed, 0

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __len__(self):
        return math.ceil(self.n / self.batch_size)

    @property
    def num_samples(self):
        return self.n

    def __iter__(self):
        order = xp.random.default_rng([self.seed, self.epoch]).permutation(self.n) if self.shuffle else None
        for start in range(0, self.n, self.batch_size):
            idx = slice(start, start + self.batch_size) if order is None else order[start:start + self.batch_size]
            xb = map_structure(as_tensor, take(self.x, idx))
            if self.y is None:
                yield xb
                continue
            yb = Tensor(take(self.y, idx))
            yield (xb, yb) if self.sw is None else (xb, yb, Tensor(self.sw[idx]))


def class_weights(y, class_weight):
    """Per-sample weights class_weight[class of the sample] (integer or one-hot targets)."""
    y = xp.asarray(y)
    classes = y.argmax(-1) if y.ndim > 1 and y.shape[-1] > 1 else y.reshape(len(y), -1)[:, 0].astype(xp.int64)
    missing = set(xp.unique(classes).tolist()) - set(class_weight)
    if missing:
        raise ValueError(f"Expected `class_weight` to be a dict with keys from 0 to one less than the number of "
                         f"classes, found {class_weight}; classes without a weight: {sorted(missing)}")
    return xp.asarray([class_weight[int(c)] for c in classes], dtype=xp.float32)


def _verbose(verbose):
    return 1 if verbose == "auto" else int(verbose)


def ensure_built(model, x):
    """Build the model from one sample of ``x`` (Keras builds on the first batch)."""
    if getattr(model, "is_fully_built", lambda: True)():
        return
    was = [(m, m.training) for m in model.modules()]
    model.eval()
    state = backend.get_rng_state()
    try:
        with no_grad():
            model(map_structure(as_tensor, take(x, slice(0, 1))))
    finally:
        backend.set_rng_state(state)
        for m, mode in was:
            object.__setattr__(m, "training", mode)


def fit(model, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
        validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
        steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1):
    """Keras's ``Model.fit``; returns a :class:`keras.callbacks.History`."""
    trainer = model.compiled_trainer("fit")
    if steps_per_epoch is not None or validation_steps is not None:
        raise unsupported("fit(steps_per_epoch=/validation_steps=)", "pass arrays (every sample each epoch)")
    if validation_freq != 1:
        raise unsupported("fit(validation_freq≠1)", "validate every epoch (validation_freq=1)")
    batch_size = 32 if batch_size is None else int(batch_size)
    verbose = _verbose(verbose)
    arrays = y is not None or backend.is_array(x) or isinstance(x, (Tensor, dict, list, tuple))
    if arrays:
        x, y, sw = standardize(x), standardize(y, "y"), None if sample_weight is None else to_array(sample_weight,
                                                                                                  "sample_weight")
        if y is None:
            raise ValueError("fit: pass targets y (Keras models train on (x, y) pairs here)")
        if validation_split and validation_data is None:
            if not 0 < validation_split < 1:
                raise ValueError(f"`validation_split` must be between 0 and 1, received {validation_split}")
            split_at = int(math.floor(num_samples(x) * (1.0 - validation_split)))
            part = slice(split_at, None)
            validation_data = (take(x, part), take(y, part)) + (() if sw is None else (sw[part],))
            x, y = take(x, slice(0, split_at)), take(y, slice(0, split_at))
            sw = None if sw is None else sw[:split_at]
        if class_weight is not None:
            if sw is not None:
                raise ValueError("You cannot `class_weight` and `sample_weight` at the same time.")
            cw = class_weights(y, class_weight)
            sw = cw if sw is None else sw * cw
        ensure_built(model, x)
        seed = int(backend.rng().integers(2 ** 31))
        train = Batches(x, y, sw, batch_size, shuffle, seed)
    else:
        if validation_split:
            raise ValueError("`validation_split` is only supported for arrays")
        train = x
    val = None
    if validation_data is not None:
        if isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3):
            vx, vy = standardize(validation_data[0]), standardize(validation_data[1], "y")
            vsw = to_array(validation_data[2], "sample_weight") if len(validation_data) == 3 else None
            val = Batches(vx, vy, vsw, validation_batch_size or batch_size, False, 0)
        else:
            val = validation_data
    steps = len(train)
    history = cbs.History()
    params = {"epochs": epochs, "steps": steps, "verbose": verbose}
    keras_cbs = [*(callbacks or []), history]
    shendu_cbs = ([Progbar(verbose, epochs, steps)] if verbose else []) + \
        [cbs.Adapter(c, model, params) for c in keras_cbs]
    try:
        trainer.fit(train, None, epochs=epochs, batch_size=batch_size, validation_data=val, callbacks=shendu_cbs,
                    shuffle=False, verbose=0, initial_epoch=initial_epoch, nan_guard=False)
    finally:
        model.eval()  # after fit, a call is inference again (Keras's default training=False)
    history.params = params
    return history


def evaluate(model, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None, callbacks=None,
             return_dict=False):
    """Keras's ``Model.evaluate``: the loss, or [loss, metric…], or a dict with ``return_dict``."""
    trainer = model.compiled_trainer("evaluate")
    if steps is not None:
        raise unsupported("evaluate(steps=…)", "pass the arrays to evaluate")
    batch_size = 32 if batch_size is None else int(batch_size)
    start = time.perf_counter()
    if y is not None or backend.is_array(x) or isinstance(x, (Tensor, dict, list, tuple)):
        x, y = standardize(x), standardize(y, "y")
        ensure_built(model, x)
        data = Batches(x, y, None if sample_weight is None else to_array(sample_weight, "sample_weight"), batch_size,
                       False, 0)
    else:
        data = x
    logs = {k: v for k, v in trainer.run_evaluation(data).items()}
    if _verbose(verbose):
        print(line(len(data), len(data), time.perf_counter() - start, logs, _verbose(verbose)), file=sys.stdout)
    names = ["loss"] + [m.name for m in trainer.metric_specs]
    if return_dict:
        return {k: logs[k] for k in names}
    return logs["loss"] if len(names) == 1 else [logs[k] for k in names]


def predict(model, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
    """Keras's ``Model.predict``: the outputs for ``x`` in inference mode, batch by batch, as NumPy
    arrays (a list of them for a model with several outputs)."""
    if steps is not None:
        raise unsupported("predict(steps=…)", "pass the arrays to predict")
    batch_size = 32 if batch_size is None else int(batch_size)
    start = time.perf_counter()
    outs = []
    was = model.training
    model.eval()
    try:
        with no_grad():
            if backend.is_array(x) or isinstance(x, (Tensor, dict, list, tuple)):
                x = standardize(x)
                n = num_samples(x)
                for s in range(0, n, batch_size):
                    outs.append(model(map_structure(as_tensor, take(x, slice(s, s + batch_size)))))
            else:
                for batch in x:
                    xb = batch[0] if isinstance(batch, (tuple, list)) else batch
                    outs.append(model(xb))
    finally:
        model.train(was)
    if not outs:
        raise ValueError("predict: no input samples")
    if _verbose(verbose):
        print(line(len(outs), len(outs), time.perf_counter() - start, {}, _verbose(verbose)), file=sys.stdout)
    first = outs[0]
    if isinstance(first, (list, tuple)):
        return [xp.concatenate([o[i].data for o in outs]) for i in range(len(first))]
    return xp.concatenate([o.data for o in outs])
