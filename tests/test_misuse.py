"""Misuse of issue 22's features that an attack found giving silent garbage, a lost model or an
unclear error: each is now a clear exception before anything changes."""
import os

import numpy as np
import pytest

import fastnn as fnn


def data(n=60, classes=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 4)), np.arange(n) % classes


@pytest.mark.parametrize("tail", [[fnn.Sigmoid(), fnn.Identity()],
                                  [fnn.Sigmoid(), fnn.Dropout(0.0)],
                                  [fnn.Sigmoid(), fnn.Dropout(0.2), fnn.Identity()]],
                         ids=["identity", "dropout", "both"])
def test_a_final_activation_followed_by_identities_is_refused(tail):
    """The double sigmoid came back with any layer after the Sigmoid: predictions in 0.5..0.73."""
    with pytest.raises(ValueError, match=r"layers\[1\] is a Sigmoid.*make it the last layer"):
        fnn.Network([fnn.Dense(4, 1), *tail], loss="binary_cross_entropy")
    with pytest.raises(ValueError, match=r"layers\[1\] is a Softmax"):
        fnn.Network([fnn.Dense(4, 3), fnn.Softmax(), fnn.Identity()])


def test_a_failed_network_leaves_the_dense_activation_as_given():
    dense = fnn.Dense(4, 8, activation="relu")
    with pytest.raises(ValueError, match="do not chain"):
        fnn.Network([dense, fnn.Dense(5, 2)])
    assert dense.activation == "relu"
    net = fnn.Network([dense, fnn.Dense(8, 2)])
    assert [type(layer).__name__ for layer in net.layers] == ["Dense", "ReLU", "Dense"]


@pytest.mark.parametrize("value", [-0.5, np.nan], ids=["negative", "nan"])
def test_running_statistics_that_no_file_or_training_takes_are_refused(tmp_path, value):
    X, y = data()
    net = fnn.Network([fnn.Dense(4, 8), fnn.BatchNorm(8), fnn.ReLU(), fnn.Dense(8, 2)])
    net.layers[1].running_var[0] = value  # in place: no check saw it
    with pytest.raises(ValueError, match="cannot save"):
        net.save(tmp_path / "m.npz")
    assert not os.path.exists(tmp_path / "m.npz")
    with pytest.raises(ValueError, match=r"layers\[1\]'s running"):
        net.fit(X, y, epochs=1, verbose=0)
    assert net.optimizer.iterations == 0


@pytest.mark.parametrize("engine", [True, False], ids=["engine", "layers"])
def test_a_schedule_that_overflows_is_the_documented_value_error(engine):
    X, y = data()
    # the layer path asks for each step's rate at that step: it diverges at 1e8 first
    schedules = [lambda step: 10 ** 400] + [fnn.ExponentialDecay(0.01, 1, 1e10)] * engine
    for schedule in schedules:
        net = fnn.Network([fnn.Dense(4, 2)], optimizer=fnn.SGD(learning_rate=schedule),
                          engine=engine)
        with pytest.raises(ValueError, match="finite number >= 0"):
            net.fit(X, y, epochs=400, verbose=0)


def test_a_schedule_that_changes_the_network_is_refused_in_the_engine():
    X, y = data()
    net = fnn.Network([fnn.Dense(4, 2)], optimizer="sgd", random_state=0)

    def schedule(step):
        net.layers[0].W = np.zeros((4, 2), np.float32)  # a new array the plan does not know
        return 0.1
    net.optimizer = fnn.SGD(learning_rate=schedule)
    with pytest.raises(RuntimeError, match="schedule changed the network"):
        net.fit(X, y, epochs=2, verbose=0)
    assert net.optimizer.iterations == 0


def test_class_weight_beyond_the_dtype_is_refused_by_name():
    X, y = data()
    for engine in (True, False):
        net = fnn.Network([fnn.Dense(4, 2)], engine=engine)
        with pytest.raises(ValueError, match=r"class_weight\[0\]=1e\+39 is not a finite float32"):
            net.fit(X, y, class_weight={0: 1e39}, verbose=0)
        with pytest.raises(ValueError, match="overflows float32"):
            net.fit(X, y, class_weight={0: 1e30}, sample_weight=np.full(60, 1e30), verbose=0)
        assert net.optimizer.iterations == 0


@pytest.mark.parametrize("path, match", [("afile/m.npz", "is not a folder"),
                                         ("folder/", "names no file"), ("folder", "a folder")])
def test_model_checkpoint_refuses_a_path_it_cannot_write_before_training(tmp_path, path, match):
    (tmp_path / "afile").write_text("")
    (tmp_path / "folder").mkdir()
    X, y = data()
    net = fnn.Network([fnn.Dense(4, 2)])
    with pytest.raises(ValueError, match=match):
        net.fit(X, y, epochs=2, verbose=0,
                callbacks=[fnn.ModelCheckpoint(f"{tmp_path}/{path}", monitor="loss")])
    assert net.optimizer.iterations == 0
    fnn.Network([fnn.Dense(4, 2)]).fit(  # folders that do not exist yet are made
        X, y, epochs=1, verbose=0,
        callbacks=[fnn.ModelCheckpoint(str(tmp_path / "new" / "deep" / "m.npz"), monitor="loss")])
    assert os.path.exists(tmp_path / "new" / "deep" / "m.npz")


@pytest.mark.parametrize("name", ["accuracy", "seconds", "val_loss", "loss", "learning_rate"])
def test_a_metric_named_as_a_key_of_the_logs_is_refused(name):
    def metric(y_true, y_pred):
        return 0.5
    metric.__name__ = name
    X, y = data()
    with pytest.raises(ValueError, match=f"may not be named '{name}'"):
        fnn.Network([fnn.Dense(4, 2)]).fit(X, y, metrics=[metric], verbose=0)


@pytest.mark.parametrize("make", [lambda dtype: fnn.Dense(2, 1, dtype=dtype),
                                  lambda dtype: fnn.BatchNorm(3, dtype=dtype),
                                  lambda dtype: fnn.BatchNormalization(3, dtype=dtype),
                                  lambda dtype: fnn.LayerNorm(3, dtype=dtype)],
                         ids=["Dense", "BatchNorm", "BatchNormalization", "LayerNorm"])
@pytest.mark.parametrize("dtype", ["int8", "int32", "float16", "complex128", "no such dtype"])
def test_a_layer_refuses_a_dtype_other_than_float32_and_float64(make, dtype):
    with pytest.raises(ValueError, match=r"dtype must be float32 or float64"):
        make(dtype)
    assert make("float64").parameters()[0].dtype == np.float64


@pytest.mark.parametrize("call, error, match", [
    (lambda: fnn.Network([fnn.Dense(2, 3), "relu", fnn.Dense(3, 1)]), TypeError,
     r"layers\[1\] must be a fastnn layer, got str"),
    (lambda: fnn.SGD(0.1).step([np.ones(3), np.ones(2)], [np.ones(3)]), ValueError,
     r"grads must hold one entry per parameter \(2\), got 1"),
    (lambda: fnn.SGD(0.1).step([np.ones(3)], [np.ones(3)], [0.0, 0.0]), ValueError,
     r"extra_decay must hold one entry per parameter \(1\), got 2"),
    (lambda: fnn.gradcheck(3, np.ones((2, 2)), [0, 1]), TypeError, "network must be"),
    (lambda: fnn.gradcheck(fnn.Network([fnn.Dense(2, 2)]), np.ones((2, 2)), [0, 1], eps=0),
     ValueError, r"eps must be a number in \(0, inf\)"),
    (lambda: fnn.gradcheck(fnn.Network([fnn.Dense(2, 2)]), np.ones((2, 2)), [0, 1],
                           max_checks_per_param=0), ValueError, "max_checks_per_param"),
    (lambda: fnn.datasets.spiral(noise=float("nan")), ValueError, "noise must be"),
    (lambda: fnn.datasets.spiral(samples=True), ValueError, "samples must be"),
    (lambda: fnn.metrics.get(["r2"], "regression"), ValueError, "kind must be"),
], ids=["non-layer", "grads", "extra_decay", "gradcheck network", "gradcheck eps",
        "gradcheck checks", "spiral noise", "spiral samples", "metrics kind"])
def test_bad_arguments_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call()
