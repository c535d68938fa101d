"""Experiment 13: what an attention layer looks at — the attention map of shendu's MultiheadAttention trained to
reverse a sequence, where the right alignment is known (position i must read position T − 1 − i)."""
from __future__ import annotations

from .. import nn, no_grad, tensor
from ..backend import xp
from . import experiment
from .common import seed_all
from .page import fmt, new_figure

VOCAB = 10


class Reverser(nn.Module):
    """Token embedding + learned positions → one self-attention layer (``nn.MultiheadAttention``, one head,
    batch first) → a Linear read-out per position.

    Shape: tokens (N, T) int -> logits (N, VOCAB, T) (class axis 1, for ``cross_entropy``); ``attend(tokens)``
    gives the attention weights (N, T, T).
    """

    def __init__(self, length, width=32):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, width)
        self.position = nn.LearnedPositionalEmbedding(length, width)
        self.attention = nn.MultiheadAttention(width, 1, batch_first=True)
        self.head = nn.Linear(width, VOCAB)

    def attend(self, tokens):
        """(output (N, T, width), attention weights (N, T, T)) of the attention layer for tokens (N, T)."""
        h = self.position(self.embed(tokens))
        return self.attention(h, h, h)

    def forward(self, tokens):
        """Logits (N, VOCAB, T) for tokens (N, T)."""
        out, _ = self.attend(tokens)
        return self.head(out).transpose(1, 2)


def mirror_mass(weights):
    """The mean attention weight that position i puts on position T − 1 − i (1 = perfect alignment)."""
    t = weights.shape[-1]
    return float(weights[:, xp.arange(t), t - 1 - xp.arange(t)].mean())


@experiment("attention", "Attention maps: where attention looks",
            "An attention layer learns where to look: trained to reverse a sequence, its attention weights "
            "concentrate on the one position each output needs (the anti-diagonal), not spread over the input.",
            order=13)
def run(result, quick):
    """The experiment registered above: trains, measures and fills ``result`` (a :class:`~shendu.lab.page.Result`);
    ``quick`` runs the reduced version of the test suite."""
    length, n_train, epochs = (6, 500, 3) if quick else (8, 3000, 30)
    result.setup(f"""
Sequences of T = {length} random tokens out of {VOCAB}; the target at position i is the token at position
T − 1 − i (the sequence reversed). The model: a token embedding plus learned positional embeddings (width 32),
**one** `nn.MultiheadAttention` layer with one head (batch first), and a Linear read-out at every position — the
read-out sees only the attention's output, so everything it knows about other positions comes through the
attention weights. Adam (learning rate 10⁻²), batch 64, {epochs} epochs on {n_train} sequences; 500 fresh test
sequences. Measured: the accuracy per token (chance {100 / VOCAB:.0f} %) and the mean attention weight on the mirrored
position (uniform attention gives 1/T = {1 / length:.3f}).""")
    before, after, acc, maps = [], [], [], None
    for seed in result.seeds:
        rng = xp.random.default_rng(seed)
        xtr = rng.integers(0, VOCAB, (n_train, length))
        xte = rng.integers(0, VOCAB, (500, length))
        seed_all(seed)
        net = Reverser(length)
        with no_grad():
            w0 = net.attend(tensor(xte))[1].numpy()
        net.compile("adam", lr=1e-2)
        net.fit(xtr, xtr[:, ::-1].copy(), epochs=epochs, batch_size=64, seed=seed, verbose=0)
        net.eval()
        with no_grad():
            w1 = net.attend(tensor(xte))[1].numpy()
            pred = net(tensor(xte)).numpy().argmax(1)
        before.append(mirror_mass(w0))
        after.append(mirror_mass(w1))
        acc.append(float((pred == xte[:, ::-1]).mean()))
        if maps is None:
            maps = (w0[0], w1[0], w1.mean(0), xte[0])
        result.log(f"seed {seed}: accuracy {acc[-1]:.3f}, mirrored attention {after[-1]:.3f}")
    result.record("accuracy", acc)
    result.record("mirror_mass", {"before": before, "after": after})
    result.table(["", "attention on the mirrored position", "token accuracy"],
                 [["at initialisation", fmt(before), "—"], ["after training", fmt(after), fmt(acc)],
                  ["uniform attention / chance", f"{1 / length:.3f}", f"{1 / VOCAB:.3f}"]],
                 heading="Where the attention looks")
    fig, axes = new_figure(12, 3.8, 1, 3)
    titles = ("one test sequence, at initialisation", "the same sequence, trained", "mean over the test set, trained")
    for ax, m, title in zip(axes, maps[:3], titles):
        im = ax.imshow(m, cmap="viridis", vmin=0, vmax=1)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("key position (input)")
        ax.set_ylabel("query position (output)")
        ax.set_xticks(range(length))
        ax.set_yticks(range(length))
    axes[0].set_xticklabels([str(t) for t in maps[3]])
    axes[1].set_xticklabels([str(t) for t in maps[3]])
    fig.colorbar(im, ax=axes, shrink=0.8, label="attention weight")
    result.figure("maps", fig, f"Attention weights (rows: outputs, columns: inputs; the first two panels label the "
                               f"columns with the tokens of the sequence). Seed {result.seeds[0]}.")
    mass = float(xp.mean(after))
    result.conclude(
        "yes" if mass > 0.5 else "partly" if mass > 2 / length else "no",
        f"After training each output puts {fmt(after)} of its attention on the mirrored input position (at "
        f"initialisation {fmt(before)}, uniform {1 / length:.3f}), and {100 * float(xp.mean(acc)):.1f} % of the tokens "
        f"are right. " + ("The map is the anti-diagonal: the layer has learned where to look, as claimed." if mass > 0.5
                          else "The attention has not concentrated on the right position at this scale."))
