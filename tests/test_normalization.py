"""fastnn.Normalization (Keras' preprocessing layer) and the columns a model file keeps."""
import json

import numpy as np
import pytest

import fastnn as fnn


def data(n=120, features=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(3.0, 4.0, (n, features)) * np.arange(1, features + 1)
    y = (X[:, 0] + X[:, 1] > 3 * 3 + 6).astype(int) + (X[:, 2] > 9)
    return X, y


def layers(features, seed=1):
    return [fnn.Dense(features, 16, random_state=seed), fnn.Tanh(),
            fnn.Dense(16, 3, random_state=seed + 1)]


def test_adapt_takes_numpys_mean_and_biased_variance_and_scale_is_one_where_it_is_zero():
    X, _ = data()
    X[:, 3] = 7.0  # a constant feature
    norm = fnn.Normalization().adapt(X)
    np.testing.assert_array_equal(norm.mean, X.mean(axis=0))
    np.testing.assert_array_equal(norm.variance, X.var(axis=0))
    assert norm.n == 5 and norm.variance[3] == 0
    np.testing.assert_array_equal(norm.scale, np.where(X.var(axis=0) == 0, 1, X.std(axis=0)))
    # as scikit-learn's StandardScaler, constant features included
    from sklearn.preprocessing import StandardScaler
    out = norm.forward(X)
    np.testing.assert_allclose(out, StandardScaler().fit_transform(X), rtol=0, atol=1e-12)
    assert np.all(out[:, 3] == 0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_network_with_normalization_equals_one_on_standardized_data(dtype):
    X, y = data()
    norm = fnn.Normalization(dtype=dtype).adapt(X)
    with_norm = fnn.Network([norm, *layers(5)], dtype=dtype, random_state=0)
    mean, scale = norm.mean, norm.scale
    standardized = ((X.astype(dtype) - mean) / scale).astype(dtype)
    plain = fnn.Network(layers(5), dtype=dtype, random_state=0)
    np.testing.assert_array_equal(with_norm.predict(X.astype(dtype)), plain.predict(standardized))
    # training: the layer path with the layer, the engine without it: the same numbers
    with_norm.fit(X.astype(dtype), y, epochs=3, batch_size=16, verbose=0)
    plain.fit(standardized, y, epochs=3, batch_size=16, verbose=0)
    for a, b in zip(with_norm.get_weights()[2:], plain.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert with_norm.layers[0].mean is norm.mean  # training leaves the statistics alone
    np.testing.assert_array_equal(norm.mean, X.mean(axis=0).astype(dtype))


def test_invert_maps_back_to_the_original_units_and_its_gradient_checks():
    X, _ = data()
    y = X @ np.array([1.0, -2.0, 0.5, 0.0, 3.0]) * 10 + 200
    target = fnn.Normalization().adapt(y[:, None])
    net = fnn.Network([fnn.Normalization().adapt(X), fnn.Dense(5, 8, random_state=0), fnn.ReLU(),
                       fnn.Dense(8, 1, random_state=1),
                       fnn.Normalization(mean=target.mean, variance=target.variance, invert=True)],
                      loss="mse", dtype="float64")
    inner = fnn.Network([fnn.Normalization().adapt(X), *[
        layer for layer in net.layers[1:4]]], loss="mse", dtype="float64")
    np.testing.assert_allclose(net.predict(X), inner.predict(X) * np.sqrt(target.variance)
                               + target.mean, rtol=1e-14)
    assert fnn.gradcheck(net, X[:20], y[:20, None]) < 1e-6
    net.fit(X, y[:, None], epochs=200, batch_size=32, verbose=0)
    r2 = 1 - ((net.predict(X)[:, 0] - y) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    assert r2 > 0.95  # trained on the standardized target, predicting in its units


def test_a_saved_network_keeps_its_normalization_and_columns(tmp_path):
    X, y = data()
    net = fnn.Network([fnn.Normalization().adapt(X), *layers(5)], random_state=0)
    net.fit(X, y, epochs=2, verbose=0)
    net.feature_names, net.class_names, net.target_name = list("abcde"), ["x", "y", "z"], "t"
    net.save(tmp_path / "m.npz")
    loaded = fnn.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))
    assert isinstance(loaded.layers[0], fnn.Normalization) and not loaded.layers[0].invert
    np.testing.assert_array_equal(loaded.layers[0].variance, net.layers[0].variance)
    assert (loaded.feature_names, loaded.class_names, loaded.target_name) == (
        list("abcde"), ["x", "y", "z"], "t")
    plain = fnn.Network(layers(5))
    plain.save(tmp_path / "p.npz")
    assert fnn.load(tmp_path / "p.npz").feature_names is None


def rewrite(path, change):
    with np.load(path) as f:
        arrays = dict(f)
    meta = json.loads(str(arrays.pop("metadata")))
    change(meta, arrays)
    np.savez(path, metadata=np.array(json.dumps(meta)), **arrays)


@pytest.mark.parametrize("change, message", [
    (lambda m, a: a.update(buffer_0=-a["buffer_0"] - 1, buffer_1=-a["buffer_1"] - 1),
     "variance must be >= 0"),
    (lambda m, a: m["columns"].update(features=["a"]), "columns.features must hold 5 names"),
    (lambda m, a: m["columns"].update(classes=[1, 2, 3]), "columns.classes must be null or a list"),
    (lambda m, a: m["columns"].update(target=["t"]), "columns.target must be null or a string"),
    (lambda m, a: m["columns"].update(extra=1), "columns has fields"),
    (lambda m, a: m["layers"][0]["config"].update(invert="yes"), "invert must be True or False"),
    (lambda m, a: m["layers"][0]["config"].update(n=4), "buffer_0 is a float32 array of shape"),
])
def test_tampered_files_are_value_errors(tmp_path, change, message):
    X, _ = data()
    net = fnn.Network([fnn.Normalization().adapt(X), *layers(5)])
    net.feature_names = list("abcde")
    path = tmp_path / "m.npz"
    net.save(path)
    rewrite(path, change)
    with pytest.raises(ValueError, match=message):
        fnn.load(path)


def test_version_2_files_load_without_columns(tmp_path):
    net = fnn.Network(layers(5), random_state=0)
    net.save(tmp_path / "m.npz")
    rewrite(tmp_path / "m.npz", lambda m, a: (m.pop("columns"), m.update(version=2)))
    loaded = fnn.load(tmp_path / "m.npz")
    assert loaded.class_names is None
    np.testing.assert_array_equal(loaded.predict(np.ones((2, 5))), net.predict(np.ones((2, 5))))


def test_bad_statistics_and_places_are_clear_errors():
    with pytest.raises(ValueError, match="without statistics: call its adapt"):
        fnn.Network([fnn.Normalization(), *layers(5)])
    with pytest.raises(ValueError, match="Normalization of 4 features on 5"):
        fnn.Network([fnn.Normalization(4), *layers(5)])
    with pytest.raises(ValueError, match="variance must be >= 0"):
        fnn.Normalization(mean=[0.0, 1.0], variance=[1.0, -1.0])
    with pytest.raises(ValueError, match="mean holds NaN"):
        fnn.Normalization(mean=[np.nan, 1.0])
    with pytest.raises(TypeError, match="invert must be True or False"):
        fnn.Normalization(2, invert="no")
    with pytest.raises(ValueError, match="X has 3 features"):
        fnn.Normalization(2).adapt(np.ones((4, 3)))
    with pytest.raises(ValueError, match="NaN or infinity"):
        fnn.Normalization().adapt(np.array([[1.0, np.inf]]))
    norm = fnn.Normalization().adapt(np.ones((3, 5)))
    net = fnn.Network([norm, *layers(5)])
    norm.variance = -np.ones(5, np.float32)  # changed after the network took it
    with pytest.raises(ValueError, match=r"layers\[0\].variance must be >= 0"):
        net.predict(np.ones((2, 5)))
    norm.variance = np.ones(5, np.float32)
    with pytest.raises(ValueError, match="a variance .* must be >= 0"):
        net.set_weights([-np.ones(5) if i == 1 else w for i, w in enumerate(net.get_weights())])
    with pytest.raises(ValueError, match="columns.classes must hold 3 names"):
        net.class_names = ["a"]
        net.save("unused.npz")


def test_named_columns_must_be_the_feature_names_in_order():
    import pandas as pd
    X, y = data()
    net = fnn.Network([fnn.Normalization().adapt(X), *layers(5)], random_state=0)
    net.feature_names = list("abcde")
    frame = pd.DataFrame(X, columns=list("abcde"))
    np.testing.assert_array_equal(net.predict(frame), net.predict(X))
    with pytest.raises(ValueError, match=r"feature_names in their order \(a, b, c, d, e\), got "
                                         r"e, d, c, b, a: pass X\[network.feature_names\]"):
        net.predict(frame[list("edcba")])
    with pytest.raises(ValueError, match="missing e"):
        net.evaluate(frame[list("abcd")].assign(f=1.0), y)
    with pytest.raises(ValueError, match="columns must be"):
        net.fit(frame[list("bacde")], y, verbose=0)
    net.feature_names = None  # unnamed: columns by position, as before
    np.testing.assert_array_equal(net.predict(frame[list("edcba")]), net.predict(X[:, ::-1]))


def test_save_refuses_what_load_would_and_names_may_not_repeat(tmp_path):
    X, _ = data()
    net = fnn.Network([fnn.Normalization().adapt(X), *layers(5)])
    net.layers[0].variance[0] = -4  # in place: no network check sees it before save
    with pytest.raises(ValueError, match=r"cannot save: layers\[0\].variance must be >= 0"):
        net.save(tmp_path / "m.npz")
    net.layers[0].variance[0] = 4
    net.layers[0].invert = 1
    with pytest.raises(TypeError, match=r"layers\[0\].invert must be True or False, got 1"):
        net.save(tmp_path / "m.npz")
    net.layers[0].invert = False
    net.feature_names = ["a", "a", "b", "c", "d"]
    with pytest.raises(ValueError, match="columns.features names 'a' twice"):
        net.save(tmp_path / "m.npz")
    net.feature_names, net.class_names = None, ["x", "x", "y"]
    with pytest.raises(ValueError, match="columns.classes names 'x' twice"):
        net.save(tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()
    with pytest.raises(ValueError, match="must be 1-dimensional"):
        fnn.Normalization(mean=[[0.0, 1.0], [2.0, 3.0]])
    with pytest.raises(ValueError, match="dtype must be float32 or float64"):
        fnn.Normalization(mean=[0.0], dtype="float16")
