"""The kernels in plain NumPy: the executable specification of fastnn.kernels.

Every function here has the name, signature and meaning of its compiled twin in fastnn.kernels,
and the tests hold the two to each other (tests/test_kernel_parity.py, and the whole training
loop in fastnn.reference_loop). The code favours the textbook form of each formula over speed
and checks nothing; `n_threads` is accepted and ignored. A new activation or optimizer starts
here: its twin, then its compiled scalar code and its fastnn.registry entry.

Examples
--------
>>> x = np.array([[-1.0, 0.5, 3.0]])
>>> y = fnn.reference.softmax_forward(x, np.empty_like(x))
>>> y_compiled = fnn.kernels.softmax_forward(x, np.empty_like(x))
>>> bool(np.allclose(y, y_compiled)), round(float(y.sum()), 4)
(True, 1.0)
"""
import numpy as np

from fastnn import registry

ACTIVATIONS = tuple(entry.name for entry in registry.ACTIVATIONS)
SELU_SCALE = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717
SQRT_2_OVER_PI = 0.79788456080286535588  # sqrt(2 / pi), the tanh GELU's factor
SQRT_HALF = 0.70710678118654752440
INV_SQRT_2PI = 0.39894228040143267794


# ---------------------------------------------------------------- activations

def _sigmoid(x):
    # exp of -|x| only, so nothing overflows: e / (1 + e) for x < 0, 1 / (1 + e) for x >= 0.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _activate(x, activation, alpha):
    entry = registry.activation(activation)
    extra = (alpha,) if entry.hyper is not None else ()
    return globals()[activation + "_forward"](x, np.empty_like(x), *extra)


def identity_forward(x, out, *, n_threads=1):
    out[...] = x
    return out


def identity_backward(y, dy, dx, *, n_threads=1):
    dx[...] = dy
    return dx


def relu_forward(x, out, *, n_threads=1):
    return np.maximum(x, 0, out=out)


def relu_backward(y, dy, dx, *, n_threads=1):
    dx[...] = np.where(y > 0, dy, 0)
    return dx


def leaky_relu_forward(x, out, alpha=0.01, *, n_threads=1):
    out[...] = np.where(x > 0, x, alpha * x)
    return out


def leaky_relu_backward(y, dy, dx, alpha=0.01, *, n_threads=1):
    dx[...] = np.where(y > 0, dy, alpha * dy)
    return dx


def sigmoid_forward(x, out, *, n_threads=1):
    out[...] = _sigmoid(x)
    return out


def sigmoid_backward(y, dy, dx, *, n_threads=1):
    dx[...] = dy * y * (1 - y)
    return dx


def tanh_forward(x, out, *, n_threads=1):
    return np.tanh(x, out=out)


def tanh_backward(y, dy, dx, *, n_threads=1):
    dx[...] = dy * (1 - y * y)
    return dx


def softmax_forward(x, out, *, n_threads=1):
    out[...] = _softmax(x)
    return out


def softmax_backward(y, dy, dx, *, n_threads=1):
    dx[...] = y * (dy - (dy * y).sum(axis=1, keepdims=True))
    return dx


def elu_forward(x, out, alpha=1.0, *, n_threads=1):
    out[...] = np.where(x > 0, x, alpha * np.expm1(x))
    return out


def elu_backward(y, dy, dx, alpha=1.0, *, n_threads=1):
    dx[...] = np.where(y > 0, dy, dy * (y + alpha))
    return dx


def selu_forward(x, out, *, n_threads=1):
    out[...] = np.where(x > 0, SELU_SCALE * x, (SELU_SCALE * SELU_ALPHA) * np.expm1(x))
    return out


def selu_backward(y, dy, dx, *, n_threads=1):
    dx[...] = np.where(y > 0, dy * SELU_SCALE, dy * (y + SELU_SCALE * SELU_ALPHA))
    return dx


def softplus_forward(x, out, *, n_threads=1):
    out[...] = np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))
    return out


def softplus_backward(y, dy, dx, *, n_threads=1):
    dx[...] = dy * -np.expm1(-y)  # sigmoid(x) from y = softplus(x)
    return dx


def _erf(x):
    from scipy.special import erf  # scipy.special only when asked for: it is slow to import
    return erf(x)


def gelu_forward(x, out, *, n_threads=1):
    out[...] = x * 0.5 * (1 + _erf(x * SQRT_HALF))
    return out


def gelu_backward(x, dy, dx, *, n_threads=1):
    cdf = 0.5 * (1 + _erf(x * SQRT_HALF))
    pdf = INV_SQRT_2PI * np.exp(-0.5 * x * x)
    dx[...] = dy * (cdf + x * pdf)
    return dx


def gelu_tanh_forward(x, out, *, n_threads=1):
    out[...] = 0.5 * x * (1 + np.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x ** 3)))
    return out


def gelu_tanh_backward(x, dy, dx, *, n_threads=1):
    with np.errstate(over="ignore", invalid="ignore"):
        t = np.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x ** 3))
        sech_sq = 1 - t * t
        right = 0.5 * x * sech_sq * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
        # where tanh is +-1 the right term is 0, also for an x whose square overflows (0 * inf)
        dx[...] = dy * (0.5 * (1 + t) + np.where(sech_sq > 0, right, 0))
    return dx


def silu_forward(x, out, *, n_threads=1):
    out[...] = x * _sigmoid(x)
    return out


def silu_backward(x, dy, dx, *, n_threads=1):
    s = _sigmoid(x)
    dx[...] = dy * s * (1 + x * (1 - s))
    return dx


def exponential_forward(x, out, *, n_threads=1):
    with np.errstate(over="ignore"):
        return np.exp(x, out=out)


def exponential_backward(y, dy, dx, *, n_threads=1):
    dx[...] = dy * y
    return dx


def dropout_forward(x, out, mask, rate, state):
    key, counter = state
    with np.errstate(over="ignore"):  # uint64 arithmetic wraps, as in C
        z = key + (counter + np.arange(x.size, dtype=np.uint64)) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(40)).astype(x.dtype) * x.dtype.type(2.0 ** -24)
    mask[...] = np.where(u >= x.dtype.type(rate), x.dtype.type(1 / (1 - rate)), 0).reshape(x.shape)
    out[...] = x * mask
    state[1] += np.uint64(x.size)
    return out


def all_finite(x):
    return bool(np.isfinite(x).all())


# ---------------------------------------------------------------- dense layer

def dense_forward(X, W, b, out, activation="identity", alpha=0.01, *, n_threads=1):
    z = X @ W
    if b is not None:
        z = z + b
    out[...] = _activate(z, activation, alpha)
    return out


def dense_backward(X, W, dY, dW, db, dX=None, *, accumulate=False):
    if accumulate:
        dW += X.T @ dY
        if db is not None:
            db += dY.sum(axis=0)
    else:
        dW[...] = X.T @ dY
        if db is not None:
            db[...] = dY.sum(axis=0)
    if dX is not None:
        dX[...] = dY @ W.T
    return dX


# ---------------------------------------------------------------- sparse input (CSR rows)

def _csr_positions(indptr):
    """For each stored value, its row; and the values grouped by their rank within their row
    (every row's first value, then every row's second, ...), each group in row order."""
    counts = np.diff(indptr)
    rows = np.repeat(np.arange(len(counts)), counts)
    rank = np.arange(len(rows)) - np.repeat(indptr[:-1], counts)
    return rows, [np.flatnonzero(rank == r) for r in range(counts.max(initial=0))]


def sparse_dense_forward(indptr, indices, data, W, b, out):
    # out[i] = sum of data[p] * W[indices[p]] over row i's values in their stored order, + b
    rows, ranks = _csr_positions(indptr)
    out[...] = 0
    for positions in ranks:
        out[rows[positions]] += data[positions, None] * W[indices[positions]]
    if b is not None:
        out += b
    return out


def sparse_weight_gradient(indptr, indices, data, G, dW, db=None):
    # dW[indices[p]] += data[p] * G[row of p], for p in stored order (np.add.at adds in order)
    rows, _ = _csr_positions(indptr)
    dW[...] = 0
    np.add.at(dW, indices, data[:, None] * G[rows])
    if db is not None:
        db[...] = G.sum(axis=0)
    return dW


def csr_gather(indptr, indices, data, rows, dtype):
    rows = np.asarray(rows, np.intp)
    counts = indptr[rows + 1] - indptr[rows]
    out_indptr = np.concatenate([[0], np.cumsum(counts)]).astype(indptr.dtype)
    positions = np.concatenate([np.arange(indptr[r], indptr[r + 1]) for r in rows] or [[]])
    positions = positions.astype(np.intp)
    return out_indptr, indices[positions], data[positions].astype(dtype)


# ---------------------------------------------------------------- normalization layers

def batch_norm_forward(x, gamma, beta, out, xhat, inv_std, running_mean, running_var,
                       momentum=0.1, eps=1e-5):
    n = len(x)
    if n < 2:
        raise ValueError(f"batch normalization in training needs at least 2 rows, got {n}")
    x64 = x.astype(np.float64)
    mean, var = x64.mean(axis=0), x64.var(axis=0)
    inv = 1.0 / np.sqrt(var + eps)
    xhat[...] = (x64 - mean) * inv
    inv_std[...] = inv
    running_mean[...] = (1 - momentum) * running_mean + momentum * mean
    running_var[...] = (1 - momentum) * running_var + momentum * var * n / (n - 1)
    out[...] = gamma * xhat + beta
    return out


def batch_norm_inference(x, gamma, beta, running_mean, running_var, out, eps=1e-5):
    inv = 1.0 / np.sqrt(running_var.astype(np.float64) + eps)
    out[...] = gamma * ((x - running_mean.astype(np.float64)) * inv).astype(x.dtype) + beta
    return out


def batch_norm_backward(xhat, inv_std, gamma, dy, dgamma, dbeta, dx=None):
    n = len(xhat)
    g, h = dy.astype(np.float64), xhat.astype(np.float64)
    sg, sb = (g * h).sum(axis=0), g.sum(axis=0)
    dgamma[...], dbeta[...] = sg, sb
    if dx is not None:
        dx[...] = gamma * inv_std.astype(np.float64) / n * (n * g - sb - h * sg)
    return dx


def layer_norm_forward(x, gamma, beta, out, xhat, inv_std, eps=1e-5):
    x64 = x.astype(np.float64)
    mean, var = x64.mean(axis=1, keepdims=True), x64.var(axis=1, keepdims=True)
    inv = 1.0 / np.sqrt(var + eps)
    xhat[...] = (x64 - mean) * inv
    inv_std[...] = inv[:, 0]
    out[...] = gamma * xhat + beta
    return out


def layer_norm_backward(xhat, inv_std, gamma, dy, dgamma, dbeta, dx=None):
    m = xhat.shape[1]
    g, h = dy.astype(np.float64), xhat.astype(np.float64)
    dgamma[...], dbeta[...] = (g * h).sum(axis=0), g.sum(axis=0)
    if dx is not None:
        gg = g * gamma
        dx[...] = (inv_std[:, None].astype(np.float64) / m
                   * (m * gg - gg.sum(axis=1, keepdims=True)
                      - h * (gg * h).sum(axis=1, keepdims=True)))
    return dx


# ---------------------------------------------------------------- losses

def _targets(pred, target):
    """Class labels become one-hot rows; probability/value targets pass through."""
    if np.issubdtype(target.dtype, np.integer):
        onehot = np.zeros_like(pred)
        onehot[np.arange(len(target)), target] = 1
        return onehot
    return target


def _weighted_mean(per_sample, grad_per_sample, grad, sample_weight):
    n = len(per_sample)
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    grad[...] = grad_per_sample * (w / w.sum())[:, None]
    return float((w * per_sample).sum() / w.sum())


def softmax_cross_entropy(logits, target, grad, sample_weight=None, *, n_threads=1):
    y = _targets(logits, target)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    per_sample = -(y * log_probs).sum(axis=1, dtype=np.float64)
    return _weighted_mean(per_sample, np.exp(log_probs) * y.sum(axis=1, keepdims=True) - y,
                          grad, sample_weight)


def categorical_cross_entropy(probs, target, grad, sample_weight=None, eps=1e-7, *,
                              n_threads=1):
    y = _targets(probs, target)
    p = np.clip(probs, eps, 1 - eps)
    per_sample = -(y * np.log(p)).sum(axis=1, dtype=np.float64)
    return _weighted_mean(per_sample, -y / p, grad, sample_weight)


def sigmoid_binary_cross_entropy(logits, target, grad, sample_weight=None, *, n_threads=1):
    z, y, c = logits, target, logits.shape[1]
    elementwise = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
    return _weighted_mean(elementwise.mean(axis=1, dtype=np.float64), (_sigmoid(z) - y) / c,
                          grad, sample_weight)


def sigmoid_binary_cross_entropy_sum(logits, target, grad, sample_weight=None, *, n_threads=1):
    z, y = logits, target
    elementwise = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
    return _weighted_mean(elementwise.sum(axis=1, dtype=np.float64), _sigmoid(z) - y, grad,
                          sample_weight)


def binary_cross_entropy(probs, target, grad, sample_weight=None, eps=1e-7, *, n_threads=1):
    y, c = target, probs.shape[1]
    p = np.clip(probs, eps, 1 - eps)
    elementwise = -(y * np.log(p) + (1 - y) * np.log1p(-p))
    return _weighted_mean(elementwise.mean(axis=1, dtype=np.float64), (p - y) / (p * (1 - p)) / c,
                          grad, sample_weight)


def mean_squared_error(pred, target, grad, sample_weight=None, *, n_threads=1):
    d, c = pred - target, pred.shape[1]
    return _weighted_mean((d * d).mean(axis=1, dtype=np.float64), 2 * d / c, grad, sample_weight)


def mean_absolute_error(pred, target, grad, sample_weight=None, *, n_threads=1):
    d, c = pred - target, pred.shape[1]
    return _weighted_mean(np.abs(d).mean(axis=1, dtype=np.float64), np.sign(d) / c, grad,
                          sample_weight)


def sum_of_squares(pred, target, grad, sample_weight=None, *, n_threads=1):
    d = pred - target
    return _weighted_mean(0.5 * (d * d).sum(axis=1, dtype=np.float64), d, grad, sample_weight)


def huber(pred, target, grad, sample_weight=None, delta=1.0, *, n_threads=1):
    d, c = pred - target, pred.shape[1]
    a = np.abs(d)
    elementwise = np.where(a <= delta, 0.5 * d * d, delta * (a - 0.5 * delta))
    return _weighted_mean(elementwise.mean(axis=1, dtype=np.float64),
                          np.clip(d, -delta, delta) / c, grad, sample_weight)


def poisson(log_rate, target, grad, sample_weight=None, *, n_threads=1):
    z, y, c = log_rate, target, log_rate.shape[1]
    with np.errstate(over="ignore", invalid="ignore"):
        rate = np.exp(z)
        return _weighted_mean((rate - y * z).mean(axis=1, dtype=np.float64), (rate - y) / c,
                              grad, sample_weight)


def half_poisson_deviance(log_mean, target, grad, sample_weight=None, *, n_threads=1):
    z, y = log_mean, target
    with np.errstate(over="ignore", invalid="ignore"):
        mean = np.exp(z)
        deviance = mean - y * z + (np.where(y > 0, y * np.log(np.where(y > 0, y, 1)), 0) - y)
        return _weighted_mean(deviance.sum(axis=1, dtype=np.float64), mean - y, grad,
                              sample_weight)


# ---------------------------------------------------------------- optimizer updates

def sgd_update(param, grad, velocity=None, *, lr=0.01, momentum=0.0, nesterov=False,
               weight_decay=0.0):
    g = grad + weight_decay * param
    if momentum == 0:
        param -= lr * g
        return param
    velocity[...] = momentum * velocity - lr * g
    param += momentum * velocity - lr * g if nesterov else velocity
    return param


def adam_update(param, grad, m, v, t, *, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8,
                weight_decay=0.0):
    g = grad + weight_decay * param
    m[...] = beta1 * m + (1 - beta1) * g
    v[...] = beta2 * v + (1 - beta2) * g * g
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    param -= lr * m_hat / (np.sqrt(v_hat) + eps)
    return param


def adamw_update(param, grad, m, v, t, *, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8,
                 weight_decay=0.01, l2=0.0):
    g = grad + l2 * param
    param *= 1 - lr * weight_decay
    m[...] = beta1 * m + (1 - beta1) * g
    v[...] = beta2 * v + (1 - beta2) * g * g
    param -= lr * (m / (1 - beta1 ** t)) / (np.sqrt(v / (1 - beta2 ** t)) + eps)
    return param


def adamax_update(param, grad, m, u, t, *, lr=0.002, beta1=0.9, beta2=0.999, eps=1e-8,
                  weight_decay=0.0):
    g = grad + weight_decay * param
    m[...] = beta1 * m + (1 - beta1) * g
    u[...] = np.maximum(beta2 * u, np.abs(g) + eps)
    param -= lr * (m / (1 - beta1 ** t)) / u
    return param


def rmsprop_update(param, grad, sq, *, lr=0.001, rho=0.9, eps=1e-7, weight_decay=0.0):
    g = grad + weight_decay * param
    sq[...] = rho * sq + (1 - rho) * g * g
    param -= lr * g / (np.sqrt(sq) + eps)
    return param


def adagrad_update(param, grad, acc, *, lr=0.01, eps=1e-7, weight_decay=0.0):
    g = grad + weight_decay * param
    acc += g * g
    param -= lr * g / (np.sqrt(acc) + eps)
    return param


# ---------------------------------------------------------------- gradient clipping

def grad_sum_squares(grad):
    """sum(grad**2) in double, in the kernel's order: 8 lanes over the first n - n % 8 values,
    the tail added one by one, then the lanes."""
    g = np.asarray(grad, dtype=np.float64).ravel()
    head = len(g) - len(g) % 8
    lanes = np.zeros(8)
    for block in g[:head].reshape(-1, 8):
        lanes += block * block
    total = 0.0
    for x in g[head:]:
        total += x * x
    for lane in lanes:
        total += lane
    return float(total)


def clip_gradient(grad, scale=1.0, clipvalue=0.0):
    """grad = clip(grad * scale, -clipvalue, clipvalue) in place (scale 1: no rescale,
    clipvalue 0: no clamp; NaN stays NaN)."""
    if scale != 1:
        grad *= grad.dtype.type(scale)
    if clipvalue > 0:
        c = grad.dtype.type(clipvalue)
        grad[grad > c] = c
        grad[grad < -c] = -c
    return grad
