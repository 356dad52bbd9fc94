"""partial_fit's fast checks (fastnn.sklearn_inputs): the same answers and errors as
scikit-learn's validate_data, unique_labels and setdiff1d, and a steady partial_fit that calls
none of the slow ones."""
import re
import warnings
from functools import partial

import numpy as np
import pandas as pd
import pytest
from sklearn import neural_network as sk
from sklearn.utils import multiclass
from sklearn.utils import validation as skv

import fastnn
from fastnn import MLPClassifier, MLPRegressor
from fastnn import sklearn as fsk
from fastnn import sklearn_inputs as inputs


def outcome(call):
    try:
        return ("ok", call())
    except Exception as error:  # noqa: BLE001 - compared with scikit-learn's
        return (type(error).__name__, str(error))


LABELS = [np.array([3, 1, 1, 2]), np.array([True, False]), np.array(["b", "a", "b"]),
          np.array([2.0, -1.0, 2.0]), np.array([0.5, 1.0]), np.array([1.0, np.inf]),
          np.array([1, "a"], dtype=object), np.array([[0, 1], [1, 0]]), [0, 1, 1], [1, "a"],
          [0.0, 2.5], (2, 1), np.array([np.uint8(7), np.uint8(3)]), np.array([-0.0, 0.0])]


@pytest.mark.parametrize("y", LABELS, ids=repr)
def test_labels_are_unique_labels(y):
    ours, theirs = outcome(lambda: inputs.labels(y)), outcome(lambda: multiclass.unique_labels(y))
    assert ours[0] == theirs[0]
    if ours[0] == "ok":
        np.testing.assert_array_equal(ours[1], theirs[1])
        assert ours[1].dtype.kind == theirs[1].dtype.kind
    else:
        assert ours[1] == theirs[1]


@pytest.mark.parametrize("labels, known", [
    ([0, 1], [0, 1, 2]), ([0, 3], [0, 1, 2]), ([-1], [0, 1]), ([5], [0, 1]), ([1.0], [0, 1]),
    ([0.5], [0, 1]), (["a", "c"], ["a", "b"]), (["a"], ["a", "b"]), ([0], ["a", "b"]),
    ([True], [0, 1]), ([2], [2])])
def test_all_known_is_an_empty_setdiff(labels, known):
    labels, known = np.array(labels), np.array(known)
    assert inputs.all_known(labels, known) == (
        len(np.setdiff1d(labels, known, assume_unique=True)) == 0)


def fitted(cls=MLPClassifier, X=None):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3)) if X is None else X
    y = np.arange(40) % 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if cls.__name__ == "MLPClassifier":
            return cls(hidden_layer_sizes=(4,), random_state=0).partial_fit(X, y,
                                                                           classes=[0, 1, 2])
        return cls(hidden_layer_sizes=(4,), random_state=0).partial_fit(X, y)


BAD_X = {"nan": lambda X: np.where(X > 1, np.nan, X), "inf": lambda X: X * np.inf,
         "features": lambda X: X[:, :2], "ints": lambda X: X.astype(int),
         "list": lambda X: X.tolist(), "one_d": lambda X: X[:, 0], "rows": lambda X: X[:0],
         "float16": lambda X: X.astype(np.float16), "complex": lambda X: X + 0j}
BAD_Y = {"nan": lambda y: np.where(y > 1, np.nan, y), "rows": lambda y: y[:-1],
         "three_d": lambda y: y.reshape(-1, 1, 1), "columns": lambda y: y.reshape(-1, 1)[:, :0],
         "objects": lambda y: y.astype(object), "column": lambda y: y.reshape(-1, 1)}


@pytest.mark.parametrize("bad_x", [None, *BAD_X])
@pytest.mark.parametrize("bad_y", [None, *BAD_Y])
def test_validate_data_answers_as_scikit_learns(bad_x, bad_y):
    est = fitted()
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((10, 3)), (np.arange(10) % 3).astype(float)
    X = X if bad_x is None else BAD_X[bad_x](X)
    y = y if bad_y is None else BAD_Y[bad_y](y)
    checks = dict(multi_output=True, dtype=(np.float64, np.float32))
    with warnings.catch_warnings(record=True) as ours_warned:
        warnings.simplefilter("always")
        ours = outcome(lambda: inputs.validate_data(est, X, y, reset=False, **checks))
    with warnings.catch_warnings(record=True) as theirs_warned:
        warnings.simplefilter("always")
        theirs = outcome(lambda: skv.validate_data(est, X, y, reset=False, **checks))
    assert ours[0] == theirs[0]
    assert [str(w.message) for w in ours_warned] == [str(w.message) for w in theirs_warned]
    if ours[0] == "ok":
        for a, b in zip(ours[1], theirs[1]):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
    else:
        assert ours[1] == theirs[1]


def test_feature_names_are_still_checked():
    X = pd.DataFrame(np.random.default_rng(0).standard_normal((40, 3)), columns=list("abc"))
    est = fitted(X=X)
    with pytest.warns(UserWarning, match="feature names"):
        est.partial_fit(X.to_numpy(), np.arange(40) % 3)


def forbid(monkeypatch, module, name):
    def refuse(*args, **kwargs):
        raise AssertionError(f"{name} was called")
    monkeypatch.setattr(module, name, refuse)


@pytest.mark.parametrize("cls_name, n_classes", [("MLPClassifier", 2), ("MLPClassifier", 3),
                                                 ("MLPRegressor", None)])
@pytest.mark.parametrize("classes_every_call", [False, True])
def test_a_steady_partial_fit_skips_the_slow_checks_and_trains_as_scikit_learn(
        monkeypatch, cls_name, n_classes, classes_every_call):
    """After the first call, partial_fit on ndarrays calls neither scikit-learn's
    validate_data, unique_labels, type_of_target nor LabelBinarizer.transform, nor seeds a
    RandomState (0.1-0.3 ms each), and trains as scikit-learn's."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4))
    y = rng.integers(0, n_classes, 60) if n_classes else X @ [1.0, -1, 0.5, 0]
    first = {"classes": np.arange(n_classes)} if n_classes else {}
    again = first if classes_every_call else {}
    params = dict(hidden_layer_sizes=(5,), random_state=2, learning_rate_init=0.01,
                  batch_size=3)  # several batches a call: the shuffle counts
    ours, theirs = getattr(fastnn, cls_name)(**params), getattr(sk, cls_name)(**params)
    for est in (ours, theirs):
        est.partial_fit(X[:10], y[:10], **first)
        for start in range(10, 60, 10):
            if est is ours:
                with monkeypatch.context() as patch:
                    for module, name in [(fsk, "validate_data"), (fsk, "unique_labels"),
                                         (fsk, "type_of_target"), (fsk, "check_random_state"),
                                         (inputs, "sklearn_validate_data"),
                                         (inputs, "unique_labels"),
                                         (fsk.LabelBinarizer, "transform")]:
                        forbid(patch, module, name)
                    est.partial_fit(X[start:start + 10], y[start:start + 10], **again)
            else:
                est.partial_fit(X[start:start + 10], y[start:start + 10], **again)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("random_state", [None, "instance", 5])
def test_partial_fit_shuffles_as_scikit_learn_with_any_random_state(random_state):
    X = np.random.default_rng(0).standard_normal((50, 3))
    y = np.arange(50) % 2
    models = []
    for module in (fastnn, sk):
        state = np.random.RandomState(9) if random_state == "instance" else random_state
        if random_state is None:
            np.random.seed(4)  # None is the global RandomState, in both
        est = module.MLPClassifier(hidden_layer_sizes=(3,), random_state=state, batch_size=4)
        for start in range(0, 50, 25):
            est.partial_fit(X[start:start + 25], y[start:start + 25], classes=[0, 1])
        models.append(est)
    for a, b in zip(models[0].coefs_, models[1].coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_a_steady_partial_fit_refuses_bad_blocks_as_scikit_learn(cls):
    est = fitted(cls)
    X = np.random.default_rng(3).standard_normal((10, 3))
    y = np.arange(10) % 3
    theirs = fitted(getattr(sk, cls.__name__))
    cases = [(np.where(X > 1, np.nan, X), y), (X[:, :2], y), (X, y[:-1]),
             (X, np.where(y > 1, np.inf, y))]
    if cls is MLPClassifier:
        cases += [(X, y + 1), (X, y + 0.5), (X, y.astype(str))]
    for Xb, yb in cases:
        ours_error = outcome(partial(est.partial_fit, Xb, yb))
        theirs_error = outcome(partial(theirs.partial_fit, Xb, yb))
        assert ours_error[0] == theirs_error[0] != "ok", (Xb.shape, yb)
        # scikit-learn's words, but for the class lists, which NumPy prints as it likes
        assert re.sub(r"\[.*?\]", "[]", ours_error[1]) == re.sub(r"\[.*?\]", "[]",
                                                                 theirs_error[1])


def test_reseeded_random_state_is_a_fresh_random_state():
    """Shuffles and draws as RandomState(seed) would, the first shuffle from the cache."""
    import pickle
    for ops in (["shuffle"], ["shuffle", "shuffle", "rand"], ["rand", "shuffle"]):
        ours, theirs = fsk._Reseeded(7), np.random.RandomState(7)
        for op in ops:
            if op == "shuffle":
                a, b = np.arange(20.0), np.arange(20.0)
                ours.shuffle(a)
                theirs.shuffle(b)
                np.testing.assert_array_equal(a, b)
            else:
                assert ours.rand() == theirs.rand()
        copy = pickle.loads(pickle.dumps(ours))
        assert copy.randint(1000) == theirs.randint(1000)
