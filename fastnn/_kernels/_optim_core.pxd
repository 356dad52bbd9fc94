# The optimizer updates' nogil core, shared by optim.pyx and the training engine (see optim.pyx).
from cython cimport floating
from libc.math cimport sqrt, sqrtf


cdef enum:
    SGD = 0
    ADAM = 1
    RMSPROP = 2
    ADAGRAD = 3
    ADAMW = 4  # Adam with decoupled weight decay: param *= keep first


cdef inline floating _sqrt(floating x) noexcept nogil:
    return sqrtf(x) if floating is float else sqrt(x)


cdef inline void optim_update(int kind, floating* p, const floating* grad, floating* s1,
                              floating* s2, Py_ssize_t n, floating lr, floating a, floating b,
                              floating eps, floating wd, bint nesterov, floating c1,
                              floating c2, floating keep) noexcept nogil:
    # a, b: momentum (sgd), beta1 and beta2 (adam), rho (rmsprop); c1, c2: adam's bias
    # corrections; keep: adamw's 1 - lr * weight_decay (its wd is the coupled L2 alone). One
    # branch-free loop per case, so each vectorizes.
    cdef Py_ssize_t i
    cdef floating g, v
    if kind == SGD and s1 == NULL:
        for i in range(n):
            p[i] -= lr * (grad[i] + wd * p[i])
    elif kind == SGD and nesterov:
        for i in range(n):
            g = grad[i] + wd * p[i]
            v = a * s1[i] - lr * g
            s1[i] = v
            p[i] += a * v - lr * g
    elif kind == SGD:
        for i in range(n):
            v = a * s1[i] - lr * (grad[i] + wd * p[i])
            s1[i] = v
            p[i] += v
    elif kind == ADAM:
        for i in range(n):
            g = grad[i] + wd * p[i]
            s1[i] = a * s1[i] + (1 - a) * g
            s2[i] = b * s2[i] + (1 - b) * g * g
            p[i] -= lr * (s1[i] * c1) / (_sqrt(s2[i] * c2) + eps)
    elif kind == ADAMW:
        for i in range(n):
            g = grad[i] + wd * p[i]
            p[i] *= keep
            s1[i] = a * s1[i] + (1 - a) * g
            s2[i] = b * s2[i] + (1 - b) * g * g
            p[i] -= lr * (s1[i] * c1) / (_sqrt(s2[i] * c2) + eps)
    elif kind == RMSPROP:
        for i in range(n):
            g = grad[i] + wd * p[i]
            s1[i] = a * s1[i] + (1 - a) * g * g
            p[i] -= lr * g / (_sqrt(s1[i]) + eps)
    else:
        for i in range(n):
            g = grad[i] + wd * p[i]
            s1[i] += g * g
            p[i] -= lr * g / (_sqrt(s1[i]) + eps)
