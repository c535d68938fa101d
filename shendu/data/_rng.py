"""Where the random numbers of :mod:`shendu.data` come from.

One rule for every data component (shuffling, splitting, augmentation, the
generated datasets): an explicit ``seed`` (int) or ``generator`` wins; without
one, the library-wide generator that :func:`shendu.manual_seed` seeds is used.
"""
from shendu import backend
from shendu.backend import xp


def generator(seed=None):
    """A NumPy ``Generator``: ``seed`` may be None (the library generator
    :func:`shendu.backend.rng`), an int or a sequence of ints (a fresh seeded
    generator), or a ``Generator`` (returned as is)."""
    if seed is None:
        return backend.rng()
    if isinstance(seed, xp.random.Generator):
        return seed
    return xp.random.default_rng(seed)


def derive_seed(gen) -> int:
    """A 63-bit seed drawn from ``gen``: how a component takes its own
    stream from a parent generator once, so that later use of the parent
    (or of other threads) does not change it."""
    return int(gen.integers(2 ** 63))
