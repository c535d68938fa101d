"""Experiment 11: LeNet-5 as published in 1998 against its modern form (ReLU, max-pooling)."""
from __future__ import annotations

import time

from ..models import get_model
from . import experiment
from .augmentation import pad_to_32
from .common import fit, image_set, loss_accuracy_figure, seed_all
from .page import fmt

VARIANTS = {"classic (1998)": True, "modern": False}


@experiment("lenet", "LeNet-5: the 1998 network vs the modern one",
            "Replacing LeNet-5's scaled tanh and trainable sub-sampling by ReLU and max-pooling (the modern form) "
            "makes it train faster and at least as accurately.", order=11)
def run(result, quick):
    """The experiment registered above: trains, measures and fills ``result`` (a :class:`~shendu.lab.page.Result`);
    ``quick`` runs the reduced version of the test suite."""
    n_train, n_test, epochs = (200, 360, 2) if quick else (1000, 1000, 10)
    label, xtr, ytr, xte, yte = image_set("mnist", n_train, n_test, quick)
    xtr, xte = pad_to_32(xtr), pad_to_32(xte)
    result.setup(f"""
{label}: {len(xtr)} training and {len(xte)} test images, zero-padded to 32×32. The zoo's two LeNet-5s:
`get_model("lenet5", classic=True)` — the paper's network: 1.7159·tanh(2a/3) units, trainable 2×2 sub-sampling
(a coefficient and a bias per map), C3's partial connection table, the paper's uniform ±2.4/fan-in initialisation
(its RBF output replaced by a linear layer for cross-entropy) — and `get_model("lenet5")`, the modern form: ReLU,
max-pooling, full C3, PyTorch's default initialisation. Both trained with Adam (learning rate 10⁻³, batch 32) for
{epochs} epochs, the same data order within a seed. (With SGD and momentum at 0.01–0.1 the classic network barely
moves in a few epochs: its ±2.4/fan-in weights and tanh units start with tiny gradients; Adam's per-parameter step
gives both networks a fair start.)""")
    hist = {v: {"loss": [], "val_accuracy": [], "seconds": []} for v in VARIANTS}
    for seed in result.seeds:
        for name, classic in VARIANTS.items():
            seed_all(seed)
            net = get_model("lenet5", num_classes=10, classic=classic)
            t0 = time.perf_counter()
            h = fit(net, (xtr, ytr, xte, yte), optimizer="adam", lr=1e-3, epochs=epochs, batch_size=32, seed=seed)
            hist[name]["seconds"].append(time.perf_counter() - t0)
            hist[name]["loss"].append(h["loss"])
            hist[name]["val_accuracy"].append(h["val_accuracy"])
            result.log(f"seed {seed} {name}: test accuracy {h['val_accuracy'][-1]:.3f}")
    result.record("accuracy", {v: [a[-1] for a in h["val_accuracy"]] for v, h in hist.items()})
    result.table(["LeNet-5", "test accuracy after 1 epoch", f"after {epochs}", "training loss after 1 epoch",
                  f"after {epochs}", "seconds (whole run, loaded machine)"],
                 [[v, fmt([a[0] for a in h["val_accuracy"]]), fmt([a[-1] for a in h["val_accuracy"]]),
                   fmt([ls[0] for ls in h["loss"]]), fmt([ls[-1] for ls in h["loss"]]), fmt(h["seconds"], ".0f")]
                  for v, h in hist.items()], heading="Classic vs modern")
    result.figure("curves", loss_accuracy_figure(hist), "Training loss and test accuracy per epoch (mean ± s.d. over the seeds).")

    def mean(v, key, i):
        return sum(a[i] for a in hist[v][key]) / len(result.seeds)

    c, m = "classic (1998)", "modern"
    faster = mean(m, "loss", 0) < mean(c, "loss", 0)
    as_good = mean(m, "val_accuracy", -1) >= mean(c, "val_accuracy", -1) - 0.005
    result.conclude(
        "yes" if faster and as_good else "partly" if faster or as_good else "no",
        f"After one epoch the modern network's training loss is {mean(m, 'loss', 0):.3f} against "
        f"{mean(c, 'loss', 0):.3f} for the classic one, and its test accuracy {100 * mean(m, 'val_accuracy', 0):.1f} % "
        f"against {100 * mean(c, 'val_accuracy', 0):.1f} %; after {epochs} epochs "
        f"{100 * mean(m, 'val_accuracy', -1):.1f} % against {100 * mean(c, 'val_accuracy', -1):.1f} %. "
        + ("The modern form trains faster and is at least as accurate, as claimed." if faster and as_good else
           "The modern form trains faster but ends less accurate here." if faster else
           "The modern form does not train faster here."))
