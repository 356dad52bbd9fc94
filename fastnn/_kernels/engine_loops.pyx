"""The engine's loops: a whole epoch of mini-batch steps, or all of predict, over a compiled plan
(_loops.pxd), without the GIL.

Built once per ISA variant (setup.py); engine.pyx, built once, checks every plan and argument
and calls these through the table LOOPS (a capsule of an EngineLoops), so the loops trust their
inputs. A translation unit of its own, apart from kernel_loops.pyx: each core loop is called
here once, so the compiler inlines it into the epoch and specializes it.

Each step runs the kernels of the layer-by-layer Python path in the same order on the same
values (gather, dense + norm + activation, dropout, loss, activation backward, norm backward,
dense backward, update), so the two paths give the same numbers.
"""
from fastnn._kernels import load

cimport numpy as cnp
from cpython.pycapsule cimport PyCapsule_New
from cython cimport floating
from libc.math cimport isfinite, sqrt
from libc.stdint cimport uint64_t
from libc.string cimport memcpy

from fastnn._kernels._act_dispatch cimport (IDENTITY, RELU, backward_factor_rows, backward_rows,
                                           forward_rows)
from fastnn._kernels._blas cimport load_blas
from fastnn._kernels._dense_core cimport dense_backward_core, dense_forward_core
from fastnn._kernels._loss_core cimport SOFTMAX_CE, loss_rows
from fastnn._kernels._optim_core cimport OptimScalars, optim_scalars, optim_update
from fastnn._kernels._loops cimport (ACC_ARGMAX, ACC_LOGITS, ACC_NONE, ACC_PROBABILITIES,
                                     NORM_BATCH, NORM_LAYER, NORM_NONE, EngineLoops, EpochData,
                                     KernelLoops, LayerPlan, ParamPlan, PlanC, kernel_table)
from fastnn._kernels._rowops cimport dropout_row, row_dot
from fastnn._kernels._thresholds cimport PARALLEL_MIN, SKINNY_MAX, TINY_MAX_WORK
from fastnn._kernels._tiny cimport (FNN_TINY_AVAILABLE, FNN_TINY_CHAIN, FNN_TINY_MAX_HIDDEN,
                                    FNN_TINY_TREE, fnn_tiny_logits, fnn_tiny_step)

cnp.import_array()
load_blas()

cdef const KernelLoops* kernels = kernel_table(load("kernel_loops"))


cdef inline int _threads(int n_threads, Py_ssize_t elements) noexcept nogil:
    return n_threads if elements >= PARALLEL_MIN else 1


cdef void _norm_forward(LayerPlan* lp, const floating* inp, Py_ssize_t rows, bint training,
                        int n_threads) noexcept nogil:
    """Dense into Y, its BatchNorm or LayerNorm into A, then the activation in place, each by
    the layer path's own entry point (one compiled copy: the same numbers bit for bit)."""
    cdef int i = 0 if floating is float else 1
    cdef int threads = _threads(n_threads, rows * lp.n_out)
    dense_forward_core(inp, <const floating*>lp.W, <const floating*>lp.b, <floating*>lp.Y, rows,
                       lp.n_in, lp.n_out, IDENTITY, 0, threads)
    if lp.norm == NORM_LAYER:
        kernels.layer_norm_forward[i](lp.Y, lp.gamma, lp.beta, lp.A, lp.xhat, lp.inv_std, rows,
                                      lp.n_out, lp.norm_eps)
    elif training:
        kernels.batch_norm_forward[i](lp.Y, lp.gamma, lp.beta, lp.A, lp.xhat, lp.inv_std,
                                      lp.rmean, lp.rvar, rows, lp.n_out, lp.momentum,
                                      lp.norm_eps)
    else:
        kernels.batch_norm_inference[i](lp.Y, lp.gamma, lp.beta, lp.rmean, lp.rvar, lp.A, rows,
                                        lp.n_out, lp.norm_eps)
    if training and lp.Z != NULL:
        kernels.forward_factor_rows[i](lp.act, lp.A, lp.A, lp.Z, rows, lp.n_out, lp.alpha,
                                       threads)
    elif lp.act != IDENTITY:
        kernels.forward_rows[i](lp.act, lp.A, lp.A, rows, lp.n_out, lp.alpha, threads)


cdef const floating* _forward(PlanC* P, const floating* X, Py_ssize_t rows, bint training,
                              int n_threads) noexcept nogil:
    """All layers on `rows` rows of X; returns the last layer's output."""
    cdef const floating* inp = X
    cdef LayerPlan* lp
    cdef Py_ssize_t l, r
    for l in range(P.n_layers):
        lp = &P.layers[l]
        if lp.norm != NORM_NONE:
            _norm_forward(lp, inp, rows, training, n_threads)
        elif lp.Z != NULL:  # a kind with a factor: the value (and f'(x)) as the layer path runs it
            dense_forward_core(inp, <const floating*>lp.W, <const floating*>lp.b,
                               <floating*>lp.A, rows, lp.n_in, lp.n_out, IDENTITY, 0,
                               _threads(n_threads, rows * lp.n_out))
            # the layer path's own entry points, not inlined copies: the compiler may fuse the
            # multiply-adds of a copy differently, and the two paths must agree bit for bit
            if training:
                kernels.forward_factor_rows[0 if floating is float else 1](
                    lp.act, lp.A, lp.A, lp.Z, rows, lp.n_out, lp.alpha,
                    _threads(n_threads, rows * lp.n_out))
            else:
                kernels.forward_rows[0 if floating is float else 1](
                    lp.act, lp.A, lp.A, rows, lp.n_out, lp.alpha,
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


cdef bint _tiny_shape(const PlanC* P) noexcept nogil:
    """Whether the network is X -> Dense + ReLU -> Dense -> softmax cross-entropy with at most 4
    inputs, 2 to 4 classes and a hidden width of whole 16-float vectors, and no dropout (_tiny.h
    takes float32 only), and no norm."""
    if P.n_layers != 2 or P.loss_kind != SOFTMAX_CE or P.acc_mode not in (ACC_NONE, ACC_ARGMAX):
        return False
    cdef const LayerPlan* a = &P.layers[0]
    cdef const LayerPlan* b = &P.layers[1]
    return (a.act == RELU and b.act == IDENTITY and a.rate == 0 and b.rate == 0
            and a.norm == NORM_NONE and b.norm == NORM_NONE
            and 1 <= a.n_in <= 4 and 2 <= b.n_out <= 4 and a.n_out % 16 == 0
            and a.n_out <= FNN_TINY_MAX_HIDDEN)


def tiny_order(Py_ssize_t K, Py_ssize_t H, Py_ssize_t C):
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
    arrays = [values(51, K), values(K, H), values(H), values(H, C), values(C),
              np.empty((51, H), np.float32), np.empty((51, C), np.float32),
              np.empty((51, C), np.float32)]
    cdef float* p[8]
    for i, a in enumerate(arrays):
        p[i] = <float*>cnp.PyArray_DATA(<cnp.ndarray>a)
    X, W1, b1, W2, b2, A, Z, T = arrays
    rows = np.arange(51, dtype=np.intp)
    cdef const Py_ssize_t* r = <const Py_ssize_t*>cnp.PyArray_DATA(<cnp.ndarray>rows)
    cdef Py_ssize_t n
    for order in (FNN_TINY_CHAIN, FNN_TINY_TREE):
        for n in (1, 2, 51):
            dense_forward_core(<const float*>p[0], p[1], p[2], p[5], n, K, H, RELU, 0, 1)
            dense_forward_core(<const float*>p[5], p[3], p[4], p[6], n, H, C, IDENTITY, 0, 1)
            fnn_tiny_logits(p[0], r, p[1], p[2], p[3], p[4], p[7], n, <int>K, H, <int>C, order)
            if not np.array_equal(T[:n].view(np.uint32), Z[:n].view(np.uint32)):
                break
        else:
            return order
    return -1


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


cdef void _clip(PlanC* P, floating dtype) noexcept nogil:
    """Clip the gradients in place as Optimizer.clip_gradients does, through the layer path's
    kernels (one compiled copy): each norm (or the global one, summed over the parameters in
    order in double) rescaled to at most its bound by torch's coef = bound / (norm + 1e-6) when
    that is below 1, then clamped to [-clipvalue, clipvalue]."""
    cdef int k = 0 if floating is float else 1
    cdef ParamPlan* pp
    cdef Py_ssize_t j
    cdef double total = 0, scale = 1, coef
    if P.global_clipnorm > 0:
        for j in range(P.n_params):
            total += kernels.sum_squares[k](P.params[j].g, P.params[j].size)
        coef = P.global_clipnorm / (sqrt(total) + 1e-6)
        scale = coef if coef < 1 else 1
    for j in range(P.n_params):
        pp = &P.params[j]
        if P.clipnorm > 0:
            coef = P.clipnorm / (sqrt(kernels.sum_squares[k](pp.g, pp.size)) + 1e-6)
            scale = coef if coef < 1 else 1
        if scale != 1 or P.clipvalue > 0:
            kernels.clip_scale[k](pp.g, pp.size, scale, P.clipvalue)


cdef void _step(PlanC* P, floating dtype, Py_ssize_t* iterations, double wsum) noexcept nogil:
    """The optimizer's update of every parameter from its (clipped) gradient, at the step's
    learning rate: the schedule's table entry, else lr / (1 + decay * t); iterations += 1."""
    cdef double lr
    if P.lrs != NULL:
        lr = P.lrs[iterations[0] - P.lr_first]  # the caller checked the table covers the call
    else:
        lr = P.lr / (1.0 + P.decay * iterations[0])
    if P.clip:
        _clip(P, dtype)
    # the step's scalars (bias corrections, a decoupled decay); sc.wd: the decay in the gradient
    cdef OptimScalars sc = optim_scalars(P.opt_kind, lr, P.a, P.b, P.eps, P.wd, P.eps_hat,
                                         iterations[0] + 1)
    cdef ParamPlan* pp
    cdef Py_ssize_t j
    for j in range(P.n_params):
        pp = &P.params[j]
        optim_update(P.opt_kind, <floating*>pp.p, <const floating*>pp.g, <floating*>pp.s1,
                     <floating*>pp.s2, pp.size, <floating>lr, <floating>P.a, <floating>P.b,
                     <floating>sc.eps, <floating>(sc.wd + pp.l2 / wsum), P.nesterov,
                     <floating>sc.c1, <floating>sc.c2, <floating>sc.keep)
    iterations[0] += 1


cdef inline void _gather_targets(PlanC* P, const floating* T, const Py_ssize_t* L,
                                 const floating* w, Py_ssize_t r, Py_ssize_t i,
                                 Py_ssize_t c) noexcept nogil:
    """Row i's label or target row, and weight, into row r of the batch buffers."""
    if L != NULL:
        P.Lb[r] = L[i]
    else:
        memcpy(<floating*>P.Tb + r * c, T + i * c, c * sizeof(floating))
    if w != NULL:
        (<floating*>P.Wb)[r] = w[i]


cdef int _train_epoch(PlanC* P, const floating* X, const double* Xd, const floating* T,
                      const Py_ssize_t* L, const floating* w, const Py_ssize_t* order,
                      Py_ssize_t n, Py_ssize_t batch_size, Py_ssize_t* iterations, int n_threads,
                      bint check_x, double* loss_sum, double* penalty_sum,
                      double* correct) noexcept nogil:
    """Mini-batch steps over the rows of X in `order`; 1 when a batch's loss was not finite (it
    stops there, without a step), 3 when (check_x) a gathered batch of X was not finite (the
    finiteness check of the input, made in the pass the data gets anyway), else 0. Sums batch
    loss * rows (L2 penalty included, and also summed alone) and correct predictions. Xd (float
    plans only; X is then NULL): float64 rows, rounded to float as the batch is gathered, the
    rounding a conversion of all of X would do."""
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
    cdef bint tiny = (floating is float and Xd == NULL and P.tiny >= 0
                      and L != NULL and w == NULL and batch_size * H <= SKINNY_MAX
                      and batch_size * H * c <= TINY_MAX_WORK
                      and _threads(n_threads, batch_size * c) == 1)
    for bi in range(n_batches):
        start = bi * batch_size
        rows = min(batch_size, n - start)
        if floating is float and tiny:
            if check_x:  # the one-pass step reads X's rows in place: check them there
                for r in range(rows):
                    if not _all_finite(X + order[start + r] * n_in, n_in):
                        return 3
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
        if floating is float and Xd != NULL:
            for r in range(rows):
                i = order[start + r]
                for j in range(n_in):
                    Xb[r * n_in + j] = <float>Xd[i * n_in + j]
                _gather_targets(P, T, L, w, r, i, c)
        else:
            for r in range(rows):
                i = order[start + r]
                memcpy(Xb + r * n_in, X + i * n_in, n_in * sizeof(floating))
                _gather_targets(P, T, L, w, r, i, c)
        if check_x and not _all_finite(Xb, rows * n_in):
            return 3
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
            # in place: G becomes the gradient w.r.t. the Dense's output Y
            if lp.norm == NORM_BATCH:
                kernels.batch_norm_backward[0 if floating is float else 1](
                    lp.xhat, lp.inv_std, lp.gamma, G, lp.dgamma, lp.dbeta, G, rows, lp.n_out)
            elif lp.norm == NORM_LAYER:
                kernels.layer_norm_backward[0 if floating is float else 1](
                    lp.xhat, lp.inv_std, lp.gamma, G, lp.dgamma, lp.dbeta, G, rows, lp.n_out)
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


cdef int _run_epoch(PlanC* P, const EpochData* d, const Py_ssize_t* order,
                    Py_ssize_t* iterations, int n_threads, double* sums,
                    floating dtype) noexcept nogil:
    cdef const floating* X = NULL
    cdef const double* Xd = NULL
    if d.x_double:
        Xd = <const double*>d.X
    else:
        X = <const floating*>d.X
    cdef int status = _train_epoch(P, X, Xd, <const floating*>d.T, d.L,
                                   <const floating*>d.W, order, d.n, d.batch_size, iterations,
                                   n_threads, d.check_x, &sums[0], &sums[1], &sums[2])
    if status == 0 and not _state_finite(P, dtype):
        status = 2
    return status


cdef int _run_epoch32(PlanC* P, const EpochData* d, const Py_ssize_t* order,
                      Py_ssize_t* iterations, int n_threads, double* sums) noexcept nogil:
    return _run_epoch(P, d, order, iterations, n_threads, sums, <float>0)


cdef int _run_epoch64(PlanC* P, const EpochData* d, const Py_ssize_t* order,
                      Py_ssize_t* iterations, int n_threads, double* sums) noexcept nogil:
    return _run_epoch(P, d, order, iterations, n_threads, sums, <double>0)


cdef void _predict32(PlanC* P, const void* X, void* out, Py_ssize_t n, int final_act,
                     int n_threads) noexcept nogil:
    _predict(P, <const float*>X, <float*>out, n, final_act, n_threads)


cdef void _predict64(PlanC* P, const void* X, void* out, Py_ssize_t n, int final_act,
                     int n_threads) noexcept nogil:
    _predict(P, <const double*>X, <double*>out, n, final_act, n_threads)


cdef bint _all_finite32(const void* x, Py_ssize_t n) noexcept nogil:
    return _all_finite(<const float*>x, n)


cdef bint _all_finite64(const void* x, Py_ssize_t n) noexcept nogil:
    return _all_finite(<const double*>x, n)


cdef EngineLoops _LOOPS
_LOOPS.run_epoch[0], _LOOPS.run_epoch[1] = _run_epoch32, _run_epoch64
_LOOPS.predict[0], _LOOPS.predict[1] = _predict32, _predict64
_LOOPS.all_finite[0], _LOOPS.all_finite[1] = _all_finite32, _all_finite64
_LOOPS.tiny_shape = _tiny_shape
LOOPS = PyCapsule_New(&_LOOPS, "fastnn._kernels.engine_loops.LOOPS", NULL)
