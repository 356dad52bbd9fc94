"""Weight initializers: functions (rng, n_in, n_out, dtype) -> W of shape (n_in, n_out).

he      normal with std sqrt(2 / n_in): the default before ReLU and leaky ReLU
glorot  uniform in +-sqrt(6 / (n_in + n_out)): the default otherwise
scratch 0.01 * standard normal, as in the from-scratch material
uniform uniform in [-0.05, 0.05]
Biases start at zero.
"""
import numpy as np


def he(rng, n_in, n_out, dtype):
    return (rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)).astype(dtype)


def glorot(rng, n_in, n_out, dtype):
    limit = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, (n_in, n_out)).astype(dtype)


def scratch(rng, n_in, n_out, dtype):
    return (0.01 * rng.standard_normal((n_in, n_out))).astype(dtype)


def uniform(rng, n_in, n_out, dtype):
    return rng.uniform(-0.05, 0.05, (n_in, n_out)).astype(dtype)


INITIALIZERS = {"he": he, "glorot": glorot, "scratch": scratch, "uniform": uniform}


def get(name):
    if callable(name):
        return name
    try:
        return INITIALIZERS[name]
    except KeyError:
        raise ValueError(f"init must be one of {sorted(INITIALIZERS)} or a function, "
                         f"got {name!r}") from None
