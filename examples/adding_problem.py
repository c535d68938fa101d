"""The adding problem (Hochreiter & Schmidhuber 1997): an LSTM remembers across 100 steps, a plain RNN does not.

Every input sequence has T steps of two channels: a value drawn from U(0, 1) and a marker that is 1 at
exactly two steps — one in the first half of the sequence, one in the second — and 0 elsewhere. The
target is the sum of the two marked values. Answering the mean, 1, whatever the input gives

    MSE = Var(u₁ + u₂) = 2 · 1/12 ≈ 0.167,

so doing better means carrying the first marked value across ~T/2 steps of distracting inputs. The
gradient that would teach a tanh RNN to do so is a product of ~T/2 Jacobians diag(1 − h²)·W_hh and
vanishes; the LSTM's cell state c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t passes it on through f_t ≈ 1.

Both models read the sequence and regress the sum from their final hidden state
(``shendu.models.SequenceRegressor``), trained with Adam and gradient-norm clipping on fresh random
batches (the learning rate cosine-annealed to 0), with the same hidden size, steps and batch size; the test MSE on a fixed set of sequences is
recorded along the way. The curves and numbers are in docs/rnn.md.

Run:  OMP_NUM_THREADS=1 python examples/adding_problem.py [--steps 5000] [--plot runs/adding_problem.png]
"""
import argparse
import json
import time

import numpy as np

import shendu
import shendu.functional as F
from shendu.models import SequenceRegressor


def adding_batch(n, T, rng):
    """n sequences (n, T, 2) and their targets (n, 1): the sum of the two marked values."""
    values = rng.random((n, T))
    marks = np.zeros((n, T))
    rows = np.arange(n)
    marks[rows, rng.integers(0, T // 2, n)] = 1
    marks[rows, rng.integers(T // 2, T, n)] = 1
    x = np.stack([values, marks], axis=2).astype(np.float32)
    y = (values * marks).sum(axis=1, keepdims=True).astype(np.float32)
    return x, y


def train(cell, T=100, hidden=64, steps=5000, batch=64, lr=2e-3, clip=1.0, eval_every=100, n_test=1000, seed=0,
          log=print):
    """Train one model; returns the test-MSE curve [(step, mse)], the final test MSE and the seconds taken."""
    shendu.manual_seed(seed)
    rng = np.random.default_rng(seed)
    test_x, test_y = adding_batch(n_test, T, np.random.default_rng(12345))
    test_x, test_y = shendu.tensor(test_x), shendu.tensor(test_y)
    model = SequenceRegressor(2, hidden, cell=cell)
    opt = shendu.optim.Adam(model.parameters(), lr=lr)
    sched = shendu.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)  # settle at the end

    def test_mse():
        model.eval()
        with shendu.no_grad():
            mse = F.mse_loss(model(test_x), test_y).item()
        model.train()
        return mse

    curve = [(0, test_mse())]
    start = time.perf_counter()
    for step in range(1, steps + 1):
        x, y = adding_batch(batch, T, rng)
        loss = F.mse_loss(model(shendu.tensor(x)), shendu.tensor(y))
        opt.zero_grad()
        loss.backward()
        shendu.optim.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        sched.step()
        if step % eval_every == 0 or step == steps:
            curve.append((step, test_mse()))
            log(f"{cell:4s} step {step:5d}  train MSE {loss.item():.4f}  test MSE {curve[-1][1]:.4f}  "
                f"({time.perf_counter() - start:.0f} s)")
    return curve, curve[-1][1], time.perf_counter() - start


def plot(results, path, T, budget):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=100)
    for cell, r in results.items():
        steps, mse = zip(*r["curve"])
        ax.plot(steps, mse, label=f"{cell.upper()} (final {r['test_mse']:.4f})")
    ax.axhline(1 / 6, color="gray", linestyle="--", linewidth=1, label="always answer 1 (0.167)")
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("test MSE")
    ax.set_title(f"Adding problem, T = {T}\n{budget}", fontsize=10)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    print("saved", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--T", type=int, default=100, help="sequence length (default 100)")
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3, help="Adam's initial lr, cosine-annealed to 0")
    ap.add_argument("--cells", default="lstm,rnn", help="comma-separated: lstm, gru, rnn")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--plot", default=None, help="save the test-MSE curves to this PNG")
    ap.add_argument("--json", default=None, help="save the curves and numbers to this JSON file")
    args = ap.parse_args()
    results = {}
    for cell in args.cells.split(","):
        curve, mse, seconds = train(cell, args.T, args.hidden, args.steps, args.batch, args.lr, seed=args.seed)
        results[cell] = {"curve": curve, "test_mse": mse, "seconds": seconds}
    budget = f"hidden {args.hidden}, batch {args.batch}, {args.steps} Adam steps, lr {args.lr} cosine"
    print(f"\nadding problem, T = {args.T}; {budget}")
    for cell, r in results.items():
        print(f"  {cell.upper():4s}  test MSE {r['test_mse']:.4f}   ({r['seconds']:.0f} s)")
    if args.plot:
        plot(results, args.plot, args.T, budget)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "results": results}, f)


if __name__ == "__main__":
    main()
