"""PyTorch interchange (shendu.interop): torchvision-structured models written here with torch.nn,
random weights and running statistics, loaded into the shendu zoo; outputs compared in float32
(max abs difference < 1e-4); round trips torch → shendu → torch and shendu → torch → shendu exact.

torchvision is not a dependency: the torch models below copy its module structure and names
(``conv1``, ``layer1.0.downsample.0``, ``features.3``, ``classifier.6``, ``branch2.1.conv``).
"""
import math
import subprocess
import sys
from collections import OrderedDict

import numpy as np
import pytest

import shendu
from shendu import models, nn
from shendu._extras import require
from shendu.interop import load_torch_state_dict, to_torch_state_dict

torch = pytest.importorskip("torch")
tnn = torch.nn

ATOL = 1e-4


# ---------------------------------------------------------------- torchvision-structured torch models
class TorchBasicBlock(tnn.Module):
    """torchvision.models.resnet.BasicBlock."""
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = tnn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.relu = tnn.ReLU(inplace=True)
        self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class TorchBottleneck(tnn.Module):
    """torchvision.models.resnet.Bottleneck (stride on conv2, "ResNet v1.5")."""
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = tnn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.conv2 = tnn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.conv3 = tnn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = tnn.BatchNorm2d(planes * 4)
        self.relu = tnn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


class TorchResNet(tnn.Module):
    """torchvision.models.ResNet's structure and names (resnet18: BasicBlock, [2, 2, 2, 2])."""

    def __init__(self, block=TorchBasicBlock, layers=(2, 2, 2, 2), num_classes=1000):
        super().__init__()
        self.inplanes = 64
        self.conv1 = tnn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = tnn.BatchNorm2d(64)
        self.relu = tnn.ReLU(inplace=True)
        self.maxpool = tnn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
        self.fc = tnn.Linear(512 * block.expansion, num_classes)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = tnn.Sequential(tnn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                                        tnn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return tnn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class TorchBasicConv2d(tnn.Module):
    """torchvision.models.googlenet.BasicConv2d: conv (no bias) → BN (eps 0.001) → ReLU."""

    def __init__(self, in_channels, out_channels, **kwargs):
        super().__init__()
        self.conv = tnn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = tnn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x)))


class TorchInception(tnn.Module):
    """torchvision.models.googlenet.Inception, with the paper's 5×5 branch 3 as shendu's Inception
    (torchvision has 3×3 there; see docs/interop.md)."""

    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()
        self.branch1 = TorchBasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = tnn.Sequential(TorchBasicConv2d(in_channels, ch3x3red, kernel_size=1),
                                      TorchBasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1))
        self.branch3 = tnn.Sequential(TorchBasicConv2d(in_channels, ch5x5red, kernel_size=1),
                                      TorchBasicConv2d(ch5x5red, ch5x5, kernel_size=5, padding=2))
        self.branch4 = tnn.Sequential(tnn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                      TorchBasicConv2d(in_channels, pool_proj, kernel_size=1))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


VGG11 = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")
VGG16 = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")


class TorchVGG(tnn.Module):
    """torchvision.models.vgg*'s structure and names (``features.N``, ``avgpool``, ``classifier.N``)."""

    def __init__(self, config=VGG11, batch_norm=False, num_classes=1000):
        super().__init__()
        layers, c = [], 3
        for v in config:
            if v == "M":
                layers.append(tnn.MaxPool2d(2, 2))
                continue
            layers.append(tnn.Conv2d(c, v, 3, padding=1))
            if batch_norm:
                layers.append(tnn.BatchNorm2d(v))
            layers.append(tnn.ReLU(inplace=True))
            c = v
        self.features = tnn.Sequential(*layers)
        self.avgpool = tnn.AdaptiveAvgPool2d((7, 7))
        self.classifier = tnn.Sequential(tnn.Linear(512 * 7 * 7, 4096), tnn.ReLU(True), tnn.Dropout(),
                                         tnn.Linear(4096, 4096), tnn.ReLU(True), tnn.Dropout(),
                                         tnn.Linear(4096, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


class TorchAlexNet(tnn.Module):
    """torchvision.models.alexnet's structure and names."""

    def __init__(self, num_classes=1000):
        super().__init__()
        self.features = tnn.Sequential(
            tnn.Conv2d(3, 64, 11, 4, 2), tnn.ReLU(True), tnn.MaxPool2d(3, 2),
            tnn.Conv2d(64, 192, 5, padding=2), tnn.ReLU(True), tnn.MaxPool2d(3, 2),
            tnn.Conv2d(192, 384, 3, padding=1), tnn.ReLU(True),
            tnn.Conv2d(384, 256, 3, padding=1), tnn.ReLU(True),
            tnn.Conv2d(256, 256, 3, padding=1), tnn.ReLU(True), tnn.MaxPool2d(3, 2))
        self.avgpool = tnn.AdaptiveAvgPool2d((6, 6))
        self.classifier = tnn.Sequential(
            tnn.Dropout(), tnn.Linear(256 * 6 * 6, 4096), tnn.ReLU(True),
            tnn.Dropout(), tnn.Linear(4096, 4096), tnn.ReLU(True), tnn.Linear(4096, num_classes))


# ---------------------------------------------------------------- helpers
def randomize_(model, calibration_input=None, seed=0):
    """Random weights that keep activations of order 1 (He-scaled), and random BatchNorm statistics.

    Order-1 activations matter: torch's default initialisation shrinks a deep ReLU network's output
    towards 0, where any two implementations agree to 1e-4 and the comparison would prove nothing.
    With ``calibration_input`` the running statistics are those of the activations it produces (one
    training-mode pass, cumulative average), so that evaluation-mode batch norms do normalise and a
    deep residual network's output stays of order 1 too; otherwise they are drawn at random.
    """
    g = torch.Generator().manual_seed(seed)
    batch_norms = [m for m in model.modules() if isinstance(m, tnn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for p in model.parameters():
            if p.ndim >= 2:  # He-uniform: variance 2 / fan_in
                bound = math.sqrt(6.0 / p[0].numel())
                p.uniform_(-bound, bound, generator=g)
            else:
                p.uniform_(-0.2, 0.2, generator=g)
        for m in batch_norms:
            m.weight.uniform_(0.5, 1.5, generator=g)
            m.running_mean.normal_(0.0, 0.2, generator=g)
            m.running_var.uniform_(0.5, 2.0, generator=g)
        if calibration_input is not None:
            for m in batch_norms:
                m.reset_running_stats()
                m.momentum = None
            model.train()(torch.from_numpy(calibration_input))
            for m in batch_norms:
                m.momentum = 0.1
        for m in batch_norms:
            m.num_batches_tracked.fill_(int(torch.randint(1, 1000, (), generator=g)))
    return model.eval()


def torch_arrays(torch_model):
    """The torch model's state dict as NumPy views of its tensors (no copy)."""
    return OrderedDict((k, v.detach().numpy()) for k, v in torch_model.state_dict().items())


def assert_exact(actual, expected):
    """Same keys in the same order, and bitwise-equal values of the same dtype and shape."""
    assert list(actual) == list(expected)
    for k in expected:
        a, e = np.asarray(actual[k]), np.asarray(expected[k])
        assert a.dtype == e.dtype and a.shape == e.shape, (k, a.dtype, e.dtype, a.shape, e.shape)
        assert np.array_equal(a.reshape(-1).view(np.uint8), e.reshape(-1).view(np.uint8)), f"{k}: values differ"


def assert_same_output(sd_model, torch_model, x):
    """float32 outputs within ATOL, and of order 1 so that the tolerance means something."""
    sd_model.eval()
    torch_model.eval()
    with torch.no_grad():
        expected = torch_model(torch.from_numpy(x)).numpy()
    with shendu.no_grad():
        actual = sd_model(shendu.tensor(x)).numpy()
    assert actual.dtype == np.float32 and actual.shape == expected.shape
    assert np.abs(expected).max() > 0.1, "outputs too small for the comparison to mean anything"
    diff = np.abs(actual - expected).max()
    assert diff < ATOL, f"max abs difference {diff:.3g}"


def check_round_trips(sd_model, torch_model, x=None):
    """torch → shendu (outputs equal) → torch (exact);
    then new values made in shendu → torch (outputs equal) → shendu (exact)."""
    result = load_torch_state_dict(sd_model, torch_model.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    if x is not None:
        assert_same_output(sd_model, torch_model, x)
    assert_exact(to_torch_state_dict(sd_model), torch_arrays(torch_model))

    # values that originate in shendu: each floating tensor scaled by its own factor
    for i, t in enumerate(list(sd_model.parameters()) + list(sd_model.buffers())):
        if t.dtype.kind == "f":
            t.data = t.data * t.dtype.type(0.8 + 0.4 * ((i * 0.618) % 1))
    exported = to_torch_state_dict(sd_model)
    torch_model.load_state_dict(to_torch_state_dict(sd_model, as_tensors=True), strict=True)
    if x is not None:
        assert_same_output(sd_model, torch_model, x)
    for t in list(sd_model.parameters()) + list(sd_model.buffers()):
        t.data = np.zeros_like(t.data)  # so that what comes back can only come from torch
    load_torch_state_dict(sd_model, torch_model.state_dict())
    assert_exact(to_torch_state_dict(sd_model), exported)


# ---------------------------------------------------------------- the checked models
def test_resnet18_matches_torchvision_structure():
    rng = np.random.default_rng(0)
    tm = randomize_(TorchResNet(), rng.standard_normal((4, 3, 64, 64)).astype(np.float32))
    sm = models.resnet18()
    assert list(to_torch_state_dict(sm)) == list(tm.state_dict())
    x = rng.standard_normal((2, 3, 64, 64)).astype(np.float32)
    check_round_trips(sm, tm, x)


def test_inception_block_matches_torchvision_structure():
    cfg = (192, 64, 96, 128, 16, 32, 32)  # inception (3a)
    rng = np.random.default_rng(0)
    tm = randomize_(TorchInception(*cfg), rng.standard_normal((4, 192, 9, 9)).astype(np.float32))
    sm = models.Inception(*cfg, batch_norm=True)
    assert list(to_torch_state_dict(sm)) == list(tm.state_dict())
    x = rng.standard_normal((2, 192, 9, 9)).astype(np.float32)
    check_round_trips(sm, tm, x)


def test_vgg11_matches_torchvision_structure(monkeypatch):
    """Full size (132,863,336 parameters), batch 1 at 32×32 (AdaptiveAvgPool2d(7) takes any size).

    Both models skip their initialisation (seconds for 10⁸ weights): torch's values are drawn by
    randomize_, shendu's all come from loading.
    """
    with torch.device("meta"):
        tm = TorchVGG()
    tm = randomize_(tm.to_empty(device="cpu"))
    monkeypatch.setattr(nn.init, "uniform_", lambda t, *a, **k: t)
    sm = models.vgg11(init_weights=False)
    x = np.random.default_rng(0).standard_normal((1, 3, 32, 32)).astype(np.float32)
    check_round_trips(sm, tm, x)


def test_two_layer_bidirectional_lstm():
    torch.manual_seed(0)
    tm = tnn.LSTM(5, 7, num_layers=2, bidirectional=True, batch_first=True)
    sm = nn.LSTM(5, 7, num_layers=2, bidirectional=True, batch_first=True)
    assert list(to_torch_state_dict(sm)) == list(tm.state_dict())
    x = np.random.default_rng(0).standard_normal((3, 6, 5)).astype(np.float32)
    load_torch_state_dict(sm, tm.state_dict())
    with torch.no_grad():
        out_t, (h_t, c_t) = tm(torch.from_numpy(x))
    out_s, (h_s, c_s) = sm(shendu.tensor(x))
    for a, e in ((out_s, out_t), (h_s, h_t), (c_s, c_t)):
        assert a.shape == tuple(e.shape)
        assert np.abs(a.numpy() - e.numpy()).max() < ATOL
    assert np.abs(c_t.numpy()).max() > 0.1
    check_round_trips(sm, tm)


@pytest.mark.parametrize("kind", ["GRU", "RNN"])
def test_gru_and_rnn_outputs(kind):
    """GRU's gate order (r, z, n) and the plain RNN, two bidirectional layers, sequence-first."""
    torch.manual_seed(0)
    tm = getattr(tnn, kind)(4, 6, num_layers=2, bidirectional=True)
    sm = getattr(nn, kind)(4, 6, num_layers=2, bidirectional=True)
    load_torch_state_dict(sm, tm.state_dict())
    x = np.random.default_rng(0).standard_normal((5, 3, 4)).astype(np.float32)
    with torch.no_grad():
        out_t, h_t = tm(torch.from_numpy(x))
    out_s, h_s = sm(shendu.tensor(x))
    assert np.abs(out_s.numpy() - out_t.numpy()).max() < ATOL
    assert np.abs(h_s.numpy() - h_t.numpy()).max() < ATOL
    assert np.abs(h_t.numpy()).max() > 0.1


# ---------------------------------------------------------------- every layer: names, shapes, dtypes as torch.nn
LAYERS = {
    "Linear": lambda m: m.Linear(4, 3),
    "Linear(bias=False)": lambda m: m.Linear(4, 3, bias=False),
    "Conv1d": lambda m: m.Conv1d(4, 6, 3, groups=2),
    "Conv2d": lambda m: m.Conv2d(4, 6, (3, 2), groups=2),
    "Conv2d(bias=False)": lambda m: m.Conv2d(3, 5, 3, bias=False),
    "ConvTranspose2d": lambda m: m.ConvTranspose2d(4, 6, 3, stride=2, groups=2),
    "BatchNorm1d": lambda m: m.BatchNorm1d(5),
    "BatchNorm2d": lambda m: m.BatchNorm2d(5),
    "BatchNorm3d": lambda m: m.BatchNorm3d(5),
    "BatchNorm2d(affine=False)": lambda m: m.BatchNorm2d(5, affine=False),
    "BatchNorm2d(no running stats)": lambda m: m.BatchNorm2d(5, track_running_stats=False),
    "LayerNorm": lambda m: m.LayerNorm((3, 4)),
    "LayerNorm(bias=False)": lambda m: m.LayerNorm(4, bias=False),
    "Embedding": lambda m: m.Embedding(10, 4, padding_idx=0),
    "RNN": lambda m: m.RNN(3, 4, num_layers=2, nonlinearity="relu"),
    "GRU": lambda m: m.GRU(3, 4, num_layers=2, bidirectional=True),
    "LSTM(bias=False)": lambda m: m.LSTM(3, 4, bias=False, bidirectional=True),
    "RNNCell": lambda m: m.RNNCell(3, 4),
    "LSTMCell": lambda m: m.LSTMCell(3, 4),
    "GRUCell": lambda m: m.GRUCell(3, 4),
    "Sequential": lambda m: m.Sequential(m.Conv2d(1, 2, 3), m.ReLU(), m.BatchNorm2d(2), m.Flatten(), m.Linear(8, 2)),
}


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_every_layer_state_dict_is_torch_nn(layer):
    torch.manual_seed(0)
    tm, sm = LAYERS[layer](tnn), LAYERS[layer](nn)
    for m in tm.modules():
        if isinstance(m, tnn.modules.batchnorm._BatchNorm) and m.track_running_stats:
            m.running_mean.uniform_(-1, 1)
            m.num_batches_tracked.fill_(3)
    mine = to_torch_state_dict(sm)
    theirs = torch_arrays(tm)
    assert [(k, v.shape, v.dtype) for k, v in mine.items()] == [(k, v.shape, v.dtype) for k, v in theirs.items()]
    load_torch_state_dict(sm, tm.state_dict())
    assert_exact(to_torch_state_dict(sm), theirs)
    tm.load_state_dict(to_torch_state_dict(sm, as_tensors=True))  # strict in torch too


def test_lazy_dense_and_conv2d_use_linear_and_conv2d_names():
    model = nn.Sequential(nn.Conv2D(4, 3, padding="same"), nn.Flatten(), nn.Dense(2))
    tm = tnn.Sequential(tnn.Conv2d(3, 4, 3, padding=1), tnn.Flatten(), tnn.Linear(4 * 5 * 5, 2))
    with pytest.raises(KeyError, match=r"lazy layers without weights yet: 0 \(Conv2D\), 2 \(Dense\).*build"):
        load_torch_state_dict(model, tm.state_dict())
    with pytest.raises(KeyError, match="lazy layers"):
        to_torch_state_dict(model)
    model.build((None, 3, 5, 5))
    load_torch_state_dict(model, tm.state_dict())
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 5)).astype(np.float32)
    with torch.no_grad():
        expected = tm(torch.from_numpy(x)).numpy()
    assert np.abs(model(shendu.tensor(x)).numpy() - expected).max() < ATOL


TORCHVISION_TWINS = {
    "resnet34": lambda: TorchResNet(TorchBasicBlock, (3, 4, 6, 3)),
    "resnet50": lambda: TorchResNet(TorchBottleneck, (3, 4, 6, 3)),
    "resnet152": lambda: TorchResNet(TorchBottleneck, (3, 8, 36, 3)),
    "vgg11_bn": lambda: TorchVGG(VGG11, batch_norm=True),
    "vgg16": lambda: TorchVGG(VGG16),
    "alexnet": TorchAlexNet,
}


@pytest.mark.parametrize("name", sorted(TORCHVISION_TWINS))
def test_zoo_names_and_shapes_are_torchvisions(name, monkeypatch):
    """Every key, shape and dtype as torchvision's model (built on torch's meta device: no memory, no time)."""
    monkeypatch.setattr(nn.init, "uniform_", lambda t, *a, **k: t)  # values play no part here
    monkeypatch.setattr(nn.init, "normal_", lambda t, *a, **k: t)
    with torch.device("meta"):
        theirs = TORCHVISION_TWINS[name]().state_dict()
    mine = models.get_model(name).state_dict()
    assert [(k, tuple(v.shape), str(v.dtype)) for k, v in mine.items()] == \
        [(k, tuple(v.shape), str(v.dtype).replace("torch.", "")) for k, v in theirs.items()]


ZOO_FAST = ["lenet5", "lenet5_classic", "resnet20", "xo_cnn", "googlenet"]
ZOO_SLOW = ["alexnet", "alexnet_original", "resnet50", "vgg11_bn"]


@pytest.mark.parametrize("name", ZOO_FAST + [pytest.param(n, marks=pytest.mark.slow) for n in ZOO_SLOW])
def test_zoo_round_trip_through_torch_tensors(name):
    """shendu → torch tensors → a fresh shendu model: exact, for the zoo models without a torch twin here."""
    a, b = models.get_model(name), models.get_model(name)
    exported = to_torch_state_dict(a, as_tensors=True)
    assert all(isinstance(v, torch.Tensor) for v in exported.values())
    load_torch_state_dict(b, exported)
    assert_exact(to_torch_state_dict(b), to_torch_state_dict(a))


# ---------------------------------------------------------------- inputs: arrays, tensors, files, checkpoints
def small_pair():
    torch.manual_seed(0)
    tm = tnn.Sequential(tnn.Conv2d(2, 3, 3), tnn.BatchNorm2d(3), tnn.ReLU(), tnn.Flatten(), tnn.Linear(12, 4))
    sm = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(12, 4))
    return randomize_(tm), sm


def test_accepts_numpy_arrays_and_returns_incompatible_keys():
    tm, sm = small_pair()
    result = load_torch_state_dict(sm, torch_arrays(tm))
    assert result == ([], [])
    assert_exact(to_torch_state_dict(sm), torch_arrays(tm))
    assert to_torch_state_dict(sm)["1.num_batches_tracked"].shape == ()


def test_accepts_parameters_that_require_grad_and_bfloat16_and_float64():
    tm, sm = small_pair()
    load_torch_state_dict(sm, dict(tm.named_parameters()), strict=False)  # nn.Parameter values (requires_grad)
    np.testing.assert_array_equal(sm[0].weight.numpy(), tm[0].weight.detach().numpy())
    load_torch_state_dict(sm, {k: v.double() if v.is_floating_point() else v for k, v in tm.state_dict().items()})
    assert sm[0].weight.dtype == np.float32  # cast to the model's dtype
    bf16 = {k: v.bfloat16() if v.is_floating_point() else v for k, v in tm.state_dict().items()}
    load_torch_state_dict(sm, bf16)
    np.testing.assert_array_equal(sm[4].bias.numpy(), bf16["4.bias"].float().numpy())


def test_pt_file_checkpoint_nesting_and_dataparallel_prefix(tmp_path):
    tm, sm = small_pair()
    want = torch_arrays(tm)
    plain, ckpt, dp = tmp_path / "w.pt", tmp_path / "ckpt.pth", tmp_path / "dp.pth"
    torch.save(tm.state_dict(), plain)
    torch.save({"epoch": 3, "state_dict": tm.state_dict(), "optimizer": {"lr": 0.1}}, ckpt)
    torch.save(OrderedDict(("module." + k, v) for k, v in tm.state_dict().items()), dp)
    for path in (plain, str(ckpt), dp):
        sm2 = small_pair()[1]
        load_torch_state_dict(sm2, path)
        assert_exact(to_torch_state_dict(sm2), want)
    load_torch_state_dict(sm, {"model": {"_orig_mod." + k: v for k, v in tm.state_dict().items()}})
    assert_exact(to_torch_state_dict(sm), want)


class _Payload:
    """A pickle that creates a file when unpickled: what weights_only must refuse."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_file_that_is_not_plain_weights_is_refused_unexecuted(tmp_path):
    marker, path = tmp_path / "was_executed", tmp_path / "evil.pt"
    torch.save({"fc.weight": torch.zeros(2, 2), "x": _Payload(marker)}, path)
    _, sm = small_pair()
    with pytest.raises(ValueError, match=r"weights_only loader refused .*evil\.pt' \(UnpicklingError: Unsupported "
                                         r"global: GLOBAL io\.open was not an allowed global by default\)\. .*"
                                         r"torch\.save\(model\.state_dict\(\), path\)$"):
        load_torch_state_dict(sm, path)
    assert not marker.exists()
    garbage = tmp_path / "notes.pt"
    garbage.write_text("not a torch file")
    with pytest.raises(ValueError, match=r"weights_only loader (refused|could not read) .*notes\.pt"):
        load_torch_state_dict(sm, garbage)
    with pytest.raises(FileNotFoundError):
        load_torch_state_dict(sm, tmp_path / "absent.pt")


# ---------------------------------------------------------------- errors that name the key
def test_missing_unexpected_and_misshaped_keys_are_named_and_leave_the_model_unchanged():
    tm, sm = small_pair()
    before = to_torch_state_dict(sm)
    sd = tm.state_dict()
    missing = OrderedDict((k, v) for k, v in sd.items() if k != "1.running_var")
    with pytest.raises(KeyError, match=r"(?s)load_torch_state_dict: .*missing keys: 1\.running_var$"):
        load_torch_state_dict(sm, missing)
    extra = OrderedDict(sd, **{"5.weight": torch.zeros(1)})
    with pytest.raises(KeyError, match=r"unexpected keys: 5\.weight$"):
        load_torch_state_dict(sm, extra)
    shaped = OrderedDict(sd, **{"4.weight": torch.zeros(4, 13)})  # after seven good keys
    for strict in (True, False):  # a shape mismatch is an error either way
        with pytest.raises(ValueError, match=r"key '4\.weight' has shape \(4, 13\) in the state dict but \(4, 12\)"):
            load_torch_state_dict(sm, shaped, strict=strict)
    assert_exact(to_torch_state_dict(sm), before)  # no failed load copied anything
    assert load_torch_state_dict(sm, extra, strict=False) == ([], ["5.weight"])
    assert load_torch_state_dict(sm, missing, strict=False) == (["1.running_var"], [])


def test_bad_inputs_say_what_came():
    _, sm = small_pair()
    with pytest.raises(ValueError, match=r"key '0\.bias' holds a list, not an array or tensor"):
        load_torch_state_dict(sm, {"0.weight": np.zeros((3, 2, 3, 3), np.float32), "0.bias": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match="holds no arrays or tensors"):
        load_torch_state_dict(sm, {"epoch": 3, "optimizer": {}})
    with pytest.raises(TypeError, match=r"got a Sequential; pass torch_model\.state_dict\(\)"):
        load_torch_state_dict(sm, tnn.Sequential())


def test_torchvision_googlenet_branch3_shape_mismatch_is_named():
    """torchvision's GoogLeNet has 3×3 convolutions where the paper (and shendu) has 5×5: the error says where."""
    sm = models.Inception(192, 64, 96, 128, 16, 32, 32, batch_norm=True)
    sd = to_torch_state_dict(sm)
    sd["branch3.1.conv.weight"] = np.zeros((32, 16, 3, 3), np.float32)
    with pytest.raises(ValueError, match=r"'branch3\.1\.conv\.weight' has shape \(32, 16, 3, 3\) .* \(32, 16, 5, 5\)"):
        load_torch_state_dict(sm, sd)


# ---------------------------------------------------------------- the optional extra
def test_require_names_the_extra(monkeypatch):
    assert require("math", "core", "test") is math
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    with pytest.raises(ImportError, match=r"as_tensors=True\) needs torch.*pip install 'shendu\[torch\]'"):
        to_torch_state_dict(nn.Linear(2, 2), as_tensors=True)
    with pytest.raises(ImportError, match=r"pip install 'shendu\[torch\]'"):
        load_torch_state_dict(nn.Linear(2, 2), "weights.pt")
    with pytest.raises(ImportError, match=r"^feature X needs no_such_lib, which is not installed .*"
                                          r"pip install 'shendu\[onnx\]'$"):
        require("no_such_lib.helper", "onnx", "feature X")
    # numpy arrays need no torch at all
    load_torch_state_dict(nn.Linear(2, 2), to_torch_state_dict(nn.Linear(2, 2)))


def test_importing_shendu_does_not_import_torch():
    code = ("import sys, shendu, shendu.interop; m = shendu.nn.Linear(2, 2); "
            "shendu.interop.load_torch_state_dict(m, shendu.interop.to_torch_state_dict(m)); "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
