"""Experiment 10: grid, random and TPE hyperparameter search with the same budget (shendu.tune)."""
from __future__ import annotations

from .. import nn
from ..backend import xp
from . import experiment
from .common import digits, fit, seed_all
from .page import fmt, new_figure

GRID = {"lr": [0.001, 0.0056, 0.032, 0.18, 1.0], "hidden": [8, 16, 64, 128]}
RANGES = {"lr": ("log", 1e-3, 1.0), "hidden": ("intlog", 8, 128)}


def objective_for(data, epochs, values):
    """The objective of every search: train a 64–hidden–10 ReLU MLP with SGD at ``lr`` (initialisation seed 0, so
    that a configuration always scores the same) and return the last epoch's validation accuracy; each value is
    appended to ``values`` in trial order."""
    def objective(params, trial):
        seed_all(0)
        net = nn.Sequential(nn.Linear(64, params["hidden"]), nn.ReLU(), nn.Linear(params["hidden"], 10))
        h = fit(net, data, optimizer="sgd", lr=params["lr"], epochs=epochs, batch_size=32, seed=0, nan_guard=False)
        value = h["val_accuracy"][-1]
        values.append(value)
        return value
    return objective


@experiment("search", "Hyperparameter search: grid vs random vs TPE",
            "For the same budget of trials, random search finds better hyperparameters than a grid (it tries more "
            "distinct values of the parameter that matters), and a model-based search such as TPE does better "
            "still by concentrating its trials where the good ones were.", order=10)
def run(result, quick):
    """The experiment registered above: trains, measures and fills ``result`` (a :class:`~shendu.lab.page.Result`);
    ``quick`` runs the reduced version of the test suite."""
    from .. import tune

    budget = 4 if quick else 20
    epochs = 2 if quick else 6
    xtr, ytr, _, _ = digits(flat=True)
    n_val = 337
    data = (xtr[:-n_val], ytr[:-n_val], xtr[-n_val:], ytr[-n_val:])
    if quick:
        data = (data[0][:300], data[1][:300], data[2], data[3])
    result.setup(f"""
Two hyperparameters of a 64–hidden–10 ReLU MLP trained with plain SGD on the digits for {epochs} epochs: the
learning rate (it matters a lot) and the hidden width (it matters little). The score of a trial is the validation
accuracy ({len(data[0])} training digits, the last {n_val} of the training split for validation; the test split is
not used), with the same initialisation for every trial. Budget: {budget} trials for each sampler of
`shendu.tune.search` (Optuna; no pruning):

* **grid**: learning rate in {GRID['lr']} × width in {GRID['hidden']} (20 points, visited in a random order);
* **random**: learning rate log-uniform in [10⁻³, 1], width log-uniform in [8, 128];
* **TPE**: the same ranges, tree-structured Parzen estimators (Optuna's default; its first 10 trials are drawn at
  random, the very points the random sampler draws with the same seed, so the two differ only after trial 10).

Each search is repeated with the sampler seeds {', '.join(map(str, result.seeds))}; the curve is the best score so
far against the number of trials.""")
    best_so_far = {s: [] for s in ("grid", "random", "tpe")}
    for seed in result.seeds:
        for sampler in best_so_far:
            values = []
            space = GRID if sampler == "grid" else RANGES
            tune.search(objective_for(data, epochs, values), space, n_trials=budget, sampler=sampler, pruner="none",
                        storage=":memory:", seed=seed, verbose=0)
            best_so_far[sampler].append(list(xp.maximum.accumulate(xp.asarray(values))))
            result.log(f"seed {seed} {sampler}: best {max(values):.3f}")
    marks = sorted({min(budget, 5), min(budget, 10), budget})
    names = {"grid": "grid", "random": "random", "tpe": "TPE"}
    result.record("best", {s: [c[-1] for c in v] for s, v in best_so_far.items()})
    result.table(["sampler"] + [f"best validation accuracy after {k} trials" for k in marks],
                 [[names[s]] + [fmt([c[k - 1] for c in v]) for k in marks] for s, v in best_so_far.items()],
                 heading=f"The best configuration found, for a budget of {budget} trials")
    fig, ax = new_figure(6.4, 4)
    for s, v in best_so_far.items():
        a = xp.asarray(v)
        x = xp.arange(1, a.shape[1] + 1)
        line, = ax.plot(x, a.mean(0), "o-", markersize=3, label=names[s])
        ax.fill_between(x, a.min(0), a.max(0), color=line.get_color(), alpha=0.15, linewidth=0)
    ax.set_xlabel("trials")
    ax.set_ylabel("best validation accuracy so far")
    ax.grid(True, alpha=0.3)
    ax.legend()
    result.figure("efficiency", fig, "The best score so far against the number of trials: mean over the sampler "
                                     "seeds, the band from the worst to the best seed.")
    final = {s: float(xp.mean([c[-1] for c in v])) for s, v in best_so_far.items()}
    mid = {s: float(xp.mean([c[marks[0] - 1] for c in v])) for s, v in best_so_far.items()}
    random_beats_grid = final["random"] >= final["grid"]
    tpe_best = final["tpe"] >= max(final["random"], final["grid"])
    result.conclude(
        "yes" if random_beats_grid and tpe_best else "partly" if random_beats_grid or tpe_best else "no",
        f"After {budget} trials the best validation accuracy is {100 * final['grid']:.1f} % (grid), "
        f"{100 * final['random']:.1f} % (random) and {100 * final['tpe']:.1f} % (TPE); after {marks[0]} trials "
        f"{100 * mid['grid']:.1f} %, {100 * mid['random']:.1f} % and {100 * mid['tpe']:.1f} %. "
        + ("Random search matches or beats the grid" if random_beats_grid else "The grid beats random search")
        + (" and TPE does at least as well as both" if tpe_best else ", but TPE is not the best")
        + f". TPE's first 10 trials are random draws (the random sampler's own, for the same seed), so it can only "
        f"pull ahead in trials 11–{budget}; with two parameters and {budget} trials the differences are those of a "
        f"few trials — the claim is about larger budgets and more parameters.")
