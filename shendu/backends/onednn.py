"""``shendu.backends.onednn``: the ctypes binding to oneDNN (``libdnnl.so.3``), the CPU kernel library.

This module is the only one that talks to the library. It owns

* the lazy load (:func:`library`): the first kernel call looks for
  ``libdnnl.so.3`` (``SHENDU_ONEDNN_LIBRARY``, then ``<sys.prefix>/lib`` where the
  ``onednn-cpu-gomp`` wheel puts it, then the loader's search path), checks its
  version (3.x) and creates the CPU engine and stream; any failure is reported
  once as a warning naming the library and the reason, and every kernel call
  then answers None (the caller runs its NumPy reference);
* memory descriptors made from a NumPy array's shape and strides (no copies:
  memory objects wrap the NumPy buffers);
* the primitive cache (:class:`Primitive`), keyed by everything the descriptor
  depends on (kind, shapes, strides, options), so that each primitive
  descriptor, primitive, and weight reorder is built once per configuration;
* the scratchpad: primitives are created in user scratchpad mode and share one
  growing NumPy buffer;
* the thread count: OpenMP's is set to :func:`shendu.parallel.get_num_threads`
  before each call, the count shendu's own kernels use, so that oneDNN, the
  BLAS and shendu's threads never oversubscribe the cores.

The kernels themselves (convolution, pooling, batch norm) live in
:mod:`shendu.backends.onednn_kernels`; ops reach them through
:func:`shendu.backend.fast_kernels`, never directly.
"""
from __future__ import annotations

import ctypes
import os
import sys
import threading
import warnings

import numpy

LIBRARY = "libdnnl.so.3"
MAX_NDIMS = 12

# ---------------------------------------------------------------- constants from dnnl_types.h / dnnl_common_types.h
F32 = 3                      # dnnl_f32
FORMAT_ANY = 1               # dnnl_format_tag_any
CPU = 1                      # dnnl_cpu
STREAM_IN_ORDER = 1          # dnnl_stream_in_order
SCRATCHPAD_USER = 1          # dnnl_scratchpad_mode_user
FORWARD_TRAINING, FORWARD_INFERENCE, BACKWARD = 64, 96, 128
BACKWARD_DATA, BACKWARD_WEIGHTS = 160, 192
CONVOLUTION_DIRECT = 0x1
POOLING_MAX, POOLING_AVG_INCLUDE, POOLING_AVG_EXCLUDE = 0x1FF, 0x2FF, 0x3FF
USE_GLOBAL_STATS, USE_SCALE, USE_SHIFT = 0x1, 0x2, 0x4
ARG_SRC, ARG_DST, ARG_WEIGHTS, ARG_BIAS = 1, 17, 33, 41
ARG_MEAN, ARG_VARIANCE, ARG_SCALE, ARG_SHIFT = 49, 50, 51, 52
ARG_WORKSPACE, ARG_SCRATCHPAD = 64, 80
ARG_DIFF_SRC, ARG_DIFF_DST, ARG_DIFF_WEIGHTS, ARG_DIFF_BIAS = 129, 145, 161, 169
ARG_DIFF_SCALE, ARG_DIFF_SHIFT = 255, 256
QUERY_SRC, QUERY_DIFF_SRC, QUERY_WEIGHTS, QUERY_DIFF_WEIGHTS = 129, 130, 131, 132
QUERY_DST, QUERY_DIFF_DST, QUERY_WORKSPACE, QUERY_SCRATCHPAD = 133, 134, 135, 136
QUERY_EXEC_ARG = 255
# recurrent layers (dnnl_rnn_direction_t, dnnl_rnn_flags_t, the RNN execution arguments)
LEFT2RIGHT, RIGHT2LEFT = 1, 2
RNN_DIFF_WEIGHTS_OVERWRITE = 0x1
ELTWISE_RELU, ELTWISE_TANH, ELTWISE_GELU_TANH, ELTWISE_GELU_ERF = 0x20, 0x21, 0x2B, 0x31
SOFTMAX_ACCURATE = 0x30000   # dnnl_softmax_accurate: exp(x − max) / Σ exp(x − max)
ARG_SRC_ITER, ARG_SRC_ITER_C, ARG_WEIGHTS_ITER, ARG_DST_ITER, ARG_DST_ITER_C = 2, 3, 34, 18, 19
ARG_DIFF_SRC_ITER, ARG_DIFF_SRC_ITER_C, ARG_DIFF_DST_ITER, ARG_DIFF_DST_ITER_C = 130, 131, 146, 147
ARG_DIFF_WEIGHTS_ITER = 162

Handle = ctypes.c_void_p
Dims = ctypes.c_int64 * MAX_NDIMS


class ExecArg(ctypes.Structure):
    """``dnnl_exec_arg_t``: one (argument id, memory) pair of an execution."""

    _fields_ = [("arg", ctypes.c_int), ("memory", Handle)]


class Version(ctypes.Structure):
    """``dnnl_version_t``."""

    _fields_ = [("major", ctypes.c_int), ("minor", ctypes.c_int), ("patch", ctypes.c_int),
                ("hash", ctypes.c_char_p), ("cpu_runtime", ctypes.c_uint), ("gpu_runtime", ctypes.c_uint)]


class OneDNNError(RuntimeError):
    """A oneDNN call returned a status other than success (the kernel then falls back to NumPy)."""


_STATUS = {1: "out of memory", 2: "invalid arguments", 3: "unimplemented", 5: "runtime error",
           6: "not required", 7: "invalid graph", 8: "invalid graph op", 9: "invalid shape",
           10: "invalid data type"}

_lock = threading.RLock()
_state = {"lib": None, "error": None, "tried": False, "engine": None, "stream": None, "gomp": None,
          "threads": 0, "scratch": numpy.empty(0, numpy.uint8), "version": None}
_cache: dict = {}


def _signatures(lib):
    """Declare argument and result types (every call returns a dnnl_status_t int unless said)."""
    for name, args in {
        "dnnl_engine_create": [ctypes.POINTER(Handle), ctypes.c_int, ctypes.c_size_t],
        "dnnl_stream_create": [ctypes.POINTER(Handle), Handle, ctypes.c_uint],
        "dnnl_stream_wait": [Handle],
        "dnnl_memory_desc_create_with_strides": [ctypes.POINTER(Handle), ctypes.c_int, Dims, ctypes.c_int, Dims],
        "dnnl_memory_desc_create_with_tag": [ctypes.POINTER(Handle), ctypes.c_int, Dims, ctypes.c_int, ctypes.c_int],
        "dnnl_memory_desc_destroy": [Handle],
        "dnnl_memory_create": [ctypes.POINTER(Handle), Handle, Handle, Handle],
        "dnnl_memory_set_data_handle": [Handle, Handle],
        "dnnl_memory_destroy": [Handle],
        "dnnl_primitive_attr_create": [ctypes.POINTER(Handle)],
        "dnnl_primitive_attr_set_scratchpad_mode": [Handle, ctypes.c_int],
        "dnnl_primitive_attr_destroy": [Handle],
        "dnnl_primitive_create": [ctypes.POINTER(Handle), Handle],
        "dnnl_primitive_execute": [Handle, Handle, ctypes.c_int, ctypes.POINTER(ExecArg)],
        "dnnl_primitive_destroy": [Handle],
        "dnnl_primitive_desc_destroy": [Handle],
        "dnnl_reorder_primitive_desc_create": [ctypes.POINTER(Handle), Handle, Handle, Handle, Handle, Handle],
        "dnnl_convolution_forward_primitive_desc_create": [ctypes.POINTER(Handle), Handle, ctypes.c_int, ctypes.c_int,
                                                           Handle, Handle, Handle, Handle, Dims, Dims, Dims, Dims, Handle],
        "dnnl_convolution_backward_data_primitive_desc_create": [ctypes.POINTER(Handle), Handle, ctypes.c_int, Handle, Handle, Handle,
                                                                 Dims, Dims, Dims, Dims, Handle, Handle],
        "dnnl_convolution_backward_weights_primitive_desc_create": [ctypes.POINTER(Handle), Handle, ctypes.c_int, Handle, Handle,
                                                                    Handle, Handle, Dims, Dims, Dims, Dims, Handle, Handle],
        "dnnl_matmul_primitive_desc_create": [ctypes.POINTER(Handle), Handle, Handle, Handle, Handle, Handle, Handle],
        "dnnl_pooling_forward_primitive_desc_create": [ctypes.POINTER(Handle), Handle, ctypes.c_int, ctypes.c_int, Handle, Handle,
                                                       Dims, Dims, Dims, Dims, Dims, Handle],
        "dnnl_pooling_backward_primitive_desc_create": [ctypes.POINTER(Handle), Handle, ctypes.c_int, Handle, Handle,
                                                        Dims, Dims, Dims, Dims, Dims, Handle, Handle],
        "dnnl_batch_normalization_forward_primitive_desc_create": [ctypes.POINTER(Handle), Handle, ctypes.c_int, Handle, Handle,
                                                                   ctypes.c_float, ctypes.c_uint, Handle],
        "dnnl_batch_normalization_backward_primitive_desc_create": [ctypes.POINTER(Handle), Handle, ctypes.c_int, Handle, Handle,
                                                                    Handle, ctypes.c_float, ctypes.c_uint, Handle, Handle],
        "dnnl_eltwise_forward_primitive_desc_create": [ctypes.POINTER(Handle), Handle, ctypes.c_int, ctypes.c_int, Handle,
                                                       Handle, ctypes.c_float, ctypes.c_float, Handle],
        "dnnl_eltwise_backward_primitive_desc_create": [ctypes.POINTER(Handle), Handle, ctypes.c_int, Handle, Handle, Handle,
                                                        ctypes.c_float, ctypes.c_float, Handle, Handle],
        "dnnl_layer_normalization_forward_primitive_desc_create": [ctypes.POINTER(Handle), Handle, ctypes.c_int, Handle,
                                                                   Handle, Handle, ctypes.c_float, ctypes.c_uint, Handle],
        "dnnl_layer_normalization_backward_primitive_desc_create": [ctypes.POINTER(Handle), Handle, ctypes.c_int, Handle,
                                                                    Handle, Handle, Handle, ctypes.c_float, ctypes.c_uint,
                                                                    Handle, Handle],
        "dnnl_softmax_forward_primitive_desc_create": [ctypes.POINTER(Handle), Handle, ctypes.c_int, ctypes.c_int,
                                                       Handle, Handle, ctypes.c_int, Handle],
        # recurrent layers: (pd, engine, prop, [activation,] direction, descriptors…, flags, [alpha, beta,] [hint,] attr)
        "dnnl_vanilla_rnn_forward_primitive_desc_create": [ctypes.POINTER(Handle), Handle, ctypes.c_int, ctypes.c_int,
                                                           ctypes.c_int] + [Handle] * 7 + [ctypes.c_uint, ctypes.c_float,
                                                                                            ctypes.c_float, Handle],
        "dnnl_vanilla_rnn_backward_primitive_desc_create": [ctypes.POINTER(Handle), Handle, ctypes.c_int, ctypes.c_int,
                                                            ctypes.c_int] + [Handle] * 14 + [ctypes.c_uint, ctypes.c_float,
                                                                                             ctypes.c_float, Handle, Handle],
        "dnnl_lstm_forward_primitive_desc_create": [ctypes.POINTER(Handle), Handle, ctypes.c_int, ctypes.c_int]
                                                   + [Handle] * 11 + [ctypes.c_uint, Handle],
        "dnnl_lstm_backward_primitive_desc_create": [ctypes.POINTER(Handle), Handle, ctypes.c_int, ctypes.c_int]
                                                    + [Handle] * 22 + [ctypes.c_uint, Handle, Handle],
        "dnnl_lbr_gru_forward_primitive_desc_create": [ctypes.POINTER(Handle), Handle, ctypes.c_int, ctypes.c_int]
                                                      + [Handle] * 7 + [ctypes.c_uint, Handle],
        "dnnl_lbr_gru_backward_primitive_desc_create": [ctypes.POINTER(Handle), Handle, ctypes.c_int, ctypes.c_int]
                                                       + [Handle] * 14 + [ctypes.c_uint, Handle, Handle],
    }.items():
        fn = getattr(lib, name)
        fn.argtypes, fn.restype = args, ctypes.c_int
    lib.dnnl_primitive_desc_query_md.argtypes = [Handle, ctypes.c_int, ctypes.c_int]
    lib.dnnl_primitive_desc_query_md.restype = Handle
    lib.dnnl_memory_desc_get_size.argtypes = [Handle]
    lib.dnnl_memory_desc_get_size.restype = ctypes.c_size_t
    lib.dnnl_memory_desc_equal.argtypes = [Handle, Handle]
    lib.dnnl_memory_desc_equal.restype = ctypes.c_int
    lib.dnnl_version.argtypes, lib.dnnl_version.restype = [], ctypes.POINTER(Version)
    lib.dnnl_get_effective_cpu_isa.argtypes, lib.dnnl_get_effective_cpu_isa.restype = [], ctypes.c_int


def _candidates():
    explicit = os.environ.get("SHENDU_ONEDNN_LIBRARY")
    if explicit:
        return [explicit]
    return [os.path.join(sys.prefix, "lib", LIBRARY), LIBRARY]


#: Rounds libgomp's idle workers spin after a parallel region before they sleep (its default is 300 000, ~ms).
GOMP_SPINCOUNT = "10000"


def before_openmp():
    """Shorten libgomp's idle spin (``GOMP_SPINCOUNT``, unless the user set it or ``OMP_WAIT_POLICY``) in the
    environment, where libgomp reads it once, when it loads. ``shendu.backend`` calls this at import, so
    that it precedes whatever loads libgomp first: libdnnl, or PyTorch, whose libgomp libdnnl then shares
    (the loader matches the soname). With the default spin, a worker spinning after each oneDNN call holds
    the second core while NumPy's BLAS and shendu's threads want it: the mlp step at 2 threads took 4-5×
    the CPU time (bench/NOTES.md §11); as ``shendu/openblas.py`` does for OpenBLAS's idle threads."""
    if "GOMP_SPINCOUNT" not in os.environ and "OMP_WAIT_POLICY" not in os.environ:
        os.environ["GOMP_SPINCOUNT"] = GOMP_SPINCOUNT


def _open():
    """Load the library, check its version, make the engine and stream; raise with the reason."""
    before_openmp()  # no-op when already done (and too late if another library loaded libgomp before shendu)
    errors = []
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
            break
        except OSError as exc:
            errors.append(f"{path}: {exc}")
    else:
        raise OSError("; ".join(errors))
    _signatures(lib)
    version = lib.dnnl_version().contents
    if version.major != 3:
        raise OSError(f"version {version.major}.{version.minor} found, shendu's binding needs oneDNN 3.x")
    engine, stream = Handle(), Handle()
    check(lib.dnnl_engine_create(ctypes.byref(engine), CPU, 0), "dnnl_engine_create")
    check(lib.dnnl_stream_create(ctypes.byref(stream), engine, STREAM_IN_ORDER), "dnnl_stream_create")
    try:
        gomp = ctypes.CDLL("libgomp.so.1")  # the OpenMP runtime libdnnl (the gomp build) runs on
        gomp.omp_set_num_threads.argtypes = [ctypes.c_int]
    except (OSError, AttributeError):  # pragma: no cover - another OpenMP runtime
        gomp = None
    _state.update(lib=lib, engine=engine, stream=stream, gomp=gomp,
                  version=f"{version.major}.{version.minor}.{version.patch}")
    return lib


def library():
    """The loaded ``ctypes.CDLL``, or None when oneDNN is missing or broken (warned about once)."""
    if _state["tried"]:
        return _state["lib"]
    with _lock:
        if not _state["tried"]:
            try:
                _open()
            except Exception as exc:  # any failure: NumPy kernels, one warning
                _state["error"] = f"{type(exc).__name__}: {exc}"
                warnings.warn(f"shendu: oneDNN ({LIBRARY}) could not be used, running the NumPy kernels "
                              f"instead ({_state['error']}); install it with pip install 'shendu[onednn]'",
                              RuntimeWarning, stacklevel=3)
            _state["tried"] = True
    return _state["lib"]


def engine():
    """The CPU engine handle (after :func:`library` loaded)."""
    return _state["engine"]


def available() -> bool:
    """True when libdnnl loads and works (loads it on first call)."""
    return library() is not None


def load_error():
    """Why oneDNN could not be used (a string), or None when it loaded (or was not tried yet)."""
    return _state["error"]


def version():
    """The loaded oneDNN version, e.g. ``'3.2.0'``, or None."""
    return _state["version"] if library() is not None else None


#: dnnl_cpu_isa_avx512_core: its bits are set in the effective ISA of a CPU (and ONEDNN_MAX_CPU_ISA) with AVX-512.
ISA_AVX512_CORE = 0x27


def has_avx512():
    """Whether oneDNN runs its AVX-512 kernels here (the CPU has them and ONEDNN_MAX_CPU_ISA allows them)."""
    return library() is not None and _state["lib"].dnnl_get_effective_cpu_isa() & ISA_AVX512_CORE == ISA_AVX512_CORE


def check(status, what):
    """Raise :class:`OneDNNError` naming ``what`` unless ``status`` is success."""
    if status != 0:
        raise OneDNNError(f"{what}: {_STATUS.get(status, f'status {status}')}")


# ---------------------------------------------------------------- memory descriptors
def dims(values):
    """A ``dnnl_dims_t`` holding ``values``."""
    d = Dims()
    for i, v in enumerate(values):
        d[i] = int(v)
    return d


class Desc:
    """An owned ``dnnl_memory_desc_t`` (destroyed with the cache entry that holds it)."""

    __slots__ = ("handle", "lib")

    def __init__(self, shape, strides=None):
        """``strides`` in elements; None: ``format_tag any`` (the primitive picks the layout)."""
        self.lib = lib = _state["lib"]
        self.handle = Handle()
        if strides is None:
            status = lib.dnnl_memory_desc_create_with_tag(ctypes.byref(self.handle), len(shape), dims(shape),
                                                          F32, FORMAT_ANY)
        else:
            status = lib.dnnl_memory_desc_create_with_strides(ctypes.byref(self.handle), len(shape), dims(shape),
                                                              F32, dims(strides))
        check(status, f"memory descriptor {tuple(shape)}")

    def __del__(self):  # the library stays loaded while this object holds it (also at interpreter exit)
        if self.handle:
            self.lib.dnnl_memory_desc_destroy(self.handle)


def desc_of(array, shape=None):
    """The descriptor of a float32 NumPy array as it lies in memory (its strides), optionally seen with
    another logical ``shape`` whose strides derive from a split leading axis (grouped weights)."""
    strides = [s // array.itemsize for s in array.strides]
    if shape is not None and len(shape) == array.ndim + 1:  # (G, O/G, ...) from (O, ...)
        strides = [strides[0] * shape[1]] + strides
    return Desc(array.shape if shape is None else shape, strides)


def plain_strides(shape):
    """C-order strides (elements) of ``shape``."""
    out, step = [], 1
    for n in reversed(shape):
        out.append(step)
        step *= n
    return out[::-1]


def channels_last_strides(shape):
    """Strides (elements) of logical (N, C, *spatial) stored as (N, *spatial, C)."""
    n, c, *spatial = shape
    perm = [0] + list(range(2, len(shape))) + [1]
    phys = plain_strides([shape[i] for i in perm])
    out = [0] * len(shape)
    for axis, stride in zip(perm, phys):
        out[axis] = stride
    return out


def empty_channels_last(shape):
    """An uninitialised float32 array of logical ``shape`` (N, C, …) in channels-last memory order."""
    n, c, *spatial = shape
    return numpy.empty((n, *spatial, c), numpy.float32).transpose(0, len(shape) - 1, *range(1, len(shape) - 1))


def is_channels_last(array):
    """True when ``array`` (N, C, …) lies in memory as (N, …, C) densely."""
    return list(array.strides) == [s * array.itemsize for s in channels_last_strides(array.shape)]


def as_channels_last(array):
    """``array`` itself when channels-last already, else a channels-last copy (the layout oneDNN's
    direct kernels run fastest on, docs/onednn.md)."""
    if is_channels_last(array):
        return array
    out = empty_channels_last(array.shape)
    numpy.copyto(out, array)
    return out


# ---------------------------------------------------------------- primitives
class Primitive:
    """A primitive descriptor, its primitive and one reusable memory object per argument.

    ``make_pd(attr) -> handle`` builds the descriptor (raising :class:`OneDNNError` when
    the configuration is unimplemented); the descriptors it used are kept alive in ``keep``.
    """

    __slots__ = ("pd", "prim", "mems", "keep", "scratch_size", "lib")

    def __init__(self, make_pd, keep=()):
        self.lib = lib = _state["lib"]
        self.keep, self.mems, self.prim, self.pd = keep, {}, None, None
        attr = Handle()
        check(lib.dnnl_primitive_attr_create(ctypes.byref(attr)), "dnnl_primitive_attr_create")
        try:
            check(lib.dnnl_primitive_attr_set_scratchpad_mode(attr, SCRATCHPAD_USER), "scratchpad mode")
            self.pd = make_pd(attr)
        finally:
            lib.dnnl_primitive_attr_destroy(attr)
        prim = Handle()
        check(lib.dnnl_primitive_create(ctypes.byref(prim), self.pd), "dnnl_primitive_create")
        self.prim = prim
        self.scratch_size = lib.dnnl_memory_desc_get_size(self.query(QUERY_SCRATCHPAD))

    def query(self, what, index=0):
        """The memory descriptor the primitive chose for ``what`` (a QUERY_* constant); borrowed from the pd."""
        return _state["lib"].dnnl_primitive_desc_query_md(self.pd, what, index)

    def size(self, what):
        """Bytes of the buffer for ``what``."""
        return _state["lib"].dnnl_memory_desc_get_size(self.query(what))

    def same(self, what, desc):
        """True when the primitive's layout for ``what`` equals ``desc`` (a :class:`Desc`)."""
        return bool(_state["lib"].dnnl_memory_desc_equal(self.query(what), desc.handle))

    def arg_desc(self, arg):
        """The descriptor the primitive expects for execution argument ``arg`` (an ARG_* id)."""
        return self.query(QUERY_EXEC_ARG, arg)

    def _memory(self, arg):
        mem = self.mems.get(arg)
        if mem is None:
            mem = Handle()
            check(_state["lib"].dnnl_memory_create(ctypes.byref(mem), self.arg_desc(arg), _state["engine"], None),
                   "dnnl_memory_create")
            self.mems[arg] = mem
        return mem

    def execute(self, *args):
        """Run on ``args``: (ARG_* id, NumPy buffer) pairs laid out as :meth:`arg_desc` says; the shared
        scratchpad is added here."""
        lib = _state["lib"]
        with _lock:
            _threads()
            if self.scratch_size:
                args += ((ARG_SCRATCHPAD, _scratchpad(self.scratch_size)),)
            packed = (ExecArg * len(args))()
            for i, (arg, buf) in enumerate(args):
                mem = self._memory(arg)
                lib.dnnl_memory_set_data_handle(mem, buf.ctypes.data)
                packed[i].arg, packed[i].memory = arg, mem
            check(lib.dnnl_primitive_execute(self.prim, _state["stream"], len(args), packed), "execute")
            check(lib.dnnl_stream_wait(_state["stream"]), "dnnl_stream_wait")

    def __del__(self):
        lib = self.lib
        for mem in self.mems.values():
            lib.dnnl_memory_destroy(mem)
        if self.prim:
            lib.dnnl_primitive_destroy(self.prim)
        if self.pd:
            lib.dnnl_primitive_desc_destroy(self.pd)


def _scratchpad(size):
    """The shared scratchpad buffer, grown to at least ``size`` bytes (64-byte aligned)."""
    buf = _state["scratch"]
    if buf.size < size + 64:
        buf = numpy.empty(size + 64, numpy.uint8)
        _state["scratch"] = buf
    offset = (-buf.ctypes.data) % 64
    return buf[offset:offset + max(size, 1)]


def _threads():
    """OpenMP's thread count = shendu.parallel's (set again only when it changed)."""
    from .. import parallel  # lazy: parallel imports backend, which loads this module lazily

    n = parallel.get_num_threads()
    if n != _state["threads"] and _state["gomp"] is not None:
        _state["gomp"].omp_set_num_threads(n)
        _state["threads"] = n


def cached(key, build):
    """The :class:`Primitive` (or anything ``build()`` returns) for ``key``, built on first use.

    A configuration oneDNN rejects is remembered as None, so the NumPy fallback is chosen
    at once next time.
    """
    entry = _cache.get(key, _cache)
    if entry is _cache:
        try:
            entry = build()
        except OneDNNError:
            entry = None
        _cache[key] = entry
    return entry


def reorder(src, dst):
    """A reorder primitive between two layouts (descriptor handles; the caller caches it with its user)."""
    lib, engine = _state["lib"], _state["engine"]

    def make(attr):
        pd = Handle()
        check(lib.dnnl_reorder_primitive_desc_create(ctypes.byref(pd), src, engine, dst, engine, attr), "reorder")
        return pd
    return Primitive(make)


def clear_cache():
    """Drop every cached primitive (tests; or to free their memory)."""
    with _lock:
        _cache.clear()


def cache_size():
    """How many configurations are cached."""
    return len(_cache)


__all__ = ["library", "available", "load_error", "version", "Desc", "desc_of", "Primitive", "cached", "reorder",
           "clear_cache", "cache_size", "as_channels_last", "empty_channels_last", "is_channels_last",
           "channels_last_strides", "plain_strides", "OneDNNError"]
