"""RNN, LSTM, GRU and their cells: against PyTorch (float64, every output, state and gradient),
against the equations composed from primitive ops, finite differences, masking, truncated BPTT."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import shendu
import shendu.functional as F
from shendu import nn
from shendu.models import CharLM, SequenceRegressor, TextClassifier
from harness import assert_close, check

try:  # the comparisons with PyTorch skip without it; the other tests still run
    import torch
except ImportError:  # pragma: no cover
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")

OURS = {"RNN_TANH": nn.RNN, "RNN_RELU": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}
MODES = list(OURS)
TOL64 = dict(rtol=1e-9, atol=1e-12)


def _pair(mode, I, H, dtype=np.float64, **kw):
    """A torch layer and a shendu layer holding the same weights."""
    if mode.startswith("RNN"):
        kw["nonlinearity"] = "relu" if mode == "RNN_RELU" else "tanh"
    t = getattr(torch.nn, OURS[mode].__name__)(I, H, **kw).to(torch.float64 if dtype == np.float64 else torch.float32)
    s = OURS[mode](I, H, **kw).to(dtype=dtype)
    s.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    return t, s


def _states(out, mode):
    return list(out[1]) if mode == "LSTM" else [out[1]]


def compare_with_torch(mode, L, N, I, H, num_layers=1, bidirectional=False, batch_first=False, lengths=None,
                       with_hx=True, bias=True, dtype=np.float64, seed=0):
    """Outputs, final states and the gradients of input, initial states and every parameter agree with torch."""
    tol = TOL64 if dtype == np.float64 else dict(rtol=1e-4, atol=1e-5)
    rng = np.random.default_rng(seed)
    t_mod, s_mod = _pair(mode, I, H, dtype, num_layers=num_layers, bidirectional=bidirectional,
                         batch_first=batch_first, bias=bias)
    D = 2 if bidirectional else 1
    x = rng.standard_normal((N, L, I) if batch_first else (L, N, I)).astype(dtype)
    hx = [rng.standard_normal((num_layers * D, N, H)).astype(dtype) for _ in range(2 if mode == "LSTM" else 1)]
    tx = torch.tensor(x, requires_grad=True)
    th = [torch.tensor(h, requires_grad=True) for h in hx]
    sx = shendu.tensor(x, requires_grad=True)
    sh = [shendu.tensor(h, requires_grad=True) for h in hx]
    t_hx = (tuple(th) if mode == "LSTM" else th[0]) if with_hx else None
    s_hx = (tuple(sh) if mode == "LSTM" else sh[0]) if with_hx else None
    if lengths is None:
        t_out = t_mod(tx, t_hx)
        t_y = t_out[0]
    else:
        packed = torch.nn.utils.rnn.pack_padded_sequence(tx, torch.tensor(lengths), batch_first=batch_first,
                                                         enforce_sorted=False)
        t_out = t_mod(packed, t_hx)
        t_y = torch.nn.utils.rnn.pad_packed_sequence(t_out[0], batch_first=batch_first, total_length=L)[0]
    s_out = s_mod(sx, s_hx, lengths=lengths)
    pairs = [(s_out[0], t_y)] + list(zip(_states(s_out, mode), _states(t_out, mode)))
    t_loss, s_loss = 0, 0
    for k, (s, t) in enumerate(pairs):
        assert_close(s.numpy(), t.detach().numpy(), what=f"{mode} output {k}", **tol)
        v = rng.standard_normal(tuple(t.shape)).astype(dtype)
        t_loss = t_loss + (t * torch.tensor(v)).sum()
        s_loss = s_loss + (s * shendu.tensor(v)).sum()
    t_loss.backward()
    s_loss.backward()
    assert_close(sx.grad.numpy(), tx.grad.numpy(), what=f"{mode} input gradient", **tol)
    if with_hx:
        for k, (s, t) in enumerate(zip(sh, th)):
            assert_close(s.grad.numpy(), t.grad.numpy(), what=f"{mode} initial state {k} gradient", **tol)
    ours = dict(s_mod.named_parameters())
    for name, p in t_mod.named_parameters():
        assert_close(ours[name].grad.numpy(), p.grad.numpy(), what=f"{mode} gradient of {name}", **tol)
    return s_mod, s_out


# ---------------------------------------------------------------- against PyTorch
CONFIGS = [
    dict(),
    dict(num_layers=2),
    dict(bidirectional=True),
    dict(num_layers=2, bidirectional=True, batch_first=True),
    dict(lengths=[4, 1, 3]),
    dict(num_layers=2, bidirectional=True, lengths=[2, 4, 3]),
    dict(num_layers=2, bidirectional=True, batch_first=True, lengths=[4, 2, 1], with_hx=False),
    dict(bias=False, batch_first=True, lengths=[3, 4, 4]),
]


@needs_torch
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "plain")
def test_stack_matches_torch(mode, cfg):
    compare_with_torch(mode, L=4, N=3, I=5, H=4, **cfg)


@needs_torch
@given(mode=st.sampled_from(MODES), L=st.integers(1, 5), N=st.integers(1, 4), I=st.integers(1, 4),
       H=st.integers(1, 4), num_layers=st.integers(1, 3), bidirectional=st.booleans(), batch_first=st.booleans(),
       with_hx=st.booleans(), padded=st.booleans(), data=st.data())
def test_stack_matches_torch_any_shape(mode, L, N, I, H, num_layers, bidirectional, batch_first, with_hx, padded,
                                       data):
    lengths = data.draw(st.lists(st.integers(1, L), min_size=N, max_size=N)) if padded else None
    compare_with_torch(mode, L, N, I, H, num_layers, bidirectional, batch_first, lengths, with_hx)


@needs_torch
@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_stack_matches_torch_float32(mode):
    compare_with_torch(mode, L=6, N=3, I=4, H=5, num_layers=2, bidirectional=True, lengths=[6, 3, 5],
                       dtype=np.float32)


@needs_torch
@pytest.mark.parametrize("mode", MODES)
def test_unbatched_sequence(mode):
    t_mod, s_mod = _pair(mode, 3, 4, num_layers=2, bidirectional=True)
    x = np.random.default_rng(0).standard_normal((5, 3))
    t_out, s_out = t_mod(torch.tensor(x)), s_mod(shendu.tensor(x))
    assert s_out[0].shape == (5, 8)
    for s, t in [(s_out[0], t_out[0])] + list(zip(_states(s_out, mode), _states(t_out, mode))):
        assert_close(s.numpy(), t.detach().numpy(), what="unbatched", **TOL64)


@needs_torch
def test_state_dict_exchanges_with_torch():
    t_mod = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    s_mod = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    t_sd, s_sd = t_mod.state_dict(), s_mod.state_dict()
    assert list(s_sd) == list(t_sd)
    assert all(tuple(s_sd[k].shape) == tuple(t_sd[k].shape) for k in t_sd)
    t_mod.load_state_dict({k: torch.tensor(v.numpy()) for k, v in s_sd.items()})  # shendu → torch
    x = np.random.default_rng(0).standard_normal((2, 2, 3)).astype(np.float32)
    assert_close(s_mod(shendu.tensor(x))[0].numpy(), t_mod(torch.tensor(x))[0].detach().numpy(),
                 rtol=1e-5, atol=1e-6, what="shendu weights in torch")


@pytest.mark.parametrize("cls, gates", [(nn.RNN, 1), (nn.LSTM, 4), (nn.GRU, 3)])
def test_initialisation_and_macs(cls, gates):
    m = cls(10, 25, num_layers=2, bidirectional=True)
    for name, p in m.named_parameters():
        assert np.abs(p.numpy()).max() <= 1 / 5, name
        assert p.numpy().std() > 0.05, name
    assert m.weight_ih_l1_reverse.shape == (gates * 25, 50)
    x = shendu.randn(7, 3, 10)
    per_step = 2 * gates * 25 * ((10 + 25) + (50 + 25))
    assert m.macs((x,), None) == 7 * 3 * per_step


# ---------------------------------------------------------------- cells
CELL_ARGS = dict(N=2, I=3, H=2)


def _cell_arrays(gates, N, I, H, states, seed=0):
    r = np.random.default_rng(seed)
    return ([r.standard_normal((N, I))] + [r.standard_normal((N, H)) for _ in range(states)]
            + [r.standard_normal((gates * H, I)) * 0.6, r.standard_normal((gates * H, H)) * 0.6,
               r.standard_normal(gates * H) * 0.3, r.standard_normal(gates * H) * 0.3])


@needs_torch
def test_lstm_cell_matches_torch_and_gradcheck():
    check(lambda x, h, c, *w: F.lstm_cell(x, (h, c), *w),
          lambda x, h, c, *w: torch.lstm_cell(x, (h, c), *w), _cell_arrays(4, states=2, **CELL_ARGS))


@needs_torch
def test_gru_cell_matches_torch_and_gradcheck():
    check(lambda x, h, *w: F.gru_cell(x, h, *w), lambda x, h, *w: torch.gru_cell(x, h, *w),
          _cell_arrays(3, states=1, **CELL_ARGS))


@needs_torch
@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_cell_matches_torch(nonlinearity):
    check(lambda x, h, *w: F.rnn_cell(x, h, *w, nonlinearity=nonlinearity),
          lambda x, h, *w: getattr(torch, f"rnn_{nonlinearity}_cell")(x, h, *w),
          _cell_arrays(1, states=1, **CELL_ARGS), gradcheck=nonlinearity == "tanh")


@needs_torch
@pytest.mark.parametrize("cls", [nn.RNNCell, nn.LSTMCell, nn.GRUCell])
def test_cell_modules_match_torch_and_loop_equals_layer(cls):
    t_cell = getattr(torch.nn, cls.__name__)(3, 4).double()
    cell = cls(3, 4).double()
    assert list(cell.state_dict()) == list(t_cell.state_dict())
    cell.load_state_dict({k: v.detach().numpy() for k, v in t_cell.state_dict().items()})
    xs = np.random.default_rng(1).standard_normal((5, 2, 3))
    state, t_state = None, None
    for x in xs:  # a hand-written loop
        state, t_state = cell(shendu.tensor(x), state), t_cell(torch.tensor(x), t_state)
    for s, t in zip(state if isinstance(state, tuple) else [state], t_state if isinstance(t_state, tuple) else [t_state]):
        assert_close(s.numpy(), t.detach().numpy(), what="cell loop", **TOL64)
    # the same weights as a one-layer sequence layer give the same final state
    layer = {nn.RNNCell: nn.RNN, nn.LSTMCell: nn.LSTM, nn.GRUCell: nn.GRU}[cls](3, 4).double()
    layer.load_state_dict({k + "_l0": v for k, v in cell.state_dict().items()})
    final = layer(shendu.tensor(xs))[1]
    h = state[0] if isinstance(state, tuple) else state
    h_layer = final[0] if isinstance(final, tuple) else final
    assert_close(h_layer.numpy()[0], h.numpy(), what="layer vs cell loop", **TOL64)
    # unbatched
    y = cell(shendu.tensor(xs[0, 0]))
    assert (y[0] if isinstance(y, tuple) else y).shape == (4,)


# ---------------------------------------------------------------- against the equations, composed from ops
def _lstm_composed(x, h, c, w_ih, w_hh, b_ih, b_hh):
    """The LSTM as the literature writes it: W·[h_{t−1}, x_t] with W = [W_hh | W_ih] per gate."""
    H = h.shape[1]
    W = shendu.cat([w_hh, w_ih], axis=1)
    b = b_ih + b_hh
    ys = []
    for t in range(x.shape[0]):
        hx = shendu.cat([h, x[t]], axis=1)
        def gate(k):
            return F.linear(hx, W[k * H:(k + 1) * H], b[k * H:(k + 1) * H])
        i_t, f_t, g_t, o_t = gate(0).sigmoid(), gate(1).sigmoid(), gate(2).tanh(), gate(3).sigmoid()
        c = f_t * c + i_t * g_t
        h = o_t * c.tanh()
        ys.append(h)
    return shendu.stack(ys), h, c


def _gru_composed(x, h, w_ih, w_hh, b_ih, b_hh):
    H = h.shape[1]
    ys = []
    for t in range(x.shape[0]):
        gi, gh = F.linear(x[t], w_ih, b_ih), F.linear(h, w_hh, b_hh)
        r = (gi[:, :H] + gh[:, :H]).sigmoid()
        z = (gi[:, H:2 * H] + gh[:, H:2 * H]).sigmoid()
        n = (gi[:, 2 * H:] + r * gh[:, 2 * H:]).tanh()
        h = (1 - z) * n + z * h
        ys.append(h)
    return shendu.stack(ys), h


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_fused_equals_composed(mode):
    G, S = (4, 2) if mode == "LSTM" else (3, 1)
    r = np.random.default_rng(3)
    arrays = [r.standard_normal((6, 2, 3))] + [r.standard_normal((2, 4)) for _ in range(S)] + \
        [r.standard_normal((G * 4, 3)), r.standard_normal((G * 4, 4)), r.standard_normal(G * 4),
         r.standard_normal(G * 4)]
    results = []
    for fused in (True, False):
        ts = [shendu.tensor(a, requires_grad=True) for a in arrays]
        x, states, w = ts[0], ts[1:1 + S], ts[1 + S:]
        if fused:
            hx = [s.reshape(1, 2, 4) for s in states]
            y, final = (F.lstm if mode == "LSTM" else F.gru)(x, tuple(hx) if S == 2 else hx[0], w)
            outs = [y] + [s.reshape(2, 4) for s in (final if S == 2 else [final])]
        else:
            outs = list((_lstm_composed if mode == "LSTM" else _gru_composed)(x, *states, *w))
        v = np.random.default_rng(4)
        sum(((o * shendu.tensor(v.standard_normal(o.shape))).sum() for o in outs), shendu.tensor(0.0)).backward()
        results.append(([o.numpy() for o in outs], [t.grad.numpy() for t in ts]))
    for a, b in zip(results[0][0] + results[0][1], results[1][0] + results[1][1]):
        assert_close(a, b, what=f"fused vs composed {mode}", **TOL64)


@pytest.mark.parametrize("mode", MODES)
def test_gradcheck_two_step_sequence(mode):
    m = OURS[mode](2, 2, bidirectional=True, **({"nonlinearity": "relu"} if mode == "RNN_RELU" else {})).double()

    class WithLengths(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = m

        def forward(self, x):
            y, state = self.rnn(x, lengths=[2, 1])
            return y, (state[0] if isinstance(state, tuple) else state)

    x = shendu.tensor(np.random.default_rng(5).standard_normal((2, 2, 2)) + 0.3, requires_grad=True)
    shendu.gradcheck(WithLengths(), x)                       # every parameter
    shendu.gradcheck(lambda t: WithLengths()(t), x)          # the input


# ---------------------------------------------------------------- variable lengths
@pytest.mark.parametrize("mode", MODES)
def test_padding_never_leaks(mode):
    rng = np.random.default_rng(6)
    m = OURS[mode](3, 4, num_layers=2, bidirectional=True, batch_first=True).double()
    lengths = [5, 2, 4]
    x = rng.standard_normal((3, 5, 3))
    garbage = x.copy()
    for n, ln in enumerate(lengths):
        garbage[n, ln:] = rng.standard_normal((5 - ln, 3)) * 100
    results = []
    for data in (x, garbage):
        sx = shendu.tensor(data, requires_grad=True)
        y, state = m(sx, lengths=lengths)
        h = state[0] if isinstance(state, tuple) else state
        (y.sum() + (h * h).sum()).backward()
        results.append((y.numpy(), h.numpy(), sx.grad.numpy(), [p.grad.numpy().copy() for p in m.parameters()]))
        m.zero_grad()
    (y0, h0, gx0, gp0), (y1, h1, gx1, gp1) = results
    for n, ln in enumerate(lengths):
        assert np.all(y0[n, ln:] == 0), "padded outputs must be zero"
        assert np.all(gx0[n, ln:] == 0), "padded inputs must get no gradient"
    np.testing.assert_allclose(y1, y0, rtol=1e-12, atol=0)
    np.testing.assert_allclose(h1, h0, rtol=1e-12, atol=0)
    np.testing.assert_allclose(gx1, gx0, rtol=1e-12, atol=0)
    for a, b in zip(gp1, gp0):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)
    # each sequence alone, unpadded, gives the same outputs and final states
    for n, ln in enumerate(lengths):
        y_alone, state_alone = m(shendu.tensor(x[n:n + 1, :ln]))
        h_alone = state_alone[0] if isinstance(state_alone, tuple) else state_alone
        np.testing.assert_allclose(y0[n:n + 1, :ln], y_alone.numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(h0[:, n:n + 1], h_alone.numpy(), rtol=1e-12, atol=1e-14)


def test_sequence_mask():
    m = F.sequence_mask([2, 0, 3], 4).numpy()
    assert m.dtype == bool and m.tolist() == [[1, 1, 0, 0], [0, 0, 0, 0], [1, 1, 1, 0]]
    assert F.sequence_mask(shendu.tensor([1, 2])).shape == (2, 2)


# ---------------------------------------------------------------- training
def test_truncated_bptt_carries_state_and_cuts_graph():
    shendu.manual_seed(0)
    m = nn.LSTM(2, 3).double()
    x = shendu.tensor(np.random.default_rng(7).standard_normal((8, 2, 2)))
    _, full_state = m(x)
    state = None
    for chunk in (x[:4], x[4:]):  # two chunks of a stream
        m.zero_grad()
        y, state = m(chunk, state)
        y.sum().backward()
        state = F.detach_state(state)
        assert all(not s.requires_grad and s._ctx is None for s in state)
    for a, b in zip(state, full_state):  # the state was carried across the cut
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)
    # the last chunk's gradients are those of the chunk alone, started from the carried state
    truncated = [p.grad.numpy().copy() for p in m.parameters()]
    m.zero_grad()
    _, mid_state = m(x[:4])
    y, _ = m(x[4:], F.detach_state(mid_state))
    y.sum().backward()
    for a, p in zip(truncated, m.parameters()):
        np.testing.assert_allclose(a, p.grad.numpy(), rtol=1e-12)
    assert F.detach_state(None) is None
    assert isinstance(F.detach_state([shendu.ones(2)]), list)


def test_gradients_are_ordinary_parameter_gradients():
    m = nn.GRU(3, 5, num_layers=2)
    y, h = m(shendu.randn(20, 4, 3) * 10)
    (y * 100).sum().backward()
    params = list(m.parameters())
    assert all(p.grad is not None and p.grad.shape == p.shape for p in params)
    total = shendu.optim.clip_grad_norm_(params, max_norm=1.0)
    assert float(total) > 1.0
    norm = np.sqrt(sum((p.grad.numpy().astype(np.float64) ** 2).sum() for p in params))
    assert norm == pytest.approx(1.0, rel=1e-4)


def test_dropout_between_layers_only_in_training():
    shendu.manual_seed(1)
    m = nn.LSTM(3, 8, num_layers=2, dropout=0.5).double()
    plain = nn.LSTM(3, 8, num_layers=2).double()
    plain.load_state_dict(m.state_dict())
    x = shendu.tensor(np.random.default_rng(8).standard_normal((4, 2, 3)))
    y_train = m(x)[0].numpy()
    assert not np.allclose(y_train, plain(x)[0].numpy())
    m.eval()
    np.testing.assert_array_equal(m(x)[0].numpy(), plain(x)[0].numpy())
    one = nn.GRU(3, 4, dropout=0.5).double()  # one layer: nothing between layers to drop
    y1 = one(x)[0].numpy()
    np.testing.assert_array_equal(y1, one(x)[0].numpy())


def test_no_graph_under_no_grad():
    m = nn.LSTM(3, 4)
    with shendu.no_grad():
        y, (h, c) = m(shendu.randn(5, 2, 3))
    assert not y.requires_grad and not h.requires_grad


# ---------------------------------------------------------------- errors
def test_errors_say_what_was_expected():
    m = nn.LSTM(3, 4, num_layers=2)
    with pytest.raises(ValueError, match="expected input with 3 features"):
        m(shendu.randn(5, 2, 7))
    with pytest.raises(ValueError, match=r"expected h_0 of shape \(2, 2, 4\)"):
        m(shendu.randn(5, 2, 3), (shendu.zeros(1, 2, 4), shendu.zeros(2, 2, 4)))
    with pytest.raises(ValueError, match=r"expected lengths of shape \(2,\)"):
        m(shendu.randn(5, 2, 3), lengths=[5, 2, 1])
    with pytest.raises(ValueError, match="3 dimensions"):
        m(shendu.randn(5, 2, 3, 1))
    with pytest.raises(TypeError, match="dtype"):
        m(shendu.randn(5, 2, 3, dtype=shendu.float64))
    with pytest.raises(TypeError, match="tuple"):
        m(shendu.randn(5, 2, 3), shendu.zeros(2, 2, 4))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size"):
        nn.GRU(3, 0)
    with pytest.raises(ValueError, match="expected input with 3 features"):
        nn.GRUCell(3, 4)(shendu.randn(2, 5))


# ---------------------------------------------------------------- models
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_text_classifier_ignores_padding(cell):
    model = TextClassifier(50, 8, 6, num_classes=3, cell=cell, bidirectional=True, num_layers=2, padding_idx=0)
    ids = np.array([[4, 9, 2, 0, 0], [7, 1, 3, 8, 5]])
    other = ids.copy()
    other[0, 3:] = [11, 12]  # whatever sits in the padding
    a = model(shendu.tensor(ids), lengths=[3, 5]).numpy()
    b = model(shendu.tensor(other), lengths=[3, 5]).numpy()
    assert a.shape == (2, 3)
    np.testing.assert_allclose(a, b, rtol=1e-6)
    assert not np.allclose(model(shendu.tensor(other)).numpy()[0], a[0])  # without lengths it would read them


def test_sequence_regressor_learns_a_sum():
    shendu.manual_seed(0)
    rng = np.random.default_rng(0)
    model = SequenceRegressor(1, 12, cell="gru")
    opt = shendu.optim.Adam(model.parameters(), lr=0.02)
    x_test = rng.random((64, 5, 1)).astype(np.float32)
    y_test = x_test.sum(axis=1)

    def mse():
        return F.mse_loss(model(shendu.tensor(x_test)), shendu.tensor(y_test)).item()

    before = mse()
    for _ in range(150):
        x = rng.random((32, 5, 1)).astype(np.float32)
        loss = F.mse_loss(model(shendu.tensor(x)), shendu.tensor(x.sum(axis=1)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert mse() < before / 20


def test_char_lm_learns_a_cycle_and_samples_it():
    shendu.manual_seed(0)
    model = CharLM(4, embed_dim=8, hidden_size=16)
    opt = shendu.optim.Adam(model.parameters(), lr=0.03)
    stream = np.tile(np.arange(4), 10)[None].repeat(3, axis=0)  # 0 1 2 3 0 1 2 3 …
    for step in range(80):
        off = step % 4
        x, y = stream[:, off:off + 12], stream[:, off + 1:off + 13]
        logits, _ = model(shendu.tensor(x))
        loss = F.cross_entropy(logits.reshape(-1, 4), shendu.tensor(y.reshape(-1)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05
    assert model.sample([2, 3], length=8, greedy=True).tolist() == [0, 1, 2, 3, 0, 1, 2, 3]
    shendu.manual_seed(1)
    a = model.sample([[0], [1]], length=5, temperature=0.5)
    shendu.manual_seed(1)
    assert a.shape == (2, 5) and np.array_equal(a, model.sample([[0], [1]], length=5, temperature=0.5))
    assert model.training
    with pytest.raises(ValueError, match="temperature"):
        model.sample([0], 3, temperature=0)


# ---------------------------------------------------------------- the examples still run
def _example(name):
    import importlib.util
    import pathlib
    path = pathlib.Path(__file__).resolve().parent.parent / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_adding_problem_example_runs():
    mod = _example("adding_problem")
    x, y = mod.adding_batch(5, 10, np.random.default_rng(0))
    assert x.shape == (5, 10, 2) and np.all(x[:, :, 1].sum(axis=1) == 2)
    np.testing.assert_allclose(y[:, 0], (x[:, :, 0] * x[:, :, 1]).sum(axis=1), rtol=1e-6)
    curve, mse, _ = mod.train("lstm", T=10, hidden=4, steps=3, batch=4, eval_every=3, n_test=8, log=lambda s: None)
    assert [s for s, _ in curve] == [0, 3] and np.isfinite(mse)


def test_char_lm_example_runs(monkeypatch, capsys):
    mod = _example("char_lm")
    monkeypatch.setattr("sys.argv", ["char_lm.py", "--steps", "2", "--hidden", "8", "--embed", "4", "--batch", "2",
                                     "--seq", "8"])
    monkeypatch.setattr(mod, "load_text", lambda path=None: "hello world, hello recurrent networks. " * 20)
    mod.main()
    out = capsys.readouterr().out
    assert "validation:" in out and "sample (temperature 0.7):" in out
