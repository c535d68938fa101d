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

Label units (``num_classes`` = K > 0, Hinton, Osindero & Teh 2006): the top RBM's visible layer is
[h^{L−1}, y] with y the one-hot label (K more visible units), trained on the labelled data. A
class-conditional sample clamps y at every Gibbs step of the top RBM,

    h ~ p(h | [v, y]) = σ(c + W_v v + W_y y),   v ~ p(v | h) = σ(b_v + W_vᵀ h),   y kept fixed,

which keeps the chain in that class's mode instead of the one mode that an unclamped chain of a
briefly trained top RBM falls into. The feed-forward features (``transform``, ``to_mlp``) use
the top RBM with y = 0, i.e. only W_v.
"""
from __future__ import annotations

from .. import nn
from ..backend import xp
from ..nn import Module, ModuleList, init
from .rbm import BernoulliRBM, GaussianBernoulliRBM, rng_from

__all__ = ["DBN"]


class DBN(Module):
    """A deep belief network of RBMs with sizes ``layers`` (visible first).

    Args:
        layers: unit counts, e.g. ``(784, 500, 500)``: RBMs 784×500 and 500×500.
        gaussian_input: the first RBM is Gaussian–Bernoulli (standardised real data) instead of
            Bernoulli (data in [0, 1]).
        learning_rate, k, persistent, epochs, batch_size, momentum, weight_decay: of every RBM
            (:class:`~shendu.models.rbm.BernoulliRBM`); ``learning_rate`` and ``epochs`` may be
            sequences, one per RBM.
        random_state: int seed (RBM ℓ gets seed + ℓ) or None.
        verbose: print each RBM's epochs.
        num_classes: K > 0 gives the top RBM K label units (module docstring): ``pretrain(X, y)``
            then needs the labels, and ``sample(n, labels=…)`` draws class-conditional samples.

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
                 epochs=10, batch_size=20, momentum=0.5, weight_decay=0.0, random_state=None, verbose=0,
                 num_classes=0):
        super().__init__()
        layers = tuple(layers)
        if len(layers) < 2 or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in layers):
            raise ValueError(f"DBN: layers must be two or more positive unit counts (visible first), got {layers!r}")
        rates, epochs = self._per_rbm(learning_rate, layers, "learning rates"), self._per_rbm(epochs, layers, "epochs")
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 0:
            raise ValueError(f"DBN: num_classes must be an integer ≥ 0 (0: no label units), got {num_classes!r}")
        self.layers, self.gaussian_input, self.num_classes = layers, gaussian_input, num_classes
        rbms = []
        for i, (n_vis, n_hid) in enumerate(zip(layers[:-1], layers[1:])):
            n_vis += num_classes if i == len(layers) - 2 else 0      # the top RBM's label units
            cls = GaussianBernoulliRBM if (gaussian_input and i == 0) else BernoulliRBM
            seed = None if random_state is None else int(random_state) + i
            rbms.append(cls(n_hid, n_vis, learning_rate=rates[i], k=k, persistent=persistent, epochs=epochs[i],
                            batch_size=batch_size, momentum=momentum, weight_decay=weight_decay,
                            random_state=seed, verbose=verbose))
        self.rbms = ModuleList(rbms)

    @staticmethod
    def _per_rbm(value, layers, what):
        values = tuple(value) if isinstance(value, (list, tuple)) else (value,) * (len(layers) - 1)
        if len(values) != len(layers) - 1:
            raise ValueError(f"DBN: {len(layers) - 1} RBMs need as many {what}, got {len(values)}")
        return values

    def extra_repr(self):
        return f"layers={self.layers}"

    def pretrain(self, X, y=None):
        """Greedy layer-wise training: RBM ℓ is fit to the hidden probabilities of RBM ℓ−1
        (``fit`` each); with label units the top RBM is fit to [h^{L−1}, one-hot(y)]; returns self."""
        if self.num_classes and y is None:
            raise ValueError(f"DBN.pretrain: a DBN with {self.num_classes} label units needs the labels y")
        h = X
        for rbm in self.rbms[:-1]:
            rbm.fit(h)
            h = rbm.transform(h)
        self.rbms[-1].fit(self._with_labels(h, y) if self.num_classes else h)
        return self

    def _one_hot(self, y, n):
        y = xp.asarray(y.numpy() if hasattr(y, "numpy") else y).reshape(-1)
        if y.shape[0] != n or y.dtype.kind not in "iu" or (n and (y.min() < 0 or y.max() >= self.num_classes)):
            raise ValueError(f"DBN: expected {n} integer labels in 0 … {self.num_classes - 1}, got "
                             f"{y.shape[0]} of dtype {y.dtype}" + (f" in [{y.min()}, {y.max()}]" if y.size else ""))
        return xp.eye(self.num_classes, dtype=self.rbms[-1].weight.dtype)[y]

    def _with_labels(self, h, y):
        """[h, one-hot(y)] (y None: zeros), the top RBM's visible layer."""
        h = xp.asarray(h, dtype=self.rbms[-1].weight.dtype)
        lab = xp.zeros((len(h), self.num_classes), h.dtype) if y is None else self._one_hot(y, len(h))
        return xp.concatenate([h, lab], axis=1)

    def transform(self, X):
        """The top layer's probabilities: the RBMs' ``transform`` in turn (label units at 0),
        array (N, layers[-1])."""
        h = X
        for rbm in self.rbms[:-1]:
            h = rbm.transform(h)
        return self.rbms[-1].transform(self._with_labels(h, None) if self.num_classes else h)

    def forward(self, x):
        """``transform`` as a differentiable tensor (the RBMs' ``forward`` in turn; label units at 0)."""
        for rbm in self.rbms[:-1]:
            x = rbm(x)
        top = self.rbms[-1]
        if not self.num_classes:
            return top(x)
        w = top.weight[:, :self.layers[-2]]          # y = 0: only W_v acts
        return (x.reshape(x.shape[0], -1) @ w.T + top.hidden_bias).sigmoid()

    def reconstruct(self, X):
        """Up through the stack by hidden probabilities, then down by visible means; (N, layers[0])."""
        return self._down(self.rbms[-1].visible_mean(self.transform(X))[:, :self.layers[-2]])

    def _down(self, v):
        """The top RBM's visible state (N, layers[-2]) carried down by the lower RBMs' visible means."""
        for rbm in reversed(self.rbms[:-1]):
            v = rbm.visible_mean(v)
        return v

    def sample(self, n, steps=1000, random_state=None, labels=None, start=None):
        """``n`` samples: ``steps`` block Gibbs steps in the top RBM, then its visible means
        E[v | h] carried down by the lower RBMs' visible means; array (n, layers[0]).

        Args:
            labels: n class labels (needs ``num_classes``): the label units are clamped to them
                at every step, a class-conditional sample (module docstring).
            start: n data rows (N, layers[0]) whose features start the chains (otherwise random
                binary states): short chains from data stay near its classes. Unclamped label
                units are sampled with the other visible units.
        """
        top = self.rbms[-1]
        top._fitted("sample")
        rng = rng_from(random_state)
        if labels is not None and not self.num_classes:
            raise ValueError("DBN.sample: labels need a DBN with label units (num_classes > 0)")
        lab = None if labels is None else self._one_hot(labels, n)
        if start is not None:
            h = start
            for rbm in self.rbms[:-1]:
                h = rbm.transform(h)
            if len(h) != n:
                raise ValueError(f"DBN.sample: expected {n} start rows, got {len(h)}")
            v = (rng.random(h.shape) < h).astype(top.weight.dtype)
        else:
            v = (rng.random((n, self.layers[-2])) < 0.5).astype(top.weight.dtype)
        k = self.layers[-2]
        # the chain's state holds the label units too: sampled like the others (Bernoulli), or clamped
        full = self._with_labels(v, None) if self.num_classes else v
        for _ in range(max(int(steps), 1)):
            if lab is not None:
                full[:, k:] = lab
            p = top.hidden_probabilities(full)
            h = (rng.random(p.shape) < p).astype(p.dtype)
            mean, full = top.visible_mean(h)[:, :k], top._sample_visible(h, rng)
        return self._down(mean)

    def to_mlp(self, num_classes, output_init_std=0.01):
        """An ``nn.Sequential`` classifier initialised from the stack:
        ``Linear(layers[ℓ], layers[ℓ+1]) + Sigmoid`` per RBM (weight W, bias c copied), then a new
        ``Linear(layers[-1], num_classes)`` with weights N(0, output_init_std²) and zero bias
        (logits: train with cross-entropy).

        A Gaussian first layer's RBM computes σ(c + W v/σ): its Linear weight is W/σ.
        """
        mods = []
        for n_vis, rbm in zip(self.layers[:-1], self.rbms):
            lin = nn.Linear(n_vis, rbm.n_hidden)
            scale = 1.0 / rbm.sigma if isinstance(rbm, GaussianBernoulliRBM) else 1.0
            lin.weight.data[...] = rbm.weight.data[:, :n_vis] * scale      # the top RBM's W_v
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

