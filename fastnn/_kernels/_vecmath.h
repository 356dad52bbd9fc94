/* Branch-free float32 exp, expm1, log, log1p, tanh, sigmoid and erf that GCC can vectorize.
 *
 * glibc's expf/logf/tanhf are scalar calls, so a loop over them runs one element at a time,
 * while NumPy's ufuncs use SIMD. These are the Cephes single-precision algorithms (range
 * reduction + minimax polynomial, about 1-2 ulp), written with selects instead of branches and
 * memcpy for the bit casts, so a loop that calls them auto-vectorizes (tanh: see below).
 * float64 has exp here too (the softmax's hot call); its other functions are libm's.
 */
#ifndef FASTNN_VECMATH_H
#define FASTNN_VECMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float fnn_bits_to_float(int32_t i) { float f; memcpy(&f, &i, 4); return f; }
static inline int32_t fnn_float_to_bits(float f) { int32_t i; memcpy(&i, &f, 4); return i; }

/* exp(x); 0 below -87.33 (where the result would be subnormal) and inf above 88.37. */
static inline float fnn_expf(float x) {
    const float hi = 88.3762626647949f, lo = -87.3365447505531f;
    float xc = x > hi ? hi : (x < lo ? lo : x);
    /* n = round(x / ln 2) by the 1.5 * 2^23 trick (kept: no -ffast-math), r = x - n ln 2. */
    float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = xc - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    float y = p * fnn_bits_to_float(((int32_t)n + 127) << 23);
    y = x < lo ? 0.0f : y;
    return x > hi ? INFINITY : y;
}

static inline double fnn_bits_to_double(int64_t i) { double f; memcpy(&f, &i, 8); return f; }
static inline int64_t fnn_double_to_bits(double f) { int64_t i; memcpy(&i, &f, 8); return i; }

/* exp(x) in float64: Cephes' exp (a rational approximation on |r| <= ln(2) / 2, about 1 ulp),
 * with subnormal results (x < -708.4) and inf above 709.78, as libm gives. */
static inline double fnn_exp(double x) {
    const double hi = 709.782712893383996843, lo = -745.2;
    double xc = x > hi ? hi : (x < lo ? lo : x);
    /* n = round(x / ln 2) by the 1.5 * 2^52 trick, r = x - n ln 2 in two parts. */
    const double magic = 6755399441055744.0;
    double n = (xc * 1.4426950408889634073599 + magic) - magic;
    double r = xc - n * 6.93145751953125e-1 - n * 1.42860682030941723212e-6;
    double rr = r * r;
    double p = ((1.26177193074810590878e-4 * rr + 3.02994407707441961300e-2) * rr
                + 9.99999999999999999910e-1) * r;
    double q = ((3.00198505138664455042e-6 * rr + 2.52448340349684104192e-3) * rr
                + 2.27265548208155028766e-1) * rr + 2.00000000000000000009e0;
    double y = 1.0 + 2.0 * (p / (q - p));
    /* y * 2^n as y * 2^h * 2^(n-h), h = round(n / 2): both factors stay normal down to
     * n = -1075. The integers come from the bits of h + magic (no double-to-int64
     * conversion, which AVX2 lacks). */
    double h = (n * 0.5 + magic) - magic;
    int64_t m = fnn_double_to_bits(magic);
    int64_t hi_bits = fnn_double_to_bits(h + magic) - m;
    int64_t lo_bits = fnn_double_to_bits(n - h + magic) - m;
    y = y * fnn_bits_to_double((hi_bits + 1023) << 52)
          * fnn_bits_to_double((lo_bits + 1023) << 52);
    y = x < lo ? 0.0 : y;
    return x > hi ? INFINITY : y;
}

/* log(x) for positive normal x (what fastnn passes it: clipped probabilities and sums >= 1). */
static inline float fnn_logf(float x) {
    int32_t bits = fnn_float_to_bits(x);
    float e = (float)(((bits >> 23) & 0xff) - 126);
    float m = fnn_bits_to_float((bits & 0x007fffff) | 0x3f000000); /* mantissa in [0.5, 1) */
    int small = m < 0.707106781186547524f;
    e = small ? e - 1.0f : e;
    m = small ? m + m - 1.0f : m - 1.0f;
    float z = m * m;
    float p = 7.0376836292e-2f;
    p = p * m - 1.1514610310e-1f;
    p = p * m + 1.1676998740e-1f;
    p = p * m - 1.2420140846e-1f;
    p = p * m + 1.4249322787e-1f;
    p = p * m - 1.6668057665e-1f;
    p = p * m + 2.0000714765e-1f;
    p = p * m - 2.4999993993e-1f;
    p = p * m + 3.3333331174e-1f;
    float y = p * m * z - 2.12194440e-4f * e - 0.5f * z;
    y = m + y + 0.693359375f * e;
    return x == 0.0f ? -INFINITY : y;
}

/* log(1 + u) for u > -1, accurate for tiny u: log(w) * u / (w - 1) with w = 1 + u (Goldberg). */
static inline float fnn_log1pf(float u) {
    float w = 1.0f + u;
    float d = w - 1.0f;
    return d == 0.0f ? u : fnn_logf(w) * (u / (d == 0.0f ? 1.0f : d));
}

/* tanh(x) as the odd rational minimax x P(x^2) / Q(x^2) of degrees 13/6 (the approximation of
 * Eigen and XLA), clamped at +-7.9053, where tanh rounds to +-1 in float32. Odd in x, so small
 * arguments keep their relative accuracy, and it needs no exp: one division per element. */
static inline float fnn_tanhf(float x) {
    const float c = 7.90531110763549805f;
    float xc = x > c ? c : (x < -c ? -c : x);
    float z = xc * xc;
    float p = -2.76076847742355e-16f;
    p = p * z + 2.00018790482477e-13f;
    p = p * z - 8.60467152213735e-11f;
    p = p * z + 5.12229709037114e-08f;
    p = p * z + 1.48572235717979e-05f;
    p = p * z + 6.37261928875436e-04f;
    p = p * z + 4.89352455891786e-03f;
    float q = 1.19825839466702e-06f;
    q = q * z + 1.18534705686654e-04f;
    q = q * z + 2.26843463243900e-03f;
    q = q * z + 4.89352518554385e-03f;
    /* +-1 past the clamp whatever the compiler fuses (the quotient at +-c is 1 only to 1 ulp) */
    return x > c ? 1.0f : (x < -c ? -1.0f : xc * p / q);
}

/* 1 / (1 + exp(-x)) with exp only of -|x|: nothing overflows. */
static inline float fnn_sigmoidf(float x) {
    float e = fnn_expf(-fabsf(x));
    float s = 1.0f / (1.0f + e);
    return x >= 0.0f ? s : e * s;
}

/* exp(x) - 1, accurate near 0: 2^n expm1(r) + (2^n - 1) with expf's reduction and polynomial
 * (expm1(r) = r + r^2 p(r)); -1 below -18, where it rounds to -1, and inf above 88.37. */
static inline float fnn_expm1f(float x) {
    const float hi = 88.3762626647949f, lo = -18.0f;
    float xc = x > hi ? hi : (x < lo ? lo : x);
    float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = xc - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float em = p * r * r + r;
    float s = fnn_bits_to_float(((int32_t)n + 127) << 23);
    float y = s * em + (s - 1.0f);
    y = x < lo ? -1.0f : y;
    return x > hi ? INFINITY : y;
}

/* erf(x) as the odd rational x P(x^2) / Q(x^2) of degrees 13/8 (Eigen's float erf), clamped at
 * +-4, where erf rounds to +-1 in float32: one division per element, no exp. */
static inline float fnn_erff(float x) {
    const float c = 4.0f;
    float xc = x > c ? c : (x < -c ? -c : x);
    float z = xc * xc;
    float p = -2.72614225801306e-10f;
    p = p * z + 2.77068142495902e-08f;
    p = p * z - 2.10102402082508e-06f;
    p = p * z - 5.69250639462346e-05f;
    p = p * z - 7.34990630326855e-04f;
    p = p * z - 2.95459980854025e-03f;
    p = p * z - 1.60960333262415e-02f;
    float q = -1.45660718464996e-05f;
    q = q * z - 2.13374055278905e-04f;
    q = q * z - 1.68282697438203e-03f;
    q = q * z - 7.37332916720468e-03f;
    q = q * z - 1.42647390514189e-02f;
    return x > c ? 1.0f : (x < -c ? -1.0f : xc * p / q);
}

#endif
