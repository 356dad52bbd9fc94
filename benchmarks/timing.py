"""What the benchmarks (training.py, estimators.py, kernels.py) share: the initial weights, the
GEMM floor, the pause between samples and the machine's description."""
import contextlib
import os
import platform
import time

import numpy as np

import fastnn as fnn
from fastnn import kernels as K


def initial_weights(sizes, seed=0):
    rng = np.random.default_rng(seed)
    return [(fnn.initializers.he(rng, a, b, np.float32), np.zeros(b, np.float32))
            for a, b in zip(sizes, sizes[1:])]


def settle(threads, rows, sizes):
    """Before a sample whose BLAS calls run on several threads (batches of `rows` rows through
    layers of `sizes`, not small work): a pause for the last system's BLAS workers to stop
    spinning (NumPy and SciPy each bundle an OpenBLAS). Small work is left alone: the pause
    made its next sample slower, and its GEMMs run on one thread anyway (benchmarks/METHOD.md)."""
    from fastnn.thresholds import small_work
    if threads > 1 and not small_work(rows, sizes):
        time.sleep(0.2)


def gemm_floor(n, sizes, batch, dtype=np.float32, min_calls=500):
    """Seconds per epoch of the GEMMs alone: for each batch of an epoch over n rows, X @ W
    forward and X^T dY, dY W^T backward for every layer (no dX for the first), through the
    engine's BLAS with the engine's thread rule (one thread for small work); over enough
    epochs for at least `min_calls` batches."""
    from threadpoolctl import threadpool_limits

    from fastnn.thresholds import small_work
    weights = [(W.astype(dtype), b) for W, b in initial_weights(sizes)]
    rows = min(batch, n)
    bufs = [(np.ones((rows, W.shape[0]), dtype), W, np.ones((rows, W.shape[1]), dtype),
             np.empty_like(W), np.empty((rows, W.shape[0]), dtype)) for W, _ in weights]
    n_batches = -(-n // batch)
    reps = max(1, -(-min_calls // n_batches))
    with threadpool_limits(1) if small_work(rows, sizes) else contextlib.nullcontext():
        start = time.perf_counter()
        for _ in range(reps * n_batches):
            for i, (x, W, dy, dW, dx) in enumerate(bufs):
                K.dense_forward(x, W, None, dy)
                K.dense_backward(x, W, dy, dW, None, dx if i else None)
        return (time.perf_counter() - start) / reps


def machine():
    """The CPU model and core count, for the tables."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores"
