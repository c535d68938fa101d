"""``shendu.cuda``: PyTorch's ``torch.cuda`` queries.

CUDA is available only when CuPy imports **and** a device answers
(:func:`shendu.backend.cuda_available`), so ``device = "cuda" if
shendu.cuda.is_available() else "cpu"`` picks the CPU on a machine without a
usable GPU.

Example:
    >>> shendu.cuda.is_available() in (True, False)
    True
"""
from __future__ import annotations

from . import backend


def is_available() -> bool:
    """True when a CUDA device can run shendu's arrays (CuPy installed and a GPU answering)."""
    return backend.cuda_available()


def device_count() -> int:
    """The number of CUDA devices (0 without CuPy or a GPU)."""
    return backend.cuda_device_count()


def manual_seed(seed: int) -> None:
    """Accepted for PyTorch scripts: shendu has one generator for every device, seeded by
    :func:`shendu.manual_seed`; this call leaves it alone (as torch's does on a machine without a GPU)."""
    int(seed)


manual_seed_all = manual_seed
