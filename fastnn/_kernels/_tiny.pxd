# One float32 training step of a tiny classifier (X -> Dense + ReLU -> Dense -> softmax
# cross-entropy, at most 4 inputs and 4 classes) a block of 16 rows at a time, its hidden layer
# in L1: see _tiny.h. The engine uses it for networks of that shape; the numbers are the
# layer-by-layer kernels' bit for bit.

cdef extern from "_tiny.h" nogil:
    enum:
        FNN_TINY_CHAIN
        FNN_TINY_TREE
        FNN_TINY_MAX_HIDDEN
        FNN_TINY_AVAILABLE  # 0 outside the AVX-512 build: the step is left out
    double fnn_tiny_step(const float* X, const Py_ssize_t* rows, const Py_ssize_t* labels,
                         const float* W1, const float* b1, const float* W2, const float* b2,
                         float* dW1, float* db1, float* dW2, float* db2, Py_ssize_t n,
                         int K, Py_ssize_t H, int C, int order, double* correct)
    void fnn_tiny_logits(const float* X, const Py_ssize_t* rows, const float* W1,
                         const float* b1, const float* W2, const float* b2, float* Z,
                         Py_ssize_t n, int K, Py_ssize_t H, int C, int order)

