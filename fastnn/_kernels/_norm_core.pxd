# The normalization layers' nogil cores (BatchNorm over the rows of a batch, LayerNorm over the
# columns of a row), called through kernel_loops' table by norm.pyx and by the engine, so both
# paths run one compiled copy.
#
# batch norm, training:  mean_j, var_j over the n rows (biased), inv_std_j = 1 / sqrt(var_j + eps),
#                        xhat = (x - mean) * inv_std, out = gamma * xhat + beta; running_mean and
#                        running_var (from the unbiased variance) move by `momentum` (torch's
#                        convention: running = (1 - momentum) * running + momentum * batch)
# batch norm, inference: the same with running_mean and running_var as the statistics
# layer norm:            the same per row, over its m columns
# backward (both):       the closed form from xhat and inv_std; dgamma = sum(dy * xhat),
#                        dbeta = sum(dy) over the rows
# Sums run in double whatever the dtype. Columns go in blocks of BLOCK, row after row, so each
# pass reads memory in order.
from cython cimport floating
from libc.math cimport sqrt


cdef enum:
    BLOCK = 16


cdef inline void batch_norm_forward_core(const floating* x, const floating* gamma,
                                         const floating* beta, floating* out, floating* xhat,
                                         floating* inv_std, floating* running_mean,
                                         floating* running_var, Py_ssize_t n, Py_ssize_t m,
                                         double momentum, double eps) noexcept nogil:
    # n >= 2 (the caller checks). out may be x.
    cdef double mean[BLOCK]
    cdef double inv[BLOCK]
    cdef double d, var
    cdef floating h
    cdef Py_ssize_t j0, w, i, j, k
    for j0 in range(0, m, 16):  # BLOCK
        w = min(<Py_ssize_t>BLOCK, m - j0)
        for j in range(w):
            mean[j] = 0
            inv[j] = 0
        for i in range(n):
            for j in range(w):
                mean[j] += x[i * m + j0 + j]
        for j in range(w):
            mean[j] /= n
        for i in range(n):
            for j in range(w):
                d = x[i * m + j0 + j] - mean[j]
                inv[j] += d * d
        for j in range(w):
            var = inv[j] / n
            inv[j] = 1.0 / sqrt(var + eps)
            inv_std[j0 + j] = <floating>inv[j]
            running_mean[j0 + j] = <floating>((1.0 - momentum) * running_mean[j0 + j]
                                              + momentum * mean[j])
            running_var[j0 + j] = <floating>((1.0 - momentum) * running_var[j0 + j]
                                             + momentum * var * n / (n - 1))
        for i in range(n):
            for j in range(w):
                k = i * m + j0 + j
                h = <floating>((x[k] - mean[j]) * inv[j])
                xhat[k] = h
                out[k] = gamma[j0 + j] * h + beta[j0 + j]


cdef inline void batch_norm_inference_core(const floating* x, const floating* gamma,
                                           const floating* beta, const floating* running_mean,
                                           const floating* running_var, floating* out,
                                           Py_ssize_t n, Py_ssize_t m,
                                           double eps) noexcept nogil:
    # out may be x.
    cdef double inv[BLOCK]
    cdef floating h
    cdef Py_ssize_t j0, w, i, j, k
    for j0 in range(0, m, 16):  # BLOCK
        w = min(<Py_ssize_t>BLOCK, m - j0)
        for j in range(w):
            inv[j] = 1.0 / sqrt(<double>running_var[j0 + j] + eps)
        for i in range(n):
            for j in range(w):
                k = i * m + j0 + j
                h = <floating>((<double>x[k] - running_mean[j0 + j]) * inv[j])
                out[k] = gamma[j0 + j] * h + beta[j0 + j]


cdef inline void _column_sums(const floating* xhat, const floating* dy, floating* dgamma,
                              floating* dbeta, double* sg, double* sb, Py_ssize_t j0,
                              Py_ssize_t w, Py_ssize_t n, Py_ssize_t m) noexcept nogil:
    """sb[j] = sum_i dy[i, j0 + j], sg[j] = sum_i dy * xhat, for w columns; rounded into dbeta
    and dgamma."""
    cdef Py_ssize_t i, j, k
    for j in range(w):
        sg[j] = 0
        sb[j] = 0
    for i in range(n):
        for j in range(w):
            k = i * m + j0 + j
            sb[j] += dy[k]
            sg[j] += <double>dy[k] * xhat[k]
    for j in range(w):
        dgamma[j0 + j] = <floating>sg[j]
        dbeta[j0 + j] = <floating>sb[j]


cdef inline void batch_norm_backward_core(const floating* xhat, const floating* inv_std,
                                          const floating* gamma, const floating* dy,
                                          floating* dgamma, floating* dbeta, floating* dx,
                                          Py_ssize_t n, Py_ssize_t m) noexcept nogil:
    # dx = gamma * inv_std / n * (n * dy - sum(dy) - xhat * sum(dy * xhat)); dx may be dy or
    # NULL (no input gradient).
    cdef double sg[BLOCK]
    cdef double sb[BLOCK]
    cdef double scale[BLOCK]
    cdef Py_ssize_t j0, w, i, j, k
    for j0 in range(0, m, 16):  # BLOCK
        w = min(<Py_ssize_t>BLOCK, m - j0)
        _column_sums(xhat, dy, dgamma, dbeta, sg, sb, j0, w, n, m)
        if dx == NULL:
            continue
        for j in range(w):
            scale[j] = <double>gamma[j0 + j] * inv_std[j0 + j] / n
        for i in range(n):
            for j in range(w):
                k = i * m + j0 + j
                dx[k] = <floating>(scale[j] * (n * <double>dy[k] - sb[j] - xhat[k] * sg[j]))


cdef inline void layer_norm_forward_core(const floating* x, const floating* gamma,
                                         const floating* beta, floating* out, floating* xhat,
                                         floating* inv_std, Py_ssize_t n, Py_ssize_t m,
                                         double eps) noexcept nogil:
    # out may be x.
    cdef double mean, q, d, inv
    cdef floating h
    cdef Py_ssize_t i, j
    cdef const floating* xr
    for i in range(n):
        xr = x + i * m
        mean = 0
        for j in range(m):
            mean += xr[j]
        mean /= m
        q = 0
        for j in range(m):
            d = xr[j] - mean
            q += d * d
        inv = 1.0 / sqrt(q / m + eps)
        inv_std[i] = <floating>inv
        for j in range(m):
            h = <floating>((xr[j] - mean) * inv)
            xhat[i * m + j] = h
            out[i * m + j] = gamma[j] * h + beta[j]


cdef inline void layer_norm_backward_core(const floating* xhat, const floating* inv_std,
                                          const floating* gamma, const floating* dy,
                                          floating* dgamma, floating* dbeta, floating* dx,
                                          Py_ssize_t n, Py_ssize_t m) noexcept nogil:
    # g = dy * gamma; dx = inv_std / m * (m * g - sum(g) - xhat * sum(g * xhat)) per row; dx
    # may be dy or NULL. The column sums come first: dx may overwrite dy.
    cdef double sg[BLOCK]
    cdef double sb[BLOCK]
    cdef double a, b, g
    cdef Py_ssize_t j0, w, i, j, k
    for j0 in range(0, m, 16):  # BLOCK
        w = min(<Py_ssize_t>BLOCK, m - j0)
        _column_sums(xhat, dy, dgamma, dbeta, sg, sb, j0, w, n, m)
    if dx == NULL:
        return
    for i in range(n):
        a = 0
        b = 0
        for j in range(m):
            k = i * m + j
            g = <double>dy[k] * gamma[j]
            a += g
            b += g * xhat[k]
        for j in range(m):
            k = i * m + j
            g = <double>dy[k] * gamma[j]
            dx[k] = <floating>(inv_std[i] / <double>m * (m * g - a - xhat[k] * b))
