"""``shendu.backends``: PyTorch's ``torch.backends`` switches that scripts set.

``shendu.backends.cudnn.benchmark = True`` and ``.deterministic = True`` are
accepted as plain attributes (shendu's kernels are deterministic and need no
autotuning); ``shendu.backends.mps.is_available()`` is False (no Apple GPU backend).
"""
from . import cudnn, mps  # noqa: F401
