"""Metrics computed from a network's raw outputs (logits or probabilities) and its targets."""
import numpy as np


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
