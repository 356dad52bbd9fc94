"""The from-scratch examples reach their results, and fastnn matches scikit-learn's
MLPClassifier with the same settings (architecture, optimizer, learning rate, batch size,
epochs, no L2) on iris and digits, averaged over seeds."""
import io
import sys
import warnings
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest

import fastnn as fnn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
import batchnorm_digits as batchnorm_example  # noqa: E402
import digits as digits_example  # noqa: E402
import iris as iris_example  # noqa: E402
import schedule as schedule_example  # noqa: E402
import spiral as spiral_example  # noqa: E402
import xor as xor_example  # noqa: E402

SEEDS = [0, 1, 2]


def quiet(fn, **kwargs):
    with redirect_stdout(io.StringIO()):
        return fn(**kwargs)


def test_xor_outputs_fall_on_the_right_side_of_one_half():
    out, y = quiet(xor_example.main)
    assert np.all((out > 0.5) == (y > 0.5)), out
    assert np.all(np.abs(out - y) < 0.1)


def test_the_schedule_example_learns_digits():
    assert quiet(schedule_example.main) > 0.95


def test_spiral_is_learned_well_above_chance():
    assert quiet(spiral_example.main) > 0.6  # chance is 1/3


def sklearn_accuracy(data, hidden, lr, batch_size, epochs, seed):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    X_train, X_test, y_train, y_test = data
    clf = MLPClassifier(hidden_layer_sizes=hidden, activation="relu", solver="adam", alpha=0.0,
                        batch_size=batch_size, learning_rate_init=lr, max_iter=epochs, tol=0.0,
                        n_iter_no_change=epochs + 1, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # it runs all epochs, as fastnn does
        clf.fit(X_train, y_train)
    return clf.score(X_test, y_test)


@pytest.mark.parametrize("name,example,hidden,lr,batch_size,epochs,tolerance", [
    ("iris", iris_example, (32, 32), 0.005, 8, 150, 0.03),  # 38 test samples: 1 is 0.026
    ("digits", digits_example, (64,), 0.001, 32, 30, 0.01),  # 450 test samples
])
def test_test_accuracy_at_least_scikit_learns(name, example, hidden, lr, batch_size, epochs,
                                               tolerance):
    data = getattr(fnn.datasets, name)()
    ours = np.mean([quiet(example.main, seed=s) for s in SEEDS])
    theirs = np.mean([sklearn_accuracy(data, hidden, lr, batch_size, epochs, s) for s in SEEDS])
    assert ours >= theirs - tolerance, (ours, theirs)
    assert ours > (0.9 if name == "iris" else 0.95)


def test_the_batch_normalized_digits_network_learns_and_reloads():
    for seed in SEEDS:
        out = io.StringIO()
        with redirect_stdout(out):
            accuracy = batchnorm_example.main(seed=seed)
        assert accuracy > 0.95
        assert "the loaded copy agrees" in out.getvalue()
