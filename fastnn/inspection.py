"""Inspection of a Network, as Keras offers it: the summary table and set_weights' checks
(Network.summary and Network.set_weights call these with the network checked and locked)."""
import numpy as np

from fastnn import kernels
from fastnn import layers as L
from fastnn import validation as V


def set_weights(net, weights):
    """Write `weights` into the layers' arrays (layer.weights, in order) after checking every
    one of them: a list of as many arrays, each of its target's shape, castable to its dtype,
    finite, and a variance (BatchNorm's running_var, Normalization's) >= 0."""
    targets = [w for layer in net.layers for w in layer.weights]
    if isinstance(weights, np.ndarray) or not isinstance(weights, (list, tuple)):
        raise TypeError(f"weights must be a list of arrays, got {type(weights).__name__}")
    if len(weights) != len(targets):
        raise ValueError(f"weights must hold {len(targets)} arrays (get_weights' order), "
                         f"got {len(weights)}")
    variances = {id(layer.running_var) for layer in net.layers if isinstance(layer, L.BatchNorm)}
    variances |= {id(layer.variance) for layer in net.layers if isinstance(layer, L.Normalization)}
    values = []
    for i, (target, value) in enumerate(zip(targets, weights)):
        value = V.real_array(f"weights[{i}]", value)
        if value.shape != target.shape:
            raise ValueError(f"weights[{i}] must have shape {target.shape}, got {value.shape}")
        if not np.can_cast(value.dtype, target.dtype, casting="same_kind"):
            raise TypeError(f"weights[{i}] has dtype {value.dtype}, which does not cast to "
                            f"{target.dtype}")
        with np.errstate(over="ignore"):  # a value too large for dtype: inf, named below
            value = value.astype(target.dtype, copy=False)
        if not kernels.all_finite(np.ascontiguousarray(value)):
            raise ValueError(f"weights[{i}] holds NaN or infinity (in {target.dtype})")
        if id(target) in variances and not (value >= 0).all():
            raise ValueError(f"weights[{i}] is a variance (a BatchNorm's running_var or a "
                                 f"Normalization's variance), which must be >= 0")
        values.append(value)
    for target, value in zip(targets, values):
        target[...] = value


def summary(net, print_fn=None, line_length=None):
    """Network.summary's table, line by line to print_fn (default print)."""
    print_fn = print if print_fn is None else print_fn
    if not callable(print_fn):
        raise TypeError(f"print_fn must be callable, got {type(print_fn).__name__}")
    width = 65 if line_length is None else V.integer("line_length", line_length, 40)
    columns = (0, int(width * 0.45), int(width * 0.8), width)

    def row(*cells):
        line = ""
        for cell, start, end in zip(cells, columns, columns[1:]):
            line = (line + " " * max(0, start - len(line)) + str(cell))[:end - 1].ljust(end - 1)
        return line.rstrip()

    lines = [f"Network: loss={net.loss!r}, optimizer={net.optimizer!r}", "_" * width,
             row("Layer (type)", "Output Shape", "Param #"), "=" * width]
    units = net.n_features
    trainable = non_trainable = 0
    for i, layer in enumerate(net.layers):
        units = layer.n_out if isinstance(layer, L.Dense) else units
        count = sum(int(p.size) for p in layer.parameters())
        fixed = sum(int(w.size) for w in layer.non_trainable_weights)
        trainable, non_trainable = trainable + count, non_trainable + fixed
        lines.append(row(f"layers[{i}] ({type(layer).__name__})", f"(None, {units})",
                         f"{count + fixed:,}"))
    lines += ["=" * width, f"Total params: {trainable + non_trainable:,}",
              f"Trainable params: {trainable:,}", f"Non-trainable params: {non_trainable:,}",
              "_" * width]
    for line in lines:
        print_fn(line)
