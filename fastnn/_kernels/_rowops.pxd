# Scalar and row helpers shared by the activations (_act_scalar.pxd, _act_dispatch.pxd) and the
# losses.
#
# Every helper works on a raw row (pointer + length) of one dtype; the typed loops in the .pyx
# modules walk rows and call these. float32 math goes through _vecmath.h (branch-free, so loops
# over it vectorize); float64 too for fexp and sigmoid, libm for the rest. Reductions (row_max,
# row_sum, row_dot) run 8 independent lanes: one dependent chain of adds would take the add's
# full latency per element.
from cython cimport floating
from libc.math cimport erf, expm1, log, log1p, tanh
from libc.stdint cimport uint64_t


cdef extern from "_vecmath.h" nogil:
    double fnn_exp(double x)
    float fnn_expf(float x)
    float fnn_expm1f(float x)
    float fnn_erff(float x)
    float fnn_logf(float x)
    float fnn_log1pf(float x)
    float fnn_tanhf(float x)
    float fnn_sigmoidf(float x)

cdef enum:
    LANES = 8


cdef inline floating fexp(floating x) noexcept nogil:
    if floating is float:
        return fnn_expf(x)
    else:
        return fnn_exp(x)


cdef inline floating fexpm1(floating x) noexcept nogil:
    if floating is float:
        return fnn_expm1f(x)
    else:
        return expm1(x)


cdef inline floating ferf(floating x) noexcept nogil:
    if floating is float:
        return fnn_erff(x)
    else:
        return erf(x)


cdef inline floating flog(floating x) noexcept nogil:
    if floating is float:
        return fnn_logf(x)
    else:
        return log(x)


cdef inline floating flog1p(floating x) noexcept nogil:
    if floating is float:
        return fnn_log1pf(x)
    else:
        return log1p(x)


cdef inline floating sigmoid(floating x) noexcept nogil:
    """1 / (1 + exp(-x)), never exponentiating a large positive number."""
    cdef floating e, r
    if floating is float:
        return fnn_sigmoidf(x)
    else:
        e = fnn_exp(-x if x >= 0 else x)
        r = 1 / (1 + e)
        return r if x >= 0 else e * r


cdef inline floating ftanh(floating x) noexcept nogil:
    if floating is float:
        return fnn_tanhf(x)
    else:
        return tanh(x)


cdef inline floating row_max(const floating* x, Py_ssize_t n) noexcept nogil:
    """max(x[0:n]) for n >= 1."""
    cdef floating lane[LANES]
    cdef floating m
    cdef Py_ssize_t j, l, block, n_lanes = n - n % LANES
    if n_lanes == 0:
        m = x[0]
        for j in range(1, n):
            m = x[j] if x[j] > m else m
        return m
    for l in range(LANES):
        lane[l] = x[l]
    for block in range(1, n_lanes // LANES):
        j = block * LANES
        for l in range(LANES):
            lane[l] = x[j + l] if x[j + l] > lane[l] else lane[l]
    m = lane[0]
    for l in range(1, LANES):
        m = lane[l] if lane[l] > m else m
    for j in range(n_lanes, n):
        m = x[j] if x[j] > m else m
    return m


cdef inline double row_dot(const floating* x, const floating* y, Py_ssize_t n) noexcept nogil:
    """sum_j x[j] * y[j] in double; y may be NULL for sum_j x[j]. The NULL test stays outside
    the loops: inside, it kept GCC from vectorizing the lanes (scalar converts and adds)."""
    cdef double lane[LANES]
    cdef double total = 0
    cdef Py_ssize_t j, l, block, n_lanes = n - n % LANES
    for l in range(LANES):
        lane[l] = 0
    if y == NULL:
        for block in range(n_lanes // LANES):
            j = block * LANES
            for l in range(LANES):
                lane[l] += <double>x[j + l]
        for j in range(n_lanes, n):
            total += <double>x[j]
    else:
        for block in range(n_lanes // LANES):
            j = block * LANES
            for l in range(LANES):
                lane[l] += <double>x[j + l] * y[j + l]
        for j in range(n_lanes, n):
            total += <double>x[j] * y[j]
    for l in range(LANES):
        total += lane[l]
    return total


cdef inline void softmax_row(const floating* x, floating* y, Py_ssize_t n) noexcept nogil:
    """y = exp(x - max x) / sum exp(x - max x); y may be x."""
    if n == 0:
        return
    cdef floating m = row_max(x, n)
    cdef Py_ssize_t j
    for j in range(n):
        y[j] = fexp(x[j] - m)
    cdef floating inv = <floating>(1 / row_dot(y, <const floating*>NULL, n))
    for j in range(n):
        y[j] *= inv


cdef inline uint64_t splitmix64(uint64_t z) noexcept nogil:
    z = (z ^ (z >> 30)) * <uint64_t>0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * <uint64_t>0x94D049BB133111EB
    return z ^ (z >> 31)


cdef inline void dropout_row(const floating* x, floating* out, floating* mask, Py_ssize_t n,
                             double rate, uint64_t key, uint64_t counter) noexcept nogil:
    """Inverted dropout over n values whose random numbers are numbers counter, counter + 1, ...
    of stream `key`: u = top 24 bits of splitmix64(key + i * golden) / 2^24; mask = (u >= rate)
    / (1 - rate); out = x * mask. Counter-based, so a row needs no state from the rows before."""
    cdef Py_ssize_t j
    # The threshold is compared at the array's precision; the scale is rounded from double.
    cdef floating threshold = <floating>rate, scale = <floating>(1.0 / (1.0 - rate)), u
    for j in range(n):
        u = <floating>(splitmix64(key + (counter + <uint64_t>j) * <uint64_t>0x9E3779B97F4A7C15) >> 40) \
            * <floating>5.9604644775390625e-08
        mask[j] = scale if u >= threshold else 0
        out[j] = x[j] * mask[j]
