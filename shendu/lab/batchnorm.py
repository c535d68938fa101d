"""Experiment 4: batch normalisation and the largest learning rate that still trains."""
from __future__ import annotations

import math

from .. import nn
from . import experiment
from .common import digits, fit, seed_all
from .page import fmt, new_figure


def deep_mlp(batchnorm, depth=4, width=64):
    """A ``depth``-hidden-layer ReLU MLP on 64 inputs, with a BatchNorm1d before each ReLU when asked."""
    layers, n_in = [], 64
    for _ in range(depth):
        layers += [nn.Linear(n_in, width)] + ([nn.BatchNorm1d(width)] if batchnorm else []) + [nn.ReLU()]
        n_in = width
    return nn.Sequential(*layers, nn.Linear(n_in, 10))


def trains(history, threshold=0.5):
    """A run trains when its losses stayed finite and its final test accuracy is at least ``threshold``."""
    return all(math.isfinite(v) for v in history["loss"]) and history["val_accuracy"][-1] >= threshold


@experiment("batchnorm", "Batch normalisation and the learning rate",
            "Batch normalisation lets a network train at much higher learning rates than the same network "
            "without it.", order=4)
def run(result, quick):
    """The experiment registered above: trains, measures and fills ``result`` (a :class:`~shendu.lab.page.Result`);
    ``quick`` runs the reduced version of the test suite."""
    lrs = [0.1, 1.0, 10.0] if quick else [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0]
    epochs = 2 if quick else 5
    data = digits(flat=True)
    if quick:
        data = (data[0][:400], data[1][:400], data[2], data[3])
    result.setup(f"""
The digits ({len(data[0])} training, {len(data[2])} test images), an MLP of four hidden ReLU layers of 64 units,
with or without `nn.BatchNorm1d` before each ReLU (the same network otherwise), plain SGD, batch 32,
{epochs} epochs at each learning rate of {', '.join(f'{v:g}' for v in lrs)}. A run **trains** when its training loss
stayed finite and its final test accuracy is at least 50 % (too small a learning rate fails this too, by crawling);
the largest learning rate that trains is the largest of the grid at which every seed trains.""")
    acc = {(bn, lr): [] for bn in (False, True) for lr in lrs}
    ok = {(bn, lr): [] for bn in (False, True) for lr in lrs}
    for seed in result.seeds:
        for bn in (False, True):
            for lr in lrs:
                seed_all(seed)
                h = fit(deep_mlp(bn), data, optimizer="sgd", lr=lr, epochs=epochs, batch_size=32, seed=seed,
                        nan_guard=False)
                a = h["val_accuracy"][-1] if all(math.isfinite(v) for v in h["loss"]) else 0.0
                acc[(bn, lr)].append(a)
                ok[(bn, lr)].append(trains(h))
                result.log(f"seed {seed} batchnorm={bn} lr {lr:g}: test accuracy {a:.3f}")
    largest = {bn: max((lr for lr in lrs if all(ok[(bn, lr)])), default=None) for bn in (False, True)}
    result.record("largest_training_lr", {"plain": largest[False], "batchnorm": largest[True]})
    result.record("accuracy", {f"{'bn' if bn else 'plain'}@{lr:g}": v for (bn, lr), v in acc.items()})
    rows = [[f"{lr:g}", fmt(acc[(False, lr)]), f"{sum(ok[(False, lr)])}/{len(result.seeds)}",
             fmt(acc[(True, lr)]), f"{sum(ok[(True, lr)])}/{len(result.seeds)}"] for lr in lrs]
    result.table(["learning rate", "test accuracy, plain", "seeds that train", "test accuracy, batch norm",
                  "seeds that train"], rows, heading="Test accuracy at each learning rate",
                 note="A run whose loss became non-finite counts as accuracy 0.")
    fig, ax = new_figure(6.4, 4)
    for bn, label in ((False, "plain"), (True, "batch norm")):
        means = [sum(acc[(bn, lr)]) / len(result.seeds) for lr in lrs]
        ax.plot(lrs, means, "o-", label=label)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate (SGD)")
    ax.set_ylabel(f"test accuracy after {epochs} epochs")
    ax.axhline(0.5, color="grey", linestyle=":", linewidth=0.8)
    ax.grid(True, alpha=0.3)
    ax.legend()
    result.figure("stability", fig, "Mean test accuracy against the learning rate; below the dotted line a run "
                                    "does not count as training.")

    def name(lr):
        return "none of the grid" if lr is None else f"{lr:g}"

    higher = largest[True] is not None and (largest[False] is None or largest[True] > largest[False])
    result.conclude(
        "yes" if higher else "no",
        f"The largest learning rate at which every seed trains is {name(largest[False])} without batch "
        f"normalisation and {name(largest[True])} with it. "
        + ("Batch normalisation allows the higher learning rate, as claimed."
           if higher else "Batch normalisation did not allow a higher learning rate here."))
