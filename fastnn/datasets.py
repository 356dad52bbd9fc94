"""Data sets: the from-scratch classics, generated, and scikit-learn's bundled iris and digits.

spiral and vertical follow the nnfs book (`samples` points per class); iris and digits return
(X_train, X_test, y_train, y_test), split with stratification and scaled with statistics of the
training part only.
"""
from __future__ import annotations

import numpy as np


def _check(samples, classes):
    for name, value in (("samples", samples), ("classes", classes)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _per_class(samples, classes, random_state, points):
    """X (samples*classes, 2) float32 and labels y, class c's rows drawn by points(c, rng)."""
    _check(samples, classes)
    rng = np.random.default_rng(random_state)
    X = np.concatenate([points(c, rng) for c in range(classes)])
    return X.astype(np.float32), np.repeat(np.arange(classes), samples).astype(np.intp)


def spiral(samples: int = 100, classes: int = 3, noise: float = 0.2,
           random_state: int | np.random.Generator | None = None,
           ) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one per class: the nnfs book's spiral data.

    Parameters
    ----------
    samples : int, default=100
        Points per class.
    classes : int, default=3
        Classes, one arm each.
    noise : float, default=0.2
        The standard deviation of the Gaussian noise added to each point's angle.
    random_state : int, numpy.random.Generator or None, default=None
        Seeds the noise (``numpy.random.default_rng(random_state)``).

    Returns
    -------
    X : numpy.ndarray
        (samples * classes, 2) float32 points, class by class.
    y : numpy.ndarray
        (samples * classes,) intp class labels 0 ... classes - 1.

    Raises
    ------
    ValueError
        If samples or classes is not a positive integer, or noise not a finite number >= 0.

    Examples
    --------
    >>> X, y = fnn.datasets.spiral(samples=50, classes=3, random_state=0)
    >>> X.shape, y.shape
    ((150, 2), (150,))
    >>> print(X.dtype)
    float32
    >>> np.bincount(y).tolist()
    [50, 50, 50]
    """
    import math
    if isinstance(noise, bool) or not isinstance(noise, (int, float, np.integer, np.floating)) \
            or not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")

    def arm(c, rng):
        radius = np.linspace(0.0, 1, samples)
        theta = np.linspace(c * 4, (c + 1) * 4, samples) + rng.standard_normal(samples) * noise
        return np.c_[radius * np.sin(theta * 2.5), radius * np.cos(theta * 2.5)]
    return _per_class(samples, classes, random_state, arm)


def vertical(samples: int = 100, classes: int = 3,
             random_state: int | np.random.Generator | None = None,
             ) -> tuple[np.ndarray, np.ndarray]:
    """Vertical stripes of Gaussian points, one per class: the nnfs book's vertical data.

    Class c's points are centred at (c / 3, 0.5), with a standard deviation of 0.1.

    Parameters
    ----------
    samples : int, default=100
        Points per class.
    classes : int, default=3
        Classes, one stripe each.
    random_state : int, numpy.random.Generator or None, default=None
        Seeds the points (``numpy.random.default_rng(random_state)``).

    Returns
    -------
    X : numpy.ndarray
        (samples * classes, 2) float32 points, class by class.
    y : numpy.ndarray
        (samples * classes,) intp class labels 0 ... classes - 1.

    Raises
    ------
    ValueError
        If samples or classes is not a positive integer.

    Examples
    --------
    >>> X, y = fnn.datasets.vertical(samples=10, classes=2, random_state=0)
    >>> X.shape, y.tolist()
    ((20, 2), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1])
    """
    def stripe(c, rng):
        return np.c_[rng.standard_normal(samples) * 0.1 + c / 3,
                     rng.standard_normal(samples) * 0.1 + 0.5]
    return _per_class(samples, classes, random_state, stripe)


def xor() -> tuple[np.ndarray, np.ndarray]:
    """The four XOR points and their targets.

    Returns
    -------
    X : numpy.ndarray
        (4, 2) float32: (0, 0), (0, 1), (1, 0), (1, 1).
    y : numpy.ndarray
        (4, 1) float32 column of their XOR: 0, 1, 1, 0.

    Examples
    --------
    >>> X, y = fnn.datasets.xor()
    >>> X.tolist(), y.ravel().tolist()
    ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0.0, 1.0, 1.0, 0.0])
    """
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


def iris(test_size: float | int = 0.25, random_state: int | None = 0,
         scale: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's bundled iris data (150 x 4, 3 classes), split and standardized.

    Parameters
    ----------
    test_size : float or int, default=0.25
        The test part: a fraction of the samples, or their number (train_test_split's).
    random_state : int or None, default=0
        Seeds the split, which is stratified by class.
    scale : bool, default=True
        Standardize each feature with the mean and standard deviation of the training part.

    Returns
    -------
    X_train, X_test : numpy.ndarray
        float32 features, (n_train, 4) and (n_test, 4).
    y_train, y_test : numpy.ndarray
        intp class labels 0, 1, 2.

    Raises
    ------
    ValueError
        If test_size does not leave at least one sample of each class in both parts
        (scikit-learn's train_test_split).

    Examples
    --------
    >>> X_train, X_test, y_train, y_test = fnn.datasets.iris()
    >>> X_train.shape, X_test.shape
    ((112, 4), (38, 4))
    >>> bool(np.allclose(X_train.mean(axis=0), 0, atol=1e-6)), round(float(X_train.std()), 4)
    (True, 1.0)
    """
    from sklearn.datasets import load_iris
    data = load_iris()
    return _split_and_scale(data.data, data.target, test_size, random_state, scale)


def digits(test_size: float | int = 0.25, random_state: int | None = 0,
           scale: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits (1797 x 64, 10 classes), split and standardized.

    Parameters
    ----------
    test_size : float or int, default=0.25
        The test part: a fraction of the samples, or their number (train_test_split's).
    random_state : int or None, default=0
        Seeds the split, which is stratified by class.
    scale : bool, default=True
        Standardize each pixel with the mean and standard deviation of the training part
        (a pixel constant there is only centred).

    Returns
    -------
    X_train, X_test : numpy.ndarray
        float32 pixels, (n_train, 64) and (n_test, 64).
    y_train, y_test : numpy.ndarray
        intp digits 0 ... 9.

    Raises
    ------
    ValueError
        If test_size does not leave at least one sample of each class in both parts
        (scikit-learn's train_test_split).

    Examples
    --------
    >>> X_train, X_test, y_train, y_test = fnn.datasets.digits()
    >>> X_train.shape, X_test.shape, int(y_train.max())
    ((1347, 64), (450, 64), 9)
    """
    from sklearn.datasets import load_digits
    data = load_digits()
    return _split_and_scale(data.data, data.target, test_size, random_state, scale)


def load(name: str, random_state: int | None = 0,
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A data set by name, split into training and test parts, as the command line loads it.

    iris and digits as their functions split them; spiral and vertical with 100 samples of
    each of 3 classes, a stratified quarter held out for testing; xor's four points as both
    parts.

    Parameters
    ----------
    name : str
        "iris", "digits", "spiral", "vertical" or "xor".
    random_state : int or None, default=0
        Seeds the data (spiral, vertical) and the split.

    Returns
    -------
    X_train, X_test, y_train, y_test : numpy.ndarray
        The parts.

    Raises
    ------
    ValueError
        For an unknown name.

    Examples
    --------
    >>> X_train, X_test, y_train, y_test = fnn.datasets.load("spiral")
    >>> X_train.shape, X_test.shape
    ((225, 2), (75, 2))
    """
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
