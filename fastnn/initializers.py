"""Weight initializers: functions (rng, n_in, n_out, dtype) -> W of shape (n_in, n_out).

fastnn's own (the defaults, as PyTorch advises them):
he             normal with std sqrt(2 / n_in): the default before ReLU-like layers
glorot         uniform in +-sqrt(6 / (n_in + n_out)): the default otherwise
lecun          normal with std sqrt(1 / n_in): the default before SELU
scratch        0.01 * standard normal, as in the from-scratch material
uniform        uniform in [-0.05, 0.05]

Keras' names, with Keras' distributions (its *_normal initializers draw a normal truncated at
two standard deviations, rescaled so that the std is the one named):
he_normal, he_uniform         std sqrt(2 / n_in), truncated normal / uniform
glorot_normal, glorot_uniform std sqrt(2 / (n_in + n_out)) (glorot_uniform is glorot)
lecun_normal, lecun_uniform   std sqrt(1 / n_in)
random_normal, random_uniform normal with std 0.05 / uniform in [-0.05, 0.05]
truncated_normal              std 0.05 before truncation at two of them
zeros, ones                   constant
Biases start at zero. Which is the default before which activation is in fastnn.registry.
"""
import numpy as np

# The std of a standard normal truncated to [-2, 2] (Keras' VarianceScaling divides by it).
TRUNCATED_STD = 0.87962566103423978


def _truncated_normal(rng, shape):
    """Standard normal draws, redrawn until within [-2, 2]."""
    x = rng.standard_normal(shape)
    outside = np.abs(x) > 2
    while outside.any():
        x[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(x) > 2
    return x


def _scaled(scale, fan, distribution):
    """Keras' VarianceScaling(scale, mode, distribution): variance scale / fan."""
    def make(rng, n_in, n_out, dtype):
        n = {"in": n_in, "avg": (n_in + n_out) / 2}[fan]
        if distribution == "uniform":
            limit = np.sqrt(3.0 * scale / n)
            return rng.uniform(-limit, limit, (n_in, n_out)).astype(dtype)
        std = np.sqrt(scale / n) / TRUNCATED_STD
        return (_truncated_normal(rng, (n_in, n_out)) * std).astype(dtype)
    return make


def he(rng, n_in, n_out, dtype):
    return (rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)).astype(dtype)


def glorot(rng, n_in, n_out, dtype):
    limit = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, (n_in, n_out)).astype(dtype)


def lecun(rng, n_in, n_out, dtype):
    return (rng.standard_normal((n_in, n_out)) * np.sqrt(1.0 / n_in)).astype(dtype)


def scratch(rng, n_in, n_out, dtype):
    return (0.01 * rng.standard_normal((n_in, n_out))).astype(dtype)


def uniform(rng, n_in, n_out, dtype):
    return rng.uniform(-0.05, 0.05, (n_in, n_out)).astype(dtype)


def random_normal(rng, n_in, n_out, dtype):
    return (0.05 * rng.standard_normal((n_in, n_out))).astype(dtype)


def truncated_normal(rng, n_in, n_out, dtype):
    return (0.05 * _truncated_normal(rng, (n_in, n_out))).astype(dtype)


def zeros(rng, n_in, n_out, dtype):
    return np.zeros((n_in, n_out), dtype)


def ones(rng, n_in, n_out, dtype):
    return np.ones((n_in, n_out), dtype)


INITIALIZERS = {
    "he": he, "glorot": glorot, "lecun": lecun, "scratch": scratch, "uniform": uniform,
    "he_normal": _scaled(2.0, "in", "normal"), "he_uniform": _scaled(2.0, "in", "uniform"),
    "glorot_normal": _scaled(1.0, "avg", "normal"), "glorot_uniform": glorot,
    "lecun_normal": _scaled(1.0, "in", "normal"), "lecun_uniform": _scaled(1.0, "in", "uniform"),
    "random_normal": random_normal, "random_uniform": uniform,
    "truncated_normal": truncated_normal, "zeros": zeros, "ones": ones,
}


def get(name):
    if callable(name):
        return name
    try:
        return INITIALIZERS[name]
    except (KeyError, TypeError):
        raise ValueError(f"init must be one of {sorted(INITIALIZERS)} or a function, "
                         f"got {name!r}") from None
