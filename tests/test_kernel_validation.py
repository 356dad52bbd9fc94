"""The kernels' Python boundary: bad arguments raise TypeError/ValueError naming the argument;
views and read-only inputs are handled, not rejected."""
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import assert_close
from isolated import run_isolated as run_isolated_with_tests

import fastnn
from fastnn import kernels as K
from fastnn import reference as R
from fastnn import registry


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
    X, W, _dY = f32(4, 3), f32(3, 2), f32(4, 2)
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
    with raises(ValueError,
                r"logits must have at least one row and one column, got shape \(0, 3\)"):
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


# ---------------------------------------------------------------- aliasing
#
# Every kernel: its arrays (name, shape, role: "in" read, "out" written, "inout" both; dtype None
# is the float dtype of the test), how to call it (`impl` is fastnn.kernels or
# fastnn.reference), and the outputs that may be exactly an input (in place), as documented.
# No other output may share memory with any other argument.
ACTIVATION_KINDS = list(R.ACTIVATIONS)
LOSS_KERNELS = {"softmax_cross_entropy": "logits", "categorical_cross_entropy": "probs",
                "sigmoid_binary_cross_entropy": "logits",
                "sigmoid_binary_cross_entropy_sum": "logits", "binary_cross_entropy": "probs",
                "mean_squared_error": "pred", "mean_absolute_error": "pred",
                "sum_of_squares": "pred", "huber": "pred", "poisson": "log_rate",
                "half_poisson_deviance": "log_mean"}
OPTIMIZER_KERNELS = {
    "sgd_update": (["velocity"], lambda f, a: f(a["param"], a["grad"], a["velocity"], lr=0.1,
                                                 momentum=0.9)),
    "adam_update": (["m", "v"], lambda f, a: f(a["param"], a["grad"], a["m"], a["v"], 3)),
    "rmsprop_update": (["sq"], lambda f, a: f(a["param"], a["grad"], a["sq"])),
    "adagrad_update": (["acc"], lambda f, a: f(a["param"], a["grad"], a["acc"])),
    "adamw_update": (["m", "v"], lambda f, a: f(a["param"], a["grad"], a["m"], a["v"], 3, l2=0.1)),
    "adamax_update": (["m", "u"], lambda f, a: f(a["param"], a["grad"], a["m"], a["u"], 3))}


def kernel_specs():
    specs = {}
    for kind in ACTIVATION_KINDS:
        specs[kind + "_forward"] = (
            [("x", (4, 3), "in", None), ("out", (4, 3), "out", None)],
            lambda impl, a, kind=kind: getattr(impl, kind + "_forward")(a["x"], a["out"]),
            {("out", "x")})
        s = "x" if registry.activation(kind).from_input else "y"  # what the backward reads
        specs[kind + "_backward"] = (
            [(s, (4, 3), "in", None), ("dy", (4, 3), "in", None), ("dx", (4, 3), "out", None)],
            (lambda impl, a, kind=kind, s=s:
             getattr(impl, kind + "_backward")(a[s], a["dy"], a["dx"])),
            {("dx", s), ("dx", "dy")})
    specs["dropout_forward"] = (
        [("x", (4, 3), "in", None), ("out", (4, 3), "out", None), ("mask", (4, 3), "out", None),
         ("state", (2,), "inout", np.uint64)],
        lambda impl, a: impl.dropout_forward(a["x"], a["out"], a["mask"], 0.5, a["state"]),
        {("out", "x")})
    specs["dense_forward"] = (
        [("X", (4, 3), "in", None), ("W", (3, 2), "in", None), ("b", (2,), "in", None),
         ("out", (4, 2), "out", None)],
        lambda impl, a: impl.dense_forward(a["X"], a["W"], a["b"], a["out"], "tanh"), set())
    specs["dense_backward"] = (
        [("X", (4, 3), "in", None), ("W", (3, 2), "in", None), ("dY", (4, 2), "in", None),
         ("dW", (3, 2), "inout", None), ("db", (2,), "inout", None), ("dX", (4, 3), "out", None)],
        lambda impl, a: impl.dense_backward(a["X"], a["W"], a["dY"], a["dW"], a["db"], a["dX"],
                                            accumulate=True), set())
    for name, pred in LOSS_KERNELS.items():
        for labels in ((False, True) if name in ("softmax_cross_entropy",
                                                 "categorical_cross_entropy") else (False,)):
            specs[name + ("[labels]" if labels else "")] = (
                [(pred, (4, 3), "in", None),
                 ("target", (4,) if labels else (4, 3), "in", np.intp if labels else None),
                 ("grad", (4, 3), "out", None), ("sample_weight", (4,), "in", None)],
                lambda impl, a, name=name, pred=pred: getattr(impl, name)(
                    a[pred], a["target"], a["grad"], a["sample_weight"]),
                {("grad", pred)})
    for name, (states, call) in OPTIMIZER_KERNELS.items():
        specs[name] = ([("param", (5,), "inout", None), ("grad", (5,), "in", None)]
                       + [(state, (5,), "inout", None) for state in states],
                       lambda impl, a, call=call, name=name: call(getattr(impl, name), a), set())
    affine = [("gamma", (3,), "in", None), ("beta", (3,), "in", None)]
    specs["batch_norm_forward"] = (
        [("x", (4, 3), "in", None)] + affine
        + [("out", (4, 3), "out", None), ("xhat", (4, 3), "out", None),
           ("inv_std", (3,), "out", None), ("running_mean", (3,), "inout", None),
           ("running_var", (3,), "inout", None)],
        lambda impl, a: impl.batch_norm_forward(a["x"], a["gamma"], a["beta"], a["out"], a["xhat"],
                                                a["inv_std"], a["running_mean"], a["running_var"]),
        {("out", "x")})
    specs["batch_norm_inference"] = (
        [("x", (4, 3), "in", None)] + affine
        + [("running_mean", (3,), "in", None), ("running_var", (3,), "in", None),
           ("out", (4, 3), "out", None)],
        lambda impl, a: impl.batch_norm_inference(a["x"], a["gamma"], a["beta"],
                                                  a["running_mean"], a["running_var"], a["out"]),
        {("out", "x")})
    specs["layer_norm_forward"] = (
        [("x", (4, 3), "in", None)] + affine
        + [("out", (4, 3), "out", None), ("xhat", (4, 3), "out", None),
           ("inv_std", (4,), "out", None)],
        lambda impl, a: impl.layer_norm_forward(a["x"], a["gamma"], a["beta"], a["out"], a["xhat"],
                                                a["inv_std"]),
        {("out", "x")})
    for kind, rows in (("batch", 3), ("layer", 4)):
        specs[kind + "_norm_backward"] = (
            [("xhat", (4, 3), "in", None), ("inv_std", (rows,), "in", None),
             ("gamma", (3,), "in", None), ("dy", (4, 3), "in", None),
             ("dgamma", (3,), "out", None), ("dbeta", (3,), "out", None),
             ("dx", (4, 3), "out", None)],
            lambda impl, a, kind=kind: getattr(impl, kind + "_norm_backward")(
                a["xhat"], a["inv_std"], a["gamma"], a["dy"], a["dgamma"], a["dbeta"], a["dx"]),
            {("dx", "dy")})
    return specs


SPECS = kernel_specs()


def fill(name, array, rng):
    """Valid values for an argument: class labels, positive weights, a dropout stream, a
    second moment >= 0; random numbers otherwise."""
    if array.dtype == np.intp:
        array[...] = rng.integers(0, 3, array.shape)
    elif array.dtype == np.uint64:
        array[...] = [12345, 7]
    elif name in ("sample_weight", "v", "sq", "acc", "running_var") or name == "probs":
        array[...] = rng.uniform(0.1, 0.9, array.shape)
    else:
        array[...] = rng.standard_normal(array.shape)


def fresh_arguments(spec, dtype, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {}
    for name, shape, _, kind in spec[0]:
        arrays[name] = np.empty(shape, kind or dtype)
        fill(name, arrays[name], rng)
    return arrays


def aliasing_cases(labels):
    """(kernel, output, other argument, placement) for every output and every other argument of
    every kernel (labels: only the two losses that take class labels, with labels; else the
    rest): `other` one element after `output`, `output` one element after `other`, and both at
    the same address (a partial overlap when their sizes differ, exact aliasing when they do
    not: that is left out where the kernel documents the in-place use)."""
    cases = []
    for kernel, (arrays, _, in_place) in SPECS.items():
        if ("[labels]" in kernel) != labels:
            continue
        roles = {name: role for name, _, role, _ in arrays}
        sizes = {name: int(np.prod(shape)) for name, shape, _, _ in arrays}
        names = [name for name, _, _, _ in arrays]
        for i, out in enumerate(names):
            for other in names[i + 1:] + names[:i]:
                if roles[out] == "in" or (roles[other] != "in" and names.index(other) < i):
                    continue  # each pair of outputs once
                for placement in ("other after", "output after", "same start"):
                    if (placement == "same start" and (out, other) in in_place
                            and sizes[out] == sizes[other]):
                        continue
                    cases.append((kernel, out, other, placement))
    return cases


def overlapping(spec, dtype, out, other, placement):
    """The arguments with `out` and `other` carved from one buffer as `placement` says."""
    arrays = fresh_arguments(spec, dtype)
    shapes = {name: (shape, np.dtype(kind or dtype)) for name, shape, _, kind in spec[0]}
    step = max(shapes[out][1].itemsize, shapes[other][1].itemsize)
    offsets = {"other after": (0, step), "output after": (step, 0), "same start": (0, 0)}[placement]
    size = step + max(np.prod(shape) * dt.itemsize for shape, dt in shapes.values())
    buf = np.zeros(int(size) + 64, np.uint8)
    for name, offset in zip((out, other), offsets):
        shape, dt = shapes[name]
        arrays[name] = np.ndarray(shape, dt, buffer=buf, offset=offset)
    rng = np.random.default_rng(1)
    fill(out, arrays[out], rng)
    fill(other, arrays[other], rng)  # the input's values last: they must be valid
    return arrays


def word(name):
    return rf"(?<![\w\[]){re.escape(name)}(?![\w\]])"


def aliasing_refused(kernel, out, other, placement, dtype):
    """None if the kernel refuses the overlap with a ValueError naming both arguments, else
    what it did."""
    spec = SPECS[kernel]
    arrays = overlapping(spec, dtype, out, other, placement)
    try:
        spec[1](K, arrays)
    except ValueError as error:
        message = str(error)
        if ("must not share memory" in message and re.search(word(out), message)
                and re.search(word(other), message)):
            return None
        return f"wrong message: {message}"
    return "accepted"


@pytest.mark.parametrize("kernel,out,other,placement", aliasing_cases(labels=False))
def test_outputs_sharing_memory_with_another_argument_are_refused(kernel, out, other, placement,
                                                                   dtype):
    """An output that shares memory with an input or another output computed wrong numbers
    without a word (dense_forward's out overlapping b; dW = W; a loss's grad = target; adam's
    m = v; an activation's out = x shifted by one element...): now ValueError naming both."""
    assert aliasing_refused(kernel, out, other, placement, dtype) is None


def test_class_labels_sharing_memory_with_grad_are_refused():
    """The same for the losses' class labels, in a fresh interpreter: labels that grad
    overlaps were checked, then overwritten by the gradient and read as column indices (a
    crash)."""
    out = run_isolated_with_tests("""
        import numpy as np
        import test_kernel_validation as T
        cases = T.aliasing_cases(labels=True)
        for case in cases:
            for dtype in (np.float32, np.float64):
                print(case, dtype.__name__, T.aliasing_refused(*case, dtype))
        print(len(cases), "cases")
        """)
    lines = out.splitlines()
    n = len(aliasing_cases(labels=True))  # 2 losses x 3 arguments x 3 placements - 2 in place
    assert n == 16 and lines[-1] == f"{n} cases" and len(lines) == 2 * n + 1, out
    assert all(line.endswith(" None") for line in lines[:-1]), out


IN_PLACE_CASES = [(kernel, out, other) for kernel, spec in SPECS.items()
                  for out, other in sorted(spec[2])]


@pytest.mark.parametrize("kernel,out,other", IN_PLACE_CASES)
def test_documented_in_place_uses_give_the_reference_numbers(kernel, out, other, dtype):
    """Exact aliasing where a kernel documents it (out is x, dx is dy or y, a loss's grad is
    its prediction, dropout's out is x) still runs, and gives fastnn.reference's numbers for
    the same call on separate arrays."""
    spec = SPECS[kernel]
    got = fresh_arguments(spec, dtype)
    got[out] = got[other]
    want = fresh_arguments(spec, dtype)
    result_k, result_r = spec[1](K, got), spec[1](R, want)
    assert_close(got[out], want[out], dtype)
    if isinstance(result_r, float):
        assert_close(result_k, result_r, dtype)
    for name, _, role, _ in spec[0]:
        if role != "in" and name != out:
            np.testing.assert_allclose(got[name], want[name], rtol=1e-5)


def test_every_kernel_with_outputs_is_in_the_aliasing_table():
    covered = {kernel.split("[")[0] for kernel in SPECS}
    # all_finite and the clipping kernels take one array each: nothing can overlap
    single = {"all_finite", "grad_sum_squares", "clip_gradient"}
    assert covered == {name for names in K.NAMES.values() for name in names} - single


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
@pytest.mark.parametrize("n_threads", [0, -1, -2**31, -2**31 - 1, -2**63, -2**100])
def test_thread_counts_below_one_are_refused(name, n_threads):
    x = f32(6, 4)
    args = {"relu_forward": (x, f32(6, 4)), "softmax_backward": (x, x, f32(6, 4)),
            "mean_squared_error": (x, x, f32(6, 4)),
            "dense_forward": (x, f32(4, 3), None, f32(6, 3))}
    with raises(ValueError, f"n_threads must be >= 1, got {n_threads}"):
        getattr(K, name)(*args[name], n_threads=n_threads)


@pytest.mark.parametrize("n_threads", [100000, 2**31 - 1, 2**31, 2**64, 2**100])
def test_huge_thread_counts_run_on_the_processors_there_are(n_threads):
    """n_threads above the processor count runs on that many (100000 threads crashed in
    OpenMP, 2**31 - 1 aborted in libgomp, 2**31 and above raised OverflowError): the
    activations, losses and dense kernels give what they give on one thread (the gradients and
    outputs exactly, a loss summed over threads to rounding)."""
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
            W = rng.standard_normal((70, 30)).astype(dtype)
            b = rng.standard_normal(30).astype(dtype)
            for activation in ("relu", "softmax"):
                one = K.dense_forward(x, W, b, np.empty((500, 30), dtype), activation)
                np.testing.assert_array_equal(
                    K.dense_forward(x, W, b, np.empty((500, 30), dtype), activation,
                                    n_threads=huge), one)
        print("same as one thread")
        """)
    assert "same as one thread" in out


def test_every_thread_count_argument_takes_integers_of_any_size():
    """Every kernel with n_threads takes any integer (a Python int of any size, a NumPy
    integer) and clamps it, or refuses it below 1 with ValueError; not an integer, TypeError.
    Before, `int n_threads` raised OverflowError from 2**31 on (in a fresh interpreter: a
    clamp that failed would start 2**31 OpenMP threads)."""
    out = run_isolated("""
        import numpy as np
        import pytest
        from fastnn import kernels as K
        x = np.random.default_rng(0).standard_normal((3, 4))
        calls = {name: (lambda f: lambda n: f(x, np.empty_like(x), n_threads=n))(getattr(K, name))
                 for name in K.NAMES["activations"] if name.endswith("_forward")
                 and name != "dropout_forward"}
        calls.update({name: (lambda f: lambda n: f(x, x, np.empty_like(x), n_threads=n))(
            getattr(K, name)) for name in K.NAMES["activations"] if name.endswith("_backward")})
        calls.update({name: (lambda f: lambda n: f(np.abs(x) / 4, np.abs(x[::-1]) / 4,
                                                    np.empty_like(x), n_threads=n))(
            getattr(K, name)) for name in K.NAMES["losses"]})
        calls["dense_forward"] = lambda n: K.dense_forward(x, x.T.copy(), None,
                                                           np.empty((3, 3)), n_threads=n)
        assert len(calls) == 2 * len(K.ACTIVATIONS) + len(K.NAMES["losses"]) + 1
        for name, call in calls.items():
            one = call(1)
            for n in (2, np.int64(7), np.uint64(2**64 - 1), 2**31, 2**63, 2**100, True):
                np.testing.assert_allclose(call(n), one, rtol=1e-12)  # a loss: to rounding
            for n in (0, np.int8(-3), -2**63, -2**100, False):
                with pytest.raises(ValueError, match=f"n_threads must be >= 1, got {n}"):
                    call(n)
            for n in (2.0, "2", None):
                with pytest.raises(TypeError):
                    call(n)
        print("uniform")
        """)
    assert "uniform" in out
