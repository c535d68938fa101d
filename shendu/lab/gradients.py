"""Experiment 8: vanishing and exploding gradients in a deep MLP — the activation and the initialisation."""
from __future__ import annotations

import math

from .. import functional as F
from .. import nn, tensor
from ..backend import xp
from ..nn import init
from . import experiment
from .common import digits, fit, seed_all
from .page import fmt, new_figure

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "ReLU": nn.ReLU}
INITS = {  # name -> initialiser of a weight (out, in)
    "Xavier": lambda w: init.xavier_normal_(w),
    "He": lambda w: init.kaiming_normal_(w, nonlinearity="relu"),
    "N(0, 1)": lambda w: init.normal_(w, 0.0, 1.0),
}


def deep_mlp(activation, initialiser, depth, width=64):
    """``depth`` hidden Linear layers of ``width`` with ``activation``, initialised by ``initialiser``
    (biases 0), then a Linear to 10 classes."""
    layers, n_in = [], 64
    for _ in range(depth):
        layers += [nn.Linear(n_in, width), ACTIVATIONS[activation]()]
        n_in = width
    layers.append(nn.Linear(n_in, 10))
    net = nn.Sequential(*layers)
    for m in net.modules():
        if isinstance(m, nn.Linear):
            INITS[initialiser](m.weight)
            init.zeros_(m.bias)
    return net


def linear_layers(net):
    """The names of the Linear layers of ``net``, input side first."""
    return [name for name, m in net.named_modules() if isinstance(m, nn.Linear)]


def layer_gradient_norms(net, x, y):
    """‖∂L/∂θ_l‖₂ of every Linear layer l (weight and bias), input side first, for one cross-entropy backward
    pass, recorded by :class:`shendu.viz.GradientStats` in a hand-written step."""
    from ..viz import GradientStats

    names = linear_layers(net)
    stats = GradientStats(layers=names).attach(net)
    net.zero_grad()
    stats.begin_step()
    F.cross_entropy(net(tensor(x)), tensor(y)).backward()
    stats.end_step()
    stats.detach()
    return [stats.grad_norms[n][0] for n in names]


@experiment("gradients", "Vanishing and exploding gradients",
            "In a deep sigmoid network the gradient shrinks layer by layer towards the input (it vanishes), so the "
            "first layers barely learn; tanh with Xavier initialisation and ReLU with He initialisation keep the "
            "gradient's size through the depth, and too large weights make it explode.", order=8)
def run(result, quick):
    """The experiment registered above: trains, measures and fills ``result`` (a :class:`~shendu.lab.page.Result`);
    ``quick`` runs the reduced version of the test suite."""
    depth = 6 if quick else 15
    epochs = 2 if quick else 10
    xtr, ytr, xte, yte = digits(flat=True)
    batch = (xtr[:256], ytr[:256])
    data = (xtr[:400], ytr[:400], xte, yte) if quick else (xtr, ytr, xte, yte)
    result.setup(f"""
An MLP of {depth} hidden layers of 64 units on the digits, with sigmoid, tanh or ReLU units, initialised with
Xavier (normal, gain 1: Var w = 2/(fan_in + fan_out)), He (normal: Var w = 2/fan_in) or unscaled N(0, 1) weights
(far too large: Var w = 1 with 64 inputs) and zero biases.
**At initialisation:** the norm of the gradient of the cross-entropy with respect to each layer's parameters (weight
and bias), one backward pass on 256 training digits, recorded by `shendu.viz.GradientStats`; **during training** the
same callback records them every 10 batches. **Training:** the same networks trained with SGD (learning rate 0.05,
batch 32) for {epochs} epochs on {len(data[0])} digits; the ratio is the first layer's gradient norm over the last
layer's.""")
    from ..viz import GradientStats

    norms = {(a, i): [] for a in ACTIVATIONS for i in INITS}
    acc = {(a, i): [] for a in ACTIVATIONS for i in INITS}
    during = {}  # (activation, init) -> (steps, first-layer norms, last-layer norms) of the first seed
    for seed in result.seeds:
        for a in ACTIVATIONS:
            for i in INITS:
                seed_all(seed)
                net = deep_mlp(a, i, depth)
                norms[(a, i)].append(layer_gradient_norms(net, *batch))
                names = linear_layers(net)
                stats = GradientStats(layers=[names[0], names[-1]], every=10)
                h = fit(net, data, optimizer="sgd", lr=0.05, epochs=epochs, batch_size=32, seed=seed,
                        nan_guard=False, callbacks=[stats])
                if seed == result.seeds[0]:
                    during[(a, i)] = (stats.steps, stats.grad_norms[names[0]], stats.grad_norms[names[-1]])
                acc[(a, i)].append(h["val_accuracy"][-1] if all(math.isfinite(v) for v in h["loss"]) else 0.0)
                result.log(f"seed {seed} {a} {i}: first/last gradient {norms[(a, i)][-1][0] / norms[(a, i)][-1][-1]:.2e}, "
                           f"test accuracy {acc[(a, i)][-1]:.3f}")
    ratio = {k: [n[0] / n[-1] for n in v] for k, v in norms.items()}
    result.record("ratio_first_last", {f"{a}/{i}": r for (a, i), r in ratio.items()})
    result.record("accuracy", {f"{a}/{i}": v for (a, i), v in acc.items()})
    result.table(["activation", "initialisation", "‖∇θ‖ first layer", "‖∇θ‖ last layer", "ratio first / last",
                  f"test accuracy after {epochs} epochs"],
                 [[a, i, fmt([n[0] for n in norms[(a, i)]], ".2e"), fmt([n[-1] for n in norms[(a, i)]], ".2e"),
                   fmt(ratio[(a, i)], ".2e"), fmt(acc[(a, i)])] for a in ACTIVATIONS for i in INITS],
                 heading="Gradient norms at initialisation, and trainability")
    fig, axes = new_figure(13, 3.8, 1, 3)
    for ax, a in zip(axes, ACTIVATIONS):
        for i in INITS:
            arr = xp.asarray(norms[(a, i)])
            layers = xp.arange(1, arr.shape[1] + 1)
            ax.plot(layers, xp.exp(xp.log(arr).mean(0)), "o-", markersize=3, label=i)
        ax.set_yscale("log")
        ax.set_title(a)
        ax.set_xlabel("layer (1 = next to the input)")
        ax.grid(True, alpha=0.3)
        ax.legend()
    axes[0].set_ylabel("‖∂L/∂θ‖ at initialisation")
    result.figure("norms", fig, "Per-layer gradient norms at initialisation (geometric mean over the seeds).")
    fig, axes = new_figure(13, 3.8, 1, 3)
    for ax, a in zip(axes, ACTIVATIONS):
        for i in INITS:
            steps, first, last = during[(a, i)]
            ratio_t = [f / g if g > 0 else xp.nan for f, g in zip(first, last)]
            ax.plot(steps, ratio_t, label=i)
        ax.set_yscale("log")
        ax.set_title(a)
        ax.set_xlabel("batch")
        ax.grid(True, alpha=0.3)
        ax.legend()
    axes[0].set_ylabel("‖∇ first layer‖ / ‖∇ last layer‖")
    result.figure("training", fig, f"The first layer's gradient norm over the last layer's during training (seed "
                                   f"{result.seeds[0]}, every 10 batches, shendu.viz.GradientStats).")

    def gm(values):
        return math.exp(sum(math.log(v) for v in values) / len(values))

    sig = gm(ratio[("sigmoid", "Xavier")])
    tanh_x, relu_he = gm(ratio[("tanh", "Xavier")]), gm(ratio[("ReLU", "He")])
    vanishes = sig < 0.1
    healthy = 0.1 < tanh_x < 10 and 0.1 < relu_he < 10
    relu_big = gm([n[0] for n in norms[("ReLU", "N(0, 1)")]])
    sig_acc = float(xp.mean(acc[("sigmoid", "Xavier")]))
    result.conclude(
        "yes" if vanishes and healthy else "partly" if vanishes or healthy else "no",
        f"Through {depth} sigmoid layers (Xavier) the first layer's gradient is {sig:.1e} times the last layer's; "
        f"with tanh + Xavier the ratio is {tanh_x:.2g} and with ReLU + He {relu_he:.2g} (geometric means over the "
        f"seeds). After {epochs} epochs the sigmoid network reaches {100 * sig_acc:.1f} % test accuracy against "
        f"{100 * float(xp.mean(acc[('tanh', 'Xavier')])):.1f} % (tanh + Xavier) and "
        f"{100 * float(xp.mean(acc[('ReLU', 'He')])):.1f} % (ReLU + He). With unscaled N(0, 1) weights the ReLU "
        f"network's first-layer gradient has norm {relu_big:.1e} (the activations, and with them the gradients, "
        f"grow by about √(64/2) per layer: they explode) and it reaches "
        f"{100 * float(xp.mean(acc[('ReLU', 'N(0, 1)')])):.1f} %. "
        + ("The sigmoid's gradient vanishes, as claimed." if vanishes else "The sigmoid's gradient did not vanish "
                                                                          "by a factor 10 here.")
        + ("" if healthy else " The tanh/ReLU ratios are not within a factor 10 of 1."))
