"""ONNX export (fastnn.onnx): onnxruntime runs the exported graphs and gives what fastnn predicts,
within 1e-5 in float32 and 1e-10 in float64, for every layer, activation, final activation and
estimator, on random architectures and through skl2onnx's Pipeline conversion."""
import math
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from isolated import run_isolated
from sklearn.exceptions import ConvergenceWarning, NotFittedError

import fastnn as fnn
from fastnn import onnx as fonnx
from fastnn import registry

TOL = {np.float32: 1e-5, np.float64: 1e-10}


def run(model, X):
    """The outputs of `model` (a ModelProto) on X, by onnxruntime."""
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: X})


def declared_shape(value_info):
    """A graph input's or output's shape as declared, None for a dynamic dimension."""
    return [d.dim_value if d.HasField("dim_value") else None
            for d in value_info.type.tensor_type.shape.dim]


def assert_matches(net, X, **kwargs):
    dtype = np.dtype(kwargs.get("dtype") or net.dtype).type
    X = np.ascontiguousarray(X, dtype)
    got, = run(fnn.export_onnx(net, **kwargs), X)
    want = net.predict(X)
    assert got.dtype == dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=TOL[dtype], atol=TOL[dtype])
    return got


def randomize(net, rng):
    """Give the norm layers statistics and affine parameters that are not the identity."""
    for layer in net.layers:
        if isinstance(layer, (fnn.BatchNorm, fnn.LayerNorm)):
            layer.gamma[...] = rng.uniform(0.5, 2, layer.n)
            layer.beta[...] = rng.normal(size=layer.n)
        if isinstance(layer, fnn.BatchNorm):
            layer.running_mean[...] = rng.normal(size=layer.n)
            layer.running_var[...] = rng.uniform(0.1, 3, layer.n)
    return net


def activation_layer(entry):
    """The layer of a registry entry, with a hyperparameter other than its default."""
    cls = getattr(fnn, entry.layer)
    if entry.hyper is not None:
        return cls(**{entry.hyper.name: 0.3})
    return cls(**({entry.option[0]: entry.option[1]} if entry.option else {}))


def wide_rows(rng, n, features):
    """Rows whose first layer's outputs reach far into every activation's tails."""
    return rng.normal(size=(n, features)) * rng.choice([0.1, 1, 4, 12], size=(n, 1))


@pytest.mark.parametrize("entry", registry.ACTIVATIONS, ids=lambda e: e.name)
def test_every_activation(entry, dtype):
    rng = np.random.default_rng(0)
    net = fnn.Network([fnn.Dense(4, 9), activation_layer(entry), fnn.Dense(9, 3)], loss="mse",
                      dtype=dtype, random_state=1)
    assert_matches(net, wide_rows(rng, 200, 4))


def test_float64_erf_is_the_c_librarys():
    """The written-out erf of float64 graphs, across fdlibm's ranges and their edges."""
    points = np.concatenate([np.linspace(-7, 7, 2001), [0.0, -0.0, 1e-300, 0.84375, 1.25,
                                                       1 / 0.35, 6.0, 30.0, -1e300],
                             np.nextafter([0.84375, 1.25, 1 / 0.35, 6.0], 0)])
    g = fonnx._HelperGraph(np.float64, fonnx.DEFAULT_OPSET)
    g.op("Identity", fonnx.erf(g, "X"), output="Y")
    got, = run(g.model([("X", np.float64, [None])], [("Y", np.float64, [None])]), points)
    want = np.array([math.erf(x) for x in points])
    np.testing.assert_allclose(got, want, rtol=4e-16, atol=1e-300)


@pytest.mark.parametrize("opset", [13, 17, 18, 21])
def test_norm_layers_and_dropout(dtype, opset):
    rng = np.random.default_rng(2)
    variance = rng.uniform(0.5, 4, 5)
    variance[2] = 0  # a constant feature: scale 1
    net = fnn.Network([fnn.Normalization(mean=rng.normal(size=5), variance=variance),
                       fnn.Dense(5, 8), fnn.BatchNorm(8), fnn.ReLU(), fnn.Dropout(0.5),
                       fnn.Dense(8, 6), fnn.LayerNorm(6, eps=1e-3), fnn.Tanh(), fnn.Dense(6, 2),
                       fnn.Normalization(mean=[3.0, -1.0], variance=[4.0, 0.25], invert=True)],
                      loss="mse", dtype=dtype, random_state=0)
    assert_matches(randomize(net, rng), wide_rows(rng, 100, 5) * 3, opset=opset)


@pytest.mark.parametrize("last, loss", [
    (None, "softmax_cross_entropy"),         # predict applies the loss's softmax
    ("Softmax", "cross_entropy"),            # a final Softmax, fused into the loss in training
    ("Softmax", "softmax_cross_entropy"),
    ("Sigmoid", "binary_cross_entropy"),     # a final Sigmoid, likewise
    (None, "binary_cross_entropy"),          # from logits: sigmoid at predict
    (None, "poisson"),                       # exponential at predict
    (None, "mse"),
])
def test_prediction_activation(dtype, last, loss):
    rng = np.random.default_rng(3)
    if loss == "binary_cross_entropy" and last is None:
        loss = fnn.BinaryCrossEntropy(from_logits=True)
    layers = [fnn.Dense(3, 6), fnn.ReLU(), fnn.Dense(6, 4)]
    net = fnn.Network(layers + ([getattr(fnn, last)()] if last else []), loss=loss, dtype=dtype,
                      random_state=4)
    out = assert_matches(net, wide_rows(rng, 64, 3))
    if last == "Softmax" or loss == "softmax_cross_entropy":
        np.testing.assert_allclose(out.sum(axis=1), 1, rtol=TOL[np.dtype(dtype).type])


def random_network(rng):
    """A random architecture: 1-4 hidden layers, each Dense with an optional norm layer, an
    activation and Dropout, a random loss and dtype."""
    entries = registry.ACTIVATIONS
    width = int(rng.integers(1, 7))
    layers = [fnn.Normalization(mean=rng.normal(size=width), variance=rng.uniform(0, 3, width))] \
        if rng.random() < 0.3 else []
    n_in = width
    for _ in range(int(rng.integers(1, 5))):
        n_out = int(rng.integers(1, 12))
        layers.append(fnn.Dense(n_in, n_out))
        norm = rng.choice(["", "BatchNorm", "LayerNorm"])
        if norm:
            layers.append(getattr(fnn, norm)(n_out))
        layers.append(activation_layer(entries[int(rng.integers(len(entries)))]))
        if rng.random() < 0.3:
            layers.append(fnn.Dropout(0.2))
        n_in = n_out
    layers.append(fnn.Dense(n_in, int(rng.integers(1, 5))))
    loss = rng.choice(["mse", "softmax_cross_entropy", "poisson", "huber"])
    dtype = rng.choice(["float32", "float64"])
    return randomize(fnn.Network(layers, loss=str(loss), dtype=str(dtype),
                                 random_state=int(rng.integers(1000))), rng), width


def test_random_architectures():
    rng = np.random.default_rng(5)
    for _ in range(30):
        net, width = random_network(rng)
        assert_matches(net, wide_rows(rng, 40, width))


def test_dynamic_batch_and_dtype_of_export(tmp_path):
    rng = np.random.default_rng(6)
    net = fnn.Network([fnn.Dense(4, 5), fnn.GELU(), fnn.Dense(5, 3)], dtype="float64",
                      random_state=0)
    model = fnn.export_onnx(net, tmp_path / "m.onnx")
    assert onnx.load(tmp_path / "m.onnx") == model
    assert declared_shape(model.graph.input[0]) == [None, 4]
    assert declared_shape(model.graph.output[0]) == [None, 3]
    for rows in (1, 1000):
        assert_matches(net, rng.normal(size=(rows, 4)))
    # a float32 model of a float64 network: its weights rounded, the outputs close
    got, = run(fnn.export_onnx(net, dtype="float32"), rng.normal(size=(7, 4)).astype(np.float32))
    assert got.dtype == np.float32 and got.shape == (7, 3)


def test_bad_arguments():
    net = fnn.Network([fnn.Dense(2, 2)], loss="mse")
    with pytest.raises(ValueError, match="dtype must be float32 or float64"):
        fnn.export_onnx(net, dtype="int32")
    with pytest.raises(ValueError, match="opset must be an integer from 13"):
        fnn.export_onnx(net, opset=12)
    with pytest.raises(TypeError, match="model must be a fastnn Network, MLPClassifier or "
                                        "MLPRegressor, got LogisticRegression"):
        from sklearn.linear_model import LogisticRegression
        fnn.export_onnx(LogisticRegression())
    with pytest.raises(NotFittedError):
        fnn.export_onnx(fnn.MLPClassifier())
    with pytest.raises(NotFittedError):
        fnn.export_onnx(fnn.MLPRegressor())


class Double(fnn.Layer):
    def forward(self, x, training=False):
        return x * 2


class MyDense(fnn.Dense):
    pass


def test_custom_layer_needs_a_rule():
    rng = np.random.default_rng(7)
    net = fnn.Network([fnn.Dense(3, 4), Double(), fnn.Dense(4, 2)], loss="mse", engine=False)
    with pytest.raises(ValueError, match=r"cannot export layers\[1\], a test_onnx\.Double: "
                                         r"fastnn has no ONNX rule .*register_layer\(Double, "):
        fnn.export_onnx(net)
    fonnx.register_layer(Double, lambda g, layer, x: g.op("Mul", x, g.const(2)))
    try:
        assert_matches(net, rng.normal(size=(5, 3)))
    finally:
        del fonnx.LAYER_RULES[Double]
    # a subclass of a known layer may compute anything: its exact class decides
    with pytest.raises(ValueError, match=r"layers\[0\], a test_onnx\.MyDense"):
        fnn.export_onnx(fnn.Network([MyDense(3, 2)], loss="mse"))
    with pytest.raises(TypeError, match="cls must be a fastnn Layer subclass"):
        fonnx.register_layer(int, lambda g, layer, x: x)


def test_missing_onnx_names_the_extra():
    out = run_isolated("""
        import sys
        sys.modules["onnx"] = None  # as if not installed
        import fastnn as fnn
        assert "onnx" not in [m for m in sys.modules if sys.modules[m] is not None]
        net = fnn.Network([fnn.Dense(2, 2)], loss="mse")
        try:
            fnn.export_onnx(net)
        except ImportError as error:
            print(error)
    """)
    assert 'ONNX export needs the onnx package: pip install "fastnn[onnx]"' in out


def test_missing_skl2onnx_names_it():
    out = run_isolated("""
        import sys
        sys.modules["skl2onnx"] = None  # as if not installed
        import fastnn.onnx
        try:
            fastnn.onnx.register_skl2onnx()
        except ImportError as error:
            print(error)
    """)
    assert "register_skl2onnx needs the skl2onnx package: pip install skl2onnx" in out


def test_a_networks_column_names_are_the_models_metadata():
    import json
    net = fnn.Network([fnn.Dense(2, 3)], random_state=0)
    assert {p.key for p in fnn.export_onnx(net).metadata_props} == set()
    net.feature_names, net.class_names, net.target_name = ["a", "b"], ["x", "y", "z"], "t"
    model = fnn.export_onnx(net)
    props = {p.key: json.loads(p.value) for p in model.metadata_props}
    assert props == {"feature_names": ["a", "b"], "class_names": ["x", "y", "z"],
                     "target_name": "t"}
    assert model.producer_version == fnn.__version__


def test_importing_fastnn_does_not_import_onnx():
    out = run_isolated("""
        import sys
        import fastnn, fastnn.onnx
        fastnn.export_onnx
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("onnx", "onnxruntime",
                                                                   "skl2onnx")))
    """)
    assert out.strip() == "[]"


# ---------------------------------------------------------------- estimators

def fitted(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


def classification_data(kind, rng, n=80):
    X = rng.normal(size=(n, 4))
    if kind == "multiclass":
        y = np.array([3, 7, 11])[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)]
    elif kind == "binary":
        y = np.where(X[:, 0] + X[:, 2] > 0, "yes", "no")
    else:  # multilabel
        y = (X[:, :3] > 0).astype(int)
    return X, y


@pytest.mark.parametrize("kind", ["multiclass", "binary", "multilabel"])
def test_classifier(kind, dtype):
    rng = np.random.default_rng(8)
    X, y = classification_data(kind, rng)
    X = X.astype(dtype)
    clf = fitted(fnn.MLPClassifier((7,), activation="tanh", max_iter=30, random_state=0), X, y)
    model = fnn.export_onnx(clf)
    assert [o.name for o in model.graph.output] == ["label", "probabilities"]
    assert declared_shape(model.graph.output[0]) == [None] + [3] * (kind == "multilabel")
    assert declared_shape(model.graph.output[1]) == [None, 3 if kind != "binary" else 2]
    label, proba = run(model, X)
    np.testing.assert_array_equal(label, clf.predict(X))
    assert label.dtype == (np.int64 if kind != "binary" else object)
    assert proba.dtype == dtype
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=TOL[dtype], atol=TOL[dtype])


@pytest.mark.parametrize("outputs", [1, 3])
def test_regressor(outputs, dtype):
    rng = np.random.default_rng(9)
    X = rng.normal(size=(60, 5)).astype(dtype)
    y = X[:, :outputs] ** 2 + X[:, 1:outputs + 1]
    reg = fitted(fnn.MLPRegressor(hidden_layer_sizes=(6, 4), max_iter=20, random_state=0),
                 X, y.ravel() if outputs == 1 else y)
    model = fnn.export_onnx(reg)
    assert [o.name for o in model.graph.output] == ["variable"]
    assert declared_shape(model.graph.output[0]) == [None, outputs]
    values, = run(model, X)
    assert values.shape == (60, outputs)
    np.testing.assert_allclose(values.reshape(reg.predict(X).shape), reg.predict(X),
                               rtol=TOL[dtype], atol=TOL[dtype])


def test_estimator_with_replaced_coefs():
    rng = np.random.default_rng(10)
    X = rng.normal(size=(30, 3))
    reg = fitted(fnn.MLPRegressor(hidden_layer_sizes=(4,), max_iter=5, random_state=0), X, X[:, 0])
    reg.coefs_[0] = reg.coefs_[0] * 2  # as scikit-learn's own L-BFGS unpacking does
    values, = run(fnn.export_onnx(reg), X)
    np.testing.assert_allclose(values.ravel(), reg.predict(X), rtol=1e-10, atol=1e-10)


# ---------------------------------------------------------------- skl2onnx

@pytest.fixture(scope="module")
def skl2onnx():
    import skl2onnx
    fonnx.register_skl2onnx()
    fonnx.register_skl2onnx()  # idempotent
    return skl2onnx


@pytest.mark.parametrize("kind", ["multiclass", "binary"])
@pytest.mark.parametrize("zipmap", [True, False])
def test_pipeline_classifier(skl2onnx, kind, zipmap, dtype):
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    rng = np.random.default_rng(11)
    X, y = classification_data(kind, rng)
    X = X * [1, 10, 100, 0.1] + 5
    pipe = fitted(Pipeline([("s", StandardScaler()),
                            ("m", fnn.MLPClassifier((6,), max_iter=30, random_state=0))]), X, y)
    X = X.astype(dtype)
    if zipmap and dtype == np.float64:
        # skl2onnx's ZipMap takes float32 alone (scikit-learn's MLPClassifier fails alike)
        with pytest.raises(Exception, match="ZipMap"):
            run(skl2onnx.to_onnx(pipe, X[:1], options={"zipmap": zipmap}), X)
        return
    model = skl2onnx.to_onnx(pipe, X[:1], options={"zipmap": zipmap})
    label, proba = run(model, X)
    np.testing.assert_array_equal(label, pipe.predict(X))
    if zipmap:  # a list of {class: probability}, as scikit-learn's MLPClassifier's
        classes = pipe.classes_
        assert sorted(proba[0]) == sorted(classes.tolist())
        proba = np.array([[row[c] for c in classes] for row in proba])
    # the pipeline's own scaler runs in float64 and the estimator in X's dtype: float32 rounds
    np.testing.assert_allclose(proba, pipe.predict_proba(X), atol=TOL[dtype] * 10)


def test_pipeline_nocl_and_multilabel(skl2onnx):
    rng = np.random.default_rng(12)
    X, y = classification_data("multiclass", rng)
    clf = fitted(fnn.MLPClassifier((5,), max_iter=20, random_state=0), X, y)
    label, _ = run(skl2onnx.to_onnx(clf, X[:1], options={"zipmap": False, "nocl": True}), X)
    np.testing.assert_array_equal(clf.classes_[label], clf.predict(X))
    assert set(label) <= {0, 1, 2}
    X, y = classification_data("multilabel", rng)
    clf = fitted(fnn.MLPClassifier((5,), max_iter=20, random_state=0), X, y)
    label, proba = run(skl2onnx.to_onnx(clf, X[:1], options={"zipmap": False}), X)
    np.testing.assert_array_equal(label, clf.predict(X))
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("outputs", [1, 2])
def test_pipeline_regressor(skl2onnx, outputs, dtype):
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    rng = np.random.default_rng(13)
    X = rng.normal(size=(50, 3)) * 20
    y = X[:, :outputs] / 20
    reg = fnn.MLPRegressor(hidden_layer_sizes=(5,), max_iter=20, random_state=0)
    pipe = fitted(Pipeline([("s", StandardScaler()), ("m", reg)]),
                  X, y.ravel() if outputs == 1 else y)
    X = X.astype(dtype)
    model = skl2onnx.to_onnx(pipe, X[:1])
    assert declared_shape(model.graph.output[0]) == [None, outputs]
    values, = run(model, X)
    assert values.shape == (50, outputs) and values.dtype == dtype
    np.testing.assert_allclose(values.reshape(pipe.predict(X).shape), pipe.predict(X),
                               atol=TOL[dtype] * 10)


def test_layer_norm_statistics_in_double_as_the_kernel():
    import onnxruntime
    net = fnn.Network([fnn.Dense(3, 3, random_state=0), fnn.LayerNorm(3)], loss="mse")
    net.layers[0].W[...] = np.eye(3)
    X = np.array([[1e4 + 0.01, 1e4 - 0.02, 1e4 + 0.03], [3e19, -2e19, 1e19], [1, 2, 3]],
                 np.float32)
    session = onnxruntime.InferenceSession(fnn.export_onnx(net).SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    got, = session.run(None, {"X": X})
    np.testing.assert_allclose(got, net.predict(X), rtol=1e-5, atol=1e-5)


def test_values_past_float32_and_replaced_estimator_attributes_are_refused():
    net = fnn.Network([fnn.Dense(2, 2)], loss="mse", dtype="float64")
    net.layers[0].W[0, 0] = 1e300
    with pytest.raises(ValueError, match="not a finite float32"):
        fnn.export_onnx(net, dtype="float32")
    X = np.random.default_rng(0).normal(size=(30, 3))
    clf = fnn.MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, np.arange(30) % 3)
    clf.out_activation_ = "logistic"
    with pytest.raises(ValueError, match="do not match the fitted network's 3 outputs"):
        fnn.export_onnx(clf)
