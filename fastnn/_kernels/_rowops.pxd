# Scalar and row helpers shared by the dense epilogue, the activations and the losses.
#
# Every helper works on a raw row (pointer + length) of one dtype; the typed loops in the .pyx
# modules walk rows and call these. float32 math goes through _vecmath.h (branch-free, so loops
# over it vectorize); float64 too for fexp, libm for the rest. Reductions (row_max, row_sum,
# row_dot) run 8 independent lanes: one dependent chain of adds would take the add's full
# latency per element.
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport exp, log, log1p, tanh
from libc.stdint cimport uint64_t


cdef extern from "_vecmath.h" nogil:
    double fnn_exp(double x)
    float fnn_expf(float x)
    float fnn_logf(float x)
    float fnn_log1pf(float x)
    float fnn_tanhf(float x)
    float fnn_sigmoidf(float x)

# Activation codes; the Python-facing names are in activation_code below.
cdef enum:
    IDENTITY = 0
    RELU = 1
    LEAKY_RELU = 2
    SIGMOID = 3
    TANH = 4
    SOFTMAX = 5
    EXP = 6  # Poisson's output transform (minimal; the activation registry replaces it)
    LANES = 8


cdef inline floating fexp(floating x) noexcept nogil:
    if floating is float:
        return fnn_expf(x)
    else:
        return fnn_exp(x)


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
        e = exp(-x if x >= 0 else x)
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


cdef inline void activate(int kind, const floating* x, floating* y, Py_ssize_t n,
                          floating alpha) noexcept nogil:
    """y = f(x) elementwise over n values (softmax: over one row of n); y may be x."""
    cdef Py_ssize_t j
    if kind == IDENTITY:
        if y != x:
            for j in range(n):
                y[j] = x[j]
    elif kind == RELU:
        # max(x, 0) as np.maximum: NaN stays NaN (x > 0 would make it 0), -0 becomes +0
        for j in range(n):
            y[j] = x[j] if not (x[j] <= 0) else 0
    elif kind == LEAKY_RELU:
        for j in range(n):
            y[j] = x[j] if x[j] > 0 else alpha * x[j]
    elif kind == SIGMOID:
        for j in range(n):
            y[j] = sigmoid(x[j])
    elif kind == TANH:
        for j in range(n):
            y[j] = ftanh(x[j])
    elif kind == SOFTMAX:
        softmax_row(x, y, n)
    elif kind == EXP:
        for j in range(n):
            y[j] = fexp(x[j])


cdef inline void activate_backward(int kind, const floating* y, const floating* dy, floating* dx,
                                   Py_ssize_t n, floating alpha) noexcept nogil:
    """dx = f'(x) * dy from the forward output y (softmax: a Jacobian-vector product over one
    row, without the Jacobian); dx may be dy or y."""
    cdef Py_ssize_t j
    cdef double s
    if kind == IDENTITY:
        if dx != dy:
            for j in range(n):
                dx[j] = dy[j]
    elif kind == RELU:
        for j in range(n):
            dx[j] = dy[j] if y[j] > 0 else 0
    elif kind == LEAKY_RELU:
        for j in range(n):
            dx[j] = dy[j] if y[j] > 0 else alpha * dy[j]
    elif kind == SIGMOID:
        for j in range(n):
            dx[j] = dy[j] * y[j] * (1 - y[j])
    elif kind == TANH:
        for j in range(n):
            dx[j] = dy[j] * (1 - y[j] * y[j])
    elif kind == SOFTMAX:
        s = row_dot(dy, y, n)
        for j in range(n):
            dx[j] = y[j] * (dy[j] - <floating>s)
    elif kind == EXP:
        for j in range(n):
            dx[j] = dy[j] * y[j]


cdef inline void forward_rows(int kind, const floating* x, floating* y, Py_ssize_t rows,
                        Py_ssize_t cols, floating alpha, int n_threads) noexcept nogil:
    cdef Py_ssize_t i
    if n_threads > 1 and rows > 1:
        for i in prange(rows, num_threads=n_threads, schedule="static"):
            activate(kind, x + i * cols, y + i * cols, cols, alpha)
    elif kind != SOFTMAX:  # elementwise: one loop over all rows, no per-row loop tails
        activate(kind, x, y, rows * cols, alpha)
    else:
        for i in range(rows):
            activate(kind, x + i * cols, y + i * cols, cols, alpha)


cdef inline void backward_rows(int kind, const floating* y, const floating* dy, floating* dx,
                         Py_ssize_t rows, Py_ssize_t cols, floating alpha,
                         int n_threads) noexcept nogil:
    cdef Py_ssize_t i
    if n_threads > 1 and rows > 1:
        for i in prange(rows, num_threads=n_threads, schedule="static"):
            activate_backward(kind, y + i * cols, dy + i * cols, dx + i * cols, cols, alpha)
    elif kind != SOFTMAX:
        activate_backward(kind, y, dy, dx, rows * cols, alpha)
    else:
        for i in range(rows):
            activate_backward(kind, y + i * cols, dy + i * cols, dx + i * cols, cols, alpha)


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


cdef inline int activation_code(object name) except -1:
    """The code of an activation named as in fastnn.reference.ACTIVATIONS."""
    if name == "identity":
        return IDENTITY
    if name == "relu":
        return RELU
    if name == "leaky_relu":
        return LEAKY_RELU
    if name == "sigmoid":
        return SIGMOID
    if name == "tanh":
        return TANH
    if name == "softmax":
        return SOFTMAX
    if name == "exponential":
        return EXP
    raise ValueError(f"activation must be one of 'identity', 'relu', 'leaky_relu', 'sigmoid', "
                     f"'tanh', 'softmax', 'exponential'; got {name!r}")


cdef inline int check_alpha(double alpha) except -1:
    # The leaky-ReLU derivative is read off the output's sign, which needs alpha >= 0.
    if not alpha >= 0 or alpha == float("inf"):
        raise ValueError(f"alpha must be a finite number >= 0, got {alpha}")
    return 0
