"""Sparse input: the checked CSR rows a network trains and predicts on.

fastnn.validation.check_sparse_x turns a scipy.sparse matrix or array into a CSR: its arrays
checked once (indptr rising from 0 to nnz, column indices in range, finite values in the
network's dtype). The layer-by-layer path then takes it where it takes a dense X: len(X), X[rows]
(a batch of shuffled rows, gathered in C), X[start:stop] (a chunk of predict, a view but for
its indptr), and a network's first Dense layer multiplies it with the sparse kernels
(fastnn/_kernels/sparse.pyx). The compiled engine takes dense X only.
"""
import numpy as np

from fastnn import _kernels

_sparse = _kernels.load("sparse")
sparse_dense_forward = _sparse.sparse_dense_forward
sparse_weight_gradient = _sparse.sparse_weight_gradient
csr_gather = _sparse.csr_gather


class CSR:
    """Rows in CSR form, as scipy.sparse.csr_matrix holds them: (indptr, indices, data) of
    `shape`; made by fastnn.validation from a checked matrix (the constructor trusts them)."""

    __slots__ = ("indptr", "indices", "data", "shape")

    def __init__(self, indptr, indices, data, shape):
        self.indptr, self.indices, self.data = indptr, indices, data
        self.shape = (int(shape[0]), int(shape[1]))

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def nnz(self):
        return len(self.data)

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, rows):
        """X[start:stop] (step 1) or X[integer array]: those rows as a CSR."""
        if isinstance(rows, slice):
            start, stop, step = rows.indices(self.shape[0])
            if step == 1:
                stop = max(start, stop)
                lo, hi = self.indptr[start], self.indptr[stop]
                return CSR(self.indptr[start:stop + 1] - lo, self.indices[lo:hi],
                           self.data[lo:hi], (stop - start, self.shape[1]))
            rows = np.arange(start, stop, step)
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        indptr, indices, data = csr_gather(self.indptr, self.indices, self.data, rows,
                                           self.data.dtype)
        return CSR(indptr, indices, data, (len(rows), self.shape[1]))

    def to_scipy(self):
        """The same rows as a scipy.sparse.csr_matrix (sharing the arrays)."""
        import scipy.sparse
        return scipy.sparse.csr_matrix((self.data, self.indices, self.indptr), shape=self.shape)

    def toarray(self):
        """The dense rows (for tests and small inputs)."""
        return self.to_scipy().toarray()

    def __repr__(self):
        return f"<fastnn CSR {self.shape[0]}x{self.shape[1]}, {self.nnz} stored {self.dtype}>"


def is_sparse(X):
    """Whether X is a scipy.sparse matrix or array, or a checked CSR."""
    if type(X) is np.ndarray:  # the common case, told first
        return False
    if isinstance(X, CSR):
        return True
    import sys
    scipy_sparse = sys.modules.get("scipy.sparse")  # not imported: X cannot be one
    return scipy_sparse is not None and scipy_sparse.issparse(X)
