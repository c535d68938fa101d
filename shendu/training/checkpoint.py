"""Checkpoints: everything needed to continue a run exactly where it stopped.

One safetensors file (see :mod:`shendu.serialization`) holds

* ``model.<name>``: every parameter and buffer,
* ``optimizer.<index>.<key>``: every array of the optimizer's per-parameter state,
* in the JSON metadata: the optimizer's param_groups and scalar state, the lr
  scheduler's state, epoch, step, the model's config when known, the logs,
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


def save_checkpoint(path, model, optimizer=None, scheduler=None, epoch=0, step=0, logs=None, config=None, extra=None):
    """Write a checkpoint of the training state to ``path`` (atomically).

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
    if optimizer is not None:
        sd = optimizer.state_dict()
        scalars = {}
        for idx, st in sd["state"].items():
            for key, value in st.items():
                if _is_array_value(value):
                    tensors[f"optimizer.{idx}.{key}"] = value.data if isinstance(value, Tensor) else value
                else:
                    scalars.setdefault(str(idx), {})[key] = _to_json_value(value)
        meta["optimizer"] = {"param_groups": _to_json_value(sd["param_groups"]), "scalars": scalars,
                             "type": type(optimizer).__name__}
    if scheduler is not None:
        meta["scheduler"] = {"state": _to_json_value(scheduler.state_dict()), "type": type(scheduler).__name__}
    save_file(tensors, path, metadata={"shendu": json.dumps(meta)})


def read_checkpoint(path):
    """Read a checkpoint file: ``(model_state, optimizer_state_dict or None, meta)``."""
    tensors, metadata = load_file(path, with_metadata=True)
    if "shendu" not in metadata:
        raise ValueError(f"checkpoint: {path} is a safetensors file but not a shendu checkpoint (no 'shendu' metadata)")
    meta = json.loads(metadata["shendu"])
    if meta.get("format") != FORMAT:
        raise ValueError(f"checkpoint: {path} has format {meta.get('format')!r}, expected {FORMAT!r}")
    model_state = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    opt = None
    if "optimizer" in meta:
        state = {}
        for k, v in tensors.items():
            if k.startswith("optimizer."):
                _, idx, key = k.split(".", 2)
                state.setdefault(int(idx), {})[key] = v
        for idx, st in meta["optimizer"]["scalars"].items():
            state.setdefault(int(idx), {}).update(st)
        opt = {"state": state, "param_groups": meta["optimizer"]["param_groups"]}
    return model_state, opt, meta


def load_checkpoint(path, model, optimizer=None, scheduler=None, restore_rng=True):
    """Restore model, optimizer, scheduler and RNG from ``path``; returns the metadata
    (``meta["epoch"]`` is the number of finished epochs, ``meta["step"]`` the global step)."""
    model_state, opt_state, meta = read_checkpoint(path)
    model.load_state_dict(model_state)
    if optimizer is not None:
        if opt_state is None:
            raise ValueError(f"checkpoint: {path} holds no optimizer state")
        optimizer.load_state_dict(opt_state)
    if scheduler is not None and "scheduler" in meta:
        scheduler.load_state_dict(meta["scheduler"]["state"])
    if restore_rng:
        backend.set_rng_state(meta["rng"])
    return meta
