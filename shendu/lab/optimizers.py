"""Experiment 2: the optimizers of shendu.optim on 2-D test functions and on a network.

Each optimizer minimises Rosenbrock's banana, Beale's function and a narrow quadratic valley from a
fixed start, with the learning rate that does best among a small grid (so that no optimizer loses
for a badly chosen step); the paths are drawn on the contour plots (and as an animated GIF). Then the
same optimizers, with their usual learning rates, train one MLP on the digits.
"""
from __future__ import annotations

import io
import math

from .. import nn, optim, tensor
from ..backend import xp
from . import experiment
from .common import curve_band, digits, seed_all
from .page import fmt, new_figure

OPTIMIZERS = {  # name -> (factory(params, lr), its usual learning rate on a network)
    "SGD": (lambda p, lr: optim.SGD(p, lr=lr), 0.1),
    "momentum": (lambda p, lr: optim.SGD(p, lr=lr, momentum=0.9), 0.02),
    "Nesterov": (lambda p, lr: optim.SGD(p, lr=lr, momentum=0.9, nesterov=True), 0.02),
    "Adagrad": (lambda p, lr: optim.Adagrad(p, lr=lr), 0.05),
    "RMSprop": (lambda p, lr: optim.RMSprop(p, lr=lr), 0.001),
    "Adadelta": (lambda p, lr: optim.Adadelta(p, lr=lr), 1.0),
    "Adam": (lambda p, lr: optim.Adam(p, lr=lr), 0.002),
}


def rosenbrock(x, y):
    """Rosenbrock's banana f = (1 − x)² + 100(y − x²)², minimum 0 at (1, 1); scalars, arrays or Tensors."""
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


def beale(x, y):
    """Beale's f = (1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)², minimum 0 at (3, 0.5)."""
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y ** 2) ** 2 + (2.625 - x + x * y ** 3) ** 2


def valley(x, y):
    """A narrow quadratic valley f = 0.05x² + 5y² (Hessian eigenvalues 0.1 and 10), minimum 0 at (0, 0)."""
    return 0.05 * x ** 2 + 5 * y ** 2


FUNCTIONS = {  # name -> (f, start, minimum, plot window (x0, x1, y0, y1))
    "Rosenbrock": (rosenbrock, (-1.2, 1.0), (1.0, 1.0), (-2.0, 2.0, -1.0, 3.0)),
    "Beale": (beale, (1.0, 1.4), (3.0, 0.5), (-0.5, 4.0, -1.5, 2.0)),
    "narrow valley": (valley, (-9.0, 1.0), (0.0, 0.0), (-10.0, 2.0, -2.0, 2.0)),
}


def descend(make, f, start, lr, steps):
    """Run ``make([p], lr)`` on f from ``start`` for ``steps`` steps; returns (path (steps + 1, 2), final f).
    A path that leaves every finite value (or f > 1e8) stops there, with final f = inf."""
    p = nn.Parameter(tensor(list(start), dtype="float64"))
    opt = make([p], lr)
    path = [list(start)]
    for _ in range(steps):
        opt.zero_grad()
        value = f(p[0], p[1])
        value.backward()
        opt.step()
        point = p.detach().numpy().tolist()
        if not all(math.isfinite(v) for v in point) or not float(f(*point)) < 1e8:
            return xp.asarray(path), math.inf
        path.append(point)
    return xp.asarray(path), float(f(*path[-1]))


def steps_to(path, f, tol):
    """The first step at which f falls below ``tol`` (None if never)."""
    values = [f(*pt) for pt in path]
    return next((i for i, v in enumerate(values) if v < tol), None)


def draw_paths(ax, name, paths, upto=None):
    """The contour plot of the function ``name`` with the optimizers' paths (their first ``upto`` points)."""
    f, start, best, (x0, x1, y0, y1) = FUNCTIONS[name]
    gx, gy = xp.meshgrid(xp.linspace(x0, x1, 200), xp.linspace(y0, y1, 200))
    ax.contour(gx, gy, xp.log1p(f(gx, gy)), levels=25, cmap="Greys", linewidths=0.6)
    for opt_name, path in paths.items():
        pts = path[:upto] if upto else path
        ax.plot(pts[:, 0], pts[:, 1], "-", linewidth=1.2, label=opt_name)
    ax.plot(*start, "ko", markersize=4)
    ax.plot(*best, "k*", markersize=10)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_title(name)


def gif(name, paths, frames):
    """An animated GIF (bytes) of the paths on ``name``'s contour plot growing step by step."""
    from PIL import Image

    longest = max(len(p) for p in paths.values())
    images = []
    for k in range(frames):
        upto = max(2, round((k + 1) / frames * longest))
        fig, ax = new_figure(5, 4)
        draw_paths(ax, name, paths, upto)
        ax.legend(fontsize=7, loc="upper right")
        ax.set_xlabel(f"step {upto - 1}")
        fig.canvas.draw()
        images.append(Image.frombytes("RGBA", fig.canvas.get_width_height(),
                                      bytes(fig.canvas.buffer_rgba())).convert("P", palette=Image.ADAPTIVE))
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=120, loop=0)
    return buf.getvalue()


@experiment("optimizers", "Optimizers on test functions and on a network",
            "Momentum speeds gradient descent along a narrow valley, where plain gradient descent must keep its "
            "step small enough for the steep direction and so crawls along the flat one; adaptive methods "
            "(Adagrad, RMSprop, Adadelta, Adam) rescale each coordinate.", order=2)
def run(result, quick):
    """The experiment registered above: trains, measures and fills ``result`` (a :class:`~shendu.lab.page.Result`);
    ``quick`` runs the reduced version of the test suite."""
    steps = 60 if quick else 500
    grid = [1e-3, 1e-2, 1e-1] if quick else [10.0 ** (e / 2) for e in range(-8, 1)]
    epochs = 2 if quick else 15
    result.setup(f"""
**Test functions.** Rosenbrock's f = (1 − x)² + 100(y − x²)² from (−1.2, 1), Beale's function from (1, 1.4) (minimum
at (3, 0.5)) and the narrow valley f = 0.05x² + 5y² (condition number 100) from (−9, 1). Each optimizer of
`shendu.optim` runs {steps} steps on the point as a `Parameter` (float64), once per learning rate of the grid
{', '.join(f'{g:.3g}' for g in grid)}; the table gives the learning rate with the lowest final f, that f, and the
first step at which f < 10⁻³. The paths are deterministic: no seeds.

**A network.** A 64–64–10 tanh MLP on the digits, {epochs} epochs, batch 32, each optimizer at a usual learning
rate ({', '.join(f'{n} {lr:g}' for n, (_, lr) in OPTIMIZERS.items())}; momentum 0.9), the same initialisation
for all within a seed.""")
    best_paths, rows, records = {}, [], {}
    for fname, (f, start, _, _) in FUNCTIONS.items():
        best_paths[fname] = {}
        for oname, (make, _) in OPTIMIZERS.items():
            tried = [(descend(make, f, start, lr, steps), lr) for lr in grid]
            (path, final), lr = min(tried, key=lambda t: (t[0][1], t[1]))
            best_paths[fname][oname] = path
            hit = steps_to(path, f, 1e-3) if math.isfinite(final) else None
            records[(fname, oname)] = (final, hit, lr)
            result.log(f"{fname} {oname}: lr {lr:.3g}, final f {final:.2e}, steps to 1e-3 {hit}")
    for oname in OPTIMIZERS:
        row = [oname]
        for fname in FUNCTIONS:
            final, hit, lr = records[(fname, oname)]
            row.append(f"lr {lr:.3g}: f = {final:.1e}, {'—' if hit is None else hit}")
        rows.append(row)
    result.record("final_f", {f"{k[0]}/{k[1]}": v[0] for k, v in records.items()})
    result.table(["optimizer"] + [f"{n}: best lr, final f, steps to f < 10⁻³" for n in FUNCTIONS], rows,
                 heading="The test functions",
                 note="— : f stayed above 10⁻³ within the steps.")
    fig, axes = new_figure(15, 4.4, 1, 3)
    for ax, fname in zip(axes, FUNCTIONS):
        draw_paths(ax, fname, best_paths[fname])
    axes[0].legend(fontsize=8)
    result.figure("paths", fig, "The paths of the seven optimizers (each at its best learning rate of the grid); "
                                "● start, ★ minimum.")
    if not quick:
        result.add_image("rosenbrock.gif", gif("Rosenbrock", best_paths["Rosenbrock"], 30),
                         "The same paths on Rosenbrock's function, step by step (animated GIF).")

    data = digits(flat=True)
    if quick:
        data = (data[0][:400], data[1][:400], data[2], data[3])
    acc, losses = {n: [] for n in OPTIMIZERS}, {n: [] for n in OPTIMIZERS}
    for seed in result.seeds:
        for oname, (make, lr) in OPTIMIZERS.items():
            seed_all(seed)
            net = nn.Sequential(nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 10))
            net.compile(make(list(net.parameters()), lr), metrics=["accuracy"])
            h = net.fit(data[0], data[1], epochs=epochs, batch_size=32, validation_data=(data[2], data[3]),
                        seed=seed, verbose=0).history
            acc[oname].append(h["val_accuracy"])
            losses[oname].append(h["loss"])
    result.record("network_accuracy", {n: [a[-1] for a in v] for n, v in acc.items()})
    result.table(["optimizer", "learning rate", "training loss after 1 epoch", f"after {epochs}",
                  f"test accuracy after {epochs}"],
                 [[n, f"{OPTIMIZERS[n][1]:g}", fmt([v[0] for v in losses[n]]), fmt([v[-1] for v in losses[n]]),
                   fmt([a[-1] for a in acc[n]])] for n in OPTIMIZERS], heading="A network")
    fig, ax = new_figure(6.4, 4)
    for n in OPTIMIZERS:
        curve_band(ax, losses[n], n)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    result.figure("network", fig, "Training loss of the MLP on the digits, mean ± s.d. over the seeds.")

    sgd_hit, mom_hit = records[("narrow valley", "SGD")][1], records[("narrow valley", "momentum")][1]
    nes_hit = records[("narrow valley", "Nesterov")][1]
    def crossings(name):
        y = best_paths["narrow valley"][name][:, 1]
        return int((xp.diff(xp.sign(y[abs(y) > 1e-12])) != 0).sum())

    def steps(h):
        return "not within the run" if h is None else f"in {h} steps"

    best_momentum = min((h for h in (mom_hit, nes_hit) if h is not None), default=None)
    faster = best_momentum is not None and (sgd_hit is None or best_momentum < sgd_hit)
    damped = crossings("Nesterov") < crossings("momentum")
    ros = {o: records[("Rosenbrock", o)][0] for o in OPTIMIZERS}
    result.conclude(
        "yes" if faster else "no",
        f"In the narrow valley plain SGD at its best learning rate gets f below 10⁻³ {steps(sgd_hit)}, momentum "
        f"{steps(mom_hit)} and Nesterov {steps(nes_hit)}: SGD's step must stay below 2/λ_max = 0.2 for the "
        f"steep direction and so crawls along the flat one (λ = 0.1), while momentum accumulates the consistent "
        f"component. Their paths cross the valley floor y = 0 {crossings('SGD')} (SGD), {crossings('momentum')} "
        f"(momentum) and {crossings('Nesterov')} (Nesterov) times"
        + (": with β = 0.9 heavy-ball momentum oscillates across the valley, Nesterov's look-ahead damps that. "
           if damped else ". ")
        + f"On Rosenbrock the best final f is "
        f"{min(ros.values()):.1e} ({min(ros, key=ros.get)}) against {ros['SGD']:.1e} for SGD. "
        + ("Momentum (heavy-ball or Nesterov) is faster, as claimed." if faster else
           "Momentum was not faster here."))
