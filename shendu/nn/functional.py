"""``shendu.nn.functional``: PyTorch's path to :mod:`shendu.functional`.

``import shendu.nn.functional as F`` gives the same functions as
``import shendu.functional as F`` (``F.relu``, ``F.conv2d``, ``F.cross_entropy``…).
Names are re-exported here, and any name added to :mod:`shendu.functional`
later is found through the module-level ``__getattr__``.

Example:
    >>> import shendu.nn.functional as F
    >>> F.relu(shendu.tensor([-1.0, 2.0]))
    tensor([0., 2.])
"""
from .. import functional as _functional  # noqa: F401  (the one implementation)
from ..functional import *  # noqa: F401,F403


def __getattr__(name):
    try:
        return getattr(_functional, name)
    except AttributeError:
        raise AttributeError(f"module 'shendu.nn.functional' has no attribute {name!r} "
                             f"(nor has shendu.functional)") from None


def __dir__():
    return sorted(set(globals()) | set(dir(_functional)))
