# GEMMs with a dimension of at most SKINNY, in registers, for the dense cores.
#
# OpenBLAS spends 1-3 us per call on shapes such as 300x2 @ 2x64 (the spiral's first layer),
# most of it outside the arithmetic; and the separate passes for the bias, the activation and db
# each read the whole batch again. These loops fuse them. Every output is one chain of
# multiply-adds over the inner dimension in order, started from zero, as in OpenBLAS's kernels,
# so the results are OpenBLAS's (and NumPy's) bit for bit. With `accumulate` the old value is
# added at the end, as OpenBLAS does with beta = 1; db's sums continue from the old db, as
# _dense_core's _column_sums do.
#
# Each kernel is written for a compile-time K (or M) and dispatched by a switch, so GCC keeps the
# accumulators in registers.
from cython cimport floating

from fastnn._kernels._thresholds cimport SKINNY_MAX


cdef extern from "_skinny.h" nogil:
    void fnn_small_inner_f(const float* A, const float* B, const float* bias, int relu, float* C,
                           Py_ssize_t n, Py_ssize_t k, Py_ssize_t m)
    void fnn_small_inner_d(const double* A, const double* B, const double* bias, int relu,
                           double* C, Py_ssize_t n, Py_ssize_t k, Py_ssize_t m)


cdef enum:
    SKINNY = 4            # a dimension up to this takes these loops
    SKINNY_BLOCK = 64     # columns accumulated at once (fewer with K > 2, see _block)


cdef inline Py_ssize_t _block(Py_ssize_t K) noexcept nogil:
    # at least 8 independent chains hide the multiply-add's latency; at most 16 AVX-512 registers
    return SKINNY_BLOCK if K <= 2 else SKINNY_BLOCK // 2


cdef inline void gemm_small_inner(const floating* A, const floating* B, const floating* bias,
                                  bint relu, floating* C, Py_ssize_t n, Py_ssize_t k,
                                  Py_ssize_t m) noexcept nogil:
    """C = A @ B (row-major, n x k @ k x m) for 1 <= k <= SKINNY, then + bias (unless NULL)
    and max(., 0) with relu, as the dense epilogue does them (_skinny.h)."""
    if floating is float:
        fnn_small_inner_f(A, B, bias, relu, C, n, k, m)
    else:
        fnn_small_inner_d(A, B, bias, relu, C, n, k, m)


cdef inline void _tn_few_rows(const floating* X, const floating* G, floating* C, floating* db,
                              Py_ssize_t n, Py_ssize_t m, bint accumulate,
                              const Py_ssize_t K) noexcept nogil:
    cdef floating acc[SKINNY * SKINNY_BLOCK]
    cdef floating sums[SKINNY_BLOCK]
    cdef floating x[SKINNY]
    cdef Py_ssize_t i, j, j0, q, block, width, BW = _block(K)
    for block in range((m + BW - 1) // BW):
        j0 = block * BW
        width = min(BW, m - j0)
        for j in range(K * BW):
            acc[j] = 0
        for j in range(width):
            sums[j] = db[j0 + j] if accumulate and db != NULL else 0
        if width == BW:
            for i in range(n):
                for q in range(K):
                    x[q] = X[i * K + q]
                for q in range(K):
                    for j in range(BW):
                        acc[q * BW + j] += x[q] * G[i * m + j0 + j]
                if db != NULL:
                    for j in range(BW):
                        sums[j] += G[i * m + j0 + j]
        else:
            for i in range(n):
                for q in range(K):
                    for j in range(width):
                        acc[q * BW + j] += X[i * K + q] * G[i * m + j0 + j]
                if db != NULL:
                    for j in range(width):
                        sums[j] += G[i * m + j0 + j]
        for q in range(K):
            for j in range(width):
                C[q * m + j0 + j] = acc[q * BW + j] + C[q * m + j0 + j] if accumulate \
                    else acc[q * BW + j]
        if db != NULL:
            for j in range(width):
                db[j0 + j] = sums[j]


cdef inline void gemm_tn_few_rows(const floating* X, const floating* G, floating* C,
                                  floating* db, Py_ssize_t n, Py_ssize_t k, Py_ssize_t m,
                                  bint accumulate) noexcept nogil:
    """C (+)= X^T @ G, X n x k and G n x m, for 1 <= k <= SKINNY (C has k rows); and, unless
    db is NULL, db (+)= the column sums of G in the same pass (row after row, as NumPy)."""
    if k == 1:
        _tn_few_rows(X, G, C, db, n, m, accumulate, 1)
    elif k == 2:
        _tn_few_rows(X, G, C, db, n, m, accumulate, 2)
    elif k == 3:
        _tn_few_rows(X, G, C, db, n, m, accumulate, 3)
    else:
        _tn_few_rows(X, G, C, db, n, m, accumulate, 4)


cdef inline void _tn_few_cols(const floating* X, const floating* G, floating* C, floating* db,
                              Py_ssize_t n, Py_ssize_t k, bint accumulate,
                              const Py_ssize_t M) noexcept nogil:
    cdef floating acc[SKINNY * SKINNY_BLOCK]
    cdef floating sums[SKINNY]
    cdef floating g[SKINNY]
    cdef Py_ssize_t i, j, p0, p, block, width, BW = _block(M)
    for j in range(M):
        sums[j] = db[j] if accumulate and db != NULL else 0
    for block in range((k + BW - 1) // BW):
        p0 = block * BW
        width = min(BW, k - p0)
        for p in range(M * BW):
            acc[p] = 0
        if width == BW:
            for i in range(n):
                for j in range(M):
                    g[j] = G[i * M + j]
                for j in range(M):
                    for p in range(BW):
                        acc[j * BW + p] += X[i * k + p0 + p] * g[j]
        else:
            for i in range(n):
                for j in range(M):
                    for p in range(width):
                        acc[j * BW + p] += X[i * k + p0 + p] * G[i * M + j]
        for p in range(width):
            for j in range(M):
                C[(p0 + p) * M + j] = acc[j * BW + p] + C[(p0 + p) * M + j] if accumulate \
                    else acc[j * BW + p]
    if db != NULL:
        for i in range(n):
            for j in range(M):
                sums[j] += G[i * M + j]
        for j in range(M):
            db[j] = sums[j]


cdef inline void gemm_tn_few_cols(const floating* X, const floating* G, floating* C,
                                  floating* db, Py_ssize_t n, Py_ssize_t k, Py_ssize_t m,
                                  bint accumulate) noexcept nogil:
    """C (+)= X^T @ G, X n x k and G n x m, for 1 <= m <= SKINNY (C has m columns); and, unless
    db is NULL, db (+)= the column sums of G."""
    if m == 1:
        _tn_few_cols(X, G, C, db, n, k, accumulate, 1)
    elif m == 2:
        _tn_few_cols(X, G, C, db, n, k, accumulate, 2)
    elif m == 3:
        _tn_few_cols(X, G, C, db, n, k, accumulate, 3)
    else:
        _tn_few_cols(X, G, C, db, n, k, accumulate, 4)
