"""Bad input gets a clear error naming the op or layer, what was expected and what came (issue #12 §4);
where PyTorch raises too, the test checks that it does."""
import io
import os
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
import torch

import shendu
import shendu.functional as F
from shendu import nn
from shendu.data import RandomCrop, RandomHorizontalFlip
from shendu.nn.module import IncompatibleKeys, StateDictError
from shendu.training import EarlyStopping, ModelCheckpoint, ProgressBar

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def both_raise(ours, theirs, error, match):
    """Ours raises ``error`` matching ``match``; PyTorch raises too."""
    with pytest.raises(error, match=match):
        ours()
    with pytest.raises(Exception):
        theirs()


# ----------------------------------------------------------------- class targets
@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("bad", [-1, 3, 7])
def test_class_targets_outside_range_raise_like_torch(fn, bad):
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    t = np.array([0, 2, bad, 1])
    both_raise(lambda: getattr(F, fn)(shendu.tensor(x), shendu.tensor(t)),
               lambda: getattr(torch.nn.functional, fn)(torch.tensor(x), torch.tensor(t)),
               IndexError, rf"{fn}: class-index targets must be in \[0, 3\).*got {bad}")


def test_per_pixel_targets_outside_range_raise_and_ignore_index_is_allowed():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4)).astype(np.float32)
    t = np.zeros((2, 4, 4), np.int64)
    t[1, 2, 3] = -1  # silently selected the last class before
    both_raise(lambda: F.cross_entropy(shendu.tensor(x), shendu.tensor(t)),
               lambda: torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(t)),
               IndexError, r"cross_entropy: class-index targets must be in \[0, 3\).*got -1")
    ours = F.cross_entropy(shendu.tensor(x), shendu.tensor(t), ignore_index=-1)
    theirs = torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(t), ignore_index=-1)
    assert abs(float(ours.item()) - float(theirs)) < 1e-5
    t[0, 0, 0] = 5
    both_raise(lambda: F.nll_loss(shendu.tensor(x), shendu.tensor(t), ignore_index=-1),
               lambda: torch.nn.functional.nll_loss(torch.tensor(x), torch.tensor(t), ignore_index=-1),
               IndexError, r"nll_loss: .*\[0, 3\).*got 5")


def test_fit_with_a_label_outside_the_classes_raises():
    x = np.random.default_rng(0).standard_normal((16, 4)).astype(np.float32)
    y = np.arange(16) % 3
    y[5] = 3  # three outputs, a fourth class in the labels
    model = nn.Sequential(nn.Linear(4, 3)).compile(optimizer="sgd", loss="cross_entropy")
    with pytest.raises(IndexError, match=r"class-index targets must be in \[0, 3\).*got 3"):
        model.fit(x, y, epochs=1, verbose=0)


# ----------------------------------------------------------------- recurrent lengths
@pytest.mark.parametrize("layer", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("bad", [6, 0, -2])
def test_recurrent_lengths_outside_1_to_L_raise(layer, bad):
    x = np.random.default_rng(0).standard_normal((5, 3, 4)).astype(np.float32)  # L = 5, N = 3
    lengths = [5, bad, 2]
    with pytest.raises(ValueError, match=rf"{layer}: lengths must be in \[1, 5\].*got lengths from"):
        getattr(nn, layer)(4, 6)(shendu.tensor(x), lengths=lengths)
    if bad <= 0:  # PyTorch refuses lengths ≤ 0 when packing
        with pytest.raises(Exception):
            torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), torch.tensor(lengths), enforce_sorted=False)


def test_recurrent_lengths_batch_first_and_valid_lengths_pass():
    rnn = nn.GRU(4, 6, batch_first=True)
    x = shendu.randn(3, 7, 4)
    out, _ = rnn(x, lengths=shendu.tensor([7, 1, 3]))
    assert out.shape == (3, 7, 6)
    with pytest.raises(ValueError, match=r"GRU: lengths must be in \[1, 7\]"):
        rnn(x, lengths=np.array([8, 1, 3]))


# ----------------------------------------------------------------- embedding, BCE
@pytest.mark.parametrize("bad", [-1, 10])
def test_embedding_index_out_of_range_raises_like_torch(bad):
    idx = np.array([[0, 3], [bad, 9]])
    ours, theirs = nn.Embedding(10, 4), torch.nn.Embedding(10, 4)
    both_raise(lambda: ours(shendu.tensor(idx)), lambda: theirs(torch.tensor(idx)),
               IndexError, rf"embedding: index out of range: expected indices in \[0, 10\).*{bad}")


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_bce_probabilities_outside_0_1_raise_like_torch(bad):
    p = np.array([0.2, bad, 0.9], np.float32)
    y = np.array([0.0, 1.0, 1.0], np.float32)
    both_raise(lambda: F.binary_cross_entropy(shendu.tensor(p), shendu.tensor(y)),
               lambda: torch.nn.functional.binary_cross_entropy(torch.tensor(p), torch.tensor(y)),
               ValueError, r"binary_cross_entropy: all elements of input should be between 0 and 1")
    assert np.isfinite(F.binary_cross_entropy(shendu.tensor([0.0, 1.0]), shendu.tensor([0.0, 1.0])).item())


# ----------------------------------------------------------------- callbacks
def blobs(n=48):
    r = np.random.default_rng(1)
    y = np.arange(n) % 3
    x = (r.standard_normal((n, 4)) + 3 * np.eye(3, 4)[y]).astype(np.float32)
    return x, y


def test_model_checkpoint_monitoring_a_missing_metric_raises(tmp_path):
    x, y = blobs()
    model = nn.Sequential(nn.Linear(4, 3)).compile(optimizer="sgd", loss="cross_entropy")
    with pytest.raises(KeyError, match=r"ModelCheckpoint: monitored value 'val_accuracy' is not in the logs"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[ModelCheckpoint(tmp_path, monitor="val_accuracy")])


def test_early_stopping_says_why_and_when_it_stopped():
    x, y = blobs()
    model = nn.Sequential(nn.Linear(4, 3)).compile(optimizer="sgd", loss="cross_entropy", lr=0.05)
    out = io.StringIO()
    stopper = EarlyStopping(monitor="val_loss", patience=2, min_delta=10.0, stream=out)  # can never improve
    hist = model.fit(x, y, epochs=10, validation_split=0.25, verbose=0, callbacks=[stopper])
    first = hist.history["val_loss"][0]
    msg = out.getvalue()
    assert stopper.stopped_epoch == 2 and msg == stopper.stop_reason + "\n"
    assert msg.startswith("EarlyStopping: stopped after epoch 3: val_loss ")
    assert f"best {first:.4g} at epoch 1" in msg and "for 2 epoch(s) (patience 2)" in msg


def test_progress_bar_shows_validation_metrics_in_80_columns():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    x, y = blobs(96)
    model = nn.Sequential(nn.Linear(4, 3)).compile(optimizer="sgd", loss="cross_entropy", metrics=["accuracy"])
    term = Terminal()
    model.fit(x, y, epochs=2, batch_size=8, validation_split=0.25,
              callbacks=[ProgressBar(verbose=1, stream=term, ncols=80)], stream=term)
    screen = term.getvalue()
    lines = [ln for chunk in screen.split("\n") for ln in chunk.split("\r") if not ln.startswith("fit: ")]
    assert max(len(ln.rstrip()) for ln in lines) <= 80
    for epoch in (1, 2):
        summary = screen[screen.index(f"epoch {epoch}/2  loss"):]
        summary = summary[:summary.index(")") + 1]  # the wrapped summary ends with the epoch's seconds
        assert "val_loss" in summary and "val_accuracy" in summary


# ----------------------------------------------------------------- load_state_dict
def test_load_state_dict_lists_every_problem_at_once_like_torch():
    ours = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    sd = {k: v.numpy().copy() for k, v in ours.state_dict().items()}
    del sd["0.bias"]
    sd["5.weight"] = np.zeros(1, np.float32)
    sd["2.weight"] = np.zeros((2, 5), np.float32)
    with pytest.raises(StateDictError) as info:
        ours.load_state_dict(sd)
    msg = str(info.value)
    assert "3 problem(s)" in msg and "missing keys: 0.bias" in msg and "unexpected keys: 5.weight" in msg
    assert "key '2.weight' has shape (2, 5) in the state dict but (2, 4) in the model" in msg
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)
    with pytest.raises(RuntimeError) as t_info:  # PyTorch lists the same three problems in one error
        theirs.load_state_dict({k: torch.tensor(v) for k, v in sd.items()})
    assert all(s in str(t_info.value) for s in ("0.bias", "5.weight", "2.weight"))
    with pytest.raises(StateDictError, match="(?s)1 problem.*'2.weight' has shape"):  # strict=False: shapes still checked
        ours.load_state_dict(sd, strict=False)
    with pytest.raises(RuntimeError, match="size mismatch"):
        theirs.load_state_dict({k: torch.tensor(v) for k, v in sd.items()}, strict=False)
    del sd["2.weight"]
    assert ours.load_state_dict(sd, strict=False) == IncompatibleKeys(["0.bias", "2.weight"], ["5.weight"])
    t = theirs.load_state_dict({k: torch.tensor(v) for k, v in sd.items()}, strict=False)
    assert (t.missing_keys, t.unexpected_keys) == (["0.bias", "2.weight"], ["5.weight"])


# ----------------------------------------------------------------- constructors and arguments
@pytest.mark.parametrize("make, match", [
    (lambda: nn.Conv2d(0, 4, 3), r"Conv2d: in_channels must be a positive integer, received in_channels=0"),
    (lambda: nn.Conv2d(3, 0, 3), r"Conv2d: out_channels must be a positive integer, received out_channels=0"),
    (lambda: nn.Conv2d(3, 4, 0), r"Conv2d: kernel_size must be positive integer\(s\), received kernel_size=0"),
    (lambda: nn.Conv2d(3, 4, (3, 0)), r"Conv2d: kernel_size .* received kernel_size=\(3, 0\)"),
    (lambda: nn.Conv1d(3, 4, 3, stride=0), r"Conv1d: stride must be positive"),
    (lambda: nn.Conv2D(0, 3), r"Conv2D: filters must be a positive integer, received filters=0"),
    (lambda: nn.Linear(0, 3), r"Linear: in_features must be a positive integer, received in_features=0"),
    (lambda: nn.Linear(3, -1), r"Linear: out_features must be a positive integer, received out_features=-1"),
    (lambda: nn.Dense(0), r"Dense: units must be a positive integer, received units=0"),
    (lambda: nn.LSTM(4, 0), r"LSTM: hidden_size must be a positive integer, received hidden_size=0"),
    (lambda: RandomCrop(8, padding=-2), r"RandomCrop: padding must be non-negative integer\(s\), received padding=-2"),
    (lambda: RandomCrop(0), r"RandomCrop: size must be positive integer\(s\), received size=0"),
])
def test_constructors_refuse_sizes_below_one(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_non_integer_sizes_are_a_type_error_like_torch():
    with pytest.raises(TypeError, match=r"Linear: in_features must be an integer, received in_features=2.5"):
        nn.Linear(2.5, 3)
    with pytest.raises(TypeError):
        torch.nn.Linear(2.5, 3)
    with pytest.raises(TypeError, match="Linear: out_features must be an integer, received out_features=True"):
        nn.Linear(3, True)


def test_concatenate_of_nothing_raises_like_torch():
    for fn in (shendu.concatenate, shendu.cat):
        with pytest.raises(ValueError, match="concatenate: need at least one tensor"):
            fn([])
    with pytest.raises(ValueError, match="stack: need at least one tensor"):
        shendu.stack([])
    with pytest.raises(ValueError, match="expected a non-empty list"):
        torch.cat([])


def test_augmentations_refuse_channels_last_batches():
    x = np.zeros((4, 32, 32, 3), np.float32)
    for t in (RandomCrop(28), RandomHorizontalFlip()):
        with pytest.raises(ValueError, match=rf"{type(t).__name__}: expected channels-first images \(N, C, H, W\), "
                                             r"got shape \(4, 32, 32, 3\), which looks channels-last"):
            t(x)
    assert RandomCrop(28)(x.transpose(0, 3, 1, 2)).shape == (4, 3, 28, 28)
    assert RandomCrop(6)(np.zeros((2, 1, 8, 8), np.float32)).shape == (2, 1, 6, 6)  # (N, 1, H, W) is fine


# ----------------------------------------------------------------- shendu predict on hostile images
def _png_header_only(path, width, height):
    """A PNG that declares width × height grey pixels but holds almost no data (a decompression bomb's header)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    from shendu.cli import main

    out = tmp_path_factory.mktemp("run") / "lenet"
    assert main(["train", "--epochs", "1", "--out", str(out), "--quiet"]) == 0
    return out / "last.ckpt"


def test_predict_refuses_huge_and_truncated_images_in_one_line(checkpoint, tmp_path):
    from PIL import Image

    bombs = [_png_header_only(tmp_path / "bomb.png", 30000, 30000),  # Pillow's own DecompressionBombError
             _png_header_only(tmp_path / "big.png", 9000, 9000)]     # over our explicit limit
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)).save(tmp_path / "t.png")
    data = (tmp_path / "t.png").read_bytes()
    (tmp_path / "truncated.png").write_bytes(data[:len(data) // 2])
    env = dict(os.environ, PYTHONPATH=ROOT)
    for path in bombs + [tmp_path / "truncated.png"]:
        res = subprocess.run([sys.executable, "-m", "shendu", "predict", str(checkpoint), str(path)],
                             capture_output=True, text=True, env=env, timeout=120)
        assert res.returncode == 2, res.stderr
        err = res.stderr.strip()
        assert "\n" not in err and str(path) in err and "Traceback" not in err
        assert ("too large to decode safely" in err) == (path in bombs), err
