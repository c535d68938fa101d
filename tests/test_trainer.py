"""shendu.training.Trainer: the one set-up path (lazy layers built before the optimizers, in fit,
lr_find, tune and the scikit-learn estimators), custom train_step / test_step with several
named optimizers (a GAN, bit-exact resume), Keras's probability losses, bad batch sizes,
predicting on 0 samples, and the Module methods found where a reader looks."""
import inspect
import json
import os
import pathlib
import warnings

import numpy as np
import pytest

import shendu
from shendu import backend, nn
from shendu import functional as F
from shendu.training import (BinaryCrossentropy, CategoricalCrossentropy, ModelCheckpoint, SparseCategoricalCrossentropy,
                             Trainer)

torch = pytest.importorskip("torch")


def blobs(n=96, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = (rng.normal(size=(n, 4)) + 2.0 * np.eye(3, 4)[y]).astype(np.float32)
    return x, y


def mixed(built):
    """Linear (eager) + Dense (lazy); ``built``: the twin whose Dense is built before compile."""
    backend.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dense(3))
    if built:
        m.build((None, 4))
    return m


def optimized(trainer):
    return {id(p) for g in trainer.optimizer.param_groups for p in g["params"]}


# ------------------------------------------------------------------ one set-up path
def test_mixed_eager_and_lazy_model_trains_every_parameter_in_fit():
    x, y = blobs()
    losses, models = [], []
    for built in (False, True):  # each made (and seeded) just before its fit
        m = mixed(built).compile("sgd", lr=0.1)
        losses.append(m.fit(x, y, epochs=3, batch_size=16, seed=1, verbose=0).history["loss"])
        assert optimized(m.trainer) == {id(p) for p in m.parameters()}
        models.append(m)
    assert losses[0] == losses[1]
    for (k, a), b in zip(models[0].state_dict().items(), models[1].state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)


def test_mixed_model_in_lr_find():
    x, y = blobs()
    results = [shendu.lr_find(mixed(built), (x, y), optimizer="sgd", num_steps=12, batch_size=16, end_lr=1.0)
               for built in (False, True)]  # each model made (and seeded) just before its test
    assert results[0].raw_losses == results[1].raw_losses


def test_mixed_model_in_tune_protocol():
    from shendu.data import load
    from shendu.training.run import Preprocess
    from shendu.tune import ModelBuilder, train_config

    digits = load("digits")
    x, y = digits.x_train[:300], digits.y_train[:300]

    def factory(built):
        def make(num_classes, in_channels):
            m = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Dense(num_classes))
            return m.build((None, in_channels, 8, 8)) if built else m
        return make

    pre = Preprocess.for_images(x, (8, 8))
    histories = []
    for built in (False, True):
        builder = ModelBuilder(factory(built), 10, 1, x.shape[1:])
        net, history = train_config(builder, x, y, pre, {"optimizer": "sgd", "lr": 0.05}, epochs=2, seed=0)
        assert optimized(net.trainer) == {id(p) for p in net.parameters()}
        histories.append(history["loss"])
    assert histories[0] == histories[1]


def test_mixed_model_in_the_sklearn_estimator():
    pytest.importorskip("sklearn")
    from shendu.sklearn import NeuralNetClassifier

    x, y = blobs()
    make = lambda n_in, n_out, built: (nn.Sequential(nn.Linear(n_in, 8), nn.ReLU(), nn.Dense(n_out))  # noqa: E731
                                       .build((None, n_in)) if built else
                                       nn.Sequential(nn.Linear(n_in, 8), nn.ReLU(), nn.Dense(n_out)))
    curves = []
    for built in (False, True):
        clf = NeuralNetClassifier(module=make, module_params={"built": built}, optimizer="sgd", lr=0.1, epochs=3,
                                  random_state=0).fit(x, y)
        assert optimized(clf._trainer) == {id(p) for p in clf.model_.parameters()}
        curves.append(clf.loss_curve_)
    assert curves[0] == curves[1]


class Replaceable(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 8)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        return self.head(F.relu(self.body(x)))


def test_parameters_added_after_the_first_fit_reach_the_optimizer():
    x, y = blobs()
    m = Replaceable().compile("adam", lr=1e-2)
    m.fit(x, y, epochs=1, verbose=0, seed=0)
    m.head = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Dense(3))  # a new head, partly lazy
    before = m.head[0].weight.numpy().copy()
    m.fit(x, y, epochs=1, verbose=0, seed=0)
    assert optimized(m.trainer) >= {id(p) for p in m.parameters()}
    assert not np.array_equal(before, m.head[0].weight.numpy())


def test_bad_batch_size_is_refused():
    x, y = blobs()
    m = mixed(True).compile("sgd")
    for bad in (0, -4, 2.5):
        with pytest.raises(ValueError, match=f"fit: batch_size must be a positive integer, got {bad}"):
            m.fit(x, y, batch_size=bad, verbose=0)
    with pytest.raises(ValueError, match="predict: batch_size must be a positive integer, got 0"):
        m.predict(x, batch_size=0)


def test_predict_on_zero_samples_is_empty_with_the_output_shape():
    m = mixed(False)
    out = m.predict(np.zeros((0, 4), np.float32))
    assert out.shape == (0, 3) and out.dtype == np.float32
    conv = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten())
    assert conv.predict(np.zeros((0, 1, 5, 5), np.float32)).shape == (0, 18)


def test_module_methods_are_defined_on_module():
    from shendu.nn.module import Module

    for name in ("compile", "fit", "evaluate", "predict", "summary", "save", "optimizers"):
        assert name in vars(Module), name
        assert inspect.getsourcefile(Module) == inspect.getsourcefile(shendu.nn.module)
    with pytest.raises(RuntimeError, match="call model.compile"):
        mixed(True).fit(*blobs())


def test_save_method_round_trips(tmp_path):
    m = mixed(True)
    m.save(tmp_path / "m.safetensors")
    back = shendu.load(tmp_path / "m.safetensors")
    x = np.ones((2, 4), np.float32)
    np.testing.assert_array_equal(m.predict(x), back.predict(x))


def test_use_rng_draws_from_the_given_generator_and_restores():
    backend.manual_seed(3)
    expected = backend.rng().random()
    backend.manual_seed(3)
    with backend.use_rng(np.random.default_rng(7)) as g:
        assert backend.rng() is g
        inside = backend.rng().random()
    assert inside == np.random.default_rng(7).random()
    assert backend.rng().random() == expected


# ------------------------------------------------------------------ Keras losses
def torch_probs(p):
    return torch.clamp(p / p.sum(1, keepdim=True), 1e-7, 1 - 1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_keras_losses_on_probabilities_match_torch(dtype):
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(5), size=6).astype(dtype)
    p[0] = np.eye(5)[2]  # exact zeros and a one: clipped, finite
    t = rng.integers(0, 5, 6)
    t[0] = 0
    onehot = np.eye(5, dtype=dtype)[rng.integers(0, 5, 6)]
    cases = [(SparseCategoricalCrossentropy(), t, lambda q: torch.nn.functional.nll_loss(torch_probs(q).log(),
                                                                                          torch.tensor(t))),
             (CategoricalCrossentropy(), onehot, lambda q: -(torch.tensor(onehot) * torch_probs(q).log()).sum(1).mean())]
    for loss, target, reference in cases:
        x = shendu.tensor(p, requires_grad=True)
        out = loss(x, shendu.tensor(target))
        out.backward()
        q = torch.tensor(p, requires_grad=True)
        ref = reference(q)
        ref.backward()
        assert np.isfinite(out.item())
        np.testing.assert_allclose(out.item(), ref.item(), rtol=1e-5)
        np.testing.assert_allclose(x.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-6)
    probs = rng.uniform(0, 1, (6, 3)).astype(dtype)
    probs[0, 0], probs[0, 1] = 0.0, 1.0
    labels = rng.integers(0, 2, (6, 3)).astype(dtype)
    x = shendu.tensor(probs, requires_grad=True)
    out = BinaryCrossentropy()(x, shendu.tensor(labels))
    q = torch.clamp(torch.tensor(probs), 1e-7, 1 - 1e-7)
    ref = -(torch.tensor(labels) * q.log() + (1 - torch.tensor(labels)) * (1 - q).log()).mean()
    np.testing.assert_allclose(out.item(), ref.item(), rtol=1e-5)


def test_keras_losses_from_logits_are_the_logit_losses():
    rng = np.random.default_rng(1)
    z = shendu.tensor(rng.normal(size=(5, 4)).astype(np.float32))
    t = shendu.tensor(rng.integers(0, 4, 5))
    assert SparseCategoricalCrossentropy(from_logits=True)(z, t).item() == F.cross_entropy(z, t).item()
    b = shendu.tensor(rng.integers(0, 2, (5, 4)).astype(np.float32))
    assert BinaryCrossentropy(from_logits=True)(z, b).item() == F.binary_cross_entropy_with_logits(z, b).item()
    tr = Trainer(mixed(True), "sgd", loss=("sparse_categorical_crossentropy", {"from_logits": True}))
    assert isinstance(tr.loss_fn, SparseCategoricalCrossentropy) and tr.loss_fn.from_logits
    assert not Trainer(mixed(True), "sgd", loss="sparse_categorical_crossentropy").loss_fn.from_logits
    with pytest.raises(ValueError, match="categorical_crossentropy: expected one-hot"):
        CategoricalCrossentropy()(z, t)


def digits_model(activation):
    backend.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Dense(32, activation="relu"), nn.Dense(10, activation=activation))


def test_keras_ending_trains_on_digits_with_the_keras_loss():
    from shendu.data import load

    d = load("digits")
    m = digits_model("softmax")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a softmax with a probability loss is right: no warning
        m.compile("adam", loss="sparse_categorical_crossentropy", lr=1e-2, metrics=["accuracy"])
    h = m.fit(d.x_train, d.y_train, epochs=8, batch_size=32, seed=0, verbose=0)
    assert h.history["loss"][-1] < 0.3  # the logits loss on these probabilities stalled at 1.46
    assert m.evaluate(d.x_test, d.y_test)["accuracy"] > 0.9


def test_softmax_with_a_logits_loss_warns_naming_the_layer_and_the_fix():
    with pytest.warns(UserWarning, match=r"last layer 2 \(Dense\) applies a softmax.*"
                                         r"loss='sparse_categorical_crossentropy'"):
        digits_model("softmax").compile("adam", loss="cross_entropy")
    with pytest.warns(UserWarning, match="last layer 1 \\(Softmax\\)"):
        nn.Sequential(nn.Dense(3), nn.Softmax(dim=1)).compile("adam", loss=SparseCategoricalCrossentropy(True))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        digits_model(None).compile("adam", loss="cross_entropy")


# ------------------------------------------------------------------ custom steps, several optimizers
class GAN(nn.Module):
    """A small GAN on 2-D points: G maps noise z ~ N(0, I) to points, D scores real vs generated."""

    def __init__(self):
        super().__init__()
        self.generator = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
        self.discriminator = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))

    def forward(self, z):
        return self.generator(z)

    def losses(self, real, fake):
        n = real.shape[0]
        d_loss = (F.binary_cross_entropy_with_logits(self.discriminator(real), shendu.ones(n, 1))
                  + F.binary_cross_entropy_with_logits(self.discriminator(fake.detach()), shendu.zeros(n, 1)))
        return d_loss

    def train_step(self, real):
        d_opt, g_opt = self.optimizers["discriminator"], self.optimizers["generator"]
        fake = self.generator(shendu.randn(real.shape[0], 2))
        d_opt.zero_grad()
        d_loss = self.losses(real, fake)
        d_loss.backward()
        d_opt.step()
        g_opt.zero_grad()
        g_loss = F.binary_cross_entropy_with_logits(self.discriminator(fake), shendu.ones(real.shape[0], 1))
        g_loss.backward()
        g_opt.step()
        return {"d_loss": d_loss.item(), "g_loss": g_loss.item()}

    def test_step(self, real):
        fake = self.generator(shendu.randn(real.shape[0], 2))
        g_loss = F.binary_cross_entropy_with_logits(self.discriminator(fake), shendu.ones(real.shape[0], 1))
        return {"d_loss": self.losses(real, fake).item(), "g_loss": g_loss.item()}


def ring(n=128, seed=0):
    a = np.random.default_rng(seed).uniform(0, 2 * np.pi, n)
    return np.stack([np.cos(a), np.sin(a)], 1).astype(np.float32)


class Interrupt(shendu.training.Callback):
    """Stops the process's run after an epoch, as a kill would (the checkpoint is already written)."""

    def __init__(self, after):
        self.after = after

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.after:
            raise KeyboardInterrupt


def gan_run(directory, epochs, resume=None, stop_after=None):
    backend.manual_seed(0)
    gan = GAN().compile({"generator": ("adam", {"lr": 2e-3, "betas": (0.5, 0.999)}), "discriminator": "adam"},
                        lr=1e-3, schedule="cosine")
    seen = []
    logger = shendu.training.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(sorted(logs)))
    history = gan.fit(ring(), epochs=epochs, batch_size=32, seed=0, validation_data=ring(64, 1),
                      callbacks=[ModelCheckpoint(directory, save_best=False), logger]
                      + ([Interrupt(stop_after)] if stop_after else []), resume=resume, verbose=0)
    return gan, history, seen


def test_gan_with_two_optimizers_resumes_bit_exactly(tmp_path):
    straight, history, seen = gan_run(tmp_path / "straight", epochs=3)
    assert {"d_loss", "g_loss", "val_d_loss", "val_g_loss", "lr"} <= set(seen[-1])
    assert all(np.isfinite(history.history["g_loss"]))
    with pytest.raises(KeyboardInterrupt):
        gan_run(tmp_path / "cut", epochs=3, stop_after=1)  # interrupted after epoch 1
    assert shendu.training.read_checkpoint(tmp_path / "cut" / "last.ckpt")[2]["epoch"] == 1
    resumed, _, _ = gan_run(tmp_path / "cut", epochs=3, resume=tmp_path / "cut" / "last.ckpt")
    for (k, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    for name in ("generator", "discriminator"):
        sa, sb = straight.optimizers[name].state_dict(), resumed.optimizers[name].state_dict()
        assert json.dumps(sa["param_groups"]) == json.dumps(sb["param_groups"])
        for i, st in sa["state"].items():
            for key, v in st.items():
                np.testing.assert_array_equal(np.asarray(getattr(v, "data", v)),
                                              np.asarray(getattr(sb["state"][i][key], "data", sb["state"][i][key])))
        assert straight.trainer.schedulers[name].state_dict() == resumed.trainer.schedulers[name].state_dict()
    assert straight.optimizers["generator"].param_groups[0]["betas"] == (0.5, 0.999)


def test_checkpoint_of_named_optimizers_refuses_a_single_one(tmp_path):
    gan_run(tmp_path, epochs=1)
    m = mixed(True).compile("sgd")
    m.trainer.setup()
    with pytest.raises(ValueError, match="holds no optimizer state of a single optimizer"):
        shendu.training.load_checkpoint(tmp_path / "last.ckpt", GAN(), m.trainer.optimizer)


def test_nan_guard_covers_a_custom_step():
    class Bad(GAN):
        def train_step(self, real):
            return {"loss": float("nan")}

    m = Bad().compile({"generator": "sgd", "discriminator": "sgd"})
    with pytest.raises(shendu.training.NonFiniteError, match="the log 'loss' became nan at epoch 1, step 1"):
        m.fit(ring(), epochs=1, verbose=0)


def test_unsupervised_data_need_a_custom_step():
    m = mixed(True).compile("sgd")
    with pytest.raises(ValueError, match="the standard step takes \\(inputs, targets\\) batches"):
        m.fit(ring(32, 0).repeat(2, 1), epochs=1, verbose=0)


def test_trainer_subclass_with_an_autoencoder_step():
    class AutoencoderTrainer(Trainer):
        def train_step(self, x):
            opt = self.optimizers["default"]
            opt.zero_grad()
            loss = F.mse_loss(self.model(x), x)
            loss.backward()
            opt.step()
            return {"loss": loss.item()}

    backend.manual_seed(0)
    ae = nn.Sequential(nn.Linear(2, 1), nn.Linear(1, 2))
    h = AutoencoderTrainer(ae, "adam", lr=1e-2).fit(ring(), epochs=20, batch_size=32, seed=0, verbose=0)
    assert h.history["loss"][-1] < 0.6 * h.history["loss"][0]


def test_optimizer_by_name_needs_the_submodule():
    m = mixed(True).compile({"encoder": "adam"})
    with pytest.raises(ValueError, match="has no sub-module 'encoder'"):
        m.trainer.setup()
    with pytest.raises(TypeError, match="takes no option"):
        mixed(True).compile("adam", optimizer_options={"momentum": 0.9})


def test_doc_of_training_names_the_design():
    text = (pathlib.Path(__file__).resolve().parents[1] / "docs" / "training.md").read_text(encoding="utf-8")
    assert "train_step" in text and "Trainer" in text
    assert os.path.exists(pathlib.Path(shendu.__file__).parent / "tune" / "__init__.py")
