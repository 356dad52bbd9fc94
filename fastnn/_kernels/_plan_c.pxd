# The compiled plan the engine runs (engine.pyx fills it, engine_loops.pyx runs it), and the
# table of engine_loops' entry points, one per dtype (index 0: float32, 1: float64).
#
# engine_loops is built once per ISA variant and engine.pyx once: engine.pyx takes the table of
# the variant fastnn._kernels.variant() chose, so only the loops are compiled per variant.
from libc.stdint cimport uint64_t


cdef enum:
    ACC_NONE = 0
    ACC_ARGMAX = 1
    ACC_LOGITS = 2          # yes/no above 0
    ACC_PROBABILITIES = 3   # yes/no above 0.5


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
    void* Z             # pre-activation, for the kinds whose backward needs the input; else NULL


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


# One epoch of d's rows in `order`: 0, 1 when a batch's loss was not finite (it stopped there),
# 2 when the epoch left a parameter or optimizer state value that is not finite. sums[0..2] +=
# loss * rows, penalty * rows, correct predictions.
ctypedef int (*RunEpoch)(PlanC* P, const EpochData* d, const Py_ssize_t* order,
                         Py_ssize_t* iterations, int n_threads, double* sums) noexcept nogil
# out = the network's outputs for n rows of X, then final_act applied.
ctypedef void (*Predict)(PlanC* P, const void* X, void* out, Py_ssize_t n, int final_act,
                         int n_threads) noexcept nogil
ctypedef bint (*AllFinite)(const void* x, Py_ssize_t n) noexcept nogil


cdef struct EngineLoops:
    RunEpoch run_epoch[2]
    Predict predict[2]
    AllFinite all_finite[2]
    bint (*tiny_shape)(const PlanC* P) noexcept nogil
