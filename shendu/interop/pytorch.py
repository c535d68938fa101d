"""PyTorch interchange: move weights between shendu models and ``torch.nn`` / torchvision models.

shendu's layers use torch.nn's parameter names, shapes and layouts (convolution
weights (C_out, C_in/groups, k_h, k_w), linear weights (out, in), LSTM/GRU gates
in torch's order i, f, g, o / r, z, n, BatchNorm's ``running_mean``,
``running_var`` and ``num_batches_tracked``), and the zoo models use
torchvision's module names, so a state dict moves between the two without
renaming or transposing anything:

    torch → shendu:   load_torch_state_dict(model, torch_model.state_dict())   or a .pt/.pth path
    shendu → torch:   torch_model.load_state_dict(to_torch_state_dict(model, as_tensors=True))

Files are read only through ``torch.load(path, map_location="cpu", weights_only=True)``,
which unpickles tensors and plain containers and refuses everything else
(a pickle that would run code). torch is imported only when it is needed:
for a file, or for ``as_tensors=True`` (a dict of torch tensors needs no import).
"""
from __future__ import annotations

import os
import pickle
import sys
from collections import OrderedDict
from collections.abc import Mapping

from .. import backend
from .._extras import require
from ..backend import xp
from ..nn.module import StateDictKeyError
from ..tensor import Tensor

#: Keys under which training scripts commonly nest the state dict in a checkpoint.
CHECKPOINT_KEYS = ("state_dict", "model_state_dict", "model")
#: Prefixes that wrappers add to every key: DataParallel / DistributedDataParallel, torch.compile.
WRAPPER_PREFIXES = ("module.", "_orig_mod.")


def to_torch_state_dict(model, as_tensors=False):
    """The state dict of ``model`` exactly as its torch.nn twin's ``state_dict()`` has it.

    Keys are torch's (``features.0.weight``, ``layer1.0.bn1.running_mean``,
    ``lstm.weight_hh_l1_reverse``), in torch's order; values are copies (a later
    training step does not change them) in the model's dtypes, with
    ``num_batches_tracked`` a 0-d int64 as in torch.

    Args:
        model: a :class:`shendu.nn.Module` (lazy layers such as ``Dense`` must be built).
        as_tensors: return ``torch.Tensor`` values instead of NumPy arrays (default False;
            needs torch: ``pip install 'shendu[torch]'``).

    Returns:
        ``OrderedDict`` name → NumPy array (or torch tensor).

    Example:
        >>> sd = to_torch_state_dict(shendu.nn.BatchNorm2d(3))
        >>> list(sd), sd["num_batches_tracked"].dtype
        (['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'], dtype('int64'))
    """
    _check_built(model, "to_torch_state_dict")
    out = OrderedDict((name, xp.array(backend.to_device(t.data, backend.cpu), copy=True))
                      for name, t in model.state_dict().items())
    if as_tensors:
        torch = require("torch", "torch", "shendu.interop.to_torch_state_dict(as_tensors=True)")
        out = OrderedDict((name, torch.from_numpy(arr)) for name, arr in out.items())
    return out


def load_torch_state_dict(model, state_dict, strict=True):
    """Copy a PyTorch state dict (torch.nn / torchvision names and layouts) into ``model``.

    ``state_dict`` may be

    * a mapping name → NumPy array or torch tensor (``torch_model.state_dict()``;
      tensors may be on a GPU, require grad, or be bfloat16);
    * a path to a ``.pt`` / ``.pth`` file, read with
      ``torch.load(path, map_location="cpu", weights_only=True)`` only — a file
      holding anything but tensors and plain containers (a pickled model, custom
      classes) is refused, never executed;
    * a training checkpoint that nests the state dict under ``"state_dict"``,
      ``"model_state_dict"`` or ``"model"`` (the nested dict is used).

    Keys that all start with ``module.`` (saved from ``DataParallel`` /
    ``DistributedDataParallel``) or ``_orig_mod.`` (``torch.compile``) have the
    prefix removed when the model's own keys do not have it.

    Every key and shape is checked before anything is copied (a failed load
    leaves the model unchanged); values are cast to the dtype of the model's
    tensor (float64 weights load into a float32 model as float32).

    Args:
        model: a :class:`shendu.nn.Module` (lazy layers such as ``Dense`` must be built).
        state_dict: mapping or path, as above.
        strict: a missing or unexpected key is an error naming each one (default True);
            False loads the keys both have and reports the others. A shape mismatch is always an error.

    Returns:
        ``IncompatibleKeys(missing_keys, unexpected_keys)`` (torch's fields).

    Raises:
        KeyError: missing / unexpected keys (strict), naming them.
        ValueError: a key whose shape differs (naming it and both shapes), a value that is not
            an array, or a file that torch's ``weights_only`` loader refuses.
        ImportError: a path or torch tensors without torch installed (``pip install 'shendu[torch]'``).

    Example:
        >>> net = shendu.models.resnet18()
        >>> load_torch_state_dict(net, "resnet18-f37072fd.pth")      # torchvision's file
        IncompatibleKeys(missing_keys=[], unexpected_keys=[])
    """
    source = state_dict
    if isinstance(source, (str, bytes, os.PathLike)):
        source = _load_file(source)
    source = _unwrap_checkpoint(source)
    arrays = OrderedDict((key, _to_array(key, value)) for key, value in source.items())
    arrays = _strip_wrapper_prefix(arrays, model)
    _check_built(model, "load_torch_state_dict", arrays)
    try:
        return model.load_state_dict(arrays, strict=strict)
    except StateDictKeyError as exc:  # the same class (a StateDictError is a KeyError and a ValueError)
        raise type(exc)(f"load_torch_state_dict: {exc}") from None
    except ValueError as exc:
        raise ValueError(f"load_torch_state_dict: {exc}") from None


# ---------------------------------------------------------------- helpers
def _load_file(path):
    """The object in a .pt/.pth file, read by torch's ``weights_only`` unpickler (tensors and containers only)."""
    torch = require("torch", "torch", "shendu.interop.load_torch_state_dict(path)")
    path = os.fsdecode(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except OSError:  # no such file, no permission: as they are
        raise
    except Exception as exc:  # noqa: BLE001  (garbage makes the unpickler fail in many ways)
        reason = _reason(exc)
        what = "refused" if isinstance(exc, pickle.UnpicklingError) else "could not read"
        raise ValueError(f"load_torch_state_dict: torch's weights_only loader {what} {path!r} ({reason}). "
                         f"Only tensors and plain containers are read, never arbitrary pickled objects; "
                         f"in PyTorch, save the weights alone with torch.save(model.state_dict(), path)") from exc


def _reason(exc):
    """The gist of a loader error: torch's "WeightsUnpickler error" detail (its advice to retry with
    ``weights_only=False`` is left out on purpose), else the first line."""
    text = str(exc)
    _, found, detail = text.partition("WeightsUnpickler error:")
    lines = [line.strip() for line in (detail if found else text).splitlines() if line.strip()]
    gist = lines[0].split(". Please use")[0].rstrip(".") if lines else ""
    return f"{type(exc).__name__}: {gist}" if gist else type(exc).__name__


def _is_array_like(value):
    return isinstance(value, Tensor) or backend.is_array(value) or _is_torch_tensor(value)


def _is_torch_tensor(value):
    torch = sys.modules.get("torch")  # a torch tensor can exist only if torch is imported
    return torch is not None and isinstance(value, torch.Tensor)


def _unwrap_checkpoint(obj):
    """The state dict inside a checkpoint such as ``{"epoch": 3, "state_dict": {...}, "optimizer": {...}}``."""
    if not isinstance(obj, Mapping):
        raise TypeError(f"load_torch_state_dict: expected a state dict (a mapping name → array or tensor) or a "
                        f"path to a .pt/.pth file, got a {type(obj).__name__}"
                        + ("; pass torch_model.state_dict()" if hasattr(obj, "state_dict") else ""))
    while obj and not any(_is_array_like(v) for v in obj.values()):
        nested = next((obj[k] for k in CHECKPOINT_KEYS if isinstance(obj.get(k), Mapping)), None)
        if nested is None:
            raise ValueError(f"load_torch_state_dict: the mapping holds no arrays or tensors and none of the "
                             f"checkpoint keys {list(CHECKPOINT_KEYS)}; its keys are {list(obj)[:10]}")
        obj = nested
    return obj


def _to_array(key, value):
    """A state-dict value as a host NumPy array (torch tensors detached, moved to the CPU; bfloat16 → float32)."""
    if isinstance(value, Tensor):
        return value.data
    if _is_torch_tensor(value):
        torch = sys.modules["torch"]
        value = value.detach().cpu()
        if value.dtype == torch.bfloat16:  # NumPy has no bfloat16; float32 holds every bfloat16 exactly
            value = value.float()
        return value.numpy()
    if backend.is_array(value):
        return value
    raise ValueError(f"load_torch_state_dict: key {key!r} holds a {type(value).__name__}, "
                     f"not an array or tensor")


def _strip_wrapper_prefix(arrays, model):
    """Drop a ``module.`` / ``_orig_mod.`` prefix carried by every key but by none of the model's."""
    own = model.state_dict()
    for prefix in WRAPPER_PREFIXES:
        if arrays and all(k.startswith(prefix) for k in arrays) and not any(k.startswith(prefix) for k in own):
            arrays = OrderedDict((k[len(prefix):], v) for k, v in arrays.items())
    return arrays


def _check_built(model, who, arrays=None):
    """Raise naming each lazy layer (``Dense``, ``Conv2D``) that has no weights yet."""
    unbuilt = [(path, m) for path, m in model.named_modules() if getattr(m, "built", True) is False]
    if not unbuilt or (arrays is not None and not any(_owner(k) in {p for p, _ in unbuilt} for k in arrays)):
        return
    names = ", ".join(f"{path or '(model)'} ({type(m).__name__})" for path, m in unbuilt)
    raise StateDictKeyError(f"{who}: lazy layers without weights yet: {names}; build the model first with "
                            f"model.build(input_shape) or one forward pass, so that their weights exist")


def _owner(key):
    """The module path of a state-dict key (``layer1.0.conv1.weight`` → ``layer1.0.conv1``)."""
    return key.rpartition(".")[0]


__all__ = ["load_torch_state_dict", "to_torch_state_dict", "CHECKPOINT_KEYS", "WRAPPER_PREFIXES"]
