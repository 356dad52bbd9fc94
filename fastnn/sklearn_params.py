"""scikit-learn's checks of the MLP estimators' parameters and sample weights, in its words.

Checks of plain values, which set nothing (check_params reads the parameters as the
estimator's attributes, as scikit-learn's get_params would, without its cost). A bad parameter
raises InvalidParameterError (a ValueError and TypeError) with scikit-learn's message, naming
the estimator's class: "The 'alpha' parameter of MLPClassifier must be a float in the range
[0, inf). Got -1 instead." Bad sample weights, values too large for the training dtype and
replaced coefs_ raise ValueError naming them. fastnn.sklearn calls these before a fit changes
anything.
"""
import numbers
import warnings

import numpy as np

try:  # what scikit-learn raises for a bad parameter: a ValueError (and TypeError) subclass
    from sklearn.utils._param_validation import InvalidParameterError
except ImportError:  # pragma: no cover - private module moved
    InvalidParameterError = ValueError


def fail(owner, name, value, what):
    """Raise scikit-learn's error for parameter `name` of the class named `owner`."""
    raise InvalidParameterError(f"The '{name}' parameter of {owner} must be {what}. Got "
                                f"{value!r} instead.")


def is_bool(value):
    return isinstance(value, (bool, np.bool_))


# The plain Python types of each kind, tested before the (slower) abstract isinstance.
_EXACT = {numbers.Real: (float, int), numbers.Integral: (int,)}


def in_interval(value, kind, low, high, closed):
    """scikit-learn's Interval(kind, low, high, closed=closed).is_satisfied_by(value): Python
    and NumPy numbers alike, bool counting as an int (as in Python and scikit-learn), NaN never,
    an open end at None (infinity) refusing infinity."""
    if type(value) not in _EXACT[kind] and not isinstance(value, kind):  # ABC checks are slow
        return False
    if value != value:  # NaN (np.isnan took a tenth of partial_fit's parameter checks)
        return False
    low = -np.inf if low is None else low
    high = np.inf if high is None else high
    above = value >= low if closed in ("left", "both") else value > low
    below = value <= high if closed in ("right", "both") else value < high
    return bool(above and below)


def describe_interval(kind, low, high, closed):
    """The interval as scikit-learn's messages write it: "a float in the range [0, 1)"."""
    left = "[" if closed in ("left", "both") else "("
    right = "]" if closed in ("right", "both") else ")"
    name = "an int" if kind is numbers.Integral else "a float"
    return (f"{name} in the range {left}{'-inf' if low is None else low}, "
            f"{'inf' if high is None else high}{right}")


def check_params(owner, params, activations):
    """Check every parameter _BaseMLP takes but hidden_layer_sizes against scikit-learn's
    constraints (and fastnn's extras dropout and threads). params: what holds them as
    attributes (the estimator); activations: the activation names taken."""
    def options(name, allowed):
        value = getattr(params, name)
        if not (isinstance(value, str) and value in allowed):
            fail(owner, name, value, f"a str among {{{', '.join(map(repr, sorted(allowed)))}}}")

    def number(name, kind, low, high=None, closed="left"):
        if not in_interval(getattr(params, name), kind, low, high, closed):
            fail(owner, name, getattr(params, name), describe_interval(kind, low, high, closed))

    def flag(name):
        if not is_bool(getattr(params, name)):
            fail(owner, name, getattr(params, name), "an instance of 'bool' or 'numpy.bool_'")

    real, integer = numbers.Real, numbers.Integral
    options("activation", set(activations))
    options("solver", {"lbfgs", "sgd", "adam"})
    options("learning_rate", {"constant", "invscaling", "adaptive"})
    number("alpha", real, 0)
    batch_size = params.batch_size
    if not (isinstance(batch_size, str) and batch_size == "auto"):
        if not in_interval(batch_size, integer, 1, None, "left"):
            fail(owner, "batch_size", batch_size,
                 "a str among {'auto'} or an int in the range [1, inf)")
    number("learning_rate_init", real, 0, closed="neither")
    number("power_t", real, 0)
    number("max_iter", integer, 1)
    number("tol", real, 0)
    # scikit-learn takes momentum=1 too; fastnn's engine runs momentum in [0, 1) only
    momentum = params.momentum
    if (params.solver == "sgd" and in_interval(momentum, real, 0, 1, "both")
            and momentum == 1):
        fail(owner, "momentum", momentum, "a float in the range [0, 1) in fastnn (scikit-learn "
             "also takes 1, which fastnn's training engine does not)")
    number("momentum", real, 0, 1, closed="both")
    number("validation_fraction", real, 0, 1, closed="left")
    number("beta_1", real, 0, 1, closed="left")
    number("beta_2", real, 0, 1, closed="left")
    number("epsilon", real, 0, closed="neither")
    patience = params.n_iter_no_change
    if not (in_interval(patience, integer, 1, None, "left")
            or (isinstance(patience, real) and patience == np.inf)):
        fail(owner, "n_iter_no_change", patience,
             "an int in the range [1, inf) or a float among {inf}")
    number("max_fun", integer, 1)
    for name in ("shuffle", "warm_start", "nesterovs_momentum", "early_stopping"):
        flag(name)
    verbose = params.verbose
    if not (is_bool(verbose) or in_interval(verbose, integer, 0, None, "left")):
        fail(owner, "verbose", verbose,
             "an int in the range [0, inf) or an instance of 'bool' or 'numpy.bool_'")
    state = params.random_state
    if not (state is None or isinstance(state, np.random.RandomState)
            or in_interval(state, integer, 0, 2**32 - 1, "both")):
        fail(owner, "random_state", state, "an int in the range [0, 4294967295], an instance "
             "of 'numpy.random.mtrand.RandomState' or None")
    number("dropout", real, 0, 1, closed="left")
    threads = params.threads
    if threads is not None:
        if not in_interval(threads, integer, 1, None, "left") or is_bool(threads):
            fail(owner, "threads", threads, "an int in the range [1, inf) or None")


def check_regressor_loss(owner, loss):
    """MLPRegressor's loss: "squared_error" or "poisson"."""
    if not (isinstance(loss, str) and loss in ("squared_error", "poisson")):
        fail(owner, "loss", loss, "a str among {'poisson', 'squared_error'}")


def hidden_layer_sizes(owner, sizes):
    """hidden_layer_sizes (an int >= 1 or an iterable of them) as a list of ints."""
    given = sizes
    what = "an array-like of ints >= 1 or an int in the range [1, inf)"
    # bools are refused: scikit-learn's check lets True through, then fails on it (TypeError)
    if isinstance(sizes, numbers.Integral) and not is_bool(sizes):
        sizes = [sizes]
    elif isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
        fail(owner, "hidden_layer_sizes", given, what)
    try:
        sizes = list(sizes)
    except TypeError:  # a 0-d array
        fail(owner, "hidden_layer_sizes", given, what)
    if not all(isinstance(s, numbers.Integral) and not is_bool(s) and s >= 1 for s in sizes):
        fail(owner, "hidden_layer_sizes", given, what)
    return [int(s) for s in sizes]


def sample_weight(weights, n):
    """sample_weight as float64 of shape (n,), a scalar spread over all n samples: real numbers,
    finite and >= 0, not all zero. ValueError naming sample_weight otherwise (strings and complex
    numbers included, which NumPy would convert or scikit-learn reject obscurely)."""
    if weights is None:
        return None
    if isinstance(weights, (str, bytes)):
        raise ValueError(f"sample_weight must hold real numbers, got the string {weights!r}")
    try:
        raw = np.asarray(weights)
    except (TypeError, ValueError) as error:  # ragged nested lists
        raise ValueError(f"sample_weight could not be read as an array: {error}") from None
    if raw.dtype.kind == "O" and any(
            isinstance(v, (str, bytes, complex, np.complexfloating)) for v in raw.ravel()):
        raise ValueError("sample_weight must hold real numbers, got strings or complex numbers "
                         "(dtype object)")
    if raw.dtype.kind not in "biufO":
        what = {"U": "strings", "S": "bytes", "c": "complex numbers"}.get(raw.dtype.kind,
                                                                        f"dtype {raw.dtype}")
        raise ValueError(f"sample_weight must hold real numbers, got {what} (dtype {raw.dtype})")
    try:
        weights = raw.astype(np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"sample_weight must hold real numbers: {error}") from None
    if weights.ndim == 0:
        weights = np.full(n, weights[()])
    elif weights.ndim != 1:
        raise ValueError(f"sample_weight must be a 1D array or a scalar, got a {weights.ndim}D "
                         f"array; expected a scalar or a 1D array of length {n}")
    elif weights.shape != (n,):
        raise ValueError(f"sample_weight.shape == {weights.shape}, expected ({n},)!")
    check_weight_values(weights)
    return weights


def check_weight_values(weights):
    """scikit-learn's errors for NaN, infinite, negative and all-zero sample weights."""
    if np.isnan(weights).any():
        raise ValueError("Input sample_weight contains NaN.")
    if not np.isfinite(weights).all():
        raise ValueError("Input sample_weight contains infinity or a value too large for "
                         f"{weights.dtype}.")
    if (weights < 0).any():
        raise ValueError("sample_weight must be >= 0: negative weights are not supported")
    if not (weights > 0).any():
        raise ValueError("sample_weight must contain at least one non-zero number")


def check_replaced(name, given, held):
    """ValueError if the list `name` (coefs_ or intercepts_), whose arrays the user may replace,
    no longer fits the arrays the network holds: one per layer, each the held array itself or
    real numbers of its shape."""
    if len(given) != len(held):
        raise ValueError(f"{name} holds {len(given)} arrays; the network has {len(held)} layers")
    for i, (value, array) in enumerate(zip(given, held)):
        if value is array:
            continue
        value = np.asarray(value)
        if value.shape != array.shape or value.dtype.kind not in "biuf":
            raise ValueError(f"{name}[{i}] is a {value.dtype} array of shape {value.shape}; the "
                             f"network needs real numbers of shape {array.shape}")


def check_fits(name, values, dtype, why):
    """ValueError naming `values` (finite) if one would overflow in `dtype` (checked without a
    conversion, so without NumPy's warning)."""
    if not (np.dtype(dtype).itemsize >= values.dtype.itemsize or values.size == 0
            or float(np.max(np.abs(values))) <= float(np.finfo(dtype).max)):
        raise ValueError(f"Input {name} contains a value too large for dtype('{dtype}'), {why}.")


def batch_size(value, n):
    """The checked batch_size ("auto" or an int >= 1) for n samples, as scikit-learn takes it:
    "auto" is min(200, n), and a larger one is clipped to n with its warning."""
    if isinstance(value, str):  # "auto"
        return min(200, n)
    if value > n:
        warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to "
                      "be clipped", stacklevel=2)
    return int(np.clip(value, 1, n))
