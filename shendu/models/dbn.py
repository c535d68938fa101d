"""Deep belief network: a stack of RBMs trained greedily, layer by layer, then unrolled into an
MLP fine-tuned by backpropagation (Hinton, Osindero & Teh 2006; Hinton & Salakhutdinov 2006).

Greedy pre-training (docs/rbm.md): RBM 1 models the data x = h⁰; RBM ℓ models the hidden
probabilities of the one below,

    hˡ = p(hˡ = 1 | hˡ⁻¹) = σ(cˡ + Wˡ hˡ⁻¹),

each trained by CD-k or persistent CD (:mod:`shendu.models.rbm`) with the lower layers fixed.
The stack then initialises a feed-forward network with the same weights,

    MLP(x) = Linear_out(σ(W^L … σ(W¹x + c¹) … + c^L)),

whose hidden layers compute exactly those probabilities; a new output layer is added and the
whole network is fine-tuned with backpropagation on the labels. As a generative model, the
top RBM is sampled by Gibbs sampling and the sample is carried down through the lower RBMs'
visible means E[hˡ⁻¹ | hˡ] = σ(bˡ + Wˡᵀ hˡ).
"""
from __future__ import annotations

from .. import nn
from ..nn import Module, ModuleList, init
from .rbm import BernoulliRBM, GaussianBernoulliRBM

__all__ = ["DBN"]


class DBN(Module):
    """A deep belief network of RBMs with sizes ``layers`` (visible first).

    Args:
        layers: unit counts, e.g. ``(784, 500, 500)``: RBMs 784×500 and 500×500.
        gaussian_input: the first RBM is Gaussian–Bernoulli (standardised real data) instead of
            Bernoulli (data in [0, 1]).
        learning_rate, k, persistent, epochs, batch_size, momentum, weight_decay: of every RBM
            (:class:`~shendu.models.rbm.BernoulliRBM`); ``learning_rate`` may be a sequence, one per RBM.
        random_state: int seed (RBM ℓ gets seed + ℓ) or None.
        verbose: print each RBM's epochs.

    Attributes: ``rbms``, a ModuleList of the RBMs (bottom first).

    Shape: ``transform`` / ``forward``: (N, layers[0]) or (N, *dims) -> (N, layers[-1]).

    Example:
        >>> x = shendu.data.load("digits").x_train.reshape(-1, 64)
        >>> dbn = DBN((64, 32, 16), epochs=1, random_state=0).pretrain(x)
        >>> net = dbn.to_mlp(10)        # Linear 64→32, Sigmoid, Linear 32→16, Sigmoid, Linear 16→10
        >>> net(shendu.tensor(x[:2])).shape
        (2, 10)
    """

    def __init__(self, layers=(784, 500, 500), *, gaussian_input=False, learning_rate=0.05, k=1, persistent=False,
                 epochs=10, batch_size=20, momentum=0.5, weight_decay=0.0, random_state=None, verbose=0):
        super().__init__()
        layers = tuple(layers)
        if len(layers) < 2 or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in layers):
            raise ValueError(f"DBN: layers must be two or more positive unit counts (visible first), got {layers!r}")
        rates = tuple(learning_rate) if isinstance(learning_rate, (list, tuple)) else (learning_rate,) * (
            len(layers) - 1)
        if len(rates) != len(layers) - 1:
            raise ValueError(f"DBN: {len(layers) - 1} RBMs need as many learning rates, got {len(rates)}")
        self.layers, self.gaussian_input = layers, gaussian_input
        rbms = []
        for i, (n_vis, n_hid) in enumerate(zip(layers[:-1], layers[1:])):
            cls = GaussianBernoulliRBM if (gaussian_input and i == 0) else BernoulliRBM
            seed = None if random_state is None else int(random_state) + i
            rbms.append(cls(n_hid, n_vis, learning_rate=rates[i], k=k, persistent=persistent, epochs=epochs,
                            batch_size=batch_size, momentum=momentum, weight_decay=weight_decay,
                            random_state=seed, verbose=verbose))
        self.rbms = ModuleList(rbms)

    def extra_repr(self):
        return f"layers={self.layers}"

    def pretrain(self, X):
        """Greedy layer-wise training: RBM ℓ is fit to the hidden probabilities of RBM ℓ−1
        (``fit`` each); returns self."""
        h = X
        for rbm in self.rbms:
            rbm.fit(h)
            h = rbm.transform(h)
        return self

    def transform(self, X):
        """The top layer's probabilities: the RBMs' ``transform`` in turn, array (N, layers[-1])."""
        h = X
        for rbm in self.rbms:
            h = rbm.transform(h)
        return h

    def forward(self, x):
        """``transform`` as a differentiable tensor (the RBMs' ``forward`` in turn)."""
        for rbm in self.rbms:
            x = rbm(x)
        return x

    def reconstruct(self, X):
        """Up through the stack by hidden probabilities, then down by visible means; (N, layers[0])."""
        h = self.transform(X)
        return self._down(h)

    def _down(self, h):
        for rbm in reversed(self.rbms):
            h = rbm.visible_mean(h)
        return h

    def sample(self, n, steps=1000, random_state=None):
        """``n`` samples: ``steps`` Gibbs steps in the top RBM, then its visible state carried
        down by the lower RBMs' visible means; array (n, layers[0])."""
        v = self.rbms[-1].sample(n, steps=steps, random_state=random_state)
        for rbm in reversed(self.rbms[:-1]):
            v = rbm.visible_mean(v)
        return v

    def to_mlp(self, num_classes, output_init_std=0.01):
        """An ``nn.Sequential`` classifier initialised from the stack:
        ``Linear(layers[ℓ], layers[ℓ+1]) + Sigmoid`` per RBM (weight W, bias c copied), then a new
        ``Linear(layers[-1], num_classes)`` with weights N(0, output_init_std²) and zero bias
        (logits: train with cross-entropy).

        A Gaussian first layer's RBM computes σ(c + W v/σ): its Linear weight is W/σ.
        """
        mods = []
        for rbm in self.rbms:
            lin = nn.Linear(rbm.n_visible, rbm.n_hidden)
            scale = 1.0 / rbm.sigma if isinstance(rbm, GaussianBernoulliRBM) else 1.0
            lin.weight.data[...] = rbm.weight.data * scale
            lin.bias.data[...] = rbm.hidden_bias.data
            mods += [lin, nn.Sigmoid()]
        out = nn.Linear(self.layers[-1], num_classes)
        init.normal_(out.weight, 0.0, output_init_std)
        init.zeros_(out.bias)
        return nn.Sequential(*mods, out)

    @staticmethod
    def random_mlp(layers, num_classes):
        """The same network as :meth:`to_mlp` with PyTorch's default initialisation of every
        Linear layer (the baseline that pre-training is compared with)."""
        mods = []
        for n_in, n_out in zip(layers[:-1], layers[1:]):
            mods += [nn.Linear(n_in, n_out), nn.Sigmoid()]
        return nn.Sequential(*mods, nn.Linear(layers[-1], num_classes))

