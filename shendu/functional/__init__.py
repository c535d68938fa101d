"""The stateless functional layer: every op, activation, loss, convolution…

Names and option names follow ``torch.nn.functional`` wherever PyTorch has
the same function, so that code moves between the two. Layers in
:mod:`shendu.nn` are thin stateful wrappers over these functions.
"""
from ..ops import *  # noqa: F401,F403
from ..ops import abs, max, min, pow, sum  # noqa: F401
# Each family below adds its public names here (one import line per module).
