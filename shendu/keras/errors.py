"""The one error shape of shendu.keras: what Keras has that this facade does not."""
from __future__ import annotations


def unsupported(feature, alternative):
    """A NotImplementedError naming the Keras ``feature`` and the nearest supported ``alternative``.

    Raised, never returned silently different: a script that needs the feature stops
    at the line that asked for it.
    """
    return NotImplementedError(f"shendu.keras does not support {feature}; {alternative}")


def check_unused(owner, kwargs, unsupported_names=()):
    """Refuse leftover keyword arguments the way Keras does.

    Keras arguments shendu.keras knows but does not implement (``unsupported_names``, or
    any ``*_constraint`` / ``activity_regularizer``) raise NotImplementedError when given a
    value other than None; anything else is a TypeError listing the names, as in Keras
    ("Unrecognized keyword arguments passed to Dense: {'foo': 1}").
    """
    unknown = {}
    for key, value in kwargs.items():
        if key in unsupported_names or key.endswith("_constraint") or key == "activity_regularizer":
            if value is not None:
                raise unsupported(f"{owner}({key}=…)", f"leave {key} unset (None)")
        else:
            unknown[key] = value
    if unknown:
        raise TypeError(f"Unrecognized keyword arguments passed to {owner}: {unknown}")
