"""``shendu.backends.cudnn``: the flags PyTorch scripts set, as plain attributes.

shendu has no cuDNN path: ``benchmark`` and ``deterministic`` are stored and
read back but change nothing (shendu's kernels are deterministic).
"""

#: Autotune convolution algorithms (accepted, no effect).
benchmark = False
#: Pick deterministic algorithms only (accepted; shendu's kernels always are).
deterministic = False
#: Whether cuDNN may be used (accepted, no effect).
enabled = True


def is_available() -> bool:
    """False: shendu calls no cuDNN."""
    return False


def version():
    """None: no cuDNN is loaded."""
    return None


