"""Saving models and weights in the safetensors format — never pickle.

* ``save(model, path)`` writes the weights and the architecture (the JSON
  config of :mod:`shendu.nn.config`); ``load(path)`` rebuilds the model.
* ``save_weights(model, path)`` / ``load_weights(model, path)`` store only the
  ``state_dict`` (for models built in code).

Files are written atomically and carry a sha256 of every tensor (verified on
load, see :mod:`shendu.serialization`). Loading parses JSON and raw bytes only:
the architecture may name only shendu's own layers and models, classes
registered with ``@shendu.nn.register``, and activations, initialisers and
regularizers by name (:mod:`shendu.nn.config`); anything else is refused
before any constructor runs.
"""
from __future__ import annotations

import json

from ..serialization import load_file, save_file
from .config import from_config, get_config


def save_weights(model, path):
    """Write ``model.state_dict()`` to ``path`` (safetensors)."""
    save_file({k: v.data for k, v in model.state_dict().items()}, path,
              metadata={"shendu_format": "weights-1"})


def load_weights(model, path, strict=True):
    """Load weights written by :func:`save_weights` (or any safetensors file with matching names)."""
    model.load_state_dict(load_file(path), strict=strict)
    return model


def save(model, path):
    """Write the weights and the architecture of ``model`` to ``path``.

    Raises TypeError (before writing anything) when the model holds a user-defined
    Module class not registered with ``@shendu.nn.register``, or a constructor
    argument a config cannot name: register the class, or use :func:`save_weights`.
    """
    try:
        config = get_config(model)
    except TypeError as exc:
        raise TypeError(f"shendu.save: {path}: {exc}") from None
    save_file({k: v.data for k, v in model.state_dict().items()}, path,
              metadata={"shendu_format": "model-1", "shendu_config": json.dumps(config)})


def load(path):
    """Rebuild a model saved by :func:`save` and load its weights.

    Raises :class:`shendu.nn.config.UnsafeConfigError` (a ValueError) naming the file and
    the name when the architecture names anything outside the closed set of
    :mod:`shendu.nn.config`; nothing is built then.
    """
    tensors, meta = load_file(path, with_metadata=True)
    if "shendu_config" not in meta:
        raise ValueError(f"load: {path} holds no architecture (written by save_weights?); build the model in code "
                         f"and call load_weights(model, path)")
    try:
        config = json.loads(meta["shendu_config"])
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"shendu.load: {path}: unreadable architecture in 'shendu_config': {exc}") from None
    model = from_config(config, source=f"shendu.load: {path}")
    model.load_state_dict(tensors)
    return model
