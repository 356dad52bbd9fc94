"""Training benchmarks: fastnn against the NumPy reference loop and, where installed, PyTorch,
scikit-learn's MLPClassifier and Keras, on the same data, sizes and plain SGD (the batch-normalized
workload: fastnn and PyTorch, with the same layers).

    python benchmarks/training.py [--quick] [--threads 1 2] [--output benchmarks/results]

(scikit-learn's estimators: benchmarks/estimators.py.)

Each sample times whole epochs of one system, after one untimed epoch of its own; samples
alternate system by system (each round starting one system later), each thread count in a fresh
process. The table gives the median seconds per epoch, the ratio to fastnn (> 1: fastnn is
faster) and the "GEMM floor": the same epoch's matrix multiplications alone, through the same
BLAS, timed in the same alternation.
"""
import argparse
import os
import statistics
import time

import numpy as np

import fastnn as fnn
from fastnn import kernels as K

from timing import gemm_floor, initial_weights, machine, settle

# name: (sizes, rows, batch size, learning rate, epochs per sample). A sample is one fit of that
# many epochs, a few ms at least, so fit's fixed cost per call stays out of the time per epoch
# (benchmarks/METHOD.md).
WORKLOADS = {
    "spiral 2-64-3, full batch": ((2, 64, 3), 300, 300, 1.0, 500),
    "iris 4-32-32-3, batch 4": ((4, 32, 32, 3), 150, 4, 0.01, 50),
    "digits 64-64-10, batch 32": ((64, 64, 10), 1797, 32, 0.01, 20),
    "digits 64-128(BatchNorm, ReLU)-10, batch 32": ((64, 128, 10), 1797, 32, 0.01, 20),
    "784-128-10, batch 128": ((784, 128, 10), 60000, 128, 0.01, 1),
    "784-1024-1024-10, batch 256": ((784, 1024, 1024, 10), 8192, 256, 0.01, 1),
}
QUICK = ("spiral 2-64-3, full batch", "iris 4-32-32-3, batch 4", "digits 64-64-10, batch 32")
# The workloads whose hidden layers are Dense -> BatchNorm -> ReLU, and the systems that run them
# (the others' cells stay empty).
BATCH_NORM = ("digits 64-128(BatchNorm, ReLU)-10, batch 32",)
BATCH_NORM_SYSTEMS = ("fastnn", "PyTorch")


def make_data(name, sizes, rows, seed=0):
    if name.startswith("spiral"):
        X, y = fnn.datasets.spiral(100, 3, random_state=seed)
    elif name.startswith("iris"):
        from sklearn.datasets import load_iris
        X, y = load_iris(return_X_y=True)
    elif name.startswith("digits"):
        from sklearn.datasets import load_digits
        X, y = load_digits(return_X_y=True)
        X = X / 16
    else:
        rng = np.random.default_rng(seed)
        X, y = rng.random((rows, sizes[0])), rng.integers(0, sizes[-1], rows)
    return np.ascontiguousarray(X, dtype=np.float32), y.astype(np.intp)


# ------------------------------------------------------------------ systems: setup -> epoch()

def fastnn_system(X, y, sizes, batch, lr, threads, batch_norm=False):
    weights = initial_weights(sizes)
    layers = [layer for W, _ in weights for layer in
              (fnn.Dense(*W.shape),) + ((fnn.BatchNorm(W.shape[1]),) if batch_norm else ())
              + (fnn.ReLU(),)][:-1]
    if batch_norm:
        layers.pop()  # no BatchNorm after the output layer
    net = fnn.Network(layers, optimizer=fnn.SGD(lr), random_state=0, threads=threads)
    dense_layers = [layer for layer in net.layers if isinstance(layer, fnn.Dense)]
    for dense, (W, b) in zip(dense_layers, weights):  # the same start as every system
        dense.W[...], dense.b[...] = W, b

    def run(epochs):
        net.fit(X, y, epochs=epochs, batch_size=batch, verbose=0)
    run.network = net  # for the tests
    return run


def numpy_system(X, y, sizes, batch, lr, threads):
    """A lean plain-NumPy loop, nnfs style: ReLU hidden layers, the fused softmax-CE gradient
    (p - onehot) / n, plain SGD in place."""
    weights = [(W.copy(), b.copy()) for W, b in initial_weights(sizes)]
    rng = np.random.default_rng(0)

    def run(epochs):
        for _ in range(epochs):
            order = rng.permutation(len(X))
            for start in range(0, len(X), batch):
                idx = order[start:start + batch]
                acts = [X[idx]]
                for W, b in weights[:-1]:
                    acts.append(np.maximum(acts[-1] @ W + b, 0))
                z = acts[-1] @ weights[-1][0] + weights[-1][1]
                e = np.exp(z - z.max(axis=1, keepdims=True))
                grad = e / e.sum(axis=1, keepdims=True)
                grad[np.arange(len(idx)), y[idx]] -= 1
                grad /= len(idx)
                for i in range(len(weights) - 1, -1, -1):
                    W, b = weights[i]
                    dW, db = acts[i].T @ grad, grad.sum(axis=0)
                    if i:
                        grad = (grad @ W.T) * (acts[i] > 0)
                    W -= lr * dW
                    b -= lr * db
    return run


def torch_system(X, y, sizes, batch, lr, threads, batch_norm=False):
    import torch
    torch.set_num_threads(threads)
    mods = []
    for W, b in initial_weights(sizes):
        linear = torch.nn.Linear(*W.shape)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W.T.copy()))
            linear.bias.copy_(torch.from_numpy(b))
        mods += [linear] + ([torch.nn.BatchNorm1d(W.shape[1])] if batch_norm else [])
        mods.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*mods[:-2 if batch_norm else -1])
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))

    def run(epochs):
        for _ in range(epochs):
            order = torch.randperm(len(Xt))
            for start in range(0, len(Xt), batch):
                idx = order[start:start + batch]
                opt.zero_grad()
                loss_fn(model(Xt[idx]), yt[idx]).backward()
                opt.step()
    return run


def sklearn_system(X, y, sizes, batch, lr, threads):
    import warnings

    from sklearn.neural_network import MLPClassifier
    clf = MLPClassifier(hidden_layer_sizes=sizes[1:-1], solver="sgd", alpha=0.0, batch_size=batch,
                        learning_rate_init=lr, momentum=0.0, nesterovs_momentum=False,
                        random_state=0)
    classes = np.unique(y)

    def run(epochs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(epochs):
                clf.partial_fit(X, y, classes=classes)
    return run


def keras_system(X, y, sizes, batch, lr, threads):
    """Keras 3 with its defaults (shuffled fit, its own jit choice). TensorFlow sizes its thread
    pools once per process, so run() gives every thread count a fresh process."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up notices
    import keras
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf
        if tf.config.threading.get_intra_op_parallelism_threads() != threads:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
    elif keras.backend.backend() == "torch":
        import torch
        torch.set_num_threads(threads)
    model = keras.Sequential([keras.Input((sizes[0],))] + [
        keras.layers.Dense(n, activation="relu" if i < len(sizes) - 2 else None)
        for i, n in enumerate(sizes[1:])])
    for dense, (W, b) in zip(model.layers, initial_weights(sizes)):
        dense.set_weights([W, b])
    model.compile(optimizer=keras.optimizers.SGD(lr),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return lambda epochs: model.fit(X, y, epochs=epochs, batch_size=batch, verbose=0)


SYSTEMS = {"fastnn": fastnn_system, "NumPy loop": numpy_system, "PyTorch": torch_system,
           "scikit-learn": sklearn_system, "Keras": keras_system}
# The modules each peer needs; Keras also needs its backend (KERAS_BACKEND, TensorFlow by default).
MODULES = {"PyTorch": ("torch",), "scikit-learn": ("sklearn",),
           "Keras": ("keras", os.environ.get("KERAS_BACKEND", "tensorflow"))}


def available_systems():
    import importlib.util
    return [s for s in SYSTEMS if all(importlib.util.find_spec(m) for m in MODULES.get(s, ()))]


def predict_latency(threads, repeats):
    """Median seconds of a single-row predict of digits 64-64-10: fastnn and PyTorch."""
    X, y = make_data("digits", (64, 64, 10), 1797)
    net = fnn.Network([fnn.Dense(64, 64), fnn.ReLU(), fnn.Dense(64, 10)], random_state=0,
                      threads=threads)
    row = X[:1].copy()
    net.predict(row)
    timers = {"fastnn": lambda: net.predict(row)}
    if "PyTorch" in available_systems():
        import torch
        model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(),
                                    torch.nn.Linear(64, 10), torch.nn.Softmax(dim=1))
        row_t = torch.from_numpy(row)

        def torch_predict():
            with torch.no_grad():
                return model(row_t)
        timers["PyTorch"] = torch_predict
    samples = {name: [] for name in timers}
    for _ in range(repeats):
        for name, fn in timers.items():
            start = time.perf_counter()
            for _ in range(2000):
                fn()
            samples[name].append((time.perf_counter() - start) / 2000)
    return {name: statistics.median(v) for name, v in samples.items()}


def run(workloads, threads_list, repeats, systems):
    """The results of every thread count, each measured in a fresh process: some libraries
    (TensorFlow) size their thread pools once, when they start."""
    import concurrent.futures
    import multiprocessing
    results = []
    for threads in threads_list:
        with concurrent.futures.ProcessPoolExecutor(
                1, mp_context=multiprocessing.get_context("spawn")) as pool:
            results += pool.submit(run_threads, workloads, threads, repeats, systems).result()
    return results


def run_threads(workloads, threads, repeats, systems):
    """Rows (threads, workload, {system: median seconds per epoch}, GEMM floor) at one thread
    count, then the single-row predict latency."""
    from threadpoolctl import threadpool_limits
    results = []
    with threadpool_limits(threads):
        for name in workloads:
            sizes, rows, batch, lr, epochs = WORKLOADS[name]
            X, y = make_data(name, sizes, rows)
            if name in BATCH_NORM:
                runners = {s: SYSTEMS[s](X, y, sizes, batch, lr, threads, batch_norm=True)
                           for s in systems if s in BATCH_NORM_SYSTEMS}
            else:
                runners = {s: SYSTEMS[s](X, y, sizes, batch, lr, threads) for s in systems}
            for runner in runners.values():
                runner(1)  # warm up: allocations, plans, lazy imports
            samples = {s: [] for s in runners}
            floor = []
            names = list(runners)
            for i in range(repeats):
                # each repeat starts one system later, so no system always follows the same one
                # (the one before leaves the caches as its own work had them)
                for system in names[i % len(names):] + names[:i % len(names)]:
                    runner = runners[system]
                    settle(threads, min(batch, rows), sizes)
                    runner(1)  # the caches and threads as its own last epoch left them
                    start = time.perf_counter()
                    runner(epochs)
                    samples[system].append((time.perf_counter() - start) / epochs)
                settle(threads, min(batch, rows), sizes)
                floor.append(gemm_floor(len(X), sizes, batch))
            medians = {s: statistics.median(v) for s, v in samples.items()}
            results.append((threads, name, medians, statistics.median(floor)))
            print(f"  {threads} thread(s), {name}: " + ", ".join(
                f"{s} {t * 1e3:.3f} ms" for s, t in medians.items()), flush=True)
        latency = predict_latency(threads, repeats)
        results.append((threads, "single-row predict, digits 64-64-10", latency, None))
        print(f"  {threads} thread(s), single-row predict: " + ", ".join(
            f"{s} {t * 1e6:.2f} us" for s, t in latency.items()), flush=True)
    return results


def _fmt(seconds):
    return f"{seconds * 1e3:.3f} ms" if seconds >= 1e-4 else f"{seconds * 1e6:.2f} us"


def table(results, systems, repeats, command):
    lines = [
        f"Training benchmark, {time.strftime('%Y-%m-%d')}: {machine()}; "
        f"fastnn {fnn.__version__} (kernels {K.VARIANT}), NumPy {np.__version__}. float32, plain "
        f"SGD, same data, sizes and initial weights for every system; seconds per epoch, median "
        f"of {repeats} alternating samples, each one fit of the epochs given; (x N) = that "
        f"system's time / fastnn's.",
        "", f"Command: `{command}`", "",
        "| threads | workload | epochs a sample | " + " | ".join(systems) + " | GEMM floor |",
        "|---|---|---|" + "---|" * (len(systems) + 1),
    ]
    for threads, name, medians, floor in results:
        base = medians["fastnn"]
        cells = [(_fmt(medians[s]) + ("" if s == "fastnn" else f" (x{medians[s] / base:.2f})"))
                 if s in medians else "-" for s in systems]
        floor_cell = f"{_fmt(floor)} (fastnn x{base / floor:.2f})" if floor else "-"
        epochs = WORKLOADS[name][4] if name in WORKLOADS else "-"
        lines.append(f"| {threads} | {name} | {epochs} | " + " | ".join(cells)
                     + f" | {floor_cell} |")
    return "\n".join(lines) + "\n"


def chart(results, systems, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = [r for r in results if r[3] is not None]
    fig, ax = plt.subplots(figsize=(10, 0.5 + 0.45 * len(rows)))
    labels = [f"{name} ({t} thr)" for t, name, _, _ in rows]
    height = 0.8 / len(systems)
    for i, system in enumerate(systems):
        values = [m[system] / m["fastnn"] if system in m else 0 for _, _, m, _ in rows]
        ax.barh(np.arange(len(rows)) + i * height, values, height, label=system)
    ax.axvline(1, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yticks(np.arange(len(rows)) + 0.4 - height / 2, labels)
    ax.set_xlabel("time per epoch / fastnn's (log scale; > 1: fastnn is faster)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None):
    import sys
    p = argparse.ArgumentParser(prog="python benchmarks/training.py",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="the three small workloads, 3 samples")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                   help="BLAS thread counts, each in a fresh process (default 1 2)")
    p.add_argument("--repeats", type=int, default=5, help="samples per system (default 5)")
    p.add_argument("--output", metavar="FOLDER",
                   help="also write training.md and training.png there (benchmarks/results: "
                        "the committed tables)")
    args = p.parse_args(argv)
    command = "python benchmarks/training.py " + " ".join(
        argv if argv is not None else sys.argv[1:])
    workloads = QUICK if args.quick else tuple(WORKLOADS)
    repeats = 3 if args.quick else args.repeats
    systems = available_systems()
    missing = ", ".join(s for s in SYSTEMS if s not in systems) or "none"
    print(f"systems: {', '.join(systems)} (missing ones are skipped: {missing})")
    results = run(workloads, args.threads, repeats, systems)
    text = table(results, systems, repeats, command.strip())
    print(text)
    if args.output is None:
        return 0
    os.makedirs(args.output, exist_ok=True)
    with open(os.path.join(args.output, "training.md"), "w") as f:
        f.write(text)
    try:
        chart(results, systems, os.path.join(args.output, "training.png"))
    except ImportError:
        print("(no chart: matplotlib is not installed)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
