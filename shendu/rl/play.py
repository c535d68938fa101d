"""``shendu rl play``: evaluate a saved agent, optionally recording one episode as a GIF."""
from __future__ import annotations

import numpy as np

from .checkpoint import load_agent
from .envs import gymnasium
from .evaluate import evaluate
from .render import draw_frame, write_gif

__all__ = ["play"]


def play(ckpt, episodes=10, gif=None, seed=0, max_frames=500):
    """Evaluate the agent of ``ckpt`` on ``episodes`` episodes of its environment.

    Returns ``{"env_id", "algo", "episodes", "mean_return", "std_return", "returns", "gif"}``; with
    ``gif``, one more episode (seed ``seed``) is drawn frame by frame (at most ``max_frames``).
    """
    agent, meta = load_agent(ckpt)
    env_id = meta["env_id"]
    returns = evaluate(agent, env_id, episodes, seed=seed)
    out = {"env_id": env_id, "algo": meta["algo"], "episodes": len(returns),
           "mean_return": float(np.mean(returns)), "std_return": float(np.std(returns)), "returns": returns,
           "gif": None}
    if gif:
        gym = gymnasium("shendu rl play --gif")
        env = gym.make(env_id)
        try:
            obs, _ = env.reset(seed=seed)
            frames, total, done = [draw_frame(env)], 0.0, False
            while not done and len(frames) < max_frames:
                obs, reward, term, trunc, _ = env.step(agent.act(np.asarray(obs)[None])[0])
                total += float(reward)
                done = term or trunc
                frames.append(draw_frame(env))
        finally:
            env.close()
        write_gif(frames, gif)
        out["gif"], out["gif_return"], out["gif_frames"] = gif, total, len(frames)
    return out
