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
from . import utils  # noqa: E402  (shendu.utils.data: PyTorch's path to the data pipeline)
from . import models  # noqa: E402  (the model zoo and its registry)
from . import functional, nn  # noqa: E402
from . import training  # noqa: E402  (Trainer, losses, metrics, callbacks, checkpoints)
from .nn.saving import load_weights, save_weights  # noqa: E402
from . import onnx  # noqa: E402  (ONNX export; imports the onnx package only when used)
from . import interop  # noqa: E402  (PyTorch state dicts; torch imported only on use)
from .lr_finder import lr_find  # noqa: E402  (the learning-rate range test; shendu.tune is imported on use)

# --- ops-select: torch.all / torch.any (they shadow builtins, so not part of `import *`), torch.linalg
from .ops import all, any  # noqa: E402,F401,A004
from . import linalg  # noqa: E402

bool = bool_  # noqa: A001  (shendu.bool, as torch.bool)

# --- torch-idioms: PyTorch's spellings (import shendu as torch)
from .io import load, save  # noqa: E402  (state dicts and other objects as safetensors; modules whole)
from .tensor import Size, from_numpy, is_floating_point, is_tensor, numel  # noqa: E402
from .grad_mode import inference_mode, is_inference_mode_enabled, set_grad_enabled  # noqa: E402
from . import accelerator, backends, cuda  # noqa: E402
device = Device  # torch.device("cuda:0"): type and index
float = float32  # noqa: A001
double = float64
half = float16
long = int64
int = int32  # noqa: A001
short = int16
from .unsupported import module_getattr as _unsupported  # noqa: E402
__getattr__ = _unsupported("shendu")  # torch.compile and friends: a NotImplementedError naming the alternative
__version__ = "0.1.0"
# --- nn-funcs: torch.einsum's top-level name
from .functional.einsum import einsum  # noqa: E402,F401
# --- viz: print options (PyTorch keywords + stats=True) and the visual aids (matplotlib only on use)
from .printing import get_printoptions, printoptions, set_printoptions  # noqa: E402
from . import viz  # noqa: E402
