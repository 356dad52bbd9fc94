# Row-major GEMM over SciPy's BLAS (scipy.linalg.cython_blas).
#
# BLAS is column-major. A row-major matrix is its column-major transpose, so the row-major
# C = op(A) op(B) is computed as the column-major C^T = op(B)^T op(A)^T: the same flags with the
# operands swapped (the pattern of scikit-learn's utils/_cython_blas.pyx).
#
# The functions are looked up when a module loads (load_blas), as `cimport
# scipy.linalg.cython_blas` would, so that building fastnn needs no SciPy.
from cpython.pycapsule cimport PyCapsule_GetName, PyCapsule_GetPointer
from cython cimport floating

from fastnn._kernels._thresholds cimport BLOCKED_MNK_MAX, MIN_BLOCK_ROWS_TN, SMALL_MNK


cdef extern from *:
    """
    typedef void (*fnn_sgemm_t)(char*, char*, int*, int*, int*, float*, float*, int*, float*,
                                int*, float*, float*, int*);
    typedef void (*fnn_dgemm_t)(char*, char*, int*, int*, int*, double*, double*, int*, double*,
                                int*, double*, double*, int*);
    static fnn_sgemm_t fnn_sgemm;
    static fnn_dgemm_t fnn_dgemm;
    static void fnn_set_gemm(void* s, void* d) { fnn_sgemm = (fnn_sgemm_t)s; fnn_dgemm = (fnn_dgemm_t)d; }
    """
    void sgemm "fnn_sgemm"(char*, char*, int*, int*, int*, float*, float*, int*, float*, int*,
                           float*, float*, int*) noexcept nogil
    void dgemm "fnn_dgemm"(char*, char*, int*, int*, int*, double*, double*, int*, double*, int*,
                           double*, double*, int*) noexcept nogil
    void fnn_set_gemm(void* s, void* d)


cdef inline int load_blas() except -1:
    """Point sgemm and dgemm at SciPy's; each module that calls gemm runs this once at import."""
    from scipy.linalg import cython_blas
    capi = cython_blas.__pyx_capi__
    fnn_set_gemm(PyCapsule_GetPointer(capi["sgemm"], PyCapsule_GetName(capi["sgemm"])),
                 PyCapsule_GetPointer(capi["dgemm"], PyCapsule_GetName(capi["dgemm"])))
    return 0


cdef extern from *:
    """
    /* The AVX-512 build of the kernels runs where OpenBLAS picks its AVX-512 cores, which have
       the small-matrix kernels that row_blocks (_blas.pxd) aims for. */
    #ifdef __AVX512F__
    #define FNN_OPENBLAS_SMALL_KERNELS 1
    #else
    #define FNN_OPENBLAS_SMALL_KERNELS 0
    #endif
    """
    const bint FNN_OPENBLAS_SMALL_KERNELS


cdef inline bint _aliasing_strides(int lda, int ldc, int itemsize) noexcept nogil:
    """Row strides at which the small A @ B kernel was measured slower than the packed product:
    a multiple of 1 KiB, or both of 512 bytes (rows then fall into a few sets of the L1 cache)."""
    cdef int a = lda * itemsize, c = ldc * itemsize
    return a % 1024 == 0 or c % 1024 == 0 or (a % 512 == 0 and c % 512 == 0)


cdef inline int row_blocks(bint trans_a, bint trans_b, int m, int n, int k, int lda, int ldc,
                           int itemsize) noexcept nogil:
    """Into how many blocks of rows gemm splits C (1: one call), so that each block takes
    OpenBLAS's small-matrix path where that is faster. Only op(B) = B: OpenBLAS permits a
    transposed-B product (its TN kernel) on far smaller shapes only."""
    cdef double mnk = <double>m * n * k
    if not FNN_OPENBLAS_SMALL_KERNELS or trans_b or mnk <= SMALL_MNK or mnk >= BLOCKED_MNK_MAX:
        return 1
    cdef int blocks = <int>((mnk + SMALL_MNK - 1) // SMALL_MNK)
    if trans_a:
        return blocks if m // blocks >= MIN_BLOCK_ROWS_TN else 1
    return 1 if _aliasing_strides(lda, ldc, itemsize) else blocks


cdef inline void _gemm_call(bint trans_a, bint trans_b, int m, int n, int k, floating alpha,
                            const floating* A, int lda, const floating* B, int ldb,
                            floating beta, floating* C, int ldc) noexcept nogil:
    cdef char ta = b't' if trans_a else b'n'
    cdef char tb = b't' if trans_b else b'n'
    if floating is float:
        sgemm(&tb, &ta, &n, &m, &k, &alpha, <float*>B, &ldb, <float*>A, &lda, &beta, C, &ldc)
    else:
        dgemm(&tb, &ta, &n, &m, &k, &alpha, <double*>B, &ldb, <double*>A, &lda, &beta, C, &ldc)


cdef inline void gemm(bint trans_a, bint trans_b, int m, int n, int k, floating alpha,
                      const floating* A, int lda, const floating* B, int ldb,
                      floating beta, floating* C, int ldc) noexcept nogil:
    """C := alpha * op(A).op(B) + beta * C, row-major; op(A) is m x k and op(B) is k x n."""
    # BLAS rejects a leading dimension of 0, which empty operands would give.
    lda = max(lda, 1)
    ldb = max(ldb, 1)
    ldc = max(ldc, 1)
    cdef int blocks = row_blocks(trans_a, trans_b, m, n, k, lda, ldc, sizeof(floating))
    cdef int step = (m + blocks - 1) // blocks
    cdef int block, r0
    for block in range(blocks):
        r0 = block * step
        if r0 >= m:
            break
        # row r0 of op(A) is row r0 of A, or column r0 of A when op(A) = A^T
        _gemm_call(trans_a, trans_b, min(step, m - r0), n, k, alpha,
                   A + (r0 if trans_a else <Py_ssize_t>r0 * lda), lda, B, ldb, beta,
                   C + <Py_ssize_t>r0 * ldc, ldc)
