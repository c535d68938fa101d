"""Interchange with other frameworks (docs/interop.md).

* :mod:`shendu.interop.pytorch`: :func:`load_torch_state_dict` (torch.nn / torchvision
  state dicts, .pt/.pth files through torch's ``weights_only`` loader) and
  :func:`to_torch_state_dict`. torch is an optional extra (``pip install 'shendu[torch]'``),
  imported only when a file is read or torch tensors are asked for.

    >>> import shendu
    >>> from shendu.interop import load_torch_state_dict, to_torch_state_dict
    >>> net = shendu.models.resnet18(num_classes=10)
    >>> load_torch_state_dict(net, to_torch_state_dict(net))
    IncompatibleKeys(missing_keys=[], unexpected_keys=[])
"""
from .pytorch import load_torch_state_dict, to_torch_state_dict

__all__ = ["load_torch_state_dict", "to_torch_state_dict"]
