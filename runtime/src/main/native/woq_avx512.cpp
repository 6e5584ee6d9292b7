/*
 * woq's matmuls on AVX-512 BF16, for every weight format, on the weights exactly as the registry
 * (int4, int8) or the checkpoint (bf16) stores them: nothing is repacked, so the files are mapped
 * and used in place. Registered with libtorch as woq::int4_mm, woq::int4q32_mm, woq::int8_mm,
 * woq::int8g32_mm and woq::bf16_mm.
 *
 *   y[M, N] = x[M, K] . W^T,  x and y bf16, sums in fp32, with W[n][k] =
 *     int4: (q - 8) * scale[n][k / g] + zero[n][k / g]   (q: nibble k % 2 of byte [n][k / 2], low first)
 *     int4-q32: the same with g = 32, each group's fp32 scale and zero formed from its 8-bit codes:
 *           scale = scale_max * 2^(-c[n][k / 32] / 16), zero = (8 - zc[n][k / 32] / 16) * scale
 *     int8: q[n][k] * scale[n]
 *     int8-g32: q[n][k] * scale[n][k / 32]   (each group's fp32 sum of q x times its scale)
 *     bf16: w[n][k]
 *
 * Why: decoding reads every weight once per token, so a token takes at least the weights' bytes
 * over the memory bandwidth. libtorch 2.7 falls short of that on two cores: its int4 kernel turns
 * each nibble into a float and multiplies in fp32 (bound by arithmetic), its int8 kernel and
 * oneDNN's one-row bf16 GEMM read at a third to half the bandwidth. Here the arithmetic per
 * weight is a few bit operations and a share of one VDPBF16PS (32 multiply-adds), so bf16 and int8
 * stream the weights at about the memory's speed and int4 at about two thirds of it on two cores
 * (benchmarks/RESULTS.md), and rows of x share each unpacked weight vector (batched decode, prompts).
 *
 * int4 exactly as bf16 would compute it on the dequantized weights: a nibble q becomes the bf16
 * number 128 + q by OR-ing it into 0x4300 (bf16 holds 128..143 exactly), and per group
 *   sum_k W x = scale * sum_k (128 + q) x + (zero - 136 * scale) * sum_k x,
 * the second term from the group sums of x, computed once per call. One 64-byte load holds 128
 * codes: read as 16 dwords, dword d has the codes of k = 8d .. 8d + 7 in its nibbles 0..7, so
 * (dword >> 4j) & 0x000F000F puts the pair (8d + j, 8d + j + 4) into lane d, one VDPBF16PS pair.
 * x is reordered once per call to match (xr below), so the weights need no shuffle at all.
 *
 * int4-q32 runs the same loops: they read a group's scale and zero through Bf16Groups (int4) or
 * Q32Groups, which turns a weight row's codes into fp32 scales and zeros (16 groups per few
 * instructions) just before the row's dot products. It reads 2 bytes per group of 32 where int4-g32
 * reads 4, and the loops then load fp32 instead of widening bf16.
 */
#include "woq_native.h"

#include <immintrin.h>

#include <atomic>
#include <cstdlib>
#include <cmath>
#include <memory>
#include <type_traits>

// GCC 12's AVX-512 intrinsics start from a deliberately undefined vector (_mm512_undefined_*),
// which its flow analysis reports as "may be used uninitialized" once inlined into templates.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#define AVX512_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

namespace {

using namespace woq;

constexpr int MAX_ROWS = 8;   // rows of x that share one pass over the weights
constexpr int ROW_BLOCK = 32; // weight rows per unit of work, kept in cache while the rows of x pass
constexpr int STREAM_BLOCK = 128; // weight rows per unit of work when the weights pass once
/*
 * With one row of x (decode), each thread reads STREAMS weight rows at once, from the STREAMS
 * parts of its block: more loads in flight than one stream gets from the prefetchers, and more
 * independent work per loop. On the synthetic 8B it took decode from 7.9 to 9.6-9.8 tok/s (int4),
 * 5.3-5.5 to 7.8-8.0 (int8) and 3.2-3.3 to 3.7-4.0 (bf16); see benchmarks/RESULTS.md. Two and
 * eight streams did worse than four in a streaming test.
 */
constexpr int STREAMS = 4;
constexpr int CHUNK = 128;    // int4: inputs per 64-byte load of codes
constexpr int INT8_GROUP = 32; // int8-g32: inputs per scale
// How far ahead of its weight stream a thread asks for lines: the hardware prefetchers alone left
// the int4 loop waiting on its loads (perf: a third of its samples on the load of the codes).
// Near a row's or the buffer's end these addresses run past the weights, by design: PREFETCHh is a
// hint that never faults on x86 (Intel SDM, "PREFETCHh": no exception for any address, and an
// unmapped one is simply dropped), so no read past a buffer's end happens. The loads themselves
// stop at the end (masked for tails); QuantizedLinearTest and KernelTailsTest run rows and inputs
// of every tail length against a bf16 matmul.
constexpr int PREFETCH_BYTES = 2048;

/*
 * A kernel's working buffer, 64-byte aligned, not initialized (every user writes what it reads),
 * none for a count of 0. Every 64-byte vector load from a std::vector's 16-byte-aligned memory
 * crosses a cache line and costs two: the prompt tiles and x are read that way millions of times a
 * call (the weights' alignment is the loader's job).
 */
template <typename T>
class Aligned {
  public:
    explicit Aligned(size_t count) : p_(nullptr) {
        if (count == 0) return;
        p_ = static_cast<T *>(std::aligned_alloc(64, (count * sizeof(T) + 63) / 64 * 64));
        if (p_ == nullptr) throw std::bad_alloc();
    }
    Aligned(const Aligned &) = delete;
    Aligned &operator=(const Aligned &) = delete;
    ~Aligned() { std::free(p_); }
    T *data() const { return p_; }

  private:
    T *p_;
};

/* Calls f with the compile-time row count 2..8 for `rows` (more than 8 counts as 8). */
template <typename F>
void with_rows(int rows, F f) {
    switch (rows) {
        case 2: f(std::integral_constant<int, 2>()); break;
        case 3: f(std::integral_constant<int, 3>()); break;
        case 4: f(std::integral_constant<int, 4>()); break;
        case 5: f(std::integral_constant<int, 5>()); break;
        case 6: f(std::integral_constant<int, 6>()); break;
        case 7: f(std::integral_constant<int, 7>()); break;
        default: f(std::integral_constant<int, 8>()); break;
    }
}

/* ---- int4 ---- */

/*
 * Where an int4 matrix keeps its groups' scales and zeros: as bf16 numbers (int4-g32/64/128), or as
 * 8-bit codes of the matrix's largest scale (int4-q32: scale = scale_max * 2^(-c / 16), zero point
 * zc / 16, so zero = (8 - zc / 16) * scale). The kernels below read a group's scale and zero
 * through Bf16Groups or Q32Groups; everything after that, the arithmetic included, is shared.
 */
struct Int4Groups {
    const uint16_t *scales, *zeros;          // int4: [n, groups] bf16
    const uint8_t *scale_codes, *zero_codes; // int4-q32: [n, groups]
    float scale_max;                         // int4-q32
};

struct Int4Job {
    const uint16_t *xr;  // [m, k] bf16, each chunk of 128 reordered (see reorder_for_int4)
    const float *xsum;   // [m, groups]: the sum of x over each group
    const uint8_t *nibbles;
    Int4Groups group;
    uint16_t *y;
    int m, n, k, g;
};

/* Chunk c of xr holds 4 vectors of 16 bf16 pairs; vector j, lane d: (x[128c + 8d + j], x[128c + 8d + j + 4]). */
void reorder_for_int4(const uint16_t *x, int m, int k, uint16_t *xr) {
    for (int r = 0; r < m; r++) {
        const uint16_t *src = x + (size_t)r * k;
        uint16_t *dst = xr + (size_t)r * k;
        for (int c = 0; c < k / CHUNK; c++) {
            for (int j = 0; j < 4; j++) {
                for (int d = 0; d < 16; d++) {
                    dst[c * CHUNK + j * 32 + 2 * d] = src[c * CHUNK + 8 * d + j];
                    dst[c * CHUNK + j * 32 + 2 * d + 1] = src[c * CHUNK + 8 * d + j + 4];
                }
            }
        }
    }
}

void group_sums(const uint16_t *x, int m, int k, int g, float *out) {
    const int groups = k / g;
    for (int r = 0; r < m; r++) {
        for (int gi = 0; gi < groups; gi++) {
            float s = 0.0f;
            const uint16_t *p = x + (size_t)r * k + (size_t)gi * g;
            for (int i = 0; i < g; i++) s += bf16_to_f32(p[i]);
            out[(size_t)r * groups + gi] = s;
        }
    }
}

/* int4: one weight row's groups, from group g0 on, read in place as the bf16 numbers they are. */
struct Bf16Groups {
    static constexpr bool FORMED = false; // needs no scratch
    const uint16_t *s, *z;
    Bf16Groups() = default;
    Bf16Groups(const Int4Groups &m, int n, int groups, int g0, int, float *)
        : s(m.scales + (size_t)n * groups + g0), z(m.zeros + (size_t)n * groups + g0) {}
    AVX512_BF16 __m512 scales(int first, __mmask16 mask) const { return load_bf16(s + first, mask); }
    AVX512_BF16 __m512 zeros(int first, __mmask16 mask) const { return load_bf16(z + first, mask); }
    /* The scales of groups first .. first + N (N < 16) in the low lanes. */
    template <int N>
    AVX512_BF16 __m512 few_scales(int first) const { return load_bf16(s + first, (__mmask16)((1u << N) - 1)); }
    AVX512_BF16 __m512 broadcast_scale(int gi) const {
        return _mm512_castsi512_ps(_mm512_set1_epi32((int)((uint32_t)s[gi] << 16)));
    }
    float scale(int gi) const { return bf16_to_f32(s[gi]); }
    float zero(int gi) const { return bf16_to_f32(z[gi]); }
    /* Nothing to do: the loops read the scales as they go, where the prefetchers follow them. */
    static void prefetch(const Int4Groups &, int, int) {}
    /* The row for one row of x (decode): read in place, its offsets taken after the dot products. */
    template <int BIAS = 136>
    static Bf16Groups with_offsets(const Int4Groups &m, int n, int groups, float *, const float *) {
        return Bf16Groups(m, n, groups, 0, groups, nullptr);
    }
    template <int BIAS = 136>
    AVX512_BF16 float offsets(const float *xsum, int groups) const;
};

/* 2^(-i / 16) for i = 0..15 in fp32, rounded from double as WeightFormat.Int4Q32.scaleRatio is. */
struct Q32Ratios {
    alignas(64) float r[16];
    Q32Ratios() {
        for (int i = 0; i < 16; i++) r[i] = (float)std::exp2(-i / 16.0);
    }
};
const Q32Ratios q32_ratios;

/*
 * int4-q32: `count` groups' scale and zero codes as fp32 scales s and zeros z, 16 at a time:
 * scale = scale_max * 2^(-c / 16), zero = (8 - zc / 16) * scale, each product rounded once in fp32,
 * as Java's WeightFormat.Int4Q32 forms them. 2^(-c / 16) is 2^(-(c % 16) / 16) from the table
 * (VPERMD reads only the index's low 4 bits) with c / 16 taken off its exponent field: exactly the
 * fp32 rounding of 2^(-c / 16), as all 256 are normal numbers. Inlined into the loops, because a
 * call there makes the caller spill its vector registers (every ZMM is caller-saved).
 */
template <bool OFFSETS, int BIAS = 136>
AVX512_BF16 __attribute__((always_inline)) inline float q32_form(const uint8_t *sc, const uint8_t *zc, float scale_max,
                                                                 int count, float *s, float *z, const float *xsum) {
    __m512 acc = _mm512_setzero_ps();
    const __m512 bias = _mm512_set1_ps(-(float)BIAS);
    const __m512i ratios = _mm512_load_si512(q32_ratios.r);
    const __m512 smax = _mm512_set1_ps(scale_max), eight = _mm512_set1_ps(8.0f), sixteenth = _mm512_set1_ps(1.0f / 16.0f);
    for (int i = 0; i < count; i += 16) {
        const int left = count - i;
        const __mmask16 mask = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
        const __m512i c = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, sc + i));
        const __m512i octaves = _mm512_slli_epi32(_mm512_srli_epi32(c, 4), 23);
        const __m512 ratio = _mm512_castsi512_ps(_mm512_sub_epi32(_mm512_permutexvar_epi32(c, ratios), octaves));
        const __m512 scale = _mm512_maskz_mul_ps(mask, smax, ratio);
        const __m512 zc16 = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, zc + i)));
        const __m512 zero = _mm512_mul_ps(_mm512_fnmadd_ps(zc16, sixteenth, eight), scale); // 8 - zc / 16: exact
        if (OFFSETS) {
            // int4_offsets' arithmetic, lane for lane, on the zeros as they are formed
            acc = _mm512_fmadd_ps(_mm512_fmadd_ps(bias, scale, zero), _mm512_maskz_loadu_ps(mask, xsum + i), acc);
        }
        if (left >= 16) {
            _mm512_storeu_ps(s + i, scale);
            if (!OFFSETS) _mm512_storeu_ps(z + i, zero);
        } else {
            _mm512_mask_storeu_ps(s + i, mask, scale);
            if (!OFFSETS) _mm512_mask_storeu_ps(z + i, mask, zero);
        }
    }
    return OFFSETS ? _mm512_reduce_add_ps(acc) : 0.0f;
}

/*
 * int4-q32: one weight row's groups g0 .. g0 + count, formed from their codes into fp32 (scratch:
 * 2 * count floats) when the row is taken, right before its dot products: the codes are read once
 * and the loops then read fp32 scales and zeros, cheaper per chunk than int4's bf16 ones.
 */
struct Q32Groups {
    static constexpr bool FORMED = true;
    const float *s, *z;
    float off; // with_offsets: the row's offsets, taken while forming it; its zeros are not kept
    Q32Groups() = default;
    AVX512_BF16 __attribute__((always_inline)) Q32Groups(const Int4Groups &m, int n, int groups, int g0, int count, float *scratch)
        : s(scratch), z(scratch + count), off(0.0f) {
        const size_t at = (size_t)n * groups + g0;
        q32_form<false>(m.scale_codes + at, m.zero_codes + at, m.scale_max, count, scratch, scratch + count, nullptr);
    }
    /*
     * Asks for row n's codes ahead of its turn: they are read all at once when the row is taken,
     * and missing the cache there (as they did) stalled the loop on each line, a third slower
     * than int4-g32. Past the matrix's end the hint reads nothing (see PREFETCH_BYTES).
     */
    static void prefetch(const Int4Groups &m, int n, int groups) {
        const size_t at = (size_t)n * groups;
        for (int b = 0; b < groups; b += 64) {
            _mm_prefetch((const char *)(m.scale_codes + at + b), _MM_HINT_T0);
            _mm_prefetch((const char *)(m.zero_codes + at + b), _MM_HINT_T0);
        }
    }
    /* The whole row for one row of x (decode): its scales, and its offsets against xsum in the same pass. */
    template <int BIAS = 136>
    AVX512_BF16 __attribute__((always_inline)) static Q32Groups with_offsets(const Int4Groups &m, int n, int groups,
                                                                             float *scratch, const float *xsum) {
        Q32Groups q;
        q.s = scratch;
        q.z = nullptr;
        q.off = q32_form<true, BIAS>(m.scale_codes + (size_t)n * groups, m.zero_codes + (size_t)n * groups, m.scale_max, groups,
                               scratch, nullptr, xsum);
        return q;
    }
    AVX512_BF16 __m512 scales(int first, __mmask16 mask) const { return _mm512_maskz_loadu_ps(mask, s + first); }
    AVX512_BF16 __m512 zeros(int first, __mmask16 mask) const { return _mm512_maskz_loadu_ps(mask, z + first); }
    /* A plain load where it can: GCC keeps the loops' accumulators in memory around a masked
       load from a float pointer (each stored on every chunk: decode at half the speed). */
    template <int N>
    AVX512_BF16 __m512 few_scales(int first) const {
        if constexpr (N == 4) return _mm512_castps128_ps512(_mm_loadu_ps(s + first));
        if constexpr (N == 2) return _mm512_castpd_ps(_mm512_castpd128_pd512(_mm_load_sd((const double *)(s + first))));
        return _mm512_maskz_loadu_ps((__mmask16)((1u << N) - 1), s + first);
    }
    AVX512_BF16 __m512 broadcast_scale(int gi) const { return _mm512_set1_ps(s[gi]); }
    float scale(int gi) const { return s[gi]; }
    float zero(int gi) const { return z[gi]; }
    template <int BIAS = 136>
    AVX512_BF16 float offsets(const float *, int) const { return off; }
};

/* The fp32 scale of each lane's group in chunk c (lane d covers inputs 128c + 8d .. + 7). */
template <int G, typename S>
AVX512_BF16 inline __m512 lane_scales(const S &row, int c) {
    if (G == 128) return row.broadcast_scale(c);
    constexpr int per_chunk = CHUNK / G;
    const __m512 s = row.template few_scales<per_chunk>(c * per_chunk);
    const __m512i lane_group = G == 64 ? _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0)
                                       : _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
    return _mm512_permutexvar_ps(lane_group, s);
}

/*
 * sum over groups of (zero - BIAS * scale) * xsum, for one weight row and one row of x: BIAS is
 * 136 where the codes enter the dot products as 128 + q (bf16), 8 where they enter as q (int8).
 */
template <typename S, int BIAS = 136>
AVX512_BF16 inline float int4_offsets(const S &row, const float *xsum, int groups) {
    __m512 acc = _mm512_setzero_ps();
    const __m512 bias = _mm512_set1_ps(-(float)BIAS);
    for (int gi = 0; gi < groups; gi += 16) {
        const int left = groups - gi;
        const __mmask16 mask = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
        const __m512 sc = row.scales(gi, mask), ze = row.zeros(gi, mask);
        const __m512 xs = _mm512_maskz_loadu_ps(mask, xsum + gi);
        acc = _mm512_fmadd_ps(_mm512_fmadd_ps(bias, sc, ze), xs, acc);
    }
    return _mm512_reduce_add_ps(acc);
}

template <int BIAS>
AVX512_BF16 float Bf16Groups::offsets(const float *xsum, int groups) const {
    return int4_offsets<Bf16Groups, BIAS>(*this, xsum, groups);
}

/* scratch: 2 * groups floats where S forms its groups (Q32Groups) */
template <int G, int R, typename S>
AVX512_BF16 void int4_rows(const Int4Job *j, int n0, int n1, int m0, float *scratch) {
    const int chunks = j->k / CHUNK, groups = j->k / G;
    const __m512i nibble = _mm512_set1_epi32(0x000F000F);
    const __m512i bias = _mm512_set1_epi32(0x43004300); // bf16 128.0 in both halves: OR-ing q gives 128 + q
    const uint16_t *xr = j->xr + (size_t)m0 * j->k;
    for (int n = n0; n < n1; n++) {
        const uint8_t *w = j->nibbles + (size_t)n * (j->k / 2);
        const S s(j->group, n, groups, 0, groups, scratch);
        S::prefetch(j->group, n + 1, groups);
        __m512 acc[R];
        for (int i = 0; i < R; i++) acc[i] = _mm512_setzero_ps();
        for (int c = 0; c < chunks; c++) {
            _mm_prefetch((const char *)(w + 64 * c) + PREFETCH_BYTES, _MM_HINT_T0);
            const __m512i raw = _mm512_loadu_si512(w + 64 * c);
            const __m512bh q0 = (__m512bh)_mm512_ternarylogic_epi32(raw, nibble, bias, 0xEA);
            const __m512bh q1 = (__m512bh)_mm512_ternarylogic_epi32(_mm512_srli_epi32(raw, 4), nibble, bias, 0xEA);
            const __m512bh q2 = (__m512bh)_mm512_ternarylogic_epi32(_mm512_srli_epi32(raw, 8), nibble, bias, 0xEA);
            const __m512bh q3 = (__m512bh)_mm512_ternarylogic_epi32(_mm512_srli_epi32(raw, 12), nibble, bias, 0xEA);
            const __m512 scale = lane_scales<G>(s, c);
            for (int i = 0; i < R; i++) {
                const uint16_t *xc = xr + (size_t)i * j->k + (size_t)c * CHUNK;
                __m512 t = _mm512_dpbf16_ps(_mm512_setzero_ps(), q0, (__m512bh)_mm512_loadu_si512(xc));
                t = _mm512_dpbf16_ps(t, q1, (__m512bh)_mm512_loadu_si512(xc + 32));
                t = _mm512_dpbf16_ps(t, q2, (__m512bh)_mm512_loadu_si512(xc + 64));
                t = _mm512_dpbf16_ps(t, q3, (__m512bh)_mm512_loadu_si512(xc + 96));
                acc[i] = _mm512_fmadd_ps(t, scale, acc[i]);
            }
        }
        for (int i = 0; i < R; i++) {
            const float off = int4_offsets(s, j->xsum + (size_t)(m0 + i) * groups, groups);
            j->y[(size_t)(m0 + i) * j->n + n] = f32_to_bf16(_mm512_reduce_add_ps(acc[i]) + off);
        }
    }
}

/*
 * The weight rows step r of a W-stream loop reads: row r of each of the W parts of [n0, n1). A
 * part that ends before n1 repeats row n0 + r (computed, not stored), so the loop needs no branch.
 */
template <int W>
struct StreamRows {
    int n[W];
    bool real[W];
    StreamRows(int n0, int n1, int part, int r) {
        for (int i = 0; i < W; i++) {
            n[i] = n0 + i * part + r;
            real[i] = n[i] < n1;
            if (!real[i]) n[i] = n0 + r;
        }
    }
};

/* One row of x, W weight rows at once (from the W parts of the block): W streams, and two
   independent dependency chains per row and chunk instead of one chain of four VDPBF16PS.
   scratch: 2 * W * groups floats where S forms its groups (Q32Groups). */
template <int G, int W, typename S>
AVX512_BF16 void int4_streams(const Int4Job *j, int n0, int n1, int m0, float *scratch) {
    const int chunks = j->k / CHUNK, groups = j->k / G, part = (n1 - n0 + W - 1) / W;
    const __m512i nibble = _mm512_set1_epi32(0x000F000F);
    const __m512i bias = _mm512_set1_epi32(0x43004300);
    const uint16_t *xr = j->xr + (size_t)m0 * j->k;
    const float *xsum = j->xsum + (size_t)m0 * groups;
    uint16_t *y = j->y + (size_t)m0 * j->n;
    for (int r = 0; r < part; r++) {
        const StreamRows<W> rows(n0, n1, part, r);
        const uint8_t *w[W];
        for (int i = 0; i < W; i++) w[i] = j->nibbles + (size_t)rows.n[i] * (j->k / 2);
        S s[W]; // a Q32Groups forms its row's groups (and offsets) here, each stream in its own part of scratch
        for (int i = 0; i < W; i++) {
            s[i] = S::template with_offsets<>(j->group, rows.n[i], groups, S::FORMED ? scratch + (size_t)2 * i * groups : nullptr, xsum);
            S::prefetch(j->group, rows.n[i] + 1, groups);
        }
        __m512 acc[W];
        for (int i = 0; i < W; i++) acc[i] = _mm512_setzero_ps();
        for (int c = 0; c < chunks; c++) {
            const uint16_t *xc = xr + (size_t)c * CHUNK;
            const __m512bh x0 = (__m512bh)_mm512_loadu_si512(xc), x1 = (__m512bh)_mm512_loadu_si512(xc + 32),
                           x2 = (__m512bh)_mm512_loadu_si512(xc + 64), x3 = (__m512bh)_mm512_loadu_si512(xc + 96);
            for (int i = 0; i < W; i++) {
                _mm_prefetch((const char *)(w[i] + 64 * c) + PREFETCH_BYTES, _MM_HINT_T0);
                const __m512i raw = _mm512_loadu_si512(w[i] + 64 * c);
                __m512 t = _mm512_dpbf16_ps(_mm512_setzero_ps(), (__m512bh)_mm512_ternarylogic_epi32(raw, nibble, bias, 0xEA), x0);
                __m512 u = _mm512_dpbf16_ps(_mm512_setzero_ps(), (__m512bh)_mm512_ternarylogic_epi32(_mm512_srli_epi32(raw, 8), nibble, bias, 0xEA), x2);
                t = _mm512_dpbf16_ps(t, (__m512bh)_mm512_ternarylogic_epi32(_mm512_srli_epi32(raw, 4), nibble, bias, 0xEA), x1);
                u = _mm512_dpbf16_ps(u, (__m512bh)_mm512_ternarylogic_epi32(_mm512_srli_epi32(raw, 12), nibble, bias, 0xEA), x3);
                acc[i] = _mm512_fmadd_ps(_mm512_add_ps(t, u), lane_scales<G>(s[i], c), acc[i]);
            }
        }
        for (int i = 0; i < W; i++) {
            if (!rows.real[i]) continue;
            const float off = s[i].template offsets<>(xsum, groups);
            y[rows.n[i]] = f32_to_bf16(_mm512_reduce_add_ps(acc[i]) + off);
        }
    }
}

template <int G, typename S>
void int4_block(const Int4Job *j, int n0, int n1, int m0, int rows) {
    // Q32Groups' fp32 scales and zeros for the rows in flight: 2 KiB a stream for 8,192 inputs.
    Aligned<float> scratch(S::FORMED ? (size_t)2 * STREAMS * (j->k / G) : 0);
    if (rows == 1) {
        int4_streams<G, STREAMS, S>(j, n0, n1, m0, scratch.data());
        return;
    }
    with_rows(rows, [&](auto r) { int4_rows<G, decltype(r)::value, S>(j, n0, n1, m0, scratch.data()); });
}

/* ---- prompts: unpack a tile once, then a register-blocked bf16 GEMM over every token ---- */

/*
 * With many rows of x (a prompt), arithmetic bounds the matmul, not memory. The decode loops above
 * unpack each 64-byte load of codes for at most MAX_ROWS rows of x and read x from L2 for every
 * VDPBF16PS. Here a tile of PF_ROWS weight rows by PF_K inputs is unpacked once into a per-thread
 * buffer that stays in L2, laid out as VDPBF16PS wants its second operand: dword (p, r) holds the
 * pair of inputs (2p, 2p + 1) of weight row r. Then every token of the prompt passes over it,
 * PF_MR at a time: per pair of inputs, two vector loads of weights, PF_MR broadcasts of x and
 * 2 * PF_MR VDPBF16PS into 2 * PF_MR accumulators held in registers, so no horizontal sums. x is
 * regrouped once per call so that the PF_MR pairs one step broadcasts are adjacent (48 bytes): read
 * in place, the PF_MR rows of a long prompt lie a row (8 KiB for the 8B's 4096 inputs) apart, all
 * in the same L1 sets, and evict each other. The same path runs a 9-token and a 2,000-token prompt;
 * the unpacking is amortized over the prompt's tokens.
 *
 * The weights enter the multiply exactly, as in the decode loops, so that a prompt prefilled in one
 * pass, in chunks or token by token gives the same logits up to fp32 rounding: the tile holds the
 * codes as bf16 integers (int4: q - 8, int8: q), and the scales multiply fp32 sums. For int4 each
 * group's sum over its g inputs is taken apart (in the registers), then
 *   y += scale[n][group] * sum_group (q - 8) x + zero[n][group] * sum_group x
 * into an fp32 block in L1, with the group sums of x computed once per call. Rounding each
 * dequantized weight (q - 8) * scale + zero to bf16 instead, as this kernel did before, moved
 * logits of MSE-searched weights (whose scales are not powers of two) to a cosine of 0.99987
 * against token-by-token decoding.
 */
constexpr int PF_ROWS = 32;  // weight rows per tile: two vectors of 16 outputs
constexpr int PF_K = 1024;   // inputs per tile: 64 KiB of bf16 weights, in L2 with the x it meets
constexpr int PF_MR = 12;    // tokens per register block: 24 accumulators
constexpr int PF_GROUPS = PF_K / 32; // most int4 groups in one tile

struct PrefillJob;
/*
 * Rows [n0, n0 + PF_ROWS) x inputs [k0, k0 + kl) of the codes as bf16 pairs into buf [kl / 2][PF_ROWS];
 * for int4, also each group's scales and zeros into gs and gz [kl / g][PF_ROWS] fp32.
 */
using UnpackTile = void (*)(const PrefillJob *j, int n0, int k0, int kl, uint32_t *buf, float *gs, float *gz);

struct PrefillJob {
    const uint32_t *xq; // [ceil(m / PF_MR)][k / 2][PF_MR] bf16 pairs (see regroup_for_prefill)
    const float *xsum;  // int4: [m, k / g] the sum of x over each group
    UnpackTile unpack;
    const uint8_t *nibbles;         // int4
    Int4Groups group;               // int4: each group's scale and zero, as bf16 or as q32 codes
    const int8_t *codes;            // int8: [n, k]
    const uint16_t *out_scales;     // [n] bf16 multiplying each output's sum, or null (int8: its scales)
    uint16_t *y;
    int m, n, k, g; // g: the group size (int4; int8-g32: 32); 0 for int8 (one scale per row)
    std::atomic<int> next; // the next tile of PF_ROWS weight rows
    // int8-g32: [n, k / 32] bf16. Last, so that the other formats' initializers leave it null.
    const uint16_t *code_scales = nullptr;
    const uint16_t *bf16_weights = nullptr; // bf16: [n, k]
    /* int4's groups have a zero point (the sum of x over the group times zero); int8's have none. */
    bool zeros_term() const { return nibbles != nullptr; }
};

/* r[0..16): 16 rows of 16 dwords; afterwards r[d] holds dword d of every row, row i in lane i. */
AVX512_BF16 inline void transpose_16x16(__m512i r[16]) {
    __m512i t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);     // rows i, i+1: dwords 0, 1 of each 128-bit lane
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]); // dwords 2, 3
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);     // dword 0 of each lane, rows i .. i+3
        r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]); // dword 1
        r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    // r[4q + c]: lane L holds dword 4L + c of rows 4q .. 4q+3; gather the lanes.
    for (int c = 0; c < 4; c++) {
        t[c] = _mm512_shuffle_i32x4(r[c], r[4 + c], 0x88);      // lanes 0, 2 of rows 0-3, then of rows 4-7
        t[4 + c] = _mm512_shuffle_i32x4(r[c], r[4 + c], 0xDD);  // lanes 1, 3
        t[8 + c] = _mm512_shuffle_i32x4(r[8 + c], r[12 + c], 0x88);
        t[12 + c] = _mm512_shuffle_i32x4(r[8 + c], r[12 + c], 0xDD);
    }
    for (int c = 0; c < 4; c++) {
        r[c] = _mm512_shuffle_i32x4(t[c], t[8 + c], 0x88);           // lane 0: dword c
        r[8 + c] = _mm512_shuffle_i32x4(t[c], t[8 + c], 0xDD);       // lane 2: dword 8 + c
        r[4 + c] = _mm512_shuffle_i32x4(t[4 + c], t[12 + c], 0x88);  // lane 1: dword 4 + c
        r[12 + c] = _mm512_shuffle_i32x4(t[4 + c], t[12 + c], 0xDD); // lane 3: dword 12 + c
    }
}

/*
 * The first `dwords` dwords (the rest zero, not read) of 16 rows `row_bytes` apart from `first`,
 * transposed: v[d] holds dword d of every row, row i in lane i. Each row's line PREFETCH_BYTES on
 * is asked for on the way, the same rows' next tile: a tile's rows are 32 streams, more than the
 * hardware prefetchers follow, and a short prompt would otherwise wait for them.
 */
AVX512_BF16 inline void load_transposed(const uint8_t *first, size_t row_bytes, int dwords, __m512i v[16]) {
    const __mmask16 mask = (__mmask16)((1u << dwords) - 1);
    for (int i = 0; i < 16; i++) {
        _mm_prefetch((const char *)(first + i * row_bytes) + PREFETCH_BYTES, _MM_HINT_T0);
        v[i] = _mm512_maskz_loadu_epi32(mask, first + i * row_bytes);
    }
    transpose_16x16(v);
}

/*
 * S: Bf16Groups (int4) or Q32Groups (int4-q32), how the tile's groups' scales and zeros are read.
 * The codes go in by 16 rows x 128 inputs (kl is a multiple of 128, as int4_mm's `in` is): 16
 * loads of 64 bytes, a 16 x 16 dword transpose (each dword then 8 codes of one row, a row per
 * lane), and for each of its 4 bytes (a pair of inputs) a VPSHUFB that puts the byte in both words
 * of each dword, a shift of the high word by 4, and VPERMW into a table of q - 8 in bf16 (exact:
 * small integers), which looks at the low 5 bits of the low word: the table repeats after 16.
 * Scattering each row's pairs instead took most of a 16-token prompt's time.
 */
template <typename S>
AVX512_BF16 void int4_unpack_tile(const PrefillJob *j, int n0, int k0, int kl, uint32_t *buf, float *gs, float *gz) {
    float scratch[2 * PF_GROUPS]; // where Q32Groups forms one row's groups of the tile
    const int groups = j->k / j->g, g0 = k0 / j->g, tile_groups = kl / j->g;
    const size_t row_bytes = (size_t)j->k / 2;
    for (int r = 0; r < PF_ROWS; r++) {
        const S s(j->group, n0 + r, groups, g0, tile_groups, scratch);
        for (int gi = 0; gi < tile_groups; gi++) {
            gs[gi * PF_ROWS + r] = s.scale(gi);
            gz[gi * PF_ROWS + r] = s.zero(gi);
        }
    }
    alignas(64) uint16_t table[32];
    for (int c = 0; c < 32; c++) {
        const float f = (float)((c & 15) - 8);
        uint32_t u;
        std::memcpy(&u, &f, 4);
        table[c] = (uint16_t)(u >> 16); // exact: the low half of a small integer's fp32 is zero
    }
    const __m512i bf16_of = _mm512_load_si512(table);
    const __m512i high_by_4 = _mm512_set1_epi32(4 << 16);
    // Byte q of each dword into both of its words (zero-extended): VPSHUFB's indices per 128-bit lane.
    __m512i byte_q[4];
    for (int q = 0; q < 4; q++) {
        const uint32_t first = 0x80008000u | (uint32_t)q << 16 | (uint32_t)q; // bytes q, 0x80, q, 0x80 of dword 0
        byte_q[q] = _mm512_add_epi32(_mm512_set1_epi32((int)first), _mm512_set4_epi32(0x000C000C, 0x00080008, 0x00040004, 0));
    }
    for (int r0 = 0; r0 < PF_ROWS; r0 += 16) {
        const uint8_t *w = j->nibbles + (size_t)(n0 + r0) * row_bytes + k0 / 2;
        for (int kk = 0; kk < kl; kk += 128) {
            __m512i v[16];
            for (int i = 0; i < 16; i++) v[i] = _mm512_loadu_si512(w + i * row_bytes + kk / 2);
            transpose_16x16(v);
            for (int d = 0; d < 16; d++) {
                uint32_t *pair = buf + (size_t)(kk / 2 + 4 * d) * PF_ROWS + r0;
                for (int q = 0; q < 4; q++) {
                    const __m512i codes = _mm512_srlv_epi16(_mm512_shuffle_epi8(v[d], byte_q[q]), high_by_4);
                    _mm512_store_si512(pair + q * PF_ROWS, _mm512_permutexvar_epi16(codes, bf16_of));
                }
            }
        }
    }
}

/* xq[b][p][i] = the pair of inputs (2p, 2p + 1) of row PF_MR * b + i of x; rows past m are zero. */
void regroup_for_prefill(const uint16_t *x, int m, int k, uint32_t *xq) {
    const int blocks = (m + PF_MR - 1) / PF_MR, pairs = k / 2;
    for (int b = 0; b < blocks; b++) {
        uint32_t *dst = xq + (size_t)b * pairs * PF_MR;
        for (int i = 0; i < PF_MR; i++) {
            const int row = b * PF_MR + i;
            if (row >= m) {
                for (int p = 0; p < pairs; p++) dst[(size_t)p * PF_MR + i] = 0;
                continue;
            }
            const uint16_t *src = x + (size_t)row * k;
            for (int p = 0; p < pairs; p++) std::memcpy(dst + (size_t)p * PF_MR + i, src + 2 * p, 4);
        }
    }
}

/* A dword of 4 int8 codes per lane: byte `b`'s code as fp32 (exact), its bits in the lane. */
template <int B>
AVX512_BF16 inline __m512i int8_byte_as_f32(__m512i v) {
    const __m512i at_top = B == 3 ? v : _mm512_slli_epi32(v, 24 - 8 * B);
    return _mm512_castps_si512(_mm512_cvtepi32_ps(_mm512_srai_epi32(at_top, 24)));
}

/*
 * int8: the codes themselves as bf16 (exact); the row's scale multiplies the sums (out_scales), so
 * the result is that of a matmul on q * scale without rounding the product to bf16. int8-g32
 * (G = 32): each group's scale into gs, to multiply the group's sums as int4's do
 * (prefill_block_groups, without a zero term). The codes go in by 16 rows x 64 inputs: 16 loads
 * of 64 bytes, the 16 x 16 dword transpose (each dword then 4 codes of one row, a row per lane),
 * and per dword two pairs of bf16: a code's fp32 has its low 16 bits zero (at most 8 significant
 * bits), so the pair is the even code's fp32 shifted down OR the odd code's. A scatter per row of
 * 16 pairs took most of a short prompt's time, as it did for int4.
 */
template <int G>
AVX512_BF16 void int8_unpack_tile(const PrefillJob *j, int n0, int k0, int kl, uint32_t *buf, float *gs, float *) {
    const size_t k = (size_t)j->k;
    if constexpr (G != 0) {
        for (int r = 0; r < PF_ROWS; r++) {
            const uint16_t *s = j->code_scales + (size_t)(n0 + r) * (k / G) + k0 / G;
            for (int gi = 0; gi < kl / G; gi++) gs[gi * PF_ROWS + r] = bf16_to_f32(s[gi]);
        }
    }
    for (int r0 = 0; r0 < PF_ROWS; r0 += 16) {
        const uint8_t *w = (const uint8_t *)j->codes + (size_t)(n0 + r0) * k + k0;
        for (int kk = 0; kk < kl; kk += 64) {
            const int dwords = kl - kk >= 64 ? 16 : (kl - kk) / 4; // kl is a multiple of 32
            __m512i v[16];
            load_transposed(w + kk, k, dwords, v);
            for (int d = 0; d < dwords; d++) {
                uint32_t *pair = buf + (size_t)(kk / 2 + 2 * d) * PF_ROWS + r0;
                const __m512i low = _mm512_or_si512(_mm512_srli_epi32(int8_byte_as_f32<0>(v[d]), 16), int8_byte_as_f32<1>(v[d]));
                const __m512i high = _mm512_or_si512(_mm512_srli_epi32(int8_byte_as_f32<2>(v[d]), 16), int8_byte_as_f32<3>(v[d]));
                _mm512_store_si512(pair, low);
                _mm512_store_si512(pair + PF_ROWS, high);
            }
        }
    }
}

/*
 * bf16: the weights themselves; a row's pair (2p, 2p + 1) is already one dword, so 16 rows x 32
 * inputs go in by the same 16 x 16 dword transpose, pair d of the 16 rows then in one vector,
 * which is the tile's layout.
 */
AVX512_BF16 void bf16_unpack_tile(const PrefillJob *j, int n0, int k0, int kl, uint32_t *buf, float *, float *) {
    const size_t row_bytes = (size_t)j->k * 2;
    for (int r0 = 0; r0 < PF_ROWS; r0 += 16) {
        const uint8_t *w = (const uint8_t *)(j->bf16_weights + (size_t)(n0 + r0) * j->k + k0);
        for (int kk = 0; kk < kl; kk += 32) {
            __m512i v[16];
            load_transposed(w + 2 * kk, row_bytes, 16, v);
            for (int d = 0; d < 16; d++) _mm512_store_si512(buf + (size_t)(kk / 2 + d) * PF_ROWS + r0, v[d]);
        }
    }
}

/* c[i][0..32) (+)= x[i] . tile for MR tokens over `pairs` input pairs; xq as regrouped, at the first pair. */
template <int MR>
AVX512_BF16 void prefill_block(const uint32_t *tile, int pairs, const uint32_t *xq, float *c, bool first) {
    __m512 acc[MR][2];
    for (int i = 0; i < MR; i++) {
        acc[i][0] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(c + i * PF_ROWS);
        acc[i][1] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(c + i * PF_ROWS + 16);
    }
    for (int p = 0; p < pairs; p++) {
        const __m512bh w0 = (__m512bh)_mm512_loadu_si512(tile + (size_t)p * PF_ROWS);
        const __m512bh w1 = (__m512bh)_mm512_loadu_si512(tile + (size_t)p * PF_ROWS + 16);
        for (int i = 0; i < MR; i++) {
            const __m512bh xv = (__m512bh)_mm512_set1_epi32((int)xq[(size_t)p * PF_MR + i]);
            acc[i][0] = _mm512_dpbf16_ps(acc[i][0], xv, w0);
            acc[i][1] = _mm512_dpbf16_ps(acc[i][1], xv, w1);
        }
    }
    for (int i = 0; i < MR; i++) {
        _mm512_storeu_ps(c + i * PF_ROWS, acc[i][0]);
        _mm512_storeu_ps(c + i * PF_ROWS + 16, acc[i][1]);
    }
}

/*
 * int4: c[i][0..32) (+)= sum over the groups of the tile of gs[group] * (x[i] . tile over the
 * group) + gz[group] * xsum[i][group], for MR tokens; int8-g32 (ZEROS false) the same without
 * the zero term. Each group's dot products start from zero in
 * registers; only at the group's end do they meet the scales, and c (in L1) takes the result.
 * xsum at the tile's first group of token 0; `stride` its distance from one token to the next.
 */
template <int MR, bool ZEROS>
AVX512_BF16 void prefill_block_groups(const uint32_t *tile, int pairs, int group_pairs, const uint32_t *xq, float *c,
                                      bool first, const float *gs, const float *gz, const float *xsum, int stride) {
    for (int p0 = 0, gi = 0; p0 < pairs; p0 += group_pairs, gi++) {
        __m512 acc[MR][2];
        for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
        for (int p = p0; p < p0 + group_pairs; p++) {
            const __m512bh w0 = (__m512bh)_mm512_loadu_si512(tile + (size_t)p * PF_ROWS);
            const __m512bh w1 = (__m512bh)_mm512_loadu_si512(tile + (size_t)p * PF_ROWS + 16);
            for (int i = 0; i < MR; i++) {
                const __m512bh xv = (__m512bh)_mm512_set1_epi32((int)xq[(size_t)p * PF_MR + i]);
                acc[i][0] = _mm512_dpbf16_ps(acc[i][0], xv, w0);
                acc[i][1] = _mm512_dpbf16_ps(acc[i][1], xv, w1);
            }
        }
        const __m512 s0 = _mm512_loadu_ps(gs + gi * PF_ROWS), s1 = _mm512_loadu_ps(gs + gi * PF_ROWS + 16);
        const bool fresh = first && gi == 0;
        for (int i = 0; i < MR; i++) {
            __m512 c0 = fresh ? _mm512_setzero_ps() : _mm512_loadu_ps(c + i * PF_ROWS);
            __m512 c1 = fresh ? _mm512_setzero_ps() : _mm512_loadu_ps(c + i * PF_ROWS + 16);
            if constexpr (ZEROS) {
                const __m512 xs = _mm512_set1_ps(xsum[(size_t)i * stride + gi]);
                c0 = _mm512_fmadd_ps(_mm512_loadu_ps(gz + gi * PF_ROWS), xs, c0);
                c1 = _mm512_fmadd_ps(_mm512_loadu_ps(gz + gi * PF_ROWS + 16), xs, c1);
            }
            _mm512_storeu_ps(c + i * PF_ROWS, _mm512_fmadd_ps(acc[i][0], s0, c0));
            _mm512_storeu_ps(c + i * PF_ROWS + 16, _mm512_fmadd_ps(acc[i][1], s1, c1));
        }
    }
}

/* The block for `rows` (1..MR) tokens of the tile: int4's and int8-g32's by groups (j->g set), int8's whole. */
template <int MR>
void prefill_block_n(const PrefillJob *j, const uint32_t *tile, int pairs, const uint32_t *xq, float *c, bool first,
                     int rows, const float *gs, const float *gz, const float *xsum) {
    if constexpr (MR > 1) {
        if (rows < MR) {
            prefill_block_n<MR - 1>(j, tile, pairs, xq, c, first, rows, gs, gz, xsum);
            return;
        }
    }
    if (j->g == 0) prefill_block<MR>(tile, pairs, xq, c, first);
    else if (j->zeros_term()) prefill_block_groups<MR, true>(tile, pairs, j->g / 2, xq, c, first, gs, gz, xsum, j->k / j->g);
    else prefill_block_groups<MR, false>(tile, pairs, j->g / 2, xq, c, first, gs, gz, xsum, j->k / j->g);
}

AVX512_BF16 void prefill_part(void *arg, int, int) {
    PrefillJob *j = static_cast<PrefillJob *>(arg);
    Aligned<uint32_t> tile((size_t)PF_K / 2 * PF_ROWS);
    Aligned<float> gs((size_t)PF_GROUPS * PF_ROWS), gz((size_t)PF_GROUPS * PF_ROWS);
    Aligned<float> c((size_t)j->m * PF_ROWS);
    const int tiles = j->n / PF_ROWS, groups = j->g != 0 && j->zeros_term() ? j->k / j->g : 0; // of xsum
    for (int t = j->next.fetch_add(1, std::memory_order_relaxed); t < tiles;
         t = j->next.fetch_add(1, std::memory_order_relaxed)) {
        const int n0 = t * PF_ROWS;
        for (int k0 = 0; k0 < j->k; k0 += PF_K) {
            const int kl = j->k - k0 < PF_K ? j->k - k0 : PF_K;
            j->unpack(j, n0, k0, kl, tile.data(), gs.data(), gz.data());
            for (int m0 = 0; m0 < j->m; m0 += PF_MR) {
                const int rows = j->m - m0 < PF_MR ? j->m - m0 : PF_MR;
                const uint32_t *xq = j->xq + ((size_t)(m0 / PF_MR) * (j->k / 2) + k0 / 2) * PF_MR;
                const float *xsum = groups != 0 ? j->xsum + (size_t)m0 * groups + k0 / j->g : nullptr;
                prefill_block_n<PF_MR>(j, tile.data(), kl / 2, xq, c.data() + (size_t)m0 * PF_ROWS, k0 == 0, rows,
                                       gs.data(), gz.data(), xsum);
            }
        }
        __m512 s0 = _mm512_set1_ps(1.0f), s1 = s0;
        if (j->out_scales != nullptr) {
            s0 = load_bf16(j->out_scales + n0, 0xFFFF);
            s1 = load_bf16(j->out_scales + n0 + 16, 0xFFFF);
        }
        for (int i = 0; i < j->m; i++) {
            uint16_t *y = j->y + (size_t)i * j->n + n0;
            const float *ci = c.data() + (size_t)i * PF_ROWS;
            _mm256_storeu_si256((__m256i *)y, (__m256i)_mm512_cvtneps_pbh(_mm512_mul_ps(_mm512_loadu_ps(ci), s0)));
            _mm256_storeu_si256((__m256i *)(y + 16),
                                (__m256i)_mm512_cvtneps_pbh(_mm512_mul_ps(_mm512_loadu_ps(ci + 16), s1)));
        }
    }
}

/* The prompt path takes more rows of x than one pass shares, whole tiles of weight rows, and
   inputs in whole 32s (int4's are in 128s). */
bool prefill_fits(int m, int n, int k) {
    return m > MAX_ROWS && n % PF_ROWS == 0 && k % 32 == 0;
}

/* Runs job (its unpack, weights, y, m, n, k, g set) over every tile, x regrouped (and, for int4, summed per group). */
void run_prefill(PrefillJob &job, const uint16_t *x) {
    Aligned<uint32_t> xq((size_t)(job.m + PF_MR - 1) / PF_MR * PF_MR * (job.k / 2));
    regroup_for_prefill(x, job.m, job.k, xq.data());
    job.xq = xq.data();
    const bool zeros = job.g != 0 && job.zeros_term();
    Aligned<float> xsum(zeros ? (size_t)job.m * (job.k / job.g) : 0);
    if (zeros) {
        group_sums(x, job.m, job.k, job.g, xsum.data());
        job.xsum = xsum.data();
    }
    parallel(prefill_part, &job, job.n / PF_ROWS);
}

/* ---- int4 on int8 activations (AVX-512 VNNI): prompts ---- */

/*
 * The bf16 tile above does 32 multiply-adds per VDPBF16PS; VPDPBUSD (u8 x s8, summed in int32) does
 * 64 at the same instruction rate on the CPUs that have both (benchmarks/RESULTS.md). So int4
 * prompts can take each token's x as int8, per block of 32 inputs with its own scale dx = max|x| / 127
 * (llama.cpp's Q8_0, which its int4 formats multiply against), and the weights as their codes
 * 0..15 (u8). With W = q * scale + (zero - 8 * scale) (int4's dequantization rearranged), per block:
 *   sum_k W x ~ dx * (scale * P + (zero - 8 * scale) * X),   P = sum_k q_k xq_k,  X = sum_k xq_k
 * P by VPDPBUSD, X and dx once per token and block. The tile holds dword (s, r) = the codes of
 * inputs 4s .. 4s + 3 of weight row r, a byte each, so a broadcast dword of x (4 inputs of one
 * token) meets 16 weight rows per instruction; every token passes over the tile while it is in L2.
 * The price is x's rounding to 8 bits (about 0.5% RMS of each block), which leaves the KL divergence
 * to the bf16 model where it was (benchmarks/RESULTS.md). Decoding then rounds x the same way
 * (int4_vnni_streams below): with x in bf16 there, a prompt's logits differed from token-by-token
 * decoding's by a cosine of 0.9996-0.9998; with both on int8 they agree as the bf16 paths do
 * (ChunkedPrefillTest).
 */
constexpr int INT4_X_BF16 = 0, INT4_X_INT8 = 1;
// What every int4 call multiplies its codes with: x in bf16 until woq_set_int4_activations says otherwise
// (the Java loader sets int8 where the CPU has VNNI).
std::atomic<int> int4_activations{INT4_X_BF16};

constexpr int VN_K = 2048;   // inputs per tile: 64 KiB of u8 codes
constexpr int VN_BLOCK = 32; // inputs per scale of x
constexpr int VN_STEPS = VN_BLOCK / 4; // dwords of x per block
constexpr int VN_BLOCKS = VN_K / VN_BLOCK;

#define AVX512_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,avx512vnni")))

struct VnniJob;
/* Where a tile of PF_ROWS weight rows starts: row n0, input k0 (n0 < 0: none). */
struct TileAt {
    int n0, k0;
};
/* Rows [n0, n0 + PF_ROWS) x inputs [k0, k0 + kl) as u8 codes into buf [kl / 4][PF_ROWS] dwords, and
   each block's scale and zero - 8 * scale into gs and gz [kl / 32][PF_ROWS] fp32; `next` is the
   tile the thread will likely unpack next, whose bytes it asks for on the way. */
using VnniUnpack = void (*)(const VnniJob *j, int n0, int k0, int kl, TileAt next, uint32_t *buf, float *gs, float *gz);

struct VnniJob {
    const uint32_t *xq;        // [ceil(m / PF_MR)][k / 4][PF_MR]: 4 int8 inputs of one token per dword
    const float *dx, *dxsum;   // [m, k / 32]: each block's scale, and the scale times the sum of its codes
    VnniUnpack unpack;
    const uint8_t *nibbles;
    Int4Groups group;
    uint16_t *y;
    int m, n, k, g;
    std::atomic<int> next; // the next tile of PF_ROWS weight rows
};

/*
 * One block of 32 inputs of x as int8, llama.cpp's Q8_0: codes round(x * 127 / max|x|) into q0
 * (inputs 0..15) and q1 (16..31) as int32 lanes; returns the block's scale max|x| / 127. The
 * prompt and the decode paths both round x here, so a prompt prefilled in one pass and token by
 * token meet the same codes.
 */
AVX512_VNNI inline float q8_block(const uint16_t *src, __m512i &q0, __m512i &q1) {
    const __m512 v0 = load_bf16(src, 0xFFFF), v1 = load_bf16(src + 16, 0xFFFF);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
    const __m512 inv = _mm512_set1_ps(amax > 0.0f ? 127.0f / amax : 0.0f);
    q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, inv));
    q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, inv));
    return amax / 127.0f;
}

/* x to int8 per block of 32, laid out for PF_MR tokens' broadcasts (rows past m are zero). */
AVX512_VNNI void quantize_for_vnni(const uint16_t *x, int m, int k, uint32_t *xq, float *dx, float *dxsum) {
    const int blocks = k / VN_BLOCK, steps = k / 4, padded = (m + PF_MR - 1) / PF_MR * PF_MR;
    for (int row = 0; row < padded; row++) {
        uint32_t *dst = xq + (size_t)(row / PF_MR) * steps * PF_MR + row % PF_MR;
        if (row >= m) {
            for (int s = 0; s < steps; s++) dst[(size_t)s * PF_MR] = 0;
            continue;
        }
        const uint16_t *src = x + (size_t)row * k;
        for (int b = 0; b < blocks; b++) {
            __m512i q0, q1;
            const float d = q8_block(src + b * VN_BLOCK, q0, q1);
            alignas(16) uint32_t words[VN_STEPS];
            _mm_store_si128((__m128i *)words, _mm512_cvtsepi32_epi8(q0));
            _mm_store_si128((__m128i *)(words + 4), _mm512_cvtsepi32_epi8(q1));
            for (int s = 0; s < VN_STEPS; s++) dst[(size_t)(b * VN_STEPS + s) * PF_MR] = words[s];
            dx[(size_t)row * blocks + b] = d;
            dxsum[(size_t)row * blocks + b] = d * (float)_mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
        }
    }
}

/*
 * S: Bf16Groups (int4) or Q32Groups (int4-q32), how the tile's groups' scales and zeros are read.
 * The codes go in by 16 rows x 128 inputs (kl is a multiple of 128, as int4_mm's `in` is): 16
 * loads of 64 bytes, a 16 x 16 dword transpose (each dword then 8 codes of one row, a row per
 * lane), and nibbles to bytes by VPSHUFB, two steps of the tile per dword. Scattering each row's
 * codes instead took 21% of a 128-token prompt's time, and most of a 16-token one's.
 */
template <typename S>
AVX512_VNNI void int4_unpack_vnni(const VnniJob *j, int n0, int k0, int kl, TileAt next, uint32_t *buf, float *gs, float *gz) {
    float scratch[2 * VN_BLOCKS]; // where Q32Groups forms one row's groups of the tile
    const int groups = j->k / j->g, g0 = k0 / j->g, tile_groups = kl / j->g, per_group = j->g / VN_BLOCK;
    const size_t row_bytes = (size_t)j->k / 2;
    /*
     * A tile reads 32 rows' runs of kl / 2 bytes, 16 rows at a time: more streams than the hardware
     * prefetchers follow, so without help each load waited on memory (perf: the unpacking took 62%
     * of a 16-token prompt's kernel time, the weights read at 7.8 GB/s). So for each line read here,
     * the line at the same place of the next tile is asked for: it arrives while this tile is
     * unpacked and multiplied.
     */
    const int next_kl = next.n0 < 0 ? 0 : (j->k - next.k0 < VN_K ? j->k - next.k0 : VN_K);
    const uint8_t *ahead = next.n0 < 0 ? nullptr : j->nibbles + (size_t)next.n0 * row_bytes + next.k0 / 2;
    for (int r = 0; r < PF_ROWS; r++) {
        if (next_kl > 0) S::prefetch(j->group, next.n0 + r, groups);
        const S s(j->group, n0 + r, groups, g0, tile_groups, scratch);
        for (int gi = 0; gi < tile_groups; gi++) {
            const float scale = s.scale(gi), zero = std::fma(-8.0f, scale, s.zero(gi));
            for (int b = gi * per_group; b < (gi + 1) * per_group; b++) {
                gs[b * PF_ROWS + r] = scale;
                gz[b * PF_ROWS + r] = zero;
            }
        }
    }
    // Within each dword of 8 codes (bytes b0..b3, even input in the low nibble): the first step
    // takes lo(b0) hi(b0) lo(b1) hi(b1), the second the same of b2, b3. VPSHUFB's indices per
    // 128-bit lane, little-endian dwords; 0xFF writes a zero byte.
    const __m512i lo_first = _mm512_set4_epi32((int)0xFF0DFF0C, (int)0xFF09FF08, (int)0xFF05FF04, (int)0xFF01FF00);
    const __m512i hi_first = _mm512_set4_epi32((int)0x0DFF0CFF, (int)0x09FF08FF, (int)0x05FF04FF, (int)0x01FF00FF);
    const __m512i lo_second = _mm512_set4_epi32((int)0xFF0FFF0E, (int)0xFF0BFF0A, (int)0xFF07FF06, (int)0xFF03FF02);
    const __m512i hi_second = _mm512_set4_epi32((int)0x0FFF0EFF, (int)0x0BFF0AFF, (int)0x07FF06FF, (int)0x03FF02FF);
    const __m512i low = _mm512_set1_epi8(0x0F);
    for (int r0 = 0; r0 < PF_ROWS; r0 += 16) {
        const uint8_t *w = j->nibbles + (size_t)(n0 + r0) * row_bytes + k0 / 2;
        for (int kk = 0; kk < kl; kk += 128) {
            if (kk < next_kl) {
                for (int i = 0; i < 16; i++) _mm_prefetch((const char *)(ahead + (r0 + i) * row_bytes + kk / 2), _MM_HINT_T0);
            }
            __m512i v[16];
            for (int i = 0; i < 16; i++) v[i] = _mm512_loadu_si512(w + i * row_bytes + kk / 2);
            transpose_16x16(v);
            for (int d = 0; d < 16; d++) {
                const __m512i lo = _mm512_and_si512(v[d], low), hi = _mm512_and_si512(_mm512_srli_epi32(v[d], 4), low);
                uint32_t *step = buf + (size_t)(kk / 4 + 2 * d) * PF_ROWS + r0;
                _mm512_store_si512(step, _mm512_or_si512(_mm512_shuffle_epi8(lo, lo_first), _mm512_shuffle_epi8(hi, hi_first)));
                _mm512_store_si512(step + PF_ROWS,
                                   _mm512_or_si512(_mm512_shuffle_epi8(lo, lo_second), _mm512_shuffle_epi8(hi, hi_second)));
            }
        }
    }
}

/*
 * acc += w (16 x 4 u8) . *x (4 s8, broadcast to every lane), in place, x read by the instruction
 * itself. Written out because GCC 12 copies the accumulator before and after each
 * _mm512_dpbusd_epi32 in these loops (a VMOVDQA per VPDPBUSD, and MR = 12 spilled to the stack):
 * the kernel ran no faster than the bf16 tile with half the multiplies.
 */
AVX512_VNNI __attribute__((always_inline)) inline void dpbusd_broadcast(__m512i &acc, __m512i w, const uint32_t *x) {
    __asm__("vpdpbusd %1%{1to16%}, %2, %0" : "+v"(acc) : "m"(*x), "v"(w));
}

/*
 * c[i][0..32) (+)= sum over the tile's blocks of dx[i][b] * (gs[b] * P + gz[b] * X[i][b]), for MR
 * tokens. Each block's P starts from zero in registers and meets the scales at the block's end.
 * dx and dxsum at the tile's first block of token 0; `stride` their distance from one token to the next.
 */
template <int MR>
AVX512_VNNI void vnni_block(const uint32_t *tile, int blocks, const uint32_t *xq, float *c, bool first, const float *gs,
                            const float *gz, const float *dx, const float *dxsum, int stride) {
    for (int b = 0; b < blocks; b++) {
        __m512i acc[MR][2]; // in registers only if every loop over i is unrolled
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_si512();
#pragma GCC unroll 8
        for (int p = b * VN_STEPS; p < (b + 1) * VN_STEPS; p++) {
            const __m512i w0 = _mm512_load_si512(tile + (size_t)p * PF_ROWS);
            const __m512i w1 = _mm512_load_si512(tile + (size_t)p * PF_ROWS + 16);
#pragma GCC unroll 16
            for (int i = 0; i < MR; i++) {
                const uint32_t *xv = xq + (size_t)p * PF_MR + i;
                dpbusd_broadcast(acc[i][0], w0, xv);
                dpbusd_broadcast(acc[i][1], w1, xv);
            }
        }
        const __m512 s0 = _mm512_load_ps(gs + b * PF_ROWS), s1 = _mm512_load_ps(gs + b * PF_ROWS + 16);
        const __m512 z0 = _mm512_load_ps(gz + b * PF_ROWS), z1 = _mm512_load_ps(gz + b * PF_ROWS + 16);
        const bool fresh = first && b == 0;
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) {
            __m512 c0 = fresh ? _mm512_setzero_ps() : _mm512_load_ps(c + i * PF_ROWS);
            __m512 c1 = fresh ? _mm512_setzero_ps() : _mm512_load_ps(c + i * PF_ROWS + 16);
            const __m512 xs = _mm512_set1_ps(dxsum[(size_t)i * stride + b]), d = _mm512_set1_ps(dx[(size_t)i * stride + b]);
            c0 = _mm512_fmadd_ps(z0, xs, c0);
            c1 = _mm512_fmadd_ps(z1, xs, c1);
            _mm512_store_ps(c + i * PF_ROWS, _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(acc[i][0]), d), s0, c0));
            _mm512_store_ps(c + i * PF_ROWS + 16, _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(acc[i][1]), d), s1, c1));
        }
    }
}

/* The block for `rows` (1..MR) tokens of the tile. */
template <int MR>
void vnni_block_n(const uint32_t *tile, int blocks, const uint32_t *xq, float *c, bool first, int rows, const float *gs,
                  const float *gz, const float *dx, const float *dxsum, int stride) {
    if constexpr (MR > 1) {
        if (rows < MR) {
            vnni_block_n<MR - 1>(tile, blocks, xq, c, first, rows, gs, gz, dx, dxsum, stride);
            return;
        }
    }
    vnni_block<MR>(tile, blocks, xq, c, first, gs, gz, dx, dxsum, stride);
}

AVX512_VNNI void vnni_part(void *arg, int, int parts) {
    VnniJob *j = static_cast<VnniJob *>(arg);
    Aligned<uint32_t> tile((size_t)VN_K / 4 * PF_ROWS);
    Aligned<float> gs((size_t)VN_BLOCKS * PF_ROWS), gz((size_t)VN_BLOCKS * PF_ROWS);
    Aligned<float> c((size_t)j->m * PF_ROWS);
    const int tiles = j->n / PF_ROWS, blocks = j->k / VN_BLOCK;
    for (int t = j->next.fetch_add(1, std::memory_order_relaxed); t < tiles;
         t = j->next.fetch_add(1, std::memory_order_relaxed)) {
        const int n0 = t * PF_ROWS;
        for (int k0 = 0; k0 < j->k; k0 += VN_K) {
            const int kl = j->k - k0 < VN_K ? j->k - k0 : VN_K;
            // the next inputs of these rows, or else the tile `parts` on (the threads take tiles in turn)
            const int later = (t + parts) * PF_ROWS;
            const TileAt next = k0 + VN_K < j->k ? TileAt{n0, k0 + VN_K} : TileAt{later < j->n ? later : -1, 0};
            j->unpack(j, n0, k0, kl, next, tile.data(), gs.data(), gz.data());
            for (int m0 = 0; m0 < j->m; m0 += PF_MR) {
                const int rows = j->m - m0 < PF_MR ? j->m - m0 : PF_MR;
                const uint32_t *xq = j->xq + ((size_t)(m0 / PF_MR) * (j->k / 4) + k0 / 4) * PF_MR;
                const size_t at = (size_t)m0 * blocks + k0 / VN_BLOCK;
                vnni_block_n<PF_MR>(tile.data(), kl / VN_BLOCK, xq, c.data() + (size_t)m0 * PF_ROWS, k0 == 0, rows,
                                    gs.data(), gz.data(), j->dx + at, j->dxsum + at, blocks);
            }
        }
        for (int i = 0; i < j->m; i++) {
            uint16_t *y = j->y + (size_t)i * j->n + n0;
            const float *ci = c.data() + (size_t)i * PF_ROWS;
            _mm256_storeu_si256((__m256i *)y, (__m256i)_mm512_cvtneps_pbh(_mm512_load_ps(ci)));
            _mm256_storeu_si256((__m256i *)(y + 16), (__m256i)_mm512_cvtneps_pbh(_mm512_load_ps(ci + 16)));
        }
    }
}

/* Runs job (its unpack, weights, y, m, n, k, g set) over every tile, x quantized per block of 32 first. */
void run_vnni_prefill(VnniJob &job, const uint16_t *x) {
    const int blocks = job.k / VN_BLOCK;
    Aligned<uint32_t> xq((size_t)(job.m + PF_MR - 1) / PF_MR * PF_MR * (job.k / 4));
    Aligned<float> dx((size_t)job.m * blocks), dxsum((size_t)job.m * blocks);
    quantize_for_vnni(x, job.m, job.k, xq.data(), dx.data(), dxsum.data());
    job.xq = xq.data();
    job.dx = dx.data();
    job.dxsum = dxsum.data();
    parallel(vnni_part, &job, job.n / PF_ROWS);
}

/* ---- int4 on int8 activations: decoding ---- */

/*
 * int4 decoding on int8 dot products, for the same setting (1 to 8 rows of x, the loops of
 * int4_streams and int4_rows): x rounded per block of 32 exactly as the prompt path rounds it
 * (q8_block), so that with int8 activations a prompt prefilled in one pass and token by token
 * agree as closely as with bf16 ones. One 64-byte load holds 128 codes, dword d the inputs
 * 8d .. 8d + 7 (nibble j = input 8d + j); its low nibbles are inputs 8d + 0, 2, 4, 6 and its high
 * ones 8d + 1, 3, 5, 7, a byte each after one AND (and a shift): two VPDPBUSD against x laid out
 * to match, where the bf16 loop needs four VDPBF16PS and four OR-ings. Lane d's int32 sum covers
 * one block of x (d / 4) and one group of weights, so it meets its scales as an fp32 lane:
 *   sum_k W x ~ sum_lanes P_lane * scale * dx + sum_groups (zero - 8 * scale) * sum_block dx * X
 * with X a block's sum of codes, the second term once per row from the group sums below.
 */
struct Int4VnniJob {
    const uint8_t *xq;   // [m][k]: per chunk of 128 inputs, 64 bytes of even inputs' codes, then 64 of odd ones'
    const float *dxl;    // [m][k / 8]: the scale of the block of x that lane d of chunk c covers, at 16c + d
    const float *xsum;   // [m][k / g]: per group of weights, the sum of its blocks' dx * X
    const uint8_t *nibbles;
    Int4Groups group;
    uint16_t *y;
    int m, n, k, g;
};

/* Rows of x as Int4VnniJob wants them (k a multiple of 128, g of 32). */
AVX512_VNNI void quantize_for_vnni_decode(const uint16_t *x, int m, int k, int g, uint8_t *xq, float *dxl, float *xsum) {
    const int blocks = k / VN_BLOCK, per_group = g / VN_BLOCK;
    for (int row = 0; row < m; row++) {
        const uint16_t *src = x + (size_t)row * k;
        uint8_t *dst = xq + (size_t)row * k;
        float *lanes = dxl + (size_t)row * (k / 8), *sums = xsum + (size_t)row * (k / g);
        for (int b = 0; b < blocks; b++) {
            __m512i q0, q1;
            const float d = q8_block(src + b * VN_BLOCK, q0, q1);
            alignas(32) int8_t codes[VN_BLOCK];
            _mm_store_si128((__m128i *)codes, _mm512_cvtsepi32_epi8(q0));
            _mm_store_si128((__m128i *)(codes + 16), _mm512_cvtsepi32_epi8(q1));
            // block b is lanes 4 (b % 4) .. + 3 of chunk b / 4: lane e's even inputs 8e + 0, 2, 4, 6
            uint8_t *even = dst + (size_t)(b / 4) * CHUNK + (b % 4) * 16, *odd = even + 64;
            for (int i = 0; i < 16; i++) {
                even[i] = (uint8_t)codes[2 * i];
                odd[i] = (uint8_t)codes[2 * i + 1];
            }
            for (int e = 0; e < 4; e++) lanes[4 * b + e] = d;
            const float dsum = d * (float)_mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
            if (b % per_group == 0) sums[b / per_group] = dsum;
            else sums[b / per_group] += dsum;
        }
    }
}

/* One row of x, W weight rows at once, as int4_streams. scratch: 2 * W * groups floats for Q32Groups. */
template <int G, int W, typename S>
AVX512_VNNI void int4_vnni_streams(const Int4VnniJob *j, int n0, int n1, int m0, float *scratch) {
    const int chunks = j->k / CHUNK, groups = j->k / G, part = (n1 - n0 + W - 1) / W;
    const __m512i low = _mm512_set1_epi8(0x0F);
    const uint8_t *xq = j->xq + (size_t)m0 * j->k;
    const float *dxl = j->dxl + (size_t)m0 * (j->k / 8), *xsum = j->xsum + (size_t)m0 * groups;
    uint16_t *y = j->y + (size_t)m0 * j->n;
    for (int r = 0; r < part; r++) {
        const StreamRows<W> rows(n0, n1, part, r);
        const uint8_t *w[W];
        for (int i = 0; i < W; i++) w[i] = j->nibbles + (size_t)rows.n[i] * (j->k / 2);
        S s[W];
        for (int i = 0; i < W; i++) {
            s[i] = S::template with_offsets<8>(j->group, rows.n[i], groups, S::FORMED ? scratch + (size_t)2 * i * groups : nullptr, xsum);
            S::prefetch(j->group, rows.n[i] + 1, groups);
        }
        __m512 acc[W];
        for (int i = 0; i < W; i++) acc[i] = _mm512_setzero_ps();
        for (int c = 0; c < chunks; c++) {
            const __m512i even = _mm512_load_si512(xq + (size_t)c * CHUNK), odd = _mm512_load_si512(xq + (size_t)c * CHUNK + 64);
            const __m512 d = _mm512_load_ps(dxl + 16 * c);
            for (int i = 0; i < W; i++) {
                _mm_prefetch((const char *)(w[i] + 64 * c) + PREFETCH_BYTES, _MM_HINT_T0);
                const __m512i raw = _mm512_loadu_si512(w[i] + 64 * c);
                __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_and_si512(raw, low), even);
                p = _mm512_dpbusd_epi32(p, _mm512_and_si512(_mm512_srli_epi16(raw, 4), low), odd);
                acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_mul_ps(lane_scales<G>(s[i], c), d), acc[i]);
            }
        }
        for (int i = 0; i < W; i++) {
            if (!rows.real[i]) continue;
            y[rows.n[i]] = f32_to_bf16(_mm512_reduce_add_ps(acc[i]) + s[i].template offsets<8>(xsum, groups));
        }
    }
}

/* R rows of x (2..8) share each load of codes, as int4_rows. scratch: 2 * groups floats for Q32Groups. */
template <int G, int R, typename S>
AVX512_VNNI void int4_vnni_rows(const Int4VnniJob *j, int n0, int n1, int m0, float *scratch) {
    const int chunks = j->k / CHUNK, groups = j->k / G;
    const __m512i low = _mm512_set1_epi8(0x0F);
    const uint8_t *xq = j->xq + (size_t)m0 * j->k;
    const float *dxl = j->dxl + (size_t)m0 * (j->k / 8);
    for (int n = n0; n < n1; n++) {
        const uint8_t *w = j->nibbles + (size_t)n * (j->k / 2);
        const S s(j->group, n, groups, 0, groups, scratch);
        S::prefetch(j->group, n + 1, groups);
        __m512 acc[R];
        for (int i = 0; i < R; i++) acc[i] = _mm512_setzero_ps();
        for (int c = 0; c < chunks; c++) {
            _mm_prefetch((const char *)(w + 64 * c) + PREFETCH_BYTES, _MM_HINT_T0);
            const __m512i raw = _mm512_loadu_si512(w + 64 * c);
            const __m512i even = _mm512_and_si512(raw, low), odd = _mm512_and_si512(_mm512_srli_epi16(raw, 4), low);
            const __m512 scale = lane_scales<G>(s, c);
            for (int i = 0; i < R; i++) {
                const uint8_t *xc = xq + (size_t)i * j->k + (size_t)c * CHUNK;
                __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), even, _mm512_load_si512(xc));
                p = _mm512_dpbusd_epi32(p, odd, _mm512_load_si512(xc + 64));
                const __m512 d = _mm512_load_ps(dxl + (size_t)i * (j->k / 8) + 16 * c);
                acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_mul_ps(scale, d), acc[i]);
            }
        }
        for (int i = 0; i < R; i++) {
            const float off = int4_offsets<S, 8>(s, j->xsum + (size_t)(m0 + i) * groups, groups);
            j->y[(size_t)(m0 + i) * j->n + n] = f32_to_bf16(_mm512_reduce_add_ps(acc[i]) + off);
        }
    }
}

/*
 * Streams of the decode loop on int8 activations for int4-q32, whose rows' scales are formed into
 * scratch as they are taken: three, not four. With four, a thread's x codes, their block scales and
 * four rows' formed scales (28 KB at 14,336 inputs) beside the weight lines in flight crowd a
 * 48 KB L1; on the Zen 5 host three took a pass over four 8B layers from 10.7-12.0 to 9.4-10.0 ms
 * (int4_kernel_bench, alternated) and the 8B's decode from a median of 7.65 to 8.91 tok/s over
 * seven alternated rounds (benchmarks/RESULTS.md). int4's bf16-scaled layouts keep STREAMS.
 */
constexpr int VNNI_FORMED_STREAMS = 3;

template <int G, typename S>
void int4_vnni_block(const Int4VnniJob *j, int n0, int n1, int m0, int rows) {
    constexpr int W = S::FORMED ? VNNI_FORMED_STREAMS : STREAMS;
    Aligned<float> scratch(S::FORMED ? (size_t)2 * W * (j->k / G) : 0);
    if (rows == 1) {
        int4_vnni_streams<G, W, S>(j, n0, n1, m0, scratch.data());
        return;
    }
    with_rows(rows, [&](auto r) { int4_vnni_rows<G, decltype(r)::value, S>(j, n0, n1, m0, scratch.data()); });
}

/* ---- int8 ---- */

struct Int8Job {
    const uint16_t *x;      // [m, k] bf16
    const int8_t *q;        // [n, k]
    const uint16_t *scales; // int8: [n] bf16; int8-g32: [n, k / 32] bf16
    uint16_t *y;
    int m, n, k;
};

/*
 * The loops below run both int8 layouts through S: RowScale (int8, one scale per weight row) or
 * GroupScales (int8-g32, one per group of 32 inputs, which is one VDPBF16PS: 32 codes against 32
 * inputs). RowScale accumulates the row's whole dot product and scales it once at the end;
 * GroupScales takes each group's fp32 sum apart and adds it times the group's scale. Before the
 * 32 inputs from kk a loop calls take(kk) where kk may start a span of INT8_SPAN inputs (decode
 * loops only at a span's start; the loops over several rows of x at every step).
 */
constexpr int INT8_SPAN = 16 * INT8_GROUP; // 512 inputs: 16 scales, one 32-byte load

struct RowScale {
    float s;
    RowScale() = default;
    RowScale(const Int8Job *j, int n) : s(bf16_to_f32(j->scales[n])) {}
    void take(int) {}
    /* acc (+)= w . x over the 32 inputs from kk */
    AVX512_BF16 __m512 dot(__m512 acc, __m512bh w, __m512bh x, int) const { return _mm512_dpbf16_ps(acc, w, x); }
    float final_scale() const { return s; }
};

/*
 * int8-g32: at each span's start its 16 bf16 scales are widened into `span` (one 32-byte load, read
 * along with the codes), so that each group's FMA reads its scale as a broadcast memory operand:
 * one VDPBF16PS and one FMA per group against int8's one VDPBF16PS. Where the loop is bound by
 * arithmetic rather than memory (one core of the EPYC this was written on reads 14336 x 4096 int8
 * codes at about 40 GB/s, from cache), a call takes 1.70 ms against int8's 1.45-1.49: 15 % more
 * time for 6 % more bytes. Measured the same way: widening a whole block's scales in a pass
 * before its rows, 23 % more; one scale per group in the loop (load, shift, broadcast), or the
 * spans with masked loads and stores (slow on AMD), about 30 % more.
 */
struct GroupScales {
    alignas(64) float span[16];
    const uint16_t *row; // [k / 32] bf16
    int groups;
    GroupScales() = default;
    GroupScales(const Int8Job *j, int n)
        : span{}, row(j->scales + (size_t)n * (j->k / INT8_GROUP)), groups(j->k / INT8_GROUP) {}
    /* At the start of a span (k0 a multiple of INT8_SPAN), its scales as fp32; elsewhere nothing. */
    AVX512_BF16 void take(int k0) {
        if (k0 % INT8_SPAN != 0) return;
        const int g = k0 / INT8_GROUP, left = groups - g;
        const __m256i raw = left >= 16 ? _mm256_loadu_si256((const __m256i *)(row + g))
                                       : _mm256_maskz_loadu_epi16((__mmask16)((1u << left) - 1), row + g);
        _mm512_store_ps(span, _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(raw), 16)));
    }
    AVX512_BF16 __m512 dot(__m512 acc, __m512bh w, __m512bh x, int kk) const {
        return _mm512_fmadd_ps(_mm512_dpbf16_ps(_mm512_setzero_ps(), w, x), _mm512_set1_ps(span[kk / INT8_GROUP % 16]), acc);
    }
    float final_scale() const { return 1.0f; }
};

/* With two rows of x, two accumulators per row hide the latency of VDPBF16PS. */
template <int R>
constexpr int int8_accumulators() { return R == 2 ? 2 : 1; }

/* 32 int8 codes as 32 bf16 numbers, in order (exact: bf16 holds every integer up to 256). */
AVX512_BF16 inline __m512bh int8_to_bf16(__m128i lo, __m128i hi) {
    return _mm512_cvtne2ps_pbh(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(hi)), _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(lo)));
}

/*
 * x stays bf16, the codes become bf16 and VDPBF16PS does 32 multiply-adds: against widening x to
 * fp32 this halves what each weight row reads of x, which for the MLP's down projection (14336
 * inputs: 56 KB as fp32) no longer fits the L1 cache.
 */
template <typename S, int R>
AVX512_BF16 void int8_rows(const Int8Job *j, int n0, int n1, int m0) {
    constexpr int A = int8_accumulators<R>();
    const int k = j->k;
    const uint16_t *x = j->x + (size_t)m0 * k;
    for (int n = n0; n < n1; n++) {
        const int8_t *w = j->q + (size_t)n * k;
        S s(j, n);
        __m512 acc[R][A];
        for (int i = 0; i < R; i++)
            for (int a = 0; a < A; a++) acc[i][a] = _mm512_setzero_ps();
        int kk = 0;
        for (; kk + 32 * A <= k; kk += 32 * A) {
            s.take(kk); // 32 * A divides INT8_SPAN: every span's start passes here or in the tail
            for (int a = 0; a < A; a++) {
                const int8_t *wa = w + kk + 32 * a;
                _mm_prefetch((const char *)wa + PREFETCH_BYTES, _MM_HINT_T0);
                const __m512bh wv = int8_to_bf16(_mm_loadu_si128((const __m128i *)wa), _mm_loadu_si128((const __m128i *)(wa + 16)));
                for (int i = 0; i < R; i++) {
                    acc[i][a] = s.dot(acc[i][a], wv, (__m512bh)_mm512_loadu_si512(x + (size_t)i * k + kk + 32 * a), kk + 32 * a);
                }
            }
        }
        for (; kk < k; kk += 32) {
            s.take(kk);
            const int left = k - kk;
            const __mmask16 lo = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
            const __mmask16 hi = left >= 32 ? (__mmask16)0xFFFF : left > 16 ? (__mmask16)((1u << (left - 16)) - 1) : 0;
            const __mmask32 xm = left >= 32 ? (__mmask32)0xFFFFFFFFu : (__mmask32)((1u << left) - 1);
            const __m512bh wv = int8_to_bf16(_mm_maskz_loadu_epi8(lo, w + kk), _mm_maskz_loadu_epi8(hi, w + kk + 16));
            for (int i = 0; i < R; i++) {
                acc[i][0] = s.dot(acc[i][0], wv, (__m512bh)_mm512_maskz_loadu_epi16(xm, x + (size_t)i * k + kk), kk);
            }
        }
        const float scale = s.final_scale();
        for (int i = 0; i < R; i++) {
            __m512 sum = acc[i][0];
            for (int a = 1; a < A; a++) sum = _mm512_add_ps(sum, acc[i][a]);
            j->y[(size_t)(m0 + i) * j->n + n] = f32_to_bf16(_mm512_reduce_add_ps(sum) * scale);
        }
    }
}

/* One row of x, W weight rows at once from the W parts of the block: W streams. */
template <typename S, int W>
AVX512_BF16 void int8_streams(const Int8Job *j, int n0, int n1, int m0) {
    const int k = j->k, part = (n1 - n0 + W - 1) / W;
    const uint16_t *x = j->x + (size_t)m0 * k;
    uint16_t *y = j->y + (size_t)m0 * j->n;
    for (int r = 0; r < part; r++) {
        const StreamRows<W> rows(n0, n1, part, r);
        const int8_t *w[W];
        S s[W];
        for (int i = 0; i < W; i++) {
            w[i] = j->q + (size_t)rows.n[i] * k;
            s[i] = S(j, rows.n[i]);
        }
        __m512 acc[W];
        for (int i = 0; i < W; i++) acc[i] = _mm512_setzero_ps();
        const int full = k / 32 * 32;
        for (int k0 = 0; k0 < full; k0 += INT8_SPAN) {
            for (int i = 0; i < W; i++) s[i].take(k0);
            const int k1 = k0 + INT8_SPAN < full ? k0 + INT8_SPAN : full;
            for (int kk = k0; kk < k1; kk += 32) {
                const __m512bh xv = (__m512bh)_mm512_loadu_si512(x + kk);
                for (int i = 0; i < W; i++) {
                    _mm_prefetch((const char *)(w[i] + kk) + PREFETCH_BYTES, _MM_HINT_T0);
                    const __m512bh wv = int8_to_bf16(_mm_loadu_si128((const __m128i *)(w[i] + kk)),
                                                     _mm_loadu_si128((const __m128i *)(w[i] + kk + 16)));
                    acc[i] = s[i].dot(acc[i], wv, xv, kk);
                }
            }
        }
        if (const int kk = full; kk < k) { // int8 only: int8-g32 has whole groups
            const int left = k - kk;
            const __mmask16 lo = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
            const __mmask16 hi = left > 16 ? (__mmask16)((1u << (left - 16)) - 1) : 0;
            const __m512bh xv = (__m512bh)_mm512_maskz_loadu_epi16((__mmask32)((1u << left) - 1), x + kk);
            for (int i = 0; i < W; i++) {
                const __m512bh wv = int8_to_bf16(_mm_maskz_loadu_epi8(lo, w[i] + kk), _mm_maskz_loadu_epi8(hi, w[i] + kk + 16));
                acc[i] = s[i].dot(acc[i], wv, xv, kk);
            }
        }
        for (int i = 0; i < W; i++) {
            if (rows.real[i]) y[rows.n[i]] = f32_to_bf16(_mm512_reduce_add_ps(acc[i]) * s[i].final_scale());
        }
    }
}

template <typename S>
void int8_block(const Int8Job *j, int n0, int n1, int m0, int rows) {
    if (rows == 1) {
        int8_streams<S, STREAMS>(j, n0, n1, m0);
        return;
    }
    with_rows(rows, [&](auto r) { int8_rows<S, decltype(r)::value>(j, n0, n1, m0); });
}

/* ---- bf16 ---- */

struct Bf16Job {
    const uint16_t *x;  // [m, k]
    const uint16_t *w;  // [n, k]
    uint16_t *y;
    int m, n, k;
};

template <int R>
AVX512_BF16 void bf16_rows(const Bf16Job *j, int n0, int n1, int m0) {
    constexpr int A = int8_accumulators<R>();
    const int k = j->k, full = k / 32 * 32;
    const uint16_t *x = j->x + (size_t)m0 * k;
    for (int n = n0; n < n1; n++) {
        const uint16_t *w = j->w + (size_t)n * k;
        __m512 acc[R][A];
        for (int i = 0; i < R; i++)
            for (int a = 0; a < A; a++) acc[i][a] = _mm512_setzero_ps();
        int kk = 0;
        for (; kk + 32 * A <= full; kk += 32 * A) {
            for (int a = 0; a < A; a++) {
                _mm_prefetch((const char *)(w + kk + 32 * a) + PREFETCH_BYTES, _MM_HINT_T0);
                const __m512bh wv = (__m512bh)_mm512_loadu_si512(w + kk + 32 * a);
                for (int i = 0; i < R; i++) {
                    acc[i][a] = _mm512_dpbf16_ps(acc[i][a], wv, (__m512bh)_mm512_loadu_si512(x + (size_t)i * k + kk + 32 * a));
                }
            }
        }
        for (; kk < k; kk += 32) {
            const int left = k - kk;
            const __mmask32 mask = left >= 32 ? (__mmask32)0xFFFFFFFFu : (__mmask32)((1u << left) - 1);
            const __m512bh wv = (__m512bh)_mm512_maskz_loadu_epi16(mask, w + kk);
            for (int i = 0; i < R; i++) {
                acc[i][0] = _mm512_dpbf16_ps(acc[i][0], wv, (__m512bh)_mm512_maskz_loadu_epi16(mask, x + (size_t)i * k + kk));
            }
        }
        for (int i = 0; i < R; i++) {
            __m512 sum = acc[i][0];
            for (int a = 1; a < A; a++) sum = _mm512_add_ps(sum, acc[i][a]);
            j->y[(size_t)(m0 + i) * j->n + n] = f32_to_bf16(_mm512_reduce_add_ps(sum));
        }
    }
}

/* One row of x, W weight rows at once from the W parts of the block: W streams. */
template <int W>
AVX512_BF16 void bf16_streams(const Bf16Job *j, int n0, int n1, int m0) {
    const int k = j->k, part = (n1 - n0 + W - 1) / W;
    const uint16_t *x = j->x + (size_t)m0 * k;
    uint16_t *y = j->y + (size_t)m0 * j->n;
    for (int r = 0; r < part; r++) {
        const StreamRows<W> rows(n0, n1, part, r);
        const uint16_t *w[W];
        for (int i = 0; i < W; i++) w[i] = j->w + (size_t)rows.n[i] * k;
        __m512 acc[W];
        for (int i = 0; i < W; i++) acc[i] = _mm512_setzero_ps();
        int kk = 0;
        for (; kk + 32 <= k; kk += 32) {
            const __m512bh xv = (__m512bh)_mm512_loadu_si512(x + kk);
            for (int i = 0; i < W; i++) {
                _mm_prefetch((const char *)(w[i] + kk) + PREFETCH_BYTES, _MM_HINT_T0);
                acc[i] = _mm512_dpbf16_ps(acc[i], (__m512bh)_mm512_loadu_si512(w[i] + kk), xv);
            }
        }
        if (kk < k) {
            const __mmask32 mask = (__mmask32)((1u << (k - kk)) - 1);
            const __m512bh xv = (__m512bh)_mm512_maskz_loadu_epi16(mask, x + kk);
            for (int i = 0; i < W; i++) {
                acc[i] = _mm512_dpbf16_ps(acc[i], (__m512bh)_mm512_maskz_loadu_epi16(mask, w[i] + kk), xv);
            }
        }
        for (int i = 0; i < W; i++) {
            if (rows.real[i]) y[rows.n[i]] = f32_to_bf16(_mm512_reduce_add_ps(acc[i]));
        }
    }
}

void bf16_block(const Bf16Job *j, int n0, int n1, int m0, int rows) {
    if (rows == 1) {
        bf16_streams<STREAMS>(j, n0, n1, m0);
        return;
    }
    with_rows(rows, [&](auto r) { bf16_rows<decltype(r)::value>(j, n0, n1, m0); });
}

/* ---- the loop every format shares ---- */

/*
 * Each thread owns a contiguous range of weight rows and takes its blocks in order, so it streams
 * one run of memory that the hardware prefetchers follow; a thread done with its own range takes
 * blocks from the others' (a thread slowed by its neighbours, a JIT thread or another process on a
 * shared host, does not keep the rest waiting at the end of the call). Measured on the 8B shape:
 * handing out blocks round-robin decoded int4 about a quarter slower, a static split left a
 * fifth of the time waiting. With up to MAX_ROWS rows of x the weights pass once; with more,
 * each block stays in cache while the rows of x pass over it, eight at a time.
 */
struct alignas(64) Range {
    std::atomic<int> next; // the next block to take
    int end;
};

template <typename Job>
struct Work {
    const Job *job;
    int rows; // weight rows per block
    std::vector<Range> ranges;
};

template <typename Job, void (*Block)(const Job *, int, int, int, int)>
void rows_part(void *arg, int part, int) {
    Work<Job> *w = static_cast<Work<Job> *>(arg);
    const Job *j = w->job;
    const int count = (int)w->ranges.size();
    for (int i = 0; i < count; i++) {
        Range &r = w->ranges[(part + i) % count];
        for (int b = r.next.fetch_add(1, std::memory_order_relaxed); b < r.end;
             b = r.next.fetch_add(1, std::memory_order_relaxed)) {
            const int n0 = b * w->rows, n1 = n0 + w->rows < j->n ? n0 + w->rows : j->n;
            for (int m0 = 0; m0 < j->m; m0 += MAX_ROWS) {
                Block(j, n0, n1, m0, j->m - m0 < MAX_ROWS ? j->m - m0 : MAX_ROWS);
            }
        }
    }
}

template <typename Job, void (*Block)(const Job *, int, int, int, int)>
void run(Job &job) {
    Work<Job> w;
    w.job = &job;
    w.rows = job.m <= MAX_ROWS ? STREAM_BLOCK : ROW_BLOCK;
    const int blocks = (job.n + w.rows - 1) / w.rows, parts = parallel_parts(blocks);
    w.ranges = std::vector<Range>(parts);
    for (int p = 0; p < parts; p++) {
        w.ranges[p].next.store((int)((long long)blocks * p / parts), std::memory_order_relaxed);
        w.ranges[p].end = (int)((long long)blocks * (p + 1) / parts);
    }
    parallel(rows_part<Job, Block>, &w, parts);
}

bool int4_shape_ok(int n, int k, int g) {
    return n > 0 && k > 0 && k % CHUNK == 0 && (g == 32 || g == 64 || g == 128);
}

/* Both int4 layouts after their checks: the prompt path or the decode loops, groups read through S. */
template <typename S>
void int4_mm(const uint16_t *x, const uint8_t *nibbles, const Int4Groups &group, uint16_t *y, int m, int n, int k, int g) {
    if (prefill_fits(m, n, k) && int4_activations.load(std::memory_order_relaxed) == INT4_X_INT8) {
        VnniJob job{nullptr, nullptr, nullptr, int4_unpack_vnni<S>, nibbles, group, y, m, n, k, g, {0}};
        run_vnni_prefill(job, x);
        return;
    }
    if (prefill_fits(m, n, k)) {
        PrefillJob job{nullptr, nullptr, int4_unpack_tile<S>, nibbles, group, nullptr, nullptr, y, m, n, k, g, {0}};
        run_prefill(job, x);
        return;
    }
    if (int4_activations.load(std::memory_order_relaxed) == INT4_X_INT8) {
        Aligned<uint8_t> xq((size_t)m * k);
        Aligned<float> dxl((size_t)m * (k / 8)), xsum((size_t)m * (k / g));
        quantize_for_vnni_decode(x, m, k, g, xq.data(), dxl.data(), xsum.data());
        Int4VnniJob job{xq.data(), dxl.data(), xsum.data(), nibbles, group, y, m, n, k, g};
        if (g == 128) run<Int4VnniJob, int4_vnni_block<128, S>>(job);
        else if (g == 64) run<Int4VnniJob, int4_vnni_block<64, S>>(job);
        else run<Int4VnniJob, int4_vnni_block<32, S>>(job);
        return;
    }
    Aligned<uint16_t> xr((size_t)m * k);
    Aligned<float> xsum((size_t)m * (k / g));
    reorder_for_int4(x, m, k, xr.data());
    group_sums(x, m, k, g, xsum.data());
    Int4Job job{xr.data(), xsum.data(), nibbles, group, y, m, n, k, g};
    if (g == 128) run<Int4Job, int4_block<128, S>>(job);
    else if (g == 64) run<Int4Job, int4_block<64, S>>(job);
    else run<Int4Job, int4_block<32, S>>(job);
}

} // namespace

/* ---- the C API ---- */

extern "C" {

/* int4: nibbles [n, k/2] (low nibble = even k), scales and zeros [n, k/g] bf16. k a multiple of 128; g 32, 64 or 128. */
WOQ_EXPORT int woq_int4_mm(const uint16_t *x, const uint8_t *nibbles, const uint16_t *scales, const uint16_t *zeros,
                           uint16_t *y, int m, int n, int k, int g) {
    if (!int4_shape_ok(n, k, g) || m < 1) return -1;
    if (!woq_avx512_supported()) return -2;
    int4_mm<Bf16Groups>(x, nibbles, Int4Groups{scales, zeros, nullptr, nullptr, 0.0f}, y, m, n, k, g);
    return 0;
}

/*
 * int4-q32: nibbles [n, k/2] as int4's, scale codes and zero codes [n, k/32] uint8, and the
 * matrix's largest scale: w = (q - zc / 16) * scale_max * 2^(-c / 16). k a multiple of 128.
 */
WOQ_EXPORT int woq_int4q32_mm(const uint16_t *x, const uint8_t *nibbles, const uint8_t *scale_codes,
                              const uint8_t *zero_codes, float scale_max, uint16_t *y, int m, int n, int k) {
    if (!int4_shape_ok(n, k, 32) || m < 1 || !std::isfinite(scale_max)) return -1;
    if (!woq_avx512_supported()) return -2;
    int4_mm<Q32Groups>(x, nibbles, Int4Groups{nullptr, nullptr, scale_codes, zero_codes, scale_max}, y, m, n, k, 32);
    return 0;
}

/*
 * Sets what int4's codes multiply, prompts and decoding alike, for the process: 0 x in bf16 (the
 * weights' products exactly), 1 x rounded to int8 per block of 32 (VNNI). Returns the setting
 * before (0 or 1); -1 for another value, -2 for 1 on a CPU without AVX-512 VNNI (nothing changed).
 */
WOQ_EXPORT int woq_set_int4_activations(int activations) {
    if (activations != INT4_X_BF16 && activations != INT4_X_INT8) return -1;
    if (activations == INT4_X_INT8 && !cpu_has_avx512_vnni()) return -2;
    return int4_activations.exchange(activations, std::memory_order_relaxed);
}

/* int8: q [n, k], scales [n] bf16. */
WOQ_EXPORT int woq_int8_mm(const uint16_t *x, const int8_t *q, const uint16_t *scales, uint16_t *y, int m, int n, int k) {
    if (n < 1 || k < 1 || m < 1) return -1;
    if (!woq_avx512_supported()) return -2;
    if (prefill_fits(m, n, k)) {
        PrefillJob job{nullptr, nullptr, int8_unpack_tile<0>, nullptr, Int4Groups{}, q, scales, y, m, n, k, 0, {0}};
        run_prefill(job, x);
        return 0;
    }
    Int8Job job{x, q, scales, y, m, n, k};
    run<Int8Job, int8_block<RowScale>>(job);
    return 0;
}

/* int8-g32: q [n, k], scales [n, k / 32] bf16 (one per group of 32 inputs). k a multiple of 32. */
WOQ_EXPORT int woq_int8g32_mm(const uint16_t *x, const int8_t *q, const uint16_t *scales, uint16_t *y, int m, int n, int k) {
    if (n < 1 || k < 1 || k % INT8_GROUP != 0 || m < 1) return -1;
    if (!woq_avx512_supported()) return -2;
    if (prefill_fits(m, n, k)) {
        // no out_scales: each group's scale multiplies its own sums in the tile
        PrefillJob job{nullptr, nullptr, int8_unpack_tile<INT8_GROUP>, nullptr, Int4Groups{}, q, nullptr, y, m, n, k, INT8_GROUP, {0}};
        job.code_scales = scales;
        run_prefill(job, x);
        return 0;
    }
    Int8Job job{x, q, scales, y, m, n, k};
    run<Int8Job, int8_block<GroupScales>>(job);
    return 0;
}

/* bf16: w [n, k]. */
WOQ_EXPORT int woq_bf16_mm(const uint16_t *x, const uint16_t *w, uint16_t *y, int m, int n, int k) {
    if (n < 1 || k < 1 || m < 1) return -1;
    if (!woq_avx512_supported()) return -2;
    if (prefill_fits(m, n, k)) {
        PrefillJob job{nullptr, nullptr, bf16_unpack_tile, nullptr, Int4Groups{}, nullptr, nullptr, y, m, n, k, 0, {0}};
        job.bf16_weights = w;
        run_prefill(job, x);
        return 0;
    }
    Bf16Job job{x, w, y, m, n, k};
    run<Bf16Job, bf16_block>(job);
    return 0;
}

} // extern "C"

/* ---- the libtorch operators ---- */

namespace {

/* A new [m, n] bf16 tensor for a kernel's result. */
void output(Output &out, int64_t m, int64_t n, uint16_t **data) {
    new_tensor(out, {m, n}, DTYPE_BFLOAT16, (void **)data);
}

/* int4_mm(Tensor x, Tensor nibbles, Tensor scales, Tensor zeros) -> Tensor */
void op_int4(StableIValue *stack, uint64_t, uint64_t) {
    Inputs in{{(AtenTensorHandle)stack[0], (AtenTensorHandle)stack[1], (AtenTensorHandle)stack[2],
               (AtenTensorHandle)stack[3]}};
    std::vector<int64_t> xs, ns, ss, zs;
    const uint16_t *x = (const uint16_t *)contiguous_data(in.handles[0], DTYPE_BFLOAT16, 2, "x", xs);
    const uint8_t *nib = (const uint8_t *)contiguous_data(in.handles[1], DTYPE_UINT8, 2, "nibbles", ns);
    const uint16_t *s = (const uint16_t *)contiguous_data(in.handles[2], DTYPE_BFLOAT16, 2, "scales", ss);
    const uint16_t *z = (const uint16_t *)contiguous_data(in.handles[3], DTYPE_BFLOAT16, 2, "zeros", zs);
    const int64_t m = xs[0], k = xs[1], n = ns[0];
    if (ns[1] * 2 != k || ss[0] != n || zs != ss || ss[1] < 1 || k % ss[1] != 0 || !int4_shape_ok((int)n, (int)k, (int)(k / ss[1]))) {
        throw std::runtime_error("woq int4 kernel: x " + shape_text(xs) + ", nibbles " + shape_text(ns) + ", scales " +
                                 shape_text(ss) + ", zeros " + shape_text(zs) +
                                 ": needs nibbles [n, in / 2], scales and zeros [n, in / group], in a multiple of 128, "
                                 "group 32, 64 or 128");
    }
    uint16_t *y;
    Output out;
    output(out, m, n, &y);
    if (m > 0) {
        kernel_ok(woq_int4_mm(x, nib, s, z, y, (int)m, (int)n, (int)k, (int)(k / ss[1])), "woq_int4_mm",
                  "x " + shape_text(xs) + ", nibbles " + shape_text(ns) + ", scales " + shape_text(ss));
    }
    in.release();
    stack[0] = out.release();
}

/*
 * int4q32_mm(Tensor x, Tensor nibbles, Tensor scale_codes, Tensor zero_codes, Tensor scale_max) -> Tensor
 * scale_max is the checkpoint's F32 [1] tensor as mapped (a tensor rather than a float argument:
 * the loader passes the stored tensor, and the stable ABI's float boxing is left untouched).
 */
void op_int4q32(StableIValue *stack, uint64_t, uint64_t) {
    Inputs in{{(AtenTensorHandle)stack[0], (AtenTensorHandle)stack[1], (AtenTensorHandle)stack[2],
               (AtenTensorHandle)stack[3], (AtenTensorHandle)stack[4]}};
    std::vector<int64_t> xs, ns, ss, zs, ms;
    const uint16_t *x = (const uint16_t *)contiguous_data(in.handles[0], DTYPE_BFLOAT16, 2, "x", xs);
    const uint8_t *nib = (const uint8_t *)contiguous_data(in.handles[1], DTYPE_UINT8, 2, "nibbles", ns);
    const uint8_t *s = (const uint8_t *)contiguous_data(in.handles[2], DTYPE_UINT8, 2, "scale_codes", ss);
    const uint8_t *z = (const uint8_t *)contiguous_data(in.handles[3], DTYPE_UINT8, 2, "zero_codes", zs);
    const float *smax = (const float *)contiguous_data(in.handles[4], DTYPE_FLOAT, 1, "scale_max", ms);
    const int64_t m = xs[0], k = xs[1], n = ns[0];
    const std::string shapes = "x " + shape_text(xs) + ", nibbles " + shape_text(ns) + ", scale_codes " +
                               shape_text(ss) + ", zero_codes " + shape_text(zs) + ", scale_max " + shape_text(ms);
    if (ns[1] * 2 != k || ss[0] != n || ss[1] * 32 != k || zs != ss || ms[0] != 1 || !int4_shape_ok((int)n, (int)k, 32)) {
        throw std::runtime_error("woq int4-q32 kernel: " + shapes +
                                 ": needs nibbles [n, in / 2], scale_codes and zero_codes [n, in / 32] uint8, "
                                 "scale_max [1] float, in a multiple of 128");
    }
    if (!std::isfinite(smax[0])) {
        throw std::runtime_error("woq int4-q32 kernel: scale_max is " + std::to_string(smax[0]) +
                                 ": the checkpoint's P.scale_max must be a finite number; re-quantize the model");
    }
    uint16_t *y;
    Output out;
    output(out, m, n, &y);
    if (m > 0) kernel_ok(woq_int4q32_mm(x, nib, s, z, smax[0], y, (int)m, (int)n, (int)k), "woq_int4q32_mm", shapes);
    in.release();
    stack[0] = out.release();
}

/* int8_mm(Tensor x, Tensor q, Tensor scales) -> Tensor */
void op_int8(StableIValue *stack, uint64_t, uint64_t) {
    Inputs in{{(AtenTensorHandle)stack[0], (AtenTensorHandle)stack[1], (AtenTensorHandle)stack[2]}};
    std::vector<int64_t> xs, qs, ss;
    const uint16_t *x = (const uint16_t *)contiguous_data(in.handles[0], DTYPE_BFLOAT16, 2, "x", xs);
    const int8_t *q = (const int8_t *)contiguous_data(in.handles[1], DTYPE_INT8, 2, "q", qs);
    const uint16_t *s = (const uint16_t *)contiguous_data(in.handles[2], DTYPE_BFLOAT16, 1, "scales", ss);
    if (qs[1] != xs[1] || ss[0] != qs[0]) {
        throw std::runtime_error("woq int8 kernel: x " + shape_text(xs) + ", q " + shape_text(qs) + ", scales " +
                                 shape_text(ss) + ": needs q [n, in] and scales [n]");
    }
    uint16_t *y;
    Output out;
    output(out, xs[0], qs[0], &y);
    if (xs[0] > 0) {
        kernel_ok(woq_int8_mm(x, q, s, y, (int)xs[0], (int)qs[0], (int)xs[1]), "woq_int8_mm",
                  "x " + shape_text(xs) + ", q " + shape_text(qs));
    }
    in.release();
    stack[0] = out.release();
}

/* int8g32_mm(Tensor x, Tensor q, Tensor scales) -> Tensor */
void op_int8g32(StableIValue *stack, uint64_t, uint64_t) {
    Inputs in{{(AtenTensorHandle)stack[0], (AtenTensorHandle)stack[1], (AtenTensorHandle)stack[2]}};
    std::vector<int64_t> xs, qs, ss;
    const uint16_t *x = (const uint16_t *)contiguous_data(in.handles[0], DTYPE_BFLOAT16, 2, "x", xs);
    const int8_t *q = (const int8_t *)contiguous_data(in.handles[1], DTYPE_INT8, 2, "q", qs);
    const uint16_t *s = (const uint16_t *)contiguous_data(in.handles[2], DTYPE_BFLOAT16, 2, "scales", ss);
    const std::string shapes = "x " + shape_text(xs) + ", q " + shape_text(qs) + ", scales " + shape_text(ss);
    if (qs[1] != xs[1] || qs[1] % INT8_GROUP != 0 || ss[0] != qs[0] || ss[1] * INT8_GROUP != qs[1]) {
        throw std::runtime_error("woq int8-g32 kernel: " + shapes +
                                 ": needs q [n, in] and scales [n, in / 32] bf16, in a multiple of 32");
    }
    uint16_t *y;
    Output out;
    output(out, xs[0], qs[0], &y);
    if (xs[0] > 0) {
        kernel_ok(woq_int8g32_mm(x, q, s, y, (int)xs[0], (int)qs[0], (int)xs[1]), "woq_int8g32_mm", shapes);
    }
    in.release();
    stack[0] = out.release();
}

/* bf16_mm(Tensor x, Tensor w) -> Tensor */
void op_bf16(StableIValue *stack, uint64_t, uint64_t) {
    Inputs in{{(AtenTensorHandle)stack[0], (AtenTensorHandle)stack[1]}};
    std::vector<int64_t> xs, ws;
    const uint16_t *x = (const uint16_t *)contiguous_data(in.handles[0], DTYPE_BFLOAT16, 2, "x", xs);
    const uint16_t *w = (const uint16_t *)contiguous_data(in.handles[1], DTYPE_BFLOAT16, 2, "w", ws);
    if (ws[1] != xs[1]) {
        throw std::runtime_error("woq bf16 kernel: x " + shape_text(xs) + ", w " + shape_text(ws) + ": needs w [n, in]");
    }
    uint16_t *y;
    Output out;
    output(out, xs[0], ws[0], &y);
    if (xs[0] > 0) {
        kernel_ok(woq_bf16_mm(x, w, y, (int)xs[0], (int)ws[0], (int)xs[1]), "woq_bf16_mm",
                  "x " + shape_text(xs) + ", w " + shape_text(ws));
    }
    in.release();
    stack[0] = out.release();
}

constexpr char INT4_MM[] = "woq::int4_mm";
constexpr char INT4Q32_MM[] = "woq::int4q32_mm";
constexpr char INT8_MM[] = "woq::int8_mm";
constexpr char INT8G32_MM[] = "woq::int8g32_mm";
constexpr char BF16_MM[] = "woq::bf16_mm";

} // namespace

namespace woq {

void register_avx512_ops(Registrar &r) {
    r.schema("int4_mm(Tensor x, Tensor nibbles, Tensor scales, Tensor zeros) -> Tensor");
    r.schema("int4q32_mm(Tensor x, Tensor nibbles, Tensor scale_codes, Tensor zero_codes, Tensor scale_max) -> Tensor");
    r.schema("int8_mm(Tensor x, Tensor q, Tensor scales) -> Tensor");
    r.schema("int8g32_mm(Tensor x, Tensor q, Tensor scales) -> Tensor");
    r.schema("bf16_mm(Tensor x, Tensor w) -> Tensor");
    r.code("int4_mm", guarded<op_int4, INT4_MM>);
    r.code("int4q32_mm", guarded<op_int4q32, INT4Q32_MM>);
    r.code("int8_mm", guarded<op_int8, INT8_MM>);
    r.code("int8g32_mm", guarded<op_int8g32, INT8G32_MM>);
    r.code("bf16_mm", guarded<op_bf16, BF16_MM>);
}

} // namespace woq
