"""Bad input, interruptions, files and memory: only clean Python exceptions, never a crash,
silent garbage or a broken model."""
import os
import resource
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastnn as fnn
from fastnn import kernels as K

CLEAN = (TypeError, ValueError)
fuzz = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))

DTYPES = [np.float32, np.float64, np.int64, np.int8, np.bool_, np.complex64, object, "U3"]
VALUES = [0.0, 1.0, -1.5, 1e30, -1e30, np.nan, np.inf, -np.inf]


@st.composite
def arrays(draw, max_dims=3):
    shape = tuple(draw(st.lists(st.integers(0, 5), min_size=0, max_size=max_dims)))
    dtype = draw(st.sampled_from(DTYPES))
    values = draw(st.lists(st.sampled_from(VALUES), min_size=1, max_size=4))
    flat = np.resize(np.array(values, dtype=np.float64), int(np.prod(shape, dtype=int)))
    if dtype == "U3":
        return flat.astype(str).astype("U3").reshape(shape)
    with np.errstate(all="ignore"):
        arr = flat.astype(dtype).reshape(shape)
    if draw(st.booleans()) and arr.ndim == 2 and arr.shape[1] > 1:
        arr = arr[:, ::2]  # a strided view
    if draw(st.booleans()):
        arr = np.asfortranarray(arr)
    return arr


def network():
    return fnn.Network([fnn.Dense(3, 4), fnn.ReLU(), fnn.Dropout(0.2), fnn.Dense(4, 2)],
                       random_state=0)


@fuzz
@given(X=arrays(), y=arrays(max_dims=2), batch=st.integers(-2, 8), epochs=st.integers(-1, 2))
def test_fit_predict_evaluate_raise_only_clean_errors(X, y, batch, epochs):
    net = network()
    before = [p.copy() for p in net.parameters()]
    try:
        net.fit(X, y, epochs=epochs, batch_size=batch, verbose=0)
    except CLEAN:
        for p, q in zip(net.parameters(), before):
            np.testing.assert_array_equal(p, q)  # a refused fit leaves the model untouched
    for call in (lambda: net.predict(X), lambda: net.evaluate(X, y), lambda: net.train_step(X, y)):
        try:
            out = call()
        except CLEAN:
            continue
        if isinstance(out, np.ndarray):
            assert np.all(np.isfinite(out))


@fuzz
@given(X=arrays(), y=arrays(max_dims=2), X_new=arrays(), regressor=st.booleans(),
       solver=st.sampled_from(["adam", "sgd", "lbfgs"]))
def test_estimators_raise_only_clean_errors(X, y, X_new, regressor, solver):
    from fastnn import MLPClassifier, MLPRegressor
    est = (MLPRegressor if regressor else MLPClassifier)(hidden_layer_sizes=(3,), max_iter=2,
                                                         solver=solver, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence, divergence and conversion warnings
        try:
            est.fit(X, y)
        except CLEAN:
            return
        for call in (est.predict, getattr(est, "predict_proba", est.predict)):
            try:
                call(X_new)
            except CLEAN:
                pass


KERNEL_CALLS = {
    "dense_forward": lambda a, b, c, d: K.dense_forward(a, b, c, d),
    "dense_backward": lambda a, b, c, d: K.dense_backward(a, b, c, d, None, d),
    "relu_forward": lambda a, b, c, d: K.relu_forward(a, b),
    "softmax_backward": lambda a, b, c, d: K.softmax_backward(a, b, c),
    "softmax_cross_entropy": lambda a, b, c, d: K.softmax_cross_entropy(a, b, c, d),
    "mean_squared_error": lambda a, b, c, d: K.mean_squared_error(a, b, c, d),
    "adam_update": lambda a, b, c, d: K.adam_update(a, b, c, d, 1),
    "sgd_update": lambda a, b, c, d: K.sgd_update(a, b, c, momentum=0.5),
    "dropout_forward": lambda a, b, c, d: K.dropout_forward(a, b, c, 0.5, d),
}


@pytest.mark.parametrize("name", KERNEL_CALLS)
@fuzz
@given(args=st.tuples(arrays(), arrays(), arrays(), arrays()))
def test_kernel_wrappers_raise_only_clean_errors(name, args):
    try:
        KERNEL_CALLS[name](*args)
    except CLEAN:
        pass


def test_fortran_strided_read_only_and_integer_input_train_correctly():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 6)).astype(np.float32)
    y = rng.integers(0, 2, 40)
    reference = network_for(X, y)
    variants = [np.asfortranarray(X), np.repeat(X, 2, axis=1)[:, ::2], X.astype(np.float64)]
    read_only = X.copy()
    read_only.flags.writeable = False
    variants.append(read_only)
    for variant in variants:
        np.testing.assert_allclose(network_for(variant, y), reference, rtol=1e-6)


def network_for(X, y):
    net = fnn.Network([fnn.Dense(6, 5), fnn.ReLU(), fnn.Dense(5, 2)], optimizer=fnn.SGD(0.1),
                      random_state=0)
    net.fit(X, y, epochs=3, batch_size=8, verbose=0)
    return net.predict(X)


class Interrupt(fnn.Callback):
    def __init__(self, at):
        self.at = at

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.at:
            raise KeyboardInterrupt


def test_keyboard_interrupt_restores_the_best_weights_and_leaves_a_usable_network():
    X_train, X_val, y_train, y_val = fnn.datasets.digits()
    X_train, y_train = X_train[:60], y_train[:60]
    net = fnn.Network([fnn.Dense(64, 128), fnn.ReLU(), fnn.Dense(128, 10)],
                      optimizer=fnn.Adam(0.05), random_state=0)
    stop = fnn.EarlyStopping("val_loss", patience=1000)
    history = fnn.History()

    class Record(fnn.Callback):  # keeps the val_loss of every epoch, even the interrupted one
        def on_epoch_end(self, epoch, logs=None):
            history.on_epoch_end(epoch, logs)

    with pytest.raises(KeyboardInterrupt):
        net.fit(X_train, y_train, epochs=100, batch_size=10, validation_data=(X_val, y_val),
                callbacks=[Record(), stop, Interrupt(at=25)], verbose=0)
    val = history.history["val_loss"]
    assert np.argmin(val) < len(val) - 1  # the best epoch is not the last one
    np.testing.assert_allclose(net.evaluate(X_val, y_val)["loss"], min(val), rtol=1e-6)
    net.fit(X_train, y_train, epochs=1, verbose=0)  # still trains


def test_load_rejects_truncated_and_tampered_files(tmp_path):
    net = network()
    path = tmp_path / "m.npz"
    net.save(path)
    data = path.read_bytes()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a valid fastnn model file"):
        fnn.load(truncated)
    np.save(tmp_path / "array.npy", np.zeros(3))
    with pytest.raises(ValueError, match="not a zip file"):
        fnn.load(tmp_path / "array.npy")
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    bad_shape = dict(arrays, param_0=np.zeros((5, 5), np.float32))
    np.savez(tmp_path / "shape.npz", **bad_shape)
    with pytest.raises(ValueError, match=r"param_0 is a float32 array of shape \(5, 5\)"):
        fnn.load(tmp_path / "shape.npz")
    import json
    meta = json.loads(str(arrays["metadata"]))
    meta["layers"][0]["class"] = "os.system"
    np.savez(tmp_path / "class.npz", **dict(arrays, metadata=np.array(json.dumps(meta))))
    with pytest.raises(ValueError, match="not a valid fastnn model file"):
        fnn.load(tmp_path / "class.npz")
    meta = json.loads(str(arrays["metadata"]))
    meta["version"] = 99
    np.savez(tmp_path / "version.npz", **dict(arrays, metadata=np.array(json.dumps(meta))))
    with pytest.raises(ValueError, match="format version 99"):
        fnn.load(tmp_path / "version.npz")
    missing = {k: v for k, v in arrays.items() if k != "param_1"}
    np.savez(tmp_path / "missing.npz", **missing)
    with pytest.raises(ValueError, match="not a valid fastnn model file"):
        fnn.load(tmp_path / "missing.npz")


def test_a_failed_save_leaves_the_old_file(tmp_path, monkeypatch):
    net = network()
    path = tmp_path / "m.npz"
    net.save(path)
    good = path.read_bytes()

    def broken_savez(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        net.save(path)
    assert path.read_bytes() == good
    assert os.listdir(tmp_path) == ["m.npz"]


def rss_mb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


@pytest.mark.measures_memory
def test_2000_fit_predict_save_load_cycles_keep_memory_flat(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((64, 3)).astype(np.float32), rng.integers(0, 2, 64)
    path = tmp_path / "m.npz"

    def cycle():
        net = network()
        net.fit(X, y, epochs=1, batch_size=16, verbose=0)
        net.predict(X)
        net.save(path)
        fnn.load(path).predict(X[:1])

    for _ in range(200):  # warm up allocator pools and caches
        cycle()
    start = rss_mb()
    for _ in range(2000):
        cycle()
    assert rss_mb() - start < 20, f"resident memory grew by {rss_mb() - start:.1f} MB"


@pytest.mark.measures_memory
def test_predicting_ten_million_rows_in_bounded_memory():
    net = fnn.Network([fnn.Dense(2, 16), fnn.ReLU(), fnn.Dense(16, 1)], loss="mse",
                      random_state=0)
    X = np.random.default_rng(0).random((10_000_000, 2), dtype=np.float32)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = net.predict(X)
    peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert out.shape == (10_000_000, 1)
    np.testing.assert_allclose(out[-5:], net.predict(X[-5:].copy()), rtol=1e-6)
    # The output (40 MB) and a finiteness check of X (20 MB) are the only large allocations.
    assert peak_after - peak_before < 120, f"peak memory grew by {peak_after - peak_before:.0f} MB"
