"""The normalization layers' kernels over float32/float64 arrays (see _norm_core.pxd).

batch_norm_forward:   training; x (n, m) with n >= 2, normalized by its column means and biased
                      variances; xhat (n, m) and inv_std (m,) kept for the backward;
                      running_mean and running_var (m,) updated in place
batch_norm_inference: x normalized by running_mean and running_var
layer_norm_forward:   each row of x normalized by its own mean and variance; inv_std (n,)
*_backward:           dgamma, dbeta (m,) and dx (n, m) or None from xhat, inv_std, gamma, dy

Outputs are caller-allocated. out may be x (in place) and dx may be dy; any other sharing of
memory between an output and another argument is refused (ValueError naming both).
"""
from fastnn._kernels import load

cimport numpy as cnp
from libc.math cimport isfinite

from fastnn._kernels._checks cimport (Span, data_or_null, dim_equals, float_typenum, input_array,
                                      output_array, same_shape, span, spans_apart)
from fastnn._kernels._loops cimport KernelLoops, dtype_index, kernel_table

cnp.import_array()
cdef const KernelLoops* loops = kernel_table(load("kernel_loops"))


cdef int _check_eps(double eps) except -1:
    if not (isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a finite number > 0, got {eps}")
    return 0


cdef int _vector(cnp.ndarray a, str name, Py_ssize_t m) except -1:
    return dim_equals(cnp.PyArray_DIM(a, 0), m, f"{name}.shape[0] (= x.shape[1])")


cdef int _apart(list outputs, list inputs) except -1:
    """Every output apart from every input and from the outputs before it; (array, name, may be
    in place of) triples for the outputs, (array, name) pairs for the inputs."""
    cdef Span so
    cdef int i
    for i, (out, name, same_as) in enumerate(outputs):
        so = span(out)
        for a, a_name in inputs:
            spans_apart(so, name, span(a), a_name, a_name == same_as)
        for other, other_name, _ in outputs[:i]:
            spans_apart(so, name, span(other), other_name, False)
    return 0


def batch_norm_forward(x, gamma, beta, out, xhat, inv_std, running_mean, running_var,
                       double momentum=0.1, double eps=1e-5):
    """Training: out = gamma * (x - mean) / sqrt(var + eps) + beta with the batch's column mean
    and biased variance; running = (1 - momentum) * running + momentum * batch statistic (the
    unbiased variance for running_var). Returns out."""
    _check_eps(eps)
    if not (0 <= momentum <= 1):
        raise ValueError(f"momentum must be in [0, 1], got {momentum}")
    cdef int t = float_typenum(x, "x")
    cdef cnp.ndarray xa = input_array(x, "x", t, 2)
    cdef cnp.ndarray ga = input_array(gamma, "gamma", t, 1)
    cdef cnp.ndarray ba = input_array(beta, "beta", t, 1)
    cdef cnp.ndarray oa = output_array(out, "out", t, 2)
    cdef cnp.ndarray ha = output_array(xhat, "xhat", t, 2)
    cdef cnp.ndarray sa = output_array(inv_std, "inv_std", t, 1)
    cdef cnp.ndarray ma = output_array(running_mean, "running_mean", t, 1)
    cdef cnp.ndarray va = output_array(running_var, "running_var", t, 1)
    cdef Py_ssize_t n = cnp.PyArray_DIM(xa, 0), m = cnp.PyArray_DIM(xa, 1)
    if n < 2:
        raise ValueError(f"batch normalization in training needs at least 2 rows (a batch's "
                         f"variance), got {n}")
    same_shape(xa, "x", oa, "out")
    same_shape(xa, "x", ha, "xhat")
    for a, name in ((ga, "gamma"), (ba, "beta"), (sa, "inv_std"), (ma, "running_mean"),
                    (va, "running_var")):
        _vector(a, name, m)
    _apart([(oa, "out", "x"), (ha, "xhat", None), (sa, "inv_std", None),
            (ma, "running_mean", None), (va, "running_var", None)],
           [(xa, "x"), (ga, "gamma"), (ba, "beta")])
    with nogil:
        loops.batch_norm_forward[dtype_index(t)](
            cnp.PyArray_DATA(xa), cnp.PyArray_DATA(ga), cnp.PyArray_DATA(ba),
            cnp.PyArray_DATA(oa), cnp.PyArray_DATA(ha), cnp.PyArray_DATA(sa),
            cnp.PyArray_DATA(ma), cnp.PyArray_DATA(va), n, m, momentum, eps)
    return out


def batch_norm_inference(x, gamma, beta, running_mean, running_var, out, double eps=1e-5):
    """out = gamma * (x - running_mean) / sqrt(running_var + eps) + beta. Returns out."""
    _check_eps(eps)
    cdef int t = float_typenum(x, "x")
    cdef cnp.ndarray xa = input_array(x, "x", t, 2)
    cdef cnp.ndarray ga = input_array(gamma, "gamma", t, 1)
    cdef cnp.ndarray ba = input_array(beta, "beta", t, 1)
    cdef cnp.ndarray ma = input_array(running_mean, "running_mean", t, 1)
    cdef cnp.ndarray va = input_array(running_var, "running_var", t, 1)
    cdef cnp.ndarray oa = output_array(out, "out", t, 2)
    cdef Py_ssize_t n = cnp.PyArray_DIM(xa, 0), m = cnp.PyArray_DIM(xa, 1)
    same_shape(xa, "x", oa, "out")
    for a, name in ((ga, "gamma"), (ba, "beta"), (ma, "running_mean"), (va, "running_var")):
        _vector(a, name, m)
    _apart([(oa, "out", "x")], [(xa, "x"), (ga, "gamma"), (ba, "beta"), (ma, "running_mean"),
                                (va, "running_var")])
    with nogil:
        loops.batch_norm_inference[dtype_index(t)](
            cnp.PyArray_DATA(xa), cnp.PyArray_DATA(ga), cnp.PyArray_DATA(ba),
            cnp.PyArray_DATA(ma), cnp.PyArray_DATA(va), cnp.PyArray_DATA(oa), n, m, eps)
    return out


def layer_norm_forward(x, gamma, beta, out, xhat, inv_std, double eps=1e-5):
    """out = gamma * (x - mean) / sqrt(var + eps) + beta with each row's mean and biased
    variance (inv_std: one per row). Returns out."""
    _check_eps(eps)
    cdef int t = float_typenum(x, "x")
    cdef cnp.ndarray xa = input_array(x, "x", t, 2)
    cdef cnp.ndarray ga = input_array(gamma, "gamma", t, 1)
    cdef cnp.ndarray ba = input_array(beta, "beta", t, 1)
    cdef cnp.ndarray oa = output_array(out, "out", t, 2)
    cdef cnp.ndarray ha = output_array(xhat, "xhat", t, 2)
    cdef cnp.ndarray sa = output_array(inv_std, "inv_std", t, 1)
    cdef Py_ssize_t n = cnp.PyArray_DIM(xa, 0), m = cnp.PyArray_DIM(xa, 1)
    same_shape(xa, "x", oa, "out")
    same_shape(xa, "x", ha, "xhat")
    _vector(ga, "gamma", m)
    _vector(ba, "beta", m)
    dim_equals(cnp.PyArray_DIM(sa, 0), n, "inv_std.shape[0] (= x.shape[0])")
    _apart([(oa, "out", "x"), (ha, "xhat", None), (sa, "inv_std", None)],
           [(xa, "x"), (ga, "gamma"), (ba, "beta")])
    with nogil:
        loops.layer_norm_forward[dtype_index(t)](
            cnp.PyArray_DATA(xa), cnp.PyArray_DATA(ga), cnp.PyArray_DATA(ba),
            cnp.PyArray_DATA(oa), cnp.PyArray_DATA(ha), cnp.PyArray_DATA(sa), n, m, eps)
    return out


cdef object _backward(bint batch, xhat, inv_std, gamma, dy, dgamma, dbeta, dx):
    cdef int t = float_typenum(xhat, "xhat")
    cdef cnp.ndarray ha = input_array(xhat, "xhat", t, 2)
    cdef cnp.ndarray sa = input_array(inv_std, "inv_std", t, 1)
    cdef cnp.ndarray ga = input_array(gamma, "gamma", t, 1)
    cdef cnp.ndarray dya = input_array(dy, "dy", t, 2)
    cdef cnp.ndarray dga = output_array(dgamma, "dgamma", t, 1)
    cdef cnp.ndarray dba = output_array(dbeta, "dbeta", t, 1)
    cdef cnp.ndarray dxa = output_array(dx, "dx", t, 2) if dx is not None else None
    cdef Py_ssize_t n = cnp.PyArray_DIM(ha, 0), m = cnp.PyArray_DIM(ha, 1)
    same_shape(ha, "xhat", dya, "dy")
    dim_equals(cnp.PyArray_DIM(sa, 0), m if batch else n,
               "inv_std.shape[0] (= xhat.shape[1])" if batch else "inv_std.shape[0] (= xhat.shape[0])")
    for a, name in ((ga, "gamma"), (dga, "dgamma"), (dba, "dbeta")):
        dim_equals(cnp.PyArray_DIM(a, 0), m, f"{name}.shape[0] (= xhat.shape[1])")
    inputs = [(ha, "xhat"), (sa, "inv_std"), (ga, "gamma"), (dya, "dy")]
    outputs = [(dga, "dgamma", None), (dba, "dbeta", None)]
    if dxa is not None:
        same_shape(ha, "xhat", dxa, "dx")
        outputs.append((dxa, "dx", "dy"))
    _apart(outputs, inputs)
    cdef void* dxp = data_or_null(dxa)
    cdef int i = dtype_index(t)
    with nogil:
        (loops.batch_norm_backward[i] if batch else loops.layer_norm_backward[i])(
            cnp.PyArray_DATA(ha), cnp.PyArray_DATA(sa), cnp.PyArray_DATA(ga),
            cnp.PyArray_DATA(dya), cnp.PyArray_DATA(dga), cnp.PyArray_DATA(dba), dxp, n, m)
    return dx


def batch_norm_backward(xhat, inv_std, gamma, dy, dgamma, dbeta, dx=None):
    """dgamma = sum(dy * xhat), dbeta = sum(dy) over the rows, and
    dx = gamma * inv_std / n * (n * dy - dbeta - xhat * dgamma) (None: skipped). Returns dx."""
    return _backward(True, xhat, inv_std, gamma, dy, dgamma, dbeta, dx)


def layer_norm_backward(xhat, inv_std, gamma, dy, dgamma, dbeta, dx=None):
    """dgamma = sum(dy * xhat), dbeta = sum(dy) over the rows; per row, with g = dy * gamma,
    dx = inv_std / m * (m * g - sum(g) - xhat * sum(g * xhat)) (None: skipped). Returns dx."""
    return _backward(False, xhat, inv_std, gamma, dy, dgamma, dbeta, dx)
