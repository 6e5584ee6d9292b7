/*
 * bf16 kernel microbenchmark: woq_bf16_mm (libwoq_kernels.so's C API) over the projections of one
 * Llama-3-8B layer (q/k/v fused 6144 x 4096, o 4096 x 4096, gate and up 14336 x 4096, down
 * 4096 x 14336), random bf16 weights, M tokens. Prints ms per pass (best of 5) and GFLOP/s, the
 * figure to set beside dot_peak's VDPBF16PS limit. From 9 tokens on woq_bf16_mm runs the prompt
 * tile; the first matrix's output is also computed 8 tokens at a time (the one-pass kernel, which
 * reads the weights once per 8 tokens) and the relative RMS difference printed: they sum the same
 * products in another order, so it should be around bf16's rounding of the outputs (1e-3), not more.
 * Build: g++ -O2 -fopenmp -o bf16_kernel_bench bf16_kernel_bench.cpp -ldl
 * Run:   bf16_kernel_bench runtime/target/classes/native/libwoq_kernels.so THREADS M
 */
#include <dlfcn.h>
#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

namespace {

using Bf16Mm = int (*)(const uint16_t *, const uint16_t *, uint16_t *, int, int, int);
using SetThreads = int (*)(int);

uint16_t to_bf16(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return (uint16_t)((u + 0x7FFF + ((u >> 16) & 1)) >> 16);
}

float from_bf16(uint16_t b) {
    const uint32_t u = (uint32_t)b << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

std::vector<uint16_t> random_bf16(size_t count, std::mt19937 &rng, float sigma) {
    std::normal_distribution<float> normal(0.0f, sigma);
    std::vector<uint16_t> v(count);
    for (auto &e : v) e = to_bf16(normal(rng));
    return v;
}

} // namespace

int main(int argc, char **argv) {
#pragma omp parallel
    { volatile int t = omp_get_thread_num(); (void)t; } // loads libgomp, whose threads woq_set_threads looks for
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s LIBWOQ_KERNELS THREADS M\n", argv[0]);
        return 2;
    }
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
    if (lib == nullptr) {
        std::fprintf(stderr, "%s\n", dlerror());
        return 1;
    }
    const auto set_threads = (SetThreads)dlsym(lib, "woq_set_threads");
    const auto mm = (Bf16Mm)dlsym(lib, "woq_bf16_mm");
    std::printf("threads rc %d\n", set_threads(std::atoi(argv[2])));
    const int m = std::atoi(argv[3]);
    struct Shape {
        int n, k;
    };
    const std::vector<Shape> shapes = {{6144, 4096}, {4096, 4096}, {14336, 4096}, {14336, 4096}, {4096, 14336}};
    std::mt19937 rng(1);
    std::vector<std::vector<uint16_t>> weights, xs, ys;
    double flops = 0;
    for (const Shape &s : shapes) {
        weights.push_back(random_bf16((size_t)s.n * s.k, rng, 0.02f));
        xs.push_back(random_bf16((size_t)m * s.k, rng, 1.0f));
        ys.emplace_back((size_t)m * s.n);
        flops += 2.0 * m * s.n * s.k;
    }
    double best = 1e30;
    for (int pass = 0; pass < 5; pass++) {
        const auto t0 = std::chrono::steady_clock::now();
        for (size_t i = 0; i < shapes.size(); i++) {
            if (mm(xs[i].data(), weights[i].data(), ys[i].data(), m, shapes[i].n, shapes[i].k) != 0) {
                std::fprintf(stderr, "woq_bf16_mm failed\n");
                return 1;
            }
        }
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        if (ms < best) best = ms;
    }
    std::printf("m=%d: %.2f ms per pass over one 8B layer, %.1f GFLOP/s\n", m, best, flops / best / 1e6);
    // the first matrix again, 8 tokens per call (the one-pass kernel)
    const Shape s = shapes[0];
    std::vector<uint16_t> ref((size_t)m * s.n);
    for (int m0 = 0; m0 < m; m0 += 8) {
        const int rows = m - m0 < 8 ? m - m0 : 8;
        mm(xs[0].data() + (size_t)m0 * s.k, weights[0].data(), ref.data() + (size_t)m0 * s.n, rows, s.n, s.k);
    }
    double diff = 0, norm = 0;
    for (size_t i = 0; i < ref.size(); i++) {
        const double a = from_bf16(ys[0][i]), b = from_bf16(ref[i]);
        diff += (a - b) * (a - b);
        norm += b * b;
    }
    std::printf("relative RMS difference to 8 tokens a call: %.2e\n", std::sqrt(diff / norm));
    return 0;
}
