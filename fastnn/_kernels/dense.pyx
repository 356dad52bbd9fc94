"""The dense (fully connected) layer: forward with a fused bias + activation epilogue, backward.

forward:  out = f(X @ W + b)                       X (n, k), W (k, m), b (m,) or None, out (n, m)
backward: dW (+)= X^T @ dY,  db (+)= sum_rows(dY),  dX = dY @ W^T

GEMM goes through BLAS (fastnn/_kernels/_blas.pxd); the epilogue is one pass over each output
row while it is still in cache. `accumulate=True` adds into dW and db (beta = 1), for gradients
summed over several calls. `n_threads` splits the epilogue's rows over OpenMP threads (BLAS
runs on its own threads, as it is set, e.g. by threadpoolctl). It is an integer >= 1; a count
above the processors this process may run on (omp_get_num_procs()), however large, runs on that
many, and a build without OpenMP on one thread. No output may share memory with an input or
another output (ValueError naming both).
"""
from fastnn._kernels import load

cimport numpy as cnp
from libc.limits cimport INT_MAX

from fastnn._kernels._checks cimport (Span, data_or_null, dim_equals, distinct_or_same,
                                      float_typenum, input_array, output_array, span, spans_apart,
                                      thread_count)
from fastnn._kernels._act_dispatch cimport activation_code, check_alpha
from fastnn._kernels._loops cimport KernelLoops, dtype_index, kernel_table

cnp.import_array()
cdef const KernelLoops* loops = kernel_table(load("kernel_loops"))

cdef inline int _blas_dims(Py_ssize_t n, Py_ssize_t k, Py_ssize_t m) except -1:
    # BLAS takes 32-bit dimensions.
    if n > INT_MAX or k > INT_MAX or m > INT_MAX:
        raise ValueError(f"dimensions above {INT_MAX} are not supported by BLAS, "
                         f"got n={n}, k={k}, m={m}")
    return 0


def dense_forward(X, W, b, out, activation="identity", double alpha=0.01, *, n_threads=1):
    """out = activation(X @ W + b) with the bias add and activation fused after the GEMM.

    X (n, k), W (k, m), b (m,) or None, out (n, m) preallocated; all of one float dtype.
    `activation` is one of identity, relu, leaky_relu (slope `alpha`), sigmoid, tanh, softmax.
    Returns out.
    """
    cdef int kind = activation_code(activation)
    check_alpha(alpha)
    cdef int threads = thread_count(n_threads)
    cdef int t = float_typenum(X, "X")
    cdef cnp.ndarray Xa = input_array(X, "X", t, 2)
    cdef cnp.ndarray Wa = input_array(W, "W", t, 2)
    cdef cnp.ndarray ba = input_array(b, "b", t, 1) if b is not None else None
    cdef cnp.ndarray oa = output_array(out, "out", t, 2)
    cdef Py_ssize_t n = cnp.PyArray_DIM(Xa, 0), k = cnp.PyArray_DIM(Xa, 1)
    cdef Py_ssize_t m = cnp.PyArray_DIM(Wa, 1)
    dim_equals(cnp.PyArray_DIM(Wa, 0), k, "W.shape[0] (= X.shape[1])")
    if ba is not None:
        dim_equals(cnp.PyArray_DIM(ba, 0), m, "b.shape[0] (= W.shape[1])")
    dim_equals(cnp.PyArray_DIM(oa, 0), n, "out.shape[0] (= X.shape[0])")
    dim_equals(cnp.PyArray_DIM(oa, 1), m, "out.shape[1] (= W.shape[1])")
    cdef Span so = span(oa)
    spans_apart(so, "out", span(Xa), "X", False)
    spans_apart(so, "out", span(Wa), "W", False)
    if ba is not None:
        spans_apart(so, "out", span(ba), "b", False)
    _blas_dims(n, k, m)
    cdef void* bp = data_or_null(ba)
    with nogil:
        loops.dense_forward[dtype_index(t)](cnp.PyArray_DATA(Xa), cnp.PyArray_DATA(Wa), bp,
                                            cnp.PyArray_DATA(oa), n, k, m, kind, alpha, threads)
    return out


def dense_backward(X, W, dY, dW, db, dX=None, *, bint accumulate=False):
    """dW (+)= X^T @ dY, db (+)= dY summed over rows, dX = dY @ W^T.

    X (n, k) is the layer's input, W (k, m), dY (n, m) the gradient w.r.t. the layer's output
    (after the activation's backward). dW (k, m), db (m,) or None and dX (n, k) or None are
    preallocated outputs; dX=None skips the input gradient (the first layer needs none).
    With accumulate=True the parameter gradients are added to dW and db instead of replacing them.
    Returns dX.
    """
    cdef int t = float_typenum(X, "X")
    cdef cnp.ndarray Xa = input_array(X, "X", t, 2)
    cdef cnp.ndarray Wa = input_array(W, "W", t, 2)
    cdef cnp.ndarray dYa = input_array(dY, "dY", t, 2)
    cdef cnp.ndarray dWa = output_array(dW, "dW", t, 2)
    cdef cnp.ndarray dba = output_array(db, "db", t, 1) if db is not None else None
    cdef cnp.ndarray dXa = output_array(dX, "dX", t, 2) if dX is not None else None
    cdef Py_ssize_t n = cnp.PyArray_DIM(Xa, 0), k = cnp.PyArray_DIM(Xa, 1)
    cdef Py_ssize_t m = cnp.PyArray_DIM(Wa, 1)
    dim_equals(cnp.PyArray_DIM(Wa, 0), k, "W.shape[0] (= X.shape[1])")
    dim_equals(cnp.PyArray_DIM(dYa, 0), n, "dY.shape[0] (= X.shape[0])")
    dim_equals(cnp.PyArray_DIM(dYa, 1), m, "dY.shape[1] (= W.shape[1])")
    dim_equals(cnp.PyArray_DIM(dWa, 0), k, "dW.shape[0] (= W.shape[0])")
    dim_equals(cnp.PyArray_DIM(dWa, 1), m, "dW.shape[1] (= W.shape[1])")
    if dba is not None:
        dim_equals(cnp.PyArray_DIM(dba, 0), m, "db.shape[0] (= W.shape[1])")
    if dXa is not None:
        dim_equals(cnp.PyArray_DIM(dXa, 0), n, "dX.shape[0] (= X.shape[0])")
        dim_equals(cnp.PyArray_DIM(dXa, 1), k, "dX.shape[1] (= X.shape[1])")
    # Every output apart from every input and from the other outputs (none is computed in place).
    cdef Span sX = span(Xa), sW = span(Wa), sdY = span(dYa), sdW = span(dWa), sdb, sdX
    spans_apart(sdW, "dW", sX, "X", False)
    spans_apart(sdW, "dW", sW, "W", False)
    spans_apart(sdW, "dW", sdY, "dY", False)
    if dba is not None:
        sdb = span(dba)
        spans_apart(sdb, "db", sX, "X", False)
        spans_apart(sdb, "db", sW, "W", False)
        spans_apart(sdb, "db", sdY, "dY", False)
        spans_apart(sdb, "db", sdW, "dW", False)
    if dXa is not None:
        sdX = span(dXa)
        spans_apart(sdX, "dX", sX, "X", False)
        spans_apart(sdX, "dX", sW, "W", False)
        spans_apart(sdX, "dX", sdY, "dY", False)
        spans_apart(sdX, "dX", sdW, "dW", False)
        if dba is not None:
            spans_apart(sdX, "dX", sdb, "db", False)
    _blas_dims(n, k, m)
    cdef void* dbp = data_or_null(dba)
    cdef void* dXp = data_or_null(dXa)
    with nogil:
        loops.dense_backward[dtype_index(t)](cnp.PyArray_DATA(Xa), cnp.PyArray_DATA(Wa),
                                             cnp.PyArray_DATA(dYa), cnp.PyArray_DATA(dWa), dbp,
                                             dXp, n, k, m, accumulate)
    return dX
