# The optimizers' per-element update rules, one inline function per registry step (see
# fastnn/registry.py OPTIMIZERS). The generated dispatch (_optim_core.pxd.tp) calls one of them in
# a plain loop over the elements, so each loop vectorizes: keep them branch-free.
#
# All take: p, s1, s2: this element of the parameter and of the state arrays (s1, s2 unused by
# optimizers without them; then they may point nowhere); g = grad + wd * param (the coupled L2);
# lr the step's learning rate; a, b the plan's slots (registry slots); eps; c1, c2, keep the
# step's scalars (registry scalars; keep = 1 - lr * weight_decay for a decoupled optimizer).
from cython cimport floating
from libc.math cimport sqrt, sqrtf


cdef inline floating _sqrt(floating x) noexcept nogil:
    return sqrtf(x) if floating is float else sqrt(x)


cdef inline void sgd_plain_step(floating* p, floating* s1, floating* s2, floating g, floating lr,
                                floating a, floating b, floating eps, floating c1, floating c2,
                                floating keep) noexcept nogil:
    p[0] -= lr * g


cdef inline void sgd_nesterov_step(floating* p, floating* s1, floating* s2, floating g,
                                   floating lr, floating a, floating b, floating eps, floating c1,
                                   floating c2, floating keep) noexcept nogil:
    cdef floating v = a * s1[0] - lr * g
    s1[0] = v
    p[0] += a * v - lr * g


cdef inline void sgd_step(floating* p, floating* s1, floating* s2, floating g, floating lr,
                          floating a, floating b, floating eps, floating c1, floating c2,
                          floating keep) noexcept nogil:
    cdef floating v = a * s1[0] - lr * g
    s1[0] = v
    p[0] += v


cdef inline void adam_step(floating* p, floating* s1, floating* s2, floating g, floating lr,
                           floating a, floating b, floating eps, floating c1, floating c2,
                           floating keep) noexcept nogil:
    s1[0] = a * s1[0] + (1 - a) * g
    s2[0] = b * s2[0] + (1 - b) * g * g
    p[0] -= lr * (s1[0] * c1) / (_sqrt(s2[0] * c2) + eps)


cdef inline void adamw_step(floating* p, floating* s1, floating* s2, floating g, floating lr,
                            floating a, floating b, floating eps, floating c1, floating c2,
                            floating keep) noexcept nogil:
    p[0] *= keep
    adam_step(p, s1, s2, g, lr, a, b, eps, c1, c2, keep)


cdef inline void rmsprop_step(floating* p, floating* s1, floating* s2, floating g, floating lr,
                              floating a, floating b, floating eps, floating c1, floating c2,
                              floating keep) noexcept nogil:
    s1[0] = a * s1[0] + (1 - a) * g * g
    p[0] -= lr * g / (_sqrt(s1[0]) + eps)


cdef inline void adagrad_step(floating* p, floating* s1, floating* s2, floating g, floating lr,
                              floating a, floating b, floating eps, floating c1, floating c2,
                              floating keep) noexcept nogil:
    s1[0] += g * g
    p[0] -= lr * g / (_sqrt(s1[0]) + eps)


cdef inline void adamax_step(floating* p, floating* s1, floating* s2, floating g, floating lr,
                             floating a, floating b, floating eps, floating c1, floating c2,
                             floating keep) noexcept nogil:
    cdef floating u = b * s2[0], h = (g if g >= 0 else -g) + eps
    s1[0] = a * s1[0] + (1 - a) * g
    s2[0] = u if (u > h) | (u != u) else h  # max, NaN from either side as NumPy's maximum
    p[0] -= lr * (s1[0] * c1) / s2[0]
