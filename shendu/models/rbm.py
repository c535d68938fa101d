"""Restricted Boltzmann machines trained by contrastive divergence (docs/rbm.md).

An RBM is an energy model of visible units v (V of them) and hidden units h
(H, binary) with weights W ``(H, V)`` (stored like ``nn.Linear``'s weight, so a
trained RBM initialises a Linear layer as is), visible bias b ``(V,)`` and
hidden bias c ``(H,)``:

    p(v, h) = e^(−E(v, h)) / Z,      p(v) = e^(−F(v)) / Z

Bernoulli–Bernoulli (:class:`BernoulliRBM`, v ∈ {0, 1}ⱽ or probabilities in [0, 1]):

    E(v, h) = −bᵀv − cᵀh − hᵀWv
    F(v)    = −bᵀv − Σⱼ softplus(cⱼ + Wⱼ·v)
    p(hⱼ = 1 | v) = σ(cⱼ + Wⱼ·v),   p(vᵢ = 1 | h) = σ(bᵢ + W₍:,ᵢ₎·h)

Gaussian–Bernoulli (:class:`GaussianBernoulliRBM`, real v, fixed standard deviation σ):

    E(v, h) = Σᵢ (vᵢ − bᵢ)² / 2σ² − cᵀh − hᵀW v/σ
    F(v)    = Σᵢ (vᵢ − bᵢ)² / 2σ² − Σⱼ softplus(cⱼ + Wⱼ·v/σ)
    p(hⱼ = 1 | v) = σ(cⱼ + Wⱼ·v/σ),   p(v | h) = N(b + σ Wᵀh, σ²I)

Learning. The log-likelihood gradient is a difference of two expectations of
−∂F/∂θ, under the data and under the model:

    ∂ log p(v)/∂θ = −∂F(v)/∂θ + E_model[∂F(v')/∂θ]

with −∂F/∂W = p(h=1|v) (v/σ)ᵀ, −∂F/∂c = p(h=1|v), −∂F/∂b = v (Bernoulli) or
(v − b)/σ² (Gaussian). Contrastive divergence CD-k (Hinton 2002) replaces the
model expectation by the state v⁻ after k steps of block Gibbs sampling
started at the data (persistent CD, Tieleman 2008: started at the last state
of chains kept between updates). For a mini-batch of B rows, the update is
written out (not derived by autograd):

    h⁺ = p(h=1 | v⁺),   h⁻ = p(h=1 | v⁻)
    gW = (h⁺ᵀ v⁺ − h⁻ᵀ v⁻) / (σB),  gb = mean(v⁺ − v⁻) / σ²,  gc = mean(h⁺ − h⁻)
    Δθ ← momentum·Δθ + lr·(gθ − weight_decay·θ  [W only]),   θ ← θ + Δθ

Gibbs step: h ~ Bernoulli(p(h|v)) then v ~ p(v|h); a Bernoulli draw is
``u < p`` with u ~ U(0, 1) of p's shape; the chain's last visible state is the
sample (as scikit-learn's BernoulliRBM), and the hidden probabilities (not
samples) enter the statistics, which lowers their variance (Hinton's guide).

Both classes are ``shendu.nn.Module`` s (``forward`` gives p(h=1|v) as a
differentiable tensor) and scikit-learn-style estimators (``fit``,
``partial_fit``, ``transform``, ``fit_transform``, ``get_params`` /
``set_params``), so they fit in a ``sklearn.pipeline.Pipeline`` without
shendu importing scikit-learn.
"""
from __future__ import annotations

import math
import time

from .. import backend
from .. import functional as F
from ..autograd import bump_version, no_grad
from ..backend import xp
from ..nn import Module, Parameter
from ..ops.elementwise import sigmoid_array
from ..tensor import Tensor

__all__ = ["BernoulliRBM", "GaussianBernoulliRBM", "bernoulli_free_energy", "gaussian_free_energy", "rng_from"]


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(xp.asarray(x))


def bernoulli_free_energy(v, weight, visible_bias, hidden_bias):
    """F(v) = −bᵀv − Σⱼ softplus(cⱼ + Wⱼ·v) of a Bernoulli RBM, differentiable (shendu ops).

    Shapes: v ``(N, V)``, weight ``(H, V)``, visible_bias ``(V,)``, hidden_bias ``(H,)`` -> ``(N,)``.
    """
    v, weight = _tensor(v), _tensor(weight)
    pre = v @ weight.T + _tensor(hidden_bias)
    return -(v @ _tensor(visible_bias)) - F.softplus(pre, threshold=math.inf).sum(axis=1)


def gaussian_free_energy(v, weight, visible_bias, hidden_bias, sigma=1.0):
    """F(v) = Σᵢ (vᵢ − bᵢ)²/2σ² − Σⱼ softplus(cⱼ + Wⱼ·v/σ) of a Gaussian–Bernoulli RBM.

    Shapes: v ``(N, V)``, weight ``(H, V)``, visible_bias ``(V,)``, hidden_bias ``(H,)`` -> ``(N,)``.
    """
    v, weight = _tensor(v), _tensor(weight)
    d = v - _tensor(visible_bias)
    pre = (v @ weight.T) * (1.0 / sigma) + _tensor(hidden_bias)
    return (d * d).sum(axis=1) * (0.5 / sigma ** 2) - F.softplus(pre, threshold=math.inf).sum(axis=1)


def rng_from(random_state):
    """A NumPy Generator from ``random_state``: an int seeds a new one; a Generator (or any object
    with ``random(shape)``) is used as is; None seeds one from shendu's global generator."""
    if random_state is None:
        return xp.random.default_rng(int(backend.rng().integers(2 ** 63)))
    if hasattr(random_state, "random"):  # a Generator (or anything drawing uniforms like one)
        return random_state
    return xp.random.default_rng(int(random_state))


class BernoulliRBM(Module):
    """Bernoulli–Bernoulli restricted Boltzmann machine trained by CD-k or persistent CD.

    Formulas: the module docstring (energy, free energy, conditionals, the CD update).

    Args:
        n_hidden: H, the number of hidden units (default 100).
        n_visible: V; None takes it from the first ``fit`` (the parameters are made then).
        learning_rate: lr of the update (default 0.1).
        k: Gibbs steps per update (CD-k; default 1).
        persistent: persistent CD (chains kept across updates, one per batch row) instead of CD-k.
        batch_size: rows per update (default 10). epochs: passes over the data in ``fit`` (default 10).
        momentum: of the parameter step (default 0). weight_decay: L2 penalty on W (default 0).
        random_state: int seed, a NumPy Generator, or None (a seed drawn from shendu's global generator).
        verbose: print one line per epoch (pseudo-likelihood or reconstruction error).

    Parameters: ``weight`` (H, V) initialised N(0, 0.01²), ``visible_bias`` (V,) and
    ``hidden_bias`` (H,) zero. After ``fit``: ``history``, a list of per-epoch dicts
    (``epoch``, ``pseudo_likelihood`` (Bernoulli only), ``reconstruction_error``, ``seconds``).

    Shape: ``forward`` / ``transform``: (N, V) or (N, *dims) with prod(dims) = V -> (N, H).

    Example:
        >>> x = (shendu.data.load("digits").x_train.reshape(-1, 64) > 0.5).astype("float32")
        >>> rbm = BernoulliRBM(32, epochs=2, random_state=0).fit(x)
        >>> rbm.transform(x).shape
        (1437, 32)
    """

    visible_kind = "Bernoulli"
    _PARAMS = ("n_hidden", "n_visible", "learning_rate", "k", "persistent", "batch_size", "epochs", "momentum",
               "weight_decay", "random_state", "verbose")

    def __init__(self, n_hidden=100, n_visible=None, *, learning_rate=0.1, k=1, persistent=False, batch_size=10,
                 epochs=10, momentum=0.0, weight_decay=0.0, random_state=None, verbose=0):
        super().__init__()
        self.n_hidden, self.n_visible = n_hidden, n_visible
        self.learning_rate, self.k, self.persistent = learning_rate, k, persistent
        self.batch_size, self.epochs, self.momentum, self.weight_decay = batch_size, epochs, momentum, weight_decay
        self.random_state, self.verbose = random_state, verbose
        self.history = []
        self._rng = self._chain = self._velocity = None
        if n_visible is not None:
            self._build(n_visible)

    # ------------------------------------------------------------ estimator protocol (scikit-learn's)
    def get_params(self, deep=True):
        """The constructor's arguments, as scikit-learn's ``BaseEstimator.get_params``."""
        return {name: getattr(self, name) for name in self._PARAMS}

    def set_params(self, **params):
        """Set constructor arguments (scikit-learn's ``set_params``); returns self."""
        for name, value in params.items():
            if name not in self._PARAMS:
                raise ValueError(f"{type(self).__name__}.set_params: unknown parameter {name!r} "
                                 f"(expected one of {', '.join(self._PARAMS)})")
            object.__setattr__(self, name, value)
        return self

    def extra_repr(self):
        return f"n_visible={self.n_visible}, n_hidden={self.n_hidden}, k={self.k}, persistent={self.persistent}"

    # ------------------------------------------------------------ parameters
    def _check_hyper(self):
        name = type(self).__name__
        for key in ("n_hidden", "k", "batch_size", "epochs"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: {key} must be a positive integer, got {value!r}")
        for key in ("learning_rate", "momentum", "weight_decay"):
            value = getattr(self, key)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{name}: {key} must be a finite number ≥ 0, got {value!r}")

    def _build(self, n_visible):
        self._check_hyper()
        if isinstance(n_visible, bool) or not isinstance(n_visible, int) or n_visible < 1:
            raise ValueError(f"{type(self).__name__}: n_visible must be a positive integer, got {n_visible!r}")
        self.n_visible = n_visible
        dtype = backend.get_default_dtype()
        w = rng_from(self.random_state).normal(0.0, 0.01, size=(self.n_hidden, n_visible)).astype(dtype)
        self.weight = Parameter(w)
        self.visible_bias = Parameter(xp.zeros(n_visible, dtype=dtype))
        self.hidden_bias = Parameter(xp.zeros(self.n_hidden, dtype=dtype))
        self._velocity = self._chain = None

    def _params(self):
        return self.weight.data, self.visible_bias.data, self.hidden_bias.data

    # ------------------------------------------------------------ input checks
    def _as_matrix(self, x, where):
        """Input -> a float (N, V) array, checked: 2-D or more, V features, finite, in range."""
        x = x.data if isinstance(x, Tensor) else xp.asarray(x)
        name = type(self).__name__
        if x.ndim < 2:
            raise ValueError(f"{name}.{where}: expected a batch (N, V) or (N, *dims), got shape {tuple(x.shape)}")
        x = x.reshape(len(x), -1)
        if x.dtype.kind not in "fiub":
            raise ValueError(f"{name}.{where}: expected numbers, got dtype {x.dtype}")
        x = x.astype(self.weight.dtype if self.n_visible is not None and hasattr(self, "weight")
                     else backend.get_default_dtype(), copy=False)
        if self.n_visible is not None and x.shape[1] != self.n_visible:
            raise ValueError(f"{name}.{where}: expected {self.n_visible} visible units per sample, "
                             f"got {x.shape[1]} (input shape {tuple(x.shape)})")
        if x.size and not xp.isfinite(x).all():
            raise ValueError(f"{name}.{where}: the input holds NaN or infinite values")
        self._check_range(x, where)
        return x

    def _check_range(self, x, where):
        if x.size and (x.min() < 0 or x.max() > 1):
            raise ValueError(f"{type(self).__name__}.{where}: Bernoulli visible units need data in [0, 1] "
                             f"(binary or probabilities), got values in [{float(x.min()):g}, {float(x.max()):g}]; "
                             f"scale it to [0, 1] or use GaussianBernoulliRBM for real-valued data")

    def _fitted(self, where):
        if self.n_visible is None:
            raise RuntimeError(f"{type(self).__name__}.{where}: not fitted yet (call fit, or give n_visible)")

    # ------------------------------------------------------------ conditionals (arrays)
    def _hidden_input(self, v):
        """cⱼ + Wⱼ·v/σ for each row, (N, H)."""
        w, _, c = self._params()
        return backend.matmul(v, w.T) + c

    def hidden_probabilities(self, v):
        """p(h = 1 | v) = σ(c + W v), array (N, H)."""
        return sigmoid_array(self._hidden_input(v))

    def visible_mean(self, h):
        """E[v | h] = σ(b + Wᵀh), array (N, V)."""
        w, b, _ = self._params()
        return sigmoid_array(backend.matmul(h, w) + b)

    def _sample_visible(self, h, rng):
        p = self.visible_mean(h)
        return (rng.random(p.shape) < p).astype(p.dtype)

    def _visible_stat(self, v):
        """−∂F/∂b per row: v."""
        return v

    def _scaled(self, v):
        """v/σ, the visible factor of −∂F/∂W."""
        return v

    def _gibbs_chain(self, v, steps, rng):
        """``steps`` block Gibbs steps v -> h ~ p(h|v) -> v ~ p(v|h); returns the last v."""
        for _ in range(steps):
            p = self.hidden_probabilities(v)
            h = (rng.random(p.shape) < p).astype(p.dtype)
            v = self._sample_visible(h, rng)
        return v

    # ------------------------------------------------------------ the CD update
    def contrastive_gradient(self, v_pos, v_neg):
        """The CD estimate of the log-likelihood gradient from positive (data) rows ``v_pos``
        and negative (model) rows ``v_neg``, both (B, V) arrays:

            gW = (h⁺ᵀ (v⁺/σ) − h⁻ᵀ (v⁻/σ)) / B,   gb = mean(∂ₚ⁺ − ∂ₚ⁻),   gc = mean(h⁺ − h⁻)

        with h = p(h=1|v) and ∂ₚ = −∂F/∂b. Returns ``(gW (H, V), gb (V,), gc (H,))``: equal to
        −∂/∂θ [mean F(v⁺) − mean F(v⁻)] (the tests check it against autograd).
        """
        hp, hn = self.hidden_probabilities(v_pos), self.hidden_probabilities(v_neg)
        gw = (backend.matmul(hp.T, self._scaled(v_pos)) - backend.matmul(hn.T, self._scaled(v_neg))) / len(v_pos)
        gb = (self._visible_stat(v_pos) - self._visible_stat(v_neg)).mean(axis=0)
        gc = (hp - hn).mean(axis=0)
        return gw, gb, gc

    def cd_step(self, v, rng=None):
        """One update on the mini-batch ``v`` (B, V): the negative rows after k Gibbs steps from
        ``v`` (CD-k) or from the persistent chains (PCD), then the step of the module docstring.
        Returns the negative rows."""
        self._fitted("cd_step")
        return self._update(self._as_matrix(v, "cd_step"), self._rng_for(rng))

    def _update(self, v, rng):
        """:meth:`cd_step` on a checked (B, V) array."""
        if self.persistent:
            if self._chain is None or self._chain.shape != v.shape:
                self._chain = v.copy()  # chains start at data, then run on their own
            v_neg = self._chain = self._gibbs_chain(self._chain, self.k, rng)
        else:
            v_neg = self._gibbs_chain(v, self.k, rng)
        grads = self.contrastive_gradient(v, v_neg)
        params = (self.weight, self.visible_bias, self.hidden_bias)
        if self._velocity is None:
            self._velocity = [xp.zeros_like(p.data) for p in params]
        for i, (p, g) in enumerate(zip(params, grads)):
            if i == 0 and self.weight_decay:
                g = g - self.weight_decay * p.data
            vel = self._velocity[i]
            vel *= self.momentum
            vel += self.learning_rate * g
            p.data += vel.astype(p.data.dtype, copy=False)
            bump_version(p)  # an in-place change: a graph that saved the parameter refuses backward
        return v_neg

    def _rng_for(self, rng):
        if rng is not None:
            return rng
        if self._rng is None:
            self._rng = rng_from(self.random_state)
        return self._rng

    # ------------------------------------------------------------ training
    def fit(self, X, y=None):
        """Train for ``epochs`` passes of shuffled mini-batches (``y`` is ignored); returns self.
        Every call starts from a fresh initialisation (scikit-learn's rule; ``partial_fit`` continues)."""
        self._check_hyper()
        x = self._as_matrix(X, "fit")
        self._build(x.shape[1])
        self._rng = rng_from(self.random_state)
        self.history = []
        for epoch in range(1, self.epochs + 1):
            self._epoch(x, epoch)
        return self

    def partial_fit(self, X, y=None):
        """One update per ``batch_size`` rows of ``X`` (its rows in order); returns self."""
        if self.n_visible is None:
            self._build(self._as_matrix(X, "partial_fit").shape[1])
        x = self._as_matrix(X, "partial_fit")
        rng = self._rng_for(None)
        for start in range(0, len(x), self.batch_size):
            self._update(x[start:start + self.batch_size], rng)
        return self

    def _epoch(self, x, epoch):
        t0 = time.perf_counter()
        order = self._rng.permutation(len(x))
        for start in range(0, len(x), self.batch_size):
            self._update(x[order[start:start + self.batch_size]], self._rng)
        monitor = x[order[:1000]]  # a fixed-size sample keeps the monitoring cheap
        row = {"epoch": epoch, "reconstruction_error": float(self.reconstruction_error(monitor).mean())}
        pl = self._pseudo_likelihood_or_none(monitor)
        if pl is not None:
            row["pseudo_likelihood"] = pl
        row["seconds"] = time.perf_counter() - t0
        self.history.append(row)
        if self.verbose:
            shown = ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items())
            print(f"[{type(self).__name__}] {shown}", flush=True)

    def _pseudo_likelihood_or_none(self, x):
        return float(self.pseudo_likelihood(x, rng=self._rng).mean())

    # ------------------------------------------------------------ using a trained RBM
    def forward(self, x):
        """p(h = 1 | v) as a differentiable tensor: σ(c + x Wᵀ), (N, V) -> (N, H)."""
        self._fitted("forward")
        x = _tensor(x)
        if x.ndim != 2 or x.shape[1] != self.n_visible:
            raise ValueError(f"{type(self).__name__}: expected input (N, {self.n_visible}), got {tuple(x.shape)}")
        return F.sigmoid(self._scaled_tensor(x) @ self.weight.T + self.hidden_bias)

    def _scaled_tensor(self, x):
        return x

    def transform(self, X):
        """The features of the rows of ``X``: p(h = 1 | v), array (N, H)."""
        self._fitted("transform")
        return self.hidden_probabilities(self._as_matrix(X, "transform"))

    def fit_transform(self, X, y=None):
        """``fit(X).transform(X)``."""
        return self.fit(X, y).transform(X)

    def free_energy(self, v):
        """F(v) per row, a differentiable tensor (N,) (formula: module docstring)."""
        self._fitted("free_energy")
        if not isinstance(v, Tensor):
            v = Tensor(self._as_matrix(v, "free_energy"))
        return bernoulli_free_energy(v, self.weight, self.visible_bias, self.hidden_bias)

    def energy(self, v, h):
        """E(v, h) = −bᵀv − cᵀh − hᵀWv per row, a tensor (N,) (v (N, V), h (N, H))."""
        self._fitted("energy")
        v, h = _tensor(v), _tensor(h)
        return -(v @ self.visible_bias) - (h @ self.hidden_bias) - ((h @ self.weight) * v).sum(axis=1)

    def gibbs(self, v, steps=1, random_state=None):
        """``steps`` block Gibbs steps from the rows of ``v``; returns the visible state (N, V)."""
        self._fitted("gibbs")
        return self._gibbs_chain(self._as_matrix(v, "gibbs"), steps, self._rng_for(_maybe(random_state)))

    def sample(self, n, steps=1000, random_state=None):
        """``n`` samples of the model: ``steps`` Gibbs steps from random visible states; (n, V)."""
        self._fitted("sample")
        rng = self._rng_for(_maybe(random_state))
        return self._gibbs_chain(self._initial_visible(n, rng), steps, rng)

    def _initial_visible(self, n, rng):
        return (rng.random((n, self.n_visible)) < 0.5).astype(self.weight.dtype)

    def reconstruction_error(self, X):
        """Squared error per row between v and E[v | h = p(h|v)] (mean-field), (N,)."""
        self._fitted("reconstruction_error")
        v = self._as_matrix(X, "reconstruction_error")
        d = v - self.visible_mean(self.hidden_probabilities(v))
        return (d * d).sum(axis=1)

    def pseudo_likelihood(self, X, rng=None):
        """Stochastic pseudo-log-likelihood per row (scikit-learn's ``score_samples``):

            PL(v) ≈ V · log σ(F(ṽ) − F(v)),   ṽ = v with one random unit i flipped (vᵢ -> 1 − vᵢ)

        (the log-probability of unit i given the others, times V). Binarises v at 0.5 first.
        """
        self._fitted("pseudo_likelihood")
        rng = self._rng_for(rng)
        v = (self._as_matrix(X, "pseudo_likelihood") > 0.5).astype(self.weight.dtype)
        flipped = v.copy()
        rows, cols = xp.arange(len(v)), rng.integers(0, self.n_visible, len(v))
        flipped[rows, cols] = 1 - flipped[rows, cols]
        with no_grad():
            fe, fe_flipped = self.free_energy(v).data, self.free_energy(flipped).data
        d = (fe_flipped - fe).astype(xp.float64)
        return -self.n_visible * xp.logaddexp(0, -d)  # V · log σ(d), never overflowing

    score_samples = pseudo_likelihood


def _maybe(random_state):
    return None if random_state is None else rng_from(random_state)


class GaussianBernoulliRBM(BernoulliRBM):
    """Gaussian–Bernoulli RBM: real-valued visible units with a fixed standard deviation σ.

    Formulas: the module docstring (E, F, p(h|v) = σ(c + Wv/σ), p(v|h) = N(b + σWᵀh, σ²)).
    Standardise the data first (zero mean, unit variance per feature, then ``sigma=1``), and
    use a smaller learning rate than for binary data (default 0.01).

    Args: as :class:`BernoulliRBM`, plus ``sigma`` (default 1.0). There is no pseudo-likelihood
    for real-valued units: ``history`` monitors the reconstruction error.

    Example:
        >>> x = shendu.data.load("digits").x_train.reshape(-1, 64)
        >>> z = (x - x.mean(0)) / (x.std(0) + 1e-3)
        >>> GaussianBernoulliRBM(16, epochs=1, random_state=0).fit(z).transform(z).shape
        (1437, 16)
    """

    visible_kind = "Gaussian"
    _PARAMS = BernoulliRBM._PARAMS + ("sigma",)

    def __init__(self, n_hidden=100, n_visible=None, *, learning_rate=0.01, k=1, persistent=False, batch_size=10,
                 epochs=10, momentum=0.0, weight_decay=0.0, random_state=None, verbose=0, sigma=1.0):
        if not (isinstance(sigma, (int, float)) and math.isfinite(sigma) and sigma > 0):
            raise ValueError(f"GaussianBernoulliRBM: sigma must be a finite number > 0, got {sigma!r}")
        super().__init__(n_hidden, n_visible, learning_rate=learning_rate, k=k, persistent=persistent,
                         batch_size=batch_size, epochs=epochs, momentum=momentum, weight_decay=weight_decay,
                         random_state=random_state, verbose=verbose)
        self.sigma = sigma

    def _check_range(self, x, where):
        pass  # any real value

    def _hidden_input(self, v):
        w, _, c = self._params()
        return backend.matmul(v, w.T) * (1.0 / self.sigma) + c

    def visible_mean(self, h):
        """E[v | h] = b + σ Wᵀh, array (N, V)."""
        w, b, _ = self._params()
        return backend.matmul(h, w) * self.sigma + b

    def _sample_visible(self, h, rng):
        mean = self.visible_mean(h)
        return (mean + self.sigma * rng.standard_normal(mean.shape)).astype(mean.dtype)

    def _visible_stat(self, v):
        return (v - self.visible_bias.data) / self.sigma ** 2

    def _scaled(self, v):
        return v / self.sigma

    def _scaled_tensor(self, x):
        return x * (1.0 / self.sigma)

    def _initial_visible(self, n, rng):
        return (self.visible_bias.data + self.sigma * rng.standard_normal((n, self.n_visible))).astype(
            self.weight.dtype)

    def _pseudo_likelihood_or_none(self, x):
        return None

    def free_energy(self, v):
        """F(v) per row, a differentiable tensor (N,) (formula: module docstring)."""
        self._fitted("free_energy")
        if not isinstance(v, Tensor):
            v = Tensor(self._as_matrix(v, "free_energy"))
        return gaussian_free_energy(v, self.weight, self.visible_bias, self.hidden_bias, self.sigma)

    def energy(self, v, h):
        """E(v, h) = Σ(v − b)²/2σ² − cᵀh − hᵀW v/σ per row, a tensor (N,)."""
        self._fitted("energy")
        v, h = _tensor(v), _tensor(h)
        d = v - self.visible_bias
        return ((d * d).sum(axis=1) * (0.5 / self.sigma ** 2) - (h @ self.hidden_bias)
                - ((h @ self.weight) * v).sum(axis=1) * (1.0 / self.sigma))

    def pseudo_likelihood(self, X, rng=None):
        """Not defined for real-valued visible units: raises ValueError."""
        raise ValueError("GaussianBernoulliRBM.pseudo_likelihood: the pseudo-likelihood of flipped bits needs "
                         "binary visible units (BernoulliRBM); monitor reconstruction_error instead")

    score_samples = pseudo_likelihood
