"""scikit-learn's checks of the estimators' X and y, with a fast path for the inputs that
partial_fit gets thousands of times (streaming, Dask's Incremental): NumPy arrays of a model
already fitted. The fast path accepts only what scikit-learn's checks would pass through
unchanged; anything else, and so every input they refuse, goes to scikit-learn's functions,
which convert it or raise their own errors.
"""
import numpy as np
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import validate_data as sklearn_validate_data

from fastnn import sparse
from fastnn.validation import check_sparse_structure


def validate_data(estimator, X, y, reset, **checks):
    """sklearn.utils.validation.validate_data(estimator, X, y, reset=reset, **checks) for the
    estimators' checks (multi_output=True, dtype float64 or float32). Without reset, a float
    2-D ndarray X of the fitted number of features, a model fitted without feature names, and
    a 1-D or 2-D ndarray y of numbers or strings, as long as X, all finite: returned as they
    are (what scikit-learn returns for them), after the same checks in a few microseconds."""
    if not reset and _plain(estimator, X, y):
        return X, y
    check_sparse(X)
    return sklearn_validate_data(estimator, X, y, reset=reset, **checks)


def check_sparse(X):
    """A scipy.sparse X's index arrays checked against its shape before scikit-learn's checks
    convert it (scipy's conversions trust them: a row index out of range there is a crash)."""
    if sparse.is_sparse(X):
        check_sparse_structure(X)


def _plain(estimator, X, y):
    if type(X) is not np.ndarray or type(y) is not np.ndarray:  # not sparse, frames, memmaps
        return False
    if X.ndim != 2 or X.dtype not in (np.float64, np.float32) or not 0 < len(X) == len(y):
        return False
    if X.shape[1] != getattr(estimator, "n_features_in_", None) or \
            hasattr(estimator, "feature_names_in_"):
        return False
    if y.ndim not in (1, 2) or y.shape[-1] == 0 or y.dtype.kind not in "biufU":
        return False
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        return False
    return bool(np.isfinite(X).all())


def labels(y):
    """unique_labels(y), the sorted labels of a 1-D y of integers, booleans, strings or whole
    floats by np.unique: unique_labels takes 0.3 ms to tell their type. Other y (floats that
    are not labels, objects, label indicator matrices) go to unique_labels, which raises for
    what is not a classification target. A list of numbers counts as its array."""
    if not isinstance(y, np.ndarray) and isinstance(y, (list, tuple)):
        array = np.asarray(y)
        kinds = "biuf"  # strings mixed with numbers would silently become strings
    else:
        array, kinds = y, "biufU"
    if isinstance(array, np.ndarray) and array.ndim == 1 and array.size and \
            array.dtype.kind in kinds:
        found = np.unique(array)
        if found.dtype.kind != "f" or (np.isfinite(found).all()
                                        and np.array_equal(found, np.floor(found))):
            return found
    return unique_labels(y)


def all_known(labels, known):
    """Whether every one of the sorted unique `labels` is among the sorted `known` classes, as
    np.setdiff1d(labels, known) is empty (which takes 30 us): by binary search when both hold
    numbers or both strings."""
    numbers = labels.dtype.kind in "biuf" and known.dtype.kind in "biuf"
    if not (numbers or labels.dtype.kind == known.dtype.kind == "U"):
        return not len(np.setdiff1d(labels, known, assume_unique=True))
    where = np.minimum(np.searchsorted(known, labels), len(known) - 1)
    return bool(np.all(known[where] == labels))
