# The losses' nogil cores, shared by losses.pyx and the training engine (see losses.pyx).
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport fabs

from fastnn._kernels._rowops cimport fexp, flog, flog1p, row_dot, row_max


cdef enum:
    SOFTMAX_CE = 0
    CATEGORICAL_CE = 1
    SIGMOID_BCE = 2
    BCE = 3
    MSE = 4
    MAE = 5
    SUM_OF_SQUARES = 6
    SIGMOID_BCE_SUM = 7  # SIGMOID_BCE summed over the outputs (scikit-learn's multi-label loss)
    HUBER = 8  # eps is delta
    POISSON = 9  # from log rates
    HALF_POISSON_DEVIANCE = 10  # from log means, summed over the outputs (scikit-learn's MLP)
    CHUNK = 256  # elements whose loss terms are summed at once, from a buffer on the stack
    ROW_BLOCK = 64  # rows of softmax cross-entropy whose exps (and logs) run as one loop


cdef inline floating _clip(floating p, floating lo, floating hi) noexcept nogil:
    return lo if p < lo else (hi if p > hi else p)


cdef inline void _elementwise(int kind, const floating* z, const floating* t, floating* g,
                       floating* terms, Py_ssize_t c, floating scale, floating eps) noexcept nogil:
    """terms[j] = loss of element j, g[j] = scale * d terms[j] / d z[j]. One loop per kind and
    no reduction inside, so each loop vectorizes; g may be z (z[j] is read before g[j] is set)."""
    cdef Py_ssize_t j
    cdef floating p, d, e, zj
    if kind == CATEGORICAL_CE:
        for j in range(c):
            p = _clip(z[j], eps, 1 - eps)
            terms[j] = -t[j] * flog(p)
            g[j] = -scale * t[j] / p
    elif kind == SIGMOID_BCE or kind == SIGMOID_BCE_SUM:
        for j in range(c):
            zj = z[j]
            e = fexp(-zj if zj >= 0 else zj)  # exp(-|z|); fabs would make it double
            terms[j] = (zj if zj > 0 else 0) - zj * t[j] + flog1p(e)
            g[j] = scale * ((1 if zj >= 0 else e) / (1 + e) - t[j])
    elif kind == BCE:
        for j in range(c):
            p = _clip(z[j], eps, 1 - eps)
            terms[j] = -(t[j] * flog(p) + (1 - t[j]) * flog1p(-p))
            g[j] = scale * (p - t[j]) / (p * (1 - p))
    elif kind == MSE:
        for j in range(c):
            d = z[j] - t[j]
            terms[j] = d * d
            g[j] = scale * 2 * d
    elif kind == MAE:
        for j in range(c):
            d = z[j] - t[j]
            terms[j] = fabs(d)
            g[j] = scale * ((d > 0) - (d < 0))
    elif kind == HUBER:
        for j in range(c):
            d = z[j] - t[j]
            e = d if d >= 0 else -d  # |d| at the array's precision
            terms[j] = <floating>0.5 * d * d if e <= eps else eps * (e - <floating>0.5 * eps)
            g[j] = scale * _clip(d, -eps, eps)
    elif kind == POISSON:
        for j in range(c):
            e = fexp(z[j])
            terms[j] = e - t[j] * z[j]
            g[j] = scale * (e - t[j])
    elif kind == HALF_POISSON_DEVIANCE:
        for j in range(c):
            e = fexp(z[j])
            # y log(y / exp(z)) - y + exp(z), with 0 log 0 = 0 (scipy's xlogy)
            terms[j] = e - t[j] * z[j] + ((t[j] * flog(t[j]) if t[j] > 0 else 0) - t[j])
            g[j] = scale * (e - t[j])
    else:
        for j in range(c):
            d = z[j] - t[j]
            terms[j] = <floating>0.5 * d * d
            g[j] = scale * d


cdef inline double _row(int kind, const floating* z, const floating* t, Py_ssize_t label,
                 floating* g, Py_ssize_t c, floating scale, floating eps) noexcept nogil:
    """Row loss, and g = scale * d(row loss)/dz; SOFTMAX_CE is _softmax_ce_block's. t is NULL
    when `label` holds the target. Every read of z precedes the write of g at the same place, so
    g may be z."""
    cdef Py_ssize_t j, j0, block, width
    cdef floating p
    cdef double loss = 0
    cdef floating terms[CHUNK]
    if kind == CATEGORICAL_CE and t == NULL:
        p = _clip(z[label], eps, 1 - eps)
        for j in range(c):
            g[j] = 0
        g[label] = -scale / p
        return -flog(p)
    cdef bint summed = (kind == CATEGORICAL_CE or kind == SUM_OF_SQUARES or kind == SIGMOID_BCE_SUM
                        or kind == HALF_POISSON_DEVIANCE)
    if not summed:
        scale = scale / c  # the element-wise losses average over the c outputs
    for block in range((c + CHUNK - 1) // CHUNK):
        j0 = block * CHUNK
        width = min(<Py_ssize_t>CHUNK, c - j0)
        _elementwise(kind, z + j0, t + j0, g + j0, terms, width, scale, eps)
        loss += row_dot(terms, <const floating*>NULL, width)
    return loss if summed else loss / c


cdef inline double _softmax_ce_block(const floating* z, const floating* t,
                                     const Py_ssize_t* labels, const floating* w, floating* g,
                                     Py_ssize_t n, Py_ssize_t c, double total_w,
                                     double total) noexcept nogil:
    """total + sum_i w_i * loss_i over n <= ROW_BLOCK rows of softmax cross-entropy from logits,
    g_i = (w_i / total_w) * d loss_i / dz_i. t is NULL when `labels` hold the targets; g may be
    z. The exps of all n rows run as one loop, and their logs as another: a row's own loop over
    a few classes is too short to vectorize."""
    cdef floating m[ROW_BLOCK]
    cdef floating log_s[ROW_BLOCK]
    cdef double s[ROW_BLOCK]
    cdef double tz[ROW_BLOCK]
    cdef double ts[ROW_BLOCK]
    cdef double wi
    cdef floating p, scale
    cdef Py_ssize_t i, j
    for i in range(n):
        m[i] = row_max(z + i * c, c)
        if t == NULL:
            tz[i] = z[i * c + labels[i]]
            ts[i] = 1
        else:
            tz[i] = row_dot(t + i * c, z + i * c, c)
            ts[i] = row_dot(t + i * c, <const floating*>NULL, c)
        for j in range(c):
            g[i * c + j] = z[i * c + j] - m[i]
    for j in range(n * c):
        g[j] = fexp(g[j])
    for i in range(n):
        s[i] = row_dot(g + i * c, <const floating*>NULL, c)
        log_s[i] = <floating>s[i]
    for i in range(n):
        log_s[i] = flog(log_s[i])
    for i in range(n):
        wi = w[i] if w != NULL else 1
        scale = <floating>(wi / total_w)
        total += wi * ((m[i] + log_s[i]) * ts[i] - tz[i])
        p = <floating>(scale * ts[i] / s[i])
        if t == NULL:
            for j in range(c):
                g[i * c + j] = g[i * c + j] * p
            g[i * c + labels[i]] -= scale
        else:
            for j in range(c):
                g[i * c + j] = g[i * c + j] * p - scale * t[i * c + j]
    return total


cdef inline double loss_rows(int kind, const floating* z, const floating* t,
                             const Py_ssize_t* labels, const floating* w, floating* g, Py_ssize_t n,
                             Py_ssize_t c, floating eps, int n_threads) noexcept nogil:
    cdef double total_w = n, total = 0
    cdef Py_ssize_t i, start
    if w != NULL:
        total_w = 0
        for i in range(n):
            total_w += w[i]
    if kind == SOFTMAX_CE:
        if n_threads > 1 and n > ROW_BLOCK:
            for i in prange((n + ROW_BLOCK - 1) // ROW_BLOCK, num_threads=n_threads,
                            schedule="static"):
                total += _softmax_ce_block(
                    z + i * ROW_BLOCK * c, t + i * ROW_BLOCK * c if t != NULL else NULL,
                    labels + i * ROW_BLOCK if t == NULL else NULL,
                    w + i * ROW_BLOCK if w != NULL else NULL, g + i * ROW_BLOCK * c,
                    min(<Py_ssize_t>ROW_BLOCK, n - i * ROW_BLOCK), c, total_w, 0)
        else:
            for i in range((n + ROW_BLOCK - 1) // ROW_BLOCK):
                start = i * ROW_BLOCK
                total = _softmax_ce_block(
                    z + start * c, t + start * c if t != NULL else NULL,
                    labels + start if t == NULL else NULL, w + start if w != NULL else NULL,
                    g + start * c, min(<Py_ssize_t>ROW_BLOCK, n - start), c, total_w, total)
        return total / total_w
    if n_threads > 1 and n > 1:
        for i in prange(n, num_threads=n_threads, schedule="static"):
            total += (w[i] if w != NULL else 1) * _row(
                kind, z + i * c, t + i * c if t != NULL else NULL, labels[i] if t == NULL else 0,
                g + i * c, c, <floating>((w[i] if w != NULL else 1) / total_w), eps)
    else:
        for i in range(n):
            total += (w[i] if w != NULL else 1) * _row(
                kind, z + i * c, t + i * c if t != NULL else NULL, labels[i] if t == NULL else 0,
                g + i * c, c, <floating>((w[i] if w != NULL else 1) / total_w), eps)
    return total / total_w
