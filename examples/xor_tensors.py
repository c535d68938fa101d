"""XOR with nothing but Tensor operations: a two-layer network, written out by hand.

The perceptron cannot learn XOR (it is not linearly separable); one hidden
layer can. Forward:  h = tanh(x W1 + b1),  p = σ(h W2 + b2);  loss = binary
cross-entropy;  backward: ``loss.backward()``;  update: w ← w − lr·∂L/∂w.

Run:  python examples/xor_tensors.py
"""
import shendu


def train_xor(steps=2000, lr=0.5, hidden=8, seed=0, verbose=True):
    shendu.manual_seed(seed)
    x = shendu.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = shendu.tensor([[0.0], [1.0], [1.0], [0.0]])
    w1 = (shendu.randn(2, hidden) * 1.0).requires_grad_()
    b1 = shendu.zeros(hidden, requires_grad=True)
    w2 = (shendu.randn(hidden, 1) * 1.0).requires_grad_()
    b2 = shendu.zeros(1, requires_grad=True)
    params = [w1, b1, w2, b2]
    for step in range(steps):
        h = (x @ w1 + b1).tanh()
        p = (h @ w2 + b2).sigmoid()
        eps = 1e-7
        loss = -(y * (p + eps).log() + (1 - y) * (1 - p + eps).log()).mean()
        for t in params:
            t.grad = None
        loss.backward()
        with shendu.no_grad():
            for t in params:
                t.data -= lr * t.grad.data
        if verbose and step % 500 == 0:
            print(f"step {step:5d}  loss {loss.item():.4f}")
    with shendu.no_grad():
        p = ((x @ w1 + b1).tanh() @ w2 + b2).sigmoid()
    pred = (p.numpy() > 0.5).astype(int).ravel()
    accuracy = float((pred == y.numpy().ravel()).mean())
    if verbose:
        print("predictions", pred.tolist(), "accuracy", accuracy)
    return accuracy, loss.item()


if __name__ == "__main__":
    train_xor()
