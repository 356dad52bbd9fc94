"""The fused training engine: a whole epoch of mini-batch steps, or all of predict, in one call
that does not hold the GIL.

A Plan is a network compiled to C (_plan_c.pxd): for each Dense layer its sizes, parameter and
gradient pointers, an optional BatchNorm or LayerNorm after it (its arrays, running statistics
and buffers), the activation fused into its epilogue, an optional dropout after it, and
buffers for its activations and gradients; the optimizer's kind, hyperparameters and state
pointers; the loss. fastnn/engine.py builds it from a Network, and the Plan keeps every array it
points into alive. Nothing is allocated per batch. The loops that run it are those of
engine_loops.pyx in the kernel variant fastnn._kernels.variant() chose; this module is built once.

The loops trust the plan, so Plan.__init__ first runs its description through _check_plan,
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

from fastnn._kernels import load
from fastnn.plan import PlanSpec
from fastnn.registry import ACTIVATIONS, OPTIMIZERS

cimport numpy as cnp
from cpython.number cimport PyNumber_Index
from cpython.pycapsule cimport PyCapsule_GetPointer
from libc.stdint cimport UINT32_MAX, uint64_t, uintptr_t
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcpy
from numpy.random cimport bitgen_t

from fastnn._kernels._act_dispatch cimport N_ACTIVATIONS, activation_code, activation_has_factor
from fastnn._kernels._checks cimport (Span, count_in, distinct_or_same, float_typenum,
                                      input_array, span, thread_count)
from fastnn._kernels._loss_core cimport (BCE, CATEGORICAL_CE, HALF_POISSON_DEVIANCE, HUBER, MAE,
                                         MSE, POISSON, SIGMOID_BCE, SIGMOID_BCE_SUM, SOFTMAX_CE,
                                         SUM_OF_SQUARES)
from fastnn._kernels._loops cimport (ACC_ARGMAX, ACC_LOGITS, ACC_NONE, ACC_PROBABILITIES,
                                     NORM_BATCH, NORM_LAYER, EngineLoops, EpochData, LayerPlan,
                                     ParamPlan, PlanC, dtype_index, engine_table)
from fastnn._kernels._thresholds cimport FAST_PREDICT_MAX

cnp.import_array()

_loops = load("engine_loops")
cdef const EngineLoops* loops = engine_table(_loops)

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
              "sum_of_squares": SUM_OF_SQUARES, "huber": HUBER, "poisson": POISSON,
              "half_poisson_deviance": HALF_POISSON_DEVIANCE}
OPTIMIZER_CODES = {entry.name: code for code, entry in enumerate(OPTIMIZERS)}  # _optim_core's
ACCURACY_CODES = {None: ACC_NONE, "argmax": ACC_ARGMAX, "logits": ACC_LOGITS,
                  "probabilities": ACC_PROBABILITIES}
NORM_CODES = {"BatchNorm": NORM_BATCH, "LayerNorm": NORM_LAYER}




class NonFiniteInput(ValueError):
    """A training call's check_x found a NaN or infinity in a gathered batch of X (before its
    step); its caller puts back what the call changed."""


cdef void* _ptr(object a, int typenum, Py_ssize_t size, str what, bint write=True) except NULL:
    if not (cnp.PyArray_Check(a) and cnp.PyArray_TYPE(<cnp.ndarray>a) == typenum
            and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>a)
            and (cnp.PyArray_ISWRITEABLE(<cnp.ndarray>a) or not write)
            and cnp.PyArray_SIZE(<cnp.ndarray>a) == size):
        raise ValueError(f"engine: {what} must be a {'writeable ' if write else ''}C-contiguous "
                         f"array of {size} {'float32' if typenum == cnp.NPY_FLOAT32 else 'float64'}")
    return cnp.PyArray_DATA(<cnp.ndarray>a)


_TINY_ORDERS = {}  # (K, H, C) -> tiny_order's answer, which depends only on the BLAS build


def _cached_tiny_order(K, H, C):
    if (K, H, C) not in _TINY_ORDERS:
        _TINY_ORDERS[K, H, C] = _loops.tiny_order(K, H, C)
    return _TINY_ORDERS[K, H, C]


def all_finite(x):
    """Whether every value of a float32 or float64 array is finite (no NaN, no infinity),
    without the temporary array of np.isfinite(x).all()."""
    cdef int t = float_typenum(x, "x")
    cdef cnp.ndarray xa = input_array(x, "x", t, -1)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(xa)
    cdef const void* p = cnp.PyArray_DATA(xa)
    cdef bint ok
    cdef int i = dtype_index(t)
    with nogil:
        ok = loops.all_finite[i](p, n)
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


# The optimizer state arrays each kind reads and writes (optim_update): its registry state, SGD's
# velocity only with momentum (slot a) > 0.
cdef int _states_needed(int kind, double a):
    entry = OPTIMIZERS[kind]
    return 0 if entry.state_if is not None and not a > 0 else len(entry.state)


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
        if not isinstance(layer, tuple) or len(layer) not in (8, 9):
            raise ValueError(f"engine plan: layers[{i}] must be a tuple (W, b, dW, db, activation, "
                             f"alpha, dropout rate, dropout state[, norm]), got {layer!r:.80}")
        W, b, dW, db, code, alpha, rate, rng = layer[:8]
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
        _check_norm(_norm(layer), dtype, m, f"layers[{i}]'s norm")

    if not (isinstance(optimizer, tuple) and len(optimizer) == 12):
        raise ValueError("engine plan: optimizer must be a tuple (kind, lr, decay, a, b, eps, "
                         "weight_decay, nesterov, eps_hat[, clipnorm, clipvalue, "
                         "global_clipnorm])")
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
        entry = OPTIMIZERS[opt]  # the slots and eps its update reads
        if entry.slots[0] is not None:
            _in(a, 0, 1, False, True, "the optimizer's a (momentum, beta1 or rho)")
        if entry.slots[1] is not None:
            _in(_real(optimizer[4], "beta2"), 0, 1, False, True, "the optimizer's b (beta2)")
        if any(arg.name == "eps" for arg in entry.args):
            _in(_real(optimizer[5], "eps"), 0, float("inf"), True, True, "the optimizer's eps")
        for value, what in zip(optimizer[9:12], ("clipnorm", "clipvalue", "global_clipnorm")):
            _in(_real(value, what), 0, float("inf"), False, True, f"the optimizer's {what} (0: off)")
        if optimizer[9] > 0 and optimizer[11] > 0:
            raise ValueError("engine plan: at most one of the optimizer's clipnorm and "
                             "global_clipnorm may be on")
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
    owned = _owned(layers)
    if (training or params) and len(params) != len(owned):
        raise ValueError(f"engine plan: a training plan's params are (W, b) of every layer in "
                         f"order, {len(owned)} entries; got {len(params)} (a layer's norm adds "
                         f"its gamma and beta after its b)")

    cdef int needed = _states_needed(opt, a) if training else 0
    names = [e.cls + (f" with {e.state_if}" if e.state_if else "") for e in OPTIMIZERS]
    for j, entry in enumerate(params):
        if not isinstance(entry, tuple) or len(entry) != 5:
            raise ValueError(f"engine plan: params[{j}] must be a tuple (param, grad, state1, "
                             f"state2, l2), got {entry!r:.80}")
        p, g, s1, s2, l2 = entry
        own_p, own_g, p_name, g_name, i = owned[j]
        what = f"params[{j}] ({p_name} of layers[{i}])"
        for array, own, name, own_name in ((p, own_p, "param", p_name), (g, own_g, "grad", g_name)):
            _array(array, dtype, own.shape, f"{what}'s {name}")
            # the update must write the arrays the forward reads and read what the backward writes
            if cnp.PyArray_DATA(<cnp.ndarray>array) != cnp.PyArray_DATA(<cnp.ndarray>own):
                raise ValueError(f"engine plan: {what}'s {name} must be the layer's "
                                 f"{own_name} array")
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


cdef object _norm(object layer):
    """A layer description's NormSpec, or None."""
    return layer[8] if len(layer) == 9 else None


cdef int _check_norm(object norm, object dtype, Py_ssize_t m, str what) except -1:
    """A norm's arrays, of the Dense's width m, and settings, or ValueError."""
    if norm is None:
        return 0
    if not (isinstance(norm, tuple) and len(norm) == 9):
        raise ValueError(f"engine plan: {what} must be a tuple (kind, gamma, beta, dgamma, dbeta, "
                         f"running_mean, running_var, momentum, eps), got {norm!r:.80}")
    kind = _code(norm[0], NORM_CODES, what)
    for array, name in zip(norm[1:5] + (norm[5:7] if kind == NORM_BATCH else ()),
                           ("gamma", "beta", "dgamma", "dbeta", "running_mean", "running_var")):
        _array(array, dtype, (m,), f"{what}'s {name} (one per output of W)")
    _in(_real(norm[7], f"{what}'s momentum"), 0, 1, False, False, f"{what}'s momentum")
    _in(_real(norm[8], f"{what}'s eps"), 0, float("inf"), True, True, f"{what}'s eps")
    return 0


cdef list _owned(list layers):
    """(parameter, gradient, their names, layer index) of every parameter a plan's layers hold,
    in the order of Network.parameters(): W and b, then the norm's gamma and beta."""
    found = []
    for i, layer in enumerate(layers):
        found += [(layer[0], layer[2], "W", "dW", i), (layer[1], layer[3], "b", "db", i)]
        norm = _norm(layer)
        if norm is not None:
            found += [(norm[1], norm[3], "gamma", "dgamma", i), (norm[2], norm[4], "beta", "dbeta", i)]
    return found


cdef list _plan_arrays(list layers, list params, bint training):
    """(array, name, read by predict) for every array a checked plan description points into:
    what training writes (all of them) and predict reads (the layers' W and b). params' param
    and grad are the layers' W, b, dW and db (_check_plan), so they are not listed again."""
    found = []
    for i, layer in enumerate(layers):
        W, b, dW, db, code, alpha, rate, rng = layer[:8]
        found += [(W, f"layers[{i}]'s W", True), (b, f"layers[{i}]'s b", True)]
        if training:
            found += [(dW, f"layers[{i}]'s dW", False), (db, f"layers[{i}]'s db", False)]
            if rate > 0:
                found.append((rng, f"layers[{i}]'s dropout state", False))
        norm = _norm(layer)
        if norm is not None:
            names = ("gamma", "beta", "dgamma", "dbeta", "running_mean", "running_var")
            for k in range(6):  # predict reads gamma, beta and the running statistics
                if norm[1 + k] is not None and (training or k not in (2, 3)):
                    found.append((norm[1 + k], f"layers[{i}]'s norm {names[k]}", k not in (2, 3)))
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
    cdef int dtype_index  # the plan's dtype in the loops' tables
    cdef Py_ssize_t n_in, n_out
    cdef list keep
    cdef list owners    # (Dense layer, its W, its b): the plan is current while they still match
    cdef list layer_list  # the network's training layers, and the objects it held at compile time
    cdef list layer_objs
    cdef public bint labels
    cdef bint training
    cdef bint batch_norm  # a BatchNorm: no training batch of 1 row
    cdef char* snapshot  # the parameters and optimizer state at the start of an epoch
    cdef Py_ssize_t itemsize
    cdef bint ready      # __init__ ran to its end: the methods may use the plan
    cdef bint started    # __init__ has been called: it never runs again
    # The bytes of the plan's arrays, those predict reads (W, b) first: a call's arguments must
    # not share memory with what the call writes or (predict) reads.
    cdef Span* spans
    cdef Py_ssize_t n_spans, n_read_spans
    cdef list span_names
    cdef object lr_table  # the array c.lrs points into, or None
    cdef int training_calls  # train_epoch(s) calls running without the GIL

    def __cinit__(self):
        self.c.layers = NULL
        self.c.params = NULL
        self.snapshot = NULL
        self.spans = NULL
        self.n_spans = self.n_read_spans = 0
        self.ready = False
        self.started = False
        self.training_calls = 0

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
        if isinstance(optimizer, tuple) and len(optimizer) == 9:
            optimizer = optimizer + (0.0, 0.0, 0.0)  # the tuple before clipping: none
        max_rows = PyNumber_Index(max_rows)
        _check_plan(dtype, layers, params, optimizer, loss, max_rows, labels, acc_mode, training)
        self.typenum = cnp.NPY_FLOAT32 if dtype == np.float32 else cnp.NPY_FLOAT64
        cdef int t = self.typenum
        self.dtype_index = dtype_index(t)
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
        self.batch_norm = False
        for i, layer in enumerate(layers):
            W, b, dW, db, act, alpha, rate, rng = layer[:8]
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
            norm = _norm(layer)
            if norm is not None:
                self._norm_plan(lp, norm, max_rows, dtype, training)
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
         self.c.nesterov, self.c.eps_hat, self.c.clipnorm, self.c.clipvalue,
         self.c.global_clipnorm) = optimizer
        self.c.clip = self.c.clipnorm > 0 or self.c.clipvalue > 0 or self.c.global_clipnorm > 0
        self.c.lrs, self.c.lr_first, self.c.lr_count = NULL, 0, 0
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

    cdef int _norm_plan(self, LayerPlan* lp, object norm, Py_ssize_t max_rows, object dtype,
                        bint training) except -1:
        """Point lp at a checked NormSpec's arrays, with buffers for Y, xhat and inv_std."""
        import numpy as np
        cdef int t = self.typenum
        cdef Py_ssize_t m = lp.n_out
        kind, gamma, beta, dgamma, dbeta, mean, var, momentum, eps = norm
        lp.norm, lp.momentum, lp.norm_eps = kind, momentum, eps
        lp.gamma, lp.beta = _ptr(gamma, t, m, "gamma", training), _ptr(beta, t, m, "beta", training)
        lp.dgamma = _ptr(dgamma, t, m, "dgamma", training)
        lp.dbeta = _ptr(dbeta, t, m, "dbeta", training)
        if kind == NORM_BATCH:
            lp.rmean = _ptr(mean, t, m, "running_mean", training)
            lp.rvar = _ptr(var, t, m, "running_var", training)
            self.batch_norm = True
        buffers = [np.zeros((max_rows, m), dtype), np.zeros((max_rows, m), dtype),
                   np.zeros(max(max_rows, m), dtype)]
        self.keep.append(buffers)
        lp.Y = _ptr(buffers[0], t, max_rows * m, "Y")
        lp.xhat = _ptr(buffers[1], t, max_rows * m, "xhat")
        lp.inv_std = _ptr(buffers[2], t, max(max_rows, m), "inv_std")
        return 0

    def allow_one_pass(self, bint allow):
        """Whether a network of _tiny.h's shape trains by its one-pass step (the default, where
        its numbers match BLAS's on this machine) or layer by layer, e.g. to time the two."""
        self._require_ready()
        self.c.tiny = -1
        if allow and self.typenum == cnp.NPY_FLOAT32 and loops.tiny_shape(&self.c):
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

    def set_learning_rates(self, rates, Py_ssize_t first=0):
        """The learning rate of each step of the next calls, a schedule's tabulated: rates[k]
        for step number first + k (0-based, as optimizer.iterations counts), each finite and
        >= 0; a call must then stay inside the table (ValueError otherwise). None: back to
        lr / (1 + decay * t)."""
        import numpy as np
        self._require_ready()
        if self.training_calls:  # a running epoch reads the table it would free
            raise RuntimeError("engine: the learning-rate table cannot change while another "
                               "thread trains on this plan")
        if rates is None:
            self.c.lrs, self.c.lr_first, self.c.lr_count, self.lr_table = NULL, 0, 0, None
            return
        if not (cnp.PyArray_Check(rates) and cnp.PyArray_TYPE(<cnp.ndarray>rates) == cnp.NPY_FLOAT64
                and cnp.PyArray_NDIM(<cnp.ndarray>rates) == 1
                and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>rates)):
            raise ValueError("engine: rates must be a C-contiguous 1-D float64 array")
        if first < 0:
            raise ValueError(f"engine: first must be >= 0, got {first}")
        if not (np.isfinite(rates).all() and (rates >= 0).all()):
            raise ValueError("engine: every learning rate must be a finite number >= 0")
        self.lr_table = rates.copy()  # kept alive here; the caller may reuse its array
        self.c.lrs = <const double*>cnp.PyArray_DATA(<cnp.ndarray>self.lr_table)
        self.c.lr_first, self.c.lr_count = first, len(rates)

    cdef int _epoch_data(self, X, y, sample_weight, object batch_size,
                         EpochData* d, Py_ssize_t n_rows=-1) except -1:
        """Check an epoch's inputs against the plan and point d at them: X in the plan's dtype,
        or float64 for a float32 plan (converted row by row as batches are gathered); d.n the
        rows trained, n_rows (its order's length) or all of X. None of them may share
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
        d.check_x = False
        d.n = len(X)
        if d.n < 1:
            raise ValueError("engine: X must have at least one row")
        d.x_double = (t == cnp.NPY_FLOAT32 and cnp.PyArray_Check(X)
                      and cnp.PyArray_TYPE(<cnp.ndarray>X) == cnp.NPY_FLOAT64)
        d.X = _ptr(X, cnp.NPY_FLOAT64 if d.x_double else t, d.n * self.n_in, "X", False)
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
        if n_rows >= 0:
            if not 1 <= n_rows <= d.n:
                raise ValueError(f"engine: order must hold 1 to len(X) = {d.n} rows, "
                                 f"got {n_rows}")
            d.n = n_rows
        if self.batch_norm and (d.n - 1) % d.batch_size == 0:
            raise ValueError(f"engine: BatchNorm needs training batches of at least 2 rows, but "
                             f"{d.n} rows in batches of {d.batch_size} leave a last batch of 1")
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
        if self.c.lrs != NULL and not (self.c.lr_first <= it and
                                       it + steps <= self.c.lr_first + self.c.lr_count):
            raise ValueError(f"engine: the learning-rate table covers steps {self.c.lr_first} to "
                             f"{self.c.lr_first + self.c.lr_count - 1}, not the {steps} steps of "
                             f"this call from step {it}")
        return it

    cdef int _run_epoch(self, const EpochData* d, const Py_ssize_t* order, Py_ssize_t* it,
                        int n_threads, double* sums) noexcept nogil:
        """One epoch: 0, or 1 when a batch's loss was not finite (it stopped there), or 2 when
        the epoch ended with a parameter or optimizer state value that is not finite (its last
        steps overflowed them, the losses before still finite)."""
        return loops.run_epoch[self.dtype_index](&self.c, d, order, it, n_threads, sums)

    def train_epoch(self, X, y, sample_weight, order, batch_size, iterations, n_threads=1,
                    check_x=False):
        """One epoch of steps over X[order] in batches (order: 1 to len(X) row indices, a
        permutation of X's rows or of a subset, as a validation split leaves); returns
        (finished, loss_sum, penalty_sum,
        correct, iterations): finished is False when a batch's loss was not finite, or when the
        epoch left a parameter or optimizer state value that is not finite (the caller then puts
        back its copy of the epoch's start); the sums are over batches of loss * rows (the L2
        penalty included in loss_sum and also alone). iterations is in [0, 2^62), and stays
        there after the epoch's steps (ValueError otherwise). check_x: check each gathered batch
        of X is finite, and raise NonFiniteInput at the first that is not (the steps before it
        taken: the caller puts back its copy)."""
        cdef EpochData d
        if not (cnp.PyArray_Check(order) and cnp.PyArray_TYPE(<cnp.ndarray>order) == cnp.NPY_INTP
                and cnp.PyArray_NDIM(<cnp.ndarray>order) == 1
                and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>order)):
            raise ValueError("engine: order must be a C-contiguous 1-D intp array of row indices")
        self._epoch_data(X, y, sample_weight, batch_size, &d, len(order))
        d.check_x = bool(check_x)
        cdef Py_ssize_t it = self._iterations(&d, iterations, 1)
        cdef int threads = thread_count(n_threads)
        self._apart(order, "order", False)
        cdef const Py_ssize_t* Op = <const Py_ssize_t*>cnp.PyArray_DATA(<cnp.ndarray>order)
        cdef Py_ssize_t i, n_x = len(X)
        for i in range(d.n):
            if not 0 <= Op[i] < n_x:
                raise ValueError(f"engine: order[{i}] = {Op[i]} is out of range")
        cdef double sums[3]
        sums[0] = sums[1] = sums[2] = 0
        cdef int status
        self.training_calls += 1
        try:
            with nogil:
                status = self._run_epoch(&d, Op, &it, threads, sums)
        finally:
            self.training_calls -= 1
        if status == 3:
            raise NonFiniteInput("X contains NaN or infinity")
        return status == 0, sums[0], sums[1], sums[2], it

    cdef void _state(self, bint save) noexcept nogil:
        """Copy the parameters, optimizer state and running statistics to the snapshot (save)
        or back from it."""
        cdef char* at = self.snapshot
        cdef ParamPlan* pp
        cdef LayerPlan* lp
        cdef Py_ssize_t i, j, nbytes
        cdef void* bufs[3]
        for j in range(self.c.n_layers):
            lp = &self.c.layers[j]
            if lp.rmean != NULL:
                nbytes = lp.n_out * self.itemsize
                bufs[0], bufs[1] = lp.rmean, lp.rvar
                for i in range(2):
                    if save:
                        memcpy(at, bufs[i], nbytes)
                    else:
                        memcpy(bufs[i], at, nbytes)
                    at += nbytes
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
                     n_threads=1, check_x=False):
        """Up to `epochs` epochs in one call, each as Network.fit runs one: over the rows in the
        order of generator.permutation(len(X)), drawn here in C with NumPy's algorithm (the same
        order, and the generator left as permutation would leave it), or in their own order when
        generator is None. When an epoch's loss is not finite, or the epoch leaves a parameter or
        optimizer state value that is not finite, the parameters and optimizer state of that
        epoch's start are put back and the call stops. Returns (epochs completed, finished, sums,
        iterations): sums[e] = (loss_sum, penalty_sum, correct) of epoch e, as train_epoch
        returns them; finished is False after such an epoch. epochs is in [0, 2^31), and
        iterations in [0, 2^62) and stays there after the steps of all the epochs (ValueError
        otherwise); the sums take memory for the epochs that run, not for all those asked.
        check_x: the first epoch checks each gathered batch of X is finite; at one that is not,
        that epoch's start is put back (the generator stays drawn) and NonFiniteInput raised."""
        import numpy as np
        cdef EpochData d
        self._epoch_data(X, y, sample_weight, batch_size, &d)
        d.check_x = bool(check_x)
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
            for j in range(self.c.n_layers):
                if self.c.layers[j].rmean != NULL:
                    nbytes += 2 * self.c.layers[j].n_out * self.itemsize
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
        self.training_calls += 1
        try:
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
                            status = self._run_epoch(&d, Op, &it, threads, Sp + 3 * e)
                            d.check_x = False  # the first epoch saw every row
                            if status != 0:
                                self._state(False)
                                it = start
                                break
                            done += 1
                    blocks.append(sums if status == 0 else sums[:e])
                    block = min(2 * block, 1 << 20)
        finally:
            self.training_calls -= 1
        if status == 3:
            raise NonFiniteInput("X contains NaN or infinity")
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
        with nogil:
            loops.predict[self.dtype_index](&self.c, Xp, Op, n, final_act, threads)
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
        cdef Py_ssize_t n = cnp.PyArray_DIM(<cnp.ndarray>X, 0)
        cdef cnp.npy_intp dims[2]
        dims[0], dims[1] = n, self.n_out
        cdef cnp.ndarray out = cnp.PyArray_EMPTY(2, dims, self.typenum, 0)
        cdef const void* Xp = cnp.PyArray_DATA(<cnp.ndarray>X)
        cdef bint finite
        with nogil:
            finite = loops.all_finite[self.dtype_index](Xp, n * self.n_in)
            if finite:
                loops.predict[self.dtype_index](&self.c, Xp, cnp.PyArray_DATA(out), n, final_act, 1)
        return out if finite else None
