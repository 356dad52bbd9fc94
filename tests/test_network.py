"""The Python API: training, train_step == fit, save/load, early stopping, divergence, gradcheck."""
import os

import numpy as np
import pytest

import fastnn as fnn


def digits_subset(n=300):
    X_train, X_test, y_train, y_test = fnn.datasets.digits()
    return X_train[:n], X_test, y_train[:n], y_test


def small_net(seed=0, optimizer=None, **kwargs):
    return fnn.Network([fnn.Dense(64, 32), fnn.ReLU(), fnn.Dense(32, 10)],
                       optimizer=optimizer or fnn.Adam(0.01), random_state=seed, **kwargs)


@pytest.mark.parametrize("optimizer", [
    fnn.SGD(0.1), fnn.SGD(0.05, momentum=0.9, nesterov=True, weight_decay=1e-4),
    fnn.Adam(0.01), fnn.RMSprop(0.005), fnn.Adagrad(0.05)], ids=repr)
def test_train_step_gives_the_numbers_of_fit(optimizer):
    X, _, y, _ = digits_subset(96)
    a = small_net(optimizer=optimizer)
    b = small_net(optimizer=type(optimizer)(**optimizer.config()))
    a.fit(X, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    for _ in range(2):
        for start in range(0, 96, 16):
            b.train_step(X[start:start + 16], y[start:start + 16])
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p, q)


def test_fit_with_dropout_is_reproducible_and_differs_from_no_dropout():
    X, _, y, _ = digits_subset(128)

    def trained(rate):
        net = fnn.Network([fnn.Dense(64, 32), fnn.ReLU(), fnn.Dropout(rate), fnn.Dense(32, 10)],
                          optimizer=fnn.SGD(0.1), random_state=3)
        net.fit(X, y, epochs=2, batch_size=32, verbose=0)
        return net.parameters()[0]

    np.testing.assert_array_equal(trained(0.5), trained(0.5))
    assert not np.allclose(trained(0.5), trained(0.0))


def test_dropout_layer():
    layer = fnn.Dropout(0.25, random_state=0)
    x = np.ones((400, 50), np.float32)
    out = layer.forward(x, training=True)
    dropped = np.mean(out == 0)
    assert 0.22 < dropped < 0.28
    np.testing.assert_allclose(out[out != 0], 1 / 0.75)
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), out)  # same mask
    np.testing.assert_array_equal(layer.forward(x, training=False), x)


def test_softmax_then_cross_entropy_trains_like_softmax_cross_entropy():
    X, _, y, _ = digits_subset(64)
    fused = fnn.Network([fnn.Dense(64, 10), fnn.Softmax()], loss="cross_entropy",
                        optimizer=fnn.SGD(0.1), random_state=0)
    plain = fnn.Network([fnn.Dense(64, 10)], loss="softmax_cross_entropy",
                        optimizer=fnn.SGD(0.1), random_state=0)
    for net in (fused, plain):
        net.fit(X, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    np.testing.assert_allclose(fused.parameters()[0], plain.parameters()[0], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(fused.predict(X), plain.predict(X), rtol=1e-5, atol=1e-7)


def test_predict_and_evaluate():
    X_train, X_test, y_train, y_test = digits_subset()
    net = small_net()
    net.fit(X_train, y_train, epochs=5, verbose=0)
    proba = net.predict(X_test)
    assert proba.shape == (len(X_test), 10) and proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(net.predict(X_test, batch_size=7), proba)
    result = net.evaluate(X_test, y_test)
    assert set(result) == {"loss", "accuracy"}
    assert result["accuracy"] == np.mean(proba.argmax(axis=1) == y_test)
    want = -np.mean(np.log(proba[np.arange(len(y_test)), y_test]))
    np.testing.assert_allclose(result["loss"], want, rtol=1e-4)


def test_history_and_validation_split():
    X, _, y, _ = digits_subset()
    history = small_net().fit(X, y, epochs=4, validation_split=0.2, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "seconds"}
    assert all(len(v) == 4 for v in history.history.values())
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_validation_split_is_shuffled_and_stratified():
    X = np.random.default_rng(0).standard_normal((100, 64)).astype(np.float32)
    y = np.repeat([0, 1], 50)  # sorted: "the last 20%" would be all class 1
    net = small_net()
    _, (X_val, y_val, _) = net._split(X, y, None, 0.2)
    assert len(y_val) == 20 and np.bincount(y_val).tolist() == [10, 10]


def test_early_stopping_restores_the_best_epoch():
    X_train, X_val, y_train, y_val = digits_subset(60)
    net = fnn.Network([fnn.Dense(64, 128), fnn.ReLU(), fnn.Dense(128, 10)],
                      optimizer=fnn.Adam(0.05), random_state=0)
    stop = fnn.EarlyStopping(monitor="val_loss", patience=3)
    history = net.fit(X_train, y_train, epochs=200, batch_size=10,
                      validation_data=(X_val, y_val), callbacks=[stop], verbose=0)
    val = history.history["val_loss"]
    assert len(val) < 200 and np.argmin(val) < len(val) - 1  # it stopped, after the best epoch
    np.testing.assert_allclose(net.evaluate(X_val, y_val)["loss"], min(val), rtol=1e-6)


def test_a_diverging_loss_stops_training_and_keeps_finite_weights():
    X, _, y, _ = digits_subset(64)
    net = fnn.Network([fnn.Dense(64, 10)], loss="mse", optimizer=fnn.SGD(1e30), random_state=0)
    Y = np.eye(10, dtype=np.float32)[y]
    with pytest.warns(RuntimeWarning, match="training loss or weights became"):
        history = net.fit(X, Y, epochs=5, batch_size=8, verbose=0)
    assert len(history.history.get("loss", [])) < 5
    assert all(np.all(np.isfinite(p)) for p in net.parameters())


@pytest.mark.parametrize("engine", [True, False])
def test_divergence_puts_back_weights_and_optimizer_state_of_the_epoch(engine):
    X, _, y, _ = digits_subset(64)
    Y = np.eye(10, dtype=np.float32)[y]
    net = fnn.Network([fnn.Dense(64, 10)], loss="mse", optimizer=fnn.SGD(0.01, momentum=0.9),
                      random_state=0, engine=engine)
    net.fit(X, Y, epochs=2, batch_size=8, verbose=0)
    weights = [p.copy() for p in net.parameters()]
    velocity = [s[0].copy() for s in net.optimizer.state]
    iterations = net.optimizer.iterations
    net.optimizer.lr = 1e30
    with pytest.warns(RuntimeWarning, match="training loss or weights became"):
        net.fit(X, Y, epochs=1, batch_size=8, verbose=0)
    for p, q in zip(net.parameters(), weights):
        np.testing.assert_array_equal(p, q)
    for s, v in zip(net.optimizer.state, velocity):
        np.testing.assert_array_equal(s[0], v)
    assert net.optimizer.iterations == iterations


def test_save_load_round_trip_predicts_and_continues_identically(tmp_path):
    X, _, y, _ = digits_subset(128)
    net = small_net(optimizer=fnn.Adam(0.01))
    net.fit(X, y, epochs=2, batch_size=32, shuffle=False, verbose=0)
    path = tmp_path / "model.npz"
    net.save(path)
    assert [f for f in os.listdir(tmp_path)] == ["model.npz"]  # no temporary file left behind
    loaded = fnn.load(path)
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))
    assert loaded.optimizer.iterations == net.optimizer.iterations
    for a in (net, loaded):
        a.fit(X, y, epochs=2, batch_size=32, shuffle=False, verbose=0)
    for p, q in zip(net.parameters(), loaded.parameters()):
        np.testing.assert_array_equal(p, q)


def test_load_rejects_files_that_are_not_models(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="not a valid fastnn model file: File is not a zip"):
        fnn.load(bad)
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="no metadata"):
        fnn.load(tmp_path / "other.npz")
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, metadata=np.array([{"format": "fastnn-network"}], dtype=object))
    with pytest.raises(ValueError):
        fnn.load(pickled)  # an object array would need pickle, which load never allows


ACTIVATIONS = [fnn.ReLU, lambda: fnn.LeakyReLU(0.1), fnn.Sigmoid, fnn.Tanh, fnn.ELU, fnn.SELU,
               fnn.Softplus, fnn.GELU, lambda: fnn.GELU("tanh"), fnn.SiLU]
LOSS_SETUPS = {
    # loss: (extra final layer, target maker)
    "softmax_cross_entropy": (None, lambda r, n, k: r.integers(0, k, n)),
    "cross_entropy": (fnn.Softmax, lambda r, n, k: r.integers(0, k, n)),
    "binary_cross_entropy": (None, lambda r, n, k: r.integers(0, 2, (n, k)).astype(float)),
    "binary_cross_entropy_probs": (fnn.Sigmoid,
                                   lambda r, n, k: r.integers(0, 2, (n, k)).astype(float)),
    "mse": (None, lambda r, n, k: r.standard_normal((n, k))),
    "mae": (None, lambda r, n, k: r.standard_normal((n, k)) * 3),
    "sum_of_squares": (None, lambda r, n, k: r.standard_normal((n, k))),
}


@pytest.mark.parametrize("activation", ACTIVATIONS, ids=["relu", "leaky_relu", "sigmoid", "tanh",
                                                         "elu", "selu", "softplus", "gelu",
                                                         "gelu_tanh", "silu"])
@pytest.mark.parametrize("loss_name", LOSS_SETUPS)
@pytest.mark.parametrize("seed", [0, 1])
def test_gradcheck_on_random_architectures(activation, loss_name, seed):
    rng = np.random.default_rng(seed)
    sizes = [int(rng.integers(2, 6)) for _ in range(int(rng.integers(2, 5)))]
    layers = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        layers += [fnn.Dense(n_in, n_out), activation()]
    layers.pop()
    final, make_target = LOSS_SETUPS[loss_name]
    if final is not None:
        layers.append(final())
    loss = (fnn.BinaryCrossEntropy(from_logits=False) if loss_name == "binary_cross_entropy_probs"
            else loss_name)
    net = fnn.Network(layers, loss=loss, random_state=seed)
    for layer in net.layers:  # zero biases put rows whose units are all off exactly on ReLU's kink
        if isinstance(layer, fnn.Dense):
            layer.b[...] = rng.uniform(0.1, 0.5, layer.n_out)
    X = rng.standard_normal((7, sizes[0]))
    y = make_target(rng, 7, sizes[-1])
    w = rng.uniform(0.5, 2, 7)
    assert fnn.gradcheck(net, X, y, sample_weight=w) < 1e-5


def test_gradcheck_catches_a_wrong_gradient():
    net = fnn.Network([fnn.Dense(3, 4), fnn.Tanh(), fnn.Dense(4, 2)], random_state=0)

    class WrongTanh(fnn.Tanh):
        def backward(self, grad):
            return super().backward(grad) * 1.1

    net.layers[1] = WrongTanh()
    X = np.random.default_rng(0).standard_normal((5, 3))
    assert fnn.gradcheck(net, X, np.array([0, 1, 1, 0, 1])) > 1e-3


def test_bad_input_gets_a_clear_error():
    net = small_net()
    X, _, y, _ = digits_subset(40)
    with pytest.raises(ValueError, match="X has 63 features, but the network takes 64"):
        net.fit(X[:, :63], y)
    with pytest.raises(ValueError, match=r"X has 40 samples but y has 39"):
        net.fit(X, y[:-1])
    with pytest.raises(ValueError, match=r"class labels, which must be in \[0, 10\)"):
        net.fit(X, y + 10)
    with pytest.raises(ValueError, match=r"batch_size must be an integer >= 1, got 0"):
        net.fit(X, y, batch_size=0)
    with pytest.raises(ValueError, match="NaN or infinity"):
        Xn = X.copy()
        Xn[3, 3] = np.nan
        net.predict(Xn)
    with pytest.raises(ValueError, match="y contains NaN or infinity"):
        net.evaluate(X, np.full((40, 10), np.nan, np.float32))  # X alone is fine here
    with pytest.raises(TypeError, match="X must hold real numbers"):
        net.predict(np.array([["a"] * 64]))
    with pytest.raises(ValueError, match="loss must be a fastnn Loss or one of"):
        fnn.Network([fnn.Dense(2, 2)], loss="hinge")
    with pytest.raises(ValueError, match="layer sizes do not chain"):
        fnn.Network([fnn.Dense(2, 3), fnn.ReLU(), fnn.Dense(4, 2)])


def test_float64_networks_and_integer_input():
    X, _, y, _ = digits_subset(64)
    net = small_net(dtype="float64")
    net.fit(X.astype(np.int64), y, epochs=1, verbose=0)  # integers are converted
    assert net.parameters()[0].dtype == np.float64
    assert net.predict(X).dtype == np.float64


def test_history_plot(tmp_path):
    history = small_net().fit(*digits_subset(64)[::2], epochs=2, verbose=0)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match=r"pip install 'fastnn\[plot\]'"):
            history.plot(tmp_path / "curves.png")
    else:
        history.plot(tmp_path / "curves.png")
        assert (tmp_path / "curves.png").stat().st_size > 1000
