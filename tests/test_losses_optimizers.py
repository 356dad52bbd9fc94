"""The Huber and Poisson losses and the AdamW optimizer: kernels against fastnn.reference at
both dtypes, extreme values, finite differences, the engine against the layer path, save/load,
bad arguments, and PyTorch (torch.nn.HuberLoss, torch.nn.PoissonNLLLoss(log_input=True),
torch.optim.AdamW) step for step."""
import numpy as np
import pytest
from conftest import assert_close, assert_trains_as_torch
from test_engine import assert_same_training, twin_networks

import fastnn as fnn
from fastnn import kernels as K
from fastnn import reference as R


def regression_data(n=80, d=5, c=3, seed=0, kind="huber"):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    if kind == "poisson":
        y = rng.poisson(np.exp(0.3 * X[:, :c]), (n, c)).astype(np.float32)
    else:
        y = (2 * X[:, :c] + rng.standard_normal((n, c))).astype(np.float32)
    return X, y


def both(name, pred, target, w=None, *extra):
    gk, gr = np.empty_like(pred), np.empty_like(pred)
    return (getattr(K, name)(pred, target, gk, w, *extra), gk,
            getattr(R, name)(pred, target, gr, w, *extra), gr)


# ---------------------------------------------------------------- kernels

@pytest.mark.parametrize("delta", [0.25, 1.0, 3.0])
@pytest.mark.parametrize("weighted", [False, True])
def test_huber_matches_the_reference_for_any_delta(delta, weighted, dtype):
    rng = np.random.default_rng(1)
    z = (2 * rng.standard_normal((300, 7))).astype(dtype)
    y = rng.standard_normal((300, 7)).astype(dtype)
    w = rng.uniform(0.1, 2, 300).astype(dtype) if weighted else None
    lk, gk, lr, gr = both("huber", z, y, w, delta)
    assert_close(lk, lr, dtype)
    assert_close(gk, gr, dtype)
    assert np.any(np.abs(z - y) > delta) and np.any(np.abs(z - y) < delta)  # both branches


def test_huber_at_delta_and_mse_inside(dtype):
    # |r| == delta exactly: both branches give 0.5 delta^2, the gradient is +-delta / N.
    delta = 0.5
    z = np.array([[1.5, -0.5, 0.0, 3.0]], dtype)
    y = np.array([[1.0, 0.0, 0.0, 0.0]], dtype)
    lk, gk, lr, gr = both("huber", z, y, None, delta)
    want = (0.125 + 0.125 + 0 + 0.5 * (3 - 0.25)) / 4
    assert_close(lk, want, dtype)
    assert_close(lr, want, dtype)
    np.testing.assert_array_equal(gk, np.array([[0.5, -0.5, 0, 0.5]], dtype) / 4)
    np.testing.assert_array_equal(gk, gr)
    # inside delta Huber is half of MSE, and its gradient half of MSE's
    z, y = np.array([[0.3, -0.2]], dtype), np.array([[0.1, 0.1]], dtype)
    gm = np.empty_like(z)
    lm = K.mean_squared_error(z, y, gm)
    lk, gk, _, _ = both("huber", z, y, None, 1.0)
    assert_close(lk, lm / 2, dtype)
    assert_close(gk, gm / 2, dtype)


def test_poisson_matches_the_reference_at_extreme_log_rates(dtype):
    # exp overflows to inf at large z where the reference's does (and nowhere else); the loss
    # is inf then, and the gradient inf exactly there; very negative z gives rate 0.
    # (float32's exp is finite up to 88.72; fastnn's overflows from 88.38 on, 88.3 stays finite)
    big, near = (100.0, 88.3) if dtype == np.float32 else (800.0, 709.0)
    z = np.array([[big, -big, 80.0, 0.0], [1.0, -2.0, near, -40.0]], dtype)
    y = np.array([[1.0, 2.0, 0.0, 5.0], [0.0, 1.0, 2.0, 3.0]], dtype)
    lk, gk, lr, gr = both("poisson", z, y)
    assert lk == lr == np.inf
    np.testing.assert_array_equal(np.isinf(gk), np.isinf(gr))
    assert np.isinf(gk).sum() == 1 and not np.isnan(gk).any()
    finite = np.isfinite(gr)
    assert_close(gk[finite], gr[finite], dtype)
    lk, gk, lr, gr = both("poisson", z[1:], y[1:])  # a row without overflow: finite and equal
    assert np.isfinite(lk)
    assert_close(lk, lr, dtype)
    assert_close(gk, gr, dtype)
    assert_close(lk, np.mean(np.exp(z[1].astype(float)) - y[1] * z[1].astype(float)), dtype)
    assert 1e37 < lk < np.inf


def test_exponential_activation_matches_the_reference(dtype):
    x = np.array([[-200.0, -1.0, 0.0, 1.0, 50.0, 100.0]], dtype)
    with np.errstate(over="ignore"):
        want = np.exp(x)
    got = K.exponential_forward(x, np.empty_like(x))
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
    assert_close(got[np.isfinite(want)], want[np.isfinite(want)], dtype)
    dy = np.full_like(x, 0.5)
    y = R.exponential_forward(x[:, :5], np.empty_like(x[:, :5]))
    assert_close(K.exponential_backward(y, dy[:, :5], np.empty_like(y)), 0.5 * y, dtype)


def test_adamw_matches_the_reference_and_decouples_the_decay(dtype):
    rng = np.random.default_rng(3)
    p0 = rng.standard_normal((13, 5)).astype(dtype)
    pk, pr, pa = p0.copy(), p0.copy(), p0.copy()
    sk, sr, sa = ([np.zeros_like(p0), np.zeros_like(p0)] for _ in range(3))
    for t in range(1, 8):
        g = rng.standard_normal(p0.shape).astype(dtype)
        K.adamw_update(pk, g, *sk, t, lr=0.01, weight_decay=0.2)
        R.adamw_update(pr, g, *sr, t, lr=0.01, weight_decay=0.2)
        K.adam_update(pa, g, *sa, t, lr=0.01, weight_decay=0.2)  # coupled L2: another result
    assert_close(pk, pr, dtype, factor=7)
    for a, b in zip(sk, sr):
        assert_close(a, b, dtype, factor=7)
    assert np.max(np.abs(pk - pa)) > 1e-3


def test_adamw_without_decay_is_adam(dtype):
    rng = np.random.default_rng(4)
    p, q = (rng.standard_normal(40).astype(dtype) for _ in range(2))
    q[...] = p
    sp, sq = ([np.zeros_like(p), np.zeros_like(p)] for _ in range(2))
    for t in range(1, 5):
        g = rng.standard_normal(40).astype(dtype)
        K.adamw_update(p, g, *sp, t, lr=0.05, weight_decay=0.0, l2=0.01)
        K.adam_update(q, g, *sq, t, lr=0.05, weight_decay=0.01)
    np.testing.assert_array_equal(p, q)


# ---------------------------------------------------------------- networks

def regression_net(loss, optimizer, dtype="float32", l2=0.0, engine=True):
    return fnn.Network([fnn.Dense(5, 16, l2=l2), fnn.Tanh(), fnn.Dense(16, 3)], loss=loss,
                       optimizer=optimizer, dtype=dtype, random_state=2, engine=engine)


@pytest.mark.parametrize("loss", ["huber", fnn.Huber(0.3), "poisson"], ids=repr)
def test_gradients_match_finite_differences(loss):
    X, y = regression_data(kind="poisson" if loss == "poisson" else "huber")
    net = regression_net(loss, "sgd", dtype="float64")
    assert fnn.gradcheck(net, X[:20], y[:20]) < 1e-5
    w = np.random.default_rng(0).uniform(0.2, 2, 20)
    assert fnn.gradcheck(net, X[:20], y[:20], sample_weight=w) < 1e-5


@pytest.mark.parametrize("loss", ["huber", fnn.Huber(0.5), "poisson"], ids=repr)
@pytest.mark.parametrize("optimizer", [fnn.AdamW(0.01), fnn.Adam(0.01)], ids=repr)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_engine_equals_python_path_bit_for_bit(loss, optimizer, dtype):
    X, y = regression_data(kind="poisson" if loss == "poisson" else "huber")
    loss = loss if isinstance(loss, str) else fnn.Huber(loss.delta)

    def layers():
        return [fnn.Dense(5, 16, l2=1e-3), fnn.ReLU(), fnn.Dropout(0.2), fnn.Dense(16, 3)]

    a, b = twin_networks(layers, loss=loss, optimizer=optimizer, dtype=dtype)
    w = np.random.default_rng(5).uniform(0, 2, len(X)).astype(np.float32)
    assert_same_training(a, b, X, y, epochs=3, batch_size=16, sample_weight=w)
    np.testing.assert_array_equal(a.evaluate(X, y)["loss"], b.evaluate(X, y)["loss"])


def test_poisson_predicts_rates_and_evaluates_the_loss():
    X, y = regression_data(kind="poisson")
    for engine in (True, False):
        net = regression_net("poisson", fnn.AdamW(0.01), engine=engine)
        net.fit(X, y, epochs=5, verbose=0)
        log_rate = net.forward(X)
        assert_close(net.predict(X), np.exp(log_rate.astype(np.float64)), np.float32)
        result = net.evaluate(X, y)
        assert set(result) == {"loss"}
        assert_close(result["loss"], np.mean(np.exp(log_rate.astype(float)) - y * log_rate),
                     np.float32)


def test_adamw_network_trains_as_the_numpy_reference_loop():
    from fastnn.reference_loop import ReferenceNetwork
    X, y = regression_data(n=64)
    net = fnn.Network([fnn.Dense(5, 16), fnn.ReLU(), fnn.Dense(16, 3)], loss="huber",
                      optimizer=fnn.AdamW(0.01, weight_decay=0.1), random_state=3)
    d1, d2 = net.layers[0], net.layers[2]
    ref = ReferenceNetwork(
        [(d1.W, d1.b, "relu", 0.0, 0.0, None), (d2.W, d2.b, "identity", 0.0, 0.0, None)],
        "huber", ("adamw_update", dict(lr=0.01, weight_decay=0.1), 0.0))
    for _ in range(3):
        ref.epoch(X, y, np.arange(64), 16)
    net.fit(X, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    for p, q in zip(net.parameters(), ref.parameters()):
        np.testing.assert_allclose(p, q, rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("loss", [fnn.Huber(0.7), fnn.Poisson()], ids=repr)
def test_save_load_round_trip(tmp_path, loss):
    X, y = regression_data(kind="poisson" if isinstance(loss, fnn.Poisson) else "huber")
    net = regression_net(loss, fnn.AdamW(0.02, weight_decay=0.05, beta2=0.99))
    net.fit(X, y, epochs=2, batch_size=16, verbose=0)
    net.save(tmp_path / "m.npz")
    loaded = fnn.load(tmp_path / "m.npz")
    assert type(loaded.loss) is type(loss) and loaded.loss.config() == loss.config()
    assert type(loaded.optimizer) is fnn.AdamW
    assert loaded.optimizer.config() == net.optimizer.config()
    assert [len(s) for s in loaded.optimizer.state] == [2] * 4
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))
    net.fit(X, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    loaded.fit(X, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    for p, q in zip(net.parameters(), loaded.parameters()):
        np.testing.assert_array_equal(p, q)


def test_names_and_defaults():
    assert type(fnn.losses.get("huber")) is fnn.Huber and fnn.losses.get("huber").delta == 1.0
    assert type(fnn.losses.get("poisson")) is fnn.Poisson
    opt = fnn.optimizers.get("adamw")
    assert type(opt) is fnn.AdamW
    assert opt.config() == {"lr": 0.001, "decay": 0.0, "weight_decay": 0.01, "beta1": 0.9,
                            "beta2": 0.999, "eps": 1e-8}
    net = fnn.Network([fnn.Dense(2, 1)], loss="huber", optimizer="adamw")
    assert isinstance(net.loss, fnn.Huber) and isinstance(net.optimizer, fnn.AdamW)


# ---------------------------------------------------------------- bad arguments

@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf])
def test_poisson_refuses_negative_or_non_finite_targets(bad):
    X, y = regression_data(kind="poisson")
    y[3, 1] = bad
    net = regression_net("poisson", "adamw")
    with pytest.raises(ValueError, match="y"):
        net.fit(X, y, verbose=0)
    with pytest.raises(ValueError, match="y"):
        net.evaluate(X, y)
    if bad == -1.0:
        with pytest.raises(ValueError, match="Poisson targets, which must be finite and >= 0"):
            fnn.Poisson().check_target(y, "y")


@pytest.mark.parametrize("delta", [0, -1, np.inf, np.nan, "1", None])
def test_huber_refuses_a_bad_delta(delta):
    with pytest.raises(ValueError, match="delta"):
        fnn.Huber(delta)
    if isinstance(delta, (int, float)):
        z = np.zeros((2, 2))
        with pytest.raises(ValueError, match="delta must be a finite number > 0"):
            K.huber(z, z, np.empty_like(z), None, delta)


def test_huber_delta_changed_after_construction_is_checked():
    X, y = regression_data()
    net = regression_net("huber", "sgd")
    net.loss.delta = -2.0
    with pytest.raises(ValueError, match="loss.delta"):
        net.fit(X, y, verbose=0)


@pytest.mark.parametrize("kwargs, match", [
    (dict(weight_decay=-0.1), "weight_decay"), (dict(beta1=1.0), "beta1"),
    (dict(beta2=-0.5), "beta2"), (dict(eps=0.0), "eps"), (dict(lr=np.nan), "lr")])
def test_adamw_refuses_bad_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fnn.AdamW(**kwargs)
    p = np.zeros(3)
    with pytest.raises(ValueError, match=match):
        K.adamw_update(p, p.copy(), np.zeros(3), np.zeros(3), 1, **kwargs)


def test_adamw_kernel_refuses_bad_step_and_l2():
    p = np.zeros(3)
    with pytest.raises(ValueError, match="t is the 1-based step number"):
        K.adamw_update(p, p.copy(), np.zeros(3), np.zeros(3), 0)
    with pytest.raises(ValueError, match="l2 must be a finite number >= 0"):
        K.adamw_update(p, p.copy(), np.zeros(3), np.zeros(3), 1, l2=-1.0)
    with pytest.raises(ValueError, match="adamw needs both moment arrays"):
        K.adamw_update(p, p.copy(), None, np.zeros(3), 1)


# ---------------------------------------------------------------- PyTorch

def _torch():
    import torch
    torch.set_num_threads(1)
    return torch


@pytest.mark.torch
@pytest.mark.parametrize("delta", [0.5, 1.0, 2.0])
def test_huber_equals_torch(delta, dtype):
    torch = _torch()
    rng = np.random.default_rng(8)
    z = (2 * rng.standard_normal((50, 4))).astype(dtype)
    y = rng.standard_normal((50, 4)).astype(dtype)
    zt = torch.tensor(z, requires_grad=True)
    want = torch.nn.HuberLoss(reduction="mean", delta=delta)(zt, torch.tensor(y))
    want.backward()
    grad = np.empty_like(z)
    loss = K.huber(z, y, grad, None, delta)
    assert_close(loss, want.item(), dtype)
    assert_close(grad, zt.grad.numpy(), dtype)


@pytest.mark.torch
def test_poisson_equals_torch(dtype):
    torch = _torch()
    rng = np.random.default_rng(9)
    z, y = rng.standard_normal((50, 4)).astype(dtype), rng.poisson(2.0, (50, 4)).astype(dtype)
    zt = torch.tensor(z, requires_grad=True)
    want = torch.nn.PoissonNLLLoss(log_input=True)(zt, torch.tensor(y))
    want.backward()
    grad = np.empty_like(z)
    loss = K.poisson(z, y, grad)
    assert_close(loss, want.item(), dtype)
    assert_close(grad, zt.grad.numpy(), dtype)


@pytest.mark.torch
def test_adamw_kernel_equals_torch_step_for_step(dtype):
    torch = _torch()
    rng = np.random.default_rng(10)
    p = rng.standard_normal(1000).astype(dtype)
    m, v = np.zeros_like(p), np.zeros_like(p)
    pt = torch.tensor(p.copy(), requires_grad=True)
    opt = torch.optim.AdamW([pt], lr=0.01, betas=(0.8, 0.99), eps=1e-8, weight_decay=0.1)
    rtol = 1e-12 if dtype == np.float64 else 4 * np.finfo(np.float32).eps
    for t in range(1, 21):
        g = rng.standard_normal(p.shape).astype(dtype)
        pt.grad = torch.tensor(g)
        opt.step()
        K.adamw_update(p, g, m, v, t, lr=0.01, beta1=0.8, beta2=0.99, eps=1e-8, weight_decay=0.1)
        np.testing.assert_allclose(p, pt.detach().numpy(), rtol=rtol, atol=rtol * np.abs(p).max())


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("engine", [True, False])
def test_adamw_training_equals_torch_step_for_step(dtype, engine):
    torch = _torch()
    X, y = regression_data(n=64)
    X, y = X.astype(dtype), y.astype(dtype)
    net = fnn.Network([fnn.Dense(5, 16), fnn.Tanh(), fnn.Dense(16, 3)], loss="mse",
                      optimizer=fnn.AdamW(0.01, weight_decay=0.05), dtype=dtype, random_state=4,
                      engine=engine)
    assert_trains_as_torch(
        net, lambda params: torch.optim.AdamW(params, lr=0.01, weight_decay=0.05), X, y, dtype)


def test_cli_trains_with_adamw(tmp_path, capsys):
    from fastnn.__main__ import main
    path = tmp_path / "m.npz"
    assert main(["train", "iris", "--optimizer", "adamw", "--epochs", "5", "--verbose", "0",
                 "--save", str(path)]) == 0
    assert "adamw lr=0.01" in capsys.readouterr().out
    assert type(fnn.load(path).optimizer) is fnn.AdamW


def test_predict_reads_no_optimizer_hyperparameter():
    """An inference plan took the optimizer's settings too: a weight_decay that is not a number
    made predict raise an unnamed TypeError with the engine, and not without it."""
    X = np.ones((3, 4), np.float32)
    outputs = []
    for engine in (True, False):
        net = fnn.Network([fnn.Dense(4, 8), fnn.GELU(), fnn.Dense(8, 2)], loss="huber",
                          optimizer=fnn.AdamW(), random_state=0, engine=engine)
        net.optimizer.weight_decay = "x"
        outputs.append(net.predict(X))
        assert set(net.evaluate(X, np.zeros((3, 2), np.float32))) == {"loss"}
    np.testing.assert_array_equal(outputs[0], outputs[1])
