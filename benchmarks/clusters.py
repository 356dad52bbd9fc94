"""fastnn.MLPClassifier against scikit-learn's on a dask.distributed LocalCluster (docs/scale.md's
recipes): dask-ml's Incremental over a dask array (one partial_fit per block, block after block
on the workers) and scikit-learn's GridSearchCV on joblib's dask backend (the fits spread over
the workers). The same estimator parameters for both; the systems alternate run by run, and
each row is the median of the runs. Needs the dask extra (pip install ".[dask]").

    python benchmarks/clusters.py [--workers 2] [--runs 5] [--output benchmarks/results/clusters.md]
"""
import argparse
import datetime
import os
import platform
import statistics
import time
import warnings

import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier as SkMLP

import fastnn

# Incremental: 200,000 x 50 float32 in blocks of 20,000 rows, 64 hidden units, 5 classes.
INC_ROWS, INC_FEATURES, INC_BLOCK = 200_000, 50, 20_000
INC_PARAMS = dict(hidden_layer_sizes=(64,), batch_size=200, learning_rate_init=0.001,
                  random_state=0)
# GridSearchCV: 4 candidates x 3 folds on 20,000 x 20 float32, 10 epochs each (tol=0 and
# n_iter_no_change above max_iter, so both run every epoch).
GRID_ROWS, GRID_FEATURES = 20_000, 20
GRID_PARAMS = dict(batch_size=200, max_iter=10, tol=0.0, n_iter_no_change=11, random_state=0)
GRID = {"hidden_layer_sizes": [(32,), (64,)], "alpha": [1e-4, 1e-2]}


def data(rows, features, seed=0):
    X, y = make_classification(n_samples=rows, n_features=features, n_informative=features // 2,
                               n_classes=5, random_state=seed)
    return X.astype(np.float32), y


def incremental(estimator, X, y, client):
    import dask.array as da
    from dask_ml.wrappers import Incremental
    from distributed import wait
    Xd = da.from_array(X, chunks=(INC_BLOCK, X.shape[1]))
    yd = da.from_array(y, chunks=INC_BLOCK)
    with warnings.catch_warnings():
        # The data goes to the workers once, here, before the clock starts.
        warnings.filterwarnings("ignore", "Sending large graph", UserWarning)
        Xd, yd = client.persist([Xd, yd])
        wait([Xd, yd])
    start = time.perf_counter()
    model = Incremental(estimator, shuffle_blocks=False).fit(Xd, yd, classes=np.unique(y))
    elapsed = time.perf_counter() - start
    return elapsed, model.estimator_.score(X, y)


def grid_search(estimator, X, y, client):
    import joblib
    start = time.perf_counter()
    with joblib.parallel_backend("dask"), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(estimator, GRID, cv=3, refit=False).fit(X, y)
    elapsed = time.perf_counter() - start
    return elapsed, float(search.cv_results_["mean_test_score"].max())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--output", default=None)
    args = parser.parse_args()
    from distributed import Client, LocalCluster
    cluster = LocalCluster(n_workers=args.workers, processes=True, threads_per_worker=1,
                           host="127.0.0.1", dashboard_address=None)
    client = Client(cluster)
    recipes = {"Incremental": (incremental, data(INC_ROWS, INC_FEATURES), INC_PARAMS),
               "GridSearchCV": (grid_search, data(GRID_ROWS, GRID_FEATURES), GRID_PARAMS)}
    systems = {"fastnn": fastnn.MLPClassifier, "scikit-learn": SkMLP}
    rows = []
    for recipe, (run, (X, y), params) in recipes.items():
        times = {name: [] for name in systems}
        scores = {}
        for cls in systems.values():
            run(cls(**params), X, y, client)  # warm up: imports, the workers' first calls
        for _ in range(args.runs):
            for name, cls in systems.items():
                elapsed, scores[name] = run(cls(**params), X, y, client)
                times[name].append(elapsed)
        med = {name: statistics.median(t) for name, t in times.items()}
        rows.append((recipe, med["fastnn"], med["scikit-learn"],
                     med["scikit-learn"] / med["fastnn"], scores["fastnn"],
                     scores["scikit-learn"]))
        print(f"{recipe}: fastnn {med['fastnn']:.2f} s, scikit-learn {med['scikit-learn']:.2f} s,"
              f" speed-up x{rows[-1][3]:.2f}", flush=True)
    client.close()
    cluster.close()
    if args.output:
        write(args, rows)


def write(args, rows):
    import dask
    import dask_ml
    import distributed
    import sklearn
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())
    lines = [
        f"Dask benchmark, {datetime.date.today()}: {cpu}, {os.cpu_count()} cores, shared with "
        f"other work while it ran, so compare the ratios, not the times. "
        f"distributed.LocalCluster(n_workers={args.workers}, threads_per_worker=1, processes) "
        f"on 127.0.0.1; fastnn {fastnn.__version__}, scikit-learn {sklearn.__version__}, "
        f"dask {dask.__version__}, distributed {distributed.__version__}, "
        f"dask-ml {dask_ml.__version__}. fastnn.MLPClassifier vs "
        f"sklearn.neural_network.MLPClassifier with the same parameters; seconds per recipe, "
        f"median of {args.runs} alternating runs after a warm-up; speed-up = scikit-learn's "
        f"time / fastnn's.",
        "",
        f"Command: `python benchmarks/clusters.py --workers {args.workers} --runs {args.runs} "
        f"--output {args.output}`",
        "",
        f"- Incremental: `Incremental(MLPClassifier(**{INC_PARAMS}), shuffle_blocks=False)"
        f".fit(X, y)`, X {INC_ROWS:,} x {INC_FEATURES} float32 persisted on the workers in "
        f"blocks of {INC_BLOCK:,} rows (one partial_fit, one epoch, per block); score: "
        f"accuracy on X.",
        f"- GridSearchCV: `GridSearchCV(MLPClassifier(**{GRID_PARAMS}), {GRID}, cv=3, "
        f"refit=False)` under `joblib.parallel_backend(\"dask\")`, X {GRID_ROWS:,} x "
        f"{GRID_FEATURES} float32; score: the best mean cross-validated accuracy.",
        "",
        "| recipe | fastnn | scikit-learn | speed-up | fastnn score | scikit-learn score |",
        "|---|---|---|---|---|---|",
    ]
    lines += [f"| {r} | {f:.2f} s | {s:.2f} s | x{x:.2f} | {fs:.4f} | {ss:.4f} |"
              for r, f, s, x, fs, ss in rows]
    with open(args.output, "w") as out:
        out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
