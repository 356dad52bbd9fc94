"""fastnn under Dask: dask-ml's Incremental and ParallelPostFit, scikit-learn's GridSearchCV on
joblib's dask backend, and a Network trained in a worker, all through a real LocalCluster of two
worker processes on 127.0.0.1. Each gives the numbers of the same calls run locally.

Needs the dask extra (pip install ".[dask]"): deselected by default, run with `pytest -m dask`.
Without the packages the tests skip; .ci/run installs them and passes --fail-on-skip, so a skip
fails there."""
import contextlib
import faulthandler
import os
import pickle
import sys
import threading
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_validate

import fastnn

pytestmark = pytest.mark.dask

# A hung cluster must fail the run, never block it: past this, the stacks are printed and the
# process exits with status 1 (as pytest-timeout's thread method does).
TEST_TIMEOUT = 120
# Bounded waits on the cluster, in seconds.
WAIT = 60


@contextlib.contextmanager
def deadline(config, seconds=TEST_TIMEOUT):
    def abort():
        config.pluginmanager.getplugin("capturemanager").suspend_global_capture(in_=True)
        print(f"\n{seconds} s passed: the cluster hangs. The stacks:", file=sys.stderr,
              flush=True)
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        os._exit(1)
    timer = threading.Timer(seconds, abort)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


@pytest.fixture(autouse=True)
def watchdog(request):
    with deadline(request.config):
        yield


@pytest.fixture(scope="module")
def client(request):
    pytest.importorskip("dask", reason='needs the dask extra: pip install ".[dask]"')
    pytest.importorskip("dask_ml", reason='needs the dask extra: pip install ".[dask]"')
    distributed = pytest.importorskip("distributed",
                                      reason='needs the dask extra: pip install ".[dask]"')
    # Starting the workers sets OMP_NUM_THREADS=1 and the like here too: put them back after.
    environ = dict(os.environ)
    with deadline(request.config):
        cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                           host="127.0.0.1", dashboard_address=None,
                                           timeout=WAIT)
        client = distributed.Client(cluster, timeout=WAIT)
        client.wait_for_workers(2, timeout=WAIT)
    yield client
    with deadline(request.config):
        client.close(timeout=WAIT)
        cluster.close(timeout=WAIT)
    os.environ.clear()
    os.environ.update(environ)


def data(n=240, n_features=6, seed=0):
    return make_classification(n_samples=n, n_features=n_features, n_informative=4,
                               n_classes=3, random_state=seed)


def classifier(**params):
    return fastnn.MLPClassifier(hidden_layer_sizes=(8,), learning_rate_init=0.01, batch_size=20,
                                random_state=0, **params)


def assert_same_weights(got, want):
    for a, b in zip(got.coefs_ + got.intercepts_, want.coefs_ + want.intercepts_):
        np.testing.assert_array_equal(a, b)


def test_workers_are_separate_processes_on_loopback(client):
    info = client.scheduler_info()
    assert len(info["workers"]) == 2
    assert all(address.startswith("tcp://127.0.0.1:") for address in info["workers"])
    pids = client.run(os.getpid)
    assert len(set(pids.values())) == 2


def test_incremental_equals_partial_fit_block_by_block(client):
    import dask.array as da
    from dask_ml.wrappers import Incremental
    X, y = data()
    blocks = 60
    # Each block's partial_fit runs on a worker: the estimator goes there and back pickled.
    inc = Incremental(classifier(), shuffle_blocks=False)
    inc.fit(da.from_array(X, chunks=(blocks, X.shape[1])), da.from_array(y, chunks=blocks),
            classes=[0, 1, 2])
    local = classifier()
    for start in range(0, len(X), blocks):
        local.partial_fit(X[start:start + blocks], y[start:start + blocks], classes=[0, 1, 2])
    assert inc.estimator_.t_ == local.t_ == len(X)
    assert inc.estimator_.loss_curve_ == local.loss_curve_
    assert len(local.loss_curve_) == len(X) // blocks
    assert_same_weights(inc.estimator_, local)
    # ...and the two continue alike: the optimizer's state came back with the weights.
    inc.estimator_.partial_fit(X[:blocks], y[:blocks])
    local.partial_fit(X[:blocks], y[:blocks])
    assert_same_weights(inc.estimator_, local)


def test_parallel_post_fit_predicts_as_locally(client):
    import dask.array as da
    from dask_ml.wrappers import ParallelPostFit
    X, y = data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = ParallelPostFit(classifier(max_iter=20)).fit(X, y)
    Xd = da.from_array(X, chunks=(50, X.shape[1]))
    labels = client.compute(model.predict(Xd)).result(timeout=WAIT)
    proba = client.compute(model.predict_proba(Xd)).result(timeout=WAIT)
    np.testing.assert_array_equal(labels, model.estimator.predict(X))
    np.testing.assert_array_equal(proba, model.estimator.predict_proba(X))
    assert proba.shape == (len(X), 3)


def test_grid_search_on_the_dask_backend_equals_the_default_backend(client):
    import joblib
    X, y = data()
    grid = {"alpha": [1e-4, 1e-1], "hidden_layer_sizes": [(4,), (8,)]}
    # Accuracy would hide small differences; the log-loss shows any change in the weights.
    SCORING = "neg_log_loss"

    def search():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return GridSearchCV(classifier(max_iter=15), grid, cv=3, scoring=SCORING).fit(X, y)

    local = search()
    with joblib.parallel_backend("dask"):
        remote = search()
    assert remote.best_params_ == local.best_params_
    for key in ["mean_test_score", "std_test_score", "rank_test_score"] + [
            f"split{i}_test_score" for i in range(3)]:
        np.testing.assert_array_equal(remote.cv_results_[key], local.cv_results_[key])
    assert_same_weights(remote.best_estimator_, local.best_estimator_)


def test_convergence_warnings_in_workers_do_not_reach_the_caller(client):
    """What a user sees: the warning stays in the workers (on their stderr), and the fitted
    estimators say it: n_iter_ reached max_iter, loss_curve_ still falling."""
    import joblib
    X, y = data()

    def cross_validation():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = cross_validate(classifier(max_iter=5), X, y, cv=2, return_estimator=True)
        return result, [w for w in caught if issubclass(w.category, ConvergenceWarning)]

    _, caught = cross_validation()
    assert len(caught) == 2                 # run here, each fold warns
    with joblib.parallel_backend("dask"):
        result, caught = cross_validation()
    assert caught == []                     # run on the cluster, nothing comes back
    for estimator in result["estimator"]:
        assert estimator.n_iter_ == estimator.max_iter == 5
        assert len(estimator.loss_curve_) == 5
        assert estimator.loss_curve_[-1] < estimator.loss_curve_[-2]


def test_warnings_made_errors_in_the_caller_raise_from_workers(client):
    # scikit-learn hands the caller's warning filters to its joblib workers.
    import joblib
    X, y = data()
    with joblib.parallel_backend("dask"), warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        with pytest.raises(ConvergenceWarning, match="Maximum iterations"):
            cross_validate(classifier(max_iter=5), X, y, cv=2, error_score="raise")


def train_and_predict(net, X, y):
    net.fit(X, y, epochs=5, batch_size=16, verbose=0)
    return net, net.predict(X)


def test_network_trains_in_a_worker_as_locally(client):
    X, y = data()
    X = X.astype(np.float32)

    def network():
        return fastnn.Network([fastnn.Dense(6, 16), fastnn.ReLU(), fastnn.Dense(16, 3)],
                              loss="softmax_cross_entropy", optimizer=fastnn.Adam(lr=0.01),
                              random_state=0)

    # A Network pickles without its compiled plans; the worker builds its own.
    remote_net, remote_proba = client.submit(train_and_predict, network(), X, y).result(
        timeout=WAIT)
    local_net, local_proba = train_and_predict(network(), X, y)
    np.testing.assert_array_equal(remote_proba, local_proba)
    for got, want in zip(remote_net.get_weights(), local_net.get_weights()):
        np.testing.assert_array_equal(got, want)
    # The trained network came back whole: it continues training as the local one does.
    np.testing.assert_array_equal(train_and_predict(remote_net, X, y)[1],
                                  train_and_predict(local_net, X, y)[1])
    assert pickle.loads(pickle.dumps(local_net)).predict(X).tobytes() == \
        local_net.predict(X).tobytes()
