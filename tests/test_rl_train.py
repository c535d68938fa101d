"""shendu.rl runs end to end with tiny step counts: outputs, checkpoints, seeding, the command line."""
import json
import sys

import numpy as np
import pytest

import shendu.rl as rl
from shendu.cli import main

gym = pytest.importorskip("gymnasium")

TINY = {"reinforce": {"batch_steps": 200}, "a2c": {"rollout_steps": 8}, "ppo": {"rollout_steps": 32},
        "dqn": {"learning_starts": 100, "train_freq": 4, "batch_size": 32}}


@pytest.mark.parametrize("algo", ["reinforce", "a2c", "dqn", "ppo"])
def test_train_writes_outputs_and_checkpoint_reloads(algo, tmp_path):
    s = rl.train("CartPole-v1", algo, steps=400, seed=3, out=str(tmp_path), config=TINY[algo], eval_every=200,
                 eval_episodes=2, final_episodes=4, progress=False)
    assert s["steps"] >= 400 and s["episodes"] > 0 and len(s["evaluations"]) == 2
    assert {"mean_return_4", "episodes", "steps", "seconds"} <= set(s)
    for name in ("agent.ckpt", "returns.png", "summary.json"):
        assert (tmp_path / name).stat().st_size > 0
    assert json.loads((tmp_path / "summary.json").read_text())["steps"] == s["steps"]
    agent, meta = rl.load_agent(tmp_path / "agent.ckpt")
    assert meta["algo"] == algo and meta["env_id"] == "CartPole-v1"
    if algo == "dqn":
        assert meta["extra"]["buffer"]["size"] > 0
    # the reloaded agent is the best-evaluated one: its 4-episode return is the summary's
    np.testing.assert_allclose(np.mean(rl.evaluate(agent, "CartPole-v1", 4, seed=3 + 500_000)), s["mean_return_4"])


def test_same_seed_same_run(tmp_path):
    runs = [rl.train("CartPole-v1", "ppo", steps=256, seed=7, out=str(tmp_path / str(i)),
                     config={"rollout_steps": 32}, final_episodes=2, progress=False) for i in range(3)]
    assert runs[0]["evaluations"] == runs[1]["evaluations"]
    other = rl.train("CartPole-v1", "ppo", steps=256, seed=8, out=str(tmp_path / "o"),
                     config={"rollout_steps": 32}, final_episodes=2, progress=False)
    assert other["last_logs"] != runs[0]["last_logs"]


def test_continuous_ppo_acts_inside_the_box(tmp_path):
    s = rl.train("Pendulum-v1", "ppo", steps=256, seed=0, out=str(tmp_path),
                 config={"rollout_steps": 64, "minibatches": 4, "epochs": 1}, final_episodes=1, progress=False)
    agent, _ = rl.load_agent(tmp_path / "agent.ckpt")
    a = agent.act(np.zeros((5, 3), np.float32), deterministic=False)
    assert a.shape == (5, 1) and np.all(np.abs(a) <= 2.0) and s["steps"] >= 256


def test_bad_input_errors():
    env = rl.make_vec_env("Pendulum-v1")
    with pytest.raises(ValueError, match="DQN needs a Discrete action space"):
        rl.make_agent("dqn", env)
    with pytest.raises(ValueError, match="unknown option"):
        rl.make_agent("ppo", env, {"learning_rate": 1})
    with pytest.raises(ValueError, match="unknown algorithm 'sarsa'"):
        rl.make_agent("sarsa", env)
    with pytest.raises(ValueError, match="unknown environment id 'NoSuchEnv-v0'"):
        rl.make_vec_env("NoSuchEnv-v0")

    class Image(gym.Env):
        observation_space = gym.spaces.Box(0, 1, (8, 8))
        action_space = gym.spaces.Discrete(2)

    with pytest.raises(ValueError, match="expect a flat Box"):
        rl.check_spaces(gym.vector.SyncVectorEnv([Image]), "ppo")


def test_missing_gymnasium_names_the_extra(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "gymnasium", None)  # an import of it now fails
    assert main(["rl", "CartPole-v1", "--steps", "10"]) == 2
    err = capsys.readouterr().err
    assert "gymnasium" in err and "pip install 'shendu[rl]'" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv, message", [
    (["rl", "NoSuchEnv-v0"], "unknown environment id"),
    (["rl", "Pendulum-v1", "--algo", "dqn"], "DQN needs a Discrete action space"),
    (["rl", "CartPole-v1", "--algo", "sarsa"], "invalid choice"),
    (["rl", "CartPole-v1", "--steps", "0"], "positive integer"),
    (["rl", "play", "missing.ckpt"], "missing.ckpt"),
])
def test_cli_bad_input_one_line_exit_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_cli_train_and_play_gif(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["rl", "CartPole-v1", "--algo", "ppo", "--steps", "300", "--out", str(out), "--quiet",
                 "--json", str(tmp_path / "s.json"), "--set", "rollout_steps=32", "--eval-episodes", "2"]) == 0
    s = json.loads((tmp_path / "s.json").read_text())
    assert {"mean_return_100", "episodes", "steps", "seconds"} <= set(s) and s["config"]["rollout_steps"] == 32
    gif = tmp_path / "ep.gif"
    assert main(["rl", "play", str(out / "agent.ckpt"), "--episodes", "2", "--gif", str(gif)]) == 0
    from PIL import Image

    with Image.open(gif) as im:
        assert im.n_frames > 5 and im.size == (400, 300)
    assert "mean return" in capsys.readouterr().out


@pytest.mark.parametrize("env_id", ["Acrobot-v1", "Pendulum-v1", "MountainCar-v0"])
def test_scenes_draw(env_id):
    from shendu.rl.render import draw_frame

    env = gym.make(env_id)
    env.reset(seed=0)
    img = np.asarray(draw_frame(env))
    assert img.shape == (300, 400, 3) and (img < 250).any()  # something was drawn
