"""Experiment 9: LSTM and GRU against the plain (Elman) RNN on long dependencies.

Two synthetic tasks whose answer depends on inputs far back in the sequence:

* the **adding problem** (Hochreiter & Schmidhuber 1997): at each of T steps a value u_t ~ U[0, 1] and a marker;
  exactly two steps are marked, one in each half; the target is the sum of the two marked values. Predicting the
  mean (1) gives a mean squared error of 1/6 ≈ 0.167.
* a **copy task**: the first step shows one of K = 4 symbols (one-hot), the next T − 1 steps random distractor
  symbols of another 4; at the end the network must reproduce the first symbol. Chance is 1/4.
"""
from __future__ import annotations

from .. import nn
from ..backend import xp
from . import experiment
from .common import seed_all
from .page import fmt, new_figure

CELLS = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}
SYMBOLS = 4


def adding_problem(n, length, rng):
    """``(x, y)``: x (n, length, 2) float32 — values and markers —, y (n, 1) the sum of the two marked values."""
    values = rng.random((n, length)).astype(xp.float32)
    marks = xp.zeros((n, length), dtype=xp.float32)
    half = length // 2
    first, second = rng.integers(0, half, n), rng.integers(half, length, n)
    marks[xp.arange(n), first] = 1
    marks[xp.arange(n), second] = 1
    y = (values * marks).sum(1, keepdims=True).astype(xp.float32)
    return xp.stack([values, marks], axis=2), y


def copy_task(n, length, rng):
    """``(x, y)``: x (n, length, 2K) one-hot — a symbol of the first K at step 0, distractors of the other K
    after —, y (n,) the first symbol."""
    y = rng.integers(0, SYMBOLS, n)
    x = xp.zeros((n, length, 2 * SYMBOLS), dtype=xp.float32)
    x[xp.arange(n), 0, y] = 1
    noise = rng.integers(SYMBOLS, 2 * SYMBOLS, (n, length - 1))
    x[xp.arange(n)[:, None], xp.arange(1, length)[None, :], noise] = 1
    return x, y


class SequenceModel(nn.Module):
    """A recurrent layer (``cell``: RNN, LSTM or GRU, batch first) and a Linear read-out of its last output.

    Shape: input (N, T, input_size) -> output (N, outputs).
    """

    def __init__(self, cell, input_size, hidden, outputs):
        super().__init__()
        self.rnn = CELLS[cell](input_size, hidden, batch_first=True)
        self.head = nn.Linear(hidden, outputs)

    def forward(self, x):
        """The read-out of the last step: (N, T, input_size) -> (N, outputs)."""
        return self.head(self.rnn(x)[0][:, -1])


TASKS = {  # name -> (generator, input size, outputs, loss, metric name, metric of the history, better is)
    "adding": (adding_problem, 2, 1, "mse", "test MSE", "val_loss"),
    "copy": (copy_task, 2 * SYMBOLS, SYMBOLS, "cross_entropy", "test accuracy", "val_accuracy"),
}


@experiment("recurrent", "LSTM and GRU vs the plain RNN on long dependencies",
            "A plain RNN forgets what it saw many steps ago (its gradient through time vanishes), while the gated "
            "LSTM and GRU keep it: on the adding problem and a copy task the plain RNN fails as the sequence grows.",
            order=9)
def run(result, quick):
    """The experiment registered above: trains, measures and fills ``result`` (a :class:`~shendu.lab.page.Result`);
    ``quick`` runs the reduced version of the test suite."""
    lengths = (5, 10) if quick else (10, 25, 50)
    n_train, n_test, epochs, hidden = (256, 128, 2, 16) if quick else (1500, 500, 8, 32)
    result.setup(f"""
Both tasks at sequence lengths T = {', '.join(map(str, lengths))}: {n_train} training and {n_test} test sequences
drawn afresh for each seed. The models: one recurrent layer of {hidden} units (`nn.RNN` with tanh, `nn.LSTM`,
`nn.GRU`, batch first; PyTorch's initialisation) and a Linear read-out of the last step's output; Adam (learning
rate 10⁻², batch 32), {epochs} epochs; the adding problem with the squared error, the copy task with cross-entropy.

* **Adding problem** (Hochreiter & Schmidhuber 1997): at each step a value u ~ U[0, 1] and a marker; two steps are
  marked, one in each half; the target is the sum of the two marked values. Always answering 1 gives a mean squared
  error of 1/6 ≈ 0.167.
* **Copy task**: step 1 shows one of {SYMBOLS} symbols, the next T − 1 steps random distractors (another
  {SYMBOLS} symbols); at the end the network must name the first symbol. Chance is {100 / SYMBOLS:.0f} %.""")
    scores = {(task, cell, t): [] for task in TASKS for cell in CELLS for t in lengths}
    for seed in result.seeds:
        rng = xp.random.default_rng(seed)
        for task, (make, n_in, n_out, loss, _, key) in TASKS.items():
            for t in lengths:
                xtr, ytr = make(n_train, t, rng)
                xte, yte = make(n_test, t, rng)
                for cell in CELLS:
                    seed_all(seed)
                    net = SequenceModel(cell, n_in, hidden, n_out)
                    net.compile("adam", loss=loss, lr=1e-2, metrics=["accuracy"] if task == "copy" else ())
                    h = net.fit(xtr, ytr, epochs=epochs, batch_size=32, validation_data=(xte, yte), seed=seed,
                                verbose=0, nan_guard=False).history
                    scores[(task, cell, t)].append(h[key][-1])
                    result.log(f"seed {seed} {task} T={t} {cell}: {key} {h[key][-1]:.4f}")
    for task, (_, _, _, _, label, _) in TASKS.items():
        result.record(task, {f"{c}/T={t}": scores[(task, c, t)] for c in CELLS for t in lengths})
        result.table(["T"] + [f"{label}, {c}" for c in CELLS],
                     [[str(t)] + [fmt(scores[(task, c, t)], ".3f") for c in CELLS] for t in lengths],
                     heading={"adding": "The adding problem (baseline MSE 0.167)",
                              "copy": f"The copy task (chance {1 / SYMBOLS:.2f})"}[task])
    fig, axes = new_figure(10, 3.8, 1, 2)
    for ax, (task, (_, _, _, _, label, _)) in zip(axes, TASKS.items()):
        for c in CELLS:
            vals = [scores[(task, c, t)] for t in lengths]
            ax.errorbar(lengths, [xp.mean(v) for v in vals],
                        yerr=[xp.std(v, ddof=1) if len(v) > 1 else 0 for v in vals], marker="o", capsize=3, label=c)
        ax.axhline(1 / 6 if task == "adding" else 1 / SYMBOLS, color="grey", linestyle=":", linewidth=1,
                   label="baseline" if task == "adding" else "chance")
        ax.set_xlabel("sequence length T")
        ax.set_ylabel(label)
        ax.set_title(f"{task} task")
        ax.grid(True, alpha=0.3)
        ax.legend()
    result.figure("length", fig, "Test score against the sequence length (mean ± s.d. over the seeds); dotted: "
                                 "the baseline of a network that learned nothing about the marked steps / first "
                                 "symbol.")

    def m(task, cell, t):
        return float(xp.mean(scores[(task, cell, t)]))

    longest = lengths[-1]
    add_gated = min(m("adding", "LSTM", longest), m("adding", "GRU", longest))
    copy_gated = max(m("copy", "LSTM", longest), m("copy", "GRU", longest))
    add_rnn, copy_rnn = m("adding", "RNN", longest), m("copy", "RNN", longest)
    # a win must be clear: a quarter lower squared error, ten points more accuracy
    wins = (add_gated < 0.75 * add_rnn) + (copy_gated > copy_rnn + 0.1)
    result.conclude(
        "yes" if wins == 2 else "partly" if wins == 1 else "no",
        f"At T = {longest} the plain RNN reaches a test MSE of {add_rnn:.3f} on the adding problem (baseline 0.167) "
        f"and {100 * copy_rnn:.1f} % on the copy task (chance {100 / SYMBOLS:.0f} %); the better gated network "
        f"{add_gated:.3f} and {100 * copy_gated:.1f} %. "
        + ("The gated networks clearly beat the plain RNN on the longest sequences of both tasks, as claimed."
           if wins == 2 else "The gated networks clearly win one task of two here (a quarter lower error or ten points more "
           "accuracy)." if wins == 1 else "The gated networks do not clearly beat the plain RNN here.")
        + (" On the copy task the distractors arrive on channels of their own, so a plain RNN keeps the first "
           "symbol by learning to ignore those channels, and at these lengths its gradient has not vanished enough "
           "to stop it." if copy_rnn >= copy_gated else "")
        + f" This is a short training ({epochs} epochs of {n_train} sequences): with far more steps the gated "
        "networks solve much longer sequences, and the plain RNN can learn the short ones.")
