"""shendu.viz: gradient statistics, decision boundaries, and the other visual aids.

Figures are checked for what can fail: the numbers drawn (compared with a direct
computation), the file written (a real PNG/SVG), and clear errors on bad input."""
import math
import re

import numpy as np
import pytest

import shendu
from shendu import backend, nn
from shendu.viz import GradientStats, activation_stats, decision_grid, plot_decision_boundary

PNG = b"\x89PNG\r\n\x1a\n"


def is_png(path):
    with open(path, "rb") as f:
        return f.read(8) == PNG


def mlp(act, depth=6, width=16, seed=0):
    backend.manual_seed(seed)
    layers = [nn.Linear(4, width), act()]
    for _ in range(depth - 2):
        layers += [nn.Linear(width, width), act()]
    layers += [nn.Linear(width, 3)]
    return nn.Sequential(*layers)


def blobs(n=64, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = (rng.normal(size=(n, 4)) + 2.0 * np.eye(3, 4)[y]).astype(np.float32)
    return x, y


# ------------------------------------------------------------ GradientStats
def test_gradient_stats_records_the_norms_and_statistics_of_the_step():
    model = mlp(nn.ReLU, depth=4)
    x, y = blobs()
    stats = GradientStats().attach(model)
    stats.begin_step()
    loss = shendu.nn.functional.cross_entropy(model(shendu.tensor(x)), shendu.tensor(y))
    loss.backward()
    stats.end_step()
    stats.detach()
    assert stats.steps == [0]
    assert list(stats.grad_norms) == ["0", "2", "4", "6"]  # the Linear layers, input to output
    for name in stats.grad_norms:
        lin = model.get_submodule(name)
        want = math.sqrt(float((lin.weight.grad.numpy().astype(np.float64) ** 2).sum()
                               + (lin.bias.grad.numpy().astype(np.float64) ** 2).sum()))
        assert stats.grad_norms[name][0] == pytest.approx(want, rel=1e-6)
    # activations of every leaf module: recompute the first ReLU's output directly
    h = np.maximum(x @ model[0].weight.numpy().T + model[0].bias.numpy(), 0)
    st = stats.activations["1"]
    assert st["mean"][0] == pytest.approx(h.mean(), rel=1e-5)
    assert st["std"][0] == pytest.approx(h.std(), rel=1e-5)
    assert st["zeros"][0] == pytest.approx((h == 0).mean())
    assert 0 < st["zeros"][0] < 1
    # hooks removed: a later forward records nothing
    model(shendu.tensor(x))
    assert stats.steps == [0] and len(stats.activations["1"]["mean"]) == 1


def test_activation_stats_of_a_tensor():
    st = activation_stats(shendu.tensor([0.0, 0.0, 1.0, 3.0]))
    assert st == {"mean": 1.0, "std": pytest.approx(np.std([0, 0, 1, 3])), "zeros": 0.5}


def test_gradient_stats_with_fit_records_every_nth_batch_and_shows_vanishing_gradients(tmp_path):
    x, y = blobs(96)
    runs = {}
    for act in (nn.Sigmoid, nn.ReLU):
        model = mlp(act, depth=8)
        model.compile(optimizer="sgd", loss="cross_entropy")
        stats = GradientStats(every=2)
        model.fit(x, y, epochs=2, batch_size=16, verbose=0, shuffle=False, callbacks=[stats])
        runs[act.__name__] = stats
        assert stats.steps == list(range(0, 12, 2))  # 6 batches an epoch, 2 epochs, every other
        assert all(len(v) == 6 for v in stats.grad_norms.values())
    sig, relu = runs["Sigmoid"], runs["ReLU"]
    # Glorot & Bengio: through 7 sigmoid layers the first layer's gradient is much smaller than the last's
    first, last = "0", "14"
    assert sig.grad_norms[first][0] < 0.1 * sig.grad_norms[last][0]
    # sigmoid outputs are never exactly 0; about half of the ReLU outputs are
    assert max(sig.activations["1"]["zeros"]) == 0
    assert 0.2 < relu.activations["1"]["zeros"][0] < 0.8
    assert 0.3 < sig.activations["1"]["mean"][0] < 0.7
    d = relu.to_dict()
    assert d["steps"] == relu.steps and d["grad_norms"]["0"] == relu.grad_norms["0"]
    for suffix in ("png", "svg"):
        out = relu.plot(tmp_path / f"stats.{suffix}", title="ReLU")
        assert out == tmp_path / f"stats.{suffix}" and out.stat().st_size > 1000
    assert is_png(tmp_path / "stats.png")
    assert (tmp_path / "stats.svg").read_text().lstrip().startswith("<?xml")


def test_gradient_stats_named_layers_and_bad_input():
    model = mlp(nn.Tanh, depth=3)
    stats = GradientStats(layers=["0", "3"])
    stats.attach(model)
    x, y = blobs(8)
    stats.begin_step()
    shendu.nn.functional.cross_entropy(model(shendu.tensor(x)), shendu.tensor(y)).backward()
    stats.end_step()
    assert list(stats.grad_norms) == ["0", "3"] and sorted(stats.activations) == ["0", "3"]
    with pytest.raises(ValueError, match="no sub-module '9'"):
        GradientStats(layers=["9"]).attach(model)
    with pytest.raises(ValueError, match="every must be a positive"):
        GradientStats(every=0)
    with pytest.raises(ValueError, match="nothing recorded"):
        GradientStats().plot("never.png")


# ------------------------------------------------------------ decision boundaries
def fixed_linear(weight, bias):
    lin = nn.Linear(2, len(weight))
    lin.weight.data = np.asarray(weight, dtype=np.float32)
    lin.bias.data = np.asarray(bias, dtype=np.float32)
    return lin


def test_decision_grid_of_known_classifiers():
    x = np.array([[-1.0, -2.0], [1.0, 2.0], [0.5, -1.0]])
    # three classes: argmax of (-x1, x1, 0.5) → class 0 for x1 < -0.5, 2 for |x1| < 0.5, 1 above
    model = fixed_linear([[-1, 0], [1, 0], [0, 0]], [0, 0, 0.5])
    xs, ys, classes, conf = decision_grid(model, x, resolution=41, padding=0.25)
    assert xs[0] == pytest.approx(-1.5) and xs[-1] == pytest.approx(1.5)
    assert ys[0] == pytest.approx(-3.0) and ys[-1] == pytest.approx(3.0)
    want = np.where(xs < -0.5, 0, np.where(xs > 0.5, 1, 2))
    assert classes.shape == (41, 41) and (classes == want[None, :]).all()
    logits = np.stack([-xs, xs, np.full_like(xs, 0.5)], axis=1)
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(conf[0], p.max(axis=1), rtol=1e-5)
    # one binary score (a logit): class 1 where x2 > 0, confidence max(σ, 1 − σ)
    binary = fixed_linear([[0, 3]], [0])
    xs, ys, classes, conf = decision_grid(binary, x, resolution=20)
    assert (classes == (ys[:, None] > 0)).all()
    s = 1 / (1 + np.exp(-3 * ys))
    np.testing.assert_allclose(conf[:, 0], np.maximum(s, 1 - s), rtol=1e-5)
    # any callable works
    xs, ys, classes, _ = decision_grid(lambda t: (t[:, 0] * t[:, 1]).sigmoid(), x, resolution=10)
    assert (classes == ((xs[None, :] * ys[:, None]) > 0)).all()


def test_decision_boundary_plot_and_errors(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)  # XOR
    backend.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
    out = plot_decision_boundary(model, x, y, tmp_path / "xor.png", resolution=50, title="XOR")
    assert is_png(out)
    assert model.training  # the evaluation put the model back in training mode
    matplotlib_axes = pytest.importorskip("matplotlib.figure").Figure().add_subplot()
    assert plot_decision_boundary(model, shendu.tensor(x), np.eye(2)[y], ax=matplotlib_axes) is matplotlib_axes
    assert len(matplotlib_axes.collections) >= 1
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        decision_grid(model, np.zeros((5, 3)))
    with pytest.raises(ValueError, match="60 points but 3 labels"):
        plot_decision_boundary(model, x, y[:3], tmp_path / "bad.png")
    with pytest.raises(ValueError, match="give a file path"):
        plot_decision_boundary(model, x, y)


# ------------------------------------------------------------ Module.gradcheck
class _WrongSquare(shendu.Function):
    """x² with a wrong backward (g·x instead of 2·g·x)."""

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, g):
        return g * self.x


class _WrongScale(shendu.Function):
    """x·w with w's gradient forgotten to be summed over the batch properly (it uses only row 0)."""

    def forward(self, x, w):
        self.x, self.w = x, w
        return x * w

    def backward(self, g):
        return g * self.w, (g * self.x)[0]


class Squash(nn.Module):
    def forward(self, x):
        return _WrongSquare.apply(x)


class Scale(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.w = nn.Parameter(shendu.ones(n))

    def forward(self, x):
        return _WrongScale.apply(x, self.w)


def test_module_gradcheck_passes_on_a_zoo_model_and_leaves_it_untouched():
    backend.manual_seed(0)
    model = shendu.models.get_model("xo_cnn", image_size=8, channels=2, kernel_size=3)
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    x = shendu.randn(2, 1, 8, 8)
    assert model.gradcheck(x) is True
    after = model.state_dict()
    assert all(after[k].dtype == np.float32 and (after[k].numpy() == v).all() for k, v in before.items())
    assert all(p.grad is None for p in model.parameters()) and model.training


def test_module_gradcheck_catches_a_wrong_backward():
    backend.manual_seed(0)
    x = shendu.randn(3, 4)
    with pytest.raises(shendu.GradcheckError, match="parameter 0.weight"):
        nn.Sequential(nn.Linear(4, 4), Squash()).gradcheck(x)  # the Linear's gradients come through Squash
    with pytest.raises(shendu.GradcheckError, match="gradient of input 0"):
        nn.Sequential(Squash()).gradcheck(x)  # no parameter: the input's gradient is checked
    with pytest.raises(shendu.GradcheckError, match="parameter 1.w"):
        nn.Sequential(nn.Linear(4, 4), Scale(4)).gradcheck(x)
    nn.Sequential(nn.Linear(4, 4), nn.Tanh()).gradcheck(x)  # the same check passes a right backward
    with pytest.raises(shendu.GradcheckError, match="parameter 0.weight"):  # lazy layers are built, then checked
        nn.Sequential(nn.Dense(4), Squash()).gradcheck(x)


# ------------------------------------------------------------ print options
@pytest.fixture
def restore_printoptions():
    saved = shendu.get_printoptions()
    yield
    shendu.set_printoptions(**saved)


def shown(text):
    return [float(v) for v in re.findall(r"-?\d+\.\d*(?:e[+-]\d+)?", text)]


def test_printoptions_keep_pytorchs_meaning(restore_printoptions):
    torch = pytest.importorskip("torch")
    x = np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4) ** 3
    big = np.arange(2000, dtype=np.float32)
    saved = torch._tensor_str.get_printoptions()
    try:
        for options in ({}, {"profile": "short"}, {"precision": 2}, {"profile": "full", "precision": 1},
                        {"edgeitems": 1, "threshold": 10}):
            shendu.set_printoptions(profile="default")
            torch.set_printoptions(profile="default")
            shendu.set_printoptions(**options)
            torch.set_printoptions(**options)
            assert shendu.get_printoptions() == {**torch._tensor_str.get_printoptions(), "stats": False}
            # the same numbers shown to the same precision, summarised alike (NumPy and PyTorch space
            # and pad them differently: "2." vs "2.0000")
            for a in (x, big if options.get("profile") != "full" else big[:50]):
                ours, theirs = repr(shendu.tensor(a)), repr(torch.tensor(a))
                assert ("..." in ours) == ("..." in theirs), (options, ours, theirs)
                np.testing.assert_allclose(shown(ours), shown(theirs), rtol=10.0 ** -options.get("precision", 2),
                                           err_msg=f"{options}: {ours} vs {theirs}")
    finally:
        torch.set_printoptions(**saved)
    with pytest.raises(ValueError, match="profile must be one of"):
        shendu.set_printoptions(profile="stats")


def test_stats_repr_and_describe(restore_printoptions):
    t = shendu.tensor([[1.0, float("nan"), -3.0], [float("inf"), 2.0, 0.0]], requires_grad=True)
    finite = np.array([1.0, -3.0, 2.0, 0.0])
    want = (f"shape=(2, 3), dtype=float32, device=cpu, min=-3, max=2, mean=0, std={finite.std():.4g}, "
            f"nan=1, inf=1")
    assert t.describe() == want
    with shendu.printoptions(stats=True):
        assert repr(t) == f"tensor({want}, requires_grad=True)"
        assert repr(t * 2).endswith("grad_fn=<Mul>)")
        assert repr(shendu.zeros(0)) == ("tensor(shape=(0,), dtype=float32, device=cpu, min=None, max=None, "
                                         "mean=None, std=None, nan=0, inf=0)")
        assert "min=0, max=9, mean=4.5" in repr(shendu.arange(10))
    assert repr(shendu.tensor([1.0, 2.0])) == "tensor([1., 2.])"  # restored after the block


# ------------------------------------------------------------ computation graph
def test_graph_of_an_expression():
    from shendu.viz import computation_graph
    x = shendu.randn(4, 3, requires_grad=True)
    w = shendu.randn(3, 2, requires_grad=True)
    y = ((x @ w).relu() * 2).sum()
    g = computation_graph(y, names={"x": x, "w": w})
    assert g.ops() == ["MatMul", "Relu", "Mul", "Sum"]
    by_label = {n.label: n for n in g.nodes}
    assert by_label["x"].kind == "tensor" and by_label["x"].shape == (4, 3)
    assert by_label["2"].kind == "constant"  # the scalar constant shows its value
    assert by_label["MatMul"].shape == (4, 2) and by_label["Sum"].shape == ()
    edges = {(g.node(s).label, g.node(d).label) for s, d in g.edges}
    assert edges == {("x", "MatMul"), ("w", "MatMul"), ("MatMul", "Relu"), ("Relu", "Mul"), ("2", "Mul"),
                     ("Mul", "Sum"), ("Sum", "output")}
    y.backward()
    with pytest.raises(ValueError, match="freed by backward"):
        computation_graph(y)
    with pytest.raises(ValueError, match="expected a Tensor"):
        computation_graph(3.0)


def test_graph_of_a_sequential_shows_each_layer_not_the_fused_pair():
    """A training step records Linear→Tanh as one LinearTanh node; the drawing shows the two layers' ops."""
    from shendu.viz import computation_graph
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1), nn.Sigmoid())
    x = shendu.randn(4, 2)
    assert computation_graph(model, x).ops() == ["Linear", "Tanh", "Linear", "Sigmoid"]
    assert computation_graph(model(x)).ops() == ["LinearTanh", "LinearSigmoid"]  # what autograd recorded


def test_graph_of_a_model_as_svg_and_png(tmp_path):
    import xml.etree.ElementTree as ET
    from shendu.viz import computation_graph
    from shendu.viz.layout import ranks
    backend.manual_seed(0)
    model = shendu.models.get_model("xo_cnn", image_size=8, channels=2, kernel_size=3)
    model.requires_grad_(False)  # frozen: the sample still records the graph
    g = computation_graph(model, shendu.randn(2, 1, 8, 8))
    assert g.ops() == ["Conv2d", "Relu", "MaxPool2d", "Reshape", "Linear"]
    params = {n.label: n.shape for n in g.nodes if n.kind == "parameter"}
    assert params == {name: tuple(p.shape) for name, p in model.named_parameters()}
    assert [n.shape for n in g.nodes if n.kind == "input"] == [(2, 1, 8, 8)]
    rank = ranks([n.id for n in g.nodes], g.edges)
    assert all(rank[s] < rank[d] for s, d in g.edges)  # every edge points down the layers
    svg = g.save(tmp_path / "xo.svg")
    root = ET.parse(svg).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    groups = root.findall(f"{ns}g")
    assert len(groups) == len(g.nodes) and len(root.findall(f"{ns}path")) == len(g.edges)
    assert {"conv.weight", "fc.bias", "Conv2d", "input", "output"} <= {t.text for t in root.iter(f"{ns}text")}
    assert is_png(g.save(tmp_path / "xo.png"))
    with pytest.raises(ValueError, match="sample input"):
        computation_graph(model)
    resnet = shendu.models.get_model("resnet20")
    before = {k: v.numpy().copy() for k, v in resnet.state_dict().items()}
    g = computation_graph(resnet, shendu.randn(2, 3, 8, 8))  # training mode: batch norm's training graph
    assert g.ops().count("BatchNorm") == 19 and g.ops().count("Add") == 9  # 9 residual additions
    assert all((resnet.state_dict()[k].numpy() == v).all() for k, v in before.items())  # running stats kept


def test_layout_ranks_and_cycles():
    from shendu.viz.layout import coordinates, order_ranks, ranks
    edges = [("a", "c"), ("b", "c"), ("c", "d"), ("p", "d"), ("d", "e")]
    r = ranks(list("abcdpe"), edges)
    assert r == {"a": 0, "b": 0, "c": 1, "p": 1, "d": 2, "e": 3}  # p sits just above its consumer
    layers = order_ranks(list("abcdpe"), edges, r)
    xy = coordinates(layers, lambda n: 40, edges)
    assert xy["d"][0] == pytest.approx(xy["c"][0]) == pytest.approx(xy["e"][0])  # the chain runs straight
    assert abs(xy["p"][0] - xy["c"][0]) >= 40 + 18 - 1e-9  # boxes never overlap
    with pytest.raises(ValueError, match="cycle"):
        ranks(["a", "b"], [("a", "b"), ("b", "a")])


def test_layout_routes_a_skip_connection_beside_the_boxes():
    from shendu.viz.layout import layered, split_long_edges
    # x → f → g → h → add, and the skip x → add (a residual block)
    edges = [("x", "f"), ("f", "g"), ("g", "h"), ("h", "add"), ("x", "add")]
    split, rank, routes = split_long_edges(edges, {"x": 0, "f": 1, "g": 2, "h": 3, "add": 4})
    assert [d[3] for d in routes[("x", "add")]] == [1, 2, 3] and len(split) == 4 + 4
    xy, paths = layered(["x", "f", "g", "h", "add"], edges, lambda n: 60)
    assert xy["f"][0] == pytest.approx(xy["g"][0]) == pytest.approx(xy["h"][0])  # the chain stays straight
    for (px, py), box in zip(paths[("x", "add")], "fgh"):
        assert py == pytest.approx(xy[box][1]) and abs(px - xy[box][0]) >= 30 + 3  # beside f, g, h, not through


# ------------------------------------------------------------ convolution: maps and filters
def test_feature_maps_match_the_layer_output_and_plots(tmp_path):
    from shendu.viz import feature_maps, filter_images, plot_feature_maps, plot_filters
    backend.manual_seed(0)
    model = shendu.models.get_model("lenet5")
    x = shendu.randn(2, 1, 32, 32)
    maps = feature_maps(model, "c1", x)
    model.eval()
    want = model.c1(x[:1]).numpy()[0]
    np.testing.assert_allclose(maps, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(feature_maps(model, "act1", x[0]), np.maximum(want, 0), rtol=1e-5, atol=1e-6)
    assert is_png(plot_feature_maps(model, "c1", x, tmp_path / "maps.png"))
    assert plot_filters(model, "c3", tmp_path / "filters.svg").read_text().lstrip().startswith("<?xml")
    # grey filters: w / (2 max|W_f|) + 1/2, one tile per (filter, channel)
    w = model.c3.weight.numpy().astype(np.float64)
    tiles, columns = filter_images(model.c3.weight, max_channels=4)
    assert columns == 4 and tiles.shape == (16 * 4, 1, 5, 5)
    peak = np.abs(w[:, :4]).max(axis=(1, 2, 3))
    np.testing.assert_allclose(tiles[4 * 3 + 2, 0], w[3, 2] / (2 * peak[3]) + 0.5)
    # RGB filters: min-max per filter
    rgb, _ = filter_images(np.arange(2 * 3 * 2 * 2, dtype=np.float64).reshape(2, 3, 2, 2))
    assert rgb.min() == 0 and rgb.max() == 1 and rgb[1].min() == 0
    with pytest.raises(ValueError, match="outputs shape"):
        feature_maps(model, "c5", x)
    with pytest.raises(ValueError, match="no layer 'conv9'"):
        feature_maps(model, "conv9", x)
    with pytest.raises(ValueError, match="no 4-D convolution weight"):
        plot_filters(model, "c5", tmp_path / "x.png")


# ------------------------------------------------------------ confusion matrix, loss landscape
def test_confusion_matrix_plot(tmp_path):
    from shendu.viz import normalized_confusion, plot_confusion_matrix
    pred = np.array([0, 1, 1, 2, 2, 2, 0])
    target = np.array([0, 1, 2, 2, 2, 1, 1])
    m = shendu.training.confusion_matrix(np.eye(3)[pred], target)
    assert m.tolist() == [[1, 0, 0], [1, 1, 1], [0, 1, 2]]
    np.testing.assert_allclose(normalized_confusion(m, "true").sum(axis=1), 1)
    np.testing.assert_allclose(normalized_confusion(m, "pred")[:, 2], [0, 1 / 3, 2 / 3])
    assert normalized_confusion(m, "all").sum() == pytest.approx(1)
    ax = pytest.importorskip("matplotlib.figure").Figure().add_subplot()
    plot_confusion_matrix(pred, target, ax=ax, labels=["a", "b", "c"])  # class indices work too
    cells = [t.get_text() for t in ax.texts]
    assert cells == [str(v) for v in m.reshape(-1)]  # counts in the cells, row-major (true, predicted)
    assert is_png(plot_confusion_matrix(m, path=tmp_path / "cm.png", normalize="true"))
    with pytest.raises(ValueError, match="normalize must be one of"):
        plot_confusion_matrix(m, path=tmp_path / "cm.png", normalize="rows")
    with pytest.raises(ValueError, match="2 labels for a 3×3"):
        plot_confusion_matrix(m, path=tmp_path / "cm.png", labels=["a", "b"])


def test_filter_normalised_directions_and_landscape(tmp_path):
    from shendu.viz import filter_normalized_direction, loss_landscape, plot_loss_landscape
    backend.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 2))
    d = filter_normalized_direction(model, np.random.default_rng(0))
    for p, u in zip(model.parameters(), d):
        w = p.numpy().astype(np.float64)
        if w.ndim == 1:
            assert (u == 0).all()  # biases keep their values
        else:  # every filter of the direction has the norm of the weight's filter
            np.testing.assert_allclose(np.linalg.norm(u.reshape(len(u), -1), axis=1),
                                       np.linalg.norm(w.reshape(len(w), -1), axis=1), rtol=1e-10)
    x = np.random.default_rng(1).normal(size=(16, 1, 6, 6)).astype(np.float32)
    y = np.arange(16) % 2
    before = [p.numpy().copy() for p in model.parameters()]
    land = loss_landscape(model, x, y, resolution=5, span=0.5)
    assert land.losses.shape == (5, 5) and land.alphas[2] == 0
    own = float(shendu.nn.functional.cross_entropy(model(shendu.tensor(x)), shendu.tensor(y)).data)
    assert land.losses[2, 2] == pytest.approx(own, rel=1e-5)  # the centre is the model itself
    assert all((p.numpy() == b).all() for p, b in zip(model.parameters(), before))  # weights put back
    # a corner, recomputed by hand: θ + α d1 + β d2 with the same seeded directions
    rng = np.random.default_rng(0)
    d1, d2 = filter_normalized_direction(model, rng), filter_normalized_direction(model, rng)
    twin = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 2))
    for p, w, u, v in zip(twin.parameters(), before, d1, d2):
        p.data = (w + 0.5 * u - 0.5 * v).astype(np.float32)
    corner = float(shendu.nn.functional.cross_entropy(twin(shendu.tensor(x)), shendu.tensor(y)).data)
    assert land.losses[0, 4] == pytest.approx(corner, rel=1e-5)  # row: β = −0.5, column: α = +0.5
    assert is_png(plot_loss_landscape(land, tmp_path / "landscape.png"))


# ------------------------------------------------------------ live curves
def two_class_fit(callback, epochs=3):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    backend.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 2))
    model.compile(optimizer="sgd", loss="cross_entropy", metrics=["accuracy"])
    return model.fit(x, y, epochs=epochs, batch_size=10, verbose=0, callbacks=[callback], validation_split=0.2)


def test_live_curves_write_a_png_without_ipython(tmp_path):
    from shendu.viz import LiveCurves
    from shendu.viz.live import in_ipython
    live = LiveCurves(tmp_path / "curves.png", display="file" if in_ipython() else "auto")
    history = two_class_fit(live)
    assert live.updates == 3 and live.handle is None and is_png(tmp_path / "curves.png")
    assert live.history["val_loss"] == history.history["val_loss"]
    with pytest.raises(ValueError, match="display must be one of"):
        LiveCurves(display="browser")


def test_live_curves_update_one_ipython_display(tmp_path):
    pytest.importorskip("IPython")
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output
    from shendu.viz import LiveCurves
    InteractiveShell.instance()  # what a notebook kernel runs: now get_ipython() is not None
    try:
        live = LiveCurves(tmp_path / "curves.png")
        with capture_output() as captured:
            two_class_fit(live, epochs=3)
        outputs = captured.outputs
        assert len(outputs) == 3 and live.handle is not None
        ids = {o.transient["display_id"] for o in outputs}
        assert ids == {live.handle.display_id}  # one display, drawn once then updated twice
        assert [o.update for o in outputs] == [False, True, True]
        assert all(o.data["image/png"] for o in outputs)
    finally:
        InteractiveShell.clear_instance()


def test_gradient_stats_on_lazy_layers():
    backend.manual_seed(0)
    model = nn.Sequential(nn.Dense(8, activation="relu"), nn.Dense(3))  # parameters made on the first call
    model.compile(optimizer="sgd", loss="cross_entropy")
    x, y = blobs(32)
    stats = GradientStats()
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[stats])
    assert list(stats.grad_norms) == ["0", "1"]
    assert all(v > 0 for norms in stats.grad_norms.values() for v in norms)


def test_import_shendu_does_not_import_matplotlib_or_ipython():
    import os
    import subprocess
    import sys
    code = "import sys, shendu; shendu.viz.GradientStats; print('matplotlib' in sys.modules, 'IPython' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert out.stdout.split() == ["False", "False"]
