"""The playground's network and its training, as TensorFlow Playground defines them, run by shendu.

    network:  features → [Linear → activation] × hidden layers → Linear → tanh (classification)
                                                                          or identity (regression)
    loss:     E = mean over points of ½ (ŷ − y)²                 (labels ±1, or in [−1, 1])
    update:   every ``batchSize`` points of an epoch, w ← w − η · ∂E/∂w (shendu's SGD on the batch mean;
              the points left over at an epoch's end join the next epoch's first batch, as in the original)
    penalty:  after each update, on the weights (not the biases):
              L2: w ← w − η·λ·w                 (the gradient of ½λΣw²)
              L1: w ← w − η·λ·sign(w); a weight the step carries across 0 is set to 0 and stays 0
                  (TensorFlow Playground's "dead link", which is what makes L1 prune)
    init:     weights U(−½, ½) from the data's random stream, biases 0.1 (0 and 0 with initZero)

The forward and backward passes are shendu's autograd; the update is :class:`shendu.optim.SGD`.
"""
from __future__ import annotations

import math

import numpy as np

from .. import nn
from ..autograd import no_grad
from ..optim import SGD
from ..tensor import tensor

FEATURE_FUNCTIONS = {
    "x": lambda x, y: x, "y": lambda x, y: y, "xSquared": lambda x, y: x * x, "ySquared": lambda x, y: y * y,
    "xTimesY": lambda x, y: x * y, "sinX": lambda x, y: np.sin(x), "sinY": lambda x, y: np.sin(y),
}
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "linear": nn.Identity}


def features(names, x, y):
    """The input matrix (n, len(names)) of the named features at the points (x, y)."""
    return np.stack([FEATURE_FUNCTIONS[n](x, y) for n in names], axis=1)


class PlaygroundNet(nn.Module):
    """The layers of one playground network; :meth:`layer_outputs` gives every neuron's output."""

    def __init__(self, num_inputs, hidden, activation, regression, rng=None, init_zero=False):
        super().__init__()
        sizes = [num_inputs, *hidden, 1]
        self.linears = nn.ModuleList([nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])])
        self.activation = ACTIVATIONS[activation]()
        self.output = nn.Identity() if regression else nn.Tanh()
        with no_grad():
            for layer in self.linears:
                w = np.zeros(layer.weight.shape) if init_zero else \
                    np.array([[rng.random() - 0.5 for _ in range(layer.in_features)]
                              for _ in range(layer.out_features)]).reshape(layer.weight.shape)
                layer.weight.data[...] = w                       # dest node by dest node, as buildNetwork
                layer.bias.data[...] = 0.0 if init_zero else 0.1

    def layer_outputs(self, x):
        """[inputs, hidden layer 1, …, output]: each (n, width), for the neuron heat maps."""
        outs = [x]
        for i, layer in enumerate(self.linears):
            x = layer(x)
            x = self.output(x) if i == len(self.linears) - 1 else self.activation(x)
            outs.append(x)
        return outs

    def forward(self, x):
        return self.layer_outputs(x)[-1]


class Trainer:
    """One network on one dataset: :meth:`epoch` trains one pass (TensorFlow Playground's "step")."""

    def __init__(self, state, train, test, rng):
        self.state = state
        self.names = state.features()
        self.train_x = tensor(features(self.names, train[:, 0], train[:, 1]))
        self.train_y = train[:, 2:3]
        self.test_x = tensor(features(self.names, test[:, 0], test[:, 1]))
        self.test_y = test[:, 2:3]
        self.net = PlaygroundNet(len(self.names), state.networkShape, state.activation,
                                 state.problem == "regression", rng, state.initZero)
        self.optimizer = SGD(self.net.parameters(), lr=state.learningRate)
        self.dead = [np.zeros(layer.weight.shape, dtype=bool) for layer in self.net.linears]
        self.carry = np.zeros(0, dtype=np.int64)     # points of the last epoch not yet in an update
        self.epochs = 0

    def loss(self, x, y):
        """E = mean ½(ŷ − y)² (the loss the page shows), without recording a graph."""
        with no_grad():
            return float(np.mean(0.5 * (self.net(x).numpy() - y) ** 2)) if len(y) else float("nan")

    def epoch(self):
        """One pass over the training points in their fixed order; returns (train loss, test loss)."""
        n, b = len(self.train_y), self.state.batchSize
        order = np.concatenate([self.carry, np.arange(n)])
        cut = len(self.carry)
        ends = [cut + i + 1 for i in range(n) if (i + 1) % b == 0]
        start = 0
        for end in ends:
            self._update(order[start:end])
            start = end
        self.carry = order[start:]
        self.epochs += 1
        return self.losses()

    def losses(self):
        return self.loss(self.train_x, self.train_y), self.loss(self.test_x, self.test_y)

    def _update(self, rows):
        x, y = self.train_x[rows], tensor(self.train_y[rows])
        self.optimizer.zero_grad()
        loss = (0.5 * (self.net(x) - y) ** 2).mean()
        loss.backward()
        for layer, dead in zip(self.net.linears, self.dead):
            if dead.any():
                layer.weight.grad.data[dead] = 0
        self.optimizer.step()
        self._penalise()

    def _penalise(self):
        rate = self.state.learningRate * self.state.regularizationRate
        if self.state.regularization == "none" or rate == 0:
            return
        with no_grad():
            for layer, dead in zip(self.net.linears, self.dead):
                w = layer.weight.data
                if self.state.regularization == "L2":
                    w -= rate * w
                else:
                    new = w - rate * np.sign(w)
                    crossed = (w * new < 0) | dead
                    new[crossed] = 0
                    dead |= crossed
                    w[...] = new

    def grid(self, density, domain=6.0):
        """Every neuron's output on a density × density grid over [−domain, domain]² (row 0 at the top):
        a list per layer (inputs first, output last) of arrays (width, density, density)."""
        ticks = np.linspace(-domain, domain, density)
        gx, gy = np.meshgrid(ticks, ticks[::-1])
        with no_grad():
            outs = self.net.layer_outputs(tensor(features(self.names, gx.ravel(), gy.ravel())))
        return [o.numpy().T.reshape(-1, density, density) for o in outs]


def finite(value):
    """A JSON-safe float: NaN and ±inf become None (the page shows a dash)."""
    return value if math.isfinite(value) else None
