"""Optimizer updates, in place on a parameter array and its state arrays (any shape).

With g = grad + weight_decay * param (L2 decay coupled into the gradient):
  sgd:      v = momentum * v - lr * g;  param += v,  or momentum * v - lr * g with nesterov
            (the form of scikit-learn and Keras; momentum = 0 is param -= lr * g, no velocity)
  adam:     m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
            param -= lr * m_hat / (sqrt(v_hat) + eps), m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t)
  adamw:    param *= 1 - lr * weight_decay (decoupled, as torch.optim.AdamW), then adam's step
            with g = grad + l2 * param (l2: a coupled penalty such as Dense's l2, else 0)
  rmsprop:  s = rho s + (1 - rho) g^2;  param -= lr * g / (sqrt(s) + eps)
  adagrad:  s += g^2;  param -= lr * g / (sqrt(s) + eps)

param and the state arrays are updated in place; none of them may share memory with grad or
with each other (ValueError naming both: m = v, or a velocity that is param, would compute
wrong numbers without a word).
"""
cimport numpy as cnp

from fastnn._kernels._checks cimport (Span, data_or_null, float_typenum, input_array,
                                      output_array, same_shape, span, spans_apart)
from fastnn._kernels._optim_core cimport ADAGRAD, ADAM, ADAMW, RMSPROP, SGD, optim_update

cnp.import_array()

cdef inline int _in_range(double x, double lo, double hi, str name, str what) except -1:
    if not lo <= x < hi:
        raise ValueError(f"{name} must be {what}, got {x}")
    return 0


cdef object _run(int kind, object param, object grad, object s1, str s1_name, object s2,
                 str s2_name, double lr, double a, double b, double eps, double wd,
                 bint nesterov, double c1, double c2, double keep=1):
    _in_range(lr, 0, float("inf"), "lr", "a finite number >= 0")
    _in_range(wd, 0, float("inf"), "weight_decay", "a finite number >= 0")
    cdef int t = float_typenum(param, "param")
    cdef cnp.ndarray pa = output_array(param, "param", t, -1)
    cdef cnp.ndarray ga = input_array(grad, "grad", t, -1)
    same_shape(pa, "param", ga, "grad")
    cdef cnp.ndarray s1a = None, s2a = None
    if s1 is not None:
        s1a = output_array(s1, s1_name, t, -1)
        same_shape(pa, "param", s1a, s1_name)
    if s2 is not None:
        s2a = output_array(s2, s2_name, t, -1)
        same_shape(pa, "param", s2a, s2_name)
    cdef Span sp = span(pa), sg = span(ga), ss1, ss2
    spans_apart(sp, "param", sg, "grad", False)
    if s1a is not None:
        ss1 = span(s1a)
        spans_apart(ss1, s1_name, sp, "param", False)
        spans_apart(ss1, s1_name, sg, "grad", False)
    if s2a is not None:
        ss2 = span(s2a)
        spans_apart(ss2, s2_name, sp, "param", False)
        spans_apart(ss2, s2_name, sg, "grad", False)
        if s1a is not None:
            spans_apart(ss2, s2_name, ss1, s1_name, False)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(pa)
    cdef void* s1p = data_or_null(s1a)
    cdef void* s2p = data_or_null(s2a)
    if t == cnp.NPY_FLOAT32:
        with nogil:
            optim_update(kind, <float*>cnp.PyArray_DATA(pa), <const float*>cnp.PyArray_DATA(ga),
                    <float*>s1p,
                    <float*>s2p,
                    n, <float>lr, <float>a, <float>b, <float>eps, <float>wd, nesterov,
                    <float>c1, <float>c2, <float>keep)
    else:
        with nogil:
            optim_update(kind, <double*>cnp.PyArray_DATA(pa), <const double*>cnp.PyArray_DATA(ga),
                    <double*>s1p,
                    <double*>s2p,
                    n, lr, a, b, eps, wd, nesterov, c1, c2, keep)
    return param


def sgd_update(param, grad, velocity=None, *, double lr=0.01, double momentum=0.0,
               bint nesterov=False, double weight_decay=0.0):
    """SGD step in place: param (and velocity, needed when momentum > 0). Returns param."""
    _in_range(momentum, 0, 1, "momentum", "in [0, 1)")
    if momentum > 0 and velocity is None:
        raise ValueError("velocity must be an array of param's shape when momentum > 0")
    return _run(SGD, param, grad, velocity if momentum > 0 else None, "velocity", None, "",
                lr, momentum, 0, 0, weight_decay, nesterov, 0, 0)


def adam_update(param, grad, m, v, Py_ssize_t t, *, double lr=0.001, double beta1=0.9,
                double beta2=0.999, double eps=1e-8, double weight_decay=0.0):
    """Adam step number t (1, 2, ...) in place on param, m and v, bias-corrected. Returns param."""
    if t < 1:
        raise ValueError(f"t is the 1-based step number and must be >= 1, got {t}")
    _in_range(beta1, 0, 1, "beta1", "in [0, 1)")
    _in_range(beta2, 0, 1, "beta2", "in [0, 1)")
    _in_range(eps, 1e-300, float("inf"), "eps", "a finite number > 0")
    if m is None or v is None:
        raise ValueError("adam needs both moment arrays m and v")
    return _run(ADAM, param, grad, m, "m", v, "v", lr, beta1, beta2, eps, weight_decay, False,
                1 / (1 - beta1 ** t), 1 / (1 - beta2 ** t))


def adamw_update(param, grad, m, v, Py_ssize_t t, *, double lr=0.001, double beta1=0.9,
                 double beta2=0.999, double eps=1e-8, double weight_decay=0.01, double l2=0.0):
    """AdamW step number t (1, 2, ...) in place on param, m and v: param *= 1 - lr *
    weight_decay, then Adam's bias-corrected step on grad + l2 * param. Returns param."""
    if t < 1:
        raise ValueError(f"t is the 1-based step number and must be >= 1, got {t}")
    _in_range(beta1, 0, 1, "beta1", "in [0, 1)")
    _in_range(beta2, 0, 1, "beta2", "in [0, 1)")
    _in_range(eps, 1e-300, float("inf"), "eps", "a finite number > 0")
    _in_range(l2, 0, float("inf"), "l2", "a finite number >= 0")
    if m is None or v is None:
        raise ValueError("adamw needs both moment arrays m and v")
    _in_range(weight_decay, 0, float("inf"), "weight_decay", "a finite number >= 0")
    return _run(ADAMW, param, grad, m, "m", v, "v", lr, beta1, beta2, eps, l2, False,
                1 / (1 - beta1 ** t), 1 / (1 - beta2 ** t), 1 - lr * weight_decay)


def rmsprop_update(param, grad, sq, *, double lr=0.001, double rho=0.9, double eps=1e-7,
                   double weight_decay=0.0):
    """RMSprop step in place on param and sq (running mean of squared gradients). Returns param."""
    _in_range(rho, 0, 1, "rho", "in [0, 1)")
    _in_range(eps, 1e-300, float("inf"), "eps", "a finite number > 0")
    if sq is None:
        raise ValueError("rmsprop needs the sq array")
    return _run(RMSPROP, param, grad, sq, "sq", None, "", lr, rho, 0, eps, weight_decay, False,
                0, 0)


def adagrad_update(param, grad, acc, *, double lr=0.01, double eps=1e-7, double weight_decay=0.0):
    """Adagrad step in place on param and acc (sum of squared gradients). Returns param."""
    _in_range(eps, 1e-300, float("inf"), "eps", "a finite number > 0")
    if acc is None:
        raise ValueError("adagrad needs the acc array")
    return _run(ADAGRAD, param, grad, acc, "acc", None, "", lr, 0, 0, eps, weight_decay, False,
                0, 0)
