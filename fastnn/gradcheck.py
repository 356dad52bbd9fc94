"""Finite-difference check of a whole network's gradients."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from fastnn import validation as V
from fastnn.validation import check_xy

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from fastnn.network import Network


def gradcheck(network: Network, X: ArrayLike, y: ArrayLike,
              sample_weight: ArrayLike | None = None, eps: float = 1e-6,
              max_checks_per_param: int = 40, seed: int = 0) -> float:
    """Check a network's gradients against finite differences.

    The largest relative error between the back-propagated and the central-difference
    gradients of the training loss (without the L2 penalty) w.r.t. every parameter, up to
    `max_checks_per_param` random entries of each. It runs on a float64 copy of the network
    with dropout off, so `network` is left untouched. Values around 1e-7 or below mean the
    gradients are right; kinks (ReLU at 0) can spoil single entries. The relative error of an
    entry is ``|numeric - analytic| / max(|numeric| + |analytic|, 1e-7)``.

    Parameters
    ----------
    network : Network
        The network to check (a custom layer's backward, say).
    X : array-like of shape (n_samples, n_features)
        Inputs.
    y : array-like
        Targets, as Network.fit takes them.
    sample_weight : array-like of shape (n_samples,) or None, default=None
        Weights per sample; None weighs every sample 1.
    eps : float, default=1e-6
        The step of the central differences.
    max_checks_per_param : int, default=40
        How many entries of each parameter are checked, drawn at random without repetition
        (all of a smaller parameter).
    seed : int, default=0
        Seeds the choice of the entries.

    Returns
    -------
    float
        The largest relative error found.

    Raises
    ------
    TypeError
        If network is not a fastnn Network.
    ValueError
        If X or y do not fit the network (shapes, labels, NaN or infinity), eps is not a
        finite number > 0, max_checks_per_param is not an integer >= 1 or seed not one >= 0.

    Examples
    --------
    >>> X, y = fnn.datasets.spiral(samples=5, classes=3, random_state=0)
    >>> net = fnn.Network([fnn.Dense(2, 4), fnn.Tanh(), fnn.Dense(4, 3)], random_state=0)
    >>> bool(fnn.gradcheck(net, X, y) < 1e-6)
    True
    """
    from fastnn.network import Network
    if not isinstance(network, Network):
        raise TypeError(f"network must be a fastnn Network, got {type(network).__name__}")
    eps = V.real("eps", eps, 0, np.inf, low_open=True)
    max_checks_per_param = V.integer("max_checks_per_param", max_checks_per_param, 1)
    seed = V.integer("seed", seed, 0)
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
