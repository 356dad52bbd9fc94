"""Time an engine fit with each hidden activation of fastnn.registry, interleaved in one process.

    python benchmarks/activations.py [--repeats 5] [--epochs 2] [--threads 1] [--dtype float32]

A 64-64-64-10 network (two hidden activations) fits 5000 x 64 random inputs with 10 classes,
batch 32, Adam; each repeat times every activation once, in turn, so that a slower stretch of
the machine hits them all alike. Prints the median seconds per fit and the ratio to tanh's.
BLAS and OpenMP are limited to --threads threads.
"""
import argparse
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

import fastnn as fnn
from fastnn import registry

HIDDEN = [(entry.name, entry) for entry in registry.ACTIVATIONS
          if not entry.rowwise and entry.name != "exponential"]


def layer(entry):
    cls = fnn.layers.LAYERS[entry.layer]
    return cls(**{entry.option[0]: entry.option[1]}) if entry.option else cls()


def fit_seconds(entry, X, y, epochs, dtype, threads):
    net = fnn.Network([fnn.Dense(64, 64), layer(entry), fnn.Dense(64, 64), layer(entry),
                       fnn.Dense(64, 10)], optimizer=fnn.Adam(1e-3), dtype=dtype,
                      random_state=0, threads=threads)
    start = time.perf_counter()
    net.fit(X, y, epochs=epochs, batch_size=32, verbose=0)
    return time.perf_counter() - start


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5000, 64)).astype(args.dtype)
    y = rng.integers(0, 10, 5000)
    times = {name: [] for name, _ in HIDDEN}
    with threadpool_limits(args.threads):
        for _, entry in HIDDEN:  # warm-up: plans, buffers, caches
            fit_seconds(entry, X[:500], y[:500], 1, args.dtype, args.threads)
        for _ in range(args.repeats):
            for name, entry in HIDDEN:
                times[name].append(fit_seconds(entry, X, y, args.epochs, args.dtype, args.threads))
    base = statistics.median(times["tanh"])
    print(f"fit of 64-64-64-10 on 5000x64 {args.dtype}, {args.epochs} epochs, batch 32, "
          f"{args.threads} thread(s), median of {args.repeats} (kernels: {fnn.kernels.VARIANT})")
    print(f"{'activation':<12} {'seconds':>8} {'/ tanh':>7}")
    for name, _ in HIDDEN:
        med = statistics.median(times[name])
        print(f"{name:<12} {med:8.4f} {med / base:7.2f}")


if __name__ == "__main__":
    main()
