"""Training speed of each kernel build the CPU runs (baseline, x86_64_v3, x86_64_v4), on the same
installed fastnn, 1 thread: FASTNN_KERNELS picks the build, each sample in a fresh process, the
builds interleaved; medians and the speed-up over the baseline build.

    python benchmarks/variants.py [--rounds 5]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

WORKLOADS = ["spiral 2-64-3, full batch", "iris 4-32-32-3, batch 4", "digits 64-64-10, batch 32",
             "784-128-10, batch 128"]


def sample():
    """One sample of every workload in this process: seconds per epoch (best of 3 fits)."""
    from fastnn import kernels

    import training as bench
    out = {"variant": kernels.VARIANT}
    for name in WORKLOADS:
        sizes, rows, batch, lr, epochs = bench.WORKLOADS[name]
        X, y = bench.make_data(name, sizes, rows)
        fit = bench.fastnn_system(X, y, sizes, batch, lr, 1)
        fit(1)
        times = []
        for _ in range(3):
            start = time.perf_counter()
            fit(epochs)
            times.append((time.perf_counter() - start) / epochs)
        out[name] = min(times)
    print(json.dumps(out))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    from fastnn._kernels import built_variants, supported_variants
    variants = ["baseline"] + [v for v in ("x86_64_v3", "x86_64_v4")
                               if v in supported_variants() and v in built_variants()]
    results = {v: {n: [] for n in WORKLOADS} for v in variants}
    for r in range(args.rounds):
        for v in variants[r % len(variants):] + variants[:r % len(variants)]:
            env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", FASTNN_KERNELS=v)
            proc = subprocess.run([sys.executable, __file__, "--sample"], capture_output=True,
                                  text=True, env=env, check=True)
            for name, seconds in json.loads(proc.stdout).items():
                if name != "variant":
                    results[v][name].append(seconds)
    print("| workload | " + " | ".join(variants) + " |\n|---|" + "---|" * len(variants))
    for name in WORKLOADS:
        base = statistics.median(results["baseline"][name])
        cells = [f"{statistics.median(results[v][name]) * 1e6:.1f} us "
                 f"({base / statistics.median(results[v][name]):.2f}x)" for v in variants]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    sample() if sys.argv[1:] == ["--sample"] else main()
