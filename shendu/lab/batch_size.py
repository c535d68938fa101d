"""Experiment 12: stochastic, mini-batch and full-batch gradient descent — the three forms of the articles."""
from __future__ import annotations

import time

from .. import nn
from ..backend import xp
from ..training.callbacks import Callback
from . import experiment
from .common import digits, fit, seed_all
from .page import fmt, new_figure


class Clock(Callback):
    """Records the wall-clock time at the end of every epoch (seconds since the start of training)."""

    def on_train_begin(self, logs=None):
        """Start the clock."""
        self.start, self.times = time.perf_counter(), []

    def on_epoch_end(self, epoch, logs=None):
        """Note the time since the start."""
        self.times.append(time.perf_counter() - self.start)


@experiment("batch_size", "Stochastic vs mini-batch vs full-batch gradient descent",
            "Stochastic gradient descent (one example per update) makes many cheap, noisy steps and full-batch "
            "gradient descent few exact, expensive ones; mini-batches combine the two and reach a low loss "
            "fastest in wall-clock time.", order=12)
def run(result, quick):
    """The experiment registered above: trains, measures and fills ``result`` (a :class:`~shendu.lab.page.Result`);
    ``quick`` runs the reduced version of the test suite."""
    xtr, ytr, xte, yte = digits(flat=True)
    if quick:
        xtr, ytr = xtr[:200], ytr[:200]
    n = len(xtr)
    forms = {"stochastic (batch 1)": (1, 0.01), "mini-batch (batch 32)": (32, 0.1), f"full batch ({n})": (n, 0.5)}
    epochs = 2 if quick else 15
    result.setup(f"""
The digits ({n} training, {len(xte)} test images), a 64–64–10 tanh MLP, plain SGD for {epochs} epochs (an epoch is
one pass over the training set: {n} updates with batch 1, {-(-n // 32)} with batch 32, one with the full batch), at
learning rates that grow with the batch ({', '.join(f'{k}: {lr:g}' for k, (_, lr) in forms.items())}; a larger batch
averages away the noise and tolerates a larger step). The same initialisation for the three within a seed. Wall time
is measured per epoch on the shared machine, so it is indicative.""")
    hist = {k: {"loss": [], "val_accuracy": [], "times": []} for k in forms}
    for seed in result.seeds:
        for name, (batch, lr) in forms.items():
            seed_all(seed)
            net = nn.Sequential(nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 10))
            clock = Clock()
            h = fit(net, (xtr, ytr, xte, yte), optimizer="sgd", lr=lr, epochs=epochs, batch_size=batch, seed=seed,
                    callbacks=[clock])
            hist[name]["loss"].append(h["loss"])
            hist[name]["val_accuracy"].append(h["val_accuracy"])
            hist[name]["times"].append(clock.times)
            result.log(f"seed {seed} {name}: loss {h['loss'][-1]:.3f} test accuracy {h['val_accuracy'][-1]:.3f}")
    result.record("accuracy", {k: [a[-1] for a in h["val_accuracy"]] for k, h in hist.items()})
    result.record("seconds_per_epoch", {k: [t[-1] / epochs for t in h["times"]] for k, h in hist.items()})
    result.table(["form", "updates per epoch", "seconds per epoch", "training loss after 1 epoch",
                  f"after {epochs}", f"test accuracy after {epochs}"],
                 [[k, str(-(-n // forms[k][0])), fmt([t[-1] / epochs for t in h["times"]], ".2f"),
                   fmt([ls[0] for ls in h["loss"]]), fmt([ls[-1] for ls in h["loss"]]),
                   fmt([a[-1] for a in h["val_accuracy"]])] for k, h in hist.items()],
                 heading="The three forms",
                 note="The training loss of an epoch is the mean over its batches (computed while the weights change).")
    fig, axes = new_figure(10, 3.8, 1, 2)
    for name, h in hist.items():
        loss = xp.asarray(h["loss"]).mean(0)
        axes[0].plot(xp.arange(1, epochs + 1), loss, "o-", markersize=3, label=name)
        axes[1].plot(xp.asarray(h["times"]).mean(0), loss, "o-", markersize=3, label=name)
    axes[0].set_xlabel("epoch")
    axes[1].set_xlabel("seconds (mean over the seeds; log scale)")
    axes[1].set_xscale("log")
    for ax in axes:
        ax.set_ylabel("training loss")
        ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
    axes[0].legend()
    result.figure("curves", fig, "Training loss against epochs (left) and against wall-clock time (right), mean "
                                 "over the seeds.")
    sgd, mini, full = forms
    target = 2.25 if quick else 0.5  # a loss every form can reach in the run, well below ln 10

    def time_to(name):
        """Mean time at which the mean loss curve first reaches ``target`` (None if never)."""
        loss, times = xp.asarray(hist[name]["loss"]).mean(0), xp.asarray(hist[name]["times"]).mean(0)
        hit = xp.nonzero(loss <= target)[0]
        return float(times[hit[0]]) if len(hit) else None

    reach = {k: time_to(k) for k in forms}
    result.record("seconds_to_full_batch_loss", reach)
    per_epoch = {k: float(xp.mean([t[-1] / epochs for t in hist[k]["times"]])) for k in forms}
    best_time = min((k for k in forms if reach[k] is not None), key=lambda k: reach[k], default=None)
    mini_best = best_time == mini
    result.conclude(
        "yes" if mini_best else "partly" if reach[mini] is not None and reach[mini] < (reach[full] or 1e9) else "no",
        f"An epoch takes {per_epoch[sgd]:.2f} s with batch 1 ({n} updates), {per_epoch[mini]:.2f} s with batch 32 and "
        f"{per_epoch[full]:.2f} s with the full batch (one update). A training loss of {target:g} is reached "
        f"by batch 1 after "
        + (f"{reach[sgd]:.1f} s" if reach[sgd] is not None else "never")
        + ", batch 32 after " + (f"{reach[mini]:.1f} s" if reach[mini] is not None else "never")
        + " and by the full batch " + (f"after {reach[full]:.1f} s. " if reach[full] is not None else
                                       f"never within {epochs} epochs. ")
        + ("Mini-batches get there first, as claimed." if mini_best else f"Here {best_time} gets there first.")
        + " Per update the full batch is exact but costs a whole pass; batch 1 is cheap per update but pays "
        "Python's per-step overhead {0} times an epoch.".format(n))
