"""Losses: each returns the mean loss and writes its gradient w.r.t. the prediction.

All take a 2-D prediction (n, c), a target, a preallocated `grad` of the prediction's shape and
optional per-sample weights w (n,). grad may be the prediction itself (in place); any other
memory it shares with the prediction, the target or the weights is refused (ValueError naming
both). The mean is weighted, sum_i w_i * loss_i / sum_i w_i (plain mean without weights);
loss_i is summed over the classes for the cross-entropies, sigmoid_binary_cross_entropy_sum,
sum_of_squares and half_poisson_deviance, and averaged over the c outputs for the element-wise
losses (binary cross-entropies, MSE, MAE, Huber, Poisson), as Keras does.

  softmax_cross_entropy           from logits via log-sum-exp, grad = (softmax(z) - y) / n
  categorical_cross_entropy       on probabilities, log of p clipped to [eps, 1 - eps]
  sigmoid_binary_cross_entropy    from logits: max(z, 0) - z*y + log1p(exp(-|z|))
  sigmoid_binary_cross_entropy_sum  the same summed over the outputs (scikit-learn's MLP)
  binary_cross_entropy            on probabilities, clipped like categorical_cross_entropy
  mean_squared_error, mean_absolute_error, and sum_of_squares: 0.5 * sum_j (p - y)^2 per sample
  huber                           0.5 r^2 for |r| <= delta, else delta (|r| - 0.5 delta); r = p - y
  poisson                         from log rates z: exp(z) - y z (PyTorch's PoissonNLLLoss)
  half_poisson_deviance           from log means z: exp(z) - y z + y log y - y, summed over the
                                  outputs (scikit-learn's MLPRegressor(loss="poisson"))

Targets are class labels (integer array of shape (n,)) for the two categorical losses, or an
array of the prediction's shape and dtype (one-hot rows, probabilities or values).
`n_threads` splits the rows over OpenMP threads where the build has OpenMP. It is an integer
>= 1; a count above the processors this process may run on (omp_get_num_procs()), however large,
runs on that many, and a build without OpenMP on one thread.
"""
from fastnn._kernels import load

cimport numpy as cnp

from fastnn._kernels._checks cimport (Span, data_or_null, float_typenum, input_array,
                                      label_array, output_array, same_shape, sample_weights, shape,
                                      span, spans_apart, thread_count)
from fastnn._kernels._loops cimport KernelLoops, dtype_index, kernel_table
from fastnn._kernels._loss_core cimport (BCE, CATEGORICAL_CE, HALF_POISSON_DEVIANCE, HUBER, MAE,
                                         MSE, POISSON, SIGMOID_BCE, SIGMOID_BCE_SUM, SOFTMAX_CE,
                                         SUM_OF_SQUARES)

cnp.import_array()
cdef const KernelLoops* loops = kernel_table(load("kernel_loops"))

cdef double _loss(int kind, object pred, str pred_name, object target, object grad,
                  object sample_weight, double eps, object threads) except? -1:
    cdef int n_threads = thread_count(threads)
    cdef int t = float_typenum(pred, pred_name)
    cdef cnp.ndarray za = input_array(pred, pred_name, t, 2)
    cdef Py_ssize_t n = cnp.PyArray_DIM(za, 0), c = cnp.PyArray_DIM(za, 1)
    if n == 0 or c == 0:
        raise ValueError(f"{pred_name} must have at least one row and one column, got shape "
                         f"{shape(za)}")
    cdef cnp.ndarray ga = output_array(grad, "grad", t, 2)
    same_shape(za, pred_name, ga, "grad")
    cdef cnp.ndarray ta = None, la = None
    if (kind == SOFTMAX_CE or kind == CATEGORICAL_CE) and cnp.PyArray_Check(target) \
            and cnp.PyArray_ISINTEGER(<cnp.ndarray>target):
        la = label_array(target, "target", n, c)
    else:
        ta = input_array(target, "target", t, 2)
        same_shape(za, pred_name, ta, "target")
    cdef cnp.ndarray wa = sample_weights(sample_weight, "sample_weight", t, n)
    # grad may be the prediction itself (each value is read before it is overwritten), nothing
    # else it reads
    cdef Span sg = span(ga)
    spans_apart(sg, "grad", span(za), pred_name, True)
    spans_apart(sg, "grad", span(ta if ta is not None else la), "target", False)
    if wa is not None:
        spans_apart(sg, "grad", span(wa), "sample_weight", False)
    if kind == CATEGORICAL_CE or kind == BCE:
        if not 0 < eps < 0.5 or (t == cnp.NPY_FLOAT32 and <float>(1 - eps) >= 1):
            raise ValueError(f"eps must be in (0, 0.5) and leave 1 - eps < 1 at the array's "
                             f"precision, got {eps}")
    if kind == HUBER and not 0 < eps < float("inf"):
        raise ValueError(f"delta must be a finite number > 0, got {eps}")
    cdef const Py_ssize_t* labels = <const Py_ssize_t*>data_or_null(la)
    cdef void* tp = data_or_null(ta)
    cdef void* wp = data_or_null(wa)
    cdef double loss
    with nogil:
        loss = loops.loss_rows[dtype_index(t)](kind, cnp.PyArray_DATA(za), tp, labels, wp,
                                               cnp.PyArray_DATA(ga), n, c, eps, n_threads)
    return loss


def softmax_cross_entropy(logits, target, grad, sample_weight=None, *, n_threads=1):
    """Mean of -log softmax(logits)[target]; grad = w_i (softmax(logits) - onehot) / sum w.

    target: class labels (n,) or target probabilities (n, c). grad may be logits."""
    return _loss(SOFTMAX_CE, logits, "logits", target, grad, sample_weight, 0.0, n_threads)


def categorical_cross_entropy(probs, target, grad, sample_weight=None, double eps=1e-7, *,
                              n_threads=1):
    """Mean of -sum_j target_j log(clip(probs_j, eps, 1 - eps)); grad = -w_i target / clip(p) / sum w.

    target: class labels (n,) or target probabilities (n, c)."""
    return _loss(CATEGORICAL_CE, probs, "probs", target, grad, sample_weight, eps, n_threads)


def sigmoid_binary_cross_entropy(logits, target, grad, sample_weight=None, *, n_threads=1):
    """Mean of max(z, 0) - z*y + log1p(exp(-|z|)); grad = w_i (sigmoid(z) - y) / (c sum w)."""
    return _loss(SIGMOID_BCE, logits, "logits", target, grad, sample_weight, 0.0, n_threads)


def sigmoid_binary_cross_entropy_sum(logits, target, grad, sample_weight=None, *,
                                     n_threads=1):
    """Mean over samples of sum_j max(z, 0) - z*y + log1p(exp(-|z|)); grad = w_i (sigmoid(z) - y)
    / sum w. For one output the same as sigmoid_binary_cross_entropy."""
    return _loss(SIGMOID_BCE_SUM, logits, "logits", target, grad, sample_weight, 0.0, n_threads)


def binary_cross_entropy(probs, target, grad, sample_weight=None, double eps=1e-7, *,
                         n_threads=1):
    """Mean of -(y log p + (1 - y) log(1 - p)) with p clipped to [eps, 1 - eps]."""
    return _loss(BCE, probs, "probs", target, grad, sample_weight, eps, n_threads)


def mean_squared_error(pred, target, grad, sample_weight=None, *, n_threads=1):
    """Mean of (pred - target)^2; grad = 2 w_i (pred - target) / (c sum w)."""
    return _loss(MSE, pred, "pred", target, grad, sample_weight, 0.0, n_threads)


def mean_absolute_error(pred, target, grad, sample_weight=None, *, n_threads=1):
    """Mean of |pred - target|; grad = w_i sign(pred - target) / (c sum w)."""
    return _loss(MAE, pred, "pred", target, grad, sample_weight, 0.0, n_threads)


def sum_of_squares(pred, target, grad, sample_weight=None, *, n_threads=1):
    """Mean over samples of 0.5 * sum_j (pred - target)^2 (the classic backprop error);
    grad = w_i (pred - target) / sum w."""
    return _loss(SUM_OF_SQUARES, pred, "pred", target, grad, sample_weight, 0.0, n_threads)


def huber(pred, target, grad, sample_weight=None, double delta=1.0, *, n_threads=1):
    """Mean of 0.5 r^2 where |r| <= delta, else delta (|r| - 0.5 delta), r = pred - target
    (PyTorch's HuberLoss); grad = w_i clip(r, -delta, delta) / (c sum w)."""
    return _loss(HUBER, pred, "pred", target, grad, sample_weight, delta, n_threads)


def poisson(log_rate, target, grad, sample_weight=None, *, n_threads=1):
    """Mean of exp(z) - target z, z = log_rate (PyTorch's PoissonNLLLoss(log_input=True));
    grad = w_i (exp(z) - target) / (c sum w)."""
    return _loss(POISSON, log_rate, "log_rate", target, grad, sample_weight, 0.0, n_threads)


def half_poisson_deviance(log_mean, target, grad, sample_weight=None, *, n_threads=1):
    """Mean over samples of sum_j exp(z) - y z + y log y - y, z = log_mean, 0 log 0 = 0 (half the
    Poisson deviance, scikit-learn's MLPRegressor(loss="poisson"));
    grad = w_i (exp(z) - y) / sum w."""
    return _loss(HALF_POISSON_DEVIANCE, log_mean, "log_mean", target, grad, sample_weight, 0.0,
                 n_threads)
