"""The compiled kernels, as Python sees them.

Each function validates its arguments (dtypes, shapes, contiguity, overlap of outputs with
inputs) in compiled code, raising TypeError or ValueError that names the argument, and then runs
a nogil loop or BLAS call on float32 or float64 data. Outputs are preallocated by the caller.
The NumPy twin of every function, same name and signature, is in fastnn.reference.
"""
from fastnn._kernels.activations import (
    identity_backward, identity_forward, leaky_relu_backward, leaky_relu_forward, relu_backward,
    relu_forward, sigmoid_backward, sigmoid_forward, softmax_backward, softmax_forward,
    tanh_backward, tanh_forward)
from fastnn._kernels.dense import dense_backward, dense_forward
from fastnn._kernels.losses import (
    binary_cross_entropy, categorical_cross_entropy, mean_absolute_error, mean_squared_error,
    sigmoid_binary_cross_entropy, softmax_cross_entropy, sum_of_squares)
from fastnn._kernels.optim import adagrad_update, adam_update, rmsprop_update, sgd_update
from fastnn.reference import ACTIVATIONS

__all__ = [
    "ACTIVATIONS",
    "identity_forward", "identity_backward", "relu_forward", "relu_backward",
    "leaky_relu_forward", "leaky_relu_backward", "sigmoid_forward", "sigmoid_backward",
    "tanh_forward", "tanh_backward", "softmax_forward", "softmax_backward",
    "dense_forward", "dense_backward",
    "softmax_cross_entropy", "categorical_cross_entropy", "sigmoid_binary_cross_entropy",
    "binary_cross_entropy", "mean_squared_error", "mean_absolute_error", "sum_of_squares",
    "sgd_update", "adam_update", "rmsprop_update", "adagrad_update",
]
