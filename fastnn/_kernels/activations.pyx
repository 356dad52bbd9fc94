"""Activation functions, forward and backward, over float32/float64 arrays.

forward:  out = f(x)                   (elementwise; softmax row-wise over a 2-D x)
backward: dx = f'(x) * dy, from y = f(x) (never from x; softmax as a Jacobian-vector product)

Outputs are caller-allocated. An output may be exactly an input (in place: out is x; dx is dy or
y; dropout's out is x); any other sharing of memory between an output and another argument is
refused (ValueError naming both), as a partial overlap would read overwritten values.
`n_threads` splits the rows of a 2-D array over OpenMP threads where the build has OpenMP. It is
an integer >= 1; a count above the processors this process may run on (omp_get_num_procs()),
however large, runs on that many, and a build without OpenMP on one thread. NaN propagates as
in fastnn.reference (relu of NaN is NaN, as np.maximum).
"""
cimport numpy as cnp

from libc.stdint cimport uint64_t

from fastnn._kernels._checks cimport (Span, distinct_or_same, float_typenum, input_array,
                                      output_array, same_shape, span, spans_apart, thread_count)
from fastnn._kernels._rowops cimport (EXP, IDENTITY, LEAKY_RELU, RELU, SIGMOID, SOFTMAX, TANH,
                                      backward_rows, check_alpha, dropout_row, forward_rows)

cnp.import_array()


cdef inline void _rows_cols(cnp.ndarray a, Py_ssize_t* rows, Py_ssize_t* cols):
    # Elementwise kinds see any array as rows of its last axis (a 1-D or 0-D array is one row).
    cdef Py_ssize_t size = cnp.PyArray_SIZE(a)
    cols[0] = cnp.PyArray_DIM(a, cnp.PyArray_NDIM(a) - 1) if cnp.PyArray_NDIM(a) > 0 else 1
    rows[0] = size // cols[0] if cols[0] > 0 else 0


cdef object _forward(int kind, object x, object out, double alpha, object threads):
    cdef int n_threads = thread_count(threads)
    cdef int t = float_typenum(x, "x")
    cdef cnp.ndarray xa = input_array(x, "x", t, 2 if kind == SOFTMAX else -1)
    cdef cnp.ndarray oa = output_array(out, "out", t, -1)
    same_shape(xa, "x", oa, "out")
    distinct_or_same(oa, "out", xa, "x", True)
    cdef Py_ssize_t rows, cols
    _rows_cols(xa, &rows, &cols)
    if t == cnp.NPY_FLOAT32:
        with nogil:
            forward_rows(kind, <const float*>cnp.PyArray_DATA(xa), <float*>cnp.PyArray_DATA(oa),
                          rows, cols, <float>alpha, n_threads)
    else:
        with nogil:
            forward_rows(kind, <const double*>cnp.PyArray_DATA(xa), <double*>cnp.PyArray_DATA(oa),
                          rows, cols, alpha, n_threads)
    return out


cdef object _backward(int kind, object y, object dy, object dx, double alpha, object threads):
    cdef int n_threads = thread_count(threads)
    cdef int t = float_typenum(y, "y")
    cdef cnp.ndarray ya = input_array(y, "y", t, 2 if kind == SOFTMAX else -1)
    cdef cnp.ndarray dya = input_array(dy, "dy", t, -1)
    cdef cnp.ndarray dxa = output_array(dx, "dx", t, -1)
    same_shape(ya, "y", dya, "dy")
    same_shape(ya, "y", dxa, "dx")
    cdef Span sdx = span(dxa)
    spans_apart(sdx, "dx", span(ya), "y", True)
    spans_apart(sdx, "dx", span(dya), "dy", True)
    cdef Py_ssize_t rows, cols
    _rows_cols(ya, &rows, &cols)
    if t == cnp.NPY_FLOAT32:
        with nogil:
            backward_rows(kind, <const float*>cnp.PyArray_DATA(ya),
                           <const float*>cnp.PyArray_DATA(dya), <float*>cnp.PyArray_DATA(dxa),
                           rows, cols, <float>alpha, n_threads)
    else:
        with nogil:
            backward_rows(kind, <const double*>cnp.PyArray_DATA(ya),
                           <const double*>cnp.PyArray_DATA(dya), <double*>cnp.PyArray_DATA(dxa),
                           rows, cols, alpha, n_threads)
    return dx


def identity_forward(x, out, *, n_threads=1):
    """out = x."""
    return _forward(IDENTITY, x, out, 0.0, n_threads)


def identity_backward(y, dy, dx, *, n_threads=1):
    """dx = dy."""
    return _backward(IDENTITY, y, dy, dx, 0.0, n_threads)


def relu_forward(x, out, *, n_threads=1):
    """out = max(x, 0)."""
    return _forward(RELU, x, out, 0.0, n_threads)


def relu_backward(y, dy, dx, *, n_threads=1):
    """dx = dy where y > 0, else 0."""
    return _backward(RELU, y, dy, dx, 0.0, n_threads)


def leaky_relu_forward(x, out, double alpha=0.01, *, n_threads=1):
    """out = x where x > 0, else alpha * x (alpha >= 0)."""
    check_alpha(alpha)
    return _forward(LEAKY_RELU, x, out, alpha, n_threads)


def leaky_relu_backward(y, dy, dx, double alpha=0.01, *, n_threads=1):
    """dx = dy where y > 0, else alpha * dy."""
    check_alpha(alpha)
    return _backward(LEAKY_RELU, y, dy, dx, alpha, n_threads)


def sigmoid_forward(x, out, *, n_threads=1):
    """out = 1 / (1 + exp(-x)), stable for large |x|."""
    return _forward(SIGMOID, x, out, 0.0, n_threads)


def sigmoid_backward(y, dy, dx, *, n_threads=1):
    """dx = dy * y * (1 - y)."""
    return _backward(SIGMOID, y, dy, dx, 0.0, n_threads)


def tanh_forward(x, out, *, n_threads=1):
    """out = tanh(x)."""
    return _forward(TANH, x, out, 0.0, n_threads)


def tanh_backward(y, dy, dx, *, n_threads=1):
    """dx = dy * (1 - y**2)."""
    return _backward(TANH, y, dy, dx, 0.0, n_threads)


def softmax_forward(x, out, *, n_threads=1):
    """out[i] = exp(x[i] - max x[i]) / sum(exp(x[i] - max x[i])), row by row of a 2-D x."""
    return _forward(SOFTMAX, x, out, 0.0, n_threads)


def softmax_backward(y, dy, dx, *, n_threads=1):
    """dx[i] = y[i] * (dy[i] - <dy[i], y[i]>), row by row: the softmax JVP without a Jacobian."""
    return _backward(SOFTMAX, y, dy, dx, 0.0, n_threads)


def exponential_forward(x, out, *, n_threads=1):
    """out = exp(x) (Poisson's output transform: rates from log rates)."""
    return _forward(EXP, x, out, 0.0, n_threads)


def exponential_backward(y, dy, dx, *, n_threads=1):
    """dx = dy * y."""
    return _backward(EXP, y, dy, dx, 0.0, n_threads)


def dropout_forward(x, out, mask, double rate, state):
    """Inverted dropout: mask = (u >= rate) / (1 - rate), out = x * mask, with u uniform in [0, 1)
    from the counter-based stream state = uint64 [key, counter]; counter advances by x.size.
    out may be x (in place). (Backward is dy * mask.)"""
    if not 0 <= rate < 1:
        raise ValueError(f"rate must be in [0, 1), got {rate}")
    cdef int t = float_typenum(x, "x")
    cdef cnp.ndarray xa = input_array(x, "x", t, -1)
    cdef cnp.ndarray oa = output_array(out, "out", t, -1)
    cdef cnp.ndarray ma = output_array(mask, "mask", t, -1)
    same_shape(xa, "x", oa, "out")
    same_shape(xa, "x", ma, "mask")
    if not (cnp.PyArray_Check(state) and cnp.PyArray_TYPE(<cnp.ndarray>state) == cnp.NPY_UINT64
            and cnp.PyArray_SIZE(<cnp.ndarray>state) == 2 and cnp.PyArray_ISCARRAY(<cnp.ndarray>state)):
        raise TypeError("state must be a writeable, contiguous uint64 array [key, counter]")
    cdef Span sx = span(xa), so = span(oa), sm = span(ma), ss = span(<cnp.ndarray>state)
    spans_apart(so, "out", sx, "x", True)
    spans_apart(sm, "mask", sx, "x", False)
    spans_apart(sm, "mask", so, "out", False)
    spans_apart(ss, "state", sx, "x", False)
    spans_apart(ss, "state", so, "out", False)
    spans_apart(ss, "state", sm, "mask", False)
    cdef uint64_t* st = <uint64_t*>cnp.PyArray_DATA(<cnp.ndarray>state)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(xa)
    if t == cnp.NPY_FLOAT32:
        with nogil:
            dropout_row(<const float*>cnp.PyArray_DATA(xa), <float*>cnp.PyArray_DATA(oa),
                        <float*>cnp.PyArray_DATA(ma), n, rate, st[0], st[1])
    else:
        with nogil:
            dropout_row(<const double*>cnp.PyArray_DATA(xa), <double*>cnp.PyArray_DATA(oa),
                        <double*>cnp.PyArray_DATA(ma), n, rate, st[0], st[1])
    st[1] += <uint64_t>n
    return out
