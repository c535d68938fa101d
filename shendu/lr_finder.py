"""The learning-rate range test (L. N. Smith 2015, "Cyclical Learning Rates for Training Neural
Networks", section 3.3; the "LR finder" of fastai): train for a few hundred batches while the
learning rate grows geometrically from tiny to huge, and read a good learning rate off the curve
of loss against learning rate (docs/lr_find.md).

    >>> result = shendu.lr_find(model, (x_train, y_train), optimizer="adam")
    >>> result.suggestion                      # where the smoothed loss falls fastest
    0.0031...
    >>> result.plot("lr_find.png")

Step i of n uses lr_i = start · (end / start)^(i / (n − 1)). The loss of each batch is
smoothed by an exponential moving average with bias correction (Adam's),

    a_i = β · a_{i−1} + (1 − β) · loss_i,  a_0 = 0,    L_i = a_i / (1 − β^i),   β = 1 − smooth,

and the test stops early once L_i > diverge_threshold · min_{j≤i} L_j (the loss has blown up)
or the loss is not finite. The suggestion is the learning rate where L falls fastest against
log lr — the most negative dL/d(log₁₀ lr), looked for between the first tenth of the steps and
the minimum of L — or, when there is no such descent, lr_min / 10 (Smith's and fastai's rule of
thumb: an order of magnitude below the learning rate of the lowest loss).

The model, its mode, its gradients, the optimizer's state and the library's random generator are
restored afterwards: the test leaves the model exactly as it found it.
"""
from __future__ import annotations

import io
import json
import math
import os

from . import backend
from .backend import xp
from .optim import Optimizer
from .training.batches import ArrayBatches, make_batches, model_dtype
from .training.trainer import Trainer

__all__ = ["lr_find", "LRFinderResult", "lr_find_run", "add_arguments", "run"]


class LRFinderResult:
    """The outcome of :func:`lr_find`.

    Attributes:
        lrs: the learning rate of each step taken (a list).
        losses: the smoothed loss L_i of each step.
        raw_losses: the loss of each batch as measured.
        suggestion: the suggested learning rate (see ``rule``).
        rule: ``'steepest'`` (the most negative slope of L against log lr, before its minimum)
            or ``'min/10'`` (lr_min / 10, when L has no descent to measure).
        lr_min: the learning rate of the smallest smoothed loss; min_loss: that loss.
        diverged: whether the test stopped early because the loss blew up.
    """

    def __init__(self, lrs, losses, raw_losses, diverged):
        self.lrs, self.losses, self.raw_losses, self.diverged = list(lrs), list(losses), list(raw_losses), diverged
        if not self.losses:
            raise ValueError("lr_find: the loss was not finite at the first step; lower start_lr or check the data")
        smoothed = xp.asarray(self.losses)
        i_min = int(xp.argmin(smoothed))
        self.lr_min, self.min_loss = self.lrs[i_min], self.losses[i_min]
        skip = len(self.losses) // 10
        if i_min - skip >= 2:  # a descent of at least three points to differentiate
            slope = xp.gradient(smoothed, xp.log10(xp.asarray(self.lrs)))
            self.rule, self.suggestion = "steepest", self.lrs[skip + int(xp.argmin(slope[skip:i_min + 1]))]
        else:
            self.rule, self.suggestion = "min/10", self.lr_min / 10

    def to_dict(self):
        """The result as JSON-able data."""
        return {"suggestion": self.suggestion, "rule": self.rule, "lr_min": self.lr_min, "min_loss": self.min_loss,
                "diverged": self.diverged, "steps": len(self.lrs), "lrs": self.lrs, "losses": self.losses,
                "raw_losses": self.raw_losses}

    def plot(self, path, title=None):
        """Write a PNG of the loss against the learning rate (log scale): the measured losses faint, the
        smoothed curve, and the suggestion marked. The y axis is cut above the highest smoothed loss
        before the minimum, so that the divergence at the end does not flatten the curve. Returns ``path``."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        from .serialization import atomic_write

        fig = Figure(figsize=(6.4, 4.2), dpi=100, layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.subplots()
        ax.plot(self.lrs, self.raw_losses, color="0.75", linewidth=0.8, label="loss of the batch")
        ax.plot(self.lrs, self.losses, color="C0", label="smoothed loss")
        i = self.lrs.index(self.suggestion) if self.rule == "steepest" else None
        ax.axvline(self.suggestion, color="C3", linestyle="--", linewidth=1)
        if i is not None:
            ax.plot([self.suggestion], [self.losses[i]], "o", color="C3")
        ax.plot([], [], "--", color="C3", label=f"suggestion {self.suggestion:.2g} ({self.rule})")
        i_min = self.lrs.index(self.lr_min)
        top, bottom = max(self.losses[:i_min + 1]), self.min_loss
        margin = 0.1 * (top - bottom) or 0.1 * abs(top) or 0.1
        ax.set_ylim(bottom - margin, top + margin)
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("training loss")
        ax.grid(True, alpha=0.3)
        ax.legend()
        ax.set_title(title or "learning-rate range test")
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        atomic_write(path, lambda f: f.write(buf.getvalue()))
        return path

    def __repr__(self):
        return (f"LRFinderResult(suggestion={self.suggestion:.3g}, rule={self.rule!r}, lr_min={self.lr_min:.3g}, "
                f"steps={len(self.lrs)}, diverged={self.diverged})")


def _batches(loader):
    """Batches without end: the loader again (as a new epoch) each time it runs out."""
    epoch = 0
    while True:
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(epoch)
        empty = True
        for batch in loader:
            empty = False
            yield batch
        if empty:
            raise ValueError("lr_find: the data gave no batch")
        epoch += 1


def lr_find(model, data, y=None, *, loss="cross_entropy", optimizer="sgd", start_lr=1e-7, end_lr=10.0,
            num_steps=100, smooth=0.05, diverge_threshold=4.0, batch_size=64, seed=0, transform=None):
    """Run the learning-rate range test on ``model`` and return an :class:`LRFinderResult`.

    lr_i = start_lr · (end_lr / start_lr)^(i / (num_steps − 1)) for the steps i = 0 … num_steps − 1,
    one training batch each; the smoothed loss L_i and the suggestion are defined in the module
    docstring. The model, its training mode, its parameters' gradients, the optimizer's state and
    ``shendu``'s random generator are restored afterwards; a loader given as ``data`` is advanced.

    Args:
        model: the Module (its loss is measured in training mode).
        data: a DataLoader (or any iterable of (x, y) Tensor batches with ``len``), an ``(x, y)``
            tuple of arrays, or arrays ``x`` with ``y``; arrays are shuffled in batches of ``batch_size``.
        loss: a name (``'cross_entropy'``, ``'mse'``…) or a callable ``loss(output, target)``;
            regularizer penalties of the model's layers are added, as ``fit`` does.
        optimizer: a name (``'sgd'`` default, ``'adam'``…), an Optimizer over the model's
            parameters (its state is restored afterwards), or a function ``params -> Optimizer``.
        start_lr, end_lr: the range (default 1e-7 to 10).
        num_steps: the number of steps (batches), at most (default 100).
        smooth: 1 − β of the moving average (default 0.05).
        diverge_threshold: stop once L_i exceeds this multiple of the lowest L so far (default 4).
        batch_size, seed, transform: for arrays: the batch size, the shuffling seed, a batch transform.

    Returns:
        :class:`LRFinderResult` (``suggestion``, ``lrs``, ``losses``, ``plot(path)``…).

    Example:
        >>> net = shendu.models.get_model("lenet5", num_classes=10)
        >>> r = shendu.lr_find(net, (x, y), optimizer="adam", num_steps=80)
        >>> r.plot("lr_find.png"); r.suggestion
    """
    if not (0 < start_lr < end_lr and math.isfinite(end_lr)):
        raise ValueError(f"lr_find: expected 0 < start_lr < end_lr, got start_lr={start_lr}, end_lr={end_lr}")
    if not (isinstance(num_steps, int) and num_steps >= 2):
        raise ValueError(f"lr_find: num_steps must be an integer of at least 2, got {num_steps!r}")
    if not 0 < smooth <= 1:
        raise ValueError(f"lr_find: smooth must be in (0, 1], got {smooth!r}")
    if not diverge_threshold > 1:
        raise ValueError(f"lr_find: diverge_threshold must be above 1, got {diverge_threshold!r}")
    loader = make_batches(data, y, batch_size, True, seed, transform, what="data")
    if not (isinstance(optimizer, (str, Optimizer)) or callable(optimizer)):
        raise TypeError(f"lr_find: optimizer must be a name, an Optimizer or a function params -> Optimizer, "
                        f"got {type(optimizer).__name__}")
    if isinstance(loader, ArrayBatches):
        loader.dtype = model_dtype(model)
    batches = _batches(loader)
    first = next(batches)
    # the set-up of fit: lazy layers built from the first batch, then the optimizer over every parameter
    trainer = Trainer(model, optimizer=optimizer, loss=loss, lr=start_lr if isinstance(optimizer, str) else None)
    trainer.setup(first)
    opt = trainer.optimizer

    params = list(model.parameters())
    saved_weights = {k: t.data.copy() for k, t in model.state_dict().items()}
    saved_grads = [p.grad for p in params]
    saved_opt, saved_rng, was_training = opt.state_dict(), backend.get_rng_state(), model.training
    beta = 1.0 - smooth
    lrs = start_lr * (end_lr / start_lr) ** (xp.arange(num_steps) / (num_steps - 1))
    taken, smoothed, raw = [], [], []
    average, best, diverged = 0.0, math.inf, False
    trainer.nan_guard = False
    try:
        model.train()
        batch = first
        for i, lr in enumerate(lrs.tolist()):
            if i:
                batch = next(batches)
            for group in opt.param_groups:
                group["lr"] = lr
            value = trainer.train_step(batch)["loss"]  # fit's step, without its guard
            if not math.isfinite(value):
                diverged = True
                break
            average = beta * average + (1 - beta) * value
            level = average / (1 - beta ** (i + 1))
            taken.append(lr)
            raw.append(value)
            smoothed.append(level)
            best = min(best, level)
            if level > diverge_threshold * best:
                diverged = True
                break
    finally:
        model.load_state_dict(saved_weights)
        for p, g in zip(params, saved_grads):
            p.grad = g
        opt.load_state_dict(saved_opt)
        backend.set_rng_state(saved_rng)
        model.train(was_training)
    return LRFinderResult(taken, smoothed, raw, diverged)


# ------------------------------------------------------------------ the job of `shendu lr-find`
def lr_find_run(model="lenet5", dataset="digits", optimizer=None, batch_size=None, start_lr=1e-7, end_lr=10.0,
                num_steps=100, out=None, seed=0, val=None, data_dir=None):
    """The range test of a zoo model on a dataset, as ``shendu train`` would train it, and its files.

    The data are the training part that ``shendu train`` trains on (the training images less the
    validation fraction ``val``), preprocessed in the same way; the optimizer and the batch size
    default to those of ``shendu train`` (Adam, 64). Writes ``lr_find.png`` and ``lr_find.json``
    to ``out`` (default ``runs/lr-find-<model>-<dataset>``).

    Returns:
        The result as a dict (:meth:`LRFinderResult.to_dict`) with ``model``, ``dataset``,
        ``optimizer``, ``batch_size`` and ``files``.
    """
    from .data import DataLoader
    from .training.run import DEFAULTS, Preprocess, build_model, load_dataset

    optimizer = DEFAULTS["optimizer"] if optimizer is None else optimizer
    batch_size = DEFAULTS["batch_size"] if batch_size is None else batch_size
    val = DEFAULTS["val"] if val is None else val
    backend.manual_seed(seed)
    splits = load_dataset(dataset, data_dir)
    data = splits.with_validation(val, seed=seed) if val else splits
    net, info = build_model(model, data.num_classes, data.x_train.shape[1])
    pre = Preprocess.for_images(data.x_train, info.input_shape[1:])
    loader = DataLoader((data.x_train, data.y_train), batch_size=batch_size, shuffle=True, seed=seed, transform=pre)
    result = lr_find(net, loader, optimizer=optimizer, start_lr=start_lr, end_lr=end_lr, num_steps=num_steps)
    out = os.path.join("runs", f"lr-find-{model}-{dataset}") if out is None else os.fspath(out)
    files = {"plot": os.path.join(out, "lr_find.png"), "result": os.path.join(out, "lr_find.json")}
    result.plot(files["plot"], title=f"{model} on {dataset}, {optimizer}, batches of {batch_size}")
    summary = {**result.to_dict(), "model": model, "dataset": dataset, "optimizer": optimizer,
               "batch_size": batch_size, "files": files}
    from .serialization import atomic_write

    atomic_write(files["result"], lambda f: f.write(json.dumps(summary, indent=2).encode("utf-8")))
    return summary


def add_arguments(parser):
    """The arguments of ``shendu lr-find`` (an argparse parser or sub-parser)."""
    from .data.datasets import DATASETS

    parser.add_argument("model", nargs="?", default="lenet5", metavar="MODEL",
                        help="a name from `shendu models` (default lenet5)")
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="digits", help="default digits")
    parser.add_argument("--optimizer", help="sgd, adam, … (default: that of `shendu train`, adam)")
    parser.add_argument("--batch-size", type=int, help="default: that of `shendu train`, 64")
    parser.add_argument("--start-lr", type=float, default=1e-7, help="default 1e-7")
    parser.add_argument("--end-lr", type=float, default=10.0, help="default 10")
    parser.add_argument("--steps", type=int, default=100, help="batches in all, at most (default 100)")
    parser.add_argument("--out", metavar="DIR", help="output directory (default runs/lr-find-MODEL-DATASET)")
    parser.add_argument("--seed", type=int, default=0, help="default 0")
    parser.add_argument("--data-dir", metavar="DIR", help="where the mnist / fashion_mnist / cifar10 files are")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser


def run(args):
    """Run ``shendu lr-find`` with parsed ``args``; prints the suggestion, returns the exit status."""
    if args.batch_size is not None and args.batch_size < 1:
        raise ValueError(f"lr-find: --batch-size must be a positive integer, got {args.batch_size}")
    r = lr_find_run(model=args.model, dataset=args.dataset, optimizer=args.optimizer, batch_size=args.batch_size,
                    start_lr=args.start_lr, end_lr=args.end_lr, num_steps=args.steps, out=args.out, seed=args.seed,
                    data_dir=args.data_dir)
    if args.json:
        print(json.dumps({k: v for k, v in r.items() if k not in ("lrs", "losses", "raw_losses")}))
        return 0
    how = ("the steepest descent of the smoothed loss" if r["rule"] == "steepest"
           else "a tenth of the learning rate of the lowest loss")
    print(f"suggested learning rate {r['suggestion']:.3g} ({how}); lowest smoothed loss {r['min_loss']:.4f} at "
          f"lr {r['lr_min']:.3g}; {r['steps']} steps{', stopped when the loss diverged' if r['diverged'] else ''}; "
          f"{r['model']} on {r['dataset']} with {r['optimizer']}; wrote {r['files']['plot']}", flush=True)
    return 0
