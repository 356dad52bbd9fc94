# Scalar and row helpers shared by the dense epilogue, the activations and the losses.
#
# Every helper works on a raw row (pointer + length) of one dtype; the typed loops in the .pyx
# modules walk rows and call these. float32 uses the float libm functions (expf, logf, ...).
from cython cimport floating
from libc.math cimport exp, expf, log, log1p, log1pf, logf, tanh, tanhf

# Activation codes; the Python-facing names are in activations.pyx's ACTIVATIONS.
cdef enum:
    IDENTITY = 0
    RELU = 1
    LEAKY_RELU = 2
    SIGMOID = 3
    TANH = 4
    SOFTMAX = 5


cdef inline floating fexp(floating x) noexcept nogil:
    if floating is float:
        return expf(x)
    else:
        return exp(x)


cdef inline floating flog(floating x) noexcept nogil:
    if floating is float:
        return logf(x)
    else:
        return log(x)


cdef inline floating flog1p(floating x) noexcept nogil:
    if floating is float:
        return log1pf(x)
    else:
        return log1p(x)


cdef inline floating sigmoid(floating x) noexcept nogil:
    """1 / (1 + exp(-x)), never exponentiating a large positive number."""
    cdef floating e
    if x >= 0:
        return 1 / (1 + fexp(-x))
    e = fexp(x)
    return e / (1 + e)


cdef inline floating row_max(const floating* x, Py_ssize_t n) noexcept nogil:
    cdef floating m = x[0]
    cdef Py_ssize_t j
    for j in range(1, n):
        if x[j] > m:
            m = x[j]
    return m


cdef inline void softmax_row(const floating* x, floating* y, Py_ssize_t n) noexcept nogil:
    """y = exp(x - max x) / sum exp(x - max x); y may be x."""
    if n == 0:
        return
    cdef floating m = row_max(x, n)
    cdef double s = 0
    cdef Py_ssize_t j
    for j in range(n):
        y[j] = fexp(x[j] - m)
        s += y[j]
    cdef floating inv = <floating>(1 / s)
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
        for j in range(n):
            y[j] = x[j] if x[j] > 0 else 0
    elif kind == LEAKY_RELU:
        for j in range(n):
            y[j] = x[j] if x[j] > 0 else alpha * x[j]
    elif kind == SIGMOID:
        for j in range(n):
            y[j] = sigmoid(x[j])
    elif kind == TANH:
        for j in range(n):
            y[j] = tanhf(x[j]) if floating is float else tanh(x[j])
    elif kind == SOFTMAX:
        softmax_row(x, y, n)


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
        s = 0
        for j in range(n):
            s += dy[j] * y[j]
        for j in range(n):
            dx[j] = y[j] * (dy[j] - <floating>s)


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
    raise ValueError(f"activation must be one of 'identity', 'relu', 'leaky_relu', 'sigmoid', "
                     f"'tanh', 'softmax'; got {name!r}")


cdef inline int check_threads(int n_threads) except -1:
    if n_threads < 1:
        raise ValueError(f"n_threads must be >= 1, got {n_threads}")
    return 0


cdef inline int check_alpha(double alpha) except -1:
    # The leaky-ReLU derivative is read off the output's sign, which needs alpha >= 0.
    if not alpha >= 0 or alpha == float("inf"):
        raise ValueError(f"alpha must be a finite number >= 0, got {alpha}")
    return 0
