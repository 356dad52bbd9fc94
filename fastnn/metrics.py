"""Metrics: accuracy from a network's raw outputs (the training loop's), and the metrics that
Network.fit and Network.evaluate take by name or as callables (`metrics=[...]`).

A named metric is computed from the network's predictions (Network.predict's outputs: class
probabilities for the classification losses, values for regression) with scikit-learn's
functions, so the numbers are scikit-learn's:

- classifiers ("accuracy"/"acc": the fraction right, over every output when there are several
  binary ones; "precision", "recall", "f1"/"f1_score", "auc"): with one
  output (binary cross-entropy) or two classes, the positive class is 1 (a probability above
  0.5 predicts it; sklearn's average="binary"); with three or more classes (softmax) or several
  binary outputs (multi-label), the macro average over the classes (sklearn's average="macro",
  zero_division=0; AUC one-vs-rest over the classes present in y_true). An AUC that is not
  defined (one class in y_true) is NaN.
- regression ("mae"/"mean_absolute_error", "mse"/"mean_squared_error",
  "rmse"/"root_mean_squared_error", "r2"/"r2_score"): over all outputs (uniform average).

Metrics are not weighted by sample weights (as Keras' `metrics`). A callable metric(y_true,
y_pred) gets the targets as fit checked them (class labels, or rows) and the predictions, and
returns a number; it is logged under its __name__.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Metric = Callable[[np.ndarray, np.ndarray], float]


def accuracy(outputs, target, mode):
    """Fraction of correct predictions.

    mode "argmax": the predicted class is the largest output; targets are class labels (n,) or
    one-hot/probability rows (n, c), whose class is their largest entry.
    mode "logits" / "probabilities": each output is a yes/no prediction, yes above 0 / 0.5,
    against targets above 0.5; averaged over all entries (binary and multi-label).
    """
    outputs, target = np.asarray(outputs), np.asarray(target)
    if mode == "argmax":
        labels = target if target.ndim == 1 else target.argmax(axis=1)
        return float(np.mean(outputs.argmax(axis=1) == labels))
    if mode not in ("logits", "probabilities"):
        raise ValueError(f"mode must be 'argmax', 'logits' or 'probabilities', got {mode!r}")
    threshold = 0.0 if mode == "logits" else 0.5
    return float(np.mean((outputs > threshold) == (target.reshape(outputs.shape) > 0.5)))


def _classes(y_true, y_pred, kind):
    """(true classes, predicted classes, scores, average) for a "categorical" (softmax) or
    "binary" (sigmoid outputs) network: labels (n,) for softmax outputs, scored by their
    probabilities; 0/1 indicators, (n,) for one binary output, (n, k) for k."""
    if kind == "categorical":
        true = y_true if y_true.ndim == 1 else y_true.argmax(axis=1)
        if y_pred.shape[1] == 2:
            return true, y_pred.argmax(axis=1), y_pred[:, 1], "binary"
        return true, y_pred.argmax(axis=1), y_pred, "macro"
    true = (y_true.reshape(y_pred.shape) > 0.5).astype(np.intp)
    pred = (y_pred > 0.5).astype(np.intp)
    if y_pred.shape[1] == 1:
        return true[:, 0], pred[:, 0], y_pred[:, 0], "binary"
    return true, pred, y_pred, "macro"


def auc(true, scores, average):
    """ROC AUC of _classes' output: binary, or the macro average one-vs-rest (softmax) or over
    the outputs (multi-label), over the classes whose AUC is defined; NaN if none is."""
    from sklearn.metrics import roc_auc_score
    if average == "binary":
        columns = [(true, scores)]
    elif true.ndim == 1:
        columns = [(true == k, scores[:, k]) for k in range(scores.shape[1])]
    else:
        columns = [(true[:, k], scores[:, k]) for k in range(scores.shape[1])]
    values = [roc_auc_score(t, s) for t, s in columns if 0 < np.count_nonzero(t) < len(t)]
    return float(np.mean(values)) if values else float("nan")


def _classification(name, kind):
    from sklearn import metrics as M

    def metric(y_true, y_pred):
        true, pred, scores, average = _classes(y_true, y_pred, kind)
        if name == "accuracy":  # over every output, as the logs' accuracy (Keras' binary one)
            return float(np.mean(true == pred))
        if name == "auc":
            return auc(true, scores, average)
        function = {"precision": M.precision_score, "recall": M.recall_score,
                    "f1": M.f1_score}[name]
        return float(function(true, pred, average=average, zero_division=0))
    metric.__name__ = name
    return metric


def _regression(name):
    from sklearn import metrics as M
    function = {"mae": M.mean_absolute_error, "mse": M.mean_squared_error,
                "rmse": M.root_mean_squared_error, "r2": M.r2_score}[name]
    return lambda y_true, y_pred: float(function(y_true.reshape(y_pred.shape), y_pred))


# Each name (Keras' and the common aliases) and the metric it means.
CLASSIFICATION = {"accuracy": "accuracy", "acc": "accuracy", "precision": "precision",
                  "recall": "recall", "f1": "f1", "f1_score": "f1", "auc": "auc"}
REGRESSION = {"mae": "mae", "mean_absolute_error": "mae", "mse": "mse",
              "mean_squared_error": "mse", "rmse": "rmse", "root_mean_squared_error": "rmse",
              "r2": "r2", "r2_score": "r2"}


# The keys fit's logs hold without metrics (and a classifier's "accuracy").
RESERVED = ("loss", "accuracy", "penalty", "seconds", "learning_rate")


def get(metrics: Sequence[str | Metric] | None, kind: str | None) -> list[tuple[str, Metric]]:
    """The metrics that `metrics=[...]` names, as functions, for fit and evaluate.

    A name is one of the module's (Keras' names and the common aliases) and becomes a function
    of scikit-learn's; a callable is taken as it is, logged under its ``__name__``.
    "accuracy" is left out for a classifier, whose logs hold it already.

    Parameters
    ----------
    metrics : sequence of str or callable, or None
        fit's and evaluate's `metrics` argument: a list (or tuple) of names and callables
        ``metric(y_true, y_pred)``; None for none.
    kind : str or None
        What the network's predictions are: "categorical" (class probabilities of a softmax),
        "binary" (sigmoid outputs) or None (regression); Network.metric_kind() tells.

    Returns
    -------
    list of (str, callable)
        (log name, ``metric(y_true, y_pred)``) pairs, in the order given.

    Raises
    ------
    TypeError
        If metrics is not a list or tuple (a single name, say), or holds something that is
        neither a name nor a callable.
    ValueError
        For a kind other than those, an unknown name, a classification metric of a
        regression network (or the other way round), a name given twice, or a name the logs
        hold already ("loss", "penalty", "seconds", "learning_rate", "val_...").

    Examples
    --------
    >>> [name for name, _ in fnn.metrics.get(["accuracy", "f1", "auc"], "categorical")]
    ['f1', 'auc']
    >>> [name for name, _ in fnn.metrics.get(["mae", "r2"], None)]
    ['mae', 'r2']
    """
    if kind not in ("categorical", "binary", None):
        raise ValueError(f"kind must be 'categorical', 'binary' or None, got {kind!r}")
    classification = kind is not None
    if metrics is None:
        return []
    if isinstance(metrics, str) or callable(metrics) or not isinstance(metrics, (list, tuple)):
        raise TypeError(f"metrics must be a list of metric names or callables, got "
                        f"{type(metrics).__name__}")
    chosen = {}
    for metric in metrics:
        if isinstance(metric, str):
            if metric == "accuracy" and classification:
                continue  # a classifier's logs hold it already
            if metric in CLASSIFICATION or metric in REGRESSION:
                if (metric in CLASSIFICATION) != bool(classification):
                    family = "classification" if metric in CLASSIFICATION else "regression"
                    raise ValueError(f"metric {metric!r} is a {family} metric; this network's "
                                     f"loss is {'not ' if family == 'classification' else ''}a "
                                     f"classification loss")
                name, function = metric, (_classification(CLASSIFICATION[metric], kind)
                                          if classification else _regression(REGRESSION[metric]))
            else:
                known = sorted(CLASSIFICATION if classification else REGRESSION)
                raise ValueError(f"unknown metric {metric!r}; this network's loss takes {known} "
                                 f"or callables metric(y_true, y_pred)")
        elif callable(metric):
            name, function = getattr(metric, "__name__", type(metric).__name__), metric
        else:
            raise TypeError(f"metrics must hold metric names or callables, got "
                            f"{type(metric).__name__}")
        if name in chosen:
            raise ValueError(f"metrics names {name!r} twice")
        if name in RESERVED or name.startswith("val_"):
            raise ValueError(f"a metric may not be named {name!r}: the logs hold that key "
                             f"already ({sorted(RESERVED)} and val_*); give the function "
                             f"another __name__")
        chosen[name] = function
    return list(chosen.items())


def compute(metrics: Sequence[tuple[str, Metric]], y_true: np.ndarray,
            y_pred: np.ndarray) -> dict[str, float]:
    """The value of each metric on targets and predictions.

    Parameters
    ----------
    metrics : sequence of (str, callable)
        What get returns.
    y_true : numpy.ndarray
        The targets, as fit checked them: class labels (n_samples,) or rows.
    y_pred : numpy.ndarray
        The predictions, Network.predict's outputs (n_samples, n_outputs).

    Returns
    -------
    dict
        {name: value as a float}.

    Raises
    ------
    TypeError
        If a metric returns something that is not a number.

    Examples
    --------
    >>> metrics = fnn.metrics.get(["f1", "auc"], "categorical")
    >>> y_true = np.array([0, 1, 1, 0])
    >>> y_pred = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.1, 0.9]])
    >>> fnn.metrics.compute(metrics, y_true, y_pred)
    {'f1': 0.5, 'auc': 0.5}
    """
    values = {}
    for name, function in metrics:
        value = function(y_true, y_pred)
        try:
            values[name] = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"metric {name!r} must return a number, got "
                            f"{type(value).__name__}") from None
    return values
