# The scalar value and derivative of every elementwise activation of fastnn.registry.ACTIVATIONS.
#
# <name>_value(x, alpha) = f(x);  <name>_grad(s, dy, alpha) = f'(x) * dy, where s is the output
# y = f(x), or the input x for the entries with from_input. _act_dispatch.pxd (generated from the
# registry) loops over these; keep them branch-free (compute, then select) so that the loops
# vectorize: both sides of a select are computed, and no FP trap is enabled.
# alpha is the entry's hyperparameter (0 for those without one).
from cython cimport floating

from fastnn._kernels._rowops cimport fexp, fexpm1, ferf, flog1p, ftanh, sigmoid


cdef inline floating identity_value(floating x, floating alpha) noexcept nogil:
    return x


cdef inline floating identity_grad(floating y, floating dy, floating alpha) noexcept nogil:
    return dy


cdef inline floating relu_value(floating x, floating alpha) noexcept nogil:
    # max(x, 0) as np.maximum: NaN stays NaN (x > 0 would make it 0), -0 becomes +0
    return x if not (x <= 0) else 0


cdef inline floating relu_grad(floating y, floating dy, floating alpha) noexcept nogil:
    return dy if y > 0 else 0


cdef inline floating leaky_relu_value(floating x, floating alpha) noexcept nogil:
    return x if x > 0 else alpha * x


cdef inline floating leaky_relu_grad(floating y, floating dy, floating alpha) noexcept nogil:
    return dy if y > 0 else alpha * dy


cdef inline floating sigmoid_value(floating x, floating alpha) noexcept nogil:
    return sigmoid(x)


cdef inline floating sigmoid_grad(floating y, floating dy, floating alpha) noexcept nogil:
    return dy * y * (1 - y)


cdef inline floating tanh_value(floating x, floating alpha) noexcept nogil:
    return ftanh(x)


cdef inline floating tanh_grad(floating y, floating dy, floating alpha) noexcept nogil:
    return dy * (1 - y * y)


cdef inline floating elu_value(floating x, floating alpha) noexcept nogil:
    cdef floating e = fexpm1(x)
    return x if x > 0 else alpha * e


cdef inline floating elu_grad(floating y, floating dy, floating alpha) noexcept nogil:
    # y > 0 exactly where x > 0, as alpha >= 0
    return dy if y > 0 else dy * (y + alpha)


# torch.nn.SELU's constants: scale and scale * alpha
cdef inline floating selu_value(floating x, floating alpha) noexcept nogil:
    cdef floating e = fexpm1(x)
    return <floating>1.0507009873554804934193349852946 * x if x > 0 \
        else <floating>1.7580993408473768599402175208123 * e


cdef inline floating selu_grad(floating y, floating dy, floating alpha) noexcept nogil:
    return dy * <floating>1.0507009873554804934193349852946 if y > 0 \
        else dy * (y + <floating>1.7580993408473768599402175208123)


cdef inline floating softplus_value(floating x, floating alpha) noexcept nogil:
    # max(x, 0) + log1p(exp(-|x|)): exp only of -|x|, so nothing overflows
    cdef floating m = x if x > 0 else 0
    cdef floating minus_abs = -x if x > 0 else x
    return m + flog1p(fexp(minus_abs))


cdef inline floating softplus_grad(floating y, floating dy, floating alpha) noexcept nogil:
    # sigmoid(x) = 1 - exp(-y)
    return dy * -fexpm1(-y)


cdef inline floating gelu_value(floating x, floating alpha) noexcept nogil:
    # x * Phi(x), as torch: x * 0.5 * (1 + erf(x / sqrt(2)))
    return x * <floating>0.5 * (1 + ferf(x * <floating>0.70710678118654752440))


cdef inline floating gelu_grad(floating x, floating dy, floating alpha) noexcept nogil:
    # Phi(x) + x * phi(x)
    cdef floating cdf = <floating>0.5 * (1 + ferf(x * <floating>0.70710678118654752440))
    cdef floating pdf = <floating>0.39894228040143267794 * fexp(<floating>-0.5 * x * x)
    return dy * (cdf + x * pdf)


cdef inline floating gelu_tanh_value(floating x, floating alpha) noexcept nogil:
    # torch's approximate="tanh": 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
    cdef floating inner = <floating>0.79788456080286535588 * (x + <floating>0.044715 * (x * x * x))
    return <floating>0.5 * x * (1 + ftanh(inner))


cdef inline floating gelu_tanh_grad(floating x, floating dy, floating alpha) noexcept nogil:
    cdef floating x_sq = x * x
    cdef floating inner = <floating>0.79788456080286535588 * (x + <floating>0.044715 * (x_sq * x))
    cdef floating t = ftanh(inner)
    cdef floating left = <floating>0.5 * x
    cdef floating left_derivative = <floating>0.5 * (1 + t)
    cdef floating sech_sq = 1 - t * t
    cdef floating right_derivative = left * sech_sq * <floating>0.79788456080286535588 * (
        1 + <floating>3 * <floating>0.044715 * x_sq)
    # where tanh is +-1 the right term is 0, also for an x whose square overflows (0 * inf)
    return dy * (left_derivative + (right_derivative if sech_sq > 0 else 0))


cdef inline floating silu_value(floating x, floating alpha) noexcept nogil:
    return x * sigmoid(x)


cdef inline floating silu_grad(floating x, floating dy, floating alpha) noexcept nogil:
    cdef floating s = sigmoid(x)
    return dy * s * (1 + x * (1 - s))


cdef inline floating exponential_value(floating x, floating alpha) noexcept nogil:
    return fexp(x)


cdef inline floating exponential_grad(floating y, floating dy, floating alpha) noexcept nogil:
    return dy * y
