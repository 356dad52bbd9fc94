"""Fit time of fastnn.MLPClassifier against scikit-learn's MLPClassifier, same parameters.

    python benchmarks/estimators.py [--threads 1 2] [--repeats 5] [--output benchmarks/results]

Both get the same arguments and the same X, and (see fastnn/sklearn.py) take the same steps to
float rounding, so they run the same number of epochs; tol=0 keeps them from stopping early.
Each sample times one whole fit() of each estimator, alternating, and the "GEMM floor": the
matrix multiplications of that fit alone through the same BLAS (see timing.gemm_floor).
The table gives the median seconds per fit, scikit-learn's time / fastnn's, and scikit-learn's
time / the floor: the speed-up that an estimator doing nothing but these BLAS calls would get.
The floor's rate in multiply-adds per second, set beside the core's peak rate
(benchmarks/fma_peak.c), tells how much faster any GEMM could make those products.
"""
import argparse
import os
import statistics
import sys
import time
import warnings

import numpy as np

import fastnn

from timing import gemm_floor, machine, settle

# name: (data, max_iter)
WORKLOADS = {
    "digits 64-100-10": ("digits", 30),
    "784-100-10, 10000 rows": ("wide", 4),
}


def make_data(name):
    if name == "digits":
        from sklearn.datasets import load_digits
        X, y = load_digits(return_X_y=True)
        return X / 16, y
    rng = np.random.default_rng(0)
    X = rng.random((10000, 784))
    return X, (X[:, :10] @ rng.standard_normal((10, 10))).argmax(axis=1)


def multiply_adds(n, sizes, batch, epochs):
    """The multiply-adds of the GEMM floor's products: per row, X @ W and X^T dY for every
    layer, dY W^T for all but the first; in epochs of ceil(n / batch) full batches, as
    timing.gemm_floor times them."""
    products = [a * b for a, b in zip(sizes, sizes[1:])]
    rows = -(-n // batch) * batch
    return epochs * rows * (2 * sum(products) + sum(products[1:]))


def run(threads_list, repeats, solvers=("sgd", "adam"), dtypes=("float64", "float32")):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier as SkMLP
    from threadpoolctl import threadpool_limits

    from fastnn.sklearn import MLPClassifier
    results = []
    for threads in threads_list:
        with threadpool_limits(threads), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for name, (data, max_iter) in WORKLOADS.items():
                X64, y = make_data(data)
                for dtype in dtypes:
                    X = X64.astype(dtype)
                    for solver in solvers:
                        params = dict(solver=solver, max_iter=max_iter, tol=0.0, random_state=0)
                        makers = {"fastnn": lambda p=params: MLPClassifier(**p),
                                  "scikit-learn": lambda p=params: SkMLP(**p)}
                        for make in makers.values():
                            make().fit(X[:500], y[:500])  # warm up imports and caches
                        samples = {system: [] for system in [*makers, "GEMM floor"]}
                        sizes = (X.shape[1], 100, len(np.unique(y)))  # the default hidden layer
                        for _ in range(repeats):
                            for system, make in makers.items():
                                settle(threads, min(200, len(X)), sizes)
                                make().fit(X[:500], y[:500])  # warm, after any pause
                                start = time.perf_counter()
                                make().fit(X, y)
                                samples[system].append(time.perf_counter() - start)
                            settle(threads, min(200, len(X)), sizes)
                            samples["GEMM floor"].append(max_iter * gemm_floor(
                                len(X), sizes, min(200, len(X)), dtype, min_calls=max_iter * 10))
                        medians = {s: statistics.median(v) for s, v in samples.items()}
                        fmas = multiply_adds(len(X), sizes, min(200, len(X)), max_iter)
                        row = (threads, name, dtype, solver, max_iter, medians, fmas)
                        results.append(row)
                        print(f"  {threads} thread(s), {name}, {dtype} X, {solver}: "
                              f"fastnn {medians['fastnn']:.3f} s, scikit-learn "
                              f"{medians['scikit-learn']:.3f} s, "
                              f"x{medians['scikit-learn'] / medians['fastnn']:.2f}, GEMM floor "
                              f"{medians['GEMM floor']:.3f} s", flush=True)
    return results


def table(results, repeats, command, machine, version):
    lines = [
        f"Estimator benchmark, {time.strftime('%Y-%m-%d')}: {machine}; fastnn {version}. "
        f"fastnn.MLPClassifier vs sklearn.neural_network.MLPClassifier with the same parameters "
        f"(defaults but max_iter, tol=0, random_state=0) and the same X; seconds per fit(), median "
        f"of {repeats} alternating samples; speed-up = scikit-learn's time / fastnn's. BLAS "
        f"threads limited for both. GEMM floor: that fit's matrix products alone, through the "
        f"same BLAS; bound = scikit-learn's time / the floor, the most any estimator making "
        f"those BLAS calls could gain. Floor rate: the floor's multiply-adds per second "
        f"(compare the core's peak, benchmarks/fma_peak.c).",
        "", f"Command: `{command}`", "",
        "| threads | workload | X dtype | solver | epochs | fastnn | scikit-learn | speed-up "
        "| GEMM floor | bound | floor rate |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for threads, name, dtype, solver, max_iter, medians, fmas in results:
        ours, theirs, floor = medians["fastnn"], medians["scikit-learn"], medians["GEMM floor"]
        lines.append(f"| {threads} | {name} | {dtype} | {solver} | {max_iter} | {ours:.3f} s | "
                     f"{theirs:.3f} s | x{theirs / ours:.2f} | {floor:.3f} s | "
                     f"x{theirs / floor:.2f} | {fmas / floor / 1e9:.1f} G/s |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(prog="python benchmarks/estimators.py",
                                description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                   help="BLAS thread counts (default 1 2)")
    p.add_argument("--repeats", type=int, default=5, help="samples per estimator (default 5)")
    p.add_argument("--output", metavar="FOLDER",
                   help="also write estimators.md there (benchmarks/results: the committed "
                        "table)")
    args = p.parse_args(argv)
    command = "python benchmarks/estimators.py " + " ".join(
        argv if argv is not None else sys.argv[1:])
    results = run(args.threads, args.repeats)
    text = table(results, args.repeats, command.strip(), machine(), fastnn.__version__)
    print(text)
    if args.output is None:
        return 0
    os.makedirs(args.output, exist_ok=True)
    with open(os.path.join(args.output, "estimators.md"), "w") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
