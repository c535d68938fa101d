"""The generative jobs of the command line: ``shendu train autoencoder|vae|gan|dcgan`` and ``shendu sample``.

A run's directory (``--out``) holds ``last.ckpt`` (the model's architecture and weights, readable by
:func:`shendu.nn.saving.load`, plus what ``sample`` needs: the kind, dataset and image shape),
``curves.png`` (every logged loss per epoch), ``metrics.json`` and an image grid: ``reconstructions.png``
(autoencoder, VAE: test images above their reconstructions) or ``samples.png`` (VAE, GANs); a GAN also
writes ``epoch_<e>.png`` every epoch from the same fixed noise. Images are written with a small
PNG encoder (zlib only; 8-bit grey or RGB).

    >>> m = train_generative("vae", "digits", epochs=2, out="runs/vae")
    >>> sample_run("runs/vae/last.ckpt", 16, "grid.png")
"""
from __future__ import annotations

import json
import math
import os
import struct
import time
import warnings
import zlib

import numpy as np

from .. import backend
from ..serialization import atomic_write, load_file, save_file
from . import callbacks as cb

KINDS = ("autoencoder", "vae", "gan", "dcgan")
#: per kind: default epochs, batch size, learning rate
DEFAULTS = {"autoencoder": (10, 128, 1e-3), "vae": (10, 128, 1e-3), "gan": (20, 64, 2e-4), "dcgan": (5, 64, 2e-4)}
FORMAT = "generative-1"


# ------------------------------------------------------------------ images
def image_grid(images, columns=None, pad=1):
    """Tile images (N, C, H, W) in [0, 1] into one (rows·(H+pad)+pad, columns·(W+pad)+pad, C) uint8 array."""
    x = np.asarray(images, dtype=np.float32)
    if x.ndim != 4 or x.shape[1] not in (1, 3) or len(x) == 0:
        raise ValueError(f"image_grid: expected images of shape (N, 1 or 3, H, W) with N ≥ 1, got {x.shape}")
    n, c, h, w = x.shape
    cols = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    grid = np.ones((rows * (h + pad) + pad, cols * (w + pad) + pad, c), dtype=np.float32) * 0.5
    for i in range(n):
        r, q = divmod(i, cols)
        grid[pad + r * (h + pad):pad + r * (h + pad) + h, pad + q * (w + pad):pad + q * (w + pad) + w] = \
            x[i].transpose(1, 2, 0)
    return (np.clip(grid, 0, 1) * 255 + 0.5).astype(np.uint8)


def write_png(path, pixels):
    """Write an (H, W) or (H, W, 1 | 3) uint8 array as an 8-bit PNG (greyscale or RGB), atomically."""
    a = np.asarray(pixels, dtype=np.uint8)
    a = a[:, :, None] if a.ndim == 2 else a
    h, w, c = a.shape
    raw = b"".join(b"\x00" + a[i].tobytes() for i in range(h))      # filter type 0 on every row

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0 if c == 1 else 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    atomic_write(path, lambda f: f.write(png))


class SampleGrid(cb.Callback):
    """Write ``<directory>/epoch_<e>.png``, the grid of ``model.sample(n, z=noise)`` for one fixed noise,
    after every epoch (so the grids of successive epochs are comparable)."""

    def __init__(self, directory, noise):
        self.directory, self.noise = directory, noise

    def on_epoch_end(self, epoch, logs=None):
        from ..tensor import tensor

        write_png(os.path.join(self.directory, f"epoch_{epoch + 1}.png"),
                  image_grid(self.model.sample(len(self.noise), z=tensor(self.noise))))


def _curves(history, path, title):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    import io

    fig = Figure(figsize=(6, 4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for k, v in history.items():
        if k not in ("seconds", "lr") and v:
            ax.plot(range(1, len(v) + 1), v, marker="o", label=k)
    ax.set_xlabel("epoch")
    ax.set_title(title)
    ax.legend()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    atomic_write(path, lambda f: f.write(buf.getvalue()))


# ------------------------------------------------------------------ models
def build_generative(kind, image_shape, num_classes=0):
    """The model of ``kind`` for images ``image_shape`` (C, H, W) (module docstring's defaults)."""
    from ..models.autoencoder import AutoEncoder
    from ..models.gan import DCGAN, GAN
    from ..models.vae import VAE

    d = math.prod(image_shape)
    if kind == "autoencoder":
        return AutoEncoder((d, 1000, 500, 250, 30), input_shape=image_shape)
    if kind == "vae":
        return VAE(image_shape, hidden=400, latent=20)
    if kind == "gan":
        return GAN(image_shape)
    if kind == "dcgan":
        if image_shape[1] % 4 or image_shape[1] != image_shape[2]:
            raise ValueError(f"shendu train dcgan: needs square images with a side that is a multiple of 4; "
                             f"the dataset's are {image_shape[1]}×{image_shape[2]}")
        # on the next power of two (MNIST's 28 → 32): three up-sampling stages instead of two
        return DCGAN(image_shape, canvas=1 << (image_shape[1] - 1).bit_length())
    raise ValueError(f"shendu train: generative model must be one of {', '.join(KINDS)}, got {kind!r}")


def save_generative(model, path, info):
    """Write the model (architecture + weights, :func:`shendu.nn.saving.save`'s format) and ``info``."""
    from ..nn.config import get_config

    save_file({k: v.data for k, v in model.state_dict().items()}, path,
              metadata={"shendu_format": "model-1", "shendu_config": json.dumps(get_config(model)),
                        "shendu_generative": json.dumps(info)})


def load_generative(path, generative=False):
    """(model in eval mode, info) of a checkpoint written by :func:`train_generative`; ``generative``:
    refuse (ValueError) a model that cannot sample (an autoencoder)."""
    from .. import models  # noqa: F401  (the zoo above training: makes its classes buildable by load)
    from ..nn.saving import load

    _, meta = load_file(path, with_metadata=True)
    if "shendu_generative" not in meta:
        raise ValueError(f"shendu sample: {path} is not a generative model's checkpoint (expected one written by "
                         f"`shendu train autoencoder|vae|gan|dcgan`)")
    info = json.loads(meta["shendu_generative"])
    if generative and not info.get("generative"):
        raise ValueError(f"shendu sample: {path} holds an {info.get('kind')} model, which cannot sample "
                         f"(expected a vae, gan or dcgan checkpoint)")
    model = load(path)
    model.eval()
    return model, info


# ------------------------------------------------------------------ jobs
def train_generative(kind, dataset="digits", epochs=None, batch_size=None, lr=None, out=None, seed=0,
                     data_dir=None, limit=None, verbose=1):
    """Train a generative model of ``kind`` (autoencoder, vae, gan, dcgan) on ``dataset``'s training
    images (in [0, 1]); write the run's files (module docstring) to ``out``; return the metrics.

    ``limit`` keeps the first ``limit`` training images (quick runs). The metrics: the test
    reconstruction error per image (autoencoder), the test negative ELBO in nats (VAE), the last
    epoch's losses, the settings and the file paths.
    """
    from .run import load_dataset

    if kind not in KINDS:
        raise ValueError(f"shendu train: generative model must be one of {', '.join(KINDS)}, got {kind!r}")
    start = time.perf_counter()
    e0, b0, lr0 = DEFAULTS[kind]
    epochs, batch_size, lr = epochs or e0, batch_size or b0, lr or lr0
    seed = 0 if seed is None else seed
    out = out or os.path.join("runs", time.strftime("%Y%m%d-%H%M%S"))
    os.makedirs(out, exist_ok=True)
    d = load_dataset(dataset, data_dir)
    x, x_test = d.x_train, d.x_test
    if limit:
        x = x[:int(limit)]
    image_shape = tuple(int(s) for s in x.shape[1:])
    backend.manual_seed(seed)
    model = build_generative(kind, image_shape)
    callbacks = []
    if kind in ("gan", "dcgan"):
        model.compile(model.optimizers_spec(lr=lr))
        noise = np.random.default_rng(seed).standard_normal((64, model.latent)).astype(np.float32)
        callbacks.append(SampleGrid(out, noise))
        validation = None
    else:
        model.compile("adam", lr=lr)
        validation = x_test
    hist = model.fit(x, epochs=epochs, batch_size=batch_size, seed=seed, validation_data=validation,
                     callbacks=callbacks, verbose=verbose).history
    model.eval()
    files = {"checkpoint": os.path.join(out, "last.ckpt"), "curves": os.path.join(out, "curves.png"),
             "metrics": os.path.join(out, "metrics.json")}
    metrics = {"model": kind, "dataset": d.name, "epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed,
               "train_samples": int(len(x)), "parameters": model.num_parameters(),
               "final": {k: v[-1] for k, v in hist.items() if k != "seconds"}}
    if kind == "autoencoder":
        recon = _batched(lambda b: model(b).numpy(), x_test)
        metrics["test_reconstruction_error"] = float(((recon - x_test) ** 2).reshape(len(x_test), -1).sum(1).mean())
    if kind == "vae":
        metrics["test_neg_elbo_nats"] = hist["val_loss"][-1]
    grid_name = "reconstructions" if kind in ("autoencoder", "vae") else "samples"
    files[grid_name] = os.path.join(out, f"{grid_name}.png")
    if kind in ("autoencoder", "vae"):
        show = x_test[:8]
        rec = model.reconstruct(show) if kind == "vae" else _batched(lambda b: model(b).numpy(), show)
        write_png(files[grid_name], image_grid(np.concatenate([show, rec]), columns=8))
    else:
        write_png(files[grid_name], image_grid(model.sample(64)))
    if kind == "vae":
        files["samples"] = os.path.join(out, "samples.png")
        write_png(files["samples"], image_grid(model.sample(64)))
    info = {"kind": kind, "dataset": d.name, "image_shape": list(image_shape), "range": [0.0, 1.0],
            "generative": kind != "autoencoder"}
    save_generative(model, files["checkpoint"], info)
    try:
        _curves(hist, files["curves"], f"{kind} on {d.name}")
    except ImportError as exc:  # matplotlib missing: the run still counts
        warnings.warn(f"train: curves.png not written: {exc}", stacklevel=2)
        del files["curves"]
    metrics["files"] = files
    metrics["history"] = hist
    metrics["seconds"] = round(time.perf_counter() - start, 3)
    atomic_write(files["metrics"], lambda f: f.write(json.dumps(metrics, indent=2).encode("utf-8")))
    return metrics


def _batched(fn, x, size=500):
    from ..grad_mode import no_grad
    from ..tensor import tensor

    with no_grad():
        return np.concatenate([fn(tensor(x[i:i + size])) for i in range(0, len(x), size)])


def sample_run(checkpoint, n, out, seed=None, latent=None):
    """Write ``n`` samples of the generative model in ``checkpoint`` to ``out``: a PNG grid (``.png``)
    or an array (``.npy``, shape (n, C, H, W), values in the training data's range [0, 1]).

    ``latent``: the latent size the caller expects; a mismatch with the checkpoint is an error.
    Returns the path written.
    """
    ext = os.path.splitext(out)[1].lower()
    if ext not in (".png", ".npy"):
        raise ValueError(f"shendu sample: --out must end in .png or .npy, got {out!r}")
    if int(n) < 1:
        raise ValueError(f"shendu sample: -n must be a positive integer, got {n!r}")
    model, info = load_generative(checkpoint, generative=True)
    if latent is not None and int(latent) != model.latent:
        raise ValueError(f"shendu sample: the checkpoint's latent size is {model.latent}, got {latent}")
    if seed is not None:
        backend.manual_seed(seed)
    images = model.sample(int(n)).astype(np.float32)
    if ext == ".npy":
        atomic_write(out, lambda f: np.save(f, images))
    else:
        write_png(out, image_grid(images))
    return out


# ------------------------------------------------------------------ command line
def add_sample_arguments(p):
    """The arguments of ``shendu sample``."""
    p.add_argument("checkpoint", metavar="CKPT", help="a last.ckpt of `shendu train vae|gan|dcgan`")
    p.add_argument("-n", type=int, default=64, help="number of samples (default 64)")
    p.add_argument("--out", metavar="FILE", required=True, help="FILE.png (a grid) or FILE.npy (an array)")
    p.add_argument("--seed", type=int, help="random seed of the sampling")
    p.add_argument("--latent", type=int, help="the latent size you expect (checked against the checkpoint)")
    return p


def cli_train(a):
    """``shendu train autoencoder|vae|gan|dcgan``: run :func:`train_generative`, print one line."""
    m = train_generative(a.model, a.dataset or "digits", epochs=a.epochs, batch_size=a.batch_size, lr=a.lr,
                         out=a.out, seed=a.seed, data_dir=a.data_dir, verbose=0 if a.quiet else 1)
    key = {"autoencoder": "test_reconstruction_error", "vae": "test_neg_elbo_nats"}.get(a.model)
    head = f"{key.replace('_', ' ')} {m[key]:.3f}; " if key else ""
    files = m["files"]
    print(f"{head}{a.model} on {m['dataset']}, {m['epochs']} epoch{'s' if m['epochs'] != 1 else ''} in "
          f"{m['seconds']:.1f} s; wrote {', '.join(os.path.basename(f) for f in files.values())} to "
          f"{os.path.dirname(files['checkpoint'])}", flush=True)
    return 0


def cli_sample(a):
    """``shendu sample CKPT -n N --out FILE``."""
    path = sample_run(a.checkpoint, a.n, a.out, seed=a.seed, latent=a.latent)
    print(f"wrote {a.n} samples to {path}", flush=True)
    return 0
