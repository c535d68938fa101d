"""ONNX export (shendu.onnx): every layer type and every zoo model exports, passes onnx.checker, and
onnxruntime reproduces shendu's eval-mode outputs within 1e-4 — on the sample batch and on a batch of
another size (the exported batch dimension is symbolic)."""
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import shendu
import shendu.functional as F
import shendu.onnx
from shendu import nn
from shendu.models import CharLM, SequenceRegressor, TextClassifier
from zoo import smallest_size, zoo_params

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

ATOL = 1e-4


def _flat(out):
    if isinstance(out, shendu.Tensor):
        return [out]
    return [t for item in out for t in _flat(item)]


def _session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def roundtrip(model, inputs, tmp_path, more=(), atol=ATOL, **kw):
    """Export ``model`` on ``inputs``, check the file, and compare onnxruntime with shendu (eval mode) on
    ``inputs`` and on every input tuple in ``more``. Returns the ModelProto."""
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    path = tmp_path / "model.onnx"
    proto = shendu.onnx.export(model, inputs, path, check=False, **kw)
    onnx.checker.check_model(str(path), full_check=True)
    session = _session(path)
    model.eval()
    for xs in (inputs, *more):
        xs = xs if isinstance(xs, tuple) else (xs,)
        with shendu.no_grad():
            expected = _flat(model(*xs))
        got = session.run(None, {i.name: x.numpy() for i, x in zip(session.get_inputs(), xs)})
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            assert g.shape == e.shape
            assert g.dtype == e.numpy().dtype
            assert np.abs(g - e.numpy()).max() < atol
    return proto


def batches(*shape, other=3):
    """A random sample of ``shape`` and one with batch size ``other``."""
    return shendu.randn(*shape), (shendu.randn(other, *shape[1:]),)


# ---------------------------------------------------------------- layers
class Residual(nn.Module):
    """y = relu(bn(conv(x)) + x): a residual addition in a custom forward."""

    def __init__(self, c):
        super().__init__()
        self.conv, self.bn, self.relu = nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)) + x)


class Branches(nn.Module):
    """Two branches joined by nn.Concatenate, then a stack and a split."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(3, 4, 1), nn.Conv2d(3, 2, 3, padding=1)
        self.cat = nn.Concatenate(axis=1)

    def forward(self, x):
        y = self.cat(self.a(x), self.b(x))
        first, second = shendu.split(y, [2, 4], dim=1)
        return shendu.stack([first, second[:, :2]], axis=2), shendu.chunk(y, 3, axis=1)[2]


class FusedLinearReLU(nn.Linear):
    """A dense layer calling the fused op: max(x Wᵀ + b, 0) as one LinearReLU node (or another
    ``activation``: one LinearTanh, LinearSigmoid node)."""

    def __init__(self, *args, activation="relu", **kwargs):
        super().__init__(*args, **kwargs)
        self.activation = activation

    def forward(self, x):
        return super().forward(x, activation=self.activation)


class FusedConvReLU(nn.Conv2d):
    """A convolution calling the fused op: max(conv(x) + b, 0) as one Conv2dReLU node."""

    def forward(self, x):
        return super().forward(x, activation="relu")


class Functional(nn.Module):
    """Element-wise ops, matmul and shape ops of shendu.ops, with a parameter."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(shendu.randn(6, 3))

    def forward(self, x):
        a = x.abs() + 0.5
        mask = shendu.tensor(np.arange(6) % 2 == 0)
        outputs = [x.exp(), (a + 1).log(), a.sqrt(), x.clip(-0.5, 0.5), shendu.maximum(x, 0.1),
                  shendu.minimum(x, -0.1), shendu.where(mask, x, 0.0), x ** 2, a ** x, x / a, -x, x - a,
                  x @ self.w, (x @ self.w).transpose(0, 2, 1), x.unsqueeze(1).expand(-1, 4, -1, -1),
                  x[:, :1].squeeze(1), shendu.pad(x, (0, 1, 1, 2), value=0.5),
                  F.threshold(x, 0.2, -1.0), F.step(x), F.heaviside(x, 0.5), F.erf(x)]
        return tuple(outputs)


class Reductions(nn.Module):
    def forward(self, x):
        return (x.sum(axis=1), x.mean(axis=(1, 2), keepdims=True), x.max(axis=-1), x.min(), x.amax(axis=(1, 2)),
                x.var(axis=1, ddof=1), x.std(axis=2), x.logsumexp(axis=1), x.sum())


class Indexing(nn.Module):
    def forward(self, x):
        return (x[:, 1:, ::-2, None], x[..., 0], x[:, -1], x[:, [2, 0]], shendu.take(x, [3, 1, 1], axis=3),
                x[:, :, 1:-1:2, -3:], x[:, np.array([True, False, True, True])])


def conv_cases():
    return [
        ("conv1d", nn.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2), (2, 4, 11)),
        ("conv1d_same_even_kernel", nn.Conv1d(3, 4, 4, padding="same"), (2, 3, 9)),
        ("conv1d_valid", nn.Conv1d(3, 4, 2, padding="valid"), (2, 3, 9)),
        ("conv1d_before_after", nn.Conv1d(3, 4, 3, padding=(1, 2)), (2, 3, 9)),
        ("conv2d_groups_dilation", nn.Conv2d(4, 6, 3, stride=2, padding=(1, 2), dilation=2, groups=2), (2, 4, 9, 8)),
        ("conv2d_depthwise", nn.Conv2d(4, 4, 3, padding=1, groups=4, bias=False), (2, 4, 7, 7)),
        ("conv2d_same_even_kernel", nn.Conv2d(3, 5, 4, padding="same"), (2, 3, 8, 8)),
        ("conv2d_pointwise_strided", nn.Conv2d(3, 5, 1, stride=2), (2, 3, 8, 7)),
        ("keras_same_strided", nn.Conv2D(5, 3, strides=2, padding="same", activation="relu", in_channels=3),
         (2, 3, 8, 8)),
        ("keras_asymmetric", nn.Conv2D(4, 3, padding=((1, 2), (0, 1)), in_channels=3), (2, 3, 6, 6)),
        ("conv2d_reflect", nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect"), (2, 3, 6, 6)),
        ("conv2d_circular", nn.Conv2d(3, 4, 3, padding=1, padding_mode="circular"), (2, 3, 6, 6)),
        ("conv2d_replicate", nn.Conv2d(3, 4, 3, padding=1, padding_mode="replicate"), (2, 3, 6, 6)),
        ("conv_transpose2d", nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2),
         (2, 4, 5, 5)),
        ("conv_transpose2d_dilated", nn.ConvTranspose2d(3, 2, 3, stride=2, dilation=2, output_padding=1),
         (2, 3, 4, 5)),
    ]


def pool_cases():
    return [
        ("maxpool_ceil_padding", nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), (2, 3, 8, 8)),
        ("maxpool_ceil", nn.MaxPool2d(3, stride=2, ceil_mode=True), (2, 3, 8, 7)),
        ("maxpool_dilated", nn.MaxPool2d(2, stride=1, dilation=2), (2, 3, 6, 6)),
        ("maxpool_wide_ceil_padding", nn.MaxPool2d(2, stride=5, dilation=3, ceil_mode=True), (2, 3, 7, 7)),
        ("avgpool", nn.AvgPool2d(2), (2, 3, 8, 8)),
        ("avgpool_ceil_padding", nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True), (2, 3, 8, 8)),
        ("avgpool_exclude_pad", nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), (2, 3, 7, 8)),
        ("avgpool_divisor_override", nn.AvgPool2d(2, divisor_override=3), (2, 3, 6, 6)),
        ("adaptive_1x1", nn.AdaptiveAvgPool2d(1), (2, 3, 5, 6)),
        ("adaptive_3x2", nn.AdaptiveAvgPool2d((3, 2)), (2, 3, 7, 5)),
        ("adaptive_up", nn.AdaptiveAvgPool2d(7), (2, 3, 1, 1)),
        ("global_avg", nn.GlobalAvgPool2d(), (2, 3, 5, 4)),
        ("global_avg_keepdims", nn.GlobalAvgPool2d(keepdims=True), (2, 3, 5, 4)),
        ("upsample_nearest", nn.Upsample(scale_factor=2), (2, 3, 3, 4)),
        ("upsample_nearest_exact", nn.Upsample(size=(5, 7), mode="nearest-exact"), (2, 3, 3, 4)),
        ("upsample_bilinear", nn.Upsample(scale_factor=2, mode="bilinear"), (2, 3, 3, 4)),
        ("upsample_bilinear_corners", nn.Upsample(size=(5, 7), mode="bilinear", align_corners=True), (2, 3, 3, 4)),
        ("zero_pad", nn.ZeroPad2d((1, 2, 0, 3)), (2, 3, 3, 4)),
        ("lrn_odd", nn.LocalResponseNorm(5, alpha=1e-3, beta=0.75, k=2.0), (2, 7, 4, 4)),
        ("lrn_even", nn.LocalResponseNorm(4, alpha=1e-2, k=1.5), (2, 7, 4, 4)),
        ("lrn_3d", nn.LocalResponseNorm(3, alpha=1e-2), (2, 5, 6)),
    ]


def _with_stats(bn):
    """A batch norm with running statistics that are not the initial 0 and 1."""
    bn.running_mean.data = shendu.randn(*bn.running_mean.shape).data * 0.5
    bn.running_var.data = shendu.rand(*bn.running_var.shape).data + 0.5
    return bn


def norm_cases():
    return [
        ("batchnorm2d", _with_stats(nn.BatchNorm2d(4)), (2, 4, 5, 5)),
        ("batchnorm1d_2d", _with_stats(nn.BatchNorm1d(4)), (2, 4)),
        ("batchnorm1d_3d", _with_stats(nn.BatchNorm1d(4, eps=1e-3)), (2, 4, 6)),
        ("batchnorm_no_affine", _with_stats(nn.BatchNorm2d(4, affine=False)), (2, 4, 3, 3)),
        ("batchnorm_batch_stats", nn.BatchNorm2d(4, track_running_stats=False), (2, 4, 3, 3)),
        ("layernorm", nn.LayerNorm(6), (2, 3, 6)),
        ("layernorm_2d", nn.LayerNorm((3, 6), eps=1e-3), (2, 3, 6)),
        ("layernorm_no_affine", nn.LayerNorm(6, elementwise_affine=False), (2, 6)),
    ]


def activation_cases():
    cases = [(name, getattr(nn, name)(), (2, 3, 8)) for name in
             ("ReLU", "Sigmoid", "Tanh", "ReLU6", "SELU", "SiLU", "Softsign", "Hardsigmoid", "Hardswish", "Step")]
    return cases + [
        ("LeakyReLU", nn.LeakyReLU(0.2), (2, 3, 8)), ("ELU", nn.ELU(0.7), (2, 3, 8)),
        ("GELU", nn.GELU(), (2, 3, 8)), ("GELU_tanh", nn.GELU(approximate="tanh"), (2, 3, 8)),
        ("Softplus", nn.Softplus(), (2, 3, 8)), ("Softplus_beta", nn.Softplus(beta=2.0, threshold=1.0), (2, 3, 8)),
        ("Hardtanh", nn.Hardtanh(-0.5, 0.7), (2, 3, 8)), ("Threshold", nn.Threshold(0.1, 20.0), (2, 3, 8)),
        ("Softmax", nn.Softmax(dim=1), (2, 3, 8)), ("LogSoftmax", nn.LogSoftmax(dim=-1), (2, 3, 8)),
    ]


def other_cases():
    return [
        ("linear", nn.Linear(6, 4), (2, 6)),
        ("linear_3d", nn.Linear(6, 4), (2, 5, 6)),
        ("linear_no_bias", nn.Linear(6, 4, bias=False), (2, 3, 6)),
        ("linear_relu", FusedLinearReLU(6, 4), (2, 6)),
        ("linear_relu_3d_no_bias", FusedLinearReLU(6, 4, bias=False), (2, 3, 6)),
        ("linear_tanh", FusedLinearReLU(6, 4, activation="tanh"), (2, 6)),
        ("conv_relu", FusedConvReLU(3, 4, 3, padding=1), (2, 3, 6, 6)),
        ("linear_sigmoid_3d", FusedLinearReLU(6, 4, activation="sigmoid"), (2, 3, 6)),
        ("dense_keras", nn.Dense(4, activation="tanh", input_dim=6), (2, 6)),
        ("flatten", nn.Flatten(), (2, 3, 4, 5)),
        ("flatten_middle", nn.Flatten(1, 2), (2, 3, 4, 5)),
        ("flatten_all", nn.Flatten(0), (2, 3, 4)),
        ("dropout_identity", nn.Sequential(nn.Dropout(0.5), nn.Identity(), nn.Linear(4, 3)), (2, 4)),
        ("residual", Residual(3), (2, 3, 5, 5)),
        ("concatenate", Branches(), (2, 3, 4, 4)),
        ("functional", Functional(), (2, 4, 6)),
        ("reductions", Reductions(), (2, 3, 4, 5)),
        ("indexing", Indexing(), (2, 4, 5, 6)),
    ]


LAYER_CASES = conv_cases() + pool_cases() + norm_cases() + activation_cases() + other_cases()


@pytest.mark.parametrize("name", [c[0] for c in LAYER_CASES])
def test_layer(name, tmp_path):
    module, shape = {c[0]: c[1:] for c in LAYER_CASES}[name]
    x, other = batches(*shape)
    roundtrip(module, x, tmp_path, more=[other])


# Geometry drawn at random: every example is exported and run (tmp_path is shared by the examples).
geometry = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


def _slice_keys(size):
    bound = st.integers(-size - 1, size + 1) | st.none()
    return st.integers(-size, size - 1) | st.builds(slice, bound, bound, st.sampled_from([None, 1, 2, -1, -3]))


@geometry
@given(st.data(), st.integers(1, 5), st.integers(1, 6), st.booleans())
def test_slicing(tmp_path, data, h, w, new_axis):
    key = (slice(None), data.draw(_slice_keys(h)), *([None] if new_axis else []), data.draw(_slice_keys(w)))
    x = shendu.randn(2, h, w)
    assume(x.numpy()[key].size > 0)

    class Slice(nn.Module):
        def forward(self, x):
            return x[key]

    roundtrip(Slice(), x, tmp_path, more=[shendu.randn(3, h, w)])


@geometry
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 2), st.integers(0, 2), st.sampled_from([1, 2]),
       st.integers(3, 8), st.booleans())
def test_conv_geometry(tmp_path, k, s, d, p, groups, size, transposed):
    assume(size + 2 * p >= d * (k - 1) + 1)
    if transposed:
        assume(p <= d * (k - 1) and (size - 1) * s - 2 * p + d * (k - 1) + max(s, d) >= 1)
        conv = nn.ConvTranspose2d(2, 4, k, stride=s, padding=p, dilation=d, groups=groups,
                                  output_padding=max(s, d) - 1)
    else:
        conv = nn.Conv2d(2, 4, k, stride=s, padding=p, dilation=d, groups=groups)
    x, other = batches(2, 2, size, size + 1)
    roundtrip(conv, x, tmp_path, more=[other])


@geometry
@given(st.integers(1, 4), st.integers(1, 3), st.integers(0, 2), st.integers(3, 8), st.booleans(), st.booleans(),
       st.booleans())
def test_pool_geometry(tmp_path, k, s, p, size, ceil_mode, average, count_include_pad):
    assume(p <= k // 2 and size + 2 * p >= k)
    pool = nn.AvgPool2d(k, s, p, ceil_mode, count_include_pad) if average else nn.MaxPool2d(k, s, p,
                                                                                           ceil_mode=ceil_mode)
    x, other = batches(2, 2, size, size + 2)
    roundtrip(pool, x, tmp_path, more=[other])


def test_embedding(tmp_path):
    emb = nn.Embedding(20, 5, padding_idx=0)
    ids = shendu.tensor(np.random.default_rng(0).integers(0, 20, (2, 7)))
    roundtrip(emb, ids, tmp_path, more=[shendu.tensor(np.arange(28).reshape(4, 7) % 20)])
    roundtrip(emb, shendu.tensor([3, 0, 19]), tmp_path, more=[shendu.tensor([1, 2])])


def test_integer_input_cast(tmp_path):
    lin = nn.Linear(3, 2)
    model = nn.Sequential()
    model.forward = lambda x: lin(x.float() * 0.5)  # an int input cast inside the model
    model.lin = lin
    roundtrip(model, shendu.tensor([[1, 2, 3]]), tmp_path, more=[shendu.tensor([[4, 5, 6], [0, 1, 2]])])


@pytest.mark.parametrize("mode", ["RNN", "RNN_relu", "LSTM", "GRU"])
@pytest.mark.parametrize("batch_first", [True, False])
def test_recurrent(mode, batch_first, tmp_path):
    kw = dict(num_layers=2, bidirectional=True, batch_first=batch_first)
    rnn = nn.RNN(3, 5, nonlinearity="relu", **kw) if mode == "RNN_relu" else getattr(nn, mode)(3, 5, **kw)
    if batch_first:
        x, other = batches(2, 4, 3)
        roundtrip(rnn, x, tmp_path, more=[other])
    else:  # time-major: the batch is axis 1
        x, other = shendu.randn(4, 2, 3), shendu.randn(4, 3, 3)
        roundtrip(rnn, x, tmp_path, more=[other], batch_axis=1)


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_recurrent_initial_state_and_lengths(mode, tmp_path):
    """hx given as inputs (batch axis 1) and per-sequence lengths as an input (ONNX's sequence_lens)."""
    rnn = getattr(nn, mode)(3, 4, bidirectional=True, batch_first=True)

    class WithState(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = rnn

        def forward(self, x, h, lengths):
            return self.rnn(x, (h, h * 0.5) if mode == "LSTM" else h, lengths=lengths)

    x, h = shendu.randn(3, 5, 3), shendu.randn(2, 3, 4)
    more = (shendu.randn(2, 5, 3), shendu.randn(2, 2, 4), shendu.tensor([2, 5]))
    roundtrip(WithState(), (x, h, shendu.tensor([5, 1, 3])), tmp_path, more=[more], batch_axis=(0, 1, 0))


@pytest.mark.parametrize("cell", ["RNNCell", "LSTMCell", "GRUCell"])
def test_recurrent_cells(cell, tmp_path):
    x, other = batches(2, 3)
    roundtrip(getattr(nn, cell)(3, 5), x, tmp_path, more=[other])


# ---------------------------------------------------------------- the model zoo
#: The heaviest models (over a second or two each to build, export, load and run): ``-m slow``.
HEAVY = {"vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn", "resnet34", "resnet50",
         "resnet101", "resnet152", "resnet44", "resnet56", "resnet110", "alexnet_original"}


def test_heavy_models_are_registered():
    names = {m.name for m in shendu.models.list_models()}
    assert HEAVY <= names and names - HEAVY >= {"lenet5", "alexnet", "vgg11", "googlenet", "resnet18", "resnet20"}


@pytest.mark.parametrize("name", list(zoo_params(HEAVY)))
def test_zoo_model(name, tmp_path):
    info = shendu.models.model_info(name)
    model = info.factory(num_classes=10, in_channels=info.input_shape[0])
    size = smallest_size(info, 32)
    shape = (info.input_shape[0], size, size)
    x, other = shendu.randn(1, *shape), shendu.randn(2, *shape)
    # Untrained, the batch norms' running statistics are 0 and 1: in eval mode a ResNet is then positively
    # homogeneous and its outputs grow with depth (to 1e8 for ResNet-101), with float32's relative error.
    # Scale the inputs so that the outputs are O(1), where an absolute tolerance means something.
    with shendu.no_grad():
        scale = max(1.0, float(np.abs(model.eval()(other).numpy()).max()))
    roundtrip(model, x / scale, tmp_path, more=[other / scale])


def _ids(n, length, vocab, seed=0):
    return shendu.tensor(np.random.default_rng(seed).integers(0, vocab, (n, length)))


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_text_classifier(cell, tmp_path):
    model = TextClassifier(50, 8, 12, 3, cell=cell, num_layers=2, bidirectional=True, padding_idx=0)
    roundtrip(model, _ids(2, 7, 50), tmp_path, more=[_ids(4, 7, 50, 1)])
    roundtrip(model, (_ids(2, 7, 50), shendu.tensor([7, 3])), tmp_path,
              more=[(_ids(3, 7, 50, 1), shendu.tensor([2, 7, 5]))])


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_sequence_regressor(cell, tmp_path):
    model = SequenceRegressor(3, 12, 2, cell=cell, num_layers=2, bidirectional=True)
    x, other = batches(2, 6, 3)
    roundtrip(model, x, tmp_path, more=[other])


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_char_lm(cell, tmp_path):
    """Outputs (logits, state): nested outputs are flattened, the final states are outputs too."""
    model = CharLM(30, 8, 12, num_layers=2, cell=cell)
    proto = roundtrip(model, _ids(2, 6, 30), tmp_path, more=[_ids(3, 6, 30, 1)])
    assert len(proto.graph.output) == (3 if cell == "lstm" else 2)


# ---------------------------------------------------------------- the export itself
def test_names_shapes_and_checker(tmp_path):
    """Initializers carry the state_dict names, nodes their layer's path, the batch dimension is symbolic;
    export's own check (the default) passes."""
    model = shendu.models.lenet5()
    path = tmp_path / "lenet5.onnx"
    proto = shendu.onnx.export(model, shendu.randn(1, 1, 32, 32), path, input_names=["image"],
                               output_names=["logits"])
    assert path.exists() and onnx.load(str(path)) == proto
    assert {i.name for i in proto.graph.initializer} >= set(model.state_dict())
    assert any(n.name.startswith("c1/Conv") for n in proto.graph.node)
    (inp,), (out,) = proto.graph.input, proto.graph.output
    assert inp.name == "image" and out.name == "logits"
    assert [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim] == ["batch", 1, 32, 32]
    assert [d.dim_param or d.dim_value for d in out.type.tensor_type.shape.dim] == ["batch", 10]
    assert proto.opset_import[0].version == 17 and proto.producer_name == "shendu"


def test_static_shapes(tmp_path):
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2 * 4 * 4, 3))
    proto = roundtrip(model, shendu.randn(2, 1, 6, 6), tmp_path, batch_axis=None)
    dims = [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [2, 1, 6, 6]


def test_newest_opset(tmp_path):
    """Reductions take their axes as an input from opset 18: the newest opset works too."""
    model = nn.Sequential(nn.LayerNorm(5), nn.LSTM(5, 4, batch_first=True))
    model.forward = lambda x: Reductions()(model[1](model[0](x))[0])
    x, other = batches(2, 3, 5)
    roundtrip(model, x, tmp_path, more=[other], opset=onnx.defs.onnx_opset_version())
    roundtrip(Reductions(), x, tmp_path, more=[other], opset=18)


def test_restores_the_model(tmp_path):
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5), nn.BatchNorm1d(3))
    model[0].weight.requires_grad = False
    model[2].eval()  # a frozen batch norm inside a model in training
    apply = shendu.Function.__dict__["apply"]
    shendu.onnx.export(model, shendu.randn(2, 3), tmp_path / "m.onnx")
    assert [m.training for m in model.modules()] == [True, True, True, False]
    assert not model[0].weight.requires_grad and model[0].bias.requires_grad
    assert shendu.Function.__dict__["apply"] is apply
    assert not model[0]._forward_hooks


def test_missing_extra_names_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"shendu\[onnx\]"):
        shendu.onnx.export(nn.Linear(2, 2), shendu.randn(1, 2), tmp_path / "m.onnx")


def test_errors(tmp_path):
    path = tmp_path / "m.onnx"
    with pytest.raises(ValueError, match="opset"):
        shendu.onnx.export(nn.Linear(2, 2), shendu.randn(1, 2), path, opset=16)

    class Loss(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            return F.cross_entropy(self.fc(x), shendu.tensor([0, 2]))

    with pytest.raises(ValueError, match=r"SoftmaxCrossEntropy in the model \(Loss\).*no ONNX translation"):
        shendu.onnx.export(Loss(), shendu.randn(2, 4), path, batch_axis=None)

    class Leaky(nn.Module):  # a value taken out of the graph through .numpy()
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            return self.fc(x) * float(x.numpy().mean())

    with pytest.raises(ValueError, match="changes with the input"):
        shendu.onnx.export(Leaky(), shendu.randn(2, 4), path)

    class Branchy(nn.Module):  # the graph depends on the batch size
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            return self.fc(x) if x.shape[0] < 3 else self.fc(x).exp()

    with pytest.raises(ValueError, match="batch_axis=None"):
        shendu.onnx.export(Branchy(), shendu.randn(2, 4), path)

    class Noisy(nn.Module):  # random in evaluation too
        def forward(self, x):
            return F.dropout(x, 0.5, training=True)

    with pytest.raises(ValueError, match=r"Dropout in layer '1' \(Noisy\)"):
        shendu.onnx.export(nn.Sequential(nn.Linear(4, 4), Noisy()), shendu.randn(2, 4), path)
    assert not path.exists()  # nothing written by a failed export


# ---------------------------------------------------------------- attention and transformers
def test_gpt_vit_and_transformer_export(tmp_path):
    from shendu.models import GPT, ViT
    gpt = GPT(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16)
    ids = shendu.randint(0, 11, (2, 8))
    roundtrip(gpt, ids, tmp_path, more=[shendu.randint(0, 11, (3, 8))])
    vit = ViT(image_size=28, patch_size=7, dim=16, depth=2, heads=2, mlp_dim=32)
    x, more = batches(2, 1, 28, 28)
    roundtrip(vit, x, tmp_path, more=more)
    t = nn.Transformer(d_model=16, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=32,
                       batch_first=True)
    mask = nn.Transformer.generate_square_subsequent_mask(5)

    class Seq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.t = t

        def forward(self, src, tgt):
            return self.t(src, tgt, tgt_mask=mask)

    roundtrip(Seq2Seq(), (shendu.randn(2, 7, 16), shendu.randn(2, 5, 16)), tmp_path,
              more=[(shendu.randn(3, 7, 16), shendu.randn(3, 5, 16))])
    mha = nn.MultiheadAttention(16, 4, batch_first=True)

    class SelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.mha = mha

        def forward(self, x):
            return self.mha(x, x, x, need_weights=False)[0]

    x, more = batches(2, 6, 16)
    roundtrip(SelfAttention(), x, tmp_path, more=more)
