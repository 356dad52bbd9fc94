"""Training controls: gradient clipping, learning-rate schedules and Keras' argument names on the
optimizers. Each against PyTorch in float64 step for step, against the NumPy reference loop in
float32, and the engine against the layer-by-layer path bit for bit."""
import math

import numpy as np
import pytest
from test_engine import assert_same_training, data, mlp, twin_networks

import fastnn as fnn
from fastnn import kernels as K
from fastnn import reference as R
from fastnn.reference_loop import ReferenceNetwork

CLIPPING = [dict(clipnorm=0.05), dict(global_clipnorm=0.08), dict(clipvalue=0.004),
            dict(clipnorm=0.05, clipvalue=0.004), dict(global_clipnorm=0.08, clipvalue=0.004)]


# ---------------------------------------------------------------- the kernels

@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 64, 101])
def test_grad_sum_squares_equals_its_reference_twin(dtype, n):
    g = (np.random.default_rng(n).standard_normal(n) * 3).astype(dtype)
    got, want = K.grad_sum_squares(g), R.grad_sum_squares(g)
    if dtype == np.float32 or K.VARIANT == "baseline":
        assert got == want  # float32 squares are exact in double; baseline has no FMA
    else:
        assert got == pytest.approx(want, rel=1e-15)
    assert got == pytest.approx(float(np.sum(g.astype(np.float64) ** 2)), rel=1e-12)


@pytest.mark.parametrize("scale, clipvalue", [(1.0, 0.0), (0.3, 0.0), (1.0, 0.5), (0.7, 0.2)])
def test_clip_gradient_equals_its_reference_twin(dtype, scale, clipvalue):
    g = np.random.default_rng(1).standard_normal((5, 7)).astype(dtype)
    g[0, 0] = np.nan
    a, b = g.copy(), g.copy()
    assert K.clip_gradient(a, scale, clipvalue) is a
    R.clip_gradient(b, scale, clipvalue)
    np.testing.assert_array_equal(a, b)
    assert np.isnan(a[0, 0])
    if clipvalue:
        assert np.nanmax(np.abs(a)) <= clipvalue


def test_clipping_kernels_refuse_bad_arguments():
    g = np.ones(4, np.float32)
    with pytest.raises(ValueError, match="scale"):
        K.clip_gradient(g, -1.0)
    with pytest.raises(ValueError, match="clipvalue"):
        K.clip_gradient(g, 1.0, float("nan"))
    g.flags.writeable = False
    with pytest.raises(ValueError, match="grad is an output"):
        K.clip_gradient(g, 0.5)
    with pytest.raises(TypeError):
        K.grad_sum_squares(np.ones(3, np.int64))


# ---------------------------------------------------------------- against PyTorch, float64

def _torch_twin(net):
    import torch
    torch.set_num_threads(1)
    model = torch.nn.Sequential(torch.nn.Linear(*net.layers[0].W.shape), torch.nn.Tanh(),
                                torch.nn.Linear(*net.layers[2].W.shape)).double()
    pairs = list(zip((model[0], model[2]), (net.layers[0], net.layers[2])))
    with torch.no_grad():
        for linear, dense in pairs:
            linear.weight.copy_(torch.tensor(dense.W.T))
            linear.bias.copy_(torch.tensor(dense.b))
    return model, pairs


def _trains_as_torch(optimizer, torch_optimizer, clip=None, scheduler=None, steps=12,
                     engine=True):
    """`steps` steps on batches of 16 of a 5-8-3 Tanh network (mse) in float64, fastnn with
    `optimizer` and torch with torch_optimizer(params), clip(params) between backward and
    step and scheduler(torch optimizer) stepped after each step: the weights agree to 1e-8."""
    import torch
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((64, 5)), rng.standard_normal((64, 3)) * 3
    net = fnn.Network([fnn.Dense(5, 8), fnn.Tanh(), fnn.Dense(8, 3)], loss="mse",
                      optimizer=optimizer, dtype="float64", random_state=0, engine=engine)
    model, pairs = _torch_twin(net)
    opt = torch_optimizer(model.parameters())
    sched = scheduler(opt) if scheduler else None
    assert (net.training_plan(16, False) is not None) == engine
    for step in range(steps):
        batch = slice(16 * (step % 4), 16 * (step % 4 + 1))
        net.fit(X[batch], y[batch], epochs=1, batch_size=16, shuffle=False, verbose=0)
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(torch.tensor(X[batch])),
                                     torch.tensor(y[batch])).backward()
        if clip:
            clip(list(model.parameters()))
        opt.step()
        if sched:
            sched.step()
        for linear, dense in pairs:
            np.testing.assert_allclose(dense.W, linear.weight.detach().numpy().T, rtol=1e-8,
                                       atol=1e-12)
            np.testing.assert_allclose(dense.b, linear.bias.detach().numpy(), rtol=1e-8,
                                       atol=1e-12)
    return net


def _torch_clip(clipnorm=None, global_clipnorm=None, clipvalue=None):
    import torch

    def clip(params):
        if clipnorm is not None:
            for p in params:
                torch.nn.utils.clip_grad_norm_([p], clipnorm)
        if global_clipnorm is not None:
            torch.nn.utils.clip_grad_norm_(params, global_clipnorm)
        if clipvalue is not None:
            torch.nn.utils.clip_grad_value_(params, clipvalue)
    return clip


@pytest.mark.torch
@pytest.mark.parametrize("clipping", CLIPPING, ids=lambda c: "+".join(c))
@pytest.mark.parametrize("engine", [True, False], ids=["engine", "layers"])
def test_clipping_trains_as_torch_sgd_momentum(clipping, engine):
    import torch
    net = _trains_as_torch(fnn.SGD(0.2, momentum=0.9, **clipping),
                           lambda p: torch.optim.SGD(p, lr=0.2, momentum=0.9),
                           _torch_clip(**clipping), engine=engine)
    assert net.optimizer.iterations == 12


@pytest.mark.torch
@pytest.mark.parametrize("clipping", CLIPPING, ids=lambda c: "+".join(c))
def test_clipping_comes_before_the_weight_decay_as_in_torch_adam(clipping):
    import torch
    _trains_as_torch(fnn.Adam(0.01, weight_decay=0.5, **clipping),
                     lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.5),
                     _torch_clip(**clipping))


@pytest.mark.torch
def test_clipping_acts_in_these_tests():
    """Without the clipping, torch's clipped run is left behind: the comparisons above see it."""
    import torch
    with pytest.raises(AssertionError):
        _trains_as_torch(fnn.SGD(0.2, momentum=0.9),
                         lambda p: torch.optim.SGD(p, lr=0.2, momentum=0.9),
                         _torch_clip(global_clipnorm=0.08))


SCHEDULES = {
    "lambda": (lambda t: 0.1 * (1 + t) ** -0.5,
               lambda o: __import__("torch").optim.lr_scheduler.LambdaLR(
                   o, lambda k: (1 + k) ** -0.5)),
    "step": (fnn.StepDecay(0.1, step_size=3, gamma=0.5),
             lambda o: __import__("torch").optim.lr_scheduler.StepLR(o, 3, gamma=0.5)),
    "exponential": (fnn.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.8),
                    lambda o: __import__("torch").optim.lr_scheduler.ExponentialLR(o, 0.8)),
    "cosine": (fnn.CosineDecay(0.1, decay_steps=12, alpha=0.1),
               lambda o: __import__("torch").optim.lr_scheduler.CosineAnnealingLR(
                   o, T_max=12, eta_min=0.01)),
    "cosine_warmup": (fnn.CosineDecay(0.0, decay_steps=8, alpha=0.0, warmup_target=0.1,
                                      warmup_steps=4),
                      lambda o: __import__("torch").optim.lr_scheduler.LambdaLR(
                          o, lambda k: k / 4 if k < 4
                          else 0.5 * (1 + math.cos(math.pi * min(k - 4, 8) / 8)))),
    "piecewise": (fnn.PiecewiseConstantDecay([3, 7], [0.1, 0.05, 0.01]),
                  lambda o: __import__("torch").optim.lr_scheduler.LambdaLR(
                      o, lambda k: 1.0 if k <= 3 else 0.5 if k <= 7 else 0.1)),
}


@pytest.mark.torch
@pytest.mark.parametrize("name", SCHEDULES)
@pytest.mark.parametrize("engine", [True, False], ids=["engine", "layers"])
def test_schedules_train_as_torch_schedulers_stepped_per_batch(name, engine):
    import torch
    schedule, scheduler = SCHEDULES[name]
    # Adam and plain SGD: SGD's momentum takes lr into its velocity (Keras' and scikit-learn's
    # form), torch's applies it after, which differ once the rate changes
    _trains_as_torch(fnn.Adam(learning_rate=schedule, weight_decay=0.1),
                     lambda p: torch.optim.Adam(p, lr=0.1, weight_decay=0.1),
                     scheduler=scheduler, engine=engine)
    _trains_as_torch(fnn.SGD(learning_rate=schedule), lambda p: torch.optim.SGD(p, lr=0.1),
                     scheduler=scheduler, engine=engine)


@pytest.mark.torch
def test_a_schedule_and_clipping_together_train_as_torch():
    import torch
    _trains_as_torch(
        fnn.Adam(learning_rate=fnn.ExponentialDecay(0.02, 1, 0.9), global_clipnorm=0.1),
        lambda p: torch.optim.Adam(p, lr=0.02),
        _torch_clip(global_clipnorm=0.1),
        lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.9))


@pytest.mark.torch
def test_adamw_decays_at_the_scheduled_rate_after_clipping_as_torch():
    import torch
    _trains_as_torch(
        fnn.AdamW(learning_rate=fnn.CosineDecay(0.05, 12, alpha=0.2), weight_decay=0.3,
                  clipnorm=0.05, clipvalue=0.004),
        lambda p: torch.optim.AdamW(p, lr=0.05, weight_decay=0.3),
        _torch_clip(clipnorm=0.05, clipvalue=0.004),
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=12, eta_min=0.01))


# ---------------------------------------------------------------- schedules' values

def test_schedule_values_follow_keras_formulas():
    e = fnn.ExponentialDecay(0.1, 10, 0.5)
    assert e(0) == 0.1 and e(10) == pytest.approx(0.05) and e(5) == pytest.approx(0.1 * 0.5 ** 0.5)
    assert fnn.ExponentialDecay(0.1, 10, 0.5, staircase=True)(19) == pytest.approx(0.05)
    s = fnn.StepDecay(1.0, 4, 0.1)
    assert [s(t) for t in (0, 3, 4, 8)] == pytest.approx([1, 1, 0.1, 0.01])
    p = fnn.PiecewiseConstantDecay([5, 10], [1.0, 0.5, 0.1])
    assert [p(t) for t in (0, 5, 6, 10, 11, 99)] == [1.0, 1.0, 0.5, 0.5, 0.1, 0.1]
    c = fnn.CosineDecay(1.0, 10, alpha=0.2)
    assert c(0) == 1.0 and c(5) == pytest.approx(0.6) and c(10) == c(50) == pytest.approx(0.2)
    w = fnn.CosineDecay(0.0, 10, warmup_target=1.0, warmup_steps=5)
    assert [w(t) for t in (0, 1, 5)] == pytest.approx([0.0, 0.2, 1.0])
    assert w(10) == pytest.approx(0.5) and w(15) == w(100) == pytest.approx(0.0)


# ---------------------------------------------------------------- engine == layer path

@pytest.mark.parametrize("clipping", CLIPPING, ids=lambda c: "+".join(c))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_engine_equals_layer_path_with_clipping(clipping, dtype):
    X, y, w = data()
    for optimizer in (fnn.SGD(0.5, momentum=0.9, **clipping),
                      fnn.AdamW(0.02, weight_decay=0.1, **clipping)):
        a, b = twin_networks(mlp(dropout=0.2), optimizer=optimizer, dtype=dtype)
        before = [p.copy() for p in a.parameters()]
        assert_same_training(a, b, X, y, epochs=3, batch_size=16, sample_weight=w)
        assert not all(np.array_equal(p, q) for p, q in zip(before, a.parameters()))


@pytest.mark.parametrize("schedule", [fnn.CosineDecay(0.05, 15, 0.1, 0.1, 5),
                                      fnn.PiecewiseConstantDecay([4, 9], [0.1, 0.05, 0.01]),
                                      # a lambda's repr holds its address, which differs
                                      # between pytest-xdist's workers: a fixed id
                                      pytest.param(lambda t: 0.05 / (1 + 0.1 * t),
                                                   id="lambda t: 0.05 / (1 + 0.1 * t)")],
                         ids=repr)
def test_engine_equals_layer_path_with_a_schedule(schedule):
    X, y, _ = data()
    a, b = twin_networks(mlp(), optimizer=fnn.SGD(schedule, momentum=0.9, decay=0.01,
                                                  clipvalue=0.05))
    assert_same_training(a, b, X, y, epochs=4, batch_size=16)
    assert a.optimizer.iterations == 4 * 7


def test_a_schedule_runs_several_epochs_per_engine_call_as_epoch_by_epoch():
    X, y, _ = data()
    nets = [fnn.Network(mlp()(), optimizer=fnn.Adam(fnn.ExponentialDecay(0.01, 5, 0.9)),
                        random_state=1) for _ in range(2)]
    nets[0].fit(X, y, epochs=6, batch_size=16, verbose=0)  # several epochs a call
    nets[1].fit(X, y, epochs=6, batch_size=16, verbose=0,
                callbacks=[fnn.Callback()])  # one epoch a call
    for p, q in zip(nets[0].parameters(), nets[1].parameters()):
        np.testing.assert_array_equal(p, q)


def test_clipping_and_schedule_match_the_reference_loop_in_float32():
    X, y, _ = data(n=64)
    schedule = fnn.CosineDecay(0.02, 10, alpha=0.1, warmup_target=0.05, warmup_steps=3)
    for clipping in CLIPPING:
        net = fnn.Network([fnn.Dense(6, 16), fnn.ReLU(), fnn.Dense(16, 3)],
                          optimizer=fnn.Adam(schedule, **clipping), random_state=3)
        d1, d2 = net.layers[0], net.layers[2]
        ref = ReferenceNetwork([(d1.W, d1.b, "relu", 0.0, 0.0, None),
                                (d2.W, d2.b, "identity", 0.0, 0.0, None)],
                               "softmax_cross_entropy", ("adam_update", dict(lr=None), 0.0),
                               clipping=clipping, schedule=schedule)
        for _ in range(3):
            ref.epoch(X, y, np.arange(64), 16)
        net.fit(X, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
        for p, q in zip(net.parameters(), ref.parameters()):
            np.testing.assert_allclose(p, q, rtol=2e-4, atol=2e-5)


def test_train_step_clips_and_follows_the_schedule():
    X, y, _ = data(n=16)
    a, b = twin_networks(mlp(), optimizer=fnn.SGD(lambda t: 0.1 * 0.5 ** t, clipnorm=0.1))
    for _ in range(3):
        a.train_step(X, y)
    a_net = a
    b.fit(X, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    for p, q in zip(a_net.parameters(), b.parameters()):
        np.testing.assert_array_equal(p, q)


# ---------------------------------------------------------------- lr between epochs, decay

def test_a_plain_lr_set_between_epochs_takes_effect_in_the_engine():
    X, y, _ = data()
    a, b = twin_networks(mlp(), optimizer=fnn.Adam(0.01))
    for net in (a, b):
        net.fit(X, y, epochs=1, batch_size=16, verbose=0)
        net.optimizer.lr = 0.002
        net.fit(X, y, epochs=1, batch_size=16, verbose=0)
        net.optimizer.lr = fnn.StepDecay(0.01, 3)  # and a schedule set later
        net.fit(X, y, epochs=1, batch_size=16, verbose=0)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p, q)
    assert type(fnn.Adam(0.01).lr) is float


# ---------------------------------------------------------------- Keras' names

def test_keras_argument_names_give_the_same_optimizer():
    keras = fnn.Adam(learning_rate=0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-6)
    assert keras.config() == fnn.Adam(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-6).config()
    assert fnn.RMSprop(learning_rate=0.1, epsilon=1e-3).config() == \
        fnn.RMSprop(0.1, eps=1e-3).config()
    assert fnn.SGD(learning_rate=0.3).lr == 0.3
    for cls in fnn.optimizers.OPTIMIZERS.values():
        assert cls(learning_rate=0.25).lr == 0.25


@pytest.mark.parametrize("kwargs", [dict(lr=0.01, learning_rate=0.01),
                                    dict(lr=0.001, learning_rate=0.01),  # lr as the default
                                    dict(beta1=0.9, beta_1=0.8), dict(eps=1e-8, epsilon=1e-7)])
def test_both_spellings_at_once_are_a_type_error(kwargs):
    with pytest.raises(TypeError, match="Keras name"):
        fnn.Adam(**kwargs)


def test_an_optimizer_without_the_argument_refuses_its_keras_name():
    with pytest.raises(TypeError):
        fnn.SGD(beta_1=0.9)


# ---------------------------------------------------------------- bad arguments

@pytest.mark.parametrize("kwargs, match", [
    (dict(clipnorm=0.0), "clipnorm"), (dict(clipnorm=-1), "clipnorm"),
    (dict(clipvalue=float("nan")), "clipvalue"), (dict(global_clipnorm=float("inf")),
                                                  "global_clipnorm"),
    (dict(clipvalue="1"), "clipvalue"), (dict(clipnorm=True), "clipnorm"),
    (dict(clipnorm=1.0, global_clipnorm=1.0), "at most one")])
def test_bad_clipping_arguments_are_value_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fnn.Adam(**kwargs)


def test_clipping_set_after_construction_is_checked_before_training():
    X, y, _ = data()
    net = fnn.Network(mlp()(), optimizer=fnn.Adam(clipnorm=1.0), random_state=0)
    net.optimizer.global_clipnorm = 1.0
    with pytest.raises(ValueError, match="at most one"):
        net.fit(X, y, verbose=0)


@pytest.mark.parametrize("bad", [float("nan"), -0.1, float("inf"), "0.1", None, True, 1j])
@pytest.mark.parametrize("engine", [True, False])
def test_a_bad_schedule_value_is_a_value_error_before_the_step(bad, engine):
    X, y, _ = data()
    net = fnn.Network(mlp()(), optimizer=fnn.SGD(lambda t: 0.1 if t < 5 else bad),
                      random_state=0, engine=engine)
    before = [p.copy() for p in net.parameters()]
    with pytest.raises(ValueError, match="for step 5"):
        net.fit(X, y, epochs=2, batch_size=16, verbose=0)
    for p, q in zip(before, net.parameters()):  # the epoch's start put back
        np.testing.assert_array_equal(p, q)


def test_a_bad_schedule_value_stops_train_step_before_the_step():
    X, y, _ = data(n=16)
    net = fnn.Network(mlp()(), optimizer=fnn.Adam(lambda t: -1.0), random_state=0)
    before = [p.copy() for p in net.parameters()]
    with pytest.raises(ValueError, match="gave -1.0 for step 0"):
        net.train_step(X, y)
    for p, q in zip(before, net.parameters()):
        np.testing.assert_array_equal(p, q)
    assert net.optimizer.iterations == 0


@pytest.mark.parametrize("make, match", [
    (lambda: fnn.ExponentialDecay(-0.1, 10, 0.5), "initial_learning_rate"),
    (lambda: fnn.ExponentialDecay(0.1, 0, 0.5), "decay_steps"),
    (lambda: fnn.ExponentialDecay(0.1, 10, 0), "decay_rate"),
    (lambda: fnn.StepDecay(0.1, 0), "step_size"),
    (lambda: fnn.StepDecay(0.1, 2.5), "step_size"),
    (lambda: fnn.CosineDecay(0.1, 10, alpha=1.5), "alpha"),
    (lambda: fnn.CosineDecay(0.1, 10, warmup_target=float("nan")), "warmup_target"),
    (lambda: fnn.CosineDecay(0.1, 10, warmup_steps=-1), "warmup_steps"),
    (lambda: fnn.PiecewiseConstantDecay([5, 3], [1, 2, 3]), "increase"),
    (lambda: fnn.PiecewiseConstantDecay([5], [1]), "one more")])
def test_bad_schedule_arguments_are_value_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_the_engine_checks_its_learning_rate_table():
    X, y, _ = data()
    net = fnn.Network(mlp()(), optimizer=fnn.SGD(fnn.StepDecay(0.1, 2)), random_state=0)
    plan = net.training_plan(16, True)
    order = np.arange(len(X))
    with pytest.raises(ValueError, match="finite"):
        plan.set_learning_rates(np.array([0.1, np.nan]))
    with pytest.raises(ValueError, match="float64"):
        plan.set_learning_rates(np.array([0.1], np.float32))
    plan.set_learning_rates(np.full(3, 0.1), 0)
    with pytest.raises(ValueError, match="learning-rate table covers steps 0 to 2"):
        plan.train_epoch(X, y, None, order, 16, 0)  # 7 steps
    spec = plan_spec(net)
    with pytest.raises(ValueError, match="clipnorm"):
        type(plan)(spec._replace(optimizer=spec.optimizer._replace(clipnorm=-1.0)))
    with pytest.raises(ValueError, match="at most one"):
        type(plan)(spec._replace(optimizer=spec.optimizer._replace(clipnorm=1.0,
                                                                   global_clipnorm=1.0)))


def plan_spec(net):
    """The PlanSpec compile_plan hands the engine for `net`."""
    import fastnn.engine as E
    specs = []
    real = E._engine.Plan
    E._engine.Plan = lambda spec: specs.append(spec)
    try:
        E.compile_plan(net, 16, True)
    finally:
        E._engine.Plan = real
    return specs[0]


# ---------------------------------------------------------------- save and load

def test_a_builtin_schedule_and_clipping_save_and_load(tmp_path):
    X, y, _ = data()
    opt = fnn.Adam(learning_rate=fnn.PiecewiseConstantDecay([5, 9], [0.02, 0.01, 0.005]),
                   clipnorm=0.5, clipvalue=0.1)
    a = fnn.Network(mlp()(), optimizer=opt, random_state=0)
    a.fit(X, y, epochs=1, batch_size=16, verbose=0)
    a.save(tmp_path / "m.npz")
    b = fnn.load(tmp_path / "m.npz")
    assert b.optimizer.config() == a.optimizer.config()
    assert b.optimizer.lr == a.optimizer.lr and b.optimizer.lr is not a.optimizer.lr
    for net in (a, b):
        net.fit(X, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p, q)


def test_a_custom_schedule_cannot_be_saved(tmp_path):
    def warm(t):
        return 0.01 * min(1, t / 10)

    net = fnn.Network(mlp()(), optimizer=fnn.SGD(warm), random_state=0)
    with pytest.raises(ValueError, match="custom schedule <function .*warm"):
        net.save(tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


def test_a_model_file_with_an_unknown_schedule_is_refused(tmp_path):
    import json
    net = fnn.Network(mlp()(), optimizer=fnn.SGD(fnn.StepDecay(0.1, 3)), random_state=0)
    meta, _ = fnn.io.describe(net)
    meta = json.loads(json.dumps(meta))
    meta["optimizer"]["config"]["lr"]["schedule"] = "Evil"
    with pytest.raises(ValueError, match="not one of fastnn's schedules"):
        fnn.io.Description(meta)
    meta["optimizer"]["config"]["lr"] = {"schedule": "StepDecay", "config": {"step_size": 0}}
    with pytest.raises(ValueError, match="optimizer.config.lr"):
        fnn.io.Description(meta)


def test_the_learning_rate_table_cannot_change_under_a_running_call():
    """A call training in another thread reads the table: replacing it then is a RuntimeError
    (the call holds the generator's lock first, so holding it here keeps the call running)."""
    import threading
    import time
    X, y, _ = data()
    net = fnn.Network(mlp()(), optimizer=fnn.SGD(fnn.StepDecay(0.1, 2)), random_state=0)
    plan = net.training_plan(16, True)
    plan.set_learning_rates(np.full(7, 0.1), 0)
    rng = np.random.default_rng(0)
    with rng.bit_generator.lock:
        worker = threading.Thread(target=plan.train_epochs, args=(X, y, None, 16, 0, 1, rng))
        worker.start()
        deadline = time.monotonic() + 10
        while True:
            try:
                plan.set_learning_rates(np.full(7, 0.1), 0)
            except RuntimeError as error:
                assert "another thread" in str(error)
                break
            assert time.monotonic() < deadline
            time.sleep(0.001)
    worker.join()
    plan.set_learning_rates(None)  # and once it is done, it may
