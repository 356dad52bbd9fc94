"""Finite-difference checks (float64, central differences) of every backward kernel."""
import numpy as np
import pytest

from fastnn import kernels as K
from fastnn import reference as R
from fastnn import registry

H = 1e-6
RTOL, ATOL = 1e-6, 1e-8


def numeric_grad(f, x):
    """d f / d x by central differences, one coordinate at a time."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + H
        up = f()
        x[i] = old - H
        down = f()
        x[i] = old
        g[i] = (up - down) / (2 * H)
    return g


def away_from_kinks(rng, shape):
    """Normal values kept at least 0.05 from zero, where relu-like functions have their kink."""
    x = rng.standard_normal(shape)
    return np.where(np.abs(x) < 0.05, 0.05 * np.sign(x) + 0.05 * (x == 0), x)


@pytest.mark.parametrize("kind", R.ACTIVATIONS)
def test_activation_backward_matches_finite_differences(kind):
    rng = np.random.default_rng(0)
    x, dy = away_from_kinks(rng, (4, 5)), rng.standard_normal((4, 5))
    extra = (0.1,) if registry.activation(kind).hyper else ()
    forward, backward = getattr(K, kind + "_forward"), getattr(K, kind + "_backward")

    def objective():  # <dy, f(x)>: its gradient is the vector-Jacobian product f'(x)^T dy
        return float((dy * forward(x, np.empty_like(x), *extra)).sum())

    y = forward(x, np.empty_like(x), *extra)
    got = backward(x if registry.activation(kind).from_input else y, dy, np.empty_like(x), *extra)
    np.testing.assert_allclose(got, numeric_grad(objective, x), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("activation", R.ACTIVATIONS)
def test_dense_backward_matches_finite_differences(activation):
    rng = np.random.default_rng(1)
    n, k, m = 3, 4, 5
    X, W, b = rng.standard_normal((n, k)), rng.standard_normal((k, m)), rng.standard_normal(m)
    G = rng.standard_normal((n, m))
    backward = getattr(K, activation + "_backward")

    def objective():
        return float((G * K.dense_forward(X, W, b, np.empty((n, m)), activation, 0.1)).sum())

    Y = K.dense_forward(X, W, b, np.empty((n, m)), activation, 0.1)
    if registry.activation(activation).from_input:  # the backward takes the pre-activation
        Y = K.dense_forward(X, W, b, np.empty((n, m)))
    hyper = (0.1,) if registry.activation(activation).hyper else ()
    dZ = backward(Y, G, np.empty_like(Y), *hyper)
    dW, db, dX = np.empty_like(W), np.empty_like(b), np.empty_like(X)
    K.dense_backward(X, W, dZ, dW, db, dX)
    for got, param in [(dW, W), (db, b), (dX, X)]:
        np.testing.assert_allclose(got, numeric_grad(objective, param), rtol=RTOL, atol=ATOL)


LOSS_INPUTS = {
    "softmax_cross_entropy": lambda r: (3 * r.standard_normal((5, 4)), r.integers(0, 4, 5)),
    "categorical_cross_entropy": lambda r: (r.uniform(0.05, 0.95, (5, 4)), r.uniform(0, 1, (5, 4))),
    "sigmoid_binary_cross_entropy": lambda r: (3 * r.standard_normal((5, 3)),
                                               r.uniform(0, 1, (5, 3))),
    "sigmoid_binary_cross_entropy_sum": lambda r: (3 * r.standard_normal((5, 3)),
                                                   r.uniform(0, 1, (5, 3))),
    "binary_cross_entropy": lambda r: (r.uniform(0.05, 0.95, (5, 3)), r.uniform(0, 1, (5, 3))),
    "mean_squared_error": lambda r: (r.standard_normal((5, 2)), r.standard_normal((5, 2))),
    "mean_absolute_error": lambda r: (r.standard_normal((5, 2)), r.standard_normal((5, 2)) + 0.2),
    "sum_of_squares": lambda r: (r.standard_normal((5, 2)), r.standard_normal((5, 2))),
    "huber": lambda r: (2 * r.standard_normal((5, 2)), r.standard_normal((5, 2))),
    "poisson": lambda r: (r.standard_normal((5, 3)), r.poisson(2.0, (5, 3)).astype(float)),
    "half_poisson_deviance": lambda r: (r.standard_normal((5, 3)),
                                        r.poisson(2.0, (5, 3)).astype(float)),
}


@pytest.mark.parametrize("name", LOSS_INPUTS)
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_gradient_matches_finite_differences(name, weighted):
    rng = np.random.default_rng(2)
    pred, target = LOSS_INPUTS[name](rng)
    w = rng.uniform(0.1, 3, len(pred)) if weighted else None
    loss = getattr(K, name)

    def objective():
        return loss(pred, target, np.empty_like(pred), w)

    grad = np.empty_like(pred)
    loss(pred, target, grad, w)
    np.testing.assert_allclose(grad, numeric_grad(objective, pred), rtol=RTOL, atol=ATOL)


def test_softmax_cross_entropy_with_probability_targets_matches_finite_differences():
    rng = np.random.default_rng(3)
    z, t = rng.standard_normal((4, 3)), rng.uniform(0, 1, (4, 3))  # rows need not sum to 1

    def objective():
        return K.softmax_cross_entropy(z, t, np.empty_like(z))

    grad = np.empty_like(z)
    K.softmax_cross_entropy(z, t, grad)
    np.testing.assert_allclose(grad, numeric_grad(objective, z), rtol=RTOL, atol=ATOL)
