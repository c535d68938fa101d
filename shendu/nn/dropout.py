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
