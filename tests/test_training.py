"""Keras-style training: compile / fit / evaluate / predict, callbacks, metrics, the NaN guard."""
import os

import numpy as np
import pytest

import shendu
import shendu.training  # noqa: F401  (adds compile/fit/evaluate/predict to Module)
from shendu import nn
from shendu.training import (CSVLogger, EarlyStopping, LambdaCallback, LearningRateScheduler, ModelCheckpoint,
                             NonFiniteError, metrics)


def blobs(n=300, classes=3, dim=4, seed=0):
    r = np.random.default_rng(seed)
    centers = r.standard_normal((classes, dim)) * 3
    y = r.integers(0, classes, n)
    x = centers[y] + r.standard_normal((n, dim))
    return x.astype(np.float32), y.astype(np.int64)


def mlp(dim=4, classes=3, dropout=0.0):
    layers = [nn.Linear(dim, 16), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(16, classes))
    return nn.Sequential(*layers)


def test_fit_learns_blobs_and_reports_history(capsys):
    x, y = blobs()
    model = mlp().compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"], lr=0.01)
    hist = model.fit(x, y, epochs=15, batch_size=32, validation_split=0.2, seed=1, verbose=2)
    out = capsys.readouterr().out
    assert "parameters" in out and "training" in out and "validation" in out  # the start-of-fit line
    assert len(hist.history["loss"]) == 15
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    assert hist.history["val_accuracy"][-1] > 0.9
    res = model.evaluate(x, y)
    assert set(res) == {"loss", "accuracy"} and res["accuracy"] > 0.9
    pred = model.predict(x)
    assert pred.shape == (300, 3)
    assert metrics.accuracy(pred, y) == pytest.approx(res["accuracy"])


def test_fit_is_the_textbook_loop():
    """fit with full-batch SGD and no shuffling equals the hand-written loop, bit for bit."""
    x, y = blobs(64)
    shendu.manual_seed(3)
    a = mlp()
    shendu.manual_seed(3)
    b = mlp()
    a.compile(optimizer=shendu.optim.SGD(a.parameters(), lr=0.1), loss="cross_entropy")
    a.fit(x, y, epochs=5, batch_size=64, shuffle=False, verbose=0)
    opt = shendu.optim.SGD(b.parameters(), lr=0.1)
    for _ in range(5):
        opt.zero_grad()
        loss = shendu.functional.cross_entropy(b(shendu.tensor(x)), shendu.tensor(y))
        loss.backward()
        opt.step()
    for (n, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        assert np.array_equal(p.data, q.data), n


def test_callbacks_early_stopping_checkpoint_csv_and_scheduler(tmp_path):
    x, y = blobs()
    model = mlp().compile(optimizer="sgd", loss="cross_entropy", metrics=["accuracy"], lr=0.05)
    seen = []
    stopper = EarlyStopping(monitor="val_loss", patience=1, min_delta=10.0)  # can never improve by 10
    ckpt = ModelCheckpoint(tmp_path / "ck", monitor="val_accuracy")
    hist = model.fit(x, y, epochs=20, validation_split=0.25, verbose=0,
                     callbacks=[stopper, ckpt, CSVLogger(tmp_path / "log.csv"),
                                LambdaCallback(on_epoch_end=lambda e, logs: seen.append(e))])
    assert len(hist.epoch) == 2 and stopper.stopped_epoch == 1 and seen == [0, 1]
    assert os.path.exists(ckpt.last_path) and os.path.exists(ckpt.best_path)
    rows = (tmp_path / "log.csv").read_text().strip().splitlines()
    assert rows[0].startswith("epoch,") and len(rows) == 3
    opt = shendu.optim.SGD(model.parameters(), lr=1.0)
    sched = shendu.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    model.compile(optimizer=opt, loss="cross_entropy")
    hist = model.fit(x, y, epochs=3, verbose=0, callbacks=[LearningRateScheduler(sched)])
    assert hist.history["lr"] == [0.5, 0.25, 0.125]


class Exploding(nn.Module):
    """Outputs log of its input: non-finite for the negative inputs given in the test."""

    def forward(self, x):
        return x.log()


def test_nan_guard_names_epoch_step_and_first_bad_layer():
    x, y = blobs(64)
    x[5] = -1.0
    model = nn.Sequential(Exploding(), nn.Linear(4, 3)).compile(optimizer="sgd", loss="cross_entropy")
    with pytest.raises(NonFiniteError) as err:
        model.fit(x, y, epochs=1, batch_size=64, shuffle=False, verbose=0)
    msg = str(err.value)
    assert "epoch 1, step 1" in msg and "0 (Exploding)" in msg and "last finite loss none yet" in msg
    # with the guard off, training runs on (and the loss is NaN)
    hist = model.fit(x, y, epochs=1, batch_size=64, shuffle=False, verbose=0, nan_guard=False)
    assert np.isnan(hist.history["loss"][0])


def test_resume_is_bit_identical(tmp_path):
    x, y = blobs(200)

    def make():
        shendu.manual_seed(7)
        m = mlp(dropout=0.3)
        return m.compile(optimizer="adam", loss="cross_entropy", lr=0.01)

    straight = make()
    straight.fit(x, y, epochs=2, batch_size=32, seed=5, verbose=0)
    first = make()
    first.fit(x, y, epochs=1, batch_size=32, seed=5, verbose=0,
              callbacks=[ModelCheckpoint(tmp_path, save_best=False)])
    shendu.manual_seed(12345)  # the checkpoint must restore the generator, whatever happened since
    resumed = make()
    resumed.fit(x, y, epochs=2, batch_size=32, seed=5, verbose=0, resume=tmp_path / "last.ckpt")
    for (n, p), (_, q) in zip(straight.named_parameters(), resumed.named_parameters()):
        assert np.array_equal(p.data, q.data), n


def test_metrics_match_scikit_learn():
    skm = pytest.importorskip("sklearn.metrics")
    r = np.random.default_rng(0)
    scores = r.standard_normal((200, 4))
    y = r.integers(0, 4, 200)
    pred = scores.argmax(1)
    for name, fn in [("precision", skm.precision_score), ("recall", skm.recall_score), ("f1", skm.f1_score)]:
        m = metrics.get_metric(name)
        m.update(scores[:100], y[:100])
        m.update(scores[100:], y[100:])
        assert m.result() == pytest.approx(fn(y, pred, average="macro"))
    assert np.array_equal(metrics.confusion_matrix(scores, y), skm.confusion_matrix(y, pred))
    top = metrics.TopKAccuracy(2)
    top.update(scores, y)
    assert top.result() == pytest.approx(skm.top_k_accuracy_score(y, scores, k=2))


def test_bad_inputs_are_clear_errors():
    model = mlp()
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(np.zeros((4, 4)), np.zeros(4))
    with pytest.raises(ValueError, match="unknown loss"):
        model.compile(loss="nonsense")
    with pytest.raises(ValueError, match="unknown optimizer"):
        model.compile(optimizer="nonsense").fit(np.zeros((4, 4), np.float32), np.zeros(4, np.int64), verbose=0)
    model.compile()
    with pytest.raises(ValueError, match="4 samples but y has 3"):
        model.fit(np.zeros((4, 4), np.float32), np.zeros(3, np.int64), verbose=0)


def test_float64_inputs_train_a_float32_model_in_float32():
    x, y = blobs(64)
    model = mlp().compile(optimizer="sgd", loss="cross_entropy", lr=0.1)
    model.fit(x.astype(np.float64), y, epochs=1, verbose=0)
    assert all(p.dtype == np.float32 and p.grad.dtype == np.float32 for p in model.parameters())
    assert model.predict(x.astype(np.float64)).dtype == np.float32


def test_an_exception_in_a_callback_closes_the_progress_bar():
    import io

    from shendu.training import ProgressBar

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    class Boom(Exception):
        pass

    def explode(step, logs):
        raise Boom()

    bar = ProgressBar(verbose=1, stream=Terminal())
    x, y = blobs(64)
    model = mlp().compile(optimizer="sgd", loss="cross_entropy")
    with pytest.raises(Boom):
        model.fit(x, y, epochs=1, callbacks=[bar, LambdaCallback(on_batch_end=explode)], stream=Terminal())
    assert bar.bar is None
