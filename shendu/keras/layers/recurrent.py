"""SimpleRNN, LSTM and GRU with Keras's weights, defaults and outputs, run by shendu's fused
recurrences (``shendu.functional.rnn`` / ``lstm`` / ``gru``).

Keras's layout: kernel (D, G·U), recurrent_kernel (U, G·U), one bias (G·U,) — for the
GRU (reset_after=True, Keras's default) a (2, 3·U) bias: input and recurrent. Gate
order: LSTM (i, f, c, o) — PyTorch's (i, f, g, o) —, GRU (z, r, h), reordered to
PyTorch's (r, z, n) on the way in. Equations (σ = sigmoid):

    LSTM  i, f, o = σ(x W_· + h U_· + b_·),  c̃ = tanh(x W_c + h U_c + b_c)
          c_t = f ⊙ c_{t−1} + i ⊙ c̃,  h_t = o ⊙ tanh(c_t)
    GRU   z, r = σ(x W_· + b_· + h U_· + b'_·),  h̃ = tanh(x W_h + b_h + r ⊙ (h U_h + b'_h))
          h_t = z ⊙ h_{t−1} + (1 − z) ⊙ h̃
    RNN   h_t = act(x W + h U + b)

Defaults: kernel Glorot uniform, recurrent kernel orthogonal, bias zeros with the
LSTM's forget-gate bias 1 (``unit_forget_bias``). Outputs: the last h (N, U), or
every h (N, T, U) with ``return_sequences``; with ``return_state`` also the final
states ([output, h, c] for the LSTM). ``dropout`` masks the inputs with one mask
for every step (Keras's); ``go_backwards`` reads the sequence from the end and
returns the outputs in that (reversed) order.
"""
from __future__ import annotations

from ... import functional as F
from ...ops import cat
from ...tensor import ones, zeros
from .. import initializers
from ..errors import unsupported
from .base import Layer


class _RNN(Layer):
    gates, mode = 1, "RNN"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 dropout=0.0, recurrent_dropout=0.0, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, reset_after=True, seed=None, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        if not isinstance(units, int) or units <= 0:
            raise ValueError(f"Received an invalid value for argument `units`, expected a positive integer, got "
                             f"{units!r} ({owner})")
        if stateful:
            raise unsupported(f"{owner}(stateful=True)", "pass initial_state= to each call (and return_state=True)")
        if recurrent_dropout:
            raise unsupported(f"{owner}(recurrent_dropout=…)",
                              "use dropout= (one input mask for every step) or a Dropout layer after the layer")
        if not reset_after and self.mode == "GRU":
            raise unsupported("GRU(reset_after=False)", "use reset_after=True (Keras 3's default, PyTorch's GRU)")
        if self.mode == "RNN":
            if activation not in ("tanh", "relu"):
                raise unsupported(f"SimpleRNN(activation={activation!r})", "use activation='tanh' or 'relu'")
        elif activation != "tanh" or recurrent_activation != "sigmoid":
            raise unsupported(f"{owner}(activation={activation!r}, recurrent_activation={recurrent_activation!r})",
                              "use the defaults activation='tanh', recurrent_activation='sigmoid'")
        self.units, self.activation, self.use_bias = units, activation, use_bias
        self.inits = (kernel_initializer, recurrent_initializer, bias_initializer)
        self.regs = (kernel_regularizer, recurrent_regularizer, bias_regularizer)
        self.unit_forget_bias = unit_forget_bias
        self.dropout, self.return_sequences, self.return_state = float(dropout), return_sequences, return_state
        self.go_backwards = go_backwards
        self._pending()

    def build(self, input_shape):
        if input_shape is None or len(input_shape) != 3:
            raise ValueError(f"Input 0 of layer \"{self.name}\" is incompatible with the layer: expected ndim=3, "
                             f"found ndim={None if input_shape is None else len(input_shape)}. Full shape received: "
                             f"{input_shape} ({type(self).__name__} takes (batch, timesteps, features))")
        g, u = self.gates, self.units
        self.add_weight("kernel", (input_shape[-1], g * u), self.inits[0], regularizer=self.regs[0])
        self.add_weight("recurrent_kernel", (u, g * u), self.inits[1], regularizer=self.regs[1])
        if self.use_bias:
            shape = (2, g * u) if self.mode == "GRU" else (g * u,)
            init = self.inits[2]
            if self.mode == "LSTM" and self.unit_forget_bias:
                base = initializers.get(init)

                def init(shape, dtype=None):
                    b = base(shape, dtype)
                    b[u:2 * u] = 1.0
                    return b
            self.add_weight("bias", shape, init, regularizer=self.regs[2])

    def _weights(self):
        """The kernels and biases in PyTorch's layout and gate order."""
        k, r = self.kernel.T, self.recurrent_kernel.T
        if not self.use_bias:
            return [k, r]
        if self.mode == "GRU":
            return [k, r, self.bias[0], self.bias[1]]
        return [k, r, self.bias, zeros(self.bias.shape[0], dtype=self.bias.dtype)]

    def call(self, inputs, initial_state=None, training=None, mask=None):
        if mask is not None:
            raise unsupported(f"{type(self).__name__}(mask=…)", "use equal-length sequences (pad them)")
        if inputs.ndim != 3 or inputs.shape[-1] != self.kernel.shape[0]:
            raise ValueError(f"Input 0 of layer \"{self.name}\" is incompatible with the layer: expected shape "
                             f"(batch, timesteps, {self.kernel.shape[0]}), received input with shape "
                             f"{tuple(inputs.shape)}")
        x = inputs.flip(1) if self.go_backwards else inputs
        if training and self.dropout:
            x = x * F.dropout(ones(x.shape[0], 1, x.shape[2], dtype=x.dtype), self.dropout, training=True)
        hx = None
        if initial_state is not None:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
            states = [s.unsqueeze(0) for s in states]
            hx = tuple(states) if self.mode == "LSTM" else states[0]
        weights = self._weights()
        if self.mode == "GRU":
            u = self.units
            weights = [_zrh_to_rzn(w, u) for w in weights]
        if self.mode == "LSTM":
            y, (h, c) = F.lstm(x, hx, weights, batch_first=True)
            states = [h[0], c[0]]
        elif self.mode == "GRU":
            y, h = F.gru(x, hx, weights, batch_first=True)
            states = [h[0]]
        else:
            y, h = F.rnn(x, hx, weights, nonlinearity=self.activation, batch_first=True)
            states = [h[0]]
        out = y if self.return_sequences else y[:, -1]
        return [out, *states] if self.return_state else out


def _zrh_to_rzn(w, u):
    """Keras's GRU gate blocks (z, r, h) along axis 0 → PyTorch's (r, z, n)."""
    return cat([w[u:2 * u], w[:u], w[2 * u:]], axis=0)


class SimpleRNN(_RNN):
    """h_t = activation(x_t W + h_{t−1} U + b) (tanh, or relu)."""


class LSTM(_RNN):
    """Long short-term memory (Hochreiter & Schmidhuber 1997), Keras's weights and defaults."""

    gates, mode = 4, "LSTM"


class GRU(_RNN):
    """Gated recurrent unit (Cho et al. 2014), reset gate after the recurrent matmul (Keras 3's default)."""

    gates, mode = 3, "GRU"
