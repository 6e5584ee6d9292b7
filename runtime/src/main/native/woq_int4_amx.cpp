/*
 * woq's int4 weight-only matmul on Intel AMX, registered with libtorch as the TorchScript operators
 * woq::int4_amx_pack and woq::int4_amx_mm.
 *
 *   y[M, N] = x[M, K] . W^T,   W[n][k] = (q[n][k] - 8) * scale[n][k / g] + zero[n][k / g]
 *
 * Why: libtorch 2.7's _weight_int4pack_mm_for_cpu turns every nibble into a float and multiplies
 * with AVX-512 FMAs, so on this 2-core CPU it is compute-bound at one token, 4 tokens cost
 * 1.5-1.7x one, and a 128-token prompt about 40x one. Here a nibble becomes the bf16 number 128 + q in
 * one or two bit operations (bf16 holds 128..143 exactly) and an AMX tile multiply takes 16 such
 * weight columns by 32 inputs for up to 16 activation rows at once. The unpacking of a weight tile
 * is shared by every row of x, so 4 rows cost about what one does and a prompt is cheap.
 *
 * Exactness: (128 + q) * x is exact in fp32 and the tile sums in fp32, as libtorch's kernel does.
 * The 128 + 8 offset comes back out per group with the group's sum of x:
 *   sum_k W x = scale * sum_k (128 + q) x + (zero - 136 * scale) * sum_k x.
 *
 * Layout (built at load by int4_amx_pack from the registry's portable nibbles, which stay the
 * truth): for each block of 16 output rows, for each step of 32 inputs, 256 bytes that unpack
 * into one AMX B tile in VNNI order (tile row r holds, for n = 0..15, the pair k = 2r, 2r + 1).
 * Read as 32 little-endian words per 64 bytes, nibble s of word w of chunk c is q[n0 + w / 2]
 * [k0 + 2 (4c + s) + w % 2]. After all codes: per block of 16 rows and group, 16 fp32 scales and
 * 16 fp32 offsets. The operators keep both in one uint8 tensor.
 *
 * The library needs no libtorch headers: it finds libtorch's stable C functions (aoti_torch_*,
 * exported since 2.7) and the OpenMP runtime libtorch uses in the running process, so it shares
 * libtorch's threads rather than competing with them on a small machine.
 */
#include "woq_native.h"

#include <immintrin.h>
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#define AMX_TARGET __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl,avx512bf16")))
#define AVX512_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

namespace {

using namespace woq;

constexpr int ROWS = 16;       // output rows per block, the width of a tile's fp32 sums
constexpr int STEP = 32;       // inputs per tile multiply
constexpr int STEP_BYTES = 256; // packed codes of 16 rows x 32 inputs

/* ---- CPU and OS support ---- */

/* AVX-512 BF16 (the staging code; see woq_native.cpp) and AMX-BF16 tiles. The tile state is granted
   by the OS per process (request_amx_permission). */
bool cpu_has_amx_bf16() {
    if (!cpu_has_avx512_bf16()) return false;
    unsigned a, b, c, d;
    __cpuid_count(7, 0, a, b, c, d);
    const bool amx_bf16 = d & (1u << 22), amx_tile = d & (1u << 24);
    return amx_bf16 && amx_tile;
}

/* Linux gives a process the AMX tile state only when it asks (arch_prctl, since 5.16). */
bool request_amx_permission() {
    constexpr long ARCH_REQ_XCOMP_PERM = 0x1023;
    constexpr long XFEATURE_XTILEDATA = 18;
    return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
}

/* ---- packing ---- */

struct PackJob {
    const uint8_t *nibbles;
    const uint16_t *scales, *zeros;
    uint8_t *codes;
    float *sz;
    int n, k, g;
};

__attribute__((target("bmi2"))) void pack_part(void *arg, int part, int parts) {
    const PackJob *j = static_cast<const PackJob *>(arg);
    const int blocks = j->n / ROWS, steps = j->k / STEP, groups = j->k / j->g;
    const int begin = (int)((long long)blocks * part / parts), end = (int)((long long)blocks * (part + 1) / parts);
    for (int nb = begin; nb < end; nb++) {
        const int n0 = nb * ROWS;
        uint8_t *out = j->codes + (size_t)nb * steps * STEP_BYTES;
        for (int ks = 0; ks < steps; ks++) {
            // Word 2n + p of chunk c holds, in nibble s, the code of row n at k0 + 8c + 2s + p: the
            // low (p = 0) or high (p = 1) nibbles of the row's bytes 4c .. 4c + 3, gathered by PEXT.
            uint16_t *words = reinterpret_cast<uint16_t *>(out + (size_t)ks * STEP_BYTES);
            for (int r = 0; r < ROWS; r++) {
                const uint8_t *row = j->nibbles + (size_t)(n0 + r) * (j->k / 2) + (size_t)ks * (STEP / 2);
                for (int c = 0; c < 4; c++) {
                    uint32_t u;
                    std::memcpy(&u, row + 4 * c, 4);
                    words[c * 32 + 2 * r] = (uint16_t)_pext_u32(u, 0x0F0F0F0Fu);
                    words[c * 32 + 2 * r + 1] = (uint16_t)_pext_u32(u, 0xF0F0F0F0u);
                }
            }
        }
        float *sz = j->sz + (size_t)nb * groups * 2 * ROWS;
        for (int gi = 0; gi < groups; gi++) {
            for (int r = 0; r < ROWS; r++) {
                const float scale = bf16_to_f32(j->scales[(size_t)(n0 + r) * groups + gi]);
                const float zero = bf16_to_f32(j->zeros[(size_t)(n0 + r) * groups + gi]);
                sz[gi * 2 * ROWS + r] = scale;
                sz[gi * 2 * ROWS + ROWS + r] = zero - 136.0f * scale;
            }
        }
    }
}

/* ---- the matmul ---- */

struct MmJob {
    const uint16_t *x;  // [m, k] bf16
    const float *xsum;  // [m, groups]: sum of x over each group
    const uint8_t *codes;
    const float *sz;
    uint16_t *y;        // [m, n] bf16
    int m, n, k, g;
};

struct alignas(64) TileConfig {
    uint8_t palette = 1;
    uint8_t start_row = 0;
    uint8_t reserved[14] = {};
    uint16_t colsb[16] = {};
    uint8_t rows[16] = {};
};

/* Tiles: 0 and 5 C (16 rows), 1 and 6 A (16 rows), 2 B, 3 C (the last rows of x), 4 A (the last rows). */
AMX_TARGET void configure_tiles(int tail) {
    TileConfig cfg;
    cfg.rows[0] = ROWS; cfg.colsb[0] = ROWS * 4;
    cfg.rows[1] = ROWS; cfg.colsb[1] = STEP * 2;
    cfg.rows[2] = STEP / 2; cfg.colsb[2] = ROWS * 4;
    cfg.rows[5] = ROWS; cfg.colsb[5] = ROWS * 4;
    cfg.rows[6] = ROWS; cfg.colsb[6] = STEP * 2;
    if (tail > 0) {
        cfg.rows[3] = (uint8_t)tail; cfg.colsb[3] = ROWS * 4;
        cfg.rows[4] = (uint8_t)tail; cfg.colsb[4] = STEP * 2;
    }
    _tile_loadconfig(&cfg);
}

/* 256 packed bytes -> one B tile (16 rows of 16 bf16 pairs) in `tile`. */
AVX512_TARGET inline void unpack_step(const uint8_t *packed, uint16_t *tile) {
    const __m512i nibble = _mm512_set1_epi16(0x000F);
    const __m512i bias = _mm512_set1_epi16(0x4300); // bf16 128.0: OR-ing q in gives 128 + q
    for (int c = 0; c < 4; c++) {
        const __m512i raw = _mm512_loadu_si512(packed + 64 * c);
        uint16_t *rows = tile + 4 * c * 32;
        _mm512_store_si512(rows, _mm512_ternarylogic_epi32(raw, nibble, bias, 0xEA));
        _mm512_store_si512(rows + 32, _mm512_ternarylogic_epi32(_mm512_srli_epi16(raw, 4), nibble, bias, 0xEA));
        _mm512_store_si512(rows + 64, _mm512_ternarylogic_epi32(_mm512_srli_epi16(raw, 8), nibble, bias, 0xEA));
        _mm512_store_si512(rows + 96, _mm512_or_si512(_mm512_srli_epi16(raw, 12), bias));
    }
}

/* acc[m0 + i] += scale * c[i] + offset * (sum of x[m0 + i] over the group), for `rows` rows */
AVX512_TARGET inline void add_chunk(float *acc, const float (*c)[ROWS], const float *xsum, int groups, int gi, int m0,
                                    int rows, __m512 scale, __m512 offset) {
    for (int i = 0; i < rows; i++) {
        float *a = acc + (size_t)(m0 + i) * ROWS;
        const __m512 xs = _mm512_set1_ps(xsum[(size_t)(m0 + i) * groups + gi]);
        const __m512 v = _mm512_fmadd_ps(offset, xs, _mm512_load_ps(a));
        _mm512_store_ps(a, _mm512_fmadd_ps(scale, _mm512_load_ps(c[i]), v));
    }
}

AMX_TARGET void mm_part(void *arg, int part, int parts) {
    const MmJob *j = static_cast<const MmJob *>(arg);
    const int blocks = j->n / ROWS, steps_per_group = j->g / STEP, groups = j->k / j->g;
    const int begin = (int)((long long)blocks * part / parts), end = (int)((long long)blocks * (part + 1) / parts);
    if (begin >= end) return;
    const int full = j->m / ROWS, tail = j->m % ROWS;
    configure_tiles(tail);
    // per thread: the group's B tiles, one C tile's sums, and the fp32 sums of this block's rows
    alignas(64) uint16_t btiles[4][STEP / 2 * ROWS * 2];
    alignas(64) float c[ROWS][ROWS], c2[ROWS][ROWS];
    std::vector<float> accbuf((size_t)j->m * ROWS + 16);
    float *acc = reinterpret_cast<float *>((reinterpret_cast<uintptr_t>(accbuf.data()) + 63) & ~uintptr_t(63));
    const size_t xstride = (size_t)j->k * 2;
    const int steps = j->k / STEP;
    for (int nb = begin; nb < end; nb++) {
        const uint8_t *codes = j->codes + (size_t)nb * steps * STEP_BYTES;
        const float *sz = j->sz + (size_t)nb * groups * 2 * ROWS;
        std::memset(acc, 0, sizeof(float) * (size_t)j->m * ROWS);
        if (nb + 1 < end) _mm_prefetch((const char *)(codes + (size_t)steps * STEP_BYTES), _MM_HINT_T1);
        for (int gi = 0; gi < groups; gi++) {
            for (int t = 0; t < steps_per_group; t++) {
                const uint8_t *p = codes + (size_t)(gi * steps_per_group + t) * STEP_BYTES;
                // Past the last block these hint at bytes beyond the codes: PREFETCHh never faults
                // on x86, so that reads nothing (see PREFETCH_BYTES in woq_avx512.cpp).
                _mm_prefetch((const char *)p + 1024, _MM_HINT_T0);
                _mm_prefetch((const char *)p + 1024 + 64, _MM_HINT_T0);
                _mm_prefetch((const char *)p + 1024 + 128, _MM_HINT_T0);
                _mm_prefetch((const char *)p + 1024 + 192, _MM_HINT_T0);
                unpack_step(p, btiles[t]);
            }
            const __m512 scale = _mm512_loadu_ps(sz + gi * 2 * ROWS);
            const __m512 offset = _mm512_loadu_ps(sz + gi * 2 * ROWS + ROWS);
            const uint16_t *xg = j->x + (size_t)gi * j->g;
            // Two chunks of 16 rows at a time into tiles 0 and 5, so their tile multiplies overlap.
            int m0 = 0;
            for (; m0 + 2 * ROWS <= full * ROWS; m0 += 2 * ROWS) {
                _tile_zero(0);
                _tile_zero(5);
                for (int t = 0; t < steps_per_group; t++) {
                    _tile_loadd(2, btiles[t], ROWS * 4);
                    _tile_loadd(1, xg + (size_t)m0 * j->k + t * STEP, xstride);
                    _tile_loadd(6, xg + (size_t)(m0 + ROWS) * j->k + t * STEP, xstride);
                    _tile_dpbf16ps(0, 1, 2);
                    _tile_dpbf16ps(5, 6, 2);
                }
                _tile_stored(0, c, ROWS * 4);
                _tile_stored(5, c2, ROWS * 4);
                add_chunk(acc, c, j->xsum, groups, gi, m0, ROWS, scale, offset);
                add_chunk(acc, c2, j->xsum, groups, gi, m0 + ROWS, ROWS, scale, offset);
            }
            for (; m0 < j->m; m0 += ROWS) {
                const int rows = j->m - m0 < ROWS ? j->m - m0 : ROWS;
                // Two copies that differ only in tile numbers: GCC's tile intrinsics are macros that
                // paste the number into the instruction text, so a template parameter cannot name it.
                if (rows == ROWS) {
                    _tile_zero(0);
                    for (int t = 0; t < steps_per_group; t++) {
                        _tile_loadd(1, xg + (size_t)m0 * j->k + t * STEP, xstride);
                        _tile_loadd(2, btiles[t], ROWS * 4);
                        _tile_dpbf16ps(0, 1, 2);
                    }
                    _tile_stored(0, c, ROWS * 4);
                } else {
                    _tile_zero(3);
                    for (int t = 0; t < steps_per_group; t++) {
                        _tile_loadd(4, xg + (size_t)m0 * j->k + t * STEP, xstride);
                        _tile_loadd(2, btiles[t], ROWS * 4);
                        _tile_dpbf16ps(3, 4, 2);
                    }
                    _tile_stored(3, c, ROWS * 4);
                }
                add_chunk(acc, c, j->xsum, groups, gi, m0, rows, scale, offset);
            }
        }
        for (int i = 0; i < j->m; i++) {
            const __m256i out = (__m256i)_mm512_cvtneps_pbh(_mm512_load_ps(acc + (size_t)i * ROWS));
            _mm256_storeu_si256((__m256i *)(j->y + (size_t)i * j->n + (size_t)nb * ROWS), out);
        }
    }
    _tile_release();
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

std::string shape_error(int n, int k, int g) {
    return "woq int4 AMX kernel: out " + std::to_string(n) + ", in " + std::to_string(k) + ", group " +
           std::to_string(g) + ": needs out a multiple of 16, group a multiple of 32 up to 128, in a multiple of group";
}

bool shape_ok(int n, int k, int g) {
    return n > 0 && n % ROWS == 0 && g >= STEP && g <= 128 && g % STEP == 0 && k > 0 && k % g == 0;
}

} // namespace

/* ---- the C API (also what the tests of the native code call) ---- */

extern "C" {

/* 1 when this CPU and OS run the kernel (AMX-BF16, AVX-512 BF16, tile state granted). */
WOQ_EXPORT int woq_amx_supported() {
    static int known = -1;
    if (known < 0) known = cpu_has_amx_bf16() && request_amx_permission() ? 1 : 0;
    return known;
}

/* Bytes of packed codes and floats of scales/offsets for an [n, k] matrix with group g. */
WOQ_EXPORT long long woq_int4_amx_code_bytes(int n, int k) { return (long long)n * k / 2; }
WOQ_EXPORT long long woq_int4_amx_sz_floats(int n, int k, int g) { return (long long)n * (k / g) * 2; }

/* Portable nibbles ([n, k/2], low nibble = even k) and bf16 scales, zeros ([n, k/g]) -> the layout above. */
WOQ_EXPORT int woq_int4_amx_pack(const uint8_t *nibbles, const uint16_t *scales, const uint16_t *zeros, int n, int k, int g,
                      uint8_t *codes, float *sz) {
    if (!shape_ok(n, k, g)) return -1;
    PackJob job{nibbles, scales, zeros, codes, sz, n, k, g};
    parallel(pack_part, &job, n / ROWS);
    return 0;
}

/* y[m, n] = x[m, k] . W^T, all bf16, W as packed by woq_int4_amx_pack. */
WOQ_EXPORT int woq_int4_amx_mm(const uint16_t *x, const uint8_t *codes, const float *sz, uint16_t *y, int m, int n, int k,
                    int g) {
    if (!shape_ok(n, k, g) || m < 1) return -1;
    if (!woq_amx_supported()) return -2;
    std::vector<float> xsum((size_t)m * (k / g));
    group_sums(x, m, k, g, xsum.data());
    MmJob job{x, xsum.data(), codes, sz, y, m, n, k, g};
    parallel(mm_part, &job, n / ROWS);
    return 0;
}

} // extern "C"

/* ---- the libtorch operators, through libtorch's stable C functions ---- */

namespace {

/* int4_amx_pack(Tensor nibbles, Tensor scales, Tensor zeros) -> Tensor: uint8, the codes then the fp32 scales/offsets */
void op_pack(StableIValue *stack, uint64_t, uint64_t) {
    Inputs in{{(AtenTensorHandle)stack[0], (AtenTensorHandle)stack[1], (AtenTensorHandle)stack[2]}};
    std::vector<int64_t> ns, ss, zs;
    const uint8_t *nibbles = (const uint8_t *)contiguous_data(in.handles[0], DTYPE_UINT8, 2, "nibbles", ns);
    const uint16_t *scales = (const uint16_t *)contiguous_data(in.handles[1], DTYPE_BFLOAT16, 2, "scales", ss);
    const uint16_t *zeros = (const uint16_t *)contiguous_data(in.handles[2], DTYPE_BFLOAT16, 2, "zeros", zs);
    const int64_t n = ns[0], k = ns[1] * 2, groups = ss[1];
    if (ss[0] != n || zs != ss || groups < 1 || k % groups != 0) {
        throw std::runtime_error("woq int4 AMX kernel: scales and zeros must both be [" + std::to_string(n) +
                                 ", in / group] for nibbles [" + std::to_string(n) + ", " + std::to_string(k / 2) + "]");
    }
    const int g = (int)(k / groups);
    if (!shape_ok((int)n, (int)k, g)) throw std::runtime_error(shape_error((int)n, (int)k, g));
    const int64_t code_bytes = woq_int4_amx_code_bytes((int)n, (int)k);
    uint8_t *codes;
    Output packed;
    new_tensor(packed, {code_bytes + 4 * woq_int4_amx_sz_floats((int)n, (int)k, g)}, DTYPE_UINT8, (void **)&codes);
    if (woq_int4_amx_pack(nibbles, scales, zeros, (int)n, (int)k, g, codes, (float *)(codes + code_bytes)) != 0) {
        throw std::runtime_error(shape_error((int)n, (int)k, g));
    }
    in.release();
    stack[0] = packed.release();
}

/* int4_amx_mm(Tensor x, Tensor packed, int out, int group) -> Tensor */
void op_mm(StableIValue *stack, uint64_t, uint64_t) {
    Inputs in{{(AtenTensorHandle)stack[0], (AtenTensorHandle)stack[1]}};
    const int64_t n = (int64_t)stack[2], g = (int64_t)stack[3];
    std::vector<int64_t> xs, ps;
    const uint16_t *x = (const uint16_t *)contiguous_data(in.handles[0], DTYPE_BFLOAT16, 2, "x", xs);
    const uint8_t *packed = (const uint8_t *)contiguous_data(in.handles[1], DTYPE_UINT8, 1, "packed", ps);
    const int64_t m = xs[0], k = xs[1];
    if (!shape_ok((int)n, (int)k, (int)g)) throw std::runtime_error(shape_error((int)n, (int)k, (int)g));
    const int64_t code_bytes = woq_int4_amx_code_bytes((int)n, (int)k);
    if (ps[0] != code_bytes + 4 * woq_int4_amx_sz_floats((int)n, (int)k, (int)g)) {
        throw std::runtime_error("woq int4 AMX kernel: packed weights of " + std::to_string(ps[0]) +
                                 " bytes do not match out " + std::to_string(n) + ", in " + std::to_string(k) +
                                 ", group " + std::to_string(g));
    }
    void *yp;
    Output y;
    new_tensor(y, {m, n}, DTYPE_BFLOAT16, &yp);
    if (m > 0 && woq_int4_amx_mm(x, packed, (const float *)(packed + code_bytes), (uint16_t *)yp, (int)m, (int)n,
                                 (int)k, (int)g) != 0) {
        throw std::runtime_error("woq int4 AMX kernel: this CPU or OS does not run AMX tiles");
    }
    in.release();
    stack[0] = y.release();
}

constexpr char AMX_PACK[] = "woq::int4_amx_pack";
constexpr char AMX_MM[] = "woq::int4_amx_mm";

} // namespace

namespace woq {

void register_amx_ops(Registrar &r) {
    r.schema("int4_amx_pack(Tensor nibbles, Tensor scales, Tensor zeros) -> Tensor");
    r.schema("int4_amx_mm(Tensor x, Tensor packed, int out, int group) -> Tensor");
    if (woq_amx_supported()) {
        r.code("int4_amx_pack", guarded<op_pack, AMX_PACK>);
        r.code("int4_amx_mm", guarded<op_mm, AMX_MM>);
    }
}

} // namespace woq
