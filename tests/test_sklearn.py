"""scikit-learn estimators: check_estimator, pipelines, grid search, determinism, pickling, the missing extra."""
import importlib
import pickle
import sys

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits, load_iris  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import shendu  # noqa: E402
from shendu import backend, nn  # noqa: E402
from shendu.sklearn import NeuralNetClassifier, NeuralNetRegressor, mlp  # noqa: E402

# No check is expected to fail: the estimators pass every check of scikit-learn's check_estimator with their
# default parameters. Two checks skip themselves here: check_array_api_input (SCIPY_ARRAY_API unset; the
# estimators do not claim array-API support) and check_*_data_not_an_array (pandas is not installed).
EXPECTED_FAILED_CHECKS = {}


@parametrize_with_checks([NeuralNetClassifier(), NeuralNetRegressor()],
                         expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS)
def test_check_estimator(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


class TwoLayer(nn.Module):
    """A custom network built by its class: the factory signature is (n_features, n_outputs, **module_params)."""

    def __init__(self, n_features, n_outputs, hidden=16):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(n_features, hidden), nn.Linear(hidden, n_outputs)

    def forward(self, x):
        return self.fc2(self.fc1(x).tanh())


def test_pipeline_on_digits_reaches_90_percent():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    pipe = make_pipeline(StandardScaler(), NeuralNetClassifier(random_state=0))
    pipe.fit(X_train, y_train)
    assert pipe.score(X_test, y_test) > 0.9
    proba = pipe.predict_proba(X_test)
    assert proba.shape == (len(X_test), 10) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)


def test_grid_search_and_cross_val_score(iris):
    X, y = iris
    pipe = make_pipeline(StandardScaler(), NeuralNetClassifier(epochs=30, random_state=0))
    grid = GridSearchCV(pipe, {"neuralnetclassifier__lr": [1e-4, 1e-2],
                               "neuralnetclassifier__hidden_units": [(4,), (32,)]}, cv=2)
    grid.fit(X, y)
    assert grid.best_params_["neuralnetclassifier__lr"] == 1e-2  # 30 epochs at lr 1e-4 barely move
    assert grid.best_score_ > 0.85
    assert grid.best_estimator_[-1].hidden_units in [(4,), (32,)]
    scores = cross_val_score(NeuralNetClassifier(lr=1e-2, epochs=30, random_state=0), X, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.7


def test_params_clone_round_trip():
    est = NeuralNetClassifier(TwoLayer, module_params={"hidden": 8}, lr=0.05, epochs=3, random_state=1)
    params = est.get_params()
    assert params["module"] is TwoLayer and params["module_params"] == {"hidden": 8} and params["lr"] == 0.05
    copy = clone(est)
    assert copy is not est and copy.get_params() == params
    copy.set_params(lr=0.1, hidden_units=(5, 5))
    assert copy.lr == 0.1 and copy.hidden_units == (5, 5) and est.lr == 0.05
    assert "lr=0.05" in repr(est)


def test_custom_module_factory_and_attributes(iris):
    X, y = iris
    clf = NeuralNetClassifier(TwoLayer, module_params={"hidden": 8}, lr=1e-2, epochs=40, random_state=0).fit(X, y)
    assert isinstance(clf.model_, TwoLayer) and clf.model_.fc1.out_features == 8
    assert clf.n_features_in_ == 4 and list(clf.classes_) == [0, 1, 2]
    assert clf.n_iter_ == 40 and len(clf.loss_curve_) == 40 and clf.validation_loss_curve_ == []
    assert clf.loss_curve_[-1] < 0.5 * clf.loss_curve_[0]
    assert clf.score(X, y) > 0.9


def test_string_labels_and_binary():
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"], dtype=object)[y]
    clf = NeuralNetClassifier(lr=1e-2, epochs=40, random_state=0).fit(X, names)
    assert list(clf.classes_) == ["setosa", "versicolor", "virginica"]
    assert set(clf.predict(X)) <= set(names) and clf.score(X, names) > 0.9
    binary = names != "setosa"  # booleans: two classes, trained as two logits
    clf = NeuralNetClassifier(lr=1e-2, epochs=20, random_state=0).fit(X, binary)
    assert clf.model_[-1].out_features == 2 and clf.predict_proba(X).shape == (150, 2)
    assert clf.score(X, binary) > 0.95


def test_regression_r2_and_multi_output():
    r = np.random.default_rng(0)
    X = r.uniform(-2, 2, (400, 2))
    y = np.stack([np.sin(X[:, 0]), X[:, 0] * X[:, 1]], axis=1)
    reg = NeuralNetRegressor(hidden_units=(32, 32), lr=1e-2, epochs=60, random_state=0)
    reg.fit(X, y[:, 0])
    assert reg.n_outputs_ == 1 and reg.predict(X).shape == (400,)
    assert reg.score(X, y[:, 0]) > 0.95
    reg.fit(X, y)
    assert reg.n_outputs_ == 2 and reg.predict(X).shape == (400, 2) and reg.predict(X).dtype == np.float64
    assert reg.score(X, y) > 0.9


def test_random_state_is_deterministic_and_leaves_global_rng_alone(iris):
    X, y = iris
    before = backend.get_rng_state()
    a = NeuralNetClassifier(epochs=3, random_state=7).fit(X, y).predict_proba(X)
    assert backend.get_rng_state() == before  # the private stream left shendu's generator untouched
    b = NeuralNetClassifier(epochs=3, random_state=7).fit(X, y).predict_proba(X)
    c = NeuralNetClassifier(epochs=3, random_state=8).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    # random_state=None draws from shendu's global generator, so manual_seed makes it reproducible
    shendu.manual_seed(3)
    d = NeuralNetClassifier(epochs=3).fit(X, y).predict_proba(X)
    shendu.manual_seed(3)
    e = NeuralNetClassifier(epochs=3).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(d, e)


def test_partial_fit_continues_training(iris):
    X, y = iris
    clf = NeuralNetClassifier(lr=1e-2, random_state=0)
    with pytest.raises(ValueError, match=r"labels \[2\] that are not in classes_"):
        clf.partial_fit(X[y < 2], y[y < 2]).partial_fit(X, y)
    clf = NeuralNetClassifier(lr=1e-2, random_state=0)
    for _ in range(15):
        clf.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])  # class 2 appears later
    clf.partial_fit(X, y)
    assert clf.n_iter_ == 16 and len(clf.loss_curve_) == 16 and len(clf.classes_) == 3
    for _ in range(20):
        clf.partial_fit(X, y)
    assert clf.score(X, y) > 0.85
    with pytest.raises(ValueError, match="differs from the classes of the first call"):
        clf.partial_fit(X, y, classes=[0, 1])


def test_pickle_keeps_predictions_and_optimizer_state(iris):
    X, y = iris
    clf = NeuralNetClassifier(epochs=5, random_state=0).fit(X, y)
    copy = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(copy.predict_proba(X), clf.predict_proba(X))
    assert copy.model_ is not clf.model_ and hasattr(clf, "model_")  # pickling did not strip the original
    # both continue identically: the optimizer's moments travelled with the weights
    np.testing.assert_array_equal(copy.partial_fit(X, y).predict_proba(X), clf.partial_fit(X, y).predict_proba(X))


def test_validation_split_and_verbose(iris, capsys):
    X, y = iris
    order = np.random.default_rng(0).permutation(len(y))
    clf = NeuralNetClassifier(epochs=4, validation_split=0.2, verbose=2, random_state=0).fit(X[order], y[order])
    assert len(clf.validation_loss_curve_) == 4 and all(np.isfinite(clf.validation_loss_curve_))
    assert "120 training / 30 validation samples" in capsys.readouterr().out


def test_optimizer_by_class_and_weight_decay(iris):
    X, y = iris
    clf = NeuralNetClassifier(optimizer=shendu.optim.SGD, lr=0.1, weight_decay=1e-3, epochs=10, random_state=0)
    clf.fit(X, y)
    optimizer = clf._trainer.optimizer
    assert isinstance(optimizer, shendu.optim.SGD)
    assert all(g["lr"] == 0.1 and g["weight_decay"] == 1e-3 for g in optimizer.param_groups)
    assert clf.score(X, y) > 0.8
    by_name = NeuralNetClassifier(optimizer="rmsprop", weight_decay=1e-2, epochs=1, random_state=0).fit(X, y)
    assert all(g["weight_decay"] == 1e-2 for g in by_name._trainer.optimizer.param_groups)


@pytest.mark.parametrize("params, message", [
    ({"epochs": 0}, "invalid epochs: expected an integer ≥ 1, got 0"),
    ({"lr": -1.0}, "invalid lr"),
    ({"hidden_units": 64}, "invalid hidden_units: expected a sequence of positive integers, got 64"),
    ({"validation_split": 1.0}, "invalid validation_split"),
    ({"module": mlp(4, 3)}, "not a Module instance"),
])
def test_invalid_parameters_are_reported_at_fit(iris, params, message):
    est = NeuralNetClassifier(**params)  # constructing never validates (scikit-learn's rule)
    with pytest.raises(ValueError, match=message):
        est.fit(*iris)


def test_module_with_wrong_output_size_is_reported(iris):
    with pytest.raises(ValueError, match=r"must map \(N, 4\) inputs to \(N, 3\) outputs .*returned shape \(1, 5\)"):
        NeuralNetClassifier(lambda n_features, n_classes: mlp(n_features, 5)).fit(*iris)
    with pytest.raises(TypeError, match="must return a shendu Module, got str"):
        NeuralNetRegressor(lambda n_features, n_outputs: "net").fit(*iris)


def test_missing_scikit_learn_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # makes `import sklearn` fail
    monkeypatch.delitem(sys.modules, "shendu.sklearn")
    with pytest.raises(ImportError, match=r"pip install 'shendu\[sklearn\]'"):
        importlib.import_module("shendu.sklearn")
