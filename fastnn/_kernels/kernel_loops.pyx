"""The layer-by-layer kernels' loops, without the GIL: the activations' (_act_dispatch.pxd), dropout,
the dense layer's (_dense_core.pxd), the losses', the optimizers' updates, the normalization
layers' (_norm_core.pxd) and gradient clipping (_clip.pxd); the engine calls the last two here too.

Built once per ISA variant (setup.py); activations, dense, losses and optim, built once, check
every argument and call these through the table LOOPS (a capsule of a KernelLoops), so the loops
trust their inputs.
"""
from cpython.pycapsule cimport PyCapsule_New
from cython cimport floating
from libc.stdint cimport uint64_t

from fastnn._kernels._act_dispatch cimport (backward_factor_rows, backward_rows,
                                           forward_factor_rows, forward_rows)
from fastnn._kernels._blas cimport load_blas, row_blocks
from fastnn._kernels._clip cimport clip_scale, sum_squares
from fastnn._kernels._dense_core cimport dense_backward_core, dense_forward_core
from fastnn._kernels._loops cimport KernelLoops
from fastnn._kernels._loss_core cimport loss_rows
from fastnn._kernels._optim_core cimport optim_update
from fastnn._kernels._norm_core cimport (batch_norm_backward_core, batch_norm_forward_core,
                                         batch_norm_inference_core, layer_norm_backward_core,
                                         layer_norm_forward_core)
from fastnn._kernels._rowops cimport dropout_row

load_blas()


def _gemm_row_blocks(bint trans_a, bint trans_b, int m, int n, int k, int lda, int ldc,
                     int itemsize):
    """Into how many blocks of rows the row-major GEMM splits C (see _blas.pxd); for tests."""
    return row_blocks(trans_a, trans_b, m, n, k, lda, ldc, itemsize)


# The layer-by-layer kernels' loops, as the table's void* entry points of one dtype each.
cdef void _forward_rows(int kind, const void* x, void* y, Py_ssize_t rows, Py_ssize_t cols,
                        double alpha, int n_threads, floating dtype) noexcept nogil:
    forward_rows(kind, <const floating*>x, <floating*>y, rows, cols, <floating>alpha, n_threads)


cdef void _forward_rows32(int kind, const void* x, void* y, Py_ssize_t rows, Py_ssize_t cols,
                          double alpha, int n_threads) noexcept nogil:
    _forward_rows(kind, x, y, rows, cols, alpha, n_threads, <float>0)


cdef void _forward_rows64(int kind, const void* x, void* y, Py_ssize_t rows, Py_ssize_t cols,
                          double alpha, int n_threads) noexcept nogil:
    _forward_rows(kind, x, y, rows, cols, alpha, n_threads, <double>0)


cdef void _backward_rows(int kind, const void* s, const void* dy, void* dx, Py_ssize_t rows,
                         Py_ssize_t cols, double alpha, int n_threads,
                         floating dtype) noexcept nogil:
    backward_rows(kind, <const floating*>s, <const floating*>dy, <floating*>dx, rows, cols,
                  <floating>alpha, n_threads)


cdef void _backward_rows32(int kind, const void* s, const void* dy, void* dx, Py_ssize_t rows,
                           Py_ssize_t cols, double alpha, int n_threads) noexcept nogil:
    _backward_rows(kind, s, dy, dx, rows, cols, alpha, n_threads, <float>0)


cdef void _backward_rows64(int kind, const void* s, const void* dy, void* dx, Py_ssize_t rows,
                           Py_ssize_t cols, double alpha, int n_threads) noexcept nogil:
    _backward_rows(kind, s, dy, dx, rows, cols, alpha, n_threads, <double>0)


cdef void _forward_factor_rows32(int kind, const void* x, void* y, void* d, Py_ssize_t rows,
                                 Py_ssize_t cols, double alpha, int n_threads) noexcept nogil:
    forward_factor_rows(kind, <const float*>x, <float*>y, <float*>d, rows, cols, <float>alpha,
                        n_threads)


cdef void _forward_factor_rows64(int kind, const void* x, void* y, void* d, Py_ssize_t rows,
                                 Py_ssize_t cols, double alpha, int n_threads) noexcept nogil:
    forward_factor_rows(kind, <const double*>x, <double*>y, <double*>d, rows, cols, alpha,
                        n_threads)


cdef void _backward_factor_rows32(const void* d, const void* dy, void* dx, Py_ssize_t rows,
                                  Py_ssize_t cols, int n_threads) noexcept nogil:
    backward_factor_rows(<const float*>d, <const float*>dy, <float*>dx, rows, cols, n_threads)


cdef void _backward_factor_rows64(const void* d, const void* dy, void* dx, Py_ssize_t rows,
                                  Py_ssize_t cols, int n_threads) noexcept nogil:
    backward_factor_rows(<const double*>d, <const double*>dy, <double*>dx, rows, cols, n_threads)


cdef void _dropout_row32(const void* x, void* out, void* mask, Py_ssize_t n, double rate,
                         uint64_t key, uint64_t counter) noexcept nogil:
    dropout_row(<const float*>x, <float*>out, <float*>mask, n, rate, key, counter)


cdef void _dropout_row64(const void* x, void* out, void* mask, Py_ssize_t n, double rate,
                         uint64_t key, uint64_t counter) noexcept nogil:
    dropout_row(<const double*>x, <double*>out, <double*>mask, n, rate, key, counter)


cdef void _dense_forward(const void* X, const void* W, const void* b, void* out, Py_ssize_t n,
                         Py_ssize_t k, Py_ssize_t m, int kind, double alpha, int n_threads,
                         floating dtype) noexcept nogil:
    dense_forward_core(<const floating*>X, <const floating*>W, <const floating*>b,
                       <floating*>out, n, k, m, kind, <floating>alpha, n_threads)


cdef void _dense_forward32(const void* X, const void* W, const void* b, void* out, Py_ssize_t n,
                           Py_ssize_t k, Py_ssize_t m, int kind, double alpha,
                           int n_threads) noexcept nogil:
    _dense_forward(X, W, b, out, n, k, m, kind, alpha, n_threads, <float>0)


cdef void _dense_forward64(const void* X, const void* W, const void* b, void* out, Py_ssize_t n,
                           Py_ssize_t k, Py_ssize_t m, int kind, double alpha,
                           int n_threads) noexcept nogil:
    _dense_forward(X, W, b, out, n, k, m, kind, alpha, n_threads, <double>0)


cdef void _dense_backward32(const void* X, const void* W, const void* dY, void* dW, void* db,
                            void* dX, Py_ssize_t n, Py_ssize_t k, Py_ssize_t m,
                            bint accumulate) noexcept nogil:
    dense_backward_core(<const float*>X, <const float*>W, <const float*>dY, <float*>dW,
                        <float*>db, <float*>dX, n, k, m, accumulate)


cdef void _dense_backward64(const void* X, const void* W, const void* dY, void* dW, void* db,
                            void* dX, Py_ssize_t n, Py_ssize_t k, Py_ssize_t m,
                            bint accumulate) noexcept nogil:
    dense_backward_core(<const double*>X, <const double*>W, <const double*>dY, <double*>dW,
                        <double*>db, <double*>dX, n, k, m, accumulate)


cdef double _loss_rows32(int kind, const void* z, const void* t, const Py_ssize_t* labels,
                         const void* w, void* g, Py_ssize_t n, Py_ssize_t c, double eps,
                         int n_threads) noexcept nogil:
    return loss_rows(kind, <const float*>z, <const float*>t, labels, <const float*>w,
                     <float*>g, n, c, <float>eps, n_threads)


cdef double _loss_rows64(int kind, const void* z, const void* t, const Py_ssize_t* labels,
                         const void* w, void* g, Py_ssize_t n, Py_ssize_t c, double eps,
                         int n_threads) noexcept nogil:
    return loss_rows(kind, <const double*>z, <const double*>t, labels, <const double*>w,
                     <double*>g, n, c, eps, n_threads)


cdef void _optim_update32(int kind, void* p, const void* grad, void* s1, void* s2, Py_ssize_t n,
                          double lr, double a, double b, double eps, double wd, bint nesterov,
                          double c1, double c2, double keep) noexcept nogil:
    optim_update(kind, <float*>p, <const float*>grad, <float*>s1, <float*>s2, n, <float>lr,
                 <float>a, <float>b, <float>eps, <float>wd, nesterov, <float>c1, <float>c2,
                 <float>keep)


cdef void _optim_update64(int kind, void* p, const void* grad, void* s1, void* s2, Py_ssize_t n,
                          double lr, double a, double b, double eps, double wd, bint nesterov,
                          double c1, double c2, double keep) noexcept nogil:
    optim_update(kind, <double*>p, <const double*>grad, <double*>s1, <double*>s2, n, lr, a, b,
                 eps, wd, nesterov, c1, c2, keep)


cdef void _batch_norm_forward(const void* x, const void* gamma, const void* beta, void* out,
                              void* xhat, void* inv_std, void* running_mean, void* running_var,
                              Py_ssize_t n, Py_ssize_t m, double momentum, double eps,
                              floating dtype) noexcept nogil:
    batch_norm_forward_core(<const floating*>x, <const floating*>gamma, <const floating*>beta,
                            <floating*>out, <floating*>xhat, <floating*>inv_std,
                            <floating*>running_mean, <floating*>running_var, n, m, momentum, eps)


cdef void _batch_norm_forward32(const void* x, const void* gamma, const void* beta, void* out,
                                void* xhat, void* inv_std, void* running_mean, void* running_var,
                                Py_ssize_t n, Py_ssize_t m, double momentum,
                                double eps) noexcept nogil:
    _batch_norm_forward(x, gamma, beta, out, xhat, inv_std, running_mean, running_var, n, m,
                        momentum, eps, <float>0)


cdef void _batch_norm_forward64(const void* x, const void* gamma, const void* beta, void* out,
                                void* xhat, void* inv_std, void* running_mean, void* running_var,
                                Py_ssize_t n, Py_ssize_t m, double momentum,
                                double eps) noexcept nogil:
    _batch_norm_forward(x, gamma, beta, out, xhat, inv_std, running_mean, running_var, n, m,
                        momentum, eps, <double>0)


cdef void _batch_norm_inference32(const void* x, const void* gamma, const void* beta,
                                  const void* running_mean, const void* running_var, void* out,
                                  Py_ssize_t n, Py_ssize_t m, double eps) noexcept nogil:
    batch_norm_inference_core(<const float*>x, <const float*>gamma, <const float*>beta,
                              <const float*>running_mean, <const float*>running_var,
                              <float*>out, n, m, eps)


cdef void _batch_norm_inference64(const void* x, const void* gamma, const void* beta,
                                  const void* running_mean, const void* running_var, void* out,
                                  Py_ssize_t n, Py_ssize_t m, double eps) noexcept nogil:
    batch_norm_inference_core(<const double*>x, <const double*>gamma, <const double*>beta,
                              <const double*>running_mean, <const double*>running_var,
                              <double*>out, n, m, eps)


cdef void _batch_norm_backward32(const void* xhat, const void* inv_std, const void* gamma,
                                 const void* dy, void* dgamma, void* dbeta, void* dx,
                                 Py_ssize_t n, Py_ssize_t m) noexcept nogil:
    batch_norm_backward_core(<const float*>xhat, <const float*>inv_std, <const float*>gamma,
                             <const float*>dy, <float*>dgamma, <float*>dbeta, <float*>dx, n, m)


cdef void _batch_norm_backward64(const void* xhat, const void* inv_std, const void* gamma,
                                 const void* dy, void* dgamma, void* dbeta, void* dx,
                                 Py_ssize_t n, Py_ssize_t m) noexcept nogil:
    batch_norm_backward_core(<const double*>xhat, <const double*>inv_std, <const double*>gamma,
                             <const double*>dy, <double*>dgamma, <double*>dbeta, <double*>dx,
                             n, m)


cdef void _layer_norm_forward32(const void* x, const void* gamma, const void* beta, void* out,
                                void* xhat, void* inv_std, Py_ssize_t n, Py_ssize_t m,
                                double eps) noexcept nogil:
    layer_norm_forward_core(<const float*>x, <const float*>gamma, <const float*>beta,
                            <float*>out, <float*>xhat, <float*>inv_std, n, m, eps)


cdef void _layer_norm_forward64(const void* x, const void* gamma, const void* beta, void* out,
                                void* xhat, void* inv_std, Py_ssize_t n, Py_ssize_t m,
                                double eps) noexcept nogil:
    layer_norm_forward_core(<const double*>x, <const double*>gamma, <const double*>beta,
                            <double*>out, <double*>xhat, <double*>inv_std, n, m, eps)


cdef void _layer_norm_backward32(const void* xhat, const void* inv_std, const void* gamma,
                                 const void* dy, void* dgamma, void* dbeta, void* dx,
                                 Py_ssize_t n, Py_ssize_t m) noexcept nogil:
    layer_norm_backward_core(<const float*>xhat, <const float*>inv_std, <const float*>gamma,
                             <const float*>dy, <float*>dgamma, <float*>dbeta, <float*>dx, n, m)


cdef void _layer_norm_backward64(const void* xhat, const void* inv_std, const void* gamma,
                                 const void* dy, void* dgamma, void* dbeta, void* dx,
                                 Py_ssize_t n, Py_ssize_t m) noexcept nogil:
    layer_norm_backward_core(<const double*>xhat, <const double*>inv_std, <const double*>gamma,
                             <const double*>dy, <double*>dgamma, <double*>dbeta, <double*>dx,
                             n, m)
cdef double _sum_squares32(const void* g, Py_ssize_t n) noexcept nogil:
    return sum_squares(<const float*>g, n)


cdef double _sum_squares64(const void* g, Py_ssize_t n) noexcept nogil:
    return sum_squares(<const double*>g, n)


cdef void _clip_scale32(void* g, Py_ssize_t n, double scale, double clipvalue) noexcept nogil:
    clip_scale(<float*>g, n, <float>scale, <float>clipvalue)


cdef void _clip_scale64(void* g, Py_ssize_t n, double scale, double clipvalue) noexcept nogil:
    clip_scale(<double*>g, n, scale, clipvalue)


cdef KernelLoops _LOOPS
_LOOPS.forward_rows[0], _LOOPS.forward_rows[1] = _forward_rows32, _forward_rows64
_LOOPS.backward_rows[0], _LOOPS.backward_rows[1] = _backward_rows32, _backward_rows64
_LOOPS.forward_factor_rows[0] = _forward_factor_rows32
_LOOPS.forward_factor_rows[1] = _forward_factor_rows64
_LOOPS.backward_factor_rows[0] = _backward_factor_rows32
_LOOPS.backward_factor_rows[1] = _backward_factor_rows64
_LOOPS.dropout_row[0], _LOOPS.dropout_row[1] = _dropout_row32, _dropout_row64
_LOOPS.dense_forward[0], _LOOPS.dense_forward[1] = _dense_forward32, _dense_forward64
_LOOPS.dense_backward[0], _LOOPS.dense_backward[1] = _dense_backward32, _dense_backward64
_LOOPS.loss_rows[0], _LOOPS.loss_rows[1] = _loss_rows32, _loss_rows64
_LOOPS.optim_update[0], _LOOPS.optim_update[1] = _optim_update32, _optim_update64
_LOOPS.batch_norm_forward[0] = _batch_norm_forward32
_LOOPS.batch_norm_forward[1] = _batch_norm_forward64
_LOOPS.batch_norm_inference[0] = _batch_norm_inference32
_LOOPS.batch_norm_inference[1] = _batch_norm_inference64
_LOOPS.batch_norm_backward[0] = _batch_norm_backward32
_LOOPS.batch_norm_backward[1] = _batch_norm_backward64
_LOOPS.layer_norm_forward[0] = _layer_norm_forward32
_LOOPS.layer_norm_forward[1] = _layer_norm_forward64
_LOOPS.layer_norm_backward[0] = _layer_norm_backward32
_LOOPS.layer_norm_backward[1] = _layer_norm_backward64
_LOOPS.sum_squares[0], _LOOPS.sum_squares[1] = _sum_squares32, _sum_squares64
_LOOPS.clip_scale[0], _LOOPS.clip_scale[1] = _clip_scale32, _clip_scale64
LOOPS = PyCapsule_New(&_LOOPS, "fastnn._kernels.kernel_loops.LOOPS", NULL)
