"""shendu (深度, "depth"): a deep learning framework written from first principles.

Every formula of forward and backward propagation lives in this package,
short and readable, over vectorised NumPy (CPU) arrays.

    >>> import shendu
    >>> x = shendu.tensor([[1.0, 2.0]], requires_grad=True)
    >>> y = (x @ x.T).sum()
    >>> y.backward()
    >>> x.grad
    tensor([[2., 4.]])

Layers (from the bottom): :mod:`shendu.backend` (arrays, devices, dtypes) →
:class:`shendu.Tensor` and :mod:`shendu.autograd` → :mod:`shendu.ops` (one
op = forward + backward) → :mod:`shendu.nn`, :mod:`shendu.optim` → models,
training and apps.
"""
from . import backend
from .autograd import Function, enable_grad, is_grad_enabled, no_grad
from .backend import (Device, bool_, float16, float32, float64, get_default_dtype, int8, int16, int32, int64,
                      manual_seed, set_default_dtype, uint8)
from .gradcheck import GradcheckError, gradcheck
from . import optim  # optimizers, gradient clipping, lr schedules
from .summary import Summary, summary
from .ops import *  # noqa: F401,F403
from .ops import abs, max, min, pow, sum  # noqa: F401  (shadow builtins inside the namespace, like numpy)
from .tensor import (Tensor, arange, as_tensor, empty, empty_like, eye, full, full_like, linspace, ones, ones_like,
                     rand, rand_like, randint, randn, randn_like, tensor, zeros, zeros_like)
from . import data  # noqa: E402  (datasets, DataLoader, augmentation)
from . import models  # noqa: E402  (the model zoo and its registry)
from . import functional, nn  # noqa: E402
from . import training  # noqa: E402  (Trainer, losses, metrics, callbacks, checkpoints)
from .nn.saving import load, load_weights, save, save_weights  # noqa: E402
from . import onnx  # noqa: E402  (ONNX export; imports the onnx package only when used)
from . import interop  # noqa: E402  (PyTorch state dicts; torch imported only on use)
from .lr_finder import lr_find  # noqa: E402  (the learning-rate range test; shendu.tune is imported on use)

bool = bool_  # noqa: A001  (shendu.bool, as torch.bool)
__version__ = "0.1.0"
