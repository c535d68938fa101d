"""Bidirectional and TimeDistributed: layers that run another layer."""
from __future__ import annotations

from ...ops import cat
from ..errors import unsupported
from .base import Layer


def _clone(layer, **changes):
    """A fresh layer of ``layer``'s class and constructor arguments, with ``changes``."""
    cls, args, kwargs = layer.__dict__["_init_call"]
    kwargs = {k: v for k, v in kwargs.items() if k != "build_input_shape"}
    kwargs.update(changes)
    return cls(*args, **kwargs)


def _rename(layer, name):
    object.__setattr__(layer, "name", name)
    call = layer.__dict__.get("_init_call")
    if call is not None:
        call[2]["name"] = name


class Bidirectional(Layer):
    """Runs ``layer`` forwards and a copy of it backwards (``go_backwards`` flipped) and merges
    the outputs: ``merge_mode`` 'concat' (default, last axis), 'sum', 'mul', 'ave' or None (a
    list). With ``return_sequences`` the backward outputs are put back in time order first.
    With ``return_state``: [output, *forward states, *backward states]."""

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        super().__init__(**kwargs)
        if merge_mode not in ("concat", "sum", "mul", "ave", None):
            raise ValueError(f"Invalid merge mode. Received: {merge_mode}. Merge mode should be one of "
                             f"{{'sum', 'mul', 'ave', 'concat', None}}")
        if not hasattr(layer, "go_backwards"):
            raise ValueError(f"Bidirectional: expected a recurrent layer (SimpleRNN, LSTM, GRU), got "
                             f"{type(layer).__name__}")
        if not layer.name.startswith("forward_"):
            _rename(layer, "forward_" + layer.name)
        self.forward_layer = layer
        if backward_layer is None:
            backward_layer = _clone(layer, go_backwards=not layer.go_backwards,
                                    name="backward_" + layer.name[len("forward_"):])
        self.backward_layer = backward_layer
        self.merge_mode = merge_mode
        self.return_sequences, self.return_state = layer.return_sequences, layer.return_state
        if weights is not None:
            raise unsupported("Bidirectional(weights=…)", "call set_weights() after building")
        self._pending()

    def build(self, input_shape):
        self.forward_layer.maybe_build(input_shape)
        self.backward_layer.maybe_build(input_shape)

    def call(self, inputs, training=None, initial_state=None):
        if initial_state is not None:
            raise unsupported("Bidirectional(initial_state=…)", "run two layers (one with go_backwards=True)")
        fwd = self.forward_layer(inputs, training=training)
        bwd = self.backward_layer(inputs, training=training)
        fwd_states, bwd_states = [], []
        if self.return_state:
            fwd, *fwd_states = fwd
            bwd, *bwd_states = bwd
        if self.return_sequences:
            bwd = bwd.flip(1)
        if self.merge_mode == "concat":
            out = cat([fwd, bwd], axis=-1)
        elif self.merge_mode == "sum":
            out = fwd + bwd
        elif self.merge_mode == "mul":
            out = fwd * bwd
        elif self.merge_mode == "ave":
            out = (fwd + bwd) * 0.5
        else:
            out = [fwd, bwd]
        if self.return_state:
            return [*(out if isinstance(out, list) else [out]), *fwd_states, *bwd_states]
        return out


class TimeDistributed(Layer):
    """Applies ``layer`` to every step: (N, T, …) → (N·T, …) → layer → (N, T, …)."""

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise ValueError(f"Please initialize `TimeDistributed` layer with a `keras.layers.Layer` instance. "
                             f"Received: {layer}")
        self.layer = layer
        self._pending()

    def build(self, input_shape):
        if input_shape is None or len(input_shape) < 3:
            raise ValueError(f"`TimeDistributed` Layer should be passed an `input_shape` with at least 3 "
                             f"dimensions, received: {input_shape}")
        self.layer.maybe_build((None, *input_shape[2:]))

    def call(self, inputs, training=None):
        n, t = inputs.shape[:2]
        y = self.layer(inputs.reshape(n * t, *inputs.shape[2:]), training=training)
        return y.reshape(n, t, *y.shape[1:])



