"""fastnn.training: the one loop that Network.fit and the estimators' sgd and adam run."""
import warnings

import numpy as np
import pytest

import fastnn as fnn
from fastnn import training
from fastnn.validation import check_xy


def net_and_data(engine=True, lr=0.05, seed=0):
    X, _, y, _ = fnn.datasets.digits()
    net = fnn.Network([fnn.Dense(64, 16), fnn.ReLU(), fnn.Dropout(0.2), fnn.Dense(16, 10)],
                      optimizer=fnn.SGD(lr, momentum=0.9), random_state=seed, engine=engine)
    return net, X[:200], y[:200]


@pytest.mark.parametrize("engine", [True, False])
def test_run_epochs_with_fit_hooks_gives_the_numbers_of_fit(engine):
    """run_epochs with fit's shuffle and a hook that stops after epoch 2 trains exactly as
    fit(epochs=3), bit for bit (dropout streams and generator included)."""
    a, X, y = net_and_data(engine)
    b, _, _ = net_and_data(engine)
    a.fit(X, y, epochs=3, batch_size=32, verbose=0, callbacks=[fnn.History()])
    b.prepare_training()
    Xc, yc, _ = check_xy(b, X, y)
    seen = []

    def end(epoch, logs):
        seen.append((epoch, sorted(logs)))
        return epoch == 2

    finished = training.run_epochs(b, Xc, yc, None, 10, 32, lambda: b.rng.permutation(len(X)),
                                   end)
    assert finished and [e for e, _ in seen] == [0, 1, 2]
    assert seen[0][1] == ["accuracy", "loss", "seconds"]
    assert b.optimizer.iterations == a.optimizer.iterations == 3 * 7
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p, q)
    assert a.rng.bit_generator.state == b.rng.bit_generator.state


@pytest.mark.parametrize("engine", [True, False])
def test_run_epochs_puts_back_the_epoch_that_diverged(engine):
    net, X, y = net_and_data(engine, lr=1e30)
    Xc, yc, _ = check_xy(net, X * 1e30, y)
    net.prepare_training()
    before = [p.copy() for p in net.parameters()]
    with pytest.warns(RuntimeWarning, match="NaN or infinite"):
        finished = training.run_epochs(net, Xc, yc, None, 3, 32, lambda: np.arange(len(X)),
                                       lambda epoch, logs: pytest.fail("an epoch ended"))
    assert not finished and net.optimizer.iterations == 0
    for p, q in zip(before, net.parameters()):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("engine", [True, False])
@pytest.mark.parametrize("callbacks", [(), [fnn.History()]])
def test_the_divergence_warning_points_at_the_call_of_fit(engine, callbacks):
    net, X, y = net_and_data(engine, lr=1e30)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net.fit(X * 1e30, y, epochs=2, verbose=0, callbacks=callbacks)
    assert [w.filename for w in caught] == [__file__]


def test_the_estimators_stochastic_solvers_run_the_loop(monkeypatch):
    """MLPClassifier(solver="sgd") trains through training.run_epochs, with one call per fit,
    its epochs ended by the estimator's hook (max_iter)."""
    from fastnn.sklearn import MLPClassifier
    calls, run_epochs = [], training.run_epochs

    def counted(net, X, y, sample_weight, epochs, *args, **kwargs):
        calls.append(epochs)
        return run_epochs(net, X, y, sample_weight, epochs, *args, **kwargs)

    monkeypatch.setattr(training, "run_epochs", counted)
    X, _, y, _ = fnn.datasets.digits()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = MLPClassifier(hidden_layer_sizes=(16,), solver="sgd", max_iter=4, tol=0,
                            random_state=0).fit(X[:200], y[:200])
    assert calls == [4] and clf.n_iter_ == 4 and len(clf.loss_curve_) == 4


@pytest.mark.parametrize("engine", [True, False], ids=["engine", "layers"])
@pytest.mark.parametrize("callbacks", [(), [fnn.History()]], ids=["engine-loop", "epoch-loop"])
def test_an_overflow_of_adams_moments_alone_ends_the_epoch_on_every_path(engine, callbacks):
    """Gradients of about 1e24 in float32: Adam's second moment overflows to inf while the loss
    and the weights stay finite (the step is m / sqrt(inf) = 0). The engine counts that as a
    divergence; so does the layer path: the epoch is put back and fit warns, on each path."""
    X = np.full((8, 2), 1e12, np.float32)
    y = np.full((8, 1), 1e12, np.float32)
    net = fnn.Network([fnn.Dense(2, 1)], loss="mse", optimizer=fnn.Adam(1e-3), dtype="float32",
                      random_state=0, engine=engine)
    before = [p.copy() for p in net.parameters()]
    with pytest.warns(RuntimeWarning, match="NaN or infinite"):
        history = net.fit(X, y, epochs=3, batch_size=8, verbose=0, callbacks=callbacks)
    assert history.history == {} and net.optimizer.iterations == 0
    assert all(np.isfinite(s).all() for state in net.optimizer.state for s in state)
    for p, q in zip(before, net.parameters()):
        np.testing.assert_array_equal(p, q)
    # the loss alone is finite: one unchecked step leaves the moment at inf
    loss, _ = net.loss_and_gradients(*check_xy(net, X, y)[:2])
    net.optimizer.step(net.parameters(), net.gradients())
    assert np.isfinite(loss) and not all(np.isfinite(s).all() for state in net.optimizer.state
                                         for s in state)
