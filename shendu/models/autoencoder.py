"""Autoencoders: dense and convolutional, denoising, sparse and contractive.

An autoencoder is an encoder f and a decoder g trained so that x̂ = g(f(x)) reproduces x.
The training loss of one batch of N samples (x in [0, 1], x̂ from a sigmoid output) is

    L = (1/N) Σ_n ‖x̂_n − x_n‖²                          (squared error per sample; loss="mse")
        or (1/N) Σ_n Σ_i BCE(x̂_ni, x_ni)                 (loss="bce": x̂ = σ(ℓ), BCE = softplus(ℓ) − x ℓ)
        + λ_1 (1/N) Σ_n ‖h_n‖_1                          (sparse="l1":   L1 on the code h = f(x))
        + β Σ_j KL(ρ ‖ ρ̂_j)                              (sparse="kl":   ρ̂_j = (1/N) Σ_n h_nj, sigmoid code)
        + λ_c (1/N) Σ_n ‖∂h_n/∂x_n‖²_F                   (contractive:   Rifai et al. 2011)

with KL(ρ‖ρ̂) = ρ log(ρ/ρ̂) + (1 − ρ) log((1 − ρ)/(1 − ρ̂)) (Ng's sparse-autoencoder notes). For a
one-layer sigmoid encoder h = σ(Wx + b) the contractive term is exact in closed form,
‖J‖²_F = Σ_j (h_j(1 − h_j))² Σ_i W_ji². A denoising autoencoder (Vincent et al. 2008) encodes a
corrupted x̃ = :class:`Corruption` (x) and is scored against the clean x; the corruption acts only
in training mode.
"""
from __future__ import annotations

import math

from .. import functional as F
from ..nn import (BatchNorm1d, Conv2d, ConvTranspose2d, Flatten, Linear, Module, ReLU, Sequential, Sigmoid, Unflatten)
from ..tensor import Tensor, rand, randn
from .vae import check_unit_range

__all__ = ["Corruption", "AutoEncoder", "ConvAutoEncoder", "kl_sparsity", "reconstruction_error"]


class Corruption(Module):
    """Corrupt the input in training mode only (identity in eval mode).

    ``kind="gaussian"``: x̃ = x + σ·ε, ε ~ N(0, I), σ = ``level``;
    ``kind="masking"``: x̃ = x · m, m_i ~ Bernoulli(1 − ``level``) (a fraction ``level`` of the inputs set to 0).

    Shape: any -> the same.
    """

    def __init__(self, kind="gaussian", level=0.3):
        super().__init__()
        if kind not in ("gaussian", "masking"):
            raise ValueError(f"Corruption: kind must be 'gaussian' or 'masking', got {kind!r}")
        if not 0 <= float(level) < (math.inf if kind == "gaussian" else 1):
            raise ValueError(f"Corruption: level must be ≥ 0 (and < 1 for masking), got {level!r}")
        self.kind, self.level = kind, float(level)

    def forward(self, x):
        if not self.training or self.level == 0:
            return x
        if self.kind == "gaussian":
            return x + self.level * randn(*x.shape, dtype=x.dtype)
        return x * (rand(*x.shape, dtype=x.dtype) >= self.level).to(x.dtype)

    def extra_repr(self):
        return f"kind={self.kind!r}, level={self.level}"


def reconstruction_error(recon, x):
    """(1/N) Σ_n ‖x̂_n − x_n‖², the squared error summed over each sample's entries, averaged over samples."""
    n = x.shape[0]
    return ((recon - x) ** 2).sum() / n


def kl_sparsity(code, target):
    """Σ_j KL(ρ ‖ ρ̂_j), ρ̂_j = the batch mean of code unit j (in (0, 1)), ρ = ``target``."""
    rho_hat = code.mean(dim=0).clamp(1e-6, 1 - 1e-6)
    rho = float(target)
    return (rho * (rho / rho_hat).log() + (1 - rho) * ((1 - rho) / (1 - rho_hat)).log()).sum()


class _AutoEncoderBase(Module):
    """encode / decode / forward and the training step shared by the dense and convolutional autoencoders."""

    def _setup_regularizers(self, noise, noise_level, sparse, sparsity_weight, sparsity_target, contractive,
                            loss="mse"):
        if loss not in ("mse", "bce"):
            raise ValueError(f"{type(self).__name__}: loss must be 'mse' or 'bce', got {loss!r}")
        self.loss_kind = loss
        if sparse not in (None, "l1", "kl"):
            raise ValueError(f"{type(self).__name__}: sparse must be None, 'l1' or 'kl', got {sparse!r}")
        self.corrupt = Corruption(noise, noise_level) if noise else None
        self.noise, self.noise_level = noise, noise_level
        self.sparse, self.sparsity_weight, self.sparsity_target = sparse, float(sparsity_weight), float(sparsity_target)
        self.contractive = float(contractive)

    def encode(self, x):
        """The code h = f(x), shape (N, code_size) (no corruption: that is part of training only)."""
        return self.encoder(self._as_tensor(x))

    def decode(self, h):
        """The reconstruction g(h) in [0, 1], shape (N, *input_shape)."""
        return self.decoder(self._as_tensor(h))

    def forward(self, x):
        """x̂ = g(f(x̃)), x̃ the corrupted x in training mode (denoising), x otherwise."""
        x = self._as_tensor(x)
        return self.decoder(self.encoder(self.corrupt(x) if self.corrupt is not None else x))

    @staticmethod
    def _as_tensor(x):
        return x if isinstance(x, Tensor) else Tensor(x)

    def loss(self, x):
        """The training loss of the module docstring and its parts as floats."""
        x = x[0] if isinstance(x, (tuple, list)) else x
        x_in = self.corrupt(x) if self.corrupt is not None else x
        code = self.encoder(x_in)
        if self.loss_kind == "bce":
            # Cross-entropy on the logits: exact where the output sigmoid saturates, and its gradient
            # σ(ℓ) − x does not vanish there as the squared error's does.
            check_unit_range(x, f"{type(self).__name__} (loss='bce')")
            logits = self._decode_logits(code)
            recon = logits.sigmoid()
            rec = reconstruction_error(recon.detach(), x)
            total = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
            logs = {"reconstruction": rec.item(), "bce": total.item()}
        else:
            recon = self.decoder(code)
            rec = reconstruction_error(recon, x)
            total, logs = rec, {"reconstruction": rec.item()}
        if self.sparse == "l1":
            pen = self.sparsity_weight * code.abs().sum() / x.shape[0]
            total, logs["sparsity"] = total + pen, pen.item()
        elif self.sparse == "kl":
            pen = self.sparsity_weight * kl_sparsity(code, self.sparsity_target)
            total, logs["sparsity"] = total + pen, pen.item()
        if self.contractive:
            pen = self.contractive * self._jacobian_norm(x_in, code)
            total, logs["contractive"] = total + pen, pen.item()
        logs["loss"] = total.item()
        return total, logs

    def _decode_logits(self, h):
        """The decoder's output before its final sigmoid (the logits ℓ, x̂ = σ(ℓ)), shape (N, *input_shape)."""
        layers = list(self.decoder)
        last = max(i for i, m in enumerate(layers) if isinstance(m, Sigmoid))
        for i, m in enumerate(layers):
            if i != last:
                h = m(h)
        return h

    def _jacobian_norm(self, x, code):
        raise ValueError(f"{type(self).__name__}: the contractive penalty needs a one-layer sigmoid encoder "
                         f"(AutoEncoder(sizes=(d, k), code_activation='sigmoid'))")

    def train_step(self, batch):
        """One optimizer step on the loss of the module docstring; returns its parts."""
        opt = self.optimizers["default"]
        opt.zero_grad()
        total, logs = self.loss(batch)
        total.backward()
        opt.step()
        return logs

    def test_step(self, batch):
        """The loss (no corruption: eval mode) and its parts."""
        return self.loss(batch)[1]


class AutoEncoder(_AutoEncoderBase):
    """A dense autoencoder: encoder sizes[0] → … → sizes[-1] (the code), decoder the mirror image.

    Hidden layers use ``activation`` (ReLU, or sigmoid as Hinton & Salakhutdinov 2006); the code is
    linear (``code_activation="linear"``, as in their 784-1000-500-250-30 network) or a sigmoid
    (needed by ``sparse="kl"`` and ``contractive``); the output is a sigmoid (data in [0, 1]).

    Args:
        sizes: layer widths, the input first, the code last (default (784, 1000, 500, 250, 30)).
        input_shape: the shape of one sample, e.g. (1, 28, 28); inputs are flattened, outputs
            reshaped to it (default (sizes[0],)).
        noise, noise_level: a :class:`Corruption` of the input in training ("gaussian" / "masking").
        sparse: None, "l1" or "kl"; sparsity_weight λ_1 or β; sparsity_target ρ (for "kl").
        contractive: λ_c of the contractive penalty (0: none; one-layer sigmoid encoder only).
        batch_norm: a BatchNorm1d before each hidden activation (not on the code or the output);
            it lets Adam train the deep 784-1000-500-250-30 network much faster.
        loss: the reconstruction term, "mse" (squared error) or "bce" (cross-entropy on the output
            logits; data in [0, 1]). Either way ``reconstruction`` logs the squared error.

    Shape: (N, *input_shape) -> (N, *input_shape); ``encode``: -> (N, sizes[-1]).

    Example:
        >>> ae = AutoEncoder((64, 16, 4), input_shape=(1, 8, 8))
        >>> ae(shendu.rand(2, 1, 8, 8)).shape, ae.encode(shendu.rand(2, 1, 8, 8)).shape
        ((2, 1, 8, 8), (2, 4))
    """

    def __init__(self, sizes=(784, 1000, 500, 250, 30), input_shape=None, activation="relu",
                 code_activation="linear", noise=None, noise_level=0.3, sparse=None, sparsity_weight=1e-3,
                 sparsity_target=0.05, contractive=0.0, loss="mse", batch_norm=False):
        super().__init__()
        sizes = tuple(int(s) for s in sizes)
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"AutoEncoder: sizes must be ≥ 2 positive widths (input … code), got {sizes}")
        input_shape = tuple(int(s) for s in (input_shape or (sizes[0],)))
        if math.prod(input_shape) != sizes[0]:
            raise ValueError(f"AutoEncoder: input_shape {input_shape} has {math.prod(input_shape)} entries, "
                             f"sizes[0] is {sizes[0]}")
        if activation not in ("relu", "sigmoid") or code_activation not in ("linear", "sigmoid"):
            raise ValueError(f"AutoEncoder: activation must be 'relu' or 'sigmoid' and code_activation 'linear' or "
                             f"'sigmoid', got {activation!r}, {code_activation!r}")
        if sparse == "kl" and code_activation != "sigmoid":
            raise ValueError("AutoEncoder: sparse='kl' needs code_activation='sigmoid' (code units in (0, 1))")
        self.sizes, self.input_shape = sizes, input_shape
        self.activation, self.code_activation = activation, code_activation
        act = ReLU if activation == "relu" else Sigmoid
        self.batch_norm = bool(batch_norm)

        def hidden(width):          # the layers after a hidden Linear: [BatchNorm1d,] activation
            return [BatchNorm1d(width), act()] if self.batch_norm else [act()]

        enc = [Flatten()]
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            enc += [Linear(a, b), *(hidden(b) if i < len(sizes) - 2 else
                                    [Sigmoid() if code_activation == "sigmoid" else None])]
        dec = []
        rev = sizes[::-1]
        for i, (a, b) in enumerate(zip(rev[:-1], rev[1:])):
            dec += [Linear(a, b), *(hidden(b) if i < len(rev) - 2 else [Sigmoid()])]
        dec.append(Unflatten(1, input_shape))
        self.encoder = Sequential(*[m for m in enc if m is not None])
        self.decoder = Sequential(*dec)
        self._setup_regularizers(noise, noise_level, sparse, sparsity_weight, sparsity_target, contractive, loss)
        if self.contractive and (len(sizes) != 2 or code_activation != "sigmoid"):
            self._jacobian_norm(None, None)

    def _jacobian_norm(self, x, code):
        if len(self.sizes) != 2 or self.code_activation != "sigmoid":
            super()._jacobian_norm(x, code)
        w = self.encoder[1].weight                       # (k, d)
        return (((code * (1 - code)) ** 2) * (w ** 2).sum(dim=1)).sum() / code.shape[0]

    def extra_repr(self):
        return f"sizes={self.sizes}"


class ConvAutoEncoder(_AutoEncoderBase):
    """A convolutional autoencoder for (C, H, W) images, H and W multiples of 4.

    Encoder: Conv2d(C, w, 3, stride 2, pad 1) – ReLU – Conv2d(w, 2w, 3, stride 2, pad 1) – ReLU –
    Flatten – Linear(2w·H/4·W/4, code). Decoder, the mirror: Linear – ReLU – Unflatten –
    ConvTranspose2d(2w, w, 3, stride 2, pad 1, output_padding 1) – ReLU –
    ConvTranspose2d(w, C, 3, stride 2, pad 1, output_padding 1) – Sigmoid (each doubles H and W).

    Args: input_shape (C, H, W) (default (1, 28, 28)); code (default 32); width w (default 16);
    noise, noise_level, sparse, sparsity_weight, sparsity_target, loss as :class:`AutoEncoder`.

    Shape: (N, C, H, W) -> (N, C, H, W); ``encode``: -> (N, code).

    Example:
        >>> ConvAutoEncoder((1, 8, 8), code=4, width=2)(shendu.rand(3, 1, 8, 8)).shape
        (3, 1, 8, 8)
    """

    def __init__(self, input_shape=(1, 28, 28), code=32, width=16, noise=None, noise_level=0.3, sparse=None,
                 sparsity_weight=1e-3, sparsity_target=0.05, loss="mse"):
        super().__init__()
        c, h, w = (int(s) for s in input_shape)
        if h % 4 or w % 4:
            raise ValueError(f"ConvAutoEncoder: H and W must be multiples of 4, got input_shape {tuple(input_shape)}")
        if sparse == "kl":
            raise ValueError("ConvAutoEncoder: sparse='kl' needs a sigmoid code; use AutoEncoder or sparse='l1'")
        self.input_shape, self.code, self.width = (c, h, w), int(code), int(width)
        inner = (2 * width, h // 4, w // 4)
        self.encoder = Sequential(Conv2d(c, width, 3, 2, 1), ReLU(), Conv2d(width, 2 * width, 3, 2, 1), ReLU(),
                                  Flatten(), Linear(math.prod(inner), code))
        self.decoder = Sequential(Linear(code, math.prod(inner)), ReLU(), Unflatten(1, inner),
                                  ConvTranspose2d(2 * width, width, 3, 2, 1, output_padding=1), ReLU(),
                                  ConvTranspose2d(width, c, 3, 2, 1, output_padding=1), Sigmoid())
        self._setup_regularizers(noise, noise_level, sparse, sparsity_weight, sparsity_target, 0.0, loss)

    def extra_repr(self):
        return f"input_shape={self.input_shape}, code={self.code}, width={self.width}"
