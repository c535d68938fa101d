"""The perceptron, from one hand-set NAND unit to why XOR needs a hidden layer.

1. A perceptron with weights (−2, −2) and bias 3 is a NAND gate: for input
   (0, 1), w·x + b = 0·(−2) + 1·(−2) + 3 = 1 > 0, so it outputs 1.
2. Rosenblatt's rule  w ← w + lr·(y − ŷ)·x,  b ← b + lr·(y − ŷ)  learns AND,
   OR and NAND (each linearly separable) to 100%.
3. On XOR it never gets more than 3 of the 4 points right (75%): no line
   separates {(0,1), (1,0)} from {(0,0), (1,1)}.
4. A 2-8-1 network (tanh hidden layer, sigmoid output) trained by plain
   gradient descent learns XOR to 100%.

Run:  python examples/perceptron.py
"""
import shendu
from shendu import nn

INPUTS = [[0, 0], [0, 1], [1, 0], [1, 1]]
GATES = {"AND": [0, 0, 0, 1], "OR": [0, 1, 1, 1], "NAND": [1, 1, 1, 0], "XOR": [0, 1, 1, 0]}


def nand_unit():
    """The hand-set NAND perceptron and its truth table."""
    unit = nn.Perceptron(2)
    unit.weight.data[:] = [-2.0, -2.0]
    unit.bias.data[...] = 3.0
    return unit, unit.predict(INPUTS).tolist()


def learn_gates(epochs=20, lr=1.0):
    """{gate: (accuracy, mistakes per epoch)} for a fresh perceptron trained on each gate."""
    results = {}
    for name, targets in GATES.items():
        p = nn.Perceptron(2)
        mistakes = p.fit(INPUTS, targets, epochs=epochs, lr=lr)
        results[name] = (p.score(INPUTS, targets), mistakes)
    return results


def train_xor_mlp(steps=1500, lr=0.5, seed=0):
    """A 2-8-1 MLP (Dense tanh, Dense sigmoid) on XOR with hand-written gradient descent; returns the accuracy."""
    shendu.manual_seed(seed)
    model = nn.Sequential(nn.Dense(8, activation=shendu.tanh, input_dim=2),
                          nn.Dense(1, activation=shendu.sigmoid, input_dim=8))
    x = shendu.tensor(INPUTS, dtype=shendu.float32)
    y = shendu.tensor([[t] for t in GATES["XOR"]], dtype=shendu.float32)
    for _ in range(steps):
        p = model(x)
        loss = -(y * (p + 1e-7).log() + (1 - y) * (1 - p + 1e-7).log()).mean()  # binary cross-entropy
        model.zero_grad()
        loss.backward()
        with shendu.no_grad():
            for param in model.parameters():
                param.data -= lr * param.grad.data
    with shendu.no_grad():
        predictions = (model(x).numpy() > 0.5).astype(int).ravel()
    return float((predictions == y.numpy().ravel()).mean())


def main():
    unit, table = nand_unit()
    z = 0 * -2 + 1 * -2 + 3
    print(f"NAND unit w=(-2, -2), b=3: input (0, 1) -> w·x + b = {z} -> {int(z > 0)}; truth table {table}")
    for name, (accuracy, mistakes) in learn_gates().items():
        print(f"perceptron on {name:4s}: accuracy {accuracy:.0%}, mistakes per epoch {mistakes[:8]}"
              + ("…" if len(mistakes) > 8 else ""))
    print(f"2-8-1 MLP on XOR: accuracy {train_xor_mlp():.0%}")


if __name__ == "__main__":
    main()
