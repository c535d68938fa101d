"""X or O? A convolutional network from start to finish, small enough to read in one sitting.

The task of Brandon Rohrer's walkthrough "How do convolutional neural networks
work?" (2016): tell a drawn X from a drawn O, whatever its position, tilt,
stroke width and noise. Five steps:

1. data: draw 2,500 images of 28×28 pixels with ``shendu.data.make_xo``;
2. model: convolution (4 filters of 5×5) → ReLU → 2×2 max-pool → dense layer of 2 votes,
   ``shendu.models.xo_cnn()``, 1,674 parameters;
3. training: mini-batches, cross-entropy loss, ``loss.backward()``, Adam steps;
4. evaluation on images the network never saw;
5. a look inside: what the four filters learned and where they fire
   (runs/xo_walkthrough/xo_feature_maps.png, or ``--figure PATH``; docs/img holds a copy).

Run:  python examples/xo_walkthrough.py [--figure PATH]   (a few seconds; writes the figure)
"""
import argparse
import pathlib

import numpy as np

import shendu
import shendu.functional as F
from shendu import models, optim
from shendu.data import DataLoader, TensorDataset, make_xo

FIGURE = pathlib.Path("runs") / "xo_walkthrough" / "xo_feature_maps.png"  # under the working directory, untracked


def main(n_train=2000, n_test=500, epochs=3, batch_size=32, lr=0.01, seed=0, figure=FIGURE, verbose=True):
    """Train the X-vs-O network; returns (test accuracy, the trained network)."""
    say = print if verbose else (lambda *a: None)
    shendu.manual_seed(seed)

    # 1. Data: images (N, 1, 28, 28) in [0, 1], labels 0 = O, 1 = X.
    x, y = make_xo(n_train + n_test, size=28, seed=seed)
    train = TensorDataset(x[:n_train], y[:n_train])
    x_test, y_test = shendu.tensor(x[n_train:]), y[n_train:]

    # 2. Model: conv → ReLU → max-pool → dense.
    net = models.xo_cnn(num_classes=2)
    if verbose:
        net.summary((1, 28, 28))

    # 3. Training: for each mini-batch, forward, loss, backward, one optimizer step.
    optimizer = optim.Adam(net.parameters(), lr=lr)
    for epoch in range(epochs):
        net.train()
        total, batches = 0.0, 0
        for xb, yb in DataLoader(train, batch_size=batch_size, shuffle=True, seed=seed + epoch):
            loss = F.cross_entropy(net(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total, batches = total + loss.item(), batches + 1
        say(f"epoch {epoch + 1}: mean training loss {total / batches:.4f}")

    # 4. Evaluation: the class with the larger vote, on unseen images.
    net.eval()
    with shendu.no_grad():
        predicted = net(x_test).numpy().argmax(axis=1)
    accuracy = float((predicted == y_test).mean())
    say(f"test accuracy: {accuracy:.3f} on {n_test} new images")

    # 5. A look inside.
    if figure is not None:
        plot_feature_maps(net, x[n_train:], y_test, figure)
        say(f"feature maps written to {figure}")
    return accuracy, net


def plot_feature_maps(net, images, labels, path):
    """Draw the learned filters and, for one X and one O, the maps after conv → ReLU and after pooling."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples = [int(np.flatnonzero(labels == 1)[0]), int(np.flatnonzero(labels == 0)[0])]  # an X, an O
    x = shendu.tensor(images[samples])
    with shendu.no_grad():
        activated = net.relu(net.conv(x)).numpy()    # (2, 4, 28, 28): where each filter matches
        pooled = net.pool(net.relu(net.conv(x))).numpy()   # (2, 4, 14, 14): what the dense layer sees
    filters = net.conv.weight.numpy()[:, 0]           # (4, 5, 5)
    k = filters.shape[0]

    fig, axes = plt.subplots(5, k + 1, figsize=(1.45 * (k + 1), 7.4))
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 0].set_axis_off()
    axes[0, 0].text(0.5, 0.5, "learned\n5×5 filters", ha="center", va="center", fontsize=9)
    for j in range(k):
        lim = np.abs(filters[j]).max()
        axes[0, j + 1].imshow(filters[j], cmap="RdBu_r", vmin=-lim, vmax=lim)
        axes[0, j + 1].set_title(f"filter {j}", fontsize=9)
    for i, name in enumerate(("X", "O")):
        row = 1 + 2 * i
        axes[row, 0].imshow(images[samples[i], 0], cmap="gray_r", vmin=0, vmax=1)
        axes[row, 0].set_title(f"input: {name}", fontsize=9)
        axes[row + 1, 0].set_axis_off()
        for j in range(k):
            axes[row, j + 1].imshow(activated[i, j], cmap="magma")
            axes[row + 1, j + 1].imshow(pooled[i, j], cmap="magma")
        axes[row, 1].set_ylabel("conv+ReLU", fontsize=8)
        axes[row + 1, 1].set_ylabel("max-pool", fontsize=8)
    fig.suptitle("X or O: what the four filters respond to", fontsize=10)
    fig.tight_layout()
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=72, pil_kwargs={"optimize": True})
    plt.close(fig)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--figure", default=FIGURE, help=f"where to write the feature maps (default {FIGURE})")
    main(figure=p.parse_args().figure)
