"""The kernels' Python boundary: bad arguments raise TypeError/ValueError naming the argument;
views and read-only inputs are handled, not rejected."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastnn

from fastnn import kernels as K
from fastnn import reference as R


def f32(*shape):
    return np.random.default_rng(0).standard_normal(shape).astype(np.float32)


def raises(exc, match):
    return pytest.raises(exc, match=match)


def test_dense_forward_rejects_bad_arguments():
    X, W, b, out = f32(4, 3), f32(3, 2), f32(2), f32(4, 2)
    with raises(TypeError, "X must have dtype float32 or float64, got int64"):
        K.dense_forward(np.zeros((4, 3), np.int64), W, b, out)
    with raises(TypeError, r"W must have dtype float32 like the other arrays, got float64"):
        K.dense_forward(X, W.astype(np.float64), b, out)
    with raises(TypeError, "X must be a numpy.ndarray, got list"):
        K.dense_forward(X.tolist(), W, b, out)
    with raises(ValueError, r"X must be 2-dimensional, got shape \(12,\)"):
        K.dense_forward(X.ravel(), W, b, out)
    with raises(ValueError, r"W.shape\[0\] \(= X.shape\[1\]\) must be 3, got 5"):
        K.dense_forward(X, f32(5, 2), b, out)
    with raises(ValueError, r"b.shape\[0\] \(= W.shape\[1\]\) must be 2, got 3"):
        K.dense_forward(X, W, f32(3), out)
    with raises(ValueError, r"out.shape\[0\] \(= X.shape\[0\]\) must be 4, got 5"):
        K.dense_forward(X, W, b, f32(5, 2))
    with raises(ValueError, "out is an output and must be C-contiguous"):
        K.dense_forward(X, W, b, np.asfortranarray(f32(4, 2)))
    ro = f32(4, 2)
    ro.flags.writeable = False
    with raises(ValueError, "out is an output and must be writeable"):
        K.dense_forward(X, W, b, ro)
    with raises(ValueError, "activation must be one of .* got 'swish'"):
        K.dense_forward(X, W, b, out, "swish")
    with raises(ValueError, "alpha must be a finite number >= 0, got -1"):
        K.dense_forward(X, W, b, out, "leaky_relu", -1.0)
    with raises(ValueError, "n_threads must be >= 1, got 0"):
        K.dense_forward(X, W, b, out, n_threads=0)


def test_outputs_may_not_alias_blas_operands():
    X = f32(3, 3)
    with raises(ValueError, "out must not share memory with X"):
        K.dense_forward(X, f32(3, 3), None, X)
    X, W, dY = f32(4, 3), f32(3, 2), f32(4, 2)
    with raises(ValueError, "dX must not share memory with dY"):
        buf = f32(4 * 3 + 4 * 2)
        K.dense_backward(X, W, buf[:8].reshape(4, 2), f32(3, 2), None, buf[4:16].reshape(4, 3))


def test_dense_backward_rejects_bad_arguments():
    X, W, dY = f32(4, 3), f32(3, 2), f32(4, 2)
    with raises(ValueError, r"dY.shape\[0\] \(= X.shape\[0\]\) must be 4, got 5"):
        K.dense_backward(X, W, f32(5, 2), f32(3, 2), f32(2))
    with raises(ValueError, r"dW.shape\[0\] \(= W.shape\[0\]\) must be 3, got 2"):
        K.dense_backward(X, W, dY, f32(2, 2), f32(2))
    with raises(ValueError, r"db.shape\[0\] \(= W.shape\[1\]\) must be 2, got 3"):
        K.dense_backward(X, W, dY, f32(3, 2), f32(3))
    with raises(ValueError, r"dX.shape\[1\] \(= X.shape\[1\]\) must be 3, got 2"):
        K.dense_backward(X, W, dY, f32(3, 2), f32(2), f32(4, 2))


def test_activation_rejects_bad_arguments():
    x = f32(3, 4)
    with raises(ValueError, r"out must have the shape of x \(3, 4\), got \(4, 3\)"):
        K.relu_forward(x, f32(4, 3))
    with raises(ValueError, r"x must be 2-dimensional, got shape \(12,\)"):
        K.softmax_forward(x.ravel(), f32(12))
    with raises(ValueError, r"dy must have the shape of y"):
        K.tanh_backward(x, f32(3, 5), f32(3, 4))
    with raises(TypeError, "y must have dtype float32 or float64, got float16"):
        K.sigmoid_backward(x.astype(np.float16), x, x)


def test_losses_reject_bad_arguments():
    z = f32(4, 3)
    with raises(ValueError, r"target\[2\] = 3 is not a class index in \[0, 3\)"):
        K.softmax_cross_entropy(z, np.array([0, 1, 3, 2]), f32(4, 3))
    with raises(ValueError, r"target\[0\] = -1 is not a class index"):
        K.categorical_cross_entropy(np.abs(z), np.array([-1, 1, 0, 2]), f32(4, 3))
    with raises(ValueError, r"target must have shape \(4,\), got \(3,\)"):
        K.softmax_cross_entropy(z, np.array([0, 1, 2]), f32(4, 3))
    with raises(TypeError, "target must have dtype float32 like the other arrays, got float64"):
        K.mean_squared_error(z, z.astype(np.float64), f32(4, 3))
    with raises(ValueError, r"target must have the shape of pred \(4, 3\), got \(4, 2\)"):
        K.mean_squared_error(z, f32(4, 2), f32(4, 3))
    with raises(ValueError, r"sample_weight\[1\] = -1.0 must be a non-negative number"):
        K.mean_squared_error(z, z, f32(4, 3), np.array([1, -1, 1, 1], np.float32))
    with raises(ValueError, "sample_weight\\[0\\] = nan must be a non-negative number"):
        K.mean_squared_error(z, z, f32(4, 3), np.array([np.nan, 1, 1, 1], np.float32))
    with raises(ValueError, "sample_weight must have a positive, finite sum, got 0"):
        K.mean_squared_error(z, z, f32(4, 3), np.zeros(4, np.float32))
    with raises(ValueError, r"len\(sample_weight\) must be 4, got 3"):
        K.mean_squared_error(z, z, f32(4, 3), np.ones(3, np.float32))
    with raises(ValueError, r"logits must have at least one row and one column, got shape \(0, 3\)"):
        K.softmax_cross_entropy(f32(0, 3), np.zeros(0, np.int64), f32(0, 3))
    with raises(ValueError, "eps must be in"):
        K.binary_cross_entropy(np.abs(z), z, f32(4, 3), eps=1e-9)
    with raises(TypeError, "target must have dtype float32"):
        K.binary_cross_entropy(np.abs(z), np.ones((4, 3), np.int64), f32(4, 3))


def test_optimizers_reject_bad_arguments():
    p, g = f32(5), f32(5)
    with raises(ValueError, "velocity must be an array of param's shape when momentum > 0"):
        K.sgd_update(p, g, lr=0.1, momentum=0.9)
    with raises(ValueError, r"momentum must be in \[0, 1\), got 1.0"):
        K.sgd_update(p, g, f32(5), momentum=1.0)
    with raises(ValueError, r"lr must be a finite number >= 0, got nan"):
        K.sgd_update(p, g, lr=float("nan"))
    with raises(ValueError, r"v must have the shape of param \(5,\), got \(4,\)"):
        K.adam_update(p, g, f32(5), f32(4), 1)
    with raises(ValueError, "t is the 1-based step number and must be >= 1, got 0"):
        K.adam_update(p, g, f32(5), f32(5), 0)
    with raises(ValueError, r"beta2 must be in \[0, 1\), got 1.5"):
        K.adam_update(p, g, f32(5), f32(5), 1, beta2=1.5)
    with raises(ValueError, "eps must be a finite number > 0, got 0"):
        K.rmsprop_update(p, g, f32(5), eps=0.0)
    with raises(ValueError, "grad must have the shape of param"):
        K.adagrad_update(p, f32(6), f32(5))


def test_views_and_read_only_inputs_are_handled():
    rng = np.random.default_rng(4)
    big = rng.standard_normal((10, 8)).astype(np.float32)
    X = big[::2, 1:7]  # non-contiguous view
    W = np.asfortranarray(rng.standard_normal((6, 3)).astype(np.float32))
    b = rng.standard_normal(3).astype(np.float32)
    b.flags.writeable = False
    got = K.dense_forward(X, W, b, np.empty((5, 3), np.float32), "tanh")
    want = R.dense_forward(np.ascontiguousarray(X), np.ascontiguousarray(W), b,
                           np.empty((5, 3), np.float32), "tanh")
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    x = big.T  # transposed: neither C- nor F-order for the kernel
    np.testing.assert_array_equal(K.relu_forward(x, np.empty((8, 10), np.float32)),
                                  np.maximum(x, 0))


def test_non_contiguous_input_aliasing_output_gives_the_right_answer():
    a = np.arange(8, dtype=np.float64).reshape(2, 4) - 3
    x = a[:, ::2]  # strided: reads a[0, 0], a[0, 2], a[1, 0], a[1, 2]
    out = a[0].reshape(2, 2)  # contiguous: writes a[0, 0:4], where x reads a[0, 0] and a[0, 2]
    want = np.maximum(x, 0)
    K.relu_forward(x, out)
    np.testing.assert_array_equal(out, want)


def run_isolated(code):
    """Run `code` in a fresh interpreter on this fastnn (and kernel build): a crash fails the
    test instead of killing pytest. Returns its stdout."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(fastnn.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=600, env=env)
    assert proc.returncode == 0, (f"exit status {proc.returncode}\n--- stdout\n{proc.stdout}"
                                  f"\n--- stderr\n{proc.stderr[-3000:]}")
    return proc.stdout


@pytest.mark.parametrize("name", ["relu_forward", "softmax_backward", "mean_squared_error",
                                  "dense_forward"])
@pytest.mark.parametrize("n_threads", [0, -1, -2**31])
def test_thread_counts_below_one_are_refused(name, n_threads):
    x = f32(6, 4)
    args = {"relu_forward": (x, f32(6, 4)), "softmax_backward": (x, x, f32(6, 4)),
            "mean_squared_error": (x, x, f32(6, 4)), "dense_forward": (x, f32(4, 3), None, f32(6, 3))}
    with raises(ValueError, f"n_threads must be >= 1, got {n_threads}"):
        getattr(K, name)(*args[name], n_threads=n_threads)


@pytest.mark.parametrize("n_threads", [100000, 2**31 - 1])
def test_huge_thread_counts_run_on_the_processors_there_are(n_threads):
    """n_threads above the processor count runs on that many (100000 threads crashed in
    OpenMP, 2**31 - 1 aborted in libgomp): the activations, losses and dense kernels give what
    they give on one thread (the gradients and outputs exactly, a loss summed over threads to
    rounding)."""
    out = run_isolated(f"""
        import numpy as np
        from fastnn import kernels as K
        huge = {n_threads}
        rng = np.random.default_rng(0)
        for dtype in (np.float32, np.float64):
            x = rng.standard_normal((500, 70)).astype(dtype)  # rows > 1: the threaded loops
            y = rng.integers(0, 70, 500)
            for name in ("relu", "tanh", "softmax"):
                forward, backward = getattr(K, name + "_forward"), getattr(K, name + "_backward")
                one = forward(x, np.empty_like(x))
                np.testing.assert_array_equal(forward(x, np.empty_like(x), n_threads=huge), one)
                np.testing.assert_array_equal(
                    backward(one, x, np.empty_like(x), n_threads=huge),
                    backward(one, x, np.empty_like(x)))
            for name, target in (("softmax_cross_entropy", y), ("mean_squared_error", x[::-1])):
                g1, g2 = np.empty_like(x), np.empty_like(x)
                l1 = getattr(K, name)(x, target, g1)
                l2 = getattr(K, name)(x, target, g2, n_threads=huge)
                np.testing.assert_array_equal(g2, g1)
                np.testing.assert_allclose(l2, l1, rtol=1e-5 if dtype == np.float32 else 1e-12)
            W, b = rng.standard_normal((70, 30)).astype(dtype), rng.standard_normal(30).astype(dtype)
            for activation in ("relu", "softmax"):
                one = K.dense_forward(x, W, b, np.empty((500, 30), dtype), activation)
                np.testing.assert_array_equal(
                    K.dense_forward(x, W, b, np.empty((500, 30), dtype), activation,
                                    n_threads=huge), one)
        print("same as one thread")
        """)
    assert "same as one thread" in out
