"""Saving and loading tensors in the safetensors format, atomically, never with pickle.

The safetensors layout (https://github.com/huggingface/safetensors), which
this module reads and writes itself:

    8 bytes        N, the header length, unsigned little-endian
    N bytes        JSON: {name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
                          "__metadata__": {str: str}}
    the rest       the raw little-endian bytes of every tensor, back to back

Loading parses JSON and copies bytes: a file can never execute code.

Integrity. Every file this module writes records the sha256 of each tensor's
bytes in its metadata, under the key ``shendu.sha256`` (a JSON string
``{tensor name: hex digest}``; the file stays a plain safetensors file that the
``safetensors`` package reads). :func:`load_file` verifies them and refuses a
file whose bytes changed, naming the file and the tensor. Files without that
key (written by older shendu versions or other tools) load unverified. The
header is checked field by field (dtype, shape, ``data_offsets`` inside the
data, not overlapping, matching shape × itemsize) and any fault raises
:class:`SafetensorsError` naming the file and the field.

Atomic writes. A file is written to a temporary file beside it,
``.<name>.<pid>-<random>.tmp``, flushed and fsync'ed, then renamed over the
target (``os.replace`` is atomic), so a process killed mid-write leaves the
previous file intact. The next save of the same path removes the temporary
files that earlier, killed saves of that path left behind (those whose
writing process is gone, and the older ``mkstemp`` names once untouched for
10 minutes); no other file is ever removed. (The process check is local: on a
filesystem shared by several machines, do not save the same path from two
machines at once.)
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import struct
import time

from .backend import xp

_DTYPES = {
    "F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
    "U8": "u1", "BOOL": "?",
}
_CODES = {xp.dtype(v).str.lstrip("<|"): k for k, v in _DTYPES.items()}
_MAX_HEADER = 100 * 1024 * 1024
CHECKSUM_KEY = "shendu.sha256"


class SafetensorsError(ValueError):
    """A file that is not a valid safetensors file, or whose bytes no longer match their checksums."""


class ChecksumError(SafetensorsError):
    """A valid safetensors file whose tensor bytes no longer match the sha256 it records (corrupt or modified)."""


def _code(dtype):
    d = xp.dtype(dtype).newbyteorder("<") if xp.dtype(dtype).byteorder == ">" else xp.dtype(dtype)
    try:
        return _CODES[d.str.lstrip("<|")]
    except KeyError:
        raise TypeError(f"safetensors: dtype {dtype} cannot be stored (supported: {sorted(_DTYPES)})") from None


_IN_FLIGHT = set()  # temporary files this process is writing now (threads may save at once)
_LEGACY_AGE = 600  # seconds: an old-style temporary file untouched this long is no write in progress


def _temp_patterns(path):
    """Regular expressions of the temporary names of ``path``: this version's (group 1 the writer's
    pid) and the ``tempfile.mkstemp`` names that shendu versions before checksums used. The ``-``,
    which mkstemp never writes, keeps the two forms, and the names of different targets, apart."""
    name = re.escape(os.path.basename(path))
    return (re.compile(r"\." + name + r"\.(\d+)-[0-9a-f]{8}\.tmp\Z"),
            re.compile(r"\." + name + r"\.[a-z0-9_]{8}\.tmp\Z"))


def _process_gone(pid):
    if pid == os.getpid():
        return True  # this process (its files in flight are skipped before)
    if os.name == "nt":
        return False  # os.kill(pid, 0) would terminate the process on Windows: keep its file
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # alive (another user's) or unknown: keep its file
    return False


def _orphaned(directory, name, patterns):
    current, legacy = patterns
    full = os.path.join(directory, name)
    if full in _IN_FLIGHT:
        return False
    m = current.match(name)
    if m:
        return _process_gone(int(m.group(1)))
    if legacy.match(name):
        try:
            return time.time() - os.stat(full).st_mtime > _LEGACY_AGE
        except OSError:
            return False
    return False


def remove_orphans(path):
    """Delete the temporary files that killed saves of ``path`` left beside it; returns their names.

    Removed: names ``.<name>.<pid>-<random>.tmp`` whose process ``pid`` no longer runs
    (a save of the same path running in another process keeps its file), and the
    ``.<name>.<8 characters>.tmp`` names of older shendu versions once untouched for 10
    minutes. Nothing else is ever removed.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    patterns, removed = _temp_patterns(path), []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        if _orphaned(directory, name, patterns):
            try:
                os.unlink(os.path.join(directory, name))
                removed.append(name)
            except OSError:
                pass
    return removed


def atomic_write(path, write):
    """Call ``write(fileobj)`` on a temporary file beside ``path``, fsync it, and rename it over ``path``.

    Temporary files left by earlier killed saves of ``path`` are removed first (:func:`remove_orphans`).
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    remove_orphans(path)
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the permissions open() would give
    _IN_FLIGHT.add(tmp)
    try:
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
    finally:
        _IN_FLIGHT.discard(tmp)


def save_file(tensors, path, metadata=None):
    """Write ``{name: array}`` (NumPy arrays or Tensors) to ``path`` in safetensors format.

    ``metadata`` is a ``{str: str}`` dict stored in the header; the sha256 of every
    tensor's bytes is added under ``"shendu.sha256"`` (see the module docstring).
    """
    header, blobs, sums, offset = {}, [], {}, 0
    for name, arr in tensors.items():
        if not isinstance(name, str) or name == "__metadata__":
            raise TypeError(f"safetensors: tensor names must be strings other than '__metadata__', got {name!r}")
        a = arr.numpy() if hasattr(arr, "numpy") and not isinstance(arr, xp.ndarray) else xp.asarray(arr)
        code = _code(a.dtype)
        data = xp.ascontiguousarray(a, dtype=xp.dtype(_DTYPES[code])).tobytes()
        header[name] = {"dtype": code, "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        sums[name] = hashlib.sha256(data).hexdigest()
        offset += len(data)
    metadata = dict(metadata or {})
    bad = {k: v for k, v in metadata.items() if not isinstance(k, str) or not isinstance(v, str)}
    if bad:
        raise TypeError(f"safetensors: metadata must map str to str, got {bad!r}")
    metadata[CHECKSUM_KEY] = json.dumps(sums, separators=(",", ":"))
    header["__metadata__"] = metadata
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # align the data to 8 bytes, as the reference writer does

    def write(f):
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)

    atomic_write(path, write)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _parse_header(path, blob):
    """The validated header of the safetensors bytes ``blob``: ``({name: (dtype, shape, begin, end)}, metadata)``."""
    def fail(message):
        return SafetensorsError(f"safetensors: {path}: {message}")

    if len(blob) < 8:
        raise fail(f"too short to be a safetensors file ({len(blob)} bytes)")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > _MAX_HEADER or 8 + n > len(blob):
        raise fail(f"the header length (first 8 bytes) says {n} bytes, which does not fit the file "
                   f"({len(blob)} bytes): the file is truncated or not a safetensors file")
    try:
        header = json.loads(blob[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise fail(f"the header is not valid JSON: {exc}") from None
    if not isinstance(header, dict):
        raise fail(f"the header is a JSON {type(header).__name__}, expected an object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise fail("'__metadata__' must map strings to strings")
    size, out = len(blob) - 8 - n, {}
    for name, info in header.items():
        where = f"tensor {name!r}"
        if not isinstance(info, dict):
            raise fail(f"{where}: expected an object with 'dtype', 'shape' and 'data_offsets', got {info!r}")
        for field in ("dtype", "shape", "data_offsets"):
            if field not in info:
                raise fail(f"{where}: missing field {field!r}")
        code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if not isinstance(code, str) or code not in _DTYPES:
            raise fail(f"{where}: 'dtype' {code!r} is not a supported dtype ({', '.join(sorted(_DTYPES))})")
        if not isinstance(shape, list) or not all(_is_int(s) and s >= 0 for s in shape):
            raise fail(f"{where}: 'shape' {shape!r} must be a list of non-negative integers")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_int(o) for o in offsets)
                and 0 <= offsets[0] <= offsets[1] <= size):
            raise fail(f"{where}: 'data_offsets' {offsets!r} must be [begin, end] with "
                       f"0 <= begin <= end <= {size} (the data bytes of the file): the file is truncated or corrupt")
        count = 1
        for s in shape:
            count *= s
        need = count * xp.dtype(_DTYPES[code]).itemsize
        if offsets[1] - offsets[0] != need:
            raise fail(f"{where}: 'data_offsets' {offsets} span {offsets[1] - offsets[0]} bytes but 'shape' "
                       f"{shape} of {code} needs {need}")
        out[name] = (code, shape, offsets[0], offsets[1])
    spans = sorted((b, e, name) for name, (_, _, b, e) in out.items() if e > b)
    for (_, e1, a), (b2, _, b) in zip(spans, spans[1:]):
        if b2 < e1:
            raise fail(f"tensors {a!r} and {b!r}: 'data_offsets' overlap")
    return out, metadata


def _checksums(path, metadata, names):
    if CHECKSUM_KEY not in metadata:
        return None
    try:
        sums = json.loads(metadata[CHECKSUM_KEY])
    except json.JSONDecodeError:
        sums = None
    if not isinstance(sums, dict) or set(sums) != set(names):
        raise SafetensorsError(f"safetensors: {path}: '__metadata__' {CHECKSUM_KEY!r} does not list the sha256 of "
                               f"exactly the file's tensors: the file was modified")
    return sums


def load_file(path, with_metadata=False):
    """Read a safetensors file into ``{name: numpy array}`` (and its metadata if asked).

    Raises :class:`SafetensorsError` (a ValueError) naming the file and the field for a
    malformed header, and naming the tensor when its bytes do not match the sha256 the
    file records (files without checksums load unverified). The returned metadata
    leaves out the checksums.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        blob = f.read()
    entries, metadata = _parse_header(path, blob)
    sums = _checksums(path, metadata, entries)
    metadata = {k: v for k, v in metadata.items() if k != CHECKSUM_KEY}
    data = memoryview(blob)[8 + struct.unpack("<Q", blob[:8])[0]:]
    out = {}
    for name, (code, shape, begin, end) in entries.items():
        if sums is not None and hashlib.sha256(data[begin:end]).hexdigest() != sums[name]:
            raise ChecksumError(f"safetensors: {path}: tensor {name!r}: its bytes do not match the sha256 the "
                                   f"file records: the file is corrupt or was modified")
        dt = xp.dtype(_DTYPES[code])
        out[name] = xp.frombuffer(data[begin:end], dtype=dt).reshape(shape).astype(dt.newbyteorder("="))
    return (out, metadata) if with_metadata else out
