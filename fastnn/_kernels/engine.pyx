"""The fused training engine: a whole epoch of mini-batch steps, or all of predict, in one call
that does not hold the GIL.

A Plan is a network compiled to C: for each Dense layer its sizes, parameter and gradient
pointers, the activation fused into its epilogue, an optional dropout after it, and buffers for
its activations and gradients; the optimizer's kind, hyperparameters and state pointers; the
loss. fastnn/engine.py builds it from a Network, and the Plan keeps every array it points into
alive. Nothing is allocated per batch.

Each step runs the kernels of the layer-by-layer Python path in the same order on the same
values (gather, dense + activation, dropout, loss, activation backward, dense backward, update),
so the two paths give the same numbers.

The kernels trust the plan, so Plan.__init__ first runs its description through _check_plan,
which refuses (ValueError) anything that would make them read or write out of bounds: layers
that do not chain, arrays of the wrong shape, unknown codes, missing optimizer state, parameters
that are not the layers' W and b, a max_rows whose buffers would pass 2^31 values; and anything
that would compute wrong numbers: arrays of the plan that share memory. The arguments of each
call may not share memory with what it writes (training: every array of the plan) or reads
(predict: W and b). A Plan is compiled once: __init__ again raises RuntimeError (another
thread may be running the plan with the GIL released), and its memory is freed only when it is
deallocated. Step numbers stay below 2^62 and one train_epochs call runs fewer than 2^31 epochs
(ValueError). `n_threads` is an integer >= 1; a count above the processors this process may run
on (omp_get_num_procs()), however large, runs on that many, and a build without OpenMP on one
thread.
"""
from contextlib import nullcontext

from fastnn.plan import PlanSpec
from fastnn.registry import ACTIVATIONS

cimport numpy as cnp
from cpython.number cimport PyNumber_Index
from cpython.pycapsule cimport PyCapsule_GetPointer
from cython cimport floating
from libc.math cimport isfinite, pow, sqrt
from libc.stdint cimport UINT32_MAX, uint64_t, uintptr_t
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcpy
from numpy.random cimport bitgen_t

from fastnn._kernels._blas cimport load_blas
from fastnn._kernels._checks cimport (Span, count_in, distinct_or_same, float_typenum,
                                      input_array, span, thread_count)
from fastnn._kernels._dense_core cimport dense_backward_core, dense_forward_core
from fastnn._kernels._loss_core cimport (BCE, CATEGORICAL_CE, HUBER, MAE, MSE, POISSON,
                                         SIGMOID_BCE, SIGMOID_BCE_SUM, SOFTMAX_CE, SUM_OF_SQUARES,
                                         loss_rows)
from fastnn._kernels._optim_core cimport ADAGRAD, ADAM, ADAMW, RMSPROP, SGD, optim_update
from fastnn._kernels._act_dispatch cimport (IDENTITY, N_ACTIVATIONS, RELU, activation_code,
                                           activation_has_factor, backward_factor_rows,
                                           backward_rows, forward_factor_rows, forward_rows)
from fastnn._kernels._rowops cimport dropout_row, row_dot
from fastnn._kernels._thresholds cimport (FAST_PREDICT_MAX, PARALLEL_MIN, SKINNY_MAX,
                                          TINY_MAX_WORK)
from fastnn._kernels._tiny cimport (FNN_TINY_AVAILABLE, FNN_TINY_CHAIN, FNN_TINY_MAX_HIDDEN,
                                    FNN_TINY_TREE, fnn_tiny_logits, fnn_tiny_step)

cnp.import_array()
load_blas()

cdef enum:
    ACC_NONE = 0
    ACC_ARGMAX = 1
    ACC_LOGITS = 2          # yes/no above 0
    ACC_PROBABILITIES = 3   # yes/no above 0.5

# The counts a plan takes. Steps are numbered below 2^62 (as fastnn.io saves them), so the step
# counter and the products of the schedule never wrap; a buffer of max_rows x a layer's width
# holds at most 2^31 values (8 GiB of float32), far past any batch, so a mistyped max_rows is
# refused by name instead of allocated (or failing with MemoryError); one train_epochs call runs
# fewer than 2^31 epochs, and its per-epoch sums grow with the epochs it runs.
cdef Py_ssize_t MAX_ITERATIONS = 2**62
cdef Py_ssize_t MAX_BUFFER_VALUES = 2**31
cdef Py_ssize_t MAX_EPOCHS = 2**31


# The codes a Plan takes, keyed by the names the Python side uses (activation layers' `kind`,
# loss kernels, optimizer names, accuracy modes); the values are the C enums themselves.
ACTIVATION_CODES = {entry.name: activation_code(entry.name) for entry in ACTIVATIONS}
LOSS_CODES = {"softmax_cross_entropy": SOFTMAX_CE, "categorical_cross_entropy": CATEGORICAL_CE,
              "sigmoid_binary_cross_entropy": SIGMOID_BCE,
              "sigmoid_binary_cross_entropy_sum": SIGMOID_BCE_SUM, "binary_cross_entropy": BCE,
              "mean_squared_error": MSE, "mean_absolute_error": MAE,
              "sum_of_squares": SUM_OF_SQUARES, "huber": HUBER, "poisson": POISSON}
OPTIMIZER_CODES = {"sgd": SGD, "adam": ADAM, "rmsprop": RMSPROP, "adagrad": ADAGRAD,
                   "adamw": ADAMW}
ACCURACY_CODES = {None: ACC_NONE, "argmax": ACC_ARGMAX, "logits": ACC_LOGITS,
                  "probabilities": ACC_PROBABILITIES}


cdef struct LayerPlan:
    Py_ssize_t n_in, n_out
    void* W
    void* b
    void* dW
    void* db
    int act
    double alpha
    double rate         # dropout after the activation; 0: none
    uint64_t* rng       # that dropout's [key, counter]
    void* A             # activation output (max_rows x n_out)
    void* D             # dropout output, the next layer's input; NULL without dropout
    void* mask          # dropout mask; NULL without dropout
    void* G             # gradient w.r.t. this layer's output, then (in place) pre-activation
    void* Z             # f'(x) of the training forward, for the kinds with a factor; else NULL


cdef struct ParamPlan:
    void* p
    void* g
    void* s1
    void* s2
    Py_ssize_t size
    double l2           # L2 penalty strength (Dense's l2), 0 for none


cdef struct PlanC:
    LayerPlan* layers
    ParamPlan* params
    int n_layers, n_params
    int loss_kind, opt_kind, acc_mode
    double loss_eps, lr, decay, a, b, eps, wd
    bint nesterov, eps_hat, has_l2
    int tiny            # _tiny.h's summation order that matches BLAS for this network, or -1
    Py_ssize_t max_rows
    void* Xb            # the gathered batch
    void* Tb            # its targets (rows), or NULL with labels
    Py_ssize_t* Lb      # its class labels, or NULL
    void* Wb            # its sample weights


cdef struct EpochData:
    const void* X
    const void* T       # target rows, or NULL with labels
    const Py_ssize_t* L  # class labels, or NULL
    const void* W       # sample weights, or NULL
    Py_ssize_t n
    Py_ssize_t batch_size


cdef inline int _threads(int n_threads, Py_ssize_t elements) noexcept nogil:
    return n_threads if elements >= PARALLEL_MIN else 1


cdef void* _ptr(object a, int typenum, Py_ssize_t size, str what, bint write=True) except NULL:
    if not (cnp.PyArray_Check(a) and cnp.PyArray_TYPE(<cnp.ndarray>a) == typenum
            and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>a)
            and (cnp.PyArray_ISWRITEABLE(<cnp.ndarray>a) or not write)
            and cnp.PyArray_SIZE(<cnp.ndarray>a) == size):
        raise ValueError(f"engine: {what} must be a {'writeable ' if write else ''}C-contiguous "
                         f"array of {size} {'float32' if typenum == cnp.NPY_FLOAT32 else 'float64'}")
    return cnp.PyArray_DATA(<cnp.ndarray>a)


cdef const floating* _forward(PlanC* P, const floating* X, Py_ssize_t rows, bint training,
                              int n_threads) noexcept nogil:
    """All layers on `rows` rows of X; returns the last layer's output."""
    cdef const floating* inp = X
    cdef LayerPlan* lp
    cdef Py_ssize_t l, r
    for l in range(P.n_layers):
        lp = &P.layers[l]
        if training and lp.Z != NULL:  # the value and f'(x) in one pass, as the layer path
            dense_forward_core(inp, <const floating*>lp.W, <const floating*>lp.b,
                               <floating*>lp.A, rows, lp.n_in, lp.n_out, IDENTITY, 0,
                               _threads(n_threads, rows * lp.n_out))
            forward_factor_rows(lp.act, <const floating*>lp.A, <floating*>lp.A, <floating*>lp.Z,
                                rows, lp.n_out, <floating>lp.alpha,
                                _threads(n_threads, rows * lp.n_out))
        else:
            dense_forward_core(inp, <const floating*>lp.W, <const floating*>lp.b,
                               <floating*>lp.A, rows, lp.n_in, lp.n_out, lp.act,
                               <floating>lp.alpha, _threads(n_threads, rows * lp.n_out))
        inp = <const floating*>lp.A
        if training and lp.rate > 0:
            for r in range(rows):
                dropout_row(<const floating*>lp.A + r * lp.n_out, <floating*>lp.D + r * lp.n_out,
                            <floating*>lp.mask + r * lp.n_out, lp.n_out, lp.rate, lp.rng[0],
                            lp.rng[1] + <uint64_t>(r * lp.n_out))
            lp.rng[1] += <uint64_t>(rows * lp.n_out)
            inp = <const floating*>lp.D
    return inp


cdef double _correct(int mode, const floating* out, const floating* T, const Py_ssize_t* L,
                     Py_ssize_t rows, Py_ssize_t c) noexcept nogil:
    """Correct predictions in the batch (fractional for yes/no outputs: agreeing entries / c)."""
    cdef Py_ssize_t r, j, best, want
    cdef double agree = 0
    cdef floating threshold = 0 if mode == ACC_LOGITS else <floating>0.5
    if mode == ACC_ARGMAX:
        for r in range(rows):
            best = 0
            for j in range(1, c):
                if out[r * c + j] > out[r * c + best]:
                    best = j
            if L != NULL:
                want = L[r]
            else:
                want = 0
                for j in range(1, c):
                    if T[r * c + j] > T[r * c + want]:
                        want = j
            agree += best == want
        return agree
    if mode == ACC_LOGITS or mode == ACC_PROBABILITIES:
        for j in range(rows * c):
            agree += (out[j] > threshold) == (T[j] > <floating>0.5)
        return agree / c
    return 0


cdef bint _tiny_shape(PlanC* P) noexcept nogil:
    """Whether the network is X -> Dense + ReLU -> Dense -> softmax cross-entropy with at most 4
    inputs, 2 to 4 classes and a hidden width of whole 16-float vectors, and no dropout (_tiny.h
    takes float32 only)."""
    if P.n_layers != 2 or P.loss_kind != SOFTMAX_CE or P.acc_mode not in (ACC_NONE, ACC_ARGMAX):
        return False
    cdef LayerPlan* a = &P.layers[0]
    cdef LayerPlan* b = &P.layers[1]
    return (a.act == RELU and b.act == IDENTITY and a.rate == 0 and b.rate == 0
            and 1 <= a.n_in <= 4 and 2 <= b.n_out <= 4 and a.n_out % 16 == 0
            and a.n_out <= FNN_TINY_MAX_HIDDEN)


_TINY_ORDERS = {}  # (K, H, C) -> _tiny_order's answer, which depends only on the BLAS build


def _tiny_order(Py_ssize_t K, Py_ssize_t H, Py_ssize_t C):
    """The order of _tiny.h whose logits equal, bit for bit, those of the layer-by-layer forward
    (BLAS) for a K-H-C network; -1 if neither does. Tried on batches of 1, 2 and 51 rows (BLAS
    may treat the last rows of a batch apart) of random inputs and weights whose magnitudes span
    2^-20..2^20, so that any other order of the sums shows."""
    import numpy as np
    if not (1 <= K <= 4 and 2 <= C <= 4 and 16 <= H <= FNN_TINY_MAX_HIDDEN and H % 16 == 0):
        raise ValueError(f"_tiny.h takes 1-4 inputs, 2-4 classes and a hidden width of 16..."
                         f"{FNN_TINY_MAX_HIDDEN} in steps of 16, got {K}-{H}-{C}")
    if not FNN_TINY_AVAILABLE:
        return -1
    rng = np.random.default_rng(0)
    def values(*shape):
        return (rng.standard_normal(shape) * 2.0 ** rng.integers(-20, 21, shape)).astype(np.float32)
    cdef float[:, ::1] X = values(51, K)
    cdef float[:, ::1] W1 = values(K, H)
    cdef float[::1] b1 = values(H)
    cdef float[:, ::1] W2 = values(H, C)
    cdef float[::1] b2 = values(C)
    cdef float[:, ::1] A = np.empty((51, H), np.float32)
    cdef float[:, ::1] Z = np.empty((51, C), np.float32)
    cdef float[:, ::1] T = np.empty((51, C), np.float32)
    cdef Py_ssize_t[::1] rows = np.arange(51, dtype=np.intp)
    cdef Py_ssize_t n
    for order in (FNN_TINY_CHAIN, FNN_TINY_TREE):
        for n in (1, 2, 51):
            dense_forward_core(&X[0, 0], &W1[0, 0], &b1[0], &A[0, 0], n, K, H, RELU, 0, 1)
            dense_forward_core(&A[0, 0], &W2[0, 0], &b2[0], &Z[0, 0], n, H, C, IDENTITY, 0, 1)
            fnn_tiny_logits(&X[0, 0], &rows[0], &W1[0, 0], &b1[0], &W2[0, 0], &b2[0], &T[0, 0],
                            n, <int>K, H, <int>C, order)
            if not np.array_equal(np.asarray(T[:n]).view(np.uint32),
                                  np.asarray(Z[:n]).view(np.uint32)):
                break
        else:
            return order
    return -1


def _cached_tiny_order(K, H, C):
    if (K, H, C) not in _TINY_ORDERS:
        _TINY_ORDERS[K, H, C] = _tiny_order(K, H, C)
    return _TINY_ORDERS[K, H, C]


cdef double _penalty(PlanC* P, floating dtype, double wsum) noexcept nogil:
    """The batch's L2 penalty: sum over penalized parameters of 0.5 * (l2 / wsum) * |p|^2."""
    cdef double penalty = 0
    cdef ParamPlan* pp
    cdef Py_ssize_t j
    for j in range(P.n_params):
        pp = &P.params[j]
        if pp.l2 != 0:
            penalty += 0.5 * (pp.l2 / wsum) * row_dot(<const floating*>pp.p,
                                                      <const floating*>pp.p, pp.size)
    return penalty


cdef bint _add_loss(PlanC* P, floating dtype, double loss, double wsum, Py_ssize_t rows,
                    double* loss_sum, double* penalty_sum) noexcept nogil:
    """Adds a batch's mean loss, with its L2 penalty, and the penalty alone, times its rows, to
    the epoch's sums; False (and nothing added) if the loss is not finite."""
    cdef double penalty = _penalty(P, dtype, wsum) if P.has_l2 else 0
    loss += penalty
    if not isfinite(loss):
        return False
    loss_sum[0] += loss * rows
    penalty_sum[0] += penalty * rows
    return True


cdef void _step(PlanC* P, floating dtype, Py_ssize_t* iterations, double wsum) noexcept nogil:
    """The optimizer's update of every parameter from its gradient; iterations += 1."""
    cdef double lr = P.lr / (1.0 + P.decay * iterations[0]), eps = P.eps, c1 = 0, c2 = 0
    # AdamW's weight decay is decoupled (keep); only the layers' L2 enters its gradient
    cdef double keep = 1 - lr * P.wd if P.opt_kind == ADAMW else 1
    cdef double wd = 0 if P.opt_kind == ADAMW else P.wd
    cdef ParamPlan* pp
    cdef Py_ssize_t j
    if P.opt_kind == ADAM or P.opt_kind == ADAMW:
        c1 = 1.0 / (1.0 - pow(P.a, iterations[0] + 1))
        c2 = 1.0 / (1.0 - pow(P.b, iterations[0] + 1))
        if P.eps_hat:
            eps = P.eps * sqrt(c2)
    for j in range(P.n_params):
        pp = &P.params[j]
        optim_update(P.opt_kind, <floating*>pp.p, <const floating*>pp.g, <floating*>pp.s1,
                     <floating*>pp.s2, pp.size, <floating>lr, <floating>P.a, <floating>P.b,
                     <floating>eps, <floating>(wd + pp.l2 / wsum), P.nesterov,
                     <floating>c1, <floating>c2, <floating>keep)
    iterations[0] += 1


cdef int _train_epoch(PlanC* P, const floating* X, const floating* T, const Py_ssize_t* L,
                      const floating* w, const Py_ssize_t* order, Py_ssize_t n,
                      Py_ssize_t batch_size, Py_ssize_t* iterations, int n_threads,
                      double* loss_sum, double* penalty_sum, double* correct) noexcept nogil:
    """Mini-batch steps over the rows of X in `order`; 1 when a batch's loss was not finite (it
    stops there, without a step), else 0. Sums batch loss * rows (L2 penalty included, and also
    summed alone) and correct predictions."""
    cdef Py_ssize_t n_batches = (n + batch_size - 1) // batch_size
    cdef Py_ssize_t bi, start, rows, r, j, i, l
    cdef Py_ssize_t n_in = P.layers[0].n_in, c = P.layers[P.n_layers - 1].n_out
    cdef floating* Xb = <floating*>P.Xb
    cdef floating* Tb = <floating*>P.Tb
    cdef floating* Wb = <floating*>P.Wb
    cdef LayerPlan* lp
    cdef LayerPlan* last = &P.layers[P.n_layers - 1]
    cdef const floating* out
    cdef floating* G
    cdef double loss, wsum, unused = 0
    # The one-pass step gives the layer-by-layer numbers where those run on one thread, in
    # fastnn's own loops (below SKINNY_MAX) and in OpenBLAS's small-matrix kernel.
    cdef Py_ssize_t H = P.layers[0].n_out
    cdef bint tiny = (floating is float and P.tiny >= 0 and L != NULL and w == NULL
                      and batch_size * H <= SKINNY_MAX and batch_size * H * c <= TINY_MAX_WORK
                      and _threads(n_threads, batch_size * c) == 1)
    for bi in range(n_batches):
        start = bi * batch_size
        rows = min(batch_size, n - start)
        if floating is float and tiny:
            loss = fnn_tiny_step(X, order + start, L, <const float*>P.layers[0].W,
                                 <const float*>P.layers[0].b, <const float*>P.layers[1].W,
                                 <const float*>P.layers[1].b, <float*>P.layers[0].dW,
                                 <float*>P.layers[0].db, <float*>P.layers[1].dW,
                                 <float*>P.layers[1].db, rows, <int>n_in, H, <int>c, P.tiny,
                                 correct if P.acc_mode == ACC_ARGMAX else &unused)
            if not _add_loss(P, <floating>0, loss, rows, rows, loss_sum, penalty_sum):
                return 1
            _step(P, <floating>0, iterations, rows)
            continue
        for r in range(rows):
            i = order[start + r]
            memcpy(Xb + r * n_in, X + i * n_in, n_in * sizeof(floating))
            if L != NULL:
                P.Lb[r] = L[i]
            else:
                memcpy(Tb + r * c, T + i * c, c * sizeof(floating))
            if w != NULL:
                Wb[r] = w[i]
        wsum = rows
        if w != NULL:
            wsum = 0
            for r in range(rows):
                wsum += Wb[r]
            if not wsum > 0:
                continue  # a batch whose weights are all zero teaches nothing

        out = _forward(P, Xb, rows, True, n_threads)
        G = <floating*>last.G
        loss = loss_rows(P.loss_kind, out, Tb if L == NULL else <const floating*>NULL,
                         P.Lb if L != NULL else <const Py_ssize_t*>NULL,
                         Wb if w != NULL else <const floating*>NULL, G, rows, c,
                         <floating>P.loss_eps, _threads(n_threads, rows * c))
        if not _add_loss(P, <floating>0, loss, wsum, rows, loss_sum, penalty_sum):
            return 1
        correct[0] += _correct(P.acc_mode, out, Tb, P.Lb if L != NULL else NULL, rows, c)

        for l in range(P.n_layers - 1, -1, -1):
            lp = &P.layers[l]
            G = <floating*>lp.G
            if lp.rate > 0:
                for j in range(rows * lp.n_out):
                    G[j] = G[j] * (<floating*>lp.mask)[j]
            if lp.Z != NULL:
                backward_factor_rows(<const floating*>lp.Z, G, G, rows, lp.n_out,
                                     _threads(n_threads, rows * lp.n_out))
            else:
                backward_rows(lp.act, <const floating*>lp.A, G, G, rows, lp.n_out,
                              <floating>lp.alpha, _threads(n_threads, rows * lp.n_out))
            dense_backward_core(
                Xb if l == 0 else <const floating*>(P.layers[l - 1].D if P.layers[l - 1].rate > 0
                                                    else P.layers[l - 1].A),
                <const floating*>lp.W, G, <floating*>lp.dW, <floating*>lp.db,
                <floating*>P.layers[l - 1].G if l > 0 else <floating*>NULL,
                rows, lp.n_in, lp.n_out, False)

        _step(P, <floating>0, iterations, wsum)
    return 0


cdef void _predict(PlanC* P, const floating* X, floating* out, Py_ssize_t n, int final_act,
                   int n_threads) noexcept nogil:
    cdef Py_ssize_t bi, start, rows, c = P.layers[P.n_layers - 1].n_out
    cdef const floating* res
    cdef Py_ssize_t n_in = P.layers[0].n_in
    for bi in range((n + P.max_rows - 1) // P.max_rows):
        start = bi * P.max_rows
        rows = min(P.max_rows, n - start)
        res = _forward(P, X + start * n_in, rows, False, n_threads)
        memcpy(out + start * c, res, rows * c * sizeof(floating))
        if final_act != IDENTITY:
            forward_rows(final_act, out + start * c, out + start * c, rows, c, 0,
                         _threads(n_threads, rows * c))


cdef bint _all_finite(const floating* x, Py_ssize_t n) noexcept nogil:
    # x - x == 0 is false exactly for NaN and +-inf, and vectorizes; chunks allow an early exit.
    cdef Py_ssize_t start, i
    cdef bint ok = True
    for start in range(0, n, 65536):
        for i in range(start, min(start + 65536, n)):
            ok = ok & (x[i] - x[i] == 0)
        if not ok:
            return False
    return True


cdef bint _state_finite(PlanC* P, floating dtype) noexcept nogil:
    """Whether every parameter and optimizer state value is finite."""
    cdef ParamPlan* pp
    cdef Py_ssize_t j
    for j in range(P.n_params):
        pp = &P.params[j]
        if not (_all_finite(<const floating*>pp.p, pp.size)
                and (pp.s1 == NULL or _all_finite(<const floating*>pp.s1, pp.size))
                and (pp.s2 == NULL or _all_finite(<const floating*>pp.s2, pp.size))):
            return False
    return True


def all_finite(x):
    """Whether every value of a float32 or float64 array is finite (no NaN, no infinity),
    without the temporary array of np.isfinite(x).all()."""
    cdef int t = float_typenum(x, "x")
    cdef cnp.ndarray xa = input_array(x, "x", t, -1)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(xa)
    cdef const void* p = cnp.PyArray_DATA(xa)
    cdef bint ok
    with nogil:
        ok = _all_finite(<const float*>p, n) if t == cnp.NPY_FLOAT32 else _all_finite(<const double*>p, n)
    return ok


cdef inline uint64_t _random_interval(bitgen_t* g, uint64_t high) noexcept nogil:
    """A uniform integer in [0, high] exactly as NumPy's random_interval draws it
    (numpy/random/src/distributions/distributions.c): masked rejection, 32 bits a draw below
    2^32."""
    cdef uint64_t mask = high, value
    if high == 0:
        return 0
    mask |= mask >> 1
    mask |= mask >> 2
    mask |= mask >> 4
    mask |= mask >> 8
    mask |= mask >> 16
    mask |= mask >> 32
    if high <= UINT32_MAX:
        value = g.next_uint32(g.state) & mask
        while value > high:
            value = g.next_uint32(g.state) & mask
    else:
        value = g.next_uint64(g.state) & mask
        while value > high:
            value = g.next_uint64(g.state) & mask
    return value


cdef void _permutation(bitgen_t* g, Py_ssize_t* order, Py_ssize_t n) noexcept nogil:
    """order = Generator.permutation(n): arange(n), then Generator.shuffle's Fisher-Yates from
    the last element down, one random_interval draw each. The same draws, so the same order,
    and the generator is left in the same state (tests/test_engine.py checks both)."""
    cdef Py_ssize_t i, j, t
    for i in range(n):
        order[i] = i
    for i in range(n - 1, 0, -1):
        j = <Py_ssize_t>_random_interval(g, <uint64_t>i)
        t = order[i]
        order[i] = order[j]
        order[j] = t


# The optimizer state arrays each kind reads and writes (optim_update): SGD's velocity only with
# momentum > 0.
cdef int _states_needed(int kind, double momentum) noexcept:
    if kind == ADAM or kind == ADAMW:
        return 2
    if kind == RMSPROP or kind == ADAGRAD:
        return 1
    return 1 if momentum > 0 else 0


cdef double _real(object x, str what) except? -1:
    """x as a double, or ValueError naming `what`: a real number (not a bool, nor a string)."""
    import numbers
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise ValueError(f"engine plan: {what} must be a number, got {x!r}")
    return float(x)


cdef int _in(double x, double lo, double hi, bint lo_open, bint hi_open, str what) except -1:
    """ValueError unless x lies in the interval (NaN never does)."""
    if not ((x > lo if lo_open else x >= lo) and (x < hi if hi_open else x <= hi)):
        raise ValueError(f"engine plan: {what} must be in {'(' if lo_open else '['}{lo:g}, "
                         f"{hi:g}{')' if hi_open else ']'}, got {x:g}")
    return 0


cdef int _code(object code, object codes, str what) except -1:
    """A code of the table `codes` (name -> code), or ValueError listing them."""
    import numpy as np
    if isinstance(code, (int, np.integer)) and not isinstance(code, bool) and code in codes.values():
        return code
    raise ValueError(f"engine plan: unknown {what} code {code!r}; the codes are {dict(codes)}")


cdef inline int _final_act(int code) except -1:
    # predict's own check, in C: predict_fast's whole call takes a few microseconds
    if not 0 <= code < N_ACTIVATIONS:
        raise ValueError(f"engine: unknown final activation code {code}; the codes are "
                         f"{ACTIVATION_CODES}")
    return 0


cdef int _array(object a, object dtype, tuple shape, str what) except -1:
    import numpy as np
    if not isinstance(a, np.ndarray):
        raise ValueError(f"engine plan: {what} must be a numpy array, got {type(a).__name__}")
    if a.dtype != dtype:
        raise ValueError(f"engine plan: {what} must have the plan's dtype {dtype}, got {a.dtype}")
    if a.shape != shape:
        raise ValueError(f"engine plan: {what} must have shape {shape}, got {a.shape}")
    return 0


cdef int _check_plan(object dtype, list layers, list params, object optimizer, object loss,
                     object max_rows, bint labels, int acc_mode, bint training) except -1:
    """ValueError, naming the problem, for a plan description the kernels would run out of
    bounds on, that would compute wrong numbers (arrays that share memory), or that no Network
    compiles to (see Plan.__init__ for the layouts). The arrays' contiguity and writeability
    are _ptr's to check. max_rows is an integer of any size."""
    import numpy as np
    if dtype != np.float32 and dtype != np.float64:
        raise ValueError(f"engine plan: dtype must be float32 or float64, got {dtype}")
    if max_rows < 1:
        raise ValueError(f"engine plan: max_rows must be >= 1, got {max_rows}")
    _code(acc_mode, ACCURACY_CODES, "accuracy")
    if len(layers) == 0:
        raise ValueError("engine plan: a plan needs at least one Dense layer")
    cdef Py_ssize_t i, j, k, m, prev = -1
    for i, layer in enumerate(layers):
        if not isinstance(layer, tuple) or len(layer) != 8:
            raise ValueError(f"engine plan: layers[{i}] must be a tuple (W, b, dW, db, activation, "
                             f"alpha, dropout rate, dropout state), got {layer!r:.80}")
        W, b, dW, db, code, alpha, rate, rng = layer
        if not (isinstance(W, np.ndarray) and W.ndim == 2):
            raise ValueError(f"engine plan: layers[{i}]'s W must be a 2-D numpy array, got "
                             f"{getattr(W, 'shape', type(W).__name__)}")
        k, m = W.shape
        if k < 1 or m < 1:
            raise ValueError(f"engine plan: layers[{i}]'s W must have at least one row and "
                             f"column, got shape {W.shape}")
        if prev >= 0 and k != prev:
            raise ValueError(f"engine plan: layers[{i}]'s W takes {k} inputs, but layers[{i - 1}] "
                             f"gives {prev} outputs")
        prev = m
        if max_rows * max(k, m) > MAX_BUFFER_VALUES:
            raise ValueError(f"engine plan: max_rows = {max_rows} rows of layers[{i}]'s "
                             f"{max(k, m)} values would be more than the 2^{31} values a buffer "
                             f"holds; max_rows must be at most {MAX_BUFFER_VALUES // max(k, m)}")
        _array(W, dtype, (k, m), f"layers[{i}]'s W")
        _array(b, dtype, (m,), f"layers[{i}]'s b (one per output of W)")
        _array(dW, dtype, (k, m), f"layers[{i}]'s dW (W's shape)")
        _array(db, dtype, (m,), f"layers[{i}]'s db (b's shape)")
        _code(code, ACTIVATION_CODES, f"layers[{i}]'s activation")
        _in(_real(alpha, f"layers[{i}]'s alpha"), 0, float("inf"), False, True,
            f"layers[{i}]'s alpha (the leaky ReLU's slope)")
        _in(_real(rate, f"layers[{i}]'s dropout rate"), 0, 1, False, True,
            f"layers[{i}]'s dropout rate")
        if rate > 0 and not (isinstance(rng, np.ndarray) and rng.dtype == np.uint64
                             and rng.size == 2 and rng.flags.c_contiguous and rng.flags.writeable):
            raise ValueError(f"engine plan: layers[{i}]'s dropout state must be a writeable, "
                             f"contiguous uint64 array [key, counter]")

    if not (isinstance(optimizer, tuple) and len(optimizer) == 9):
        raise ValueError("engine plan: optimizer must be a tuple (kind, lr, decay, a, b, eps, "
                         "weight_decay, nesterov, eps_hat)")
    if not (isinstance(loss, tuple) and len(loss) == 2):
        raise ValueError("engine plan: loss must be a tuple (kind, eps)")
    cdef int opt = _code(optimizer[0], OPTIMIZER_CODES, "optimizer")
    cdef int loss_kind = _code(loss[0], LOSS_CODES, "loss")
    cdef double a = _real(optimizer[3], "the optimizer's a (momentum, beta1 or rho)")
    cdef double eps
    if training:
        # The hyperparameters as optim.pyx's and losses.pyx's kernels take them.
        for value, what in zip(optimizer[1:3] + optimizer[6:7], ("lr", "decay", "weight_decay")):
            _in(_real(value, what), 0, float("inf"), False, True, f"the optimizer's {what}")
        if opt != ADAGRAD:
            _in(a, 0, 1, False, True, "the optimizer's a (momentum, beta1 or rho)")
        if opt == ADAM or opt == ADAMW:
            _in(_real(optimizer[4], "beta2"), 0, 1, False, True, "the optimizer's b (beta2)")
        if opt != SGD:
            _in(_real(optimizer[5], "eps"), 0, float("inf"), True, True, "the optimizer's eps")
        if loss_kind == CATEGORICAL_CE or loss_kind == BCE:
            eps = _real(loss[1], "the loss's eps")
            if not 0 < eps < 0.5 or (dtype == np.float32 and <float>(1 - eps) >= 1):
                raise ValueError(f"engine plan: the loss's eps must be in (0, 0.5) and leave "
                                 f"1 - eps < 1 at the plan's precision, got {eps}")
        if loss_kind == HUBER:
            _in(_real(loss[1], "the Huber loss's delta"), 0, float("inf"), True, True,
                "the Huber loss's delta")
        if labels and loss_kind != SOFTMAX_CE and loss_kind != CATEGORICAL_CE:
            raise ValueError(f"engine plan: loss code {loss_kind} takes target rows, not class "
                             f"labels (labels=True)")
        if labels and acc_mode != ACC_NONE and acc_mode != ACC_ARGMAX:
            raise ValueError(f"engine plan: accuracy code {acc_mode} compares target rows; with "
                             f"class labels only argmax ({ACC_ARGMAX}) or none ({ACC_NONE})")
    if (training or params) and len(params) != 2 * len(layers):
        raise ValueError(f"engine plan: a training plan's params are (W, b) of every layer in "
                         f"order, {2 * len(layers)} entries; got {len(params)}")

    cdef int needed = _states_needed(opt, a) if training else 0
    names = {SGD: "SGD with momentum", ADAM: "Adam", RMSPROP: "RMSprop", ADAGRAD: "Adagrad",
             ADAMW: "AdamW"}
    for j, entry in enumerate(params):
        if not isinstance(entry, tuple) or len(entry) != 5:
            raise ValueError(f"engine plan: params[{j}] must be a tuple (param, grad, state1, "
                             f"state2, l2), got {entry!r:.80}")
        p, g, s1, s2, l2 = entry
        layer = layers[j // 2]
        what = f"params[{j}] ({'W' if j % 2 == 0 else 'b'} of layers[{j // 2}])"
        for array, own, name in ((p, layer[j % 2], "param"), (g, layer[2 + j % 2], "grad")):
            _array(array, dtype, own.shape, f"{what}'s {name}")
            # the update must write the arrays the forward reads and read what the backward writes
            if cnp.PyArray_DATA(<cnp.ndarray>array) != cnp.PyArray_DATA(<cnp.ndarray>own):
                raise ValueError(f"engine plan: {what}'s {name} must be the layer's "
                                 f"{('W', 'b', 'dW', 'db')[(name == 'grad') * 2 + j % 2]} array")
        for i, state in enumerate((s1, s2)):
            if state is None:
                if i < needed:
                    raise ValueError(f"engine plan: {what}: {names[opt]} needs {needed} state "
                                     f"array{'s' if needed > 1 else ''}, state{i + 1} is None")
            else:
                _array(state, dtype, p.shape, f"{what}'s state{i + 1}")
        _in(_real(l2, f"{what}'s l2"), 0, float("inf"), False, True, f"{what}'s l2")
    if training:
        _disjoint(_plan_arrays(layers, params, True))
    return 0


cdef list _plan_arrays(list layers, list params, bint training):
    """(array, name, read by predict) for every array a checked plan description points into:
    what training writes (all of them) and predict reads (the layers' W and b). params' param
    and grad are the layers' W, b, dW and db (_check_plan), so they are not listed again."""
    found = []
    for i, (W, b, dW, db, code, alpha, rate, rng) in enumerate(layers):
        found += [(W, f"layers[{i}]'s W", True), (b, f"layers[{i}]'s b", True)]
        if training:
            found += [(dW, f"layers[{i}]'s dW", False), (db, f"layers[{i}]'s db", False)]
            if rate > 0:
                found.append((rng, f"layers[{i}]'s dropout state", False))
    if training:
        for j, (p, g, s1, s2, l2) in enumerate(params):
            for k, state in enumerate((s1, s2)):
                if state is not None:
                    found.append((state, f"params[{j}]'s state{k + 1}", False))
    return found


cdef int _disjoint(list arrays) except -1:
    """ValueError naming two of `arrays` (array, name, _) that share memory: a training step
    writes every one of them while it reads the others. The one exception is one dropout state
    shared by two Dropout layers, which draw from it one after the other as the layer-by-layer
    path does. Sorted by address, so a deep network's hundreds of arrays cost no more than a
    sort."""
    cdef Py_ssize_t i
    cdef cnp.ndarray a, b
    spans = sorted([(<uintptr_t>cnp.PyArray_DATA(<cnp.ndarray>arr),
                     cnp.PyArray_NBYTES(<cnp.ndarray>arr), idx)
                    for idx, (arr, _, _) in enumerate(arrays)
                    if cnp.PyArray_NBYTES(<cnp.ndarray>arr) > 0])
    cdef Py_ssize_t reach = -1  # the span among those before that ends last
    for i in range(len(spans)):
        if reach >= 0 and spans[i][0] < spans[reach][0] + spans[reach][1]:
            a, b = arrays[spans[reach][2]][0], arrays[spans[i][2]][0]
            if not (cnp.PyArray_TYPE(a) == cnp.NPY_UINT64 == cnp.PyArray_TYPE(b)
                    and spans[i][:2] == spans[reach][:2]):
                raise ValueError(f"engine plan: {arrays[spans[i][2]][1]} must not share memory "
                                 f"with {arrays[spans[reach][2]][1]}")
        if reach < 0 or spans[i][0] + spans[i][1] > spans[reach][0] + spans[reach][1]:
            reach = i
    return 0


cdef class Plan:
    """A Network compiled for the engine; see fastnn/engine.py."""
    cdef PlanC c
    cdef int typenum
    cdef Py_ssize_t n_in, n_out
    cdef list keep
    cdef list owners    # (Dense layer, its W, its b): the plan is current while they still match
    cdef list layer_list  # the network's training layers, and the objects it held at compile time
    cdef list layer_objs
    cdef public bint labels
    cdef bint training
    cdef char* snapshot  # the parameters and optimizer state at the start of an epoch
    cdef Py_ssize_t itemsize
    cdef bint ready      # __init__ ran to its end: the methods may use the plan
    cdef bint started    # __init__ has been called: it never runs again
    # The bytes of the plan's arrays, those predict reads (W, b) first: a call's arguments must
    # not share memory with what the call writes or (predict) reads.
    cdef Span* spans
    cdef Py_ssize_t n_spans, n_read_spans
    cdef list span_names

    def __cinit__(self):
        self.c.layers = NULL
        self.c.params = NULL
        self.snapshot = NULL
        self.spans = NULL
        self.n_spans = self.n_read_spans = 0
        self.ready = False
        self.started = False

    def __dealloc__(self):
        # The only place the plan's memory is freed: no method runs on a plan being deallocated
        # (a running method holds a reference to it), and __init__ never runs a second time.
        free(self.c.layers)
        free(self.c.params)
        free(self.snapshot)
        free(self.spans)

    cdef int _require_ready(self) except -1:
        if not self.ready:
            raise ValueError("engine: this plan was not compiled (Plan.__init__ failed or never ran)")
        return 0

    cdef int _apart(self, object a, str name, bint predict) except -1:
        """ValueError unless the array `a`, an argument of a call, shares no memory with the
        plan's arrays that the call writes (training: all of them) or reads (predict: W, b)."""
        cdef Span s = span(<cnp.ndarray>a)
        cdef Py_ssize_t i
        for i in range(self.n_read_spans if predict else self.n_spans):
            if s.start < self.spans[i].end and self.spans[i].start < s.end:
                raise ValueError(f"engine: {name} must not share memory with "
                                 f"{self.span_names[i]}, which the plan "
                                 f"{'reads' if predict else 'writes'}")
        return 0

    def __init__(self, spec):
        """spec: a fastnn.plan.PlanSpec, whose fields name every array and setting of the plan.
        _check_plan refuses (ValueError) any that does not fit; max_rows is an integer whose
        buffers hold at most 2^31 values each.

        A Plan is compiled once: __init__ called again on it (even one that failed) raises
        RuntimeError, since another thread may be running the plan with the GIL released; build
        a new Plan instead."""
        if self.started:
            raise RuntimeError("engine: this Plan was already compiled (__init__ runs once: "
                               "another thread may be running it); build a new Plan")
        self.started = True
        if not isinstance(spec, PlanSpec):
            raise TypeError(f"engine: Plan takes a fastnn.plan.PlanSpec, got {type(spec).__name__}")
        import numpy as np
        cdef bint labels = spec.labels, training = spec.training
        cdef int acc_mode = _code(spec.accuracy, ACCURACY_CODES, "accuracy")
        dtype, layers, params, optimizer, loss = (np.dtype(spec.dtype), spec.layers, spec.params,
                                                  spec.optimizer, spec.loss)
        max_rows, owners, layer_list = spec.max_rows, list(spec.owners), spec.layer_list
        for i, owner in enumerate(owners):
            if not (isinstance(getattr(owner, "W", None), np.ndarray)
                    and isinstance(getattr(owner, "b", None), np.ndarray)):
                raise ValueError(f"engine plan: owners[{i}] must be a Dense layer (arrays W and b), "
                                 f"got {type(owner).__name__}")
        layers, params = list(layers), list(params)
        max_rows = PyNumber_Index(max_rows)
        _check_plan(dtype, layers, params, optimizer, loss, max_rows, labels, acc_mode, training)
        self.typenum = cnp.NPY_FLOAT32 if dtype == np.float32 else cnp.NPY_FLOAT64
        cdef int t = self.typenum
        self.keep = [layers, params]
        self.owners = [(layer, layer.W, layer.b) for layer in owners]
        self.layer_list = layer_list if layer_list is not None else []
        self.layer_objs = list(self.layer_list)
        self.c.n_layers, self.c.n_params = len(layers), len(params)
        self.c.layers = <LayerPlan*>calloc(len(layers), sizeof(LayerPlan))
        self.c.params = <ParamPlan*>calloc(max(len(params), 1), sizeof(ParamPlan))
        if self.c.layers == NULL or self.c.params == NULL:
            raise MemoryError()
        self.c.max_rows = max_rows
        cdef LayerPlan* lp
        cdef Py_ssize_t k, m
        for i, (W, b, dW, db, act, alpha, rate, rng) in enumerate(layers):
            lp = &self.c.layers[i]
            k, m = W.shape
            lp.n_in, lp.n_out = k, m
            lp.W, lp.b = _ptr(W, t, k * m, "W", training), _ptr(b, t, m, "b", training)
            lp.dW, lp.db = _ptr(dW, t, k * m, "dW", training), _ptr(db, t, m, "db", training)
            lp.act, lp.alpha, lp.rate = act, alpha, rate
            buffers = [np.zeros((max_rows, m), dtype) for _ in range(4 if rate > 0 else 2)]
            self.keep.append(buffers)
            lp.A, lp.G = _ptr(buffers[0], t, max_rows * m, "A"), _ptr(buffers[1], t, max_rows * m, "G")
            if rate > 0:
                lp.D = _ptr(buffers[2], t, max_rows * m, "D")
                lp.mask = _ptr(buffers[3], t, max_rows * m, "mask")
                lp.rng = <uint64_t*>cnp.PyArray_DATA(<cnp.ndarray>rng)  # checked by _check_plan
            if activation_has_factor(act):
                Z = np.zeros((max_rows, m), dtype)
                buffers.append(Z)
                lp.Z = _ptr(Z, t, max_rows * m, "Z")
        self.c.has_l2 = False
        for i, (p, g, s1, s2, l2) in enumerate(params):
            self.c.params[i].size = p.size
            self.c.params[i].l2 = l2
            self.c.has_l2 = self.c.has_l2 or l2 != 0
            self.c.params[i].p = _ptr(p, t, p.size, "param", training)
            self.c.params[i].g = _ptr(g, t, p.size, "grad", training)
            self.c.params[i].s1 = _ptr(s1, t, p.size, "state", training) if s1 is not None else NULL
            self.c.params[i].s2 = _ptr(s2, t, p.size, "state", training) if s2 is not None else NULL
        (self.c.opt_kind, self.c.lr, self.c.decay, self.c.a, self.c.b, self.c.eps, self.c.wd,
         self.c.nesterov, self.c.eps_hat) = optimizer
        self.c.loss_kind, self.c.loss_eps = loss
        self.c.acc_mode = acc_mode
        self.n_in, self.n_out = self.c.layers[0].n_in, self.c.layers[self.c.n_layers - 1].n_out
        batch = [np.zeros((max_rows, self.n_in), dtype), np.zeros((max_rows, self.n_out), dtype),
                 np.zeros(max_rows, np.intp), np.zeros(max_rows, dtype)]
        self.keep.append(batch)
        self.c.Xb = _ptr(batch[0], t, max_rows * self.n_in, "batch")
        self.c.Tb = _ptr(batch[1], t, max_rows * self.n_out, "targets")
        self.c.Lb = <Py_ssize_t*>cnp.PyArray_DATA(<cnp.ndarray>batch[2])
        self.c.Wb = _ptr(batch[3], t, max_rows, "weights")
        self.labels = labels
        self.training = training
        self.itemsize = 4 if t == cnp.NPY_FLOAT32 else 8
        self.c.tiny = -1
        arrays = sorted(_plan_arrays(layers, params, training), key=lambda entry: not entry[2])
        self.spans = <Span*>malloc(max(len(arrays), 1) * sizeof(Span))
        if self.spans == NULL:
            raise MemoryError()
        for i, (array, _, _) in enumerate(arrays):
            self.spans[i] = span(<cnp.ndarray>array)
        self.n_spans = len(arrays)
        self.n_read_spans = sum(1 for entry in arrays if entry[2])
        self.span_names = [name for _, name, _ in arrays]
        self.ready = True
        self.allow_one_pass(True)

    def allow_one_pass(self, bint allow):
        """Whether a network of _tiny.h's shape trains by its one-pass step (the default, where
        its numbers match BLAS's on this machine) or layer by layer, e.g. to time the two."""
        self._require_ready()
        self.c.tiny = -1
        if allow and self.typenum == cnp.NPY_FLOAT32 and _tiny_shape(&self.c):
            self.c.tiny = _cached_tiny_order(self.c.layers[0].n_in, self.c.layers[0].n_out,
                                             self.c.layers[1].n_out)

    @property
    def one_pass(self):
        """Whether training batches take _tiny.h's one-pass step (those that run on one thread,
        with labels and without sample weights)."""
        return self.c.tiny >= 0

    def set_learning_rate(self, double lr):
        """The base learning rate of the next epochs (a schedule changes it between epochs): a
        finite number >= 0, as the optimizer kernels take it."""
        _in(lr, 0, float("inf"), False, True, "the learning rate")
        self.c.lr = lr

    cdef int _epoch_data(self, X, y, sample_weight, object batch_size,
                         EpochData* d) except -1:
        """Check an epoch's inputs against the plan and point d at them. None of them may share
        memory with an array the plan writes: a step would change them under the epoch (and
        labels, checked once here, could then send the loss out of bounds)."""
        cdef Py_ssize_t i
        self._require_ready()
        cdef int t = self.typenum
        if not self.training:
            raise ValueError("engine: this plan was compiled for inference and cannot train")
        batch_size = PyNumber_Index(batch_size)
        if not 1 <= batch_size <= self.c.max_rows:
            raise ValueError(f"batch_size must be in [1, {self.c.max_rows}], got {batch_size}")
        d.batch_size = batch_size
        d.n = len(X)
        if d.n < 1:
            raise ValueError("engine: X must have at least one row")
        d.X = _ptr(X, t, d.n * self.n_in, "X", False)
        self._apart(X, "X", False)
        d.T, d.L, d.W = NULL, NULL, NULL
        if self.labels:
            if not (cnp.PyArray_Check(y) and cnp.PyArray_TYPE(<cnp.ndarray>y) == cnp.NPY_INTP
                    and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>y) and len(y) == d.n):
                raise ValueError("engine: labels must be a C-contiguous intp array of len(X)")
            self._apart(y, "labels", False)
            d.L = <const Py_ssize_t*>cnp.PyArray_DATA(<cnp.ndarray>y)
            for i in range(d.n):  # the loss reads the output column of each label
                if not 0 <= d.L[i] < self.n_out:
                    raise ValueError(f"engine: labels[{i}] = {d.L[i]} is not a class index in "
                                     f"[0, {self.n_out})")
        else:
            d.T = _ptr(y, t, d.n * self.n_out, "targets", False)
            self._apart(y, "targets", False)
        if sample_weight is not None:
            d.W = _ptr(sample_weight, t, d.n, "sample_weight", False)
            self._apart(sample_weight, "sample_weight", False)
        return 0

    cdef Py_ssize_t _iterations(self, EpochData* d, object iterations,
                                object epochs) except -1:
        """`iterations` (the steps taken before, which number the next), an integer in [0, 2^62),
        checked to stay below 2^62 after `epochs` epochs of d's batches, so the step counter
        never wraps."""
        cdef Py_ssize_t it = count_in(iterations, "iterations", 0, MAX_ITERATIONS)
        steps = epochs * ((d.n + d.batch_size - 1) // d.batch_size)
        if it + steps >= MAX_ITERATIONS:
            raise ValueError(f"iterations = {it} and the {steps} steps of this call would pass "
                             f"2^62 - 1, the last step number")
        return it

    cdef int _run_epoch(self, EpochData* d, const Py_ssize_t* order, Py_ssize_t batch_size,
                        Py_ssize_t* it, int n_threads, double* sums) noexcept nogil:
        """One epoch: 0, or 1 when a batch's loss was not finite (it stopped there), or 2 when
        the epoch ended with a parameter or optimizer state value that is not finite (its last
        steps overflowed them, the losses before still finite)."""
        cdef int status
        if self.typenum == cnp.NPY_FLOAT32:
            status = _train_epoch(&self.c, <const float*>d.X, <const float*>d.T, d.L,
                                  <const float*>d.W, order, d.n, batch_size, it, n_threads,
                                  &sums[0], &sums[1], &sums[2])
            if status == 0 and not _state_finite(&self.c, <float>0):
                status = 2
        else:
            status = _train_epoch(&self.c, <const double*>d.X, <const double*>d.T, d.L,
                                  <const double*>d.W, order, d.n, batch_size, it, n_threads,
                                  &sums[0], &sums[1], &sums[2])
            if status == 0 and not _state_finite(&self.c, <double>0):
                status = 2
        return status

    def train_epoch(self, X, y, sample_weight, order, batch_size, iterations, n_threads=1):
        """One epoch of steps over X[order] in batches; returns (finished, loss_sum, penalty_sum,
        correct, iterations): finished is False when a batch's loss was not finite, or when the
        epoch left a parameter or optimizer state value that is not finite (the caller then puts
        back its copy of the epoch's start); the sums are over batches of loss * rows (the L2
        penalty included in loss_sum and also alone). iterations is in [0, 2^62), and stays
        there after the epoch's steps (ValueError otherwise)."""
        cdef EpochData d
        self._epoch_data(X, y, sample_weight, batch_size, &d)
        cdef Py_ssize_t it = self._iterations(&d, iterations, 1)
        cdef int threads = thread_count(n_threads)
        if not (cnp.PyArray_Check(order) and cnp.PyArray_TYPE(<cnp.ndarray>order) == cnp.NPY_INTP
                and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>order) and len(order) == d.n):
            raise ValueError("engine: order must be a C-contiguous intp permutation of len(X)")
        self._apart(order, "order", False)
        cdef const Py_ssize_t* Op = <const Py_ssize_t*>cnp.PyArray_DATA(<cnp.ndarray>order)
        cdef Py_ssize_t i
        for i in range(d.n):
            if not 0 <= Op[i] < d.n:
                raise ValueError(f"engine: order[{i}] = {Op[i]} is out of range")
        cdef double sums[3]
        sums[0] = sums[1] = sums[2] = 0
        cdef int status
        with nogil:
            status = self._run_epoch(&d, Op, d.batch_size, &it, threads, sums)
        return status == 0, sums[0], sums[1], sums[2], it

    cdef void _state(self, bint save) noexcept nogil:
        """Copy the parameters and optimizer state to the snapshot (save) or back from it."""
        cdef char* at = self.snapshot
        cdef ParamPlan* pp
        cdef Py_ssize_t i, j, nbytes
        cdef void* bufs[3]
        for j in range(self.c.n_params):
            pp = &self.c.params[j]
            nbytes = pp.size * self.itemsize
            bufs[0], bufs[1], bufs[2] = pp.p, pp.s1, pp.s2
            for i in range(3):
                if bufs[i] != NULL:
                    if save:
                        memcpy(at, bufs[i], nbytes)
                    else:
                        memcpy(bufs[i], at, nbytes)
                    at += nbytes

    def train_epochs(self, X, y, sample_weight, batch_size, iterations, epochs, generator=None,
                     n_threads=1):
        """Up to `epochs` epochs in one call, each as Network.fit runs one: over the rows in the
        order of generator.permutation(len(X)), drawn here in C with NumPy's algorithm (the same
        order, and the generator left as permutation would leave it), or in their own order when
        generator is None. When an epoch's loss is not finite, or the epoch leaves a parameter or
        optimizer state value that is not finite, the parameters and optimizer state of that
        epoch's start are put back and the call stops. Returns (epochs completed, finished, sums,
        iterations): sums[e] = (loss_sum, penalty_sum, correct) of epoch e, as train_epoch
        returns them; finished is False after such an epoch. epochs is in [0, 2^31), and
        iterations in [0, 2^62) and stays there after the steps of all the epochs (ValueError
        otherwise); the sums take memory for the epochs that run, not for all those asked."""
        import numpy as np
        cdef EpochData d
        self._epoch_data(X, y, sample_weight, batch_size, &d)
        cdef Py_ssize_t n_epochs = count_in(epochs, "epochs", 0, MAX_EPOCHS)
        cdef Py_ssize_t it = self._iterations(&d, iterations, n_epochs)
        cdef int threads = thread_count(n_threads)
        cdef bitgen_t* g = NULL
        lock = None
        if generator is not None:
            g = <bitgen_t*>PyCapsule_GetPointer(generator.bit_generator.capsule, "BitGenerator")
            lock = generator.bit_generator.lock
        cdef Py_ssize_t nbytes = 0, j
        if self.snapshot == NULL:
            for j in range(self.c.n_params):
                nbytes += self.c.params[j].size * self.itemsize * (
                    1 + (self.c.params[j].s1 != NULL) + (self.c.params[j].s2 != NULL))
            self.snapshot = <char*>malloc(max(nbytes, 1))
            if self.snapshot == NULL:
                raise MemoryError()
        cdef cnp.ndarray order = np.arange(d.n, dtype=np.intp)
        cdef Py_ssize_t* Op = <Py_ssize_t*>cnp.PyArray_DATA(order)
        cdef cnp.ndarray sums
        cdef double* Sp
        cdef Py_ssize_t start, e, done = 0, block = 64, n_block
        cdef int status = 0
        blocks = []  # the sums, in blocks of epochs that double in size as the epochs run
        with (lock if lock is not None else nullcontext()):
            while done < n_epochs and status == 0:
                n_block = min(block, n_epochs - done)
                sums = np.zeros((n_block, 3))
                Sp = <double*>cnp.PyArray_DATA(sums)
                with nogil:
                    for e in range(n_block):
                        if g != NULL:
                            _permutation(g, Op, d.n)
                        self._state(True)
                        start = it
                        status = self._run_epoch(&d, Op, d.batch_size, &it, threads, Sp + 3 * e)
                        if status != 0:
                            self._state(False)
                            it = start
                            break
                        done += 1
                blocks.append(sums if status == 0 else sums[:e])
                block = min(2 * block, 1 << 20)
        if len(blocks) != 1:
            sums = np.concatenate(blocks) if blocks else np.zeros((0, 3))
        else:
            sums = blocks[0]
        return done, status == 0, sums, it

    def predict(self, X, out, int final_act=0, n_threads=1):
        """out = the network's outputs for X (inference: no dropout), then `final_act` applied;
        X in chunks of the plan's max_rows. out may share no memory with X or the layers' W and
        b (ValueError)."""
        self._require_ready()
        _final_act(final_act)
        cdef int threads = thread_count(n_threads)
        cdef int t = self.typenum
        cdef Py_ssize_t n = len(X)
        cdef const void* Xp = _ptr(X, t, n * self.n_in, "X", False)
        cdef void* Op = _ptr(out, t, n * self.n_out, "out")
        distinct_or_same(<cnp.ndarray>out, "out", <cnp.ndarray>X, "X", False)
        self._apart(out, "out", True)
        if t == cnp.NPY_FLOAT32:
            with nogil:
                _predict(&self.c, <const float*>Xp, <float*>Op, n, final_act, threads)
        else:
            with nogil:
                _predict(&self.c, <const double*>Xp, <double*>Op, n, final_act, threads)
        return out

    def current(self):
        """Whether the network still holds the layers this plan was compiled from, and every
        Dense layer the W and b arrays it points into."""
        cdef Py_ssize_t i
        if len(self.layer_list) != len(self.layer_objs):
            return False
        for i in range(len(self.layer_objs)):
            if self.layer_list[i] is not self.layer_objs[i]:
                return False
        for layer, W, b in self.owners:
            if layer.W is not W or layer.b is not b:
                return False
        return True

    def predict_fast(self, X, int final_act=0):
        """predict for small inputs with the checks in C: X a C-contiguous 2-D array of the
        plan's dtype and width, at most 65536 values, all finite, and the plan current. None when
        any of that fails (the caller then validates X in full and says what is wrong)."""
        self._require_ready()
        _final_act(final_act)
        if not (cnp.PyArray_CheckExact(X) and cnp.PyArray_TYPE(<cnp.ndarray>X) == self.typenum
                and cnp.PyArray_NDIM(<cnp.ndarray>X) == 2
                and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>X)
                and cnp.PyArray_DIM(<cnp.ndarray>X, 1) == self.n_in
                and cnp.PyArray_DIM(<cnp.ndarray>X, 0) > 0 and self.current()
                and cnp.PyArray_SIZE(<cnp.ndarray>X) <= FAST_PREDICT_MAX):
            return None
        cdef Py_ssize_t n = cnp.PyArray_DIM(<cnp.ndarray>X, 0), i
        cdef cnp.npy_intp dims[2]
        dims[0], dims[1] = n, self.n_out
        cdef cnp.ndarray out = cnp.PyArray_EMPTY(2, dims, self.typenum, 0)
        cdef const void* Xp = cnp.PyArray_DATA(<cnp.ndarray>X)
        cdef bint finite = True
        with nogil:
            if self.typenum == cnp.NPY_FLOAT32:
                for i in range(n * self.n_in):
                    finite = finite & isfinite((<const float*>Xp)[i])
                if finite:
                    _predict(&self.c, <const float*>Xp, <float*>cnp.PyArray_DATA(out), n,
                             final_act, 1)
            else:
                for i in range(n * self.n_in):
                    finite = finite & isfinite((<const double*>Xp)[i])
                if finite:
                    _predict(&self.c, <const double*>Xp, <double*>cnp.PyArray_DATA(out), n,
                             final_act, 1)
        return out if finite else None
