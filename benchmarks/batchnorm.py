"""fastnn against PyTorch on one workload of benchmarks/training.py (default: the batch-normalized
digits network, 64-128(BatchNorm, ReLU)-10, batch 32), one thread, the systems interleaved sample by
sample: the quick check of the ratio that `python benchmarks/training.py` measures with the others.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/batchnorm.py [workload] [samples]
"""
import statistics
import sys
import time

import training as bench

name = sys.argv[1] if len(sys.argv) > 1 else bench.BATCH_NORM[0]
samples = int(sys.argv[2]) if len(sys.argv) > 2 else 7
sizes, rows, batch, lr, epochs = bench.WORKLOADS[name]
extra = {"batch_norm": True} if name in bench.BATCH_NORM else {}
X, y = bench.make_data(name, sizes, rows)
systems = {"fastnn": (bench.fastnn_system(X, y, sizes, batch, lr, 1, **extra), epochs),
           "PyTorch": (bench.torch_system(X, y, sizes, batch, lr, 1, **extra), 2)}
times = {system: [] for system in systems}
for run, _ in systems.values():
    run(1)  # warm up
for _ in range(samples):
    for system, (run, n) in systems.items():
        start = time.perf_counter()
        run(n)
        times[system].append((time.perf_counter() - start) / n)
fastnn, torch = (statistics.median(times[s]) for s in ("fastnn", "PyTorch"))
print(f"{name}, 1 thread, median of {samples}: fastnn {fastnn * 1e3:.3f} ms/epoch, "
      f"PyTorch {torch * 1e3:.3f} ms/epoch, PyTorch / fastnn = {torch / fastnn:.1f}")
