"""The array backend: the one module that owns the array library.

Everything in shendu that does math gets its array module from here
(``xp``), so that the same op code runs on NumPy (CPU, the default) and,
later, on CuPy (NVIDIA GPUs) unchanged. This module also owns

* the devices (:class:`Device`, ``"cpu"`` now, ``"cuda"`` where CuPy is
  installed),
* the dtypes and the default floating dtype (float32),
* the random number generator that :func:`manual_seed` seeds,
* the few heavy kernels (matrix multiply now; convolution later), so that a
  GPU backend can route them to cuBLAS / cuDNN in one place.

No op may synchronise with the host on its hot path: nothing here converts
device arrays to Python numbers.
"""
from __future__ import annotations

from . import openblas

openblas.before_numpy()  # OpenBLAS's idle threads: spin ~25 µs, not ~0.1 s (see shendu/openblas.py)

import numpy  # noqa: E402  (after the BLAS setting above)

from .backends import onednn as _onednn  # noqa: E402  (the binding's module only: libdnnl loads lazily)

_onednn.before_openmp()  # libgomp's idle workers: a short spin, set before any library loads libgomp

try:  # CuPy is optional: the GPU path of a later issue.
    import cupy as _cupy  # type: ignore
except Exception:  # pragma: no cover - depends on the machine
    _cupy = None

#: The CPU array module. Ops that need a constructor for an existing array use
#: :func:`get_array_module` so that they stay device-agnostic.
xp = numpy

#: Whether NumPy's BLAS leaves the cores to other threads soon after a GEMM
#: (:func:`shendu.openblas.frees_cores`); decides the default thread count of
#: shendu's own kernels (:func:`shendu.parallel.get_num_threads`).
blas_frees_cores = openblas.frees_cores()

# ----------------------------------------------------------------- dtypes
float16 = numpy.dtype("float16")
float32 = numpy.dtype("float32")
float64 = numpy.dtype("float64")
int8 = numpy.dtype("int8")
uint8 = numpy.dtype("uint8")
int16 = numpy.dtype("int16")
int32 = numpy.dtype("int32")
int64 = numpy.dtype("int64")
bool_ = numpy.dtype("bool")

_default_dtype = float32


def get_default_dtype():
    """Return the dtype that new floating tensors get (float32 unless changed)."""
    return _default_dtype


def set_default_dtype(dtype) -> None:
    """Set the dtype of new floating tensors, e.g. ``shendu.float64`` for gradient checks."""
    global _default_dtype
    d = numpy.dtype(dtype)
    if d.kind != "f":
        raise TypeError(f"set_default_dtype: expected a floating dtype, got {d}")
    _default_dtype = d


def as_dtype(dtype):
    """Normalise anything NumPy accepts as a dtype (``'float32'``, ``numpy.float64``…)."""
    return None if dtype is None else numpy.dtype(dtype)


def is_floating(dtype) -> bool:
    """True for float16/32/64."""
    return dtype.kind == "f"


def result_type(a, b):
    """Promotion of two tensor dtypes, as documented in docs/tensors.md.

    * equal dtypes stay;
    * two floats -> the wider float; two ints -> the wider int;
    * a float with an int or bool -> the float (as in PyTorch: an int tensor
      never widens float32 to float64, unlike NumPy);
    * an int with a bool -> the int.
    """
    if a == b:
        return a
    fa, fb = a.kind == "f", b.kind == "f"
    if fa and not fb:
        return a
    if fb and not fa:
        return b
    if a.kind == "b":
        return b
    if b.kind == "b":
        return a
    return numpy.promote_types(a, b)


# ----------------------------------------------------------------- devices
def cuda_available() -> bool:
    """True when CuPy imports **and** a CUDA device answers (``cupy.cuda.is_available()``).

    A successful ``import cupy`` alone is not enough: CuPy installs without a
    GPU or a driver, and every array op would then fail on first use.
    """
    if _cupy is None:
        return False
    try:
        return bool(_cupy.cuda.is_available())
    except Exception:  # pragma: no cover - a broken driver reads as "no GPU"
        return False


def cuda_device_count() -> int:
    """The number of CUDA devices CuPy sees (0 without CuPy or a usable device)."""
    if not cuda_available():
        return 0
    return int(_cupy.cuda.runtime.getDeviceCount())  # pragma: no cover - GPU only


class Device:
    """Where a tensor's data lives, as ``torch.device``: ``Device('cpu')``, ``Device('cuda')``,
    ``Device('cuda:0')`` or ``Device('cuda', 0)``.

    Attributes:
        type: ``'cpu'`` or ``'cuda'``.
        index: the device ordinal (an int), or None when not given (``'cuda'``, ``'cpu'``).
    """

    __slots__ = ("type", "index")

    def __init__(self, spec="cpu", index=None):
        if isinstance(spec, Device):
            spec, index = spec.type, spec.index if index is None else index
        elif isinstance(spec, int) and not isinstance(spec, bool):  # torch.device(0) means cuda:0
            spec, index = "cuda", spec
        text = str(spec)
        kind, _, ordinal = text.partition(":")
        if kind not in ("cpu", "cuda") or (ordinal and not ordinal.isdigit()):
            raise ValueError(f"Device: expected 'cpu', 'cuda' or 'cuda:<index>', got {text!r}")
        if ordinal:
            if index is not None:
                raise ValueError(f"Device: the index is given twice ({text!r} and index={index})")
            index = int(ordinal)
        if index is not None and (not isinstance(index, int) or index < 0):
            raise ValueError(f"Device: expected a non-negative int index, got {index!r}")
        if kind == "cpu" and index not in (None, 0):
            raise ValueError(f"Device: the CPU has only index 0, got {index}")
        self.type, self.index = kind, index

    @property
    def xp(self):
        if self.type == "cuda":
            if _cupy is None:
                raise RuntimeError(
                    f"{self}: CUDA needs CuPy, which is not installed; install cupy-cuda12x on a machine "
                    f"with an NVIDIA GPU, or use the CPU (device 'cpu')")
            if not cuda_available():
                raise RuntimeError(
                    f"{self}: CuPy is installed but no CUDA device answers (cupy.cuda.is_available() is "
                    f"False); check the GPU driver, or use the CPU (device 'cpu')")
            return _cupy
        return numpy

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = Device(other)
            except ValueError:
                return False
        return isinstance(other, Device) and other.type == self.type and other.index == self.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"


cpu = Device("cpu")


def get_array_module(array):
    """The array module (numpy or cupy) that owns ``array``."""
    if _cupy is not None and isinstance(array, _cupy.ndarray):  # pragma: no cover
        return _cupy
    return numpy


def device_of(array) -> Device:
    """The :class:`Device` that holds ``array``."""
    if get_array_module(array) is numpy:
        return cpu
    return Device("cuda", int(array.device.id))  # pragma: no cover - GPU only


def to_device(array, device: Device):
    """Copy ``array`` to ``device`` (a no-op when it is already there)."""
    mod = device.xp
    if get_array_module(array) is mod:
        return array
    if mod is numpy:  # pragma: no cover - GPU only
        return array.get()
    return mod.asarray(array)  # pragma: no cover - GPU only


def is_array(obj) -> bool:
    """True for a NumPy (or CuPy) ndarray; False for NumPy scalars, lists, tensors."""
    return isinstance(obj, numpy.ndarray) or (_cupy is not None and isinstance(obj, _cupy.ndarray))


# ----------------------------------------------------------------- randomness
_rng = numpy.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seed every random operation in shendu (initialisers, dropout, shuffling…)."""
    global _rng
    _rng = numpy.random.default_rng(int(seed))


def rng() -> numpy.random.Generator:
    """The library-wide generator that :func:`manual_seed` seeds."""
    return _rng


def get_rng_state() -> dict:
    """The generator's state as plain JSON-able data (for checkpoints)."""
    return _rng.bit_generator.state


def set_rng_state(state: dict) -> None:
    """Restore a state saved by :func:`get_rng_state`."""
    _rng.bit_generator.state = state


def memory_order(x):
    """``x``'s axes from the largest stride to the smallest (how it lies in memory: channels-last is
    [0, 2, 3, 1]), or None when that is plain C order."""
    if x.flags.c_contiguous:
        return None
    order = sorted(range(x.ndim), key=lambda a: -abs(x.strides[a]))
    return None if order == list(range(x.ndim)) else order


def flat_view(a):
    """``a`` as a 1-D view of its memory when it is dense in some axis order (C order or channels-last: an
    element-wise kernel does not care which), else None."""
    order = memory_order(a)
    t = a if order is None else a.transpose(order)
    return t.reshape(-1) if t.flags.c_contiguous else None


# ----------------------------------------------------------------- kernels
def matmul(a, b, out=None):
    """Matrix product, the GEMM every dense and convolution layer ends in.

    On the CPU this is NumPy's ``matmul`` (BLAS); a GPU backend routes it to
    cuBLAS. ``out`` lets callers reuse a buffer.
    """
    if out is None:
        # for two matrices ``dot`` runs the same BLAS product as ``@`` (the same numbers) with ~0.3 µs less
        # overhead a call, which small dense layers notice (bench/NOTES.md §15)
        return a.dot(b) if a.ndim == 2 == b.ndim else a @ b
    return get_array_module(a).matmul(a, b, out=out)


_ones = {}  # (array module, dtype) -> the longest vector of ones asked for so far


def sum_rows(a):
    """Σᵢ a[i, :] for a 2-D ``a`` (a bias's gradient), as the matrix-vector product 1ᵀ·a on the BLAS: NumPy's
    ``a.sum(axis=0)`` reduces across rows with a slower loop (0.77 against 0.23 µs for (4, 8); 3.8 against
    1.2 µs for (128, 256); 1.15 against 0.06 ms for a channels-last convolution gradient viewed as
    (N·H·W, 6)). The ones come from one cached vector per dtype."""
    mod, n = get_array_module(a), a.shape[0]
    ones = _ones.get((mod, a.dtype))
    if ones is None or ones.shape[0] < n:
        ones = _ones[(mod, a.dtype)] = mod.ones(max(n, 64), dtype=a.dtype)
    return ones[:n].dot(a)


# ----------------------------------------------------------------- the CPU kernel library
#: Which kernels run the heavy CPU ops: ``"onednn"`` (oneDNN, where it loads), ``"numpy"`` (the
#: readable reference), or ``"auto"`` (oneDNN when available, else NumPy). From ``SHENDU_KERNELS``.
KERNEL_CHOICES = ("auto", "onednn", "numpy")
_kernels = {"choice": None, "module": None}


def set_kernels(name):
    """Choose the CPU kernels: ``'onednn'``, ``'numpy'`` or ``'auto'`` (the default; ``SHENDU_KERNELS``
    sets it at start-up). oneDNN that fails to load is reported once and the NumPy kernels run."""
    if name not in KERNEL_CHOICES:
        raise ValueError(f"set_kernels: expected one of {KERNEL_CHOICES}, got {name!r}")
    _kernels["choice"], _kernels["module"] = name, None


def _kernel_choice():
    if _kernels["choice"] is None:
        env = __import__("os").environ.get("SHENDU_KERNELS", "auto").strip().lower() or "auto"
        if env not in KERNEL_CHOICES:
            import warnings
            warnings.warn(f"SHENDU_KERNELS={env!r} is not one of {KERNEL_CHOICES}; using 'auto'", RuntimeWarning)
            env = "auto"
        _kernels["choice"] = env
    return _kernels["choice"]


def fast_kernels():
    """The oneDNN kernel module (:mod:`shendu.backends.onednn_kernels`) when that path is chosen and
    the library loads, else None (the op runs its NumPy code). Each of its kernels may still answer
    None for a configuration it does not run; the op then falls back for that call."""
    module = _kernels["module"]
    if module is None:
        module = False
        if _kernel_choice() != "numpy":
            from .backends import onednn, onednn_kernels  # lazy: loads libdnnl on first use only
            module = onednn_kernels if onednn.available() else False
        _kernels["module"] = module
    return module or None


def get_kernels():
    """The kernels that run now: ``'onednn'`` or ``'numpy'``."""
    return "numpy" if fast_kernels() is None else "onednn"


class use_kernels:
    """``with use_kernels('numpy'):`` runs the block on those kernels, then restores the previous choice."""

    def __init__(self, name):
        if name not in KERNEL_CHOICES:
            raise ValueError(f"use_kernels: expected one of {KERNEL_CHOICES}, got {name!r}")
        self.name = name

    def __enter__(self):
        self.saved = _kernel_choice()
        set_kernels(self.name)
        return self

    def __exit__(self, *exc):
        set_kernels(self.saved)
        return False


# --- training: run a block of code on another generator
class use_rng:
    """Within ``with use_rng(generator):`` every draw of the library (initialisers, dropout,
    shuffling…) comes from ``generator`` instead of the generator :func:`manual_seed` seeds;
    the library generator, untouched, is back after the block.

    ``generator`` is a ``numpy.random.Generator`` (or any object with the methods the
    initialisers call: ``uniform``, ``normal``, ``standard_normal``, ``random``, ``integers``).
    A :func:`manual_seed` inside the block seeds a new generator that lasts until the block ends.

    Example:
        >>> g = numpy.random.default_rng(0)
        >>> with use_rng(g):
        ...     w = rng().random()          # drawn from g
    """

    def __init__(self, generator):
        self.generator = generator

    def __enter__(self):
        global _rng
        self.saved, _rng = _rng, self.generator
        return self.generator

    def __exit__(self, *exc):
        global _rng
        _rng = self.saved
        return False
