"""The fused engine against the layer-by-layer Python path (the same numbers, bit for bit) and
against the plain-NumPy reference training loop (the same numbers to float rounding)."""
import numpy as np
import pytest
from conftest import assert_close

import fastnn as fnn
from fastnn.engine import compile_plan, output_code
from fastnn.reference_loop import ReferenceNetwork

OPTIMIZERS = [fnn.SGD(0.1), fnn.SGD(0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
              fnn.SGD(0.1, momentum=0.8, decay=0.01), fnn.Adam(0.01, weight_decay=1e-4),
              fnn.RMSprop(0.005), fnn.Adagrad(0.05, decay=0.001),
              fnn.AdamW(0.01, weight_decay=0.05, decay=0.01),
              fnn.optimizers.Adamax(0.01, weight_decay=1e-4, decay=0.01)]


def data(n=97, d=6, c=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    return X, rng.integers(0, c, n), rng.uniform(0, 2, n).astype(np.float32)


def twin_networks(layers_fn, loss="softmax_cross_entropy", optimizer=None, dtype="float32"):
    nets = []
    for engine in (True, False):
        opt = optimizer or fnn.SGD(0.1)
        nets.append(fnn.Network(layers_fn(), loss=loss, optimizer=type(opt)(**opt.config()),
                                dtype=dtype, random_state=7, engine=engine))
    return nets


def mlp(dropout=0.0, activation=fnn.ReLU, out=3):
    def build():
        layers = [fnn.Dense(6, 16), activation()]
        if dropout:
            layers.append(fnn.Dropout(dropout))
        return layers + [fnn.Dense(16, 8), fnn.Tanh(), fnn.Dense(8, out)]
    return build


def assert_same_training(a, b, X, y, **fit):
    assert compile_plan(a, fit.get("batch_size", 32)) is not None  # a really uses the engine
    ha = a.fit(X, y, verbose=0, **fit)
    hb = b.fit(X, y, verbose=0, **fit)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p, q)
    for key in hb.history:
        if key != "seconds":
            np.testing.assert_allclose(ha.history[key], hb.history[key], rtol=1e-12)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=repr)
def test_engine_equals_python_path_for_every_optimizer(optimizer):
    X, y, _ = data()
    a, b = twin_networks(mlp(), optimizer=optimizer)
    assert_same_training(a, b, X, y, epochs=3, batch_size=16)


@pytest.mark.parametrize("activation", [fnn.ReLU, lambda: fnn.LeakyReLU(0.2), fnn.Sigmoid,
                                        fnn.Tanh, fnn.Identity, lambda: fnn.ELU(0.5), fnn.SELU,
                                        fnn.Softplus, fnn.GELU, lambda: fnn.GELU("tanh"),
                                        fnn.SiLU],
                         ids=["relu", "leaky_relu", "sigmoid", "tanh", "identity", "elu", "selu",
                              "softplus", "gelu", "gelu_tanh", "silu"])
def test_engine_equals_python_path_with_dropout_and_weights(activation):
    X, y, w = data()
    a, b = twin_networks(mlp(dropout=0.3, activation=activation), optimizer=fnn.Adam(0.01))
    assert_same_training(a, b, X, y, epochs=3, batch_size=10, sample_weight=w,
                         validation_split=0.2)


LOSSES = {
    "softmax_cross_entropy": (None, lambda r, n: r.integers(0, 3, n)),
    "cross_entropy": (fnn.Softmax, lambda r, n: r.integers(0, 3, n)),
    "binary_cross_entropy": (None, lambda r, n: r.integers(0, 2, (n, 3)).astype(np.float32)),
    "bce_sum": (None, lambda r, n: r.integers(0, 2, (n, 3)).astype(np.float32)),
    "bce_probs": (fnn.Sigmoid, lambda r, n: r.integers(0, 2, (n, 3)).astype(np.float32)),
    "mse": (None, lambda r, n: r.standard_normal((n, 3)).astype(np.float32)),
    "mae": (None, lambda r, n: r.standard_normal((n, 3)).astype(np.float32)),
    "sum_of_squares": (fnn.Sigmoid, lambda r, n: r.uniform(0, 1, (n, 3)).astype(np.float32)),
    "one_hot": (None, lambda r, n: np.eye(3, dtype=np.float32)[r.integers(0, 3, n)]),
    "huber": (None, lambda r, n: 2 * r.standard_normal((n, 3)).astype(np.float32)),
    "poisson": (None, lambda r, n: r.poisson(1.5, (n, 3)).astype(np.float32)),
    "half_poisson_deviance": (None, lambda r, n: r.poisson(1.5, (n, 3)).astype(np.float32)),
}


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_engine_equals_python_path_for_every_loss(name, dtype):
    final, make = LOSSES[name]
    X, _, _ = data()
    y = make(np.random.default_rng(1), len(X))
    loss = {"bce_probs": fnn.BinaryCrossEntropy(from_logits=False),
            "bce_sum": fnn.BinaryCrossEntropy(sum_outputs=True),
            "one_hot": "softmax_cross_entropy"}.get(name, name)

    def layers():
        return mlp()() + ([final()] if final else [])

    a, b = twin_networks(layers, loss=loss, optimizer=fnn.SGD(0.05, momentum=0.5), dtype=dtype)
    assert_same_training(a, b, X, y, epochs=2, batch_size=8)
    np.testing.assert_allclose(a.evaluate(X, y)["loss"], b.evaluate(X, y)["loss"], rtol=1e-12)


def test_engine_matches_the_numpy_reference_loop_with_dropout():
    X, y, _ = data(n=64)
    net = fnn.Network([fnn.Dense(6, 16), fnn.ReLU(), fnn.Dropout(0.25), fnn.Dense(16, 3)],
                      optimizer=fnn.Adam(0.01), random_state=3)
    d1, d2 = net.layers[0], net.layers[3]
    ref = ReferenceNetwork(
        [(d1.W, d1.b, "relu", 0.0, 0.25, net.layers[2].state),
         (d2.W, d2.b, "identity", 0.0, 0.0, None)],
        "softmax_cross_entropy", ("adam_update", dict(lr=0.01), 0.0))
    order = np.arange(64)
    for _ in range(3):
        ref.epoch(X, y, order, 16)
    net.fit(X, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    for p, q in zip(net.parameters(), ref.parameters()):
        np.testing.assert_allclose(p, q, rtol=2e-4, atol=2e-5)


def test_engine_predict_in_chunks_and_single_rows():
    X, y, _ = data(n=50)
    a, b = twin_networks(mlp())
    a.fit(X, y, epochs=1, verbose=0)
    b.fit(X, y, epochs=1, verbose=0)
    np.testing.assert_array_equal(a.predict(X, batch_size=7), b.predict(X))
    np.testing.assert_array_equal(a.predict(X[3:4]), b.predict(X)[3:4])


def test_custom_layers_fall_back_to_the_python_path():
    class Scaled(fnn.ReLU):
        pass

    net = fnn.Network([fnn.Dense(6, 4), Scaled(), fnn.Dense(4, 3)], random_state=0)
    assert compile_plan(net, 8) is None
    X, y, _ = data()
    assert net.fit(X, y, epochs=2, verbose=0).history["loss"][1] > 0


def test_threads_give_the_same_training():
    X, y, _ = data(n=400, d=6)
    nets = [fnn.Network(mlp()(), optimizer=fnn.SGD(0.1), random_state=0, threads=t) for t in (1, 2)]
    for net in nets:
        net.fit(X, y, epochs=2, batch_size=400, verbose=0)
    for p, q in zip(*(net.parameters() for net in nets)):
        np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-6)


def test_copies_and_pickles_build_their_own_plans():
    import copy
    import pickle
    X, y, _ = data()
    net = fnn.Network(mlp()(), random_state=0)
    net.fit(X, y, epochs=1, verbose=0)
    before = net.predict(X)
    for other in (copy.deepcopy(net), pickle.loads(pickle.dumps(net)), net.astype("float64")):
        np.testing.assert_allclose(other.predict(X), before, rtol=1e-6)
        other.fit(X, y, epochs=1, verbose=0)  # trains its own arrays ...
    np.testing.assert_array_equal(net.predict(X), before)  # ... not the original's


@pytest.mark.parametrize("layers", [mlp(dropout=0.3, activation=fnn.GELU),
                                    lambda: [fnn.Dense(6, 8), fnn.BatchNorm(8), fnn.ReLU(),
                                             fnn.Dense(8, 3)]], ids=["gelu_dropout", "batchnorm"])
def test_pickles_leave_out_the_last_batch_and_gradients(layers):
    """A pickle holds what predicting and training on need: not the layers' last input,
    outputs and gradients (a whole X after a layer-by-layer step), which come back as None and
    zeros; training on from it is bit for bit the original's, Adam's moments included."""
    import pickle
    X, y, _ = data(n=4000)
    net = fnn.Network(layers(), optimizer="adam", random_state=0, engine=False)
    net.train_step(X, y)
    size = len(pickle.dumps(net))
    restored = pickle.loads(pickle.dumps(net))
    assert size < X.nbytes / 4  # a few hundred weights, not 4000 rows of activations
    for layer in restored.layers:
        assert all(value is None for name, value in vars(layer).items()
                   if name in layer._SCRATCH)
        for grad in layer.gradients():
            assert grad.dtype == np.float32 and not grad.any()
    np.testing.assert_array_equal(restored.predict(X), net.predict(X))
    for other in (net, restored):
        other.train_step(X, y)
        other.fit(X, y, epochs=2, verbose=0)
    for a, b in zip(restored.parameters() + restored.gradients(),
                    net.parameters() + net.gradients()):
        np.testing.assert_array_equal(a, b)


def test_predict_fast_path_sees_replaced_weights():
    X, y, _ = data()
    net = fnn.Network(mlp()(), random_state=0)
    net.predict(X)
    net.layers[-1].W = np.zeros_like(net.layers[-1].W)
    net.layers[-1].b = np.zeros_like(net.layers[-1].b)
    np.testing.assert_allclose(net.predict(X), 1 / 3, rtol=1e-6)  # all-zero logits


def test_plans_follow_replaced_layers_and_changed_hyperparameters():
    X, y, _ = data()
    net = fnn.Network(mlp()(), optimizer=fnn.SGD(0.1), random_state=0)
    twin = fnn.Network(mlp()(), optimizer=fnn.SGD(0.1), random_state=0, engine=False)
    for n in (net, twin):
        n.fit(X, y, epochs=1, verbose=0)
        n.predict(X[:2])
        n.layers[1] = fnn.Sigmoid()  # replace the first activation
        n.optimizer.lr = 0.02
        n.fit(X, y, epochs=1, verbose=0)
    np.testing.assert_array_equal(net.predict(X[:2]), twin.predict(X[:2]))
    for p, q in zip(net.parameters(), twin.parameters()):
        np.testing.assert_array_equal(p, q)


def l2_mlp():
    return [fnn.Dense(6, 16, l2=0.3), fnn.ReLU(), fnn.Dense(16, 8, l2=0.1), fnn.Tanh(),
            fnn.Dense(8, 3, l2=0.2)]


@pytest.mark.parametrize("optimizer", [fnn.SGD(0.05, momentum=0.9, nesterov=True),
                                       fnn.Adam(0.01, weight_decay=1e-3)], ids=repr)
def test_engine_equals_python_path_with_l2_penalties(optimizer):
    X, y, w = data()
    a, b = twin_networks(l2_mlp, optimizer=optimizer)
    assert_same_training(a, b, X, y, epochs=3, batch_size=10)
    assert_same_training(a, b, X, y, epochs=2, batch_size=10, sample_weight=w)


@pytest.mark.parametrize("weighted", [False, True])
def test_l2_penalty_is_scikit_learns(weighted):
    """loss + 0.5 * l2 * ||W||^2 / n and W -= lr * (dW + l2 * W / n), n the batch's size or
    weight sum; biases are not penalized."""
    X, y, w = data(n=20)
    w = w.astype(np.float64) if weighted else None
    size = w.sum() if weighted else len(X)
    plain, penalized = (fnn.Network([fnn.Dense(6, 5, l2=l2), fnn.Tanh(), fnn.Dense(5, 3, l2=l2)],
                                    optimizer=fnn.SGD(0.1), dtype="float64", random_state=4)
                        for l2 in (0.0, 0.7))
    start = [p.copy() for p in penalized.parameters()]
    loss_plain = plain.train_step(X, y, w)
    loss_penalized = penalized.train_step(X, y, w)
    weights = start[0::2]
    np.testing.assert_allclose(loss_penalized - loss_plain,
                               0.5 * 0.7 * sum(np.sum(W * W) for W in weights) / size, rtol=1e-10)
    for p, q, p0, is_weight in zip(penalized.parameters(), plain.parameters(), start,
                                   [True, False] * 2):
        expected = -0.1 * 0.7 * p0 / size if is_weight else np.zeros_like(p0)
        np.testing.assert_allclose(p - q, expected, rtol=1e-9, atol=1e-14)


def _fit_epoch_by_epoch_and_in_engine_calls(make, X, y, **fit):
    """Two identical networks: one fit without callbacks (several epochs per engine call, the
    shuffle drawn in C), one with a do-nothing callback (Python between epochs, the shuffle from
    rng.permutation)."""
    a, b = make(), make()
    ha = a.fit(X, y, verbose=0, **fit)
    hb = b.fit(X, y, verbose=0, callbacks=[fnn.callbacks.Callback()], **fit)
    return a, b, ha, hb


@pytest.mark.parametrize("rows", [1, 2, 97, 300])
@pytest.mark.parametrize("bit_generator", [np.random.PCG64, np.random.MT19937, np.random.Philox])
def test_epochs_in_one_engine_call_equal_epoch_by_epoch(rows, bit_generator):
    """The C shuffle replays NumPy's Generator.permutation draw for draw: the same weights,
    history and generator state after 23 epochs (in calls of 1 epoch, then the other 22)."""
    X, y, _ = data(n=rows)
    make = lambda: fnn.Network(  # noqa: E731
        mlp(dropout=0.2)(), optimizer=fnn.Adam(0.01),
        random_state=np.random.Generator(bit_generator(5)))
    a, b, ha, hb = _fit_epoch_by_epoch_and_in_engine_calls(make, X, y, epochs=23,
                                                            batch_size=min(rows, 16))
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p, q)
    assert ha.history["loss"] == hb.history["loss"]
    assert ha.history["accuracy"] == hb.history["accuracy"]
    np.testing.assert_equal(a.rng.bit_generator.state, b.rng.bit_generator.state)
    assert a.optimizer.iterations == b.optimizer.iterations


def test_divergence_inside_an_engine_call_puts_back_that_epochs_start():
    """A loss that goes non-finite in the middle of a several-epoch call: the weights, optimizer
    state and iteration count of that epoch's start, as epoch by epoch."""
    X, y, _ = data()
    X = X * 5
    make = lambda: fnn.Network([fnn.Dense(6, 16), fnn.ReLU(), fnn.Dense(16, 3)],  # noqa: E731
                               optimizer=fnn.SGD(0.3, momentum=0.9), random_state=0)
    with pytest.warns(RuntimeWarning, match="training loss or weights became"):
        a, b, ha, hb = _fit_epoch_by_epoch_and_in_engine_calls(make, X, y, epochs=40,
                                                                batch_size=8)
    # the calls are 1 epoch, then up to 0.1 s' worth (all 39 others here): it diverged inside
    # the second call, after that call's first epoch
    assert 1 < len(ha.history["loss"]) < 40
    assert ha.history["loss"] == hb.history["loss"]
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p, q)
    for s, t in zip(a.optimizer.state, b.optimizer.state):
        np.testing.assert_array_equal(s[0], t[0])
    assert a.optimizer.iterations == b.optimizer.iterations
    assert all(np.all(np.isfinite(p)) for p in a.parameters())


def openblas_has_skylakex_kernels():
    """Whether the BLAS that fastnn calls (SciPy's) is an OpenBLAS running its SkylakeX-family
    kernels, whose summation orders _tiny.h's AVX-512 build follows."""
    import scipy.linalg  # noqa: F401 (loads SciPy's BLAS)
    from threadpoolctl import threadpool_info
    return any(info.get("internal_api") == "openblas" and "scipy" in info.get("filepath", "")
               and info.get("architecture") in ("SkylakeX", "Cooperlake", "SapphireRapids")
               for info in threadpool_info())


@pytest.mark.parametrize("inputs,hidden,classes", [(2, 64, 3), (1, 16, 2), (4, 32, 4),
                                                   (3, 256, 2)])
@pytest.mark.parametrize("optimizer", [fnn.SGD(0.05, momentum=0.9), fnn.Adam(0.01)], ids=repr)
def test_one_pass_step_of_tiny_classifiers_equals_layer_by_layer(inputs, hidden, classes,
                                                                  optimizer):
    """A network of at most 4 inputs -> Dense + ReLU -> Dense to 2..4 classes -> softmax
    cross-entropy trains in one pass (_tiny.h) where its sums can follow BLAS's (surely with the
    AVX-512 kernels and OpenBLAS's SkylakeX ones). Bit for bit the layer-by-layer numbers, at any
    batch size (OpenBLAS sums the last n % 4 rows of a product in another order)."""
    X, y, _ = data(n=103, d=inputs, c=classes)
    X *= 3

    def build():
        return [fnn.Dense(inputs, hidden, l2=0.01), fnn.ReLU(), fnn.Dense(hidden, classes)]
    a, b = twin_networks(build, optimizer=optimizer)
    if fnn.kernels.VARIANT == "x86_64_v4" and openblas_has_skylakex_kernels():
        assert compile_plan(a, 32).one_pass
    for batch_size in (103, 32, 6, 1):
        assert_same_training(a, b, X, y, epochs=2, batch_size=batch_size)


# ---------------------------------------------------------------- NaN, divergence

NAN_ACTIVATIONS = {"relu": fnn.ReLU, "leaky_relu": lambda: fnn.LeakyReLU(0.2),
                   "sigmoid": fnn.Sigmoid, "tanh": fnn.Tanh, "identity": fnn.Identity,
                   "elu": lambda: fnn.ELU(0.5), "selu": fnn.SELU, "softplus": fnn.Softplus,
                   "gelu": fnn.GELU, "gelu_tanh": lambda: fnn.GELU("tanh"), "silu": fnn.SiLU}


def reference_forward(net, X):
    """The network's raw outputs by fastnn.reference, layer by layer."""
    from fastnn import reference as R
    a = X
    for layer in net._train_layers:
        if isinstance(layer, fnn.Dense):
            a = R.dense_forward(a, layer.W, layer.b, np.empty((len(a), layer.W.shape[1]), a.dtype))
        else:
            a = getattr(R, layer.kind + "_forward")(a, np.empty_like(a), *layer._extra())
    return a


@pytest.mark.parametrize("activation", NAN_ACTIVATIONS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_engine_predict_propagates_nan_as_the_reference(activation, dtype):
    """NaN in the inputs (Plan.predict, which trusts its caller's checks) and in the weights
    (Network.predict, both its paths) comes out where the NumPy reference puts it: through the
    skinny first layer's fused ReLU (3 inputs), the BLAS layers' epilogue and the softmax."""
    from fastnn import reference as R
    act = NAN_ACTIVATIONS[activation]
    net = fnn.Network([fnn.Dense(3, 40), act(), fnn.Dense(40, 20), act(), fnn.Dense(20, 4)],
                      dtype=dtype, random_state=0)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3)).astype(dtype)
    X[[3, 17, 49], [0, 2, 1]] = np.nan
    plan = compile_plan(net, 16, training=False)
    for code, final in ((0, None), (output_code("softmax"), "softmax")):
        got = plan.predict(X, np.empty((50, 4), dtype), code, 2)
        with np.errstate(invalid="ignore"):
            want = reference_forward(net, X)
            if final:
                want = R.softmax_forward(want, np.empty_like(want))
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        assert np.isnan(got[[3, 17, 49]]).all()
        assert not np.isnan(np.delete(got, [3, 17, 49], 0)).any()
        assert_close(got[~np.isnan(want)], want[~np.isnan(want)], dtype)

    X = np.ascontiguousarray(np.nan_to_num(X))
    net.layers[4].W[:, 1] = np.nan  # one output column's weights
    with np.errstate(invalid="ignore"):
        want = reference_forward(net, X)
    got = compile_plan(net, 16, training=False).predict(X, np.empty((50, 4), dtype))
    assert np.isnan(got[:, 1]).all() and not np.isnan(np.delete(got, 1, 1)).any()
    assert_close(np.delete(got, 1, 1), np.delete(want, 1, 1), dtype)
    net.layers[0].b[7] = np.nan  # one hidden unit's bias: it reaches every output
    for got in (compile_plan(net, 16, training=False).predict(X, np.empty((50, 4), dtype)),
                net.predict(X), net.predict(X, batch_size=7)):  # fast path, chunked path
        assert np.isnan(got).all()


def test_one_pass_step_sees_a_nan_weight_as_the_reference():
    """A NaN first-layer weight makes the tiny classifier's loss NaN, in the one-pass step
    (_tiny.h's ReLU, whose AVX-512 form made NaN 0) and layer by layer, as in the NumPy reference:
    the epoch stops unfinished."""
    X, y, _ = data(n=64, d=2, c=3)
    net = fnn.Network([fnn.Dense(2, 64), fnn.ReLU(), fnn.Dense(64, 3)], optimizer=fnn.SGD(0.1),
                      random_state=0)
    net.layers[0].W[1, 5] = np.nan
    d1, d2 = net.layers[0], net.layers[2]
    ref = ReferenceNetwork([(d1.W, d1.b, "relu", 0.0, 0.0, None),
                            (d2.W, d2.b, "identity", 0.0, 0.0, None)],
                           "softmax_cross_entropy", ("sgd_update", dict(lr=0.1), 0.0))
    with np.errstate(invalid="ignore"):
        assert np.isnan(ref.step(X[:32], y[:32])[0])
    plan = compile_plan(net, 32)
    for one_pass in (True, False):
        plan.allow_one_pass(one_pass)
        finished, *_ = plan.train_epoch(X, y.astype(np.intp), None, np.arange(64), 32, 0)
        assert not finished


@pytest.mark.parametrize("callbacks", [False, True], ids=["engine_epochs", "epoch_by_epoch"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_an_epoch_whose_last_step_overflows_the_weights_is_undone(callbacks, dtype):
    """Huge steps overflow the weights to infinity in an epoch whose losses were still finite
    (each is computed before its step): the engine checks the parameters and optimizer state
    after each epoch and treats that epoch as one with a non-finite loss: the weights, state and
    iteration count of its start come back, finite, and fit stops with a warning (train_epochs
    puts them back itself; train_epoch reports finished=False and Network puts back its copy)."""
    X, y, _ = data(n=64)
    big = dtype == "float64"
    X = X.astype(dtype) * (1e100 if big else 1e4)  # gradients of that size
    net = fnn.Network([fnn.Dense(6, 16), fnn.ReLU(), fnn.Dense(16, 3)], dtype=dtype,
                      optimizer=fnn.SGD(1e-150 if big else 1e-12, momentum=0.5), random_state=0)
    extra = dict(callbacks=[fnn.callbacks.Callback()]) if callbacks else {}
    net.fit(X, y, epochs=2, batch_size=64, verbose=0, **extra)  # tiny steps: all finite
    start = [p.copy() for p in net.parameters()]
    start_state = [s[0].copy() for s in net.optimizer.state]
    iterations = net.optimizer.iterations
    assert all(np.isfinite(p).all() for p in start)
    net.optimizer.lr = 1e300 if big else 1e36
    with pytest.warns(RuntimeWarning, match="training loss or weights became"):
        history = net.fit(X, y, epochs=3, batch_size=64, verbose=0, **extra)
    assert len(history.history.get("loss", [])) == 0  # the first epoch diverged
    for p, q in zip(net.parameters(), start):
        np.testing.assert_array_equal(p, q)
    for s, t in zip(net.optimizer.state, start_state):
        np.testing.assert_array_equal(s[0], t)
    assert net.optimizer.iterations == iterations


def test_train_epoch_reports_parameters_that_overflowed():
    """Plan.train_epoch, one step whose loss is finite and whose update overflows W: finished is
    False (the caller puts back its copy); with a harmless step, True."""
    X, y, _ = data(n=32)
    net = fnn.Network([fnn.Dense(6, 8), fnn.ReLU(), fnn.Dense(8, 3)], optimizer=fnn.SGD(1e-3),
                      random_state=0)
    plan = compile_plan(net, 32)
    labels = y.astype(np.intp)
    finished, loss, *_ = plan.train_epoch(X * 1e4, labels, None, np.arange(32), 32, 0)
    assert finished and np.isfinite(loss)
    plan.set_learning_rate(1e38)
    finished, loss, *_ = plan.train_epoch(X * 1e4, labels, None, np.arange(32), 32, 0)
    assert np.isfinite(loss) and not finished
    assert not all(np.isfinite(p).all() for p in net.parameters())  # left for the caller


def norm_mlp(dropout=0.0, activation=fnn.ReLU):
    """Dense -> BatchNorm -> activation (-> Dropout) -> Dense -> LayerNorm -> Tanh -> Dense ->
    BatchNorm (no activation) -> Dense."""
    def build():
        layers = [fnn.Dense(6, 16), fnn.BatchNorm(16), activation()]
        if dropout:
            layers.append(fnn.Dropout(dropout))
        return layers + [fnn.Dense(16, 8), fnn.LayerNorm(8), fnn.Tanh(), fnn.Dense(8, 5),
                         fnn.BatchNorm(5, momentum=0.3), fnn.Dense(5, 3)]
    return build


def assert_same_running_statistics(a, b):
    for p, q in zip(a.layers, b.layers):
        for s, t in zip(p.buffers(), q.buffers()):
            np.testing.assert_array_equal(s, t)


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=repr)
def test_engine_equals_python_path_with_norms_for_every_optimizer(optimizer):
    X, y, _ = data(n=98)
    a, b = twin_networks(norm_mlp(), optimizer=optimizer)
    assert_same_training(a, b, X, y, epochs=3, batch_size=16)
    assert_same_running_statistics(a, b)


@pytest.mark.parametrize("activation", [fnn.ReLU, fnn.Sigmoid, fnn.GELU, lambda: fnn.ELU(0.5)],
                         ids=["relu", "sigmoid", "gelu", "elu"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_engine_equals_python_path_with_norms_dropout_and_weights(activation, dtype):
    X, y, w = data(n=98)
    a, b = twin_networks(norm_mlp(dropout=0.3, activation=activation), optimizer=fnn.Adam(0.01),
                         dtype=dtype)
    assert_same_training(a, b, X, y, epochs=3, batch_size=10, sample_weight=w,
                         validation_split=0.2)
    assert_same_running_statistics(a, b)
    np.testing.assert_array_equal(a.predict(X[:1]), b.predict(X[:1]))  # the fast path


def test_engine_refuses_a_batch_norm_batch_of_one_row():
    X, y, _ = data(n=33)
    net = fnn.Network(norm_mlp()(), random_state=0)
    plan = compile_plan(net, 16)
    with pytest.raises(ValueError, match="leave a last batch of 1"):
        plan.train_epochs(X, y, None, 16, 0, 1)
    assert plan.train_epochs(X[:32], y[:32], None, 16, 0, 1)[0] == 1


def test_engine_puts_back_the_running_statistics_of_a_diverged_epoch():
    X, y, _ = data(n=64)
    net = fnn.Network(norm_mlp()(), optimizer=fnn.SGD(1e30), random_state=0)
    plan = compile_plan(net, 16)
    before = [s.copy() for layer in net.layers for s in layer.buffers()]
    done, finished, _, _ = plan.train_epochs(X * 1e10, y, None, 16, 0, 2)
    assert (done, finished) == (0, False)
    for s, t in zip(before, (s for layer in net.layers for s in layer.buffers())):
        np.testing.assert_array_equal(s, t)


def test_engine_plan_refuses_bad_norms(monkeypatch):
    import fastnn.engine as E
    net = fnn.Network(norm_mlp()(), random_state=0)
    specs = []
    with monkeypatch.context() as m:
        m.setattr(E._engine, "Plan", specs.append)
        compile_plan(net, 16)
    spec = specs[0]
    E._engine.Plan(spec)  # as compiled, it is accepted
    first = spec.layers[0]

    def refused(layer, match, params=None):
        with pytest.raises(ValueError, match=match):
            E._engine.Plan(spec._replace(layers=[layer] + list(spec.layers[1:]),
                                         params=spec.params if params is None else params))

    refused(first._replace(norm=first.norm._replace(gamma=np.ones(3, np.float32))),
            r"layers\[0\]'s norm's gamma .* shape \(16,\)")
    refused(first._replace(norm=first.norm._replace(kind=7)), "unknown layers\\[0\\]'s norm code")
    refused(first._replace(norm=first.norm._replace(eps=0.0)), "norm's eps")
    refused(first._replace(norm=first.norm._replace(running_var=None)), "running_var")
    refused(first, "params\\[2\\] \\(gamma of layers\\[0\\]\\)'s param must be the layer's gamma",
            params=[spec.params[0], spec.params[1], spec.params[3], spec.params[2]]
            + list(spec.params[4:]))
    refused(first._replace(norm=None), "6 entries|entries; got")
    shared = first.norm._replace(running_mean=first.norm.running_var)
    refused(first._replace(norm=shared), "must not share memory")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_engine_with_norms_matches_the_numpy_reference_loop(dtype):
    X, y, _ = data(n=64)
    X = X.astype(dtype)
    net = fnn.Network([fnn.Dense(6, 16), fnn.BatchNorm(16, momentum=0.2), fnn.ReLU(),
                       fnn.Dense(16, 8), fnn.LayerNorm(8), fnn.Tanh(), fnn.Dense(8, 3)],
                      optimizer=fnn.SGD(0.1, momentum=0.9), dtype=dtype, random_state=3)
    # (not Adam: the bias before a BatchNorm has a gradient of 0 up to rounding, which Adam's
    # normalized step turns into steps of its own)
    d1, bn, d2, ln, d3 = (net.layers[i] for i in (0, 1, 3, 4, 6))
    ref = ReferenceNetwork(
        [(d1.W, d1.b, "relu", 0.0, 0.0, None,
          ("batch", bn.gamma, bn.beta, bn.running_mean, bn.running_var, 0.2, bn.eps)),
         (d2.W, d2.b, "tanh", 0.0, 0.0, None, ("layer", ln.gamma, ln.beta, ln.eps)),
         (d3.W, d3.b, "identity", 0.0, 0.0, None)],
        "softmax_cross_entropy", ("sgd_update", dict(lr=0.1, momentum=0.9), 0.0))
    order = np.arange(64)
    for _ in range(3):
        ref.epoch(X, y, order, 16)
    net.fit(X, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    rtol, atol = (2e-4, 2e-5) if dtype == "float32" else (1e-9, 1e-11)
    for p, q in zip(net.parameters(), ref.parameters()):
        np.testing.assert_allclose(p, q, rtol=rtol, atol=atol)
    np.testing.assert_allclose(bn.running_var, ref.norms[0][4], rtol=rtol, atol=atol)
    np.testing.assert_allclose(net.forward(X), ref.predict(X), rtol=rtol, atol=atol)
