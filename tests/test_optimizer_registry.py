"""Optimizers made from fastnn.registry.OPTIMIZERS: the classes keep their public signatures, and
Adamax, added through the registry alone (its reference twin, its scalar step, one entry), is
exact against its reference, runs in the engine with the layer path's numbers, saves and loads,
and equals torch.optim.Adamax step for step."""
import inspect

import numpy as np
import pytest
from conftest import assert_close, assert_trains_as_torch
from test_engine import assert_same_training, twin_networks

import fastnn as fnn
from fastnn import kernels as K
from fastnn import reference as R
from fastnn import registry
from fastnn.optimizers import Adamax

SIGNATURES = {
    "SGD": "(lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0, decay=0.0)",
    "Adam": "(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-08, weight_decay=0.0, decay=0.0, "
            "eps_hat=False)",
    "RMSprop": "(lr=0.001, rho=0.9, eps=1e-07, weight_decay=0.0, decay=0.0)",
    "Adagrad": "(lr=0.01, eps=1e-07, weight_decay=0.0, decay=0.0)",
    "AdamW": "(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-08, weight_decay=0.01, decay=0.0)",
    "Adamax": "(lr=0.002, beta1=0.9, beta2=0.999, eps=1e-08, weight_decay=0.0, decay=0.0)",
}
# Keyword-only after them: Keras' names of the arguments each has, and the gradient clipping.
_CLIP = "clipnorm=None, clipvalue=None, global_clipnorm=None)"
_BETAS = "beta_1=None, beta_2=None, "
KEYWORDS = {"SGD": "learning_rate=None, ", "Adagrad": "learning_rate=None, epsilon=None, ",
            "RMSprop": "learning_rate=None, epsilon=None, "}
SIGNATURES = {name: signature[:-1] + ", *, " + KEYWORDS.get(
                  name, "learning_rate=None, " + _BETAS + "epsilon=None, ") + _CLIP
              for name, signature in SIGNATURES.items()}
KERNEL_SIGNATURES = {
    "sgd_update": "(param, grad, velocity=None, *, lr=0.01, momentum=0.0, nesterov=False, "
                  "weight_decay=0.0)",
    "adam_update": "(param, grad, m, v, t, *, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-08, "
                   "weight_decay=0.0)",
    "rmsprop_update": "(param, grad, sq, *, lr=0.001, rho=0.9, eps=1e-07, weight_decay=0.0)",
    "adagrad_update": "(param, grad, acc, *, lr=0.01, eps=1e-07, weight_decay=0.0)",
    "adamw_update": "(param, grad, m, v, t, *, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-08, "
                    "weight_decay=0.01, l2=0.0)",
    "adamax_update": "(param, grad, m, u, t, *, lr=0.002, beta1=0.9, beta2=0.999, eps=1e-08, "
                     "weight_decay=0.0)",
}


def without_hints(signature):
    """The signature's names, kinds and defaults alone (its type hints are documentation)."""
    return signature.replace(
        parameters=[p.replace(annotation=p.empty) for p in signature.parameters.values()],
        return_annotation=signature.empty)


def test_classes_and_kernels_keep_their_signatures():
    assert {e.cls for e in registry.OPTIMIZERS} == set(SIGNATURES)
    for name, signature in SIGNATURES.items():
        cls = fnn.optimizers.CLASSES[name]
        assert str(without_hints(inspect.signature(cls))) == signature
        assert cls.__module__ == "fastnn.optimizers" and cls.__qualname__ == name
        assert issubclass(cls, fnn.Optimizer)
    for name, signature in KERNEL_SIGNATURES.items():
        assert str(inspect.signature(getattr(R, name))) == signature
        assert getattr(K, name).__doc__


def test_classes_check_and_report_their_arguments():
    with pytest.raises(TypeError, match=r"Adamax.__init__\(\) got an unexpected keyword"):
        Adamax(momentum=0.9)
    with pytest.raises(ValueError, match="beta2"):
        Adamax(beta2=1.0)
    with pytest.raises(ValueError, match="eps"):
        Adamax(eps=0.0)
    opt = Adamax(0.01, beta1=0.5)
    assert opt.config() == {"lr": 0.01, "decay": 0.0, "weight_decay": 0.0, "beta1": 0.5,
                            "beta2": 0.999, "eps": 1e-8}
    assert repr(opt).startswith("Adamax(lr=0.01, decay=0.0") and opt.n_state == 2
    assert type(fnn.optimizers.get("adamax")) is Adamax
    assert all(getattr(fnn, cls.__name__) is cls for cls in fnn.optimizers.CLASSES.values())
    assert fnn.SGD(momentum=0.5).n_state == 1 and fnn.SGD().n_state == 0


def test_adamax_kernel_matches_the_reference(dtype):
    rng = np.random.default_rng(1)
    p = rng.standard_normal((13, 7)).astype(dtype)
    q = p.copy()
    sk, sr = ([np.zeros_like(p), np.zeros_like(p)] for _ in range(2))
    for t in range(1, 9):
        g = (rng.standard_normal(p.shape) * (10.0 if t == 4 else 1.0)).astype(dtype)
        K.adamax_update(p, g, *sk, t, lr=0.01, beta1=0.8, beta2=0.9, weight_decay=1e-2)
        R.adamax_update(q, g, *sr, t, lr=0.01, beta1=0.8, beta2=0.9, weight_decay=1e-2)
    assert_close(p, q, dtype, factor=8)
    for a, b in zip(sk, sr):
        assert_close(a, b, dtype, factor=8)


def test_adamax_first_step_is_lr_times_sign_and_u_is_a_maximum(dtype):
    g = np.array([3, -0.5, 1e-3, -40], dtype)
    p, m, u = np.zeros(4, dtype), np.zeros(4, dtype), np.zeros(4, dtype)
    K.adamax_update(p, g, m, u, 1, lr=0.1, eps=1e-8)
    assert_close(p, -0.1 * g.astype(np.float64) / (np.abs(g) + 1e-8), dtype)
    K.adamax_update(p, np.zeros(4, dtype), m, u, 2, lr=0.1, beta2=0.5, eps=1e-8)
    assert_close(u, 0.5 * (np.abs(g).astype(np.float64) + 1e-8), dtype)  # beta2 * u > 0 + eps


def test_adamax_propagates_nan_as_the_reference(dtype):
    for where in ("grad", "u"):
        out = []
        for impl in (K, R):
            p, g, m, u = np.ones(3, dtype), np.ones(3, dtype), np.zeros(3, dtype), np.ones(3, dtype)
            (g if where == "grad" else u)[1] = np.nan
            impl.adamax_update(p, g, m, u, 1, lr=0.1)
            out.append((p, u))
        for a, b in zip(*out):
            np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
            assert np.isnan(a[1])


def test_adamax_kernel_refuses_bad_arguments():
    p, g = np.zeros(5, np.float32), np.zeros(5, np.float32)
    with pytest.raises(ValueError, match="t is the 1-based step number"):
        K.adamax_update(p, g, p.copy(), p.copy(), 0)
    with pytest.raises(ValueError, match="adamax needs both moment arrays m and u"):
        K.adamax_update(p, g, p.copy(), None, 1)
    with pytest.raises(ValueError, match="beta1 must be in"):
        K.adamax_update(p, g, p.copy(), p.copy(), 1, beta1=1.0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_adamax_engine_equals_python_path_and_the_numpy_loop(dtype):
    from test_engine import data, mlp
    X, y, w = data()
    a, b = twin_networks(mlp(dropout=0.2), optimizer=Adamax(0.01, weight_decay=1e-3),
                         dtype=dtype)
    assert_same_training(a, b, X.astype(dtype), y, epochs=3, batch_size=16, sample_weight=w)


def test_adamax_network_trains_as_the_numpy_reference_loop():
    from fastnn.reference_loop import ReferenceNetwork
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((64, 5)), rng.standard_normal((64, 3))
    net = fnn.Network([fnn.Dense(5, 8), fnn.Tanh(), fnn.Dense(8, 3)], loss="mse",
                      optimizer=Adamax(0.01), dtype="float64", random_state=0)
    ref = ReferenceNetwork([(net.layers[0].W, net.layers[0].b, "tanh", 0.0, 0.0, None),
                            (net.layers[2].W, net.layers[2].b, "identity", 0.0, 0.0, None)],
                           "mean_squared_error", ("adamax_update", dict(lr=0.01), 0.0))
    net.fit(X, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    for _ in range(3):
        ref.epoch(X, y, np.arange(64), 16)
    for p, q in zip(net.parameters(), ref.parameters()):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-12)


def test_adamax_save_load_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 5)).astype(np.float32), rng.integers(0, 3, 40)
    net = fnn.Network([fnn.Dense(5, 8), fnn.ReLU(), fnn.Dense(8, 3)], optimizer="adamax",
                      random_state=0)
    net.fit(X, y, epochs=2, batch_size=8, verbose=0)
    net.save(tmp_path / "m")
    loaded = fnn.load(tmp_path / "m")
    assert type(loaded.optimizer) is Adamax and loaded.optimizer.iterations == 10
    for n in (net, loaded):
        n.fit(X, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for p, q in zip(net.parameters(), loaded.parameters()):
        np.testing.assert_array_equal(p, q)


def _torch():
    import torch
    torch.set_num_threads(1)
    return torch


@pytest.mark.torch
def test_adamax_kernel_equals_torch_step_for_step(dtype):
    torch = _torch()
    rng = np.random.default_rng(10)
    p = rng.standard_normal(1000).astype(dtype)
    m, u = np.zeros_like(p), np.zeros_like(p)
    pt = torch.tensor(p.copy(), requires_grad=True)
    opt = torch.optim.Adamax([pt], lr=0.01, betas=(0.8, 0.99), eps=1e-8, weight_decay=0.1)
    rtol = 1e-12 if dtype == np.float64 else 4 * np.finfo(np.float32).eps
    for t in range(1, 21):
        g = (rng.standard_normal(p.shape) * (5.0 if t % 7 == 0 else 1.0)).astype(dtype)
        pt.grad = torch.tensor(g)
        opt.step()
        K.adamax_update(p, g, m, u, t, lr=0.01, beta1=0.8, beta2=0.99, eps=1e-8,
                        weight_decay=0.1)
        np.testing.assert_allclose(p, pt.detach().numpy(), rtol=rtol, atol=rtol * np.abs(p).max())
        np.testing.assert_allclose(u, opt.state[pt]["exp_inf"].numpy(), rtol=rtol)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("engine", [True, False])
def test_adamax_training_equals_torch_step_for_step(dtype, engine):
    torch = _torch()
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((64, 5)).astype(dtype), rng.standard_normal((64, 3)).astype(dtype)
    net = fnn.Network([fnn.Dense(5, 16), fnn.Tanh(), fnn.Dense(16, 3)], loss="mse",
                      optimizer=Adamax(0.01), dtype=dtype, random_state=4, engine=engine)
    assert_trains_as_torch(net, lambda params: torch.optim.Adamax(params, lr=0.01), X, y, dtype)
