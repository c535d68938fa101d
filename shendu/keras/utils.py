"""``keras.utils``: to_categorical, normalize, set_random_seed, plot-free helpers."""
from __future__ import annotations

from .. import backend
from ..backend import xp


def to_categorical(x, num_classes=None):
    """One-hot rows: class indices (N,) (or (N, 1)) → (N, num_classes) float32; ``num_classes``
    defaults to max(x) + 1."""
    x = xp.asarray(x)
    if x.ndim > 1 and x.shape[-1] == 1:
        x = x.reshape(x.shape[:-1])
    if x.dtype.kind == "f":
        if not (x == xp.round(x)).all():
            raise ValueError("to_categorical: expected integer class indices, got non-integer values")
    x = x.astype(xp.int64)
    if x.size and x.min() < 0:
        raise ValueError(f"to_categorical: class indices must be >= 0, got {x.min()}")
    n = int(x.max()) + 1 if num_classes is None else int(num_classes)
    if x.size and x.max() >= n:
        raise ValueError(f"to_categorical: class index {x.max()} is not < num_classes={n}")
    return xp.eye(n, dtype=xp.float32)[x]


def normalize(x, axis=-1, order=2):
    """x / ‖x‖_order along ``axis`` (zero vectors stay zero)."""
    x = xp.asarray(x, dtype=xp.float32)
    norm = xp.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    return xp.divide(x, norm, out=xp.zeros_like(x), where=norm > 0)


def set_random_seed(seed):
    """Seed shendu's generator (weights, dropout, shuffling) and NumPy's global one."""
    backend.manual_seed(int(seed))
    xp.random.seed(int(seed))


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0):
    """Lists of ids → an (N, maxlen) array, padded and truncated at the start ('pre') or end ('post')."""
    lengths = [len(s) for s in sequences]
    maxlen = max(lengths, default=0) if maxlen is None else int(maxlen)
    out = xp.full((len(sequences), maxlen), value, dtype=dtype)
    for i, s in enumerate(sequences):
        s = list(s)[-maxlen:] if truncating == "pre" else list(s)[:maxlen]
        if not s:
            continue
        if padding == "post":
            out[i, :len(s)] = s
        else:
            out[i, maxlen - len(s):] = s
    return out
