"""The deep-belief-network job behind ``shendu train dbn`` and the scarce-label experiment of docs/rbm.md.

:func:`train_dbn_run` pre-trains a :class:`~shendu.models.dbn.DBN` greedily on the training
images (no labels), unrolls it into an MLP and fine-tunes that with backpropagation on the
labelled images (all of them, or ``labels_per_class`` of each class), then tests it. It writes

* ``last.ckpt``: the fine-tuned classifier (``Flatten`` first, so it takes the dataset's images;
  a shendu checkpoint with the identity preprocessing recorded, so ``shendu evaluate`` reads it);
* ``dbn.safetensors``: the pre-trained stack (``DBN.load_state_dict``; its layers in the metadata);
* ``samples.png``: test images, their reconstructions through the stack, and samples of the model
  (with all labels: one per class, the top RBM's label units clamped; with scarce labels: short
  Gibbs chains started from test images);
* ``curves.png``: the fine-tuning loss and accuracy; ``metrics.json``: every number.

:func:`pretraining_gap` runs the comparison of Hinton, Osindero & Teh (2006) in small: the
same network fine-tuned the same way from the DBN's weights and from a random initialisation.
"""
from __future__ import annotations

import json
import os
import time
import warnings

from .. import backend
from ..backend import xp
from ..data import DatasetSplits
from ..models.dbn import DBN
from ..nn import Flatten, Sequential
from ..serialization import atomic_write, save_file
from .checkpoint import save_checkpoint
from .generative_run import image_grid, write_png
from .run import Preprocess, load_dataset

#: Defaults of ``shendu train dbn``.
#: (the configuration measured in docs/rbm.md; Hinton et al.'s 500-500 is hidden=(500, 500)).
DBN_DEFAULTS = {"dataset": "mnist", "hidden": (256, 256), "pretrain_epochs": 3, "epochs": 30, "batch_size": 32,
                "lr": 0.05, "rbm_lr": 0.1, "rbm_batch_size": 50, "labels_per_class": None, "seed": 0,
                "top_epochs": 10, "top_lr": 0.05}
FILES = {"checkpoint": "last.ckpt", "dbn": "dbn.safetensors", "samples": "samples.png", "curves": "curves.png",
         "metrics": "metrics.json"}


def flat(x):
    """Images (N, C, H, W) -> visible vectors (N, C·H·W), float32."""
    x = xp.asarray(x, dtype=xp.float32)
    return x.reshape(len(x), -1)


def labelled_subset(y, per_class, seed):
    """Indices of ``per_class`` examples of each class of ``y``, drawn with ``seed``, sorted."""
    rng = xp.random.default_rng(seed)
    picks = []
    for c in xp.unique(y):
        idx = xp.flatnonzero(y == c)
        if len(idx) < per_class:
            raise ValueError(f"labels_per_class={per_class}: class {int(c)} has only {len(idx)} training examples")
        picks.append(rng.choice(idx, per_class, replace=False))
    return xp.sort(xp.concatenate(picks))


def finetune(net, x, y, epochs, lr, batch_size, seed, verbose=0):
    """Backpropagation on (x, y): SGD with momentum 0.9 at a constant ``lr``, cross-entropy on the
    logits; returns the ``fit`` history (dict of lists)."""
    net.compile("sgd", loss="cross_entropy", metrics=["accuracy"], lr=lr, schedule="constant",
                optimizer_options={"momentum": 0.9})
    return net.fit(x, y, epochs=epochs, batch_size=batch_size, seed=seed, verbose=verbose).history


def accuracy(net, x, y):
    """Fraction of rows of x whose largest logit is the label."""
    return float((net.predict(x).argmax(axis=1) == y).mean())


def _scarce(splits, labels_per_class, seed):
    x, y = flat(splits.x_train), splits.y_train
    if labels_per_class is None:
        return x, y
    idx = labelled_subset(y, labels_per_class, seed)
    return x[idx], y[idx]


def pretraining_gap(splits, hidden=(500, 500), labels_per_class=100, seeds=(0, 1, 2, 3, 4), pretrain_epochs=10,
                    epochs=30, lr=0.05, rbm_lr=0.05, batch_size=32, rbm_batch_size=20, verbose=0):
    """Test accuracy of an MLP initialised from a DBN and of the same MLP initialised at random,
    both fine-tuned alike on ``labels_per_class`` labelled images per class (pre-training uses
    all training images, unlabelled). Per seed: the DBN, the labelled subset, the random
    initialisation and the shuffling.

    Returns a dict: ``pretrained`` and ``random`` (accuracy per seed), ``gap`` (per seed),
    ``mean_gap``, ``std_gap`` (sample standard deviation), ``mean_pretrained``, ``mean_random``,
    ``seconds``. ``rbm_batch_size``: rows per CD update of pre-training.
    """
    start = time.perf_counter()
    x_all = flat(splits.x_train)
    x_test, y_test = flat(splits.x_test), splits.y_test
    layers = (x_all.shape[1], *hidden)
    res = {"pretrained": [], "random": [], "seeds": list(seeds)}
    for seed in seeds:
        backend.manual_seed(seed)
        dbn = DBN(layers, learning_rate=rbm_lr, epochs=pretrain_epochs, batch_size=rbm_batch_size,
                  random_state=seed, verbose=verbose).pretrain(x_all)
        x, y = _scarce(splits, labels_per_class, seed)
        for kind, net in (("pretrained", dbn.to_mlp(splits.num_classes)),
                          ("random", DBN.random_mlp(layers, splits.num_classes))):
            finetune(net, x, y, epochs, lr, batch_size, seed)
            res[kind].append(accuracy(net, x_test, y_test))
    gaps = xp.array(res["pretrained"]) - xp.array(res["random"])
    res.update(gap=gaps.tolist(), mean_gap=float(gaps.mean()),
               std_gap=float(gaps.std(ddof=1)) if len(gaps) > 1 else 0.0,
               mean_pretrained=float(xp.mean(res["pretrained"])), mean_random=float(xp.mean(res["random"])),
               seconds=time.perf_counter() - start)
    return res


def train_dbn_run(dataset=None, data_dir=None, hidden=None, pretrain_epochs=None, epochs=None, batch_size=None,
                  lr=None, rbm_lr=None, rbm_batch_size=None, labels_per_class=None, out=None, seed=None, verbose=1,
                  top_epochs=None, top_lr=None):
    """Pre-train a DBN on a dataset's training images, fine-tune it as a classifier, test it,
    and write the files listed in the module docstring; the job of ``shendu train dbn``.

    Args:
        dataset: a name (default ``'mnist'``; ``data_dir`` points at its IDX files) or a
            :class:`~shendu.data.DatasetSplits`. Images must lie in [0, 1] (Bernoulli RBMs).
        hidden: hidden layer sizes (default (256, 256)).
        pretrain_epochs: epochs of CD-1 per RBM (default 3). rbm_lr: their learning rate (0.1);
            rbm_batch_size: rows per CD update (50).
        epochs, batch_size, lr: of the fine-tuning (SGD, momentum 0.9; defaults 30, 32, 0.05).
        labels_per_class: fine-tune on this many labelled images per class (default: all; then
            the top RBM has label units and is trained by persistent CD for ``top_epochs``
            epochs (10) at ``top_lr`` (0.05)).
        out: the run's directory (default ``runs/<timestamp>``). seed: default 0.
        verbose: 1 prints the RBMs' epochs and a line per fine-tuning epoch.

    Returns:
        The metrics written to ``metrics.json`` (``test_accuracy``, ``layers``, the RBMs'
        monitoring ``rbm_history``, the fine-tuning ``history``, ``seconds``, ``files``).
    """
    start = time.perf_counter()
    d = DBN_DEFAULTS
    run = {"dataset": d["dataset"] if dataset is None else (dataset.name if isinstance(dataset, DatasetSplits)
                                                             else dataset),
           "hidden": tuple(d["hidden"] if hidden is None else hidden),
           "pretrain_epochs": d["pretrain_epochs"] if pretrain_epochs is None else pretrain_epochs,
           "epochs": d["epochs"] if epochs is None else epochs,
           "batch_size": d["batch_size"] if batch_size is None else batch_size,
           "lr": d["lr"] if lr is None else lr, "rbm_lr": d["rbm_lr"] if rbm_lr is None else rbm_lr,
           "rbm_batch_size": d["rbm_batch_size"] if rbm_batch_size is None else rbm_batch_size,
           "labels_per_class": labels_per_class, "seed": d["seed"] if seed is None else seed,
           "top_epochs": d["top_epochs"] if top_epochs is None else top_epochs,
           "top_lr": d["top_lr"] if top_lr is None else top_lr}
    splits = dataset if isinstance(dataset, DatasetSplits) else load_dataset(run["dataset"], data_dir)
    out = os.path.join("runs", time.strftime("%Y%m%d-%H%M%S")) if out is None else os.fspath(out)
    os.makedirs(out, exist_ok=True)
    backend.manual_seed(run["seed"])
    x_all = flat(splits.x_train)
    layers = (x_all.shape[1], *run["hidden"])
    # With every label known the top RBM gets label units (Hinton et al. 2006), which the
    # class-conditional samples need; with scarce labels pre-training stays unsupervised.
    labelled = labels_per_class is None
    dbn = DBN(layers, learning_rate=run["rbm_lr"], epochs=run["pretrain_epochs"], batch_size=run["rbm_batch_size"],
              random_state=run["seed"], verbose=verbose, num_classes=splits.num_classes if labelled else 0)
    if labelled:
        # CD-1 leaves the top RBM with one dominant mode (all chains drew 1s); persistent CD
        # lowers the model's spurious modes, so clamped labels steer its chains (docs/rbm.md).
        dbn.rbms[-1].set_params(persistent=True, epochs=run["top_epochs"], learning_rate=run["top_lr"])
    dbn.pretrain(x_all, splits.y_train if labelled else None)
    net = Sequential(Flatten(), *dbn.to_mlp(splits.num_classes))
    x, y = _scarce(splits, labels_per_class, run["seed"])
    history = finetune(net, x, y, run["epochs"], run["lr"], run["batch_size"], run["seed"], verbose=2 if verbose else 0)
    x_test, y_test = flat(splits.x_test), splits.y_test
    test_acc = accuracy(net, x_test, y_test)

    paths = {k: os.path.join(out, f) for k, f in FILES.items()}
    shape = tuple(splits.x_train.shape[1:])
    identity = Preprocess(shape, shape, [0.0] * shape[0], [1.0] * shape[0])   # the RBMs take [0, 1] pixels as they are
    extra = {"run": dict(run, hidden=list(run["hidden"])), "model": "dbn", "dataset": run["dataset"],
             "classes": list(splits.classes), "layers": list(layers), "input_shape": list(shape),
             "num_classes": dbn.num_classes, "preprocess": identity.to_dict()}
    save_checkpoint(paths["checkpoint"], net, epoch=run["epochs"], extra=extra)
    save_file({k: v.data for k, v in dbn.state_dict().items()}, paths["dbn"],
              metadata={"shendu_dbn": json.dumps({"layers": list(layers), "num_classes": dbn.num_classes})})
    shown = x_test[:10]
    k = min(10, splits.num_classes)
    samples = (dbn.sample(10, steps=200, random_state=run["seed"], labels=xp.arange(10) % k) if labelled else
               dbn.sample(10, steps=20, random_state=run["seed"], start=shown))
    rows = [shown, dbn.reconstruct(shown), samples]  # 3 rows of 10
    write_png(paths["samples"], image_grid(xp.concatenate([xp.asarray(r) for r in rows]).reshape(-1, *shape),
                                           columns=10))
    try:
        from .plots import plot_history

        plot_history(history, paths["curves"], title=f"DBN {'-'.join(map(str, layers))} fine-tuning")
    except ImportError as exc:  # matplotlib missing: the other files still count
        warnings.warn(f"train dbn: {FILES['curves']} not written: {exc}", stacklevel=2)
        del paths["curves"]
    metrics = {"test_accuracy": test_acc, "test_samples": len(y_test), "labelled_samples": len(y),
               "model": "dbn", "dataset": run["dataset"], "layers": list(layers), "run": extra["run"],
               "rbm_history": [rbm.history for rbm in dbn.rbms], "history": history, "files": paths,
               "seconds": round(time.perf_counter() - start, 3)}
    atomic_write(paths["metrics"], lambda f: f.write(json.dumps(metrics, indent=1).encode()))
    return metrics


def cli_train_dbn(a):
    """``shendu train dbn``: the parsed options of ``shendu train`` (dataset, epochs, batch size,
    lr, seed, out, data directory, quiet) -> :func:`train_dbn_run`; prints one line; returns 0."""
    for option in ("optimizer", "schedule", "augment", "val", "resume"):
        if getattr(a, option, None) not in (None, False):
            raise ValueError(f"train dbn: --{option} does not apply (pre-training is CD-1; fine-tuning is SGD "
                             f"with momentum 0.9 at a constant lr)")
    m = train_dbn_run(dataset=a.dataset, data_dir=a.data_dir, epochs=a.epochs, batch_size=a.batch_size, lr=a.lr,
                      out=a.out, seed=a.seed, verbose=0 if a.quiet else 1)
    files = m["files"]
    print(f"test accuracy {100 * m['test_accuracy']:.2f} % ({round(m['test_accuracy'] * m['test_samples'])}/"
          f"{m['test_samples']}); dbn {'-'.join(map(str, m['layers']))} on {m['dataset']} in {m['seconds']:.1f} s; "
          f"wrote {', '.join(os.path.basename(f) for f in files.values())} to {os.path.dirname(files['metrics'])}",
          flush=True)
    return 0
