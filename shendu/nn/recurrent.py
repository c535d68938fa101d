"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` over whole sequences and ``RNNCell``,
``LSTMCell``, ``GRUCell`` for hand-written loops (PyTorch's names, arguments,
parameter names, shapes, gate order and initialisation, so state dicts move
between the two).

The equations, the BPTT formulas and the fused implementation are in
:mod:`shendu.functional.recurrent`; docs/rnn.md explains them.
"""
from __future__ import annotations

import math

from .. import functional as F
from ..checks import int_arg
from ..tensor import Tensor, empty
from . import init
from .module import Module, Parameter

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


class RNNBase(Module):
    """The stack shared by :class:`RNN`, :class:`LSTM` and :class:`GRU` (``mode`` picks the cell).

    Parameters, for layer k and direction suffix ``""`` or ``"_reverse"``:
    ``weight_ih_l{k}{suffix}`` (G·H, H_in of the layer), ``weight_hh_l{k}{suffix}`` (G·H, H),
    ``bias_ih_l{k}{suffix}``, ``bias_hh_l{k}{suffix}`` (G·H,), with G = 1 (RNN), 4 (LSTM), 3 (GRU);
    layer 0 takes H_in = input_size, later layers D·H. All are initialised U(−1/√H, 1/√H).
    """

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False):
        super().__init__()
        name = type(self).__name__
        if mode not in _GATES:
            raise ValueError(f"{name}: unknown mode {mode!r}; expected one of {sorted(_GATES)}")
        for arg, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            int_arg(name, arg, value)
        if not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout must be a probability in [0, 1], received dropout={dropout}")
        self.mode = mode
        self.input_size, self.hidden_size, self.num_layers = int(input_size), int(hidden_size), int(num_layers)
        self.bias, self.batch_first, self.bidirectional = bool(bias), bool(batch_first), bool(bidirectional)
        self.dropout = float(dropout)
        G, H = _GATES[mode], self.hidden_size
        D = 2 if self.bidirectional else 1
        names = []
        for layer in range(self.num_layers):
            n_in = self.input_size if layer == 0 else D * H
            for suffix in ("", "_reverse")[:D]:
                shapes = [(f"weight_ih_l{layer}{suffix}", (G * H, n_in)), (f"weight_hh_l{layer}{suffix}", (G * H, H))]
                if self.bias:
                    shapes += [(f"bias_ih_l{layer}{suffix}", (G * H,)), (f"bias_hh_l{layer}{suffix}", (G * H,))]
                for pname, shape in shapes:
                    setattr(self, pname, Parameter(empty(*shape)))
                    names.append(pname)
        object.__setattr__(self, "_flat_weights_names", names)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's default: every weight and bias ~ U(−1/√hidden_size, 1/√hidden_size)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    @property
    def _flat_weights(self):
        """The parameters in PyTorch's order: per layer, per direction, W_ih, W_hh[, b_ih, b_hh]."""
        return [getattr(self, n) for n in self._flat_weights_names]

    def forward(self, input, hx=None, lengths=None):
        """Run the stack over ``input``; see the class docstring for shapes.

        ``lengths`` (N,) gives each sequence's valid length in a padded batch, each in [1, L].
        """
        if lengths is not None:
            _check_lengths(type(self).__name__, lengths, input.shape[1 if self.batch_first and input.ndim == 3 else 0])
        w = self._flat_weights
        kw = dict(num_layers=self.num_layers, bidirectional=self.bidirectional, batch_first=self.batch_first,
                  dropout=self.dropout, training=self.training, lengths=lengths)
        if self.mode == "LSTM":
            return F.lstm(input, hx, w, **kw)
        if self.mode == "GRU":
            return F.gru(input, hx, w, **kw)
        return F.rnn(input, hx, w, nonlinearity="relu" if self.mode == "RNN_RELU" else "tanh", **kw)

    def macs(self, inputs, output):
        """Per step and sequence, each layer and direction multiplies G·H × (H_in + H): L·N·Σ G·H·(H_in + H)."""
        x = inputs[0]
        steps = x.shape[0] * (x.shape[1] if x.ndim == 3 else 1)
        G, H, D = _GATES[self.mode], self.hidden_size, 2 if self.bidirectional else 1
        per_step = sum(D * G * H * ((self.input_size if layer == 0 else D * H) + H) for layer in range(self.num_layers))
        return steps * per_step

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.mode == "RNN_RELU":
            s += ", nonlinearity='relu'"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


def _check_lengths(name, lengths, steps):
    """Refuse lengths outside [1, steps] as PyTorch's pack_padded_sequence does (they used to be clipped)."""
    data = lengths.data if isinstance(lengths, Tensor) else lengths
    values = data.tolist() if hasattr(data, "tolist") else list(data)
    values = values if isinstance(values, list) else [values]
    lo, hi = (min(values), max(values)) if values else (1, 1)
    if lo < 1 or hi > steps:
        raise ValueError(f"{name}: lengths must be in [1, {steps}] (the sequence has {steps} steps), "
                         f"got lengths from {lo} to {hi}")


_SHAPES = """
    Shape (L steps, N sequences, D = 2 if bidirectional else 1):
        input (L, N, input_size), or (N, L, input_size) with batch_first, or (L, input_size) unbatched
        -> output (L, N, D·hidden_size) (batch_first: (N, L, D·hidden_size)), the last layer's h_t at every
        step (both directions side by side), zero at padded steps when ``lengths`` is given;
        states (num_layers·D, N, hidden_size), ordered layer by layer, forward then reverse.
"""


class RNN(RNNBase):
    """Elman RNN stack: h_t = act(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh), act = tanh or relu.

    Args:
        input_size: features of x_t.  hidden_size: H, the features of h_t.
        num_layers: stacked layers (default 1); layer k > 0 reads layer k − 1's outputs.
        nonlinearity: ``'tanh'`` (default) or ``'relu'``.
        bias: learn b_ih and b_hh (default True).
        batch_first: input and output are (N, L, features) (default False: (L, N, features)).
        dropout: dropout probability on the outputs of every layer but the last, in training (default 0).
        bidirectional: add a layer running backwards in time and concatenate (default False).

    Call: ``rnn(input, hx=None, lengths=None) -> (output, h_n)``; hx (num_layers·D, N, H) defaults to zeros.
    {shapes}
    Example:
        >>> rnn = nn.RNN(10, 20, num_layers=2)
        >>> output, h_n = rnn(shendu.randn(5, 3, 10))
        >>> output.shape, h_n.shape
        ((5, 3, 20), (2, 3, 20))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', received nonlinearity={nonlinearity!r}")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size,
                         num_layers, bias, batch_first, dropout, bidirectional)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory stack (Hochreiter & Schmidhuber 1997; gate order i, f, g, o as PyTorch):

        f_t = σ(W_f·[h_{t−1}, x_t] + b_f)        forget gate
        i_t = σ(W_i·[h_{t−1}, x_t] + b_i)        input gate
        c̃_t = tanh(W_c·[h_{t−1}, x_t] + b_c)     candidate (PyTorch's g)
        c_t = f_t ⊙ c_{t−1} + i_t ⊙ c̃_t
        o_t = σ(W_o·[h_{t−1}, x_t] + b_o)        output gate
        h_t = o_t ⊙ tanh(c_t)

    where W·[h, x] = W_hh h + W_ih x and b = b_ih + b_hh in PyTorch's split of the weights.

    Args: as :class:`RNN` without ``nonlinearity`` (input_size, hidden_size, num_layers=1, bias=True,
    batch_first=False, dropout=0.0, bidirectional=False).

    Call: ``lstm(input, hx=None, lengths=None) -> (output, (h_n, c_n))``; hx = (h_0, c_0) each
    (num_layers·D, N, H), zeros by default.
    {shapes}
    Example:
        >>> lstm = nn.LSTM(10, 20, batch_first=True, bidirectional=True)
        >>> output, (h_n, c_n) = lstm(shendu.randn(3, 5, 10), lengths=[5, 2, 4])
        >>> output.shape, h_n.shape
        ((3, 5, 40), (2, 3, 20))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional)


class GRU(RNNBase):
    """Gated recurrent unit stack (Cho et al. 2014; gate order r, z, n as PyTorch):

        r_t = σ(W_ir x_t + b_ir + W_hr h_{t−1} + b_hr)            reset gate
        z_t = σ(W_iz x_t + b_iz + W_hz h_{t−1} + b_hz)            update gate
        n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t−1} + b_hn))
        h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}

    Args: as :class:`LSTM`.

    Call: ``gru(input, hx=None, lengths=None) -> (output, h_n)``.
    {shapes}
    Example:
        >>> gru = nn.GRU(10, 20)
        >>> output, h_n = gru(shendu.randn(5, 3, 10))
        >>> output.shape, h_n.shape
        ((5, 3, 20), (1, 3, 20))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional)


for _cls in (RNN, LSTM, GRU):
    _cls.__doc__ = _cls.__doc__.replace("{shapes}", _SHAPES)


# ---------------------------------------------------------------- cells
class RNNCellBase(Module):
    """One step of a recurrent layer: parameters ``weight_ih`` (G·H, input_size), ``weight_hh`` (G·H, H),
    ``bias_ih``, ``bias_hh`` (G·H,), initialised U(−1/√H, 1/√H)."""

    gates = 1

    def __init__(self, input_size, hidden_size, bias=True):
        super().__init__()
        name = type(self).__name__
        for arg, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if int(value) != value or value < 1:
                raise ValueError(f"{name}: {arg} must be a positive integer, received {arg}={value!r}")
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        G, H = self.gates, self.hidden_size
        self.weight_ih = Parameter(empty(G * H, self.input_size))
        self.weight_hh = Parameter(empty(G * H, H))
        if bias:
            self.bias_ih = Parameter(empty(G * H))
            self.bias_hh = Parameter(empty(G * H))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's default: every weight and bias ~ U(−1/√hidden_size, 1/√hidden_size)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _weights(self):
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh

    def macs(self, inputs, output):
        """G·H·(input_size + H) per sequence."""
        x = inputs[0]
        n = x.shape[0] if x.ndim == 2 else 1
        return n * self.gates * self.hidden_size * (self.input_size + self.hidden_size)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias_ih is None:
            s += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity!r}"
        return s


class RNNCell(RNNCellBase):
    """One Elman RNN step: h' = act(W_ih x + b_ih + W_hh h + b_hh), act = tanh or relu.

    Args: input_size, hidden_size, bias=True, nonlinearity='tanh'.

    Shape: input (N, input_size) or (input_size,), hx (N, H) or None (zeros) -> h' (N, H).

    Example:
        >>> cell = nn.RNNCell(10, 20)
        >>> h = None
        >>> for x_t in shendu.randn(6, 3, 10):     # a hand-written loop over 6 steps
        ...     h = cell(x_t, h)
        >>> h.shape
        (3, 20)
    """

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh"):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', received nonlinearity={nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        return F.rnn_cell(input, hx, *self._weights(), nonlinearity=self.nonlinearity)


class LSTMCell(RNNCellBase):
    """One LSTM step: (h', c') from x and (h, c); gates i, f, g, o in the rows of the weights.

        i = σ(W_ii x + b_ii + W_hi h + b_hi),  f = σ(…),  g = tanh(…),  o = σ(…)
        c' = f ⊙ c + i ⊙ g,   h' = o ⊙ tanh(c')

    Args: input_size, hidden_size, bias=True.

    Shape: input (N, input_size) or (input_size,), hx = (h, c) each (N, H), or None -> (h', c').

    Example:
        >>> cell = nn.LSTMCell(10, 20)
        >>> state = None
        >>> for x_t in shendu.randn(6, 3, 10):
        ...     state = cell(x_t, state)
        >>> h, c = state
    """

    gates = 4

    def forward(self, input, hx=None):
        return F.lstm_cell(input, hx, *self._weights())


class GRUCell(RNNCellBase):
    """One GRU step: gates r, z, n in the rows of the weights.

        r = σ(W_ir x + b_ir + W_hr h + b_hr),  z = σ(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),   h' = (1 − z) ⊙ n + z ⊙ h

    Args: input_size, hidden_size, bias=True.

    Shape: input (N, input_size) or (input_size,), hx (N, H) or None -> h' (N, H).

    Example:
        >>> cell = nn.GRUCell(10, 20)
        >>> h = cell(shendu.randn(3, 10))
    """

    gates = 3

    def forward(self, input, hx=None):
        return F.gru_cell(input, hx, *self._weights())


__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]
