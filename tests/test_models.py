"""The model zoo (shendu.models): exact parameter counts, forward + backward, LeNet-5's summary, the registry.

Parameter counts are taken on models built by their real constructors at full
size (1000 classes for the ImageNet models) inside ``shendu.nn.init.skip()``
(``models.count_parameters`` and the ``skip_init`` fixture): drawing VGG's 120
million classifier weights takes seconds, and the values play no part in a count
or a name. The ``slow`` tests build (and count) and run every model with its real
initialisation.
"""
import importlib.util
import pathlib
from collections import OrderedDict

import numpy as np
import pytest

import shendu
import shendu.functional as F
from shendu import models, nn
from shendu.nn import init

#: registry name -> parameters with the registry's defaults (1000 classes for ImageNet, 10 for CIFAR / LeNet).
PARAMS = {
    "lenet5": 61_706, "lenet5_classic": 60_850,
    "alexnet": 61_100_840, "alexnet_original": 60_965_224,
    "vgg11": 132_863_336, "vgg13": 133_047_848, "vgg16": 138_357_544, "vgg19": 143_667_240,
    "vgg11_bn": 132_868_840, "vgg13_bn": 133_053_736, "vgg16_bn": 138_365_992, "vgg19_bn": 143_678_248,
    "googlenet": 6_998_552,
    "resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032, "resnet101": 44_549_160,
    "resnet152": 60_192_808,
    "resnet20": 269_722, "resnet32": 464_154, "resnet44": 658_586, "resnet56": 853_018, "resnet110": 1_727_962,
    "xo_cnn": 1_674,
}
ZOO_MODULES = {f"shendu.models.{m}" for m in ("lenet", "alexnet", "vgg", "googlenet", "resnet", "xo")}


@pytest.fixture
def skip_init():
    """Models built in the test leave their weights uninitialised: for shapes and names only."""
    with init.skip():
        yield


@pytest.fixture
def cheap_init(monkeypatch):
    """Fill parameters by tiling one small random block (fast, finite, not degenerate) instead of drawing each."""
    block = np.random.default_rng(0).uniform(-0.05, 0.05, 10007)  # a prime length: no two rows alike

    def fill(t, *a, **k):
        flat = np.empty(t.data.size, dtype=t.dtype)
        whole = flat.size // block.size * block.size
        flat[:whole].reshape(-1, block.size)[:] = block
        flat[whole:] = block[:flat.size - whole]
        t.data = flat.reshape(t.shape)
        return t

    monkeypatch.setattr(init, "uniform_", fill)
    monkeypatch.setattr(init, "normal_", fill)


def train_step(model, input_shape, num_classes, batch=2):
    """One forward + backward pass; checks the output shape and that every parameter and the input get gradients."""
    x = shendu.randn(batch, *input_shape, requires_grad=True)
    out = model(x)
    outputs = out if isinstance(out, tuple) else (out,)
    for o in outputs:
        assert o.shape == (batch, num_classes)
    loss = sum(F.cross_entropy(o, shendu.tensor(np.arange(batch) % num_classes)) for o in outputs)
    loss.backward()
    assert np.isfinite(loss.item())
    assert x.grad is not None and x.grad.shape == x.shape
    for name, p in model.named_parameters():
        assert p.grad is not None, f"{name} got no gradient"
        assert p.grad.shape == p.shape and np.all(np.isfinite(p.grad.numpy())), name
    return outputs


# ---------------------------------------------------------------- parameter counts
@pytest.mark.parametrize("name", sorted(PARAMS))
def test_parameter_count_exact(name):
    # counted from the shapes (init.skip); the slow test below builds each model for real
    assert models.count_parameters(name) == PARAMS[name]


def test_count_parameters_equals_a_real_build_and_takes_options():
    for name, kwargs in [("lenet5", {"num_classes": 2, "in_channels": 3}), ("xo_cnn", {}),
                         ("resnet20", {"shortcut": "B"}), ("googlenet", {"aux_logits": True, "num_classes": 7})]:
        assert models.count_parameters(name, **kwargs) == models.get_model(name, **kwargs).num_parameters(), name


def test_init_skip_leaves_weights_untouched_and_restores():
    w = shendu.nn.Parameter(shendu.zeros(3, 4))
    with init.skip():
        with init.skip():
            for fill in (init.kaiming_uniform_, init.xavier_normal_, init.orthogonal_, init.ones_):
                assert fill(w) is w
        init.constant_(w, 5.0)
    assert (w.numpy() == 0).all()
    init.constant_(w, 5.0)  # outside the context the initialisers work again
    assert (w.numpy() == 5).all()
    layer = shendu.nn.utils.skip_init(shendu.nn.Linear, 10, 5)
    assert layer.weight.shape == (5, 10) and not init._skipping


def test_lenet5_counts_for_other_sizes():
    assert models.lenet5(num_classes=10).num_parameters() == 156 + 2_416 + 48_120 + 10_164 + 850
    assert models.lenet5(num_classes=2, in_channels=3).num_parameters() == 61_706 - 850 + 170 + 300
    assert models.lenet5(classic=True).num_parameters() - 850 == 60_000   # the paper's count up to F6


def test_googlenet_variants(skip_init):
    # torchvision's googlenet (batch norm, 3×3 in branch 3) has 6,624,904 parameters and its auxiliary heads
    # 3,188,968 + 3,191,016; the paper's 5×5 kernels add 16·ch5x5red·ch5x5 per Inception block.
    five_by_five = 16 * sum(r * c for r, c in [(16, 32), (32, 96), (16, 48), (24, 64), (24, 64), (32, 64),
                                               (32, 128), (32, 128), (48, 128)])
    assert models.googlenet(batch_norm=True).num_parameters() == 6_624_904 + five_by_five
    assert models.googlenet(batch_norm=True, aux_logits=True).num_parameters() == \
        6_624_904 + five_by_five + 3_188_968 + 3_191_016


def test_cifar_resnet_shortcut_b_adds_projections(skip_init):
    # two 1×1 projections with batch norm: 16·32 + 64 and 32·64 + 128
    assert models.resnet20(shortcut="B").num_parameters() == 269_722 + 512 + 64 + 2048 + 128


# ---------------------------------------------------------------- forward + backward (one per family)
@pytest.mark.parametrize("name, input_shape, kwargs", [
    ("lenet5", (1, 32, 32), {}),
    ("lenet5_classic", (1, 32, 32), {}),
    ("xo_cnn", (1, 28, 28), {}),
    ("resnet20", (3, 32, 32), {}),
    ("resnet20", (3, 16, 16), {"shortcut": "B", "in_channels": 1}),
    ("resnet18", (3, 32, 32), {}),
    ("googlenet", (3, 32, 32), {"aux_logits": True}),
    ("alexnet", (3, 63, 63), {}),
])
def test_forward_backward(name, input_shape, kwargs):
    in_channels = kwargs.pop("in_channels", input_shape[0])
    model = models.get_model(name, num_classes=3, in_channels=in_channels, **kwargs)
    train_step(model, (in_channels, *input_shape[1:]), 3)


def test_bottleneck_resnet_forward_backward():
    model = models.ResNet(models.Bottleneck, [1, 1, 1, 1], num_classes=3, in_channels=2)
    train_step(model, (2, 32, 32), 3)


def test_vgg_forward_backward(cheap_init):
    train_step(models.vgg11_bn(num_classes=3), (3, 32, 32), 3)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PARAMS))
def test_forward_backward_every_model(name):
    info = models.model_info(name)
    c, h, w = info.input_shape
    small = {(1, 32, 32): (32, 32), (3, 32, 32): (32, 32), (1, 28, 28): (28, 28)}.get(info.input_shape, (64, 64))
    assert models.get_model(name).num_parameters() == PARAMS[name]   # with the real initialisation
    kwargs = {"aux_logits": True} if name == "googlenet" else {}
    train_step(models.get_model(name, num_classes=4, **kwargs), (c, *small), 4)


def test_googlenet_outputs_by_mode():
    model = models.googlenet(num_classes=5, aux_logits=True, batch_norm=True)
    x = shendu.randn(2, 3, 32, 32)
    out = model(x)
    assert isinstance(out, models.GoogLeNetOutputs) and out.aux_logits1.shape == (2, 5)
    with shendu.no_grad():
        assert model.eval()(x).shape == (2, 5)   # the logits alone in evaluation


# ---------------------------------------------------------------- torchvision's structure and names
def test_resnet18_state_dict_names_follow_torchvision(skip_init):
    sd = models.resnet18().state_dict()
    assert len(sd) == 122   # 62 parameters + 20 batch norms × 3 buffers, as torchvision's
    assert sd["conv1.weight"].shape == (64, 3, 7, 7)
    assert sd["bn1.running_mean"].shape == (64,)
    assert sd["layer1.0.conv1.weight"].shape == (64, 64, 3, 3)
    assert sd["layer2.0.downsample.0.weight"].shape == (128, 64, 1, 1)
    assert sd["layer2.0.downsample.1.running_var"].shape == (128,)
    assert sd["fc.weight"].shape == (1000, 512)
    sd50 = models.resnet50().state_dict()
    assert len(sd50) == 320
    assert sd50["layer4.2.conv3.weight"].shape == (2048, 512, 1, 1)
    assert sd50["layer3.0.conv2.weight"].shape == (256, 256, 3, 3)   # stride on the 3×3 (v1.5)


def test_vgg_and_alexnet_names_follow_torchvision(skip_init):
    sd = models.vgg16().state_dict()
    convs = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]
    assert [k for k in sd if k.endswith("weight")] == \
        [f"features.{i}.weight" for i in convs] + [f"classifier.{i}.weight" for i in (0, 3, 6)]
    assert sd["classifier.0.weight"].shape == (4096, 512 * 7 * 7)
    assert "features.1.running_mean" in models.vgg11_bn().state_dict()
    sd = models.alexnet().state_dict()
    assert [k for k in sd if k.endswith("weight")] == \
        [f"features.{i}.weight" for i in (0, 3, 6, 8, 10)] + [f"classifier.{i}.weight" for i in (1, 4, 6)]


def test_googlenet_names_follow_torchvision(skip_init):
    sd = models.googlenet(batch_norm=True, aux_logits=True).state_dict()
    assert sd["conv1.conv.weight"].shape == (64, 3, 7, 7) and "conv1.conv.bias" not in sd
    assert sd["conv1.bn.running_var"].shape == (64,)
    assert sd["inception3a.branch2.1.conv.weight"].shape == (128, 96, 3, 3)
    assert sd["inception3a.branch3.1.conv.weight"].shape == (32, 16, 5, 5)   # the paper's 5×5
    assert sd["inception5b.branch4.1.conv.weight"].shape == (128, 832, 1, 1)
    assert sd["aux1.fc1.weight"].shape == (1024, 2048) and sd["aux2.fc2.weight"].shape == (1000, 1024)
    assert sd["fc.weight"].shape == (1000, 1024)


def test_alexnet_original_is_the_two_gpu_split(skip_init):
    model = models.alexnet(original=True)
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    assert [m.groups for m in convs] == [1, 2, 1, 2, 2]
    assert [m.out_channels for m in convs] == [96, 256, 384, 384, 256]
    assert sum(isinstance(m, nn.LocalResponseNorm) for m in model.features) == 2
    assert all(m.kernel_size == 3 and m.stride == 2 for m in model.features if isinstance(m, nn.MaxPool2d))


# ---------------------------------------------------------------- LeNet-5 as in the paper
def test_lenet5_classic_summary_reproduces_the_paper():
    s = shendu.summary(models.lenet5(classic=True), (1, 32, 32), print_fn=None)
    rows = {r["name"]: r for r in s.rows}
    paper = {"c1": (156, 122_304, (6, 28, 28)), "s2": (12, 5_880, (6, 14, 14)),
             "c3": (1_516, 151_600, (16, 10, 10)), "s4": (32, 2_000, (16, 5, 5)),
             "c5": (48_120, 48_120, (120, 1, 1)), "f6": (10_164, 10_164, (84,))}
    for name, (params, connections, shape) in paper.items():
        assert (rows[name]["trainable"], rows[name]["connections"]) == (params, connections), name
        assert rows[name]["output_shape"][1:] == shape
    assert sum(rows[n]["params"] for n in paper) == 60_000


def test_c3_connection_table_is_table_one():
    table = models.LENET5_C3_TABLE
    assert [len(row) for row in table] == [3] * 6 + [4] * 9 + [6]
    assert sum(len(row) for row in table) == 60
    for o in range(6):      # contiguous triples, wrapping around
        assert set(table[o]) == {(o + i) % 6 for i in range(3)}
    for o in range(6):      # contiguous quadruples
        assert set(table[6 + o]) == {(o + i) % 6 for i in range(4)}


def test_connection_table_conv_matches_a_masked_dense_convolution():
    torch = pytest.importorskip("torch")
    layer = models.ConnectionTableConv2d(6, models.LENET5_C3_TABLE, 5).double()
    x = np.random.default_rng(1).standard_normal((2, 6, 9, 9))
    mask = np.zeros((16, 6, 1, 1))
    for o, row in enumerate(models.LENET5_C3_TABLE):
        mask[o, list(row)] = 1
    dense = layer.dense_weight().numpy()
    assert np.all(dense[np.broadcast_to(mask, dense.shape) == 0] == 0)
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(dense, requires_grad=True)
    yt = torch.nn.functional.conv2d(xt, wt, torch.tensor(layer.bias.numpy()))
    xs = shendu.tensor(x, requires_grad=True)
    y = layer(xs)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = np.random.default_rng(2).standard_normal(y.shape)
    (y * shendu.tensor(g)).sum().backward()
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xs.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    # each stored kernel's gradient is the dense gradient at its (o, c) connection
    pairs = [(o, c) for o, row in enumerate(models.LENET5_C3_TABLE) for c in row]
    expected = np.stack([wt.grad.numpy()[o, c] for o, c in pairs])
    np.testing.assert_allclose(layer.weight.grad.numpy(), expected, rtol=1e-10, atol=1e-12)


def test_subsampling_is_coefficient_times_window_sum_plus_bias():
    layer = models.Subsampling2d(3).double()
    x = np.random.default_rng(3).standard_normal((2, 3, 6, 7))
    y = layer(shendu.tensor(x)).numpy()
    sums = x[:, :, :6, :6].reshape(2, 3, 3, 2, 3, 2).sum(axis=(3, 5))
    w, b = layer.weight.numpy(), layer.bias.numpy()
    np.testing.assert_allclose(y, w[:, None, None] * sums + b[:, None, None], rtol=1e-12)


def test_lenet_layers_gradcheck():
    x = shendu.randn(1, 3, 6, 6, dtype=shendu.float64)
    assert shendu.gradcheck(models.Subsampling2d(3).double(), x)
    table = ((0,), (0, 1), (0, 1, 2), (1, 2))
    assert shendu.gradcheck(models.ConnectionTableConv2d(3, table, 3, padding=1).double(), x)
    assert shendu.gradcheck(lambda t: models.ScaledTanh()(t), x)


def test_scaled_tanh_maps_one_to_one():
    y = models.ScaledTanh()(shendu.tensor([-1.0, 0.0, 1.0], dtype=shendu.float64)).numpy()
    np.testing.assert_allclose(y, [-1, 0, 1], atol=1e-4)   # 1.7159·tanh(2/3) = 1.00002


def test_lenet5_classic_uses_the_papers_initialisation():
    model = models.lenet5(classic=True)
    for layer, fan in [(model.c1, 25), (model.s2, 4), (model.s4, 4), (model.c5, 400), (model.f6, 120),
                       (model.output, 84)]:
        w = np.abs(layer.weight.numpy())
        assert w.max() <= 2.4 / fan and w.max() > 2.4 / fan / 2
    fans = np.repeat([75.0] * 6 + [100.0] * 9 + [150.0], [len(r) for r in models.LENET5_C3_TABLE])
    assert np.all(np.abs(model.c3.weight.numpy()).max(axis=(1, 2)) <= 2.4 / fans)


def test_connection_table_rejects_bad_tables():
    with pytest.raises(ValueError, match="table\\[1\\]"):
        models.ConnectionTableConv2d(3, ((0, 1), (2, 3)), 3)


# ---------------------------------------------------------------- against the same network in PyTorch
def _torch_lenet5(torch, num_classes):
    tnn = torch.nn
    return tnn.Sequential(OrderedDict([
        ("c1", tnn.Conv2d(1, 6, 5)), ("act1", tnn.ReLU()), ("s2", tnn.MaxPool2d(2)),
        ("c3", tnn.Conv2d(6, 16, 5)), ("act3", tnn.ReLU()), ("s4", tnn.MaxPool2d(2)), ("flatten", tnn.Flatten()),
        ("c5", tnn.Linear(400, 120)), ("act5", tnn.ReLU()), ("f6", tnn.Linear(120, 84)), ("act6", tnn.ReLU()),
        ("output", tnn.Linear(84, num_classes))]))


def _torch_bottleneck(torch, inplanes, planes, stride):
    """torchvision's Bottleneck with a projection shortcut, written out in torch.nn (torchvision is not installed)."""
    tnn = torch.nn

    class Bottleneck(tnn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = tnn.Conv2d(inplanes, planes, 1, bias=False)
            self.bn1 = tnn.BatchNorm2d(planes)
            self.conv2 = tnn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
            self.bn2 = tnn.BatchNorm2d(planes)
            self.conv3 = tnn.Conv2d(planes, 4 * planes, 1, bias=False)
            self.bn3 = tnn.BatchNorm2d(4 * planes)
            self.downsample = tnn.Sequential(tnn.Conv2d(inplanes, 4 * planes, 1, stride=stride, bias=False),
                                             tnn.BatchNorm2d(4 * planes))

        def forward(self, x):
            out = torch.relu(self.bn1(self.conv1(x)))
            out = torch.relu(self.bn2(self.conv2(out)))
            return torch.relu(self.bn3(self.conv3(out)) + self.downsample(x))

    return Bottleneck()


def _compare_with_torch(torch, ours, theirs, x):
    """Load torch's weights into ours; outputs, input and parameter gradients must agree (float64)."""
    theirs = theirs.double()
    ours.load_state_dict(theirs.state_dict())
    ours.double()
    xs, xt = shendu.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, yt = ours(xs), theirs(xt)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-9, atol=1e-12)
    g = np.random.default_rng(5).standard_normal(y.shape)
    (y * shendu.tensor(g)).sum().backward()
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xs.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), theirs_params[name].grad.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=name)


def test_lenet5_matches_the_same_network_in_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(4).standard_normal((3, 1, 32, 32))
    _compare_with_torch(torch, models.lenet5(num_classes=7), _torch_lenet5(torch, 7), x)


def test_bottleneck_matches_torchvisions_in_torch():
    torch = pytest.importorskip("torch")
    ours = models.Bottleneck(8, 4, stride=2, downsample=models.projection_shortcut(8, 16, 2))
    x = np.random.default_rng(6).standard_normal((2, 8, 7, 7))
    _compare_with_torch(torch, ours, _torch_bottleneck(torch, 8, 4, 2), x)   # training mode: batch statistics


# ---------------------------------------------------------------- blocks
def test_zero_pad_shortcut_subsamples_and_pads_with_zeros():
    x = shendu.randn(2, 4, 5, 5)
    y = models.ZeroPadShortcut(4, 8)(x).numpy()
    assert y.shape == (2, 8, 3, 3)
    np.testing.assert_array_equal(y[:, :4], x.numpy()[:, :, ::2, ::2])
    assert not y[:, 4:].any()


def test_inception_block_concatenates_four_branches():
    block = models.Inception(192, 64, 96, 128, 16, 32, 32)
    assert block(shendu.randn(1, 192, 7, 7)).shape == (1, 256, 7, 7)


def test_cifar_resnet_rejects_bad_depth():
    with pytest.raises(ValueError, match="6n \\+ 2"):
        models.CifarResNet(21)


def test_architectures_round_trip_through_json(skip_init):
    import json
    from shendu.nn import config
    for model in (models.lenet5(classic=True), models.resnet20(), models.resnet50(), models.googlenet(),
                  models.vgg11_bn(), models.alexnet(original=True)):
        rebuilt = config.from_config(json.loads(json.dumps(config.get_config(model))))
        assert type(rebuilt) is type(model)
        assert {k: v.shape for k, v in rebuilt.state_dict().items()} == \
            {k: v.shape for k, v in model.state_dict().items()}


# ---------------------------------------------------------------- registry
def test_registry_lists_every_zoo_model_with_shape():
    listed = {m.name: m for m in models.list_models()}
    assert set(PARAMS) <= set(listed)
    ours = {name for name, m in listed.items() if m.factory.__module__ in ZOO_MODULES}
    assert ours == set(PARAMS)   # every zoo model is counted above
    assert listed["lenet5"].input_shape == (1, 32, 32) and listed["resnet20"].input_shape == (3, 32, 32)
    assert listed["vgg16"].input_shape == (3, 224, 224) and listed["vgg16"].num_classes == 1000
    assert listed["xo_cnn"].input_shape == (1, 28, 28)
    assert all(m.description and "\n" not in m.description for m in listed.values())


def test_get_model_passes_options_and_names_unknown_models():
    model = models.get_model("lenet5", num_classes=4, in_channels=3)
    assert model(shendu.zeros(1, 3, 32, 32)).shape == (1, 4)
    with pytest.raises(ValueError, match="did you mean resnet18"):
        models.get_model("resnet81")
    with pytest.raises(ValueError, match="already registered"):
        models.register_model("lenet5", "again", (1, 32, 32), 10)(lambda **kw: None)


# ---------------------------------------------------------------- the X-vs-O walkthrough
def test_xo_walkthrough_learns_and_draws_its_figure(tmp_path):
    pytest.importorskip("matplotlib")
    path = pathlib.Path(__file__).resolve().parent.parent / "examples" / "xo_walkthrough.py"
    spec = importlib.util.spec_from_file_location("xo_walkthrough", path)
    walkthrough = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(walkthrough)
    accuracy, net = walkthrough.main(n_train=400, n_test=200, epochs=2, figure=tmp_path / "maps.png", verbose=False)
    assert accuracy >= 0.95
    assert (tmp_path / "maps.png").stat().st_size > 10_000
