"""The engine's plan compiler at its boundary: Plan(...) refuses, with a ValueError naming the
problem, every description its kernels would run out of bounds on, whoever built it (not only
fastnn/engine.py's compile_plan); and its methods bound their thread counts.

Each case runs in a fresh interpreter: before these checks several of them crashed it (Adam
without state, class labels for a loss that reads target rows, max_rows = 0, an unknown
optimizer code, 100000 threads), and a crash must fail the test, not kill pytest. A plan that
is wrongly accepted is then trained and used for predict, where such a crash would happen.
"""
import os
import subprocess
import sys
import textwrap

import pytest

import fastnn

# The plan layouts (see Plan.__init__ and compile_plan): layers (W, b, dW, db, activation code,
# alpha, dropout rate, dropout state); params (param, grad, state1, state2, l2) for W and b of
# every layer in order; optimizer (kind, lr, decay, a, b, eps, weight_decay, nesterov, eps_hat);
# loss (kind, eps).
PRELUDE = '''
import re
import numpy as np
from fastnn import _kernels
from fastnn.plan import PlanSpec
E = _kernels.load("engine")
N_STATE = {"sgd": 1, "adam": 2, "rmsprop": 1, "adagrad": 1}
SLOTS = {"sgd": (0.9, 0.0, 0.0), "adam": (0.9, 0.999, 1e-8), "rmsprop": (0.9, 0.0, 1e-7),
         "adagrad": (0.0, 0.0, 1e-7)}


def base(opt="adam", dtype=np.float64, sizes=(3, 8, 5, 4), acts=("relu", "tanh", "identity"),
         loss="softmax_cross_entropy", labels=True, max_rows=16):
    """A valid 3-8-5-4 training plan's arguments, as compile_plan would give them."""
    rng = np.random.default_rng(0)
    layers, params = [], []
    for k, m, act in zip(sizes, sizes[1:], acts):
        W, b = rng.standard_normal((k, m)).astype(dtype), np.zeros(m, dtype)
        dW, db = np.zeros_like(W), np.zeros_like(b)
        layers.append((W, b, dW, db, E.ACTIVATION_CODES[act], 0.0, 0.0, None))
        for p, g in ((W, dW), (b, db)):
            states = [np.zeros_like(p) for _ in range(N_STATE[opt])] + [None, None]
            params.append((p, g, states[0], states[1], 0.0))
    a, b, eps = SLOTS[opt]
    return dict(dtype=np.dtype(dtype), layers=layers, params=params,
                optimizer=(E.OPTIMIZER_CODES[opt], 0.01, 0.0, a, b, eps, 0.0, False, False),
                loss=(E.LOSS_CODES[loss], 1e-7), max_rows=max_rows, labels=labels,
                acc_mode=E.ACCURACY_CODES["argmax"], training=True)


def spec(args):
    """The PlanSpec of base()'s arguments (whose tuples tests may make malformed)."""
    return PlanSpec(args["dtype"], args["layers"], args["params"], args["optimizer"], args["loss"],
                    args["max_rows"], args["labels"], args["acc_mode"], training=args["training"])


def plan(args):
    return E.Plan(spec(args))


def data(args, n=40):
    n_in, n_out = args["layers"][0][0].shape[0], args["layers"][-1][0].shape[1]
    rng = np.random.default_rng(1)
    X = rng.standard_normal((n, n_in)).astype(args["dtype"])
    y = (np.arange(n) % n_out).astype(np.intp) if args["labels"] else \\
        rng.standard_normal((n, n_out)).astype(args["dtype"])
    return X, y


def exercise(p, args):
    """What predict and fit do with a plan: a kernel out of bounds crashes here."""
    X, y = data(args)
    n_out = args["layers"][-1][0].shape[1]
    p.predict(X, np.empty((len(X), n_out), args["dtype"]))
    if args["training"]:
        p.train_epochs(X, y, None, max(1, min(16, args["max_rows"])), 0, 3)
        p.train_epoch(X, y, None, np.arange(len(X)), max(1, min(16, args["max_rows"])), 0)


def refused(args, match):
    """Plan(args) must raise ValueError matching `match`; a plan it accepts is exercised."""
    try:
        p = plan(args)
    except ValueError as error:
        assert re.search(match, str(error)), f"wrong message: {error}"
        print("refused:", error)
        return
    exercise(p, args)
    raise SystemExit(f"accepted (and survived) a plan that should fail with {match!r}")
'''


def run_isolated(code):
    """Run PRELUDE + code in a fresh interpreter on this fastnn and kernel build; its stdout.
    A crash (or an uncaught exception) fails the test with the interpreter's output."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(fastnn.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, (f"exit status {proc.returncode}\n--- stdout\n{proc.stdout}"
                                  f"\n--- stderr\n{proc.stderr[-3000:]}")
    return proc.stdout


def assert_refused(code, times=1):
    out = run_isolated(code)
    assert out.count("refused:") == times, out


def test_a_valid_plan_trains_and_predicts():
    """The base description of the cases below is accepted, for every optimizer, trains and
    predicts finite numbers, and an inference plan (no params) predicts what it predicts."""
    out = run_isolated("""
        for opt in N_STATE:
            for dtype in (np.float32, np.float64):
                args = base(opt, dtype)
                p = plan(args)
                X, y = data(args)
                done, finished, sums, it = p.train_epochs(X, y, None, 16, 0, 3)
                assert done == 3 and finished and np.isfinite(sums).all() and it == 9
                out = p.predict(X, np.empty((40, 4), dtype))
                assert np.isfinite(out).all()
                args.update(params=[], training=False)
                np.testing.assert_array_equal(plan(args).predict(X, np.empty((40, 4), dtype)), out)
        print("valid")
        """)
    assert "valid" in out


# ---------------------------------------------------------------- optimizer state

@pytest.mark.parametrize("opt,state,needed", [
    ("adam", 0, "2 state arrays, state1"), ("adam", 1, "2 state arrays, state2"),
    ("rmsprop", 0, "1 state array, state1"), ("adagrad", 0, "1 state array, state1"),
    ("sgd", 0, "1 state array, state1")])  # SGD with momentum 0.9
def test_missing_optimizer_state_is_refused(opt, state, needed):
    """Adam reads and writes two state arrays per parameter, RMSprop, Adagrad and SGD with
    momentum one: a None in their place was a NULL pointer the update wrote through (Adam: a
    segfault in train_epochs), or SGD's momentum silently dropped."""
    assert_refused(f"""
        args = base({opt!r})
        entry = list(args["params"][3])
        entry[2 + {state}] = None
        args["params"][3] = tuple(entry)
        refused(args, r"params\\[3\\] \\(b of layers\\[1\\]\\): .* needs {needed} is None")
        """)


def test_sgd_without_momentum_and_inference_plans_need_no_state():
    out = run_isolated("""
        args = base("sgd")
        args["optimizer"] = (E.OPTIMIZER_CODES["sgd"],) + (0.01, 0.0, 0.0) + args["optimizer"][4:]
        args["params"] = [(p, g, None, None, l2) for p, g, _, _, l2 in args["params"]]
        exercise(plan(args), args)
        args = base("adam")
        args["params"] = [(p, g, None, None, l2) for p, g, _, _, l2 in args["params"]]
        refused(args, "Adam needs 2 state arrays")
        args.update(params=[], training=False)
        exercise(plan(args), args)
        print("ok")
        """)
    assert "ok" in out and out.count("refused:") == 1


def test_state_of_the_wrong_shape_is_refused():
    assert_refused("""
        args = base("adam")
        p, g, s1, s2, l2 = args["params"][0]
        args["params"][0] = (p, g, s1, s2.reshape(-1, 3), l2)  # same size, other shape
        refused(args, r"params\\[0\\] \\(W of layers\\[0\\]\\)'s state2 must have shape \\(3, 8\\)")
        """)


# ---------------------------------------------------------------- layers

def test_layers_that_do_not_chain_are_refused():
    """layers[1]'s W must take layers[0]'s outputs: with 7 rows instead of 8 its product read
    past the 8-wide activations buffer's rows (and the backward wrote past dX's)."""
    assert_refused("""
        args = base("sgd")
        rng = np.random.default_rng(2)
        W, b, dW, db, *rest = args["layers"][1]
        W2, dW2 = rng.standard_normal((7, 5)), np.zeros((7, 5))
        args["layers"][1] = (W2, b, dW2, db, *rest)
        args["params"][2] = (W2, dW2) + args["params"][2][2:]
        refused(args, r"layers\\[1\\]'s W takes 7 inputs, but layers\\[0\\] gives 8 outputs")
        """)


@pytest.mark.parametrize("slot,value,match", [
    (2, "dW.T.copy()", r"layers\[1\]'s dW \(W's shape\) must have shape \(8, 5\), got \(5, 8\)"),
    (1, "b.reshape(1, -1)", r"layers\[1\]'s b \(one per output of W\) must have shape \(5,\)"),
    (3, "db.reshape(-1, 1)", r"layers\[1\]'s db \(b's shape\) must have shape \(5,\)"),
    (0, "W.ravel()", r"layers\[1\]'s W must be a 2-D numpy array"),
    (0, "W[:0].copy()", r"layers\[1\]'s W must have at least one row and column"),
    (1, "b.astype(np.float32)", r"layers\[1\]'s b .* must have the plan's dtype float64"),
    (0, "W.tolist()", r"layers\[1\]'s W must be a 2-D numpy array, got list"),
])
def test_layer_arrays_of_the_wrong_shape_are_refused(slot, value, match):
    """W 2-D with at least one row and column, b 1-D of W's outputs, dW and db of their shapes:
    _ptr checked the sizes only, so a transposed dW or a 2-D b passed."""
    assert_refused(f"""
        args = base("sgd")
        W, b, dW, db = args["layers"][1][:4]
        layer = list(args["layers"][1])
        layer[{slot}] = {value}
        args["layers"][1] = tuple(layer)
        if {slot} == 0 and isinstance(layer[0], np.ndarray):
            args["params"][2] = (layer[0],) + args["params"][2][1:]
        refused(args, {match!r})
        """)


@pytest.mark.parametrize("index,values,match", [
    (4, ["99", "-1", "1.0"], r"unknown layers\[2\]'s activation code"),
    (5, ["-1.0", "np.nan", "np.inf"],
     r"layers\[2\]'s alpha \(the leaky ReLU's slope\) must be in \[0"),
    (6, ["1.0", "1.5", "-0.1", "np.nan"], r"layers\[2\]'s dropout rate must be in \[0, 1\)"),
])
def test_bad_activation_codes_and_layer_hyperparameters_are_refused(index, values, match):
    """Activation codes of the table, a leaky ReLU's alpha finite and >= 0 (its derivative is
    read off the output's sign), a dropout rate in [0, 1) (1 scaled by 1 / 0)."""
    assert_refused(f"""
        for value in [{", ".join(values)}]:
            args = base("sgd", acts=("relu", "tanh", "leaky_relu"))
            layer = list(args["layers"][2])
            layer[{index}] = value
            if {index} == 6:
                layer[7] = np.array([1, 0], np.uint64)
            args["layers"][2] = tuple(layer)
            refused(args, {match!r})
        """, times=len(values))


def test_dropout_without_a_state_is_refused():
    assert_refused("""
        args = base("sgd")
        args["layers"][0] = args["layers"][0][:6] + (0.5, np.array([1, 0], np.int64))
        refused(args, r"layers\\[0\\]'s dropout state must be a writeable, contiguous uint64")
        """)


def test_an_empty_or_malformed_layer_list_is_refused():
    assert_refused("""
        args = base("sgd")
        args.update(layers=[], params=[])
        refused(args, "a plan needs at least one Dense layer")
        args = base("sgd")
        args["layers"][1] = args["layers"][1][:7]
        refused(args, r"layers\\[1\\] must be a tuple \\(W, b, dW, db, activation")
        """, times=2)


# ---------------------------------------------------------------- params

def test_params_that_are_not_the_layers_arrays_are_refused():
    """params are (W, b) of every layer in order, their grads dW and db: the update must write
    what the forward reads and read what the backward writes. A missing or extra entry, a
    parameter of other sizes (the update ran over its own size) or a copy is refused."""
    assert_refused("""
        args = base("adam")
        args["params"] = args["params"][:-1]
        refused(args, r"\\(W, b\\) of every layer in order, 6 entries; got 5")
        args = base("adam")
        args["params"] = args["params"] + args["params"][:1]
        refused(args, "6 entries; got 7")
        args = base("adam")
        small = np.zeros((2, 8))
        args["params"][0] = (small, np.zeros((2, 8)), np.zeros((2, 8)), np.zeros((2, 8)), 0.0)
        refused(args, r"params\\[0\\] \\(W of layers\\[0\\]\\)'s param must have shape \\(3, 8\\)")
        args = base("adam")
        p, g, s1, s2, l2 = args["params"][2]
        args["params"][2] = (p.copy(), g, s1, s2, l2)
        refused(args, r"params\\[2\\] \\(W of layers\\[1\\]\\)'s param must be the layer's W array")
        args = base("adam")
        p, g, s1, s2, l2 = args["params"][5]
        args["params"][5] = (p, np.zeros_like(g), s1, s2, l2)
        refused(args, r"params\\[5\\] \\(b of layers\\[2\\]\\)'s grad must be the layer's db array")
        args = base("adam")
        args["params"][1] = args["params"][1][:4]
        refused(args, r"params\\[1\\] must be a tuple \\(param, grad, state1, state2, l2\\)")
        args = base("adam")
        args["params"][0] = args["params"][0][:4] + (-1.0,)
        refused(args, r"params\\[0\\] \\(W of layers\\[0\\]\\)'s l2 must be in \\[0")
        """, times=7)


# ---------------------------------------------------------------- codes, sizes, loss

def test_max_rows_below_one_is_refused():
    """max_rows = 0 made predict divide by zero (SIGFPE)."""
    assert_refused("""
        for rows in (0, -1):
            args = base("sgd", max_rows=rows)
            refused(args, f"max_rows must be >= 1, got {rows}")
        """, times=2)


def test_unknown_codes_are_refused():
    """Optimizer, loss and accuracy codes of the tables: an unknown optimizer code ran Adagrad's
    update on absent state; an unknown loss or accuracy silently computed something else."""
    assert_refused("""
        args = base("sgd")
        args["optimizer"] = (99,) + args["optimizer"][1:]
        refused(args, "unknown optimizer code 99")
        args = base("sgd")
        args["loss"] = (42, 0.0)
        refused(args, "unknown loss code 42")
        args = base("sgd")
        args["acc_mode"] = 7
        refused(args, "unknown accuracy code 7")
        args = base("sgd")
        args["dtype"] = np.dtype(np.int32)
        refused(args, "dtype must be float32 or float64, got int32")
        args = base("sgd")
        args["optimizer"] = args["optimizer"][:8]
        refused(args, r"optimizer must be a tuple \\(kind, lr")
        args = base("sgd")
        args["loss"] = (0,)
        refused(args, r"loss must be a tuple \\(kind, eps\\)")
        """, times=6)


def test_class_labels_for_a_loss_of_target_rows_are_refused():
    """labels=True gives the loss no target rows: mean squared error read them from NULL
    (a segfault); an accuracy on target rows would read a buffer nothing fills."""
    assert_refused("""
        args = base("sgd", loss="mean_squared_error")
        refused(args, r"loss code \\d+ takes target rows, not class labels")
        args = base("sgd")
        args["acc_mode"] = E.ACCURACY_CODES["logits"]
        refused(args, "accuracy code 2 compares target rows")
        """, times=2)


@pytest.mark.parametrize("slot,value,match", [
    (1, "-0.1", "lr must be in"), (1, "float('nan')", "lr must be in"),
    (2, "-1.0", "decay must be in"), (6, "float('inf')", "weight_decay must be in"),
    (3, "1.0", r"a \(momentum, beta1 or rho\) must be in \[0, 1\), got 1"),
    (4, "1.5", r"b \(beta2\) must be in \[0, 1\), got 1.5"),
    (5, "0.0", r"eps must be in \(0, inf\)"),
    (1, "'0.1'", "must be a number"),
])
def test_bad_optimizer_hyperparameters_are_refused(slot, value, match):
    """The hyperparameters the optimizer kernels accept (optim.pyx), for a training plan."""
    assert_refused(f"""
        args = base("adam")
        opt = list(args["optimizer"])
        opt[{slot}] = {value}
        args["optimizer"] = tuple(opt)
        refused(args, {match!r})
        """)


def test_probability_losses_need_a_usable_eps():
    assert_refused("""
        args = base("sgd", acts=("relu", "tanh", "softmax"), loss="categorical_cross_entropy")
        args["loss"] = (args["loss"][0], 0.0)
        refused(args, r"the loss's eps must be in \\(0, 0.5\\)")
        args = base("sgd", dtype=np.float32, loss="binary_cross_entropy", labels=False)
        args["acc_mode"] = E.ACCURACY_CODES["probabilities"]
        args["loss"] = (args["loss"][0], 1e-9)  # 1 - 1e-9 rounds to 1 in float32
        refused(args, "at the plan's precision")
        """, times=2)


# ---------------------------------------------------------------- the plan's own lifetime

def test_a_plan_that_was_not_compiled_refuses_to_run():
    """A Plan whose __init__ never ran, or failed part-way, has no layers to run: its methods
    raise instead of dividing by its zero max_rows or reading its absent layers."""
    assert_refused("""
        p = E.Plan.__new__(E.Plan)
        for call in (lambda: p.predict(np.zeros((1, 0)), np.zeros((1, 0))),
                     lambda: p.predict_fast(np.zeros((1, 3))),
                     lambda: p.train_epochs(np.zeros((1, 3)), np.zeros(1, np.intp), None, 1, 0, 1),
                     lambda: p.allow_one_pass(True)):
            try:
                call()
            except ValueError as error:
                assert "not compiled" in str(error), error
                print("refused:", error)
        args = base("adam")
        bad = dict(args, max_rows=0)
        p = E.Plan.__new__(E.Plan)
        try:
            p.__init__(spec({**bad, "max_rows": 0, "labels": True}))
        except ValueError:
            pass
        try:
            exercise(p, args)
        except ValueError as error:
            assert "not compiled" in str(error), error
            print("refused:", error)
        """, times=5)


def test_a_plan_is_compiled_once():
    """__init__ called again on a plan raises RuntimeError and leaves the plan as it was: it
    used to free the plan's C arrays and build new ones, under another thread's train_epochs
    running with the GIL released (a segfault), and to restore a bigger network's diverged
    epoch past the snapshot sized for the first. A plan whose __init__ failed is not retried
    either (build a new Plan)."""
    out = run_isolated("""
        def init(p, args):
            p.__init__(spec({**args, "labels": True}))

        small = base("sgd", sizes=(3, 4, 2), acts=("relu", "identity"))
        p = plan(small)
        X, y = data(small)
        p.train_epochs(X, y, None, 16, 0, 1)  # allocates the snapshot
        trained = [param.copy() for param, *_ in small["params"]]
        big = base("sgd", sizes=(3, 1200, 1200, 4), acts=("relu", "relu", "identity"))
        start = [param.copy() for param, *_ in big["params"]]
        for args in (big, small, dict(small, max_rows=0)):
            try:
                init(p, args)
            except RuntimeError as error:
                assert "already compiled" in str(error) and "build a new Plan" in str(error)
                print("refused:", error)
        for (param, *_), want in zip(big["params"], start):
            np.testing.assert_array_equal(param, want)  # never touched
        for (param, *_), want in zip(small["params"], trained):
            np.testing.assert_array_equal(param, want)
        exercise(p, small)  # still the small network's plan
        # a plan whose first __init__ failed
        q = E.Plan.__new__(E.Plan)
        for args in (dict(small, max_rows=0), small):
            try:
                init(q, args)
            except (ValueError, RuntimeError) as error:
                print(type(error).__name__, error)
        print("done")
        """)
    assert out.count("refused:") == 3, out
    assert "ValueError engine plan: max_rows must be >= 1" in out and \
        "RuntimeError engine: this Plan was already compiled" in out, out


def test_init_while_another_thread_trains_is_refused():
    """The attacker's repro: a thread runs plan.train_epochs with the GIL released while the
    main thread calls plan.__init__ with another network's description. That freed the C
    arrays under the running epochs (segfault); now __init__ raises RuntimeError and the
    training gives exactly what it gives undisturbed."""
    out = run_isolated("""
        import threading
        import time
        import fastnn as fnn
        from fastnn.engine import compile_plan

        def network():
            return fnn.Network([fnn.Dense(20, 256), fnn.ReLU(), fnn.Dense(256, 10)],
                               optimizer=fnn.Adam(0.001), random_state=0)

        rng = np.random.default_rng(0)
        X = rng.standard_normal((4000, 20)).astype(np.float32)
        y = rng.integers(0, 10, 4000).astype(np.intp)
        results = {}
        for disturbed in (False, True):
            net = network()
            p = compile_plan(net, 32, labels=True)
            started = threading.Event()

            def train():
                started.set()
                results[disturbed] = p.train_epochs(X, y, None, 32, 0, 30, None)

            thread = threading.Thread(target=train)
            thread.start()
            if disturbed:
                started.wait()
                time.sleep(0.02)
                other = base("adam", dtype=np.float32, sizes=(5, 7, 3), acts=("tanh", "identity"))
                try:
                    p.__init__(spec({**other, "max_rows": 8, "labels": True}))
                except RuntimeError as error:
                    print("refused:", error, "| training still running:", thread.is_alive())
            thread.join()
            results[disturbed] = results[disturbed] + ([w.copy() for w in net.parameters()],)
        (done0, fin0, sums0, it0, w0), (done1, fin1, sums1, it1, w1) = results[False], results[True]
        assert done0 == done1 == 30 and fin0 and fin1 and it0 == it1 == 30 * 125
        np.testing.assert_array_equal(sums1, sums0)
        for a, b in zip(w0, w1):
            np.testing.assert_array_equal(b, a)
        print("same training")
        """)
    assert "refused:" in out and "same training" in out, out


def test_epoch_inputs_are_checked_against_the_plan():
    """Class labels outside [0, outputs) (the loss read the logit at the label's column) and an
    unknown final activation for predict are refused."""
    assert_refused("""
        args = base("sgd")
        p = plan(args)
        X, y = data(args)
        for bad in (4, -1, 10**12):
            y2 = y.copy()
            y2[5] = bad
            for call in (lambda: p.train_epochs(X, y2, None, 16, 0, 1),
                         lambda: p.train_epoch(X, y2, None, np.arange(40), 16, 0)):
                try:
                    call()
                except ValueError as error:
                    assert re.search(r"labels\\[5\\] = .* is not a class index in \\[0, 4\\)",
                                     str(error)), error
                    print("refused:", error)
        for final in (99, -3):
            for call in (lambda: p.predict(X, np.empty((40, 4)), final),
                         lambda: p.predict_fast(X, final)):
                try:
                    call()
                except ValueError as error:
                    assert "unknown final activation code" in str(error), error
                    print("refused:", error)
        try:
            p.set_learning_rate(float("nan"))
        except ValueError as error:
            print("refused:", error)
        """, times=11)


# ---------------------------------------------------------------- threads

def test_plan_thread_counts_below_one_are_refused():
    assert_refused("""
        args = base("sgd")
        p = plan(args)
        X, y = data(args, n=5000)
        for n_threads in (0, -1, -2**63, -2**100):
            for call in (lambda: p.predict(X, np.empty((len(X), 4)), 0, n_threads),
                         lambda: p.train_epochs(X, y, None, 16, 0, 1, None, n_threads),
                         lambda: p.train_epoch(X, y, None, np.arange(len(X)), 16, 0, n_threads)):
                try:
                    call()
                except ValueError as error:
                    assert f"n_threads must be >= 1, got {n_threads}" in str(error), error
                    print("refused:", error)
        """, times=12)


@pytest.mark.parametrize("n_threads", [100000, 2**31 - 1, 2**31, 2**100])
def test_plan_huge_thread_counts_run_on_the_processors_there_are(n_threads):
    """predict and training with n_threads above the processors (100000 crashed, 2**31 - 1
    aborted in libgomp, 2**31 and above raised OverflowError) give what one thread gives; the
    rows are enough for the threaded loops."""
    out = run_isolated(f"""
        for dtype in (np.float32, np.float64):
            outs = []
            for n_threads in (1, {n_threads}):
                args = base("adam", dtype=dtype, sizes=(3, 64, 64, 4),
                            acts=("relu", "tanh", "identity"), max_rows=1024)
                p = plan(args)
                X, y = data(args, n=4096)
                pred = p.predict(X, np.empty((4096, 4), dtype), E.ACTIVATION_CODES["softmax"],
                                 n_threads)
                done, finished, sums, _ = p.train_epochs(X, y, None, 1024, 0, 2, None, n_threads)
                assert done == 2 and finished
                outs.append((pred, sums, [param.copy() for param, *_ in args["params"]]))
            (p1, s1, w1), (p2, s2, w2) = outs
            np.testing.assert_array_equal(p2, p1)
            np.testing.assert_array_equal(s2, s1)
            for a, b in zip(w1, w2):
                np.testing.assert_array_equal(b, a)
        print("same as one thread")
        """)
    assert "same as one thread" in out


# ---------------------------------------------------------------- counts and sizes

def test_step_counts_that_would_wrap_are_refused():
    """iterations near 2**63 ran and wrapped the step counter (2**63 raised OverflowError):
    iterations outside [0, 2^62), and epochs whose steps would take it past 2^62 - 1, are
    refused with ValueError; up to 2^62 - 1 itself runs. 40 rows in batches of 16: 3 steps an
    epoch."""
    assert_refused("""
        args = base("adam")
        p = plan(args)
        X, y = data(args)
        order = np.arange(40)
        for it in (-1, -2**70, 2**62, 2**63 - 1, 2**63, 2**100):
            for call in (lambda: p.train_epochs(X, y, None, 16, it, 1),
                         lambda: p.train_epoch(X, y, None, order, 16, it)):
                try:
                    call()
                except ValueError as error:
                    assert f"iterations must be in [0, {2**62}), got {it}" in str(error), error
                    print("refused:", error)
        for it, epochs in ((2**62 - 3, 1), (2**62 - 30, 10), (2**62 - 2**32, 2**31 - 1)):
            try:
                p.train_epochs(X, y, None, 16, it, epochs)
            except ValueError as error:
                assert "would pass 2^62 - 1" in str(error), error
                print("refused:", error)
        try:
            p.train_epoch(X, y, None, order, 16, 2**62 - 3)
        except ValueError as error:
            assert "would pass 2^62 - 1" in str(error), error
            print("refused:", error)
        for epochs in (-1, 2**31, 2**40, 2**64):
            try:
                p.train_epochs(X, y, None, 16, 0, epochs)
            except ValueError as error:
                assert f"epochs must be in [0, {2**31}), got {epochs}" in str(error), error
                print("refused:", error)
        for batch_size in (0, 17, 2**64):
            try:
                p.train_epochs(X, y, None, batch_size, 0, 1)
            except ValueError as error:
                assert f"batch_size must be in [1, 16], got {batch_size}" in str(error), error
                print("refused:", error)
        # the last step numbers run
        assert p.train_epochs(X, y, None, 16, 2**62 - 31, 10)[3] == 2**62 - 1
        assert p.train_epoch(X, y, None, order, 16, 2**62 - 4)[4] == 2**62 - 1
        """, times=12 + 4 + 4 + 3)


def test_max_rows_the_buffers_cannot_hold_is_refused():
    """Plan(max_rows=2**40) allocated its buffers up front and raised MemoryError (2**70:
    OverflowError): a max_rows whose rows of the widest layer pass 2^31 values is refused with a
    ValueError naming max_rows and its largest value."""
    assert_refused("""
        for rows in (2**40, 2**70, 2**31 // 8 + 1):
            args = base("sgd", max_rows=rows)  # the widest layer has 8 values
            refused(args, f"max_rows = {rows} rows of layers\\[0\\]'s 8 values would be more "
                          f"than the 2\\^31 values a buffer holds; max_rows must be at most "
                          f"{2**31 // 8}")
        args = base("sgd", sizes=(3000, 8, 4), acts=("relu", "identity"), max_rows=2**20)
        refused(args, "layers\\[0\\]'s 3000 values")
        p = plan(base("sgd", max_rows=2**20))  # 8 M values a buffer: allocated
        """, times=4)


def test_the_sums_of_train_epochs_grow_with_the_epochs_that_run():
    """train_epochs allocated its per-epoch sums for all the epochs asked before running one:
    epochs=2**31 - 1 raised MemoryError even when the first epoch diverges. Now the sums grow
    in blocks with the epochs that run, and 200 epochs in one call (blocks of 64, 128 and 8)
    give what 200 calls of one epoch give."""
    out = run_isolated("""
        import tracemalloc
        args = base("sgd")
        p = plan(args)
        X, y = data(args)
        p.set_learning_rate(1e300)  # the first step overflows: the epoch is put back
        tracemalloc.start()
        done, finished, sums, it = p.train_epochs(X * 1e200, y, None, 16, 0, 2**31 - 1)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert done == 0 and not finished and sums.shape == (0, 3) and it == 0, (done, sums)
        assert peak < 2**20, peak

        runs = []
        for per_call in (200, 1):
            args = base("adam")
            p = plan(args)
            X, y = data(args)
            rng = np.random.default_rng(5)
            sums, it = [], 0
            for _ in range(200 // per_call):
                done, finished, s, it = p.train_epochs(X, y, None, 16, it, per_call, rng)
                assert done == per_call and finished
                sums.append(s)
            runs.append((np.concatenate(sums), it, [a.copy() for a, *_ in args["params"]]))
        (s1, it1, w1), (s2, it2, w2) = runs
        assert s1.shape == (200, 3) and it1 == it2 == 600
        np.testing.assert_array_equal(s1, s2)
        for a, b in zip(w1, w2):
            np.testing.assert_array_equal(a, b)
        print("grown")
        """)
    assert "grown" in out


# ---------------------------------------------------------------- arrays that share memory

def test_plan_arrays_that_share_memory_are_refused():
    """A training step writes every array of the plan (W, b, dW, db, the optimizer state, the
    dropout state) while reading the others: Adam's m = v, a velocity that is W, a dW that
    overlaps another layer's W by one value, or a dropout state inside a W computed wrong
    numbers. Refused with a ValueError naming both."""
    assert_refused("""
        def pair(a, b):
            return f"({re.escape(a)} must not share memory with {re.escape(b)}|" \
                   f"{re.escape(b)} must not share memory with {re.escape(a)})"

        args = base("adam")
        p0 = args["params"][0]
        args["params"][0] = (p0[0], p0[1], p0[2], p0[2], 0.0)  # m is v
        refused(args, pair("params[0]'s state1", "params[0]'s state2"))

        args = base("sgd")
        W = args["layers"][1][0]
        p2 = args["params"][2]
        args["params"][2] = (p2[0], p2[1], W, None, 0.0)  # the velocity is W
        refused(args, pair("params[2]'s state1", "layers[1]'s W"))

        args = base("sgd")
        buf = np.zeros(3 * 8 + 8 * 5 - 1)
        W0, dW1 = buf[:24].reshape(3, 8), buf[23:].reshape(8, 5)  # one value in common
        W0[...] = args["layers"][0][0]
        l0, l1 = args["layers"][0], args["layers"][1]
        args["layers"][0] = (W0,) + l0[1:]
        args["layers"][1] = l1[:2] + (dW1,) + l1[3:]
        args["params"][0] = (W0,) + args["params"][0][1:]
        args["params"][2] = args["params"][2][:1] + (dW1,) + args["params"][2][2:]
        refused(args, pair("layers[0]'s W", "layers[1]'s dW"))

        args = base("sgd")
        W = args["layers"][0][0]
        args["layers"][0] = args["layers"][0][:6] + (0.5, W.view(np.uint64).reshape(-1)[:2])
        refused(args, pair("layers[0]'s dropout state", "layers[0]'s W"))

        # one dropout state shared by two Dropout layers is fine: they draw one after the other
        args = base("sgd")
        state = np.array([1, 0], np.uint64)
        for i in (0, 1):
            args["layers"][i] = args["layers"][i][:6] + (0.5, state)
        exercise(plan(args), args)
        """, times=4)


def test_epoch_and_predict_arguments_that_share_memory_with_the_plan_are_refused():
    """train_epoch(s)'s X, labels or targets, sample weights and order may not share memory
    with what the steps write (labels in a W were checked, then overwritten by the update and
    read as column indices; an order in a dW indexed X out of bounds: crashes), nor predict's
    out with X or the W and b it reads."""
    assert_refused("""
        def expect(call, match):
            try:
                call()
            except ValueError as error:
                assert re.search(match, str(error)), error
                print("refused:", error)

        args = base("sgd", sizes=(3, 40, 5, 4), acts=("relu", "tanh", "identity"))
        p = plan(args)
        X, y = data(args)
        W0, b0, dW0 = args["layers"][0][:3]   # (3, 40), (40,), (3, 40)
        W1, b1, dW1, db1 = args["layers"][1][:4]  # (40, 5), (5,) ...
        order = np.arange(40)
        labels = W1.view(np.intp).reshape(-1)[:40]
        labels[...] = y  # valid labels, until a step updates W1
        expect(lambda: p.train_epoch(X, labels, None, order, 16, 0),
               r"labels must not share memory with layers\\[1\\]'s W, which the plan writes")
        expect(lambda: p.train_epochs(X, labels, None, 16, 0, 2),
               r"labels must not share memory with layers\\[1\\]'s W")
        in_dW = dW0.view(np.intp).reshape(-1)[:40]
        in_dW[...] = order  # a valid order, until the first backward writes dW0
        expect(lambda: p.train_epoch(X, y, None, in_dW, 16, 0),
               r"order must not share memory with layers\\[0\\]'s dW")
        expect(lambda: p.train_epoch(W0.reshape(40, 3), y, None, order, 16, 0),
               r"X must not share memory with layers\\[0\\]'s W")
        W1[...] = np.abs(W1)  # valid weights
        expect(lambda: p.train_epochs(X, y, W1.reshape(-1)[:40], 16, 0, 1),
               r"sample_weight must not share memory with layers\\[1\\]'s W")
        expect(lambda: p.train_epochs(X, y, args["params"][1][2], 16, 0, 1),
               r"sample_weight must not share memory with params\\[1\\]'s state1")

        targets = base("sgd", sizes=(3, 40, 4), acts=("relu", "identity"), labels=False,
                       loss="mean_squared_error")
        q = plan(targets)
        Xt, yt = data(targets)
        dW0t = targets["layers"][0][2]  # (3, 40): the targets of 30 rows
        expect(lambda: q.train_epochs(Xt[:30], dW0t.reshape(30, 4), None, 16, 0, 1),
               r"targets must not share memory with layers\\[0\\]'s dW")

        expect(lambda: p.predict(X[:30], W0.reshape(30, 4)),
               r"out must not share memory with layers\\[0\\]'s W, which the plan reads")
        expect(lambda: p.predict(X[:5], b0.reshape(10, 4)[:5]),
               r"out must not share memory with layers\\[0\\]'s b, which the plan reads")
        square = base("sgd", sizes=(4, 6, 4), acts=("relu", "identity"))
        r = plan(square)
        Xs = data(square)[0]
        expect(lambda: r.predict(Xs, Xs), "out must not share memory with X")
        buf = np.zeros(41 * 4)
        expect(lambda: r.predict(buf[4:].reshape(40, 4), buf[:160].reshape(40, 4)),
               "out must not share memory with X")
        out = np.empty((40, 4))
        np.testing.assert_array_equal(p.predict(X, out), p.predict(X.copy(), np.empty((40, 4))))
        """, times=11)


def test_a_plan_is_compiled_from_a_plan_spec():
    """The engine takes its description by name (fastnn.plan.PlanSpec), not a bare tuple."""
    out = run_isolated("""
        args = base("adam")
        try:
            E.Plan(tuple(spec(args)))
        except TypeError as error:
            assert "PlanSpec" in str(error), error
            print("refused:", error)
        exercise(plan(args), args)
        for field, value in (("accuracy", 2**40), ("accuracy", "x"), ("owners", [1, 2])):
            try:
                E.Plan(spec(args)._replace(**{field: value}))
            except ValueError as error:
                assert field in str(error), error
                print("refused:", error)
        """)
    assert "refused: engine: Plan takes a fastnn.plan.PlanSpec" in out
    assert out.count("refused:") == 4, out
