"""Checks of arguments at the Python boundary, each raising ValueError or TypeError that names
the argument. Python and NumPy numbers are accepted alike; booleans are not numbers here.
check_x and check_xy convert a network's data once (Network's fit, train_step, predict and
evaluate, the estimators, gradcheck), so that the training loop and the kernels can trust it."""
import numbers

import numpy as np

from fastnn import kernels, sparse


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


def float_dtype(dtype, name="dtype"):
    """dtype as float32 or float64 (a ValueError for any other)."""
    try:
        value = np.dtype(dtype)
    except TypeError:
        value = None
    if value not in (np.float32, np.float64):
        raise ValueError(f"{name} must be float32 or float64, got {dtype!r}")
    return value


def real_array(name, value, ndim=None):
    """value as an ndarray of real numbers (bool, integer or float), with `ndim` dimensions
    (an int or a tuple of allowed counts)."""
    if sparse.is_sparse(value):
        raise TypeError(f"{name} must be a dense array, got a sparse {type(value).__name__} "
                        f"(only X may be sparse; convert it with {name}.toarray())")
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


def check_x(net, X, name="X", stream=False, finite=True):
    """X as a C-contiguous array in the network's dtype: 2-dimensional, with samples, the
    network's number of features and finite values. stream=True (fit, predict, evaluate): a
    C-contiguous float64 X for a float32 network stays as it is, for the engine and
    training.gather_rows to convert batch by batch (no full copy of a large or memory-mapped X);
    it must be finite in float32 too. finite=False (with stream): X's values are not checked
    here, but by the caller, in the pass it makes over X anyway (fit's first epoch, predict's
    chunks). A scipy.sparse X becomes check_sparse_x's CSR (its values always
    checked here: they are few)."""
    if sparse.is_sparse(X):
        return check_sparse_x(net, X, name)
    check_columns(net, X, name)
    X = real_array(name, X)
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-dimensional (samples, features), got shape {X.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"{name} has no samples")
    if X.shape[1] != net.n_features:
        raise ValueError(f"{name} has {X.shape[1]} features, but the network takes "
                         f"{net.n_features}")
    if stream and not finite and (X.dtype == net.dtype or streams(net, X)):
        return X if X.flags.c_contiguous else np.ascontiguousarray(X)
    if stream and streams(net, X):
        step = max(1, STREAM_CHECK_VALUES // X.shape[1])
        with np.errstate(over="ignore"):  # past float32's range: infinity, refused here
            finite = all(kernels.all_finite(np.asarray(X[i:i + step], net.dtype))
                         for i in range(0, len(X), step))
        if not finite:
            raise ValueError(f"{name} contains NaN or infinity")
        return X
    X = np.ascontiguousarray(X, dtype=net.dtype)
    if not kernels.all_finite(X):
        raise ValueError(f"{name} contains NaN or infinity")
    return X


def check_columns(net, X, name="X"):
    """ValueError if X has named columns (a pandas DataFrame) other than the network's
    feature_names, in their order (as scikit-learn checks feature_names_in_)."""
    columns = getattr(X, "columns", None)
    if columns is None or net.feature_names is None:
        return
    columns = [str(c) for c in columns]
    if columns != net.feature_names:
        missing = [c for c in net.feature_names if c not in columns]
        raise ValueError(f"{name}'s columns must be the network's feature_names in their order "
                         f"({', '.join(net.feature_names)}), got {', '.join(columns)}"
                         + (f" (missing {', '.join(missing)})" if missing else "")
                         + f": pass {name}[network.feature_names]")


def _compressed_structure(name, indptr, indices, n_major, n_minor):
    """indptr (n_major + 1,) rising from 0 to len(indices), indices in [0, n_minor): checked
    before scipy converts or reads them (its C++ routines trust them)."""
    if indptr.ndim != 1 or len(indptr) != n_major + 1:
        raise ValueError(f"{name}.indptr must have {n_major + 1} entries, got shape "
                         f"{indptr.shape}")
    if indptr[0] != 0 or indptr[-1] != len(indices) or np.any(np.diff(indptr) < 0):
        raise ValueError(f"{name}.indptr must rise from 0 to the number of stored values "
                         f"({len(indices)})")
    if len(indices) and (indices.min() < 0 or indices.max() >= n_minor):
        raise ValueError(f"{name}.indices must be in [0, {n_minor})")


def check_sparse_structure(X, name="X"):
    """ValueError (TypeError for index arrays that are not integers) unless the index arrays of
    a 2-dimensional scipy.sparse X (CSR, CSC, BSR or COO) fit its shape and its stored values:
    checked before scipy converts or reads them, as its C++ routines trust them (DIA, LIL and
    DOK convert in Python). The estimators call it before scikit-learn's checks convert X."""
    if X.ndim != 2 or X.format not in ("csr", "csc", "bsr", "coo"):
        return
    n, k = X.shape
    if X.format == "coo":
        index = dict(zip(("row", "col"), X.coords if hasattr(X, "coords") else (X.row, X.col)))
    else:
        index = {"indptr": X.indptr, "indices": X.indices}
    for key, array in index.items():
        if not isinstance(array, np.ndarray) or array.dtype.kind not in "iu":
            raise TypeError(f"{name}.{key} must be an array of integers, got "
                            f"{getattr(array, 'dtype', type(array).__name__)}")
    data = X.data
    if X.format in ("csr", "csc"):
        major, minor = (n, k) if X.format == "csr" else (k, n)
        _compressed_structure(name, X.indptr, X.indices, major, minor)
        if data.ndim != 1 or len(data) != len(X.indices):
            raise ValueError(f"{name}.data and {name}.indices must have one entry per stored "
                             f"value, got shapes {data.shape} and {X.indices.shape}")
    elif X.format == "bsr":
        if data.ndim != 3 or min(data.shape[1:]) < 1 or n % data.shape[1] or k % data.shape[2]:
            raise ValueError(f"{name}.data must hold blocks (stored blocks, rows, columns) that "
                             f"tile the shape {X.shape}, got shape {data.shape}")
        _compressed_structure(name, X.indptr, X.indices, n // data.shape[1], k // data.shape[2])
        if len(data) != len(X.indices):
            raise ValueError(f"{name}.data and {name}.indices must have one entry per stored "
                             f"block, got {len(data)} and {len(X.indices)}")
    else:
        row, col = index["row"], index["col"]
        if not (row.ndim == col.ndim == data.ndim == 1 and len(row) == len(col) == len(data)):
            raise ValueError(f"{name}.row, .col and .data must have one entry per stored value")
        if len(row) and (row.min() < 0 or row.max() >= n or col.min() < 0 or col.max() >= k):
            raise ValueError(f"{name} has stored values outside its shape {X.shape}")


def check_sparse_x(net, X, name="X"):
    """A scipy.sparse X (matrix or array, any format) as a fastnn.sparse.CSR of its own: its
    structure checked before scipy or a kernel reads it (check_sparse_structure), converted to
    CSR at most once (CSC -> CSR), its index arrays copied (so that no other reference can change
    them under a kernel), its values in the network's dtype (copied only when the dtype
    differs), finite, its shape checked. Duplicate column indices within a row are kept: the
    kernels add them up, as scipy's products do."""
    if isinstance(X, sparse.CSR) and X.dtype == net.dtype and X.shape[1] == net.n_features:
        return X  # checked already (fit's validation data, a split)
    if not net.train_layers[0].takes_sparse:
        raise ValueError(f"sparse {name} needs a network whose first layer is Dense, not "
                         f"{type(net.train_layers[0]).__name__}")
    if isinstance(X, sparse.CSR):  # checked for another dtype or width: checked again
        X = X.to_scipy()
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-dimensional (samples, features), got shape {X.shape}")
    if X.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {X.dtype}")
    n, k = X.shape
    if n == 0:
        raise ValueError(f"{name} has no samples")
    if k != net.n_features:
        raise ValueError(f"{name} has {k} features, but the network's first Dense layer takes "
                         f"{net.n_features}")
    check_sparse_structure(X, name)
    shared = X.format == "csr"  # tocsr() returns a CSR as it is: its arrays are the caller's
    X = X.tocsr()
    indptr, indices = X.indptr, X.indices
    if not (indptr.dtype == indices.dtype and indptr.dtype in (np.int32, np.int64)):
        indptr, indices = indptr.astype(np.int64), indices.astype(np.int64)
    elif shared:
        indptr, indices = indptr.copy(), indices.copy()
    data = np.ascontiguousarray(X.data, dtype=net.dtype)
    if not kernels.all_finite(data):
        raise ValueError(f"{name} contains NaN or infinity")
    return sparse.CSR(np.ascontiguousarray(indptr), np.ascontiguousarray(indices), data, (n, k))


STREAM_CHECK_VALUES = 2**20  # values per chunk of the finiteness check of a streamed X (4 MB)


def streams(net, X):
    """Whether X (checked) is read as it is by a network in another dtype, converted batch by
    batch: a C-contiguous float64 array for a float32 network."""
    return (X.dtype == np.float64 and net.dtype == np.float32 and X.flags.c_contiguous)


def check_xy(net, X, y, sample_weight=None, x_name="X", y_name="y", stream=False,
             finite=True):
    """(X, y, sample_weight) checked and converted for the network's training loss, as fit,
    evaluate, train_step and the estimators take them: X as check_x (with `stream` and
    `finite`); y class labels in
    [0, n_outputs) or targets of n_outputs columns, as the loss prepares them; sample_weight
    (optional) finite, >= 0, not all zero, in the network's dtype."""
    X, loss = check_x(net, X, x_name, stream, finite), net.train_loss
    y = real_array(y_name, y, (1, 2))
    if len(y) != len(X):
        raise ValueError(f"{x_name} has {len(X)} samples but {y_name} has {len(y)}")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{y_name} contains NaN or infinity")
    if loss.takes_labels and y.ndim == 1:
        if y.dtype.kind == "f" and np.any(y != np.round(y)):
            raise ValueError(f"{y_name} holds class labels, which must be whole numbers")
        if y.min() < 0 or y.max() >= net.n_outputs:
            raise ValueError(f"{y_name} holds class labels, which must be in "
                             f"[0, {net.n_outputs}) for {net.n_outputs} outputs; got "
                             f"{y.min()}..{y.max()}")
    else:
        width = 1 if y.ndim == 1 else y.shape[1]
        if width != net.n_outputs:
            raise ValueError(f"{y_name} must have shape ({len(X)}, {net.n_outputs})"
                             f"{' or (%d,)' % len(X) if net.n_outputs == 1 else ''} or hold "
                             f"class labels, got {y.shape}")
        loss.check_target(y, y_name)
    y = loss.prepare_target(y, net.dtype)
    if sample_weight is not None:
        sample_weight = real_array("sample_weight", sample_weight, 1)
        if sample_weight.shape != (len(X),):
            raise ValueError(f"sample_weight must have shape ({len(X)},), "
                             f"got {sample_weight.shape}")
        sample_weight = np.ascontiguousarray(sample_weight, dtype=net.dtype)
        if not np.all(np.isfinite(sample_weight)) or np.any(sample_weight < 0):
            raise ValueError("sample_weight must hold finite numbers >= 0")
        if not np.any(sample_weight > 0):
            raise ValueError("sample_weight is all zero: no sample would count")
    return X, y, sample_weight


def class_weight(net, class_weight):
    """fit's class_weight (a dict class -> weight >= 0) checked against the network: its classes
    are 0..n_outputs-1 for the categorical losses, 0 and 1 for one binary output; as
    {class: float}."""
    kind = net.metric_kind()
    if kind is None:
        raise ValueError(f"class_weight needs a classification loss, not "
                         f"{type(net.loss).__name__} (use sample_weight)")
    if kind == "binary" and net.n_outputs != 1:
        raise ValueError(f"class_weight needs one class per sample: a binary cross-entropy "
                         f"network has {net.n_outputs} outputs (multi-label; use sample_weight)")
    if not isinstance(class_weight, dict):
        raise TypeError(f"class_weight must be a dict class -> weight, got "
                        f"{type(class_weight).__name__}")
    n_classes = 2 if kind == "binary" else net.n_outputs
    weights = {}
    for key, value in class_weight.items():
        if not (is_integer(key) and 0 <= key < n_classes):
            raise ValueError(f"class_weight has the key {key!r}, which is not a class of this "
                             f"network (the classes are 0..{n_classes - 1})")
        weights[int(key)] = real(f"class_weight[{key!r}]", value, 0)
    return weights


def class_sample_weights(net, weights, y, sample_weight, rows=None):
    """The sample weights that class_weight's checked `weights` give targets y (checked, as
    check_xy returns them), times sample_weight if given; a class the dict leaves out weighs 1
    (Keras). A sample's class: its label, the largest entry of its one-hot row, or its binary
    target rounded. rows: the training rows (a validation split's), one of which must weigh
    more than zero."""
    if y.ndim == 1:
        classes = y
    elif net.metric_kind() == "categorical":
        classes = y.argmax(axis=1)
    else:
        classes = np.round(y[:, 0]).astype(np.intp)
    table = np.ones(max(net.n_outputs, 2), net.dtype)
    for key, value in weights.items():
        with np.errstate(over="ignore"):
            table[key] = value
        if not np.isfinite(table[key]):
            raise ValueError(f"class_weight[{key!r}]={value!r} is not a finite {net.dtype} "
                             f"(the network's dtype)")
    result = table[classes]
    if sample_weight is not None:
        with np.errstate(over="ignore"):
            result *= sample_weight
        if not np.isfinite(result).all():
            raise ValueError(f"class_weight times sample_weight overflows {net.dtype} (the "
                             f"network's dtype)")
    if not np.any((result if rows is None else result[rows]) > 0):
        raise ValueError("class_weight (with sample_weight) weighs every training sample zero: "
                         "no sample would count")
    return np.ascontiguousarray(result)
