"""Metrics computed from a network's raw outputs (logits or probabilities) and its targets."""
import numpy as np


def accuracy(outputs, target, threshold=0.5):
    """Fraction of correct predictions.

    Class labels (n,) or one-hot rows (n, c) against c > 1 outputs: argmax agreement.
    One output column (or multi-label): outputs above `threshold` against targets above 0.5,
    averaged over all entries. Pass threshold=0 for logits, 0.5 for probabilities.
    """
    outputs, target = np.asarray(outputs), np.asarray(target)
    if outputs.ndim == 2 and outputs.shape[1] > 1 and (target.ndim == 1 or target.shape == outputs.shape) \
            and not _multilabel(target):
        labels = target if target.ndim == 1 else target.argmax(axis=1)
        return float(np.mean(outputs.argmax(axis=1) == labels))
    target = target.reshape(outputs.shape)
    return float(np.mean((outputs > threshold) == (target > 0.5)))


def _multilabel(target):
    # Rows with several ones are multi-label targets, not one-hot classes.
    return target.ndim == 2 and target.shape[1] > 1 and np.any(target.sum(axis=1) > 1.0 + 1e-6)
