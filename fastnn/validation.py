"""Checks of arguments at the Python boundary, each raising ValueError or TypeError that names
the argument. Python and NumPy numbers are accepted alike; booleans are not numbers here."""
import numbers

import numpy as np


def is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def is_integer(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def real(name, value, low=-np.inf, high=np.inf, low_open=False, high_open=True):
    """value as a float, which must lie in [low, high) (low_open / high_open choose the ends)."""
    if is_real(value):
        v = float(value)
        if (v > low if low_open else v >= low) and (v < high if high_open else v <= high):
            return v
    ends = ("(" if low_open else "[") + f"{low}, {high}" + (")" if high_open else "]")
    raise ValueError(f"{name} must be a number in {ends}, got {value!r}")


def integer(name, value, low=None, high=None):
    """value as an int, which must lie in [low, high] (None: unbounded)."""
    if is_integer(value) and (low is None or value >= low) and (high is None or value <= high):
        return int(value)
    if low is not None and high is not None:
        what = f"an integer in [{low}, {high}]"
    elif low is not None:
        what = f"an integer >= {low}"
    else:
        what = "an integer"
    raise ValueError(f"{name} must be {what}, got {value!r}")


def real_array(name, value, ndim=None):
    """value as an ndarray of real numbers (bool, integer or float), with `ndim` dimensions
    (an int or a tuple of allowed counts)."""
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as error:  # ragged nested lists
        raise ValueError(f"{name} could not be read as an array: {error}") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            dims = " or ".join(map(str, allowed))
            raise ValueError(f"{name} must be {dims}-dimensional, got shape {arr.shape}")
    return arr
