"""BatchNorm and LayerNorm: kernels against the NumPy reference, the closed-form backward against
finite differences, the layers against PyTorch (training and eval, forward, backward, training
steps), save/load of the running statistics and the refusal of 1-row training batches."""
import numpy as np
import pytest
from conftest import assert_close

import fastnn as fnn
from fastnn import kernels as K
from fastnn import reference as R

SHAPES = [(2, 1), (3, 5), (7, 16), (32, 17), (64, 40), (5, 100)]


def randn(rng, shape, dtype, scale=1.0, shift=0.0):
    return np.asarray(scale * rng.standard_normal(shape) + shift, dtype=dtype)


def norm_arrays(kind, n, m, dtype, seed):
    """Fresh arguments of the forward and backward kernels of `kind` ("batch" or "layer")."""
    rng = np.random.default_rng(seed)
    x = randn(rng, (n, m), dtype, 3, 1)
    gamma, beta = randn(rng, m, dtype), randn(rng, m, dtype)
    dy = randn(rng, (n, m), dtype)
    stats = (randn(rng, m, dtype), np.abs(randn(rng, m, dtype)) + 0.5)
    rows = m if kind == "batch" else n
    return x, gamma, beta, dy, stats, rows


def run_norm(module, kind, x, gamma, beta, dy, stats, rows, in_place=False):
    """Every output of the kernels of `kind` in `module` (fastnn.kernels or the reference)."""
    dtype = x.dtype
    out = x.copy() if in_place else np.empty_like(x)
    xhat, inv = np.empty_like(x), np.empty(rows, dtype)
    mean, var = stats[0].copy(), stats[1].copy()
    if kind == "batch":
        module.batch_norm_forward(out if in_place else x, gamma, beta, out, xhat, inv, mean, var,
                                  0.1, 1e-5)
    else:
        module.layer_norm_forward(out if in_place else x, gamma, beta, out, xhat, inv, 1e-5)
    m = x.shape[1]
    dgamma, dbeta = np.empty(m, dtype), np.empty(m, dtype)
    dx = dy.copy() if in_place else np.empty_like(x)
    getattr(module, kind + "_norm_backward")(xhat, inv, gamma, dx if in_place else dy, dgamma,
                                             dbeta, dx)
    results = [out, xhat, inv, dgamma, dbeta, dx]
    if kind == "batch":
        inference = np.empty_like(x)
        module.batch_norm_inference(x, gamma, beta, mean, var, inference, 1e-5)
        results += [mean, var, inference]
    return results


@pytest.mark.parametrize("kind", ["batch", "layer"])
@pytest.mark.parametrize("n,m", SHAPES)
def test_kernels_equal_the_reference(kind, n, m, dtype):
    args = norm_arrays(kind, n, m, dtype, seed=n * 100 + m)
    for got, want in zip(run_norm(K, kind, *args), run_norm(R, kind, *args)):
        assert got.dtype == dtype
        assert_close(got, want, dtype)


@pytest.mark.parametrize("kind", ["batch", "layer"])
def test_kernels_in_place(kind, dtype):
    args = norm_arrays(kind, 9, 20, dtype, seed=5)
    for got, want in zip(run_norm(K, kind, *args, in_place=True), run_norm(R, kind, *args)):
        assert_close(got, want, dtype)


def test_kernels_refuse_bad_arguments():
    x = np.ones((4, 3))
    v = np.ones(3)
    with pytest.raises(ValueError, match="at least 2 rows"):
        K.batch_norm_forward(x[:1], v, v, np.empty((1, 3)), np.empty((1, 3)), np.empty(3),
                             np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="eps must be"):
        K.layer_norm_forward(x, v, v, np.empty_like(x), np.empty_like(x), np.empty(4), 0.0)
    with pytest.raises(ValueError, match="gamma.shape"):
        K.batch_norm_inference(x, np.ones(2), v, v, v, np.empty_like(x))
    with pytest.raises(ValueError, match="momentum"):
        K.batch_norm_forward(x, v, v, np.empty_like(x), np.empty_like(x), np.empty(3),
                             np.zeros(3), np.ones(3), 1.5)
    xhat = np.empty_like(x)
    with pytest.raises(ValueError, match="share memory"):
        K.batch_norm_forward(x, v, v, xhat, xhat, np.empty(3), np.zeros(3), np.ones(3))
    with pytest.raises(TypeError, match="dtype"):
        K.layer_norm_backward(x, np.ones(4, np.float32), v, x, np.empty(3), np.empty(3))


def numeric_gradient(f, a, eps=1e-6):
    g = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        old = a[i]
        a[i] = old + eps
        up = f()
        a[i] = old - eps
        down = f()
        a[i] = old
        g[i] = (up - down) / (2 * eps)
    return g


@pytest.mark.parametrize("layer", [fnn.BatchNorm(5), fnn.LayerNorm(5)], ids=repr)
def test_backward_equals_finite_differences(layer):
    """The closed-form backward of the training forward (batch statistics), w.r.t. x, gamma
    and beta."""
    rng = np.random.default_rng(0)
    layer.cast(np.float64)
    layer.gamma[...], layer.beta[...] = rng.standard_normal(5), rng.standard_normal(5)
    x, weights = rng.standard_normal((6, 5)) * 2 + 1, rng.standard_normal((6, 5))

    def loss():
        keep = layer.running_mean.copy() if isinstance(layer, fnn.BatchNorm) else None
        value = float((layer.forward(x, training=True) * weights).sum())
        if keep is not None:
            layer.running_mean[...] = keep
        return value

    loss()
    dx = layer.backward(weights).copy()
    analytic = [dx, layer.dgamma.copy(), layer.dbeta.copy()]
    for got, a in zip(analytic, (x, layer.gamma, layer.beta)):
        np.testing.assert_allclose(got, numeric_gradient(loss, a), rtol=1e-6, atol=1e-8)


def test_gradcheck_of_a_network_in_inference_mode():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((20, 4)), rng.integers(0, 3, 20)
    net = fnn.Network([fnn.Dense(4, 6), fnn.BatchNorm(6), fnn.Tanh(), fnn.Dense(6, 5),
                       fnn.LayerNorm(5), fnn.Dense(5, 3)], random_state=0)
    net.fit(X, y, epochs=2, batch_size=10, verbose=0)  # running statistics away from 0 and 1
    assert fnn.gradcheck(net, X, y) < 1e-6


# ---------------------------------------------------------------- against PyTorch

def torch_twin(net, torch):
    """A torch.nn.Sequential of net's layers (Dense, BatchNorm, LayerNorm, ReLU, Tanh) with its
    parameters and running statistics, and [(torch module, fastnn layer)] for the ones with
    parameters."""
    modules, pairs = [], []
    dtype = getattr(torch, net.dtype.name)
    for layer in net.layers:
        if isinstance(layer, fnn.Dense):
            module = torch.nn.Linear(layer.n_in, layer.n_out)
        elif isinstance(layer, fnn.BatchNorm):
            module = torch.nn.BatchNorm1d(layer.n, momentum=layer.momentum, eps=layer.eps)
        elif isinstance(layer, fnn.LayerNorm):
            module = torch.nn.LayerNorm(layer.n, eps=layer.eps)
        else:
            module = {fnn.ReLU: torch.nn.ReLU, fnn.Tanh: torch.nn.Tanh}[type(layer)]()
        module = module.to(dtype)
        if layer.parameters():
            pairs.append((module, layer))
            with torch.no_grad():
                first, second = layer.parameters()
                module.weight.copy_(torch.tensor(first.T if first.ndim == 2 else first))
                module.bias.copy_(torch.tensor(second))
                if isinstance(layer, fnn.BatchNorm):
                    module.running_mean.copy_(torch.tensor(layer.running_mean))
                    module.running_var.copy_(torch.tensor(layer.running_var))
        modules.append(module)
    return torch.nn.Sequential(*modules), pairs


def assert_same_as_torch(pairs, rtol):
    for module, layer in pairs:
        first, second = layer.parameters()
        weight = module.weight.detach().numpy()
        np.testing.assert_allclose(first, weight.T if weight.ndim == 2 else weight, rtol=rtol,
                                   atol=rtol)
        np.testing.assert_allclose(second, module.bias.detach().numpy(), rtol=rtol, atol=rtol)
        if isinstance(layer, fnn.BatchNorm):
            np.testing.assert_allclose(layer.running_mean, module.running_mean.numpy(),
                                       rtol=rtol, atol=rtol)
            np.testing.assert_allclose(layer.running_var, module.running_var.numpy(),
                                       rtol=rtol, atol=rtol)


def norm_net(norm, dtype, optimizer=None, engine=True):
    return fnn.Network([fnn.Dense(6, 12), norm(12), fnn.ReLU(), fnn.Dense(12, 7), fnn.Tanh(),
                        fnn.Dense(7, 3)], loss="mse", optimizer=optimizer or fnn.SGD(0.1),
                       dtype=dtype, random_state=0, engine=engine)


NORMS = {"batch": fnn.BatchNorm, "batch_keras": lambda n: fnn.BatchNormalization(n, 0.8),
         "layer": fnn.LayerNorm}


@pytest.mark.torch
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_forward_and_backward_equal_torch(norm, training, dtype):
    import torch
    torch.set_num_threads(1)
    rng = np.random.default_rng(2)
    X = (rng.standard_normal((16, 6)) * 2).astype(dtype)
    net = norm_net(NORMS[norm], dtype)
    for layer in net.layers:  # gamma, beta and the running statistics away from 1 and 0
        if isinstance(layer, (fnn.BatchNorm, fnn.LayerNorm)):
            layer.gamma[...] = rng.uniform(0.5, 2, layer.n)
            layer.beta[...] = rng.standard_normal(layer.n)
            if isinstance(layer, fnn.BatchNorm):
                layer.running_mean[...] = rng.standard_normal(layer.n)
                layer.running_var[...] = rng.uniform(0.5, 2, layer.n)
    model, pairs = torch_twin(net, torch)
    model.train(training)
    rtol = 1e-8 if dtype == "float64" else 2e-5
    out = net.forward(X, training=training)
    Xt = torch.tensor(X, requires_grad=True)
    out_t = model(Xt)
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=rtol, atol=rtol)
    grad = rng.standard_normal(out.shape).astype(dtype)
    net.layers[0].needs_input_grad = True
    dX = net.backward(grad)
    out_t.backward(torch.tensor(grad))
    np.testing.assert_allclose(dX, Xt.grad.numpy(), rtol=rtol, atol=rtol)
    for module, layer in pairs:
        grads = layer.gradients()
        weight = module.weight.grad.numpy()
        np.testing.assert_allclose(grads[0], weight.T if weight.ndim == 2 else weight,
                                   rtol=rtol, atol=rtol)
        np.testing.assert_allclose(grads[1], module.bias.grad.numpy(), rtol=rtol, atol=rtol)
    assert_same_as_torch(pairs, rtol)  # running statistics updated (training) or not (eval)


@pytest.mark.torch
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("engine", [True, False], ids=["engine", "layers"])
def test_training_steps_equal_torch(norm, optimizer, dtype, engine):
    import torch
    torch.set_num_threads(1)
    rng = np.random.default_rng(3)
    X = rng.standard_normal((64, 6)).astype(dtype)
    y = rng.standard_normal((64, 3)).astype(dtype)
    # The bias of the Dense before a BatchNorm has a gradient of 0 in exact arithmetic: Adam
    # with a tiny eps would turn float32's rounding noise in it into whole steps.
    adam_eps = 1e-5 if dtype == "float32" else 1e-8
    ours = {"sgd": fnn.SGD(0.1, momentum=0.9), "adam": fnn.Adam(0.01, eps=adam_eps)}[optimizer]
    net = norm_net(NORMS[norm], dtype, ours, engine)
    model, pairs = torch_twin(net, torch)
    opt = {"sgd": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
           "adam": lambda p: torch.optim.Adam(p, lr=0.01, eps=ours.eps)}[optimizer](
        model.parameters())
    rtol = 1e-8 if dtype == "float64" else 2e-4
    for step in range(8):
        batch = slice(16 * (step % 4), 16 * (step % 4 + 1))
        net.fit(X[batch], y[batch], epochs=1, batch_size=16, shuffle=False, verbose=0)
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(torch.tensor(X[batch])), torch.tensor(y[batch]))
        loss.backward()
        opt.step()
        assert_same_as_torch(pairs, rtol)
    model.eval()
    np.testing.assert_allclose(net.predict(X), model(torch.tensor(X)).detach().numpy(),
                               rtol=rtol, atol=rtol)


# ---------------------------------------------------------------- the layers in a network

def test_batch_normalization_maps_keras_conventions():
    layer = fnn.BatchNormalization(8)
    assert type(layer) is fnn.BatchNorm
    assert (layer.momentum, layer.eps) == (0.01, 1e-3)
    assert fnn.BatchNormalization(8, momentum=0.9, epsilon=1e-4).config() == {
        "n": 8, "momentum": 0.1, "eps": 1e-4}
    with pytest.raises(ValueError, match="momentum"):
        fnn.BatchNormalization(8, momentum=1.5)


@pytest.mark.parametrize("bad", [dict(n=0), dict(n=4, eps=0), dict(n=4, momentum=-0.1),
                                 dict(n=4, momentum=2)])
def test_bad_settings_are_value_errors(bad):
    with pytest.raises(ValueError, match=next(k for k in ("eps", "momentum", "n") if k in bad)):
        fnn.BatchNorm(**bad)


def test_a_norm_of_the_wrong_width_is_refused():
    with pytest.raises(ValueError, match=r"BatchNorm\(5\) on 4 features: make it BatchNorm\(4\)"):
        fnn.Network([fnn.Dense(3, 4), fnn.BatchNorm(5), fnn.Dense(4, 2)])


def data(n=50, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 6)).astype(np.float32), rng.integers(0, 3, n)


def bn_net(**kwargs):
    return fnn.Network([fnn.Dense(6, 16), fnn.BatchNorm(16), fnn.ReLU(), fnn.Dense(16, 3)],
                       random_state=0, **kwargs)


@pytest.mark.parametrize("engine", [True, False])
def test_a_batch_of_one_row_is_refused_before_anything_changes(engine):
    X, y = data(49)
    net = bn_net(engine=engine)
    before = [a.copy() for a in net.parameters() + net.layers[1].buffers()]
    with pytest.raises(ValueError, match=r"49 rows in batches of 16 leave a last batch of 1 row"):
        net.fit(X, y, batch_size=16, verbose=0)
    with pytest.raises(ValueError, match="train on 2 or more rows"):
        net.train_step(X[:1], y[:1])
    with pytest.raises(ValueError, match="train on 2 or more rows"):
        net.fit(X[:1], y[:1], verbose=0)
    for a, b in zip(before, net.parameters() + net.layers[1].buffers()):
        np.testing.assert_array_equal(a, b)
    assert net.optimizer.iterations == 0
    net.fit(X, y, batch_size=10, verbose=0)  # 49 = 4 * 10 + 9
    with pytest.raises(ValueError, match="at least 2 rows"):
        net.layers[1].forward(np.ones((1, 16), np.float32), training=True)
    net.predict(X[:1])  # inference takes one row


def test_fit_a_batch_normalized_network_and_predict_with_running_statistics():
    X, y = data(96)
    net = bn_net(optimizer=fnn.Adam(0.01))
    history = net.fit(X, y, epochs=20, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    bn = net.layers[1]
    assert not np.allclose(bn.running_mean, 0) and not np.allclose(bn.running_var, 1)
    # inference: the running statistics, not the batch's: one row as in a batch
    np.testing.assert_array_equal(net.predict(X[:1]), net.predict(X)[:1])


def test_save_and_load_keep_the_running_statistics(tmp_path):
    X, y = data(64)
    net = fnn.Network([fnn.Dense(6, 8), fnn.BatchNormalization(8), fnn.ReLU(),
                       fnn.Dense(8, 5), fnn.LayerNorm(5), fnn.Dense(5, 3)],
                      optimizer="adam", dtype="float64", random_state=0)
    net.fit(X, y, epochs=3, batch_size=16, verbose=0)
    net.save(tmp_path / "m.npz")
    loaded = fnn.load(tmp_path / "m.npz")
    assert repr(loaded.layers) == repr(net.layers)
    for a, b in zip(net.layers, loaded.layers):
        for p, q in zip(a.parameters() + a.buffers(), b.parameters() + b.buffers()):
            np.testing.assert_array_equal(p, q)
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))
    for other in (net, loaded):
        other.fit(X, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))


@pytest.mark.parametrize("engine", [True, False])
def test_a_diverged_epoch_puts_back_the_running_statistics(engine):
    X, y = data(64)
    net = bn_net(optimizer=fnn.SGD(1e30), engine=engine)
    bn = net.layers[1]
    with pytest.warns(RuntimeWarning, match="NaN or infinite"):
        net.fit(X * 1e10, y, epochs=1, batch_size=16, verbose=0)
    np.testing.assert_array_equal(bn.running_mean, 0)
    np.testing.assert_array_equal(bn.running_var, 1)


def test_dense_before_norm_and_relu_gets_he():
    net = fnn.Network([fnn.Dense(200, 300), fnn.BatchNorm(300), fnn.ReLU(), fnn.Dense(300, 2)],
                      random_state=0)
    assert net.layers[0].W.std() == pytest.approx(np.sqrt(2 / 200), rel=0.05)


def test_names():
    assert {"BatchNorm", "LayerNorm"} <= set(fnn.layers.LAYERS)
    assert fnn.BatchNorm is fnn.layers.BatchNorm and fnn.LayerNorm is fnn.layers.LayerNorm


def test_a_file_with_a_negative_running_variance_is_refused(tmp_path):
    net = bn_net()
    net.layers[1].running_var[0] = -1.0
    with pytest.raises(ValueError, match="cannot save.*running_var must be >= 0"):
        net.save(tmp_path / "m.npz")  # save never writes what load refuses
    net.layers[1].running_var[0] = 1.0
    net.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as z:
        arrays = {k: z[k] for k in z.files}
    arrays["buffer_1"] = arrays["buffer_1"].copy()
    arrays["buffer_1"][0] = -1.0  # a tampered file
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="running_var must be >= 0"):
        fnn.load(tmp_path / "bad.npz")


def test_old_files_without_buffers_still_load(tmp_path):
    """A network without BatchNorm writes exactly the members it wrote before (no buffer_*)."""
    import zipfile
    net = fnn.Network([fnn.Dense(6, 4), fnn.ReLU(), fnn.Dense(4, 3)], random_state=0)
    net.save(tmp_path / "m.npz")
    names = sorted(zipfile.ZipFile(tmp_path / "m.npz").namelist())
    assert names == ["metadata.npy", "param_0.npy", "param_1.npy", "param_2.npy", "param_3.npy"]
    np.testing.assert_array_equal(fnn.load(tmp_path / "m.npz").predict(data()[0]),
                                  net.predict(data()[0]))
    bn = bn_net()
    bn.save(tmp_path / "bn.npz")
    assert {"buffer_0.npy", "buffer_1.npy"} <= set(zipfile.ZipFile(tmp_path / "bn.npz").namelist())


@pytest.mark.torch
@pytest.mark.parametrize("layers", [
    lambda: [fnn.BatchNorm(6), fnn.Dense(6, 8), fnn.ReLU(), fnn.Dense(8, 3)],
    lambda: [fnn.Dense(6, 8), fnn.ReLU(), fnn.BatchNorm(8), fnn.Dense(8, 3)],
    lambda: [fnn.LayerNorm(6), fnn.Dense(6, 8), fnn.Tanh(), fnn.LayerNorm(8), fnn.Dense(8, 3)]],
    ids=["batch_norm_first", "batch_norm_after_relu", "layer_norms_unfused"])
def test_norms_the_engine_does_not_fuse_train_as_torch(layers):
    """A norm that is not right after a Dense trains on the layer path (the first layer's
    needs no input gradient), step for step as torch."""
    import torch

    from fastnn.engine import compile_plan
    torch.set_num_threads(1)
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((32, 6)), rng.standard_normal((32, 3))
    net = fnn.Network(layers(), loss="mse", optimizer=fnn.SGD(0.1, momentum=0.9),
                      dtype="float64", random_state=0)
    assert compile_plan(net, 16) is None
    model, pairs = torch_twin(net, torch)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for step in range(6):
        batch = slice(16 * (step % 2), 16 * (step % 2 + 1))
        net.fit(X[batch], y[batch], epochs=1, batch_size=16, shuffle=False, verbose=0)
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(torch.tensor(X[batch])), torch.tensor(y[batch]))
        loss.backward()
        opt.step()
        assert_same_as_torch(pairs, 1e-8)
    model.eval()
    np.testing.assert_allclose(net.predict(X), model(torch.tensor(X)).detach().numpy(), rtol=1e-8,
                               atol=1e-8)
