"""Sparse input: the CSR kernels against their NumPy twins, Network and the estimators on
scipy.sparse X against the same data dense and against scikit-learn, and tampered matrices
refused (never a crash)."""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from isolated import run_isolated
from sklearn import neural_network as sk
from sklearn.exceptions import ConvergenceWarning

import fastnn
from fastnn import reference as R
from fastnn import sparse as S

DTYPES = [np.float32, np.float64]
INDEX_DTYPES = [np.int32, np.int64]


def awkward_csr(n=9, k=7, seed=0, dtype=np.float64, index_dtype=np.int32):
    """(indptr, indices, data) with empty rows (first, middle and last), unsorted indices and
    a column repeated within a row, as scipy holds them before sum_duplicates."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 5, n)
    counts[[0, n // 2, n - 1]] = 0
    indices = [rng.permutation(k)[:c] for c in counts]
    indices[1] = np.array([5, 2, 5, 0])  # unsorted, 5 twice
    counts[1] = 4
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(index_dtype)
    indices = np.concatenate(indices).astype(index_dtype)
    data = rng.standard_normal(len(indices)).astype(dtype)
    return indptr, indices, data, (n, k)


def scipy_of(indptr, indices, data, shape):
    return sp.csr_matrix((data, indices, indptr), shape=shape)


# ---------------------------------------------------------------- kernels

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
def test_forward_and_weight_gradient_equal_the_reference(dtype, index_dtype):
    indptr, indices, data, (n, k) = awkward_csr(dtype=dtype, index_dtype=index_dtype)
    rng = np.random.default_rng(1)
    m = 5
    W = rng.standard_normal((k, m)).astype(dtype)
    b = rng.standard_normal(m).astype(dtype)
    G = rng.standard_normal((n, m)).astype(dtype)
    outs = [np.full((n, m), np.nan, dtype) for _ in range(2)]
    for out, impl in zip(outs, (S, R)):
        impl.sparse_dense_forward(indptr, indices, data, W, b, out)
    np.testing.assert_array_equal(outs[0], outs[1])
    # duplicates add up, as in scipy's product
    dense = scipy_of(indptr, indices, data.astype(np.float64), (n, k)).toarray()
    np.testing.assert_allclose(outs[0], dense @ W + b, rtol=1e-5 if dtype == np.float32 else 1e-13)
    np.testing.assert_array_equal(outs[0][0], b)  # an empty row is the bias
    grads = [(np.full((k, m), np.nan, dtype), np.full(m, np.nan, dtype)) for _ in range(2)]
    for (dW, db), impl in zip(grads, (S, R)):
        impl.sparse_weight_gradient(indptr, indices, data, G, dW, db)
    np.testing.assert_array_equal(grads[0][0], grads[1][0])
    np.testing.assert_array_equal(grads[0][1], grads[1][1])
    np.testing.assert_allclose(grads[0][0], dense.T @ G,
                               rtol=1e-5 if dtype == np.float32 else 1e-13, atol=1e-6)
    without_b = np.empty((n, m), dtype)
    S.sparse_dense_forward(indptr, indices, data, W, None, without_b)
    np.testing.assert_array_equal(without_b, R.sparse_dense_forward(indptr, indices, data, W, None,
                                                                    np.empty((n, m), dtype)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
def test_gather_equals_the_reference_and_scipy(dtype, index_dtype):
    indptr, indices, data, shape = awkward_csr(dtype=np.float64, index_dtype=index_dtype)
    rows = np.array([3, 0, 1, 8, 1, 4])  # repeats and empty rows
    got = S.csr_gather(indptr, indices, data, rows, dtype)
    want = R.csr_gather(indptr, indices, data, rows, dtype)
    for a, b in zip(got, want):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert got[0].dtype == index_dtype and got[2].dtype == dtype
    theirs = scipy_of(indptr, indices, data, shape)[rows]
    np.testing.assert_array_equal(scipy_of(*got, (len(rows), shape[1])).toarray(),
                                  theirs.toarray().astype(dtype))
    empty = S.csr_gather(indptr, indices, data, np.array([], np.intp), dtype)
    assert empty[0].tolist() == [0] and len(empty[1]) == len(empty[2]) == 0


def test_kernels_refuse_bad_structure():
    indptr, indices, data, (n, k) = awkward_csr()
    W, out = np.ones((k, 3)), np.empty((n, 3))

    def forward(p=indptr, q=indices, v=data, W=W, out=out):
        return S.sparse_dense_forward(p, q, v, W, None, out)

    bad_end = indptr.copy()
    bad_end[-1] += 1
    falling = indptr.copy()
    falling[2], falling[3] = falling[3], falling[2] - 1
    for p, message in [(indptr + 1, "indptr\\[0\\] must be 0"), (bad_end, "indptr\\[-1\\]"),
                       (falling, "must not decrease")]:
        with pytest.raises(ValueError, match=message):
            forward(p=p)
    for column in (-1, k):
        q = indices.copy()
        q[3] = column
        with pytest.raises(ValueError, match="not a column"):
            forward(q=q)
    with pytest.raises(TypeError, match="indices must have the dtype of indptr"):
        forward(q=indices.astype(np.int64))
    with pytest.raises(TypeError, match="int32 or int64"):
        forward(p=indptr.astype(np.float64))
    with pytest.raises(TypeError, match="W must have dtype float64"):
        forward(W=W.astype(np.float32))
    with pytest.raises(ValueError, match="out.shape\\[0\\]"):
        forward(out=np.empty((n + 1, 3)))
    with pytest.raises(ValueError, match="len\\(indices\\)"):
        forward(q=indices[:-1])
    with pytest.raises(ValueError, match="dW must not share memory with G"):
        G = np.zeros((max(n, k), 3))
        S.sparse_weight_gradient(indptr, indices, data, G[:n], G[:k])
    shared = np.zeros(max(n, len(indices)), np.int64)
    shared[:len(indices)] = indices
    with pytest.raises(ValueError, match="out must not share memory with indices"):
        # out written over the column indices the loop still reads: refused
        S.sparse_dense_forward(indptr.astype(np.int64), shared[:len(indices)], data,
                               np.ones((k, 1)), None, shared[:n].view(np.float64)[:, None])
    with pytest.raises(ValueError, match="rows\\[1\\] = 9 is not a row"):
        S.csr_gather(indptr, indices, data, np.array([0, n]), np.float64)
    with pytest.raises(ValueError, match="rows\\[0\\] = -1"):
        S.csr_gather(indptr, indices, data, np.array([-1]), np.float64)
    beyond = indptr.copy()
    beyond[5] = len(data) + 1
    for p in (beyond, falling):
        with pytest.raises(ValueError, match="is not a range of the"):
            S.csr_gather(p, indices, data, np.arange(n), np.float64)
    S.csr_gather(beyond, indices, data, np.array([0, 1, 7]), np.float64)  # rows it reads: fine


# ---------------------------------------------------------------- Network

def text_like(n=120, k=40, density=0.1, seed=0, classes=3):
    rng = np.random.default_rng(seed)
    X = sp.random(n, k, density=density, format="csr", random_state=seed,
                  data_rvs=lambda size: rng.uniform(0.1, 1.0, size))
    scores = X @ rng.standard_normal((k, classes))
    return X, np.argmax(scores, axis=1)


def mlp(dtype="float64", engine=False, k=40, classes=3, **kwargs):
    return fastnn.Network([fastnn.Dense(k, 16), fastnn.ReLU(), fastnn.Dense(16, classes),
                           fastnn.Softmax()], loss="categorical_crossentropy", dtype=dtype,
                          random_state=0, engine=engine, **kwargs)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "csr_array"])
def test_network_on_sparse_x_equals_the_dense_layer_path(fmt):
    X, y = text_like()
    Xs = sp.csr_array(X) if fmt == "csr_array" else X.asformat(fmt)
    dense, sparse = mlp(engine=False), mlp(engine=True)  # sparse X takes the layer path anyway
    histories = [net.fit(data, y, epochs=3, batch_size=16, verbose=0, validation_split=0.2)
                 for net, data in ((dense, X.toarray()), (sparse, Xs))]
    for key in ("loss", "val_loss", "accuracy"):
        np.testing.assert_allclose(histories[1].history[key], histories[0].history[key],
                                   rtol=1e-12)
    for a, b in zip(sparse.parameters(), dense.parameters()):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(sparse.predict(Xs), dense.predict(X.toarray()), rtol=1e-12,
                               atol=1e-15)
    np.testing.assert_allclose(sparse.predict(Xs, batch_size=7), dense.predict(X.toarray()),
                               rtol=1e-12, atol=1e-15)
    ours, theirs = sparse.evaluate(Xs, y), dense.evaluate(X.toarray(), y)
    assert ours["loss"] == pytest.approx(theirs["loss"], rel=1e-12)
    assert ours["accuracy"] == theirs["accuracy"]
    head = sp.csr_array(X[:10]) if fmt == "csr_array" else X[:10].asformat(fmt)
    step = [net.train_step(data, y[:10]) for net, data in ((dense, X[:10].toarray()),
                                                           (sparse, head))]
    assert step[1] == pytest.approx(step[0], rel=1e-12)


def test_float32_network_and_the_first_layer_needs_no_input_gradient():
    X, y = text_like()
    net = mlp(dtype="float32")
    net.fit(X, y, epochs=2, batch_size=32, verbose=0)
    first = net.layers[0]
    assert first.W.dtype == np.float32 and "_dx" not in vars(first)
    assert isinstance(first._x, S.CSR)  # it multiplied the CSR rows, nothing densified
    ref = mlp(dtype="float32")
    ref.fit(X.toarray(), y, epochs=2, batch_size=32, verbose=0)
    np.testing.assert_allclose(net.layers[0].W, ref.layers[0].W, rtol=1e-4, atol=1e-6)


def test_sparse_x_is_checked():
    X, y = text_like()
    net = mlp()
    with pytest.raises(ValueError, match="X has 39 features"):
        net.predict(X[:, :39])
    bad = X.copy()
    bad.data[0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        net.fit(bad, y, verbose=0)
    with pytest.raises(ValueError, match="no samples"):
        net.predict(X[:0])
    with pytest.raises(TypeError, match="real numbers"):
        net.predict(X.astype(np.complex128))
    first_dropout = fastnn.Network([fastnn.Dropout(0.1), fastnn.Dense(40, 3)], random_state=0)
    with pytest.raises(ValueError, match="first layer is Dense"):
        first_dropout.predict(X)


def test_check_sparse_x_converts_at_most_once():
    from fastnn.validation import check_sparse_x
    X, _ = text_like()
    net64, net32 = mlp("float64"), mlp("float32")
    same = check_sparse_x(net64, X)
    assert same.data is X.data  # the values in the network's dtype are kept, the indices copied
    assert check_sparse_x(net64, same) is same  # checked already
    converted = check_sparse_x(net32, X)
    assert converted.data.dtype == np.float32
    from_csc = check_sparse_x(net64, X.tocsc())
    np.testing.assert_array_equal(from_csc.toarray(), X.toarray())
    wide = X.copy()
    wide.indices = X.indices.astype(np.int64)  # scipy's constructor would make them agree
    mixed = check_sparse_x(net64, wide)  # int32 indptr, int64 indices: both int64
    assert mixed.indptr.dtype == mixed.indices.dtype == np.int64
    np.testing.assert_array_equal(mixed.toarray(), X.toarray())


def test_explicit_sparse_validation_data_and_sample_weight():
    X, y = text_like()
    w = np.linspace(0.5, 2.0, len(y))
    runs = []
    for data in (X, X.toarray()):
        net = mlp()
        history = net.fit(data[:90], y[:90], epochs=2, batch_size=20, verbose=0,
                          sample_weight=w[:90], validation_data=(data[90:], y[90:]))
        runs.append((history.history, net.parameters()))
    np.testing.assert_allclose(runs[0][0]["val_loss"], runs[1][0]["val_loss"], rtol=1e-12)
    np.testing.assert_allclose(runs[0][0]["loss"], runs[1][0]["loss"], rtol=1e-12)
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


TAMPERED = """
import numpy as np, scipy.sparse as sp, fastnn
net = fastnn.Network([fastnn.Dense(6, 4), fastnn.ReLU(), fastnn.Dense(4, 2)], random_state=0,
                     dtype="float64")
y = np.zeros(4, int)

def good():
    return sp.csr_matrix(np.arange(24.0).reshape(4, 6) % 5)

cases = []
X = good(); X.indices[2] = 10**6; cases.append(X)
X = good(); X.indices[0] = -5; cases.append(X)
X = good(); X.indptr[2] = 10**6; cases.append(X)
X = good(); X.indptr[1], X.indptr[2] = X.indptr[2], X.indptr[1]; cases.append(X)
X = good(); X.indptr[-1] = 10**6; cases.append(X)
X = good().tocsc(); X.indices[1] = 10**6; cases.append(X)
X = good().tocsc(); X.indptr[1] = -3; cases.append(X)
X = good().tocoo(); X.row[0] = 10**6; cases.append(X)
X = good().tocoo(); X.col[0] = -1; cases.append(X)
X = good().tocoo(); X.row[0] = -10**9; cases.append(X)
X = good().tobsr(blocksize=(2, 2)); X.indptr[-1] = 10**6; cases.append(X)
X = good().tobsr(blocksize=(2, 2)); X.indices[0] = 10**6; cases.append(X)
X = good().tobsr(blocksize=(2, 2)); X.data = X.data[:1]; cases.append(X)
X = good().tocoo(); X.data = X.data[:2]; cases.append(X)
regressor = fastnn.MLPRegressor(hidden_layer_sizes=(4,), max_iter=2).fit(good(), np.arange(4.0))
for i, X in enumerate(cases):
    # the estimators check X before scikit-learn's checks let scipy convert it
    for call in (lambda: net.predict(X), lambda: net.fit(X, y, verbose=0),
                 lambda: net.train_step(X, y), lambda: regressor.predict(X),
                 lambda: regressor.partial_fit(X, np.arange(4.0)),
                 lambda: fastnn.MLPRegressor(max_iter=2).fit(X, np.arange(4.0))):
        try:
            call()
        except ValueError:
            pass
        else:
            raise SystemExit(f"case {i}: no ValueError")
print("refused", len(cases))
"""


def test_tampered_matrices_raise_value_error_and_never_crash():
    assert run_isolated(TAMPERED).strip() == "refused 14"


def test_index_arrays_that_are_not_integers_are_refused():
    X = sp.csr_matrix(np.eye(3)[[0, 1, 2, 1]])
    X.indices = X.indices.astype(np.float64) + 0.7  # scipy would truncate them to integers
    with pytest.raises(TypeError, match="X.indices must be an array of integers"):
        mlp(k=3).predict(X)
    with pytest.raises(TypeError, match="X.indices must be an array of integers"):
        fastnn.MLPRegressor(max_iter=1).fit(X, np.arange(4.0))


def test_the_checked_rows_own_their_index_arrays():
    # another reference to the caller's matrix cannot change what a kernel reads
    X = sp.random(20, 6, density=0.4, format="csr", random_state=0, dtype=np.float32)
    checked = fastnn.validation.check_sparse_x(mlp("float32", k=6), X)
    for ours, theirs in ((checked.indptr, X.indptr), (checked.indices, X.indices)):
        assert not np.shares_memory(ours, theirs)
        np.testing.assert_array_equal(ours, theirs)


def test_forward_takes_sparse_x_and_a_sparse_y_is_named():
    net, X = mlp(k=6, classes=2), sp.random(20, 6, density=0.4, format="csc", random_state=1)
    np.testing.assert_array_equal(net.forward(X), net.forward(X.toarray().astype(net.dtype)))
    with pytest.raises(TypeError, match="y must be a dense array, got a sparse"):
        net.fit(X, sp.csr_matrix(np.eye(2)[np.arange(20) % 2]), verbose=0)


# ---------------------------------------------------------------- estimators

def fit_both(cls_name, X, y, fit=lambda est, X, y: est.fit(X, y), **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return (fit(getattr(fastnn, cls_name)(**params), X, y),
                fit(getattr(sk, cls_name)(**params), X, y))


def assert_same(ours, theirs, X, y):
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.loss_, theirs.loss_, rtol=1e-10)
    if hasattr(theirs, "loss_curve_"):  # not for lbfgs
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)
    if hasattr(theirs, "predict_proba"):
        np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-10)
    np.testing.assert_array_equal(np.round(ours.predict(X), 6), np.round(theirs.predict(X), 6))
    assert ours.score(X, y) == pytest.approx(theirs.score(X, y), rel=1e-9)


ESTIMATOR_SETTINGS = {
    "adam": dict(solver="adam", learning_rate_init=0.01),
    "sgd": dict(solver="sgd", learning_rate_init=0.1),
    "early_stopping": dict(early_stopping=True, validation_fraction=0.2, n_iter_no_change=3,
                           tol=0.0, learning_rate_init=0.05),
    "lbfgs": dict(solver="lbfgs", max_iter=15),
}


@pytest.mark.parametrize("setting", ESTIMATOR_SETTINGS)
@pytest.mark.parametrize("fmt", ["csr", "csc", "csr_array"])
def test_classifier_equals_scikit_learn_on_sparse_x(setting, fmt):
    X, y = text_like(n=150)
    X = sp.csr_array(X) if fmt == "csr_array" else X.asformat(fmt)
    params = dict(hidden_layer_sizes=(10,), max_iter=12, random_state=3, alpha=1e-3,
                  batch_size=32)
    ours, theirs = fit_both("MLPClassifier", X, y, **{**params, **ESTIMATOR_SETTINGS[setting]})
    assert_same(ours, theirs, X, y)
    if setting == "early_stopping":
        np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_,
                                   rtol=1e-12)
    np.testing.assert_allclose(ours.predict_proba(X), ours.predict_proba(X.toarray()),
                               rtol=1e-12, atol=1e-15)


def test_regressor_and_partial_fit_equal_scikit_learn_on_sparse_x():
    X, labels = text_like(n=100)
    y = labels + X @ np.linspace(-1, 1, X.shape[1])
    params = dict(hidden_layer_sizes=(8,), max_iter=10, random_state=0, learning_rate_init=0.01)
    assert_same(*fit_both("MLPRegressor", X, y, **params), X, y)
    weights = np.linspace(0.2, 3.0, len(y))
    weighted = fit_both("MLPRegressor", X, y,
                        fit=lambda e, X, y: e.fit(X, y, sample_weight=weights), **params)
    assert_same(*weighted, X, y)

    def partial(est, X, y):
        for start in range(0, 100, 25):
            est.partial_fit(X[start:start + 25], y[start:start + 25])
        return est

    ours, theirs = fit_both("MLPRegressor", X.tocsc(), y, fit=partial, **params)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-9, atol=1e-11)
    clf, clf_sk = fit_both("MLPClassifier", X, labels, fit=lambda e, X, y: e.partial_fit(
        X, y, classes=[0, 1, 2]), **params)
    np.testing.assert_allclose(clf.predict_proba(X), clf_sk.predict_proba(X), atol=1e-10)


def test_float32_sparse_x_trains_in_float32():
    X, y = text_like()
    clf = fastnn.MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X.astype(np.float32), y)
    assert clf.coefs_[0].dtype == np.float32
    assert clf.predict(X).shape == (len(y),)


def test_nothing_densifies_a_wide_sparse_x():
    """fit, predict and evaluate on 2,000 x 200,000 rows (1.6 GB dense in float32) allocate a
    few MB: the weights, their Adam state and batch-sized buffers."""
    import tracemalloc

    import sklearn.model_selection  # noqa: F401  (validation_split's import, outside the trace)
    rng = np.random.default_rng(0)
    per_row = 20
    X = sp.csr_matrix((rng.uniform(0.1, 1, 2000 * per_row).astype(np.float32),
                       rng.integers(0, 200_000, 2000 * per_row),
                       np.arange(0, 2000 * per_row + 1, per_row)), shape=(2000, 200_000))
    y = rng.integers(0, 2, 2000)
    net = fastnn.Network([fastnn.Dense(200_000, 2)], dtype="float32", random_state=0)
    tracemalloc.start()
    try:
        net.fit(X, y, epochs=1, batch_size=100, verbose=0, validation_split=0.1)
        net.predict(X)
        net.evaluate(X, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 30e6, peak  # W, dW and Adam's two moments: 6.4 MB; a checkpoint copies them
