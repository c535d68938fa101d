"""The IDX file format of MNIST and Fashion-MNIST, read and written.

An IDX file (LeCun et al., http://yann.lecun.com/exdb/mnist/) is

    offset 0: 0x00 0x00            two zero bytes
    offset 2: dtype code           0x08 uint8, 0x09 int8, 0x0B int16,
                                   0x0C int32, 0x0D float32, 0x0E float64
    offset 3: ndim                 number of dimensions
    offset 4: ndim × uint32        the size of each dimension, big-endian
    then:     prod(dims) values    big-endian, C order

so the images of MNIST start with ``00 00 08 03`` (magic 0x00000803 = 2051:
uint8, 3 dims N, 28, 28) and the labels with ``00 00 08 01`` (2049). The
files are usually gzip-compressed; :func:`read_idx` recognises gzip by its
first two bytes (0x1f 0x8b), not by the file name.
"""
from __future__ import annotations

import gzip
import os
import zlib

from shendu.backend import xp

#: IDX dtype code -> big-endian dtype.
DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_CODES = {xp.dtype(v).newbyteorder("="): k for k, v in DTYPES.items()}

GZIP_MAGIC = b"\x1f\x8b"


def read_bytes(path):
    """The content of ``path``, decompressed when it is gzip (whatever its name).

    Raises ValueError naming the file when the gzip stream is corrupt or cut short.
    """
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] != GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{os.fspath(path)}: corrupt or truncated gzip data ({exc})") from None


def parse_idx(data: bytes, name="<bytes>"):
    """Parse the bytes of an (uncompressed) IDX file into an array of native
    byte order; ``name`` appears in the errors."""
    if len(data) < 4:
        raise ValueError(f"{name}: not an IDX file: {len(data)} bytes, shorter than the 4-byte magic number")
    if data[0] != 0 or data[1] != 0 or data[2] not in DTYPES:
        raise ValueError(f"{name}: not an IDX file: bad magic number 0x{data[:4].hex()} "
                         f"(expected 00 00, a dtype code in {{{', '.join(f'{k:02x}' for k in DTYPES)}}}, ndim)")
    dtype, ndim = xp.dtype(DTYPES[data[2]]), data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{name}: truncated IDX header: {ndim} dimensions need {header} bytes, "
                         f"the file has {len(data)}")
    dims = tuple(int(d) for d in xp.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    count = 1
    for d in dims:
        count *= d
    expected = header + count * dtype.itemsize
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "trailing bytes after the"
        raise ValueError(f"{name}: {what} IDX data: shape {dims} of {dtype.newbyteorder('=')} needs "
                         f"{expected} bytes, the file has {len(data)}")
    arr = xp.frombuffer(data, dtype=dtype, count=count, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="))  # a writable native-order copy


def read_idx(path):
    """Read an IDX file (raw or gzip-compressed) into a NumPy array.

    Args:
        path: the file, e.g. ``t10k-images-idx3-ubyte.gz``.

    Returns:
        an array of the file's dtype and shape, native byte order
        (MNIST images: uint8 ``(N, 28, 28)``; labels: uint8 ``(N,)``).

    Raises:
        ValueError: naming the file, for a bad magic number, a truncated or
            over-long body, or corrupt gzip data.

    Example:
        >>> shendu.data.read_idx("t10k-labels-idx1-ubyte.gz").shape
        (10000,)
    """
    return parse_idx(read_bytes(path), os.fspath(path))


def write_idx(path, array, compress=None):
    """Write ``array`` as an IDX file; gzip-compressed when ``compress`` is
    True, or when it is None and the name ends in ``.gz``."""
    array = xp.asarray(array)
    dtype = array.dtype.newbyteorder("=")
    if dtype not in _CODES:
        raise TypeError(f"write_idx: IDX has no code for dtype {array.dtype}; use one of "
                        f"{sorted(str(xp.dtype(v)) for v in DTYPES.values())}")
    code = _CODES[dtype]
    header = bytes([0, 0, code, array.ndim]) + xp.asarray(array.shape, dtype=">u4").tobytes()
    data = header + array.astype(DTYPES[code]).tobytes()
    if compress or (compress is None and os.fspath(path).endswith(".gz")):
        data = gzip.compress(data)
    with open(path, "wb") as f:
        f.write(data)
