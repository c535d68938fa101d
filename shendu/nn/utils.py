"""``shendu.nn.utils``: PyTorch's ``torch.nn.utils`` path — gradient clipping and ``skip_init``.

The clipping functions live in :mod:`shendu.optim.clip`; this module re-exports them.
"""
from ..optim.clip import clip_grad_norm_, clip_grad_value_
from . import init


def skip_init(module_cls, *args, **kwargs):
    """``module_cls(*args, **kwargs)`` with its parameters and buffers allocated but not initialised.

    PyTorch's ``torch.nn.utils.skip_init``: for a module whose weights are about
    to be overwritten (loaded from a file, or initialised by hand), skip the
    random draws. The values are arbitrary until written.

    Example:
        >>> layer = shendu.nn.utils.skip_init(shendu.nn.Linear, 10, 5)
        >>> layer.weight.shape
        (5, 10)
    """
    with init.skip():
        return module_cls(*args, **kwargs)


__all__ = ["clip_grad_norm_", "clip_grad_value_", "skip_init"]
