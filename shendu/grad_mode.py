"""PyTorch's grad-mode switches beyond ``no_grad``/``enable_grad``: ``set_grad_enabled`` and ``inference_mode``.

Both are built on :class:`shendu.no_grad` and :class:`shendu.enable_grad`.

Example:
    >>> x = shendu.ones(2, requires_grad=True)
    >>> with shendu.set_grad_enabled(False):
    ...     (x * 2).requires_grad
    False
    >>> with shendu.inference_mode():
    ...     (x * 2).requires_grad
    False
"""
from __future__ import annotations

import functools

from .autograd import enable_grad, is_grad_enabled, no_grad


class set_grad_enabled:
    """Turn graph recording on or off: as a function call (takes effect at once, for
    the rest of the program), as a context manager (restored on exit) or as a decorator.

    Args:
        mode: True records graphs, False does not.
    """

    def __init__(self, mode):
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled: mode must be True or False, got {mode!r}")
        self.mode = mode
        self.switch = (enable_grad if mode else no_grad)()
        self.switch.__enter__()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self.switch.__exit__(*exc)

    def __call__(self, fn):
        self.switch.__exit__(None, None, None)  # as a decorator it only applies inside fn
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)
        return wrapper


class inference_mode(no_grad):
    """PyTorch's ``inference_mode``: ``no_grad`` for shendu (no graph is recorded).

    ``inference_mode(False)`` changes nothing. Usable as ``with``, ``@inference_mode()``
    or ``@inference_mode``. Tensors made inside stay ordinary tensors (PyTorch marks them
    "inference tensors" and refuses them in autograd later; shendu does not).
    """

    __slots__ = ("mode",)

    def __new__(cls, mode=True):
        if callable(mode):  # @inference_mode without parentheses
            return cls(True)(mode)
        self = no_grad.__new__(cls)
        self.mode = bool(mode)
        return self

    def __init__(self, mode=True):
        pass

    def __enter__(self):
        if self.mode:
            return super().__enter__()
        self.prev = None
        return self

    def __exit__(self, *exc):
        if self.mode:
            return super().__exit__(*exc)
        return False

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(mode):
                return fn(*args, **kwargs)
        return wrapper


def is_inference_mode_enabled() -> bool:
    """True where no graph is recorded (inside ``inference_mode`` or ``no_grad``)."""
    return not is_grad_enabled()
