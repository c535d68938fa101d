"""``shendu.save`` / ``shendu.load``: what PyTorch users save, in safetensors files — never pickle.

``save(obj, path)`` dispatches on what it is given:

* a :class:`~shendu.nn.Module` — the whole model (weights and architecture),
  :func:`shendu.nn.saving.save`, as before;
* anything else built from tensors, NumPy arrays, dicts (any JSON-able keys:
  str, int, float, bool, None, tuples of those), lists, tuples, ``None``,
  bools, numbers, strings, dtypes and devices — a model's ``state_dict()``,
  an optimizer's ``state_dict()``, a checkpoint dict of both with the epoch
  and the loss. Every tensor is one safetensors entry; the structure around
  them is JSON in the header's metadata (``shendu_format = "object-1"``)::

      {"__dict__": [["epoch", 3], ["model", {"__odict__": [["fc.weight", {"__tensor__": "0"}], ...]}]]}

``load(path)`` reads the header, sees which kind of file it holds and returns
the model, the object, or — for a plain safetensors file of named tensors
(``save_weights``, other libraries) — an ordered ``{name: Tensor}`` state
dict, so ``model.load_state_dict(shendu.load(path))`` works for both.
Loading parses JSON and raw bytes only: it never runs code.

Example:
    >>> net = shendu.nn.Linear(3, 2)
    >>> shendu.save(net.state_dict(), "linear.pt")
    >>> net.load_state_dict(shendu.load("linear.pt"))
    IncompatibleKeys(missing_keys=[], unexpected_keys=[])
"""
from __future__ import annotations

import json
import math
import numbers
import os
import tempfile
from collections import OrderedDict

from . import backend
from .backend import xp
from .nn.module import Module, Parameter
from .nn.saving import load as load_model
from .nn.saving import save as save_model
from .serialization import ChecksumError, load_file, save_file
from .tensor import Size, Tensor

FORMAT = "object-1"


# ---------------------------------------------------------------- encoding
class _Encoder:
    """Turns an object into JSON-able structure plus ``{name: array}``, each tensor stored once."""

    def __init__(self):
        self.arrays, self.names = {}, {}

    def tensor(self, t):
        key = id(t)
        if key not in self.names:
            self.names[key] = str(len(self.names))
            self.arrays[self.names[key]] = t.numpy() if isinstance(t, Tensor) else t
        return self.names[key]

    def encode(self, obj, where):
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, Tensor):
            out = {"__tensor__": self.tensor(obj)}
            if isinstance(obj, Parameter):
                out["parameter"] = obj.requires_grad
            elif obj.requires_grad:
                out["requires_grad"] = True
            return out
        if backend.is_array(obj):
            return {"__ndarray__": self.tensor(obj)}
        if isinstance(obj, xp.generic):
            obj = obj.item()
        if isinstance(obj, numbers.Integral):
            return int(obj)
        if isinstance(obj, numbers.Real):
            v = float(obj)
            return v if math.isfinite(v) else {"__float__": repr(v)}
        if isinstance(obj, xp.dtype):
            return {"__dtype__": obj.name}
        if isinstance(obj, backend.Device):
            return {"__device__": str(obj)}
        if isinstance(obj, dict):
            tag = "__odict__" if isinstance(obj, OrderedDict) else "__dict__"
            return {tag: [[self.key(k, where), self.encode(v, f"{where}[{k!r}]")] for k, v in obj.items()]}
        if isinstance(obj, (list, tuple)):
            tag = "__size__" if isinstance(obj, Size) else "__list__" if isinstance(obj, list) else "__tuple__"
            return {tag: [self.encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]}
        if isinstance(obj, Module):
            raise TypeError(f"save: {where} is a {type(obj).__name__} module inside a container; save "
                            f"module.state_dict() there (a whole module is saved alone: shendu.save(model, path))")
        raise TypeError(f"save: {where} is a {type(obj).__name__}, which shendu's files cannot hold (tensors, "
                        f"arrays, dicts, lists, tuples, numbers, strings, None, dtypes and devices); shendu never "
                        f"pickles arbitrary objects")

    def key(self, k, where):
        if k is None or isinstance(k, (bool, str, numbers.Real, tuple)):
            return self.encode(k, where)
        raise TypeError(f"save: {where} has a dict key {k!r} of type {type(k).__name__}; keys must be strings, "
                        f"numbers, None or tuples of those")


def _decode(node, tensors, device, memo):
    """The object that ``node`` describes; ``memo`` makes a tensor saved once come back as one object."""
    if not isinstance(node, dict):
        return node
    tag, value = next(iter(node.items()))
    if tag == "__tensor__":
        if value not in memo:
            arr = backend.to_device(tensors[value], device) if device is not None else tensors[value]
            if "parameter" in node:
                memo[value] = Parameter(arr, requires_grad=node["parameter"])
            else:
                memo[value] = Tensor._wrap(arr, bool(node.get("requires_grad", False)), None)
        return memo[value]
    if tag == "__ndarray__":
        return tensors[value]
    if tag == "__float__":
        return float(value)
    if tag == "__dtype__":
        return xp.dtype(value)
    if tag == "__device__":
        return backend.Device(value)
    if tag in ("__dict__", "__odict__"):
        items = [(_decode(k, tensors, device, memo), _decode(v, tensors, device, memo)) for k, v in value]
        return OrderedDict(items) if tag == "__odict__" else dict(items)
    if tag in ("__list__", "__tuple__", "__size__"):
        items = [_decode(v, tensors, device, memo) for v in value]
        return items if tag == "__list__" else Size(items) if tag == "__size__" else tuple(items)
    raise ValueError(f"load: unknown entry {tag!r} in the file's structure (written by a newer shendu?)")


# ---------------------------------------------------------------- files and file objects
def _is_file_object(f):
    return hasattr(f, "write") or hasattr(f, "read")


def _via_temp_file(fn):
    """Run ``fn(path)`` on a temporary file (for file objects such as ``io.BytesIO``)."""
    fd, path = tempfile.mkstemp(prefix="shendu-io-", suffix=".safetensors")
    os.close(fd)
    try:
        return fn(path)
    finally:
        os.unlink(path)


def save(obj, f, **kwargs):
    """Save ``obj`` to ``f`` (a path or a writable binary file object), as ``torch.save``.

    A :class:`~shendu.nn.Module` is saved whole (architecture and weights,
    :func:`shendu.nn.saving.save`); anything else — state dicts, optimizer
    state dicts, dicts/lists of tensors and plain values — in safetensors form
    (see the module docstring). The file is written atomically.

    Args:
        obj: what to save. f: a path or a file object opened for writing bytes.
        kwargs: PyTorch's ``pickle_module``/``pickle_protocol``/
            ``_use_new_zipfile_serialization`` are refused (shendu never pickles).
    """
    if kwargs:
        raise NotImplementedError(f"save: {sorted(kwargs)} are pickle options; shendu never pickles: call "
                                  f"shendu.save(obj, path) without them")
    if _is_file_object(f):
        def through(path):
            save(obj, path)
            with open(path, "rb") as src:
                f.write(src.read())
        return _via_temp_file(through)
    if isinstance(obj, Module):
        return save_model(obj, f)
    enc = _Encoder()
    structure = enc.encode(obj, "obj")
    save_file(enc.arrays, f, metadata={"shendu_format": FORMAT, "shendu_object": json.dumps(structure)})
    return None


def _device(map_location):
    if map_location is None:
        return None
    if isinstance(map_location, (str, backend.Device)):
        return backend.Device(map_location)
    raise NotImplementedError(f"load: map_location={map_location!r} ({type(map_location).__name__}) is not "
                              f"supported; give a device ('cpu', 'cuda') or None, or move the loaded tensors "
                              f"with .to(device)")


def load(f, map_location=None, weights_only=None, mmap=None, **kwargs):
    """Load what :func:`save` wrote (or a plain safetensors file), as ``torch.load``.

    Returns the saved module, the saved object, or — for a plain safetensors
    file of named tensors — an ordered ``{name: Tensor}`` state dict.

    Args:
        f: a path or a readable binary file object.
        map_location: None (keep), or a device (``'cpu'``, ``'cuda'``, a
            :class:`shendu.device`) for every tensor.
        weights_only: accepted (True, False or None): shendu's files hold only
            tensors and JSON, so loading never runs code either way.
        mmap: accepted when None or False.
    """
    if kwargs:
        raise NotImplementedError(f"load: {sorted(kwargs)} are pickle options; shendu never unpickles: call "
                                  f"shendu.load(path) without them")
    if weights_only not in (None, True, False):
        raise TypeError(f"load: weights_only must be True, False or None, got {weights_only!r}")
    if mmap:
        raise NotImplementedError("load: mmap=True is not supported; shendu reads the file into memory "
                                  "(pass mmap=None)")
    device = _device(map_location)
    if _is_file_object(f):
        data = f.read()

        def through(path):
            with open(path, "wb") as dst:
                dst.write(data)
            return load(path, map_location=map_location)
        return _via_temp_file(through)
    try:
        tensors, meta = load_file(f, with_metadata=True)
    except ChecksumError:
        raise  # a shendu file, but corrupt: the error names the file and the tensor
    except ValueError as exc:
        raise ValueError(f"load: {os.fspath(f)} is not a shendu (safetensors) file: {exc}. PyTorch's own "
                         f".pt files are pickles, which shendu never loads (they can run code): save them "
                         f"as safetensors from PyTorch, or see shendu.interop") from exc
    kind = meta.get("shendu_format")
    if kind == "model-1":
        model = load_model(f)
        return model if device is None else model.to(device)
    if kind == FORMAT:
        return _decode(json.loads(meta["shendu_object"]), tensors, device, {})
    return OrderedDict((name, _decode({"__tensor__": name}, tensors, device, {})) for name in tensors)
