"""Weight initializers: functions (rng, n_in, n_out, dtype) -> W of shape (n_in, n_out).

he           normal with std sqrt(2 / n_in): the default before ReLU-like layers
glorot       uniform in +-sqrt(6 / (n_in + n_out)): the default otherwise
lecun_normal normal with std sqrt(1 / n_in): the default before SELU (torch's advice, kaiming
             normal with the linear gain; Keras' lecun_normal truncates the normal)
scratch      0.01 * standard normal, as in the from-scratch material
uniform      uniform in [-0.05, 0.05]
Biases start at zero. Which is the default before which activation is in fastnn.registry.
"""
import numpy as np


def he(rng, n_in, n_out, dtype):
    return (rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)).astype(dtype)


def glorot(rng, n_in, n_out, dtype):
    limit = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, (n_in, n_out)).astype(dtype)


def lecun_normal(rng, n_in, n_out, dtype):
    return (rng.standard_normal((n_in, n_out)) * np.sqrt(1.0 / n_in)).astype(dtype)


def scratch(rng, n_in, n_out, dtype):
    return (0.01 * rng.standard_normal((n_in, n_out))).astype(dtype)


def uniform(rng, n_in, n_out, dtype):
    return rng.uniform(-0.05, 0.05, (n_in, n_out)).astype(dtype)


INITIALIZERS = {"he": he, "glorot": glorot, "lecun_normal": lecun_normal, "scratch": scratch,
                "uniform": uniform}


def get(name):
    if callable(name):
        return name
    try:
        return INITIALIZERS[name]
    except KeyError:
        raise ValueError(f"init must be one of {sorted(INITIALIZERS)} or a function, "
                         f"got {name!r}") from None
