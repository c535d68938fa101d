"""Agent checkpoints: one shendu file (safetensors form, no pickle) holding the agent's networks,
optimizers, observation statistics, the algorithm and environment it was trained for and its
configuration (as JSON text), the replay buffer's statistics, and the step count.
:func:`load_agent` rebuilds the agent from that alone (``shendu rl play``)."""
from __future__ import annotations

import json

from ..io import load, save

__all__ = ["save_agent", "load_agent", "FORMAT"]

FORMAT = "shendu.rl/1"


def save_agent(path, agent, env_id, steps=0, extra=None):
    """Write ``path`` atomically (see the module docstring)."""
    meta = {"format": FORMAT, "algo": agent.algo, "env_id": env_id, "config": agent.config,
            "obs_dim": agent.obs_dim, "kind": agent.kind, "size": agent.size,
            "action_low": None if agent.action_low is None else agent.action_low.tolist(),
            "action_high": None if agent.action_high is None else agent.action_high.tolist(),
            "steps": int(steps), "extra": extra or {}}
    save({"meta": json.dumps(meta), "agent": agent.state_dict()}, path)
    return path


def load_agent(path):
    """Read a checkpoint written by :func:`save_agent`; returns ``(agent, meta)``."""
    from .algorithms import ALGORITHMS

    obj = load(path)
    if not isinstance(obj, dict) or "meta" not in obj or "agent" not in obj:
        raise ValueError(f"{path}: not a shendu.rl agent checkpoint (expected the keys 'meta' and 'agent')")
    meta = json.loads(obj["meta"])
    if meta.get("format") != FORMAT or meta.get("algo") not in ALGORITHMS:
        raise ValueError(f"{path}: unsupported agent checkpoint (format {meta.get('format')!r}, "
                         f"algorithm {meta.get('algo')!r}); expected format {FORMAT!r}")
    cls = ALGORITHMS[meta["algo"]]
    agent = cls(meta["obs_dim"], meta["kind"], meta["size"], meta["config"],
                action_low=meta["action_low"], action_high=meta["action_high"])
    agent.load_state_dict(obj["agent"])
    return agent, meta
