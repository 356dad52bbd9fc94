/* The skinny forward product of _skinny.pxd with the bias and a ReLU fused in:
 * fnn_small_inner_{f,d}: C = A @ B for an inner dimension k <= 4, each output a multiply-add
 * chain over k in order, started from zero, as in OpenBLAS's kernels (the same bits); then
 * + bias[j] (unless NULL) and, with relu, x if !(x <= 0) else +0 (NaN stays NaN), as the dense
 * epilogue does.
 *
 * Written with GCC/clang vector extensions (16 floats or 8 doubles a vector): GCC keeps a
 * Cython lane array in memory across the epilogue's branches, which made it 2x slower.
 */
#ifndef FASTNN_SKINNY_H
#define FASTNN_SKINNY_H

#include <stddef.h>
#include <string.h>

typedef float fnn_v16f __attribute__((vector_size(64)));
typedef double fnn_v8d __attribute__((vector_size(64)));
typedef int fnn_v16i __attribute__((vector_size(64)));
typedef long long fnn_v8l __attribute__((vector_size(64)));

#define FNN_SMALL_INNER(NAME, T, V, IV, LANES)                                                  \
static inline void NAME##_k(const T* A, const T* B, const T* bias, int relu, T* C, ptrdiff_t n, \
                            ptrdiff_t m, const int K) {                                          \
    const ptrdiff_t body = m - m % LANES;                                                       \
    const V zero = {0};                                                                         \
    for (ptrdiff_t i = 0; i < n; i++) {                                                         \
        T a[4];                                                                                 \
        for (int q = 0; q < K; q++)                                                             \
            a[q] = A[i * K + q];                                                                \
        for (ptrdiff_t j = 0; j < body; j += LANES) {                                           \
            V acc = zero, b;                                                                    \
            for (int q = 0; q < K; q++) {                                                       \
                memcpy(&b, B + q * m + j, sizeof b);                                            \
                acc += a[q] * b;                                                                \
            }                                                                                   \
            if (bias) {                                                                         \
                memcpy(&b, bias + j, sizeof b);                                                 \
                acc += b;                                                                       \
            }                                                                                   \
            if (relu)                                                                           \
                acc = (V)((IV)acc & ~(IV)(acc <= zero));                                        \
            memcpy(C + i * m + j, &acc, sizeof acc);                                            \
        }                                                                                       \
        for (ptrdiff_t j = body; j < m; j++) {                                                  \
            T t = 0;                                                                            \
            for (int q = 0; q < K; q++)                                                         \
                t += a[q] * B[q * m + j];                                                       \
            if (bias)                                                                           \
                t += bias[j];                                                                   \
            C[i * m + j] = relu && t <= 0 ? 0 : t;                                              \
        }                                                                                       \
    }                                                                                           \
}                                                                                               \
                                                                                                \
static inline void NAME(const T* A, const T* B, const T* bias, int relu, T* C, ptrdiff_t n,     \
                        ptrdiff_t k, ptrdiff_t m) {                                             \
    switch (k) {                                                                                \
    case 1: NAME##_k(A, B, bias, relu, C, n, m, 1); break;                                      \
    case 2: NAME##_k(A, B, bias, relu, C, n, m, 2); break;                                      \
    case 3: NAME##_k(A, B, bias, relu, C, n, m, 3); break;                                      \
    default: NAME##_k(A, B, bias, relu, C, n, m, 4); break;                                     \
    }                                                                                           \
}

FNN_SMALL_INNER(fnn_small_inner_f, float, fnn_v16f, fnn_v16i, 16)
FNN_SMALL_INNER(fnn_small_inner_d, double, fnn_v8d, fnn_v8l, 8)

#endif
