"""Optional dependencies: import one on demand, or say which extra installs it.

shendu itself needs only NumPy. Integrations (PyTorch interchange, ONNX export,
hyper-parameter tuning) use a library that is installed with an *extra*::

    pip install 'shendu[torch]'     # shendu.interop (torch tensors, .pt/.pth files)
    pip install 'shendu[onnx]'      # ONNX export
    pip install 'shendu[tune]'      # tuning

Such a library is imported only when the feature that needs it is used, through
:func:`require`, so that ``import shendu`` stays light and a missing extra gives
one clear message instead of a bare ``ModuleNotFoundError``.
"""
import importlib

__all__ = ["require"]


def require(module: str, extra: str, feature: str):
    """Import and return an optional dependency, or raise an ImportError naming the extra.

    Args:
        module: dotted module name to import, e.g. ``"torch"`` or ``"onnx.helper"``.
        extra: name of the shendu extra that installs it, e.g. ``"torch"``.
        feature: what needed it, for the message, e.g. ``"shendu.interop.to_torch_state_dict(as_tensors=True)"``.

    Returns:
        The imported module.

    Raises:
        ImportError: ``<feature> needs <module>, which is not installed; install it with:
        pip install 'shendu[<extra>]'`` (the original error is chained).

    Example:
        >>> np = require("numpy", "core", "this example")
        >>> np.__name__
        'numpy'
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.partition(".")[0]
        raise ImportError(f"{feature} needs {top}, which is not installed (import of {module!r} failed: {exc}); "
                          f"install it with: pip install 'shendu[{extra}]'") from exc
