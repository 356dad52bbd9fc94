"""Every compiled kernel against its NumPy twin in fastnn.reference, at float32 and float64."""
import numpy as np
import pytest
from conftest import assert_close
from hypothesis import given, settings
from hypothesis import strategies as st

from fastnn import kernels as K
from fastnn import reference as R
from fastnn import registry

SHAPES = [(1, 1, 1), (1, 5, 3), (6, 1, 1), (7, 13, 5), (32, 64, 10), (1024, 33, 17)]
ELEMENTWISE = [a.name for a in registry.ACTIVATIONS if not a.rowwise]
FLOATS = [np.float32, np.float64]
dims = st.integers(1, 40)
seeds = st.integers(0, 2**32 - 1)
examples = settings(max_examples=40, deadline=None)


def randn(rng, shape, dtype, scale=1.0):
    return np.asarray(scale * rng.standard_normal(shape), dtype=dtype)


def run_both(name, make_args, dtype, **kwargs):
    """Call kernel `name` and its reference on identical fresh arguments; return both arg lists
    (outputs are written in place) and both return values."""
    args_k, args_r = make_args(), make_args()
    got = getattr(K, name)(*args_k, **kwargs)
    want = getattr(R, name)(*args_r, **kwargs)
    return args_k, args_r, got, want


def check_activation(kind, n, m, dtype, seed, in_place=False):
    rng = np.random.default_rng(seed)
    x = randn(rng, (n, m), dtype, 3)
    extra = (0.1,) if registry.activation(kind).hyper else ()
    out_k = x.copy() if in_place else np.empty_like(x)
    getattr(K, kind + "_forward")(out_k if in_place else x, out_k, *extra)
    out_r = getattr(R, kind + "_forward")(x, np.empty_like(x), *extra)
    assert_close(out_k, out_r, dtype)
    dy = randn(rng, (n, m), dtype)
    dx_k = dy.copy() if in_place else np.empty_like(x)
    saved = x if registry.activation(kind).from_input else out_r  # what the backward reads
    getattr(K, kind + "_backward")(saved, dx_k if in_place else dy, dx_k, *extra)
    dx_r = getattr(R, kind + "_backward")(saved, dy, np.empty_like(x), *extra)
    assert_close(dx_k, dx_r, dtype)


@pytest.mark.parametrize("kind", ELEMENTWISE + ["softmax"])
@pytest.mark.parametrize("n,k,m", SHAPES)
def test_activation_shapes(kind, n, k, m, dtype):
    check_activation(kind, n, m, dtype, seed=n * 1000 + m)


@pytest.mark.parametrize("kind", ELEMENTWISE + ["softmax"])
def test_activation_in_place(kind, dtype):
    check_activation(kind, 9, 11, dtype, seed=3, in_place=True)


@pytest.mark.parametrize("kind", ELEMENTWISE + ["softmax"])
@pytest.mark.parametrize("dtype_", FLOATS)
@examples
@given(n=dims, m=dims, seed=seeds)
def test_activation_random(kind, dtype_, n, m, seed):
    check_activation(kind, n, m, dtype_, seed)


@pytest.mark.parametrize("kind", ELEMENTWISE)
def test_elementwise_activation_any_ndim(kind, dtype):
    rng = np.random.default_rng(0)
    for shape in [(), (5,), (2, 3, 4)]:
        x = randn(rng, shape, dtype)
        got = getattr(K, kind + "_forward")(x, np.empty_like(x))
        assert_close(got, getattr(R, kind + "_forward")(x, np.empty_like(x)), dtype)


def check_dense(n, k, m, dtype, seed, activation, bias=True, accumulate=False, want_dX=True):
    rng = np.random.default_rng(seed)
    X, W = randn(rng, (n, k), dtype), randn(rng, (k, m), dtype)
    b = randn(rng, m, dtype) if bias else None
    out_k = K.dense_forward(X, W, b, np.empty((n, m), dtype), activation, 0.2)
    out_r = R.dense_forward(X, W, b, np.empty((n, m), dtype), activation, 0.2)
    assert_close(out_k, out_r, dtype)

    dY = randn(rng, (n, m), dtype)
    start_dW, start_db = randn(rng, (k, m), dtype), randn(rng, m, dtype)
    grads = []
    for impl in (K, R):
        dW, db = start_dW.copy(), start_db.copy() if bias else None
        dX = np.empty((n, k), dtype) if want_dX else None
        impl.dense_backward(X, W, dY, dW, db, dX, accumulate=accumulate)
        grads.append((dW, db, dX))
    (dW_k, db_k, dX_k), (dW_r, db_r, dX_r) = grads
    assert_close(dW_k, dW_r, dtype)
    if bias:
        assert_close(db_k, db_r, dtype)
    if want_dX:
        assert_close(dX_k, dX_r, dtype)


@pytest.mark.parametrize("activation", R.ACTIVATIONS)
@pytest.mark.parametrize("n,k,m", SHAPES)
def test_dense_shapes(activation, n, k, m, dtype):
    check_dense(n, k, m, dtype, seed=n + k + m, activation=activation)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("accumulate", [True, False])
@pytest.mark.parametrize("want_dX", [True, False])
@pytest.mark.parametrize("n,k,m", [(17, 9, 4), (5, 3, 70)])  # db: a tail only; blocks and tail
def test_dense_options(bias, accumulate, want_dX, n, k, m, dtype):
    check_dense(n, k, m, dtype, 5, "relu", bias, accumulate, want_dX)


def test_dense_large_shape():
    check_dense(256, 512, 512, np.float32, 11, "relu")


@pytest.mark.parametrize("dtype_", FLOATS)
@examples
@given(n=dims, k=dims, m=dims, seed=seeds, activation=st.sampled_from(R.ACTIVATIONS),
       bias=st.booleans(), accumulate=st.booleans())
def test_dense_random(dtype_, n, k, m, seed, activation, bias, accumulate):
    check_dense(n, k, m, dtype_, seed, activation, bias, accumulate)


def test_dense_input_gradient_over_every_small_weight_shape(dtype):
    """dX = dY W^T goes through a blocked transpose of W (8x8 float32, 4x4 float64 blocks plus
    the edge rows and columns); every W shape up to 20x20 hits each mix of blocks and edges.
    Small integers keep every product exact, so dX must equal NumPy's bit for bit."""
    rng = np.random.default_rng(7)
    for k in range(1, 21):
        for m in range(1, 21):
            X = rng.integers(-3, 4, (5, k)).astype(dtype)
            W = rng.integers(-3, 4, (k, m)).astype(dtype)
            dY = rng.integers(-3, 4, (5, m)).astype(dtype)
            dX = np.empty((5, k), dtype)
            K.dense_backward(X, W, dY, np.empty((k, m), dtype), None, dX)
            np.testing.assert_array_equal(dX, dY @ W.T, err_msg=f"W shape {(k, m)}")


@pytest.mark.parametrize("activation", ["identity", "relu", "tanh"])
@pytest.mark.parametrize("accumulate", [False, True])
def test_dense_with_a_skinny_weight_matrix(dtype, activation, accumulate):
    """W with at most 4 rows or 4 columns takes fastnn's own loops (_skinny.pxd): forward with
    the bias and ReLU fused, dW and db in one pass, in column blocks of 32 or 64 plus a tail.
    Small integers keep every product and sum exact, so every output must equal NumPy's bit for
    bit, whatever the order: this checks which numbers each loop adds up."""
    rng = np.random.default_rng(11)
    for k, m in [(1, 1), (2, 64), (3, 70), (4, 33), (1, 130), (64, 3), (70, 1), (33, 4), (4, 4),
                 (129, 2)]:
        for n in (1, 7, 300):
            ints = lambda *shape: rng.integers(-3, 4, shape).astype(dtype)  # noqa: E731
            X, W, b, dY = ints(n, k), ints(k, m), ints(m), ints(n, m)
            out = np.empty((n, m), dtype)
            K.dense_forward(X, W, b, out, activation=activation)
            z = X @ W + b
            expected = {"identity": z, "relu": np.maximum(z, 0), "tanh": np.tanh(z)}[activation]
            if activation == "tanh":
                assert_close(out, expected, dtype)
            else:
                np.testing.assert_array_equal(out, expected, err_msg=f"forward {(n, k, m)}")
            dW, db, dX = ints(k, m), ints(m), np.empty((n, k), dtype)
            dW0, db0 = dW.copy(), db.copy()
            K.dense_backward(X, W, dY, dW, db, dX, accumulate=accumulate)
            keep = 1 if accumulate else 0
            np.testing.assert_array_equal(dW, keep * dW0 + X.T @ dY, err_msg=f"dW {(n, k, m)}")
            np.testing.assert_array_equal(db, keep * db0 + dY.sum(axis=0),
                                          err_msg=f"db {(n, k, m)}")
            np.testing.assert_array_equal(dX, dY @ W.T, err_msg=f"dX {(n, k, m)}")


@pytest.mark.parametrize("n,k,m", [(200, 64, 100), (200, 100, 100), (100, 64, 200), (200, 64, 128),
                                   (32, 784, 64), (128, 784, 10), (130, 99, 101)])
@pytest.mark.parametrize("accumulate", [False, True])
def test_dense_products_past_the_small_matrix_line(dtype, n, k, m, accumulate):
    """Products of 10^6 to 2^22 multiply-adds, which the AVX-512 build computes as blocks of rows
    (_blas.pxd), ragged last block included (130 rows). Small integers keep every product and
    sum exact, so each output row must equal NumPy's bit for bit: a block written to the wrong
    rows, or a row left out, shows."""
    rng = np.random.default_rng(n + k + m)
    ints = lambda *shape: rng.integers(-3, 4, shape).astype(dtype)  # noqa: E731
    X, W, dY, dW = ints(n, k), ints(k, m), ints(n, m), ints(k, m)
    out = np.full((n, m), np.nan, dtype)
    K.dense_forward(X, W, None, out)
    np.testing.assert_array_equal(out, X @ W)
    dW0, dX = dW.copy(), np.full((n, k), np.nan, dtype)
    K.dense_backward(X, W, dY, dW, None, dX, accumulate=accumulate)
    np.testing.assert_array_equal(dW, (dW0 if accumulate else 0) + X.T @ dY)
    np.testing.assert_array_equal(dX, dY @ W.T)


def test_which_products_run_as_row_blocks():
    """The rule of _blas.pxd's row_blocks, in the AVX-512 build (where OpenBLAS has its
    small-matrix kernels); every other build makes one call."""
    from fastnn import _kernels
    blocks = _kernels.load("kernel_loops")._gemm_row_blocks
    # (trans_a, trans_b, m, n, k, lda, ldc, itemsize) of a row-major C (m x n) = op(A) op(B)
    digits_forward = (False, False, 200, 100, 64, 64, 100, 8)  # 200 x 64 @ 64 x 100, float64
    digits_dW = (True, False, 64, 100, 200, 64, 100, 8)        # (200 x 64)^T @ 200 x 100
    if _kernels.variant() != "x86_64_v4":
        assert blocks(*digits_forward) == blocks(*digits_dW) == 1
        return
    assert blocks(*digits_forward) == 2 and blocks(*digits_dW) == 2
    assert blocks(False, False, 200, 100, 50, 50, 100, 8) == 1    # 10^6: small already
    assert blocks(False, False, 128, 128, 255, 255, 128, 4) == 5  # just under 2^22
    assert blocks(False, False, 128, 128, 256, 256, 128, 4) == 1  # 2^22: packed wins
    assert blocks(False, True, 200, 100, 64, 64, 64, 8) == 1      # transposed B
    assert blocks(False, False, 200, 128, 64, 64, 128, 8) == 1    # rows of 1 KiB
    assert blocks(False, False, 200, 128, 64, 64, 128, 4) == 2    # ... but 512 bytes in float32
    assert blocks(False, False, 200, 128, 128, 128, 128, 4) == 1  # both 512 bytes
    assert blocks(True, False, 30, 200, 200, 30, 200, 8) == 1     # blocks of 15 rows of X^T dY


def test_dense_without_bias_is_plain_matmul(dtype):
    rng = np.random.default_rng(1)
    X, W = randn(rng, (4, 3), dtype), randn(rng, (3, 2), dtype)
    assert_close(K.dense_forward(X, W, None, np.empty((4, 2), dtype)), X @ W, dtype)


LOSSES = {
    # name: (prediction maker, target maker, accepts class labels)
    "softmax_cross_entropy": (lambda r, s, d: randn(r, s, d, 3), None, True),
    "categorical_cross_entropy": (lambda r, s, d: r.uniform(0.01, 1, s).astype(d), None, True),
    "sigmoid_binary_cross_entropy": (lambda r, s, d: randn(r, s, d, 3),
                                     lambda r, s, d: r.uniform(0, 1, s).astype(d), False),
    "sigmoid_binary_cross_entropy_sum": (lambda r, s, d: randn(r, s, d, 3),
                                         lambda r, s, d: r.uniform(0, 1, s).astype(d), False),
    "binary_cross_entropy": (lambda r, s, d: r.uniform(0.01, 0.99, s).astype(d),
                             lambda r, s, d: r.integers(0, 2, s).astype(d), False),
    "mean_squared_error": (lambda r, s, d: randn(r, s, d), lambda r, s, d: randn(r, s, d), False),
    "mean_absolute_error": (lambda r, s, d: randn(r, s, d), lambda r, s, d: randn(r, s, d), False),
    "sum_of_squares": (lambda r, s, d: randn(r, s, d), lambda r, s, d: randn(r, s, d), False),
    "huber": (lambda r, s, d: randn(r, s, d, 2), lambda r, s, d: randn(r, s, d), False),
    "poisson": (lambda r, s, d: randn(r, s, d), lambda r, s, d: r.poisson(2.0, s).astype(d), False),
    "half_poisson_deviance": (lambda r, s, d: randn(r, s, d),
                              lambda r, s, d: r.poisson(2.0, s).astype(d), False),
}


def make_targets(name, rng, n, c, dtype, labels):
    _, target_maker, _ = LOSSES[name]
    if labels:
        return rng.integers(0, c, n)
    if target_maker is None:  # probability targets, rows not normalised on purpose
        return rng.uniform(0, 1, (n, c)).astype(dtype)
    return target_maker(rng, (n, c), dtype)


def check_loss(name, n, c, dtype, seed, labels=False, weighted=False, in_place=False):
    rng = np.random.default_rng(seed)
    pred = LOSSES[name][0](rng, (n, c), dtype)
    target = make_targets(name, rng, n, c, dtype, labels)
    w = rng.uniform(0, 2, n).astype(dtype) if weighted else None
    if weighted:
        w[0] += 0.5  # a positive sum even for n = 1
    grad_k = pred.copy() if in_place else np.empty_like(pred)
    loss_k = getattr(K, name)(grad_k if in_place else pred, target, grad_k, w)
    grad_r = np.empty_like(pred)
    loss_r = getattr(R, name)(pred, target, grad_r, w)
    assert isinstance(loss_k, float)
    assert_close(loss_k, loss_r, dtype)
    assert_close(grad_k, grad_r, dtype)


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("n,_,c", SHAPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_shapes(name, n, _, c, weighted, dtype):
    check_loss(name, n, c, dtype, seed=n * c, weighted=weighted)


@pytest.mark.parametrize("name", [k for k, v in LOSSES.items() if v[2]])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("label_dtype", [np.int64, np.int32, np.uint8])
def test_loss_with_class_labels(name, weighted, label_dtype, dtype):
    rng = np.random.default_rng(7)
    n = 150  # softmax cross-entropy runs blocks of 64 rows: two whole ones and a part
    pred = LOSSES[name][0](rng, (n, 4), dtype)
    target = rng.integers(0, 4, n).astype(label_dtype)
    w = rng.uniform(0.5, 2, n).astype(dtype) if weighted else None
    gk, gr = np.empty_like(pred), np.empty_like(pred)
    assert_close(getattr(K, name)(pred, target, gk, w), getattr(R, name)(pred, target, gr, w),
                 dtype)
    assert_close(gk, gr, dtype)
    # Labels mean exactly what their one-hot rows mean.
    onehot = np.eye(4, dtype=dtype)[target]
    assert_close(getattr(K, name)(pred, onehot, np.empty_like(pred), w),
                 getattr(K, name)(pred, target, np.empty_like(pred), w), dtype)


@pytest.mark.parametrize("name", LOSSES)
def test_loss_grad_in_place(name, dtype):
    check_loss(name, 12, 5, dtype, seed=2, in_place=True)


def test_softmax_cross_entropy_labels_in_place(dtype):
    rng = np.random.default_rng(0)
    z = randn(rng, (8, 3), dtype)
    y = rng.integers(0, 3, 8)
    g = z.copy()
    loss = K.softmax_cross_entropy(g, y, g)
    gr = np.empty_like(z)
    assert_close(loss, R.softmax_cross_entropy(z, y, gr), dtype)
    assert_close(g, gr, dtype)


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("dtype_", FLOATS)
@examples
@given(n=dims, c=dims, seed=seeds, labels=st.booleans(), weighted=st.booleans())
def test_loss_random(name, dtype_, n, c, seed, labels, weighted):
    check_loss(name, n, c, dtype_, seed, labels and LOSSES[name][2], weighted)


def test_loss_threads_agree(dtype):
    rng = np.random.default_rng(0)
    z, y = randn(rng, (301, 7), dtype), rng.integers(0, 7, 301)
    g1, g2 = np.empty_like(z), np.empty_like(z)
    l1 = K.softmax_cross_entropy(z, y, g1, n_threads=1)
    l2 = K.softmax_cross_entropy(z, y, g2, n_threads=2)
    assert_close(l1, l2, dtype)
    np.testing.assert_array_equal(g1, g2)


OPTIMIZERS = {
    "sgd": ("sgd_update", 1, dict(lr=0.1)),
    "momentum": ("sgd_update", 1, dict(lr=0.1, momentum=0.9, weight_decay=1e-3)),
    "nesterov": ("sgd_update", 1, dict(lr=0.05, momentum=0.8, nesterov=True)),
    "adam": ("adam_update", 2, dict(lr=0.01, weight_decay=1e-2)),
    "rmsprop": ("rmsprop_update", 1, dict(lr=0.01, rho=0.8)),
    "adagrad": ("adagrad_update", 1, dict(lr=0.1, weight_decay=1e-3)),
    "adamw": ("adamw_update", 2, dict(lr=0.01, weight_decay=0.1, l2=1e-2)),
    "adamax": ("adamax_update", 2, dict(lr=0.01, beta2=0.9, weight_decay=1e-2)),
}


STEPPED = {entry.kernel: entry.step_number for entry in registry.OPTIMIZERS}


def test_every_registry_optimizer_is_checked_here():
    assert {name for name, _, _ in OPTIMIZERS.values()} == set(STEPPED)


def check_optimizer(opt, shape, dtype, seed, steps=5):
    name, n_state, hyper = OPTIMIZERS[opt]
    rng = np.random.default_rng(seed)
    params = [randn(rng, shape, dtype) for _ in range(2)]
    params[1][...] = params[0]
    states = [[np.zeros(shape, dtype) for _ in range(n_state)] for _ in range(2)]
    for step in range(1, steps + 1):
        grad = randn(rng, shape, dtype)
        for impl, param, state in zip((K, R), params, states):
            t = (step,) if STEPPED[name] else ()
            getattr(impl, name)(param, grad, *state, *t, **hyper)
    assert_close(params[0], params[1], dtype, factor=steps)
    for s_k, s_r in zip(*states):
        assert_close(s_k, s_r, dtype, factor=steps)


@pytest.mark.parametrize("opt", OPTIMIZERS)
@pytest.mark.parametrize("shape", [(1,), (7,), (13, 5), (64, 10), (3, 4, 5)])
def test_optimizer_shapes(opt, shape, dtype):
    check_optimizer(opt, shape, dtype, seed=sum(shape))


@pytest.mark.parametrize("opt", OPTIMIZERS)
@pytest.mark.parametrize("dtype_", FLOATS)
@examples
@given(n=dims, m=dims, seed=seeds)
def test_optimizer_random(opt, dtype_, n, m, seed):
    check_optimizer(opt, (n, m), dtype_, seed)


def test_sgd_without_momentum_needs_no_velocity(dtype):
    p = np.ones(3, dtype)
    K.sgd_update(p, np.full(3, 2, dtype), lr=0.5)
    np.testing.assert_array_equal(p, np.zeros(3, dtype))


def test_adam_first_step_is_lr_times_sign(dtype):
    # With bias correction m_hat = g and sqrt(v_hat) = |g| on step 1, so the step is
    # -lr * g / (|g| + eps): lr * sign(g) whatever the gradient's size.
    g = np.array([3, -0.5, 1e-3, -40], dtype)
    p, m, v = np.zeros(4, dtype), np.zeros(4, dtype), np.zeros(4, dtype)
    K.adam_update(p, g, m, v, 1, lr=0.1, eps=1e-8)
    assert_close(p, -0.1 * g.astype(np.float64) / (np.abs(g) + 1e-8), dtype)


@pytest.mark.parametrize("rate", [0.0, 0.1, 0.5, 0.9])
@pytest.mark.parametrize("shape", [(1,), (7, 13), (64, 100)])
def test_dropout_matches_reference_and_drops_at_rate(rate, shape, dtype):
    rng = np.random.default_rng(0)
    x = randn(rng, shape, dtype)
    results = []
    for impl in (K, R):
        state = np.array([987654321, 5], np.uint64)
        out, mask = np.empty_like(x), np.empty_like(x)
        impl.dropout_forward(x, out, mask, rate, state)
        impl.dropout_forward(x, out, mask, rate, state)  # the counter moves on
        results.append((out, mask, state))
    (o_k, m_k, s_k), (o_r, m_r, s_r) = results
    np.testing.assert_array_equal(m_k, m_r)
    np.testing.assert_array_equal(o_k, o_r)
    np.testing.assert_array_equal(s_k, [987654321, 5 + 2 * x.size])
    assert set(np.unique(m_k)) <= {0, dtype(1) / dtype(1 - rate)}
    if x.size >= 6400:
        assert abs(np.mean(m_k == 0) - rate) < 0.02


@pytest.mark.parametrize("bad", [None, np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("size,where",
                         [(1, 0), (7, 6), (65536, 65535), (200003, 70000), (200003, 5)])
def test_all_finite_matches_reference(bad, size, where, dtype):
    x = np.random.default_rng(0).standard_normal(size).astype(dtype) * dtype(1e30)
    if bad is not None:
        x[where] = bad
    assert K.all_finite(x) == R.all_finite(x) == (bad is None)
    assert K.all_finite(x.reshape(-1, 1)[::-1]) == (bad is None)  # views are checked too


# ---------------------------------------------------------------- NaN propagation

SPECIALS = [np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0]


def with_specials(rng, shape, dtype, every=5):
    """Random values with NaN, infinities and signed zeros strewn over them (every `every`-th
    value, cycling through SPECIALS), so that vector bodies and scalar tails both meet them."""
    x = randn(rng, shape, dtype, 3).ravel()
    x[::every] = np.resize(np.array(SPECIALS, dtype), x[::every].size)
    return x.reshape(shape)


def assert_same_nans(got, want, dtype):
    """NaN exactly where the reference has NaN, infinities where it has them, the other values
    close (everything exactly equal when `dtype` is None)."""
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg="NaN positions")
    if dtype is None:
        np.testing.assert_array_equal(got, want)
        return
    infinite = np.isinf(want)
    np.testing.assert_array_equal(got[infinite], want[infinite], err_msg="infinities")
    finite = np.isfinite(want)
    assert_close(got[finite], want[finite], dtype)


@pytest.mark.parametrize("kind", ELEMENTWISE + ["softmax"])
@pytest.mark.parametrize("shape", [(1, 37), (7, 33), (300, 21)])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_activations_propagate_nan_as_the_reference(kind, shape, n_threads, dtype):
    """NaN (and +-inf, -0) in, and each activation's forward gives NaN where its reference does:
    ReLU keeps NaN as np.maximum does (it made it 0), and so do the others. The backward passes
    the reference's values at NaN outputs too (ReLU: 0 where y is NaN, as np.where(y > 0, ...))."""
    rng = np.random.default_rng(shape[0])
    x = with_specials(rng, shape, dtype)
    extra = (0.1,) if registry.activation(kind).hyper else ()
    with np.errstate(invalid="ignore", over="ignore"):
        want = getattr(R, kind + "_forward")(x, np.empty_like(x), *extra)
    got = getattr(K, kind + "_forward")(x, np.empty_like(x), *extra, n_threads=n_threads)
    assert np.isnan(want).any()
    assert_same_nans(got, want, None if kind in ("identity", "relu", "leaky_relu") else dtype)
    inplace = x.copy()
    getattr(K, kind + "_forward")(inplace, inplace, *extra, n_threads=n_threads)
    np.testing.assert_array_equal(inplace, got)
    dy = with_specials(rng, shape, dtype, every=7)
    saved = x if registry.activation(kind).from_input else want
    with np.errstate(invalid="ignore", over="ignore"):
        dx_want = getattr(R, kind + "_backward")(saved, dy, np.empty_like(x), *extra)
    dx = getattr(K, kind + "_backward")(saved, dy, np.empty_like(x), *extra, n_threads=n_threads)
    if kind == "gelu_tanh" and dtype == np.float32:
        # its float32 tanh reaches -1 a little before NumPy's (x ~ -5), so f' is 0 there and
        # an infinite dy gives NaN instead of inf: compare at finite dy
        dx, dx_want = dx[np.isfinite(dy)], dx_want[np.isfinite(dy)]
    assert_same_nans(dx, dx_want, None if kind in ("identity", "relu", "leaky_relu") else dtype)


def test_relu_of_nan_is_nan_and_of_minus_zero_plus_zero(dtype):
    x = np.array([np.nan, -np.nan, -0.0, 0.0, -np.inf, np.inf, -2, 3] * 3, dtype)
    y = K.relu_forward(x, np.empty_like(x))
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    assert np.isnan(y[0::8]).all() and np.isnan(y[1::8]).all()
    assert not np.signbit(y[2::8]).any()  # -0 -> +0, as in the dense epilogue's ReLU


@pytest.mark.parametrize("activation", R.ACTIVATIONS)
@pytest.mark.parametrize("where", ["X", "W", "b"])
@pytest.mark.parametrize("n,k,m", [(37, 3, 40), (5, 1, 16), (300, 4, 7), (33, 20, 45)])
def test_dense_forward_propagates_nan_as_the_reference(activation, where, n, k, m, dtype):
    """A NaN in X, W or b reaches the outputs it reaches in the reference, through the fused
    ReLU epilogue too: of fastnn's own skinny loops (k <= 4: vector body and scalar tail) and
    after BLAS (k = 20)."""
    rng = np.random.default_rng(n + k + m)
    X, W, b = randn(rng, (n, k), dtype), randn(rng, (k, m), dtype), randn(rng, m, dtype)
    arrays = {"X": X, "W": W, "b": b}
    flat = arrays[where].reshape(-1)
    flat[:: max(1, flat.size // 3)] = np.nan
    got = K.dense_forward(X, W, b, np.empty((n, m), dtype), activation, 0.2)
    with np.errstate(invalid="ignore"):
        want = R.dense_forward(X, W, b, np.empty((n, m), dtype), activation, 0.2)
    assert np.isnan(want).any()
    assert_same_nans(got, want, dtype)
    again = K.dense_forward(X, W, b, np.empty((n, m), dtype), activation, 0.2, n_threads=2)
    np.testing.assert_array_equal(again, got)  # the threaded epilogue (BLAS path)


def test_the_kernel_variant_is_decided_once_at_import():
    """FASTNN_KERNELS changed after `import fastnn` changes nothing: the engine, imported later,
    loads the loops of the variant the kernels use (found by an attack: a bogus value set after
    import made the first fit raise ImportError)."""
    from isolated import run_isolated
    out = run_isolated("""
        import os, sys
        import numpy as np
        import fastnn as fnn
        os.environ["FASTNN_KERNELS"] = "bogus"
        net = fnn.Network([fnn.Dense(2, 4), fnn.ReLU(), fnn.Dense(4, 2)], random_state=0)
        net.fit(np.ones((8, 2)), np.arange(8) % 2, epochs=1, verbose=0)
        folders = {os.path.basename(os.path.dirname(module.__file__))
                   for name, module in list(sys.modules.items()) if name.endswith("_loops")}
        print(fnn.kernels.VARIANT, *sorted(folders))
    """)
    variant, *folders = out.split()
    from fastnn import _kernels
    assert variant == _kernels.variant()
    assert folders == ["_kernels" if variant == "baseline" else variant]
