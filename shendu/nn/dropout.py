"""``Dropout``: zero random elements in training (inverted dropout), identity in evaluation."""
from __future__ import annotations

from .. import functional as F
from .module import Module


class Dropout(Module):
    """Inverted dropout (Srivastava et al. 2014): in training, y = x·m/(1 − p), m ~ Bernoulli(1 − p).

    Each element is zeroed with probability ``p`` and the survivors are scaled
    by 1/(1 − p), so E[y] = x and evaluation is the identity (``model.eval()``).
    The masks come from the generator that ``shendu.manual_seed`` seeds.

    Args:
        p: drop probability in [0, 1] (default 0.5).

    Shape: input (*) -> output (*), the same.

    Example:
        >>> drop = nn.Dropout(0.2)
        >>> y = drop(shendu.ones(4, 5))     # entries 0 or 1.25
        >>> drop.eval()(shendu.ones(3))     # the identity in evaluation
        tensor([1., 1., 1.])
    """

    def __init__(self, p=0.5):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: p must be a probability in [0, 1], received p={p}")
        self.p = float(p)

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"


# --- nn-funcs: channel-wise dropout layers
class Dropout1d(Dropout):
    """Channel-wise dropout of (N, C, L) (``torch.nn.Dropout1d``): whole channels zeroed with probability p,
    the others scaled by 1/(1 − p); the identity in evaluation.

    Args:
        p: drop probability (default 0.5).  inplace: accepted, ignored.
    """

    _fn = staticmethod(F.dropout1d)

    def __init__(self, p=0.5, inplace=False):
        super().__init__(p)
        self.inplace = inplace

    def forward(self, x):
        return type(self)._fn(x, self.p, self.training)


class Dropout2d(Dropout1d):
    """Channel-wise dropout of (N, C, H, W) (``torch.nn.Dropout2d``, Tompson et al. 2015): whole feature maps
    zeroed with probability p, the others scaled by 1/(1 − p); the identity in evaluation.

    Args:
        p: drop probability (default 0.5).  inplace: accepted, ignored.

    Example:
        >>> drop = nn.Dropout2d(0.5)
        >>> drop(shendu.ones(2, 4, 3, 3)).shape
        (2, 4, 3, 3)
    """

    _fn = staticmethod(F.dropout2d)


class Dropout3d(Dropout1d):
    """Channel-wise dropout of (N, C, D, H, W) (``torch.nn.Dropout3d``); see :class:`Dropout2d`."""

    _fn = staticmethod(F.dropout3d)
