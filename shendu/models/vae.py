"""The variational autoencoder (Kingma & Welling 2013) and the conditional VAE (Sohn et al. 2015).

Encoder q(z|x) = N(μ(x), diag σ²(x)) (it outputs μ and log σ²); the reparameterisation
z = μ + σ ⊙ ε, ε ~ N(0, I), makes z a differentiable function of μ and σ. The loss of one
sample is the negative ELBO, in nats:

    −ELBO(x) = −E_q[log p(x|z)] + KL(q(z|x) ‖ N(0, I)),   KL = −½ Σ_j (1 + log σ_j² − μ_j² − σ_j²)

estimated with one z per sample. Decoders:

* Bernoulli: the decoder gives logits ℓ, −log p(x|z) = Σ_i [softplus(ℓ_i) − x_i ℓ_i] (binary cross
  entropy with logits, summed over pixels); x must lie in [0, 1].
* Gaussian: the decoder gives a mean m and log-variance s per pixel,
  −log p(x|z) = ½ Σ_i [log 2π + s_i + (x_i − m_i)² e^{−s_i}].

The conditional VAE feeds a one-hot label y to both encoder and decoder: q(z|x, y), p(x|z, y).
"""
from __future__ import annotations

import math

from .. import functional as F
from ..grad_mode import no_grad
from ..nn import Flatten, Linear, Module, ReLU, Sequential
from ..tensor import Tensor, cat, randn, tensor

__all__ = ["VAE", "ConditionalVAE", "reparameterize", "gaussian_kl", "vae_loss", "check_unit_range"]


def reparameterize(mu, log_var, eps=None):
    """z = μ + exp(½ log σ²) ⊙ ε, ε ~ N(0, I) drawn when not given. Shapes (N, k) -> (N, k)."""
    if eps is None:
        eps = randn(*mu.shape, dtype=mu.dtype)
    return mu + (0.5 * log_var).exp() * eps


def gaussian_kl(mu, log_var):
    """KL(N(μ, σ²) ‖ N(0, I)) per sample, −½ Σ_j (1 + log σ_j² − μ_j² − σ_j²). Shape (N, k) -> (N,)."""
    return -0.5 * (1 + log_var - mu ** 2 - log_var.exp()).sum(dim=1)


def check_unit_range(x, who):
    """Raise ValueError naming ``who`` unless every entry of x is in [0, 1] (Bernoulli data)."""
    a = x.numpy() if isinstance(x, Tensor) else x
    lo, hi = float(a.min()), float(a.max())
    if lo < 0 or hi > 1:
        raise ValueError(f"{who}: expected data in [0, 1] for a Bernoulli model, got values in [{lo:.4g}, {hi:.4g}]")


def check_state_latent(model, state_dict, key, axis, extra=0):
    """Raise ValueError when the latent size that ``state_dict[key].shape[axis] − extra`` implies is
    not ``model.latent`` (one clear error instead of a list of mismatched shapes)."""
    w = state_dict.get(key) if hasattr(state_dict, "get") else None
    if w is None or len(tuple(w.shape)) <= axis:
        return
    got = int(tuple(w.shape)[axis]) - extra
    if got != model.latent:
        raise ValueError(f"{type(model).__name__}.load_state_dict: the state dict's latent size is {got}, "
                         f"this model's is {model.latent} ({key!r} has shape {tuple(w.shape)})")


def vae_loss(decoded, x, mu, log_var, decoder="bernoulli"):
    """The negative ELBO per sample in nats, averaged over the batch (module docstring), and its two parts.

    Args:
        decoded: Bernoulli: logits (N, D); Gaussian: a pair (mean, log-variance), each (N, D).
        x: the data (N, D). mu, log_var: the encoder's outputs (N, k).

    Returns: (loss, reconstruction, kl), each a scalar Tensor (means over the batch).
    """
    n = x.shape[0]
    if decoder == "bernoulli":
        rec = F.binary_cross_entropy_with_logits(decoded, x, reduction="sum") / n
    elif decoder == "gaussian":
        mean, logv = decoded
        rec = 0.5 * (math.log(2 * math.pi) + logv + (x - mean) ** 2 * (-logv).exp()).sum() / n
    else:
        raise ValueError(f"vae_loss: decoder must be 'bernoulli' or 'gaussian', got {decoder!r}")
    kl = gaussian_kl(mu, log_var).sum() / n
    return rec + kl, rec, kl


class VAE(Module):
    """A VAE with one hidden layer each way (PyTorch's example: 784-400-20): encoder D → hidden (ReLU)
    → μ, log σ² (latent each); decoder latent → hidden (ReLU) → D logits (Bernoulli) or D means and
    D log-variances (Gaussian).

    Args:
        input_shape: one sample's shape (default (1, 28, 28)); D its number of entries.
        hidden, latent: widths (default 400, 20).
        decoder: "bernoulli" (default) or "gaussian".
        num_classes: 0, or the label count of a conditional VAE (see :class:`ConditionalVAE`).

    ``forward(x)`` returns (decoded, μ, log σ²); ``loss(batch)`` the mean negative ELBO;
    ``sample(n)`` n decoded means from z ~ N(0, I) as a NumPy array (N, *input_shape);
    ``reconstruct(x)`` the decoded means of μ(x); ``interpolate(a, b, steps)`` the decoded means
    along the line from μ(a) to μ(b).

    Example:
        >>> vae = VAE((1, 8, 8), hidden=16, latent=2)
        >>> vae.sample(3).shape
        (3, 1, 8, 8)
    """

    def __init__(self, input_shape=(1, 28, 28), hidden=400, latent=20, decoder="bernoulli", num_classes=0):
        super().__init__()
        if decoder not in ("bernoulli", "gaussian"):
            raise ValueError(f"VAE: decoder must be 'bernoulli' or 'gaussian', got {decoder!r}")
        self.input_shape = tuple(int(s) for s in input_shape)
        self.hidden, self.latent, self.decoder_kind = int(hidden), int(latent), decoder
        self.num_classes = int(num_classes)
        d, c = math.prod(self.input_shape), self.num_classes
        self.flatten = Flatten()
        self.encoder = Sequential(Linear(d + c, hidden), ReLU())
        self.mu = Linear(hidden, latent)
        self.log_var = Linear(hidden, latent)
        self.decoder = Sequential(Linear(latent + c, hidden), ReLU(),
                                  Linear(hidden, d if decoder == "bernoulli" else 2 * d))

    # -- conditioning
    def _one_hot(self, y, n):
        if not self.num_classes:
            return None
        if y is None:
            raise ValueError(f"{type(self).__name__}: a conditional VAE needs labels y (0 … {self.num_classes - 1})")
        y = y.numpy() if isinstance(y, Tensor) else y
        import numpy as np

        y = np.asarray(y).reshape(-1).astype(np.int64)
        if y.shape[0] != n or y.min() < 0 or y.max() >= self.num_classes:
            raise ValueError(f"{type(self).__name__}: expected {n} labels in 0 … {self.num_classes - 1}, "
                             f"got {y.shape[0]} in [{y.min()}, {y.max()}]")
        return tensor(np.eye(self.num_classes, dtype=np.float32)[y])

    def _with(self, h, onehot):
        return h if onehot is None else cat([h, onehot.to(h.dtype)], dim=1)

    def _flat(self, x):
        x = x if isinstance(x, Tensor) else tensor(x)
        if tuple(x.shape[1:]) != self.input_shape and x.shape[1:] != (math.prod(self.input_shape),):
            raise ValueError(f"{type(self).__name__}: expected samples of shape {self.input_shape}, "
                             f"got {tuple(x.shape[1:])}")
        return self.flatten(x) if x.dim() > 2 else x

    # -- the model
    def encode(self, x, y=None):
        """(μ, log σ²) of q(z|x[, y]), each (N, latent)."""
        x = self._flat(x)
        h = self.encoder(self._with(x, self._one_hot(y, x.shape[0])))
        return self.mu(h), self.log_var(h)

    def load_state_dict(self, state_dict, strict=True):
        """``Module.load_state_dict``, refusing first a state dict of another latent size."""
        check_state_latent(self, state_dict, "mu.weight", 0)
        return super().load_state_dict(state_dict, strict)

    def decode(self, z, y=None):
        """The decoder's output for codes z (N, latent): logits (Bernoulli) or (mean, log-variance) (Gaussian)."""
        z = z if isinstance(z, Tensor) else tensor(z)
        if z.dim() != 2 or z.shape[1] != self.latent:
            raise ValueError(f"{type(self).__name__}: expected codes of shape (N, {self.latent}), got {tuple(z.shape)}")
        out = self.decoder(self._with(z, self._one_hot(y, z.shape[0])))
        if self.decoder_kind == "bernoulli":
            return out
        d = math.prod(self.input_shape)
        return out[:, :d], out[:, d:]

    def mean_image(self, decoded):
        """The decoder's mean E[x|z] shaped as the data: sigmoid(logits) or the Gaussian mean."""
        m = decoded.sigmoid() if self.decoder_kind == "bernoulli" else decoded[0]
        return m.reshape(m.shape[0], *self.input_shape)

    def forward(self, x, y=None):
        """(decoded, μ, log σ²) with z = μ + σ ε (one reparameterised draw)."""
        mu, log_var = self.encode(x, y)
        return self.decode(reparameterize(mu, log_var), y), mu, log_var

    def loss(self, batch):
        """The mean negative ELBO of a batch x or (x, y), and its parts (:func:`vae_loss`)."""
        x, y = (batch[0], batch[1]) if isinstance(batch, (tuple, list)) else (batch, None)
        if self.decoder_kind == "bernoulli":
            check_unit_range(x, type(self).__name__)
        decoded, mu, log_var = self(x, y if self.num_classes else None)
        return vae_loss(decoded, self._flat(x), mu, log_var, self.decoder_kind)

    def train_step(self, batch):
        """One optimizer step on the negative ELBO; logs ``loss`` (nats per sample), ``reconstruction``, ``kl``."""
        opt = self.optimizers["default"]
        opt.zero_grad()
        loss, rec, kl = self.loss(batch)
        loss.backward()
        opt.step()
        return {"loss": loss.item(), "reconstruction": rec.item(), "kl": kl.item()}

    def test_step(self, batch):
        loss, rec, kl = self.loss(batch)
        return {"loss": loss.item(), "reconstruction": rec.item(), "kl": kl.item()}

    def sample(self, n, y=None):
        """n samples E[x|z], z ~ N(0, I), as a NumPy array (n, *input_shape) (labels y for a CVAE)."""
        with no_grad():
            return self.mean_image(self.decode(randn(int(n), self.latent), y)).numpy()

    def reconstruct(self, x, y=None):
        """E[x|z = μ(x)] as a NumPy array shaped as x."""
        with no_grad():
            return self.mean_image(self.decode(self.encode(x, y)[0], y)).numpy()

    def interpolate(self, a, b, steps=8, y=None):
        """Decoded means along z_t = (1 − t) μ(a) + t μ(b), t = 0 … 1 in ``steps`` points; a, b one sample each."""
        import numpy as np

        with no_grad():
            za = self.encode(a[None] if a.ndim == len(self.input_shape) else a, y)[0].numpy()
            zb = self.encode(b[None] if b.ndim == len(self.input_shape) else b, y)[0].numpy()
            t = np.linspace(0, 1, int(steps), dtype=np.float32)[:, None]
            z = tensor((1 - t) * za + t * zb)
            yy = None if y is None else np.repeat(np.asarray(y).reshape(-1)[:1], int(steps))
            return self.mean_image(self.decode(z, yy)).numpy()

    def extra_repr(self):
        return f"latent={self.latent}, decoder={self.decoder_kind!r}, num_classes={self.num_classes}"


class ConditionalVAE(VAE):
    """The conditional VAE: :class:`VAE` with a one-hot label concatenated to the encoder's input and
    to the code (q(z|x, y), p(x|z, y)); ``fit(x, y)``, ``sample(n, y)``.

    Example:
        >>> cvae = ConditionalVAE((1, 8, 8), hidden=16, latent=2, num_classes=3)
        >>> cvae.sample(2, y=[0, 2]).shape
        (2, 1, 8, 8)
    """

    def __init__(self, input_shape=(1, 28, 28), hidden=400, latent=20, decoder="bernoulli", num_classes=10):
        if int(num_classes) < 1:
            raise ValueError(f"ConditionalVAE: num_classes must be ≥ 1, got {num_classes!r}")
        super().__init__(input_shape, hidden, latent, decoder, num_classes)
