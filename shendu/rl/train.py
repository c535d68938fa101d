"""One training run: the loop behind ``shendu rl ENV_ID --algo A`` and :func:`shendu.rl.train`.

The loop alternates ``agent.iteration`` (experience + update) with, every ``eval_every`` steps, a
few deterministic evaluation episodes (:func:`shendu.rl.evaluate.evaluate`). The agent with the best
evaluation so far is written to ``OUT/agent.ckpt``; at the end that agent plays 100 fresh evaluation
episodes (other seeds than the periodic ones), whose mean is ``mean_return_100`` in ``OUT/summary.json``
(also: episodes, steps, seconds, the evaluation history and the final training returns).
``OUT/returns.png`` plots the training episodes' returns, their running mean over 100 and the
evaluations against environment steps. ``target`` stops the run early once a periodic evaluation
reaches it.
"""
from __future__ import annotations

import copy
import json
import os
import time

import numpy as np

from ..serialization import atomic_write
from .checkpoint import save_agent
from .envs import VecRunner, check_spaces, make_vec_env, seed_everything
from .evaluate import evaluate

__all__ = ["train", "PRESETS", "make_agent"]

# Per-environment settings that differ from an algorithm's DEFAULTS (as RL Baselines3 Zoo keeps
# tuned hyperparameters per environment); anything here can be overridden by the caller.
PRESETS = {
    ("dqn", "Acrobot-v1"): {"hidden": [256, 256], "lr": 6.3e-4, "buffer_size": 50_000, "learning_starts": 1000,
                            "train_freq": 4, "target_update": 250, "exploration_fraction": 0.12, "final_eps": 0.1},
    ("ppo", "Acrobot-v1"): {"num_envs": 8, "rollout_steps": 256, "gae_lambda": 0.94, "ent_coef": 0.0,
                            "normalize_obs": True},
    ("ppo", "Pendulum-v1"): {"num_envs": 4, "rollout_steps": 1024, "gamma": 0.9, "gae_lambda": 0.95,
                             "epochs": 10, "minibatches": 64, "ent_coef": 0.0, "lr": 1e-3, "normalize_obs": True,
                             "reward_scale": 0.1, "log_std_init": 0.0, "anneal_lr": False},
}


def make_agent(algo, env, config=None, rng=None):
    """Build the ``algo`` agent for a vector environment (spaces checked, presets applied)."""
    from .algorithms import ALGORITHMS

    if algo not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algo!r}; expected one of {', '.join(ALGORITHMS)}")
    obs_dim, kind, size = check_spaces(env, algo)
    space = env.single_action_space
    low, high = (space.low, space.high) if kind == "continuous" else (None, None)
    env_id = env.spec.id if getattr(env, "spec", None) is not None else None
    cfg = {**PRESETS.get((algo, env_id), {}), **(config or {})}
    return ALGORITHMS[algo](obs_dim, kind, size, cfg, action_low=low, action_high=high, rng=rng)


def _plot(path, runner, episode_steps, evals, title):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    import io

    fig = Figure(figsize=(8, 4), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    r = np.asarray(runner.episode_returns)
    if len(r):
        ax.plot(episode_steps, r, ".", markersize=2, alpha=0.3, label="training episode")
        run = np.convolve(r, np.ones(100), "full")[:len(r)] / np.minimum(np.arange(1, len(r) + 1), 100)
        ax.plot(episode_steps, run, "-", label="running mean (100 episodes)")
    if evals:
        ax.plot([e["steps"] for e in evals], [e["mean_return"] for e in evals], "o-", label="evaluation")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("episode return")
    ax.grid(True, alpha=0.3)
    ax.legend()
    ax.set_title(title)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    atomic_write(path, lambda f: f.write(buf.getvalue()))


def train(env_id, algo="ppo", steps=100_000, seed=0, out="rl-run", config=None, eval_every=None,
          eval_episodes=10, final_episodes=100, target=None, json_path=None, progress=True):
    """Train ``algo`` on ``env_id`` for ``steps`` environment steps; returns the summary dict.

    Args:
        env_id: a Gymnasium id, e.g. ``"CartPole-v1"``. algo: reinforce | a2c | dqn | ppo.
        steps: environment steps (all parallel environments together). seed: run seed.
        out: directory for ``agent.ckpt``, ``returns.png``, ``summary.json``.
        config: options of the algorithm (its ``DEFAULTS``; per-environment ``PRESETS`` first).
        eval_every: steps between evaluations (default steps / 20). eval_episodes: per evaluation.
        final_episodes: episodes of the final evaluation (``mean_return_100`` when 100).
        target: stop once a periodic evaluation's mean reaches it. json_path: a copy of the summary.
        progress: show the progress bar.
    """
    from tqdm.auto import tqdm  # a dependency of shendu

    t0 = time.perf_counter()
    rng = seed_everything(seed)
    probe = make_vec_env(env_id, 1)  # spaces and the agent's options before the real environments
    try:
        agent = make_agent(algo, probe, config, rng)
    finally:
        probe.close()
    env = make_vec_env(env_id, agent.config.get("num_envs", 1), seed=seed)
    runner = VecRunner(env, seed)
    os.makedirs(out, exist_ok=True)
    ckpt = os.path.join(out, "agent.ckpt")
    eval_every = int(eval_every or max(steps // 20, 1))
    next_eval, evals, best, best_state = eval_every, [], -np.inf, None
    episode_steps, logs = [], {}
    bar = tqdm(total=steps, desc=f"{algo} {env_id}", unit="step", mininterval=1.0) if progress else None
    try:
        while runner.steps < steps:
            before, n_before = runner.steps, len(runner.episode_returns)
            logs = agent.iteration(runner, runner.steps / steps)
            episode_steps += [runner.steps] * (len(runner.episode_returns) - n_before)
            recent = runner.episode_returns[-100:]
            if bar is not None:
                bar.update(runner.steps - before)
                bar.set_postfix({"return(100)": f"{np.mean(recent):.1f}" if recent else "-",
                                 "eval": f"{evals[-1]['mean_return']:.1f}" if evals else "-"}, refresh=False)
            if runner.steps >= next_eval or runner.steps >= steps:
                next_eval += eval_every
                returns = evaluate(agent, env_id, eval_episodes, seed=seed + 1000 * (len(evals) + 1))
                evals.append({"steps": runner.steps, "mean_return": float(np.mean(returns)),
                              "std_return": float(np.std(returns))})
                if evals[-1]["mean_return"] >= best:
                    best, best_state = evals[-1]["mean_return"], copy.deepcopy(agent.state_dict())
                    save_agent(ckpt, agent, env_id, runner.steps, extra=_buffer_stats(agent))
                if target is not None and evals[-1]["mean_return"] >= target:
                    break
    finally:
        if bar is not None:
            bar.close()
        env.close()
    train_seconds = time.perf_counter() - t0
    if best_state is not None:
        agent.load_state_dict(best_state)
    final = evaluate(agent, env_id, final_episodes, seed=seed + 500_000)
    summary = {"env_id": env_id, "algo": algo, "seed": seed, "steps": runner.steps,
               "episodes": len(runner.episode_returns), "updates": agent.updates,
               "seconds": round(time.perf_counter() - t0, 2), "train_seconds": round(train_seconds, 2),
               f"mean_return_{final_episodes}": float(np.mean(final)), "std_return": float(np.std(final)),
               "train_mean_return_100": float(np.mean(runner.episode_returns[-100:])) if runner.episode_returns else None,
               "best_eval": float(best), "evaluations": evals, "last_logs": logs, "config": agent.config,
               "checkpoint": ckpt}
    _plot(os.path.join(out, "returns.png"), runner, episode_steps, evals, f"{algo} on {env_id} (seed {seed})")
    text = json.dumps(summary, indent=2)
    for path in {os.path.join(out, "summary.json"), *([json_path] if json_path else [])}:
        atomic_write(path, lambda f: f.write(text.encode()))
    return summary


def _buffer_stats(agent):
    buffer = getattr(agent, "buffer", None)
    return {"buffer": buffer.statistics()} if buffer is not None else {}
