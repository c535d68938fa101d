"""Deep belief networks: greedy pre-training, the unrolled MLP computes the stack's features,
sampling, and `shendu train dbn`."""
import json

import numpy as np
import pytest

import shendu
from shendu.cli import main
from shendu.models.dbn import DBN
from shendu.models.rbm import GaussianBernoulliRBM


@pytest.fixture(scope="module")
def digits_x():
    return shendu.data.load("digits").x_train.reshape(-1, 64)


def test_pretraining_is_greedy_and_the_mlp_computes_the_same_features(digits_x):
    dbn = DBN((64, 32, 16), epochs=2, batch_size=20, random_state=0).pretrain(digits_x)
    first = dbn.rbms[0].transform(digits_x)
    # RBM 2 was trained on RBM 1's hidden probabilities: refitting it on them gives the same weights
    again = type(dbn.rbms[1])(**dbn.rbms[1].get_params()).set_params(n_visible=None).fit(first)
    np.testing.assert_array_equal(again.weight.data, dbn.rbms[1].weight.data)
    feats = dbn.transform(digits_x)
    assert feats.shape == (1437, 16)
    net = dbn.to_mlp(10)
    hidden = net[:-1](shendu.tensor(digits_x)).numpy()  # without the new output layer
    np.testing.assert_allclose(hidden, feats, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dbn(shendu.tensor(digits_x[:3])).numpy(), feats[:3], rtol=1e-5, atol=1e-6)
    assert net[-1].weight.shape == (10, 16) and np.abs(net[-1].weight.data).max() < 0.1
    assert dbn.reconstruct(digits_x[:4]).shape == (4, 64)
    s = dbn.sample(5, steps=20, random_state=0)
    assert s.shape == (5, 64) and s.min() >= 0 and s.max() <= 1


def test_a_gaussian_first_layer_is_unrolled_with_its_sigma(digits_x):
    z = (digits_x - digits_x.mean(0)) / (digits_x.std(0) + 1e-3)
    dbn = DBN((64, 16, 8), gaussian_input=True, learning_rate=(0.005, 0.05), epochs=1, random_state=0)
    assert isinstance(dbn.rbms[0], GaussianBernoulliRBM)
    dbn.rbms[0].sigma = 2.0
    dbn.pretrain(z)
    np.testing.assert_allclose(dbn.to_mlp(3)[:-1](shendu.tensor(z[:5])).numpy(), dbn.transform(z[:5]), rtol=1e-5,
                               atol=1e-6)


def test_bad_dbn_settings_are_named(digits_x):
    with pytest.raises(ValueError, match="DBN: layers must be two or more positive unit counts"):
        DBN((64,))
    with pytest.raises(ValueError, match="DBN: 2 RBMs need as many learning rates, got 3"):
        DBN((64, 8, 4), learning_rate=(0.1, 0.1, 0.1))
    with pytest.raises(ValueError, match="DBN: 2 RBMs need as many epochs, got 1"):
        DBN((64, 8, 4), epochs=[3])
    assert [r.epochs for r in DBN((64, 8, 4), epochs=(1, 5)).rbms] == [1, 5]
    with pytest.raises(ValueError, match=r"Bernoulli visible units need data in \[0, 1\]"):
        DBN((64, 8), epochs=1).pretrain(digits_x * 2 - 1)


def test_train_dbn_run_fine_tunes_a_classifier(tmp_path):
    from shendu.training.dbn_run import train_dbn_run

    m = train_dbn_run("digits", hidden=(64,), pretrain_epochs=3, epochs=6, lr=0.1, rbm_batch_size=20, out=tmp_path,
                      verbose=0)
    assert m["test_accuracy"] > 0.85 and m["layers"] == [64, 64] and m["labelled_samples"] == 1437
    assert len(m["rbm_history"]) == 1 and len(m["history"]["loss"]) == 6
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["test_accuracy"] == m["test_accuracy"]
    scarce = train_dbn_run("digits", hidden=(16,), pretrain_epochs=1, epochs=1, labels_per_class=5, out=tmp_path,
                           verbose=0)
    assert scarce["labelled_samples"] == 50


def test_shendu_train_dbn_writes_its_files(tmp_path, capsys):
    rc = main(["train", "dbn", "--dataset", "digits", "--epochs", "1", "--out", str(tmp_path), "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0 and "test accuracy" in out and "dbn 64-256-256 on digits" in out
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["layers"] == [64, 256, 256] and len(m["rbm_history"]) == 2 and len(m["history"]["loss"]) == 1
    for f in ("last.ckpt", "dbn.safetensors", "samples.png"):
        assert (tmp_path / f).stat().st_size > 0
    assert (tmp_path / "samples.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    state, meta = shendu.serialization.load_file(tmp_path / "dbn.safetensors", with_metadata=True)
    info = json.loads(meta["shendu_dbn"])
    dbn = DBN(tuple(info["layers"]), num_classes=info["num_classes"])
    dbn.load_state_dict({k: shendu.tensor(v) for k, v in state.items()})
    np.testing.assert_allclose(dbn.rbms[0].weight.data, state["rbms.0.weight"])
    assert main(["train", "dbn", "--dataset", "digits", "--optimizer", "adam"]) == 2
    assert "--optimizer does not apply" in capsys.readouterr().err


def test_label_units_give_class_conditional_samples(digits_x):
    # Hinton et al.'s label units: clamping them keeps the top RBM's chain in that class, so the
    # samples cover every class; an independent classifier (logistic regression on the pixels) checks it.
    from sklearn.linear_model import LogisticRegression

    y = shendu.data.load("digits").y_train
    dbn = DBN((64, 64, 64), epochs=15, learning_rate=0.1, random_state=0, num_classes=10).pretrain(digits_x, y)
    assert dbn.rbms[-1].n_visible == 74                      # 64 features + 10 label units
    clf = LogisticRegression(max_iter=2000).fit(digits_x, y)
    labels = np.repeat(np.arange(10), 10)
    s = dbn.sample(100, steps=100, random_state=1, labels=labels)
    assert s.shape == (100, 64) and 0 <= s.min() and s.max() <= 1
    pred = clf.predict(s)
    assert (pred == labels).mean() > 0.6 and len(set(pred)) == 10
    # the features and the unrolled MLP use the top RBM with the label units at 0
    np.testing.assert_allclose(dbn.to_mlp(10)[:-1](shendu.tensor(digits_x[:5])).numpy(), dbn.transform(digits_x[:5]),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dbn(shendu.tensor(digits_x[:5])).numpy(), dbn.transform(digits_x[:5]), rtol=1e-5,
                               atol=1e-6)
    # chains started from data (their features) instead of random states
    a = dbn.sample(20, steps=1, random_state=2, start=digits_x[:20])
    assert a.shape == (20, 64) and not np.allclose(a, dbn.sample(20, steps=1, random_state=2))
    with pytest.raises(ValueError, match="expected 3 start rows, got 20"):
        dbn.sample(3, start=digits_x[:20])
    with pytest.raises(ValueError, match=r"expected 100 integer labels in 0 … 9, got 100 .* in \[1, 10\]"):
        dbn.sample(100, labels=np.minimum(labels + 1, 10))
    with pytest.raises(ValueError, match="needs the labels y"):
        DBN((64, 8, 8), num_classes=10).pretrain(digits_x)
    with pytest.raises(ValueError, match="labels need a DBN with label units"):
        DBN((64, 8), epochs=1, random_state=0).pretrain(digits_x).sample(2, labels=[0, 1])


def test_shendu_evaluate_reads_a_dbn_checkpoint(tmp_path, capsys):
    from shendu.training.dbn_run import train_dbn_run
    from shendu.training.run import evaluate_run

    m = train_dbn_run("digits", hidden=(32,), pretrain_epochs=2, epochs=3, lr=0.1, rbm_batch_size=20, out=tmp_path,
                      verbose=0)
    res = evaluate_run(tmp_path / "last.ckpt")
    assert res["samples"] == 360 and res["accuracy"] == pytest.approx(m["test_accuracy"])
    assert main(["evaluate", str(tmp_path / "last.ckpt")]) == 0
    assert f"{100 * m['test_accuracy']:.2f}" in capsys.readouterr().out
    # the stack's file is not a classifier: the error names what evaluate expects
    assert main(["evaluate", str(tmp_path / "dbn.safetensors")]) == 2
    assert "last.ckpt" in capsys.readouterr().err
    # the classifier is not a generative model: `shendu sample` says so
    assert main(["sample", str(tmp_path / "last.ckpt"), "-n", "2", "--out", str(tmp_path / "s.png")]) == 2
    assert "is not a generative model's checkpoint" in capsys.readouterr().err
