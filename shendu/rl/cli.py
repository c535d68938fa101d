"""``shendu rl``: train an agent on a Gymnasium environment, or play a saved one.

    shendu rl ENV_ID --algo reinforce|a2c|dqn|ppo [--steps N] [--seed S] [--out DIR] [--json FILE]
                     [--eval-every N] [--eval-episodes N] [--target R] [--set KEY=VALUE ...] [--quiet]
    shendu rl play CKPT [--episodes N] [--gif FILE] [--seed S]

Bad arguments, unknown environment ids, an algorithm that cannot act in the environment and a
missing Gymnasium raise ValueError / ImportError with one line; ``shendu.cli`` prints it and exits 2.
"""
from __future__ import annotations

import argparse
import json

from ..cli import positive_int

__all__ = ["main", "build_parser"]


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise ValueError(f"{self.prog}: {message} (see {self.prog} --help)")


def _setting(text):
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def build_parser(play):
    """The parser of ``shendu rl ENV_ID`` or, with ``play``, of ``shendu rl play CKPT``."""
    if play:
        p = _Parser(prog="shendu rl play", description="Evaluate a saved agent; --gif records one episode.")
        p.add_argument("ckpt", metavar="CKPT", help="agent.ckpt written by shendu rl")
        p.add_argument("--episodes", type=positive_int, default=10, help="evaluation episodes (default 10)")
        p.add_argument("--gif", metavar="FILE", help="write one episode as an animated GIF")
        p.add_argument("--seed", type=int, default=0, help="seed of the evaluation environments")
        p.add_argument("--json", metavar="FILE", help="also write the result as JSON")
        return p
    from .algorithms import ALGORITHMS

    p = _Parser(prog="shendu rl", description="Train a reinforcement-learning agent on a Gymnasium environment; "
                "write agent.ckpt, returns.png and summary.json to --out. `shendu rl play CKPT` plays one.")
    p.add_argument("env_id", metavar="ENV_ID", help="Gymnasium environment id, e.g. CartPole-v1")
    p.add_argument("--algo", choices=sorted(ALGORITHMS), default="ppo", help="algorithm (default ppo)")
    p.add_argument("--steps", type=positive_int, default=100_000, help="environment steps (default 100000)")
    p.add_argument("--seed", type=int, default=0, help="seed of environments, networks and sampling")
    p.add_argument("--out", metavar="DIR", help="output directory (default runs/rl-ENV-ALGO)")
    p.add_argument("--json", metavar="FILE", help="also write the summary JSON here")
    p.add_argument("--eval-every", type=positive_int, help="steps between evaluations (default steps/20)")
    p.add_argument("--eval-episodes", type=positive_int, default=10, help="episodes per evaluation (default 10)")
    p.add_argument("--target", type=float, help="stop once an evaluation's mean return reaches this")
    p.add_argument("--set", type=_setting, action="append", default=[], metavar="KEY=VALUE",
                   help="an algorithm option (JSON value), e.g. --set double=true --set lr=1e-3")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv):
    """Run ``shendu rl`` with ``argv`` (the arguments after ``rl``); returns the exit status."""
    argv = list(argv)
    play_mode = bool(argv) and argv[0] == "play"
    try:
        args = build_parser(play_mode).parse_args(argv[1:] if play_mode else argv)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    if play_mode:
        from .play import play

        result = play(args.ckpt, args.episodes, args.gif, args.seed)
        print(f"{result['algo']} on {result['env_id']}: mean return {result['mean_return']:.2f} "
              f"± {result['std_return']:.2f} over {result['episodes']} episodes"
              + (f"; GIF {result['gif']} ({result['gif_frames']} frames)" if result["gif"] else ""))
        if args.json:
            from ..serialization import atomic_write

            text = json.dumps(result, indent=2)
            atomic_write(args.json, lambda f: f.write(text.encode()))
        return 0
    from .train import train

    out = args.out or f"runs/rl-{args.env_id}-{args.algo}"
    summary = train(args.env_id, args.algo, steps=args.steps, seed=args.seed, out=out, config=dict(args.set),
                    eval_every=args.eval_every, eval_episodes=args.eval_episodes, target=args.target,
                    json_path=args.json, progress=not args.quiet)
    print(f"{args.algo} on {args.env_id}: mean return over 100 evaluation episodes "
          f"{summary['mean_return_100']:.2f} after {summary['steps']} steps, {summary['episodes']} episodes, "
          f"{summary['seconds']:.1f} s; wrote {out}/agent.ckpt, returns.png, summary.json")
    return 0
