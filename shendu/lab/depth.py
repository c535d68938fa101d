"""Experiment 7: depth — plain networks degrade as they get deeper, residual ones do not (He et al. 2015, Fig. 1/6).

The networks are the CIFAR ResNets of the zoo (:class:`shendu.models.resnet.CifarResNet`: a 3×3 stem, three
stages of n blocks, widths w, 2w, 4w, global average pooling, one linear layer; depth 6n + 2) at a reduced width,
built from the zoo's :class:`~shendu.models.resnet.BasicBlock` and option-A shortcut; the plain network is the same
stack with the shortcuts removed (``PlainBlock``), exactly as in the paper's comparison.
"""
from __future__ import annotations

from .. import nn
from ..backend import xp
from ..models.resnet import BasicBlock, ZeroPadShortcut, conv3x3
from . import experiment
from .common import curve_band, fit, image_set, seed_all
from .page import fmt, new_figure


class PlainBlock(BasicBlock):
    """A :class:`BasicBlock` without its shortcut: y = relu(bn2(conv2(relu(bn1(conv1(x)))))).

    Shape: input (N, inplanes, H, W) -> output (N, planes, ⌈H/stride⌉, ⌈W/stride⌉).
    """

    def forward(self, x):
        """relu(bn2(conv2(relu(bn1(conv1(x)))))): the block without ``+ x``."""
        return self.relu(self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x))))))


def cifar_style(depth, residual, width=8, in_channels=1, num_classes=10):
    """The 6n + 2-layer CIFAR network of He et al. at base width ``width``, residual or plain."""
    n = (depth - 2) // 6
    block = BasicBlock if residual else PlainBlock
    layers = [conv3x3(in_channels, width), nn.BatchNorm2d(width), nn.ReLU()]
    planes_in = width
    for stage, planes in enumerate((width, 2 * width, 4 * width)):
        stride = 1 if stage == 0 else 2
        shortcut = ZeroPadShortcut(planes_in, planes, stride) if residual and (stride != 1 or planes_in != planes) \
            else None
        layers.append(block(planes_in, planes, stride, shortcut))
        layers += [block(planes, planes) for _ in range(n - 1)]
        planes_in = planes
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(4 * width, num_classes))


def halve(x):
    """2×2 average pooling of (N, C, H, W) images (28×28 → 14×14), to make the deep networks affordable."""
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).mean(axis=(3, 5))


@experiment("depth", "Depth: plain networks vs ResNets",
            "Stacking more layers on a plain network makes its training error worse, not better (degradation), "
            "while residual networks of the same depth keep improving.", order=7)
def run(result, quick):
    """The experiment registered above: trains, measures and fills ``result`` (a :class:`~shendu.lab.page.Result`);
    ``quick`` runs the reduced version of the test suite."""
    depths = (8, 14) if quick else (8, 20, 32)
    width, epochs, n_train = (4, 2, 300) if quick else (8, 6, 500)
    label, xtr, ytr, xte, yte = image_set("fashion_mnist", n_train, 1000, quick)
    if xtr.shape[-1] == 28:
        xtr, xte = halve(xtr), halve(xte)
        label += ", averaged down to 14×14"
    result.setup(f"""
{label}: {len(xtr)} training and {len(xte)} test images. He et al.'s CIFAR networks (depth 6n + 2: a 3×3
convolution, three stages of n two-convolution blocks with batch norm, widths {width}, {2 * width}, {4 * width}
— a quarter or less of the paper's 16, 32, 64 —, global average pooling, a linear layer) of depth
{', '.join(map(str, depths))}; the ResNet uses the zoo's `BasicBlock` and option-A (zero-padding) shortcuts, the
plain network is the same stack without the shortcuts. SGD with momentum 0.9, learning rate 0.05, batch 32,
{epochs} epochs; the training loss is the running mean over each epoch (`fit`'s), the test error is measured after
each epoch.""")
    hist = {(d, r): {"loss": [], "val_accuracy": []} for d in depths for r in (False, True)}
    for seed in result.seeds:
        for d in depths:
            for residual in (False, True):
                seed_all(seed)
                net = cifar_style(d, residual, width)
                h = fit(net, (xtr, ytr, xte, yte), optimizer="sgd", lr=0.05, epochs=epochs, batch_size=32,
                        seed=seed, optimizer_options={"momentum": 0.9}, nan_guard=False)
                hist[(d, residual)]["loss"].append(h["loss"])
                hist[(d, residual)]["val_accuracy"].append(h["val_accuracy"])
                result.log(f"seed {seed} depth {d} {'residual' if residual else 'plain'}: loss {h['loss'][-1]:.3f} "
                           f"test accuracy {h['val_accuracy'][-1]:.3f}")
    final = {k: [ls[-1] for ls in v["loss"]] for k, v in hist.items()}
    err = {k: [1 - a[-1] for a in v["val_accuracy"]] for k, v in hist.items()}
    result.record("final_loss", {f"{'res' if r else 'plain'}{d}": v for (d, r), v in final.items()})
    result.record("test_error", {f"{'res' if r else 'plain'}{d}": v for (d, r), v in err.items()})
    result.table(["depth", "training loss, plain", "training loss, ResNet", "test error, plain", "test error, ResNet"],
                 [[str(d), fmt(final[(d, False)]), fmt(final[(d, True)]), fmt(err[(d, False)]),
                   fmt(err[(d, True)])] for d in depths], heading=f"After {epochs} epochs")
    fig, axes = new_figure(10, 3.8, 1, 2)
    for ax, residual in zip(axes, (False, True)):
        for d in depths:
            curve_band(ax, hist[(d, residual)]["loss"], f"{'ResNet' if residual else 'plain'}-{d}")
        ax.set_title("ResNet" if residual else "plain")
        ax.set_xlabel("epoch")
        ax.set_ylabel("training loss")
        ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        ax.legend()
    result.figure("training", fig, "Training loss per epoch of the plain networks (left) and the ResNets (right), "
                                   "mean ± s.d. over the seeds: the paper's Figure 6 at reduced scale.")

    def m(k):
        return float(xp.mean(final[k]))

    shallow, deep = depths[0], depths[-1]
    degrades = m((deep, False)) > m((shallow, False))
    res_ok = m((deep, True)) <= m((shallow, True)) * 1.05
    gap_deep = m((deep, False)) - m((deep, True))
    result.conclude(
        "yes" if degrades and res_ok else "partly" if degrades or gap_deep > 0 else "no",
        f"After {epochs} epochs the plain network's training loss is {fmt(final[(shallow, False)])} at depth "
        f"{shallow} and {fmt(final[(deep, False)])} at depth {deep}"
        + (" — deeper is worse: degradation" if degrades else " — no degradation at this scale") +
        f"; the ResNet's is {fmt(final[(shallow, True)])} and {fmt(final[(deep, True)])}"
        + (" (the deeper one is as good or better)" if res_ok else " (the deeper one is worse too)")
        + f". At depth {deep} the shortcuts lower the training loss by {gap_deep:.3f}. This is a reduced version "
        f"(width {width}, {len(xtr)} images, {epochs} epochs) of the paper's 20/56-layer CIFAR-10 runs.")
