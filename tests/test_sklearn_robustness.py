"""fastnn.MLPClassifier / MLPRegressor when things go wrong: a refused or failed fit leaves the
estimator as it was, divergence raises scikit-learn's error, parameters are checked as
scikit-learn checks them (and named as it names them), targets are taken or refused as there."""
import copy
import numbers
import re
import warnings
from functools import partial

import numpy as np
import pytest
from sklearn import neural_network as sk
from sklearn.datasets import load_diabetes, load_iris
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import check_is_fitted

import fastnn
from fastnn import MLPClassifier, MLPRegressor

NON_FINITE = ("Solver produced non-finite parameter weights. The input data may contain large "
              "values and need to be preprocessed.")


def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def diabetes():
    X, y = load_diabetes(return_X_y=True)
    X, y = StandardScaler().fit_transform(X[:150]), y[:150]
    return X, (y - y.mean()) / y.std()


def quietly(call, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return call(*args, **kwargs)


def outcome(call):
    """What a call did: "ok", or the exception's type and message."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call()
        return "ok"
    except Exception as error:  # noqa: BLE001 - compared between the two libraries
        return f"{type(error).__name__}: {error}"


def state(est):
    """Everything a fit can change, copied: the attributes but the parameters (arrays and lists
    deep-copied), the network's weights, the optimizer's state and step count and its
    generator."""
    skip = {"_network", "_dense", "_optimizer", "_random_state", *est.get_params(deep=False)}
    attrs = {name: copy.deepcopy(value) for name, value in vars(est).items() if name not in skip}
    net = vars(est).get("_network")
    if net is not None:
        attrs["weights"] = [p.copy() for p in net.parameters()]
        attrs["optimizer"] = (type(net.optimizer).__name__, net.optimizer.iterations,
                              net.optimizer.lr, [[s.copy() for s in st]
                                                 for st in net.optimizer.state])
        attrs["generator"] = net.rng.bit_generator.state
    return attrs


def assert_same_state(a, b, path="state"):
    if isinstance(a, dict) and not hasattr(a, "classes_"):
        assert isinstance(b, dict) and set(a) == set(b), (path, set(a) ^ set(b))
        for key in a:
            assert_same_state(a[key], b[key], f"{path}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_state(x, y, f"{path}[{i}]")
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype, path
        np.testing.assert_array_equal(a, b, err_msg=path)
    elif isinstance(a, float) and np.isnan(a):
        assert isinstance(b, float) and np.isnan(b), path
    elif hasattr(a, "get_params") or hasattr(a, "classes_"):  # LabelBinarizer
        assert type(a) is type(b), path
        assert_same_state(vars(a), vars(b), path)
    else:
        assert a == b, (path, a, b)


def assert_unfitted(est, params):
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
    assert set(vars(est)) == set(params), set(vars(est)) - set(params)


# ---------------------------------------------------------- 1. a refused fit changes nothing

X_IRIS, Y_IRIS = iris()
N = len(X_IRIS)
BAD_SAMPLE_WEIGHTS = {
    "nan": np.where(np.arange(N) == 3, np.nan, 1.0),
    "inf": np.where(np.arange(N) == 3, np.inf, 1.0),
    "short": np.ones(N - 1),
    "long": np.ones(N + 5),
    "2d": np.ones((N, 1)),
    "complex": np.ones(N) + 1j,
    "complex_scalar": 1j,
    "strings": np.array(["a"] * N),
    "numeric_strings": np.array(["1"] * N),
    "string_scalar": "1",
    "object_strings": np.array(["1"] * N, dtype=object),
    "negative": -np.ones(N),
    "all_zero": np.zeros(N),
    "ragged": [[1, 2], [3]],
}
BAD_FITS = {
    # name: (estimator class, fit arguments (X, y, keywords) from iris' X and y)
    **{f"sample_weight_{name}": (MLPClassifier, lambda X, y, w=w: (X, y, {"sample_weight": w}))
       for name, w in BAD_SAMPLE_WEIGHTS.items()},
    "regressor_sample_weight_nan": (
        MLPRegressor,
        lambda X, y: (X, y.astype(float), {"sample_weight": BAD_SAMPLE_WEIGHTS["nan"]})),
    "regressor_sample_weight_complex": (
        MLPRegressor, lambda X, y: (X, y.astype(float), {"sample_weight": np.ones(N) * 1j})),
    "X_nan": (MLPClassifier, lambda X, y: (np.where(X > 2, np.nan, X), y, {})),
    "X_strings": (MLPClassifier, lambda X, y: (X.astype(str).astype(object) + "x", y, {})),
    "y_continuous": (MLPClassifier, lambda X, y: (X, X[:, 0], {})),
    "y_nan": (MLPClassifier, lambda X, y: (X, np.where(y == 2, np.nan, y), {})),
    "y_short": (MLPClassifier, lambda X, y: (X, y[:-1], {})),
    "y_multiclass_multioutput": (MLPClassifier, lambda X, y: (X, np.stack([y, y], 1), {})),
    "regressor_y_strings": (MLPRegressor, lambda X, y: (X, y.astype(str), {})),
    "regressor_y_nan": (MLPRegressor, lambda X, y: (X, np.where(y == 2, np.nan, 1.0), {})),
    "class_weight_unknown_class": (MLPClassifier, lambda X, y: (X, y, {})),
}
BAD_PARAMS = {"class_weight_unknown_class": {"class_weight": {7: 2.0}}}


@pytest.mark.parametrize("case", BAD_FITS)
@pytest.mark.parametrize("how", ["fit", "partial_fit"])
def test_a_refused_fit_leaves_an_unfitted_estimator_unfitted(case, how):
    cls, arguments = BAD_FITS[case]
    X, y, keywords = arguments(X_IRIS, Y_IRIS)
    est = cls(max_iter=5, random_state=0, **BAD_PARAMS.get(case, {}))
    if how == "partial_fit" and cls is MLPClassifier:
        keywords = {**keywords, "classes": np.unique(Y_IRIS)}
    with pytest.raises((ValueError, TypeError)) as error:
        getattr(est, how)(X, y, **keywords)
    if case.startswith(("sample_weight", "regressor_sample_weight")):
        assert "sample_weight" in str(error.value)
    assert_unfitted(est, est.get_params())


@pytest.mark.parametrize("case", BAD_FITS)
@pytest.mark.parametrize("how", ["refit", "warm_start", "partial_fit"])
def test_a_refused_fit_leaves_a_fitted_estimator_as_it_was(case, how):
    cls, arguments = BAD_FITS[case]
    X, y, keywords = arguments(X_IRIS, Y_IRIS)
    good_y = Y_IRIS if cls is MLPClassifier else Y_IRIS.astype(float)
    est = cls(max_iter=5, random_state=0, learning_rate_init=0.01, warm_start=how == "warm_start")
    quietly(est.fit, X_IRIS, good_y)
    good_params = est.get_params()
    est.set_params(**BAD_PARAMS.get(case, {}))
    before, coefs = state(est), est.coefs_[0]
    proba = (est.predict_proba if cls is MLPClassifier else est.predict)(X_IRIS)
    with pytest.raises((ValueError, TypeError)):
        getattr(est, "partial_fit" if how == "partial_fit" else "fit")(X, y, **keywords)
    assert_same_state(before, state(est))
    assert est.coefs_[0] is coefs
    np.testing.assert_array_equal(
        (est.predict_proba if cls is MLPClassifier else est.predict)(X_IRIS), proba)
    est.set_params(**good_params)
    quietly(est.partial_fit, X_IRIS, good_y)  # and it trains on as before
    assert est.n_iter_ == 1


REFUSED_CALLS = {
    # name: (make a fitted estimator or None for a fresh one, the refused call)
    "partial_fit_without_classes": (None, lambda est, X, y: est.partial_fit(X, y)),
    "partial_fit_y_outside_classes": (
        None, lambda est, X, y: est.partial_fit(X, y, classes=[0, 1])),
    "partial_fit_early_stopping": (
        None, lambda est, X, y: est.set_params(early_stopping=True).partial_fit(
            X, y, classes=[0, 1, 2])),
    "partial_fit_other_classes": (
        lambda X, y: MLPClassifier(max_iter=3, random_state=0).partial_fit(X, y, classes=[0, 1, 2]),
        lambda est, X, y: est.partial_fit(X, y, classes=[0, 1, 2, 3])),
    "partial_fit_new_class": (
        lambda X, y: MLPClassifier(max_iter=3, random_state=0).partial_fit(
            X[y < 2], y[y < 2], classes=[0, 1]),
        lambda est, X, y: est.partial_fit(X, y)),
    "partial_fit_other_features": (
        lambda X, y: MLPClassifier(max_iter=3, random_state=0).partial_fit(X, y, classes=[0, 1, 2]),
        lambda est, X, y: est.partial_fit(X[:, :2], y)),
    "warm_start_other_classes": (
        lambda X, y: quietly(MLPClassifier(max_iter=3, random_state=0, warm_start=True).fit, X, y),
        lambda est, X, y: est.fit(X[y < 2], y[y < 2])),
    "warm_start_other_outputs": (
        lambda X, y: quietly(MLPRegressor(max_iter=3, random_state=0, warm_start=True).fit, X, y),
        lambda est, X, y: est.fit(X, np.stack([y, y], 1))),
    "warm_start_replaced_coefs_of_wrong_shape": (
        lambda X, y: quietly(MLPClassifier(max_iter=3, random_state=0, warm_start=True).fit, X, y),
        lambda est, X, y: (est.coefs_.__setitem__(0, np.zeros((2, 2))), est.fit(X, y))),
    "validation_set_too_small": (  # raised inside training, after the initial draws
        None, lambda est, X, y: est.set_params(early_stopping=True,
                                               validation_fraction=0.01).fit(X[:30], y[:30])),
    "validation_fraction_zero": (
        None, lambda est, X, y: est.set_params(early_stopping=True,
                                               validation_fraction=0.0).fit(X, y)),
    "stratified_split_of_a_single_sample_class": (
        None, lambda est, X, y: est.set_params(early_stopping=True).fit(
            X[:51], y[:51])),
    "bad_parameter": (None, lambda est, X, y: est.set_params(alpha=-1.0).fit(X, y)),
    "bad_parameter_after_fit": (
        lambda X, y: quietly(MLPClassifier(max_iter=3, random_state=0).fit, X, y),
        lambda est, X, y: est.set_params(momentum=2.0).fit(X, y)),
}


@pytest.mark.parametrize("case", REFUSED_CALLS)
def test_refused_calls_change_nothing(case):
    make, call = REFUSED_CALLS[case]
    X, y = X_IRIS, Y_IRIS
    if case == "warm_start_other_outputs":
        y = y.astype(float)
    est = MLPClassifier(max_iter=3, random_state=0) if make is None else make(X, y)
    fresh = make is None
    before = state(est)
    with pytest.raises((ValueError, TypeError)):
        quietly(call, est, X, y)
    if case == "warm_start_replaced_coefs_of_wrong_shape":
        before["coefs_"][0] = np.zeros((2, 2))  # the user's own change stays
    if fresh:
        assert_unfitted(est, est.get_params())
    assert_same_state(before, state(est))


@pytest.mark.parametrize("replace, message", [
    (lambda est: est.coefs_.__setitem__(0, np.zeros((2, 2))),
     "coefs_[0] is a float64 array of shape (2, 2); the network needs real numbers of shape "
     "(4, 100)"),
    (lambda est: est.intercepts_.__setitem__(1, np.array(["a"] * 3)),
     "intercepts_[1] is a <U1 array of shape (3,); the network needs real numbers of shape (3,)"),
    (lambda est: est.coefs_.pop(), "coefs_ holds 1 arrays; the network has 2 layers"),
])
def test_replaced_coefs_the_network_cannot_take_are_named(replace, message):
    """coefs_ / intercepts_ replaced by the user (as scikit-learn allows) are taken up when they
    fit, and named when they do not, by predict and a warm-start fit alike."""
    est = quietly(MLPClassifier(max_iter=3, random_state=0, warm_start=True).fit, X_IRIS, Y_IRIS)
    expected = est.predict_proba(X_IRIS)
    est.coefs_[1] = est.coefs_[1].tolist()  # a list of the right shape: taken up
    np.testing.assert_array_equal(est.predict_proba(X_IRIS), expected)
    assert est.coefs_[1] is est._network.layers[-1].W
    replace(est)
    for call in (est.predict, lambda X: est.fit(X, Y_IRIS)):
        with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
            call(X_IRIS)


FLOAT32_OVERFLOWS = {
    # name: (estimator, the refused call on float32 iris and a model fitted on it, what it names)
    "sample_weight": (MLPClassifier,
                      lambda est, X, y: est.fit(X, y, sample_weight=np.full(N, 1e39)),
                      "sample_weight"),
    "regressor_y": (MLPRegressor, lambda est, X, y: est.fit(X, y * 1e39), "y"),
    "partial_fit_float64_X": (MLPClassifier,
                              lambda est, X, y: est.partial_fit(X.astype(np.float64) * 1e39, y),
                              "X"),
}


@pytest.mark.parametrize("case", FLOAT32_OVERFLOWS)
def test_values_too_large_for_float32_training_are_refused_by_name(case):
    """float32 X trains in float32: a weight, target or later X beyond its range is refused with
    its name before anything changes (and without NumPy's overflow warning)."""
    cls, call, name = FLOAT32_OVERFLOWS[case]
    X, y = X_IRIS.astype(np.float32), Y_IRIS if cls is MLPClassifier else Y_IRIS.astype(float)
    est = cls(max_iter=3, random_state=0, warm_start=True)
    quietly(est.fit, X, y)
    before = state(est)
    with pytest.raises(ValueError, match=f"^Input {name} contains a value too large for "
                                         r"dtype\('float32'\)"):
        call(est, X, y)
    assert_same_state(before, state(est))


def test_scikit_learn_refuses_what_is_refused_here():
    """The refused sample weights and targets above are refused by scikit-learn too, except
    where fastnn is stricter: negative weights, numeric strings (NumPy would convert them) and
    an all-zero or inf weight (scikit-learn trains on, to NaN)."""
    stricter = {"sample_weight_negative", "sample_weight_numeric_strings",
                "sample_weight_object_strings", "sample_weight_string_scalar",
                "sample_weight_all_zero", "sample_weight_inf", "class_weight_unknown_class"}
    for case, (cls, arguments) in BAD_FITS.items():
        if case in stricter:
            continue
        X, y, keywords = arguments(X_IRIS, Y_IRIS)
        theirs = getattr(sk, cls.__name__)(max_iter=3, random_state=0)
        assert outcome(partial(theirs.fit, X, y, **keywords)) != "ok", case


# ------------------------------------------------------------------ 2. divergence


@pytest.mark.parametrize("cls_name", ["MLPClassifier", "MLPRegressor"])
@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_divergence_raises_scikit_learns_error_and_changes_nothing(cls_name, solver):
    X, y = iris() if cls_name == "MLPClassifier" else diabetes()
    params = dict(solver=solver, learning_rate_init=1e300, max_iter=20, random_state=0)
    theirs = getattr(sk, cls_name)(**params)
    with pytest.raises(ValueError) as their_error, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.fit(X, y)
    ours = getattr(fastnn, cls_name)(**params)
    with pytest.raises(ValueError) as our_error:
        ours.fit(X, y)  # no RuntimeWarning either (the test settings make warnings errors)
    assert str(our_error.value) == str(their_error.value) == NON_FINITE
    assert_unfitted(ours, ours.get_params())


@pytest.mark.parametrize("cls_name", ["MLPClassifier", "MLPRegressor"])
def test_divergence_of_a_warm_start_fit_puts_the_fitted_model_back(cls_name):
    X, y = iris() if cls_name == "MLPClassifier" else diabetes()
    est = getattr(fastnn, cls_name)(max_iter=5, random_state=0, warm_start=True,
                                    learning_rate_init=0.01)
    quietly(est.fit, X, y)
    before, coefs = state(est), est.coefs_
    est.set_params(learning_rate_init=1e300, max_iter=20)
    with pytest.raises(ValueError, match=re.escape(NON_FINITE)):
        est.fit(X, y)
    assert_same_state(before, state(est))
    assert est.coefs_ is coefs
    assert all(np.isfinite(c).all() for c in est.coefs_ + est.intercepts_)


@pytest.mark.parametrize("cls_name", ["MLPClassifier", "MLPRegressor"])
@pytest.mark.parametrize("solver, call", [("adam", "fit"), ("sgd", "fit"), ("lbfgs", "fit"),
                                          ("adam", "partial_fit"), ("sgd", "partial_fit")])
def test_non_finite_weights_given_raise_scikit_learns_error(cls_name, solver, call):
    """An infinite weight put into a fitted model: its next warm-started fit or partial_fit
    ends with non-finite weights, and raises scikit-learn's error where scikit-learn does; the
    model is left as it was (L-BFGS included: a NaN loss stops SciPy at the first step)."""
    X, y = iris() if cls_name == "MLPClassifier" else diabetes()
    params = dict(solver=solver, max_iter=5, random_state=0, warm_start=True,
                  learning_rate_init=0.01)
    errors = []
    for module in (fastnn, sk):
        est = quietly(getattr(module, cls_name)(**params).fit, X, y)
        est.coefs_[0][0, 0] = np.inf
        before = state(est) if module is fastnn else None
        with pytest.raises(ValueError) as error, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            getattr(est, call)(X, y)
        errors.append(str(error.value))
        if module is fastnn:
            assert_same_state(before, state(est))
    assert errors == [NON_FINITE, NON_FINITE]


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_poisson_divergence_raises_scikit_learns_error(solver):
    """exp of the outputs overflows: the same error as scikit-learn's, nothing changed."""
    X, y = diabetes()
    params = dict(loss="poisson", solver=solver, max_iter=20, random_state=0,
                  learning_rate_init=1e10 if solver == "adam" else 10.0)
    theirs = sk.MLPRegressor(**params)
    with pytest.raises(ValueError) as their_error, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.fit(X, 10 * np.abs(y))
    ours = MLPRegressor(**params)
    with pytest.raises(ValueError) as our_error:
        ours.fit(X, 10 * np.abs(y))
    assert str(our_error.value) == str(their_error.value) == NON_FINITE
    assert_unfitted(ours, ours.get_params())


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_divergence_of_partial_fit_puts_the_model_back(solver):
    """A chunk of huge values makes the squared error overflow; scikit-learn raises its error
    there too, and the estimator keeps the optimizer state and weights of before the call."""
    X, y = diabetes()
    make = dict(solver=solver, random_state=0, learning_rate_init=0.01)
    ours = MLPRegressor(**make).partial_fit(X, y)
    theirs = sk.MLPRegressor(**make).partial_fit(X, y)
    before = state(ours)
    huge = X * 1e300
    with pytest.raises(ValueError) as their_error, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.partial_fit(huge, y)
    with pytest.raises(ValueError) as our_error:
        ours.partial_fit(huge, y)
    assert str(our_error.value) == str(their_error.value) == NON_FINITE
    assert_same_state(before, state(ours))
    # and it trains on as if the call had not been made
    again = MLPRegressor(**make).partial_fit(X, y).partial_fit(X, y)
    ours.partial_fit(X, y)
    np.testing.assert_array_equal(ours.loss_curve_, again.loss_curve_)
    for a, b in zip(ours.coefs_ + ours.intercepts_, again.coefs_ + again.intercepts_):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cls_name", ["MLPClassifier", "MLPRegressor"])
def test_divergence_with_early_stopping_keeps_the_best_weights_as_scikit_learn(cls_name):
    """scikit-learn trains on through NaN epochs and keeps its best weights, raising nothing;
    fastnn stops at the diverging epoch (a RuntimeWarning) and keeps the same best weights."""
    X, y = iris() if cls_name == "MLPClassifier" else diabetes()
    params = dict(learning_rate_init=1e300, early_stopping=True, max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = getattr(sk, cls_name)(**params).fit(X, y)
    with pytest.warns(RuntimeWarning, match="best validation score"):
        ours = getattr(fastnn, cls_name)(**params).fit(X, y)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        assert np.isfinite(a).all()
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)
    assert ours.n_iter_ < theirs.n_iter_


class Interrupt:
    """A stand-in for `name` of `owner` whose `after`-th call raises KeyboardInterrupt (Ctrl-C
    in the middle of a fit), the earlier calls going through."""

    def __init__(self, monkeypatch, owner, name, after):
        self.calls, self.after, self.wrapped = 0, after, getattr(owner, name)
        monkeypatch.setattr(owner, name, self)

    def __get__(self, obj, cls=None):
        return self if obj is None else lambda *a, **k: self(obj, *a, **k)

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls == self.after:
            raise KeyboardInterrupt
        return self.wrapped(*args, **kwargs)


def test_an_interrupt_of_a_warm_start_lbfgs_fit_leaves_the_model_as_it_was(monkeypatch):
    """Ctrl-C after L-BFGS has written its trial weights into coefs_: the estimator, the
    network's arrays (in place: coefs_[0] is the same array) and its predictions are back."""
    X, y = iris()
    est = quietly(MLPClassifier(solver="lbfgs", max_iter=5, random_state=0,
                                warm_start=True).fit, X, y)
    before, coefs, proba = state(est), est.coefs_[0], est.predict_proba(X)
    interrupt = Interrupt(monkeypatch, fastnn.Network, "loss_and_gradients", after=4)
    with pytest.raises(KeyboardInterrupt):
        est.fit(X, y)
    assert interrupt.calls == 4
    monkeypatch.undo()
    assert_same_state(before, state(est))
    assert est.coefs_[0] is coefs and est._network.layers[0].W is coefs
    np.testing.assert_array_equal(est.predict_proba(X), proba)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_an_interrupt_of_a_warm_start_fit_puts_back_the_optimizer(monkeypatch, solver):
    """Ctrl-C while the early-stopping split is drawn, after the warm-start fit made its new
    optimizer: the network holds the old one again, with its moments, step count and learning
    rate, its generator and dropout streams as they were; it then trains on as an
    uninterrupted twin."""
    X, y = iris()
    make = dict(solver=solver, max_iter=3, random_state=0, warm_start=True, dropout=0.2,
                learning_rate="invscaling", early_stopping=True)
    est, twin = (quietly(MLPClassifier(**make).fit, X, y) for _ in range(2))
    before, optimizer = state(est), est._network.optimizer
    streams = [layer.state.copy() for layer in est._network.layers if hasattr(layer, "rate")]
    Interrupt(monkeypatch, fastnn.sklearn, "train_test_split", after=1)
    with pytest.raises(KeyboardInterrupt):
        est.fit(X, y)
    monkeypatch.undo()
    assert est._network.optimizer is optimizer
    assert_same_state(before, state(est))
    assert_same_state(streams, [layer.state for layer in est._network.layers
                                if hasattr(layer, "rate")])
    for model in (est, twin):
        quietly(model.fit, X, y)
    assert_same_state(state(twin), state(est))


# ------------------------------------------------------------------ 3. parameters

INVALID_OR_ODD = [-1, -1.0, 0, 0.0, 0.5, 1, 1.0, 2, 2.5, 1e300, np.inf, -np.inf, np.nan, "1",
                  "auto", True, False, None, np.float32(0.5), np.int64(3), np.float64(1.0),
                  np.bool_(True), 1e-310, [1], (3, 0), 1 + 0j]
NUMERIC_PARAMS = ["alpha", "batch_size", "learning_rate_init", "power_t", "max_iter", "tol",
                  "momentum", "validation_fraction", "beta_1", "beta_2", "epsilon",
                  "n_iter_no_change", "max_fun", "hidden_layer_sizes", "verbose", "random_state",
                  "shuffle", "warm_start", "nesterovs_momentum", "early_stopping"]
INTERNAL_NAMES = re.compile(r"\b(lr|l2|eps|beta1|beta2|rate|n_in|n_out|decay|weight_decay)\b")
X_SMALL = np.random.default_rng(0).standard_normal((40, 3))
Y_SMALL = np.arange(40) % 2


def fit_outcome(est, name):
    """"refused" for a parameter error naming `name`, else what the fit did."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X_SMALL, Y_SMALL)
        return "ok"
    except InvalidParameterError as error:
        message = str(error)
        assert message.startswith(f"The '{name}' parameter of {type(est).__name__} must be"), \
            message
        assert not INTERNAL_NAMES.search(message.split(" must be ")[1]), message
        return "refused"
    except (ValueError, TypeError) as error:
        return f"{type(error).__name__}: {error}"


@pytest.mark.parametrize("cls_name", ["MLPClassifier", "MLPRegressor"])
@pytest.mark.parametrize("name", NUMERIC_PARAMS)
def test_parameters_are_checked_as_scikit_learn_checks_them(cls_name, name):
    """Each value is refused (naming the parameter, never fastnn's internal names) exactly when
    scikit-learn refuses it, for both solvers it concerns; a value both take fits alike (or
    raises the same non-finite-weights error)."""
    solvers = ["adam", "sgd"] if name in ("momentum", "epsilon", "beta_1", "beta_2",
                                          "learning_rate_init", "nesterovs_momentum") else ["adam"]
    for solver in solvers:
        for value in INVALID_OR_ODD:
            params = dict(max_iter=3, hidden_layer_sizes=(3,), random_state=0, solver=solver)
            params[name] = value
            ours = fit_outcome(getattr(fastnn, cls_name)(**params), name)
            theirs = fit_outcome(getattr(sk, cls_name)(**params), name)
            if name == "hidden_layer_sizes" and theirs.startswith(("TypeError", "ValueError")):
                # scikit-learn's parameter check lets True and (3, 0) through; its fit then
                # refuses them (np.empty, "hidden_layer_sizes must be > 0"): here the check does
                assert ours == "refused", (value, theirs)
                continue
            if (name == "momentum" and solver == "sgd" and isinstance(value, numbers.Real)
                    and value == 1):
                assert ours == "refused" and theirs == "ok"  # fastnn's engine: momentum < 1
                continue
            if name == "alpha" and isinstance(value, float) and value == 1e300:
                # The gradient's square overflows Adam's second moment: scikit-learn's step then
                # rounds to 0 and it trains on; fastnn's engine counts an infinite optimizer
                # state as divergence and fit raises scikit-learn's non-finite error.
                assert theirs == "ok" and ours == f"ValueError: {NON_FINITE}"
                continue
            assert ours == theirs, (solver, name, value, ours, theirs)


@pytest.mark.parametrize("params, match", [
    (dict(learning_rate_init=-1.0), "learning_rate_init"),
    (dict(learning_rate_init=np.nan), "learning_rate_init"),
    (dict(learning_rate_init=np.inf), "learning_rate_init"),
    (dict(learning_rate_init="0.1"), "learning_rate_init"),
    (dict(alpha=-1e-3), "alpha"),
    (dict(alpha=np.inf), "alpha"),
    (dict(alpha=np.nan), "alpha"),
    (dict(epsilon=0.0), "epsilon"),
    (dict(epsilon=-1e-8), "epsilon"),
    (dict(epsilon=np.nan), "epsilon"),
    (dict(beta_1=1.0), "beta_1"),
    (dict(beta_1=-0.1), "beta_1"),
    (dict(beta_2=np.nan), "beta_2"),
    (dict(momentum=1.01, solver="sgd"), "momentum"),
    (dict(momentum=1.0, solver="sgd"), "momentum"),  # scikit-learn takes it; fastnn's engine not
    (dict(momentum=np.int64(1), solver="sgd"), "momentum"),
    (dict(momentum=np.nan, solver="sgd"), "momentum"),
    (dict(momentum="high", solver="sgd"), "momentum"),
    (dict(power_t=-0.5, solver="sgd"), "power_t"),
    (dict(dropout=1.0), "dropout"),
    (dict(dropout=-0.1), "dropout"),
    (dict(dropout=np.nan), "dropout"),
    (dict(dropout="0.1"), "dropout"),
    (dict(threads=True), "threads"),
    (dict(threads=1.0), "threads"),
    (dict(activation=["relu"]), "activation"),
    (dict(solver=None), "solver"),
    (dict(random_state=-1), "random_state"),
    (dict(random_state=np.random.default_rng(0)), "random_state"),
    (dict(verbose=-1), "verbose"),
    (dict(hidden_layer_sizes="10"), "hidden_layer_sizes"),
    (dict(hidden_layer_sizes=(10.0,)), "hidden_layer_sizes"),
    (dict(hidden_layer_sizes=np.array(5)), "hidden_layer_sizes"),
])
def test_bad_parameters_name_the_scikit_learn_parameter(params, match):
    for cls in (MLPClassifier, MLPRegressor):
        est = cls(**params)
        with pytest.raises(InvalidParameterError, match=f"^The '{match}' parameter") as error:
            est.fit(X_SMALL, Y_SMALL)
        assert not INTERNAL_NAMES.search(str(error.value).split(" must be ")[1])
        assert_unfitted(est, est.get_params())


def test_a_batch_size_larger_than_the_data_is_clipped_with_scikit_learns_warning():
    """batch_size=1000 on 150 samples: scikit-learn's UserWarning, and the numbers of
    batch_size=150 (one full batch per epoch), as scikit-learn's."""
    X, y = iris()
    params = dict(solver="sgd", max_iter=3, random_state=0)
    caught = {}
    for name, module in (("ours", fastnn), ("theirs", sk)):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            est = module.MLPClassifier(batch_size=1000, **params).fit(X, y)
        caught[name] = ([str(w.message) for w in seen if w.category is UserWarning], est)
    assert caught["ours"][0] == caught["theirs"][0] == [
        "Got `batch_size` less than 1 or larger than sample size. It is going to be clipped"]
    full = quietly(MLPClassifier(batch_size=len(X), **params).fit, X, y)
    assert caught["ours"][1].loss_curve_ == full.loss_curve_
    np.testing.assert_allclose(full.loss_curve_, caught["theirs"][1].loss_curve_, rtol=1e-9)


def numpy_scalars(params):
    return {key: (np.bool_(value) if isinstance(value, bool)
                  else np.int64(value) if isinstance(value, int)
                  else np.float32(value) if isinstance(value, float) else value)
            for key, value in params.items()}


@pytest.mark.parametrize("cls_name", ["MLPClassifier", "MLPRegressor"])
@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_numpy_scalars_are_python_numbers(cls_name, solver):
    """np.float32 / np.int64 / np.bool_ hyperparameters train as their Python values do."""
    X, y = iris() if cls_name == "MLPClassifier" else diabetes()
    python = dict(alpha=0.5, batch_size=32, learning_rate_init=0.25, max_iter=4, tol=0.25,
                  momentum=0.5, beta_1=0.5, beta_2=0.75, epsilon=0.125, n_iter_no_change=3,
                  max_fun=100, random_state=2, shuffle=True, nesterovs_momentum=False,
                  validation_fraction=0.25, verbose=0)
    numpy = numpy_scalars(python)
    numpy["hidden_layer_sizes"] = python["hidden_layer_sizes"] = (5, 4)
    numpy["hidden_layer_sizes"] = (np.int64(5), np.int32(4))
    a = quietly(getattr(fastnn, cls_name)(solver=solver, **python).fit, X, y)
    b = quietly(getattr(fastnn, cls_name)(solver=solver, **numpy).fit, X, y)
    assert a.loss_curve_ == b.loss_curve_
    for x, z in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(x, z)
    theirs = quietly(getattr(sk, cls_name)(solver=solver, **numpy).fit, X, y)
    np.testing.assert_allclose(b.loss_curve_, theirs.loss_curve_, rtol=1e-6)


def test_numpy_power_t_rounds_the_learning_rate_as_scikit_learn():
    """invscaling's learning rate is scikit-learn's expression in its types: a float32 power_t
    makes it a float32 there, so here too."""
    X, y = iris()
    params = dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.5,
                  power_t=np.float32(0.3), max_iter=6, random_state=0)
    ours = quietly(MLPClassifier(**params).fit, X, y)
    theirs = quietly(sk.MLPClassifier(**params).fit, X, y)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-12)
    python = quietly(MLPClassifier(**{**params, "power_t": 0.3}).fit, X, y)
    assert python.loss_curve_[1:] != ours.loss_curve_[1:]


@pytest.mark.parametrize("params", [dict(solver="sgd", momentum=0.0),
                                    dict(solver="sgd", momentum=0.999, nesterovs_momentum=False),
                                    dict(solver="adam", epsilon=1e-310),
                                    dict(solver="adam", beta_1=0.0, beta_2=0.0),
                                    dict(solver="adam", alpha=True)])
def test_edge_values_scikit_learn_takes_train_as_there(params):
    """Values at the ends of scikit-learn's ranges, some beyond fastnn's own optimizers'."""
    X, y = iris()
    ours = quietly(MLPClassifier(max_iter=5, random_state=0, learning_rate_init=0.001,
                                 **params).fit, X, y)
    theirs = quietly(sk.MLPClassifier(max_iter=5, random_state=0, learning_rate_init=0.001,
                                      **params).fit, X, y)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)
    for a, b in zip(ours.coefs_, theirs.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)


# ------------------------------------------------------------------ 4. targets

RNG = np.random.default_rng(0)
X_T = RNG.standard_normal((30, 3))
B = np.arange(30) % 2
TARGETS = {
    "float_0_5": np.where(B, 5.0, 0.0),
    "float_minus1_1": np.where(B, 1.0, -1.0),
    "bool": B.astype(bool),
    "strings": np.where(B, "yes", "no"),
    "object_strings": np.where(B, "yes", "no").astype(object),
    "object_ints": B.astype(object),
    "mixed_types": np.array(["a" if i else 1 for i in B], dtype=object),
    "one_class": np.zeros(30),
    "negative_ints": B - 5,
    "large_ints": B * 10**15,
    "multiclass_ints": np.arange(30) % 3,
    "multiclass_floats": (np.arange(30) % 3) * 1.5,
    "multiclass_whole_floats": (np.arange(30) % 3) * 2.0,
    "continuous": RNG.standard_normal(30),
    "column": B.reshape(-1, 1),
    "multilabel": np.stack([B, 1 - B, B], 1),
    "multilabel_bool": np.stack([B, 1 - B], 1).astype(bool),
    "multilabel_0_5": np.stack([B * 5, 1 - B], 1),
    "multilabel_strings": np.stack([np.where(B, "a", "b")] * 2, 1),
    "multiclass_multioutput": np.stack([np.arange(30) % 3, B], 1),
    "nan": np.where(B, np.nan, 0.0),
    "inf": np.where(B, np.inf, 0.0),
    "complex": B + 0j,
    "short": B[:10],
    "3d": B.reshape(-1, 1, 1),
    "none": None,
    "list": list(B),
    "numeric_strings": np.where(B, "1", "0"),
    "uint8": B.astype(np.uint8),
    "float16": B.astype(np.float16),
    "object_with_none": np.array([None if i == 0 else 1 for i in range(30)], dtype=object),
    "no_columns": np.zeros((30, 0)),
    "scalar": 1,
}


def fit_target(module, cls_name, y):
    est = getattr(module, cls_name)(max_iter=3, random_state=0, hidden_layer_sizes=(4,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X_T, y)
    return est


@pytest.mark.parametrize("cls_name", ["MLPClassifier", "MLPRegressor"])
@pytest.mark.parametrize("target", TARGETS)
def test_targets_are_taken_or_refused_as_scikit_learn(cls_name, target):
    y = TARGETS[target]
    try:
        theirs = fit_target(sk, cls_name, y)
    except Exception:  # noqa: BLE001 - scikit-learn refuses: so must fastnn, before any state
        est = getattr(fastnn, cls_name)(max_iter=3, random_state=0, hidden_layer_sizes=(4,))
        with pytest.raises((ValueError, TypeError)) as error:
            est.fit(X_T, y)
        assert str(error.value)  # a message, not an empty error
        assert_unfitted(est, est.get_params())
        return
    ours = fit_target(fastnn, cls_name, y)
    assert ours.n_outputs_ == theirs.n_outputs_ and ours.out_activation_ == theirs.out_activation_
    if cls_name == "MLPClassifier":
        np.testing.assert_array_equal(ours.classes_, theirs.classes_)
        assert ours.classes_.dtype == theirs.classes_.dtype
        np.testing.assert_allclose(ours.predict_proba(X_T), theirs.predict_proba(X_T),
                                   rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(ours.predict(X_T), theirs.predict(X_T))
        assert ours.predict(X_T).dtype == theirs.predict(X_T).dtype
    else:
        np.testing.assert_allclose(ours.predict(X_T), theirs.predict(X_T), rtol=1e-9, atol=1e-12)


def test_binary_labels_that_are_not_0_and_1():
    y = np.where(B, 5.0, 0.0)
    clf = fit_target(fastnn, "MLPClassifier", y)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 1
    np.testing.assert_array_equal(clf.classes_, [0.0, 5.0])
    assert set(clf.predict(X_T)) <= {0.0, 5.0}
    # and partial_fit with those classes, and a class_weight keyed by them
    clf = MLPClassifier(random_state=0, class_weight={0.0: 1.0, 5.0: 3.0})
    clf.partial_fit(X_T, y, classes=[5.0, 0.0])
    np.testing.assert_array_equal(clf.classes_, [0.0, 5.0])
    assert np.isfinite(clf.loss_)
