/*
 * The steps of a Llama layer between its projections, as single operators: the RMS norm, SwiGLU's
 * silu(gate) * up, and one decode token's attention (RoPE, the cache write, grouped-query attention
 * over the cache). Registered with libtorch as woq::rms_norm, woq::silu_mul and
 * woq::attention_decode.
 *
 * Why: a decode step's projections stream the weights at the memory's speed, and what lies between
 * them is little arithmetic but, in libtorch, about forty small operators per layer (seven for the
 * norm, a dozen for RoPE, the cache copies, the views and SDPA's own), each paying TorchScript's
 * dispatch and an allocation. On two cores that was about a fifth of an 8B int4 decode step, with
 * the second core waiting. Here each step is one call.
 *
 * Each rounds where libtorch's TorchScript (LlamaOps.ts) rounds, so the two agree to bf16 rounding:
 *   rms_norm:  y = bf16(w * bf16(x * rsqrt(mean(x^2) + eps)))          (fp32 inside)
 *   silu_mul:  y = bf16(bf16(g / (1 + exp(-g))) * u)
 *   attention: q and k rotated in fp32 and rounded to bf16 (k as it goes into the cache), then per
 *              query head h (KV head h / G): softmax(q . K^T / sqrt(D)) . V in fp32, the output
 *              rounded once, as LlamaOps.ts runs a prompt's attention (in fp32 since rounding its
 *              chunks' parts to bf16 before merging them cost chunked prompts 0.9997-0.9998 of cosine).
 */
#include "woq_native.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstring>
#include <cmath>
#include <vector>

#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))
#define AVX512_BF16_LAYER __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

namespace {

using woq::load_bf16;

/* Round to nearest even, as f32_to_bf16 (NaN stays NaN), 16 at a time. */
AVX512 inline __m256i to_bf16(__m512 v) {
    const __m512i u = _mm512_castps_si512(v);
    const __m512i rounded = _mm512_add_epi32(
        u, _mm512_add_epi32(_mm512_set1_epi32(0x7FFF), _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1))));
    const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    const __m512i quiet = _mm512_or_si512(u, _mm512_set1_epi32(0x00400000));
    return _mm512_cvtepi32_epi16(_mm512_srli_epi32(_mm512_mask_mov_epi32(rounded, nan, quiet), 16));
}

/* A bf16 rounding kept in fp32: what libtorch's round trip through a bf16 tensor does. */
AVX512 inline __m512 round_bf16(__m512 v) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(to_bf16(v)), 16));
}

/*
 * exp(x) to about 2 ulp of fp32 (far finer than the bf16 it is rounded to): x = n ln2 + r with
 * |r| <= ln2 / 2, a degree-7 Taylor polynomial for e^r, scaled by 2^n. Below -104 it is 0, above
 * 88.7 infinity, as expf.
 */
AVX512 inline __m512 exp512(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(-104.0f));
    const __m512 over = _mm512_set1_ps(88.72284f);
    const __mmask16 inf = _mm512_cmp_ps_mask(x, over, _CMP_GT_OQ);
    x = _mm512_min_ps(x, over);
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187e-06f), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_mask_mov_ps(_mm512_scalef_ps(p, n), inf, _mm512_set1_ps(INFINITY));
}

/* ---- rms_norm ---- */

struct NormJob {
    const uint16_t *x, *w;
    float eps;
    uint16_t *y;
    int m, n;
};

AVX512 void norm_rows(void *arg, int part, int parts) {
    const NormJob *j = static_cast<const NormJob *>(arg);
    const int r0 = (int)((long long)j->m * part / parts), r1 = (int)((long long)j->m * (part + 1) / parts);
    for (int r = r0; r < r1; r++) {
        const uint16_t *x = j->x + (size_t)r * j->n;
        uint16_t *y = j->y + (size_t)r * j->n;
        __m512 acc = _mm512_setzero_ps();
        for (int i = 0; i < j->n; i += 16) {
            const __m512 v = load_bf16(x + i);
            acc = _mm512_fmadd_ps(v, v, acc);
        }
        const float inv = 1.0f / std::sqrt(_mm512_reduce_add_ps(acc) / (float)j->n + j->eps);
        const __m512 s = _mm512_set1_ps(inv);
        for (int i = 0; i < j->n; i += 16) {
            const __m512 normed = round_bf16(_mm512_mul_ps(load_bf16(x + i), s));
            _mm256_storeu_si256((__m256i *)(y + i), to_bf16(_mm512_mul_ps(load_bf16(j->w + i), normed)));
        }
    }
}

/* ---- silu_mul ---- */

struct SiluJob {
    const uint16_t *gate, *up;
    uint16_t *y;
    int64_t count; // a multiple of 16
};

AVX512 void silu_part(void *arg, int part, int parts) {
    const SiluJob *j = static_cast<const SiluJob *>(arg);
    const int64_t vectors = j->count / 16, v0 = vectors * part / parts, v1 = vectors * (part + 1) / parts;
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int64_t v = v0; v < v1; v++) {
        const __m512 g = load_bf16(j->gate + v * 16);
        const __m512 silu = round_bf16(_mm512_div_ps(g, _mm512_add_ps(one, exp512(_mm512_sub_ps(_mm512_setzero_ps(), g)))));
        _mm256_storeu_si256((__m256i *)(j->y + v * 16), to_bf16(_mm512_mul_ps(silu, load_bf16(j->up + v * 16))));
    }
}

/* ---- RoPE, for both attentions ---- */

/* RoPE on tokens of x [T, heads * D] (a part of them per thread) with the tables' rows pos + t, rounded to bf16 into out. */
struct RopeJob {
    const uint16_t *x;
    const float *cos, *sin; // [positions, D]
    int pos, t, heads, d;
    uint16_t *out;
};

AVX512 void rope_part(void *arg, int part, int parts) {
    const RopeJob *j = static_cast<const RopeJob *>(arg);
    const int half = j->d / 2;
    for (int t = (int)((long long)j->t * part / parts); t < (int)((long long)j->t * (part + 1) / parts); t++) {
        const float *c = j->cos + (size_t)(j->pos + t) * j->d, *s = j->sin + (size_t)(j->pos + t) * j->d;
        for (int h = 0; h < j->heads; h++) {
            const uint16_t *x = j->x + ((size_t)t * j->heads + h) * j->d;
            uint16_t *o = j->out + ((size_t)t * j->heads + h) * j->d;
            for (int i = 0; i < half; i += 16) {
                const __m512 x1 = load_bf16(x + i), x2 = load_bf16(x + half + i);
                // as LlamaOps.rope: x * cos + rotate_half(x) * sin, each product rounded to fp32
                const __m512 lo = _mm512_add_ps(_mm512_mul_ps(x1, _mm512_loadu_ps(c + i)),
                                                _mm512_mul_ps(_mm512_sub_ps(_mm512_setzero_ps(), x2), _mm512_loadu_ps(s + i)));
                const __m512 hi = _mm512_add_ps(_mm512_mul_ps(x2, _mm512_loadu_ps(c + half + i)),
                                                _mm512_mul_ps(x1, _mm512_loadu_ps(s + half + i)));
                _mm256_storeu_si256((__m256i *)(o + i), to_bf16(lo));
                _mm256_storeu_si256((__m256i *)(o + half + i), to_bf16(hi));
            }
        }
    }
}

/* ---- attention_decode ---- */

struct AttentionJob {
    const uint16_t *q; // [H, D] rotated
    const uint16_t *k_cache, *v_cache; // [KV, capacity, D], filled to len
    int capacity, len, kv_heads, group, d;
    float scale;
    uint16_t *out; // [H, D]
};

AVX512 void attend_kv_heads(void *arg, int part, int parts) {
    const AttentionJob *j = static_cast<const AttentionJob *>(arg);
    const int d = j->d, g = j->group, len = j->len, vecs = d / 16;
    std::vector<float> scores((size_t)g * len), acc((size_t)g * d), total(g);
    for (int kv = j->kv_heads * part / parts; kv < j->kv_heads * (part + 1) / parts; kv++) {
        const uint16_t *keys = j->k_cache + (size_t)kv * j->capacity * d;
        const uint16_t *values = j->v_cache + (size_t)kv * j->capacity * d;
        const uint16_t *q = j->q + (size_t)kv * g * d; // heads kv * G .. kv * G + G - 1
        for (int t = 0; t < len; t++) {
            const uint16_t *key = keys + (size_t)t * d;
            for (int h = 0; h < g; h++) {
                __m512 dot = _mm512_setzero_ps();
                for (int c = 0; c < vecs; c++) {
                    dot = _mm512_fmadd_ps(load_bf16(q + h * d + c * 16), load_bf16(key + c * 16), dot);
                }
                scores[(size_t)h * len + t] = _mm512_reduce_add_ps(dot) * j->scale;
            }
        }
        std::fill(acc.begin(), acc.end(), 0.0f);
        for (int h = 0; h < g; h++) {
            float *s = scores.data() + (size_t)h * len;
            float top = s[0];
            for (int t = 1; t < len; t++) top = s[t] > top ? s[t] : top;
            __m512 sum = _mm512_setzero_ps();
            int t = 0;
            for (; t + 16 <= len; t += 16) {
                const __m512 e = exp512(_mm512_sub_ps(_mm512_loadu_ps(s + t), _mm512_set1_ps(top)));
                _mm512_storeu_ps(s + t, e);
                sum = _mm512_add_ps(sum, e);
            }
            if (t < len) {
                const __mmask16 tail = (__mmask16)((1u << (len - t)) - 1);
                const __m512 e = exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, s + t), _mm512_set1_ps(top)));
                _mm512_mask_storeu_ps(s + t, tail, e);
                sum = _mm512_add_ps(sum, _mm512_maskz_mov_ps(tail, e));
            }
            total[h] = _mm512_reduce_add_ps(sum);
        }
        for (int t = 0; t < len; t++) {
            const uint16_t *value = values + (size_t)t * d;
            for (int c = 0; c < vecs; c++) {
                const __m512 v = load_bf16(value + c * 16);
                for (int h = 0; h < g; h++) {
                    float *a = acc.data() + h * d + c * 16;
                    _mm512_storeu_ps(a, _mm512_fmadd_ps(_mm512_set1_ps(scores[(size_t)h * len + t]), v, _mm512_loadu_ps(a)));
                }
            }
        }
        for (int h = 0; h < g; h++) {
            const __m512 inv = _mm512_set1_ps(1.0f / total[h]);
            uint16_t *o = j->out + (size_t)(kv * g + h) * d;
            for (int c = 0; c < vecs; c++) {
                _mm256_storeu_si256((__m256i *)(o + c * 16), to_bf16(_mm512_mul_ps(_mm512_loadu_ps(acc.data() + h * d + c * 16), inv)));
            }
        }
    }
}

/* ---- attention_prefill: a prompt chunk's causal grouped-query attention, blocked ---- */

/*
 * A chunk of T tokens at positions pos..pos+T-1 attends to every cached key before it and causally
 * to its own, which this call writes into the caches first. Flash attention's scheme: keys pass in
 * blocks of PA_KEYS with a running maximum and sum per query row, so no [T, pos + T] matrix is
 * formed. A work item is one KV head and PA_ROWS query rows (the G heads sharing it, for
 * PA_ROWS / G tokens), so each key block read serves all of them; items are handed out from the
 * last tokens (the most keys) down, so that the two threads finish together.
 *
 * Lanes are query rows throughout: the rows' q are transposed once per item into pairs of
 * inputs [D/2][rows], each key's pair is broadcast, and VDPBF16PS gives 16 rows' scores for that
 * key. q (rounded to bf16 after RoPE) and the keys (bf16 in the cache) are exact in it, and their
 * products are summed in fp32, as libtorch's fp32 flash kernel sums them. So the running maximum,
 * the exponentials and the rescaling are plain vector operations, and the output accumulates as
 * [D][rows] in fp32 from probabilities kept in fp32 (rounding them to bf16 for VDPBF16PS would
 * double that half's speed, but no longer round where one pass, chunks and token-by-token decode
 * round alike). The output is rounded to bf16 once, as LlamaOps.ts rounds its merged parts.
 */
constexpr int PA_KEYS = 64; // keys per block
constexpr int PA_ROWS = 64; // query rows per work item: 4 vectors

struct PrefillAttentionJob {
    const uint16_t *q; // [T, H * D], rotated
    const uint16_t *k_cache, *v_cache; // [KV, capacity, D], filled to pos + T
    int capacity, pos, t, kv_heads, group, d, tokens_per_item, token_blocks;
    float scale;
    uint16_t *out; // [T, H * D]
    std::atomic<int> *next;
};

/* scores^T [keys][rows] for keys k0 .. k0 + n - 1 (n a multiple of 4; keys past `last` repeat it). */
template <int RV>
AVX512_BF16_LAYER void pa_scores(const uint32_t *qt, const uint16_t *keys, int d, int k0, int n, int last, float *s) {
    const int pairs = d / 2;
    for (int j = 0; j < n; j += 4) {
        const uint32_t *kp[4];
        for (int jj = 0; jj < 4; jj++) kp[jj] = (const uint32_t *)(keys + (size_t)std::min(k0 + j + jj, last) * d);
        __m512 acc[4][RV];
        for (int jj = 0; jj < 4; jj++)
            for (int rv = 0; rv < RV; rv++) acc[jj][rv] = _mm512_setzero_ps();
        for (int p = 0; p < pairs; p++) {
            __m512i qv[RV];
            for (int rv = 0; rv < RV; rv++) qv[rv] = _mm512_loadu_si512(qt + (size_t)p * RV * 16 + rv * 16);
            for (int jj = 0; jj < 4; jj++) {
                const __m512i kb = _mm512_set1_epi32((int)kp[jj][p]);
                for (int rv = 0; rv < RV; rv++)
                    acc[jj][rv] = _mm512_dpbf16_ps(acc[jj][rv], (__m512bh)qv[rv], (__m512bh)kb);
            }
        }
        for (int jj = 0; jj < 4; jj++)
            for (int rv = 0; rv < RV; rv++) _mm512_storeu_ps(s + (size_t)(j + jj) * RV * 16 + rv * 16, acc[jj][rv]);
    }
}

/* acc^T [D][rows] = acc^T * alpha (each row's rescaling) + sum over n keys of p^T [key][rows] * v [key][D]. */
template <int RV>
AVX512_BF16_LAYER void pa_values(const float *p, const float *v, const __m512 *alpha, int d, int n, float *acc) {
    for (int dd = 0; dd < d; dd += 4) {
        __m512 a[4][RV];
        for (int i = 0; i < 4; i++)
            for (int rv = 0; rv < RV; rv++)
                a[i][rv] = _mm512_mul_ps(_mm512_loadu_ps(acc + (size_t)(dd + i) * RV * 16 + rv * 16), alpha[rv]);
        for (int j = 0; j < n; j++) {
            __m512 pv[RV];
            for (int rv = 0; rv < RV; rv++) pv[rv] = _mm512_loadu_ps(p + (size_t)j * RV * 16 + rv * 16);
            for (int i = 0; i < 4; i++) {
                const __m512 vb = _mm512_set1_ps(v[(size_t)j * d + dd + i]);
                for (int rv = 0; rv < RV; rv++) a[i][rv] = _mm512_fmadd_ps(pv[rv], vb, a[i][rv]);
            }
        }
        for (int i = 0; i < 4; i++)
            for (int rv = 0; rv < RV; rv++) _mm512_storeu_ps(acc + (size_t)(dd + i) * RV * 16 + rv * 16, a[i][rv]);
    }
}

template <int RV>
AVX512_BF16_LAYER void pa_item(const PrefillAttentionJob *j, int kv, int tb, std::vector<uint32_t> &qt,
                               std::vector<float> &s, std::vector<float> &vf, std::vector<float> &acc) {
    constexpr int W = RV * 16; // rows, padded
    const int d = j->d, g = j->group, pairs = d / 2, hd = j->kv_heads * g * d;
    const int t0 = tb * j->tokens_per_item, t1 = std::min(j->t, t0 + j->tokens_per_item), rows = (t1 - t0) * g;
    const uint16_t *keys = j->k_cache + (size_t)kv * j->capacity * d;
    const uint16_t *values = j->v_cache + (size_t)kv * j->capacity * d;
    // q^T as pairs: row r is token t0 + r / G, head kv * G + r % G; padding rows are zeros
    std::fill(qt.begin(), qt.begin() + (size_t)pairs * W, 0u);
    for (int r = 0; r < rows; r++) {
        const uint32_t *qr = (const uint32_t *)(j->q + (size_t)(t0 + r / g) * hd + (size_t)(kv * g + r % g) * d);
        for (int p = 0; p < pairs; p++) qt[(size_t)p * W + r] = qr[p];
    }
    // each row's position; padding rows see every key (their zero scores stay finite)
    __m512i row_pos[RV];
    for (int rv = 0; rv < RV; rv++) {
        alignas(64) int32_t at[16];
        for (int i = 0; i < 16; i++) {
            const int r = rv * 16 + i;
            at[i] = r < rows ? j->pos + t0 + r / g : INT32_MAX;
        }
        row_pos[rv] = _mm512_load_si512(at);
    }
    __m512 top[RV], sum[RV];
    for (int rv = 0; rv < RV; rv++) {
        top[rv] = _mm512_set1_ps(-INFINITY);
        sum[rv] = _mm512_setzero_ps();
    }
    std::fill(acc.begin(), acc.begin() + (size_t)d * W, 0.0f);
    const int end = j->pos + t1; // keys 0 .. end - 1
    const int unmasked = j->pos + t0 + 1; // keys below this every row sees
    const __m512 scale = _mm512_set1_ps(j->scale);
    for (int k0 = 0; k0 < end; k0 += PA_KEYS) {
        const int n = std::min(PA_KEYS, end - k0), n4 = (n + 3) & ~3;
        pa_scores<RV>(qt.data(), keys, d, k0, n4, end - 1, s.data());
        __m512 block_top[RV];
        for (int rv = 0; rv < RV; rv++) block_top[rv] = _mm512_set1_ps(-INFINITY);
        const bool masked = k0 + n > unmasked;
        for (int jj = 0; jj < n; jj++) {
            for (int rv = 0; rv < RV; rv++) {
                float *sp = s.data() + (size_t)jj * W + rv * 16;
                __m512 v = _mm512_mul_ps(_mm512_loadu_ps(sp), scale);
                if (masked) {
                    const __mmask16 sees = _mm512_cmpge_epi32_mask(row_pos[rv], _mm512_set1_epi32(k0 + jj));
                    v = _mm512_mask_mov_ps(_mm512_set1_ps(-INFINITY), sees, v);
                }
                _mm512_storeu_ps(sp, v);
                block_top[rv] = _mm512_max_ps(block_top[rv], v);
            }
        }
        __m512 alpha[RV];
        for (int rv = 0; rv < RV; rv++) {
            const __m512 new_top = _mm512_max_ps(top[rv], block_top[rv]);
            // exp(-inf - finite) is 0: the first block starts the sums from nothing
            alpha[rv] = exp512(_mm512_sub_ps(top[rv], new_top));
            top[rv] = new_top;
            sum[rv] = _mm512_mul_ps(sum[rv], alpha[rv]);
        }
        for (int jj = 0; jj < n; jj++) {
            for (int rv = 0; rv < RV; rv++) {
                float *sp = s.data() + (size_t)jj * W + rv * 16;
                const __m512 v = _mm512_loadu_ps(sp);
                const __mmask16 finite = _mm512_cmp_ps_mask(v, _mm512_set1_ps(-INFINITY), _CMP_NEQ_OQ);
                const __m512 e = _mm512_maskz_mov_ps(finite, exp512(_mm512_sub_ps(v, top[rv])));
                _mm512_storeu_ps(sp, e);
                sum[rv] = _mm512_add_ps(sum[rv], e);
            }
        }
        for (int jj = 0; jj < n; jj++) {
            const uint16_t *vr = values + (size_t)(k0 + jj) * d;
            for (int c = 0; c < d; c += 16) _mm512_storeu_ps(vf.data() + (size_t)jj * d + c, load_bf16(vr + c));
        }
        pa_values<RV>(s.data(), vf.data(), alpha, d, n, acc.data());
    }
    alignas(64) float inv[W];
    for (int rv = 0; rv < RV; rv++) _mm512_store_ps(inv + rv * 16, _mm512_div_ps(_mm512_set1_ps(1.0f), sum[rv]));
    for (int r = 0; r < rows; r++) {
        uint16_t *o = j->out + (size_t)(t0 + r / g) * hd + (size_t)(kv * g + r % g) * d;
        for (int dd = 0; dd < d; dd++) o[dd] = woq::f32_to_bf16(acc[(size_t)dd * W + r] * inv[r]);
    }
}

void pa_part(void *arg, int, int) {
    const PrefillAttentionJob *j = static_cast<const PrefillAttentionJob *>(arg);
    const int rv = (j->tokens_per_item * j->group + 15) / 16, w = rv * 16;
    std::vector<uint32_t> qt((size_t)j->d / 2 * w);
    std::vector<float> s((size_t)PA_KEYS * w), vf((size_t)PA_KEYS * j->d), acc((size_t)j->d * w);
    const int items = j->kv_heads * j->token_blocks;
    for (int i = j->next->fetch_add(1); i < items; i = j->next->fetch_add(1)) {
        const int kv = i % j->kv_heads, tb = j->token_blocks - 1 - i / j->kv_heads; // the last tokens first
        switch (rv) {
        case 1: pa_item<1>(j, kv, tb, qt, s, vf, acc); break;
        case 2: pa_item<2>(j, kv, tb, qt, s, vf, acc); break;
        case 3: pa_item<3>(j, kv, tb, qt, s, vf, acc); break;
        default: pa_item<4>(j, kv, tb, qt, s, vf, acc); break;
        }
    }
}

/* Fewer positions than this are attended on one thread: the second one's start costs more. */
constexpr int PARALLEL_MIN_POSITIONS = 256;

} // namespace

extern "C" {

/* y[m, n] = rms_norm(x[m, n]) * w[n], bf16; n a multiple of 16. 0; -1 for a shape it does not take, -2 without AVX-512. */
WOQ_EXPORT int woq_rms_norm(const uint16_t *x, const uint16_t *w, float eps, uint16_t *y, int m, int n) {
    if (!woq_avx512_supported()) return -2;
    if (m < 0 || n < 16 || n % 16 != 0) return -1;
    NormJob job{x, w, eps, y, m, n};
    woq::parallel(norm_rows, &job, m);
    return 0;
}

/* y = silu(gate) * up over `count` bf16 values, a multiple of 16. 0, -1 or -2 as woq_rms_norm. */
WOQ_EXPORT int woq_silu_mul(const uint16_t *gate, const uint16_t *up, uint16_t *y, int64_t count) {
    if (!woq_avx512_supported()) return -2;
    if (count < 0 || count % 16 != 0) return -1;
    SiluJob job{gate, up, y, count};
    // a decode token's 14336 values take a few microseconds: a second thread pays from prompts on
    woq::parallel(silu_part, &job, (int)std::min<int64_t>(64, count / 65536 + 1));
    return 0;
}

/*
 * One token at position `pos`: q [H * D], k and v [KV * D] bf16; cos and sin the fp32 [*, D] rows of
 * position pos; caches [KV, capacity, D] bf16, filled before pos. Writes the rotated k and v at pos
 * and out [H * D] = attention over positions 0..pos. D a multiple of 32, H a multiple of KV.
 * 0, -1 or -2 as woq_rms_norm.
 */
WOQ_EXPORT int woq_attention_decode(const uint16_t *q, const uint16_t *k, const uint16_t *v, const float *cos,
                                    const float *sin, uint16_t *k_cache, uint16_t *v_cache, int capacity, int pos,
                                    int heads, int kv_heads, int d, uint16_t *out) {
    if (!woq_avx512_supported()) return -2;
    if (d < 32 || d % 32 != 0 || kv_heads < 1 || heads % kv_heads != 0 || pos < 0 || pos >= capacity) return -1;
    std::vector<uint16_t> qr((size_t)heads * d), kr((size_t)kv_heads * d);
    RopeJob qj{q, cos, sin, 0, 1, heads, d, qr.data()}, kj{k, cos, sin, 0, 1, kv_heads, d, kr.data()};
    rope_part(&qj, 0, 1); // cos and sin start at row pos
    rope_part(&kj, 0, 1);
    for (int h = 0; h < kv_heads; h++) {
        std::memcpy(k_cache + ((size_t)h * capacity + pos) * d, kr.data() + (size_t)h * d, (size_t)d * 2);
        std::memcpy(v_cache + ((size_t)h * capacity + pos) * d, v + (size_t)h * d, (size_t)d * 2);
    }
    AttentionJob job{qr.data(), k_cache, v_cache, capacity, pos + 1, kv_heads, heads / kv_heads, d,
                     1.0f / std::sqrt((float)d), out};
    woq::parallel(attend_kv_heads, &job, pos + 1 < PARALLEL_MIN_POSITIONS ? 1 : kv_heads);
    return 0;
}


/*
 * T tokens at positions pos..pos+T-1: q [T, H * D], k and v [T, KV * D] bf16; cos and sin the fp32
 * [positions, D] tables (rows pos.. are read); caches [KV, capacity, D] bf16, filled before pos.
 * Writes the rotated k and v at pos..pos+T-1 and out [T, H * D] = causal attention over positions
 * 0..pos+t for token t. D a multiple of 32, H a multiple of KV with at most 64 heads to a KV head.
 * 0, -1 or -2 as woq_rms_norm.
 */
WOQ_EXPORT int woq_attention_prefill(const uint16_t *q, const uint16_t *k, const uint16_t *v, const float *cos,
                                     const float *sin, uint16_t *k_cache, uint16_t *v_cache, int capacity, int pos,
                                     int t, int heads, int kv_heads, int d, uint16_t *out) {
    if (!woq_avx512_supported()) return -2;
    if (d < 32 || d % 32 != 0 || kv_heads < 1 || heads % kv_heads != 0 || heads / kv_heads > PA_ROWS || t < 1 ||
        pos < 0 || pos > capacity - t) {
        return -1;
    }
    std::vector<uint16_t> qr((size_t)t * heads * d), kr((size_t)t * kv_heads * d);
    RopeJob qj{q, cos, sin, pos, t, heads, d, qr.data()}, kj{k, cos, sin, pos, t, kv_heads, d, kr.data()};
    woq::parallel(rope_part, &qj, t);
    woq::parallel(rope_part, &kj, t);
    for (int h = 0; h < kv_heads; h++) {
        for (int i = 0; i < t; i++) {
            const size_t from = ((size_t)i * kv_heads + h) * d, to = ((size_t)h * capacity + pos + i) * d;
            std::memcpy(k_cache + to, kr.data() + from, (size_t)d * 2);
            std::memcpy(v_cache + to, v + from, (size_t)d * 2);
        }
    }
    const int group = heads / kv_heads, tokens = std::max(1, PA_ROWS / group);
    std::atomic<int> next{0};
    PrefillAttentionJob job{qr.data(), k_cache, v_cache, capacity, pos, t, kv_heads, group, d, tokens,
                            (t + tokens - 1) / tokens, 1.0f / std::sqrt((float)d), out, &next};
    woq::parallel(pa_part, &job, kv_heads * job.token_blocks);
    return 0;
}
} // extern "C"

/* ---- the libtorch operators ---- */

namespace {

using namespace woq;

/* rms_norm(Tensor x, Tensor w, float eps) -> Tensor */
void op_rms_norm(StableIValue *stack, uint64_t, uint64_t) {
    Inputs in{{(AtenTensorHandle)stack[0], (AtenTensorHandle)stack[1]}};
    double eps; // the stable ABI boxes a float argument as the bits of a double
    std::memcpy(&eps, &stack[2], sizeof eps);
    std::vector<int64_t> xs, ws;
    const uint16_t *x = (const uint16_t *)contiguous_data(in.handles[0], DTYPE_BFLOAT16, 2, "x", xs);
    const uint16_t *w = (const uint16_t *)contiguous_data(in.handles[1], DTYPE_BFLOAT16, 1, "w", ws);
    if (ws[0] != xs[1] || xs[1] % 16 != 0 || xs[1] < 16 || !(eps >= 0)) {
        throw std::runtime_error("woq rms_norm: x " + shape_text(xs) + ", w " + shape_text(ws) + ", eps " +
                                 std::to_string(eps) + ": needs w [n] for x [m, n], n a multiple of 16, eps >= 0");
    }
    Output out;
    uint16_t *y;
    new_tensor(out, {xs[0], xs[1]}, DTYPE_BFLOAT16, (void **)&y);
    if (xs[0] > 0) kernel_ok(woq_rms_norm(x, w, (float)eps, y, (int)xs[0], (int)xs[1]), "woq_rms_norm", shape_text(xs));
    in.release();
    stack[0] = out.release();
}

/* silu_mul(Tensor gate, Tensor up) -> Tensor */
void op_silu_mul(StableIValue *stack, uint64_t, uint64_t) {
    Inputs in{{(AtenTensorHandle)stack[0], (AtenTensorHandle)stack[1]}};
    std::vector<int64_t> gs, us;
    const uint16_t *g = (const uint16_t *)contiguous_data(in.handles[0], DTYPE_BFLOAT16, 2, "gate", gs);
    const uint16_t *u = (const uint16_t *)contiguous_data(in.handles[1], DTYPE_BFLOAT16, 2, "up", us);
    if (gs != us || gs[1] % 16 != 0) {
        throw std::runtime_error("woq silu_mul: gate " + shape_text(gs) + ", up " + shape_text(us) +
                                 ": needs the same [m, n], n a multiple of 16");
    }
    Output out;
    uint16_t *y;
    new_tensor(out, {gs[0], gs[1]}, DTYPE_BFLOAT16, (void **)&y);
    kernel_ok(woq_silu_mul(g, u, y, gs[0] * gs[1]), "woq_silu_mul", shape_text(gs));
    in.release();
    stack[0] = out.release();
}

/*
 * The arguments both attention operators take: (Tensor q, Tensor k, Tensor v, Tensor cos, Tensor sin,
 * Tensor(a!) k_cache, Tensor(b!) v_cache, int pos, int heads, int kv_heads), each tensor's data
 * and shape, and the whole as text for errors.
 */
struct AttentionArgs {
    Inputs in;
    int64_t pos, heads, kv_heads, d;
    std::vector<int64_t> qs, ks, vs, cs, ss, kcs, vcs;
    const uint16_t *q, *k, *v;
    const float *cos, *sin;
    uint16_t *kc, *vc;
    std::string shapes;

    explicit AttentionArgs(StableIValue *stack)
        : in{{(AtenTensorHandle)stack[0], (AtenTensorHandle)stack[1], (AtenTensorHandle)stack[2],
              (AtenTensorHandle)stack[3], (AtenTensorHandle)stack[4], (AtenTensorHandle)stack[5],
              (AtenTensorHandle)stack[6]}},
          pos((int64_t)stack[7]), heads((int64_t)stack[8]), kv_heads((int64_t)stack[9]) {
        q = (const uint16_t *)contiguous_data(in.handles[0], DTYPE_BFLOAT16, 2, "q", qs);
        k = (const uint16_t *)contiguous_data(in.handles[1], DTYPE_BFLOAT16, 2, "k", ks);
        v = (const uint16_t *)contiguous_data(in.handles[2], DTYPE_BFLOAT16, 2, "v", vs);
        cos = (const float *)contiguous_data(in.handles[3], DTYPE_FLOAT, 2, "cos", cs);
        sin = (const float *)contiguous_data(in.handles[4], DTYPE_FLOAT, 2, "sin", ss);
        kc = (uint16_t *)contiguous_data(in.handles[5], DTYPE_BFLOAT16, 3, "k_cache", kcs);
        vc = (uint16_t *)contiguous_data(in.handles[6], DTYPE_BFLOAT16, 3, "v_cache", vcs);
        d = kcs[2];
        shapes = "q " + shape_text(qs) + ", k " + shape_text(ks) + ", v " + shape_text(vs) + ", cos " + shape_text(cs) +
                 ", k_cache " + shape_text(kcs) + ", pos " + std::to_string(pos) + ", heads " + std::to_string(heads) +
                 ", kv_heads " + std::to_string(kv_heads);
    }

    /* T tokens of q, k and v at pos..pos+T-1 fit the caches and the tables, in whole heads of D. */
    bool fits(int64_t t) const {
        return t >= 1 && qs[0] == t && ks == vs && ks[0] == t && kcs == vcs && kcs[0] == kv_heads && kv_heads >= 1 &&
               heads % kv_heads == 0 && qs[1] == heads * d && ks[1] == kv_heads * d && cs == ss && cs[1] == d &&
               pos >= 0 && pos + t <= kcs[1] && pos + t <= cs[0] && d % 32 == 0;
    }

    /* Hands [T, heads * D] attention to libtorch, the inputs released. */
    void finish(StableIValue *stack, Output &out) {
        in.release();
        stack[0] = out.release();
    }
};

/* attention_decode(...) -> Tensor: one token, as AttentionArgs. */
void op_attention_decode(StableIValue *stack, uint64_t, uint64_t) {
    AttentionArgs a(stack);
    if (!a.fits(1)) {
        throw std::runtime_error("woq attention_decode: " + a.shapes +
                                 ": needs one token, q [1, heads * D], k and v [1, kv_heads * D], caches [kv_heads, "
                                 "capacity, D] with pos below capacity, cos and sin [positions, D], D a multiple of 32");
    }
    Output out;
    uint16_t *y;
    new_tensor(out, {1, a.heads * a.d}, DTYPE_BFLOAT16, (void **)&y);
    kernel_ok(woq_attention_decode(a.q, a.k, a.v, a.cos + a.pos * a.d, a.sin + a.pos * a.d, a.kc, a.vc, (int)a.kcs[1],
                                   (int)a.pos, (int)a.heads, (int)a.kv_heads, (int)a.d, y),
              "woq_attention_decode", a.shapes);
    a.finish(stack, out);
}

/* attention_prefill(...) -> Tensor: T tokens (a prompt chunk), as AttentionArgs. */
void op_attention_prefill(StableIValue *stack, uint64_t, uint64_t) {
    AttentionArgs a(stack);
    const int64_t t = a.qs[0];
    if (!a.fits(t) || a.heads / a.kv_heads > PA_ROWS) {
        throw std::runtime_error("woq attention_prefill: " + a.shapes +
                                 ": needs q [T, heads * D], k and v [T, kv_heads * D], caches [kv_heads, capacity, D] "
                                 "with pos + T at most capacity, cos and sin [positions, D], D a multiple of 32, at "
                                 "most 64 heads to a KV head");
    }
    Output out;
    uint16_t *y;
    new_tensor(out, {t, a.heads * a.d}, DTYPE_BFLOAT16, (void **)&y);
    kernel_ok(woq_attention_prefill(a.q, a.k, a.v, a.cos, a.sin, a.kc, a.vc, (int)a.kcs[1], (int)a.pos, (int)t,
                                    (int)a.heads, (int)a.kv_heads, (int)a.d, y),
              "woq_attention_prefill", a.shapes);
    a.finish(stack, out);
}

constexpr char RMS_NORM[] = "woq::rms_norm";
constexpr char SILU_MUL[] = "woq::silu_mul";
constexpr char ATTENTION_DECODE[] = "woq::attention_decode";
constexpr char ATTENTION_PREFILL[] = "woq::attention_prefill";

} // namespace

namespace woq {

void register_layer_ops(Registrar &r) {
    r.schema("rms_norm(Tensor x, Tensor w, float eps) -> Tensor");
    r.schema("silu_mul(Tensor gate, Tensor up) -> Tensor");
    r.schema("attention_decode(Tensor q, Tensor k, Tensor v, Tensor cos, Tensor sin, Tensor(a!) k_cache, "
             "Tensor(b!) v_cache, int pos, int heads, int kv_heads) -> Tensor");
    r.schema("attention_prefill(Tensor q, Tensor k, Tensor v, Tensor cos, Tensor sin, Tensor(a!) k_cache, "
             "Tensor(b!) v_cache, int pos, int heads, int kv_heads) -> Tensor");
    r.code("rms_norm", guarded<op_rms_norm, RMS_NORM>);
    r.code("silu_mul", guarded<op_silu_mul, SILU_MUL>);
    r.code("attention_decode", guarded<op_attention_decode, ATTENTION_DECODE>);
    r.code("attention_prefill", guarded<op_attention_prefill, ATTENTION_PREFILL>);
}

} // namespace woq
