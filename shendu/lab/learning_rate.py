"""Experiment 3: a learning rate too small, about right and too large, and the range test that finds it."""
from __future__ import annotations

import math

from .. import nn
from ..lr_finder import lr_find
from . import experiment
from .common import digits, fit, loss_accuracy_figure, seed_all
from .page import fmt, new_figure


def mlp():
    """The network of the experiment: 64–64–10 with a ReLU hidden layer."""
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))


@experiment("learning_rate", "The learning rate: too small, about right, too large",
            "Too small a learning rate makes training crawl, too large a one makes the loss oscillate or diverge; "
            "the learning-rate range test (loss against a growing learning rate) finds a good one in one short run.",
            order=3)
def run(result, quick):
    """The experiment registered above: trains, measures and fills ``result`` (a :class:`~shendu.lab.page.Result`);
    ``quick`` runs the reduced version of the test suite."""
    epochs = 2 if quick else 20
    steps = 50 if quick else 100
    data = digits(flat=True)
    if quick:
        data = (data[0][:400], data[1][:400], data[2], data[3])
    result.setup(f"""
The digits ({len(data[0])} training, {len(data[2])} test images), a 64–64–10 ReLU MLP, plain SGD with batch 32.
For each seed, `shendu.lr_find` runs the range test on a fresh network ({steps} batches, learning rate from 10⁻⁴
to 10, SGD) and suggests a learning rate (where the smoothed loss falls fastest). Then the same network is trained
for {epochs} epochs at four learning rates read off that test: lr_min ÷ 1000 (too small; lr_min is the learning rate
of the lowest smoothed loss), lr_min ÷ 10 (Smith's rule of thumb), the library's suggestion (the steepest descent
of the curve), and the learning rate where the test's loss blew up (too large; 10 when it did not).""")
    lr_curves, choices = [], {"too small": [], "lr_min / 10": [], "suggested": [], "too large": []}
    hist = {k: {"loss": [], "val_accuracy": []} for k in choices}
    for seed in result.seeds:
        seed_all(seed)
        r = lr_find(mlp(), (data[0], data[1]), optimizer="sgd", start_lr=1e-4, end_lr=10.0, num_steps=steps,
                    batch_size=32, seed=seed)
        lr_curves.append(r)
        large = r.lrs[-1] if r.diverged else 10.0
        lrs = {"too small": r.lr_min / 1000, "lr_min / 10": r.lr_min / 10, "suggested": r.suggestion,
               "too large": large}
        for name, lr in lrs.items():
            choices[name].append(lr)
            seed_all(seed)
            h = fit(mlp(), data, optimizer="sgd", lr=lr, epochs=epochs, batch_size=32, seed=seed, nan_guard=False)
            loss = [v if math.isfinite(v) else float("nan") for v in h["loss"]]
            hist[name]["loss"].append(loss)
            hist[name]["val_accuracy"].append(h["val_accuracy"])
            result.log(f"seed {seed} {name} lr {lr:.3g}: test accuracy {h['val_accuracy'][-1]:.3f}")
    fig, ax = new_figure(6.4, 4)
    for seed, r in zip(result.seeds, lr_curves):
        line, = ax.plot(r.lrs, r.losses, label=f"seed {seed}")
        ax.axvline(r.suggestion, color=line.get_color(), linestyle="--", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("smoothed training loss")
    ax.set_ylim(top=min(4.0, max(max(r.losses) for r in lr_curves)))
    ax.grid(True, alpha=0.3)
    ax.legend()
    result.figure("range-test", fig, "The range test of each seed; the dashed lines are the suggestions (steepest "
                                     "descent).")
    rows = []
    for name in choices:
        acc = [a[-1] for a in hist[name]["val_accuracy"]]
        final = [ls[-1] for ls in hist[name]["loss"]]
        diverged = sum(not math.isfinite(v) or v > 2.3 for v in final)
        rows.append([name, ", ".join(f"{v:.3g}" for v in choices[name]), fmt([ls[0] for ls in hist[name]["loss"]]),
                     fmt(final) if not diverged else f"{fmt(final)} ({diverged} of {len(final)} diverged or stuck)",
                     fmt(acc)])
        result.record(f"accuracy[{name}]", acc)
    result.record("suggestions", choices["suggested"])
    result.table(["learning rate", "value (per seed)", "training loss after epoch 1", f"after {epochs}", "test accuracy"], rows,
                 heading="Training at the three learning rates",
                 note="\"Stuck\" means a final training loss above ln 10 ≈ 2.3, the loss of a uniform guess; a "
                      "non-finite loss is shown as nan.")
    result.figure("curves", loss_accuracy_figure(hist), "Training loss and test accuracy at the three learning rates (mean ± s.d.; a "
                                 "diverged run leaves a gap).")
    mean = {k: sum(a[-1] for a in hist[k]["val_accuracy"]) / len(result.seeds) for k in choices}
    picked = max(("lr_min / 10", "suggested"), key=mean.get)
    good = mean[picked] > mean["too small"] and mean[picked] > mean["too large"]

    def per_seed(k):
        return ", ".join(f"{v:.3g}" for v in choices[k])

    result.conclude(
        "yes" if good and mean["suggested"] >= mean["too small"] else "partly" if good else "no",
        f"After {epochs} epochs: too small ({per_seed('too small')}) {100 * mean['too small']:.1f} % test accuracy, "
        f"still crawling; lr_min ÷ 10 ({per_seed('lr_min / 10')}) {100 * mean['lr_min / 10']:.1f} %; the steepest-"
        f"descent suggestion ({per_seed('suggested')}) {100 * mean['suggested']:.1f} %; too large "
        f"({per_seed('too large')}) {100 * mean['too large']:.1f} %, diverged or stuck. "
        + ("The range test finds a learning rate that beats both extremes, as claimed" if good else
           "Neither reading of the range test beat both extremes here")
        + (f"; here the better reading is {picked}." if good else ".")
        + (" The steepest-descent suggestion sits right before the loss's minimum, at the edge of divergence, for "
           "plain SGD on this network (the loss only starts to fall at large learning rates within 100 batches): "
           "one order of magnitude below the minimum is the safer reading." if mean["suggested"] < mean["lr_min / 10"]
           else ""))
