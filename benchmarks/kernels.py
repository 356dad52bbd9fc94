"""Time every compiled kernel against its NumPy reference, interleaved in one process.

    python benchmarks/kernels.py [--quick] [--threads N] [--output benchmarks/results/kernels.md]

For each kernel and shape, the fastnn call and the fastnn.reference call alternate, `--repeats`
samples each; a sample times a loop long enough (>= --min-time seconds) to swamp the timer.
The table gives the median time per call of each and the ratio reference / fastnn (> 1: fastnn
is faster). BLAS and OpenMP are limited to --threads threads (default 1) for both sides.
"""
import argparse
import os
import statistics
import sys
import time
import timeit

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from fastnn import kernels as K
from fastnn import reference as R

from timing import machine

SMALL = [(1, 2), (4, 16), (32, 64)]
LARGE = [(256, 512), (1024, 2048)]
DTYPE = np.float32


def _rand(rng, shape, low=None, high=None):
    if low is not None:
        return rng.uniform(low, high, shape).astype(DTYPE)
    return rng.standard_normal(shape).astype(DTYPE)


def cases(shapes):
    """(kernel name, shape label, same-BLAS-call flag, argument factory) for each benchmark."""
    for n, w in shapes:
        label = f"{n}x{w}"
        yield ("dense_forward", f"{label} @ {w}x{w}", True,
               lambda rng, n=n, w=w: ((_rand(rng, (n, w)), _rand(rng, (w, w)), _rand(rng, w),
                                       np.empty((n, w), DTYPE), "relu"), {}))
        yield ("dense_backward", f"{label} @ {w}x{w}", True,
               lambda rng, n=n, w=w: ((_rand(rng, (n, w)), _rand(rng, (w, w)), _rand(rng, (n, w)),
                                       np.empty((w, w), DTYPE), np.empty(w, DTYPE),
                                       np.empty((n, w), DTYPE)), {}))
        for act in ("relu", "leaky_relu", "sigmoid", "tanh", "softmax"):
            yield (act + "_forward", label, False,
                   lambda rng, n=n, w=w: ((_rand(rng, (n, w)), np.empty((n, w), DTYPE)), {}))
            yield (act + "_backward", label, False,
                   lambda rng, n=n, w=w: ((_rand(rng, (n, w), 0.01, 0.99), _rand(rng, (n, w)),
                                           np.empty((n, w), DTYPE)), {}))
        yield ("softmax_cross_entropy", label, False,
               lambda rng, n=n, w=w: ((_rand(rng, (n, w)), rng.integers(0, w, n),
                                       np.empty((n, w), DTYPE)), {}))
        yield ("categorical_cross_entropy", label, False,
               lambda rng, n=n, w=w: ((_rand(rng, (n, w), 0.01, 1), rng.integers(0, w, n),
                                       np.empty((n, w), DTYPE)), {}))
        for loss, low in (("sigmoid_binary_cross_entropy", None), ("binary_cross_entropy", 0.01),
                          ("mean_squared_error", None), ("mean_absolute_error", None),
                          ("sum_of_squares", None)):
            yield (loss, label, False,
                   lambda rng, n=n, w=w, low=low: (
                       (_rand(rng, (n, w), low, 0.99 if low else None),
                        _rand(rng, (n, w), 0, 1), np.empty((n, w), DTYPE)), {}))
        yield ("sgd_update", label, False,
               lambda rng, n=n, w=w: ((_rand(rng, (n, w)), _rand(rng, (n, w)),
                                       np.zeros((n, w), DTYPE)), dict(lr=0.01, momentum=0.9)))
        yield ("adam_update", label, False,
               lambda rng, n=n, w=w: ((_rand(rng, (n, w)), _rand(rng, (n, w)),
                                       np.zeros((n, w), DTYPE), np.zeros((n, w), DTYPE), 3), {}))
        yield ("rmsprop_update", label, False,
               lambda rng, n=n, w=w: ((_rand(rng, (n, w)), _rand(rng, (n, w)),
                                       np.zeros((n, w), DTYPE)), {}))
        yield ("adagrad_update", label, False,
               lambda rng, n=n, w=w: ((_rand(rng, (n, w)), _rand(rng, (n, w)),
                                       np.zeros((n, w), DTYPE)), {}))


def _timer(fn, args, kwargs):
    """A timeit.Timer whose statement calls fn with plain positional and keyword arguments:
    `fn(*args, **kwargs)` would add ~70 ns of unpacking to every call on both sides."""
    names = {f"a{i}": a for i, a in enumerate(args)}
    names.update({f"k_{k}": v for k, v in kwargs.items()})
    call = ", ".join([*(f"a{i}" for i in range(len(args))), *(f"{k}=k_{k}" for k in kwargs)])
    return timeit.Timer(f"fn({call})", globals={"fn": fn, **names})


def _loop_time(timer, number):
    return timer.timeit(number) / number


def compare(name, make, repeats, min_time, threads):
    """Median seconds per call of (reference, fastnn), samples alternating between the two."""
    kernel, reference = getattr(K, name), getattr(R, name)
    k_args, k_kwargs = make(np.random.default_rng(0))
    r_args, r_kwargs = make(np.random.default_rng(0))
    k_kwargs = dict(k_kwargs)
    if threads != 1 and name.endswith(("_forward", "_backward", "entropy", "_error", "squares")) \
            and name != "dense_backward":
        k_kwargs["n_threads"] = threads
    kernel(*k_args, **k_kwargs)  # warm up both
    reference(*r_args, **r_kwargs)
    k_timer, r_timer = _timer(kernel, k_args, k_kwargs), _timer(reference, r_args, r_kwargs)
    per_call = _loop_time(k_timer, 1)
    number = max(1, int(min_time / max(per_call, 1e-9)))
    k_times, r_times = [], []
    for _ in range(repeats):
        r_times.append(_loop_time(r_timer, number))
        k_times.append(_loop_time(k_timer, number))
    return statistics.median(r_times), statistics.median(k_times)


def _fmt_us(seconds):
    us = seconds * 1e6
    return f"{us:.2f}" if us < 10 else f"{us:.1f}" if us < 1000 else f"{us:,.0f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small shapes only, fewer repeats")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--min-time", type=float, default=0.005,
                        help="seconds per timing sample (default 0.005)")
    parser.add_argument("--output", help="also write the Markdown table to this file")
    args = parser.parse_args(argv)
    shapes = SMALL if args.quick else SMALL + LARGE
    repeats = 3 if args.quick else args.repeats

    rows, ratios = [], {"small": [], "large": []}
    with threadpool_limits(args.threads):
        blas = sorted({f"{i['internal_api']} {i.get('version')}" for i in threadpool_info()
                       if i["user_api"] == "blas"})
        for name, shape, same_blas, make in cases(shapes):
            t_ref, t_fast = compare(name, make, repeats, args.min_time, args.threads)
            size = "small" if any(shape.startswith(f"{n}x{w}") for n, w in SMALL) else "large"
            ratio = t_ref / t_fast
            ratios[size].append((ratio, name, shape))
            target = 3.0 if size == "small" else 0.95 if same_blas else 1.0
            flag = "" if ratio >= target else " (below target)"
            rows.append(f"| {name} | {shape} | {_fmt_us(t_ref)} | {_fmt_us(t_fast)} "
                        f"| {ratio:.2f}x{flag} |")
            print(rows[-1], file=sys.stderr, flush=True)

    header = [
        f"Kernels vs NumPy reference, float32, {args.threads} thread(s); median of {repeats} "
        f"alternating samples; ratio = reference time / fastnn time.",
        f"Machine: {machine()}; fastnn kernel build {K.VARIANT}; NumPy {np.__version__}; "
        f"BLAS: {', '.join(blas)}; "
        f"{time.strftime('%Y-%m-%d')}.",
        "Command: python benchmarks/kernels.py "
        f"{' '.join(argv if argv is not None else sys.argv[1:])}",
        "",
        "| kernel | shape (batch x width) | reference us | fastnn us | ratio |",
        "|---|---|---|---|---|",
    ]
    summary = [""]
    for size, found in ratios.items():
        if found:
            low = min(found)
            summary.append(f"Lowest {size}-shape ratio: {low[0]:.2f}x ({low[1]}, {low[2]}); "
                           f"median {statistics.median(r for r, _, _ in found):.2f}x.")
    table = "\n".join(header + rows + summary) + "\n"
    print(table)
    if args.output:
        os.makedirs(os.path.dirname(args.output) or ".", exist_ok=True)
        with open(args.output, "w") as f:
            f.write(table)


if __name__ == "__main__":
    main()
