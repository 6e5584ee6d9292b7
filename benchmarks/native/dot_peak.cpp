/*
 * The two cores' multiply limit for prompts: the peak rate of VDPBF16PS (16 lanes x 2 bf16
 * multiply-adds, the bf16 tile's instruction) and of VPDPBUSD (16 lanes x 4 u8 x s8 multiply-adds,
 * int4 on int8 activations) on THREADS threads, each running 16 independent accumulators from
 * registers for about half a second, so neither memory nor latency limits them. Prints each in
 * GFLOP/s (2 operations a multiply-add), the figure a prefill's rate is a fraction of.
 * Usage: dot_peak [THREADS=2]; build: g++ -O2 -fopenmp -o dot_peak dot_peak.cpp
 */
#include <immintrin.h>
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace {

constexpr long ITERATIONS = 20000000; // x 16 instructions a thread

__attribute__((target("avx512f,avx512bf16"))) double bf16_thread() {
    __m512 acc[16];
    for (int i = 0; i < 16; i++) acc[i] = _mm512_set1_ps(0.0f);
    const __m512bh a = (__m512bh)_mm512_set1_epi32(0x3F803F80), b = (__m512bh)_mm512_set1_epi32(0x3C003C00);
    for (long n = 0; n < ITERATIONS; n++) {
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++) acc[i] = _mm512_dpbf16_ps(acc[i], a, b);
    }
    alignas(64) float lanes[16];
    double sum = 0;
    for (int i = 0; i < 16; i++) {
        _mm512_store_ps(lanes, acc[i]);
        for (float f : lanes) sum += f;
    }
    return sum;
}

__attribute__((target("avx512f,avx512vnni"))) double vnni_thread() {
    __m512i acc[16];
    for (int i = 0; i < 16; i++) acc[i] = _mm512_setzero_si512();
    const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
    for (long n = 0; n < ITERATIONS; n++) {
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++) acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
    }
    alignas(64) int lanes[16];
    double sum = 0;
    for (int i = 0; i < 16; i++) {
        _mm512_store_si512(lanes, acc[i]);
        for (int v : lanes) sum += v;
    }
    return sum;
}

/* GFLOP/s of `body` on `threads` threads: multiply-adds per instruction x 2 x instructions / s. */
double rate(double (*body)(), int threads, int macs) {
    double sink = 0;
    const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    sink += body();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (sink == 1234.5) std::printf(" "); // keeps the sums alive
    return (double)threads * ITERATIONS * 16 * macs * 2 / s / 1e9;
}

} // namespace

int main(int argc, char **argv) {
    const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512bf16")) {
        std::printf("dot_peak: this CPU has no AVX-512 BF16\n");
        return 1;
    }
    std::printf("VDPBF16PS (bf16): %.0f GFLOP/s on %d threads\n", rate(bf16_thread, threads, 32), threads);
    if (__builtin_cpu_supports("avx512vnni")) {
        std::printf("VPDPBUSD (u8 x s8): %.0f GOP/s on %d threads\n", rate(vnni_thread, threads, 64), threads);
    } else {
        std::printf("VPDPBUSD: this CPU has no AVX-512 VNNI\n");
    }
    return 0;
}
