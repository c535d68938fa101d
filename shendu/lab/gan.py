"""Experiment 14: the training dynamics of a GAN on a 2-D mixture of eight Gaussians (the zoo's MLP GAN)."""
from __future__ import annotations

import math

from ..backend import xp
from ..models.gan import GAN
from ..training.callbacks import Callback
from . import experiment
from .common import seed_all
from .page import fmt, new_figure

MODES, RADIUS, SIGMA = 8, 0.35, 0.02
CENTRES = 0.5 + RADIUS * xp.stack([xp.cos(2 * math.pi * xp.arange(MODES) / MODES),
                                   xp.sin(2 * math.pi * xp.arange(MODES) / MODES)], axis=1)


def ring(n, rng):
    """n points (n, 1, 1, 2) in [0, 1]: a mode of the ring drawn uniformly, plus N(0, SIGMA²) noise."""
    pts = CENTRES[rng.integers(0, MODES, n)] + SIGMA * rng.standard_normal((n, 2))
    return pts.clip(0, 1).astype(xp.float32).reshape(n, 1, 1, 2)


def coverage(points):
    """(modes covered, fraction of good samples): a sample is good within 3σ of a centre; a mode is covered when
    it holds at least a quarter of its fair share of all the samples (len / MODES / 4 good samples)."""
    d = xp.linalg.norm(points.reshape(-1, 2)[:, None, :] - CENTRES[None], axis=2)
    near = d.min(1) < 3 * SIGMA
    counts = xp.bincount(d.argmin(1)[near], minlength=MODES)
    return int((counts >= 0.25 * len(points) / MODES).sum()), float(near.mean())


class Watch(Callback):
    """Samples the generator after every epoch: the modes it covers, its good fraction, and a few snapshots."""

    def __init__(self, gan, snapshot_epochs):
        self.gan, self.snapshot_epochs = gan, set(snapshot_epochs)
        self.modes, self.good, self.snapshots = [], [], {}

    def on_epoch_end(self, epoch, logs=None):
        """Draw 1,000 samples and score them."""
        pts = self.gan.sample(1000)
        modes, good = coverage(pts)
        self.modes.append(modes)
        self.good.append(good)
        if epoch + 1 in self.snapshot_epochs:
            self.snapshots[epoch + 1] = pts.reshape(-1, 2)


@experiment("gan", "A GAN's training dynamics",
            "A GAN's two losses do not fall like a supervised loss: the discriminator and the generator play a game "
            "whose equilibrium has D(x) = D(G(z)) = ½ (discriminator loss 2 ln 2 ≈ 1.386), and the generator may "
            "cover only some modes of the data (mode collapse).", order=14)
def run(result, quick):
    """The experiment registered above: trains, measures and fills ``result`` (a :class:`~shendu.lab.page.Result`);
    ``quick`` runs the reduced version of the test suite."""
    n, epochs = (1000, 3) if quick else (4000, 40)
    snaps = sorted({1, max(1, epochs // 4), max(1, epochs // 2), epochs})
    result.setup(f"""
{n} points of a ring of {MODES} Gaussians (σ = {SIGMA}, radius {RADIUS}, in the unit square), as 1×1×2 "images" for
the zoo's MLP GAN (`shendu.models.gan.GAN`, latent 8, hidden 64, LeakyReLU, tanh output; its `train_step`: one
discriminator step, then one generator step with the non-saturating loss), Adam (10⁻³, β₁ = 0.5) for each
player, batch 64, {epochs} epochs. After every epoch 1,000 samples are drawn: a sample is *good* within 3σ of a
centre, and a mode is *covered* when at least 1000 / 8 / 4 ≈ 31 good samples fall next to it.""")
    hist, watches = [], []
    for seed in result.seeds:
        rng = xp.random.default_rng(seed)
        data = ring(n, rng)
        seed_all(seed)
        gan = GAN((1, 1, 2), latent=8, hidden=64)
        gan.compile(GAN.optimizers_spec(lr=1e-3))
        watch = Watch(gan, snaps)
        h = gan.fit(data, epochs=epochs, batch_size=64, seed=seed, verbose=0, callbacks=[watch]).history
        hist.append(h)
        watches.append(watch)
        result.log(f"seed {seed}: d_loss {h['d_loss'][-1]:.3f} g_loss {h['g_loss'][-1]:.3f} modes {watch.modes[-1]}")
    keys = ("d_loss", "g_loss", "d_real", "d_fake")
    final = {k: [h[k][-1] for h in hist] for k in keys}
    result.record("final", final)
    result.record("modes", [w.modes[-1] for w in watches])
    result.record("good", [w.good[-1] for w in watches])
    result.table(["after", "discriminator loss", "generator loss", "D(x)", "D(G(z))", "modes covered (of 8)",
                  "good samples"],
                 [[f"epoch {e}", *(fmt([h[k][e - 1] for h in hist]) for k in keys),
                   fmt([w.modes[e - 1] for w in watches], ".1f"), fmt([w.good[e - 1] for w in watches], ".2f")]
                  for e in snaps], heading="The two players over training",
                 note="The losses and D's outputs are means over each epoch's batches (`fit`'s logs).")
    fig, axes = new_figure(13, 3.6, 1, 3)
    x = range(1, epochs + 1)
    for k, label in (("d_loss", "discriminator"), ("g_loss", "generator")):
        axes[0].plot(x, xp.mean([h[k] for h in hist], 0), label=label)
    axes[0].axhline(2 * math.log(2), color="grey", linestyle=":", label="2 ln 2")
    axes[0].axhline(math.log(2), color="grey", linestyle="--", linewidth=0.8, label="ln 2")
    axes[0].set_ylabel("loss")
    for k, label in (("d_real", "D(x)"), ("d_fake", "D(G(z))")):
        axes[1].plot(x, xp.mean([h[k] for h in hist], 0), label=label)
    axes[1].axhline(0.5, color="grey", linestyle=":")
    axes[1].set_ylabel("discriminator output")
    axes[2].plot(x, xp.mean([w.modes for w in watches], 0), label="modes covered")
    axes[2].plot(x, 8 * xp.mean([w.good for w in watches], 0), label="good fraction × 8")
    axes[2].set_ylim(0, 8.5)
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    result.figure("dynamics", fig, "Losses, the discriminator's outputs and the generator's coverage per epoch "
                                   "(means over the seeds).")
    fig, axes = new_figure(3 * len(snaps), 3, 1, len(snaps))
    for ax, e in zip(xp.atleast_1d(axes), snaps):
        pts = watches[0].snapshots[e]
        ax.scatter(CENTRES[:, 0], CENTRES[:, 1], s=60, c="none", edgecolors="red")
        ax.scatter(pts[:, 0], pts[:, 1], s=2, alpha=0.4)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_aspect("equal")
        ax.set_title(f"epoch {e}", fontsize=9)
    result.figure("samples", fig, f"1,000 generated points after some epochs (seed {result.seeds[0]}); red circles: "
                                  "the centres of the eight modes.")
    d_loss, d_real, d_fake = (float(xp.mean(final[k])) for k in ("d_loss", "d_real", "d_fake"))
    near_eq = abs(d_loss - 2 * math.log(2)) < 0.3 and 0.3 < d_real < 0.7 and 0.3 < d_fake < 0.7
    modes = [w.modes[-1] for w in watches]
    good = float(xp.mean([w.good[-1] for w in watches]))
    result.conclude(  # near ½ is also where two untrained players start: it counts once G has learned the data
        "yes" if near_eq and good > 0.5 else "partly" if near_eq or 0.2 < d_fake < 0.8 else "no",
        f"After {epochs} epochs the discriminator's loss is {fmt(final['d_loss'])} (equilibrium 2 ln 2 ≈ 1.386), "
        f"D(x) = {fmt(final['d_real'])} and D(G(z)) = {fmt(final['d_fake'])}: "
        + ("the game sits near its equilibrium rather than driving either loss to zero. " if near_eq else
           "the game is not near its equilibrium at this point. ")
        + f"{100 * good:.0f} % of the generated points are good"
        + (" — the generator has learned the ring while D stays unsure" if good > 0.5 else
           " — too few for the balance to mean that the generator has learned the data (untrained players "
           "start near ½ too)")
        + f". The generator covers {', '.join(map(str, modes))} of the 8 modes (per seed)"
        + (" — some modes are missing: mode collapse, as the articles warn." if min(modes) < MODES else
           " — no mode collapse in these runs.")
        + " The curves show the players' losses moving against each other, not a steady descent.")
