"""Recurrent layers: the Elman RNN, the LSTM and the GRU, as fused sequence Functions.

A recurrent layer applies the same cell at every step t = 1 … L, carrying a
state from one step to the next:

    RNN    h_t = act(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh)          act = tanh or relu

    LSTM   i_t = σ(W_ii x_t + b_ii + W_hi h_{t−1} + b_hi)             input gate
           f_t = σ(W_if x_t + b_if + W_hf h_{t−1} + b_hf)             forget gate
           g_t = tanh(W_ig x_t + b_ig + W_hg h_{t−1} + b_hg)          candidate c̃_t
           o_t = σ(W_io x_t + b_io + W_ho h_{t−1} + b_ho)             output gate
           c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t
           h_t = o_t ⊙ tanh(c_t)

    GRU    r_t = σ(W_ir x_t + b_ir + W_hr h_{t−1} + b_hr)             reset gate
           z_t = σ(W_iz x_t + b_iz + W_hz h_{t−1} + b_hz)             update gate
           n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t−1} + b_hn))  candidate
           h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}

with PyTorch's weight layout: W_ih stacks the gate blocks (i, f, g, o) or
(r, z, n) into one (G·H, in) matrix, W_hh into (G·H, H).

Speed. One :class:`~shendu.autograd.Function` runs one layer in one direction
over the whole sequence: the input projections of all L steps are one GEMM
(L·N, in) × (in, G·H); each step is one GEMM with W_hh plus a handful of
whole-block array operations (the gates of a step are one (G, N, H) block, no
loop over units or batch elements); backward runs backpropagation through
time in one loop and ends with three GEMMs for dx, dW_ih and dW_hh over all
steps at once. The gates of a step share one ``exp``: a sigmoid gate is
σ(a) = 1 / (1 + e^(−a)) and the LSTM's tanh gate is tanh(a) = 2σ(2a) − 1, with
the factors −1 and −2 folded into the weight rows once per call. On the
oneDNN kernels (docs/onednn.md) the same Function hands the whole layer —
forward and BPTT, float32, without ``lengths`` — to oneDNN's recurrent
primitive instead (:mod:`shendu.backends.onednn_rnn`: same formulas; the NumPy
loop below stays the reference and the fallback).

Variable lengths. A boolean mask m (L, N, 1) marks the valid steps. At a
padded step the state is carried unchanged and the output is 0:

    h_t = m_t ⊙ ĥ_t + (1 − m_t) ⊙ h_{t−1},     y_t = m_t ⊙ ĥ_t

so the final state is the state at each sequence's last valid step, and a
reverse-direction layer (which runs t = L … 1) starts from h_0 at each
sequence's own last valid step, exactly like PyTorch's packed sequences.
In backward the same masks stop every gradient at the padded steps.

Several outputs. A sequence Function returns the outputs y (L, N, H) and the
final states, each (1, N, H): S = 1 (h) or 2 (h, c) of them, as separate
output tensors of one node (see :class:`~shendu.autograd.Function`).
"""
from __future__ import annotations

import contextlib

from .. import backend
from ..autograd import Function, is_grad_enabled
from ..backend import get_array_module
from ..ops import cat, getitem, swapaxes, unsqueeze
from ..tensor import Tensor
from .dropout import dropout as inverted_dropout


# ---------------------------------------------------------------- the shared loop
def _overflow_ignored(xp):
    errstate = getattr(xp, "errstate", None)  # NumPy warns on overflow; CuPy has no such warnings
    return errstate(over="ignore") if errstate is not None else contextlib.nullcontext()


def _gate_major(m, G):
    """Gates side by side, (…, N, G·H), seen gate-major, (…, G, N, H): a view, no copy."""
    return m.reshape(*m.shape[:-1], G, -1).swapaxes(-3, -2)


class _Recurrence(Function):
    """One recurrent layer in one direction over the whole sequence: forward and BPTT.

    Inputs: x (L, N, in), the initial states (N, H) (h; h and c for the LSTM),
    W_ih (G·H, in), W_hh (G·H, H) and optionally b_ih, b_hh (G·H,).
    Options: ``mask`` (L, N, 1) bool or None, ``reverse``.
    Outputs: y (L, N, H) = [y_1 … y_L], then the S final states, each (1, N, H).

    Each state buffer has L + 1 slots. Running forwards, slot t holds the state
    before step t and slot t + 1 the state after it; in reverse, slot t + 1 the
    state before and slot t the state after. So ``buf[r : L + r]`` (r = 1 in
    reverse) are the states the steps started from — what dW_hh multiplies —
    without a copy.

    Two layouts of a step's gates: the GEMMs keep them side by side, (N, G·H)
    (one wide GEMM is faster than G narrow ones, above all on several
    threads); the gate arithmetic works gate-major, (G, N, H), where each gate
    is one contiguous (N, H) block (an (N, H) column block of an (N, G·H) row
    costs NumPy ~3× as much per call). A strided add, copy or multiply per
    step moves between the two, through ``work`` (G·N·H numbers).

    A cell subclass sets ``gates`` (G), ``n_states`` (S), ``fused_gates``
    (the kinds of the leading gates that :meth:`_activate` computes:
    ``"s"`` sigmoid, ``"t"`` tanh) and defines ``_start`` (its buffers),
    ``_step`` (one step: new states into their slots), ``_start_backward``
    (the parts of BPTT computed for all steps at once) and ``_step_back`` (one
    step of BPTT: the gate gradients into ``d_xw[t]`` / ``d_hw[t]``, returning
    the gradients of the previous states).
    """

    __slots__ = ("x", "w_ih", "w_hh", "w_hh_s", "b_hh_s", "mask", "reverse", "has_bias",
                 "shape", "states", "acts", "deriv", "d_xw", "d_hw", "work", "fast")
    gates = 1
    n_states = 1
    fused_gates = ""
    kernel_cell = ""
    fold_hidden_bias = True  # b_hh joins b_ih in the input projection (not the GRU's: b_hn sits inside r ⊙ (…))

    def forward(self, x, *args, mask=None, reverse=False, **options):
        xp = get_array_module(x)
        S = self.n_states
        L, N, n_in = x.shape
        w_ih, w_hh, bias = args[S], args[S + 1], args[S + 2:]
        H = w_hh.shape[1]
        self.shape = (L, N, H)
        self.x, self.w_ih, self.w_hh = x.reshape(L * N, n_in), w_ih, w_hh
        self.mask, self.reverse, self.has_bias = mask, reverse, bool(bias)
        self._configure(**options)
        self.fast = None
        kernels = backend.fast_kernels() if mask is None else None  # oneDNN has no per-sequence lengths
        if kernels is not None:  # the whole layer in one oneDNN call (docs/onednn.md); None: it declined
            out = kernels.rnn_forward(self._cell(), x, args[:S], w_ih, w_hh, *(bias or (None, None)), reverse,
                                      is_grad_enabled())
            if out is not None:
                y, finals, saved = out
                self.fast = (kernels, saved)
                return (y, *finals)
        # The fused gates take e^(−a) (sigmoid) or e^(−2a) (tanh): fold −1 or −2 into their rows, once.
        s = xp.ones(self.gates * H, dtype=x.dtype)
        for k, kind in enumerate(self.fused_gates):
            s[k * H:(k + 1) * H] = -1 if kind == "s" else -2
        xw = backend.matmul(self.x, (w_ih * s[:, None]).T).reshape(L, N, -1)  # all steps, one GEMM
        self.w_hh_s = (w_hh * s[:, None]).T
        if bias:
            xw += (bias[0] + bias[1] if self.fold_hidden_bias else bias[0]) * s
            self.b_hh_s = bias[1] * s
        r = int(reverse)
        self.states = [xp.empty((L + 1, N, H), dtype=x.dtype) for _ in range(S)]
        for buf, s0 in zip(self.states, args[:S]):
            buf[L * r] = s0
        self.work = xp.empty((N, self.gates * H), dtype=x.dtype)
        self._start(xp, L, N, H, x.dtype)
        pad = None if mask is None else ~mask
        with _overflow_ignored(xp):  # e^(−a) = inf for a ≪ 0 gives σ(a) = 1 / (1 + inf) = 0, as it should
            for t in (range(L - 1, -1, -1) if reverse else range(L)):
                prev = [buf[t + r] for buf in self.states]
                new = [buf[t + 1 - r] for buf in self.states]
                self._step(xp, t, xw[t], prev, new)
                if pad is not None:  # a padded step carries the state unchanged
                    for a, b in zip(new, prev):
                        xp.copyto(a, b, where=pad[t])
        after = self.states[0][1 - r:L + 1 - r]
        y = after.copy() if mask is None else after * mask
        last = L * (1 - r)
        return (y, *(buf[last:last + 1].copy() for buf in self.states))

    def backward(self, gy, *g_states):
        """``gy`` (L, N, H) and the final states' gradients (1, N, H); any of them may be None (zero)."""
        if self.fast is not None:  # the forward ran on oneDNN: so does BPTT
            kernels, saved = self.fast
            dx, d_states, gw_ih, gw_hh, gb_ih, gb_hh = kernels.rnn_backward(saved, gy, g_states)
            return (dx, *d_states, gw_ih, gw_hh) + ((gb_ih, gb_hh) if self.has_bias else ())
        xp = get_array_module(self.x)
        L, N, H = self.shape
        S, r, mask = self.n_states, int(self.reverse), self.mask
        pad = None if mask is None else ~mask
        self._start_backward(xp, L, N, H)
        zero = xp.zeros((N, H), dtype=self.x.dtype)
        # d loss / d(the states after the current step)
        d = [zero if g is None else g[0] for g in g_states]
        for t in (range(L) if self.reverse else range(L - 1, -1, -1)):
            hats = [d[0] if gy is None else d[0] + gy[t], *d[1:]]  # d loss / d(the new states the cell computed)
            if mask is not None:
                hats = [xp.where(mask[t], a, 0) for a in hats]
            prev = [buf[t + r] for buf in self.states]
            d_prev = self._step_back(xp, t, hats, prev)
            if mask is not None:  # a padded step passed its state through unchanged
                for a, b in zip(d_prev, d):
                    xp.copyto(a, b, where=pad[t])
            d = d_prev
        ins = self.inputs
        d_xw = self.d_xw.reshape(L * N, -1)
        d_hw = self.d_hw.reshape(L * N, -1)
        gx = backend.matmul(d_xw, self.w_ih).reshape(L, N, -1) if ins[0].requires_grad else None
        gw_ih = backend.matmul(d_xw.T, self.x) if ins[1 + S].requires_grad else None
        h_prev = self.states[0][r:L + r].reshape(L * N, H)
        gw_hh = backend.matmul(d_hw.T, h_prev) if ins[2 + S].requires_grad else None
        grads = (gx, *d, gw_ih, gw_hh)
        if self.has_bias:
            grads += (d_xw.sum(axis=0), d_hw.sum(axis=0))
        return grads

    def _cell(self):
        """The cell's name for the kernel library: 'lstm', 'gru', 'rnn_tanh' or 'rnn_relu'."""
        return self.kernel_cell

    def _configure(self, **options):
        if options:
            raise TypeError(f"{type(self).__name__}: unexpected options {sorted(options)}")

    def _activate(self, xp, a):
        """In place, the fused gates (gate-major, (len(fused_gates), N, H)) of one step from their
        (pre-scaled) pre-activations: a ← 1 / (1 + e^a), i.e. σ of a sigmoid gate and σ(2·) of a
        tanh gate, then tanh = 2σ(2·) − 1."""
        xp.exp(a, out=a)
        a += 1
        xp.reciprocal(a, out=a)
        for k, kind in enumerate(self.fused_gates):
            if kind == "t":
                g = a[k]
                g *= 2
                g -= 1

    @classmethod
    def describe_error(cls, shapes, options, exc):
        return f"{cls.__name__}: inputs of shapes {', '.join(map(str, shapes))}: {exc}"


class RNNSequence(_Recurrence):
    """The Elman RNN over a sequence: h_t = act(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh), act = tanh | relu.

    BPTT:  da_t = dh_t ⊙ act'(a_t),   dh_{t−1} = da_t W_hh   (+ the output gradient of step t−1).
    """

    __slots__ = ("relu",)

    def _configure(self, nonlinearity="tanh"):
        self.relu = nonlinearity == "relu"

    def _cell(self):
        return "rnn_relu" if self.relu else "rnn_tanh"

    def _start(self, xp, L, N, H, dtype):
        pass

    def _step(self, xp, t, xw_t, prev, new):
        h = new[0]
        backend.matmul(prev[0], self.w_hh_s, out=h)
        h += xw_t
        if self.relu:
            xp.maximum(h, 0, out=h)
        else:
            xp.tanh(h, out=h)

    def _start_backward(self, xp, L, N, H):
        r = int(self.reverse)
        h = self.states[0][1 - r:L + 1 - r]
        self.deriv = (h > 0).astype(h.dtype) if self.relu else 1 - h * h
        self.d_xw = self.d_hw = xp.empty_like(h)

    def _step_back(self, xp, t, hats, prev):
        da = self.d_xw[t]
        xp.multiply(hats[0], self.deriv[t], out=da)
        return [backend.matmul(da, self.w_hh)]


class LSTMSequence(_Recurrence):
    """The LSTM over a sequence (Hochreiter & Schmidhuber 1997; forget gate: Gers et al. 2000).

    Gate order (i, f, g, o) as PyTorch. BPTT, with dh, dc the gradients of h_t, c_t:
        dc += dh ⊙ o ⊙ (1 − tanh² c_t)
        di = dc ⊙ g,  df = dc ⊙ c_{t−1},  dg = dc ⊙ i,  do = dh ⊙ tanh c_t   (each × its gate's derivative)
        dc_{t−1} = dc ⊙ f,   dh_{t−1} = [di, df, dg, do] W_hh
    """

    __slots__ = ("tanh_c", "dh_to_dc")
    gates = 4
    n_states = 2
    fused_gates = "ssts"  # i, f, g, o
    kernel_cell = "lstm"

    def _start(self, xp, L, N, H, dtype):
        self.acts = xp.empty((L, 4, N, H), dtype=dtype)  # i, f, g, o after their nonlinearities
        self.tanh_c = xp.empty((L, N, H), dtype=dtype)

    def _step(self, xp, t, xw_t, prev, new):
        (h, c), (h_new, c_new) = prev, new
        a = self.acts[t]
        backend.matmul(h, self.w_hh_s, out=self.work)
        xp.add(_gate_major(self.work, 4), _gate_major(xw_t, 4), out=a)
        self._activate(xp, a)
        i, f, g, o = a
        tc = self.tanh_c[t]
        xp.multiply(i, g, out=tc)        # i ⊙ g, in the slot that tanh c_t fills next
        xp.multiply(f, c, out=c_new)     # c_t = f ⊙ c_{t−1} + i ⊙ g
        c_new += tc
        xp.tanh(c_new, out=tc)
        xp.multiply(o, tc, out=h_new)    # h_t = o ⊙ tanh c_t

    def _start_backward(self, xp, L, N, H):
        a, tc = self.acts, self.tanh_c
        # whole-sequence arrays, so in place: no temporary of their size
        deriv = self.deriv = xp.subtract(1, a)          # σ' = σ(1 − σ) …
        deriv *= a
        g, dg = a[:, 2], deriv[:, 2]
        xp.multiply(g, g, out=dg)                       # … and tanh' = 1 − tanh² for g
        xp.subtract(1, dg, out=dg)
        dh_to_dc = self.dh_to_dc = tc * tc              # ∂h_t/∂c_t = o ⊙ (1 − tanh² c_t)
        xp.subtract(1, dh_to_dc, out=dh_to_dc)
        xp.multiply(a[:, 3], dh_to_dc, out=dh_to_dc)
        self.d_xw = self.d_hw = xp.empty((L, N, 4 * H), dtype=a.dtype)

    def _step_back(self, xp, t, hats, prev):
        dh, dc_after = hats
        i, f, g, o = self.acts[t]
        da = self.work.reshape(4, *dh.shape)    # the gate gradients before σ', tanh': gate-major
        dc = xp.multiply(dh, self.dh_to_dc[t])  # dc (this step's own array, so updated in place)
        dc += dc_after
        xp.multiply(dc, g, out=da[0])           # di = dc ⊙ g
        xp.multiply(dc, prev[1], out=da[1])     # df = dc ⊙ c_{t−1}
        xp.multiply(dc, i, out=da[2])           # dg = dc ⊙ i
        xp.multiply(dh, self.tanh_c[t], out=da[3])  # do = dh ⊙ tanh c_t
        dc *= f                                 # dc_{t−1} = dc ⊙ f
        d_gates = self.d_xw[t]                  # × σ', tanh', written side by side for the GEMMs
        xp.multiply(da, self.deriv[t], out=_gate_major(d_gates, 4))
        return [backend.matmul(d_gates, self.w_hh), dc]


class GRUSequence(_Recurrence):
    """The GRU over a sequence (Cho et al. 2014), gate order (r, z, n) as PyTorch.

    BPTT, with dh the gradient of h_t and hn = W_hn h_{t−1} + b_hn:
        da_n = dh ⊙ (1 − z) ⊙ (1 − n²)
        da_z = dh ⊙ (h_{t−1} − n) ⊙ z(1 − z)
        da_r = da_n ⊙ hn ⊙ r(1 − r)
        dh_{t−1} = dh ⊙ z + [da_r, da_z, da_n ⊙ r] W_hh
    """

    __slots__ = ("hw",)
    gates = 3
    fused_gates = "ss"  # r, z; n depends on r and takes its own tanh
    kernel_cell = "gru"
    fold_hidden_bias = False

    def _start(self, xp, L, N, H, dtype):
        self.acts = xp.empty((L, 3, N, H), dtype=dtype)  # r, z, n (gate-major)
        self.hw = xp.empty((L, N, 3 * H), dtype=dtype)    # W_hh h_{t−1} + b_hh (r, z rows negated)

    def _step(self, xp, t, xw_t, prev, new):
        h, h_new = prev[0], new[0]
        a, hw = self.acts[t], self.hw[t]
        backend.matmul(h, self.w_hh_s, out=hw)
        if self.has_bias:
            hw += self.b_hh_s
        xw_g, hw_g = _gate_major(xw_t, 3), _gate_major(hw, 3)
        r, z, n = a
        xp.add(xw_g[:2], hw_g[:2], out=a[:2])
        self._activate(xp, a[:2])
        xp.multiply(r, hw_g[2], out=n)  # n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
        n += xw_g[2]
        xp.tanh(n, out=n)
        xp.subtract(h, n, out=h_new)    # h_t = n + z ⊙ (h_{t−1} − n)
        h_new *= z
        h_new += n

    def _start_backward(self, xp, L, N, H):
        r_ = int(self.reverse)
        a = self.acts
        r, z, n = a[:, 0], a[:, 1], a[:, 2]
        h_prev = self.states[0][r_:L + r_]
        # d a_k = (a gradient) ⊙ coefficient, the coefficients for all steps at once (gate-major):
        coef = xp.empty_like(a)
        c_r, c_z, c_n = coef[:, 0], coef[:, 1], coef[:, 2]
        xp.multiply(self.hw[..., 2 * H:], r, out=c_r)  # da_r = da_n ⊙ coef_r,  coef_r = hn ⊙ r(1 − r)
        c_r *= 1 - r
        xp.subtract(h_prev, n, out=c_z)  # da_z = dh ⊙ coef_z,  coef_z = (h_{t−1} − n) ⊙ z(1 − z)
        c_z *= z
        one_minus_z = 1 - z
        c_z *= one_minus_z
        xp.multiply(n, n, out=c_n)  # da_n = dh ⊙ coef_n,  coef_n = (1 − z)(1 − n²)
        xp.subtract(1, c_n, out=c_n)
        xp.multiply(one_minus_z, c_n, out=c_n)
        self.deriv = coef
        self.d_xw, self.d_hw = (xp.empty((L, N, 3 * H), dtype=a.dtype) for _ in range(2))

    def _step_back(self, xp, t, hats, prev):
        dh = hats[0]
        r, z, _ = self.acts[t]
        coef, da = self.deriv[t], self.work.reshape(3, *dh.shape)  # gate-major
        xp.multiply(dh, coef[2], out=da[2])     # da_n
        xp.multiply(dh, coef[1], out=da[1])     # da_z
        xp.multiply(da[2], coef[0], out=da[0])  # da_r
        dx, dhw = self.d_xw[t], self.d_hw[t]    # side by side for the GEMMs
        _gate_major(dx, 3)[...] = da
        H = dh.shape[1]
        dhw[:, :2 * H] = dx[:, :2 * H]
        xp.multiply(da[2], r, out=dhw[:, 2 * H:])  # d(W_hn h + b_hn) = da_n ⊙ r
        dh_prev = backend.matmul(dhw, self.w_hh)
        dh_prev += dh * z
        return [dh_prev]


# ---------------------------------------------------------------- layers of layers
_MODES = {
    "RNN_TANH": ("rnn", RNNSequence, {"nonlinearity": "tanh"}),
    "RNN_RELU": ("rnn", RNNSequence, {"nonlinearity": "relu"}),
    "LSTM": ("lstm", LSTMSequence, {}),
    "GRU": ("gru", GRUSequence, {}),
}


def _run(cls, x, states, weights, mask, reverse, options):
    """One layer, one direction: outputs (L, N, H) and the final states, each (1, N, H)."""
    return cls.apply(x, *states, *weights, mask=mask, reverse=reverse, **options)


def _const(array):
    return Tensor._wrap(array, False, None)


def _time_mask(name, lengths, L, N, xp):
    """(L, N, 1) bool: True at the valid steps t < lengths[n]."""
    lengths = xp.asarray(lengths.data if isinstance(lengths, Tensor) else lengths)
    if lengths.shape != (N,):
        raise ValueError(f"{name}: expected lengths of shape ({N},), one per sequence, got shape {lengths.shape}")
    if lengths.dtype.kind not in "iu":
        raise TypeError(f"{name}: expected integer lengths, got dtype {lengths.dtype}")
    return (xp.arange(L)[:, None] < lengths[None, :])[:, :, None]


def _initial_states(name, hx, S, num_directions_layers, N, H, unbatched, like):
    """The initial states as S tensors (layers·D, N, H); zeros when hx is None."""
    if hx is None:
        return [None] * S
    hx = (hx,) if isinstance(hx, Tensor) else tuple(hx)
    if len(hx) != S or not all(isinstance(h, Tensor) for h in hx):
        raise TypeError(f"{name}: expected hx as " + ("a tensor" if S == 1 else "a tuple (h_0, c_0) of tensors"))
    expected = (num_directions_layers, H) if unbatched else (num_directions_layers, N, H)
    out = []
    for j, h in enumerate(hx):
        if tuple(h.shape) != expected:
            which = ("h_0", "c_0")[j] if S == 2 else "hx"
            raise ValueError(f"{name}: expected {which} of shape {expected} (num_layers·num_directions, "
                             f"{'' if unbatched else 'N, '}hidden_size), got {tuple(h.shape)}")
        if h.dtype != like.dtype:
            raise TypeError(f"{name}: initial state has dtype {h.dtype} but the input has {like.dtype}")
        out.append(unsqueeze(h, 1) if unbatched else h)
    return out


def _recurrent(mode, input, hx, weights, num_layers, bidirectional, batch_first, dropout, training, lengths):
    name, cls, options = _MODES[mode]
    if input.ndim not in (2, 3):
        raise ValueError(f"{name}: expected input of 3 dimensions (L, N, H_in) — (N, L, H_in) with batch_first — "
                         f"or 2 for one unbatched sequence (L, H_in), got shape {tuple(input.shape)}")
    D = 2 if bidirectional else 1
    weights = list(weights)
    per = len(weights) // (num_layers * D) if num_layers * D else 0
    if per not in (2, 4) or per * num_layers * D != len(weights):
        raise ValueError(f"{name}: expected 2 or 4 weights (W_ih, W_hh[, b_ih, b_hh]) for each of "
                         f"{num_layers} layer(s) × {D} direction(s), got {len(weights)}")
    unbatched = input.ndim == 2
    x = unsqueeze(input, 1) if unbatched else (swapaxes(input, 0, 1) if batch_first else input)
    L, N, n_in = x.shape
    w_ih, w_hh = weights[0], weights[1]
    H = w_hh.shape[1]
    if n_in != w_ih.shape[1]:
        raise ValueError(f"{name}: expected input with {w_ih.shape[1]} features (input_size), "
                         f"got {n_in} (input of shape {tuple(input.shape)})")
    if input.dtype != w_ih.dtype:
        raise TypeError(f"{name}: the input has dtype {input.dtype} but the weights have {w_ih.dtype}; "
                        f"cast one of them (module.double() or input.float())")
    xp = get_array_module(x.data)
    S = cls.n_states
    hx = _initial_states(name, hx, S, num_layers * D, N, H, unbatched, input)
    zeros = _const(xp.zeros((N, H), dtype=x.dtype))
    mask = None if lengths is None else _time_mask(name, lengths, L, N, xp)
    finals = [[] for _ in range(S)]
    for layer in range(num_layers):
        if layer and dropout and training:
            x = inverted_dropout(x, dropout)
        outs = []
        for direction in range(D):
            k = layer * D + direction
            s0 = [zeros if h is None else getitem(h, k) for h in hx]
            y, *final = _run(cls, x, s0, weights[k * per:(k + 1) * per], mask, direction == 1, options)
            outs.append(y)
            for acc, f in zip(finals, final):
                acc.append(f)
        x = outs[0] if D == 1 else cat(outs, axis=2)
    states = [cat(acc, axis=0) if len(acc) > 1 else acc[0] for acc in finals]
    if unbatched:
        x, states = getitem(x, (slice(None), 0)), [getitem(s, (slice(None), 0)) for s in states]
    elif batch_first:
        x = swapaxes(x, 0, 1)
    return x, (states[0] if S == 1 else tuple(states))


_STACK_DOC = """
    Args:
        input: (L, N, H_in), or (N, L, H_in) with ``batch_first``, or (L, H_in) for one sequence.
        hx: the initial state{hx}; None means zeros.
        weights: the flat list of PyTorch's ``_flat_weights``: for each layer, for each direction
            (forward, then reverse), W_ih (G·H, H_in of the layer), W_hh (G·H, H) and, with biases,
            b_ih, b_hh (G·H,); G = {G}. Layer l > 0 takes H_in = D·H.
        num_layers (1), bidirectional (False), batch_first (False): the stack's configuration.
        dropout (0.0), training (False): the dropout probability on the outputs of every layer but the
            last, applied only when ``training``.
        lengths (None): the valid length of each sequence (N,) — a list, array or integer tensor. Padded
            steps t ≥ lengths[n] give zero outputs and leave the state (and every gradient) untouched; the
            final state is the state at the last valid step; the reverse direction starts there.

    Shape: output (L, N, D·H) (or (N, L, D·H) with batch_first); final states (num_layers·D, N, H).

    Example:
        >>> weights = [shendu.randn({g} * 20, 10) * 0.1, shendu.randn({g} * 20, 20) * 0.1]  # one layer, H = 20
        >>> output, state = F.{name}(shendu.randn(5, 3, 10), None, weights)
        >>> output.shape
        (5, 3, 20)
"""


def rnn(input, hx, weights, nonlinearity="tanh", num_layers=1, bidirectional=False, batch_first=False,
        dropout=0.0, training=False, lengths=None):
    """A stack of Elman RNN layers: h_t = act(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh); returns (output, h_n).
    """
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"rnn: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    return _recurrent("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input, hx, weights, num_layers,
                      bidirectional, batch_first, dropout, training, lengths)


def lstm(input, hx, weights, num_layers=1, bidirectional=False, batch_first=False, dropout=0.0, training=False,
         lengths=None):
    """A stack of LSTM layers (equations in the module docstring); returns (output, (h_n, c_n)).
    """
    return _recurrent("LSTM", input, hx, weights, num_layers, bidirectional, batch_first, dropout, training, lengths)


def gru(input, hx, weights, num_layers=1, bidirectional=False, batch_first=False, dropout=0.0, training=False,
        lengths=None):
    """A stack of GRU layers (equations in the module docstring); returns (output, h_n).
    """
    return _recurrent("GRU", input, hx, weights, num_layers, bidirectional, batch_first, dropout, training, lengths)


rnn.__doc__ += _STACK_DOC.format(hx=" (num_layers·D, N, H)", G="1", g=1, name="rnn")
lstm.__doc__ += _STACK_DOC.format(hx="s (h_0, c_0), each (num_layers·D, N, H)", G="4 (i, f, g, o)", g=4, name="lstm")
gru.__doc__ += _STACK_DOC.format(hx=" (num_layers·D, N, H)", G="3 (r, z, n)", g=3, name="gru")


# ---------------------------------------------------------------- single steps
def _cell(name, cls, input, hx, w_ih, w_hh, b_ih, b_hh, options):
    if input.ndim not in (1, 2):
        raise ValueError(f"{name}: expected input of shape (N, input_size) or (input_size,), got {tuple(input.shape)}")
    if (b_ih is None) != (b_hh is None):
        raise ValueError(f"{name}: give both biases b_ih and b_hh, or neither")
    if input.shape[-1] != w_ih.shape[1]:
        raise ValueError(f"{name}: expected input with {w_ih.shape[1]} features, got shape {tuple(input.shape)}")
    unbatched = input.ndim == 1
    x = unsqueeze(input, 0) if unbatched else input
    N, H = x.shape[0], w_hh.shape[1]
    S = cls.n_states
    if hx is None:
        states = [_const(get_array_module(x.data).zeros((N, H), dtype=x.dtype))] * S
    else:
        states = [hx] if S == 1 else list(hx)
        for j, h in enumerate(states):
            if tuple(h.shape) != tuple(input.shape[:-1]) + (H,):
                raise ValueError(f"{name}: expected state {j} of shape {tuple(input.shape[:-1]) + (H,)}, "
                                 f"got {tuple(h.shape)}")
        if unbatched:
            states = [unsqueeze(h, 0) for h in states]
    weights = [w_ih, w_hh] + ([b_ih, b_hh] if b_ih is not None else [])
    _, *finals = cls.apply(unsqueeze(x, 0), *states, *weights, mask=None, reverse=False, **options)
    new = [getitem(h, 0) for h in finals]
    if unbatched:
        new = [getitem(h, 0) for h in new]
    return new[0] if S == 1 else tuple(new)


def rnn_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    """One Elman RNN step: h' = act(W_ih x + b_ih + W_hh h + b_hh), act = tanh or relu.

    Shape: input (N, H_in) or (H_in,), hx (N, H) or None (zeros) -> h' (N, H).
    """
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"rnn_cell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    return _cell("rnn_cell", RNNSequence, input, hx, w_ih, w_hh, b_ih, b_hh, {"nonlinearity": nonlinearity})


def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One LSTM step: (h', c') from x and (h, c); gates (i, f, g, o) in the rows of W_ih (4H, H_in), W_hh (4H, H).

        i = σ(·), f = σ(·), g = tanh(·), o = σ(·) of W_ih x + b_ih + W_hh h + b_hh (their blocks)
        c' = f ⊙ c + i ⊙ g,   h' = o ⊙ tanh(c')

    Shape: input (N, H_in) or (H_in,), hx (h, c) each (N, H), or None -> (h', c') each (N, H).
    """
    return _cell("lstm_cell", LSTMSequence, input, hx, w_ih, w_hh, b_ih, b_hh, {})


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One GRU step: gates (r, z, n) in the rows of W_ih (3H, H_in), W_hh (3H, H).

        r = σ(W_ir x + b_ir + W_hr h + b_hr),  z = σ(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),   h' = (1 − z) ⊙ n + z ⊙ h

    Shape: input (N, H_in) or (H_in,), hx (N, H) or None -> h' (N, H).
    """
    return _cell("gru_cell", GRUSequence, input, hx, w_ih, w_hh, b_ih, b_hh, {})


# ---------------------------------------------------------------- helpers
def sequence_mask(lengths, max_len=None):
    """Bool tensor (N, max_len), True at the valid steps t < lengths[n] (for masking losses over padding).

    ``max_len`` defaults to max(lengths).

    Example:
        >>> sequence_mask([2, 3], 4).numpy().astype(int)
        array([[1, 1, 0, 0],
               [1, 1, 1, 0]])
    """
    lengths = lengths.data if isinstance(lengths, Tensor) else backend.xp.asarray(lengths)
    xp = get_array_module(lengths)
    if max_len is None:
        max_len = int(lengths.max()) if lengths.size else 0
    return _const(xp.arange(max_len)[None, :] < lengths[:, None])


def detach_state(state):
    """Cut the graph behind a recurrent state: a tensor, or a tuple/list of them (the LSTM's (h, c)).

    Truncated BPTT over a long stream carries the state from one chunk to the
    next but backpropagates only within a chunk::

        state = None
        for chunk, target in stream:
            output, state = lstm(chunk, state)
            loss = loss_fn(output, target)
            loss.backward()                 # through this chunk only
            optimizer.step(); optimizer.zero_grad()
            state = detach_state(state)     # keep the values, drop the history
    """
    if state is None:
        return None
    if isinstance(state, Tensor):
        return state.detach()
    return type(state)(detach_state(s) for s in state)


__all__ = ["rnn", "lstm", "gru", "rnn_cell", "lstm_cell", "gru_cell", "sequence_mask", "detach_state"]
