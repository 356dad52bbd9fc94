"""fastnn's MLPClassifier against scikit-learn's on sparse, TF-IDF-like input: a 20,000 x 30,000
CSR matrix of density 0.3% (positive values, rows L2-normalized), labels from a hidden linear
rule, hidden (64,), batch 200, adam, a few epochs with tol=0 and a large n_iter_no_change (so
both run every epoch). One thread; the systems interleaved fit by fit; medians of the time per
epoch; the test accuracies of each system's last fit.

    PYTHONPATH=. python benchmarks/sparse.py [epochs] [samples] [--float32]

--float32 fits both on float32 X (both then train in float32) and also times a float32
fastnn.Network fit on the same CSR rows.
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from sklearn import neural_network as sk  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.preprocessing import normalize  # noqa: E402

import fastnn  # noqa: E402

ROWS, TEST_ROWS, FEATURES, DENSITY, SEED = 20_000, 5_000, 30_000, 0.003, 0


def make_data(dtype):
    """Train and test CSR rows and labels: TF-IDF-like rows, two classes split at the median
    of a hidden linear score."""
    rng = np.random.default_rng(SEED)
    X = sp.random(ROWS + TEST_ROWS, FEATURES, density=DENSITY, format="csr", random_state=SEED,
                  data_rvs=lambda size: rng.exponential(1.0, size) + 0.1)
    X = normalize(X, norm="l2").astype(dtype)
    score = X @ rng.standard_normal(FEATURES)
    y = (score > np.median(score)).astype(int)
    return X[:ROWS], y[:ROWS], X[ROWS:], y[ROWS:]


def estimator(module, epochs):
    return module.MLPClassifier(hidden_layer_sizes=(64,), batch_size=200, solver="adam",
                                max_iter=epochs, tol=0.0, n_iter_no_change=10**6,
                                random_state=0)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    epochs = int(args[0]) if args else 3
    samples = int(args[1]) if len(args) > 1 else 3
    dtype = np.float32 if "--float32" in sys.argv else np.float64
    X, y, X_test, y_test = make_data(dtype)
    systems = {"fastnn": fastnn, "scikit-learn": sk}
    times, accuracy = {name: [] for name in systems}, {}
    for _ in range(samples):
        for name, module in systems.items():
            clf = estimator(module, epochs)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                start = time.perf_counter()
                clf.fit(X, y)
                times[name].append((time.perf_counter() - start) / clf.n_iter_)
            accuracy[name] = clf.score(X_test, y_test)
    ours, theirs = (statistics.median(times[name]) for name in systems)
    print(f"{ROWS} x {FEATURES} CSR, density {DENSITY}, {np.dtype(dtype).name}, hidden (64,), "
          f"batch 200, adam, {epochs} epochs, 1 thread, median of {samples}:")
    print(f"  fastnn {ours * 1e3:.1f} ms/epoch (test accuracy {accuracy['fastnn']:.4f}), "
          f"scikit-learn {theirs * 1e3:.1f} ms/epoch (test accuracy "
          f"{accuracy['scikit-learn']:.4f}); scikit-learn / fastnn = {theirs / ours:.2f}")
    if dtype == np.float32:
        net_times = []
        for _ in range(samples):
            net = fastnn.Network([fastnn.Dense(FEATURES, 64), fastnn.ReLU(), fastnn.Dense(64, 2)],
                                 optimizer=fastnn.Adam(1e-3), dtype="float32", random_state=0)
            start = time.perf_counter()
            net.fit(X, y, epochs=epochs, batch_size=200, verbose=0)
            net_times.append((time.perf_counter() - start) / epochs)
        net_accuracy = float(np.mean(net.predict(X_test).argmax(axis=1) == y_test))
        print(f"  fastnn.Network float32: {statistics.median(net_times) * 1e3:.1f} ms/epoch "
              f"(test accuracy {net_accuracy:.4f})")


if __name__ == "__main__":
    main()
