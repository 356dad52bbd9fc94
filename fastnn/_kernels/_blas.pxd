# Row-major GEMM over scipy.linalg.cython_blas.
#
# BLAS is column-major. A row-major matrix is its column-major transpose, so the row-major
# C = op(A) op(B) is computed as the column-major C^T = op(B)^T op(A)^T: the same flags with the
# operands swapped (the pattern of scikit-learn's utils/_cython_blas.pyx).
from cython cimport floating
from scipy.linalg.cython_blas cimport dgemm, sgemm


cdef inline void gemm(bint trans_a, bint trans_b, int m, int n, int k, floating alpha,
                      const floating* A, int lda, const floating* B, int ldb,
                      floating beta, floating* C, int ldc) noexcept nogil:
    """C := alpha * op(A).op(B) + beta * C, row-major; op(A) is m x k and op(B) is k x n."""
    cdef char ta = b't' if trans_a else b'n'
    cdef char tb = b't' if trans_b else b'n'
    # BLAS rejects a leading dimension of 0, which empty operands would give.
    lda = max(lda, 1)
    ldb = max(ldb, 1)
    ldc = max(ldc, 1)
    if floating is float:
        sgemm(&tb, &ta, &n, &m, &k, &alpha, <float*>B, &ldb, <float*>A, &lda, &beta, C, &ldc)
    else:
        dgemm(&tb, &ta, &n, &m, &k, &alpha, <double*>B, &ldb, <double*>A, &lda, &beta, C, &ldc)
