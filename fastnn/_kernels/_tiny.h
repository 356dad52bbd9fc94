/* One float32 training step of a tiny classifier, X (n x K) -> Dense + ReLU (H) -> Dense (C)
 * -> softmax cross-entropy on class labels, for K <= 4 inputs and C <= 4 classes (the spiral's
 * 2-64-3).
 *
 * Layer by layer, such a step makes about seven passes over the n x H hidden layer, which for a
 * batch of 300 x 64 does not fit in L1: those passes, not the arithmetic, are its time. Here a
 * block of 16 rows goes through the whole step before the next, its hidden layer in L1:
 *  - forward: the block's hidden values, each row's folded at once into its C logits; then the
 *    softmax cross-entropy with a row in each lane;
 *  - backward: a row at a time, 16 hidden units a vector; the sums of dW2, dW1 and db1 stay in
 *    registers over the block's rows, dH and the ReLU mask never leave them.
 * Every value comes from the operations, in the order, of the layer-by-layer kernels
 * (_skinny.h and _skinny.pxd, OpenBLAS's H -> C product, _loss_core.pxd's _softmax_ce_block,
 * _rowops.pxd's ReLU backward), so the numbers are theirs bit for bit. OpenBLAS sums a logit in
 * one of two orders, depending on its build and the shape (`order` below); the engine finds which
 * by trying both against it (fnn_tiny_logits), and tests/test_engine.py checks the whole step
 * against the layer-by-layer engine.
 */
#ifndef FASTNN_TINY_H
#define FASTNN_TINY_H

#include <stddef.h>
#include <string.h>

#include "_skinny.h"
#include "_transpose.h"
#include "_vecmath.h"
#ifdef __AVX512F__
#include <immintrin.h>
#endif

enum {
    FNN_TINY_CHAIN = 0, /* a logit is one multiply-add chain over the hidden units, in order */
    FNN_TINY_TREE = 1,  /* 16 chains, over units u = l mod 16, then summed as a binary tree of
                           neighbouring chains; in the last n % 4 rows of a product, by halves
                           (OpenBLAS's SkylakeX small kernel for H >= 32 and C < 4: it sums four
                           rows at a time one way, and the rest with _mm512_reduce_add_ps) */
    FNN_TINY_MAX_HIDDEN = 256,
    FNN_TINY_CHUNK = 4 /* hidden-unit vectors a backward pass keeps in registers */
};

/* Every function below the dispatchers is inlined into them, so that K, C and the vector count
 * are constants there: GCC then keeps the accumulators in registers (out of line, it kept them
 * in memory, 2x slower). */
#define FNN_TINY_INLINE static inline __attribute__((always_inline))

typedef fnn_v16f fnn_tiny_v;
typedef fnn_v16i fnn_tiny_iv;

/* h <= 0 ? +0 : h, the dense epilogue's ReLU: NaN stays NaN (as np.maximum), -0 becomes +0. */
FNN_TINY_INLINE fnn_tiny_v fnn_tiny_relu(fnn_tiny_v h) {
#ifdef __AVX512F__
    /* a compare into a mask register and a zeroing move (not MAXPS, which returns its second
     * operand for a NaN: 0 with max(h, 0), and -0 for -0 with max(0, h)) */
    const __mmask16 keep = _mm512_cmp_ps_mask((__m512)h, _mm512_setzero_ps(), _CMP_NLE_UQ);
    return (fnn_tiny_v)_mm512_maskz_mov_ps(keep, (__m512)h);
#else
    const fnn_tiny_v zero = {0};
    return (fnn_tiny_v)((fnn_tiny_iv)h & ~(fnn_tiny_iv)(h <= zero));
#endif
}

/* The hidden values of one row x, units [u, u + 16): fnn_small_inner's chain, + bias, ReLU. */
FNN_TINY_INLINE fnn_tiny_v fnn_tiny_hidden(const float* x, const float* W1, const float* b1,
                                           ptrdiff_t H, ptrdiff_t u, const int K) {
    fnn_tiny_v h = {0}, w;
    for (int q = 0; q < K; q++) {
        memcpy(&w, W1 + q * H + u, sizeof w);
        h += x[q] * w;
    }
    memcpy(&w, b1 + u, sizeof w);
    h += w;
    return fnn_tiny_relu(h);
}

/* acc[j] (lane l: row l of the block) = the logit chains, FNN_TINY_CHAIN: xs[q] holds input q
 * of the 16 rows. */
FNN_TINY_INLINE void fnn_tiny_logits_chain(const fnn_tiny_v* xs, const float* W1, const float* b1,
                                           const float* W2, fnn_tiny_v* acc, ptrdiff_t H,
                                           const int K, const int C) {
    const fnn_tiny_v zero = {0};
    for (int j = 0; j < C; j++)
        acc[j] = zero;
    for (ptrdiff_t k = 0; k < H; k++) {
        fnn_tiny_v h = zero;
        for (int q = 0; q < K; q++)
            h += xs[q] * W1[q * H + k];
        h += b1[k];
        h = fnn_tiny_relu(h);
        for (int j = 0; j < C; j++)
            acc[j] += h * W2[k * C + j];
    }
}

/* Lanes (2i, 2i + 1) of a and then of b, summed: one level of the tree for two vectors. */
FNN_TINY_INLINE fnn_tiny_v fnn_tiny_pairs(fnn_tiny_v a, fnn_tiny_v b) {
    const fnn_tiny_iv even = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30};
    const fnn_tiny_iv odd = {1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31};
    return __builtin_shuffle(a, b, even) + __builtin_shuffle(a, b, odd);
}

/* The 16 lanes of v summed by halves: lane i + lane i + 8, then + 4, + 2, + 1. */
FNN_TINY_INLINE float fnn_tiny_halves(fnn_tiny_v v) {
    float a[16];
    memcpy(a, &v, sizeof a);
    for (int width = 8; width >= 1; width /= 2)
        for (int i = 0; i < width; i++)
            a[i] = a[i] + a[i + width];
    return a[0];
}

/* The same, FNN_TINY_TREE: rows[l] is row l's input, W2T is W2 transposed (C x H); rows from
 * `tail` on are summed by halves. Row l's hidden values go to hidden[l * H ...]. */
FNN_TINY_INLINE void fnn_tiny_logits_tree(const float (*rows)[4], const float* W1,
                                          const float* b1, const float* W2T, fnn_tiny_v* acc,
                                          float* hidden, ptrdiff_t H, int tail, const int K,
                                          const int C) {
    const fnn_tiny_v zero = {0};
    fnn_tiny_v sums[4][16], w;
    for (int l = 0; l < 16; l++) {
        fnn_tiny_v row_sums[4];
        for (int j = 0; j < C; j++)
            row_sums[j] = zero;
        for (ptrdiff_t u = 0; u < H; u += 16) {
            fnn_tiny_v h = fnn_tiny_hidden(rows[l], W1, b1, H, u, K);
            memcpy(hidden + l * H + u, &h, sizeof h);
            for (int j = 0; j < C; j++) {
                memcpy(&w, W2T + j * H + u, sizeof w);
                row_sums[j] += w * h;
            }
        }
        for (int j = 0; j < C; j++)
            sums[j][l] = row_sums[j];
    }
    float halves[4][16];
    for (int l = tail; l < 16; l++)
        for (int j = 0; j < C; j++)
            halves[j][l] = fnn_tiny_halves(sums[j][l]);
    for (int j = 0; j < C; j++) { /* 16 rows x 16 chains -> 8 x 2 x 8 -> ... -> 16 rows x 1 */
        for (int width = 16; width > 1; width /= 2)
            for (int v = 0; v < width / 2; v++)
                sums[j][v] = fnn_tiny_pairs(sums[j][2 * v], sums[j][2 * v + 1]);
        acc[j] = sums[j][0];
        for (int l = tail; l < 16; l++)
            acc[j][l] = halves[j][l];
    }
}

/* The logits of 16 rows (rows[l] = row l's input; rows past n are zeros), a row a lane, and
 * their hidden values, hidden[l * H + u]; `tail` as in fnn_tiny_logits_tree. */
FNN_TINY_INLINE void fnn_tiny_block_logits(const float (*rows)[4], const float* W1,
                                           const float* b1, const float* W2, const float* W2T,
                                           const float* b2, float (*z)[16], float* hidden,
                                           ptrdiff_t H, int order, int tail, const int K,
                                           const int C) {
    fnn_tiny_v acc[4];
    if (order == FNN_TINY_CHAIN) {
        float cols[4][16];
        fnn_tiny_v xs[4];
        for (int q = 0; q < K; q++) {
            for (int l = 0; l < 16; l++)
                cols[q][l] = rows[l][q];
            memcpy(&xs[q], cols[q], sizeof xs[q]);
        }
        fnn_tiny_logits_chain(xs, W1, b1, W2, acc, H, K, C);
        for (int l = 0; l < 16; l++)
            for (ptrdiff_t u = 0; u < H; u += 16) {
                fnn_tiny_v h = fnn_tiny_hidden(rows[l], W1, b1, H, u, K);
                memcpy(hidden + l * H + u, &h, sizeof h);
            }
    } else {
        fnn_tiny_logits_tree(rows, W1, b1, W2T, acc, hidden, H, tail, K, C);
    }
    for (int j = 0; j < C; j++) {
        fnn_tiny_v zj = acc[j] + b2[j]; /* the dense epilogue's bias add */
        memcpy(z[j], &zj, sizeof zj);
    }
}

/* An array's values as stored: GCC may not carry a value computed before this into an
 * expression after it, where -ffp-contract would fuse a multiply into an add and change the
 * rounding (the layer-by-layer kernels store these arrays, so they do not fuse them). */
#define FNN_TINY_IN_MEMORY(array) __asm__ volatile("" : : "r"(array) : "memory")

/* The first row of the block at r0 whose logits OpenBLAS sums by halves (16: none). */
FNN_TINY_INLINE int fnn_tiny_tail(ptrdiff_t n, ptrdiff_t r0, const int C) {
    const ptrdiff_t first = C < 4 ? n - n % 4 - r0 : 16;
    return first < 0 ? 0 : (first > 16 ? 16 : (int)first);
}

/* Rows rows[r0 .. r0 + 16) of X (fewer at the end), zeros past n. */
FNN_TINY_INLINE int fnn_tiny_gather(const float* X, const ptrdiff_t* rows, ptrdiff_t r0,
                                    ptrdiff_t n, float (*block)[4], const int K) {
    const int width = n - r0 < 16 ? (int)(n - r0) : 16;
    for (int l = 0; l < 16; l++)
        for (int q = 0; q < K; q++)
            block[l][q] = l < width ? X[rows[r0 + l] * K + q] : 0.0f;
    return width;
}

/* mask ? a : b, lane by lane. */
FNN_TINY_INLINE fnn_tiny_v fnn_tiny_select(fnn_tiny_iv mask, fnn_tiny_v a, fnn_tiny_v b) {
    return (fnn_tiny_v)((mask & (fnn_tiny_iv)a) | (~mask & (fnn_tiny_iv)b));
}

/* The softmax cross-entropy of a block's `width` rows, z[j][l] their logits and label_at[l]
 * their labels (-1 past width): g[j][l] = its gradient, scale = 1/n; returns the block's summed
 * loss and adds its correct rows to right.
 * _softmax_ce_block's operations, with labels and no weights, a row a lane: the argmax, the
 * label's logit and the gradient come from selects, not from a loop over rows. */
FNN_TINY_INLINE double fnn_tiny_block_loss(float (*z)[16], const int* label_at,
                                           float (*g)[16], int width, float scale,
                                           double* right, const int C) {
    float m[16], e[4][16], log_s[16], p[16], label_z[16];
    double s[16], total = 0;
    fnn_tiny_iv label, best = {0}, hit;
    fnn_tiny_v zj, top, lz, pv, gj;
    memcpy(&label, label_at, sizeof label);
    memcpy(&top, z[0], sizeof top);
    lz = top;
    for (int j = 1; j < C; j++) { /* the row maximum; _correct's argmax, the first largest */
        memcpy(&zj, z[j], sizeof zj);
        const fnn_tiny_iv above = zj > top;
        best = (above & j) | (~above & best);
        top = fnn_tiny_select(above, zj, top);
        lz = fnn_tiny_select(label == j, zj, lz);
    }
    memcpy(m, &top, sizeof top);
    for (int j = 0; j < C; j++)
        for (int l = 0; l < 16; l++)
            e[j][l] = fnn_expf(z[j][l] - m[l]);
    FNN_TINY_IN_MEMORY(e);
    for (int l = 0; l < 16; l++) {
        s[l] = 0;
        for (int j = 0; j < C; j++)
            s[l] += (double)e[j][l];
        log_s[l] = (float)s[l];
        p[l] = (float)((double)scale / s[l]);
    }
    for (int l = 0; l < 16; l++)
        log_s[l] = fnn_logf(log_s[l]);
    FNN_TINY_IN_MEMORY(log_s);
    hit = best == label;
    memcpy(label_z, &lz, sizeof lz);
    memcpy(&pv, p, sizeof pv);
    for (int j = 0; j < C; j++) {
        memcpy(&gj, e[j], sizeof gj);
        gj *= pv;
        memcpy(g[j], &gj, sizeof gj);
    }
    FNN_TINY_IN_MEMORY(g[0]); /* g * p, rounded, then - scale: not fused */
    for (int j = 0; j < C; j++) {
        memcpy(&gj, g[j], sizeof gj);
        gj = fnn_tiny_select(label == j, gj - scale, gj);
        memcpy(g[j], &gj, sizeof gj);
    }
    double terms[16];
    int hits = 0;
    for (int l = 0; l < 16; l++) {
        terms[l] = (double)(m[l] + log_s[l]) - (double)label_z[l];
        hits += hit[l] != 0; /* never past width, where label_at is -1 */
    }
    right[0] += hits;
    for (int l = 0; l < width; l++) /* in row order, as loss_rows sums */
        total += terms[l];
    return total;
}

/* The gradient sums of hidden units [u0, u0 + NV * 16) continued over a block's `width` rows
 * (started from zero when `first`): rows[l] their inputs, hidden[l * H + u] their hidden values,
 * g[j][l] their logits' gradient. dW1 and db1 are continued in place, acc2 (C x H, dW2
 * transposed) likewise. */
FNN_TINY_INLINE void fnn_tiny_block_backward(const float (*rows)[4], const float* hidden,
                                             const float (*g)[16], const float* W2T, float* dW1,
                                             float* db1, float* acc2, int width, int first,
                                             ptrdiff_t H, ptrdiff_t u0, const int K, const int C,
                                             const int NV) {
    const fnn_tiny_v zero = {0};
    fnn_tiny_v w2t[4][FNN_TINY_CHUNK], a1[4][FNN_TINY_CHUNK], a2[4][FNN_TINY_CHUNK];
    fnn_tiny_v sums[FNN_TINY_CHUNK];
    for (int v = 0; v < NV; v++) {
        const ptrdiff_t u = u0 + v * 16;
        for (int j = 0; j < C; j++)
            memcpy(&w2t[j][v], W2T + j * H + u, sizeof w2t[j][v]);
        if (first) {
            for (int q = 0; q < K; q++)
                a1[q][v] = zero;
            for (int j = 0; j < C; j++)
                a2[j][v] = zero;
            sums[v] = zero;
            continue;
        }
        for (int q = 0; q < K; q++)
            memcpy(&a1[q][v], dW1 + q * H + u, sizeof a1[q][v]);
        for (int j = 0; j < C; j++)
            memcpy(&a2[j][v], acc2 + j * H + u, sizeof a2[j][v]);
        memcpy(&sums[v], db1 + u, sizeof sums[v]);
    }
    for (int l = 0; l < width; l++) {
        float x[4], gl[4];
        for (int q = 0; q < K; q++)
            x[q] = rows[l][q];
        for (int j = 0; j < C; j++)
            gl[j] = g[j][l];
        for (int v = 0; v < NV; v++) {
            fnn_tiny_v h, d = zero;
            memcpy(&h, hidden + l * H + u0 + v * 16, sizeof h);
            for (int j = 0; j < C; j++) {
                a2[j][v] += h * gl[j];     /* _tn_few_cols: dW2 = H^T G, row after row */
                d += gl[j] * w2t[j][v];    /* gemm_small_inner: dH = G W2^T */
            }
            d = (fnn_tiny_v)((fnn_tiny_iv)d & (fnn_tiny_iv)(h > zero)); /* ReLU backward */
            for (int q = 0; q < K; q++)
                a1[q][v] += x[q] * d;      /* _tn_few_rows: dW1 = X^T dH, row after row */
            sums[v] += d;                  /* and db1 */
        }
    }
    for (int v = 0; v < NV; v++) {
        const ptrdiff_t u = u0 + v * 16;
        for (int q = 0; q < K; q++)
            memcpy(dW1 + q * H + u, &a1[q][v], sizeof a1[q][v]);
        for (int j = 0; j < C; j++)
            memcpy(acc2 + j * H + u, &a2[j][v], sizeof a2[j][v]);
        memcpy(db1 + u, &sums[v], sizeof sums[v]);
    }
}

/* One step's forward and backward over rows X[rows[0 .. n)]: returns the mean loss
 * (loss_rows' value) and adds the rows whose largest logit is their label's to correct[0];
 * dW1, db1, dW2 and db2 = the parameters' gradients. A block of 16 rows at a time: its hidden
 * layer stays in L1 from the forward to the backward. */
FNN_TINY_INLINE double fnn_tiny_step_kc(const float* X, const ptrdiff_t* rows,
                                        const ptrdiff_t* labels, const float* W1,
                                        const float* b1, const float* W2, const float* b2,
                                        float* dW1, float* db1, float* dW2, float* db2,
                                        ptrdiff_t n, ptrdiff_t H, int order, double* correct,
                                        const int K, const int C) {
    const float scale = (float)(1.0 / (double)n);
    float W2T[4 * FNN_TINY_MAX_HIDDEN], acc2[4 * FNN_TINY_MAX_HIDDEN];
    float hidden[16 * FNN_TINY_MAX_HIDDEN];
    float db2_sums[4] = {0}; /* _tn_few_cols's db2: each column's sum, row after row */
    double total = 0, right = 0;
    fnn_transpose_f(W2, W2T, H, C);
    for (ptrdiff_t r0 = 0; r0 < n; r0 += 16) {
        float block[16][4], z[4][16], g[4][16];
        int block_labels[16];
        const int width = fnn_tiny_gather(X, rows, r0, n, block, K);
        for (int l = 0; l < 16; l++)
            block_labels[l] = l < width ? (int)labels[rows[r0 + l]] : -1;
        fnn_tiny_block_logits(block, W1, b1, W2, W2T, b2, z, hidden, H, order,
                              fnn_tiny_tail(n, r0, C), K, C);
        total += fnn_tiny_block_loss(z, block_labels, g, width, scale, &right, C);
        for (int l = 0; l < width; l++)
            for (int j = 0; j < C; j++)
                db2_sums[j] += g[j][l];
        const ptrdiff_t chunk = FNN_TINY_CHUNK * 16;
        ptrdiff_t u0 = 0;
        for (; u0 + chunk <= H; u0 += chunk)
            fnn_tiny_block_backward(block, hidden, g, W2T, dW1, db1, acc2, width, r0 == 0, H,
                                    u0, K, C, FNN_TINY_CHUNK);
        for (; u0 < H; u0 += 16)
            fnn_tiny_block_backward(block, hidden, g, W2T, dW1, db1, acc2, width, r0 == 0, H,
                                    u0, K, C, 1);
    }
    fnn_transpose_f(acc2, dW2, C, H);
    for (int j = 0; j < C; j++)
        db2[j] = db2_sums[j];
    correct[0] += right;
    return total / (double)n;
}

/* The logits of X[rows[0 .. n)] (n x C) in the given order: the engine compares them with
 * OpenBLAS's to choose the order. */
FNN_TINY_INLINE void fnn_tiny_logits_kc(const float* X, const ptrdiff_t* rows, const float* W1,
                                        const float* b1, const float* W2, const float* b2,
                                        float* Z, ptrdiff_t n, ptrdiff_t H, int order,
                                        const int K, const int C) {
    float W2T[4 * FNN_TINY_MAX_HIDDEN];
    fnn_transpose_f(W2, W2T, H, C);
    float hidden[16 * FNN_TINY_MAX_HIDDEN];
    for (ptrdiff_t r0 = 0; r0 < n; r0 += 16) {
        float block[16][4], z[4][16];
        const int width = fnn_tiny_gather(X, rows, r0, n, block, K);
        fnn_tiny_block_logits(block, W1, b1, W2, W2T, b2, z, hidden, H, order,
                              fnn_tiny_tail(n, r0, C), K, C);
        for (int l = 0; l < width; l++)
            for (int j = 0; j < C; j++)
                Z[(r0 + l) * C + j] = z[j][l];
    }
}

/* The entry points: K and C become compile-time constants, so the chains stay in registers.
 * The step reproduces the fused multiply-add sums of OpenBLAS's SkylakeX-family (AVX-512)
 * kernels, so it is compiled only in the AVX-512 build: elsewhere OpenBLAS runs other kernels
 * (or, without FMA, no order of the step's sums can match), the engine would never choose it,
 * and its twelve instantiations were most of the other builds' compile time. */
#if defined(__AVX512F__) && defined(__FMA__)
#define FNN_TINY_AVAILABLE 1
#define FNN_TINY_CASES(CASE)                                                                     \
    CASE(1, 2) CASE(1, 3) CASE(1, 4) CASE(2, 2) CASE(2, 3) CASE(2, 4)                            \
    CASE(3, 2) CASE(3, 3) CASE(3, 4) CASE(4, 2) CASE(4, 3) CASE(4, 4)
#else
#define FNN_TINY_AVAILABLE 0
#define FNN_TINY_CASES(CASE)
#endif

static inline double fnn_tiny_step(const float* X, const ptrdiff_t* rows, const ptrdiff_t* labels,
                                   const float* W1, const float* b1, const float* W2,
                                   const float* b2, float* dW1, float* db1, float* dW2,
                                   float* db2, ptrdiff_t n, int K, ptrdiff_t H, int C, int order,
                                   double* correct) {
#define FNN_TINY_STEP(KK, CC)                                                                    \
    case KK * 8 + CC:                                                                            \
        return fnn_tiny_step_kc(X, rows, labels, W1, b1, W2, b2, dW1, db1, dW2, db2, n, H,      \
                                order, correct, KK, CC);
    switch (K * 8 + C) { FNN_TINY_CASES(FNN_TINY_STEP) }
#undef FNN_TINY_STEP
    return 0; /* not reached: the engine checked K and C */
}

static inline void fnn_tiny_logits(const float* X, const ptrdiff_t* rows, const float* W1,
                                   const float* b1, const float* W2, const float* b2, float* Z,
                                   ptrdiff_t n, int K, ptrdiff_t H, int C, int order) {
#define FNN_TINY_LOGITS(KK, CC)                                                                  \
    case KK * 8 + CC:                                                                            \
        fnn_tiny_logits_kc(X, rows, W1, b1, W2, b2, Z, n, H, order, KK, CC);                     \
        return;
    switch (K * 8 + C) { FNN_TINY_CASES(FNN_TINY_LOGITS) }
#undef FNN_TINY_LOGITS
}

#endif
