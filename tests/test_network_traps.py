"""The issue's silent traps: a network keeps the weights its layers have, a final Sigmoid or
Softmax is not applied twice by its loss, Dense(activation=...) and Keras' initializer names."""
import numpy as np
import pytest

import fastnn as fnn
from fastnn import initializers


def digits(n=400):
    X_train, X_test, y_train, y_test = fnn.datasets.digits()
    return X_train[:n], X_test, y_train[:n], y_test


def assert_same_parameters(a, b):
    assert len(a.parameters()) == len(b.parameters())
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p, q)


# ---------------------------------------------------------------- weights the layers have

def test_a_network_keeps_the_weights_of_trained_layers():
    X, X_test, y, y_test = digits()
    d1, d2 = fnn.Dense(64, 32), fnn.Dense(32, 10)
    net = fnn.Network([d1, fnn.ReLU(), d2], optimizer=fnn.Adam(0.01), random_state=0)
    net.fit(X, y, epochs=10, verbose=0)
    trained = [p.copy() for p in net.parameters()]
    accuracy = net.evaluate(X_test, y_test)["accuracy"]
    assert accuracy > 0.85
    again = fnn.Network([d1, fnn.ReLU(), d2], random_state=1)
    for p, q in zip(again.parameters(), trained):
        np.testing.assert_array_equal(p, q)
    assert again.evaluate(X_test, y_test)["accuracy"] == accuracy


def test_weights_someone_chose_are_kept_and_the_others_drawn_by_the_network():
    seeded = fnn.Dense(4, 8, random_state=5)
    assigned = fnn.Dense(8, 8)
    assigned.W = np.full((8, 8), 0.25, np.float32)
    written = fnn.Dense(8, 8)
    written.W[...] = 0.5  # in place: still someone's choice
    fresh = fnn.Dense(8, 3)
    drop = fnn.Dropout(0.5, random_state=9)
    stream = drop.state.copy()
    layers = [seeded, fnn.ReLU(), assigned, fnn.ReLU(), written, fnn.ReLU(), drop, fresh]
    kept = [seeded.W.copy(), assigned.W.copy(), written.W.copy()]
    fnn.Network(layers, random_state=0)
    for layer, W in zip((seeded, assigned, written), kept):
        np.testing.assert_array_equal(layer.W, W)
    np.testing.assert_array_equal(drop.state, stream)
    # the fresh layer's weights are the network's draw: the same network seed, the same weights
    twin = fnn.Dense(8, 3)
    fnn.Network([fnn.Dense(4, 8, random_state=5), fnn.ReLU(), twin], random_state=0)
    np.testing.assert_array_equal(fresh.W, twin.W)
    assert not np.array_equal(fresh.W, fnn.Dense(8, 3).W)


def test_networks_with_the_same_seed_draw_the_same_weights_and_initialize_redraws():
    def make():
        return fnn.Network([fnn.Dense(6, 16), fnn.Tanh(), fnn.Dropout(0.2), fnn.Dense(16, 2)],
                           random_state=7)
    a, b = make(), make()
    assert_same_parameters(a, b)
    np.testing.assert_array_equal(a.layers[2].state, b.layers[2].state)
    X = np.random.default_rng(0).standard_normal((40, 6))
    a.fit(X, np.arange(40) % 2, epochs=2, verbose=0)
    before = [p.copy() for p in a.parameters()]
    a.initialize()
    assert a.optimizer.iterations == 0 and a.optimizer.state == []
    assert all(not np.array_equal(p, q) for p, q in zip(a.parameters()[::2], before[::2]))
    assert np.all(a.parameters()[1] == 0)


def test_kept_weights_in_another_dtype_take_the_networks():
    d = fnn.Dense(3, 2, random_state=0)
    W = d.W.copy()
    net = fnn.Network([d], loss="mse", dtype="float64")
    assert d.W.dtype == np.float64 and d.dW.dtype == np.float64
    np.testing.assert_array_equal(d.W, W.astype(np.float64))
    net.fit(np.ones((4, 3)), np.ones((4, 2)), epochs=1, verbose=0)


# ---------------------------------------------------------------- an output layer and its loss

@pytest.mark.parametrize("engine", [True, False], ids=["engine", "layers"])
@pytest.mark.parametrize("loss", ["binary_cross_entropy",
                                  fnn.BinaryCrossEntropy(from_logits=False)], ids=repr)
def test_a_final_sigmoid_with_binary_cross_entropy_trains_from_the_logits(engine, loss):
    X, X_test, y, y_test = digits()
    y, y_test = (y > 4).astype(np.float32), (y_test > 4).astype(np.float32)

    def net(*last, loss):
        return fnn.Network([fnn.Dense(64, 16), fnn.ReLU(), fnn.Dense(16, 1), *last], loss=loss,
                           optimizer=fnn.Adam(0.01), random_state=0, engine=engine)
    with_sigmoid = net(fnn.Sigmoid(), loss=loss)
    logits = net(loss="binary_cross_entropy")
    for model in (with_sigmoid, logits):
        model.fit(X, y, epochs=5, batch_size=32, verbose=0)
    assert_same_parameters(with_sigmoid, logits)
    p = with_sigmoid.predict(X_test)
    np.testing.assert_array_equal(p, logits.predict(X_test))  # the sigmoid once
    assert p.min() < 0.05 and p.max() > 0.95
    result = with_sigmoid.evaluate(X_test, y_test)
    assert result == logits.evaluate(X_test, y_test) and result["accuracy"] > 0.85


@pytest.mark.parametrize("engine", [True, False], ids=["engine", "layers"])
def test_a_final_softmax_with_softmax_cross_entropy_is_applied_once(engine):
    X, X_test, y, y_test = digits()

    def net(*last):
        return fnn.Network([fnn.Dense(64, 16), fnn.ReLU(), fnn.Dense(16, 10), *last],
                           loss="softmax_cross_entropy", optimizer=fnn.Adam(0.01),
                           random_state=0, engine=engine)
    a, b = net(fnn.Softmax()), net()
    for model in (a, b):
        model.fit(X, y, epochs=5, verbose=0)
    assert_same_parameters(a, b)
    np.testing.assert_array_equal(a.predict(X_test), b.predict(X_test))
    np.testing.assert_allclose(a.predict(X_test).sum(axis=1), 1, rtol=1e-5)
    assert a.evaluate(X_test, y_test)["accuracy"] > 0.85


# ---------------------------------------------------------------- Dense(activation=...)

def test_dense_activation_is_a_layer_of_the_network():
    X, X_test, y, y_test = digits()
    short = fnn.Network([fnn.Dense(64, 32, activation="relu"),
                         fnn.Dense(32, 10, activation="softmax")], loss="cross_entropy",
                        random_state=0)
    assert [type(layer).__name__ for layer in short.layers] == ["Dense", "ReLU", "Dense",
                                                                "Softmax"]
    assert all(getattr(layer, "activation", None) is None for layer in short.layers)
    long = fnn.Network([fnn.Dense(64, 32), fnn.ReLU(), fnn.Dense(32, 10), fnn.Softmax()],
                       loss="cross_entropy", random_state=0)
    assert_same_parameters(short, long)  # he before ReLU either way
    for model in (short, long):
        model.fit(X, y, epochs=3, verbose=0)
    assert_same_parameters(short, long)


def test_dense_activation_alone_and_its_errors():
    d = fnn.Dense(3, 4, activation="tanh", random_state=0)
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    z = x @ d.W + d.b
    np.testing.assert_allclose(d.forward(x, training=True), np.tanh(z), rtol=1e-6)
    grad = np.ones((5, 4), np.float32)
    dx = d.backward(grad)
    np.testing.assert_allclose(dx, (1 - np.tanh(z) ** 2) @ d.W.T, rtol=1e-5)
    assert fnn.Dense(3, 4, activation="gelu_tanh").config()["activation"] == "gelu_tanh"
    assert fnn.Network([fnn.Dense(3, 1, activation="linear")], loss="mse").layers[1].kind == \
        "identity"
    with pytest.raises(ValueError, match="activation must be one of"):
        fnn.Dense(3, 4, activation="rleu")
    net = fnn.Network([fnn.Dense(3, 4), fnn.ReLU(), fnn.Dense(4, 2)])
    net.layers[0].activation = "relu"
    with pytest.raises(ValueError, match=r"layers\[0\].activation"):
        net.predict(x)


# ---------------------------------------------------------------- Keras' initializer names

@pytest.mark.parametrize("name, std, bound", [
    ("he_normal", np.sqrt(2 / 400), 2), ("he_uniform", np.sqrt(2 / 400), np.sqrt(3)),
    ("glorot_normal", np.sqrt(2 / 700), 2), ("glorot_uniform", np.sqrt(2 / 700), np.sqrt(3)),
    ("lecun_normal", np.sqrt(1 / 400), 2), ("lecun_uniform", np.sqrt(1 / 400), np.sqrt(3)),
    ("random_normal", 0.05, None), ("random_uniform", 0.1 / np.sqrt(12), np.sqrt(3)),
    ("truncated_normal", 0.05 * 0.87962566103423978, 2 / 0.87962566103423978)])
def test_keras_initializers_draw_kerass_distributions(name, std, bound):
    W = fnn.Dense(400, 300, init=name, random_state=0).W
    np.testing.assert_allclose(W.std(), std, rtol=0.01)
    assert abs(W.mean()) < 0.01 * std * 10
    if bound is not None:
        # truncated at two (Keras) standard deviations of the normal before truncation
        limit = bound * std * (1 / 0.87962566103423978 if bound == 2 else 1)
        assert np.abs(W).max() <= limit * (1 + 1e-6)
        assert np.abs(W).max() > 0.95 * limit


def test_constant_initializers_and_unknown_names():
    assert np.all(fnn.Dense(3, 2, init="zeros").W == 0)
    assert np.all(fnn.Dense(3, 2, init="ones").W == 1)
    assert initializers.get("glorot_uniform") is initializers.glorot
    with pytest.raises(ValueError, match="init must be one of"):
        fnn.Dense(3, 2, init="he_normel")
    with pytest.raises(ValueError, match="init must be one of"):
        fnn.Dense(3, 2, init=["he"])


@pytest.mark.parametrize("layers, loss, match", [
    ([fnn.Dense(4, 3)], "cross_entropy", "Softmax"),
    ([fnn.Dense(4, 3)], "sparse_categorical_crossentropy", "softmax_cross_entropy"),
    ([fnn.Dense(4, 3), fnn.ReLU()], "categorical_crossentropy", "Softmax"),
    ([fnn.Dense(4, 1)], "binary_crossentropy", "Sigmoid"),
    ([fnn.Dense(4, 1), fnn.Tanh()], fnn.BinaryCrossEntropy(from_logits=False), "from_logits=True")])
def test_a_loss_on_probabilities_after_raw_outputs_is_refused(layers, loss, match):
    """It trained to below-chance accuracy with a lower loss than the right model's."""
    with pytest.raises(ValueError, match=f"takes probabilities.*{match}"):
        fnn.Network(layers, loss=loss)


def test_probability_losses_after_the_layers_that_make_probabilities_are_taken():
    X, _, y, _ = digits(200)
    for last, loss, target in ((fnn.Softmax(), "sparse_categorical_crossentropy", y),
                               (fnn.Sigmoid(), "binary_crossentropy", (y > 4).astype(float))):
        width = 10 if isinstance(last, fnn.Softmax) else 1
        net = fnn.Network([fnn.Dense(64, width), last], loss=loss, random_state=0)
        net.fit(X, target, epochs=2, verbose=0)
        p = net.predict(X)
        assert p.min() >= 0 and p.max() <= 1


# ---------------------------------------------------------------- validation_split

def test_every_fit_holds_out_the_same_rows_and_so_does_a_loaded_network(tmp_path):
    """Continuing a fit with validation_split validated on rows the first fit trained on."""
    X, _, y, _ = digits(200)
    seen = []

    def rows(y_true, y_pred):  # the validation rows, told apart by their labels' order
        seen.append(tuple(y_true))
        return 0.0
    net = fnn.Network([fnn.Dense(64, 10)], random_state=0)
    net.fit(X, y, epochs=1, validation_split=0.2, metrics=[rows], verbose=0)
    net.save(tmp_path / "m.npz")
    net.fit(X, y, epochs=1, validation_split=0.2, metrics=[rows], verbose=0)
    fnn.load(tmp_path / "m.npz").fit(X, y, epochs=1, validation_split=0.2, metrics=[rows],
                                     verbose=0)
    validation = [s for s in seen if len(s) == 40]
    assert len(validation) == 3 and len(set(validation)) == 1
    other = fnn.Network([fnn.Dense(64, 10)], random_state=1)
    other.fit(X, y, epochs=1, validation_split=0.2, metrics=[rows], verbose=0)
    assert seen[-1] != validation[0]  # another network, another split


def test_set_weights_refuses_a_negative_running_variance():
    net = fnn.Network([fnn.Dense(4, 3), fnn.BatchNorm(3), fnn.ReLU(), fnn.Dense(3, 2)])
    weights = net.get_weights()
    weights[5] = -np.ones(3)  # W, b, gamma, beta, running_mean, running_var
    with pytest.raises(ValueError, match=r"weights\[5\].*running_var"):
        net.set_weights(weights)
    np.testing.assert_array_equal(net.layers[1].running_var, 1)
