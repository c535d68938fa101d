"""Experiment 1: cross-entropy against mean squared error for classification.

The argument of the articles: with a sigmoid (or softmax) output, the squared error's gradient
carries the factor σ'(z) = σ(z)(1 − σ(z)), which vanishes when the unit saturates — also when it
saturates on the *wrong* side — so learning stalls; the cross-entropy's gradient σ(z) − y has no
such factor. Measured here: the gradient itself (by autograd) and training curves of the same
network with three output/loss pairs.
"""
from __future__ import annotations

from .. import functional as F
from .. import nn, tensor
from ..backend import xp
from . import experiment
from .common import curve_band, digits, fit, seed_all
from .page import fmt, new_figure

PAIRS = {  # name -> (output non-linearity applied in the loss, loss of (output, one-hot target))
    "softmax + cross-entropy": lambda out, y: F.cross_entropy(out, y),
    "softmax + squared error": lambda out, y: F.mse_loss(F.softmax(out, dim=1), F.one_hot(y, 10).float()),
    "sigmoid + squared error": lambda out, y: F.mse_loss(F.sigmoid(out), F.one_hot(y, 10).float()),
}


def saturated_gradients(z):
    """dL/dz of one sigmoid unit with target 1 at the logits ``z``, by autograd: (cross-entropy, squared error)."""
    logits = tensor(xp.asarray(z, dtype=xp.float64), requires_grad=True)
    target = tensor(xp.ones(len(z)))
    F.binary_cross_entropy_with_logits(logits, target, reduction="sum").backward()
    g_ce = logits.grad.numpy().copy()
    logits.grad = None
    F.mse_loss(F.sigmoid(logits), target, reduction="sum").backward()
    return g_ce, logits.grad.numpy().copy()


@experiment("loss", "Cross-entropy vs squared error for classification",
            "Cross-entropy trains a classifier faster than the mean squared error on sigmoid or softmax outputs, "
            "because the squared error's gradient vanishes where an output saturates, even on the wrong answer.",
            order=1)
def run(result, quick):
    """The experiment registered above: trains, measures and fills ``result`` (a :class:`~shendu.lab.page.Result`);
    ``quick`` runs the reduced version of the test suite."""
    epochs = 4 if quick else 30
    xtr, ytr, xte, yte = digits(flat=True)
    if quick:
        xtr, ytr = xtr[:400], ytr[:400]
    result.setup(f"""
The embedded digits (8×8 pixels; {len(xtr)} training and {len(xte)} test images), a 64–64–10 MLP with a tanh
hidden layer, plain SGD (learning rate 0.1, batch 32) for {epochs} epochs, the same initialisation for the
three outputs/losses of each seed:

* **softmax + cross-entropy** (`F.cross_entropy` on the logits);
* **softmax + squared error** (`F.mse_loss` between the softmax and the one-hot target);
* **sigmoid + squared error** (ten independent sigmoids against the one-hot target, the classic set-up).

First, the gradient with respect to the logit z of one sigmoid unit whose target is 1, computed by shendu's
autograd: cross-entropy gives σ(z) − 1, the squared error 2(σ(z) − 1)·σ(z)(1 − σ(z)).""")
    z = xp.linspace(-10, 10, 201)
    g_ce, g_mse = saturated_gradients(z)
    at = [-10.0, -5.0, -2.0, 0.0]
    idx = [int(xp.argmin(abs(z - v))) for v in at]
    result.table(["logit z (target 1)", "σ(z)", "dL/dz cross-entropy", "dL/dz squared error"],
                 [[f"{z[i]:g}", f"{1 / (1 + xp.exp(-z[i])):.2e}", f"{g_ce[i]:.4f}", f"{g_mse[i]:.2e}"] for i in idx],
                 heading="The gradient at a saturated wrong output")
    result.record("grad_ce_at_-10", float(g_ce[idx[0]]))
    result.record("grad_mse_at_-10", float(g_mse[idx[0]]))
    fig, ax = new_figure(6, 3.6)
    ax.plot(z, abs(g_ce), label="cross-entropy |σ(z) − 1|")
    ax.plot(z, abs(g_mse), label="squared error |2(σ − 1)σ(1 − σ)|")
    ax.set_yscale("log")
    ax.set_xlabel("logit z of a unit whose target is 1")
    ax.set_ylabel("|dL/dz|")
    ax.grid(True, alpha=0.3)
    ax.legend()
    result.figure("gradient", fig, "The gradient reaching the logit: the squared error's vanishes as the wrong "
                                   "output saturates (z → −∞); the cross-entropy's tends to −1.")

    from ..viz import GradientStats

    curves = {name: {"val_accuracy": [], "loss": []} for name in PAIRS}
    grads = {}  # the first seed's gradient norms of the output layer during training, by shendu.viz.GradientStats
    for seed in result.seeds:
        for name, loss in PAIRS.items():
            seed_all(seed)
            net = nn.Sequential(nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 10))
            stats = GradientStats(layers=["2"], every=5)
            h = fit(net, (xtr, ytr, xte, yte), optimizer="sgd", lr=0.1, epochs=epochs, batch_size=32, seed=seed,
                    loss=loss, callbacks=[stats])
            if seed == result.seeds[0]:
                grads[name] = (stats.steps, stats.grad_norms["2"])
            curves[name]["val_accuracy"].append(h["val_accuracy"])
            curves[name]["loss"].append(h["loss"])
            result.log(f"seed {seed} {name}: test accuracy {h['val_accuracy'][-1]:.3f}")
    marks = sorted({1, max(1, epochs // 6), max(1, epochs // 3), epochs})
    rows = []
    for name, c in curves.items():
        acc = c["val_accuracy"]
        rows.append([name] + [fmt([a[e - 1] for a in acc]) for e in marks])
        result.record(f"accuracy[{name}]", [a[-1] for a in acc])
    result.table(["output + loss"] + [f"test accuracy after {e} epoch{'s' * (e > 1)}" for e in marks], rows,
                 heading="Training the same network three ways")
    fig, axes = new_figure(15, 3.6, 1, 3)
    for name, c in curves.items():
        curve_band(axes[0], c["loss"], name)
        curve_band(axes[1], c["val_accuracy"], name)
        axes[2].plot(*grads[name], label=name, linewidth=0.8)
    axes[0].set_ylabel("training loss (each its own)")
    axes[0].set_yscale("log")
    axes[1].set_ylabel("test accuracy")
    axes[2].set_ylabel("‖∂L/∂θ‖ of the output layer")
    axes[2].set_yscale("log")
    for ax in axes[:2]:
        ax.set_xlabel("epoch")
    axes[2].set_xlabel("batch")
    for ax in axes:
        ax.grid(True, alpha=0.3)
    axes[1].legend()
    result.figure("curves", fig, "Training loss and test accuracy per epoch (mean ± s.d. over the seeds), and the "
                                 "gradient norm of the output layer every 5 batches (first seed; "
                                 "`shendu.viz.GradientStats`).")
    early_grad = {name: float(xp.median(g[1][:max(1, len(g[1]) // 5)])) for name, g in grads.items()}
    result.record("early_output_grad", early_grad)
    result.table(["output + loss", "median gradient norm of the output layer, first fifth of training"],
                 [[name, f"{v:.3g}"] for name, v in early_grad.items()])

    final = {name: sum(a[-1] for a in c["val_accuracy"]) / len(result.seeds) for name, c in curves.items()}
    early = {name: sum(a[marks[1] - 1] for a in c["val_accuracy"]) / len(result.seeds) for name, c in curves.items()}
    ce, smse, sig = (early[n] for n in PAIRS)
    faster = ce > smse and ce > sig
    vanishing = abs(g_mse[idx[0]]) < 1e-3 < abs(g_ce[idx[0]])
    result.conclude(
        "yes" if faster and vanishing else "partly" if faster or vanishing else "no",
        f"At z = −10 the squared error passes back {abs(g_mse[idx[0]]):.1e} where cross-entropy passes "
        f"{abs(g_ce[idx[0]]):.2f}. After {marks[1]} epochs cross-entropy reaches {100 * ce:.1f} % test accuracy "
        f"against {100 * smse:.1f} % (softmax + squared error) and {100 * sig:.1f} % (sigmoid + squared error); "
        f"after {epochs} epochs {100 * final['softmax + cross-entropy']:.1f} %, "
        f"{100 * final['softmax + squared error']:.1f} % and {100 * final['sigmoid + squared error']:.1f} %. "
        + ("Cross-entropy learns faster, as claimed." if faster else
           "Cross-entropy is not the fastest here, so these numbers do not show the claim.")
        + (" The squared errors catch up with enough epochs on this easy data set: the claim is about speed, "
           "not the final accuracy." if faster and min(final.values()) > 0.9 * max(final.values()) else ""))
