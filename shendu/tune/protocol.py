"""The protocol of ``shendu tune`` (:func:`tune_model`): zoo models (or factories) on datasets,
trained as ``shendu train`` trains, judged on validation, the best refit and tested once."""
from __future__ import annotations

import inspect
import json
import os
import time

from .. import backend
from .report import finished_count
from .samplers import safe_url
from .search import search
from .space import DEFAULT_GRID, DEFAULT_SPACE, describe_space

#: The settings of the training loop; any other parameter goes to the model's factory when it
#: takes it (e.g. ``channels`` of ``xo_cnn``), else to the optimizer (``weight_decay``, ``momentum``…).
TRAINING = ("lr", "batch_size", "optimizer", "schedule", "augment")
FILES = {"storage": "study.db", "trials": "trials.csv", "results": "results.json", "history": "history.png",
         "importance": "importance.png"}


class ModelBuilder:
    """Builds the model of a configuration: a zoo name (``get_model``) or a factory
    ``factory(num_classes=, in_channels=, **kw)``; knows which keywords the factory takes."""

    def __init__(self, model, num_classes, in_channels, image_shape):
        from ..models import model_info

        if isinstance(model, str):
            info = model_info(model)
            self.name, self.factory, self.input_hw = model, info.factory, info.input_shape[1:]
        elif callable(model):
            self.name, self.factory, self.input_hw = getattr(model, "__name__", "model"), model, image_shape[1:]
        else:
            raise TypeError(f"tune: model must be a zoo name or a factory function, got {type(model).__name__}")
        self.num_classes, self.in_channels = num_classes, in_channels
        sig = inspect.signature(self.factory).parameters
        self.any_keyword = any(p.kind == p.VAR_KEYWORD for p in sig.values())
        self.keywords = [k for k in sig if k not in ("num_classes", "in_channels")]

    def takes(self, key):
        return self.any_keyword or key in self.keywords

    def __call__(self, **kw):
        return self.factory(num_classes=self.num_classes, in_channels=self.in_channels, **kw)


def train_config(builder, x, y, pre, config, epochs, seed, validation=None, callbacks=()):
    """Train ``builder``'s model with ``config`` as ``shendu train`` trains (cosine schedule stepped
    every batch unless ``schedule='constant'``); returns the model and its per-epoch history."""
    from ..data import DataLoader
    from ..training.run import DEFAULTS

    run = {k: config.get(k, DEFAULTS[k]) for k in TRAINING}
    model_kw = {k: v for k, v in config.items() if k not in TRAINING and builder.takes(k)}
    opt_kw = {k: v for k, v in config.items() if k not in TRAINING and k not in model_kw}
    if run["schedule"] not in ("cosine", "constant"):
        raise ValueError(f"tune: schedule must be 'cosine' or 'constant', got {run['schedule']!r}")
    backend.manual_seed(seed)
    net = builder(**model_kw)
    try:
        net.compile(run["optimizer"], loss="cross_entropy", metrics=["accuracy"], lr=run["lr"],
                    schedule=run["schedule"], optimizer_options=opt_kw)
    except TypeError as exc:
        raise ValueError(f"tune: parameters {sorted(opt_kw)} are neither training settings ({', '.join(TRAINING)}), "
                         f"arguments of model {builder.name!r} ({', '.join(builder.keywords) or 'none'}), nor "
                         f"all options of optimizer {run['optimizer']!r} ({exc})") from None
    val = DataLoader(validation, batch_size=256, transform=pre) if validation is not None else None
    history = net.fit(x, y, epochs=epochs, batch_size=run["batch_size"], validation_data=val,
                      callbacks=list(callbacks), seed=seed, transform=pre.train_transform(run["augment"]), verbose=0)
    return net, history.history


def tune_model(model="lenet5", dataset="digits", n_trials=20, sampler="tpe", space=None, epochs=None,
               storage=None, study_name=None, out=None, seed=0, sampler_seed=None, val=None, pruner="median",
               metric="val_accuracy", timeout=None, compare_default=True, data_dir=None, verbose=1, stream=None,
               plot=True, worker=False, create_only=False, heartbeat=20):
    """Search the training hyperparameters of a zoo model on a dataset; the job of ``shendu tune``.

    The protocol is in the module docstring. Each trial trains with ``epochs`` epochs (default 20, as
    ``shendu train``) and the configuration drawn from ``space``, its other settings those of
    ``shendu train`` (Adam, lr 3e-3, batches of 64, cosine schedule). The files go to ``out``.

    Args:
        model: a zoo name (default ``'lenet5'``) or a factory ``factory(num_classes=, in_channels=, **kw)``
            (its input is the dataset's images as they are).
        dataset: a name (default ``'digits'``) or a :class:`~shendu.data.DatasetSplits`.
        n_trials: finished trials to reach in all (see :func:`search`; default 20).
        sampler: ``'tpe'``, ``'random'``, ``'grid'``, ``'cmaes'``.
        space: a dict or function (default :data:`DEFAULT_SPACE`, or :data:`DEFAULT_GRID` for the grid).
            Keys: training settings (:data:`TRAINING`), keywords of the model's factory, or options
            of the optimizer (``weight_decay``, ``momentum``…).
        epochs: per trial and for the final training (default 20).
        storage: database URL (default ``sqlite:///<out>/study.db``); study_name: default ``<model>-<dataset>``.
        out: the directory of the files (default ``runs/tune-<study name>``): ``study.db`` (with the
            default storage), ``trials.csv``, ``results.json``, ``history.png``, ``importance.png``.
        seed: seeds the split and every trial's initialisation and shuffling (the same for all trials,
            so that they differ only by their parameters); part of the study's settings.
        sampler_seed: seeds the sampler (default ``seed``); workers sharing a study each need their own.
        val: the validation fraction of the training images (default 0.1, as ``shendu train``).
        pruner: ``'median'`` (default; never before a quarter of the epochs) or ``'none'``.
        metric: ``'val_accuracy'`` (default, maximised) or ``'val_loss'`` (minimised).
        timeout: stop starting trials after this many seconds.
        compare_default: also run the default configuration through the protocol (default True).
        verbose: 1 prints one line per trial; stream: where (default stdout). plot: write the PNGs.
        worker, create_only, heartbeat: several processes on one study (``shendu tune --workers N``,
            docs/distributed.md): ``create_only`` creates the study and returns ``{"study", "storage",
            "created"}``; a ``worker`` runs trials until the study has ``n_trials`` and returns
            ``{"study", "storage", "new_trials", "finished"}`` without the final training and test,
            which a plain call (no trial left to run) then does once. ``heartbeat``: seconds.

    Returns:
        The contents of ``results.json``: ``best`` (trial, params, the validation value, test_accuracy,
        test_loss), ``default`` (the same for the default configuration), ``trials`` (the table's rows),
        ``importances``, the study, storage, sampler, counts, ``files`` and ``seconds``.
    """
    from ..training.run import DEFAULTS, Preprocess, load_dataset

    start = time.perf_counter()
    epochs = DEFAULTS["epochs"] if epochs is None else epochs
    val = DEFAULTS["val"] if val is None else val
    if not (isinstance(epochs, int) and epochs >= 1):
        raise ValueError(f"tune: epochs must be a positive integer, got {epochs!r}")
    if not 0 < val < 1:
        raise ValueError(f"tune: val (the validation fraction) must be in (0, 1), got {val!r}")
    if metric not in ("val_accuracy", "val_loss"):
        raise ValueError(f"tune: metric must be 'val_accuracy' or 'val_loss', got {metric!r}")
    if space is None:
        space = DEFAULT_GRID if sampler == "grid" else DEFAULT_SPACE
    splits = dataset if not isinstance(dataset, str) else load_dataset(dataset, data_dir)
    data = splits.with_validation(val, seed=seed)
    builder = ModelBuilder(model, splits.num_classes, splits.x_train.shape[1], splits.x_train.shape[1:])
    study_name = study_name or f"{builder.name}-{splits.name}"
    out = os.path.join("runs", f"tune-{study_name}") if out is None else os.fspath(out)
    if storage is None:
        storage = "sqlite:///" + os.path.abspath(os.path.join(out, FILES["storage"]))
    pre = Preprocess.for_images(data.x_train, builder.input_hw)
    direction = "maximize" if metric == "val_accuracy" else "minimize"

    def objective(params, trial):
        _, history = train_config(builder, data.x_train, data.y_train, pre, params, epochs, seed,
                                   validation=(data.x_val, data.y_val), callbacks=[trial.callback(metric)])
        return history[metric][-1]

    settings = {"model": builder.name, "dataset": splits.name, "epochs": epochs, "val": val, "seed": seed,
                "metric": metric}
    result = search(objective, space, n_trials, sampler=sampler, pruner=pruner, warmup_steps=max(1, epochs // 4),
                    storage=storage, study_name=study_name, direction=direction, metric=metric,
                    seed=seed if sampler_seed is None else sampler_seed,
                    timeout=timeout, settings=settings, verbose=verbose, stream=stream, worker=worker,
                    create_only=create_only, heartbeat=heartbeat)
    if create_only or worker:
        return {"study": study_name, "storage": safe_url(storage), "created": create_only,
                "new_trials": result.new_trials, "finished": finished_count(result.study)}

    full_pre = Preprocess.for_images(splits.x_train, builder.input_hw)

    def test(config):  # train on training + validation, evaluate once on test
        net, _ = train_config(builder, splits.x_train, splits.y_train, full_pre, config, epochs, seed)
        from ..data import DataLoader

        res = net.evaluate(DataLoader((splits.x_test, splits.y_test), batch_size=256, transform=full_pre))
        return {"test_accuracy": res["accuracy"], "test_loss": res["loss"]}

    best = {"trial": result.best_number, "params": result.best_params, metric: result.best_value,
            **test(result.best_params)}
    report = {"model": builder.name, "dataset": splits.name, "study": study_name,
              "storage": safe_url(storage),
              "sampler": sampler if isinstance(sampler, str) else type(sampler).__name__, "n_trials": n_trials,
              "finished": finished_count(result.study), "new_trials": result.new_trials, "epochs": epochs, "seed": seed,
              "metric": metric, "space": describe_space(space), "best": best, "default": None}
    if compare_default:
        config = {k: DEFAULTS[k] for k in TRAINING}
        _, history = train_config(builder, data.x_train, data.y_train, pre, config, epochs, seed,
                                   validation=(data.x_val, data.y_val))
        report["default"] = {"params": config, metric: history[metric][-1], **test(config)}
    report["importances"] = result.importances(seed)
    report["trials"] = result.rows()
    files = {k: os.path.join(out, f) for k, f in FILES.items() if k != "storage"}
    if storage == "sqlite:///" + os.path.abspath(os.path.join(out, FILES["storage"])):
        files["storage"] = os.path.join(out, FILES["storage"])
    result.write_csv(files["trials"])
    if plot:
        baseline = report["default"][metric] if report["default"] else None
        result.plot_history(files["history"], baseline=baseline,
                            title=f"{builder.name} on {splits.name}: {metric} by trial")
        if result.plot_importance(files["importance"], title=f"{builder.name} on {splits.name}: "
                                                             f"parameter importances", seed=seed) is None:
            del files["importance"]
    else:
        del files["history"], files["importance"]
    report["files"] = files
    report["seconds"] = round(time.perf_counter() - start, 3)
    report["table"] = result.table()
    from ..serialization import atomic_write

    atomic_write(files["results"], lambda f: f.write(json.dumps(report, indent=2, default=repr).encode("utf-8")))
    return report
