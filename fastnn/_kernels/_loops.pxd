# The tables of the compiled loops, one entry point per dtype (index 0: float32, 1: float64, as
# dtype_index gives it): the engine's (engine_loops.pyx) and the layer-by-layer kernels'
# (kernel_loops.pyx); and the plan the engine's loops run (engine.pyx fills it).
#
# The loops are built once per ISA variant, the modules that check arguments and call them
# (engine, activations, dense, losses, optim) once: they take the tables of the variant
# fastnn._kernels.variant() chose, so only the loops are compiled per variant. The loops trust
# their arguments; the callers check them first. Float hyperparameters are passed as double and
# rounded to the dtype inside, as the callers used to round them.
cimport numpy as cnp
from cpython.pycapsule cimport PyCapsule_GetPointer
from libc.stdint cimport uint64_t


cdef enum:
    ACC_NONE = 0
    ACC_ARGMAX = 1
    ACC_LOGITS = 2          # yes/no above 0
    ACC_PROBABILITIES = 3   # yes/no above 0.5


cdef enum:
    NORM_NONE = 0
    NORM_BATCH = 1          # BatchNorm right after the Dense
    NORM_LAYER = 2          # LayerNorm right after the Dense


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
    int norm            # NORM_NONE, or the normalization between the Dense and the activation
    void* gamma         # its scale, shift and their gradients
    void* beta
    void* dgamma
    void* dbeta
    void* rmean         # BatchNorm's running statistics, else NULL
    void* rvar
    double momentum, norm_eps
    void* Y             # the Dense's output, the norm's input (max_rows x n_out)
    void* xhat          # the normalized values (max_rows x n_out)
    void* inv_std       # 1 / std per column (BatchNorm) or row (LayerNorm)


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
    double clipnorm, clipvalue, global_clipnorm  # gradient clipping, 0 where off
    bint clip           # any of them on
    const double* lrs   # the learning rate of steps lr_first, lr_first + 1, ...; NULL: lr, decay
    Py_ssize_t lr_first, lr_count
    int tiny            # _tiny.h's summation order that matches BLAS for this network, or -1
    Py_ssize_t max_rows
    void* Xb            # the gathered batch
    void* Tb            # its targets (rows), or NULL with labels
    Py_ssize_t* Lb      # its class labels, or NULL
    void* Wb            # its sample weights


cdef struct EpochData:
    const void* X
    bint x_double       # X holds float64 rows for a float32 plan: the gather converts them
    const void* T       # target rows, or NULL with labels
    const Py_ssize_t* L  # class labels, or NULL
    const void* W       # sample weights, or NULL
    Py_ssize_t n
    Py_ssize_t batch_size
    bint check_x        # check each gathered batch of X is finite (status 3 where one is not)


# One epoch of d's rows in `order`: 0, 1 when a batch's loss was not finite (it stopped there),
# 2 when the epoch left a parameter or optimizer state value that is not finite, 3 when (with
# d.check_x) a gathered batch of X was not finite (it stopped there, before its step). sums[0..2] +=
# loss * rows, penalty * rows, correct predictions.
ctypedef int (*RunEpoch)(PlanC* P, const EpochData* d, const Py_ssize_t* order,
                         Py_ssize_t* iterations, int n_threads, double* sums) noexcept nogil
# out = the network's outputs for n rows of X, then final_act applied.
ctypedef void (*Predict)(PlanC* P, const void* X, void* out, Py_ssize_t n, int final_act,
                         int n_threads) noexcept nogil
ctypedef bint (*AllFinite)(const void* x, Py_ssize_t n) noexcept nogil


# The layer-by-layer kernels' loops: _act_dispatch's forward_rows, backward_rows and their
# factor forms,
# _rowops' dropout_row, _dense_core's dense_forward_core and dense_backward_core, _loss_core's
# loss_rows and _optim_core's optim_update.
ctypedef void (*ForwardRows)(int kind, const void* x, void* y, Py_ssize_t rows, Py_ssize_t cols,
                             double alpha, int n_threads) noexcept nogil
ctypedef void (*BackwardRows)(int kind, const void* s, const void* dy, void* dx,
                              Py_ssize_t rows, Py_ssize_t cols, double alpha,
                              int n_threads) noexcept nogil
ctypedef void (*ForwardFactorRows)(int kind, const void* x, void* y, void* d, Py_ssize_t rows,
                                   Py_ssize_t cols, double alpha, int n_threads) noexcept nogil
ctypedef void (*BackwardFactorRows)(const void* d, const void* dy, void* dx, Py_ssize_t rows,
                                    Py_ssize_t cols, int n_threads) noexcept nogil
ctypedef void (*DropoutRow)(const void* x, void* out, void* mask, Py_ssize_t n, double rate,
                            uint64_t key, uint64_t counter) noexcept nogil
ctypedef void (*DenseForward)(const void* X, const void* W, const void* b, void* out,
                              Py_ssize_t n, Py_ssize_t k, Py_ssize_t m, int kind, double alpha,
                              int n_threads) noexcept nogil
ctypedef void (*DenseBackward)(const void* X, const void* W, const void* dY, void* dW, void* db,
                               void* dX, Py_ssize_t n, Py_ssize_t k, Py_ssize_t m,
                               bint accumulate) noexcept nogil
ctypedef double (*LossRows)(int kind, const void* z, const void* t, const Py_ssize_t* labels,
                            const void* w, void* g, Py_ssize_t n, Py_ssize_t c, double eps,
                            int n_threads) noexcept nogil
ctypedef void (*OptimUpdate)(int kind, void* p, const void* grad, void* s1, void* s2,
                             Py_ssize_t n, double lr, double a, double b, double eps, double wd,
                             bint nesterov, double c1, double c2, double keep) noexcept nogil
# _norm_core's: batch norm's training forward, inference forward and backward; layer norm's
# forward and backward.
ctypedef void (*BatchNormForward)(const void* x, const void* gamma, const void* beta, void* out,
                                  void* xhat, void* inv_std, void* running_mean,
                                  void* running_var, Py_ssize_t n, Py_ssize_t m,
                                  double momentum, double eps) noexcept nogil
ctypedef void (*BatchNormInference)(const void* x, const void* gamma, const void* beta,
                                    const void* running_mean, const void* running_var,
                                    void* out, Py_ssize_t n, Py_ssize_t m,
                                    double eps) noexcept nogil
ctypedef void (*LayerNormForward)(const void* x, const void* gamma, const void* beta, void* out,
                                  void* xhat, void* inv_std, Py_ssize_t n, Py_ssize_t m,
                                  double eps) noexcept nogil
ctypedef void (*NormBackward)(const void* xhat, const void* inv_std, const void* gamma,
                              const void* dy, void* dgamma, void* dbeta, void* dx, Py_ssize_t n,
                              Py_ssize_t m) noexcept nogil
# Gradient clipping (_clip.pxd): sum of squares in double, and g = clamp(g * scale, +-clipvalue).
ctypedef double (*SumSquares)(const void* g, Py_ssize_t n) noexcept nogil
ctypedef void (*ClipScale)(void* g, Py_ssize_t n, double scale, double clipvalue) noexcept nogil


cdef struct EngineLoops:
    RunEpoch run_epoch[2]
    Predict predict[2]
    AllFinite all_finite[2]
    bint (*tiny_shape)(const PlanC* P) noexcept nogil


cdef struct KernelLoops:
    ForwardRows forward_rows[2]
    BackwardRows backward_rows[2]
    ForwardFactorRows forward_factor_rows[2]
    BackwardFactorRows backward_factor_rows[2]
    DropoutRow dropout_row[2]
    DenseForward dense_forward[2]
    DenseBackward dense_backward[2]
    LossRows loss_rows[2]
    OptimUpdate optim_update[2]
    BatchNormForward batch_norm_forward[2]
    BatchNormInference batch_norm_inference[2]
    NormBackward batch_norm_backward[2]
    LayerNormForward layer_norm_forward[2]
    NormBackward layer_norm_backward[2]
    SumSquares sum_squares[2]
    ClipScale clip_scale[2]


cdef inline int dtype_index(int typenum) noexcept nogil:
    """The index of a float dtype (float32 or float64, as float_typenum checked) in the tables."""
    return 0 if typenum == cnp.NPY_FLOAT32 else 1


cdef inline const EngineLoops* engine_table(object module) except NULL:
    """The table of fastnn._kernels.load("engine_loops")."""
    return <const EngineLoops*>PyCapsule_GetPointer(module.LOOPS,
                                                    "fastnn._kernels.engine_loops.LOOPS")


cdef inline const KernelLoops* kernel_table(object module) except NULL:
    """The table of fastnn._kernels.load("kernel_loops")."""
    return <const KernelLoops*>PyCapsule_GetPointer(module.LOOPS,
                                                    "fastnn._kernels.kernel_loops.LOOPS")
