"""Experiment 15: exploration — DQN (``shendu.rl``) with three ε-greedy schedules on Gymnasium's FrozenLake,
where the only reward is +1 at the goal.

The lake is not slippery, so an episode is decided by the agent alone: the greedy policy of a Q-network plays
the same path every time, and one evaluation episode says whether it reaches the goal. The state (a cell of the
grid) is given to the network one-hot (Gymnasium's ``FlattenObservation``), as ``shendu.rl``'s MLPs take flat
vectors.
"""
from __future__ import annotations

from ..backend import xp
from ..rl import VecRunner, evaluate, make_agent, make_vec_env, seed_everything
from ..rl.envs import gymnasium
from . import experiment
from .common import curve_band
from .page import fmt, new_figure

# (start ε, final ε): ε falls linearly from start to final over the first half of the run (shendu.rl.DQN's
# start_eps / final_eps / exploration_fraction)
SCHEDULES = {"greedy (ε = 0)": (0.0, 0.0), "constant ε = 0.1": (0.1, 0.1), "decaying ε 1 → 0.05": (1.0, 0.05)}
# DQN's options for a 16- or 64-state grid: a small network, frequent updates, learning after 500 steps
DQN_CONFIG = {"hidden": [64], "lr": 1e-3, "buffer_size": 10_000, "learning_starts": 500, "train_freq": 4,
              "target_update": 250, "batch_size": 64, "gamma": 0.95, "exploration_fraction": 0.5}
LAKES = {"4x4": "FrozenLake-v1", "8x8": "FrozenLake8x8-v1"}  # Gymnasium's ids (time limits 100 and 200 steps)


def _one_hot_lake(base, **kwargs):
    """Gymnasium's FrozenLake ``base`` with one-hot observations (``FlattenObservation`` of ``Discrete(n)``)."""
    gym = gymnasium()
    return gym.wrappers.FlattenObservation(gym.make(base, **kwargs))


def lake(map_name):
    """The Gymnasium id of the non-slippery FrozenLake ``map_name`` (``'4x4'`` or ``'8x8'``) with one-hot
    observations, registered on first use (``shendu.rl``'s runs and evaluations make environments by id)."""
    gym = gymnasium("shendu lab run exploration")
    env_id = f"shendu-lab/FrozenLake{map_name}-v1"
    if env_id not in gym.registry:
        gym.register(env_id, entry_point=_one_hot_lake,
                     kwargs={"base": LAKES[map_name], "map_name": map_name, "is_slippery": False})
    return env_id


def grid(map_name):
    """The map as a list of strings: S start, F frozen, H hole, G goal."""
    from gymnasium.envs.toy_text.frozen_lake import MAPS

    return MAPS[map_name]


class CountingRunner(VecRunner):
    """A :class:`shendu.rl.VecRunner` that also counts, in ``visits`` (n_states,), every cell the agent stands on:
    the first of each episode and each one it steps onto, the final one (a hole, the goal) included. The
    observations must be one-hot rows."""

    def reset(self, seed=None):
        obs = super().reset(seed)
        self.visits = obs.sum(0).astype(xp.int64)
        return obs

    def step(self, actions):
        next_obs, rewards, terminated, truncated = super().step(actions)
        self.visits += next_obs.sum(0).astype(xp.int64)  # next_obs holds the final cell of an ended episode
        self.visits += self.obs[(terminated + truncated) > 0].sum(0).astype(xp.int64)  # and the next one's start
        return next_obs, rewards, terminated, truncated


def train_run(env_id, eps, steps, seed, evals=20):
    """Train one DQN agent for ``steps`` environment steps with ε falling from ``eps[0]`` to ``eps[1]``.

    ``shendu.rl.train`` keeps only summaries, so the run is its loop written out with the same public pieces
    (``seed_everything``, ``make_vec_env``, ``make_agent``, ``VecRunner``, ``Agent.iteration``, ``evaluate``),
    recording what this experiment needs on the way.

    Returns a dict: ``ends`` / ``returns`` (the step at which each training episode ended and its return),
    ``visits`` (n_states,) the count of every state the agent stood in, ``greedy`` the return of one greedy
    evaluation episode after every ``steps / evals`` steps (the lake is deterministic, so one is exact), and
    ``first`` the step of the first training episode that reached the goal (None: never).
    """
    rng = seed_everything(seed)
    env = make_vec_env(env_id, 1, seed=seed)
    try:
        config = {**DQN_CONFIG, "start_eps": eps[0], "final_eps": eps[1]}
        agent = make_agent("dqn", env, config, rng)
        runner = CountingRunner(env, seed)
        ends, greedy, every = [], [], max(steps // evals, 1)
        while runner.steps < steps:
            finished = len(runner.episode_returns)
            agent.iteration(runner, runner.steps / steps)
            ends += [runner.steps] * (len(runner.episode_returns) - finished)
            if runner.steps % every == 0:
                greedy.append(evaluate(agent, env_id, episodes=1, seed=seed)[0])
    finally:
        env.close()
    returns = list(runner.episode_returns)
    first = next((e for e, r in zip(ends, returns) if r > 0), None)
    return {"ends": ends, "returns": returns, "visits": runner.visits, "greedy": greedy[:evals], "first": first}


def goal_rate(run, steps, bins):
    """Goals reached per 1,000 training steps in each of ``bins`` equal windows of the run."""
    edges = xp.linspace(0, steps, bins + 1)
    counts, _ = xp.histogram(run["ends"], bins=edges, weights=run["returns"])
    return (counts * 1000 / (steps / bins)).tolist()


def visit_map(ax, visits, rows, title):
    """The visit counts of one run as a log-coloured grid, holes marked H and the goal G."""
    size = len(rows)
    counts = visits.reshape(size, size).astype(float)
    ax.imshow(xp.log10(1 + counts), cmap="Blues", vmin=0, vmax=5)
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            if cell in "HG":
                ax.text(j, i, cell, ha="center", va="center", color="red" if cell == "H" else "green",
                        fontsize=10 if size <= 4 else 7, fontweight="bold")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=8)


@experiment("exploration", "Exploration: ε-greedy DQN on FrozenLake",
            "A reinforcement-learning agent must explore as well as exploit: one that always takes the action it "
            "currently believes best (ε = 0) can settle on a path before it ever sees a reward and never find "
            "the goal, while ε-greedy exploration finds it; decaying ε explores early and exploits later.",
            order=15)
def run(result, quick):
    """The experiment registered above: trains, measures and fills ``result`` (a :class:`~shendu.lab.page.Result`);
    ``quick`` runs the reduced version of the test suite."""
    plan = {"4x4": 800} if quick else {"4x4": 6000, "8x8": 15000}
    evals = 4 if quick else 20  # greedy evaluations per run (a stuck agent plays out the time limit each time)
    part = {4: "quarter", 20: "twentieth"}[evals]
    lakes = " and ".join(f"the {m} lake ({steps:,} steps)" for m, steps in plan.items())
    result.setup(f"""
Gymnasium's FrozenLake without slipping: the agent walks a grid from S to the goal G; a hole H ends the episode,
as does the time limit (100 steps on 4×4, 200 on 8×8); the only reward is +1 for reaching G — every other step
gives 0, so an agent learns nothing until it has found the goal once. The state goes to the network one-hot.
The agent is `shendu.rl`'s DQN (replay buffer, target network, squared TD error): one hidden layer of 64 ReLU
units, Adam 10⁻³, γ = 0.95, batch 64, an update every 4 steps after the first 500, the target network
refreshed every 250 steps. Only the exploration differs: ε-greedy with {', '.join(SCHEDULES)} (falling linearly
over the first half of the run, then flat). Runs: {lakes}. Measured: whether the **greedy** policy (ε = 0, one
episode: the lake is deterministic) reaches the goal, every {part} of the run and at the end; when a
training episode first reached the goal; how often training episodes reach it (what exploring costs); which
cells the agent ever stood on.""")
    runs = {}
    for map_name, steps in plan.items():
        env_id = lake(map_name)
        for label, eps in SCHEDULES.items():
            for seed in result.seeds:
                r = runs[map_name, label, seed] = train_run(env_id, eps, steps, seed, evals)
                result.log(f"{map_name} {label} seed {seed}: greedy return {r['greedy'][-1]:.0f}, first goal at "
                           f"{r['first']}, {int((r['visits'] > 0).sum())} cells visited")
    rows, solved = [], {}
    for map_name, steps in plan.items():
        cells = len(grid(map_name)) ** 2
        for label in SCHEDULES:
            rs = [runs[map_name, label, s] for s in result.seeds]
            key = f"{map_name}/{label}"
            solved[key] = result.record(f"solved/{key}", [r["greedy"][-1] for r in rs])
            firsts = [r["first"] for r in rs if r["first"] is not None]
            result.record(f"first_goal/{key}", [r["first"] for r in rs])
            rate = result.record(f"train_goal_fraction/{key}", [sum(r["returns"]) / max(len(r["returns"]), 1)
                                                                for r in rs])
            seen = result.record(f"cells_visited/{key}", [int((r["visits"] > 0).sum()) for r in rs])
            rows.append([map_name, label, f"{int(sum(solved[key]))} of {len(rs)}",
                         f"{len(firsts)} of {len(rs)}" + (f", at step {fmt(firsts, ',.0f')}" if firsts else ""),
                         fmt(rate, ".2f"), f"{fmt(seen, '.1f')} of {cells}"])
    result.table(["lake", "exploration", "greedy policy reaches the goal (seeds)",
                  "a training episode reached the goal (seeds)", "training episodes that reach the goal",
                  "cells ever visited"], rows, heading="At the end of training",
                 note="Means ± s.d. over the seeds; the step of the first goal is averaged over the seeds that "
                      "found it. Training episodes act ε-greedily, so their success rate pays for the random "
                      "steps; the greedy policy is what the agent has learned.")
    # curves: the greedy policy's success and the training goals per 1,000 steps, against environment steps
    fig, axes = new_figure(5.2 * len(plan), 6.4, 2, len(plan))
    axes = axes.reshape(2, -1)
    for col, (map_name, steps) in enumerate(plan.items()):
        x = xp.arange(1, evals + 1) * steps / evals
        for label in SCHEDULES:
            rs = [runs[map_name, label, s] for s in result.seeds]
            curve_band(axes[0, col], [r["greedy"] for r in rs], label, x=x)
            curve_band(axes[1, col], [goal_rate(r, steps, evals) for r in rs], label, x=x - steps / evals / 2)
        axes[0, col].set_title(f"{map_name} lake", fontsize=10)
        axes[0, col].set_ylabel("greedy policy reaches the goal\n(fraction of seeds)")
        axes[1, col].set_ylabel("goals per 1,000 training steps")
        axes[0, col].set_ylim(-0.05, 1.05)
        for ax in axes[:, col]:
            ax.set_xlabel("environment steps")
            ax.grid(True, alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    result.figure("curves", fig, f"Top: does the greedy policy reach the goal, evaluated every {part} of the run "
                                 "(mean over the seeds, ±1 s.d.)? Bottom: goals reached by the ε-greedy training "
                                 "episodes per 1,000 steps.")
    seed = result.seeds[0]
    fig, axes = new_figure(3.2 * len(SCHEDULES), 3.2 * len(plan), len(plan), len(SCHEDULES))
    axes = axes.reshape(len(plan), -1)
    for row, map_name in enumerate(plan):
        for col, label in enumerate(SCHEDULES):
            r = runs[map_name, label, seed]
            visit_map(axes[row, col], r["visits"], grid(map_name),
                      f"{map_name}, {label}\n{int((r['visits'] > 0).sum())} cells, greedy "
                      f"{'reaches G' if r['greedy'][-1] > 0 else 'misses G'}")
    result.figure("visits", fig, f"Where the agent stood during training (seed {seed}; colour: log₁₀(1 + visits), "
                                 "white: never; S is the top-left cell).")
    result.conclude(*conclusion(result.numbers, plan, len(result.seeds)))


def conclusion(numbers, plan, n):
    """``(verdict, reason)`` from the recorded ``numbers`` of the lakes ``plan`` ({map: steps}) over ``n`` seeds:
    supported when, on every lake, an exploring schedule's greedy policy reaches the goal in more seeds than the
    greedy agent's and the best one in every seed."""
    labels = list(SCHEDULES)
    greedy, explorers, decaying, constant = labels[0], labels[1:], labels[-1], labels[1]
    count = {(m, label): int(sum(numbers[f"solved/{m}/{label}"])) for m in plan for label in labels}
    mean = {(k, m, label): float(xp.mean(numbers[f"{k}/{m}/{label}"]))
            for k in ("cells_visited", "train_goal_fraction") for m in plan for label in labels}
    beaten = [max(count[m, label] for label in explorers) > count[m, greedy] for m in plan]
    best_solves = all(max(count[m, label] for label in explorers) == n for m in plan)
    verdict = "yes" if all(beaten) and best_solves else "partly" if any(beaten) else "no"
    text = ["; ".join(f"on the {m} lake the greedy policy reaches the goal in {count[m, greedy]} of {n} seeds with "
                      f"ε = 0, " + ", ".join(f"in {count[m, label]} with {label}" for label in explorers)
                      for m in plan).capitalize() + "."]
    if any(count[m, greedy] < n for m in plan):
        cells = "; ".join(f"{mean['cells_visited', m, greedy]:.1f} of {len(grid(m)) ** 2} on the {m} lake against "
                          f"{mean['cells_visited', m, decaying]:.1f} with {decaying}" for m in plan)
        text.append(f"Without exploration the agent repeats the path its current Q-values pick; while every reward "
                    f"is 0 the updates only pull Q towards 0 and seldom change that path, so it stands on few cells "
                    f"({cells}) and does not learn where the goal is.")
    if any(count[m, greedy] > 0 for m in plan):
        text.append("Where the greedy agent did reach the goal it found it by chance: the network's changing "
                    "Q-values changed its path until one led there.")
    for m, steps in plan.items():
        for label in (label for label in explorers if count[m, label] < n):
            firsts = numbers[f"first_goal/{m}/{label}"]
            found = [f for f in firsts if f is not None]
            text.append(f"On the {m} lake {label} leaves the greedy policy short of the goal in {n - count[m, label]} "
                        f"of {n} seeds although its training episodes reached it in {len(found)} (first goal per seed at step "
                        + " / ".join("never" if f is None else f"{f:,}" for f in firsts) + f", of {steps:,}): a goal "
                        f"found late or seldom leaves too few successes in the replay buffer to learn the path.")
            if count[m, decaying] > count[m, label]:
                text.append(f"That {decaying} did better there fits the claim (explore broadly first, then "
                            f"exploit), but with {n} seeds it is a hint, not a settled difference.")
    m = next(iter(plan))
    firsts = {label: [f for f in numbers[f"first_goal/{m}/{label}"] if f is not None] for label in explorers}
    text.append(f"On the {m} lake {100 * mean['train_goal_fraction', m, decaying]:.0f} % of the training episodes "
                f"reach the goal with {decaying} and {100 * mean['train_goal_fraction', m, constant]:.0f} % with "
                f"{constant}" + (f"; the first goal came at step {fmt(firsts[decaying], ',.0f')} and "
                                 f"{fmt(firsts[constant], ',.0f')}" if all(firsts.values()) else "") + ".")
    return verdict, " ".join(text)
