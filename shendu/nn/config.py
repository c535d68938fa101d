"""Architectures as JSON: the constructor call of every module, recorded and replayed.

Every :class:`~shendu.nn.Module` remembers the arguments its constructor was
called with (``Module.__init_subclass__`` wraps each subclass's ``__init__``;
the outermost call wins). ``get_config(module)`` turns that into JSON-able
data and ``from_config(config)`` builds the module again::

    {"class": "shendu.nn.linear.Linear", "args": [784, 10], "kwargs": {"bias": true}}

Loading only instantiates classes that live in the ``shendu`` package or that
were registered with :func:`register`, so a config file can never run
arbitrary code.
"""
from __future__ import annotations

import importlib
import numbers

_REGISTRY = {}


def register(cls):
    """Allow ``from_config`` to build a user-defined Module class (usable as a decorator)."""
    _REGISTRY[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return cls


def _class_path(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


def _encode(value, where):
    from .module import Module  # same layer; imported here to avoid a cycle at import time

    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, Module):
        return {"__module__": get_config(value)}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, where) for v in value]}
    if isinstance(value, list):
        return [_encode(v, where) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: _encode(v, where) for k, v in value.items()}}
    if callable(value) and getattr(value, "__module__", "").startswith("shendu.") and hasattr(value, "__name__"):
        return {"__function__": f"{value.__module__}:{value.__qualname__}"}
    raise TypeError(f"get_config: argument {where} = {value!r} ({type(value).__name__}) cannot be stored as JSON; "
                    f"save the weights with save_weights and rebuild the model in code instead")


def get_config(module):
    """The JSON-able constructor call that rebuilds ``module`` (without its weights)."""
    rec = module.__dict__.get("_init_call")
    if rec is None:
        raise TypeError(f"get_config: {type(module).__name__} has no recorded constructor call")
    cls, args, kwargs = rec
    name = type(module).__name__
    return {"class": _class_path(cls),
            "args": [_encode(a, f"{i} of {name}") for i, a in enumerate(args)],
            "kwargs": {k: _encode(v, f"{k!r} of {name}") for k, v in kwargs.items()}}


def _resolve(path, kind):
    if path in _REGISTRY:
        return _REGISTRY[path]
    mod_name, _, qual = path.rpartition("." if kind == "class" else ":")
    if not (mod_name == "shendu" or mod_name.startswith("shendu.")):
        raise ValueError(f"from_config: {kind} {path!r} is neither part of shendu nor registered with "
                         f"shendu.nn.config.register; refusing to load it")
    obj = importlib.import_module(mod_name)
    for part in qual.split("."):
        obj = getattr(obj, part)
    return obj


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if "__module__" in value:
            return from_config(value["__module__"])
        if "__tuple__" in value:
            return tuple(_decode(v) for v in value["__tuple__"])
        if "__dict__" in value:
            return {k: _decode(v) for k, v in value["__dict__"].items()}
        if "__function__" in value:
            return _resolve(value["__function__"], "function")
        raise ValueError(f"from_config: unknown encoded value {value!r}")
    return value


def from_config(config):
    """Build a fresh module from :func:`get_config`'s data (weights freshly initialised)."""
    try:
        cls = _resolve(config["class"], "class")
        args, kwargs = config.get("args", []), config.get("kwargs", {})
    except (KeyError, TypeError):
        raise ValueError(f"from_config: not a module config: {config!r}") from None
    return cls(*[_decode(a) for a in args], **{k: _decode(v) for k, v in kwargs.items()})
