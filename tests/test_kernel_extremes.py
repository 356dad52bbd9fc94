"""Extreme inputs: finite losses and gradients with the right values, and no warnings
(pytest turns every warning into an error for this project)."""
import numpy as np
import pytest

from fastnn import kernels as K
from fastnn import reference as R

IMPLS = pytest.mark.parametrize("impl", [K, R], ids=["kernels", "reference"])


@IMPLS
def test_softmax_cross_entropy_of_huge_logits(impl, dtype):
    z = np.array([[1e4, -1e4], [1e4, -1e4], [-1e4, -1e4]], dtype)
    g = np.empty_like(z)
    loss = impl.softmax_cross_entropy(z, np.array([0, 1, 1]), g)
    # Per row: 0 (right and sure), 2e4 (wrong and sure), log 2 (a tie); then the mean.
    np.testing.assert_allclose(loss, (0 + 2e4 + np.log(2)) / 3, rtol=1e-6)
    np.testing.assert_allclose(g * 3, [[0, 0], [1, -1], [0.5, -0.5]], atol=1e-6)


@IMPLS
def test_softmax_of_huge_and_equal_rows(impl, dtype):
    x = np.array([[1e4, -1e4, 0], [7, 7, 7], [-1e4, -1e4, -1e4]], dtype)
    y = impl.softmax_forward(x, np.empty_like(x))
    np.testing.assert_allclose(y, [[1, 0, 0], [1 / 3] * 3, [1 / 3] * 3], rtol=1e-6)


@IMPLS
def test_sigmoid_at_plus_minus_1000(impl, dtype):
    x = np.array([-1000, -50, 0, 50, 1000], dtype)
    y = impl.sigmoid_forward(x, np.empty_like(x))
    assert np.all(np.isfinite(y))
    assert y[0] == 0 and y[2] == 0.5 and y[4] == 1
    np.testing.assert_allclose(y[1], np.exp(-50), rtol=1e-5)


@IMPLS
def test_sigmoid_binary_cross_entropy_of_huge_logits(impl, dtype):
    z = np.array([[-1000, 1000, 1000]], dtype)
    y = np.array([[1, 1, 0]], dtype)
    g = np.empty_like(z)
    loss = impl.sigmoid_binary_cross_entropy(z, y, g)
    np.testing.assert_allclose(loss, (1000 + 0 + 1000) / 3, rtol=1e-6)
    np.testing.assert_allclose(g * 3, [[-1, 0, 1]], atol=1e-6)


@IMPLS
@pytest.mark.parametrize("name", ["categorical_cross_entropy", "binary_cross_entropy"])
def test_probability_losses_at_exactly_zero_and_one(impl, name, dtype):
    p = np.array([[0, 1], [1, 0]], dtype)
    t = np.array([[1, 0], [1, 0]], dtype)
    g = np.empty_like(p)
    loss = getattr(impl, name)(p, t, g)
    assert np.isfinite(loss) and np.all(np.isfinite(g))
    # Probabilities are clipped to [eps, 1 - eps], with 1 - eps rounded to the array's dtype.
    lo, hi = 1e-7, float(dtype(1 - 1e-7))
    if name == "categorical_cross_entropy":  # row 0 wrong and sure, row 1 right and sure
        want = (-np.log(lo) - np.log(hi)) / 2
    else:  # the mean over both columns of both rows
        want = ((-np.log(lo) - np.log1p(-hi)) / 2 + (-np.log(hi) - np.log1p(-lo)) / 2) / 2
    np.testing.assert_allclose(loss, want, rtol=1e-5)


@IMPLS
def test_tanh_saturates(impl, dtype):
    x = np.array([-1e4, 1e4], dtype)
    np.testing.assert_array_equal(impl.tanh_forward(x, np.empty_like(x)), [-1, 1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_exp_is_accurate_over_its_whole_range(dtype):
    """The kernels' own exp (vectorized, both dtypes): softmax of rows [0, x] is
    exp(x) / (1 + exp(x)) to a few ulp for x from the underflow limit to 0, subnormal results
    and exact zeros included, and so is the softmax cross-entropy's gradient."""
    info = np.finfo(dtype)
    lowest = -104.0 if dtype == np.float32 else -746.0
    x = np.concatenate([np.linspace(lowest, 0, 20001), -np.geomspace(1e-12, 50, 2001)])
    x = x.astype(dtype)
    rows = np.stack([np.zeros_like(x), x], axis=1)
    want = np.exp(x.astype(np.float64)) / (1 + np.exp(x.astype(np.float64)))
    got = K.softmax_forward(rows, np.empty_like(rows))[:, 1]
    normal = want >= info.tiny
    # float32 below its tiny is flushed to 0 (documented in _vecmath.h); float64 keeps subnormals.
    ulps = 4 * info.eps
    np.testing.assert_allclose(got[normal], want[normal], rtol=ulps, atol=0)
    if dtype == np.float64:
        np.testing.assert_allclose(got[~normal], want[~normal], rtol=0, atol=4 * 5e-324)
    else:
        assert np.all(got[~normal] <= info.tiny)
    g = np.empty_like(rows)
    K.softmax_cross_entropy(rows, np.zeros(len(x), np.intp), g)  # g = p / rows, or p - 1
    normal = want / len(x) >= info.tiny
    np.testing.assert_allclose(g[normal, 1] * len(x), want[normal], rtol=8 * info.eps, atol=0)
