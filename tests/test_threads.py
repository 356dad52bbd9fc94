"""Threads: predict on one network from 8 threads at once equals serial; two networks trained
in two threads at once equal serial training (the kernels release the GIL, share no state)."""
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import fastnn as fnn


def network(seed=0, engine=True):
    return fnn.Network([fnn.Dense(20, 64), fnn.ReLU(), fnn.Dense(64, 64), fnn.Tanh(),
                        fnn.Dense(64, 5)], optimizer=fnn.Adam(0.01), random_state=seed,
                       engine=engine)


@pytest.mark.parametrize("engine", [True, False])
def test_predict_from_8_threads_equals_serial(engine):
    rng = np.random.default_rng(0)
    net = network(engine=engine)
    inputs = [rng.standard_normal((n, 20)).astype(np.float32) for n in (1, 3, 50, 700) * 8]
    serial = [net.predict(x) for x in inputs]
    with ThreadPoolExecutor(8) as pool:
        for _ in range(5):
            parallel = list(pool.map(net.predict, inputs))
            for a, b in zip(serial, parallel):
                np.testing.assert_array_equal(a, b)


def test_training_two_networks_in_two_threads_equals_serial():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((600, 20)).astype(np.float32)
    y = rng.integers(0, 5, 600)

    def train(seed):
        net = network(seed)
        net.fit(X, y, epochs=5, batch_size=32, verbose=0)
        return net.parameters()

    serial = [train(s) for s in (1, 2)]
    with ThreadPoolExecutor(2) as pool:
        parallel = list(pool.map(train, (1, 2)))
    for a, b in zip(serial, parallel):
        for p, q in zip(a, b):
            np.testing.assert_array_equal(p, q)


class _BlasThreadsSeen(fnn.Callback):
    """Records the BLAS thread count in force during each epoch of fit."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def on_epoch_end(self, epoch, logs):
        from threadpoolctl import threadpool_info
        self.seen.append(max(info["num_threads"] for info in threadpool_info()
                             if info["user_api"] == "blas"))


@pytest.mark.parametrize("width, batch, want", [(64, 32, 1), (512, 15, 1), (512, 16, 2),
                                                (2048, 16, 2)])
def test_blas_threads_stay_one_for_small_work(width, batch, want):
    """threads=2 gives BLAS 2 threads only where a batch's largest product has >= 2^22
    multiply-adds: 32 x 64 x 64 and 15 x 512 x 512 stay on 1; 16 x 512 x 512 (exactly 2^22) and
    16 x 2048 x 2048 (67M) get 2."""
    from threadpoolctl import threadpool_limits
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, width)).astype(np.float32)
    net = fnn.Network([fnn.Dense(width, width), fnn.ReLU(), fnn.Dense(width, 3)],
                      optimizer=fnn.SGD(0.01), random_state=0, threads=2)
    seen = _BlasThreadsSeen()
    with threadpool_limits(2):  # what a 2-core machine gives BLAS by default
        net.fit(X, rng.integers(0, 3, 64), epochs=2, batch_size=batch, verbose=0, callbacks=[seen])
    assert seen.seen == [want, want]
