"""Saving and loading tensors in the safetensors format, atomically, never with pickle.

The safetensors layout (https://github.com/huggingface/safetensors), which
this module reads and writes itself:

    8 bytes        N, the header length, unsigned little-endian
    N bytes        JSON: {name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
                          "__metadata__": {str: str}}
    the rest       the raw little-endian bytes of every tensor, back to back

Loading parses JSON and copies bytes: a file can never execute code.
Writing goes to a temporary file in the same directory, is flushed and
fsync'ed, then renamed over the target (``os.replace`` is atomic), so a
process killed mid-write leaves the previous file intact.
"""
from __future__ import annotations

import json
import os
import struct
import tempfile

from .backend import xp

_DTYPES = {
    "F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
    "U8": "u1", "BOOL": "?",
}
_CODES = {xp.dtype(v).str.lstrip("<|"): k for k, v in _DTYPES.items()}
_MAX_HEADER = 100 * 1024 * 1024


def _code(dtype):
    d = xp.dtype(dtype).newbyteorder("<") if xp.dtype(dtype).byteorder == ">" else xp.dtype(dtype)
    try:
        return _CODES[d.str.lstrip("<|")]
    except KeyError:
        raise TypeError(f"safetensors: dtype {dtype} cannot be stored (supported: {sorted(_DTYPES)})") from None


def atomic_write(path, write):
    """Call ``write(fileobj)`` on a temporary file beside ``path``, fsync it, and rename it over ``path``."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the permissions open() would
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        try:  # make the rename itself durable
            dfd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError:  # pragma: no cover - some filesystems refuse directory fsync
            pass
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def save_file(tensors, path, metadata=None):
    """Write ``{name: array}`` (NumPy arrays or Tensors) to ``path`` in safetensors format.

    ``metadata`` is a ``{str: str}`` dict stored in the header.
    """
    header, blobs, offset = {}, [], 0
    for name, arr in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"safetensors: tensor names must be strings, got {name!r}")
        a = arr.numpy() if hasattr(arr, "numpy") and not isinstance(arr, xp.ndarray) else xp.asarray(arr)
        code = _code(a.dtype)
        data = xp.ascontiguousarray(a, dtype=xp.dtype(_DTYPES[code])).tobytes()
        header[name] = {"dtype": code, "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        bad = {k: v for k, v in metadata.items() if not isinstance(k, str) or not isinstance(v, str)}
        if bad:
            raise TypeError(f"safetensors: metadata must map str to str, got {bad!r}")
        header["__metadata__"] = dict(metadata)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # align the data to 8 bytes, as the reference writer does

    def write(f):
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)

    atomic_write(path, write)


def load_file(path, with_metadata=False):
    """Read a safetensors file into ``{name: numpy array}`` (and its metadata if asked)."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError(f"safetensors: {path} is too short to be a safetensors file ({len(blob)} bytes)")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > _MAX_HEADER or 8 + n > len(blob):
        raise ValueError(f"safetensors: {path} has a header length of {n} bytes, which does not fit the file "
                         f"({len(blob)} bytes): the file is truncated or not a safetensors file")
    try:
        header = json.loads(blob[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"safetensors: {path} has an unreadable header: {exc}") from None
    metadata = header.pop("__metadata__", None) or {}
    data = memoryview(blob)[8 + n:]
    out = {}
    for name, info in header.items():
        code, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
        if code not in _DTYPES:
            raise ValueError(f"safetensors: {path}: tensor {name!r} has unsupported dtype {code}")
        dt = xp.dtype(_DTYPES[code])
        count = 1
        for s in shape:
            count *= s
        if end > len(data) or end - begin != count * dt.itemsize:
            raise ValueError(f"safetensors: {path}: tensor {name!r} of shape {shape} ({code}) needs "
                             f"{count * dt.itemsize} bytes at [{begin}, {end}) but the file holds {len(data)} data bytes: "
                             f"the file is truncated or corrupt")
        out[name] = xp.frombuffer(data[begin:end], dtype=dt).reshape(shape).astype(dt.newbyteorder("="))
    return (out, metadata) if with_metadata else out
