"""Callbacks against Keras' semantics, hand-computed from keras/src/callbacks/: scripted monitor
sequences through a fake network, and the same callbacks inside Network.fit."""
import csv
import math

import numpy as np
import pytest

import fastnn as fnn


class FakeOptimizer:
    def __init__(self, lr):
        self.lr = lr


class FakeNetwork:
    """What a callback reads of a network: stop_training, optimizer.lr, its weights."""

    def __init__(self, lr=1.0):
        self.stop_training, self.optimizer = False, FakeOptimizer(lr)
        self.params = [np.zeros(2)]

    def parameters(self):
        return self.params

    def get_weights(self):
        return [p.copy() for p in self.params]

    def set_weights(self, weights):
        for p, w in zip(self.params, weights):
            p[...] = w


def run_scripted(cb, values, monitor="val_loss", network=None):
    """Feed cb one epoch per value, as fit would; the epochs' logs and the epoch it stopped at."""
    net = network or FakeNetwork()
    cb.network = net
    cb.on_train_begin()
    all_logs, stopped = [], None
    for epoch, value in enumerate(values):
        cb.on_epoch_begin(epoch, {})
        net.params[0][:] = epoch  # the weights "of" each epoch
        logs = {monitor: value}
        cb.on_epoch_end(epoch, logs)
        all_logs.append(logs)
        if net.stop_training:
            stopped = epoch
            break
    cb.on_train_end()
    return all_logs, stopped


def digits(n=240):
    X_train, X_val, y_train, y_val = fnn.datasets.digits()
    return X_train[:n], y_train[:n], X_val[:120], y_val[:120]


def net(seed=0, lr=0.01, dtype="float32"):
    return fnn.Network([fnn.Dense(64, 32), fnn.ReLU(), fnn.Dense(32, 10)],
                       optimizer=fnn.Adam(lr), random_state=seed, dtype=dtype)


# ------------------------------------------------------------------ EarlyStopping

@pytest.mark.parametrize("values, patience, stopped", [
    ([1.0, 0.9, 0.95, 0.96, 0.97, 0.98], 2, 3),  # best at 1: waits 1, 2 -> stops at 1 + 2
    ([1.0, 1.1, 1.2], 0, 1),                     # patience 0: the first epoch without progress
    ([1.0, 0.9, 0.8, 0.7], 1, None),             # always improving
    ([1.0, 1.0, 1.0, 1.0], 3, 3),                # an equal value is no improvement
    ([float("nan"), 1.0, 1.1, 1.2], 2, 3),       # NaN never improves
])
def test_early_stopping_counts_patience_as_keras(values, patience, stopped):
    stop = fnn.EarlyStopping(patience=patience, restore_best_weights=False)
    _, got = run_scripted(stop, values)
    assert got == stopped and stop.stopped_epoch == stopped


def test_early_stopping_min_delta_mode_baseline_and_start_from_epoch():
    # min_delta: 0.95 is not better than 1.0 by more than 0.06
    assert run_scripted(fnn.EarlyStopping(patience=1, min_delta=0.06), [1.0, 0.95, 0.9])[1] == 1
    # mode max (auto for accuracy): rising values improve
    assert run_scripted(fnn.EarlyStopping("val_accuracy", patience=1), [0.1, 0.2, 0.3],
                        "val_accuracy")[1] is None
    assert run_scripted(fnn.EarlyStopping("val_loss", patience=1, mode="max"), [0.3, 0.2],
                        "val_loss")[1] == 1
    # baseline: improving but never below 0.5, the wait is never reset; it stops at the first
    # epoch without improvement once wait >= patience (Keras: wait counts from epoch 0)
    values = [1.0, 0.9, 0.8, 0.85]
    assert run_scripted(fnn.EarlyStopping(patience=2, baseline=0.5), values)[1] == 3
    assert run_scripted(fnn.EarlyStopping(patience=2), values)[1] is None
    # start_from_epoch: the first two epochs are not monitored at all
    values = [0.1, 0.2, 1.0, 1.1, 1.2]
    assert run_scripted(fnn.EarlyStopping(patience=1, start_from_epoch=2), values)[1] == 3
    assert run_scripted(fnn.EarlyStopping(patience=1), values)[1] == 1


def test_early_stopping_restores_the_weights_of_the_best_epoch():
    fake = FakeNetwork()
    stop = fnn.EarlyStopping(patience=2)
    run_scripted(stop, [1.0, 0.5, 0.7, 0.8, 0.9], network=fake)
    assert stop.best_epoch == 1 and fake.params[0].tolist() == [1.0, 1.0]


def test_early_stopping_in_fit_stops_patience_epochs_after_the_best():
    X, y, X_val, y_val = digits()
    for patience in (0, 2, 4):
        network = net(lr=0.05)
        stop = fnn.EarlyStopping("val_loss", patience=patience)
        history = network.fit(X, y, epochs=200, batch_size=16, validation_data=(X_val, y_val),
                              callbacks=[stop], verbose=0)
        val = history.history["val_loss"]
        assert len(val) < 200
        # Keras: wait >= patience, checked on an epoch that does not improve
        assert len(val) == np.argmin(val) + max(patience, 1) + 1
        assert stop.stopped_epoch == len(val) - 1
        np.testing.assert_allclose(network.evaluate(X_val, y_val)["loss"], min(val), rtol=1e-6)


# ------------------------------------------------------------------ ReduceLROnPlateau

def test_reduce_lr_on_plateau_gives_keras_learning_rates():
    # Hand-computed from Keras' ReduceLROnPlateau.on_epoch_end: patience 2, cooldown 2,
    # factor 0.5, min_lr 0.1, from lr 1.0. logs["learning_rate"] is the lr the epoch trained with.
    # (Keras counts the cooldown down before it tests it: cooldown=1 would change nothing.)
    values = [1.0] * 7 + [0.5] + [0.6] * 8
    cb = fnn.ReduceLROnPlateau("loss", factor=0.5, patience=2, cooldown=2, min_lr=0.1)
    fake = FakeNetwork(lr=1.0)
    logs, _ = run_scripted(cb, values, "loss", fake)
    assert [entry["learning_rate"] for entry in logs] == \
        [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.125, 0.125, 0.125, 0.1, 0.1, 0.1]
    assert fake.optimizer.lr == 0.1 and cb.wait == 2  # at min_lr: no reduction, no reset


def test_reduce_lr_on_plateau_min_delta_and_max_mode():
    cb = fnn.ReduceLROnPlateau("val_loss", factor=0.1, patience=1, min_delta=0.2)
    fake = FakeNetwork(lr=1.0)
    run_scripted(cb, [1.0, 0.85], network=fake)  # 0.15 better: not more than min_delta
    assert fake.optimizer.lr == pytest.approx(0.1)
    cb = fnn.ReduceLROnPlateau("val_accuracy", factor=0.1, patience=1)
    fake = FakeNetwork(lr=1.0)
    run_scripted(cb, [0.5, 0.6, 0.7], "val_accuracy", fake)
    assert fake.optimizer.lr == 1.0


def test_reduce_lr_on_plateau_in_fit_sets_the_lr_and_the_history_keeps_it():
    X, y, _, _ = digits()
    network = net(lr=0.01)
    cb = fnn.ReduceLROnPlateau("loss", factor=0.5, patience=0, min_delta=100.0)
    history = network.fit(X, y, epochs=4, callbacks=[cb], verbose=0)
    # the first epoch improves on nothing; each later one is no improvement (min_delta 100)
    np.testing.assert_allclose(history.history["learning_rate"], [0.01, 0.01, 0.005, 0.0025])
    assert network.optimizer.lr == pytest.approx(0.00125)


# ------------------------------------------------------------------ LearningRateScheduler

def test_learning_rate_scheduler_trains_as_setting_the_lr_by_hand():
    X, y, _, _ = digits()
    schedule = lambda epoch, lr: 0.02 * 0.5 ** epoch  # noqa: E731
    a, b = net(lr=0.01), net(lr=0.01)
    history = a.fit(X, y, epochs=3, callbacks=[fnn.LearningRateScheduler(schedule)], verbose=0)
    for epoch in range(3):
        b.optimizer.lr = schedule(epoch, b.optimizer.lr)
        b.fit(X, y, epochs=1, verbose=0)
    assert history.history["learning_rate"] == [0.02, 0.01, 0.005]
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p, q)


def test_learning_rate_scheduler_takes_one_argument_schedules_and_checks_the_result():
    X, y, _, _ = digits(60)
    network = net()
    history = network.fit(X, y, epochs=2, verbose=0,
                          callbacks=[fnn.LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))])
    assert history.history["learning_rate"] == [0.1, 0.05]
    with pytest.raises(ValueError, match=r"schedule\(0, 0.05\) \(the learning rate\) must be"):
        network.fit(X, y, epochs=1, verbose=0,
                    callbacks=[fnn.LearningRateScheduler(lambda epoch, lr: "fast")])
    with pytest.raises(TypeError, match="schedule must be callable"):
        fnn.LearningRateScheduler(0.1)


# ------------------------------------------------------------------ ModelCheckpoint

def test_model_checkpoint_formats_the_path_and_saves_the_best(tmp_path):
    X, y, X_val, y_val = digits()
    network = net(lr=0.05)
    every = fnn.ModelCheckpoint(tmp_path / "all" / "m-{epoch:02d}-{val_loss:.3f}.npz")
    best = fnn.ModelCheckpoint(str(tmp_path / "best-{epoch}.npz"), save_best_only=True)
    history = network.fit(X, y, epochs=12, batch_size=16, validation_data=(X_val, y_val),
                          callbacks=[every, best], verbose=0)
    val = history.history["val_loss"]
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == \
        [f"m-{e + 1:02d}-{v:.3f}.npz" for e, v in enumerate(val)]
    improved = [e for e, v in enumerate(val) if v < min(val[:e], default=math.inf)]
    assert improved != list(range(12))  # the test needs an epoch that did not improve
    assert sorted(p.name for p in tmp_path.glob("best-*.npz")) == \
        sorted(f"best-{e + 1}.npz" for e in improved)
    last = fnn.load(tmp_path / f"best-{improved[-1] + 1}.npz")
    np.testing.assert_allclose(last.evaluate(X_val, y_val)["loss"], min(val), rtol=1e-6)


def test_model_checkpoint_refuses_what_it_cannot_do(tmp_path):
    with pytest.raises(ValueError, match="save_freq must be 'epoch'"):
        fnn.ModelCheckpoint(tmp_path / "m.npz", save_freq=10)
    X, y, _, _ = digits(60)
    with pytest.raises(ValueError, match="ModelCheckpoint monitors 'val_loss'.*validation"):
        net().fit(X, y, callbacks=[fnn.ModelCheckpoint(tmp_path / "m.npz", save_best_only=True)],
                  verbose=0)
    # refused before the first epoch trains: the weights and the step count stay
    model = net()
    before = [p.copy() for p in model.parameters()]
    with pytest.raises(ValueError, match="filepath.*cannot be formatted.*val_auc"):
        model.fit(X, y, callbacks=[fnn.ModelCheckpoint(str(tmp_path / "{val_auc}.npz"))],
                  verbose=0)
    model.optimizer = fnn.Adam(learning_rate=lambda step: 1e-3)  # a schedule no file holds
    with pytest.raises(ValueError, match="ModelCheckpoint could not save.*custom schedule"):
        model.fit(X, y, callbacks=[fnn.ModelCheckpoint(str(tmp_path / "{epoch}.npz"))],
                  verbose=0)
    assert model.optimizer.iterations == 0 and not list(tmp_path.iterdir())
    for p, q in zip(model.parameters(), before):
        np.testing.assert_array_equal(p, q)


# ------------------------------------------------------------------ CSVLogger

def test_csv_logger_writes_the_history_and_appends(tmp_path):
    X, y, X_val, y_val = digits(60)
    path = tmp_path / "log.csv"
    network = net()
    history = network.fit(X, y, epochs=3, validation_data=(X_val, y_val), verbose=0,
                          callbacks=[fnn.CSVLogger(path, separator=";")])
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    assert list(rows[0]) == ["epoch", *sorted(history.history)]
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    for key, values in history.history.items():
        assert [float(r[key]) for r in rows] == values
    network.fit(X, y, epochs=2, verbose=0, callbacks=[fnn.CSVLogger(path, ";", append=True)])
    lines = path.read_text().splitlines()
    assert len(lines) == 1 + 3 + 2 and lines[0].startswith("epoch;")
    assert lines[4].split(";")[0] == "0" and len(lines[4].split(";")) == 4  # its own keys


# ------------------------------------------------------------------ TerminateOnNaN, Lambda

def test_terminate_on_nan_stops_on_a_non_finite_loss():
    assert run_scripted(fnn.TerminateOnNaN(), [1.0, float("inf"), 1.0], "loss")[1] == 1
    assert run_scripted(fnn.TerminateOnNaN(), [1.0, 2.0], "loss")[1] is None
    X, y, _, _ = digits(60)
    spoil = fnn.LambdaCallback(on_epoch_end=lambda epoch, logs: logs.update(loss=float("nan")))
    history = net().fit(X, y, epochs=5, verbose=0, callbacks=[spoil, fnn.TerminateOnNaN()])
    assert len(history.history["loss"]) == 1


def test_lambda_callback_is_called_in_keras_order_and_the_history_keeps_added_keys():
    X, y, _, _ = digits(60)
    calls = []

    def epoch_end(epoch, logs):
        calls.append(("end", epoch))
        logs["doubled"] = 2 * logs["loss"]

    cb = fnn.LambdaCallback(on_train_begin=lambda logs: calls.append("begin"),
                            on_epoch_begin=lambda epoch, logs: calls.append(("start", epoch)),
                            on_epoch_end=epoch_end, on_train_end=lambda logs: calls.append("done"))
    history = net().fit(X, y, epochs=2, verbose=0, callbacks=[cb])
    assert calls == ["begin", ("start", 0), ("end", 0), ("start", 1), ("end", 1), "done"]
    assert history.history["doubled"] == [2 * v for v in history.history["loss"]]
    with pytest.raises(TypeError, match="on_epoch_end must be callable"):
        fnn.LambdaCallback(on_epoch_end=3)
    with pytest.raises(TypeError):
        fnn.LambdaCallback(on_batch_end=print)  # no per-batch hooks


def test_verbose_callbacks_print_as_keras(capsys, tmp_path):
    fake = FakeNetwork(lr=1.0)
    fake.save = lambda path: None
    run_scripted(fnn.ReduceLROnPlateau(patience=1, factor=0.5, verbose=1), [1.0, 1.0], network=fake)
    run_scripted(fnn.EarlyStopping(patience=1, verbose=1), [1.0, 0.5, 0.6], network=fake)
    run_scripted(fnn.ModelCheckpoint(str(tmp_path / "m{epoch}.npz"), verbose=1), [1.0],
                 network=fake)
    assert capsys.readouterr().out.splitlines() == [
        "Epoch 2: ReduceLROnPlateau reducing learning rate to 0.5.",
        "Epoch 3: early stopping",
        "Restoring model weights from the end of the best epoch: 2.",
        f"Epoch 1: saving model to {tmp_path / 'm1.npz'}"]


@pytest.mark.parametrize("make, match", [
    (lambda: fnn.ReduceLROnPlateau(factor=1.0), "factor must be a number in"),
    (lambda: fnn.ReduceLROnPlateau(patience=-1), "patience must be an integer >= 0"),
    (lambda: fnn.ReduceLROnPlateau(min_lr=-1.0), "min_lr must be"),
    (lambda: fnn.ReduceLROnPlateau(mode="up"), "mode must be"),
    (lambda: fnn.EarlyStopping(start_from_epoch=-1), "start_from_epoch must be"),
    (lambda: fnn.EarlyStopping(baseline="low"), "baseline must be"),
    (lambda: fnn.CSVLogger("x.csv", separator=";;"), "separator must be one character"),
    (lambda: fnn.EarlyStopping(verbose=2), "verbose must be 0 or 1"),
])
def test_bad_callback_arguments_are_refused_by_name(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("make", [lambda: fnn.ReduceLROnPlateau("loss", patience=0),
                                  lambda: fnn.LearningRateScheduler(lambda epoch, lr: lr / 2)],
                         ids=["ReduceLROnPlateau", "LearningRateScheduler"])
def test_callbacks_that_set_the_lr_refuse_an_optimizer_on_a_schedule(make):
    """Keras refuses them too: setting optimizer.lr would silently replace the schedule."""
    X, y = np.random.default_rng(0).standard_normal((40, 3)), np.arange(40) % 2
    schedule = fnn.ExponentialDecay(0.1, 10, 0.5)
    net = fnn.Network([fnn.Dense(3, 4), fnn.ReLU(), fnn.Dense(4, 2)],
                      optimizer=fnn.SGD(learning_rate=schedule), random_state=0)
    before = [p.copy() for p in net.parameters()]
    with pytest.raises(ValueError, match="schedule"):
        net.fit(X, y, epochs=2, verbose=0, callbacks=[make()])
    assert net.optimizer.lr is schedule and net.optimizer.iterations == 0
    for p, q in zip(net.parameters(), before):
        np.testing.assert_array_equal(p, q)
