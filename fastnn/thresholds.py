"""Every size and time threshold of fastnn, each with the reason for it; the measurements behind
them are in benchmarks/THRESHOLDS.md. The names in COMPILED are the compiled kernels' too:
setup.py writes them into fastnn/_kernels/_thresholds.pxd, which the kernels cimport.
"""

# A batch whose largest matrix product has fewer multiply-adds runs BLAS on one thread: waking
# a second thread per call costs more than it gives.
SMALL_WORK = 2**22

# Rows per chunk of predict and evaluate when not given a batch size: bounded memory.
PREDICT_BATCH = 8192

# Rows per chunk of evaluate's loss: its gradient buffer stays this long however many rows.
EVALUATE_ROWS = 65536

# Values per layer an inference plan's buffers hold at most (predict's chunks shrink for wide
# layers): bounded memory for any width.
INFERENCE_VALUES = 2**20

# Input values below which predict does not limit BLAS's threads: threadpoolctl's own cost
# (tens of microseconds) would be most of the call.
THREAD_LIMIT_VALUES = 2**16

# About how long one engine call of several epochs may run within fit, so the progress bar
# moves and Ctrl-C is answered that soon.
CALL_SECONDS = 0.1


# ---- the compiled kernels' thresholds (fastnn/_kernels/)

# OpenBLAS's AVX-512 cores multiply without packing up to this many multiply-adds (m*n*k), and
# just past it two to five blocks of rows that each stay under it beat one packed product.
SMALL_MNK = 1_000_000

# From here on one packed product beats the blocks of rows.
BLOCKED_MNK_MAX = 2**22

# Blocks of X^T dY thinner than this many rows lose to one packed product.
MIN_BLOCK_ROWS_TN = 32

# Products of a skinny W (a dimension <= 4) up to this many outputs run in fastnn's own loops;
# larger ones go to BLAS, which can thread them.
SKINNY_MAX = 2**20

# The one-pass step of tiny classifiers follows OpenBLAS's small-matrix kernels, which take
# products of at most SMALL_MNK multiply-adds.
TINY_MAX_WORK = SMALL_MNK

# Elements below which an engine loop stays on one thread: an OpenMP fork costs more.
PARALLEL_MIN = 32768

# Input values up to which predict_fast runs (one engine call, BLAS on one thread).
FAST_PREDICT_MAX = 65536

COMPILED = ("SMALL_MNK", "BLOCKED_MNK_MAX", "MIN_BLOCK_ROWS_TN", "SKINNY_MAX", "TINY_MAX_WORK",
            "PARALLEL_MIN", "FAST_PREDICT_MAX")


def small_work(rows, sizes):
    """Whether batches of `rows` rows through layers of `sizes` (n_in, hidden..., n_out) are
    small work: their largest matrix product under SMALL_WORK multiply-adds."""
    return max(int(rows) * a * b for a, b in zip(sizes, sizes[1:])) < SMALL_WORK
