"""fastnn.MLPClassifier / MLPRegressor against scikit-learn's: the same numbers for the same
arguments, scikit-learn's estimator checks, meta-estimators, pickling, the extras."""
import pickle
import warnings

import numpy as np
import pytest
from sklearn import neural_network as sk
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_iris
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import estimator_checks_generator

import fastnn
from fastnn import MLPClassifier, MLPRegressor


def scaled(loader, n=None):
    X, y = loader(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    return (X[:n], y[:n]) if n else (X, y)


def diabetes(n=200):
    X, y = scaled(load_diabetes, n)
    return X, (y - y.mean()) / y.std()


def multilabel(n=150, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5))
    Y = np.stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0.5, X[:, 3] * X[:, 4] > 0], axis=1)
    return X, Y.astype(int)


def multi_output(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4))
    return X, np.stack([X @ [1.0, -2, 0.5, 0] + 0.1, np.sin(X[:, 0]) * 3], axis=1)


def fit_both(cls_name, X, y, fit=lambda est, X, y: est.fit(X, y), **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = fit(getattr(fastnn, cls_name)(**params), X, y)
        theirs = fit(getattr(sk, cls_name)(**params), X, y)
    return ours, theirs


def assert_same_model(ours, theirs, rtol=1e-9):
    """Same training trajectory and weights as scikit-learn, to float64 rounding."""
    for name in ("n_iter_", "t_", "n_layers_", "n_outputs_", "out_activation_",
                 "n_features_in_"):
        assert getattr(ours, name) == getattr(theirs, name), name
    np.testing.assert_allclose(ours.loss_, theirs.loss_, rtol=rtol)
    if hasattr(theirs, "loss_curve_"):
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=rtol)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        assert a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)


CASES = {
    # name: (estimator, data)
    "multiclass": ("MLPClassifier", lambda: scaled(load_iris)),
    "binary": ("MLPClassifier", lambda: scaled(load_breast_cancer, 200)),
    "multilabel": ("MLPClassifier", multilabel),
    "regression": ("MLPRegressor", diabetes),
    "multi_output": ("MLPRegressor", multi_output),
}
SETTINGS = {
    "adam": dict(solver="adam", learning_rate_init=0.01),
    "sgd_nesterov": dict(solver="sgd", learning_rate_init=0.05),
    "sgd_invscaling": dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.2,
                           momentum=0.5, nesterovs_momentum=False),
    "sgd_adaptive_tanh": dict(solver="sgd", learning_rate="adaptive", tol=0.05,
                              n_iter_no_change=2, activation="tanh", learning_rate_init=0.05),
    "adam_logistic_two_layers": dict(hidden_layer_sizes=(12, 7), activation="logistic",
                                     alpha=0.1, batch_size=32, learning_rate_init=0.01),
    "early_stopping": dict(early_stopping=True, validation_fraction=0.2, n_iter_no_change=3,
                           tol=0.0, learning_rate_init=0.05),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("setting", SETTINGS)
def test_same_training_as_scikit_learn(case, setting):
    cls_name, make = CASES[case]
    X, y = make()
    params = {"hidden_layer_sizes": (10,), "max_iter": 25, "random_state": 3, **SETTINGS[setting]}
    ours, theirs = fit_both(cls_name, X, y, **params)
    assert_same_model(ours, theirs)
    if setting == "early_stopping":
        # The scores are those of weights equal to float rounding (fastnn's GEMMs and sums are
        # not NumPy's OpenBLAS calls), so they agree to rounding too, not bit for bit: whether the
        # last bits match depends on the CPU kernel OpenBLAS picks (OPENBLAS_CORETYPE).
        np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_,
                                   rtol=1e-12, atol=1e-15)
        assert ours.best_validation_score_ == max(ours.validation_scores_)
        assert ours.best_validation_score_ == pytest.approx(theirs.best_validation_score_,
                                                            rel=1e-12, abs=1e-15)
        assert ours.best_loss_ is None and theirs.best_loss_ is None
    else:
        np.testing.assert_allclose(ours.best_loss_, theirs.best_loss_, rtol=1e-9)
    if cls_name == "MLPClassifier":
        np.testing.assert_array_equal(ours.classes_, theirs.classes_)
        np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-9)
        np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    else:
        np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-7, atol=1e-9)
    assert ours.score(X, y) == pytest.approx(theirs.score(X, y), rel=1e-7)


@pytest.mark.parametrize("case", ["multiclass", "binary", "regression"])
def test_sample_weight_as_scikit_learn(case):
    cls_name, make = CASES[case]
    X, y = make()
    w = np.random.default_rng(0).uniform(0.2, 3, len(X))
    ours, theirs = fit_both(cls_name, X, y, lambda est, X, y: est.fit(X, y, sample_weight=w),
                            hidden_layer_sizes=(8,), max_iter=10, random_state=0, alpha=0.01,
                            batch_size=40)
    assert_same_model(ours, theirs)


@pytest.mark.parametrize("case", ["multiclass", "multi_output"])
def test_partial_fit_keeps_the_optimizer_state_as_scikit_learn(case):
    cls_name, make = CASES[case]
    X, y = make()
    extra = {"classes": np.unique(y)} if cls_name == "MLPClassifier" else {}

    def three_calls(est, X, y):
        for part in np.array_split(np.arange(len(X)), 3):
            est.partial_fit(X[part], y[part], **extra)
        return est

    ours, theirs = fit_both(cls_name, X, y, three_calls, hidden_layer_sizes=(9,), random_state=1,
                            learning_rate_init=0.01)
    assert_same_model(ours, theirs)
    assert len(ours.loss_curve_) == 3


def test_warm_start_honours_max_iter():
    X, y = scaled(load_iris)

    def twice(est, X, y):
        est.fit(X, y)
        est.set_params(max_iter=4)
        return est.fit(X, y)

    ours, theirs = fit_both("MLPClassifier", X, y, twice, max_iter=6, warm_start=True,
                            random_state=0, tol=0.0, learning_rate_init=0.01)
    assert_same_model(ours, theirs)
    assert ours.n_iter_ == 4 and len(ours.loss_curve_) == 10


@pytest.mark.parametrize("cls_name, make", [("MLPClassifier", lambda: scaled(load_iris)),
                                            ("MLPRegressor", multi_output)])
def test_lbfgs_as_scikit_learn(cls_name, make):
    X, y = make()
    ours, theirs = fit_both(cls_name, X, y, solver="lbfgs", hidden_layer_sizes=(6,),
                            max_iter=30, random_state=0, alpha=0.01)
    if cls_name == "MLPClassifier":
        assert_same_model(ours, theirs, rtol=1e-6)
    else:
        # scikit-learn's L-BFGS objective averages over the outputs while its gradient sums
        # them; fastnn minimizes the sum, which its gradient is the gradient of.
        assert ours.n_iter_ == 30 and ours.loss_ < theirs.loss_ * 1.1
        with pytest.raises(AttributeError, match="partial_fit"):
            ours.partial_fit(X, y)


def poisson_counts(n=200, outputs=1, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5))
    rates = np.exp(np.stack([0.3 * X[:, 0] - 0.2 * X[:, 1], 0.2 * X[:, 2]], axis=1))
    y = rng.poisson(rates[:, :outputs]).astype(float)
    return X, y.ravel() if outputs == 1 else y


@pytest.mark.parametrize("solver, early_stopping", [("adam", False), ("adam", True),
                                                    ("sgd", False), ("sgd", True),
                                                    ("lbfgs", False)])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("outputs", [1, 2])
def test_poisson_as_scikit_learn(solver, early_stopping, weighted, outputs):
    X, y = poisson_counts(outputs=outputs)
    w = np.random.default_rng(1).uniform(0.2, 3, len(X)) if weighted else None
    ours, theirs = fit_both("MLPRegressor", X, y,
                            lambda est, X, y: est.fit(X, y, sample_weight=w), loss="poisson",
                            solver=solver, early_stopping=early_stopping, hidden_layer_sizes=(10,),
                            max_iter=25, random_state=3, learning_rate_init=0.01)
    assert ours.out_activation_ == "exp"
    assert_same_model(ours, theirs, rtol=1e-9)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-9)
    if early_stopping:
        np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_,
                                   rtol=1e-9)


def test_poisson_partial_fit_and_loss_as_scikit_learn():
    X, y = poisson_counts(outputs=2)

    def three_calls(est, X, y):
        for part in np.array_split(np.arange(len(X)), 3):
            est.partial_fit(X[part], y[part])
        return est

    ours, theirs = fit_both("MLPRegressor", X, y, three_calls, loss="poisson",
                            hidden_layer_sizes=(9,), random_state=1, learning_rate_init=0.01)
    assert_same_model(ours, theirs)
    # loss_ is scikit-learn's half Poisson deviance of the predicted means, plus the penalty
    from sklearn.neural_network._base import poisson_loss
    est = quiet_fit(MLPRegressor(loss="poisson", max_iter=1, random_state=0, alpha=0.0,
                                 batch_size=len(X), solver="sgd", learning_rate_init=1e-300), X, y)
    assert est.loss_ == pytest.approx(poisson_loss(y, est.predict(X)), rel=1e-12)


@pytest.mark.parametrize("loader, cls_name, tolerance", [
    (load_iris, "MLPClassifier", 0.03),
    (load_digits, "MLPClassifier", 0.015),
    (load_breast_cancer, "MLPClassifier", 0.02),
    (load_diabetes, "MLPRegressor", 0.02),
])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_test_scores_match_scikit_learn_over_seeds(loader, cls_name, tolerance, dtype):
    """Default hyperparameters (fewer epochs to keep the test short): the test score of fastnn
    is within `tolerance` of scikit-learn's for every seed; float32 X trains in float32."""
    X, y = loader(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    for seed in range(3):
        X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=seed)
        params = dict(random_state=seed, max_iter=60)
        ours, theirs = fit_both(cls_name, X_train.astype(dtype), y_train, **params)
        assert ours.coefs_[0].dtype == dtype
        gap = ours.score(X_test.astype(dtype), y_test) - theirs.score(X_test, y_test)
        assert abs(gap) <= tolerance


# Checks that do not apply, and so would only skip themselves:
NOT_APPLICABLE = {
    "check_array_api_input": "like scikit-learn's MLPs, these take NumPy arrays, not the array API",
    "check_classifiers_multilabel_output_format_decision_function": "no decision_function, as "
                                                                    "scikit-learn's MLPClassifier",
}
ESTIMATOR_CHECKS = [
    pytest.param(estimator, check, id=f"{type(estimator).__name__}-{check.func.__name__}-{i}")
    for estimator in (MLPClassifier(max_iter=100), MLPRegressor(max_iter=100))
    for i, (estimator, check) in enumerate(estimator_checks_generator(estimator))
    if check.func.__name__ not in NOT_APPLICABLE]


@pytest.mark.parametrize("estimator, check", ESTIMATOR_CHECKS)
def test_scikit_learn_estimator_checks(estimator, check):
    """Every check of parametrize_with_checks applies and passes (none is expected to fail)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


def test_pipeline_grid_search_cross_validation_and_pickle():
    X, y = load_digits(return_X_y=True)
    X, y = X[:500], y[:500]
    pipe = make_pipeline(StandardScaler(),
                         MLPClassifier(max_iter=30, learning_rate_init=0.01, random_state=0))
    search = GridSearchCV(pipe, {"mlpclassifier__alpha": [1e-4, 1e-1],
                                 "mlpclassifier__hidden_layer_sizes": [(16,), (32,)]},
                          cv=3, n_jobs=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
        scores = cross_val_score(MLPRegressor(max_iter=30, random_state=0),
                                 *diabetes(None), cv=3)
    assert search.best_score_ > 0.85
    assert len(scores) == 3 and np.all(scores > 0.2)
    restored = pickle.loads(pickle.dumps(search.best_estimator_))
    np.testing.assert_array_equal(restored.predict_proba(X), search.predict_proba(X))
    restored[-1].partial_fit(X, y)  # and it trains on from where it was
    assert restored[-1].n_iter_ == 1


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_pickle_holds_no_training_data(solver):
    """A model fit on 200k rows pickles to about scikit-learn's size: the layers' last inputs,
    outputs and gradients (the whole X after L-BFGS's full batch) are left out."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200_000, 20))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    ours, theirs = fit_both("MLPClassifier", X, y, solver=solver, hidden_layer_sizes=(16,),
                            max_iter=1, random_state=0)
    size, reference = len(pickle.dumps(ours)), len(pickle.dumps(theirs))
    assert size < 2 * reference, (size, reference)


def continued(est, X, y, extra):
    if est.solver != "lbfgs":
        est.partial_fit(X[:50], y[:50], **extra)
    est.set_params(warm_start=True, max_iter=3).fit(X, y)
    return est


@pytest.mark.parametrize("solver, dropout", [("adam", 0.0), ("adam", 0.3), ("sgd", 0.0),
                                             ("lbfgs", 0.0)])
@pytest.mark.parametrize("cls_name", ["MLPClassifier", "MLPRegressor"])
def test_unpickled_estimator_predicts_and_continues_bit_for_bit(solver, dropout, cls_name):
    X, y = scaled(load_iris) if cls_name == "MLPClassifier" else multi_output()
    extra = {"classes": np.unique(y)} if cls_name == "MLPClassifier" else {}
    est = quiet_fit(getattr(fastnn, cls_name)(hidden_layer_sizes=(8,), solver=solver,
                                              dropout=dropout, max_iter=5, random_state=0),
                    X, y)
    restored = pickle.loads(pickle.dumps(est))
    for layer in restored._network.layers:
        assert all(value is None for name, value in vars(layer).items()
                   if name in layer._SCRATCH)
    np.testing.assert_array_equal(restored.predict(X), est.predict(X))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours, theirs = continued(restored, X, y, extra), continued(est, X, y, extra)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_array_equal(a, b)
    assert ours.loss_ == theirs.loss_
    if solver != "lbfgs":
        assert ours.loss_curve_ == theirs.loss_curve_
        for a, b in zip(ours._optimizer.state, theirs._optimizer.state):
            for p, q in zip(a, b):
                np.testing.assert_array_equal(p, q)


def test_predict_proba_shapes_and_log_proba():
    X, y = scaled(load_breast_cancer)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier(max_iter=5, random_state=0).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba))
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])


def quiet_fit(est, X, y, **fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **fit)


def test_extras_dropout_leaky_relu_threads():
    X, y = scaled(load_iris)
    base = dict(max_iter=40, random_state=0, learning_rate_init=0.01)
    plain = quiet_fit(MLPClassifier(**base), X, y)
    dropped = quiet_fit(MLPClassifier(dropout=0.3, **base), X, y)
    assert plain.loss_curve_ != dropped.loss_curve_
    assert dropped.score(X, y) > 0.8
    leaky = quiet_fit(MLPClassifier(activation="leaky_relu", **base), X, y)
    assert leaky.loss_curve_ != plain.loss_curve_ and leaky.score(X, y) > 0.8
    threaded = quiet_fit(MLPClassifier(threads=2, **base), X, y)
    np.testing.assert_allclose(threaded.loss_curve_, plain.loss_curve_, rtol=1e-9)


def test_class_weight_is_sample_weight_per_class():
    X, y = scaled(load_iris)
    weights = {0: 1.0, 1: 3.0, 2: 0.5}
    a = quiet_fit(MLPClassifier(max_iter=8, random_state=0, class_weight=weights), X, y)
    b = quiet_fit(MLPClassifier(max_iter=8, random_state=0), X, y,
                  sample_weight=np.vectorize(weights.get)(y))
    np.testing.assert_array_equal(a.loss_curve_, b.loss_curve_)
    balanced = quiet_fit(MLPClassifier(max_iter=8, random_state=0, class_weight="balanced"),
                         X[:120], y[:120])
    assert balanced.loss_curve_[0] != quiet_fit(MLPClassifier(max_iter=8, random_state=0),
                                                X[:120], y[:120]).loss_curve_[0]


@pytest.mark.parametrize("params, match", [
    (dict(hidden_layer_sizes=(10, 0)), "hidden_layer_sizes"),
    (dict(activation="softplus"), "activation"),
    (dict(solver="newton"), "solver"),
    (dict(alpha=-1.0), "alpha"),
    (dict(batch_size=0), "batch_size"),
    (dict(learning_rate_init=0.0), "learning_rate_init"),
    (dict(max_iter=0), "max_iter"),
    (dict(momentum=1.5), "momentum"),
    (dict(validation_fraction=1.0), "validation_fraction"),
    (dict(beta_2=1.0), "beta_2"),
    (dict(epsilon=0.0), "epsilon"),
    (dict(n_iter_no_change=0), "n_iter_no_change"),
    (dict(dropout=1.0), "dropout"),
    (dict(threads=0), "threads"),
    (dict(shuffle="yes"), "shuffle"),
])
def test_bad_parameters_are_named(params, match):
    X, y = scaled(load_iris)
    with pytest.raises(ValueError, match=match):
        MLPClassifier(**params).fit(X, y)


def test_bad_input_gets_clear_errors():
    X, y = scaled(load_iris)
    with pytest.raises(NotFittedError):
        MLPClassifier().predict(X)
    clf = quiet_fit(MLPClassifier(max_iter=2, random_state=0), X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :3])
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        MLPClassifier().fit(bad, y)
    with pytest.raises(ValueError, match="NaN"):
        clf.predict(bad)
    with pytest.raises(ValueError, match="sample_weight"):
        MLPClassifier().fit(X, y, sample_weight=-np.ones(len(X)))
    with pytest.raises(ValueError, match="classes"):
        MLPClassifier().partial_fit(X, y)
    with pytest.raises(ValueError, match="Unknown label type"):
        MLPClassifier().fit(X, X[:, 0])
    with pytest.raises(ValueError, match="early_stopping"):
        MLPClassifier(early_stopping=True).partial_fit(X, y, classes=np.unique(y))
    with pytest.raises(ValueError, match="y >= 0"):
        MLPRegressor(loss="poisson").fit(X, y - 1.5)
    with pytest.raises(ValueError, match="same classes"):
        clf.set_params(warm_start=True).fit(X[y < 2], y[y < 2])


@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
def test_alpha_set_between_calls_is_used_as_scikit_learn_uses_it(how):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6))
    y = X[:, 0] * 2
    models = []
    for module in (fastnn, sk):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = module.MLPRegressor(hidden_layer_sizes=(8,), random_state=0, max_iter=5,
                                        warm_start=how == "warm_start").fit(X, y)
            model.set_params(alpha=100.0)
            (model.partial_fit if how == "partial_fit" else model.fit)(X, y)
        models.append(model)
    ours, theirs = models
    np.testing.assert_allclose(ours.loss_, theirs.loss_, rtol=1e-10)
    for a, b in zip(ours.coefs_, theirs.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
