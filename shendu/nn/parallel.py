"""``shendu.nn.parallel``: PyTorch's data-parallel entry points, on shendu's one device.

shendu runs a model on one device (its kernels use the CPU's cores
themselves), so :func:`data_parallel` and :class:`DataParallel` call the
module directly: the same results as PyTorch's on one device. Asking for
several devices raises ``NotImplementedError``.

Example:
    >>> net = shendu.nn.DataParallel(shendu.nn.Linear(3, 2))
    >>> net(shendu.zeros(4, 3)).shape
    (4, 2)
"""
from __future__ import annotations

from ..unsupported import module_getattr
from .module import Module

__getattr__ = module_getattr(__name__)  # DistributedDataParallel: a NotImplementedError naming the alternative


def _one_device(device_ids, op):
    if device_ids is not None and len(list(device_ids)) > 1:
        raise NotImplementedError(f"{op}: several devices ({list(device_ids)}) are not supported; shendu runs "
                                  f"on one device: call the module directly (or pass device_ids=None)")


def data_parallel(module, inputs, device_ids=None, output_device=None, dim=0, module_kwargs=None):
    """``module(*inputs, **module_kwargs)`` on one device (torch's ``nn.parallel.data_parallel``)."""
    _one_device(device_ids, "data_parallel")
    if not isinstance(inputs, tuple):
        inputs = (inputs,)
    return module(*inputs, **(module_kwargs or {}))


class DataParallel(Module):
    """Wraps ``module`` as ``torch.nn.DataParallel`` does; on one device the wrapper calls it directly.

    The wrapped model is ``self.module``, so state dict keys start with ``module.`` as in PyTorch.

    Shape: as the wrapped module.
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        _one_device(device_ids, "DataParallel")
        self.module = module

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)
