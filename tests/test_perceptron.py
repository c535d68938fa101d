"""The perceptron: a hand-set NAND unit, Rosenblatt's rule on AND/OR/NAND, its limit on XOR,
and a two-layer network that learns XOR."""
import pathlib
import runpy

import numpy as np
import pytest

import shendu
from shendu import nn

X = [[0, 0], [0, 1], [1, 0], [1, 1]]
GATES = {"AND": [0, 0, 0, 1], "OR": [0, 1, 1, 1], "NAND": [1, 1, 1, 0]}
XOR = [0, 1, 1, 0]


def test_nand_unit_computes_the_worked_example_and_the_truth_table():
    unit = nn.Perceptron(2)
    unit.weight.data[:] = [-2.0, -2.0]
    unit.bias.data[...] = 3.0
    z = (shendu.tensor([[0.0, 1.0]]) @ unit.weight + unit.bias).item()
    assert z == 0 * -2 + 1 * -2 + 3 == 1
    assert unit(shendu.tensor([0.0, 1.0])).item() == 1.0
    assert unit.predict(X).tolist() == [1, 1, 1, 0]
    assert unit.predict(X).dtype == np.int64


def test_one_update_follows_rosenblatts_rule():
    p = nn.Perceptron(2)
    assert p.fit([[1.0, 2.0]], [1], epochs=1, lr=0.5) == [1]  # ŷ = step(0) = 0, y − ŷ = 1
    np.testing.assert_array_equal(p.weight.numpy(), [0.5, 1.0])  # w + lr·1·x
    assert p.bias.item() == 0.5
    assert p.fit([[1.0, 2.0]], [0], epochs=1, lr=0.5) == [1]  # now ŷ = 1, y − ŷ = −1
    np.testing.assert_array_equal(p.weight.numpy(), [0.0, 0.0])
    assert p.bias.item() == 0.0
    assert p.fit([[1.0, 2.0]], [0], epochs=3) == [0]  # right answer: no change, stops


@pytest.mark.parametrize("gate", sorted(GATES))
@pytest.mark.parametrize("lr", [1.0, 0.1])
def test_linearly_separable_gates_are_learnt(gate, lr):
    p = nn.Perceptron(2)
    mistakes = p.fit(X, GATES[gate], epochs=50, lr=lr)
    assert mistakes[-1] == 0 and len(mistakes) < 50
    assert p.score(X, GATES[gate]) == 1.0
    assert p.predict(X).tolist() == GATES[gate]


def test_xor_is_never_above_75_percent():
    p = nn.Perceptron(2)
    scores = []
    for _ in range(100):
        assert p.fit(X, XOR, epochs=1)[0] > 0  # every epoch still makes mistakes
        scores.append(p.score(X, XOR))
    assert max(scores) <= 0.75
    # No line at all does better: 100 000 random (w, b) classify at most 3 of the 4 points.
    rng = np.random.default_rng(0)
    w, b = rng.standard_normal((100_000, 2)), rng.standard_normal(100_000)
    predictions = (np.asarray(X, float) @ w.T + b > 0).astype(int)
    accuracy = (predictions == np.asarray(XOR)[:, None]).mean(axis=0)
    assert accuracy.max() == 0.75


def test_a_two_layer_network_learns_xor():
    shendu.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1), nn.Sigmoid())
    assert net.num_parameters() == 2 * 8 + 8 + 8 + 1
    x = shendu.tensor(X, dtype=shendu.float32)
    y = shendu.tensor([[t] for t in XOR], dtype=shendu.float32)
    params = list(net.parameters())
    for _ in range(1500):  # plain gradient descent, by hand
        p = net(x)
        loss = -(y * (p + 1e-7).log() + (1 - y) * (1 - p + 1e-7).log()).mean()
        net.zero_grad()
        loss.backward()
        with shendu.no_grad():
            for param in params:
                param.data -= 0.5 * param.grad.data
    with shendu.no_grad():
        predictions = (net(x).numpy() > 0.5).astype(int).ravel()
    assert predictions.tolist() == XOR
    assert loss.item() < 0.1


def test_errors_and_repr():
    p = nn.Perceptron(3)
    with pytest.raises(ValueError, match=r"Perceptron: expected input with last dimension 3, got shape \(2, 2\)"):
        p(shendu.zeros(2, 2))
    with pytest.raises(ValueError, match=r"Perceptron.fit: expected x \(N, 3\) and y \(N,\)"):
        p.fit([[1, 2, 3]], [1, 0])
    assert repr(p) == "Perceptron(in_features=3)"
    assert p.num_parameters() == 4 and p.num_parameters(trainable_only=True) == 0
    x = shendu.zeros(5, 3)
    assert p.macs((x,), p(x)) == 15


def test_example_script_runs():
    path = pathlib.Path(__file__).resolve().parent.parent / "examples" / "perceptron.py"
    example = runpy.run_path(str(path))
    assert example["nand_unit"]()[1] == [1, 1, 1, 0]
    results = example["learn_gates"]()
    assert all(results[g][0] == 1.0 for g in ("AND", "OR", "NAND")) and results["XOR"][0] <= 0.75
    assert example["train_xor_mlp"](steps=1500) == 1.0
