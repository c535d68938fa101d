"""shendu.rl building blocks: returns and GAE by hand, DQN targets, PPO's objective and the
distributions against torch, the buffers, normalisation, the vector runner's final observations."""
import numpy as np
import pytest
import torch

import shendu
import shendu.rl as rl
from shendu.rl import (DQN, Categorical, DiagGaussian, ObsNormalizer, ReplayBuffer, RolloutStorage, RunningMeanStd,
                       VecRunner, discounted_returns, dqn_targets, gae, huber, ppo_clip_loss)

gym = pytest.importorskip("gymnasium")


# ------------------------------------------------------------------ returns and GAE
def test_discounted_returns_terminated_truncated_and_cut():
    g = 0.9
    r = [1.0, 2.0, 3.0, 4.0, 5.0]
    term = [0, 1, 0, 0, 0]    # episode A ends at t=1 in a terminal state
    trunc = [0, 0, 0, 1, 0]   # episode B is cut by a time limit at t=3; episode C is cut by the rollout at t=4
    nv = [9.0, 9.0, 9.0, 10.0, 20.0]  # V(s_{t+1}); used only where the episode is cut
    got = discounted_returns(r, term, trunc, nv, gamma=g)
    want_b3 = 4.0 + g * 10.0
    want = [1.0 + g * 2.0, 2.0, 3.0 + g * want_b3, want_b3, 5.0 + g * 20.0]
    np.testing.assert_allclose(got, want)
    # without next values: the Monte Carlo sum that stops at every end
    mc = discounted_returns(r, term, trunc, gamma=g)
    np.testing.assert_allclose(mc, [1 + g * 2, 2, 3 + g * 4, 4, 5])


def test_discounted_returns_two_envs_columns_independent():
    r = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0]])
    term = np.array([[0, 1], [0, 0], [1, 0]])
    got = discounted_returns(r, term, gamma=0.5)
    np.testing.assert_allclose(got[:, 0], [1.75, 1.5, 1.0])
    np.testing.assert_allclose(got[:, 1], [0.0, 1.0, 0.0])


def test_gae_hand_computed_with_termination_and_truncation():
    g, lam = 0.9, 0.8
    r = np.array([1.0, 1.0, 1.0, 1.0])
    v = np.array([0.5, 0.4, 0.3, 0.2])
    nv = np.array([0.4, 7.0, 0.2, 0.6])  # t=1 terminal (7.0 must be ignored); t=2 truncated (0.2 bootstraps)
    term = np.array([0, 1, 0, 0])
    trunc = np.array([0, 0, 1, 0])
    adv, ret = gae(r, v, nv, term, trunc, gamma=g, lam=lam)
    d = [1 + g * 0.4 - 0.5, 1 - 0.4, 1 + g * 0.2 - 0.3, 1 + g * 0.6 - 0.2]
    want = [d[0] + g * lam * d[1], d[1], d[2], d[3]]
    np.testing.assert_allclose(adv, want)
    np.testing.assert_allclose(ret, np.array(want) + v)


def test_gae_lambda_limits():
    rng = np.random.default_rng(0)
    r, v, nv = rng.normal(size=(6, 3)), rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    term = (rng.random((6, 3)) < 0.2).astype(float)
    trunc = (rng.random((6, 3)) < 0.2).astype(float) * (1 - term)
    cont = (1 - term - trunc)[:-1] > 0
    nv[:-1][cont] = v[1:][cont]  # inside an episode V(s_{t+1}) is the next step's V(s_t)
    adv1, _ = gae(r, v, nv, term, trunc, gamma=0.97, lam=1.0)
    np.testing.assert_allclose(adv1, discounted_returns(r, term, trunc, nv, gamma=0.97) - v, atol=1e-12)
    adv0, _ = gae(r, v, nv, term, trunc, gamma=0.97, lam=0.0)
    np.testing.assert_allclose(adv0, r + 0.97 * (1 - term) * nv - v, atol=1e-12)


def test_returns_shape_errors():
    with pytest.raises(ValueError, match="terminated must have the shape"):
        discounted_returns([1.0, 2.0], [0, 0, 1])
    with pytest.raises(ValueError, match="values must have the shape"):
        gae([1.0, 2.0], [0.0], [0.0, 0.0])


# ------------------------------------------------------------------ DQN and PPO objectives
def test_dqn_and_double_dqn_targets():
    r = np.array([1.0, 0.5, -1.0])
    term = np.array([0.0, 1.0, 0.0])
    q_target = np.array([[1.0, 3.0], [5.0, 6.0], [2.0, -4.0]])
    q_online = np.array([[2.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    np.testing.assert_allclose(dqn_targets(r, term, q_target, gamma=0.5), [1 + 0.5 * 3, 0.5, -1 + 0.5 * 2])
    # Double DQN: the online net picks a' (0, 1, 1), the target net values it
    np.testing.assert_allclose(dqn_targets(r, term, q_target, q_online, gamma=0.5), [1 + 0.5 * 1, 0.5, -1 - 0.5 * 4])


def test_huber_matches_torch():
    d = np.array([-3.0, -1.0, -0.3, 0.0, 0.7, 2.5])
    ours = huber(shendu.tensor(d)).numpy()
    ref = torch.nn.functional.huber_loss(torch.tensor(d), torch.zeros(6), reduction="none", delta=1.0).numpy()
    np.testing.assert_allclose(ours, ref)


def _one_state_dqn(loss):
    """DQN fitted on a one-state MDP: reward 1 per step, the episode ends after 1 step in 5 (p = 0.2),
    γ = 0.9. The Bellman target's mean gives Q = 1 / (1 − γ (1 − p)) = 3.571 for both actions."""
    shendu.manual_seed(0)
    config = {"lr": 1e-2, "hidden": [16], "gamma": 0.9, **({"loss": loss} if loss else {})}
    agent = DQN(4, "discrete", 2, config, rng=np.random.default_rng(0))
    n = 1000
    obs = np.tile([[0.5, -0.5, 0.25, 1.0]], (n, 1))
    agent.buffer.add(obs, np.arange(n) % 2, np.ones(n), obs, (np.arange(n) % 5 == 0).astype(float))
    for u in range(600):
        if u % 20 == 0:
            agent.sync_target()
        agent.update()
    return agent.q(obs[:1]).numpy()[0]


def test_dqn_default_loss_regresses_q_onto_the_mean_target():
    # The bug that kept DQN from solving CartPole: with the Huber loss the terminal transitions
    # (target r = 1, far below the bootstrapped ones) count as outliers whose pull is capped at δ = 1,
    # so Q settles where 0.8 · (1 − 0.1 Q) = 0.2, Q = 7.5 — twice the true value (on CartPole, past
    # 1/(1 − γ) = 100 and diverging). The default loss must find the mean of the targets.
    np.testing.assert_allclose(_one_state_dqn(None), 1 / (1 - 0.9 * 0.8), atol=0.4)
    assert _one_state_dqn("huber").min() > 6.0
    with pytest.raises(ValueError, match="loss must be 'mse' or 'huber'"):
        DQN(4, "discrete", 2, {"loss": "l1"})


def test_dqn_stores_the_environment_transitions():
    # What DQN puts in its replay buffer is what a single environment does with the same actions:
    # the final observation (not the next episode's reset one) as next_obs, terminated only when the
    # pole falls, never a transition from a final to a reset observation.
    env = rl.make_vec_env("CartPole-v1", 1, seed=4)
    runner = VecRunner(env, seed=4)
    agent = DQN(4, "discrete", 2, {"learning_starts": 10**9}, rng=np.random.default_rng(0))
    for _ in range(300):
        agent.iteration(runner, 0.0)
    env.close()
    single = gym.make("CartPole-v1")
    o, _ = single.reset(seed=4)
    b = agent.buffer
    assert len(b) == 300 and len(runner.episode_returns) > 5
    for t in range(300):
        np.testing.assert_array_equal(b.obs[t], o)
        o2, r, term, trunc, _ = single.step(int(b.actions[t]))
        np.testing.assert_array_equal(b.next_obs[t], o2)
        assert b.rewards[t] == r and b.terminated[t] == term
        o = single.reset()[0] if term or trunc else o2


def test_ppo_clip_loss_value_and_gradient_match_torch():
    rng = np.random.default_rng(1)
    new, old, adv = rng.normal(size=16) * 0.5, rng.normal(size=16) * 0.5, rng.normal(size=16)
    x = shendu.tensor(new, requires_grad=True)
    loss = ppo_clip_loss(x, old, adv, clip=0.2)
    loss.backward()
    t = torch.tensor(new, requires_grad=True)
    ratio = torch.exp(t - torch.tensor(old))
    a = torch.tensor(adv)
    ref = -torch.min(ratio * a, torch.clamp(ratio, 0.8, 1.2) * a).mean()
    ref.backward()
    np.testing.assert_allclose(loss.item(), ref.item(), rtol=1e-5)
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-7)
    # outside the clip range in the direction the advantage favours, the gradient is zero
    clipped = (np.exp(new - old) > 1.2) & (adv > 0) | (np.exp(new - old) < 0.8) & (adv < 0)
    assert clipped.any() and np.all(x.grad.numpy()[clipped] == 0)


# ------------------------------------------------------------------ distributions
def test_categorical_log_prob_entropy_against_torch_and_gradcheck():
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(5, 4))
    actions = np.array([0, 3, 1, 2, 3])
    x = shendu.tensor(logits, requires_grad=True)
    dist = Categorical(x)
    ref = torch.distributions.Categorical(logits=torch.tensor(logits))
    np.testing.assert_allclose(dist.log_prob(actions).numpy(), ref.log_prob(torch.tensor(actions)).numpy(), atol=1e-12)
    np.testing.assert_allclose(dist.entropy().numpy(), ref.entropy().numpy(), atol=1e-12)
    assert shendu.gradcheck(lambda z: Categorical(z).log_prob(actions), shendu.tensor(logits))
    assert shendu.gradcheck(lambda z: Categorical(z).entropy(), shendu.tensor(logits))
    with pytest.raises(ValueError, match="integer actions in \\[0, 4\\)"):
        dist.log_prob(np.array([0, 4, 1, 1, 1]))


def test_categorical_sample_frequencies_and_seed():
    probs = np.array([0.1, 0.6, 0.3])
    logits = shendu.tensor(np.log(np.tile(probs, (20000, 1))))
    shendu.manual_seed(3)
    a = Categorical(logits).sample()
    shendu.manual_seed(3)
    np.testing.assert_array_equal(a, Categorical(logits).sample())
    np.testing.assert_allclose(np.bincount(a, minlength=3) / len(a), probs, atol=0.015)


def test_diag_gaussian_against_torch_and_gradcheck():
    rng = np.random.default_rng(4)
    mu, log_std, a = rng.normal(size=(6, 3)), rng.normal(size=3) * 0.3, rng.normal(size=(6, 3))
    dist = DiagGaussian(shendu.tensor(mu), shendu.tensor(log_std))
    ref = torch.distributions.Normal(torch.tensor(mu), torch.tensor(log_std).exp())
    np.testing.assert_allclose(dist.log_prob(a).numpy(), ref.log_prob(torch.tensor(a)).sum(-1).numpy(), atol=1e-12)
    np.testing.assert_allclose(dist.entropy().numpy(), ref.entropy().sum(-1).numpy(), atol=1e-12)
    assert shendu.gradcheck(lambda m, s: DiagGaussian(m, s).log_prob(a), shendu.tensor(mu), shendu.tensor(log_std))
    assert shendu.gradcheck(lambda m, s: DiagGaussian(m, s).entropy(), shendu.tensor(mu), shendu.tensor(log_std))
    shendu.manual_seed(0)
    s = DiagGaussian(shendu.tensor(np.zeros((50000, 1))), shendu.tensor(np.array([np.log(2.0)]))).sample()
    assert abs(s.mean()) < 0.05 and abs(s.std() - 2.0) < 0.05


# ------------------------------------------------------------------ storage and normalisation
def test_replay_buffer_wraps_around_oldest_first():
    buf = ReplayBuffer(5, (2,), rng=np.random.default_rng(0))
    for i in range(7):
        buf.add([[i, -i]], [i % 2], [float(i)], [[i + 1, 0]], [0.0])
    assert len(buf) == 5 and buf.added == 7
    # transitions 5 and 6 overwrote slots 0 and 1
    np.testing.assert_array_equal(buf.rewards, [5, 6, 2, 3, 4])
    np.testing.assert_array_equal(buf.obs[:, 0], [5, 6, 2, 3, 4])
    buf.add(np.array([[7, 0], [8, 0], [9, 0]]), [0, 1, 0], [7.0, 8.0, 9.0], np.zeros((3, 2)), [0, 0, 1])
    np.testing.assert_array_equal(buf.rewards, [5, 6, 7, 8, 9])
    assert buf.terminated[4] == 1


def test_replay_buffer_uniform_sampling_is_consistent_and_covers():
    buf = ReplayBuffer(100, (1,), rng=np.random.default_rng(1))
    for i in range(150):
        buf.add([[i]], [0], [i], [[i + 1]], [0])
    b = buf.sample(5000)
    np.testing.assert_array_equal(b["rewards"], b["obs"][:, 0])       # rows stay aligned
    np.testing.assert_array_equal(b["next_obs"][:, 0], b["obs"][:, 0] + 1)
    assert set(b["rewards"].astype(int)) == set(range(50, 150))      # only the kept ones, all of them
    assert np.all(b["weights"] == 1)
    with pytest.raises(ValueError, match="empty"):
        ReplayBuffer(3, (1,)).sample(1)


def test_prioritised_replay_probabilities_and_weights():
    buf = ReplayBuffer(4, (1,), alpha=1.0, beta=1.0, eps=0.0, rng=np.random.default_rng(2))
    for i in range(4):
        buf.add([[i]], [0], [i], [[0]], [0])
    buf.update_priorities([0, 1, 2, 3], [1.0, 1.0, 2.0, 4.0])
    b = buf.sample(40000)
    freq = np.bincount(b["indices"], minlength=4) / 40000
    np.testing.assert_allclose(freq, [0.125, 0.125, 0.25, 0.5], atol=0.01)
    # w_i = (n P(i))^-β / max w: the rarest transitions get weight 1
    w = dict(zip(b["indices"], b["weights"]))
    np.testing.assert_allclose([w[0], w[2], w[3]], [1.0, 0.5, 0.25], rtol=1e-6)
    buf.add([[9]], [0], [9], [[0]], [0])  # new transitions enter with the largest priority
    assert buf.priorities[0] == 4.0


def test_rollout_storage_flat_and_full():
    st = RolloutStorage(2, 3, (4,))
    for t in range(2):
        st.add(np.full((3, 4), t), np.arange(3), np.zeros(3), np.zeros(3), np.ones(3), np.zeros(3), np.zeros(3),
               np.zeros((3, 4)))
    obs, actions = st.flat("obs", "actions")
    assert obs.shape == (6, 4) and actions.tolist() == [0, 1, 2, 0, 1, 2]
    with pytest.raises(ValueError, match="full"):
        st.add(*([0] * 8))


def test_running_mean_std_matches_numpy():
    rng = np.random.default_rng(5)
    batches = [rng.normal(3.0, 2.0, size=(n, 2)) for n in (1, 7, 30, 5)]
    rms = RunningMeanStd((2,))
    for b in batches:
        rms.update(b)
    allx = np.concatenate(batches)
    np.testing.assert_allclose(rms.mean, allx.mean(0), rtol=1e-4)
    np.testing.assert_allclose(rms.var, allx.var(0), rtol=1e-4)
    norm = ObsNormalizer((2,), clip=1.0)
    norm.rms = rms
    z = norm(allx)
    assert z.max() <= 1.0 and z.min() >= -1.0
    assert np.array_equal(ObsNormalizer((2,), enabled=False)(allx), allx.astype(np.float32))


# ------------------------------------------------------------------ environments
def test_vec_runner_hands_on_final_observation_at_truncation():
    env = gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync", max_episode_steps=5,
                       vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP})
    runner = VecRunner(env, seed=0)
    for t in range(5):
        next_obs, rewards, term, trunc = runner.step(np.array([t % 2, (t + 1) % 2]))
    assert trunc.tolist() == [1.0, 1.0] and term.tolist() == [0.0, 0.0]
    assert runner.episode_lengths == [5, 5] and runner.episode_returns == [5.0, 5.0]
    assert not np.allclose(next_obs, runner.obs)              # the final state, not the reset one
    single = gym.make("CartPole-v1", max_episode_steps=5)   # environment 0 alone, same seed and actions
    single.reset(seed=0)
    for t in range(5):
        final, *_ = single.step(t % 2)
    np.testing.assert_array_equal(next_obs[0], final)
    assert runner.steps == 10
    env.close()
