"""``shendu.accelerator``: PyTorch's device-agnostic ``torch.accelerator`` queries.

The accelerator is CUDA (through CuPy) when one answers; otherwise there is
none and, as in PyTorch, :func:`current_accelerator` returns None, so scripts
write ``device = shendu.accelerator.current_accelerator() or "cpu"``.

Example:
    >>> acc = shendu.accelerator.current_accelerator()
    >>> acc is None or acc.type == "cuda"
    True
"""
from __future__ import annotations

from . import backend


def is_available() -> bool:
    """True when an accelerator (a CUDA device, through CuPy) is usable."""
    return backend.cuda_available()


def current_accelerator(check_available=False):
    """The accelerator's device (``device(type='cuda')``), or None when there is none."""
    return backend.Device("cuda") if backend.cuda_available() else None


def device_count() -> int:
    """The number of accelerator devices (0 on the CPU)."""
    return backend.cuda_device_count()
