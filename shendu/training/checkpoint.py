"""Checkpoints: everything needed to continue a run exactly where it stopped.

One safetensors file (see :mod:`shendu.serialization`) holds

* ``model.<name>``: every parameter and buffer,
* ``optimizer.<index>.<key>``: every array of the optimizer's per-parameter state
  (with several named optimizers: ``optimizers.<name>.<index>.<key>``),
* in the JSON metadata: the optimizer's (or each named optimizer's) param_groups and
  scalar state, the lr scheduler's (or each named one's) state, epoch, step, the model's config when known, the logs,
  and the state of shendu's random generator (dropout, initialisation,
  shuffling all draw from it).

It is written atomically (temporary file, fsync, rename): a process killed
during the write leaves the previous checkpoint intact. Nothing is pickled.
"""
from __future__ import annotations

import json

from .. import backend
from ..backend import xp
from ..nn.config import get_config
from ..serialization import load_file, save_file
from ..tensor import Tensor

FORMAT = "shendu-checkpoint-1"


def _is_array_value(v):
    return isinstance(v, Tensor) or (backend.is_array(v) and getattr(v, "ndim", 0) > 0)


def _to_json_value(v):
    if isinstance(v, Tensor):
        v = v.data
    if isinstance(v, (xp.ndarray, xp.generic)):
        return v.tolist()
    if isinstance(v, dict):
        return {str(k): _to_json_value(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_to_json_value(x) for x in v]
    return v


def model_config(model):
    """The model's architecture as JSON-able data (:func:`shendu.nn.config.get_config`), or None
    when a constructor argument cannot be stored as JSON (then rebuild the model in code)."""
    try:
        return get_config(model)
    except TypeError:
        return None


def _optimizer_entry(optimizer, tensors, prefix):
    """The JSON part of an optimizer's state; its arrays go to ``tensors`` under ``prefix``."""
    sd = optimizer.state_dict()
    scalars = {}
    for idx, st in sd["state"].items():
        for key, value in st.items():
            if _is_array_value(value):
                tensors[f"{prefix}{idx}.{key}"] = value.data if isinstance(value, Tensor) else value
            else:
                scalars.setdefault(str(idx), {})[key] = _to_json_value(value)
    return {"param_groups": _to_json_value(sd["param_groups"]), "scalars": scalars, "type": type(optimizer).__name__}


def _scheduler_entry(scheduler):
    return {"state": _to_json_value(scheduler.state_dict()), "type": type(scheduler).__name__}


def _optimizer_state(entry, tensors, prefix):
    state = {}
    for k, v in tensors.items():
        if k.startswith(prefix):
            idx, key = k[len(prefix):].split(".", 1)
            state.setdefault(int(idx), {})[key] = v
    for idx, st in entry["scalars"].items():
        state.setdefault(int(idx), {}).update(st)
    return {"state": state, "param_groups": entry["param_groups"]}


def save_checkpoint(path, model, optimizer=None, scheduler=None, epoch=0, step=0, logs=None, config=None, extra=None):
    """Write a checkpoint of the training state to ``path`` (atomically).

    ``optimizer`` and ``scheduler``: one each, or dicts of them by name (a model trained by a
    custom ``train_step`` with several optimizers, each with its schedule).

    ``config``: the architecture to record (default: :func:`model_config` of ``model``, so that
    :func:`shendu.nn.config.from_config` on ``meta["config"]`` rebuilds it); ``extra``: any
    JSON-able dict stored as ``meta["extra"]`` (e.g. the dataset and its preprocessing).
    """
    if config is None:
        config = model_config(model)
    tensors = {f"model.{k}": v.data for k, v in model.state_dict().items()}
    meta = {"format": FORMAT, "epoch": int(epoch), "step": int(step),
            "rng": backend.get_rng_state(), "logs": _to_json_value(logs or {}),
            "config": config, "extra": _to_json_value(extra or {})}
    if isinstance(optimizer, dict):
        meta["optimizers"] = {name: _optimizer_entry(opt, tensors, f"optimizers.{name}.")
                              for name, opt in optimizer.items()}
    elif optimizer is not None:
        meta["optimizer"] = _optimizer_entry(optimizer, tensors, "optimizer.")
    if isinstance(scheduler, dict):
        meta["schedulers"] = {name: _scheduler_entry(sch) for name, sch in scheduler.items()}
    elif scheduler is not None:
        meta["scheduler"] = _scheduler_entry(scheduler)
    save_file(tensors, path, metadata={"shendu": json.dumps(meta)})


def read_checkpoint(path):
    """Read a checkpoint file: ``(model_state, optimizer_state_dict or None, meta)``; with
    several named optimizers, the second item is a dict of state dicts by name."""
    tensors, metadata = load_file(path, with_metadata=True)
    if "shendu" not in metadata:
        hint = ("; it holds the RBM stack of `shendu train dbn` (DBN.load_state_dict reads it): the classifier's "
                "checkpoint is last.ckpt beside it" if "shendu_dbn" in metadata else
                "; it holds a generative model of `shendu train` (shendu.load or `shendu sample` read it)"
                if "shendu_generative" in metadata else "")
        raise ValueError(f"checkpoint: {path} is a safetensors file but not a shendu checkpoint (no 'shendu' "
                         f"metadata){hint}")
    meta = json.loads(metadata["shendu"])
    if meta.get("format") != FORMAT:
        raise ValueError(f"checkpoint: {path} has format {meta.get('format')!r}, expected {FORMAT!r}")
    model_state = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    opt = None
    if "optimizer" in meta:
        opt = _optimizer_state(meta["optimizer"], tensors, "optimizer.")
    elif "optimizers" in meta:
        opt = {name: _optimizer_state(entry, tensors, f"optimizers.{name}.")
               for name, entry in meta["optimizers"].items()}
    return model_state, opt, meta


def load_checkpoint(path, model, optimizer=None, scheduler=None, restore_rng=True):
    """Restore model, optimizer(s), scheduler(s) and RNG from ``path`` (dicts by name as
    :func:`save_checkpoint` takes them); returns the metadata
    (``meta["epoch"]`` is the number of finished epochs, ``meta["step"]`` the global step)."""
    model_state, opt_state, meta = read_checkpoint(path)
    model.load_state_dict(model_state)
    if isinstance(optimizer, dict):
        saved = opt_state if "optimizers" in meta else {}
        if set(saved) != set(optimizer):
            raise ValueError(f"checkpoint: {path} holds optimizers {sorted(saved) or 'none by name'}, "
                             f"expected {sorted(optimizer)}")
        for name, opt in optimizer.items():
            opt.load_state_dict(saved[name])
    elif optimizer is not None:
        if "optimizer" not in meta:
            raise ValueError(f"checkpoint: {path} holds no optimizer state"
                             + (f" of a single optimizer (it holds {sorted(opt_state)})" if opt_state else ""))
        optimizer.load_state_dict(opt_state)
    if isinstance(scheduler, dict):
        for name, sch in scheduler.items():
            entry = meta.get("schedulers", {}).get(name)
            if entry is None:
                raise ValueError(f"checkpoint: {path} holds no schedule of optimizer {name!r}")
            sch.load_state_dict(entry["state"])
    elif scheduler is not None and "scheduler" in meta:
        scheduler.load_state_dict(meta["scheduler"]["state"])
    if restore_rng:
        backend.set_rng_state(meta["rng"])
    return meta
