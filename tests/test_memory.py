"""No full copies of big inputs: a float64 X into a float32 network is converted batch by batch
(engine and layer path), validation_split and early stopping train on the training rows by
index, evaluate's loss runs in chunks; each gives the numbers of the copying version."""
import threading

import numpy as np
import pytest

import fastnn as fnn
from fastnn import network as network_module


def net(engine=True, dtype="float32", dropout=False):
    layers = [fnn.Dense(6, 16), fnn.ReLU()] + ([fnn.Dropout(0.2)] if dropout else [])
    return fnn.Network(layers + [fnn.Dense(16, 3)], optimizer=fnn.Adam(lr=0.01), dtype=dtype,
                       random_state=0, engine=engine)


def data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 6)) * 3  # float64, with values float32 must round
    y = rng.integers(0, 3, n)
    return X, y


def weights(network):
    return [w.copy() for w in network.get_weights()]


def assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def assert_same_history(h1, h2):
    assert h1.history.keys() == h2.history.keys()
    for key in h1.history:
        if key != "seconds":
            assert h1.history[key] == h2.history[key], key


@pytest.mark.parametrize("engine", [True, False], ids=["engine", "layers"])
@pytest.mark.parametrize("how", ["epochs", "callbacks", "weights", "dropout"])
def test_float64_input_trains_as_converting_it_first(engine, how):
    X, y = data()
    w = np.random.default_rng(1).random(len(X)) if how == "weights" else None
    kwargs = dict(epochs=3, batch_size=32, verbose=0, sample_weight=w,
                  callbacks=[fnn.EarlyStopping("loss", patience=10)] if how == "callbacks" else ())
    a, b = net(engine, dropout=how == "dropout"), net(engine, dropout=how == "dropout")
    ha = a.fit(X, y, **kwargs)
    hb = b.fit(X.astype(np.float32), y, **kwargs)
    assert_same(weights(a), weights(b))
    assert_same_history(ha, hb)
    assert a.optimizer.iterations == b.optimizer.iterations == 30


@pytest.mark.parametrize("engine", [True, False], ids=["engine", "layers"])
def test_float64_input_predicts_and_evaluates_as_converting_it_first(engine, monkeypatch):
    X, y = data(5000)
    a = net(engine)
    a.fit(X.astype(np.float32), y, epochs=1, verbose=0)
    X32 = X.astype(np.float32)
    np.testing.assert_array_equal(a.predict(X), a.predict(X32))
    np.testing.assert_array_equal(a.predict(X, batch_size=7), a.predict(X32, batch_size=7))
    assert a.evaluate(X, y, metrics=["f1"]) == a.evaluate(X32, y, metrics=["f1"])
    # chunks of the engine's own size: more than one here
    monkeypatch.setattr(a, "_inference_rows", lambda: 512)
    np.testing.assert_array_equal(a.predict(X), a.predict(X32))


def test_float64_input_is_not_converted_whole(monkeypatch):
    X, y = data(20_000)  # more rows than a chunk of predict (8192)
    calls = []
    real = np.ascontiguousarray

    def spy(a, *args, **kwargs):
        calls.append(np.shape(a))
        return real(a, *args, **kwargs)

    monkeypatch.setattr(np, "ascontiguousarray", spy)
    a = net()
    a.fit(X, y, epochs=1, batch_size=256, verbose=0, validation_split=0.2)
    a.predict(X)
    a.evaluate(X, y)
    assert max(shape[0] for shape in calls if len(shape) == 2) <= 8192


def state_net(engine):
    """A network with every kind of state training changes: BatchNorm's statistics, dropout's
    stream, Adam's moments (none yet)."""
    return fnn.Network([fnn.Dense(6, 16), fnn.BatchNorm(16), fnn.ReLU(), fnn.Dropout(0.2),
                        fnn.Dense(16, 3)], random_state=0, engine=engine)


def everything(network):
    return (weights(network), network.rng.bit_generator.state, network.split_seed,
            [s.copy() for state in network.optimizer.state for s in state],
            len(network.optimizer.state), network.optimizer.iterations,
            network.layers[3].state.copy())


@pytest.mark.parametrize("bad", [np.nan, np.inf, 1e39], ids=["nan", "inf", "float32-overflow"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("engine", [True, False], ids=["engine", "layers"])
@pytest.mark.parametrize("row", [290, 5], ids=["late-row", "early-row"])
def test_non_finite_input_is_refused_before_anything_changes(bad, dtype, engine, row):
    if dtype == "float32" and bad == 1e39:
        bad = np.inf  # what 1e39 is in float32
    X, y = data()
    X = X.astype(dtype)
    X[row, 4] = bad
    a = state_net(engine)
    a.fit(*data(250, seed=1), epochs=1, verbose=0)  # optimizer state to keep, too
    before = everything(a)
    calls = [lambda: a.fit(X, y, verbose=0, epochs=3, batch_size=20),
             lambda: a.fit(X, y, verbose=0, validation_split=0.1, batch_size=20),
             lambda: a.fit(X, y, verbose=0, metrics=["f1"], batch_size=20),
             lambda: a.predict(X), lambda: a.predict(X, batch_size=64),
             lambda: a.evaluate(X, y)]
    for call in calls:
        with pytest.raises(ValueError, match="^X contains NaN or infinity$"):
            call()
        after = everything(a)
        assert_same(after[0], before[0])
        assert after[1:3] == before[1:3]
        assert_same(after[3], before[3])
        assert after[4:6] == before[4:6]
        np.testing.assert_array_equal(after[6], before[6])
    # and from a network that has not trained: no optimizer state is left behind
    b = state_net(engine)
    with pytest.raises(ValueError, match="X contains NaN or infinity"):
        b.fit(X, y, verbose=0)
    assert b.optimizer.state == [] and b.optimizer.iterations == 0


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("engine", [True, False], ids=["engine", "layers"])
def test_no_pass_over_x_of_its_own_for_finiteness(dtype, engine, monkeypatch):
    from fastnn import kernels
    X, y = data(20_000)
    X = X.astype(dtype)
    sizes, real = [], kernels.all_finite
    monkeypatch.setattr(kernels, "all_finite", lambda a: sizes.append(a.size) or real(a))
    a = net(engine)
    a.fit(X, y, epochs=2, batch_size=256, verbose=0)
    a.predict(X)
    a.evaluate(X, y)
    assert sizes and max(sizes) < X.size
    a.fit(X, y, epochs=1, callbacks=[fnn.EarlyStopping("loss")], verbose=0)
    assert max(sizes) >= X.size // 10  # with callbacks, checked before (in float32 chunks)


def copying_split(network, X, y, w, fraction):
    """What validation_split did before: draw the split as Network._split does, copy the parts."""
    from sklearn.model_selection import train_test_split
    network.split_seed = int(network.rng.integers(2**31))
    train, val = train_test_split(np.arange(len(X)), test_size=fraction,
                                  random_state=network.split_seed, stratify=y)
    def part(a, i):
        return (None if a is None else a[i])
    return (X[train], y[train], part(w, train)), (X[val], y[val], part(w, val))


@pytest.mark.parametrize("engine", [True, False], ids=["engine", "layers"])
@pytest.mark.parametrize("how", ["plain", "weights", "class_weight", "metrics", "float64-X"])
def test_validation_split_trains_as_copying_the_training_part(engine, how):
    X, y = data(400)
    w = np.random.default_rng(2).random(len(X)) if how == "weights" else None
    cw = {0: 2.0, 2: 0.5} if how == "class_weight" else None
    metrics = ["f1"] if how == "metrics" else None
    Xa = X if how == "float64-X" else X.astype(np.float32)
    a, b = net(engine), net(engine)
    ha = a.fit(Xa, y, epochs=3, batch_size=32, verbose=0, validation_split=0.25,
               sample_weight=w, class_weight=cw, metrics=metrics)
    train, val = copying_split(b, X.astype(np.float32), y, w, 0.25)
    hb = b.fit(*train[:2], epochs=3, batch_size=32, verbose=0, validation_data=val,
               sample_weight=train[2], class_weight=cw, metrics=metrics)
    assert_same(weights(a), weights(b))
    assert_same_history(ha, hb)
    assert a.rng.bit_generator.state == b.rng.bit_generator.state


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("loss", ["softmax_cross_entropy", "mse"])
def test_evaluate_in_chunks_equals_one_pass(weighted, loss, monkeypatch):
    X, y = data(1000)
    X = X.astype(np.float32)
    a = fnn.Network([fnn.Dense(6, 16), fnn.ReLU(), fnn.Dense(16, 3)], loss=loss, random_state=0)
    t = y if loss != "mse" else np.eye(3)[y]
    w = np.random.default_rng(3).random(len(X)) if weighted else None
    one = a.evaluate(X, t, w)
    monkeypatch.setattr(network_module, "EVALUATE_ROWS", 97)
    chunked = a.evaluate(X, t, w)
    # the chunks' sums added in double: equal to a few ulps of double
    assert chunked["loss"] == pytest.approx(one["loss"], rel=1e-13, abs=0)
    assert chunked.get("accuracy") == one.get("accuracy")
    # and that they are 11 chunks, not one pass
    computed = []
    real = a.train_loss.compute

    def spy(out, *args):
        computed.append(len(out))
        return real(out, *args)

    monkeypatch.setattr(a.train_loss, "compute", spy)
    a.evaluate(X, t, w)
    assert max(computed) == 97 and sum(computed) == 1000


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_early_stopping_trains_as_copying_the_training_part(solver, monkeypatch):
    from fastnn.sklearn import MLPClassifier
    X, y = data(400)
    kwargs = dict(hidden_layer_sizes=(8,), solver=solver, early_stopping=True, max_iter=15,
                  random_state=0)
    a = MLPClassifier(**kwargs).fit(X, y)
    # the copying version: _epochs given the copied training part and no rows
    real = MLPClassifier._epochs

    def copying(self, X, T, sample_weight, batch_size, early_stopping, X_val, y_val, w_val,
                incremental, rows=None):
        return real(self, X[rows], T[rows], None, batch_size, early_stopping, X_val, y_val,
                    w_val, incremental)

    monkeypatch.setattr(MLPClassifier, "_epochs", copying)
    b = MLPClassifier(**kwargs).fit(X, y)
    assert_same(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_)
    assert a.loss_curve_ == b.loss_curve_ and a.validation_scores_ == b.validation_scores_


def peak_anon_growth(call):
    """The peak growth of anonymous resident memory (RssAnon) during call(), in MB, sampled
    every 2 ms by a thread (the engine releases the GIL)."""
    def anon():
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("RssAnon")) / 1024

    start, peak, done = anon(), [0.0], threading.Event()

    def sample():
        while not done.wait(0.002):
            peak[0] = max(peak[0], anon())

    thread = threading.Thread(target=sample)
    thread.start()
    try:
        call()
    finally:
        done.set()
        thread.join()
    return max(peak[0], anon()) - start


@pytest.fixture(scope="module")
def memmaps(tmp_path_factory):
    path = tmp_path_factory.mktemp("memory")
    rng = np.random.default_rng(0)
    X = np.lib.format.open_memmap(path / "X64.npy", "w+", np.float64, (200_000, 100))
    for start in range(0, len(X), 20_000):
        X[start:start + 20_000] = rng.standard_normal((20_000, 100))
    X.flush()
    X32 = np.lib.format.open_memmap(path / "X32.npy", "w+", np.float32, X.shape)
    X32[...] = X
    X32.flush()
    y = rng.integers(0, 10, len(X))
    del X, X32
    return (np.load(path / "X64.npy", mmap_mode="r"), np.load(path / "X32.npy", mmap_mode="r"),
            y)


@pytest.mark.measures_memory
@pytest.mark.parametrize("case", ["fit", "predict", "evaluate", "validation_split"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("engine", [True, False], ids=["engine", "layers"])
def test_memmap_is_streamed_not_copied(memmaps, case, dtype, engine):
    # a float32 copy of X would be 80 MB; predict's output is 8 MB, the validation rows 8 MB
    X64, X32, y = memmaps
    X = X64 if dtype == "float64" else X32
    a = fnn.Network([fnn.Dense(100, 64), fnn.ReLU(), fnn.Dense(64, 10)], random_state=0,
                    engine=engine)
    calls = {"fit": lambda: a.fit(X, y, epochs=1, batch_size=256, verbose=0),
             "predict": lambda: a.predict(X),
             "evaluate": lambda: a.evaluate(X, y),
             "validation_split": lambda: a.fit(X, y, epochs=1, batch_size=256, verbose=0,
                                               validation_split=0.1)}
    calls[case]()  # the first call's allocations (plans, pools) are not what is measured
    growth = peak_anon_growth(calls[case])
    print(case, dtype, engine, round(growth, 1))
    assert growth < 30, f"{case} grew anonymous memory by {growth:.0f} MB"


def test_gather_rows_converts_as_converting_all_first():
    from fastnn.training import gather_rows
    X = np.random.default_rng(4).standard_normal((30_000, 5)) * 1e3
    X[7] = 1e39  # past float32: infinity, as astype makes it
    idx = np.random.default_rng(5).permutation(30_000)[:20_000]  # more than one chunk of 8192
    with np.errstate(over="ignore"):
        want = X.astype(np.float32)
    np.testing.assert_array_equal(gather_rows(X, idx, np.float32), want[idx])
    np.testing.assert_array_equal(gather_rows(X, idx[:10], np.float32), want[idx[:10]])
    np.testing.assert_array_equal(gather_rows(X, slice(5, 9000), np.float32), want[5:9000])
    got = gather_rows(want, slice(5, 9000), np.float32)
    assert got.base is not None and np.shares_memory(got, want)  # a float32 slice: a view


@pytest.mark.parametrize("row", [0, 199])
def test_a_tiny_classifier_checks_its_rows_in_the_first_epoch(row):
    # 4 inputs, 16 ReLU units, 3 classes: the one-pass step where the build has it (x86-64-v4)
    make = lambda engine: fnn.Network(  # noqa: E731
        [fnn.Dense(4, 16), fnn.ReLU(), fnn.Dense(16, 3)], random_state=0, engine=engine)
    rng = np.random.default_rng(6)
    X, y = rng.standard_normal((200, 4)).astype(np.float32), rng.integers(0, 3, 200)
    a, b = make(True), make(False)
    a.fit(X, y, epochs=3, batch_size=16, verbose=0)
    b.fit(X, y, epochs=3, batch_size=16, verbose=0)
    assert_same(weights(a), weights(b))
    X[row, 2] = np.nan
    before = weights(a)
    with pytest.raises(ValueError, match="X contains NaN or infinity"):
        a.fit(X, y, epochs=2, batch_size=16, verbose=0)
    assert_same(weights(a), before)


@pytest.mark.parametrize("how", ["epochs", "metrics"])
@pytest.mark.parametrize("engine", [True, False], ids=["engine", "layers"])
def test_a_nan_after_a_diverging_batch_is_still_refused(engine, how):
    X, y = data()
    X = X.astype(np.float32)
    X[290, 1] = np.nan  # in the last batch, which the diverged epoch never gathers
    a = net(engine)
    for dense in (a.layers[0], a.layers[2]):
        dense.W *= np.float32(1e30)  # the first batch's logits, and loss, overflow
    before = weights(a)
    with pytest.raises(ValueError, match="X contains NaN or infinity"):
        a.fit(X, y, epochs=2, batch_size=32, shuffle=False, verbose=0,
              metrics=["f1"] if how == "metrics" else None)
    assert_same(weights(a), before)
    assert a.optimizer.state == [] and a.optimizer.iterations == 0
