"""Keras's optimizers with Keras's hyper-parameters, defaults and update rules.

A Keras optimizer object is created before the model's weights exist; ``compile``
hands it to shendu's Trainer, which calls it with the parameters once they do,
and it returns a :class:`shendu.optim.Optimizer` (``optimizer.inner``).

Update rules (g the gradient, t the step, Keras 3's formulas):

* SGD: v ← μ·v − η·g, w ← w + v (Nesterov: w ← w + μ·v − η·g) — PyTorch's SGD
  with dampening 0 is the same rule, so shendu's ``optim.SGD`` runs it.
* Adam: m ← m + (1 − β₁)(g − m), v ← v + (1 − β₂)(g² − v),
  w ← w − η·√(1 − β₂ᵗ)/(1 − β₁ᵗ) · m / (√v + ε), ε = 1e-7 (ε is added to √v, not to
  √v̂ as in PyTorch); AdamW also w ← w − η·λ·w first (decoupled decay, λ = 0.004).
* RMSprop: v ← ρv + (1 − ρ)g², w ← w − η·g / √(v + ε) (ε inside the root), ρ = 0.9,
  with momentum: b ← μ·b + η·g/√(v + ε), w ← w − b.
* Adagrad: a ← a + g² (a₀ = 0.1), w ← w − η·g / √(a + ε).
"""
from __future__ import annotations

from .. import optim
from ..backend import get_array_module
from .errors import unsupported

_UNSUPPORTED = ("clipnorm", "clipvalue", "global_clipnorm", "use_ema", "loss_scale_factor",
                "gradient_accumulation_steps")


class _KerasRule(optim.Optimizer):
    """A shendu Optimizer running one of Keras's update rules (``rule``)."""

    def __init__(self, params, rule, **hyper):
        self.rule = rule
        super().__init__(params, hyper)

    def _update(self, p, g, state, group):
        self.rule(p, g, state, group, get_array_module(p))


def _adam(p, g, state, group, mod):
    t = state["step"] = state.get("step", 0) + 1
    lr, b1, b2, eps = (float(group[k]) for k in ("lr", "beta_1", "beta_2", "epsilon"))
    if group.get("weight_decay"):
        p -= lr * float(group["weight_decay"]) * p
    m = state.setdefault("m", mod.zeros_like(p))
    v = state.setdefault("v", mod.zeros_like(p))
    m += (1 - b1) * (g - m)
    v += (1 - b2) * (g * g - v)
    if group.get("amsgrad"):
        vh = state.setdefault("v_hat", mod.zeros_like(p))
        mod.maximum(vh, v, out=vh)
        v = vh
    alpha = lr * (1 - b2 ** t) ** 0.5 / (1 - b1 ** t)
    p -= alpha * m / (mod.sqrt(v) + eps)


def _rmsprop(p, g, state, group, mod):
    lr, rho, eps, mu = (float(group[k]) for k in ("lr", "rho", "epsilon", "momentum"))
    v = state.setdefault("velocity", mod.zeros_like(p))
    v *= rho
    v += (1 - rho) * g * g
    denom = v + eps
    if group.get("centered"):
        a = state.setdefault("average_gradient", mod.zeros_like(p))
        a *= rho
        a += (1 - rho) * g
        denom = v - a * a + eps
    increment = lr * g / mod.sqrt(denom)
    if mu > 0:
        b = state.setdefault("momentum", mod.zeros_like(p))
        b *= mu
        b += increment
        p -= b
    else:
        p -= increment


def _adagrad(p, g, state, group, mod):
    a = state.setdefault("accumulator", mod.full_like(p, float(group["initial_accumulator_value"])))
    a += g * g
    p -= float(group["lr"]) * g / mod.sqrt(a + float(group["epsilon"]))


class Optimizer:
    """Base of Keras's optimizers: hyper-parameters now, the shendu optimizer once the weights exist."""

    def __init__(self, learning_rate, name=None, weight_decay=None, **kwargs):
        for key in _UNSUPPORTED:
            if kwargs.pop(key, None) not in (None, False):
                raise unsupported(f"{type(self).__name__}({key}=…)",
                                  "clip gradients in a custom train_step with shendu.nn.utils.clip_grad_norm_")
        kwargs.pop("ema_momentum", None)
        kwargs.pop("ema_overwrite_frequency", None)
        if kwargs:
            raise TypeError(f"Argument(s) not recognized: {kwargs}")
        if callable(learning_rate):
            raise unsupported("learning-rate schedule objects", "use callbacks.LearningRateScheduler")
        self._learning_rate = float(learning_rate)
        self.name = name or type(self).__name__.lower()
        self.weight_decay = weight_decay
        self.inner = None

    def __call__(self, params, lr=None, **options):
        """The shendu optimizer over ``params`` (what shendu's Trainer calls)."""
        self.inner = self._create(list(params))
        return self.inner

    @property
    def learning_rate(self):
        """The learning rate (read from, and written to, the live optimizer once it exists)."""
        if self.inner is not None:
            return self.inner.param_groups[0]["lr"]
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self._learning_rate = float(value)
        if self.inner is not None:
            for group in self.inner.param_groups:
                group["lr"] = float(value)

    lr = learning_rate

    @property
    def iterations(self):
        """The number of steps taken."""
        if self.inner is None:
            return 0
        states = [s.get("step", 0) for s in self.inner.state.values()]
        return max(states) if states else 0

    def get_config(self):
        return {"name": self.name, "learning_rate": self._learning_rate, **self._hyper()}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def _hyper(self):
        return {}


class SGD(Optimizer):
    """Stochastic gradient descent with momentum μ (default 0) and optional Nesterov; η = 0.01."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None, name="SGD", **kwargs):
        super().__init__(learning_rate, name, weight_decay, **kwargs)
        if weight_decay:
            raise unsupported("SGD(weight_decay=…) (Keras's decoupled decay)",
                              "use AdamW, or kernel_regularizer=keras.regularizers.L2(…)")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def _create(self, params):
        return optim.SGD(params, lr=self._learning_rate, momentum=self.momentum, nesterov=self.nesterov)

    def _hyper(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with Keras's ε placement; η = 0.001, β = (0.9, 0.999), ε = 1e-7."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 weight_decay=None, name="adam", **kwargs):
        super().__init__(learning_rate, name, weight_decay, **kwargs)
        if weight_decay and type(self) is Adam:
            raise unsupported("Adam(weight_decay=…)", "use keras.optimizers.AdamW(weight_decay=…)")
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = float(beta_1), float(beta_2), float(epsilon), amsgrad

    def _create(self, params):
        return _KerasRule(params, _adam, lr=self._learning_rate, beta_1=self.beta_1, beta_2=self.beta_2,
                          epsilon=self.epsilon, amsgrad=self.amsgrad, weight_decay=self.weight_decay or 0.0)

    def _hyper(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay w ← w − η·λ·w (λ = 0.004, Keras's default)."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, name="adamw", **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay, name, **kwargs)

    def _hyper(self):
        return {**super()._hyper(), "weight_decay": self.weight_decay}


class RMSprop(Optimizer):
    """RMSprop with Keras's defaults: η = 0.001, ρ = 0.9, ε = 1e-7 inside the root."""

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 weight_decay=None, name="rmsprop", **kwargs):
        super().__init__(learning_rate, name, weight_decay, **kwargs)
        if weight_decay:
            raise unsupported("RMSprop(weight_decay=…)", "use kernel_regularizer=keras.regularizers.L2(…)")
        self.rho, self.momentum, self.epsilon, self.centered = float(rho), float(momentum), float(epsilon), centered

    def _create(self, params):
        return _KerasRule(params, _rmsprop, lr=self._learning_rate, rho=self.rho, momentum=self.momentum,
                          epsilon=self.epsilon, centered=self.centered)

    def _hyper(self):
        return {"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon, "centered": self.centered}


class Adagrad(Optimizer):
    """Adagrad with Keras's defaults: η = 0.001, a₀ = 0.1, ε = 1e-7."""

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, weight_decay=None,
                 name="adagrad", **kwargs):
        super().__init__(learning_rate, name, weight_decay, **kwargs)
        if weight_decay:
            raise unsupported("Adagrad(weight_decay=…)", "use kernel_regularizer=keras.regularizers.L2(…)")
        self.initial_accumulator_value, self.epsilon = float(initial_accumulator_value), float(epsilon)

    def _create(self, params):
        return _KerasRule(params, _adagrad, lr=self._learning_rate,
                          initial_accumulator_value=self.initial_accumulator_value, epsilon=self.epsilon)

    def _hyper(self):
        return {"initial_accumulator_value": self.initial_accumulator_value, "epsilon": self.epsilon}


_BY_NAME = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad}


def get(identifier):
    """An optimizer from a name (``'adam'``, ``'sgd'``, ``'rmsprop'``, ``'adamw'``, ``'adagrad'``), a
    ``{"class_name", "config"}`` dict, or an Optimizer."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, optim.Optimizer):
        raise TypeError("compile: pass a keras.optimizers optimizer (its weights do not exist yet), e.g. "
                        "keras.optimizers.Adam(learning_rate=1e-3)")
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            if identifier.lower() in ("adamax", "nadam", "adadelta", "ftrl", "lion", "adafactor", "lamb"):
                raise unsupported(f"the {identifier} optimizer", "use 'adam', 'adamw', 'rmsprop', 'adagrad' or 'sgd'")
            raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")
        return cls()
    if isinstance(identifier, dict) and str(identifier.get("class_name", "")).lower() in _BY_NAME:
        return _BY_NAME[identifier["class_name"].lower()].from_config(identifier.get("config", {}))
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")


def serialize(optimizer):
    """``{'class_name', 'config'}`` of an optimizer, as ``keras.optimizers.serialize``."""
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}
