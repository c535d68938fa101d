"""The published targets of issue 19 as slow tests (pytest -m slow): fixed seeds, the mean return of
100 fresh evaluation episodes of the best-evaluated agent. Measured results: docs/rl.md."""
import pytest

import shendu.rl as rl

pytest.importorskip("gymnasium")
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("algo, steps", [("ppo", 500_000), ("dqn", 500_000), ("a2c", 1_000_000),
                                         ("reinforce", 1_000_000)])
def test_cartpole_solved(algo, steps, tmp_path):
    s = rl.train("CartPole-v1", algo, steps=steps, seed=1, out=str(tmp_path), target=475, eval_episodes=20,
                 eval_every=25_000, progress=False)
    assert s["mean_return_100"] >= 475, s


def test_acrobot_dqn(tmp_path):
    s = rl.train("Acrobot-v1", "dqn", steps=100_000, seed=1, out=str(tmp_path), target=-80, eval_episodes=20,
                 eval_every=10_000, progress=False)
    assert s["mean_return_100"] >= -100, s


def test_pendulum_ppo(tmp_path):
    s = rl.train("Pendulum-v1", "ppo", steps=500_000, seed=1, out=str(tmp_path), target=-200, eval_episodes=20,
                 eval_every=20_480, progress=False)
    assert s["mean_return_100"] >= -300, s
