# The scalar value and derivative of every elementwise activation of fastnn.registry.ACTIVATIONS.
#
# <name>_value(x, alpha) = f(x);  <name>_grad(s, dy, alpha) = f'(x) * dy, where s is the output
# y = f(x), or the input x for the entries with from_input. _act_dispatch.pxd (generated from the
# registry) loops over these; keep them branch-free (compute, then select) so that the loops
# vectorize: both sides of a select are computed, and no FP trap is enabled.
# alpha is the entry's hyperparameter (0 for those without one). A bare literal (1 + t) is a C
# double, which makes float32 code convert to double and back: write <floating>1.
#
# The entries with `factor` also have <name>_value_factor(x, alpha, &d), which returns f(x) and
# writes d = f'(x) from the same exp/erf/tanh: a training forward keeps d, and the backward is
# dy * d. Their _value and (from x) _grad are that one function with the unused half dropped by
# the compiler, so all three give the same bits.
from cython cimport floating

from fastnn._kernels._rowops cimport fexp, fexpm1, ferf, flog, ftanh, sigmoid


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


cdef inline floating softplus_value_factor(floating x, floating alpha, floating* d) noexcept nogil:
    # max(x, 0) + log1p(e), e = exp(-|x|): nothing overflows. log1p(e) = log(w) + (e - (w - 1))
    # / w with w = 1 + e (the rounding of w corrected), whose 1 / w also gives sigmoid(x).
    cdef floating m = x if x > 0 else 0
    cdef floating minus_abs = -x if x > 0 else x
    cdef floating e = fexp(minus_abs)
    cdef floating w = <floating>1 + e
    cdef floating r = <floating>1 / w
    d[0] = r if x >= 0 else e * r
    return m + (flog(w) + (e - (w - <floating>1)) * r)


cdef inline floating softplus_value(floating x, floating alpha) noexcept nogil:
    cdef floating d
    return softplus_value_factor(x, alpha, &d)


cdef inline floating softplus_grad(floating y, floating dy, floating alpha) noexcept nogil:
    # sigmoid(x) = 1 - exp(-y)
    return dy * -fexpm1(-y)


cdef inline floating gelu_value_factor(floating x, floating alpha, floating* d) noexcept nogil:
    # x * Phi(x), as torch: x * 0.5 * (1 + erf(x / sqrt(2))); f'(x) = Phi(x) + x * phi(x)
    cdef floating cdf = <floating>0.5 * (<floating>1 + ferf(x * <floating>0.70710678118654752440))
    cdef floating pdf = <floating>0.39894228040143267794 * fexp(<floating>-0.5 * x * x)
    d[0] = cdf + x * pdf
    return x * cdf


cdef inline floating gelu_value(floating x, floating alpha) noexcept nogil:
    cdef floating d
    return gelu_value_factor(x, alpha, &d)


cdef inline floating gelu_grad(floating x, floating dy, floating alpha) noexcept nogil:
    cdef floating d
    gelu_value_factor(x, alpha, &d)
    return dy * d


cdef inline floating gelu_tanh_value_factor(floating x, floating alpha, floating* d) noexcept nogil:
    # torch's approximate="tanh": 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
    cdef floating x_sq = x * x
    cdef floating inner = <floating>0.79788456080286535588 * (x + <floating>0.044715 * (x_sq * x))
    cdef floating t = ftanh(inner)
    cdef floating left = <floating>0.5 * x
    cdef floating left_derivative = <floating>0.5 * (<floating>1 + t)
    cdef floating sech_sq = <floating>1 - t * t
    cdef floating right_derivative = left * sech_sq * <floating>0.79788456080286535588 * (
        <floating>1 + <floating>3 * <floating>0.044715 * x_sq)
    # where tanh is +-1 the right term is 0, also for an x whose square overflows (0 * inf)
    d[0] = left_derivative + (right_derivative if sech_sq > 0 else 0)
    return left * (<floating>1 + t)


cdef inline floating gelu_tanh_value(floating x, floating alpha) noexcept nogil:
    cdef floating d
    return gelu_tanh_value_factor(x, alpha, &d)


cdef inline floating gelu_tanh_grad(floating x, floating dy, floating alpha) noexcept nogil:
    cdef floating d
    gelu_tanh_value_factor(x, alpha, &d)
    return dy * d


cdef inline floating silu_value_factor(floating x, floating alpha, floating* d) noexcept nogil:
    cdef floating s = sigmoid(x)
    d[0] = s * (<floating>1 + x * (<floating>1 - s))
    return x * s


cdef inline floating silu_value(floating x, floating alpha) noexcept nogil:
    cdef floating d
    return silu_value_factor(x, alpha, &d)


cdef inline floating silu_grad(floating x, floating dy, floating alpha) noexcept nogil:
    cdef floating d
    silu_value_factor(x, alpha, &d)
    return dy * d


cdef inline floating exponential_value(floating x, floating alpha) noexcept nogil:
    return fexp(x)


cdef inline floating exponential_grad(floating y, floating dy, floating alpha) noexcept nogil:
    return dy * y
