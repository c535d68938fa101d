"""Module, Parameter, the containers, state dicts, hooks, build, and shape errors named by layer path."""
from collections import OrderedDict

import numpy as np
import pytest

import shendu
from shendu import nn
from shendu.nn.module import IncompatibleKeys, StateDictKeyError


class Net(nn.Module):
    """A small nested model: an encoder Sequential, a head in a ModuleDict, a parameter and a buffer."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(5, 16), nn.BatchNorm1d(16), nn.Linear(16, 8))
        self.heads = nn.ModuleDict({"out": nn.Linear(4, 1)})
        self.scale = nn.Parameter(shendu.ones(1))
        self.register_buffer("steps", shendu.zeros(1))

    def forward(self, x):
        return self.heads["out"](self.encoder(x)) * self.scale


# ---------------------------------------------------------------- registration and traversal
def test_assignment_registers_parameters_modules_and_buffers():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "encoder.0.weight", "encoder.0.bias", "encoder.1.weight", "encoder.1.bias",
                     "encoder.2.weight", "encoder.2.bias", "heads.out.weight", "heads.out.bias"]
    assert [n for n, _ in net.named_buffers()] == ["steps", "encoder.1.running_mean", "encoder.1.running_var",
                                                    "encoder.1.num_batches_tracked"]
    assert [n for n, _ in net.named_children()] == ["encoder", "heads"]
    assert [n for n, _ in net.named_modules()] == ["", "encoder", "encoder.0", "encoder.1", "encoder.2", "heads",
                                                   "heads.out"]
    assert list(net.children()) == [net.encoder, net.heads]
    assert [n for n, _ in net.named_parameters(recurse=False)] == ["scale"]
    assert len(list(net.parameters())) == 9
    assert net.num_parameters() == 1 + (5 * 16 + 16) + 2 * 16 + (16 * 8 + 8) + (4 + 1)


def test_shared_parameter_counted_once_and_deleted_attributes_unregister():
    a = nn.Linear(3, 3)
    seq = nn.Sequential(a, a)
    assert len(list(seq.parameters())) == 2
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]  # as torch: every name
    del a.bias
    assert [n for n, _ in a.named_parameters()] == ["weight"]


def test_rebinding_a_parameter_to_a_tensor_is_an_error_but_none_is_allowed():
    fc = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign a Tensor to parameter 'weight'"):
        fc.weight = fc.weight * 2
    fc.bias = None
    assert [n for n, _ in fc.named_parameters()] == ["weight"]
    fc.bias = nn.Parameter(shendu.zeros(2))
    assert [n for n, _ in fc.named_parameters()] == ["weight", "bias"]
    with pytest.raises(TypeError, match="buffer"):
        bn = nn.BatchNorm1d(2)
        bn.running_mean = [0.0, 0.0]


def test_super_init_is_required():
    class Bad(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)

    with pytest.raises(RuntimeError, match=r"call super\(\).__init__\(\) before"):
        Bad()


def test_register_buffer_persistent_and_name_checks():
    m = nn.Module()
    m.register_buffer("kept", shendu.zeros(2))
    m.register_buffer("derived", shendu.ones(2), persistent=False)
    assert list(m.state_dict()) == ["kept"]
    assert [n for n, _ in m.named_buffers()] == ["kept", "derived"]
    m.kept = shendu.ones(2)  # re-assigning keeps it a buffer
    assert m.state_dict()["kept"].numpy().tolist() == [1.0, 1.0]
    with pytest.raises(KeyError, match="'.'"):
        m.register_buffer("a.b", shendu.zeros(1))
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("training", shendu.zeros(1))


def test_get_submodule():
    net = Net()
    assert net.get_submodule("encoder.2") is net.encoder[2]
    assert net.get_submodule("") is net
    with pytest.raises(AttributeError, match="no child 'nope'"):
        net.get_submodule("encoder.nope")


def test_train_eval_propagate():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net and not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(TypeError, match="True or False"):
        net.train("no")


def test_zero_grad_sets_none_or_zeros():
    fc = nn.Linear(3, 2)
    fc(shendu.randn(4, 3)).sum().backward()
    assert fc.weight.grad is not None
    fc.zero_grad(set_to_none=False)
    assert np.all(fc.weight.grad.numpy() == 0) and fc.weight.grad.shape == (2, 3)
    fc.zero_grad()
    assert fc.weight.grad is None and fc.bias.grad is None


def test_to_casts_floating_parameters_and_buffers_only():
    bn = nn.BatchNorm1d(3).double()
    assert bn.weight.dtype == np.float64 and bn.running_mean.dtype == np.float64
    assert bn.num_batches_tracked.dtype == np.int64
    bn.float()
    assert bn.weight.dtype == np.float32


def test_forward_hooks_run_replace_and_remove():
    fc = nn.Linear(2, 2)
    seen = []
    handle = fc.register_forward_hook(lambda m, args, out: seen.append((m, args[0].shape, out.shape)))
    fc(shendu.randn(3, 2))
    assert seen == [(fc, (3, 2), (3, 2))]
    handle.remove()
    fc(shendu.randn(3, 2))
    assert len(seen) == 1
    fc.register_forward_hook(lambda m, args, out: out * 0)
    assert np.all(fc(shendu.randn(3, 2)).numpy() == 0)


def test_init_call_is_recorded_outermost_first():
    fc = nn.Linear(3, 4, bias=False)
    assert fc._init_call == (nn.Linear, (3, 4), {"bias": False})
    dense = nn.Dense(7, activation=None)
    assert dense._init_call[0] is nn.Dense and dense._init_call[1] == (7,)


# ---------------------------------------------------------------- state dicts
def test_state_dict_keys_and_order_match_torch():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Sequential(nn.Linear(8, 2), nn.LayerNorm(2)))
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8),
                                 torch.nn.Sequential(torch.nn.Linear(8, 2), torch.nn.LayerNorm(2)))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for k, v in theirs.state_dict().items():
        assert ours.state_dict()[k].shape == tuple(v.shape), k
    result = ours.load_state_dict(theirs.state_dict())  # torch tensors load directly
    assert result == IncompatibleKeys([], [])
    np.testing.assert_array_equal(ours[0].weight.numpy(), theirs[0].weight.detach().numpy())
    assert ours[0].weight.dtype == np.float32


def test_load_state_dict_round_trip_copies_values():
    a, b = Net(), Net()
    sd = a.state_dict()
    b.load_state_dict(sd)
    for (k, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        np.testing.assert_array_equal(x.numpy(), y.numpy(), err_msg=k)
    b.encoder[0].weight.data[0, 0] = 123.0  # a copy, not shared memory
    assert a.encoder[0].weight.data[0, 0] != 123.0


def test_load_state_dict_strict_names_missing_and_unexpected_keys():
    net = Net()
    sd = net.state_dict()
    del sd["encoder.2.bias"]
    sd["encoder.9.weight"] = shendu.zeros(1)
    with pytest.raises(StateDictKeyError) as info:
        net.load_state_dict(sd)
    msg = str(info.value)
    assert "missing keys: encoder.2.bias" in msg and "unexpected keys: encoder.9.weight" in msg
    assert not msg.startswith('"')  # no KeyError quoting
    assert net.load_state_dict(sd, strict=False) == IncompatibleKeys(["encoder.2.bias"], ["encoder.9.weight"])


def test_load_state_dict_shape_mismatch_names_key_and_leaves_model_unchanged():
    net = Net()
    before = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    sd = {k: shendu.tensor(np.full(v.shape, 7.0, dtype=v.dtype)) for k, v in net.state_dict().items()}
    sd["encoder.2.weight"] = shendu.zeros(8, 15)
    with pytest.raises(ValueError, match=r"key 'encoder.2.weight' has shape \(8, 15\) in the state dict but "
                                         r"\(8, 16\) in the model"):
        net.load_state_dict(sd)
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k], err_msg=k)


# ---------------------------------------------------------------- repr
def test_repr_matches_torch():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Linear(784, 10), nn.Sequential(nn.Linear(10, 10, bias=False)), nn.Flatten())
    theirs = torch.nn.Sequential(torch.nn.Linear(784, 10), torch.nn.Sequential(torch.nn.Linear(10, 10, bias=False)),
                                 torch.nn.Flatten())
    assert repr(ours) == repr(theirs)
    assert repr(nn.Linear(784, 10)) == "Linear(in_features=784, out_features=10, bias=True)"
    assert repr(nn.Module()) == "Module()"


def test_repr_of_a_module_with_config_and_children_matches_torch_layout():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def extra_repr(self):
            return "width=2"

    assert repr(Block()) == "Block(\n  width=2\n  (fc): Linear(in_features=2, out_features=2, bias=True)\n)"


# ---------------------------------------------------------------- containers
def test_sequential_from_arguments_list_and_ordered_dict():
    l1, l2 = nn.Linear(2, 3), nn.Linear(3, 1)
    for seq in (nn.Sequential(l1, l2), nn.Sequential([l1, l2])):
        assert len(seq) == 2 and seq[0] is l1 and seq[-1] is l2 and list(seq) == [l1, l2]
        assert list(seq.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]
    named = nn.Sequential(OrderedDict([("hidden", l1), ("out", l2)]))
    assert list(named.state_dict()) == ["hidden.weight", "hidden.bias", "out.weight", "out.bias"]
    assert named.hidden is l1 and named[1] is l2
    assert [n for n, _ in named[1:].named_children()] == ["out"]  # slices keep names
    x = shendu.randn(4, 2)
    np.testing.assert_allclose(named(x).numpy(), l2(l1(x)).numpy())
    named.append(nn.Identity())
    assert len(named) == 3
    with pytest.raises(TypeError, match="item 1 is a int"):
        nn.Sequential(l1, 3)


def test_module_list():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    ml.append(nn.Linear(2, 1))
    assert len(ml) == 4 and len(list(ml.parameters())) == 8
    assert isinstance(ml[1:], nn.ModuleList) and len(ml[1:]) == 3
    new = nn.Linear(2, 2)
    ml[-1] = new
    assert ml[3] is new
    with pytest.raises(IndexError):
        ml[4] = new
    ml.extend([nn.Identity()])
    assert [n for n, _ in ml.named_children()] == ["0", "1", "2", "3", "4"]


def test_module_dict():
    md = nn.ModuleDict({"a": nn.Linear(1, 1)})
    md["b"] = nn.Linear(1, 2)
    md.update({"c": nn.Identity()})
    assert list(md) == ["a", "b", "c"] and list(md.keys()) == ["a", "b", "c"] and "b" in md and len(md) == 3
    assert list(md.state_dict()) == ["a.weight", "a.bias", "b.weight", "b.bias"]
    assert isinstance(md.pop("b"), nn.Linear) and "b" not in md
    with pytest.raises(KeyError, match="'.'"):
        md["x.y"] = nn.Identity()
    with pytest.raises(KeyError, match="already exists"):
        md["keys"] = nn.Identity()  # would shadow a method
    with pytest.raises(TypeError, match="not a Module"):
        md["z"] = 3


# ---------------------------------------------------------------- build (lazy layers)
def test_build_creates_lazy_parameters_without_touching_state():
    model = nn.Sequential(nn.Dense(16), nn.BatchNorm1d(16), nn.Dropout(0.5), nn.Dense(3))
    assert model.num_parameters() == 2 * 16  # only BatchNorm's γ and β exist
    model[3].eval()  # a mixed mode is restored as it was
    assert model.build((None, 5)) is model
    assert model.num_parameters() == (5 * 16 + 16) + 2 * 16 + (16 * 3 + 3)
    assert [m.training for m in model.modules()] == [True, True, True, True, False]
    assert int(model[1].num_batches_tracked.item()) == 0
    np.testing.assert_array_equal(model[1].running_mean.numpy(), np.zeros(16))


def test_build_uses_the_model_float_dtype():
    model = nn.Sequential(nn.Linear(4, 4), nn.Dense(2)).double()
    model.build((1, 4))
    assert model[1].weight.dtype == np.float64


# ---------------------------------------------------------------- shape errors named by path
def test_error_in_sequential_names_layer_path_and_shapes_so_far():
    features = nn.Sequential(nn.Linear(5, 3), nn.Dropout(0.1), nn.BatchNorm1d(3), nn.Linear(16, 2))
    model = nn.Sequential(OrderedDict(features=features))
    with pytest.raises(ValueError) as info:
        model(shendu.randn(8, 5))
    assert str(info.value) == ("features.3 (Linear): expected input with last dimension 16, got shape (8, 3); "
                               "shapes so far: input (8, 5) → features.0 (8, 3) → features.1 (8, 3) → "
                               "features.2 (8, 3)")
    assert isinstance(info.value.__cause__, ValueError)
    assert str(info.value.__cause__) == "Linear: expected input with last dimension 16, got shape (8, 3)"


def test_error_in_nested_model_and_in_the_model_own_code():
    with pytest.raises(ValueError, match=r"^heads.out \(Linear\): expected input with last dimension 4, got shape "
                                         r"\(8, 8\); shapes so far: input \(8, 5\) → encoder.0 \(8, 16\) → "
                                         r"encoder.1 \(8, 16\) → encoder.2 \(8, 8\)$"):
        Net()(shendu.randn(8, 5))

    class Reshaper(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(5, 6)

        def forward(self, x):
            return self.fc(x).reshape(4, 4)

    with pytest.raises(ValueError, match=r"^Reshaper: reshape: cannot reshape .*shapes so far: input \(2, 5\) → "
                                         r"fc \(2, 6\)$"):
        Reshaper()(shendu.randn(2, 5))


def test_error_keeps_exception_type_and_a_bare_layer_error_is_unchanged():
    model = nn.Sequential(nn.Identity(), nn.Embedding(10, 3))
    with pytest.raises(TypeError, match=r"^1 \(Embedding\): expected integer ids, got dtype float32; shapes so far: "
                                        r"input \(2, 3\) → 0 \(2, 3\)$"):
        model(shendu.randn(2, 3))
    with pytest.raises(ValueError, match=r"^Linear: expected input with last dimension 3, got shape \(2, 5\)$"):
        nn.Linear(3, 1)(shendu.randn(2, 5))


def test_error_replay_leaves_buffers_and_random_state_as_the_failed_call_left_them():
    def make():
        shendu.manual_seed(3)
        return nn.Sequential(nn.Linear(5, 4), nn.BatchNorm1d(4), nn.Dropout(0.5), nn.Linear(7, 1))

    x = np.random.default_rng(0).standard_normal((6, 5)).astype(np.float32)
    failing = make()
    with pytest.raises(ValueError, match="3 \\(Linear\\)"):
        failing(shendu.tensor(x))
    after_failure = shendu.backend.rng().random(4)

    reference = make()
    reference[:3](shendu.tensor(x))  # what the failed call did before it failed, once
    expected = shendu.backend.rng().random(4)
    np.testing.assert_array_equal(after_failure, expected)
    for (k, a), (_, b) in zip(failing.state_dict().items(), reference.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    assert int(failing[1].num_batches_tracked.item()) == 1


@pytest.mark.parametrize("layer, shape", [(lambda: nn.Linear(3, 2), (2, 3)), (lambda: nn.Conv2d(1, 2, 3), (2, 1, 5, 5)),
                                          (lambda: nn.ReLU(), (2, 3)), (lambda: nn.LSTM(3, 4), (5, 2, 3))])
def test_a_numpy_array_as_input_is_a_type_error_naming_the_layer(layer, shape):
    """As PyTorch, a layer takes tensors: an ndarray gets a TypeError that names the layer and the fix."""
    module = layer()
    with pytest.raises(TypeError, match=rf"{type(module).__name__}: expected shendu Tensors as input, got "
                                        r"numpy\.ndarray; wrap it with shendu\.tensor"):
        module(np.zeros(shape, np.float32))


def test_a_numpy_array_given_to_an_op_or_inside_a_container_names_who_received_it():
    """The op names itself (functional calls); inside a Sequential the innermost layer is named, once."""
    import shendu.functional as F

    with pytest.raises(TypeError, match=r"^Relu: expected shendu Tensors as input, got numpy\.ndarray"):
        F.relu(np.zeros((2, 3), np.float32))
    with pytest.raises(TypeError, match=r"^Linear: expected shendu Tensors as input, got numpy\.ndarray"):
        nn.Sequential(nn.Linear(3, 2), nn.ReLU())(np.zeros((2, 3), np.float32))
