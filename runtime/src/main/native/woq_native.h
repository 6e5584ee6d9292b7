/*
 * What woq's native kernels share (woq_native.cpp): libtorch's OpenMP threads, libtorch's stable C
 * functions for tensors and operator registration, and bf16 conversions. The kernels themselves are
 * in woq_avx512.cpp (AVX-512 BF16: every format, decode first), woq_int4_amx.cpp (AMX: int4) and
 * woq_layer_ops.cpp (the norm, SwiGLU's gate and a decode token's attention).
 */
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

#define WOQ_EXPORT __attribute__((visibility("default")))

namespace woq {

/* ---- CPU support ---- */

/* AVX-512 F/BW/VL/DQ and AVX512-BF16, with the OS saving the ZMM and opmask state. */
bool cpu_has_avx512_bf16();

/* The above and AVX-512 VNNI (VPDPBUSD). */
bool cpu_has_avx512_vnni();

/* ---- threads: libtorch's OpenMP runtime ---- */

/* Runs body(arg, part, parts) on up to `work_items` of woq's threads (the caller among them). */
void parallel(void (*body)(void *, int, int), void *arg, int work_items);

/* How many threads parallel() runs for `work_items`. */
int parallel_parts(int work_items);

/* A function of the loaded library whose file name contains `part`, or null. */
void *loaded_symbol(const char *part, const char *name);

/* ---- bf16 ---- */

inline float bf16_to_f32(uint16_t b) {
    uint32_t u = (uint32_t)b << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

/* 16 bf16 at p (masked: the lanes of `mask`) as fp32, exactly: a bf16 is the top half of its fp32. */
__attribute__((target("avx512f,avx512bw,avx512vl"))) inline __m512 load_bf16(const uint16_t *p,
                                                                             __mmask16 mask = 0xFFFF) {
    const __m256i raw = _mm256_maskz_loadu_epi16(mask, p);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(raw), 16));
}

/* Round to nearest even, as libtorch converts (NaN stays NaN). */
inline uint16_t f32_to_bf16(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x40);
    u += 0x7FFFu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* ---- libtorch's stable C functions ---- */

using AOTITorchError = int32_t;
using AtenTensorHandle = void *;
using TorchLibraryHandle = void *;
using StableIValue = uint64_t;
using OpFunction = void (*)(StableIValue *, uint64_t, uint64_t);

struct Aoti {
    AOTITorchError (*library_init_def)(const char *, const char *, uint32_t, TorchLibraryHandle *);
    AOTITorchError (*library_init_impl)(const char *, const char *, const char *, uint32_t, TorchLibraryHandle *);
    AOTITorchError (*library_def)(TorchLibraryHandle, const char *);
    AOTITorchError (*library_impl)(TorchLibraryHandle, const char *, OpFunction);
    AOTITorchError (*get_data_ptr)(AtenTensorHandle, void **);
    AOTITorchError (*get_dim)(AtenTensorHandle, int64_t *);
    AOTITorchError (*get_sizes)(AtenTensorHandle, int64_t **);
    AOTITorchError (*get_strides)(AtenTensorHandle, int64_t **);
    AOTITorchError (*get_dtype)(AtenTensorHandle, int32_t *);
    AOTITorchError (*empty_strided)(int64_t, const int64_t *, const int64_t *, int32_t, int32_t, int32_t,
                                    AtenTensorHandle *);
    AOTITorchError (*delete_tensor)(AtenTensorHandle);
    /* TORCH_CHECK for stable-ABI code: with cond false it throws libtorch's own c10::Error. */
    void (*check)(bool cond, const char *func, const char *file, uint32_t line, const char *msg);
};
extern Aoti aoti;

constexpr int32_t DTYPE_UINT8 = 0, DTYPE_INT8 = 1, DTYPE_FLOAT = 6, DTYPE_BFLOAT16 = 15, DEVICE_CPU = 0;

void check(AOTITorchError e, const std::string &what);

/*
 * Input tensors arrive as new handles the operator owns. release() deletes them, checking each
 * return code, once the operator is done with them; if it fails before that, the destructor
 * deletes them on the way out, where a failure to free cannot be reported on top of the error
 * already being reported (throwing during unwinding would terminate the JVM).
 */
struct Inputs {
    std::vector<AtenTensorHandle> handles;
    void release() {
        std::vector<AtenTensorHandle> h;
        h.swap(handles);
        for (AtenTensorHandle t : h) check(aoti.delete_tensor(t), "aoti_torch_delete_tensor_object (an input)");
    }
    ~Inputs() {
        for (AtenTensorHandle h : handles) (void)aoti.delete_tensor(h);
    }
};

/* The tensor an operator returns: deleted, as in Inputs, if the operator fails before handing it over. */
struct Output {
    AtenTensorHandle handle = nullptr;
    StableIValue release() {
        AtenTensorHandle h = handle;
        handle = nullptr;
        return (StableIValue)h;
    }
    ~Output() {
        if (handle != nullptr) (void)aoti.delete_tensor(handle);
    }
};

/*
 * Reports an operator's failure through libtorch's error path: aoti_torch_check(false, ...) throws
 * libtorch's own c10::Error, which TorchScript turns into the Java exception DJL raises, with
 * `op` and `message` (operation and shapes) in its text.
 */
[[noreturn]] void report_failure(const char *op, const char *message);

/*
 * Every operator woq registers runs inside this: no C++ exception of woq's (a bad shape, a failed
 * libtorch call, std::bad_alloc) leaves woq's code; each becomes a libtorch error naming `Name`.
 */
template <void (*Op)(StableIValue *, uint64_t, uint64_t), const char *Name>
void guarded(StableIValue *stack, uint64_t args, uint64_t returns) {
    std::string error;
    try {
        Op(stack, args, returns);
        return;
    } catch (const std::exception &e) {
        error = e.what();
    } catch (...) {
        error = "an unknown C++ exception";
    }
    report_failure(Name, error.c_str());
}

/* The data of a contiguous CPU tensor of `dtype` with `dims` dimensions; its sizes into `shape`. */
void *contiguous_data(AtenTensorHandle t, int32_t dtype, int64_t dims, const char *name, std::vector<int64_t> &shape);

/* A new contiguous CPU tensor into `out`; its data into `data`. */
void new_tensor(Output &out, std::initializer_list<int64_t> shape, int32_t dtype, void **data);

/* A kernel's own return code (-1 shape, -2 CPU) as an error naming the kernel and the shapes. */
void kernel_ok(int rc, const char *kernel, const std::string &shapes);

/* "[2, 3]" */
std::string shape_text(const std::vector<int64_t> &s);

/* Each kernel file declares its operators' schemas and, where this CPU runs them, their code. */
struct Registrar {
    TorchLibraryHandle def, impl;
    bool ok = true;
    void schema(const char *text);
    void code(const char *name, OpFunction f);
};
void register_avx512_ops(Registrar &r); // woq_avx512.cpp
void register_amx_ops(Registrar &r);    // woq_int4_amx.cpp
void register_layer_ops(Registrar &r);  // woq_layer_ops.cpp

} // namespace woq

extern "C" {
/* 1 when this CPU and OS run the AVX-512 BF16 kernels (woq_native.cpp). */
int woq_avx512_supported();
/* 1 when this CPU and OS run the AMX kernel (woq_int4_amx.cpp). */
int woq_amx_supported();
}
