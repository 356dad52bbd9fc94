"""Finite-difference check of a whole network's gradients."""
import numpy as np

from fastnn.validation import check_xy


def gradcheck(network, X, y, sample_weight=None, eps=1e-6, max_checks_per_param=40, seed=0):
    """Largest relative error between back-propagated and central-difference gradients of the
    training loss w.r.t. every parameter (up to `max_checks_per_param` random entries each).

    Runs on a float64 copy of the network with dropout off, so `network` is left untouched.
    Values around 1e-7 or below mean the gradients are right; kinks (ReLU at 0) can spoil single
    entries.
    """
    net = network.astype(np.float64)
    X, y, sample_weight = check_xy(net, X, y, sample_weight)
    net.loss_and_gradients(X, y, sample_weight, training=False)
    analytic = [g.copy() for g in net.gradients()]
    rng = np.random.default_rng(seed)
    worst = 0.0
    for param, grad in zip(net.parameters(), analytic):
        flat, flat_grad = param.reshape(-1), grad.reshape(-1)
        picks = rng.choice(flat.size, size=min(flat.size, max_checks_per_param), replace=False)
        for i in picks:
            old = flat[i]
            flat[i] = old + eps
            up = net.loss_and_gradients(X, y, sample_weight, training=False)[0]
            flat[i] = old - eps
            down = net.loss_and_gradients(X, y, sample_weight, training=False)[0]
            flat[i] = old
            numeric = (up - down) / (2 * eps)
            error = abs(numeric - flat_grad[i]) / max(abs(numeric) + abs(flat_grad[i]), 1e-7)
            worst = max(worst, error)
    return worst
