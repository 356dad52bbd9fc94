"""Every size and time threshold of the Python side, each with the reason for it. The
measurements behind them are in benchmarks/THRESHOLDS.md. The compiled kernels' own thresholds
(OpenBLAS's small-matrix line in _kernels/_blas.pxd, the skinny and one-pass step limits in
_kernels/_skinny.pxd and _kernels/_tiny.pxd, predict_fast's size in _kernels/engine.pyx) sit
beside the code they steer, each with its reason.
"""

# A batch whose largest matrix product has fewer multiply-adds runs BLAS on one thread: waking
# a second thread per call costs more than it gives.
SMALL_WORK = 2**22

# Rows per chunk of predict and evaluate when not given a batch size: bounded memory.
PREDICT_BATCH = 8192

# Values per layer an inference plan's buffers hold at most (predict's chunks shrink for wide
# layers): bounded memory for any width.
INFERENCE_VALUES = 2**20

# Input values below which predict does not limit BLAS's threads: threadpoolctl's own cost
# (tens of microseconds) would be most of the call.
THREAD_LIMIT_VALUES = 2**16

# About how long one engine call of several epochs may run within fit, so the progress bar
# moves and Ctrl-C is answered that soon.
CALL_SECONDS = 0.1


def small_work(rows, sizes):
    """Whether batches of `rows` rows through layers of `sizes` (n_in, hidden..., n_out) are
    small work: their largest matrix product under SMALL_WORK multiply-adds."""
    return max(int(rows) * a * b for a, b in zip(sizes, sizes[1:])) < SMALL_WORK
