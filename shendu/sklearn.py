"""scikit-learn estimators around any shendu Module: ``NeuralNetClassifier``, ``NeuralNetRegressor``.

They follow scikit-learn's estimator API (``fit`` / ``predict`` / ``score``,
``get_params`` / ``set_params``, ``clone``, pickling), so a shendu network
drops into a ``Pipeline``, ``GridSearchCV`` or ``cross_val_score``::

    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from shendu.sklearn import NeuralNetClassifier
    >>> clf = make_pipeline(StandardScaler(), NeuralNetClassifier(hidden_units=(64,), epochs=30, random_state=0))
    >>> clf.fit(X_train, y_train).score(X_test, y_test)

The network is built inside ``fit`` by a *factory* (the ``module`` parameter:
``module(n_features, n_outputs, **module_params)``, a Module class or a
function; None builds :func:`mlp` from ``hidden_units`` and ``activation``)
and trained by :class:`shendu.training.Trainer`: cross-entropy on the logits
for the classifier (softmax gives ``predict_proba``), mean squared error for
the regressor. Inputs are validated by scikit-learn and trained in shendu's
default dtype (float32).

Randomness: with an integer ``random_state`` (or a NumPy ``RandomState``)
initialisation, shuffling and dropout run on the estimator's own random
stream, so two fits give identical networks and shendu's global generator is
left exactly as it was. With ``random_state=None`` they draw from shendu's
global generator (seeded by ``shendu.manual_seed``), like any shendu code.
The stream replaces the global generator during ``fit`` (``backend.use_rng``), so
fit estimators with an integer ``random_state`` from one thread at a time
(processes, joblib's default for ``n_jobs``, are fine).

This module needs scikit-learn (``pip install 'shendu[sklearn]'``); it is not
imported by ``import shendu``. See docs/sklearn.md.
"""
from __future__ import annotations

import numbers
from contextlib import contextmanager

from shendu._extras import require

require("sklearn", "sklearn", "shendu.sklearn (the scikit-learn estimators)")

from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin  # noqa: E402
from sklearn.utils import check_random_state  # noqa: E402
from sklearn.utils.multiclass import check_classification_targets  # noqa: E402
from sklearn.utils.validation import check_is_fitted, validate_data  # noqa: E402

from shendu import backend, nn  # noqa: E402
from shendu import functional as F  # noqa: E402
from shendu.autograd import no_grad  # noqa: E402
from shendu.backend import xp  # noqa: E402
from shendu.tensor import Tensor  # noqa: E402
from shendu.training import Trainer  # noqa: E402

__all__ = ["NeuralNetClassifier", "NeuralNetRegressor", "mlp"]


def mlp(n_features, n_outputs, hidden_units=(64,), activation="relu"):
    """The default network: a multilayer perceptron of fully connected layers.

        h₀ = x,   hₖ = activation(hₖ₋₁ Wₖᵀ + bₖ)  for each hidden layer,   output = h_L W_outᵀ + b_out

    The output layer is linear (logits for a classifier). Weights start
    Glorot-uniform, biases at zero (Keras's ``Dense``).

    Args:
        n_features: input size. n_outputs: output size (classes or regression targets).
        hidden_units: the width of each hidden layer (default (64,); () gives a linear model).
        activation: the hidden layers' activation, a name (``'relu'``, ``'tanh'``, ``'gelu'``…)
            or a callable (default ``'relu'``).

    Shape: input (N, n_features) -> output (N, n_outputs).

    Example:
        >>> net = mlp(4, 3, hidden_units=(16, 16))
        >>> net(shendu.randn(8, 4)).shape
        (8, 3)
    """
    layers, width = [], int(n_features)
    for units in hidden_units:
        layers.append(nn.Dense(units, activation=activation, input_dim=width))
        width = int(units)
    layers.append(nn.Dense(n_outputs, input_dim=width))
    return nn.Sequential(*layers)


class _NeuralNet(BaseEstimator):
    """What the classifier and the regressor share: parameters, building, training, pickling.

    A subclass sets ``_loss`` and writes ``_training_data(X, y, first)``, which
    validates the data and returns ``(X, target)`` arrays for the Trainer.
    """

    _loss = None
    _outputs_meaning = "outputs"

    def __init__(self, module=None, *, module_params=None, hidden_units=(64,), activation="relu",
                 optimizer="adam", lr=1e-3, weight_decay=0.0, batch_size=32, epochs=20, validation_split=0.0,
                 random_state=None, verbose=0):
        self.module = module
        self.module_params = module_params
        self.hidden_units = hidden_units
        self.activation = activation
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.epochs = epochs
        self.validation_split = validation_split
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------ fitting
    def fit(self, X, y):
        """Build a fresh network and train it for ``epochs`` epochs on (X, y); returns self.

        Args:
            X: array-like (n_samples, n_features), dense and finite.
            y: class labels (n_samples,) for the classifier; targets (n_samples,) or
                (n_samples, n_targets) for the regressor.
        """
        self._check_params()
        X, target = self._training_data(X, y, first=True)
        with self._random_stream(restart=True):
            self._start()
            self._train(X, target, self.epochs)
        return self

    def _partial_fit(self, X, y, **first_call_options):
        first = not hasattr(self, "model_")
        if first:
            self._check_params()
        X, target = self._training_data(X, y, first=first, **first_call_options)
        with self._random_stream(restart=first):
            if first:
                self._start()
            self._train(X, target, 1)
        return self

    def _check_params(self):
        name = type(self).__name__
        checks = {
            "epochs": (self.epochs, isinstance(self.epochs, numbers.Integral) and self.epochs >= 1, "an integer ≥ 1"),
            "batch_size": (self.batch_size, isinstance(self.batch_size, numbers.Integral) and self.batch_size >= 1,
                           "an integer ≥ 1"),
            "lr": (self.lr, isinstance(self.lr, numbers.Real) and self.lr > 0, "a number > 0"),
            "weight_decay": (self.weight_decay, isinstance(self.weight_decay, numbers.Real) and self.weight_decay >= 0,
                             "a number ≥ 0"),
            "validation_split": (self.validation_split, isinstance(self.validation_split, numbers.Real)
                                 and 0 <= self.validation_split < 1, "a fraction in [0, 1)"),
            "hidden_units": (self.hidden_units, _is_widths(self.hidden_units), "a sequence of positive integers"),
            "module": (self.module, self.module is None or (callable(self.module)
                                                            and not isinstance(self.module, nn.Module)),
                       "None, a Module class or a function returning a Module (not a Module instance)"),
        }
        for key, (value, ok, rule) in checks.items():
            if not ok:
                raise ValueError(f"{name}: invalid {key}: expected {rule}, got {value!r}")

    def _start(self):
        """A new network, optimizer and Trainer; empty learning curves."""
        self.model_ = self._build_module()
        self._trainer = self._make_trainer(self.model_)
        self.loss_curve_, self.validation_loss_curve_, self.n_iter_ = [], [], 0

    def _build_module(self):
        name, n_features, n_outputs = type(self).__name__, self.n_features_in_, self._n_outputs
        kwargs = dict(self.module_params or {})
        if self.module is None:
            model = mlp(n_features, n_outputs, self.hidden_units, self.activation, **kwargs)
        else:
            model = self.module(n_features, n_outputs, **kwargs)
        if not isinstance(model, nn.Module):
            raise TypeError(f"{name}: module(n_features, n_outputs, **module_params) must return a shendu Module, "
                            f"got {type(model).__name__}")
        # One dry forward pass builds lazy layers (Dense, Conv2D) before the optimizer sees the parameters
        # and checks the output shape early, with a message that says what the estimator needs.
        with no_grad():
            model.eval()
            out = model(Tensor._wrap(xp.zeros((1, n_features), backend.get_default_dtype()), False, None))
            model.train()
        if tuple(out.shape) != (1, n_outputs):
            raise ValueError(f"{name}: the module must map (N, {n_features}) inputs to (N, {n_outputs}) outputs "
                             f"({self._outputs_meaning}); for one sample it returned shape {tuple(out.shape)}")
        return model

    def _make_trainer(self, model):
        """The Trainer of ``fit``: the optimizer by name or factory, with ``lr`` and ``weight_decay``."""
        options = {"weight_decay": float(self.weight_decay)} if self.weight_decay else None
        try:
            return Trainer(model, self.optimizer, loss=self._loss, lr=self.lr, optimizer_options=options).setup()
        except TypeError as exc:
            if options and "weight_decay" in str(exc):
                raise ValueError(f"{type(self).__name__}: optimizer {self.optimizer!r} has no weight_decay "
                                 f"option") from None
            raise

    def _train(self, X, target, epochs):
        history = self._trainer.fit(X, target, epochs=epochs, batch_size=self.batch_size,
                                    validation_split=self.validation_split, verbose=self.verbose)
        self.loss_curve_ += history.history["loss"]
        self.validation_loss_curve_ += history.history.get("val_loss", [])
        self.n_iter_ += len(history.epoch)

    @contextmanager
    def _random_stream(self, restart):
        """Run the body on this estimator's own random stream, leaving shendu's global generator as it was.

        With ``random_state=None`` the body simply uses the global generator.
        """
        if self.random_state is None:
            yield
            return
        if restart or getattr(self, "_generator", None) is None:
            seed = check_random_state(self.random_state).randint(2 ** 31 - 1)
            self._generator = xp.random.default_rng(seed)
        with backend.use_rng(self._generator):
            yield

    # ------------------------------------------------------------ predicting
    def _outputs(self, X):
        """The network's outputs for X (n_samples, n_outputs), in eval mode, as float32."""
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, dtype=backend.get_default_dtype())
        return self._trainer.predict(X)

    # ------------------------------------------------------------ pickling
    # Parameters do not pickle (shendu saves with safetensors, never pickle); an estimator, which scikit-learn
    # pickles to copy it between processes, travels as its weights and optimizer state as plain arrays and
    # rebuilds its network on arrival from the same factory.
    def __getstate__(self):
        state = dict(super().__getstate__())  # object.__getstate__ returns __dict__ itself
        model, trainer = state.pop("model_", None), state.pop("_trainer", None)
        if model is not None:
            state["_model_state"] = {k: t.numpy().copy() for k, t in model.state_dict().items()}
            state["_optimizer_state"] = trainer.optimizer.state_dict()
        return state

    def __setstate__(self, state):
        model_state, optimizer_state = state.pop("_model_state", None), state.pop("_optimizer_state", None)
        super().__setstate__(state)
        if model_state is not None:
            saved = backend.get_rng_state()  # building draws initial weights that are overwritten at once
            try:
                model = self._build_module()
            finally:
                backend.set_rng_state(saved)
            model.load_state_dict(model_state)
            trainer = self._make_trainer(model)
            trainer.optimizer.load_state_dict(optimizer_state)
            self.model_, self._trainer = model, trainer


def _is_widths(value):
    try:
        return all(isinstance(u, numbers.Integral) and u >= 1 for u in value) and not isinstance(value, str)
    except TypeError:
        return False


class NeuralNetClassifier(ClassifierMixin, _NeuralNet):
    """A neural-network classifier: any shendu Module trained with softmax cross-entropy.

        p(class k | x) = softmax(f(x))ₖ,   loss = −(1/N) Σᵢ log p(yᵢ | xᵢ)

    where f is the network (its output layer gives one logit per class; two
    logits for a binary problem). Labels may be any values scikit-learn
    accepts (integers, strings…); ``classes_`` holds them sorted, and the
    network's output k stands for ``classes_[k]``.

    Args:
        module: a factory ``module(n_features, n_classes, **module_params)`` returning a shendu Module
            whose forward maps (N, n_features) to (N, n_classes) logits; a Module class works. Default
            None: :func:`mlp` with ``hidden_units`` and ``activation``.
        module_params: extra keyword arguments for the factory (default None: none).
        hidden_units: hidden layer widths of the default network (default (64,); ignored with ``module``).
        activation: hidden activation of the default network (default ``'relu'``; ignored with ``module``).
        optimizer: a name (``'adam'``, ``'sgd'``, ``'rmsprop'``…) or a class/function
            ``optimizer(params, lr=...)`` returning a shendu Optimizer (default ``'adam'``).
        lr: learning rate (default 1e-3).
        weight_decay: L2 penalty λ added by the optimizer (default 0).
        batch_size: samples per step (default 32). epochs: passes over the data in ``fit`` (default 20).
        validation_split: fraction of the samples, taken from the end, held out to record
            ``validation_loss_curve_`` (default 0: none).
        random_state: None (shendu's global generator), an int or a RandomState: fixes initialisation,
            shuffling and dropout (see the module docstring).
        verbose: 0 silent, 1 progress bar, 2 one line per epoch (default 0).

    Attributes (after fit):
        classes_: the sorted labels (n_classes,). n_features_in_: number of input features.
        model_: the trained Module. n_iter_: epochs run. loss_curve_: training loss per epoch.
        validation_loss_curve_: validation loss per epoch (empty without validation_split).

    Example:
        >>> from sklearn.datasets import load_iris
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = NeuralNetClassifier(hidden_units=(32,), lr=1e-2, epochs=50, random_state=0).fit(X, y)
        >>> clf.score(X, y)                        # ≈ 0.97
        >>> clf.predict_proba(X[:1]).round(2)      # [[1., 0., 0.]]
    """

    _loss = staticmethod(F.cross_entropy)
    _outputs_meaning = "one logit per class"

    def partial_fit(self, X, y, classes=None):
        """Train for one epoch on (X, y), continuing from the current network and optimizer state.

        Args:
            classes: every label that will ever appear; needed on the first call unless this
                first y already contains them all (then None infers them). Later calls may omit it.
        """
        return self._partial_fit(X, y, classes=classes)

    def _training_data(self, X, y, first, classes=None):
        X, y = validate_data(self, X, y, reset=first, dtype=backend.get_default_dtype())
        check_classification_targets(y)
        if first:
            self.classes_ = xp.unique(y if classes is None else xp.asarray(classes))
        elif classes is not None and not xp.array_equal(xp.unique(xp.asarray(classes)), self.classes_):
            raise ValueError(f"{type(self).__name__}.partial_fit: classes={list(classes)} differs from the "
                             f"classes of the first call, {list(self.classes_)}")
        index = xp.searchsorted(self.classes_, y)
        unseen = (index >= len(self.classes_)) | (self.classes_[xp.minimum(index, len(self.classes_) - 1)] != y)
        if unseen.any():
            raise ValueError(f"{type(self).__name__}: y contains labels {sorted(set(y[unseen].tolist()))} "
                             f"that are not in classes_ {list(self.classes_)}")
        return X, index.astype(backend.int64)

    @property
    def _n_outputs(self):
        return len(self.classes_)

    def predict_proba(self, X):
        """Class probabilities softmax(f(x)), in the order of ``classes_``: (n_samples, n_classes), float64."""
        logits = Tensor._wrap(self._outputs(X).astype(backend.float64), False, None)
        return F.softmax(logits, dim=1).numpy()

    def predict_log_proba(self, X):
        """log predict_proba(X), computed stably as log_softmax: (n_samples, n_classes), float64."""
        logits = Tensor._wrap(self._outputs(X).astype(backend.float64), False, None)
        return F.log_softmax(logits, dim=1).numpy()

    def predict(self, X):
        """The most probable class of each sample: (n_samples,) labels from ``classes_``."""
        best = self.predict_proba(X).argmax(axis=1)  # first: it checks that the estimator is fitted
        return self.classes_[best]


class NeuralNetRegressor(RegressorMixin, _NeuralNet):
    """A neural-network regressor: any shendu Module trained with mean squared error.

        loss = (1/(N·T)) Σᵢ ‖f(xᵢ) − yᵢ‖²    (T targets per sample)

    The targets are used as given; for targets far from unit scale wrap the
    estimator in ``TransformedTargetRegressor(regressor, transformer=StandardScaler())``.

    Args:
        module: a factory ``module(n_features, n_targets, **module_params)`` returning a shendu Module
            that maps (N, n_features) to (N, n_targets); None builds :func:`mlp`.
        Other arguments: as :class:`NeuralNetClassifier`.

    Attributes (after fit):
        n_features_in_, model_, n_iter_, loss_curve_, validation_loss_curve_: as the classifier's.
        n_outputs_: number of targets (1 for a 1-D y, whose predictions are then 1-D too).

    Example:
        >>> X = np.random.default_rng(0).uniform(-2, 2, (500, 1))
        >>> reg = NeuralNetRegressor(hidden_units=(32, 32), lr=1e-2, epochs=100, random_state=0)
        >>> reg.fit(X, np.sin(X[:, 0])).score(X, np.sin(X[:, 0]))    # R² ≈ 0.99
    """

    _loss = staticmethod(F.mse_loss)
    _outputs_meaning = "one value per target"

    def partial_fit(self, X, y):
        """Train for one epoch on (X, y), continuing from the current network and optimizer state."""
        return self._partial_fit(X, y)

    def _training_data(self, X, y, first):
        X, y = validate_data(self, X, y, reset=first, multi_output=True, y_numeric=True,
                             dtype=backend.get_default_dtype())
        target = y.reshape(len(y), -1).astype(backend.get_default_dtype())
        if first:
            self.n_outputs_, self._target_ndim = target.shape[1], y.ndim
        elif (target.shape[1], y.ndim) != (self.n_outputs_, self._target_ndim):
            raise ValueError(f"{type(self).__name__}.partial_fit: y has shape {y.shape}, but the first call "
                             f"had {self.n_outputs_} target(s) with {self._target_ndim} dimension(s)")
        return X, target

    @property
    def _n_outputs(self):
        return self.n_outputs_

    def predict(self, X):
        """Predicted targets: (n_samples,) for a 1-D training y, else (n_samples, n_targets); float64."""
        out = self._outputs(X).astype(backend.float64)
        return out.reshape(-1) if self._target_ndim == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
