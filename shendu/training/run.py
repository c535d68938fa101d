"""The jobs behind the command line, as library functions: train a zoo model on a dataset,
evaluate a checkpoint, classify image files, list the zoo.

    >>> from shendu.training.run import train_run, evaluate_run, predict_images
    >>> m = train_run()                                   # LeNet-5 on digits, as `shendu train`
    >>> m["test_accuracy"], m["checkpoint"]
    (0.98..., 'runs/20250101-120000/last.ckpt')
    >>> evaluate_run(m["checkpoint"])["accuracy"]         # the same number, from the file alone
    0.98...
    >>> predict_images(m["checkpoint"], ["seven.png"])[0]["top"][0]
    ('7', 0.99...)

A run's directory holds three files: ``last.ckpt`` (model, optimizer, lr schedule, epoch,
RNG, and everything needed to use the model: its architecture, the dataset, the
preprocessing and the class names), ``curves.png`` (loss and accuracy per epoch, training
and validation) and ``metrics.json`` (the final numbers and the history).

Preprocessing (:class:`Preprocess`) maps a dataset's images to the model's input and is
stored in the checkpoint, so ``evaluate`` and ``predict`` apply exactly what training did:

1. fit the size: the same size is kept; an input that is k times the image in both
   directions repeats each pixel k×k times (nearest-neighbour upsampling, e.g. digits
   8×8 → 32×32 for LeNet-5, k = 4); a larger input that is not a multiple centres the
   image on a zero (background) canvas (MNIST 28×28 → 32×32, as LeCun et al. 1998 did);
2. normalise each channel, x' = (x − μ_c) / σ_c, with μ_c, σ_c the mean and standard
   deviation of the training images after step 1.
"""
from __future__ import annotations

import datetime
import json
import math
import os
import time
import warnings

from .. import backend
from ..backend import get_array_module, xp
from ..data import DataLoader, DatasetSplits, Normalize, RandomAffine, RandomCrop, RandomHorizontalFlip, Transform
from ..data import datasets
from ..data.images import read_image
from ..nn.config import from_config
from ..tensor import Tensor
from . import callbacks as cb
from .checkpoint import read_checkpoint

#: The defaults of ``shendu train``: LeNet-5 (modern) on digits, Adam 3e-3 with a cosine
#: schedule, 20 epochs of batches of 64; 10 % of the training images for validation.
DEFAULTS = {"model": "lenet5", "dataset": "digits", "epochs": 20, "batch_size": 64, "optimizer": "adam",
            "lr": 3e-3, "schedule": "cosine", "augment": False, "seed": 0, "val": 0.1}
FILES = {"checkpoint": "last.ckpt", "curves": "curves.png", "metrics": "metrics.json"}
DOWNLOADED = ("mnist", "fashion_mnist", "cifar10")  # the datasets that take root= (a data directory)


# ------------------------------------------------------------------ preprocessing
class FitSize(Transform):
    """Bring images of size (H, W) to the model's (H', W'): unchanged, upsampled by repeating
    each pixel k×k times when H' = kH and W' = kW, else centred on a zero canvas.

    Shape: ``(N, C, H, W) -> (N, C, H', W')``.
    """

    def __init__(self, size, target):
        super().__init__()
        (h, w), (th, tw) = size, target
        self.size, self.target = (int(h), int(w)), (int(th), int(tw))
        if (h, w) == (th, tw):
            self.method = "none"
        elif th % h == 0 and tw % w == 0 and th // h == tw // w:
            self.method, self.factor = "nearest", th // h
        elif th >= h and tw >= w:
            self.method, self.offset = "pad", ((th - h) // 2, (tw - w) // 2)
        else:
            raise ValueError(f"preprocess: the model takes {th}×{tw} images, smaller than the dataset's {h}×{w}; "
                             f"choose a model for images of at least {h}×{w}")

    def apply(self, x, rng):
        n, c, h, w = x.shape
        if (h, w) != self.size:
            raise ValueError(f"preprocess: expected images of {self.size[0]}×{self.size[1]} pixels, got {h}×{w}")
        if self.method == "none":
            return x
        mod = get_array_module(x)
        if self.method == "nearest":
            k = self.factor
            return mod.broadcast_to(x[:, :, :, None, :, None], (n, c, h, k, w, k)).reshape(n, c, h * k, w * k)
        (top, left), (th, tw) = self.offset, self.target
        out = mod.zeros((n, c, th, tw), dtype=x.dtype)
        out[:, :, top:top + h, left:left + w] = x
        return out

    def area_ratio(self):
        """The fraction of the output's pixels that come from the image (1, except after padding)."""
        return 1.0 if self.method != "pad" else self.size[0] * self.size[1] / (self.target[0] * self.target[1])

    def extra_repr(self):
        return f"{self.size} -> {self.target}, method={self.method!r}"


class Preprocess:
    """Dataset images ``(N, C, H, W)`` in [0, 1] → the model's normalised input (module docstring).

    Args:
        image_shape: one image as the dataset gives it, (C, H, W).
        input_shape: one input as the model takes it, (C, H', W').
        mean, std: per-channel statistics of the training inputs after resizing.

    ``pre(x)`` applies both steps; ``pre.resize`` and ``pre.normalize`` are the two steps
    (augmentation goes between them); ``to_dict()`` / ``Preprocess.from_dict(d)`` store it as JSON.
    """

    def __init__(self, image_shape, input_shape, mean, std):
        self.image_shape, self.input_shape = tuple(int(s) for s in image_shape), tuple(int(s) for s in input_shape)
        self.resize = FitSize(self.image_shape[1:], self.input_shape[1:])
        self.mean, self.std = [float(m) for m in mean], [float(s) for s in std]
        self.normalize = Normalize(self.mean, self.std)

    @classmethod
    def for_images(cls, x_train, input_hw):
        """Measure μ_c and σ_c on the training images: repeating pixels leaves them as they are; padding
        with zeros scales the first two moments by the fraction r of image pixels, μ' = rμ, E'[x²] = rE[x²]."""
        c = x_train.shape[1]
        resize = FitSize(x_train.shape[2:], input_hw)
        r = resize.area_ratio()
        x64 = x_train.astype(xp.float64)
        m1 = x64.mean(axis=(0, 2, 3)) * r
        m2 = (x64 * x64).mean(axis=(0, 2, 3)) * r
        std = xp.sqrt(xp.maximum(m2 - m1 * m1, 0))
        std = xp.where(std > 0, std, 1.0)
        return cls(x_train.shape[1:], (c, *resize.target), m1.tolist(), std.tolist())

    def __call__(self, x, rng=None):
        return self.normalize(self.resize(x))

    def train_transform(self, augment=False):
        """The transform of training batches: resize, then (with ``augment``) random small rotations,
        zooms and shifts for grey images or random crops and flips for colour images, then normalise."""
        if not augment:
            return self
        h, w = self.input_shape[1:]
        if self.input_shape[0] == 1:
            aug = [RandomAffine(degrees=10, translate=0.08, scale=(0.9, 1.1))]
        else:
            aug = [RandomCrop((h, w), padding=(h // 8, w // 8)), RandomHorizontalFlip()]
        return _Chain([self.resize, *aug, self.normalize])

    def to_dict(self):
        d = {"image_shape": list(self.image_shape), "input_shape": list(self.input_shape),
             "resize": self.resize.method, "mean": self.mean, "std": self.std}
        if self.resize.method == "nearest":
            d["factor"] = self.resize.factor
        return d

    @classmethod
    def from_dict(cls, d):
        return cls(d["image_shape"], d["input_shape"], d["mean"], d["std"])

    def __repr__(self):
        return (f"Preprocess({self.image_shape} -> {self.input_shape}, resize={self.resize.method!r}, "
                f"mean={[round(m, 4) for m in self.mean]}, std={[round(s, 4) for s in self.std]})")


class _Chain(Transform):
    """Transforms in order, each with the generator of the call (None: the library generator,
    whose state a checkpoint saves, so a resumed run draws the same augmentations)."""

    def __init__(self, transforms):
        super().__init__()
        self.transforms = transforms

    def __call__(self, x, rng=None):
        for t in self.transforms:
            x = t(x, rng=rng)
        return x


# ------------------------------------------------------------------ data and models
def load_dataset(name, data_dir=None):
    """A dataset by name (:func:`shendu.data.load`); ``data_dir`` is where the downloaded
    datasets' files are (``root=``), an error for the embedded and generated ones."""
    key = name.lower().replace("-", "_")
    if data_dir is None:
        return datasets.load(key)
    if key not in DOWNLOADED:
        raise ValueError(f"--data-dir applies to {', '.join(DOWNLOADED)}; {name!r} needs no files")
    return datasets.load(key, root=data_dir)


def build_model(name, num_classes, in_channels):
    """The zoo model ``name`` for ``num_classes`` classes and ``in_channels`` channels, and its info."""
    from ..models import get_model, model_info  # the zoo sits above training

    info = model_info(name)
    return get_model(name, num_classes=num_classes, in_channels=in_channels), info


def _loader(x, y, pre, batch_size=256):
    return DataLoader((x, y), batch_size=batch_size, transform=pre, seed=0)  # in order; the seed is unused


class _Record(cb.Callback):
    """Keeps every epoch's logs (including those of the run a checkpoint continues) for the
    checkpoint, the curves and metrics.json."""

    def __init__(self, history):
        self.history = {k: list(v) for k, v in history.items()}

    def on_epoch_end(self, epoch, logs=None):
        for k, v in (logs or {}).items():
            if isinstance(v, (int, float)):
                self.history.setdefault(k, []).append(v)


def _default_out():
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out, i = os.path.join("runs", stamp), 1
    while os.path.exists(out):
        i += 1
        out = os.path.join("runs", f"{stamp}-{i}")
    return out


def _check_run_args(epochs, batch_size, lr, val, schedule):
    if not (isinstance(epochs, int) and epochs >= 1):
        raise ValueError(f"train: epochs must be a positive integer, got {epochs!r}")
    if not (isinstance(batch_size, int) and batch_size >= 1):
        raise ValueError(f"train: batch_size must be a positive integer, got {batch_size!r}")
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"train: lr must be a positive number, got {lr!r}")
    if not 0 <= val < 1:
        raise ValueError(f"train: val (the validation fraction) must be in [0, 1), got {val!r}")
    if schedule not in ("cosine", "constant"):
        raise ValueError(f"train: schedule must be 'cosine' or 'constant', got {schedule!r}")


# ------------------------------------------------------------------ train
def train_run(model=None, dataset=None, epochs=None, batch_size=None, optimizer=None, lr=None, augment=None,
              out=None, resume=None, seed=None, val=None, schedule=None, data_dir=None, verbose=1, stream=None,
              plot=True, distributed=False, init=None, freeze=(), head=None):
    """Train a zoo model on a dataset and write the run's three files; the job of ``shendu train``.

    The training images are split (stratified, seeded) into training and validation parts;
    the model is trained with ``fit`` and a cosine learning-rate schedule stepped every
    batch, lr_t = lr · (1 + cos(π t / T)) / 2 over the T batches of the run; the test split
    is evaluated once, at the end, with the final weights.

    Args:
        model: a name from ``shendu.models.list_models()`` (default ``'lenet5'``), built with
            the dataset's number of classes and channels.
        dataset: a name (``'digits'`` default, ``'xo'``, ``'mnist'``, ``'fashion_mnist'``,
            ``'cifar10'``) or a :class:`~shendu.data.DatasetSplits`.
        epochs: epochs in all (default 20). batch_size: default 64.
        optimizer: a name from ``shendu.optim`` (default ``'adam'``). lr: default 3e-3.
        augment: random rotations/zooms/shifts (grey) or crops/flips (colour) of the training images.
        out: the run's directory (default ``runs/<timestamp>``; with ``resume``, the checkpoint's).
        resume: a ``last.ckpt`` to continue from, exactly where it stopped. The run's settings
            (model, dataset, optimizer, lr, schedule, batch size, augmentation, seed, validation
            fraction, epochs) are those recorded in it; passing a different one is an error,
            except ``epochs`` with the constant schedule (to train a finished run further).
        seed: seeds initialisation, the validation split, shuffling and augmentation (default 0).
        val: the validation fraction of the training images (default 0.1; 0 for none).
        schedule: ``'cosine'`` (default) or ``'constant'``.
        data_dir: where mnist / fashion_mnist / cifar10 files are (default: the cache).
        verbose: 0 silent, 1 progress bar in a terminal (one line per epoch otherwise), 2 lines.
        stream: where progress goes (default stdout / stderr).
        plot: write ``curves.png`` (with matplotlib; without it, a warning and no PNG).
        distributed: data-parallel training over the ranks of ``mpirun`` (``fit(distributed=True)``,
            batch_size per rank); rank 0 writes the files and returns the metrics, the others None.
        init, freeze, head: fine-tuning: start from the weights of this checkpoint / weights file,
            freeze these modules, give a fresh output layer of ``head`` classes
            (:func:`shendu.training.transfer.init_from`; docs/transfer.md).

    Returns:
        The metrics written to ``metrics.json``: ``test_accuracy`` (a fraction), ``test_loss``,
        ``epochs``, ``seconds`` (wall time of the whole job), ``model``, ``dataset``, the final
        training and validation numbers, the settings, the paths and the per-epoch ``history``.
    """
    start = time.perf_counter()
    splits = dataset if isinstance(dataset, DatasetSplits) else None
    dataset = splits.name if splits is not None else dataset
    given = {"model": model, "dataset": dataset, "optimizer": optimizer, "lr": lr, "schedule": schedule,
             "batch_size": batch_size, "augment": augment, "seed": seed, "val": val}
    history, meta = {}, None
    if resume is not None:
        _, _, meta = read_checkpoint(resume)
        extra = meta.get("extra") or {}
        if "run" not in extra:
            raise ValueError(f"train: {resume} was not written by `shendu train` (no run settings); "
                             f"resume it with Module.fit(resume=...)")
        run = dict(extra["run"])
        for k, v in given.items():
            if v is not None and v != run.get(k):
                raise ValueError(f"train: a resumed run keeps its recorded settings: the checkpoint's run has "
                                 f"{k}={run.get(k)!r}, got {k}={v!r}")
        history = extra.get("history", {})
        if epochs is not None and epochs != run["epochs"] and run["schedule"] != "constant":
            raise ValueError(f"train: a resumed run keeps its recorded settings: the checkpoint's run has "
                             f"epochs={run['epochs']}, which its {run['schedule']} schedule spans; got epochs={epochs}")
        epochs = run["epochs"] if epochs is None else epochs
        data_dir = run.get("data_dir") if data_dir is None else data_dir
        out = os.path.dirname(os.path.abspath(resume)) if out is None else out
    else:
        run = {k: (DEFAULTS[k] if v is None else v) for k, v in given.items()}
        epochs = DEFAULTS["epochs"] if epochs is None else epochs
    _check_run_args(epochs, run["batch_size"], run["lr"], run["val"], run["schedule"])
    run["epochs"] = epochs
    out = _default_out() if out is None else os.fspath(out)

    backend.manual_seed(run["seed"])
    if splits is None:
        splits = load_dataset(run["dataset"], data_dir)
    run["data_dir"] = None if data_dir is None else os.path.abspath(data_dir)
    data = splits.with_validation(run["val"], seed=run["seed"]) if run["val"] else splits
    net, info = build_model(run["model"], data.num_classes, data.x_train.shape[1])
    pre = Preprocess.for_images(data.x_train, info.input_shape[1:])
    if resume is None and (init is not None or freeze or head is not None):
        from .transfer import init_from
        init_from(net, init, head=head, freeze=list(freeze or ()))
        run.update(init=None if init is None else os.path.abspath(init), freeze=list(freeze or ()), head=head)

    net.compile(run["optimizer"], loss="cross_entropy", metrics=["accuracy"], lr=run["lr"], schedule=run["schedule"])

    record = _Record(history)
    extra = lambda: {"run": run, "model": run["model"], "dataset": run["dataset"],  # noqa: E731
                     "classes": list(data.classes), "preprocess": pre.to_dict(), "history": record.history}
    callbacks = [record, cb.ModelCheckpoint(out, save_best=False, extra=extra)]
    os.makedirs(out, exist_ok=True)
    validation = _loader(data.x_val, data.y_val, pre) if data.val is not None else None
    net.fit(data.x_train, data.y_train, epochs=epochs, batch_size=run["batch_size"], validation_data=validation,
            callbacks=callbacks, seed=run["seed"], transform=pre.train_transform(run["augment"]), resume=resume,
            verbose=verbose, stream=stream, distributed=distributed)
    if distributed:
        from ..distributed import is_main
        if not is_main():  # rank 0 evaluates and writes the run's files
            return None

    test = net.evaluate(_loader(data.x_test, data.y_test, pre))
    paths = {k: os.path.join(out, f) for k, f in FILES.items()}
    h = record.history
    last = {k: v[-1] for k, v in h.items() if v}
    metrics = {"test_accuracy": test["accuracy"], "test_loss": test["loss"], "test_samples": len(data.x_test),
               "epochs": len(h.get("loss", [])), "seconds": None, "model": run["model"], "dataset": run["dataset"],
               "parameters": net.num_parameters(),
               "train_loss": last.get("loss"), "train_accuracy": last.get("accuracy"),
               "val_loss": last.get("val_loss"), "val_accuracy": last.get("val_accuracy"),
               "settings": dict(run), "preprocess": pre.to_dict(),
               "files": paths, "history": h}
    if not os.path.exists(paths["checkpoint"]):  # resumed into another directory with no epoch left to run
        net.trainer.save_checkpoint(paths["checkpoint"], epoch=meta["epoch"], extra=extra())
    try:
        if not plot:
            raise ImportError("plot=False")
        from .plots import plot_history

        plot_history(h, paths["curves"], title=f"{run['model']} on {run['dataset']}")
    except ImportError as exc:  # matplotlib missing: the run's results still count
        if plot:
            warnings.warn(f"train: {FILES['curves']} not written: {exc}", stacklevel=2)
        del metrics["files"]["curves"]
    metrics["seconds"] = round(time.perf_counter() - start, 3)
    from ..serialization import atomic_write

    atomic_write(paths["metrics"], lambda f: f.write(json.dumps(metrics, indent=2).encode("utf-8")))
    return metrics


# ------------------------------------------------------------------ load, evaluate, predict
def load_run(path):
    """Rebuild the model of a checkpoint with its weights, in eval mode.

    Returns ``(model, info)`` with ``info`` the checkpoint's ``extra`` (dataset, classes,
    preprocess, run settings, history) plus ``epoch``.
    """
    state, _, meta = read_checkpoint(path)
    extra = dict(meta.get("extra") or {})
    if meta.get("config") is not None:
        model = from_config(meta["config"], source=str(path))
    elif "model" in extra and "preprocess" in extra:
        model, _ = build_model(extra["model"], len(extra["classes"]), extra["preprocess"]["input_shape"][0])
    else:
        raise ValueError(f"{path}: the checkpoint records no architecture; rebuild the model in code and use "
                         f"shendu.training.load_checkpoint")
    model.load_state_dict(state)
    model.eval()
    extra["epoch"] = meta.get("epoch")
    return model, extra


def _preprocess_of(info, path):
    if "preprocess" not in info:
        raise ValueError(f"{path}: the checkpoint records no preprocessing (not written by `shendu train`)")
    return Preprocess.from_dict(info["preprocess"])


def evaluate_run(checkpoint, dataset=None, split="test", batch_size=256, data_dir=None):
    """Loss and accuracy of a checkpoint's model on a split of its dataset (or of ``dataset``),
    preprocessed as in training: ``{"loss", "accuracy", "samples", "dataset", "split", "model"}``.

    ``split``: ``'test'`` (default), ``'train'`` or ``'val'`` (the run's own training and
    validation parts, split again as in training).
    """
    model, info = load_run(checkpoint)
    pre = _preprocess_of(info, checkpoint)
    run = info.get("run", {})
    name = dataset or info.get("dataset")
    if name is None:
        raise ValueError(f"{checkpoint}: the checkpoint records no dataset; pass one")
    data_dir = data_dir if data_dir is not None else (run.get("data_dir") if name == info.get("dataset") else None)
    data = load_dataset(name, data_dir)
    if split not in ("test", "train", "val"):
        raise ValueError(f"evaluate: split must be 'test', 'train' or 'val', got {split!r}")
    val = run.get("val", DEFAULTS["val"])
    if split == "val" and not val:
        raise ValueError(f"evaluate: the run of {checkpoint} had no validation split")
    if split != "test" and val:  # the run's own training / validation parts
        data = data.with_validation(val, seed=run.get("seed", DEFAULTS["seed"]))
    x, y = {"test": (data.x_test, data.y_test), "train": (data.x_train, data.y_train),
            "val": (data.x_val, data.y_val)}[split]
    if tuple(x.shape[1:]) != pre.image_shape:
        raise ValueError(f"evaluate: {name} images are {tuple(x.shape[1:])} but the model was trained on "
                         f"{pre.image_shape}")
    model.compile(loss="cross_entropy", metrics=["accuracy"])
    res = model.evaluate(_loader(x, y, pre, batch_size))
    return {"loss": res["loss"], "accuracy": res["accuracy"], "samples": len(y), "dataset": name, "split": split,
            "model": info.get("model", type(model).__name__)}


def predict_images(checkpoint, paths, top=3, invert=None):
    """Classify image files with a checkpoint's model, preprocessed as in training.

    Returns one dict per file: ``{"path", "top": [(class name, probability), ...]}`` with the
    ``top`` most probable classes (softmax of the outputs), best first.
    """
    from ..functional import softmax

    model, info = load_run(checkpoint)
    pre = _preprocess_of(info, checkpoint)
    if not paths:
        raise ValueError("predict: no image files given")
    x = xp.stack([read_image(p, pre.image_shape, invert, dataset=info.get("dataset")) for p in paths])
    probs = softmax(Tensor._wrap(xp.asarray(model.predict(pre(x))), False, None), dim=1).numpy()
    classes = info.get("classes") or [str(i) for i in range(probs.shape[1])]
    k = max(1, min(int(top), probs.shape[1]))
    results = []
    for p, row in zip(paths, probs):
        order = xp.argsort(-row, kind="stable")[:k]
        results.append({"path": os.fspath(p), "top": [(classes[i], float(row[i])) for i in order]})
    return results


__all__ = ["DEFAULTS", "FILES", "FitSize", "Preprocess", "train_run", "evaluate_run", "predict_images", "read_image",
           "load_run", "load_dataset", "build_model"]
