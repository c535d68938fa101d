"""Architectures as JSON: the constructor call of every module, recorded and replayed.

Every :class:`~shendu.nn.Module` remembers the arguments its constructor was
called with (``Module.__init_subclass__`` wraps each subclass's ``__init__``;
the outermost call wins). ``get_config(module)`` turns that into JSON-able
data and ``from_config(config)`` builds the module again::

    {"class": "shendu.nn.linear.Linear", "args": [784, 10], "kwargs": {"bias": true}}

What a config may name (the security model: building a model from a file
never runs code the file chose):

* **classes**: only :class:`~shendu.nn.Module` subclasses that are shendu's
  own layers and models, or that the user registered with
  :func:`register` (``@shendu.nn.register``). Names are looked up in that
  closed table; nothing is imported, no dotted path is walked.
* **values**: plain data (numbers, strings, bools, None, lists, tuples,
  dicts), nested module configs, and a closed set of named objects:
  activations by name (``{"__activation__": "relu"}``, the names of
  ``shendu.functional.ACTIVATIONS``), initialisers by name
  (``{"__initializer__": "he_normal"}``, :data:`INITIALIZERS`), regularizers
  by config (``{"__regularizer__": {"class_name": "L2", "config": {"l": 0.01}}}``)
  and the buildable module classes themselves (``{"__function__":
  "shendu.models.resnet:BasicBlock"}``, e.g. ResNet's block type).

Anything else is refused with :class:`UnsafeConfigError` (a ``ValueError``)
naming the refused name. Saving refuses, at save time, a model that holds a
user-defined Module class that is not registered, or an argument outside
this set.
"""
from __future__ import annotations

import numbers

from ..functional.activation import ACTIVATIONS
from . import init, regularizers

_REGISTRY = {}

#: The initialiser names a config may use (each resolved by ``shendu.nn.init.get``).
INITIALIZER_NAMES = ("zeros", "ones", "random_uniform", "random_normal", "glorot_uniform", "glorot_normal",
                     "he_uniform", "he_normal", "lecun_uniform", "lecun_normal", "orthogonal")
#: PyTorch's in-place initialisers a config may name by their own name (default arguments).
_TORCH_INITIALIZERS = (init.zeros_, init.ones_, init.uniform_, init.normal_, init.xavier_uniform_,
                       init.xavier_normal_, init.kaiming_uniform_, init.kaiming_normal_, init.lecun_uniform_,
                       init.lecun_normal_, init.orthogonal_)


class ConfigError(ValueError):
    """A config that does not describe a module shendu can build."""


class UnsafeConfigError(ConfigError):
    """A config names something shendu will not build or call (refused before anything runs)."""


def _initializers():
    table = {name: init.get(name) for name in INITIALIZER_NAMES}
    table.update({fn.__name__: fn for fn in _TORCH_INITIALIZERS})
    return table


def _reverse(table):
    out = {}
    for name, obj in table.items():
        out.setdefault(id(obj), name)  # the first name of an object is the one written
    return out


def _class_path(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


def _is_shendu_class(cls):
    mod = cls.__module__
    return (mod == "shendu" or mod.startswith("shendu.")) and "<locals>" not in cls.__qualname__


def buildable_classes():
    """``{name: class}`` of every Module a config may build: shendu's own and the registered ones."""
    from .module import Module  # same layer; imported here to avoid a cycle at import time

    table, todo = {}, [Module]
    while todo:
        cls = todo.pop()
        if _is_shendu_class(cls):
            table[_class_path(cls)] = cls
        todo.extend(cls.__subclasses__())
    table.update(_REGISTRY)
    return table


def register(cls=None, *, name=None):
    """Allow configs (``shendu.load``, checkpoints) to build a user-defined Module class.

    Use as ``@shendu.nn.register`` or ``@shendu.nn.register(name="my_net")``.
    The class is stored under ``name`` (default ``"<module>.<qualname>"``); a file
    names it by that key. Registering a non-Module is a TypeError; a name
    already taken by another class is a ValueError (the same class again is fine).

    Example:
        >>> @shendu.nn.register
        ... class TwoLayer(shendu.nn.Module):
        ...     def __init__(self, hidden=8):
        ...         super().__init__()
        ...         self.body = shendu.nn.Sequential(shendu.nn.Linear(4, hidden), shendu.nn.Linear(hidden, 2))
        ...     def forward(self, x):
        ...         return self.body(x)
    """
    from .module import Module

    def add(klass):
        if not (isinstance(klass, type) and issubclass(klass, Module)):
            raise TypeError(f"shendu.nn.register: expected a Module subclass, got {klass!r}")
        key = _class_path(klass) if name is None else str(name)
        known = _REGISTRY.get(key)
        if known is None and not (name is None and _is_shendu_class(klass)):
            known = buildable_classes().get(key)
        if known is not None and known is not klass:
            raise ValueError(f"shendu.nn.register: the name {key!r} is already taken by {known!r}; "
                             f"register {klass.__qualname__} under another name (register(name=...))")
        _REGISTRY[key] = klass
        return klass

    return add if cls is None else add(cls)


def _class_name(cls):
    """The key a config writes for ``cls``, or None when a file may not name it."""
    for key, registered in _REGISTRY.items():
        if registered is cls:
            return key
    return _class_path(cls) if _is_shendu_class(cls) else None


def _unregistered(cls, where):
    return TypeError(f"get_config: {where} is an instance of {_class_path(cls)}, a Module class shendu does not "
                     f"know; decorate it with @shendu.nn.register to save it with its architecture, or save "
                     f"only the weights with shendu.save_weights and build the model in code")


def _encode(value, where):
    from .module import Module

    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, Module):
        return {"__module__": get_config(value, where)}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, where) for v in value]}
    if isinstance(value, list):
        return [_encode(v, where) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: _encode(v, where) for k, v in value.items()}}
    if isinstance(value, regularizers.Regularizer) and type(value).__name__.lower() in ("l1", "l2", "l1l2"):
        return {"__regularizer__": {"class_name": type(value).__name__,
                                    "config": {k: _encode(v, where) for k, v in value.get_config().items()}}}
    if isinstance(value, type) and issubclass(value, Module) and _class_name(value) is not None:
        key = _class_name(value)
        return {"__function__": key if key in _REGISTRY else f"{value.__module__}:{value.__qualname__}"}
    named = _reverse(ACTIVATIONS).get(id(value))
    if named is not None:
        return {"__activation__": named}
    named = _reverse(_initializers()).get(id(value))
    if named is not None:
        return {"__initializer__": named}
    raise TypeError(f"get_config: argument {where} = {value!r} ({type(value).__name__}) cannot be stored as JSON "
                    f"(a config holds plain data, modules, and activations, initialisers and regularizers by "
                    f"name); save the weights with save_weights and rebuild the model in code instead")


def get_config(module, where=None):
    """The JSON-able constructor call that rebuilds ``module`` (without its weights).

    Raises TypeError when the module (or a sub-module passed to a constructor) is of a
    user-defined class not registered with :func:`register`, or holds an argument
    that a config cannot name.
    """
    rec = module.__dict__.get("_init_call")
    if rec is None:
        raise TypeError(f"get_config: {type(module).__name__} has no recorded constructor call")
    cls, args, kwargs = rec
    name = type(module).__name__
    key = _class_name(cls)
    if key is None:
        raise _unregistered(cls, where or "the model")
    return {"class": key,
            "args": [_encode(a, f"{i} of {name}") for i, a in enumerate(args)],
            "kwargs": {k: _encode(v, f"{k!r} of {name}") for k, v in kwargs.items()}}


class _Decoder:
    """Turns config data back into values, looking names up only in closed tables.

    ``build=False`` walks the whole config and resolves every name without calling
    any constructor, so that a refused name anywhere refuses the file before anything runs.
    """

    def __init__(self, source):
        self.prefix = f"{source}: " if source else "from_config: "
        self.classes = buildable_classes()
        self.initializers = _initializers()
        self.regularizers = {"L1": regularizers.L1, "L2": regularizers.L2, "L1L2": regularizers.L1L2}
        # the form written by earlier versions: "module:qualname" of an allowed object
        self.legacy = {f"{o.__module__}:{o.__qualname__}": o
                       for o in [*self.classes.values(), *ACTIVATIONS.values(), *self.initializers.values()]}
        self.legacy.update(_REGISTRY)

    def error(self, message):
        return UnsafeConfigError(f"{self.prefix}{message}")

    def named(self, table, name, what):
        if isinstance(name, str) and name in table:
            return table[name]
        if what == "layer":
            raise self.error(f"{name!r} is not a layer shendu can build (shendu builds its own layers and "
                             f"models, and classes registered with @shendu.nn.register); refusing to load it")
        raise self.error(f"{name!r} is not {what} a file may name (known: {', '.join(sorted(table))}); "
                         f"refusing to load it")

    def value(self, value, build):
        if value is None or isinstance(value, (bool, str, int, float)):
            return value
        if isinstance(value, list):
            return [self.value(v, build) for v in value]
        if not isinstance(value, dict) or len(value) != 1:
            raise self.error(f"unknown encoded value {value!r} in the model config")
        (kind, body), = value.items()
        if kind == "__module__":
            return self.module(body, build)
        if kind == "__tuple__" and isinstance(body, list):
            return tuple(self.value(v, build) for v in body)
        if kind == "__dict__" and isinstance(body, dict):
            return {str(k): self.value(v, build) for k, v in body.items()}
        if kind == "__activation__":
            return self.named(ACTIVATIONS, body, "an activation")
        if kind == "__initializer__":
            return self.named(self.initializers, body, "an initialiser")
        if kind == "__function__":
            return self.named(self.legacy, body, "layer")
        if kind == "__regularizer__" and isinstance(body, dict):
            cls = self.named(self.regularizers, body.get("class_name"), "a regularizer")
            cfg = body.get("config", {})
            if not isinstance(cfg, dict) or not all(isinstance(v, (int, float)) for v in cfg.values()):
                raise self.error(f"regularizer config {cfg!r} is not a dict of numbers")
            try:
                return cls(**cfg) if build else cls
            except TypeError as exc:
                raise self.error(f"regularizer {body['class_name']}: {exc}") from None
        raise self.error(f"unknown encoded value {value!r} in the model config")

    def module(self, config, build):
        if not isinstance(config, dict) or "class" not in config:
            raise self.error(f"not a module config: {config!r}")
        cls = self.named(self.classes, config["class"], "layer")
        args, kwargs = config.get("args", []), config.get("kwargs", {})
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise self.error(f"{config['class']}: 'args' must be a list and 'kwargs' a dict")
        args = [self.value(a, build) for a in args]
        kwargs = {str(k): self.value(v, build) for k, v in kwargs.items()}
        if not build:
            return cls
        try:
            return cls(*args, **kwargs)
        except TypeError as exc:  # wrong arguments for the constructor: a bad file, not a bug
            raise ConfigError(f"{self.prefix}{config['class']}: {exc}") from None


def from_config(config, source=None):
    """Build a fresh module from :func:`get_config`'s data (weights freshly initialised).

    Only the closed set of names described in this module's docstring is accepted:
    every name in the config is checked before any constructor runs, and anything
    else raises :class:`UnsafeConfigError` naming it (prefixed by ``source``, e.g.
    ``"shendu.load: model.safetensors"``).
    """
    decoder = _Decoder(source)
    try:
        decoder.module(config, build=False)
    except RecursionError:
        raise decoder.error("the model config is nested too deeply") from None
    return decoder.module(config, build=True)
