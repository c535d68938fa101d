"""Keras's progress output for ``fit`` / ``evaluate`` / ``predict``.

verbose=1: ``Epoch 3/10`` then one line redrawn as batches go
``422/422 ━━━━━━━━━━━━━━━━━━━━ 3s 7ms/step - accuracy: 0.9712 - loss: 0.0931``;
verbose=2: one line per epoch ``422/422 - 3s - 7ms/step - accuracy: … - loss: …``;
verbose=0: nothing. ("auto" is 1.) Values are printed with 4 decimals, keys sorted.
"""
from __future__ import annotations

import sys
import time

from ..training import callbacks as shendu_callbacks
from .callbacks import keras_logs


def format_logs(logs):
    """``'loss: 0.1234 - accuracy: 0.9000'``: Keras's log line, names sorted, floats to 4 places."""
    return " - ".join(f"{k}: {v:.4f}" if isinstance(v, float) else f"{k}: {v}" for k, v in sorted(logs.items()))


def _duration(seconds):
    return f"{seconds:.0f}s"


def line(done, total, seconds, logs, verbose, width=20):
    """One progress line in Keras's format."""
    per = seconds / max(done, 1)
    rate = f"{per * 1000:.0f}ms/step" if per >= 1e-3 else f"{per * 1e6:.0f}us/step"
    text = format_logs(keras_logs(logs))
    if verbose == 2:
        head = f"{done}/{total} - {_duration(seconds)} - {rate}"
    else:
        filled = int(width * done / max(total, 1))
        head = f"{done}/{total} {'━' * filled}{' ' * (width - filled)} {_duration(seconds)} {rate}"
    return head + (f" - {text}" if text else "")


class Progbar(shendu_callbacks.Callback):
    """The progress output of ``fit`` (a shendu callback; first in the list)."""

    def __init__(self, verbose, epochs, steps, stream=None):
        self.verbose, self.epochs, self.steps = verbose, epochs, steps
        self.stream = stream or sys.stdout

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()
        print(f"Epoch {epoch + 1}/{self.epochs}", file=self.stream, flush=True)

    def on_batch_end(self, step, logs=None):
        if self.verbose == 1 and getattr(self.stream, "isatty", lambda: False)():
            print("\r" + line(step + 1, self.steps, time.perf_counter() - self.start, logs, 1), end="",
                  file=self.stream, flush=True)

    def on_epoch_end(self, epoch, logs=None):
        text = line(self.steps, self.steps, time.perf_counter() - self.start, logs, self.verbose)
        print(("\r" if self.verbose == 1 and getattr(self.stream, "isatty", lambda: False)() else "") + text,
              file=self.stream, flush=True)
