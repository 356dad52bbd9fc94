# The dense layer's nogil cores, shared by dense.pyx and the training engine.
#
# forward:  out = f(X @ W + b), the bias add and activation fused after the GEMM, row by row
# backward: dW (+)= X^T @ dY,  db (+)= sum_rows(dY),  dX = dY @ W^T
# A W with at most 4 rows or columns skips BLAS for fastnn's own loops (_skinny.pxd), which
# fuse the bias, ReLU and db into them and give BLAS's numbers bit for bit.
from cython cimport floating
from cython.parallel cimport prange

from fastnn._kernels._blas cimport gemm
from fastnn._kernels._act_dispatch cimport IDENTITY, RELU, activate
from fastnn._kernels._skinny cimport SKINNY, gemm_small_inner, gemm_tn_few_cols, gemm_tn_few_rows
from fastnn._kernels._thresholds cimport SKINNY_MAX


cdef extern from "_transpose.h" nogil:
    void fnn_transpose_f(const float* src, float* dst, Py_ssize_t rows, Py_ssize_t cols)
    void fnn_transpose_d(const double* src, double* dst, Py_ssize_t rows, Py_ssize_t cols)


cdef enum:
    SMALL_W = 4096  # W with at most this many entries is transposed on the stack for dX
    COL_BLOCK = 32  # columns of db summed at once in registers
    FUSE_ROWS = 32  # rows of a skinny forward whose epilogue follows at once


cdef inline void _epilogue_row(floating* y, const floating* b, Py_ssize_t m, int kind,
                               floating alpha) noexcept nogil:
    cdef Py_ssize_t j
    if b != NULL:
        for j in range(m):
            y[j] += b[j]
    activate(kind, y, y, m, alpha)


cdef inline void _column_sums(const floating* dY, floating* db, Py_ssize_t n,
                              Py_ssize_t m) noexcept nogil:
    """db[j] += dY[0, j] + dY[1, j] + ..., in NumPy's order (row after row). Blocks of COL_BLOCK
    columns sum in registers: db's own loads and stores on every row cost more than the adds."""
    cdef floating acc[COL_BLOCK]
    cdef Py_ssize_t i, j, j0, block
    for block in range(m // COL_BLOCK):
        j0 = block * COL_BLOCK
        for j in range(COL_BLOCK):
            acc[j] = db[j0 + j]
        for i in range(n):
            for j in range(COL_BLOCK):
                acc[j] += dY[i * m + j0 + j]
        for j in range(COL_BLOCK):
            db[j0 + j] = acc[j]
    for i in range(n):
        for j in range(m - m % COL_BLOCK, m):
            db[j] += dY[i * m + j]


cdef inline bint skinny_forward(Py_ssize_t n, Py_ssize_t k, Py_ssize_t m) noexcept nogil:
    """Whether dense_forward_core computes X @ W itself (W has at most SKINNY rows)."""
    return 1 <= k <= SKINNY and n * m <= SKINNY_MAX


cdef inline void dense_forward_core(const floating* X, const floating* W, const floating* b,
                                    floating* out, Py_ssize_t n, Py_ssize_t k, Py_ssize_t m,
                                    int kind, floating alpha, int n_threads) noexcept nogil:
    cdef Py_ssize_t i, r0, rows, block
    cdef bint fused = kind == IDENTITY or kind == RELU  # in the skinny loop's registers
    if skinny_forward(n, k, m):
        # FUSE_ROWS rows at a time: an epilogue not fused follows while they are in L1
        for block in range((n + FUSE_ROWS - 1) // FUSE_ROWS):
            r0 = block * FUSE_ROWS
            rows = min(<Py_ssize_t>FUSE_ROWS, n - r0)
            gemm_small_inner(X + r0 * k, W, b if fused else NULL, kind == RELU, out + r0 * m,
                             rows, k, m)
            if not fused:
                for i in range(r0, r0 + rows):
                    _epilogue_row(out + i * m, b, m, kind, alpha)
        return
    gemm(False, False, <int>n, <int>m, <int>k, <floating>1, X, <int>k, W, <int>m,
         <floating>0, out, <int>m)
    if n_threads > 1 and n > 1:
        for i in prange(n, num_threads=n_threads, schedule="static"):
            _epilogue_row(out + i * m, b, m, kind, alpha)
    else:
        for i in range(n):
            _epilogue_row(out + i * m, b, m, kind, alpha)


cdef inline void dense_backward_core(const floating* X, const floating* W, const floating* dY,
                                     floating* dW, floating* db, floating* dX, Py_ssize_t n,
                                     Py_ssize_t k, Py_ssize_t m, bint accumulate) noexcept nogil:
    cdef floating beta = 1 if accumulate else 0
    cdef Py_ssize_t i, j
    if 1 <= k <= SKINNY and n * m <= SKINNY_MAX:
        gemm_tn_few_rows(X, dY, dW, db, n, k, m, accumulate)
    elif 1 <= m <= SKINNY and n * k <= SKINNY_MAX:
        gemm_tn_few_cols(X, dY, dW, db, n, k, m, accumulate)
    else:
        gemm(True, False, <int>k, <int>m, <int>n, <floating>1, X, <int>k, dY, <int>m, beta, dW,
             <int>m)
        if db != NULL:
            if not accumulate:
                for j in range(m):
                    db[j] = 0
            _column_sums(dY, db, n, m)
    cdef floating WT[SMALL_W]
    if dX != NULL and k * m <= SMALL_W:
        # OpenBLAS's transposed-operand GEMM is ~3x slower than the plain one on small shapes
        # (measured: 6.4 vs 1.9 us at 32x64 @ 64x64); a transposed copy of a small W is cheap.
        if floating is float:
            fnn_transpose_f(W, WT, k, m)
        else:
            fnn_transpose_d(W, WT, k, m)
        if 1 <= m <= SKINNY and n * k <= SKINNY_MAX:
            gemm_small_inner(dY, WT, <floating*>NULL, False, dX, n, m, k)
        else:
            gemm(False, False, <int>n, <int>k, <int>m, <floating>1, dY, <int>m, WT, <int>k,
                 <floating>0, dX, <int>k)
    elif dX != NULL:
        gemm(False, True, <int>n, <int>k, <int>m, <floating>1, dY, <int>m, W, <int>m,
             <floating>0, dX, <int>k)
