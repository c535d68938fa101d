"""Rosenblatt's perceptron (1958): a threshold unit and its error-correcting learning rule.

    ŷ = step(w·x + b),   step(z) = 1 if z > 0 else 0

Learning, one sample at a time (no gradients; the step has none):

    w ← w + lr·(y − ŷ)·x,    b ← b + lr·(y − ŷ)

A wrong 0 (y = 1, ŷ = 0) adds x to w, a wrong 1 subtracts it; a right answer
changes nothing. If the two classes can be split by a hyperplane, the rule
reaches a separating one after finitely many mistakes (the perceptron
convergence theorem, Novikoff 1962): AND, OR and NAND are learnt. XOR is not
linearly separable: no (w, b) classifies more than 3 of its 4 points, so a
perceptron never exceeds 75% on XOR; a hidden layer is needed (Minsky & Papert 1969).
"""
from __future__ import annotations

from ..backend import xp
from ..tensor import Tensor, zeros
from .module import Module, Parameter


def _as_array(data, dtype=None):
    return xp.asarray(data.data if isinstance(data, Tensor) else data, dtype=dtype)


class Perceptron(Module):
    """A single threshold unit: ŷ = 1 if w·x + b > 0 else 0, trained by Rosenblatt's rule.

    The weights start at zero; ``fit`` runs the learning rule, ``predict``
    returns 0/1 labels. Set ``weight`` / ``bias`` by hand to build a unit
    such as NAND (w = (−2, −2), b = 3).

    Args:
        in_features: the input size.

    Shape: input (N, in_features) or (in_features,) -> output (N,) or () of 0.0 / 1.0.
    Parameters: ``weight`` (in_features,), ``bias`` () (not trained by autograd).

    Example:
        >>> p = nn.Perceptron(2)
        >>> p.fit([[0, 0], [0, 1], [1, 0], [1, 1]], [0, 0, 0, 1], epochs=20)[-1]   # AND: no mistakes left
        0
        >>> p.predict([[1, 1], [0, 1]])
        tensor([1, 0])
    """

    def __init__(self, in_features):
        super().__init__()
        self.in_features = int(in_features)
        self.weight = Parameter(zeros(self.in_features), requires_grad=False)
        self.bias = Parameter(zeros(()), requires_grad=False)

    def forward(self, x):
        """step(x·w + b) as a float tensor of 0 and 1."""
        if x.shape[-1:] != (self.in_features,):
            raise ValueError(f"Perceptron: expected input with last dimension {self.in_features}, "
                             f"got shape {tuple(x.shape)}")
        z = x.data @ self.weight.data + self.bias.data
        return Tensor._wrap((z > 0).astype(self.weight.dtype), False, None)

    def macs(self, inputs, output):
        """in_features multiply-adds per sample."""
        return inputs[0].numel()

    def predict(self, x):
        """The 0/1 labels (int64) of the rows of ``x`` (tensor, array or nested lists)."""
        out = self.forward(Tensor._wrap(_as_array(x, self.weight.dtype), False, None))
        return Tensor._wrap(out.data.astype(xp.int64), False, None)

    def score(self, x, y):
        """The fraction of rows of ``x`` whose label is ``y``."""
        return float((self.predict(x).data == _as_array(y)).mean())

    def fit(self, x, y, epochs=10, lr=1.0):
        """Rosenblatt's rule, sample by sample in order: w ← w + lr·(y − ŷ)·x, b ← b + lr·(y − ŷ).

        Stops after the first epoch without a mistake.

        Args:
            x: (N, in_features) inputs. y: (N,) targets, 0 or 1.
            epochs: the most passes over the data. lr: the learning rate.

        Returns:
            The number of mistakes in each epoch (a list; the last is 0 when it converged).
        """
        xs = _as_array(x, self.weight.dtype)
        ys = _as_array(y, self.weight.dtype).reshape(-1)
        if xs.ndim != 2 or xs.shape[1] != self.in_features or len(xs) != len(ys):
            raise ValueError(f"Perceptron.fit: expected x (N, {self.in_features}) and y (N,), "
                             f"got shapes {xs.shape} and {ys.shape}")
        w, b = self.weight.data.copy(), self.bias.data.copy()
        mistakes = []
        for _ in range(epochs):
            wrong = 0
            for xi, yi in zip(xs, ys):
                error = yi - (1.0 if xi @ w + b > 0 else 0.0)  # the historical algorithm: one sample at a time
                if error:
                    w += lr * error * xi
                    b += lr * error
                    wrong += 1
            mistakes.append(wrong)
            if wrong == 0:
                break
        self.weight.data, self.bias.data = w, b
        return mistakes

    def extra_repr(self):
        return f"in_features={self.in_features}"
