"""Anonymous memory that fit, predict, evaluate and fit with validation_split add on a memory-mapped
X (issue 23's "no full copies"): a 1,000,000 x 100 memmap (np.lib.format.open_memmap, float64 and
float32) into a float32 network 100-64(ReLU)-10, softmax cross-entropy, one epoch, batch 256.

Each case runs in a fresh subprocess, which opens the memmap, builds the network and the labels,
then reads RssAnon (/proc/self/status) and runs the call while a thread samples RssAnon every
2 ms; the growth is the peak minus the value before. The memmap's pages are file-backed (RssFile),
not anonymous, so only copies and buffers count. Memory only, no timings.

    python benchmarks/memory.py [rows] [--layers]   # prints a Markdown table

The subprocesses import fastnn from this checkout (or from FASTNN_ROOT, to measure another).
"""
import os
import subprocess
import sys
import tempfile
import threading

import numpy as np

CASES = ("fit", "predict", "evaluate", "validation_split")


def rss_anon_mb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("RssAnon")) / 1024


def child(path, case, engine):
    import fastnn as fnn
    X = np.load(path, mmap_mode="r")
    y = np.random.default_rng(0).integers(0, 10, len(X))
    net = fnn.Network([fnn.Dense(100, 64), fnn.ReLU(), fnn.Dense(64, 10)], random_state=0,
                      engine=engine)
    calls = {"fit": lambda: net.fit(X, y, epochs=1, batch_size=256, verbose=0),
             "predict": lambda: net.predict(X),
             "evaluate": lambda: net.evaluate(X, y),
             "validation_split": lambda: net.fit(X, y, epochs=1, batch_size=256, verbose=0,
                                                 validation_split=0.1)}
    if case == "validation_split":
        import sklearn.model_selection  # noqa: F401  (its import is not the split's memory)
    start, peak, done = rss_anon_mb(), [0.0], threading.Event()

    def sample():
        while not done.wait(0.002):
            peak[0] = max(peak[0], rss_anon_mb())

    thread = threading.Thread(target=sample)
    thread.start()
    result = calls[case]()
    done.set()
    thread.join()
    output = result.nbytes / 2**20 if case == "predict" else 0.0
    print(f"{max(peak[0], rss_anon_mb()) - start:.1f} {output:.1f}")


def main(rows, engine):
    with tempfile.TemporaryDirectory(dir="/tmp") as folder:
        paths = {}
        for dtype in ("float64", "float32"):
            paths[dtype] = os.path.join(folder, f"X_{dtype}.npy")
            X = np.lib.format.open_memmap(paths[dtype], "w+", dtype, (rows, 100))
            for start in range(0, rows, 100_000):
                X[start:start + 100_000] = np.random.default_rng(start).standard_normal(
                    (min(100_000, rows - start), 100))
            X.flush()
            del X
        root = os.environ.get("FASTNN_ROOT", os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))))
        env = dict(os.environ, PYTHONPATH=root, PYTHONDONTWRITEBYTECODE="1")
        print(f"{rows:,} x 100 memmap, float32 network 100-64-10, "
              f"{'engine' if engine else 'layer path'}: RssAnon growth (MiB)\n")
        print("| case | float64 memmap | float32 memmap |")
        print("|---|---|---|")
        for case in CASES:
            cells = []
            for dtype in ("float64", "float32"):
                out = subprocess.run([sys.executable, __file__, "--child", paths[dtype], case,
                                      str(int(engine))], capture_output=True, text=True,
                                     check=True, env=env).stdout.split()
                growth, output = map(float, out)
                cells.append(f"{growth:.1f}" + (f" (output {output:.1f})" if output else ""))
            print(f"| {case} | {cells[0]} | {cells[1]} |", flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], sys.argv[3], bool(int(sys.argv[4])))
    else:
        args = [a for a in sys.argv[1:] if not a.startswith("--")]
        main(int(args[0]) if args else 1_000_000, "--layers" not in sys.argv)
