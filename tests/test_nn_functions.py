"""Issue 14's neural-network functions against PyTorch: activations, einsum, norms and distances.

Every function goes through the harness (forward and gradients in float32 and
float64 against torch, then gradcheck in float64); layers are compared with
torch modules whose parameters are copied in (train and eval for the norms).
Convolutions, pooling and resampling are in tests/test_nn_spatial.py.
"""
import numpy as np
import pytest

import shendu
import shendu.functional as F
import shendu.nn as nn
from harness import check, check_module

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def randn(*shape, seed=0, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


def away_from(x, kinks, gap=1e-2):
    for k in kinks:
        x = np.where(np.abs(x - k) < gap, k + 2 * gap, x)
    return x


# ----------------------------------------------------------------- activations
ACTIVATIONS = [
    ("celu", F.celu, TF.celu, (0,)),
    ("celu_alpha", lambda x: F.celu(x, alpha=0.7), lambda x: TF.celu(x, alpha=0.7), (0,)),
    ("mish", F.mish, TF.mish, ()),
    ("logsigmoid", F.logsigmoid, TF.logsigmoid, ()),
    ("hardshrink", F.hardshrink, TF.hardshrink, (-0.5, 0.5)),
    ("hardshrink_1", lambda x: F.hardshrink(x, 1.0), lambda x: TF.hardshrink(x, 1.0), (-1, 1)),
    ("softshrink", F.softshrink, TF.softshrink, (-0.5, 0.5)),
    ("softshrink_0.2", lambda x: F.softshrink(x, 0.2), lambda x: TF.softshrink(x, 0.2), (-0.2, 0.2)),
    ("tanhshrink", F.tanhshrink, TF.tanhshrink, ()),
    ("softmin_1", lambda x: F.softmin(x, dim=1), lambda x: TF.softmin(x, dim=1), ()),
    ("softmin_0", lambda x: F.softmin(x, 0), lambda x: TF.softmin(x, 0), ()),
    ("glu", F.glu, TF.glu, ()),
    ("glu_0", lambda x: F.glu(x, 0), lambda x: TF.glu(x, 0), ()),
]


@pytest.mark.parametrize("name, ours, theirs, kinks", ACTIVATIONS, ids=[c[0] for c in ACTIVATIONS])
def test_activation_matches_torch(name, ours, theirs, kinks):
    x = away_from(np.concatenate([randn(20, scale=3.0), [30.0, -30.0, 1e-6, -1e-6]]).reshape(4, 6), kinks)
    check(ours, theirs, [x])


@pytest.mark.parametrize("shape, slopes", [((5, 3), 3), ((2, 3, 4, 4), 3), ((2, 3, 4), 1), ((7,), 1)])
def test_prelu_matches_torch(shape, slopes):
    x = away_from(randn(*shape), (0,))
    w = np.random.default_rng(3).uniform(0.05, 0.5, slopes)
    check(F.prelu, TF.prelu, [x, w])


@pytest.mark.parametrize("ours, theirs, shape", [
    (nn.PReLU(3, init=0.1), torch.nn.PReLU(3, init=0.1), (2, 3, 5)),
    (nn.PReLU(), torch.nn.PReLU(), (4, 6)),
    (nn.CELU(0.5, inplace=True), torch.nn.CELU(0.5), (3, 4)),
    (nn.Mish(inplace=True), torch.nn.Mish(), (3, 4)),
    (nn.LogSigmoid(), torch.nn.LogSigmoid(), (3, 4)),
    (nn.Hardshrink(0.3), torch.nn.Hardshrink(0.3), (3, 4)),
    (nn.Softshrink(0.3), torch.nn.Softshrink(0.3), (3, 4)),
    (nn.Tanhshrink(), torch.nn.Tanhshrink(), (3, 4)),
    (nn.Softmin(dim=1), torch.nn.Softmin(dim=1), (3, 4)),
    (nn.GLU(1), torch.nn.GLU(1), (3, 4)),
], ids=lambda v: type(v).__name__ if isinstance(v, (nn.Module, torch.nn.Module)) else None)
def test_activation_layers_match_torch(ours, theirs, shape):
    check_module(ours, theirs, [away_from(randn(*shape), (-0.3, 0, 0.3))])


def test_prelu_layer_state_dict_and_errors():
    layer = nn.PReLU(4, init=0.2)
    assert set(layer.state_dict()) == set(torch.nn.PReLU(4).state_dict()) == {"weight"}
    assert np.allclose(layer.weight.numpy(), 0.2)
    with pytest.raises(ValueError, match="prelu: weight of 4 slopes"):
        layer(shendu.randn(2, 3))
    with pytest.raises(ValueError, match="PReLU: num_parameters"):
        nn.PReLU(0)
    with pytest.raises(ValueError, match="glu: halving"):
        F.glu(shendu.randn(2, 3))
    with pytest.raises(ValueError, match="softshrink: lambda"):
        F.softshrink(shendu.randn(2), -1.0)


# ----------------------------------------------------------------- einsum
EINSUM = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("bij,bjk", [(2, 3, 4), (2, 4, 5)]),          # implicit output
    ("ij->ji", [(2, 3)]),
    ("ij->i", [(2, 3)]),
    ("ij->", [(2, 3)]),
    ("i,j->ij", [(3,), (4,)]),
    ("i,i->", [(5,), (5,)]),
    ("ii->i", [(3, 3)]),                           # diagonal
    ("ii", [(3, 3)]),                              # trace
    ("iij,jk->ik", [(3, 3, 2), (2, 4)]),
    ("ij,ij->ij", [(3, 1), (3, 4)]),               # size-1 broadcast
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),
    ("i...->...", [(2, 3, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
]


@pytest.mark.parametrize("equation, shapes", EINSUM, ids=[c[0] for c in EINSUM])
def test_einsum_matches_torch(equation, shapes):
    arrays = [randn(*s, seed=i) for i, s in enumerate(shapes)]
    check(lambda *t: F.einsum(equation, *t), lambda *t: torch.einsum(equation, *t), arrays)


def test_einsum_accepts_a_list_and_is_top_level():
    a, b = shendu.randn(2, 3), shendu.randn(3, 2)
    assert np.allclose(shendu.einsum("ij,jk->ik", [a, b]).numpy(), (a @ b).numpy())


@pytest.mark.parametrize("equation, shapes, match", [
    ("ij,jk->ik", [(2, 3)], "names 2 operands"),
    ("ij->ik", [(2, 3)], "output subscript"),
    ("ijk->i", [(2, 3)], "does not fit"),
    ("ij,jk->ik", [(2, 3), (4, 5)], "letter 'j' has sizes"),
])
def test_einsum_errors(equation, shapes, match):
    with pytest.raises(ValueError, match=match):
        F.einsum(equation, *[shendu.randn(*s) for s in shapes])


# ----------------------------------------------------------------- norms and distances
@pytest.mark.parametrize("p, dim", [(2.0, 1), (1.0, 0), (3.0, -1), (float("inf"), 1)])
def test_normalize_matches_torch(p, dim):
    check(lambda x: F.normalize(x, p=p, dim=dim), lambda x: TF.normalize(x, p=p, dim=dim), [randn(4, 5)])


def test_normalize_of_a_zero_vector_has_a_finite_gradient():
    x = np.zeros((2, 3))
    x[1] = randn(3)
    check(F.normalize, TF.normalize, [x], gradcheck=False)


@pytest.mark.parametrize("p, keepdim", [(2.0, False), (1.0, True), (3.0, False)])
def test_pairwise_distance_matches_torch(p, keepdim):
    check(lambda a, b: F.pairwise_distance(a, b, p=p, keepdim=keepdim),
          lambda a, b: TF.pairwise_distance(a, b, p=p, keepdim=keepdim), [randn(4, 5), randn(4, 5, seed=1)])
    check_module(nn.PairwiseDistance(p, keepdim=keepdim), torch.nn.PairwiseDistance(p, keepdim=keepdim),
                 [randn(4, 5), randn(4, 5, seed=1)])


@pytest.mark.parametrize("dim, shapes", [(1, [(4, 5), (4, 5)]), (-1, [(2, 3, 4), (3, 4)]), (0, [(3, 2), (3, 2)])])
def test_cosine_similarity_matches_torch(dim, shapes):
    arrays = [randn(*s, seed=i) for i, s in enumerate(shapes)]
    check(lambda a, b: F.cosine_similarity(a, b, dim=dim), lambda a, b: TF.cosine_similarity(a, b, dim=dim), arrays)
    check_module(nn.CosineSimilarity(dim), torch.nn.CosineSimilarity(dim), arrays)


@pytest.mark.parametrize("groups, shape, affine", [(2, (3, 4, 5, 5), True), (1, (2, 6, 7), False),
                                                   (6, (2, 6, 3, 3), True), (3, (2, 6, 2, 3, 2), True)])
def test_group_norm_matches_torch(groups, shape, affine):
    x = randn(*shape, scale=2.0) + 1
    ours, ref = nn.GroupNorm(groups, shape[1], affine=affine), torch.nn.GroupNorm(groups, shape[1], affine=affine)
    if affine:
        with torch.no_grad():
            ref.weight.uniform_(0.5, 1.5)
            ref.bias.uniform_(-1, 1)
    check_module(ours, ref, [x], dtypes=(np.float32, np.float64), tol={np.float32: dict(rtol=1e-4, atol=1e-5)})
    w, b = randn(shape[1], seed=1), randn(shape[1], seed=2)
    check(lambda x, w, b: F.group_norm(x, groups, w, b), lambda x, w, b: TF.group_norm(x, groups, w, b), [x, w, b],
          tol={np.float32: dict(rtol=1e-4, atol=1e-5)})


@pytest.mark.parametrize("cls, ref, shape", [(nn.InstanceNorm1d, torch.nn.InstanceNorm1d, (3, 4, 6)),
                                             (nn.InstanceNorm2d, torch.nn.InstanceNorm2d, (2, 3, 4, 5)),
                                             (nn.InstanceNorm2d, torch.nn.InstanceNorm2d, (3, 4, 5)),
                                             (nn.InstanceNorm3d, torch.nn.InstanceNorm3d, (2, 2, 3, 3, 2))])
@pytest.mark.parametrize("affine, track", [(False, False), (True, False), (True, True), (False, True)])
def test_instance_norm_matches_torch_in_train_and_eval(cls, ref, shape, affine, track):
    c = shape[-3] if cls is nn.InstanceNorm2d and len(shape) == 3 else shape[1]
    ours, theirs = cls(c, affine=affine, track_running_stats=track), ref(c, affine=affine, track_running_stats=track)
    if affine:
        with torch.no_grad():
            theirs.weight.uniform_(0.5, 1.5)
            theirs.bias.uniform_(-1, 1)
    x = randn(*shape, scale=2.0) + 1
    check_module(ours, theirs, [x], train=True)
    if track:  # the running statistics after one step, then evaluation with them
        assert np.allclose(ours.running_mean.numpy(), theirs.running_mean.detach().numpy())
        assert np.allclose(ours.running_var.numpy(), theirs.running_var.detach().numpy())
        assert set(ours.state_dict()) == set(theirs.state_dict())
        assert ours.num_batches_tracked.item() == theirs.num_batches_tracked.item()
    check_module(ours, theirs, [randn(*shape, seed=5)], train=False, copy_params=False)


@pytest.mark.parametrize("shape, normalized, eps, affine", [((3, 8), 8, None, True), ((2, 3, 4), (3, 4), 1e-3, True),
                                                            ((5, 6), 6, None, False)])
def test_rms_norm_matches_torch(shape, normalized, eps, affine):
    ours = nn.RMSNorm(normalized, eps=eps, elementwise_affine=affine)
    theirs = torch.nn.RMSNorm(normalized, eps=eps, elementwise_affine=affine)
    if affine:
        with torch.no_grad():
            theirs.weight.uniform_(0.5, 1.5)
    check_module(ours, theirs, [randn(*shape)], dtypes=(np.float32, np.float64),
                 tol={np.float32: dict(rtol=1e-5, atol=1e-6)})
    w = randn(*np.atleast_1d(normalized), seed=4)
    check(lambda x, w: F.rms_norm(x, normalized, w, eps), lambda x, w: TF.rms_norm(x, tuple(np.atleast_1d(normalized)), w, eps),
          [randn(*shape), w])


def test_norm_layer_errors():
    with pytest.raises(ValueError, match="GroupNorm: num_channels"):
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match="GroupNorm: expected input"):
        nn.GroupNorm(2, 4)(shendu.randn(2, 6, 3))
    with pytest.raises(ValueError, match="InstanceNorm2d: expected input"):
        nn.InstanceNorm2d(3)(shendu.randn(2, 4, 5, 5))
    with pytest.raises(ValueError, match="rms_norm: expected input"):
        nn.RMSNorm(5)(shendu.randn(2, 4))
