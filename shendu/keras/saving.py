"""``model.save("m.keras")``, ``keras.models.load_model``, ``save_weights`` / ``load_weights``.

The file is shendu's safetensors format under Keras's file name (not Keras's zip):
the weights, the architecture as JSON (:mod:`shendu.nn.config`: every layer by its
recorded constructor call, a functional model's graph as plain data) and the compile
settings (optimizer, loss and metrics by name and config). Loading parses JSON and
raw bytes only: the architecture may name only shendu's layers (and classes
registered with ``@shendu.nn.register``); anything else is refused before any
constructor runs. Files are written atomically.
"""
from __future__ import annotations

import json
import os

from ..nn.config import get_config
from ..nn.saving import load as load_architecture
from ..serialization import load_file, save_file
from .errors import unsupported


def _check_path(path, ending, what):
    path = os.fspath(path)
    if path.endswith(".h5") and not path.endswith(".weights.h5") or path.endswith(".hdf5"):
        raise unsupported(f"the legacy HDF5 format in {what} ({path})", f"use a file name ending in {ending}")
    if not path.endswith(ending):
        raise ValueError(f"Invalid filepath extension for saving. Please add the `{ending}` extension. "
                         f"Received: filepath={path}")
    return path


def save_model(model, filepath, overwrite=True):
    """Write ``model`` (architecture, weights, compile settings) to ``filepath`` (``*.keras``)."""
    path = _check_path(filepath, ".keras", "model.save")
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"model.save: {path} exists and overwrite=False")
    try:
        config = get_config(model)
    except TypeError as exc:
        raise TypeError(f"model.save: {path}: {exc}") from None
    meta = {"shendu_format": "model-1", "shendu_config": json.dumps(config), "keras_format": "shendu.keras-1"}
    compiled = model.__dict__.get("compile_config")
    if compiled and compiled["optimizer"] and compiled["loss"] and all(m is not None for m in compiled["metrics"]):
        meta["keras_compile"] = json.dumps(compiled)
    save_file({k: v.data for k, v in model.state_dict().items()}, path, metadata=meta)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Rebuild a model written by ``model.save`` (and compile it as it was, when ``compile``)."""
    path = os.fspath(filepath)
    if custom_objects:
        raise unsupported("load_model(custom_objects=…)", "register custom layers with @shendu.nn.register")
    if path.endswith((".h5", ".hdf5")):
        raise unsupported(f"the legacy HDF5 format ({path})", "save with model.save('m.keras')")
    model = load_architecture(path)
    _, meta = load_file(path, with_metadata=True)
    if compile and "keras_compile" in meta:
        settings = json.loads(meta["keras_compile"])
        model.compile(optimizer=settings["optimizer"], loss=settings["loss"], metrics=settings["metrics"])
    return model


def save_weights(model, filepath, overwrite=True):
    """Write the weights only (``*.weights.h5``, Keras's required ending; safetensors inside)."""
    path = _check_path(filepath, ".weights.h5", "model.save_weights")
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"save_weights: {path} exists and overwrite=False")
    save_file({k: v.data for k, v in model.state_dict().items()}, path, metadata={"shendu_format": "weights-1"})


def load_weights(model, filepath):
    """Load weights written by ``save_weights`` or ``save`` (names and shapes must match)."""
    model.load_state_dict(load_file(os.fspath(filepath)))
