"""Kernels over rows in CSR form (scipy.sparse's layout): a first Dense layer's forward and weight
gradient on a sparse batch, and the gather of a batch's rows.

sparse_dense_forward:   out = X @ W + b                  X (n, k) CSR, W (k, m), b (m,) or None
sparse_weight_gradient: dW = X^T @ G, db = sum_rows(G)   G (n, m), dW (k, m), db (m,) or None
csr_gather:             the CSR of X[rows], its data converted to `dtype`

X is (indptr, indices, data) as scipy.sparse.csr_matrix holds them: indptr (n + 1,) rising from
0 to nnz; indices (nnz,) column numbers in [0, k), int32 or int64, the dtype of indptr; data
(nnz,) float32 or float64. A row's indices may be unsorted and may repeat: a repeated column's
values add up (as scipy's own products sum them before sum_duplicates). Each wrapper checks all
of that once (TypeError, ValueError naming the argument), then runs one nogil loop; csr_gather,
which copies a batch's rows out of a large X, checks the rows of indptr it reads rather than all
(O(batch), not O(len(X)), per batch). Sums run in
the stored order of each row's entries, row after row, without fused multiply-adds (this module
is built once, for the baseline ISA): fastnn.reference's twins give the same numbers. The input
gradient (dX, a dense n x k array) is never formed: a sparse X is a network's input.
"""
from cython cimport floating
from libc.string cimport memset
from libc.stdint cimport INT32_MAX, int32_t, int64_t

import numpy as np

cimport numpy as cnp

from fastnn._kernels._checks cimport (Span, data_or_null, dim_equals, float_typenum, input_array,
                                      output_array, shape, span, spans_apart)
from fastnn._kernels._dense_core cimport _column_sums

cnp.import_array()

ctypedef fused index_t:
    int32_t
    int64_t

ctypedef fused source_t:
    float
    double


# ---------------------------------------------------------------- nogil loops

cdef void _forward(const index_t* indptr, const index_t* indices, const floating* data,
                   const floating* W, const floating* b, floating* out, Py_ssize_t n,
                   Py_ssize_t m) noexcept nogil:
    cdef Py_ssize_t i, j, p
    cdef floating v
    cdef floating* y
    cdef const floating* w
    for i in range(n):
        y = out + i * m
        for j in range(m):
            y[j] = 0
        for p in range(indptr[i], indptr[i + 1]):
            v = data[p]
            w = W + <Py_ssize_t>indices[p] * m
            for j in range(m):
                y[j] += v * w[j]
        if b != NULL:
            for j in range(m):
                y[j] += b[j]


cdef void _weight_gradient(const index_t* indptr, const index_t* indices, const floating* data,
                           const floating* G, floating* dW, floating* db, Py_ssize_t n,
                           Py_ssize_t k, Py_ssize_t m) noexcept nogil:
    cdef Py_ssize_t i, j, p
    cdef floating v
    cdef floating* d
    cdef const floating* g
    memset(dW, 0, k * m * sizeof(floating))
    for i in range(n):
        g = G + i * m
        for p in range(indptr[i], indptr[i + 1]):
            v = data[p]
            d = dW + <Py_ssize_t>indices[p] * m
            for j in range(m):
                d[j] += v * g[j]
    if db != NULL:
        memset(db, 0, m * sizeof(floating))
        _column_sums(G, db, n, m)


cdef void _gather(const index_t* indptr, const index_t* indices, const source_t* data,
                  const Py_ssize_t* rows, Py_ssize_t n_rows, index_t* out_indptr,
                  index_t* out_indices, floating* out_data) noexcept nogil:
    cdef Py_ssize_t r, p, q = 0
    out_indptr[0] = 0
    for r in range(n_rows):
        for p in range(indptr[rows[r]], indptr[rows[r] + 1]):
            out_indices[q] = indices[p]
            out_data[q] = <floating>data[p]
            q += 1
        out_indptr[r + 1] = <index_t>q


cdef void _gather_values(const index_t* indptr, const index_t* indices, const void* data,
                         bint in32, bint out32, const Py_ssize_t* rows, Py_ssize_t n_rows,
                         index_t* out_indptr, index_t* out_indices,
                         void* out_data) noexcept nogil:
    """_gather for the stored values' dtype (in32) and the output's (out32)."""
    if in32 and out32:
        _gather(indptr, indices, <const float*>data, rows, n_rows, out_indptr, out_indices,
                <float*>out_data)
    elif in32:
        _gather(indptr, indices, <const float*>data, rows, n_rows, out_indptr, out_indices,
                <double*>out_data)
    elif out32:
        _gather(indptr, indices, <const double*>data, rows, n_rows, out_indptr, out_indices,
                <float*>out_data)
    else:
        _gather(indptr, indices, <const double*>data, rows, n_rows, out_indptr, out_indices,
                <double*>out_data)


cdef Py_ssize_t _gathered_nnz(const index_t* indptr, const Py_ssize_t* rows,
                              Py_ssize_t n_rows) noexcept nogil:
    cdef Py_ssize_t r, total = 0
    for r in range(n_rows):
        total += indptr[rows[r] + 1] - indptr[rows[r]]
    return total


# ---------------------------------------------------------------- checks

cdef int _index_typenum(object indptr, object indices) except -1:
    for a, name in ((indptr, "indptr"), (indices, "indices")):
        if not cnp.PyArray_Check(a):
            raise TypeError(f"{name} must be a numpy.ndarray, got {type(a).__name__}")
    cdef int t = cnp.PyArray_TYPE(<cnp.ndarray>indptr)
    if t != cnp.NPY_INT32 and t != cnp.NPY_INT64:
        raise TypeError(f"indptr must have dtype int32 or int64, got {indptr.dtype}")
    if cnp.PyArray_TYPE(<cnp.ndarray>indices) != t:
        raise TypeError(f"indices must have the dtype of indptr ({indptr.dtype}), "
                        f"got {indices.dtype}")
    return t


cdef cnp.ndarray _vector(object a, str name):
    cdef cnp.ndarray arr = <cnp.ndarray>a
    if cnp.PyArray_NDIM(arr) != 1:
        raise ValueError(f"{name} must be 1-dimensional, got shape {shape(arr)}")
    if not cnp.PyArray_IS_C_CONTIGUOUS(arr):
        arr = cnp.PyArray_GETCONTIGUOUS(arr)
    return arr


cdef int _check_indptr(const index_t* indptr, Py_ssize_t n, Py_ssize_t nnz) except -1:
    """indptr[0] == 0, indptr[n] == nnz and never falling: every row's entries lie in data."""
    cdef Py_ssize_t i
    if indptr[0] != 0:
        raise ValueError(f"indptr[0] must be 0, got {indptr[0]}")
    for i in range(n):
        if indptr[i + 1] < indptr[i]:
            raise ValueError(f"indptr must not decrease: indptr[{i + 1}] = {indptr[i + 1]} < "
                             f"indptr[{i}] = {indptr[i]}")
    if indptr[n] != nnz:
        raise ValueError(f"indptr[-1] must be the number of stored values, {nnz}, "
                         f"got {indptr[n]}")
    return 0


cdef int _check_rows(const index_t* indptr, const Py_ssize_t* rows, Py_ssize_t n_rows,
                     Py_ssize_t n, Py_ssize_t nnz) except -1:
    """Each row in [0, n) and its entries within data: 0 <= indptr[r] <= indptr[r + 1] <= nnz."""
    cdef Py_ssize_t i, r
    for i in range(n_rows):
        r = rows[i]
        if r < 0 or r >= n:
            raise ValueError(f"rows[{i}] = {r} is not a row in [0, {n})")
        if not 0 <= indptr[r] <= indptr[r + 1] <= nnz:
            raise ValueError(f"indptr[{r}:{r + 2}] = [{indptr[r]}, {indptr[r + 1]}] is not a "
                             f"range of the {nnz} stored values (indptr must rise from 0 to "
                             f"nnz)")
    return 0


cdef int _check_indices(const index_t* indices, Py_ssize_t nnz, Py_ssize_t k) except -1:
    cdef Py_ssize_t p
    for p in range(nnz):
        if indices[p] < 0 or indices[p] >= k:
            raise ValueError(f"indices[{p}] = {indices[p]} is not a column in [0, {k})")
    return 0


cdef class _CSR:
    """(indptr, indices, data) of n rows and nnz values, index dtype `itype`, its dtypes and
    lengths checked; with `whole_indptr` indptr too (all of it: O(n)), else the caller checks
    the rows it reads (the gather of a batch from a large X reads only the batch's)."""
    cdef cnp.ndarray indptr, indices, data
    cdef Py_ssize_t n, nnz
    cdef int itype, dtype

    def __init__(self, indptr, indices, data, bint whole_indptr=True):
        self.itype = _index_typenum(indptr, indices)
        self.dtype = float_typenum(data, "data")
        self.indptr = _vector(indptr, "indptr")
        self.indices = _vector(indices, "indices")
        self.data = input_array(data, "data", self.dtype, 1)
        if cnp.PyArray_DIM(self.indptr, 0) < 1:
            raise ValueError("indptr must hold at least one entry (0 for no rows)")
        self.n = cnp.PyArray_DIM(self.indptr, 0) - 1
        self.nnz = cnp.PyArray_DIM(self.data, 0)
        dim_equals(cnp.PyArray_DIM(self.indices, 0), self.nnz, "len(indices) (= len(data))")
        if not whole_indptr:
            return
        if self.itype == cnp.NPY_INT32:
            _check_indptr(<const int32_t*>cnp.PyArray_DATA(self.indptr), self.n, self.nnz)
        else:
            _check_indptr(<const int64_t*>cnp.PyArray_DATA(self.indptr), self.n, self.nnz)

    cdef int apart(self, Span out, str name) except -1:
        """An output shares no memory with indptr, indices or data (the loop reads them all
        while it writes)."""
        spans_apart(out, name, span(self.indptr), "indptr", False)
        spans_apart(out, name, span(self.indices), "indices", False)
        return spans_apart(out, name, span(self.data), "data", False)

    cdef int check_columns(self, Py_ssize_t k) except -1:
        if self.itype == cnp.NPY_INT32:
            return _check_indices(<const int32_t*>cnp.PyArray_DATA(self.indices), self.nnz, k)
        return _check_indices(<const int64_t*>cnp.PyArray_DATA(self.indices), self.nnz, k)


# ---------------------------------------------------------------- entry points

def sparse_dense_forward(indptr, indices, data, W, b, out):
    """out = X @ W + b for the CSR rows X = (indptr, indices, data); W (k, m), b (m,) or None,
    out (n, m) preallocated, all of data's dtype. Returns out."""
    cdef _CSR X = _CSR(indptr, indices, data)
    cdef int t = X.dtype
    cdef cnp.ndarray Wa = input_array(W, "W", t, 2)
    cdef cnp.ndarray ba = input_array(b, "b", t, 1) if b is not None else None
    cdef cnp.ndarray oa = output_array(out, "out", t, 2)
    cdef Py_ssize_t k = cnp.PyArray_DIM(Wa, 0), m = cnp.PyArray_DIM(Wa, 1), n = X.n
    if ba is not None:
        dim_equals(cnp.PyArray_DIM(ba, 0), m, "b.shape[0] (= W.shape[1])")
    dim_equals(cnp.PyArray_DIM(oa, 0), n, "out.shape[0] (= len(indptr) - 1)")
    dim_equals(cnp.PyArray_DIM(oa, 1), m, "out.shape[1] (= W.shape[1])")
    X.check_columns(k)
    cdef Span so = span(oa)
    X.apart(so, "out")
    spans_apart(so, "out", span(Wa), "W", False)
    if ba is not None:
        spans_apart(so, "out", span(ba), "b", False)
    cdef const void* p = cnp.PyArray_DATA(X.indptr)
    cdef const void* q = cnp.PyArray_DATA(X.indices)
    cdef const void* v = cnp.PyArray_DATA(X.data)
    cdef const void* w = cnp.PyArray_DATA(Wa)
    cdef const void* bp = data_or_null(ba)
    cdef void* o = cnp.PyArray_DATA(oa)
    with nogil:
        if X.itype == cnp.NPY_INT32 and t == cnp.NPY_FLOAT32:
            _forward(<const int32_t*>p, <const int32_t*>q, <const float*>v, <const float*>w,
                     <const float*>bp, <float*>o, n, m)
        elif X.itype == cnp.NPY_INT32:
            _forward(<const int32_t*>p, <const int32_t*>q, <const double*>v, <const double*>w,
                     <const double*>bp, <double*>o, n, m)
        elif t == cnp.NPY_FLOAT32:
            _forward(<const int64_t*>p, <const int64_t*>q, <const float*>v, <const float*>w,
                     <const float*>bp, <float*>o, n, m)
        else:
            _forward(<const int64_t*>p, <const int64_t*>q, <const double*>v, <const double*>w,
                     <const double*>bp, <double*>o, n, m)
    return out


def sparse_weight_gradient(indptr, indices, data, G, dW, db=None):
    """dW = X^T @ G for the CSR rows X = (indptr, indices, data) (dW zeroed, then each stored
    value's row of G scattered into it), and db = G summed over rows when db is given; G (n, m),
    dW (k, m), db (m,) preallocated, all of data's dtype. Returns dW."""
    cdef _CSR X = _CSR(indptr, indices, data)
    cdef int t = X.dtype
    cdef cnp.ndarray Ga = input_array(G, "G", t, 2)
    cdef cnp.ndarray dWa = output_array(dW, "dW", t, 2)
    cdef cnp.ndarray dba = output_array(db, "db", t, 1) if db is not None else None
    cdef Py_ssize_t k = cnp.PyArray_DIM(dWa, 0), m = cnp.PyArray_DIM(dWa, 1), n = X.n
    dim_equals(cnp.PyArray_DIM(Ga, 0), n, "G.shape[0] (= len(indptr) - 1)")
    dim_equals(cnp.PyArray_DIM(Ga, 1), m, "G.shape[1] (= dW.shape[1])")
    if dba is not None:
        dim_equals(cnp.PyArray_DIM(dba, 0), m, "db.shape[0] (= dW.shape[1])")
    X.check_columns(k)
    cdef Span sdW = span(dWa), sdb
    X.apart(sdW, "dW")
    spans_apart(sdW, "dW", span(Ga), "G", False)
    if dba is not None:
        sdb = span(dba)
        X.apart(sdb, "db")
        spans_apart(sdb, "db", span(Ga), "G", False)
        spans_apart(sdb, "db", sdW, "dW", False)
    cdef const void* p = cnp.PyArray_DATA(X.indptr)
    cdef const void* q = cnp.PyArray_DATA(X.indices)
    cdef const void* v = cnp.PyArray_DATA(X.data)
    cdef const void* g = cnp.PyArray_DATA(Ga)
    cdef void* d = cnp.PyArray_DATA(dWa)
    cdef void* e = data_or_null(dba)
    with nogil:
        if X.itype == cnp.NPY_INT32 and t == cnp.NPY_FLOAT32:
            _weight_gradient(<const int32_t*>p, <const int32_t*>q, <const float*>v,
                             <const float*>g, <float*>d, <float*>e, n, k, m)
        elif X.itype == cnp.NPY_INT32:
            _weight_gradient(<const int32_t*>p, <const int32_t*>q, <const double*>v,
                             <const double*>g, <double*>d, <double*>e, n, k, m)
        elif t == cnp.NPY_FLOAT32:
            _weight_gradient(<const int64_t*>p, <const int64_t*>q, <const float*>v,
                             <const float*>g, <float*>d, <float*>e, n, k, m)
        else:
            _weight_gradient(<const int64_t*>p, <const int64_t*>q, <const double*>v,
                             <const double*>g, <double*>d, <double*>e, n, k, m)
    return dW


def csr_gather(indptr, indices, data, rows, dtype):
    """(indptr, indices, data) of the CSR rows X[rows], rows an integer array of row numbers in
    [0, n) (repeats allowed); new arrays, indices in indptr's dtype, data in `dtype` (float32 or
    float64). The indices are copied, not read: the kernels that read them check them."""
    cdef _CSR X = _CSR(indptr, indices, data, False)
    out_dtype = np.dtype(dtype)
    if out_dtype != np.float32 and out_dtype != np.float64:
        raise TypeError(f"dtype must be float32 or float64, got {out_dtype}")
    if not cnp.PyArray_Check(rows) or not cnp.PyArray_ISINTEGER(<cnp.ndarray>rows):
        raise TypeError(f"rows must be a numpy.ndarray of integers, got "
                        f"{getattr(rows, 'dtype', type(rows).__name__)}")
    if cnp.PyArray_NDIM(<cnp.ndarray>rows) != 1:
        raise ValueError(f"rows must be 1-dimensional, got shape {rows.shape}")
    cdef cnp.ndarray ra = cnp.PyArray_FROMANY(rows, cnp.NPY_INTP, 1, 1, cnp.NPY_ARRAY_C_CONTIGUOUS)
    cdef Py_ssize_t n_rows = cnp.PyArray_DIM(ra, 0), r
    cdef const Py_ssize_t* rp = <const Py_ssize_t*>cnp.PyArray_DATA(ra)
    cdef const void* p = cnp.PyArray_DATA(X.indptr)
    if X.itype == cnp.NPY_INT32:
        _check_rows(<const int32_t*>p, rp, n_rows, X.n, X.nnz)
    else:
        _check_rows(<const int64_t*>p, rp, n_rows, X.n, X.nnz)
    cdef const void* q = cnp.PyArray_DATA(X.indices)
    cdef const void* v = cnp.PyArray_DATA(X.data)
    cdef Py_ssize_t nnz
    if X.itype == cnp.NPY_INT32:
        nnz = _gathered_nnz(<const int32_t*>p, rp, n_rows)
    else:
        nnz = _gathered_nnz(<const int64_t*>p, rp, n_rows)
    if X.itype == cnp.NPY_INT32 and nnz > INT32_MAX:  # repeated rows: int64, as scipy would
        return csr_gather(X.indptr.astype(np.int64), X.indices.astype(np.int64), X.data, ra,
                          out_dtype)
    cdef cnp.ndarray out_p = np.empty(n_rows + 1, X.indptr.dtype)
    cdef cnp.ndarray out_q = np.empty(nnz, X.indptr.dtype)
    cdef cnp.ndarray out_v = np.empty(nnz, out_dtype)
    cdef void* op = cnp.PyArray_DATA(out_p)
    cdef void* oq = cnp.PyArray_DATA(out_q)
    cdef void* ov = cnp.PyArray_DATA(out_v)
    cdef bint in32 = X.dtype == cnp.NPY_FLOAT32, out32 = out_dtype == np.float32
    with nogil:
        if X.itype == cnp.NPY_INT32:
            _gather_values(<const int32_t*>p, <const int32_t*>q, v, in32, out32, rp, n_rows,
                           <int32_t*>op, <int32_t*>oq, ov)
        else:
            _gather_values(<const int64_t*>p, <const int64_t*>q, v, in32, out32, rp, n_rows,
                           <int64_t*>op, <int64_t*>oq, ov)
    return out_p, out_q, out_v
