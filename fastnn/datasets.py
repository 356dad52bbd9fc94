"""Data sets: the from-scratch classics, generated, and scikit-learn's bundled iris and digits.

spiral and vertical follow the nnfs book (`samples` points per class); iris and digits return
(X_train, X_test, y_train, y_test), split with stratification and scaled with statistics of the
training part only.
"""
import numpy as np


def _check(samples, classes):
    for name, value in (("samples", samples), ("classes", classes)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _per_class(samples, classes, random_state, points):
    """X (samples*classes, 2) float32 and labels y, class c's rows drawn by points(c, rng)."""
    _check(samples, classes)
    rng = np.random.default_rng(random_state)
    X = np.concatenate([points(c, rng) for c in range(classes)])
    return X.astype(np.float32), np.repeat(np.arange(classes), samples).astype(np.intp)


def spiral(samples=100, classes=3, noise=0.2, random_state=None):
    """`classes` interleaved spiral arms of `samples` points each: X (samples*classes, 2), y."""
    def arm(c, rng):
        radius = np.linspace(0.0, 1, samples)
        theta = np.linspace(c * 4, (c + 1) * 4, samples) + rng.standard_normal(samples) * noise
        return np.c_[radius * np.sin(theta * 2.5), radius * np.cos(theta * 2.5)]
    return _per_class(samples, classes, random_state, arm)


def vertical(samples=100, classes=3, random_state=None):
    """`classes` vertical stripes of `samples` Gaussian points each: X (samples*classes, 2), y."""
    def stripe(c, rng):
        return np.c_[rng.standard_normal(samples) * 0.1 + c / 3,
                     rng.standard_normal(samples) * 0.1 + 0.5]
    return _per_class(samples, classes, random_state, stripe)


def xor():
    """The four XOR points and their targets as a (4, 1) column."""
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([[0], [1], [1], [0]], dtype=np.float32)
    return X, y


def _split_and_scale(X, y, test_size, random_state, scale):
    from sklearn.model_selection import train_test_split
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=random_state, stratify=y)
    if scale:
        mean, std = X_train.mean(axis=0), X_train.std(axis=0)
        std[std == 0] = 1  # constant pixels of digits
        X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
    return (X_train.astype(np.float32), X_test.astype(np.float32),
            y_train.astype(np.intp), y_test.astype(np.intp))


def iris(test_size=0.25, random_state=0, scale=True):
    """scikit-learn's iris (150 x 4, 3 classes), standardized: X_train, X_test, y_train, y_test."""
    from sklearn.datasets import load_iris
    data = load_iris()
    return _split_and_scale(data.data, data.target, test_size, random_state, scale)


def digits(test_size=0.25, random_state=0, scale=True):
    """scikit-learn's 8x8 digits (1797 x 64, 10 classes), standardized:
    X_train, X_test, y_train, y_test."""
    from sklearn.datasets import load_digits
    data = load_digits()
    return _split_and_scale(data.data, data.target, test_size, random_state, scale)


def load(name, random_state=0):
    """(X_train, X_test, y_train, y_test) for a data set named on the command line."""
    if name in ("iris", "digits"):
        return globals()[name](random_state=random_state)
    if name in ("spiral", "vertical"):
        from sklearn.model_selection import train_test_split
        X, y = globals()[name](samples=100, classes=3, random_state=random_state)
        return tuple(train_test_split(X, y, test_size=0.25, random_state=random_state, stratify=y))
    if name == "xor":
        X, y = xor()
        return X, X, y, y
    raise ValueError(f"unknown data set {name!r}; choose from iris, digits, spiral, vertical, xor")
