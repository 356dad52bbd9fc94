"""partial_fit's fixed cost per call: fastnn's MLPClassifier against scikit-learn's on the same
small blocks (10 rows x 20 features, hidden (16,), two classes, adam), the two interleaved call
by call, as Dask's Incremental or a stream calls it; then fastnn alone on the same blocks, as a
stream calls it. Prints the median microseconds per call.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/partial_fit.py [calls] [rows]
"""
import statistics
import sys
import time

import numpy as np
from sklearn import neural_network as sk

import fastnn

calls = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
rows = int(sys.argv[2]) if len(sys.argv) > 2 else 10
rng = np.random.default_rng(0)
X = rng.standard_normal((calls * rows, 20))
y = (X[:, 0] + X[:, 1] > 0).astype(int)
blocks = [(X[i:i + rows], y[i:i + rows]) for i in range(0, len(X), rows)]
models = {"fastnn": fastnn.MLPClassifier((16,), random_state=0),
          "scikit-learn": sk.MLPClassifier((16,), random_state=0)}
for model in models.values():
    model.partial_fit(*blocks[0], classes=[0, 1])  # the first call sets classes_ and weights
times = {name: [] for name in models}
for block in blocks[1:]:
    for name, model in models.items():
        start = time.perf_counter()
        model.partial_fit(*block)
        times[name].append(time.perf_counter() - start)
ours, theirs = (statistics.median(times[name]) * 1e6 for name in models)
print(f"partial_fit, {rows} x 20 blocks, hidden (16,), median of {calls - 1} calls: fastnn "
      f"{ours:.0f} us, scikit-learn {theirs:.0f} us, scikit-learn / fastnn = {theirs / ours:.1f}")
# A stream calls one model only: the same blocks again on a fresh fastnn model, alone (each
# scikit-learn call between two of fastnn's evicts fastnn's objects from the caches).
model = fastnn.MLPClassifier((16,), random_state=0)
model.partial_fit(*blocks[0], classes=[0, 1])
alone = []
for block in blocks[1:]:
    start = time.perf_counter()
    model.partial_fit(*block)
    alone.append(time.perf_counter() - start)
print(f"fastnn alone (a stream's calls): median {statistics.median(alone) * 1e6:.0f} us")
