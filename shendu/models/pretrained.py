"""Weights shendu ships, trained by shendu's own recipes (:mod:`shendu.training.pretrain`).

    >>> net = shendu.models.lenet5(pretrained="mnist")       # 98.56 % on the 10,000 MNIST test images
    >>> x = preprocess("lenet5", "mnist", images)            # (N, 1, 28, 28) in [0, 1] -> (N, 1, 32, 32)
    >>> net(shendu.tensor(x)).data.argmax(1)

Each file is a safetensors file under ``shendu/models/weights/`` whose SHA-256 is recorded
in :data:`WEIGHTS` and checked before loading (a changed or truncated file is refused); its
metadata holds the recipe, the normalisation and the measured accuracy. Large ImageNet models
(ResNet-18, VGG) are not shipped: load torchvision-named weights you have with
:func:`shendu.interop.load_torch_state_dict` (docs/interop.md, docs/transfer.md).
"""
from __future__ import annotations

import hashlib
import json
import pathlib
from collections import namedtuple

from ..backend import xp
from ..serialization import load_file

WEIGHTS_DIR = pathlib.Path(__file__).resolve().parent / "weights"

Pretrained = namedtuple("Pretrained", "model tag file sha256 num_classes input_shape description")
Pretrained.__doc__ = """One shipped weights file: the zoo ``model`` and its ``tag`` (``"mnist"``), the ``file`` under
``shendu/models/weights/``, its ``sha256``, the ``num_classes`` and ``input_shape`` it was trained for, one line."""

#: Every shipped weights file, by (model, tag).
WEIGHTS = {
    ("lenet5", "mnist"): Pretrained(
        "lenet5", "mnist", "lenet5_mnist.safetensors",
        "0fca0caf81569634b6c48f6d3f033c70feb972813b646dd29970027be9f12e1b",
        10, (1, 32, 32),
        "LeNet-5 (modern) on the 10,000 MNIST training images here; python -m shendu.training.pretrain lenet5-mnist"),
}


def sha256_of(path):
    """The hex SHA-256 of the file at ``path``."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def entry(model, tag):
    """The :class:`Pretrained` entry of ``model`` with ``tag``; ValueError listing the shipped ones."""
    found = WEIGHTS.get((model, tag))
    if found is None:
        shipped = ", ".join(f"{m}(pretrained={t!r})" for m, t in WEIGHTS)
        raise ValueError(f"pretrained: no weights {tag!r} for {model!r}; shendu ships {shipped}. ImageNet weights "
                         f"of torchvision load through shendu.interop.load_torch_state_dict (docs/transfer.md)")
    return found


def read_weights(model, tag, path=None):
    """``(state, info)``: the state dict (name → array) and the metadata (recipe, μ, σ, accuracy) of the
    shipped weights, after checking the file's SHA-256 (``path``: another copy of the file)."""
    e = entry(model, tag)
    path = pathlib.Path(path) if path is not None else WEIGHTS_DIR / e.file
    if not path.exists():
        raise FileNotFoundError(f"pretrained: {path} is missing (reinstall shendu, or rebuild it: "
                                f"{e.description.split('; ')[-1]})")
    digest = sha256_of(path)
    if digest != e.sha256:
        raise ValueError(f"pretrained: {path} has SHA-256 {digest}, expected {e.sha256}; the file is damaged "
                         f"or not the one shipped")
    state, metadata = load_file(path, with_metadata=True)
    return state, json.loads(metadata.get("shendu-pretrained", "{}"))


def load_pretrained(net, model, tag, path=None):
    """Load the shipped weights ``(model, tag)`` into ``net`` (strictly); returns ``net`` in eval mode."""
    e = entry(model, tag)
    head = getattr(net, "output", None) or getattr(net, "fc", None)
    classes = getattr(head, "out_features", e.num_classes)
    if classes != e.num_classes:
        raise ValueError(f"pretrained: the {tag!r} weights of {model} have {e.num_classes} classes, the model was "
                         f"built for {classes}; build it with num_classes={e.num_classes} and then "
                         f"shendu.nn.freeze.replace_head(net, {classes})")
    state, _ = read_weights(model, tag, path)
    net.load_state_dict(state)
    return net.eval()


def pad_to_32(images):
    """(N, C, 28, 28) images → (N, C, 32, 32), centred on a zero canvas (as LeCun et al. 1998 did)."""
    n, c, h, w = images.shape
    out = xp.zeros((n, c, 32, 32), dtype=images.dtype)
    top, left = (32 - h) // 2, (32 - w) // 2
    out[:, :, top:top + h, left:left + w] = images
    return out


def preprocess(model, tag, images):
    """The input of the shipped ``(model, tag)`` network for ``images`` (N, 1, 28, 28) in [0, 1]:
    padded to 32×32 (:func:`pad_to_32`), then (x − μ)/σ with the μ, σ recorded in the weights file."""
    _, info = read_weights(model, tag)
    x = xp.asarray(images, dtype=xp.float32)
    if x.ndim != 4 or x.shape[1:] != (1, 28, 28):
        raise ValueError(f"preprocess: expected images of shape (N, 1, 28, 28) in [0, 1], got shape {x.shape}")
    return ((pad_to_32(x) - info["mean"]) / info["std"]).astype(xp.float32)


def list_pretrained():
    """Every shipped weights file, as :class:`Pretrained` entries."""
    return list(WEIGHTS.values())


__all__ = ["Pretrained", "WEIGHTS", "load_pretrained", "read_weights", "preprocess", "pad_to_32", "sha256_of",
           "list_pretrained", "entry"]
