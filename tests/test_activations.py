"""The activations added through fastnn.registry (ELU, SELU, Softplus, GELU, SiLU, Exponential):
kernels against the NumPy reference, specials, finite differences, engine = layer path bit for
bit, save/load, the CLI, the registry's agreement with the families' tables, and PyTorch."""
import numpy as np
import pytest
from conftest import assert_close

import fastnn as fnn
from fastnn import initializers, layers, losses, optimizers, registry
from fastnn import kernels as K
from fastnn import reference as R
from fastnn.__main__ import main
from fastnn.engine import compile_plan, output_code

NEW = ["elu", "selu", "softplus", "gelu", "gelu_tanh", "silu", "exponential"]
LAYERS = {"elu": lambda: fnn.ELU(0.7), "selu": fnn.SELU, "softplus": fnn.Softplus,
          "gelu": fnn.GELU, "gelu_tanh": lambda: fnn.GELU("tanh"), "silu": fnn.SiLU,
          "exponential": fnn.Exponential}


def extra(name, alpha=0.7):
    return (alpha,) if registry.activation(name).hyper is not None else ()


def run(module, name, x, dy):
    """(y, dx) of activation `name` from `module` (K or R), backward from y or x as it takes."""
    y = getattr(module, name + "_forward")(x, np.empty_like(x), *extra(name))
    saved = x if registry.activation(name).from_input else y
    dx = getattr(module, name + "_backward")(saved, dy, np.empty_like(x), *extra(name))
    return y, dx


@pytest.mark.parametrize("name", NEW)
@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (300, 33)])
def test_kernels_match_the_reference(name, shape, dtype):
    rng = np.random.default_rng(shape[0])
    x = (3 * rng.standard_normal(shape)).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    for got, want in zip(run(K, name, x, dy), run(R, name, x, dy)):
        assert_close(got, want, dtype)
    # in place and on two threads: the same values
    y = run(K, name, x, dy)[0]
    inplace = x.copy()
    getattr(K, name + "_forward")(inplace, inplace, *extra(name), n_threads=2)
    np.testing.assert_array_equal(inplace, y)


@pytest.mark.parametrize("name", NEW)
def test_specials_and_large_inputs_as_the_reference(name, dtype):
    """NaN where the reference has NaN, its infinities, and close finite values, for NaN,
    +-inf, +-0 and |x| up to 1e4, in vector bodies and scalar tails."""
    base = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 20.0, -20.0, 50.0, -50.0, 88.0, -88.0,
                     100.0, -100.0, 700.0, -700.0, 1e4, -1e4, 1e-30, -1e-30, 3.0, -3.0])
    x = np.tile(base, 5)[:101].astype(dtype).reshape(1, -1)
    dy = np.ones_like(x)
    with np.errstate(all="ignore"):
        want = run(R, name, x, dy)
    got = run(K, name, x, dy)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(np.isnan(g), np.isnan(w), err_msg="NaN positions")
        np.testing.assert_array_equal(g[np.isinf(w)], w[np.isinf(w)], err_msg="infinities")
        finite = np.isfinite(w)
        # relative to the value, or to |x| where the value cancels (GELU's 1 + erf(x) at x < 0)
        tol = 2e-5 if dtype == np.float32 else 1e-12
        g, w, scale = g[finite], w[finite], np.abs(x[finite])
        assert (np.abs(g - w) <= tol * (np.abs(w) + scale)).all(), (g, w)


@pytest.mark.parametrize("name", NEW)
def test_backward_matches_finite_differences(name):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 5))
    x = np.where(np.abs(x) < 0.05, 0.1, x)  # ELU/SELU: away from the kink at 0
    dy = rng.standard_normal((4, 5))
    got = run(K, name, x, dy)[1]
    h = 1e-6
    f = getattr(K, name + "_forward")
    up = f(x + h, np.empty_like(x), *extra(name))
    down = f(x - h, np.empty_like(x), *extra(name))
    np.testing.assert_allclose(got, dy * (up - down) / (2 * h), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", NEW)
def test_network_gradients_pass_gradcheck(name):
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((12, 4)), rng.integers(0, 3, 12)
    net = fnn.Network([fnn.Dense(4, 6), LAYERS[name](), fnn.Dense(6, 3)], dtype="float64",
                      random_state=0)
    assert fnn.gradcheck(net, X, y) < 1e-6


def twins(name, dtype, dropout):
    nets = []
    for engine in (True, False):
        body = [fnn.Dense(6, 16), LAYERS[name]()] + ([fnn.Dropout(0.3)] if dropout else [])
        nets.append(fnn.Network(body + [fnn.Dense(16, 8), LAYERS[name](), fnn.Dense(8, 3)],
                                optimizer=fnn.Adam(0.01), dtype=dtype, random_state=7,
                                engine=engine))
    return nets


@pytest.mark.parametrize("name", NEW)
@pytest.mark.parametrize("dropout", [False, True])
def test_engine_equals_the_layer_path_bit_for_bit(name, dropout, dtype):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((97, 6)).astype(dtype) * 0.5
    y = rng.integers(0, 3, 97)
    a, b = twins(name, dtype, dropout)
    assert compile_plan(a, 10) is not None
    a.fit(X, y, epochs=3, batch_size=10, verbose=0)
    b.fit(X, y, epochs=3, batch_size=10, verbose=0)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p, q)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


@pytest.mark.parametrize("name", NEW)
def test_save_load_round_trip(name, tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 4)), rng.integers(0, 3, 40)
    net = fnn.Network([fnn.Dense(4, 8), LAYERS[name](), fnn.Dense(8, 3)], random_state=0)
    net.fit(X, y, epochs=2, batch_size=8, verbose=0)
    net.save(tmp_path / "m.npz")
    back = fnn.load(tmp_path / "m.npz")
    assert type(back.layers[1]) is type(net.layers[1])
    assert back.layers[1].config() == net.layers[1].config()
    np.testing.assert_array_equal(back.predict(X), net.predict(X))


@pytest.mark.parametrize("name", ["elu", "selu", "softplus", "gelu", "gelu_tanh", "silu"])
def test_cli_accepts_the_new_activations(name, tmp_path, capsys):
    path = tmp_path / "m.npz"
    assert main(["train", "iris", "--hidden", "8", "--activation", name, "--epochs", "2",
                 "--verbose", "0", "--save", str(path)]) == 0
    assert fnn.load(path).layers[1].kind == name


def test_layer_constructors_configs_and_errors():
    assert fnn.ELU().config() == {"alpha": 1.0} and fnn.ELU(0.5).alpha == 0.5
    assert fnn.GELU().kind == "gelu" and fnn.GELU(approximate="tanh").kind == "gelu_tanh"
    assert fnn.GELU("tanh").config() == {"approximate": "tanh"}
    assert fnn.SELU().config() == {} and repr(fnn.SiLU()) == "SiLU()"
    assert fnn.LeakyReLU(0.2).config() == {"alpha": 0.2} and fnn.ReLU().config() == {}
    with pytest.raises(ValueError, match="alpha"):
        fnn.ELU(-1.0)
    with pytest.raises(ValueError, match="approximate must be one of"):
        fnn.GELU("erf")
    with pytest.raises(TypeError, match="unexpected keyword"):
        fnn.ELU(beta=1.0)
    with pytest.raises(ValueError, match="alpha"):
        K.elu_forward(np.zeros(3), np.zeros(3), -0.5)
    assert "threshold" in fnn.Softplus.__doc__  # says how it differs from torch's


def test_default_initializers_follow_the_registry():
    net = fnn.Network([fnn.Dense(400, 300), fnn.SELU(), fnn.Dense(300, 300), fnn.GELU(),
                       fnn.Dense(300, 2), fnn.Softplus()], random_state=0)
    stds = [layer.W.std() for layer in net.layers if isinstance(layer, fnn.Dense)]
    np.testing.assert_allclose(stds[0], np.sqrt(1 / 400), rtol=0.02)  # lecun_normal
    np.testing.assert_allclose(stds[1], np.sqrt(2 / 300), rtol=0.02)  # he
    np.testing.assert_allclose(stds[2], np.sqrt(6 / 302) / np.sqrt(3), rtol=0.1)  # glorot


def test_exponential_is_a_predict_time_output_activation(dtype):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 4)).astype(dtype)
    net = fnn.Network([fnn.Dense(4, 8), fnn.Tanh(), fnn.Dense(8, 2)], loss="mse", dtype=dtype,
                      random_state=0)
    raw = net._outputs(X, 16)
    got = net._outputs(X, 16, "exponential")
    np.testing.assert_array_equal(got, K.exponential_forward(raw, np.empty_like(raw)))
    assert_close(got, np.exp(raw), dtype)
    assert output_code("exponential") == registry.ACTIVATIONS.index(
        registry.activation("exponential"))


def test_registry_agrees_with_the_families_tables():
    assert {e.name for e in registry.ACTIVATIONS} == set(R.ACTIVATIONS)
    assert set(layers.LAYERS) == {e.cls for e in registry.LAYERS}
    assert {cls.__name__ for cls in fnn.engine.ACTIVATION_LAYERS} == {
        e.layer for e in registry.ACTIVATIONS}
    assert list(fnn.engine._engine.ACTIVATION_CODES) == [e.name for e in registry.ACTIVATIONS]
    assert list(fnn.engine._engine.ACTIVATION_CODES.values()) == list(
        range(len(registry.ACTIVATIONS)))
    assert set(losses.CLASSES) == {e.cls for e in registry.LOSSES}
    assert set(optimizers.OPTIMIZERS) == {e.name for e in registry.OPTIMIZERS}
    for e in registry.LOSSES:
        assert e.cls in losses.CLASSES
        for name in e.names:
            assert type(losses.get(name)).__name__ == e.cls
    for e in registry.OPTIMIZERS:
        assert optimizers.OPTIMIZERS[e.name].__name__ == e.cls
        assert fnn.engine.OPTIMIZER_SLOTS[e.name] == e.slots
    assert {e.name for e in registry.INITIALIZERS} == set(initializers.INITIALIZERS)
    from fastnn import sklearn
    assert set(sklearn.ACTIVATIONS) == {"identity", "logistic", "tanh", "relu", "leaky_relu"}


# ---------------------------------------------------------------- PyTorch

@pytest.fixture
def torch():
    import torch
    torch.set_num_threads(1)
    return torch


TORCH = {"elu": lambda nn: nn.ELU(0.7), "selu": lambda nn: nn.SELU(),
         "softplus": lambda nn: nn.Softplus(), "gelu": lambda nn: nn.GELU(),
         "gelu_tanh": lambda nn: nn.GELU(approximate="tanh"), "silu": lambda nn: nn.SiLU()}


@pytest.mark.torch
@pytest.mark.parametrize("name", TORCH)
def test_forward_and_backward_equal_torch(name, dtype, torch):
    rng = np.random.default_rng(3)
    x = (3 * rng.standard_normal((64, 33))).astype(dtype)
    x[0, :4] = [-8, 8, 19.5, -19.5]
    dy = rng.standard_normal(x.shape).astype(dtype)
    y, dx = run(K, name, x, dy)
    tx = torch.tensor(x, requires_grad=True)
    ty = TORCH[name](torch.nn)(tx)
    ty.backward(torch.tensor(dy))
    want_y, want_dx = ty.detach().numpy(), tx.grad.numpy()
    if dtype == np.float64:
        np.testing.assert_allclose(y, want_y, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(dx, want_dx, rtol=1e-12, atol=1e-15)
    else:
        # a few float32 ulp of values of order 1; GELU's 1 + erf and 1 + tanh cancel at x < 0,
        # where both libraries' float32 erf/tanh errors show: 1e-5 absolute
        eps = np.finfo(np.float32).eps
        atol = 1e-5 if name.startswith("gelu") else 8 * eps
        np.testing.assert_allclose(y, want_y, rtol=8 * eps, atol=atol)
        np.testing.assert_allclose(dx, want_dx, rtol=8 * eps, atol=atol)


@pytest.mark.torch
def test_softplus_differs_from_torch_above_its_threshold_by_log1p_exp(torch):
    x = np.array([20.5, 25.0, 30.0])
    y = K.softplus_forward(x, np.empty_like(x))
    want = torch.nn.Softplus()(torch.tensor(x)).numpy()
    np.testing.assert_array_equal(want, x)  # torch: x itself above 20
    # ours keeps the log1p(exp(-x)) (2e-9 at x = 20.5), to the rounding of y
    np.testing.assert_allclose(y - want, np.log1p(np.exp(-x)), rtol=0,
                               atol=float(np.spacing(x).max()))
    assert (y > want).all()


@pytest.mark.torch
@pytest.mark.parametrize("name", TORCH)
def test_sgd_steps_equal_torch(name, torch):
    """Five SGD steps of a 5-8-3 network with the same initial weights, float64, MSE."""
    rng = np.random.default_rng(0)
    X, T = rng.standard_normal((16, 5)), rng.standard_normal((16, 3))
    net = fnn.Network([fnn.Dense(5, 8), LAYERS[name](), fnn.Dense(8, 3)], loss="mse",
                      optimizer=fnn.SGD(0.1), dtype="float64", random_state=0)
    nn = torch.nn
    model = nn.Sequential(nn.Linear(5, 8), TORCH[name](nn), nn.Linear(8, 3)).double()
    if name == "elu":
        model[1].alpha = net.layers[1].alpha
    dense = [layer for layer in net.layers if isinstance(layer, fnn.Dense)]
    with torch.no_grad():
        for lin, d in zip([model[0], model[2]], dense):
            lin.weight.copy_(torch.tensor(d.W.T))
            lin.bias.copy_(torch.tensor(d.b))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(5):
        net.train_step(X, T)
        opt.zero_grad()
        # fastnn's MSE averages over the outputs and the batch, as torch's mean reduction
        loss = nn.functional.mse_loss(model(torch.tensor(X)), torch.tensor(T))
        loss.backward()
        opt.step()
        for lin, d in zip([model[0], model[2]], dense):
            np.testing.assert_allclose(d.W, lin.weight.detach().numpy().T, rtol=1e-10, atol=1e-13)
            np.testing.assert_allclose(d.b, lin.bias.detach().numpy(), rtol=1e-10, atol=1e-13)


def test_an_unknown_gelu_approximation_set_later_is_a_value_error():
    """GELU.approximate set to a value it has no kernels for: forward raised KeyError."""
    layer = fnn.GELU()
    layer.approximate = "x"
    with pytest.raises(ValueError, match=r"GELU.approximate must be one of \['none', 'tanh'\]"):
        layer.forward(np.ones((2, 2)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_tanh_backward_of_huge_inputs_is_one_or_zero(dtype):
    """x * x overflowing made the tanh GELU's derivative 0 * inf = NaN at |x| of 1e20 (float32)
    and 1e200 (float64), where it is 1 and 0, as for the erf GELU."""
    big = 1e20 if dtype == np.float32 else 1e200
    x = np.array([big, -big, 0.5], dtype)
    want = np.array([1, 0, 0.8673699], dtype)
    for kernels in (K, R):
        got = kernels.gelu_tanh_backward(x, np.ones(3, dtype), np.empty(3, dtype))
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_an_alpha_not_finite_in_the_networks_dtype_is_refused():
    """ELU(1e308) in a float32 network predicted -inf without a word."""
    with pytest.raises(ValueError, match=r"layers\[1\].alpha=1e\+308 is not a finite float32"):
        fnn.Network([fnn.Dense(2, 3), fnn.ELU(1e308), fnn.Dense(3, 1)], loss="mse",
                    dtype="float32", random_state=0)
    net = fnn.Network([fnn.Dense(2, 3), fnn.ELU(1e308), fnn.Dense(3, 1)], loss="mse",
                      dtype="float64", random_state=0)
    assert np.all(np.isfinite(net.predict(np.ones((2, 2)))))


FACTORED = [a.name for a in registry.ACTIVATIONS if a.factor]


@pytest.mark.parametrize("name", FACTORED)
def test_factor_kernels_give_the_value_and_the_derivative(name, dtype):
    """The layer path's training kernels: forward_factor's value is <name>_forward's, bit for
    bit, and backward_factor's dx = dy * f'(x) matches the reference and the public backward
    (to rounding: the compiler may fuse the multiply-adds of f'(x) differently in the two)."""
    from fastnn import _kernels
    A = _kernels.load("activations")
    rng = np.random.default_rng(5)
    x = (3 * rng.standard_normal((40, 17))).astype(dtype)
    dy = rng.standard_normal(x.shape).astype(dtype)
    out, factor = np.empty_like(x), np.empty_like(x)
    A.forward_factor(name, x, out, factor)
    np.testing.assert_array_equal(out, getattr(K, name + "_forward")(x, np.empty_like(x)))
    dx = A.backward_factor(factor, dy, np.empty_like(x))
    assert_close(dx, run(R, name, x, dy)[1], dtype)
    public = x if registry.activation(name).from_input else out
    assert_close(dx, getattr(K, name + "_backward")(public, dy, np.empty_like(x)), dtype)


def test_factor_kernels_refuse_an_activation_without_one():
    from fastnn import _kernels
    A = _kernels.load("activations")
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match="'tanh' has no factor kernels"):
        A.forward_factor("tanh", x, np.empty_like(x), np.empty_like(x))
    with pytest.raises(ValueError, match="activation must be one of"):
        A.forward_factor("nope", x, np.empty_like(x), np.empty_like(x))
