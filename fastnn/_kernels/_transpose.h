/* Out-of-place matrix transpose in 8x8 (float) and 4x4 (double) register blocks.
 *
 * dense backward needs W^T for dX = dY W^T: OpenBLAS's transposed-operand GEMM is much slower
 * than its plain one on small shapes, so W is transposed into a scratch buffer first. A scalar
 * transpose of a 64x64 float W costs about 1.5 us, nearly as much as the GEMM; the blocks here
 * (GCC/clang vector extensions, one source for the AVX2 and AVX-512 builds) take 0.35 us.
 */
#ifndef FASTNN_TRANSPOSE_H
#define FASTNN_TRANSPOSE_H

#include <stddef.h>
#include <string.h>

/* The register blocks need 32-byte vectors in hardware (AVX: without it each shuffle becomes
 * a slow SSE sequence) and GCC >= 12's or clang's __builtin_shufflevector; elsewhere the
 * transposes are the scalar loop. */
#if defined(__AVX__) && defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector)
#define FNN_VECTOR_TRANSPOSE 1
#endif
#endif
#ifndef FNN_VECTOR_TRANSPOSE
#define FNN_VECTOR_TRANSPOSE 0
#endif

#if FNN_VECTOR_TRANSPOSE
typedef float fnn_v8f __attribute__((vector_size(32)));
typedef double fnn_v4d __attribute__((vector_size(32)));

/* Index i < n picks element i of a, n + i element i of b. The 8x8 transpose is the classic
 * three rounds: interleave row pairs within each 4-wide half, then pairs of pairs (each half
 * holds 4 rows of one column), then join the halves of rows 0-3 and 4-7. Vectors are passed
 * by pointer only: returning one by value would change the ABI between the builds. */
#define FNN_SHUF(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#define FNN_PAIRS_LO(a, b) FNN_SHUF(a, b, 0, 8, 1, 9, 4, 12, 5, 13)
#define FNN_PAIRS_HI(a, b) FNN_SHUF(a, b, 2, 10, 3, 11, 6, 14, 7, 15)
#define FNN_QUADS_LO(a, b) FNN_SHUF(a, b, 0, 1, 8, 9, 4, 5, 12, 13)
#define FNN_QUADS_HI(a, b) FNN_SHUF(a, b, 2, 3, 10, 11, 6, 7, 14, 15)
#define FNN_HALVES_LO(a, b) FNN_SHUF(a, b, 0, 1, 2, 3, 8, 9, 10, 11)
#define FNN_HALVES_HI(a, b) FNN_SHUF(a, b, 4, 5, 6, 7, 12, 13, 14, 15)

/* The 8x8 block at src (row stride ss) transposed into dst (row stride ds). */
static inline void fnn_block8f(const float *src, ptrdiff_t ss, float *dst, ptrdiff_t ds) {
    fnn_v8f r0, r1, r2, r3, r4, r5, r6, r7;
    memcpy(&r0, src, sizeof r0);
    memcpy(&r1, src + ss, sizeof r1);
    memcpy(&r2, src + 2 * ss, sizeof r2);
    memcpy(&r3, src + 3 * ss, sizeof r3);
    memcpy(&r4, src + 4 * ss, sizeof r4);
    memcpy(&r5, src + 5 * ss, sizeof r5);
    memcpy(&r6, src + 6 * ss, sizeof r6);
    memcpy(&r7, src + 7 * ss, sizeof r7);
    fnn_v8f t0 = FNN_PAIRS_LO(r0, r1), t1 = FNN_PAIRS_HI(r0, r1);
    fnn_v8f t2 = FNN_PAIRS_LO(r2, r3), t3 = FNN_PAIRS_HI(r2, r3);
    fnn_v8f t4 = FNN_PAIRS_LO(r4, r5), t5 = FNN_PAIRS_HI(r4, r5);
    fnn_v8f t6 = FNN_PAIRS_LO(r6, r7), t7 = FNN_PAIRS_HI(r6, r7);
    fnn_v8f u0 = FNN_QUADS_LO(t0, t2), u1 = FNN_QUADS_HI(t0, t2);
    fnn_v8f u2 = FNN_QUADS_LO(t1, t3), u3 = FNN_QUADS_HI(t1, t3);
    fnn_v8f u4 = FNN_QUADS_LO(t4, t6), u5 = FNN_QUADS_HI(t4, t6);
    fnn_v8f u6 = FNN_QUADS_LO(t5, t7), u7 = FNN_QUADS_HI(t5, t7);
    fnn_v8f c0 = FNN_HALVES_LO(u0, u4), c4 = FNN_HALVES_HI(u0, u4);
    fnn_v8f c1 = FNN_HALVES_LO(u1, u5), c5 = FNN_HALVES_HI(u1, u5);
    fnn_v8f c2 = FNN_HALVES_LO(u2, u6), c6 = FNN_HALVES_HI(u2, u6);
    fnn_v8f c3 = FNN_HALVES_LO(u3, u7), c7 = FNN_HALVES_HI(u3, u7);
    memcpy(dst, &c0, sizeof c0);
    memcpy(dst + ds, &c1, sizeof c1);
    memcpy(dst + 2 * ds, &c2, sizeof c2);
    memcpy(dst + 3 * ds, &c3, sizeof c3);
    memcpy(dst + 4 * ds, &c4, sizeof c4);
    memcpy(dst + 5 * ds, &c5, sizeof c5);
    memcpy(dst + 6 * ds, &c6, sizeof c6);
    memcpy(dst + 7 * ds, &c7, sizeof c7);
}

/* The 4x4 block at src (row stride ss) transposed into dst (row stride ds): interleave row
 * pairs, then join halves. */
static inline void fnn_block4d(const double *src, ptrdiff_t ss, double *dst, ptrdiff_t ds) {
    fnn_v4d r0, r1, r2, r3;
    memcpy(&r0, src, sizeof r0);
    memcpy(&r1, src + ss, sizeof r1);
    memcpy(&r2, src + 2 * ss, sizeof r2);
    memcpy(&r3, src + 3 * ss, sizeof r3);
    fnn_v4d t0 = FNN_SHUF(r0, r1, 0, 4, 2, 6), t1 = FNN_SHUF(r0, r1, 1, 5, 3, 7);
    fnn_v4d t2 = FNN_SHUF(r2, r3, 0, 4, 2, 6), t3 = FNN_SHUF(r2, r3, 1, 5, 3, 7);
    fnn_v4d c0 = FNN_SHUF(t0, t2, 0, 1, 4, 5), c2 = FNN_SHUF(t0, t2, 2, 3, 6, 7);
    fnn_v4d c1 = FNN_SHUF(t1, t3, 0, 1, 4, 5), c3 = FNN_SHUF(t1, t3, 2, 3, 6, 7);
    memcpy(dst, &c0, sizeof c0);
    memcpy(dst + ds, &c1, sizeof c1);
    memcpy(dst + 2 * ds, &c2, sizeof c2);
    memcpy(dst + 3 * ds, &c3, sizeof c3);
}

#else
static inline void fnn_block8f(const float *src, ptrdiff_t ss, float *dst, ptrdiff_t ds) {
    (void)src, (void)ss, (void)dst, (void)ds;  /* never called: no blocks without vectors */
}
static inline void fnn_block4d(const double *src, ptrdiff_t ss, double *dst, ptrdiff_t ds) {
    (void)src, (void)ss, (void)dst, (void)ds;
}
#endif

/* dst[j * rows + i] = src[i * cols + j] for i < rows, j < cols. */
#define FNN_TRANSPOSE(name, T, B, block)                                                   \
    static inline void name(const T *src, T *dst, ptrdiff_t rows, ptrdiff_t cols) {          \
        ptrdiff_t i, j, rb = 0, cb = 0;                                                      \
        if (FNN_VECTOR_TRANSPOSE) {                                                          \
            rb = rows - rows % B;                                                            \
            cb = cols - cols % B;                                                            \
        }                                                                                    \
        for (i = 0; i < rb; i += B)                                                          \
            for (j = 0; j < cb; j += B)                                                      \
                block(src + i * cols + j, cols, dst + j * rows + i, rows);                   \
        for (i = 0; i < rb; i++) /* the columns right of the blocks */                       \
            for (j = cb; j < cols; j++)                                                      \
                dst[j * rows + i] = src[i * cols + j];                                       \
        for (i = rb; i < rows; i++) /* the rows below them */                                \
            for (j = 0; j < cols; j++)                                                       \
                dst[j * rows + i] = src[i * cols + j];                                       \
    }

FNN_TRANSPOSE(fnn_transpose_f, float, 8, fnn_block8f)
FNN_TRANSPOSE(fnn_transpose_d, double, 4, fnn_block4d)

#endif
