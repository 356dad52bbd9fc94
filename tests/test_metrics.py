"""fit's and evaluate's metrics= against scikit-learn's functions on the network's predictions,
and class_weight= against the sample weights it stands for."""
import numpy as np
import pytest
from sklearn import metrics as skm

import fastnn as fnn
from fastnn import training


def digits(n=300):
    X_train, X_test, y_train, y_test = fnn.datasets.digits()
    return X_train[:n], y_train[:n], X_test[:150], y_test[:150]


def trained(layers, loss, X, y, epochs=3, **kwargs):
    network = fnn.Network(layers, loss=loss, optimizer=fnn.Adam(0.01), dtype="float64",
                          random_state=0)
    network.fit(X, y, epochs=epochs, verbose=0, **kwargs)
    return network


def test_multiclass_metrics_are_sklearn_macro_averages():
    X, y, X_test, y_test = digits()
    network = trained([fnn.Dense(64, 16), fnn.ReLU(), fnn.Dense(16, 10)],
                      "softmax_cross_entropy", X, y)
    got = network.evaluate(X_test, y_test, metrics=["accuracy", "acc", "precision", "recall",
                                                     "f1", "f1_score", "auc"])
    proba = network.predict(X_test)
    pred = proba.argmax(axis=1)
    assert got["acc"] == got["accuracy"] == skm.accuracy_score(y_test, pred)
    assert got["precision"] == skm.precision_score(y_test, pred, average="macro", zero_division=0)
    assert got["recall"] == skm.recall_score(y_test, pred, average="macro", zero_division=0)
    assert got["f1"] == got["f1_score"] == skm.f1_score(y_test, pred, average="macro")
    np.testing.assert_allclose(got["auc"], skm.roc_auc_score(y_test, proba, multi_class="ovr"),
                               rtol=1e-12)
    # one-hot targets give the same numbers
    onehot = network.evaluate(X_test, np.eye(10)[y_test], metrics=["precision", "auc"])
    assert onehot["precision"] == got["precision"] and onehot["auc"] == got["auc"]


def test_two_class_softmax_and_one_sigmoid_output_are_binary():
    X, y, X_test, y_test = digits()
    yb, yb_test = (y >= 5).astype(int), (y_test >= 5).astype(int)
    softmax = trained([fnn.Dense(64, 8), fnn.ReLU(), fnn.Dense(8, 2)], "softmax_cross_entropy",
                      X, yb)
    sigmoid = trained([fnn.Dense(64, 8), fnn.ReLU(), fnn.Dense(8, 1)], "binary_cross_entropy",
                      X, yb)
    names = ["precision", "recall", "f1", "auc", "acc"]
    for network, score in ((softmax, lambda p: p[:, 1]), (sigmoid, lambda p: p[:, 0])):
        got = network.evaluate(X_test, yb_test, metrics=names)
        p = score(network.predict(X_test))
        pred = (p > 0.5).astype(int)
        assert 0 < got["precision"] < 1
        assert got["precision"] == skm.precision_score(yb_test, pred)
        assert got["recall"] == skm.recall_score(yb_test, pred)
        assert got["f1"] == skm.f1_score(yb_test, pred)
        assert got["acc"] == skm.accuracy_score(yb_test, pred)
        np.testing.assert_allclose(got["auc"], skm.roc_auc_score(yb_test, p), rtol=1e-12)


def test_multi_label_metrics_are_macro_over_the_outputs():
    X, y, X_test, y_test = digits()
    Y = np.stack([y >= 5, y % 2 == 0, y == 3], axis=1).astype(float)
    Y_test = np.stack([y_test >= 5, y_test % 2 == 0, y_test == 3], axis=1).astype(float)
    network = trained([fnn.Dense(64, 8), fnn.ReLU(), fnn.Dense(8, 3)], "binary_cross_entropy",
                      X, Y, epochs=5)
    got = network.evaluate(X_test, Y_test, metrics=["precision", "recall", "f1", "auc", "acc"])
    proba = network.predict(X_test)
    pred = (proba > 0.5).astype(int)
    assert got["acc"] == got["accuracy"] == np.mean(pred == Y_test)  # per output, as Keras
    for name, function in (("precision", skm.precision_score), ("recall", skm.recall_score),
                           ("f1", skm.f1_score)):
        assert got[name] == function(Y_test, pred, average="macro", zero_division=0)
    np.testing.assert_allclose(got["auc"], skm.roc_auc_score(Y_test, proba, average="macro"),
                               rtol=1e-12)


def test_auc_leaves_out_undefined_classes_and_is_nan_when_none_is_defined():
    X, y, X_test, y_test = digits()
    network = trained([fnn.Dense(64, 10)], "softmax_cross_entropy", X, y)
    keep = y_test < 3  # classes 3..9 are absent
    proba = network.predict(X_test[keep])
    want = np.mean([skm.roc_auc_score(y_test[keep] == k, proba[:, k]) for k in range(3)])
    got = network.evaluate(X_test[keep], y_test[keep], metrics=["auc"])["auc"]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert np.isnan(network.evaluate(X_test[:5], np.zeros(5, int), metrics=["auc"])["auc"])


@pytest.mark.parametrize("outputs", [1, 3])
def test_regression_metrics_are_sklearns(outputs):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    Y = X[:, :outputs] * 2.0 + 0.1 * rng.normal(size=(200, outputs))
    network = trained([fnn.Dense(5, 16), fnn.Tanh(), fnn.Dense(16, outputs)], "mse", X, Y,
                      epochs=20)
    got = network.evaluate(X, Y, metrics=["mae", "mean_absolute_error", "mse", "rmse", "r2",
                                          "r2_score"])
    pred = network.predict(X)
    assert got["mae"] == got["mean_absolute_error"] == skm.mean_absolute_error(Y, pred)
    assert got["mse"] == skm.mean_squared_error(Y, pred)
    assert got["rmse"] == skm.root_mean_squared_error(Y, pred)
    assert got["r2"] == got["r2_score"] == skm.r2_score(Y, pred)
    assert 0.5 < got["r2"] < 1


@pytest.mark.parametrize("engine", [True, False])
def test_fit_reports_metrics_per_epoch_with_the_epochs_final_weights(engine):
    X, y, X_val, y_val = digits()
    seen = []

    def median_confidence(y_true, y_pred):
        return float(np.median(y_pred.max(axis=1)))

    record = fnn.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(
        (network.predict(X), network.predict(X_val))))
    network = fnn.Network([fnn.Dense(64, 16), fnn.ReLU(), fnn.Dense(16, 10)], random_state=0,
                          engine=engine)
    history = network.fit(X, y, epochs=3, validation_data=(X_val, y_val), verbose=0,
                          metrics=["f1", median_confidence], callbacks=[record]).history
    for epoch, (proba, proba_val) in enumerate(seen):
        assert history["f1"][epoch] == skm.f1_score(y, proba.argmax(axis=1), average="macro")
        assert history["val_f1"][epoch] == skm.f1_score(y_val, proba_val.argmax(axis=1),
                                                        average="macro")
        assert history["median_confidence"][epoch] == median_confidence(y, proba)
        assert history["val_median_confidence"][epoch] == median_confidence(y_val, proba_val)
    assert history["f1"][0] < history["f1"][-1]


def test_fit_without_metrics_keeps_the_multi_epoch_engine_call(monkeypatch):
    X, y, _, _ = digits(64)
    calls = []
    original = training.fit_in_engine
    monkeypatch.setattr(training, "fit_in_engine",
                        lambda *args: calls.append(1) or original(*args))
    network = fnn.Network([fnn.Dense(64, 10)], random_state=0)
    network.fit(X, y, epochs=2, verbose=0)
    assert calls == [1]
    history = network.fit(X, y, epochs=2, verbose=0, metrics=["f1"])
    assert calls == [1] and len(history.history["f1"]) == 2


def test_metrics_with_a_validation_split_can_be_monitored():
    X, y, _, _ = digits()
    network = fnn.Network([fnn.Dense(64, 10)], random_state=0)
    stop = fnn.EarlyStopping("val_auc", patience=1)  # auto mode: maximized
    assert stop.mode == "max"
    history = network.fit(X, y, epochs=3, validation_split=0.2, metrics=["auc"], verbose=0,
                          callbacks=[stop]).history
    assert len(history["val_auc"]) == len(history["auc"]) >= 2


@pytest.mark.parametrize("metrics, error, match", [
    ("f1", TypeError, "metrics must be a list"),
    (["f2"], ValueError, "unknown metric 'f2'"),
    (["mae"], ValueError, "'mae' is a regression metric"),
    (["f1", "f1"], ValueError, "names 'f1' twice"),
    ([3], TypeError, "metrics must hold metric names or callables"),
    ([lambda t, p: "high"], TypeError, "must return a number"),
])
def test_bad_metrics_are_refused_by_name(metrics, error, match):
    X, y, _, _ = digits(40)
    network = fnn.Network([fnn.Dense(64, 10)], random_state=0)
    with pytest.raises(error, match=match):
        network.evaluate(X, y, metrics=metrics)
    before = [p.copy() for p in network.parameters()]
    with pytest.raises(error, match=match):
        network.fit(X, y, verbose=0, metrics=metrics)
    if error is not TypeError or "number" not in match:  # refused before training
        assert all(np.array_equal(a, b) for a, b in zip(before, network.parameters()))


def test_classification_metrics_on_a_regression_network_are_refused():
    network = fnn.Network([fnn.Dense(3, 1)], loss="mse", random_state=0)
    with pytest.raises(ValueError, match="'auc' is a classification metric; this network's loss "
                                         "is not a classification loss"):
        network.evaluate(np.zeros((4, 3)), np.zeros(4), metrics=["auc"])


# ------------------------------------------------------------------ class_weight

@pytest.mark.parametrize("engine", [True, False])
@pytest.mark.parametrize("targets", ["labels", "one-hot"])
def test_class_weight_trains_as_the_sample_weights_it_stands_for(engine, targets):
    X, y, _, _ = digits(200)
    class_weight = {0: 2.0, 3: 0.5, 7: 0.0}
    sample_weight = np.random.default_rng(1).uniform(0.5, 1.5, len(X)).astype(np.float32)
    want = np.array([class_weight.get(c, 1.0) for c in y], np.float32) * sample_weight
    Y = y if targets == "labels" else np.eye(10)[y]
    a, b = (fnn.Network([fnn.Dense(64, 16), fnn.ReLU(), fnn.Dense(16, 10)], random_state=0,
                        engine=engine) for _ in range(2))
    ha = a.fit(X, Y, epochs=2, class_weight=class_weight, sample_weight=sample_weight, verbose=0)
    hb = b.fit(X, Y, epochs=2, sample_weight=want, verbose=0)
    assert ha.history["loss"] == hb.history["loss"]
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p, q)


def test_class_weight_on_one_binary_output_and_only_on_the_training_part():
    X, y, _, _ = digits(200)
    yb = (y >= 5).astype(float)
    make = lambda: fnn.Network([fnn.Dense(64, 1)], loss="binary_cross_entropy",  # noqa: E731
                               random_state=0)
    a, b = make(), make()
    ha = a.fit(X, yb, epochs=2, class_weight={1: 3.0}, validation_split=0.25, verbose=0)
    # the split of b draws the same rows: its training part weighted by hand
    y_all = yb.reshape(-1, 1).astype(np.float32)
    train, validation = b._split(X, y_all, None, 0.25)
    X_fit, y_fit = X[train], y_all[train]
    hb = b.fit(X_fit, y_fit, epochs=2, sample_weight=np.where(y_fit[:, 0] == 1, 3.0, 1.0),
               validation_data=validation[:2], verbose=0)
    del ha.history["seconds"], hb.history["seconds"]
    assert ha.history == hb.history and "val_loss" in ha.history


@pytest.mark.parametrize("loss, outputs, class_weight, error, match", [
    ("mse", 1, {0: 1.0}, ValueError, "class_weight needs a classification loss"),
    ("binary_cross_entropy", 3, {0: 1.0}, ValueError, "multi-label"),
    ("softmax_cross_entropy", 10, {10: 1.0}, ValueError, r"key 10, which is not a class.*0\.\.9"),
    ("softmax_cross_entropy", 10, {-1: 1.0}, ValueError, "key -1"),
    ("softmax_cross_entropy", 10, {"a": 1.0}, ValueError, "key 'a'"),
    ("binary_cross_entropy", 1, {2: 1.0}, ValueError, r"0\.\.1"),
    ("softmax_cross_entropy", 10, {1: -2.0}, ValueError, r"class_weight\[1\] must be"),
    ("softmax_cross_entropy", 10, [1.0, 2.0], TypeError, "class_weight must be a dict"),
    ("softmax_cross_entropy", 10, {k: 0 for k in range(10)}, ValueError, "weighs every"),
])
def test_bad_class_weights_are_refused_before_training(loss, outputs, class_weight, error, match):
    X, y, _, _ = digits(40)
    Y = y if outputs == 10 else np.zeros((40, outputs))
    network = fnn.Network([fnn.Dense(64, outputs)], loss=loss, random_state=0)
    before = [p.copy() for p in network.parameters()]
    generator = network.rng.bit_generator.state
    with pytest.raises(error, match=match):
        network.fit(X, Y, class_weight=class_weight, validation_split=0.2, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, network.parameters()))
    assert network.rng.bit_generator.state == generator


def test_a_training_part_weighted_zero_after_the_split_is_refused_and_draws_nothing():
    import copy
    X, y, _, _ = digits(40)
    network = fnn.Network([fnn.Dense(64, 10)], random_state=0)
    # which rows the split sends to validation: the same draw on a copy, on row numbers
    rows = np.arange(40.0).reshape(-1, 1)
    probe = copy.deepcopy(network)
    _, (val_rows, _, _) = probe._split(rows, y, None, 0.25)
    weights = np.zeros(40)
    weights[int(val_rows[0, 0])] = 1.0  # the one weighted sample is a validation sample
    generator = network.rng.bit_generator.state
    with pytest.raises(ValueError, match="weighs every training sample zero"):
        network.fit(X, y, sample_weight=weights, class_weight={0: 2.0}, validation_split=0.25,
                    verbose=0)
    assert network.rng.bit_generator.state == generator


# ------------------------------------------------------------------ Keras' loss names

@pytest.mark.parametrize("name, cls, config", [
    ("categorical_crossentropy", fnn.CrossEntropy, {"eps": 1e-7}),
    ("sparse_categorical_crossentropy", fnn.CrossEntropy, {"eps": 1e-7}),
    ("binary_crossentropy", fnn.BinaryCrossEntropy,
     {"from_logits": False, "eps": 1e-7, "sum_outputs": False}),
    ("mean_squared_error", fnn.MSE, {}), ("mse", fnn.MSE, {}),
    ("mean_absolute_error", fnn.MAE, {}), ("mae", fnn.MAE, {}),
    ("huber", fnn.Huber, {"delta": 1.0}), ("poisson", fnn.Poisson, {}),
])
def test_keras_loss_names(name, cls, config):
    loss = fnn.losses.get(name)
    assert type(loss) is cls and loss.config() == config
    network = fnn.Network([fnn.Dense(3, 2), fnn.Softmax()], loss=name)
    assert type(network.loss) is cls


def test_keras_categorical_crossentropy_after_softmax_trains_fused_like_ours():
    X, y, _, _ = digits(100)
    make = lambda loss: fnn.Network([fnn.Dense(64, 10), fnn.Softmax()], loss=loss,  # noqa: E731
                                    random_state=0)
    a, b = make("sparse_categorical_crossentropy"), make("softmax_cross_entropy")
    b.layers = b.layers[:1]
    b.loss = "softmax_cross_entropy"
    a.fit(X, y, epochs=2, verbose=0)
    b.fit(X, y, epochs=2, verbose=0)
    np.testing.assert_array_equal(a.layers[0].W, b.layers[0].W)


def test_unknown_loss_names_list_the_keras_names():
    with pytest.raises(ValueError, match="binary_crossentropy"):
        fnn.losses.get("kl_divergence")
