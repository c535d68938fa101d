"""``shendu.nn.utils``: gradient clipping under PyTorch's path (``torch.nn.utils.clip_grad_norm_``).

The functions live in :mod:`shendu.optim.clip`; this module re-exports them.
"""
from ..optim.clip import clip_grad_norm_, clip_grad_value_

__all__ = ["clip_grad_norm_", "clip_grad_value_"]
