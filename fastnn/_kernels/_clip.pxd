# Gradient clipping's nogil core: the sum of squares a norm is taken from, and the in-place
# rescale and clamp. kernel_loops.pyx compiles them once per variant into its table, and both
# the layer path (optim.pyx) and the engine (engine_loops.pyx) call that one copy, so the two
# paths agree bit for bit. Their NumPy twins are fastnn.reference's grad_sum_squares and
# clip_gradient.
from cython cimport floating

from fastnn._kernels._rowops cimport row_dot


cdef inline double sum_squares(const floating* g, Py_ssize_t n) noexcept nogil:
    """sum_j g[j]**2 in double, in row_dot's order (8 lanes, the tail, then the lanes)."""
    return row_dot(g, g, n)


cdef inline void clip_scale(floating* g, Py_ssize_t n, floating scale,
                            floating clipvalue) noexcept nogil:
    """g = clamp(g * scale, -clipvalue, clipvalue) in place; scale 1 skips the multiply and
    clipvalue 0 the clamp. NaN stays NaN (as torch.clamp)."""
    cdef Py_ssize_t i
    cdef floating v
    if scale != 1:
        for i in range(n):
            g[i] = g[i] * scale
    if clipvalue > 0:
        for i in range(n):
            v = g[i]
            if v > clipvalue:
                g[i] = clipvalue
            elif v < -clipvalue:
                g[i] = -clipvalue
