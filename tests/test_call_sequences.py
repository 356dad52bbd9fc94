"""Networks changed between calls, trained from two threads, interrupted, diverging or given odd
arguments: a rebuilt plan or a clear error, a consistent model, never a crash or stale sizes."""
import signal
import threading
import time
import warnings
from functools import partial

import numpy as np
import pytest
from isolated import run_isolated

import fastnn as fnn
from fastnn import reference


def data(n=64, k=8, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, k)).astype(np.float32), rng.integers(0, classes, n)


def test_a_replaced_last_layer_is_checked_before_training():
    """The issue's heap corruption: labels were checked against the old width of 1000 and the
    engine trusted them. Now the labels are checked against the new layer; in a fresh
    interpreter, in case."""
    out = run_isolated("""
        import numpy as np, fastnn as fnn
        X = np.random.default_rng(0).standard_normal((256, 8))
        net = fnn.Network([fnn.Dense(8, 16), fnn.ReLU(), fnn.Dense(16, 1000)], random_state=0)
        net.predict(X)
        net.layers[-1] = fnn.Dense(16, 1)
        for call in (lambda: net.fit(X, np.full(256, 999), batch_size=256, verbose=0),
                     lambda: net.train_step(X, np.full(256, 999)),
                     lambda: net.evaluate(X, np.full(256, 999))):
            try:
                call()
                print("accepted")
            except ValueError as error:
                print("refused", error)
        print(net.predict(X).shape)
    """)
    lines = out.splitlines()
    assert all(line.startswith("refused") and "[0, 1)" in line for line in lines[:3]), out
    assert lines[3] == "(256, 1)", out


def test_changed_settings_rebuild_the_plan():
    """After LeakyReLU.alpha changed, predict(X) (engine plan) and predict(X, batch_size=4)
    differed. Both now follow the change, and equal the reference."""
    X, _ = data()
    act = fnn.LeakyReLU(0.01)
    net = fnn.Network([fnn.Dense(8, 16), act, fnn.Dense(16, 3)], random_state=0)
    net.predict(X)
    act.alpha = 0.5
    W1, b1, W2, b2 = (p.astype(np.float64) for p in net.parameters())
    h = X @ W1 + b1
    logits = np.where(h > 0, h, 0.5 * h) @ W2 + b2
    want = np.exp(logits - logits.max(1, keepdims=True))
    want /= want.sum(1, keepdims=True)
    for got in (net.predict(X), net.predict(X, batch_size=4), net.predict(X[:5])):
        np.testing.assert_allclose(got, want[:len(got)], rtol=1e-5, atol=1e-6)


def test_replaced_parameter_arrays_of_the_wrong_shape_or_dtype_are_refused():
    X, y = data()
    for name, value, match in [
            ("W", np.zeros((8, 20), np.float32),
             r"layers\[0\].W must be a C-contiguous float32 array of shape \(8, 16\)"),
            ("W", np.zeros((8, 16), np.float64), "got float64"),
            ("b", np.zeros(16, np.float32)[::1].reshape(16, 1), r"layers\[0\].b"),
            ("dW", None, r"layers\[0\].dW"),
            ("n_out", 20,
             r"a Dense with n_out=20 is followed by layers\[2\], a Dense with n_in=16"),
            ("n_in", 9, r"layers\[0\].W must be .* for Dense\(9, 16\)"),
            ("W", np.zeros((8, 16), np.float32, order="F"), r"layers\[0\].W .*not C-contiguous"),
            ("l2", -1.0, r"layers\[0\].l2 must be a number in \[0")]:
        net = fnn.Network([fnn.Dense(8, 16), fnn.ReLU(), fnn.Dense(16, 3)], random_state=0)
        net.fit(X, y, epochs=1, verbose=0)
        before = [p.copy() for p in net.parameters()[2:]]
        setattr(net.layers[0], name, value)
        for call in (partial(net.fit, X, y, verbose=0), partial(net.predict, X),
                     partial(net.evaluate, X, y), partial(net.train_step, X, y)):
            with pytest.raises(ValueError, match=match):
                call()
        for p, q in zip(net.parameters()[2:], before):
            np.testing.assert_array_equal(p, q)


def test_settings_changed_to_invalid_values_are_refused_by_name():
    X, y = data()
    for change, match in [
            (lambda n: setattr(n.layers[2], "rate", 1.0),
             r"layers\[2\].rate must be a number in \[0, 1\)"),
            (lambda n: setattr(n.layers[1], "alpha", -1), r"layers\[1\].alpha must be"),
            (lambda n: setattr(n.optimizer, "lr", "0.1"), r"optimizer: lr must be a number"),
            (lambda n: setattr(n.optimizer, "beta1", 5), r"optimizer: beta1 must be a number"),
            (lambda n: setattr(n.optimizer, "iterations", -3), r"optimizer.iterations must be")]:
        net = fnn.Network([fnn.Dense(8, 16), fnn.LeakyReLU(0.1), fnn.Dropout(0.2),
                           fnn.Dense(16, 3)], random_state=0)
        change(net)
        with pytest.raises(ValueError, match=match):
            net.fit(X, y, verbose=0)
    net.loss, net.optimizer = "mse", "sgd"  # names, as the constructor takes them
    assert isinstance(net.loss, fnn.MSE) and isinstance(net.optimizer, fnn.SGD)


def test_a_diverging_train_step_is_undone_with_a_warning():
    X, y = data()
    net = fnn.Network([fnn.Dense(8, 16), fnn.ReLU(), fnn.Dense(16, 3)], optimizer=fnn.SGD(1e38),
                      random_state=0)
    X = X * 1e6
    before = state_of(net)
    with pytest.warns(RuntimeWarning, match="the step was undone"):
        net.train_step(X, y)
    assert_same_state(state_of(net), before)
    assert np.all(np.isfinite(net.predict(X)))


def test_a_layer_may_appear_once():
    dense = fnn.Dense(4, 4)
    with pytest.raises(ValueError, match=r"layers\[2\] is the same object as layers\[0\]"):
        fnn.Network([dense, fnn.ReLU(), dense])
    relu = fnn.ReLU()
    net = fnn.Network([fnn.Dense(4, 4), relu, fnn.Dense(4, 4), fnn.Tanh(), fnn.Dense(4, 2)])
    net.layers[3] = relu
    with pytest.raises(ValueError, match=r"layers\[3\] is the same object as layers\[1\]"):
        net.predict(np.zeros((2, 4)))


def test_non_layers_and_odd_replacements_get_clear_errors():
    X, y = data()
    net = fnn.Network([fnn.Dense(8, 16), fnn.ReLU(), fnn.Dense(16, 3)], random_state=0)
    net.layers[1] = np.zeros(3)
    with pytest.raises(TypeError, match=r"layers\[1\] must be a fastnn layer, got ndarray"):
        net.predict(X)
    net.layers[1] = fnn.ReLU()
    net.layers = 5
    with pytest.raises(TypeError, match="network.layers must be a list"):
        net.fit(X, y, verbose=0)
    net.layers = [fnn.Dense(8, 16), fnn.Dense(16, 3)]
    net.loss = 5
    with pytest.raises(TypeError, match="network.loss must be a fastnn Loss"):
        net.predict(X)
    net.loss = fnn.SoftmaxCrossEntropy()
    net.optimizer.state = [[np.zeros(3, np.float32)] * 2] * 4  # Adam state of the wrong shape
    with pytest.raises(ValueError, match=r"optimizer.state\[0\] does not match parameter 0"):
        net.fit(X, y, verbose=0)
    net.optimizer.state = [[[0.0] * 16] * 8, [0.0] * 16] + [[np.zeros(1)] * 2] * 2  # lists
    with pytest.raises(ValueError, match=r"optimizer.state\[0\] does not match parameter 0"):
        net.fit(X, y, verbose=0)
    net.optimizer.state = []
    net.fit(X, y, verbose=0)


def test_two_threads_cannot_train_one_network_at_once():
    X, y = data(n=2000)
    net = fnn.Network([fnn.Dense(8, 64), fnn.ReLU(), fnn.Dense(64, 3)], random_state=0,
                      engine=False)
    errors, started = [], threading.Event()

    class Slow(fnn.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            started.set()
            time.sleep(0.05)

    def train():
        try:
            net.fit(X, y, epochs=3, batch_size=100, callbacks=[Slow()], verbose=0)
        except RuntimeError as error:
            errors.append(error)

    first = threading.Thread(target=train)
    first.start()
    started.wait()
    second = threading.Thread(target=train)
    second.start()
    second.join()
    first.join()
    assert len(errors) == 1 and "already being trained" in str(errors[0])
    assert net.optimizer.iterations == 3 * 20  # one fit's steps, none lost
    with pytest.raises(RuntimeError, match="already being trained"):
        with net._exclusive("test"):
            threading_result = []
            t = threading.Thread(target=lambda: threading_result.append(
                _raises(lambda: net.train_step(X, y))))
            t.start()
            t.join()
            raise threading_result[0]


def _raises(call):
    try:
        call()
    except RuntimeError as error:
        return error
    return AssertionError("no RuntimeError")


def test_predict_from_many_threads_while_another_trains():
    X, y = data(n=500)
    net = fnn.Network([fnn.Dense(8, 32), fnn.ReLU(), fnn.Dense(32, 3)], random_state=0)
    net.fit(X, y, epochs=1, verbose=0)
    results, done = [], threading.Event()

    def predict():
        while not done.is_set():
            out = net.predict(X[:50])
            results.append(bool(np.all(np.isfinite(out)) and np.allclose(out.sum(1), 1, atol=1e-5)))

    readers = [threading.Thread(target=predict) for _ in range(3)]
    for r in readers:
        r.start()
    net.fit(X, y, epochs=20, batch_size=10, verbose=0)
    done.set()
    for r in readers:
        r.join()
    assert results and all(results)


def state_of(net):
    return ([p.copy() for p in net.parameters()],
            [s.copy() for state in net.optimizer.state for s in state],
            net.optimizer.iterations, net.rng.bit_generator.state,
            [layer.state.copy() for layer in net.layers if isinstance(layer, fnn.Dropout)])


def assert_same_state(a, b):
    for x, y in zip(a[0] + a[1] + a[4], b[0] + b[1] + b[4]):
        np.testing.assert_array_equal(x, y)
    assert a[2] == b[2] and a[3] == b[3]


def mlp(engine=True):
    return fnn.Network([fnn.Dense(8, 32), fnn.ReLU(), fnn.Dropout(0.2), fnn.Dense(32, 3)],
                       random_state=0, engine=engine)


class InterruptingReLU(fnn.ReLU):
    """A ReLU whose `after`-th forward raises KeyboardInterrupt, as Ctrl-C mid-epoch would."""

    def __init__(self, after):
        self.calls, self.after = 0, after

    def forward(self, x, training=False):
        self.calls += 1
        if self.calls == self.after:
            raise KeyboardInterrupt
        return super().forward(x, training)


def test_an_interrupt_mid_epoch_leaves_the_start_of_that_epoch():
    """Ctrl-C in the middle of the layer-by-layer epoch 3: weights, Adam moments, step count,
    generator and dropout streams are those after epoch 2, as a network trained for 2 epochs."""
    X, y = data()
    twin = mlp()
    twin.layers[1] = InterruptingReLU(after=10**9)
    twin.fit(X, y, epochs=2, batch_size=8, verbose=0)
    net = mlp()
    net.layers[1] = InterruptingReLU(after=2 * 8 + 5)  # the 5th batch of epoch 3
    with pytest.raises(KeyboardInterrupt):
        net.fit(X, y, epochs=5, batch_size=8, verbose=0)
    assert_same_state(state_of(net), state_of(twin))
    net.layers[1].after = 10**9
    for n in (net, twin):
        n.fit(X, y, epochs=1, batch_size=8, verbose=0)
    assert_same_state(state_of(net), state_of(twin))


def test_an_interrupt_during_the_engine_leaves_an_epoch_boundary():
    """SIGINT lands somewhere in a long engine fit: afterwards the network is exactly as after
    some whole number of epochs, as a twin trained for that many shows."""
    X, y = data(n=4000)
    steps_per_epoch = 4000 // 50
    net = mlp()
    signal.setitimer(signal.ITIMER_REAL, 0.3)
    previous = signal.signal(signal.SIGALRM, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            net.fit(X, y, epochs=10**6, batch_size=50, verbose=0)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    epochs, rest = divmod(net.optimizer.iterations, steps_per_epoch)
    assert rest == 0 and epochs > 0
    twin = mlp()
    twin.fit(X, y, epochs=epochs, batch_size=50, verbose=0)
    assert_same_state(state_of(net), state_of(twin))


@pytest.mark.parametrize("engine", [True, False], ids=["engine", "layers"])
def test_a_divergence_puts_back_finite_weights(engine):
    X, y = data()
    X = X * 100
    net = fnn.Network([fnn.Dense(8, 16), fnn.ReLU(), fnn.Dense(16, 3)], optimizer=fnn.SGD(1e6),
                      random_state=0, engine=engine)
    before = [p.copy() for p in net.parameters()]
    with pytest.warns(RuntimeWarning, match="put back"):
        net.fit(X, y, epochs=5, batch_size=8, verbose=0)
    for p in net.parameters():
        assert np.all(np.isfinite(p))
    if net.optimizer.iterations == 0:  # the first epoch diverged: its start is put back
        for p, q in zip(net.parameters(), before):
            np.testing.assert_array_equal(p, q)
    assert np.all(np.isfinite(net.predict(X)))


def test_training_refuses_non_finite_weights():
    X, y = data()
    net = fnn.Network([fnn.Dense(8, 16), fnn.ReLU(), fnn.Dense(16, 3)], random_state=0)
    net.layers[2].W[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"layers\[2\].W holds NaN or infinity"):
        net.fit(X, y, verbose=0)
    with pytest.raises(ValueError, match=r"layers\[2\].W holds NaN"):
        net.train_step(X, y)


def test_nan_weights_give_nan_predictions_as_the_reference():
    X, _ = data()
    net = fnn.Network([fnn.Dense(8, 16), fnn.ReLU(), fnn.Dense(16, 3)], loss="mse",
                      random_state=0)
    net.layers[0].W[:, 0] = np.nan
    for engine in (True, False):
        net.engine = engine
        out = net.predict(X)
        h = reference.relu_forward(X @ net.layers[0].W + net.layers[0].b,
                                   np.empty((64, 16), np.float32))
        want = h @ net.layers[2].W + net.layers[2].b
        np.testing.assert_array_equal(np.isnan(out), np.isnan(want))
        assert np.isnan(out).all()


def test_a_refused_fit_changes_nothing():
    X, y = data()
    net = mlp()
    net.fit(X, y, epochs=1, verbose=0)
    before = state_of(net)
    bad_calls = [
        dict(sample_weight=np.full(64, np.nan)), dict(sample_weight=np.ones(63)),
        dict(sample_weight=np.ones(64, complex)), dict(sample_weight=np.array(["1"] * 64)),
        dict(callbacks=[fnn.EarlyStopping("val_loss")]), dict(callbacks=5),
        dict(callbacks=fnn.History()), dict(validation_split="a"), dict(validation_split=1.0),
        dict(batch_size=True), dict(batch_size=2.0), dict(epochs=-1), dict(epochs=True),
        dict(validation_data=(X, y[:5])), dict(validation_data=X), dict(verbose=3),
    ]
    for kwargs in bad_calls:
        with pytest.raises((TypeError, ValueError)) as info:
            net.fit(X, y, **{"epochs": 3, "verbose": 0, **kwargs})
        name = next(iter(kwargs)).replace("validation_data", "val")
        assert name.split("_")[0] in str(info.value) or "monitor" in str(info.value), (kwargs, info)
        assert_same_state(state_of(net), before)


def test_early_stopping_on_val_loss_without_validation_is_refused_before_training():
    X, y = data()
    net = mlp()
    with pytest.raises(ValueError, match="EarlyStopping monitors 'val_loss'.*needs validation"):
        net.fit(X, y, epochs=3, callbacks=[fnn.EarlyStopping("val_loss")], verbose=0)
    assert net.optimizer.iterations == 0


def test_smaller_validation_gaps():
    X, y = data()
    net = mlp()
    with pytest.raises(ValueError, match="y must be 1 or 2-dimensional"):
        net.fit(X, np.array(1), verbose=0)
    with pytest.raises(ValueError, match="X could not be read as an array"):
        net.predict([[1.0] * 8, [1.0] * 7])
    with pytest.raises(ValueError, match="dtype must be float32 or float64, got 'int32'"):
        net.astype("int32")
    with pytest.raises(ValueError, match="eps must be a number in"):
        fnn.CrossEntropy(eps=float("nan"))
    with pytest.raises(ValueError, match="rate must be a number in"):
        fnn.Dropout(True)
    binary = fnn.Network([fnn.Dense(8, 1)], loss="binary_cross_entropy")
    with pytest.raises(ValueError,
                       match=r"binary cross-entropy targets, which must be in \[0, 1\]"):
        binary.fit(X, np.full(64, 5.0), verbose=0)
    with pytest.raises(ValueError, match=r"the initializer returned W of shape \(3,\)"):
        fnn.Dense(8, 4, init=lambda rng, n_in, n_out, dtype: np.zeros(3))
    with pytest.raises(TypeError, match="the initializer's W must hold real numbers"):
        fnn.Dense(8, 4, init=lambda rng, n_in, n_out, dtype: np.full((8, 4), "a"))
    # NumPy numbers are numbers; a NumPy int8 batch size does not overflow the thread rule.
    net = fnn.Network([fnn.Dense(np.int64(8), np.int32(32)), fnn.LeakyReLU(np.float32(0.1)),
                       fnn.Dropout(np.float32(0.5)), fnn.Dense(32, 3, l2=np.float16(0.1))],
                      optimizer=fnn.SGD(np.float32(0.1), momentum=np.float64(0.5)),
                      threads=np.int8(2), random_state=0)
    net.fit(X, y, epochs=np.int16(2), batch_size=np.int8(100), validation_split=np.float32(0.25),
            verbose=0)
    assert net.optimizer.iterations == 2  # 48 rows, one batch of all of them per epoch


def test_fewer_rows_than_the_batch_size_train_as_one_batch():
    X, y = data(n=10)
    net = mlp()
    net.fit(X, y, epochs=3, verbose=0)  # batch_size=32 by default, as Keras
    assert net.optimizer.iterations == 3


# ---------------------------------------------------------------- fuzzing call sequences

def test_random_call_sequences_give_only_clean_errors():
    """Hypothesis strings together changes (layers replaced, settings changed, arrays replaced
    by others of any shape and dtype, optimizer state replaced) and calls (fit, predict,
    evaluate, train_step, save and load): each call gives a result, TypeError or ValueError,
    and predictions are finite. In a fresh interpreter, so a crash fails the test."""
    out = run_isolated("""
        import os, tempfile, warnings
        import numpy as np
        from hypothesis import HealthCheck, given, settings, strategies as st
        import fastnn as fnn

        rng = np.random.default_rng(0)
        X, y = rng.standard_normal((40, 4)).astype(np.float32), rng.integers(0, 3, 40)
        folder = tempfile.mkdtemp()
        counts = {"ok": 0, "refused": 0}
        arrays = st.sampled_from([(4, 6), (6,), (6, 3), (3,), (4, 3), (6, 6), (2,), ()]).flatmap(
            lambda shape: st.sampled_from([np.float32, np.float64, np.int32]).map(
                lambda dt: np.ones(shape, dt)))
        layer_kinds = st.sampled_from([
            lambda: fnn.Dense(4, 6), lambda: fnn.Dense(6, 3), lambda: fnn.Dense(6, 6),
            lambda: fnn.Dense(3, 3), fnn.ReLU, fnn.Tanh, fnn.Softmax, fnn.Sigmoid,
            lambda: fnn.LeakyReLU(0.2), lambda: fnn.Dropout(0.3), fnn.Identity])
        step = st.one_of(
            st.tuples(st.just("replace"), st.integers(0, 5), layer_kinds),
            st.tuples(st.just("insert"), st.integers(0, 5), layer_kinds),
            st.tuples(st.just("delete"), st.integers(0, 5), st.none()),
            st.tuples(st.just("array"), st.integers(0, 5), st.tuples(
                st.sampled_from(["W", "b", "dW", "db", "n_in", "n_out", "alpha", "rate", "state"]),
                arrays)),
            st.tuples(st.just("state"), st.none(), arrays),
            st.tuples(st.just("loss"), st.none(), st.sampled_from(
                ["mse", "softmax_cross_entropy", "cross_entropy", "binary_cross_entropy"])),
            st.tuples(st.just("call"), st.none(), st.sampled_from(
                ["fit", "fit_engine_off", "predict", "predict_chunks", "evaluate", "train_step",
                 "save_load"])))

        @settings(max_examples=300, deadline=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(steps=st.lists(step, min_size=1, max_size=12))
        def sequence(steps):
            net = fnn.Network([fnn.Dense(4, 6), fnn.ReLU(), fnn.Dense(6, 3)], random_state=0)
            for kind, index, value in steps:
                layers = net.layers
                i = index % max(len(layers), 1) if index is not None else None
                if kind == "replace" and layers:
                    layers[i] = value()
                elif kind == "insert":
                    layers.insert(i or 0, value())
                elif kind == "delete" and layers:
                    del layers[i]
                elif kind == "array" and layers:
                    name, array = value
                    setattr(layers[i], name, array if name not in ("n_in", "n_out") else 7)
                elif kind == "state":
                    net.optimizer.state = [[value, value]] * 4
                elif kind == "loss":
                    net.loss = fnn.losses.get(value)
                elif kind == "call":
                    try:
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            if value == "fit":
                                net.fit(X, y, epochs=2, batch_size=8, verbose=0)
                            elif value == "fit_engine_off":
                                net.engine = False
                                net.fit(X, y, epochs=1, batch_size=8, verbose=0)
                                net.engine = True
                            elif value == "predict":
                                assert np.all(np.isfinite(net.predict(X)))
                            elif value == "predict_chunks":
                                assert np.all(np.isfinite(net.predict(X, batch_size=7)))
                            elif value == "evaluate":
                                net.evaluate(X, y)
                            elif value == "train_step":
                                net.train_step(X, y)
                            else:
                                path = os.path.join(folder, "m.npz")
                                net.save(path)
                                net = fnn.load(path)
                        counts["ok"] += 1
                    except (TypeError, ValueError):
                        counts["refused"] += 1

        sequence()
        print(counts["ok"], counts["refused"])
    """, timeout=600)
    ok, refused = map(int, out.split())
    assert ok > 50 and refused > 50, out


def test_two_threads_cannot_fit_one_estimator_at_once():
    from fastnn import MLPClassifier
    X, y = data(n=3000)
    est = MLPClassifier(hidden_layer_sizes=(64,), max_iter=30, tol=0, n_iter_no_change=100,
                        random_state=0)
    started, _errors = threading.Event(), []
    fit = est._fit_alone

    def slow_fit(*args):  # the first fit signals, then holds on long enough to be overlapped
        started.set()
        time.sleep(0.2)
        return fit(*args)

    est._fit_alone = slow_fit
    def quiet_fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning: 30 epochs are not enough
            est.fit(X, y)

    first = threading.Thread(target=quiet_fit)
    first.start()
    started.wait()
    with pytest.raises(RuntimeError, match="already being fitted"):
        est.fit(X[:100], y[:100])
    first.join()
    del est._fit_alone
    alone = MLPClassifier(**est.get_params())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        alone.fit(X, y)
    assert est.n_iter_ == alone.n_iter_ == 30  # the refused fit took nothing from the first
    for a, b in zip(est.coefs_, alone.coefs_):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- found by attacking it


def test_read_only_weights_are_copied_and_the_copies_trained():
    """fit copies read-only arrays before it writes them; the engine used to train the dropped
    originals through a cached plan while the network kept its untouched copies."""
    X, y = data()
    net = fnn.Network([fnn.Dense(8, 16), fnn.ReLU(), fnn.Dense(16, 3)], optimizer=fnn.SGD(0.1),
                      random_state=0)
    net.fit(X, y, epochs=2, verbose=0)
    net.layers[0].W.setflags(write=False)
    before = [p.copy() for p in net.parameters()]
    net.fit(X, y, epochs=2, verbose=0)
    for p, q in zip(net.parameters(), before):
        assert not np.array_equal(p, q)


def test_replaced_estimator_coefficients_are_the_ones_trained():
    from fastnn import MLPClassifier
    X, y = data(n=200)
    for solver in ("sgd", "adam"):
        est = MLPClassifier(hidden_layer_sizes=(8,), solver=solver, random_state=0)
        est.partial_fit(X, y, classes=[0, 1, 2])
        est.coefs_[0] = est.coefs_[0].copy()
        before = est.coefs_[0].copy()
        est.partial_fit(X, y)
        assert not np.array_equal(est.coefs_[0], before), solver


def test_changes_made_by_a_callback_take_effect_from_the_next_epoch():
    X, y = data()

    class Replace(fnn.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                self.network.layers[2] = self.new = fnn.Dense(16, 3, random_state=1)
                self.start = self.new.W.copy()

    for engine in (True, False):
        net = fnn.Network([fnn.Dense(8, 16), fnn.ReLU(), fnn.Dense(16, 3)], random_state=0,
                          engine=engine)
        replace = Replace()
        net.optimizer.state = []
        net.fit(X, y, epochs=3, callbacks=[replace], verbose=0)
        assert not np.array_equal(replace.new.W, replace.start), engine  # the new layer trained


def test_target_rows_of_the_cross_entropies_must_be_probabilities():
    X, y = data()
    net = mlp()
    with pytest.raises(ValueError, match=r"target probabilities, which must be in \[0, 1\]"):
        net.fit(X, -np.eye(3)[y], verbose=0)


def test_odd_optimizer_and_network_attributes_are_refused_by_name():
    X, y = data()
    for change, error, match in [
            (lambda n: setattr(n.optimizer, "iterations", 2**63 - 2), ValueError,
             r"optimizer.iterations must be an integer in \[0, 4611686018427387903\]"),
            (lambda n: setattr(n.optimizer, "state", "abcd"), TypeError,
             "optimizer.state must be a list"),
            (lambda n: setattr(n, "rng", 5), TypeError,
             "network.rng must be a numpy.random.Generator"),
            (lambda n: setattr(n.optimizer, "decay", -1), ValueError, "decay must be a number"),
            (lambda n: setattr(n, "loss", fnn.CrossEntropy(eps=1e-300)), ValueError,
             "loss.eps=1e-300 is lost in float32")]:
        net = mlp()
        change(net)
        with pytest.raises(error, match=match):
            net.fit(X, y, verbose=0)


def test_momentum_turned_on_or_off_after_construction():
    X, y = data()
    net = fnn.Network([fnn.Dense(8, 16), fnn.ReLU(), fnn.Dense(16, 3)], optimizer=fnn.SGD(0.1),
                      random_state=0)
    net.fit(X, y, epochs=1, verbose=0)
    net.optimizer.momentum = 0.9
    net.fit(X, y, epochs=1, verbose=0)
    assert [len(s) for s in net.optimizer.state] == [1] * 4
    net.optimizer.momentum = 0.0
    net.fit(X, y, epochs=1, verbose=0)
    assert [len(s) for s in net.optimizer.state] == [0] * 4


def test_an_error_in_on_train_begin_is_the_one_raised():
    X, y = data()

    class Broken(fnn.Callback):
        def on_train_begin(self, logs=None):
            raise ValueError("broken callback")

    with pytest.raises(ValueError, match="broken callback"):
        mlp().fit(X, y, validation_split=0.2, verbose=0,
                  callbacks=[Broken(), fnn.EarlyStopping("val_loss")])
