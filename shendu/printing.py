"""How tensors print: PyTorch's print options, plus a statistics summary instead of the numbers.

``set_printoptions`` takes PyTorch's keywords with PyTorch's meaning::

    precision   digits after the decimal point (default 4)
    threshold   more elements than this print summarised with "..." (default 1000)
    edgeitems   items kept at each end of a summarised dimension (default 3)
    linewidth   characters per line before wrapping (default 80)
    profile     a preset applied before the other keywords: "default", "short"
                (precision 2, edgeitems 2) or "full" (threshold inf)
    sci_mode    True: scientific notation; False: never; None: NumPy decides

and one of shendu's own: ``stats=True`` prints every tensor as a one-line summary
(shape, dtype, device, min/max/mean/std of its finite elements, NaN and Inf counts)
— what :meth:`shendu.Tensor.describe` returns for one tensor.
"""
from __future__ import annotations

import contextlib
import math

from .backend import xp

_DEFAULTS = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80, "sci_mode": None, "stats": False}
_PROFILES = {"default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
             "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
             "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3, "linewidth": 80}}
_options = dict(_DEFAULTS)


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None,
                     stats=None):
    """Set how tensors print (module docstring); arguments left as None keep their current value,
    except ``sci_mode``, which (as in PyTorch) is set to whatever is passed.

    Example:
        >>> shendu.set_printoptions(stats=True)
        >>> shendu.tensor([[1.0, float("nan")], [3.0, 5.0]])
        tensor(shape=(2, 2), dtype=float32, device=cpu, min=1, max=5, mean=3, std=1.633, nan=1, inf=0)
        >>> shendu.set_printoptions(profile="default", stats=False)
    """
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: profile must be one of {sorted(_PROFILES)}, got {profile!r}")
        _options.update(_PROFILES[profile])
    for name, value in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems),
                        ("linewidth", linewidth)):
        if value is not None:
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise ValueError(f"set_printoptions: {name} must be a non-negative number, got {value!r}")
            _options[name] = value
    _options["sci_mode"] = None if sci_mode is None else bool(sci_mode)
    if stats is not None:
        _options["stats"] = bool(stats)


def get_printoptions():
    """The current print options (a new dict with the keywords of :func:`set_printoptions` but ``profile``)."""
    return dict(_options)


@contextlib.contextmanager
def printoptions(**kwargs):
    """Set print options inside a ``with`` block and restore the previous ones after it."""
    saved = dict(_options)
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        _options.clear()
        _options.update(saved)


def format_array(array, prefix):
    """The numbers of ``array`` as ``numpy.array2string`` writes them under the current options."""
    o = _options
    kwargs = {"separator": ", ", "prefix": prefix, "precision": o["precision"], "edgeitems": o["edgeitems"],
              "threshold": o["threshold"] if o["threshold"] != math.inf else xp.iinfo(xp.int64).max,
              "max_line_width": o["linewidth"]}
    if o["sci_mode"] is True and array.dtype.kind in "fc":
        kwargs["formatter"] = {"float_kind": lambda v: f"{v: .{o['precision']}e}"}
    elif o["sci_mode"] is False:
        kwargs["suppress_small"] = True
        kwargs["floatmode"] = "fixed"
    return xp.array2string(array, **kwargs)


def tensor_stats(array):
    """``{"min", "max", "mean", "std", "nan", "inf"}`` of an array: the statistics of its finite
    elements (None when there are none) and the counts of NaN and ±Inf elements."""
    a = xp.asarray(array)
    if a.dtype.kind == "b":
        a = a.astype(xp.int64)
    if a.dtype.kind in "fc":
        nan, inf = int(xp.isnan(a).sum()), int(xp.isinf(a).sum())
        a = a[xp.isfinite(a)]
    else:
        nan = inf = 0
    if a.size == 0:
        return {"min": None, "max": None, "mean": None, "std": None, "nan": nan, "inf": inf}
    a64 = a.astype(xp.float64)
    return {"min": a.min().item(), "max": a.max().item(), "mean": float(a64.mean()), "std": float(a64.std()),
            "nan": nan, "inf": inf}


def describe_array(array, device):
    """``shape=(…), dtype=…, device=…, min=…, max=…, mean=…, std=…, nan=…, inf=…`` for one array.

    The standard deviation is the population one, √(Σ(x − mean)² / n), over the finite elements."""
    s = tensor_stats(array)
    p = _options["precision"]
    fmt = lambda v: "None" if v is None else f"{v:.{p}g}"  # noqa: E731
    parts = [f"shape={tuple(int(d) for d in array.shape)}", f"dtype={array.dtype}", f"device={device}"]
    parts += [f"{k}={fmt(s[k])}" for k in ("min", "max", "mean", "std")]
    parts += [f"nan={s['nan']}", f"inf={s['inf']}"]
    return ", ".join(parts)


def stats_enabled():
    """Whether ``set_printoptions(stats=True)`` is in force."""
    return _options["stats"]


__all__ = ["set_printoptions", "get_printoptions", "printoptions"]
