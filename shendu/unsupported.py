"""PyTorch features shendu does not have, and the error a user gets on reaching for one.

``shendu.compile(model)`` or ``shendu.autocast(...)`` in a ported script raises
:class:`Unsupported` — a ``NotImplementedError`` that names the feature and the
nearest thing shendu offers — instead of an unexplained ``AttributeError``. It
is an ``AttributeError`` too, so ``hasattr(shendu, "compile")`` is simply False.
"""
from __future__ import annotations


class Unsupported(NotImplementedError, AttributeError):
    """A PyTorch feature that shendu does not provide (see docs/pytorch.md)."""


#: ``{module: {name: the nearest supported alternative}}``.
FEATURES = {
    "shendu": {
        "compile": "run the model eagerly (shendu has no graph compiler)",
        "jit": "run the model eagerly; export with shendu.onnx for deployment",
        "fx": "read the module tree with named_modules()",
        "autocast": "train in float32 (shendu has no mixed-precision autocast)",
        "amp": "train in float32 (shendu has no automatic mixed precision)",
        "sparse_coo_tensor": "a dense tensor (shendu has no sparse layouts)",
        "sparse_csr_tensor": "a dense tensor (shendu has no sparse layouts)",
        "sparse": "dense tensors (shendu has no sparse layouts)",
        "complex64": "two real tensors (shendu has no complex dtypes)",
        "complex128": "two real tensors (shendu has no complex dtypes)",
        "bfloat16": "shendu.float16 or shendu.float32",
        "channels_last": "the default layout (every shendu tensor is C-contiguous)",
        "func": "shendu.autograd's first-order gradients",
        "vmap": "a batched tensor operation or a Python loop",
        "mps": "the CPU (shendu has no Metal backend); see shendu.backends.mps.is_available()",
    },
    "shendu.nn.parallel": {
        "DistributedDataParallel": "shendu.distributed.DistributedDataParallel under mpirun (docs/distributed.md)",
    },
}


def module_getattr(module):
    """A module-level ``__getattr__`` for ``module`` that raises :class:`Unsupported` for its known PyTorch names."""
    table = FEATURES[module]

    def __getattr__(name):
        if name in table:
            torch_name = "torch" + module[len("shendu"):] + "." + name
            raise Unsupported(f"{module}.{name}: PyTorch's {torch_name} is not supported by shendu; "
                              f"instead: {table[name]}")
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    return __getattr__
