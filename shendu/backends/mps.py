"""``shendu.backends.mps``: Apple's Metal backend, which shendu does not have."""


def is_available() -> bool:
    """False: shendu has no Metal (MPS) backend."""
    return False


def is_built() -> bool:
    """False: shendu has no Metal (MPS) backend."""
    return False
