"""oneDNN's recurrent primitives for one layer in one direction: the Elman RNN, the LSTM and the GRU.

The kernels behind :class:`shendu.functional.recurrent._Recurrence` (same inputs, same outputs,
same formulas — see that module's docstring), reached through
:mod:`shendu.backends.onednn_kernels` (``rnn_forward`` / ``rnn_backward``).

oneDNN runs the whole sequence of one layer in one call: forward-training
keeps a *workspace* (the gates of every step) that the backward call reads;
forward-inference keeps none. Its conventions and how PyTorch's map onto them:

* data: x (L, N, in) as ``tnc``; the states (N, H) as ``ldnc`` (1, 1, N, H);
  outputs (L, N, H) and the final states (1, 1, N, H).
* weights: logical ``ldigo`` (layers 1, directions 1, in, gates, H). PyTorch's
  W_ih (G·H, in) lies in memory as (gates, H, in), i.e. ``ldgoi`` — the same
  numbers seen with other strides, so the user's array is described as a
  strided ``ldigo`` and reordered into the layout the primitive picks
  (``format_tag any``: packed GEMM panels), each call (weights change every
  step). The weight gradients come back through the reverse reorder.
* gate order: the LSTM's is (i, f, g, o) in both. oneDNN's GRU orders
  (u, r, o) = PyTorch's (z, r, n): the first two gate blocks are swapped
  (a copy of the weights, G·H rows) going in and the gradients coming out.
* biases: oneDNN has one bias per gate, b = b_ih + b_hh (so dL/db_ih =
  dL/db_hh = dL/db), except PyTorch's GRU, which is oneDNN's
  *linear-before-reset* GRU: n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),
  whose bias has G + 1 = 4 rows (b_z, b_r, b_in, b_hn) — b_in and b_hn stay apart.
* direction: a reverse layer is ``unidirectional_right2left`` (y_t is still
  the output at time t, the final state the one after t = 1), as shendu's.

Only float32 and no variable lengths (oneDNN has no per-sequence lengths); the
caller keeps the NumPy code for everything else.
"""
from __future__ import annotations

import ctypes

import numpy

from . import onednn as dnn

_F32 = numpy.dtype("float32")

#: cell name -> (gates G, bias rows, states S)
CELLS = {"rnn_tanh": (1, 1, 1), "rnn_relu": (1, 1, 1), "lstm": (4, 4, 2), "gru": (3, 4, 1)}
_GRU_ORDER = [1, 0, 2]  # PyTorch (r, z, n) <-> oneDNN (u = z, r, o = n): swap the first two gate blocks


def _user_weights_desc(n_in, G, H):
    """PyTorch's (G·H, n_in) C-ordered weight seen as oneDNN's ldigo (1, 1, n_in, G, H): strides of (g, o, i)."""
    whole = G * H * n_in
    return dnn.Desc((1, 1, n_in, G, H), (whole, whole, 1, H * n_in, n_in))


class _RNNPlan:
    """The forward primitive of one (cell, shapes, direction, training) configuration, the weight
    reorders into it and, for training, the backward primitive with its own reorders."""

    def __init__(self, cell, L, N, n_in, H, reverse, training):
        G, B, S = CELLS[cell]
        self.cell, self.G, self.S, self.H, self.n_in = cell, G, S, H, n_in
        self.direction = dnn.RIGHT2LEFT if reverse else dnn.LEFT2RIGHT
        plain = dnn.plain_strides
        self.src = dnn.Desc((L, N, n_in), plain((L, N, n_in)))
        self.state = dnn.Desc((1, 1, N, H), plain((1, 1, N, H)))
        self.dst = dnn.Desc((L, N, H), plain((L, N, H)))
        # a layer without biases runs with zero biases (oneDNN 3.2 rejects a missing bias descriptor)
        self.bias = dnn.Desc((1, 1, B, H), plain((1, 1, B, H)))
        self.wl_any, self.wi_any = dnn.Desc((1, 1, n_in, G, H), None), dnn.Desc((1, 1, H, G, H), None)
        self.user_wl, self.user_wi = _user_weights_desc(n_in, G, H), _user_weights_desc(H, G, H)
        prop = dnn.FORWARD_TRAINING if training else dnn.FORWARD_INFERENCE
        self.forward = dnn.Primitive(lambda attr: self._make_forward(prop, attr))
        self.fwd_reorders = self._reorders(self.forward, dnn.ARG_WEIGHTS, dnn.ARG_WEIGHTS_ITER, into=True)
        self.workspace_bytes = self.forward.size(dnn.QUERY_WORKSPACE) if training else 0
        if training:  # built now, so that a configuration whose backward oneDNN rejects falls back as a whole
            self.d_src = dnn.Desc((L, N, n_in), plain((L, N, n_in)))
            self.hint = self.forward
            self.backward = dnn.Primitive(self._make_backward)
            self.bwd_reorders = self._reorders(self.backward, dnn.ARG_WEIGHTS, dnn.ARG_WEIGHTS_ITER, into=True)
            self.grad_reorders = self._reorders(self.backward, dnn.ARG_DIFF_WEIGHTS, dnn.ARG_DIFF_WEIGHTS_ITER,
                                                into=False)

    # -------------------------------------------------------------- descriptors
    def _states(self):
        """The state descriptors in the order the calls take them: h (and c for the LSTM)."""
        return [self.state.handle] * self.S

    def _make_forward(self, prop, attr):
        lib, engine, pd = dnn.library(), dnn.engine(), dnn.Handle()
        b = self.bias.handle
        src, dst, wl, wi = self.src.handle, self.dst.handle, self.wl_any.handle, self.wi_any.handle
        if self.cell == "lstm":
            status = lib.dnnl_lstm_forward_primitive_desc_create(
                ctypes.byref(pd), engine, prop, self.direction, src, *self._states(), wl, wi, None, None, b,
                dst, *self._states(), 0, attr)
        elif self.cell == "gru":
            status = lib.dnnl_lbr_gru_forward_primitive_desc_create(
                ctypes.byref(pd), engine, prop, self.direction, src, self.state.handle, wl, wi, b, dst,
                self.state.handle, 0, attr)
        else:
            act = dnn.ELTWISE_RELU if self.cell == "rnn_relu" else dnn.ELTWISE_TANH
            status = lib.dnnl_vanilla_rnn_forward_primitive_desc_create(
                ctypes.byref(pd), engine, prop, act, self.direction, src, self.state.handle, wl, wi, b, dst,
                self.state.handle, 0, 0.0, 0.0, attr)
        dnn.check(status, f"{self.cell} forward")
        return pd

    def _make_backward(self, attr):
        lib, engine, pd = dnn.library(), dnn.engine(), dnn.Handle()
        b = self.bias.handle
        src, dst, wl, wi = self.src.handle, self.dst.handle, self.wl_any.handle, self.wi_any.handle
        d_src = self.d_src.handle
        flags = dnn.RNN_DIFF_WEIGHTS_OVERWRITE  # the gradients are written, not added to the buffers
        if self.cell == "lstm":
            st = self._states()
            status = lib.dnnl_lstm_backward_primitive_desc_create(
                ctypes.byref(pd), engine, dnn.BACKWARD, self.direction, src, *st, wl, wi, None, None, b, dst, *st,
                d_src, *st, wl, wi, None, None, b, dst, *st, flags, self.hint.pd, attr)
        elif self.cell == "gru":
            s = self.state.handle
            status = lib.dnnl_lbr_gru_backward_primitive_desc_create(
                ctypes.byref(pd), engine, dnn.BACKWARD, self.direction, src, s, wl, wi, b, dst, s,
                d_src, s, wl, wi, b, dst, s, flags, self.hint.pd, attr)
        else:
            s = self.state.handle
            act = dnn.ELTWISE_RELU if self.cell == "rnn_relu" else dnn.ELTWISE_TANH
            status = lib.dnnl_vanilla_rnn_backward_primitive_desc_create(
                ctypes.byref(pd), engine, dnn.BACKWARD, act, self.direction, src, s, wl, wi, b, dst, s,
                d_src, s, wl, wi, b, dst, s, flags, 0.0, 0.0, self.hint.pd, attr)
        dnn.check(status, f"{self.cell} backward")
        return pd

    def _reorders(self, prim, layer_arg, iter_arg, into):
        """Reorders between the user's weights and the primitive's layouts for (layer, iter) weights
        (None where they agree); ``into``: user -> primitive, else primitive -> user (the gradients)."""
        out = []
        for arg, user in ((layer_arg, self.user_wl), (iter_arg, self.user_wi)):
            chosen = prim.arg_desc(arg)
            if dnn.library().dnnl_memory_desc_equal(chosen, user.handle):
                out.append(None)
            else:
                out.append((dnn.reorder(user.handle, chosen) if into else dnn.reorder(chosen, user.handle),
                            dnn.library().dnnl_memory_desc_get_size(chosen)))
        return out


def _into(reorder, w):
    """The user's weights ``w`` in the primitive's layout (w itself when they agree)."""
    if reorder is None:
        return w
    prim, size = reorder
    out = numpy.empty(size, numpy.uint8)
    prim.execute((dnn.ARG_SRC, w), (dnn.ARG_DST, out))
    return out


def _out_of(reorder, buf, shape):
    """A weight gradient from the primitive's layout into the user's (G·H, in) array."""
    if reorder is None:
        return buf.view(_F32).reshape(shape)
    out = numpy.empty(shape, _F32)
    reorder[0].execute((dnn.ARG_SRC, buf), (dnn.ARG_DST, out))
    return out


def _gate_order(cell, w, H):
    """PyTorch's gate blocks (rows of w, or entries of a bias) in oneDNN's order (a copy for the GRU)."""
    if cell != "gru":
        return numpy.ascontiguousarray(w)
    return w.reshape(3, H, *w.shape[1:])[_GRU_ORDER].reshape(w.shape)


def _bias(cell, H, b_ih, b_hh):
    """oneDNN's bias (B, H): b_ih + b_hh per gate; the GRU's 4 rows (b_z, b_r, b_in, b_hn)."""
    if cell == "gru":
        b_ih, b_hh = b_ih.reshape(3, H), b_hh.reshape(3, H)
        out = numpy.empty((4, H), _F32)
        numpy.add(b_ih[[1, 0]], b_hh[[1, 0]], out=out[:2])
        out[2], out[3] = b_ih[2], b_hh[2]
        return out
    return (b_ih + b_hh).astype(_F32, copy=False)


class Saved:
    """What :func:`forward` (training) keeps for :func:`backward`."""

    __slots__ = ("plan", "x", "states", "w_ih", "w_hh", "bias", "y", "finals", "workspace", "has_bias")

    def __init__(self, **kw):
        for k, v in kw.items():
            setattr(self, k, v)


def _plan(cell, x, H, reverse, training):
    key = ("rnn", cell, x.shape, H, reverse, training)
    return dnn.cached(key, lambda: _RNNPlan(cell, *x.shape, H, reverse, training))


def forward(cell, x, states, w_ih, w_hh, b_ih, b_hh, reverse, training):
    """(y (L, N, H), final states each (1, N, H), saved-for-backward or None) of one layer, one direction;
    None when oneDNN declines the configuration. ``training``: keep the workspace for :func:`backward`."""
    L, N, n_in = x.shape
    H = w_hh.shape[1]
    G, _, S = CELLS[cell]
    # tnc, C-ordered: batch_first's ntc view is copied (oneDNN 3.2's backward gave wrong weight
    # gradients for a strided ntc source; the copy costs one pass over x)
    x = numpy.ascontiguousarray(x)
    plan = _plan(cell, x, H, reverse, training)
    if plan is None:
        return None
    w_ih, w_hh = _gate_order(cell, w_ih, H), _gate_order(cell, w_hh, H)
    states = [numpy.ascontiguousarray(s, dtype=_F32) for s in states]
    bias = numpy.zeros((CELLS[cell][1], H), _F32) if b_ih is None else _bias(cell, H, b_ih, b_hh)
    y = numpy.empty((L, N, H), _F32)
    finals = [numpy.empty((1, N, H), _F32) for _ in range(S)]
    args = [(dnn.ARG_SRC, x), (dnn.ARG_SRC_ITER, states[0]),
            (dnn.ARG_WEIGHTS, _into(plan.fwd_reorders[0], w_ih)), (dnn.ARG_WEIGHTS_ITER, _into(plan.fwd_reorders[1], w_hh)),
            (dnn.ARG_DST, y), (dnn.ARG_DST_ITER, finals[0])]
    if S == 2:
        args += [(dnn.ARG_SRC_ITER_C, states[1]), (dnn.ARG_DST_ITER_C, finals[1])]
    args.append((dnn.ARG_BIAS, bias))
    workspace = None
    if training:
        workspace = numpy.empty(plan.workspace_bytes, numpy.uint8)
        args.append((dnn.ARG_WORKSPACE, workspace))
    plan.forward.execute(*args)
    saved = None if not training else Saved(plan=plan, x=x, states=states, w_ih=w_ih, w_hh=w_hh, bias=bias, y=y,
                                             finals=finals, workspace=workspace, has_bias=b_ih is not None)
    return y, finals, saved


def backward(saved, gy, g_states):
    """(dx, d initial states (N, H) each, dW_ih, dW_hh, db_ih, db_hh) of :func:`forward` (biases None without
    them); ``gy`` (L, N, H) and ``g_states`` (1, N, H) each may be None (zero)."""
    plan = saved.plan
    L, N, H = saved.y.shape
    n_in, G, S, cell = plan.n_in, plan.G, plan.S, plan.cell
    gy = numpy.zeros((L, N, H), _F32) if gy is None else numpy.ascontiguousarray(gy, dtype=_F32)
    g_states = [numpy.zeros((1, N, H), _F32) if g is None else numpy.ascontiguousarray(g, dtype=_F32)
                for g in g_states]
    dx = numpy.empty((L, N, n_in), _F32)
    d_states = [numpy.empty((N, H), _F32) for _ in range(S)]
    d_wl = numpy.zeros(plan.grad_reorders[0][1] if plan.grad_reorders[0] else G * H * n_in * 4, numpy.uint8)
    d_wi = numpy.zeros(plan.grad_reorders[1][1] if plan.grad_reorders[1] else G * H * H * 4, numpy.uint8)
    args = [(dnn.ARG_SRC, saved.x), (dnn.ARG_SRC_ITER, saved.states[0]),
            (dnn.ARG_WEIGHTS, _into(plan.bwd_reorders[0], saved.w_ih)),
            (dnn.ARG_WEIGHTS_ITER, _into(plan.bwd_reorders[1], saved.w_hh)),
            (dnn.ARG_DST, saved.y), (dnn.ARG_DST_ITER, saved.finals[0]), (dnn.ARG_WORKSPACE, saved.workspace),
            (dnn.ARG_DIFF_DST, gy), (dnn.ARG_DIFF_DST_ITER, g_states[0]),
            (dnn.ARG_DIFF_SRC, dx), (dnn.ARG_DIFF_SRC_ITER, d_states[0]),
            (dnn.ARG_DIFF_WEIGHTS, d_wl), (dnn.ARG_DIFF_WEIGHTS_ITER, d_wi)]
    if S == 2:
        args += [(dnn.ARG_SRC_ITER_C, saved.states[1]), (dnn.ARG_DST_ITER_C, saved.finals[1]),
                 (dnn.ARG_DIFF_DST_ITER_C, g_states[1]), (dnn.ARG_DIFF_SRC_ITER_C, d_states[1])]
    d_bias = numpy.empty(saved.bias.shape, _F32)
    args += [(dnn.ARG_BIAS, saved.bias), (dnn.ARG_DIFF_BIAS, d_bias)]
    plan.backward.execute(*args)
    gw_ih = _gate_order(cell, _out_of(plan.grad_reorders[0], d_wl, (G * H, n_in)), H)
    gw_hh = _gate_order(cell, _out_of(plan.grad_reorders[1], d_wi, (G * H, H)), H)
    gb_ih = gb_hh = None
    if saved.has_bias:
        if cell == "gru":  # (b_z, b_r, b_in, b_hn) -> (r, z, n) of each of PyTorch's two biases
            gb_ih = numpy.concatenate([d_bias[1], d_bias[0], d_bias[2]])
            gb_hh = numpy.concatenate([d_bias[1], d_bias[0], d_bias[3]])
        else:
            gb_ih = d_bias.reshape(-1)
            gb_hh = gb_ih.copy()
    return dx, d_states, gw_ih, gw_hh, gb_ih, gb_hh


__all__ = ["CELLS", "forward", "backward", "Saved"]
