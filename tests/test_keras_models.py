"""shendu.keras models against real Keras 3 (torch backend): summaries, training steps, losses,
metrics, return values; saving; Keras's errors."""
import json

import numpy as np
import pytest

from keras_reference import rk, sk, torch

import shendu
from shendu.serialization import load_file, save_file

R = np.random.default_rng(0)


def convnet(k):
    return k.Sequential([
        k.Input((28, 28, 1), name="image"),
        k.layers.Conv2D(6, 5, padding="same", activation="relu", name="c1"),
        k.layers.MaxPooling2D(name="s2"),
        k.layers.Conv2D(16, 5, activation="relu", name="c3"),
        k.layers.AveragePooling2D(2, name="s4"),
        k.layers.BatchNormalization(name="bn"),
        k.layers.Flatten(name="flat"),
        k.layers.Dropout(0.25, name="drop"),
        k.layers.Dense(10, activation="softmax", name="out"),
    ], name="lenet")


def lstm_model(k):
    return k.Sequential([
        k.Input((12,), dtype="int32"),
        k.layers.Embedding(50, 8, name="emb"),
        k.layers.Bidirectional(k.layers.LSTM(6, return_sequences=True), name="bi"),
        k.layers.GRU(5, name="gru"),
        k.layers.Dense(1, activation="sigmoid", name="out"),
    ], name="text")


def two_inputs(k):
    a = k.Input((8,), name="a")
    b = k.Input((6, 4), name="b")
    h = k.layers.Dense(4, activation="relu", name="ha")(a)
    g = k.layers.GlobalAveragePooling1D(name="pool")(k.layers.Conv1D(4, 3, padding="same", name="conv")(b))
    s = k.layers.Add(name="add")([h, g])
    c = k.layers.Concatenate(name="cat")([s, a])
    out = k.layers.Dense(3, activation="softmax", name="out")(c)
    return k.Model([a, b], out, name="two")


def summary_lines(model, **kwargs):
    lines = []
    model.summary(print_fn=lambda text, *a, **kw: lines.extend(text.split("\n")), **kwargs)
    return lines


def table(lines):
    """The rows of a summary: [name (type), shape, params(, connected)] and the totals lines."""
    rows, current = [], None
    for line in lines:
        if line.startswith("│"):  # a row's line (Keras wraps long cells over several lines)
            cells = [c.strip() for c in line.split("│")[1:-1]]
            current = cells if current is None else [f"{a} {b}".strip() for a, b in zip(current, cells)]
        elif current is not None:
            rows.append(current)
            current = None
    totals = [line for line in lines if "params:" in line]
    return rows, totals


@pytest.mark.parametrize("build", [convnet, lstm_model, two_inputs])
def test_summary_shapes_and_parameter_counts_match_keras(build):
    ref, mine = build(rk), build(sk)
    r_rows, r_totals = table(summary_lines(ref))
    m_rows, m_totals = table(summary_lines(mine))
    if build is lstm_model:  # Keras does not list the InputLayer of a Sequential; shendu neither
        r_rows = [r for r in r_rows if "InputLayer" not in r[0]]
    assert len(m_rows) == len(r_rows)
    for m_row, r_row in zip(m_rows, r_rows):  # Keras cuts a cell too long for its column with "…"
        assert len(m_row) == len(r_row)
        for m_cell, r_cell in zip(m_row, r_row):
            assert m_cell.startswith(r_cell[:-1]) if r_cell.endswith("…") else m_cell == r_cell, (m_row, r_row)
    assert m_totals == r_totals
    assert mine.count_params() == ref.count_params()
    assert [w.shape for w in mine.get_weights()] == [tuple(w.shape) for w in ref.get_weights()]
    lines = summary_lines(mine)
    assert lines[0] == f'Model: "{mine.name}"' and lines[1].startswith("┏") and "┃ Layer (type)" in lines[2]


def _copy(ref, mine):
    mine.set_weights(ref.get_weights())


def _data(n=32):
    x = R.standard_normal((n, 28, 28, 1)).astype("float32")
    return x, R.integers(0, 10, n)


@pytest.mark.parametrize("build", [convnet, two_inputs, lstm_model])
def test_predictions_match_keras_after_copying_weights(build):
    ref, mine = build(rk), build(sk)
    _copy(ref, mine)
    if build is convnet:
        x = _data(8)[0]
    elif build is two_inputs:
        x = [R.standard_normal((8, 8)).astype("float32"), R.standard_normal((8, 6, 4)).astype("float32")]
    else:
        x = R.integers(0, 50, (8, 12)).astype("int32")
    np.testing.assert_allclose(mine.predict(x, verbose=0), ref.predict(x, verbose=0), rtol=1e-4, atol=1e-6)


OPTIMIZERS = {
    "sgd_nesterov": lambda k: k.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    "adam": lambda k: k.optimizers.Adam(1e-2),
    "adamw": lambda k: k.optimizers.AdamW(1e-2, weight_decay=0.1),
    "rmsprop_momentum": lambda k: k.optimizers.RMSprop(1e-2, momentum=0.5),
    "adagrad": lambda k: k.optimizers.Adagrad(0.1),
}


def small(k):
    return k.Sequential([k.Input((6,)), k.layers.Dense(8, activation="tanh", name="h",
                                                       kernel_regularizer=k.regularizers.l2(0.01)),
                         k.layers.Dense(3, activation="softmax", name="o")])


@pytest.mark.parametrize("opt", list(OPTIMIZERS))
def test_fit_steps_match_keras(opt):
    x = R.standard_normal((48, 6)).astype("float32")
    y = R.integers(0, 3, 48)
    ref, mine = small(rk), small(sk)
    _copy(ref, mine)
    for m, k in ((ref, rk), (mine, sk)):
        m.compile(optimizer=OPTIMIZERS[opt](k), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    hr = ref.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0, validation_split=0.25)
    hm = mine.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0, validation_split=0.25)
    assert sorted(hm.history) == sorted(hr.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    for key in hr.history:
        np.testing.assert_allclose(hm.history[key], hr.history[key], rtol=2e-4, atol=1e-6, err_msg=key)
    for a, b in zip(mine.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)
    assert hm.epoch == [0, 1, 2] and hm.params["epochs"] == 3


def test_evaluate_and_predict_return_keras_values():
    x = R.standard_normal((40, 6)).astype("float32")
    y = R.integers(0, 3, 40)
    ref, mine = small(rk), small(sk)
    _copy(ref, mine)
    for m, k in ((ref, rk), (mine, sk)):
        m.compile("adam", "sparse_categorical_crossentropy",
                  metrics=["accuracy", k.metrics.SparseTopKCategoricalAccuracy(k=2)])
    r, s = ref.evaluate(x, y, verbose=0), mine.evaluate(x, y, verbose=0)
    assert isinstance(s, list) and len(s) == 3
    np.testing.assert_allclose(s, r, rtol=1e-5)
    d = mine.evaluate(x, y, verbose=0, return_dict=True)
    assert list(d) == ["loss", "accuracy", "sparse_top_k_categorical_accuracy"]
    mine.compile("adam", "sparse_categorical_crossentropy")
    assert isinstance(mine.evaluate(x, y, verbose=0), float)
    p = mine.predict(x, batch_size=7, verbose=0)
    assert isinstance(p, np.ndarray) and p.shape == (40, 3) and p.dtype == np.float32


def test_class_weight_and_sample_weight_match_keras():
    x = R.standard_normal((32, 6)).astype("float32")
    y = R.integers(0, 3, 32)
    sw = R.random(32).astype("float32")
    ref, mine = small(rk), small(sk)
    _copy(ref, mine)
    for m, k in ((ref, rk), (mine, sk)):
        m.compile(k.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    for weights in (dict(sample_weight=sw), dict(class_weight={0: 1.0, 1: 3.0, 2: 0.5})):
        kw = dict(batch_size=8, epochs=2, shuffle=False, verbose=0, **weights)
        np.testing.assert_allclose(mine.fit(x, y, **kw).history["loss"], ref.fit(x, y, **kw).history["loss"],
                                   rtol=1e-4)
    with pytest.raises(ValueError, match="at the same time"):
        mine.fit(x, y, sample_weight=sw, class_weight={0: 1, 1: 1, 2: 1}, verbose=0)


LOSSES = [("CategoricalCrossentropy", "onehot", "prob"), ("SparseCategoricalCrossentropy", "int", "prob"),
          ("BinaryCrossentropy", "binary", "sigmoid"), ("MeanSquaredError", "real", "real"),
          ("MeanAbsoluteError", "real", "real"), ("MeanAbsolutePercentageError", "real", "real"),
          ("MeanSquaredLogarithmicError", "real", "positive"), ("Huber", "real", "real"),
          ("LogCosh", "real", "real"), ("Hinge", "binary", "real"), ("SquaredHinge", "binary", "real"),
          ("KLDivergence", "prob", "prob"), ("Poisson", "positive", "positive"), ("CosineSimilarity", "real", "real")]


def _targets(kind, shape):
    if kind == "onehot":
        return np.eye(shape[-1], dtype="float32")[R.integers(0, shape[-1], shape[:-1])]
    if kind == "int":
        return R.integers(0, shape[-1], shape[:-1])
    if kind == "binary":
        return R.integers(0, 2, shape).astype("float32")
    if kind == "prob":
        p = R.random(shape).astype("float32")
        return p / p.sum(-1, keepdims=True)
    if kind == "positive":
        return R.random(shape).astype("float32") + 0.1
    return R.standard_normal(shape).astype("float32")


@pytest.mark.parametrize("name,target,pred", LOSSES)
def test_losses_match_keras(name, target, pred):
    shape = (6, 4, 5)
    y = _targets(target, shape)
    if pred == "prob":
        p = _targets("prob", shape)
    elif pred == "sigmoid":
        p = 1 / (1 + np.exp(-R.standard_normal(shape))).astype("float32")
    else:
        p = _targets(pred, shape)
    p = p.astype("float32")
    sw = R.random((6, 4)).astype("float32")  # one weight per loss value (Keras broadcasts from the right)
    ref = getattr(rk.losses, name)()
    mine = getattr(sk.losses, name)()
    for weights in (None, sw):
        r = ref(torch.tensor(y), torch.tensor(p), sample_weight=None if weights is None else torch.tensor(weights))
        m = mine(y, shendu.tensor(p), sample_weight=weights)
        np.testing.assert_allclose(m.item(), float(r), rtol=1e-5, atol=1e-6, err_msg=name)


def test_from_logits_matches_keras():
    logits = R.standard_normal((5, 4)).astype("float32")
    y = R.integers(0, 4, 5)
    for cls in ("SparseCategoricalCrossentropy", "CategoricalCrossentropy", "BinaryCrossentropy"):
        t = y if cls.startswith("Sparse") else (np.eye(4, dtype="float32")[y] if cls.startswith("Cat") else
                                                 (R.random((5, 4)) > 0.5).astype("float32"))
        r = getattr(rk.losses, cls)(from_logits=True)(torch.tensor(t), torch.tensor(logits))
        m = getattr(sk.losses, cls)(from_logits=True)(t, shendu.tensor(logits))
        np.testing.assert_allclose(m.item(), float(r), rtol=1e-5, err_msg=cls)


METRICS = ["sparse_categorical_accuracy", "categorical_accuracy", "binary_accuracy", "top_k_categorical_accuracy",
           "mse", "mae", "Precision", "Recall", "RootMeanSquaredError"]


@pytest.mark.parametrize("name", METRICS)
def test_metrics_match_keras(name):
    p = R.random((20, 6)).astype("float32")
    if name.startswith("sparse"):
        y = R.integers(0, 6, 20)
    elif name in ("binary_accuracy", "Precision", "Recall"):
        y = R.integers(0, 2, (20, 6)).astype("float32")
    else:
        y = np.eye(6, dtype="float32")[R.integers(0, 6, 20)]
    ref, mine = rk.metrics.get(name), sk.metrics.get(name)
    for part in (slice(0, 7), slice(7, 20)):  # accumulated over two batches
        ref.update_state(torch.tensor(y[part]), torch.tensor(p[part]))
        mine.update_state(y[part], p[part])
    np.testing.assert_allclose(mine.result(), float(ref.result()), rtol=1e-5, err_msg=name)
    mine.reset_state()
    assert mine.result() == 0.0


def test_to_categorical_matches_keras():
    y = R.integers(0, 7, 30)
    np.testing.assert_array_equal(sk.utils.to_categorical(y), rk.utils.to_categorical(y))
    np.testing.assert_array_equal(sk.utils.to_categorical(y, 9), rk.utils.to_categorical(y, 9))
    with pytest.raises(ValueError, match="not < num_classes"):
        sk.utils.to_categorical([3], 2)


def test_save_and_load_model_round_trip(tmp_path):
    for build, x in ((convnet, _data(6)[0]), (lstm_model, R.integers(0, 50, (6, 12))),
                     (two_inputs, [R.standard_normal((6, 8)).astype("float32"),
                                   R.standard_normal((6, 6, 4)).astype("float32")])):
        model = build(sk)
        model.compile(sk.optimizers.Adam(3e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
        path = tmp_path / f"{model.name}.keras"
        model.save(path)
        loaded = sk.models.load_model(path)
        np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
        assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
        assert loaded.count_params() == model.count_params()
        assert isinstance(loaded.optimizer, sk.optimizers.Adam) and loaded.optimizer.learning_rate == 3e-3
        assert summary_lines(loaded)[1:] == summary_lines(model)[1:]


def test_loading_never_runs_code(tmp_path):
    model = small(sk)
    path = tmp_path / "m.keras"
    model.save(path)
    tensors, meta = load_file(path, with_metadata=True)
    config = json.loads(meta["shendu_config"])
    config["kwargs"]["layers"][0]["__module__"]["class"] = "os.system"
    meta["shendu_config"] = json.dumps(config)
    save_file(tensors, tmp_path / "evil.keras", metadata=meta)
    with pytest.raises(shendu.nn.UnsafeConfigError, match="os.system"):
        sk.models.load_model(tmp_path / "evil.keras")
    assert b"pickle" not in path.read_bytes()[:64]


def test_save_weights_and_file_names(tmp_path):
    model, other = small(sk), small(sk)
    model.save_weights(tmp_path / "w.weights.h5")
    other.load_weights(tmp_path / "w.weights.h5")
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"\.keras"):
        model.save(tmp_path / "m.bin")
    with pytest.raises(NotImplementedError, match="HDF5"):
        model.save(tmp_path / "m.h5")


def test_callbacks_early_stopping_checkpoint_csv_and_lr(tmp_path):
    x = R.standard_normal((40, 6)).astype("float32")
    y = R.integers(0, 3, 40)
    model = small(sk)
    model.compile(sk.optimizers.SGD(0.5), "sparse_categorical_crossentropy", metrics=["accuracy"])
    seen = []
    cbs = [sk.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5),
           sk.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=10.0),
           sk.callbacks.ModelCheckpoint(str(tmp_path / "m-{epoch:02d}.keras")),
           sk.callbacks.CSVLogger(tmp_path / "log.csv"),
           sk.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(sorted(logs)))]
    history = model.fit(x, y, epochs=10, batch_size=10, verbose=0, callbacks=cbs)
    assert history.epoch == [0, 1]  # no improvement by 10: stopped after the second epoch
    assert sorted(p.name for p in tmp_path.glob("m-*.keras")) == ["m-01.keras", "m-02.keras"]
    assert (tmp_path / "log.csv").read_text().splitlines()[0] == "epoch,accuracy,learning_rate,loss"
    assert seen[0] == ["accuracy", "learning_rate", "loss"]
    assert model.optimizer.learning_rate == pytest.approx(0.125)


def test_custom_callback_and_stop_training():
    class Stop(sk.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                self.model.stop_training = True

    model = small(sk)
    model.compile("adam", "sparse_categorical_crossentropy")
    h = model.fit(R.standard_normal((40, 6)), R.integers(0, 3, 40), epochs=5, batch_size=10, verbose=0,
                  callbacks=[Stop()])
    assert h.epoch == [0]


def test_verbose_output_is_keras_style(capsys):
    model = small(sk)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(R.standard_normal((20, 6)), R.integers(0, 3, 20), epochs=2, batch_size=10, verbose=2)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Epoch 1/2" and out[1].startswith("2/2 - ") and " - accuracy: " in out[1]
    model.fit(R.standard_normal((20, 6)), R.integers(0, 3, 20), epochs=1, verbose=0)
    assert capsys.readouterr().out == ""


def test_subclassed_model_trains():
    class MLP(sk.Model):
        def __init__(self):
            super().__init__()
            self.hidden = sk.layers.Dense(16, activation="relu")
            self.drop = sk.layers.Dropout(0.1)
            self.out = sk.layers.Dense(2)

        def call(self, inputs, training=False):
            return self.out(self.drop(self.hidden(inputs), training=training))

    x = R.standard_normal((64, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    model = MLP()
    model.compile(sk.optimizers.Adam(0.05), sk.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    h = model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert h.history["accuracy"][-1] > 0.9
    assert len(model.layers) == 3 and model.count_params() == 3 * 16 + 16 + 16 * 2 + 2


def test_unsupported_features_name_an_alternative():
    cases = [lambda: sk.layers.LSTM(4, recurrent_dropout=0.2), lambda: sk.layers.Embedding(10, 4, mask_zero=True),
             lambda: sk.layers.Dense(3, kernel_constraint="max_norm"), lambda: sk.optimizers.Adam(clipnorm=1.0),
             lambda: sk.callbacks.TensorBoard(), lambda: sk.layers.Dense(3, dtype="mixed_float16"),
             lambda: sk.optimizers.get("nadam")]
    for make in cases:
        with pytest.raises(NotImplementedError, match="shendu.keras does not support .*; "):
            make()
    with pytest.raises(TypeError, match="Unrecognized keyword arguments passed to Dense"):
        sk.layers.Dense(3, foo=1)


def test_shape_errors_name_the_layer_and_echo_the_received_shape():
    model = convnet(sk)
    with pytest.raises(ValueError, match=r'layer "lenet" is incompatible.*expected shape=\(None, 28, 28, 1\), '
                                         r"found shape=\(2, 28, 28\)"):
        model.predict(np.zeros((2, 28, 28), "float32"), verbose=0)
    with pytest.raises(ValueError, match=r'"d" is incompatible.*received input with shape \(2, 5\)'):
        d = sk.layers.Dense(3, name="d")
        d(np.zeros((2, 4), "float32"))
        d(np.zeros((2, 5), "float32"))
    with pytest.raises(ValueError, match=r"matching shapes except for the concatenation axis. Received: "
                                         r"input_shape=\[\(None, 3\), \(None, 4, 1\)\]"):
        sk.layers.Concatenate()([sk.Input((3,)), sk.Input((4, 1))])
    with pytest.raises(RuntimeError, match="compile"):
        small(sk).fit(np.zeros((4, 6)), np.zeros(4))


def test_cifar10_load_data_gives_keras_layout(tmp_path):
    """keras.datasets.cifar10.load_data over shendu's reader: uint8 (N, 32, 32, 3), labels (N, 1)."""
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    images = R.integers(0, 256, (6, 3, 32, 32), dtype=np.uint8)
    labels = np.arange(6, dtype=np.uint8)
    for i, name in enumerate([f"data_batch_{k}.bin" for k in range(1, 6)] + ["test_batch.bin"]):
        record = np.concatenate([labels[i:i + 1], images[i].reshape(-1)])
        (folder / name).write_bytes(record.tobytes())
    (x_train, y_train), (x_test, y_test) = sk.datasets.cifar10.load_data(root=tmp_path)
    assert x_train.shape == (5, 32, 32, 3) and x_train.dtype == np.uint8 and y_train.shape == (5, 1)
    np.testing.assert_array_equal(x_train, images[:5].transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(x_test[0], images[5].transpose(1, 2, 0))
    assert y_test.tolist() == [[5]]
