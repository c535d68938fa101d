"""Callbacks: code that ``fit`` calls at documented moments.

Hooks (all optional; ``logs`` is a dict of the latest numbers, e.g.
``{"loss": 0.31, "accuracy": 0.9, "val_loss": …}``)::

    on_train_begin(logs)        once, before the first epoch
    on_epoch_begin(epoch, logs)
    on_batch_begin(step, logs)  step counts batches within the epoch
    on_batch_end(step, logs)    logs has the batch's "loss" (and running metrics)
    on_epoch_end(epoch, logs)   logs has the epoch's training and validation numbers
    on_train_end(logs)

A callback reaches the model as ``self.model`` and the training state as
``self.trainer`` (``trainer.stop_training = True`` ends ``fit`` after the
current epoch; ``trainer.optimizer`` is the optimizer).
"""
from __future__ import annotations

import csv
import math
import os
import shutil
import sys
import time


class Callback:
    """Base class: override the hooks you need."""

    model = None
    trainer = None

    def set_trainer(self, trainer):
        self.trainer = trainer
        self.model = trainer.model

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_batch_begin(self, step, logs=None): pass
    def on_batch_end(self, step, logs=None): pass


class History(Callback):
    """Records every epoch's logs: ``history.history["val_accuracy"]`` is a list, one value per epoch."""

    def __init__(self):
        self.history = {}
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={sorted(self.history)})"


def _format_logs(logs, exclude=()):
    parts = []
    for k, v in logs.items():
        if k in exclude:
            continue
        if isinstance(v, float):
            parts.append(f"{k} {v:.4g}")
        elif isinstance(v, int):
            parts.append(f"{k} {v}")
    return "  ".join(parts)


class ProgressBar(Callback):
    """A per-batch progress bar with loss, metrics and ETA (``tqdm.auto``: terminal and notebooks).

    When output is not a terminal (a log file, CI) it prints one plain line per
    epoch instead. ``verbose=0`` prints nothing. At the end of an epoch the bar gives
    way to the epoch's summary line, wrapped at the terminal width (``ncols``, None: the
    terminal's) so that the validation numbers are never cut off.
    """

    def __init__(self, verbose=1, stream=None, ncols=None):
        self.verbose = verbose
        self.stream = stream
        self.ncols = ncols
        self.bar = None

    def _interactive(self):
        stream = self.stream or sys.stderr
        if self.verbose == 2:
            return False
        try:
            return stream.isatty() or "ipykernel" in sys.modules
        except (AttributeError, ValueError):
            return False

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()
        if not self.verbose or not self._interactive():
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:  # pragma: no cover - tqdm is a dependency
            return
        total = self.trainer.steps_per_epoch
        self.bar = tqdm(total=total, desc=f"epoch {epoch + 1}/{self.trainer.epochs}", unit="batch",
                        leave=False, file=self.stream, ncols=self.ncols, dynamic_ncols=self.ncols is None)

    def close(self):
        """Close the bar if one is open (fit calls this however training ends)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def on_batch_end(self, step, logs=None):
        if self.bar is not None:
            self.bar.update(1)
            if step % 5 == 0 or step + 1 == self.trainer.steps_per_epoch:
                self.bar.set_postfix_str(_format_logs(logs or {}, exclude=("seconds",)), refresh=False)

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.start
        line = f"epoch {epoch + 1}/{self.trainer.epochs}  {_format_logs(logs or {}, exclude=('seconds',))}  ({seconds:.1f}s)"
        if self.bar is not None:
            width = self.ncols or self.bar.ncols or shutil.get_terminal_size().columns
            self.close()
            print("\n".join(_wrap(line, width)), file=self.stream or sys.stderr, flush=True)
        elif self.verbose:
            print(line, file=self.stream or sys.stdout, flush=True)


def _wrap(line, width):
    """Split a summary line at its double spaces into lines of at most ``width`` characters."""
    lines = []
    for part in line.split("  "):
        if lines and len(lines[-1]) + 2 + len(part) <= width:
            lines[-1] += "  " + part
        else:
            lines.append(part if not lines else "    " + part)
    return lines


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    ``mode`` is 'min', 'max' or 'auto' (max for accuracy-like names).
    ``restore_best_weights`` puts back the weights of the best epoch at the end.
    When it stops, ``stop_reason`` says why (epoch, monitored value, best value and its epoch,
    patience); ``verbose=1`` also prints it (to ``stream``, default stdout).
    """

    def __init__(self, monitor="val_loss", patience=3, min_delta=0.0, mode="auto", restore_best_weights=False,
                 verbose=1, stream=None):
        self.monitor, self.patience, self.min_delta = monitor, patience, abs(min_delta)
        self.verbose, self.stream = verbose, stream
        if mode == "auto":
            mode = "max" if any(s in monitor for s in ("acc", "f1", "precision", "recall")) else "min"
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min', 'max' or 'auto', got {mode!r}")
        self.mode = mode
        self.restore_best_weights = restore_best_weights
        self.stopped_epoch = None
        self.stop_reason = None

    def on_train_begin(self, logs=None):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = None
        self.wait = 0
        self.best_state = None

    def _improved(self, value):
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            raise KeyError(f"EarlyStopping: monitored value {self.monitor!r} is not in the logs "
                           f"(available: {sorted(logs or {})}); pass validation data for val_* names")
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_state = {k: v.data.copy() for k, v in self.model.state_dict().items()}
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = epoch
                self.trainer.stop_training = True
                best = "none yet" if self.best_epoch is None else f"{self.best:.4g} at epoch {self.best_epoch + 1}"
                self.stop_reason = (f"EarlyStopping: stopped after epoch {epoch + 1}: {self.monitor} {value:.4g} has not "
                                    f"improved ({self.mode}, min_delta {self.min_delta:g}) on the best {best} "
                                    f"for {self.wait} epoch(s) (patience {self.patience})")
                if self.verbose:
                    print(self.stop_reason, file=self.stream or sys.stdout, flush=True)

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_state is not None:
            self.model.load_state_dict(self.best_state)


class ModelCheckpoint(Callback):
    """Write checkpoints into ``directory``: ``last.ckpt`` every epoch and ``best.ckpt``
    whenever ``monitor`` improves. Each holds the model, optimizer, scheduler,
    epoch, step and every RNG state, written atomically (see :mod:`shendu.training.checkpoint`).

    ``extra``: a JSON-able dict, or a function returning one at each save, stored in the
    checkpoint as ``meta["extra"]`` (what is needed besides the weights to use the model:
    its dataset, preprocessing, class names, the run's history…)."""

    def __init__(self, directory, monitor="val_loss", mode="auto", save_best=True, save_last=True, extra=None):
        self.directory = os.fspath(directory)
        self.extra = extra
        self.monitor = monitor
        if mode == "auto":
            mode = "max" if any(s in monitor for s in ("acc", "f1", "precision", "recall")) else "min"
        self.mode = mode
        self.save_best, self.save_last = save_best, save_last
        self.best = None

    @property
    def last_path(self):
        return os.path.join(self.directory, "last.ckpt")

    @property
    def best_path(self):
        return os.path.join(self.directory, "best.ckpt")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        extra = self.extra() if callable(self.extra) else self.extra
        if self.save_last:
            self.trainer.save_checkpoint(self.last_path, epoch=epoch + 1, logs=logs, extra=extra)
        value = logs.get(self.monitor)
        if self.save_best and value is None:
            raise KeyError(f"ModelCheckpoint: monitored value {self.monitor!r} is not in the logs "
                           f"(available: {sorted(logs)}); pass validation data for val_* names, "
                           f"or save_best=False")
        if self.save_best:
            better = self.best is None or (value < self.best if self.mode == "min" else value > self.best)
            if better:
                self.best = value
                self.trainer.save_checkpoint(self.best_path, epoch=epoch + 1, logs=logs, extra=extra)


class LearningRateScheduler(Callback):
    """Step an lr scheduler from ``shendu.optim.lr_scheduler`` once per epoch (or per batch).

    ``ReduceLROnPlateau`` is stepped with the monitored value (default ``val_loss``,
    falling back to ``loss``).
    """

    def __init__(self, scheduler, per="epoch", monitor="val_loss"):
        if per not in ("epoch", "batch"):
            raise ValueError(f"LearningRateScheduler: per must be 'epoch' or 'batch', got {per!r}")
        self.scheduler, self.per, self.monitor = scheduler, per, monitor

    def _plateau(self):
        return type(self.scheduler).__name__ == "ReduceLROnPlateau"

    def on_batch_end(self, step, logs=None):
        if self.per == "batch" and not self._plateau():
            self.scheduler.step()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._plateau():
            self.scheduler.step(logs.get(self.monitor, logs.get("loss")))
        elif self.per == "epoch":
            self.scheduler.step()
        logs["lr"] = self.trainer.optimizer.param_groups[0]["lr"]


class CSVLogger(Callback):
    """Append one row per epoch (epoch and every logged number) to a CSV file."""

    def __init__(self, path, append=False):
        self.path, self.append = os.fspath(path), append
        self.keys = None

    def on_train_begin(self, logs=None):
        if not self.append and os.path.exists(self.path):
            os.remove(self.path)
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)

    def on_epoch_end(self, epoch, logs=None):
        logs = {k: v for k, v in (logs or {}).items() if isinstance(v, (int, float))}
        new_file = not os.path.exists(self.path)
        if self.keys is None:
            self.keys = sorted(logs)
        with open(self.path, "a", newline="") as f:
            w = csv.writer(f)
            if new_file:
                w.writerow(["epoch"] + self.keys)
            w.writerow([epoch + 1] + [logs.get(k, "") for k in self.keys])


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``."""

    def __init__(self, **hooks):
        for name, fn in hooks.items():
            if not name.startswith("on_") or not hasattr(Callback, name):
                raise ValueError(f"LambdaCallback: unknown hook {name!r}")
            setattr(self, name, fn)
