"""The compiled kernels, as Python sees them.

Each function validates its arguments (dtypes, shapes, contiguity, overlap of outputs with
inputs) in compiled code, raising TypeError or ValueError that names the argument, and then runs
a nogil loop or BLAS call on float32 or float64 data. The layers, the engine and the estimators
check the user's arrays once before calling them; the kernels check only what they need to run
safely. The functions come from the kernel build chosen for this CPU (`VARIANT`, see
`fastnn/_kernels/__init__.py`). The NumPy twin of every function, same name, signature and
meaning, is in fastnn.reference, and each function's docstring gives its formula.

Conventions:

- Outputs are preallocated by the caller (C-contiguous, of the inputs' dtype) and returned:
  `relu_forward(x, out)` returns out.
- `n_threads` (keyword) must be >= 1 (ValueError otherwise); a count above the processors
  this process may run on (OpenMP's omp_get_num_procs()) runs on that many, and a build without
  OpenMP on one thread.
- An activation with a hyperparameter (leaky_relu, elu) takes it as `alpha` after the arrays.

The functions, by family (`NAMES`):

- activations: `<name>_forward(x, out)` and `<name>_backward(y or x, dy, dx)` for each name
  of fastnn.registry.ACTIVATIONS (`ACTIVATIONS`), and dropout_forward;
- dense: dense_forward (GEMM, bias and a fused activation) and dense_backward;
- losses: `loss(pred, target, grad, sample_weight=None)` returning the weighted mean loss and
  writing its gradient, one per fastnn.losses class (and the sigmoid forms of binary
  cross-entropy);
- optim: `<name>_update(param, grad, *state)` for each fastnn.registry.OPTIMIZERS entry, in
  place, and grad_sum_squares and clip_gradient for gradient clipping;
- norm: batch_norm_forward, batch_norm_inference, batch_norm_backward, layer_norm_forward and
  layer_norm_backward;
- engine: all_finite.

Examples
--------
>>> x = np.array([[-1.0, 2.0]])
>>> fnn.kernels.relu_forward(x, np.empty_like(x)).tolist()
[[0.0, 2.0]]
>>> fnn.kernels.relu_forward(x, np.empty((1, 2), np.float32))
Traceback (most recent call last):
    ...
TypeError: ...
>>> fnn.kernels.VARIANT in ("baseline", "x86_64_v3", "x86_64_v4")
True
"""
from fastnn import _kernels, registry
from fastnn.reference import ACTIVATIONS

NAMES = {
    "activations": [name + suffix for name in ACTIVATIONS for suffix in ("_forward", "_backward")]
                   + ["dropout_forward"],
    "dense": ["dense_forward", "dense_backward"],
    "engine": ["all_finite"],
    "losses": [
        "softmax_cross_entropy", "categorical_cross_entropy", "sigmoid_binary_cross_entropy",
        "sigmoid_binary_cross_entropy_sum", "binary_cross_entropy", "mean_squared_error",
        "mean_absolute_error", "sum_of_squares", "huber", "poisson",
        "half_poisson_deviance"],
    "optim": [entry.kernel for entry in registry.OPTIMIZERS]
             + ["grad_sum_squares", "clip_gradient"],
    "norm": ["batch_norm_forward", "batch_norm_inference", "batch_norm_backward",
             "layer_norm_forward", "layer_norm_backward"],
}

#: The kernel build in use: "baseline", "x86_64_v3" (AVX2, FMA) or "x86_64_v4" (AVX-512).
VARIANT = _kernels.variant()

for _module, _names in NAMES.items():
    _compiled = _kernels.load(_module)
    globals().update({name: getattr(_compiled, name) for name in _names})

__all__ = ["ACTIVATIONS", "VARIANT"] + [name for names in NAMES.values() for name in names]
