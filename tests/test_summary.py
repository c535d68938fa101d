"""The model summary: parameter counts, MACs, connections, memory, and the printed table matching the data."""
import json
import re

import numpy as np
import pytest

import shendu
from shendu import nn

ROW_KEYS = {"name", "type", "output_shape", "params", "trainable", "non_trainable", "macs", "flops", "connections"}


class Lin(nn.Module):
    """A minimal Linear (the tests do not depend on nn.Linear): y = x Wᵀ + b, MACs = in·out per sample."""

    def __init__(self, n_in, n_out, bias=True):
        super().__init__()
        self.weight = nn.Parameter(shendu.randn(n_out, n_in))
        self.bias = nn.Parameter(shendu.zeros(n_out)) if bias else None

    def forward(self, x):
        return shendu.linear(x, self.weight, self.bias)

    def macs(self, inputs, output):
        return output.numel() * self.weight.shape[1]


Linear = getattr(nn, "Linear", None) or Lin


class Tanh(nn.Module):
    def forward(self, x):
        return x.tanh()


class Norm(nn.Module):
    """BatchNorm-like: a scale parameter, two floating running buffers and an integer counter."""

    def __init__(self, n):
        super().__init__()
        self.weight = nn.Parameter(shendu.ones(n))
        self.register_buffer("running_mean", shendu.zeros(n))
        self.register_buffer("running_var", shendu.ones(n))
        self.register_buffer("num_batches_tracked", shendu.tensor(0))

    def forward(self, x):
        return x * self.weight


class Block(nn.Module):
    """A container with a direct parameter of its own besides its children."""

    def __init__(self):
        super().__init__()
        self.inner = nn.Sequential(Lin(16, 16), Tanh())
        self.gate = nn.Parameter(shendu.ones(16))

    def forward(self, x):
        return self.inner(x) * self.gate


def mlp():
    return nn.Sequential(Lin(8, 16), Tanh(), Block(), Norm(16), Lin(16, 4, bias=False))


def quiet(model, shape, **kw):
    return shendu.summary(model, shape, print_fn=None, **kw)


def table_rows(text):
    """The header and body of the printed table (between the "=" rules, less the "-" rule), split into cells."""
    lines = text.splitlines()
    start = next(i for i, l in enumerate(lines) if set(l) == {"="}) + 1
    end = next(i for i in range(start, len(lines)) if set(lines[i]) == {"="})
    return [re.split(r"\s{2,}", l.strip()) for l in lines[start:end] if set(l) != {"-"}]


# ---------------------------------------------------------------- counts
def test_linear_5_to_10_has_60_parameters_and_50_macs():
    layer = Linear(5, 10)
    s = quiet(nn.Sequential(layer), (5,))
    (row,) = s.rows
    assert row["params"] == 60 == 5 * 10 + 10 and row["trainable"] == 60 and row["non_trainable"] == 0
    assert row["macs"] == 50 and row["flops"] == 100
    assert row["connections"] == 60          # MACs + one bias per output
    assert row["output_shape"] == (1, 10) and row["type"] == type(layer).__name__
    assert s.total_params == 60 == layer.num_parameters()
    assert s.param_bytes == 60 * 4 and s.activation_bytes == 10 * 4


def test_a_single_layer_model_is_its_own_row():
    s = quiet(Lin(5, 10), 5)
    assert [r["name"] for r in s.rows] == ["(model)"] and s.total_params == 60


def test_totals_add_up_to_num_parameters():
    model = mlp()
    s = quiet(model, (8,))
    assert s.total_params == model.num_parameters() + 2 * 16     # + the floating buffers
    assert s.trainable_params == model.num_parameters(trainable_only=True) == 8 * 16 + 16 + 16 * 16 + 16 + 16 + 16 + 64
    assert s.total_macs == 8 * 16 + 16 * 16 + 16 * 4
    assert s.total_flops == 2 * s.total_macs
    for key, total in (("params", s.total_params), ("trainable", s.trainable_params),
                       ("non_trainable", s.non_trainable_params), ("macs", s.total_macs),
                       ("connections", s.total_connections)):
        assert sum(r[key] for r in s.rows) == total


def test_rows_are_the_modules_in_order_with_their_own_parameters():
    s = quiet(mlp(), (8,))
    by_name = {r["name"]: r for r in s.rows}
    assert [r["name"] for r in s.rows] == ["0", "1", "2", "2.inner", "2.inner.0", "2.inner.1", "3", "4"]
    assert by_name["2"]["params"] == 16                  # the gate only, not its children's
    assert by_name["2.inner"]["params"] == 0 and by_name["2.inner"]["output_shape"] == (1, 16)
    assert by_name["4"]["connections"] == by_name["4"]["macs"] == 64     # no bias: connections = MACs


def test_frozen_parameters_and_buffers_are_non_trainable():
    model = mlp()
    model[0].requires_grad_(False)
    s = quiet(model, (8,))
    norm = next(r for r in s.rows if r["name"] == "3")
    assert norm["trainable"] == 16 and norm["non_trainable"] == 32     # running mean + var; the int counter is not
    first = s.rows[0]
    assert first["trainable"] == 0 and first["non_trainable"] == 8 * 16 + 16
    assert s.trainable_params == model.num_parameters(trainable_only=True)
    assert s.non_trainable_params == 8 * 16 + 16 + 32
    assert s.param_bytes == 4 * s.total_params                          # float32 throughout
    assert s.param_bytes_by_dtype == {"float32": 4 * s.total_params}


def test_shared_parameters_are_counted_once():
    layer = Lin(4, 4)
    model = nn.Sequential(layer, Tanh(), layer)
    s = quiet(model, (4,))
    assert s.total_params == model.num_parameters() == 20
    assert s.total_macs == 2 * 16                                       # called twice: both calls cost


def test_activation_bytes_are_the_leaf_outputs_of_one_sample():
    s = quiet(mlp(), (8,), batch_size=5)
    assert s.activation_bytes == 4 * (16 + 16 + 16 + 16 + 16 + 4)       # leaves only, not Block / Sequential
    s64 = quiet(mlp().double(), (8,))
    assert s64.activation_bytes == 2 * s.activation_bytes and s64.param_bytes_by_dtype.keys() == {"float64"}


def test_numbers_are_per_sample_whatever_the_batch_size():
    one, four = quiet(mlp(), (8,)), quiet(mlp(), (8,), batch_size=4)
    for a, b in zip(one.rows, four.rows):
        same = [k for k in a if k != "output_shape"]
        assert [a[k] for k in same] == [b[k] for k in same]
        assert b["output_shape"] == (4,) + a["output_shape"][1:]
    assert four.input_shapes == [(4, 8)]


def test_connections_method_overrides_the_default():
    class Subsampling(nn.Module):
        """LeNet-5's S2: a trainable coefficient and bias per map; each output sees 4 inputs and a bias."""

        def __init__(self, maps):
            super().__init__()
            self.weight, self.bias = nn.Parameter(shendu.ones(maps)), nn.Parameter(shendu.zeros(maps))

        def forward(self, x):
            n, c, h, w = x.shape
            return x.reshape(n, c, h // 2, 2, w // 2, 2).sum(axis=(3, 5))

        def connections(self, inputs, output):
            return output.numel() * 5

    s = quiet(Subsampling(6), (6, 28, 28))
    assert s.rows[0]["connections"] == 5880 and s.rows[0]["params"] == 12      # LeCun et al. 1998, S2


def test_lenet_c1_if_conv2d_is_available():
    Conv2d = getattr(nn, "Conv2d", None)
    if Conv2d is None:
        pytest.skip("shendu.nn.Conv2d is not written yet")
    s = quiet(nn.Sequential(Conv2d(1, 6, 5)), (1, 32, 32))
    row = s.rows[0]
    assert row["params"] == 5 * 5 * 1 * 6 + 6 == 156                  # k_h·k_w·C_in·C_out + C_out
    assert row["macs"] == 28 * 28 * 6 * 25 and row["connections"] == 122_304   # LeCun et al. 1998, C1
    assert row["output_shape"] == (1, 6, 28, 28)


# ---------------------------------------------------------------- the pass itself
class Probe(nn.Module):
    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x):
        self.seen.append((self.training, shendu.is_grad_enabled(), x.shape, x.dtype, float(x.numpy().sum())))
        return x


def test_runs_on_zeros_in_eval_mode_without_grad_and_restores_modes():
    probe, other = Probe(), Tanh()
    model = nn.Sequential(probe, other).train()
    other.eval()                                   # a mixed state is restored exactly
    quiet(model, (3, 2), batch_size=2)
    assert probe.seen == [(False, False, (2, 3, 2), np.dtype("float32"), 0.0)]
    assert model.training and probe.training and not other.training
    assert shendu.is_grad_enabled()


def test_hooks_are_removed_and_modes_restored_when_forward_fails():
    class Broken(nn.Module):
        def forward(self, x):
            raise RuntimeError("broken on purpose")

    model = nn.Sequential(Tanh(), Broken())
    with pytest.raises(RuntimeError, match="on purpose"):
        quiet(model, (3,))
    assert all(not m._forward_hooks for m in model.modules()) and model.training


def test_hooks_are_removed_after_success():
    model = mlp()
    quiet(model, (8,))
    assert all(not m._forward_hooks for m in model.modules())


def test_several_inputs_and_an_integer_dtype():
    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.table = nn.Parameter(shendu.randn(10, 3))
            self.seen = None

        def forward(self, ids, x):
            self.seen = (ids.dtype, x.dtype)
            return self.table[ids] + x

    model = Pair()
    s = quiet(model, [(4,), (4, 3)], dtype=["int64", None])
    assert model.seen == (np.dtype("int64"), np.dtype("float32"))
    assert s.input_shapes == [(1, 4), (1, 4, 3)] and s.rows[0]["output_shape"] == (1, 4, 3)


def test_multiple_outputs_tuples_dicts_lists():
    class Heads(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = Lin(4, 3), Lin(4, 2)

        def forward(self, x):
            return self.a(x), {"b": self.b(x), "rest": [x, x]}

    model = nn.Sequential(Heads())
    s = quiet(model, (4,))
    heads = s.rows[0]
    assert heads["output_shape"] == [(1, 3), {"b": (1, 2), "rest": [(1, 4), (1, 4)]}]
    assert "[(1, 3), {b: (1, 2), rest: [(1, 4), (1, 4)]}]" in str(s)
    assert s.activation_bytes == 4 * (3 + 2)
    json.dumps(s.to_dict())


def test_a_module_that_is_never_called_still_counts():
    class Partial(nn.Module):
        def __init__(self):
            super().__init__()
            self.used, self.spare = Lin(2, 2), Lin(2, 3)

        def forward(self, x):
            return self.used(x)

    s = quiet(Partial(), (2,))
    spare = next(r for r in s.rows if r["name"] == "spare")
    assert spare["output_shape"] is None and spare["params"] == 9 and spare["macs"] == 0
    assert s.total_params == 15


def test_bad_arguments():
    with pytest.raises(TypeError, match="input_shape"):
        quiet(mlp(), "8")
    with pytest.raises(ValueError, match="batch_size"):
        quiet(mlp(), (8,), batch_size=0)


# ---------------------------------------------------------------- output
def test_printed_table_matches_the_data():
    s = quiet(mlp(), (8,))
    text = str(s)
    cells = table_rows(text)
    assert cells[0] == ["Layer (path)", "Type", "Output shape", "Params", "Trainable", "Non-trainable", "MACs",
                        "FLOPs", "Connections"]
    assert len(cells) == len(s.rows) + 1
    for row, printed in zip(s.rows, cells[1:]):
        name, typ, shape, *numbers = printed
        assert (name, typ) == (row["name"], row["type"])
        assert shape == "(" + ", ".join(map(str, row["output_shape"])) + ")"
        assert [int(n.replace(",", "")) for n in numbers] == [row[k] for k in
                                                            ("params", "trainable", "non_trainable", "macs", "flops",
                                                             "connections")]
    for label, value in (("Total params", s.total_params), ("Trainable params", s.trainable_params),
                         ("Non-trainable params", s.non_trainable_params), ("MACs per sample", s.total_macs),
                         ("FLOPs per sample", s.total_flops), ("Parameter memory", s.param_bytes),
                         ("Activation memory", s.activation_bytes)):
        line = next(l for l in text.splitlines() if l.startswith(label + ":"))
        assert int(line.split(":")[1].split()[0].replace(",", "")) == value, line
    assert "1 multiply-add = 2 FLOPs" in text


def test_thousands_separators():
    s = quiet(nn.Sequential(Lin(100, 100)), (100,))
    assert "10,100" in str(s) and "Total params:          10,100" in str(s)


def test_print_fn_and_method(capsys):
    lines = []
    model = mlp()
    s = shendu.summary(model, (8,), print_fn=lines.append)
    assert lines == [str(s)]
    assert capsys.readouterr().out == ""
    via_method = model.summary((8,))
    assert capsys.readouterr().out.strip() == str(s).strip()
    assert via_method.to_dict() == s.to_dict()
    assert repr(s).startswith("Summary(Sequential:")


def test_to_dict_is_json_and_complete():
    s = quiet(mlp(), (8,))
    d = json.loads(json.dumps(s.to_dict()))
    assert d == s.to_dict()
    assert all(set(r) == ROW_KEYS for r in d["rows"])
    assert d["rows"][0]["output_shape"] == [1, 16]
    for key in ("total_params", "trainable_params", "non_trainable_params", "total_macs", "total_flops",
                "param_bytes", "activation_bytes"):
        assert d[key] == getattr(s, key)


def test_with_the_library_layers_if_available():
    """Dense is built by the pass; BatchNorm's running statistics are non-trainable, its counter is not counted."""
    needed = ("Dense", "BatchNorm1d", "Dropout", "Linear")
    if not all(hasattr(nn, n) for n in needed):
        pytest.skip("the library layers are not all written yet")
    model = nn.Sequential(nn.Dense(16, activation="relu"), nn.BatchNorm1d(16), nn.Dropout(0.5), nn.Linear(16, 4))
    s = quiet(model, (8,))
    assert [r["type"] for r in s.rows] == ["Dense", "BatchNorm1d", "Dropout", "Linear"]
    assert [r["params"] for r in s.rows] == [8 * 16 + 16, 16 + 16 + 16 + 16, 0, 16 * 4 + 4]
    assert s.rows[1]["non_trainable"] == 32 and s.trainable_params == model.num_parameters() == 244
    assert s.rows[0]["macs"] == 8 * 16 and s.rows[3]["macs"] == 16 * 4
    assert s.param_bytes == 4 * 276
