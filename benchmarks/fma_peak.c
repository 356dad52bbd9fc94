/* One core's peak rate of multiply-adds, float64 and float32: the ceiling of any GEMM on it, set
 * beside the estimator benchmark's "floor rate" (fastnn/bench_estimators.py).
 *
 *     gcc -O2 -march=native benchmarks/fma_peak.c -o /tmp/fma_peak && /tmp/fma_peak
 *
 * Twelve independent chains of vector FMAs (more than latency x throughput on current x86 cores),
 * in the widest vectors the compiler targets; best of five runs.
 */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

#if defined(__AVX512F__)
typedef __m512d vd;
typedef __m512 vf;
#define LANES_D 8
#define SET_D _mm512_set1_pd
#define SET_F _mm512_set1_ps
#define FMA_D _mm512_fmadd_pd
#define FMA_F _mm512_fmadd_ps
#elif defined(__FMA__)
typedef __m256d vd;
typedef __m256 vf;
#define LANES_D 4
#define SET_D _mm256_set1_pd
#define SET_F _mm256_set1_ps
#define FMA_D _mm256_fmadd_pd
#define FMA_F _mm256_fmadd_ps
#else
#error "needs FMA: build with -march=native on an x86-64 CPU that has it"
#endif

enum { CHAINS = 12, RUNS = 5 };
static const long ITERATIONS = 100000000;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* The rate of one element type: CHAINS chains of FMAs in vectors `vec` of `lanes` elements.
 * Stores to the volatile sink keep the chains from being optimized away. */
static volatile double sink;

#define DEFINE_PEAK(name, vec, scalar, set1, fma, lanes)                                  \
    static double name(void) {                                                           \
        double best = 1e30;                                                              \
        for (int run = 0; run < RUNS; run++) {                                           \
            vec acc[CHAINS], b = set1((scalar)1.0000001), c = set1((scalar)1e-9);        \
            for (int i = 0; i < CHAINS; i++) acc[i] = set1((scalar)i);                   \
            double start = now();                                                        \
            for (long it = 0; it < ITERATIONS; it++) {                                   \
                _Pragma("GCC unroll 12")                                                 \
                for (int i = 0; i < CHAINS; i++) acc[i] = fma(acc[i], b, c);             \
            }                                                                            \
            double seconds = now() - start;                                              \
            best = seconds < best ? seconds : best;                                      \
            for (int i = 0; i < CHAINS; i++) sink = ((scalar*)&acc[i])[0];               \
        }                                                                                \
        return (double)ITERATIONS * CHAINS * (lanes) / best;                             \
    }

DEFINE_PEAK(peak_double, vd, double, SET_D, FMA_D, LANES_D)
DEFINE_PEAK(peak_float, vf, float, SET_F, FMA_F, 2 * LANES_D)

int main(void) {
    printf("peak multiply-adds per second, one core, %d-bit vectors:\n", LANES_D * 64);
    printf("  float64: %.1f G/s\n", peak_double() / 1e9);
    printf("  float32: %.1f G/s\n", peak_float() / 1e9);
    return 0;
}
