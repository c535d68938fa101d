"""Issue 14's spatial functions against PyTorch: 3-D and transposed 1-D/3-D convolutions, 1-D/3-D
pooling, max-pool indices and unpooling, interpolation (1-D/2-D/3-D, integer images), pixel
shuffle, unfold/fold, channel dropout and embedding bags.

Random configurations (strides, paddings, dilations, groups, ceil_mode, align_corners, modes)
are drawn from a seeded generator, so every run checks the same cases; each goes through the
harness (forward + gradients in float32/float64 vs torch, gradcheck in float64).
"""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import shendu
import shendu.functional as F
import shendu.nn as nn
from harness import check, check_module

torch = pytest.importorskip("torch")
TF = torch.nn.functional
F32 = {np.float32: dict(rtol=1e-4, atol=1e-5)}


def randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ----------------------------------------------------------------- convolutions
def conv3d_cases(n=6):
    rng = np.random.default_rng(14)
    for _ in range(n):
        groups = int(rng.choice([1, 2]))
        k = tuple(int(v) for v in rng.integers(1, 4, 3))
        s = tuple(int(v) for v in rng.integers(1, 3, 3))
        d = tuple(int(v) for v in rng.integers(1, 3, 3))
        p = tuple(int(v) for v in rng.integers(0, 2, 3))
        yield groups, k, s, d, p


@pytest.mark.parametrize("groups, kernel, stride, dilation, padding", list(conv3d_cases()))
def test_conv3d_matches_torch(groups, kernel, stride, dilation, padding):
    x, w, b = randn(2, 2 * groups, 5, 6, 5), randn(2 * groups, 2, *kernel, seed=1), randn(2 * groups, seed=2)
    check(lambda x, w, b: F.conv3d(x, w, b, stride, padding, dilation, groups),
          lambda x, w, b: TF.conv3d(x, w, b, stride, padding, dilation, groups), [x, w, b], tol=F32)


@pytest.mark.filterwarnings("ignore:Using padding=.same.")
def test_conv3d_same_padding_and_no_bias():
    check(lambda x, w: F.conv3d(x, w, padding="same"), lambda x, w: TF.conv3d(x, w, padding="same"),
          [randn(1, 2, 4, 5, 4), randn(3, 2, 3, 2, 3, seed=1)], tol=F32)


def test_nd_kernels_agree_with_torch_conv2d():
    """The N-d im2col/col2im path is general: on images it gives conv2d's numbers too."""
    from shendu.functional.conv import conv_nd
    check(lambda x, w: conv_nd(x, w, None, (2, 1), 1, (1, 2), 2), lambda x, w: TF.conv2d(x, w, None, (2, 1), 1, (1, 2), 2),
          [randn(2, 4, 7, 8), randn(6, 2, 3, 3, seed=1)])


@pytest.mark.parametrize("groups, kernel, stride, dilation, padding", list(conv3d_cases(5)))
def test_conv_transpose3d_matches_torch(groups, kernel, stride, dilation, padding):
    out_pad = tuple(int(max(s, dd) > 1) for s, dd in zip(stride, dilation))
    x, w, b = randn(2, 2 * groups, 3, 4, 3), randn(2 * groups, 2, *kernel, seed=1), randn(2 * groups, seed=2)
    check(lambda x, w, b: F.conv_transpose3d(x, w, b, stride, padding, out_pad, groups, dilation),
          lambda x, w, b: TF.conv_transpose3d(x, w, b, stride, padding, out_pad, groups, dilation), [x, w, b], tol=F32)


@pytest.mark.parametrize("stride, padding, output_padding, groups, dilation", [
    (1, 0, 0, 1, 1), (2, 1, 1, 2, 1), (3, 2, 2, 1, 2), (2, 0, 1, 4, 3)])
def test_conv_transpose1d_matches_torch(stride, padding, output_padding, groups, dilation):
    x, w, b = randn(2, 4, 7), randn(4, 3, 3, seed=1), randn(3 * groups, seed=2)
    check(lambda x, w, b: F.conv_transpose1d(x, w, b, stride, padding, output_padding, groups, dilation),
          lambda x, w, b: TF.conv_transpose1d(x, w, b, stride, padding, output_padding, groups, dilation), [x, w, b])


@pytest.mark.parametrize("ours, theirs, shape", [
    (lambda: nn.Conv3d(2, 4, 3, stride=2, padding=1), lambda: torch.nn.Conv3d(2, 4, 3, stride=2, padding=1),
     (2, 2, 5, 6, 5)),
    (lambda: nn.Conv3d(4, 4, (1, 2, 3), groups=2, bias=False), lambda: torch.nn.Conv3d(4, 4, (1, 2, 3), groups=2,
                                                                                       bias=False), (1, 4, 3, 4, 5)),
    (lambda: nn.ConvTranspose3d(4, 2, 2, stride=2), lambda: torch.nn.ConvTranspose3d(4, 2, 2, stride=2),
     (1, 4, 2, 3, 2)),
    (lambda: nn.ConvTranspose1d(4, 6, 4, stride=2, padding=1, groups=2),
     lambda: torch.nn.ConvTranspose1d(4, 6, 4, stride=2, padding=1, groups=2), (2, 4, 9)),
])
def test_conv_layers_match_torch_with_copied_weights(ours, theirs, shape):
    a, b = ours(), theirs()
    assert set(a.state_dict()) == set(b.state_dict())
    assert all(tuple(a.state_dict()[k].shape) == tuple(v.shape) for k, v in b.state_dict().items())
    check_module(a, b, [randn(*shape)])


def test_conv_transpose_output_size_and_errors():
    layer = nn.ConvTranspose3d(2, 2, 3, stride=2, padding=1)
    assert layer(shendu.randn(1, 2, 3, 3, 3), output_size=(6, 5, 6)).shape == (1, 2, 6, 5, 6)
    with pytest.raises(ValueError, match="Conv3d: expected input"):
        nn.Conv3d(2, 2, 3)(shendu.randn(1, 2, 5, 5))
    with pytest.raises(ValueError, match="conv3d: .*too small"):
        F.conv3d(shendu.randn(1, 1, 2, 5, 5), shendu.randn(1, 1, 3, 3, 3))
    with pytest.raises(ValueError, match="output_padding"):
        F.conv_transpose3d(shendu.randn(1, 1, 2, 2, 2), shendu.randn(1, 1, 2, 2, 2), output_padding=1)
    with pytest.raises(NotImplementedError, match="padding_mode"):
        nn.Conv3d(1, 1, 3, padding_mode="reflect")


# ----------------------------------------------------------------- pooling
def pool_cases(dims, n=6):
    rng = np.random.default_rng(dims)
    for _ in range(n):
        k = tuple(int(v) for v in rng.integers(1, 4, dims))
        s = tuple(int(v) for v in rng.integers(1, 3, dims))
        p = tuple(int(rng.integers(0, ki // 2 + 1)) for ki in k)
        d = tuple(int(v) for v in rng.integers(1, 3, dims))
        yield k, s, p, d, bool(rng.integers(2)), bool(rng.integers(2))


@pytest.mark.parametrize("kernel, stride, padding, dilation, ceil_mode, include_pad", list(pool_cases(3)))
def test_pool3d_matches_torch(kernel, stride, padding, dilation, ceil_mode, include_pad):
    x = randn(2, 2, 6, 7, 5)
    check(lambda x: F.max_pool3d(x, kernel, stride, padding, dilation, ceil_mode),
          lambda x: TF.max_pool3d(x, kernel, stride, padding, dilation, ceil_mode), [x])
    check(lambda x: F.avg_pool3d(x, kernel, stride, padding, ceil_mode, include_pad),
          lambda x: TF.avg_pool3d(x, kernel, stride, padding, ceil_mode, include_pad), [x])


def test_avg_pool3d_divisor_override_and_unbatched():
    check(lambda x: F.avg_pool3d(x, 2, 1, 1, divisor_override=3), lambda x: TF.avg_pool3d(x, 2, 1, 1, divisor_override=3),
          [randn(1, 2, 3, 4, 3)])
    check(lambda x: F.max_pool3d(x, 2), lambda x: TF.max_pool3d(x, 2), [randn(2, 4, 4, 4)])


def test_max_pool3d_ties_go_to_the_first_maximum_like_torch():
    x = np.zeros((1, 1, 4, 4, 4))
    check(lambda x: F.max_pool3d(x, 2, 1), lambda x: TF.max_pool3d(x, 2, 1), [x], gradcheck=False)


@pytest.mark.parametrize("kernel, stride, padding, dilation, ceil_mode, include_pad", list(pool_cases(1)))
def test_pool1d_matches_torch(kernel, stride, padding, dilation, ceil_mode, include_pad):
    (k,), (s,), (p,), (d,) = kernel, stride, padding, dilation
    x = randn(2, 3, 9)
    check(lambda x: F.max_pool1d(x, k, s, p, d, ceil_mode), lambda x: TF.max_pool1d(x, k, s, p, d, ceil_mode), [x])
    check(lambda x: F.avg_pool1d(x, k, s, p, ceil_mode, include_pad),
          lambda x: TF.avg_pool1d(x, k, s, p, ceil_mode, include_pad), [x])
    y, i = F.max_pool1d(shendu.tensor(x), k, s, p, d, ceil_mode, return_indices=True)
    ty, ti = TF.max_pool1d(torch.tensor(x), k, s, p, d, ceil_mode, return_indices=True)
    assert i.dtype == np.int64 and np.array_equal(i.numpy(), ti.numpy())


@pytest.mark.parametrize("kernel, stride, padding, dilation, ceil_mode, _", list(pool_cases(2, 8)))
def test_max_pool2d_indices_match_torch_and_unpool_inverts(kernel, stride, padding, dilation, ceil_mode, _):
    x = randn(2, 3, 8, 9)
    y, i = F.max_pool2d(shendu.tensor(x), kernel, stride, padding, dilation, ceil_mode, return_indices=True)
    ty, ti = TF.max_pool2d(torch.tensor(x), kernel, stride, padding, dilation, ceil_mode, return_indices=True)
    assert np.array_equal(y.numpy(), ty.numpy()) and np.array_equal(i.numpy(), ti.numpy())


@pytest.mark.parametrize("kernel, stride, padding, size", [(2, None, 0, None), (3, 2, 1, (9, 10)),
                                                          ((2, 3), (2, 3), 0, (9, 10))])
def test_max_unpool2d_with_torch_indices_matches_torch(kernel, stride, padding, size):
    ty, ti = TF.max_pool2d(torch.tensor(randn(2, 3, 9, 10)), kernel, stride, padding, return_indices=True)
    # overlapping windows can name one position twice: the placement keeps one value, so finite
    # differences see the other as constant while torch's gradient (a gather) does not; compare with torch only
    unique = len(np.unique(ti.numpy().reshape(6, -1)[0])) == ti.numpy()[0, 0].size
    check(lambda y: F.max_unpool2d(y, shendu.tensor(ti.numpy()), kernel, stride, padding, size),
          lambda y: TF.max_unpool2d(y, ti, kernel, stride, padding, size), [ty.numpy()], gradcheck=unique)
    pool, unpool = nn.MaxPool2d(kernel, stride, padding, return_indices=True), nn.MaxUnpool2d(kernel, stride, padding)
    y, i = pool(shendu.tensor(randn(2, 3, 9, 10)))
    assert unpool(y, i, size).shape == TF.max_unpool2d(ty, ti, kernel, stride, padding, size).shape


def test_max_unpool2d_errors():
    y, i = F.max_pool2d(shendu.randn(1, 1, 4, 4), 2, return_indices=True)
    with pytest.raises(ValueError, match="invalid max index"):
        F.max_unpool2d(y, i * 10, 2)
    with pytest.raises(ValueError, match="same shape"):
        F.max_unpool2d(y, i[0], 2)


@pytest.mark.parametrize("ours, theirs, shape", [
    (nn.MaxPool1d(3, 2, 1), torch.nn.MaxPool1d(3, 2, 1), (2, 3, 9)),
    (nn.AvgPool1d(3, 2, 1, count_include_pad=False), torch.nn.AvgPool1d(3, 2, 1, count_include_pad=False), (2, 3, 9)),
    (nn.MaxPool3d(2, ceil_mode=True), torch.nn.MaxPool3d(2, ceil_mode=True), (1, 2, 5, 4, 5)),
    (nn.AvgPool3d((1, 2, 2)), torch.nn.AvgPool3d((1, 2, 2)), (1, 2, 3, 4, 4)),
], ids=["MaxPool1d", "AvgPool1d", "MaxPool3d", "AvgPool3d"])
def test_pool_layers_match_torch(ours, theirs, shape):
    check_module(ours, theirs, [randn(*shape)])


# ----------------------------------------------------------------- interpolation
INTERP = [
    ((2, 3, 7), dict(size=11, mode="linear")),
    ((2, 3, 7), dict(size=4, mode="linear", align_corners=True)),
    ((2, 3, 7), dict(scale_factor=2.5, mode="linear")),
    ((2, 3, 7), dict(size=12, mode="nearest")),
    ((2, 3, 7), dict(size=5, mode="nearest-exact")),
    ((2, 2, 5, 6), dict(size=(9, 4), mode="bicubic")),
    ((2, 2, 5, 6), dict(size=(3, 11), mode="bicubic", align_corners=True)),
    ((2, 2, 5, 6), dict(scale_factor=(1.7, 0.6), mode="bicubic")),
    ((2, 2, 5, 6), dict(scale_factor=2, mode="bilinear", align_corners=True)),
    ((1, 2, 3, 4, 5), dict(size=(5, 7, 3), mode="trilinear")),
    ((1, 2, 3, 4, 5), dict(scale_factor=2, mode="trilinear", align_corners=True)),
    ((1, 2, 3, 4, 5), dict(scale_factor=(1.5, 0.5, 2), mode="trilinear", recompute_scale_factor=True)),
    ((1, 2, 3, 4, 5), dict(size=(5, 7, 3), mode="nearest")),
    ((1, 2, 3, 4, 5), dict(size=(6, 3, 8), mode="nearest-exact")),
]


@pytest.mark.parametrize("shape, kw", INTERP, ids=[f"{len(s) - 2}d-{kw['mode']}-{i}" for i, (s, kw) in enumerate(INTERP)])
def test_interpolate_matches_torch(shape, kw):
    check(lambda x: F.interpolate(x, **kw), lambda x: TF.interpolate(x, **kw), [randn(*shape)])


@pytest.mark.parametrize("kw", [dict(size=(13, 5), mode="bilinear"), dict(size=(14, 18), mode="bilinear"),
                                dict(scale_factor=1.5, mode="bilinear", align_corners=True),
                                dict(size=(3, 4), mode="bilinear", align_corners=True),
                                dict(size=(13, 5), mode="bicubic"), dict(size=(13, 5), mode="nearest")])
@pytest.mark.parametrize("channels", [3, 5])
def test_interpolate_uint8_images_match_torch(kw, channels):
    """Issue 12 §3: bilinear on integer images used to give all zeros; now the values and dtype are torch's."""
    x = np.random.default_rng(channels).integers(0, 256, (2, channels, 7, 9)).astype(np.uint8)
    ours = F.interpolate(shendu.tensor(x), **kw)
    theirs = TF.interpolate(torch.tensor(x), **kw).numpy()
    assert ours.dtype == np.uint8
    assert np.array_equal(ours.numpy(), theirs)
    assert ours.numpy().max() > 0


def test_interpolate_refusals():
    with pytest.raises(NotImplementedError, match="convert with .float"):
        F.interpolate(shendu.tensor(np.ones((1, 1, 2, 2), dtype=np.int64)), scale_factor=2, mode="bilinear")
    with pytest.raises(NotImplementedError, match="antialias"):
        F.interpolate(shendu.randn(1, 1, 4, 4), scale_factor=0.5, mode="bilinear", antialias=True)
    with pytest.raises(ValueError, match="mode 'bicubic' does not apply to 3-D"):
        F.interpolate(shendu.randn(1, 1, 4), scale_factor=2, mode="bicubic")
    with pytest.raises(ValueError, match="size needs 3 entries"):
        F.interpolate(shendu.randn(1, 1, 2, 2, 2), size=(4, 4), mode="trilinear")


# ----------------------------------------------------------------- rearranging
@pytest.mark.parametrize("shape, r", [((2, 8, 3, 4), 2), ((1, 2, 9, 2, 2), 3), ((18, 2, 3), 3)])
def test_pixel_shuffle_matches_torch(shape, r):
    check(lambda x: F.pixel_shuffle(x, r), lambda x: TF.pixel_shuffle(x, r), [randn(*shape)])
    out = TF.pixel_shuffle(torch.tensor(randn(*shape)), r).shape
    check(lambda x: F.pixel_unshuffle(x, r), lambda x: TF.pixel_unshuffle(x, r), [randn(*out)])
    check_module(nn.PixelShuffle(r), torch.nn.PixelShuffle(r), [randn(*shape)])
    check_module(nn.PixelUnshuffle(r), torch.nn.PixelUnshuffle(r), [randn(*out)])


@pytest.mark.parametrize("kernel, dilation, padding, stride", [(3, 1, 1, 1), ((2, 3), (1, 2), (1, 0), (2, 1)),
                                                                (2, 1, 0, 2), (1, 1, 0, 1)])
def test_unfold_and_fold_match_torch(kernel, dilation, padding, stride):
    x = randn(2, 3, 7, 8)
    check(lambda x: F.unfold(x, kernel, dilation, padding, stride), lambda x: TF.unfold(x, kernel, dilation, padding, stride),
          [x])
    blocks = TF.unfold(torch.tensor(x), kernel, dilation, padding, stride).numpy()
    check(lambda c: F.fold(c, (7, 8), kernel, dilation, padding, stride),
          lambda c: TF.fold(c, (7, 8), kernel, dilation, padding, stride), [blocks])
    check_module(nn.Unfold(kernel, dilation, padding, stride), torch.nn.Unfold(kernel, dilation, padding, stride), [x])
    check_module(nn.Fold((7, 8), kernel, dilation, padding, stride),
                 torch.nn.Fold((7, 8), kernel, dilation, padding, stride), [blocks])


def test_unfold_fold_unbatched_and_errors():
    check(lambda x: F.unfold(x, 2), lambda x: TF.unfold(x, 2), [randn(3, 4, 4)])
    check(lambda c: F.fold(c, 4, 2), lambda c: TF.fold(c, 4, 2), [randn(12, 9)])
    with pytest.raises(ValueError, match="fold: expected input"):
        F.fold(shendu.randn(1, 12, 8), 4, 2)


# ----------------------------------------------------------------- channel dropout
@pytest.mark.parametrize("fn, shape", [(F.dropout2d, (4, 16, 3, 3)), (F.dropout2d, (4, 16, 5)), (F.dropout1d, (4, 16, 5)),
                                       (F.dropout3d, (2, 16, 2, 2, 2))])
def test_channel_dropout_zeroes_whole_channels_and_scales(fn, shape):
    shendu.manual_seed(0)
    x = shendu.tensor(np.ones(shape), requires_grad=True)
    y = fn(x, p=0.25)
    maps = y.numpy().reshape(shape[0], shape[1], -1)
    assert np.all(maps.min(axis=2) == maps.max(axis=2))  # one value per channel
    assert set(np.unique(maps)) <= {0.0, 1 / 0.75} and 0 < (maps == 0).mean() < 0.6
    y.sum().backward()
    assert np.array_equal(x.grad.numpy(), y.numpy())  # dy/dx is the mask
    assert fn(x, p=0.25, training=False) is x


def test_dropout2d_layer_train_eval():
    layer = nn.Dropout2d(0.5, inplace=True)
    x = shendu.ones(2, 6, 3, 3)
    assert layer.eval()(x) is x
    with pytest.raises(ValueError, match="dropout2d: p must be"):
        F.dropout2d(x, 1.5)


# ----------------------------------------------------------------- embedding bags
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("case", ["offsets", "2d", "last_offset", "padding"])
def test_embedding_bag_matches_torch(mode, case):
    table = randn(10, 4)
    idx, offsets, kw = np.array([1, 2, 4, 5, 4, 7, 7, 0]), np.array([0, 2, 2, 5]), {}
    if case == "2d":
        idx, offsets = np.random.default_rng(1).integers(0, 10, (3, 5)), None
    if case == "last_offset":
        offsets, kw = np.array([0, 2, 2, 5, 8]), dict(include_last_offset=True)
    if case == "padding":
        kw = dict(padding_idx=4)
    extra = [] if offsets is None else [offsets]

    def ours(w, i, *o):
        return F.embedding_bag(i, w, *o, mode=mode, **kw)

    def theirs(w, i, *o):
        return TF.embedding_bag(i, w, *o, mode=mode, **kw)
    check(ours, theirs, [table, idx, *extra])


def test_embedding_bag_per_sample_weights_and_layer():
    idx, psw = np.random.default_rng(2).integers(0, 10, (3, 5)), randn(3, 5, seed=3)
    check(lambda w, p, i: F.embedding_bag(i, w, mode="sum", per_sample_weights=p),
          lambda w, p, i: TF.embedding_bag(i, w, mode="sum", per_sample_weights=p), [randn(10, 4), psw, idx])
    for mode in ("sum", "mean", "max"):
        ours, theirs = nn.EmbeddingBag(10, 4, mode=mode, padding_idx=2), torch.nn.EmbeddingBag(10, 4, mode=mode,
                                                                                             padding_idx=2)
        assert set(ours.state_dict()) == set(theirs.state_dict())
        assert np.all(ours.weight.numpy()[2] == 0)
        check_module(ours, theirs, [idx])


def test_embedding_bag_errors():
    w = shendu.randn(5, 2)
    with pytest.raises(ValueError, match="needs offsets"):
        F.embedding_bag(shendu.tensor([1, 2]), w)
    with pytest.raises(ValueError, match="offsets must be 1-D, start at 0"):
        F.embedding_bag(shendu.tensor([1, 2]), w, shendu.tensor([1]))
    with pytest.raises(IndexError, match=r"indices must be in \[0, 5\)"):
        F.embedding_bag(shendu.tensor([[1, 7]]), w)
    with pytest.raises(NotImplementedError, match="per_sample_weights is only supported with mode='sum'"):
        F.embedding_bag(shendu.tensor([[1, 2]]), w, per_sample_weights=shendu.ones(1, 2))


# ----------------------------------------------------------------- PyTorch state dicts
def test_torch_state_dicts_load_into_the_new_layers():
    """shendu.interop.load_torch_state_dict needs no per-layer mapping: names and layouts are torch's."""
    from shendu.interop import load_torch_state_dict

    def build(m):
        return m.Sequential(m.Conv3d(2, 4, 3, padding=1), m.GroupNorm(2, 4), m.PReLU(4),
                            m.ConvTranspose3d(4, 3, 2, stride=2), m.InstanceNorm3d(3, affine=True,
                                                                                   track_running_stats=True),
                            m.Mish(), m.MaxPool3d(2), m.Flatten(), m.RMSNorm(3 * 4 * 4 * 4))

    torch.manual_seed(0)
    theirs = build(torch.nn).double()
    theirs(torch.randn(2, 2, 4, 4, 4, dtype=torch.float64))  # moves the running statistics
    with torch.no_grad():
        for p in theirs.parameters():
            p.add_(0.1 * torch.randn_like(p))
    ours = build(nn).to(dtype=np.float64)
    assert load_torch_state_dict(ours, theirs.state_dict()) == ([], [])
    x = randn(2, 2, 4, 4, 4)
    ours.eval(), theirs.eval()
    assert np.allclose(ours(shendu.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(), atol=1e-10)
    bag = torch.nn.EmbeddingBag(7, 3, mode="max").double()
    ours_bag = nn.EmbeddingBag(7, 3, mode="max").to(dtype=np.float64)
    load_torch_state_dict(ours_bag, bag.state_dict())
    idx = np.array([[1, 2, 6], [0, 0, 3]])
    assert np.allclose(ours_bag(shendu.tensor(idx)).numpy(), bag(torch.tensor(idx)).detach().numpy())


# ----------------------------------------------------------------- random sizes (hypothesis)
@settings(max_examples=30, deadline=None)
@given(st.integers(1, 9), st.integers(1, 12), st.sampled_from(["linear", "nearest", "nearest-exact"]), st.booleans())
def test_interpolate_1d_any_sizes(n_in, n_out, mode, align):
    kw = dict(size=n_out, mode=mode, align_corners=align if mode == "linear" else None)
    check(lambda x: F.interpolate(x, **kw), lambda x: TF.interpolate(x, **kw), [randn(2, 2, n_in)], gradcheck=False)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 4), st.integers(1, 3), st.integers(0, 2), st.integers(1, 2), st.integers(4, 9), st.booleans())
def test_max_pool1d_any_geometry(k, s, p, d, n, ceil_mode):
    assume(p <= k // 2 and n + 2 * p >= d * (k - 1) + 1)
    check(lambda x: F.max_pool1d(x, k, s, p, d, ceil_mode), lambda x: TF.max_pool1d(x, k, s, p, d, ceil_mode),
          [randn(1, 2, n)], gradcheck=False)


def test_models_of_the_new_layers_save_and_load_whole(tmp_path):
    model = nn.Sequential(nn.Conv3d(2, 4, 3, padding=1), nn.GroupNorm(2, 4), nn.PReLU(4),
                          nn.InstanceNorm3d(4, affine=True, track_running_stats=True), nn.MaxPool3d(2), nn.Flatten(),
                          nn.RMSNorm(4 * 2 * 2 * 2), nn.Mish(), nn.Dropout1d(0.1))
    x = shendu.randn(2, 2, 4, 4, 4)
    model.eval()
    shendu.save(model, tmp_path / "m.shendu")
    again = shendu.load(tmp_path / "m.shendu").eval()
    assert np.array_equal(again(x).numpy(), model(x).numpy())
