"""The model registry: a name → factory table for the command line and for code that picks models by name.

    >>> shendu.models.get_model("resnet20", num_classes=10).num_parameters()
    269722
    >>> [m.name for m in shendu.models.list_models()][:2]
    ['alexnet', 'alexnet_original']

A model file registers each public factory with :func:`register_model`; the
factory takes ``num_classes`` and ``in_channels`` (and may take more keywords).
"""
from __future__ import annotations

import difflib
from collections import namedtuple

from ..nn import init

ModelInfo = namedtuple("ModelInfo", "name description input_shape num_classes factory")
ModelInfo.__doc__ = """One registered model: ``name``; ``description`` (one line); ``input_shape``, the
default shape of one sample (C, H, W); ``num_classes``, the default number of outputs; ``factory``, the function
``factory(num_classes=..., in_channels=..., **kw)`` that builds it."""

_MODELS = {}


def register_model(name, description, input_shape, num_classes):
    """Decorator: register ``factory`` under ``name`` with a one-line description and its default input.

    Args:
        name: the registry name (``"resnet18"``); registering a name twice is an error.
        description: one line for ``shendu models``.
        input_shape: one sample's default shape (C, H, W).
        num_classes: the default number of classes.

    Returns the factory unchanged.
    """
    def decorate(factory):
        if name in _MODELS:
            raise ValueError(f"register_model: a model named {name!r} is already registered "
                             f"({_MODELS[name].factory.__module__}.{_MODELS[name].factory.__name__})")
        _MODELS[name] = ModelInfo(name, description, tuple(input_shape), int(num_classes), factory)
        return factory

    return decorate


def model_info(name):
    """The :class:`ModelInfo` registered under ``name`` (ValueError naming close matches if unknown)."""
    try:
        return _MODELS[name]
    except KeyError:
        close = difflib.get_close_matches(str(name), _MODELS, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"get_model: unknown model {name!r}{hint} (known: {', '.join(sorted(_MODELS))})") from None


def get_model(name, num_classes=None, in_channels=None, **kwargs):
    """Build the model registered under ``name``.

    Args:
        name: a name from :func:`list_models` (``"lenet5"``, ``"vgg16_bn"``, ``"resnet20"``…).
        num_classes: outputs (default: the model's, e.g. 1000 for the ImageNet models).
        in_channels: input channels (default: the model's input_shape[0]).
        **kwargs: passed on to the factory (e.g. ``batch_norm=True``, ``aux_logits=True``).

    Example:
        >>> get_model("lenet5", num_classes=10)(shendu.zeros(2, 1, 32, 32)).shape
        (2, 10)
    """
    info = model_info(name)
    num_classes = info.num_classes if num_classes is None else num_classes
    in_channels = info.input_shape[0] if in_channels is None else in_channels
    return info.factory(num_classes=num_classes, in_channels=in_channels, **kwargs)


def count_parameters(name, num_classes=None, in_channels=None, **kwargs):
    """The number of parameters of the model registered under ``name``, counted from its shapes.

    The model is built inside :func:`shendu.nn.init.skip`, so no weight is drawn or
    even touched: counting VGG-16's 138 million parameters takes milliseconds.
    Arguments as :func:`get_model`.

    Example:
        >>> count_parameters("vgg16")
        138357544
        >>> count_parameters("lenet5", num_classes=2)
        61026
    """
    with init.skip():
        model = get_model(name, num_classes=num_classes, in_channels=in_channels, **kwargs)
    return model.num_parameters()


def model_table():
    """Every model of the zoo with its default classes and channels, as rows for ``shendu models``:
    ``[{"name", "parameters", "input_shape", "num_classes", "description"}]`` (parameters counted by
    :func:`count_parameters`)."""
    return [{"name": info.name, "parameters": count_parameters(info.name), "input_shape": list(info.input_shape),
             "num_classes": info.num_classes, "description": info.description} for info in list_models()]


def list_models():
    """Every registered model, sorted by name, as :class:`ModelInfo` (name, description, input_shape, num_classes,
    factory)."""
    return [_MODELS[name] for name in sorted(_MODELS)]


__all__ = ["ModelInfo", "register_model", "get_model", "count_parameters", "list_models", "model_info", "model_table"]
