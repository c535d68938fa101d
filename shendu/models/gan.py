"""Generative adversarial networks: the MLP GAN (Goodfellow et al. 2014), DCGAN (Radford, Metz &
Chintala 2015) and the conditional GAN (Mirza & Osindero 2014).

Discriminator D (logits) and generator G take turns each batch (data scaled from [0, 1] to
[−1, 1], G ending in tanh):

    D step:  L_D = BCE(D(x), 1 − s) + BCE(D(G(z)), 0)        (s: one-sided label smoothing, Salimans et al. 2016)
    G step:  L_G = BCE(D(G(z)), 1) = −log σ(D(G(z)))         (the non-saturating generator loss)

with BCE(ℓ, t) = mean of softplus(ℓ) − t·ℓ and z ~ N(0, I). ``sample(n)`` returns images in
[0, 1] (the training data's range), shaped (n, C, H, W).
"""
from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from ..grad_mode import no_grad
from ..nn import (BatchNorm2d, Conv2d, ConvTranspose2d, Flatten, LeakyReLU, Linear, Module, ReLU, Sequential,
                  Tanh, Unflatten, init)
from ..tensor import Tensor, cat, full, randn, tensor
from .vae import check_state_latent

__all__ = ["GAN", "DCGAN", "ConditionalGAN", "dcgan_init_"]


def _bce(logits, target):
    return F.binary_cross_entropy_with_logits(logits, full(tuple(logits.shape), float(target), dtype=logits.dtype))


def dcgan_init_(model):
    """Radford et al.'s initialisation: conv and linear weights ~ N(0, 0.02), batch-norm γ ~ N(1, 0.02),
    biases and β 0. Returns the model."""
    for m in model.modules():
        if isinstance(m, (Conv2d, ConvTranspose2d, Linear)):
            init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                init.zeros_(m.bias)
        elif isinstance(m, BatchNorm2d):
            init.normal_(m.weight, 1.0, 0.02)
            init.zeros_(m.bias)
    return model


class _Adversarial(Module):
    """The two-player training step shared by the GANs; subclasses build ``generator`` and ``discriminator``."""

    def _labels(self, y, n):
        if not self.num_classes:
            return None
        if y is None:
            raise ValueError(f"{type(self).__name__}: a conditional GAN needs labels y (0 … {self.num_classes - 1})")
        y = np.asarray(y.numpy() if isinstance(y, Tensor) else y).reshape(-1).astype(np.int64)
        if y.shape[0] != n or y.min() < 0 or y.max() >= self.num_classes:
            raise ValueError(f"{type(self).__name__}: expected {n} labels in 0 … {self.num_classes - 1}, got "
                             f"{y.shape[0]} in [{y.min()}, {y.max()}]")
        return tensor(np.eye(self.num_classes, dtype=np.float32)[y])

    def generate(self, z, y=None):
        """G(z[, y]) in [−1, 1], shape (N, *image_shape)."""
        z = z if isinstance(z, Tensor) else tensor(z)
        if z.dim() != 2 or z.shape[1] != self.latent:
            raise ValueError(f"{type(self).__name__}: expected noise of shape (N, {self.latent}), got {tuple(z.shape)}")
        oh = self._labels(y, z.shape[0])
        return self.generator(z if oh is None else cat([z, oh], dim=1))

    def discriminate(self, x, y=None):
        """D(x[, y]) logits, shape (N, 1); x in [−1, 1]."""
        oh = self._labels(y, x.shape[0])
        if oh is None:
            return self.discriminator(x)
        n = x.shape[0]
        return self.discriminator(cat([x.reshape(n, -1), oh], dim=1))

    def forward(self, z, y=None):
        return self.generate(z, y)

    #: where the latent size shows in a state dict: (key, axis, label units to subtract)
    _latent_key = ("generator.0.weight", 1, True)

    def load_state_dict(self, state_dict, strict=True):
        """``Module.load_state_dict``, refusing first a state dict of another latent size."""
        key, axis, minus_labels = self._latent_key
        check_state_latent(self, state_dict, key, axis, self.num_classes if minus_labels else 0)
        return super().load_state_dict(state_dict, strict)

    def _split(self, batch):
        x, y = (batch[0], batch[1]) if isinstance(batch, (tuple, list)) else (batch, None)
        lo, hi = float(x.numpy().min()), float(x.numpy().max())
        if lo < 0 or hi > 1:
            raise ValueError(f"{type(self).__name__}: expected training images in [0, 1], got [{lo:.4g}, {hi:.4g}]")
        if tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(f"{type(self).__name__}: expected images of shape {self.image_shape}, got "
                             f"{tuple(x.shape[1:])}")
        return x * 2 - 1, (y if self.num_classes else None)

    def train_step(self, batch):
        """One discriminator step, then one generator step (module docstring); logs d_loss, g_loss, D(x), D(G(z))."""
        real, y = self._split(batch)
        n = real.shape[0]
        fake = self.generate(randn(n, self.latent, dtype=real.dtype), y)
        d_opt, g_opt = self.optimizers["discriminator"], self.optimizers["generator"]
        d_opt.zero_grad()
        d_real = self.discriminate(real, y)
        d_fake = self.discriminate(fake.detach(), y)
        d_loss = _bce(d_real, 1.0 - self.label_smoothing) + _bce(d_fake, 0.0)
        d_loss.backward()
        d_opt.step()
        g_opt.zero_grad()
        g_loss = _bce(self.discriminate(fake, y), 1.0)
        g_loss.backward()
        g_opt.step()
        return {"d_loss": d_loss.item(), "g_loss": g_loss.item(), "d_real": d_real.sigmoid().mean().item(),
                "d_fake": d_fake.sigmoid().mean().item()}

    def sample(self, n, y=None, z=None):
        """n images G(z) mapped to [0, 1], NumPy (n, *image_shape); z ~ N(0, I) unless given."""
        was = self.training
        self.eval()
        try:
            with no_grad():
                z = randn(int(n), self.latent) if z is None else z
                return ((self.generate(z, y).numpy() + 1) / 2).clip(0, 1)
        finally:
            self.train(was)

    @staticmethod
    def optimizers_spec(lr=2e-4, beta1=0.5):
        """The named optimizers for ``compile``: Adam(lr, β = (β₁, 0.999)) for each player (Radford et al.)."""
        opt = ("adam", {"lr": lr, "betas": (beta1, 0.999)})
        return {"generator": opt, "discriminator": opt}


class GAN(_Adversarial):
    """The MLP GAN: G: z → hidden → 2·hidden → D pixels (tanh); D: D → 2·hidden → hidden → 1 logit,
    LeakyReLU(0.2) between layers (Goodfellow et al. used maxout in D; LeakyReLU is the common choice).

    Args: image_shape (C, H, W) (default (1, 28, 28)); latent (default 100); hidden (default 256);
    label_smoothing s (default 0: none); num_classes (0, or a conditional GAN's label count).

    Example:
        >>> GAN((1, 8, 8), latent=4, hidden=8).sample(2).shape
        (2, 1, 8, 8)
    """

    def __init__(self, image_shape=(1, 28, 28), latent=100, hidden=256, label_smoothing=0.0, num_classes=0):
        super().__init__()
        if not 0 <= float(label_smoothing) < 1:
            raise ValueError(f"{type(self).__name__}: label_smoothing must be in [0, 1), got {label_smoothing!r}")
        self.image_shape, self.latent, self.hidden = tuple(int(s) for s in image_shape), int(latent), int(hidden)
        self.label_smoothing, self.num_classes = float(label_smoothing), int(num_classes)
        d, c = math.prod(self.image_shape), self.num_classes
        self.generator = Sequential(Linear(latent + c, hidden), LeakyReLU(0.2), Linear(hidden, 2 * hidden),
                                    LeakyReLU(0.2), Linear(2 * hidden, d), Tanh(), Unflatten(1, self.image_shape))
        self.discriminator = Sequential(Flatten(), Linear(d + c, 2 * hidden), LeakyReLU(0.2),
                                        Linear(2 * hidden, hidden), LeakyReLU(0.2), Linear(hidden, 1))

    def extra_repr(self):
        return f"latent={self.latent}, label_smoothing={self.label_smoothing}, num_classes={self.num_classes}"


class ConditionalGAN(GAN):
    """The conditional GAN: :class:`GAN` with a one-hot label appended to z and to D's flattened input;
    ``fit(x, y)``, ``sample(n, y)``."""

    def __init__(self, image_shape=(1, 28, 28), latent=100, hidden=256, label_smoothing=0.0, num_classes=10):
        if int(num_classes) < 1:
            raise ValueError(f"ConditionalGAN: num_classes must be ≥ 1, got {num_classes!r}")
        super().__init__(image_shape, latent, hidden, label_smoothing, num_classes)


class DCGAN(_Adversarial):
    """DCGAN (Radford et al. 2015) for square images whose side H is a multiple of 4 (28×28 MNIST,
    32×32): no pooling and no hidden fully connected layers — strided convolutions in D, transposed
    convolutions in G; batch norm in both except G's output and D's input; ReLU in G, tanh at its
    output; LeakyReLU(0.2) in D; weights N(0, 0.02) (:func:`dcgan_init_`); train with Adam 2e-4,
    β₁ = 0.5 (:meth:`optimizers_spec`).

    The image side is halved n times down to the base side s: twice (s = H/4), then again while s
    stays even and at least 8 — as Radford et al. add a stage per doubling of the image (28 → 7 with
    n = 2; 32 → 4 with n = 3; 64 → 4 with n = 4). With width w:

    G: z (latent, 1, 1) → ConvT(latent, 2ⁿw, s, 1, 0) → BN → ReLU            (2ⁿw, s, s)
         → [ConvT(2ⁱw, 2ⁱ⁻¹w, 4, 2, 1) → BN → ReLU  for i = n … 2]          (2w, H/2, H/2)
         → ConvT(2w, C, 4, 2, 1) → tanh                                        (C, H, W)
    D: x → Conv(C, w, 4, 2, 1) → LReLU
         → [Conv(2ⁱ⁻¹w, 2ⁱw, 4, 2, 1) → BN → LReLU  for i = 1 … n−1]        (2ⁿ⁻¹w, s, s)
         → Conv(2ⁿ⁻¹w, 1, s, 1, 0) → logit

    ``canvas`` lets G and D work on a larger square than the images: G draws a canvas × canvas image
    whose centre H × W is the sample, and D sees the images padded to the canvas with −1 (black in
    G's range). MNIST's 28 pixels halve only twice (28 → 7); on a 32-pixel canvas the networks get
    the three stages of 32-pixel images (docs/generative.md measures both).

    Args: image_shape (C, H, W) with H = W a multiple of 4 (default (1, 28, 28)); latent (default 100);
    width w (default 64); label_smoothing (default 0); canvas, a multiple of 4 ≥ H (default H).

    Example:
        >>> DCGAN((1, 8, 8), latent=4, width=2).sample(2).shape
        (2, 1, 8, 8)
        >>> len(DCGAN((1, 32, 32), latent=4, width=2).stages)   # 32 → 16 → 8 → 4
        3
        >>> DCGAN((1, 28, 28), latent=4, width=2, canvas=32).sample(2).shape
        (2, 1, 28, 28)
    """

    _latent_key = ("generator.1.weight", 0, False)      # ConvTranspose2d weight (latent, 2ⁿw, s, s)

    def __init__(self, image_shape=(1, 28, 28), latent=100, width=64, label_smoothing=0.0, canvas=None):
        super().__init__()
        c, h, w = (int(s) for s in image_shape)
        if h != w or h % 4:
            raise ValueError(f"DCGAN: expected square images with a side that is a multiple of 4, got {(c, h, w)}")
        if not 0 <= float(label_smoothing) < 1:
            raise ValueError(f"DCGAN: label_smoothing must be in [0, 1), got {label_smoothing!r}")
        side = h if canvas is None else int(canvas)
        if side < h or side % 4:
            raise ValueError(f"DCGAN: canvas must be a multiple of 4 at least the image side {h}, got {canvas!r}")
        self.image_shape, self.latent, self.width = (c, h, w), int(latent), int(width)
        self.label_smoothing, self.num_classes = float(label_smoothing), 0
        self.canvas, self.margin = side, (side - h) // 2
        s, n = side // 4, 2
        while s % 2 == 0 and s >= 8:
            s, n = s // 2, n + 1
        #: the side after each of the n up-sampling stages of G: (2s, 4s, …, H)
        self.stages = tuple(s << i for i in range(n + 1))[1:]
        g = [Unflatten(1, (latent, 1, 1)), ConvTranspose2d(latent, width << n, s, 1, 0, bias=False),
             BatchNorm2d(width << n), ReLU()]
        for i in range(n, 1, -1):
            g += [ConvTranspose2d(width << i, width << (i - 1), 4, 2, 1, bias=False), BatchNorm2d(width << (i - 1)),
                  ReLU()]
        self.generator = Sequential(*g, ConvTranspose2d(2 * width, c, 4, 2, 1), Tanh())
        d = [Conv2d(c, width, 4, 2, 1), LeakyReLU(0.2)]
        for i in range(1, n):
            d += [Conv2d(width << (i - 1), width << i, 4, 2, 1, bias=False), BatchNorm2d(width << i), LeakyReLU(0.2)]
        self.discriminator = Sequential(*d, Conv2d(width << (n - 1), 1, s, 1, 0), Flatten())
        dcgan_init_(self)

    def generate(self, z, y=None):
        """G(z): the centre image_shape of G's canvas, in [−1, 1]."""
        out, m = super().generate(z, y), self.margin
        return out[:, :, m:m + self.image_shape[1], m:m + self.image_shape[2]] if m else out

    def discriminate(self, x, y=None):
        """D(x) logits (N, 1) of images x in [−1, 1], padded to the canvas with −1."""
        m = self.margin
        return super().discriminate(F.pad(x, (m, m, m, m), value=-1.0) if m else x, y)

    def extra_repr(self):
        canvas = f", canvas={self.canvas}" if self.margin else ""
        return f"image_shape={self.image_shape}, latent={self.latent}, width={self.width}{canvas}"
