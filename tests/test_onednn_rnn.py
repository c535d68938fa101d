"""oneDNN's recurrent primitives behind F.rnn / F.lstm / F.gru (shendu/backends/onednn_rnn.py): outputs, final
states and every gradient against the NumPy reference and PyTorch (float32, relative 1e-5), over layers,
directions, batch_first, biases and initial states; the fallbacks (lengths, float64) and a few training steps."""
import numpy as np
import pytest

import shendu
import shendu.functional as F
from shendu import backend, nn
from shendu.backends import onednn
from test_onednn import compare, kernels_module, needs_onednn

torch = pytest.importorskip("torch")

OURS = {"RNN_TANH": (F.rnn, dict(nonlinearity="tanh")), "RNN_RELU": (F.rnn, dict(nonlinearity="relu")),
        "LSTM": (F.lstm, {}), "GRU": (F.gru, {})}
GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
CONFIGS = [dict(), dict(num_layers=2), dict(bidirectional=True), dict(num_layers=2, bidirectional=True, batch_first=True),
           dict(bias=False), dict(with_hx=False, num_layers=2), dict(L=1), dict(N=1, bidirectional=True)]


def _torch_layer(mode, I, H, num_layers, bidirectional, batch_first, bias):
    kw = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias)
    if mode.startswith("RNN"):
        return torch.nn.RNN(I, H, nonlinearity=mode[4:].lower(), **kw)
    return getattr(torch.nn, mode)(I, H, **kw)


def _case(mode, L=5, N=3, I=4, H=6, num_layers=1, bidirectional=False, batch_first=False, bias=True, with_hx=True):
    """(shendu fn, torch fn, arrays): both functions map (x, [h0, [c0]], *weights) to one vector holding the
    output and the final states, so that one comparison covers every output and every gradient."""
    t_layer = _torch_layer(mode, I, H, num_layers, bidirectional, batch_first, bias)
    names = [name for name, _ in t_layer.named_parameters()]
    rng = np.random.default_rng(sum(map(ord, mode)) + L * N)
    D, S = 2 if bidirectional else 1, 2 if mode == "LSTM" else 1
    x = rng.standard_normal((N, L, I) if batch_first else (L, N, I))
    states = [rng.standard_normal((num_layers * D, N, H)) for _ in range(S)] if with_hx else []
    weights = [p.detach().numpy() for p in t_layer.parameters()]
    fn, options = OURS[mode]

    def ours(x, *rest):
        hx = None if not with_hx else (rest[0] if S == 1 else tuple(rest[:S]))
        y, final = fn(x, hx, list(rest[len(states):]), num_layers=num_layers, bidirectional=bidirectional,
                      batch_first=batch_first, **options)
        finals = final if S == 2 else (final,)
        return shendu.cat([y.reshape(-1)] + [f.reshape(-1) for f in finals])

    def theirs(x, *rest):
        hx = None if not with_hx else (rest[0] if S == 1 else tuple(rest[:S]))
        params = dict(zip(names, rest[len(states):]))
        y, final = torch.func.functional_call(t_layer, params, (x, hx))
        finals = final if S == 2 else (final,)
        return torch.cat([y.reshape(-1)] + [f.reshape(-1) for f in finals])

    return ours, theirs, [x, *states, *weights]


@needs_onednn
@pytest.mark.parametrize("mode", list(OURS))
@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "plain")
def test_stack_on_onednn(mode, cfg):
    ours, theirs, arrays = _case(mode, **cfg)
    calls = compare(ours, theirs, arrays, ["rnn_forward", "rnn_backward"])
    layers, D = cfg.get("num_layers", 1), 2 if cfg.get("bidirectional") else 1
    assert calls["rnn_forward"] == calls["rnn_backward"] == layers * D  # every layer and direction, no fallback
    assert "rnn_forward fallback" not in calls


@needs_onednn
@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_wider_layer_on_onednn(mode):
    """A size where oneDNN's packed GEMM panels and blocked gate layouts are in play (H = 64, batch 16)."""
    ours, theirs, arrays = _case(mode, L=7, N=16, I=24, H=64, num_layers=2, bidirectional=True)
    compare(ours, theirs, arrays, ["rnn_forward", "rnn_backward"])


@needs_onednn
@pytest.mark.parametrize("cell", ["lstm_cell", "gru_cell", "rnn_cell"])
def test_cells_run_as_one_step_sequences(cell):
    rng = np.random.default_rng(1)
    G = {"lstm_cell": 4, "gru_cell": 3, "rnn_cell": 1}[cell]
    S = 2 if cell == "lstm_cell" else 1
    N, I, H = 3, 5, 4
    arrays = [rng.standard_normal((N, I)), *[rng.standard_normal((N, H)) for _ in range(S)],
              rng.standard_normal((G * H, I)), rng.standard_normal((G * H, H)), rng.standard_normal(G * H),
              rng.standard_normal(G * H)]

    def run(lib, fn):
        def call(x, *rest):
            out = fn(x, rest[0] if S == 1 else tuple(rest[:S]), *rest[S:])
            return lib.cat([o.reshape(-1) for o in (out if S == 2 else (out,))])
        return call
    theirs = getattr(torch, "rnn_tanh_cell" if cell == "rnn_cell" else cell)
    compare(run(shendu, getattr(F, cell)), run(torch, theirs), arrays, ["rnn_forward", "rnn_backward"])


@needs_onednn
@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_lengths_and_float64_fall_back_to_numpy(mode):
    """oneDNN has no per-sequence lengths and no float64: those calls run the NumPy loop, same answers."""
    layer = getattr(nn, mode)(4, 5)
    x = np.random.default_rng(2).standard_normal((6, 3, 4)).astype(np.float32)
    results = {}
    for name in ("numpy", "onednn"):
        with backend.use_kernels(name):
            before = dict(kernels_module().counts)
            y, _ = layer(shendu.tensor(x), lengths=[6, 2, 4])
            results[name] = y.numpy()
            y64, _ = layer.double()(shendu.tensor(x.astype(np.float64)))
            layer.float()
            ran = {k: v - before.get(k, 0) for k, v in kernels_module().counts.items() if v != before.get(k, 0)}
    assert not ran.get("rnn_forward"), ran
    np.testing.assert_allclose(results["onednn"], results["numpy"], rtol=0, atol=0)


@needs_onednn
def test_inference_keeps_no_workspace_and_matches_training():
    layer = nn.LSTM(4, 8, num_layers=2)
    x = shendu.tensor(np.random.default_rng(3).standard_normal((5, 2, 4)).astype(np.float32))
    with backend.use_kernels("onednn"):
        with shendu.no_grad():
            y_infer, _ = layer(x)
        y_train, _ = layer(x)
    np.testing.assert_allclose(y_infer.numpy(), y_train.numpy(), rtol=1e-6, atol=1e-7)
    assert y_train.requires_grad and not y_infer.requires_grad


@needs_onednn
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_recurrent_classifier_trains_like_numpy(cell):
    """Five Adam steps of a bidirectional two-layer recurrent classifier: the same losses on both paths."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((8, 6, 5)).astype(np.float32)
    y = rng.integers(0, 3, 6)
    losses = {}
    for name in ("numpy", "onednn"):
        shendu.manual_seed(0)
        rnn = (nn.LSTM if cell == "lstm" else nn.GRU)(5, 7, num_layers=2, bidirectional=True)
        head = nn.Linear(14, 3)
        params = list(rnn.parameters()) + list(head.parameters())
        opt = shendu.optim.Adam(params, lr=0.05)
        with backend.use_kernels(name):
            losses[name] = []
            for _ in range(5):
                opt.zero_grad()
                out, _ = rnn(shendu.tensor(x))
                loss = F.cross_entropy(head(out[-1]), shendu.tensor(y))
                loss.backward()
                opt.step()
                losses[name].append(float(loss.numpy()))
    np.testing.assert_allclose(losses["onednn"], losses["numpy"], rtol=2e-5)
    assert losses["onednn"][-1] < losses["onednn"][0]


def test_unavailable_library_means_numpy():
    """Without oneDNN (or with it forced off) the recurrent layers run the NumPy loop and never touch the kernels."""
    with backend.use_kernels("numpy"):
        assert backend.fast_kernels() is None
        y, _ = F.gru(shendu.randn(3, 2, 4), None, [shendu.randn(9, 4), shendu.randn(9, 3)])
    assert y.shape == (3, 2, 3)
    assert onednn.available() in (True, False)
